/* libFuzzer target for the SMTP command line parser.
 *
 * Besides memory safety (ASan/UBSan), it checks what the session relies
 * on: every string lies inside the line, paths respect their limits and
 * normal form, the xtext values the parser accepted decode, and every
 * error carries a 5xx reply with a matching enhanced code. The line is
 * parsed with and without an SMTPUTF8 transaction: only RCPT may differ,
 * and only by accepting more. Any violation abort()s so the fuzzer keeps
 * the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_outcome {
	int ret;
	char *buf; /* the parsed copy, len + 1 octets */
	struct smtp_command cmd;
	struct smtp_reply reply;
};

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* s is NULL, or a NUL-terminated string within buf[0..len]. */
static void fuzz_check_inside(const char *s, const char *buf, size_t len)
{
	if (s == NULL)
		return;
	fuzz_check(s >= buf && s <= buf + len);
	fuzz_check(memchr(s, '\0', (size_t)(buf + len - s) + 1) != NULL);
}

/* The value must decode as xtext (the parser accepted it as such). */
static void fuzz_check_xtext(const char *value)
{
	size_t n = strlen(value);
	char *copy = malloc(n + 1);

	fuzz_check(copy != NULL);
	memcpy(copy, value, n + 1);
	fuzz_check(smtp_xtext_decode(copy) == 0);
	fuzz_check(strlen(copy) <= n);
	free(copy);
}

static void fuzz_check_path(const struct smtp_command *cmd, bool utf8_tx)
{
	const char *path = cmd->path, *at;
	bool high = false;

	fuzz_check(path != NULL);
	fuzz_check(strlen(path) + 2 <= SMTP_MAX_PATH);
	for (const char *s = path; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		fuzz_check(ch >= 0x20 && ch != 0x7f);
		if (ch >= 0x80)
			high = true;
	}
	fuzz_check(high == cmd->path_utf8);
	if (cmd->path_utf8)
		fuzz_check(cmd->verb == SMTP_VERB_RCPT ? utf8_tx : cmd->smtputf8);
	if (path[0] == '\0') {
		fuzz_check(cmd->verb == SMTP_VERB_MAIL);
		return;
	}
	/* An address literal may hold "@" but never "[", a domain neither. */
	if (path[strlen(path) - 1] == ']') {
		const char *open = strrchr(path, '[');

		fuzz_check(open != NULL && open > path + 1 && open[-1] == '@');
		fuzz_check(open - 1 - path <= 64);
		return;
	}
	at = strrchr(path, '@');
	if (at == NULL) {
		fuzz_check(cmd->verb == SMTP_VERB_RCPT && strcmp(path, "postmaster") == 0);
		return;
	}
	fuzz_check(at > path && at - path <= 64);
	fuzz_check(at[1] != '\0');
	for (const char *d = at + 1; *d != '\0'; d++)
		fuzz_check(!(*d >= 'A' && *d <= 'Z'));
}

static void fuzz_check_success(const struct fuzz_outcome *o, size_t len, bool utf8_tx)
{
	const struct smtp_command *cmd = &o->cmd;

	fuzz_check(cmd->verb > SMTP_VERB_UNKNOWN && cmd->verb < SMTP_VERB_COUNT);
	fuzz_check_inside(cmd->arg, o->buf, len);
	fuzz_check_inside(cmd->auth_initial, o->buf, len);
	fuzz_check_inside(cmd->path, o->buf, len);
	fuzz_check_inside(cmd->envid, o->buf, len);
	fuzz_check_inside(cmd->auth, o->buf, len);
	fuzz_check_inside(cmd->orcpt, o->buf, len);

	switch (cmd->verb) {
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		fuzz_check_path(cmd, utf8_tx);
		break;
	default:
		fuzz_check(cmd->path == NULL);
		break;
	}
	if (cmd->verb != SMTP_VERB_MAIL)
		fuzz_check(cmd->size == 0 && cmd->body == SMTP_BODY_UNSPECIFIED && !cmd->smtputf8 &&
			   cmd->ret == SMTP_RET_UNSPECIFIED && cmd->envid == NULL &&
			   cmd->auth == NULL);
	if (cmd->verb != SMTP_VERB_RCPT)
		fuzz_check(cmd->notify == 0 && cmd->orcpt == NULL);
	if (cmd->verb != SMTP_VERB_BDAT)
		fuzz_check(cmd->chunk_size == 0 && !cmd->last);
	if (cmd->envid != NULL) {
		fuzz_check(strlen(cmd->envid) <= 100);
		fuzz_check_xtext(cmd->envid);
	}
	if (cmd->auth != NULL)
		fuzz_check_xtext(cmd->auth);
	if (cmd->orcpt != NULL) {
		const char *semicolon = strchr(cmd->orcpt, ';');
		bool high = false;

		fuzz_check(semicolon != NULL && semicolon > cmd->orcpt && semicolon[1] != '\0');
		for (const char *s = semicolon; *s != '\0'; s++)
			high |= (unsigned char)*s >= 0x80;
		if (!high)
			fuzz_check_xtext(semicolon + 1);
		else
			fuzz_check(utf8_tx);
	}
	if ((cmd->notify & SMTP_NOTIFY_NEVER) != 0)
		fuzz_check(cmd->notify == SMTP_NOTIFY_NEVER);
	fuzz_check((cmd->notify & ~15u) == 0);
	if (cmd->verb == SMTP_VERB_AUTH) {
		fuzz_check(cmd->arg != NULL && strlen(cmd->arg) >= 1 && strlen(cmd->arg) <= 20);
		for (const char *s = cmd->arg; *s != '\0'; s++)
			fuzz_check(!(*s >= 'a' && *s <= 'z'));
	} else {
		fuzz_check(cmd->auth_initial == NULL);
	}
	if (cmd->verb == SMTP_VERB_HELO || cmd->verb == SMTP_VERB_EHLO)
		fuzz_check(cmd->arg != NULL && cmd->arg[0] != '\0' &&
			   strchr(cmd->arg, ' ') == NULL);
}

