/* libFuzzer target for the IMAP command parser.
 *
 * Besides memory safety (ASan/UBSan; the input is parsed from a heap copy
 * of exactly its size), it checks what command handlers rely on: the tag
 * is non-empty and made of tag characters, the name of upper-case atom
 * characters; the argument tree stays within its depth and count limits;
 * atoms hold no SP outside brackets, no control or 8-bit octet; strings
 * no CR, LF or NUL; every literal lies inside the input, right after a
 * CRLF, and its NUL-terminated copy matches it. Then the command is
 * written out again (strings quoted, literals as "{n}" CRLF octets) and
 * must parse to the same tree. Every error has words for "tag BAD". Any
 * violation abort()s so the fuzzer keeps the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-parser.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int fuzz_is_tag_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\+", ch) == NULL;
}

static void fuzz_check_atom(const struct imap_arg *arg)
{
	size_t brackets = 0;
	int quoted = 0;

	fuzz_check(arg->str != NULL && arg->len > 0 && strlen(arg->str) == arg->len);
	fuzz_check(!(arg->len == 3 && strncasecmp(arg->str, "NIL", 3) == 0));
	fuzz_check(arg->str[0] != '"' && arg->str[0] != '(' && arg->str[0] != '{');
	for (size_t i = 0; i < arg->len; i++) {
		unsigned char ch = (unsigned char)arg->str[i];

		if (quoted) {
			/* A quoted string inside brackets, 8-bit allowed. */
			fuzz_check(ch != '\r' && ch != '\n');
			if (ch == '\\')
				i++;
			else if (ch == '"')
				quoted = 0;
			continue;
		}
		fuzz_check(ch >= 0x20 && ch < 0x7f);
		if (brackets == 0)
			fuzz_check(ch != ' ' && ch != '(' && ch != ')' && ch != '{' && ch != '"');
		if (ch == '[')
			brackets++;
		else if (ch == ']' && brackets > 0)
			brackets--;
		else if (ch == '"' && brackets > 0)
			quoted = 1;
	}
	fuzz_check(brackets == 0 && !quoted);
}

static void fuzz_check_args(const struct imap_arg *args, unsigned count, unsigned depth,
			    const char *buf, size_t len)
{
	fuzz_check(depth <= IMAP_PARSER_MAX_DEPTH);
	fuzz_check(count <= IMAP_PARSER_MAX_ARGS);
	fuzz_check(count == 0 || args != NULL);
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *arg = &args[i];

		if (arg->type != IMAP_ARG_LITERAL)
			fuzz_check(!arg->literal8 && arg->cstr == NULL);
		if (arg->type != IMAP_ARG_LIST)
			fuzz_check(arg->list == NULL && arg->count == 0);
		switch (arg->type) {
		case IMAP_ARG_ATOM:
			fuzz_check_atom(arg);
			break;
		case IMAP_ARG_STRING:
			fuzz_check(arg->str != NULL && strlen(arg->str) == arg->len);
			fuzz_check(strpbrk(arg->str, "\r\n") == NULL);
			break;
		case IMAP_ARG_LITERAL:
			fuzz_check(arg->str != NULL);
			fuzz_check(arg->str >= buf + 2 && arg->str <= buf + len);
			fuzz_check(arg->len <= (size_t)(buf + len - arg->str));
			fuzz_check(arg->str[-2] == '\r' && arg->str[-1] == '\n');
			if (arg->cstr != NULL) {
				fuzz_check(strlen(arg->cstr) == arg->len);
				fuzz_check(memcmp(arg->cstr, arg->str, arg->len) == 0);
			} else {
				fuzz_check(arg->len > 64 * 1024 ||
					   memchr(arg->str, '\0', arg->len) != NULL);
			}
			break;
		case IMAP_ARG_NIL:
			fuzz_check(arg->str == NULL);
			break;
		case IMAP_ARG_LIST:
			fuzz_check(arg->str == NULL);
			fuzz_check_args(arg->list, arg->count, depth + 1, buf, len);
			break;
		default:
			fuzz_check(0);
		}
	}
}