static void fuzz_check_error(const struct smtp_reply *reply)
{
	fuzz_check(reply->code >= 500 && reply->code <= 559);
	fuzz_check(reply->enhanced != NULL && strlen(reply->enhanced) >= 5);
	fuzz_check(reply->enhanced[0] == '0' + reply->code / 100 && reply->enhanced[1] == '.');
	fuzz_check(reply->text != NULL && reply->text[0] != '\0');
	fuzz_check(strpbrk(reply->text, "\r\n") == NULL);
}

static void fuzz_parse(const uint8_t *line, size_t len, bool utf8_tx, struct fuzz_outcome *o)
{
	o->buf = malloc(len + 1);
	fuzz_check(o->buf != NULL);
	if (len > 0)
		memcpy(o->buf, line, len);
	o->buf[len] = '\0';
	o->ret = smtp_parse_command(o->buf, len, utf8_tx, &o->cmd, &o->reply);
	fuzz_check(o->ret == 0 || o->ret == -1);
	fuzz_check(o->cmd.verb >= SMTP_VERB_UNKNOWN && o->cmd.verb < SMTP_VERB_COUNT);
	if (o->ret == 0)
		fuzz_check_success(o, len, utf8_tx);
	else
		fuzz_check_error(&o->reply);
}

static void fuzz_check_same_string(const char *a, const char *abuf, const char *b, const char *bbuf)
{
	fuzz_check((a == NULL) == (b == NULL));
	if (a != NULL)
		fuzz_check(a - abuf == b - bbuf && strcmp(a, b) == 0);
}

static void fuzz_check_same(const struct fuzz_outcome *a, const struct fuzz_outcome *b)
{
	fuzz_check(a->ret == b->ret && a->cmd.verb == b->cmd.verb);
	if (a->ret != 0) {
		fuzz_check(a->reply.code == b->reply.code);
		fuzz_check(strcmp(a->reply.enhanced, b->reply.enhanced) == 0);
		return;
	}
	fuzz_check_same_string(a->cmd.arg, a->buf, b->cmd.arg, b->buf);
	fuzz_check_same_string(a->cmd.auth_initial, a->buf, b->cmd.auth_initial, b->buf);
	fuzz_check_same_string(a->cmd.path, a->buf, b->cmd.path, b->buf);
	fuzz_check_same_string(a->cmd.envid, a->buf, b->cmd.envid, b->buf);
	fuzz_check_same_string(a->cmd.auth, a->buf, b->cmd.auth, b->buf);
	fuzz_check_same_string(a->cmd.orcpt, a->buf, b->cmd.orcpt, b->buf);
	fuzz_check(a->cmd.path_utf8 == b->cmd.path_utf8 && a->cmd.size == b->cmd.size &&
		   a->cmd.body == b->cmd.body && a->cmd.smtputf8 == b->cmd.smtputf8 &&
		   a->cmd.ret == b->cmd.ret && a->cmd.notify == b->cmd.notify &&
		   a->cmd.chunk_size == b->cmd.chunk_size && a->cmd.last == b->cmd.last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome plain, utf8;

	fuzz_parse(data, size, false, &plain);
	fuzz_parse(data, size, true, &utf8);
	/* The transaction flag only concerns RCPT, and only lets more through. */
	if (plain.cmd.verb != SMTP_VERB_RCPT || plain.ret == 0)
		fuzz_check_same(&plain, &utf8);
	free(plain.buf);
	free(utf8.buf);
	return 0;
}