static void fuzz_write_args(struct strbuf *sb, const struct imap_arg *args, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *arg = &args[i];

		if (i > 0)
			strbuf_append(sb, " ", 1);
		switch (arg->type) {
		case IMAP_ARG_ATOM:
			strbuf_append(sb, arg->str, arg->len);
			break;
		case IMAP_ARG_STRING:
			strbuf_append(sb, "\"", 1);
			for (size_t k = 0; k < arg->len; k++) {
				if (arg->str[k] == '"' || arg->str[k] == '\\')
					strbuf_append(sb, "\\", 1);
				strbuf_append(sb, &arg->str[k], 1);
			}
			strbuf_append(sb, "\"", 1);
			break;
		case IMAP_ARG_LITERAL:
			strbuf_appendf(sb, "%s{%zu}\r\n", arg->literal8 ? "~" : "", arg->len);
			strbuf_append(sb, arg->str, arg->len);
			break;
		case IMAP_ARG_NIL:
			strbuf_append(sb, "NIL", 3);
			break;
		case IMAP_ARG_LIST:
			strbuf_append(sb, "(", 1);
			fuzz_write_args(sb, arg->list, arg->count);
			strbuf_append(sb, ")", 1);
			break;
		}
	}
}

static void fuzz_check_same(const struct imap_arg *a, unsigned acount, const struct imap_arg *b,
			    unsigned bcount)
{
	fuzz_check(acount == bcount);
	for (unsigned i = 0; i < acount; i++) {
		fuzz_check(a[i].type == b[i].type && a[i].len == b[i].len &&
			   a[i].literal8 == b[i].literal8);
		if (a[i].type == IMAP_ARG_LIST)
			fuzz_check_same(a[i].list, a[i].count, b[i].list, b[i].count);
		else if (a[i].str != NULL)
			fuzz_check(memcmp(a[i].str, b[i].str, a[i].len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_create(4096);
	char *buf = malloc(size > 0 ? size : 1);
	struct imap_command cmd, again;
	const char *error = (const char *)1;
	int ret;

	fuzz_check(buf != NULL);
	if (size > 0)
		memcpy(buf, data, size);
	ret = imap_command_parse(arena, buf, size, &cmd, &error);
	fuzz_check(ret == 0 || ret == -1);
	if (cmd.tag != NULL) {
		fuzz_check(cmd.tag[0] != '\0');
		for (const char *t = cmd.tag; *t != '\0'; t++)
			fuzz_check(fuzz_is_tag_char((unsigned char)*t));
		fuzz_check(strncmp(buf, cmd.tag, strlen(cmd.tag)) == 0);
	}
	if (ret == -1) {
		fuzz_check(error != NULL && error != (const char *)1 && error[0] != '\0');
		fuzz_check(strpbrk(error, "\r\n") == NULL);
		goto out;
	}
	fuzz_check(cmd.tag != NULL);
	fuzz_check(cmd.name != NULL && cmd.name[0] != '\0');
	for (const char *n = cmd.name; *n != '\0'; n++)
		fuzz_check(*n > 0x20 && *n < 0x7f && !(*n >= 'a' && *n <= 'z') &&
			   strchr("(){%*\"\\]", *n) == NULL);
	fuzz_check(size >= 2 && buf[size - 2] == '\r' && buf[size - 1] == '\n');
	fuzz_check_args(cmd.args, cmd.count, 0, buf, size);

	/* Written out again, it parses to the same command. */
	struct strbuf sb = {0};
	strbuf_appendf(&sb, "%s %s%s", cmd.tag, cmd.uid ? "UID " : "", cmd.name);
	if (cmd.count > 0) {
		strbuf_append(&sb, " ", 1);
		fuzz_write_args(&sb, cmd.args, cmd.count);
	}
	strbuf_append(&sb, "\r\n", 2);
	fuzz_check(imap_command_parse(arena, sb.data, sb.len, &again, &error) == 0);
	fuzz_check(strcmp(again.tag, cmd.tag) == 0 && strcmp(again.name, cmd.name) == 0 &&
		   again.uid == cmd.uid);
	fuzz_check_same(cmd.args, cmd.count, again.args, again.count);
	strbuf_free(&sb);
out:
	free(buf);
	arena_destroy(&arena);
	return 0;
}
