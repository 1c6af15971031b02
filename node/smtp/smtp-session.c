/* The SMTP session loop (RFC 5321 section 4): banner, then read a
 * command, look its verb up in the table, check the state, run the
 * handler. Replies are queued and written when the client has no more
 * pipelined commands buffered (RFC 2920), or before anything that waits. */
#include "smtp/smtp-session.h"

#include "lib/arena.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/netaddr.h"
#include "lib/settings.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Port 25 only: a client that talks before our banner is a spambot
 * pipelining blindly (RFC 5321 4.3.1 says it must wait). */
#define SMTP_GREET_PAUSE_MS 200

const char *const smtp_state_names[] = {"connected", "ready", "mail", "rcpt", "bdat", "quit"};

enum {
	S_CONNECTED = 1 << SMTP_STATE_CONNECTED,
	S_READY = 1 << SMTP_STATE_READY,
	S_MAIL = 1 << SMTP_STATE_MAIL,
	S_RCPT = 1 << SMTP_STATE_RCPT,
	S_BDAT = 1 << SMTP_STATE_BDAT,
	S_ANY = S_CONNECTED | S_READY | S_MAIL | S_RCPT | S_BDAT,
};

struct smtp_verb_entry {
	void (*handler)(struct smtp_session *s, const struct smtp_command *cmd);
	unsigned states;	 /* where the verb is allowed */
	const char *wrong_state; /* the 503 text otherwise */
};

static const struct smtp_verb_entry verbs[SMTP_VERB_COUNT] = {
    [SMTP_VERB_HELO] = {smtp_cmd_helo, S_ANY & ~S_BDAT, "Finish the BDAT transaction first"},
    [SMTP_VERB_EHLO] = {smtp_cmd_helo, S_ANY & ~S_BDAT, "Finish the BDAT transaction first"},
    [SMTP_VERB_MAIL] = {smtp_cmd_mail, S_READY, NULL},
    [SMTP_VERB_RCPT] = {smtp_cmd_rcpt, S_MAIL | S_RCPT, "Need MAIL before RCPT"},
    [SMTP_VERB_DATA] = {smtp_cmd_data, S_MAIL | S_RCPT, NULL},
    [SMTP_VERB_BDAT] = {smtp_cmd_bdat, S_MAIL | S_RCPT | S_BDAT, NULL},
    [SMTP_VERB_RSET] = {smtp_cmd_rset, S_ANY, NULL},
    [SMTP_VERB_NOOP] = {smtp_cmd_noop, S_ANY, NULL},
    [SMTP_VERB_QUIT] = {smtp_cmd_quit, S_ANY, NULL},
    [SMTP_VERB_VRFY] = {smtp_cmd_vrfy, S_ANY & ~S_BDAT, "Finish the BDAT transaction first"},
    [SMTP_VERB_EXPN] = {smtp_cmd_expn, S_ANY & ~S_BDAT, "Finish the BDAT transaction first"},
    [SMTP_VERB_HELP] = {smtp_cmd_help, S_ANY & ~S_BDAT, "Finish the BDAT transaction first"},
    [SMTP_VERB_STARTTLS] = {smtp_cmd_starttls, S_CONNECTED | S_READY,
			    "STARTTLS is not allowed inside a mail transaction"},
    [SMTP_VERB_AUTH] = {smtp_cmd_auth, S_READY, NULL},
};

/* Sessions open on this node, all SMTP listeners together. */
static atomic_long sessions_open;

static void reply_line(struct smtp_session *s, int code, char separator, const char *enhanced,
		       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void reply_line(struct smtp_session *s, int code, char separator, const char *enhanced,
		       const char *fmt, va_list ap)
{
	char text[512];
	vsnprintf(text, sizeof(text), fmt, ap);
	if (enhanced)
		strbuf_appendf(&s->out, "%03d%c%s %s\r\n", code, separator, enhanced, text);
	else
		strbuf_appendf(&s->out, "%03d%c%s\r\n", code, separator, text);
}

void smtp_reply(struct smtp_session *s, int code, const char *enhanced, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_line(s, code, ' ', enhanced, fmt, ap);
	va_end(ap);
}

void smtp_reply_continue(struct smtp_session *s, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_line(s, code, '-', NULL, fmt, ap);
	va_end(ap);
}

int smtp_flush(struct smtp_session *s)
{
	if (s->out.len == 0)
		return 0;
	int ret =
	    conn_write(s->c, s->out.data, s->out.len, deadline_after_ms(SMTP_COMMAND_TIMEOUT_MS));
	strbuf_reset(&s->out);
	return ret;
}

void smtp_count_error(struct smtp_session *s)
{
	s->errors++;
}

void smtp_transaction_reset(struct smtp_session *s)
{
	arena_clear(s->arena);
	s->sender = NULL;
	memset(&s->mail, 0, sizeof(s->mail));
	s->recipient_count = 0;
	strbuf_free(&s->body);
	s->bdat_failed = false;
	if (s->state > SMTP_STATE_READY && s->state != SMTP_STATE_QUIT)
		s->state = SMTP_STATE_READY;
}

/* Drops input up to and including the next LF (the rest of a line that
 * was too long). Returns 0, or -1 when the connection ended. */
static int skip_line(struct smtp_session *s, int64_t deadline)
{
	for (;;) {
		const char *lf = memchr(conn_buffer(s->c), '\n', conn_buffered(s->c));
		if (lf) {
			conn_consume(s->c, (size_t)(lf - conn_buffer(s->c)) + 1);
			return 0;
		}
		conn_consume(s->c, conn_buffered(s->c));
		if (conn_fill(s->c, SMTP_MAX_COMMAND_LINE, deadline) <= 0)
			return -1;
	}
}

int smtp_read_line(struct smtp_session *s, char *buf, size_t size, int64_t deadline)
{
	/* Answer what is pending before waiting for more input. */
	if (memchr(conn_buffer(s->c), '\n', conn_buffered(s->c)) == NULL && smtp_flush(s) < 0)
		return -2;
	const char *line;
	int n = conn_read_line(s->c, SMTP_MAX_COMMAND_LINE, deadline, &line);
	if (n == -EMSGSIZE) {
		smtp_reply(s, 500, "5.5.2", "Line too long");
		smtp_count_error(s);
		return skip_line(s, deadline) < 0 ? -2 : -1;
	}
	if (n == -ETIMEDOUT)
		smtp_reply(s, 421, "4.4.2", "%s Timeout exceeded, closing", s->server_name);
	if (n <= 0)
		return -2;
	size_t len = (size_t)n - 1; /* the LF */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	return (int)len;
}

static void dispatch(struct smtp_session *s, char *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_reply error;
	if (memchr(line, '\r', len) || memchr(line, '\0', len)) {
		smtp_reply(s, 500, "5.5.2", "Bare CR or NUL in command line");
		smtp_count_error(s);
		return;
	}
	if (smtp_parse_command(line, len, s->mail.smtputf8, &cmd, &error) < 0) {
		smtp_reply(s, error.code, error.enhanced, "%s", error.text);
		smtp_count_error(s);
		return;
	}
	const struct smtp_verb_entry *entry = &verbs[cmd.verb];
	if (entry->handler == NULL) {
		smtp_reply(s, 502, "5.5.1", "Command not implemented");
		smtp_count_error(s);
		return;
	}
	if (!(entry->states & (1u << s->state))) {
		/* A refused BDAT's chunk follows at once: it is data, never commands. */
		if (cmd.verb == SMTP_VERB_BDAT && smtp_bdat_discard(s, cmd.chunk_size) < 0) {
			s->state = SMTP_STATE_QUIT;
			return;
		}
		const char *why = entry->wrong_state;
		if (why == NULL)
			why = s->state == SMTP_STATE_CONNECTED ? "Send HELO or EHLO first"
			      : cmd.verb == SMTP_VERB_MAIL     ? "Nested MAIL command"
			      : s->state == SMTP_STATE_READY   ? "Need MAIL and RCPT first"
							       : "Bad sequence of commands";
		smtp_reply(s, 503, "5.5.1", "%s", why);
		smtp_count_error(s);
		return;
	}
	entry->handler(s, &cmd);
}

static void session_init(struct smtp_session *s, struct conn *c, const struct smtp_server *server)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->server = server;
	s->arena = arena_create(4096);
	snprintf(s->id, sizeof(s->id), "%lx%05lx", (unsigned long)getpid() & 0xfffff,
		 (unsigned long)c->id);
	netaddr_format(&c->peer, s->peer_ip, sizeof(s->peer_ip));
	settings_get_string(server->settings, "serverName", s->server_name, sizeof(s->server_name));
	if (s->server_name[0] == '\0')
		snprintf(s->server_name, sizeof(s->server_name), "%s", server->host_name);
	s->max_size = (uint64_t)settings_get_int(server->settings, "messageSizeMb") * 1024 * 1024;
	char list[8192];
	settings_get_string(server->settings, "fullAllowedIps", list, sizeof(list));
	s->full_allowed = netaddr_in_list(&c->peer, list);
	s->state = SMTP_STATE_CONNECTED;
}

/* Returns false when the session must end before the banner. */
static bool greet(struct smtp_session *s)
{
	long limit = (long)settings_get_int(s->server->settings, "smtpMaxConnections");
	if (atomic_load(&sessions_open) > limit) {
		smtp_reply(s, 421, "4.7.0", "%s Too many connections, try again later",
			   s->server_name);
		return false;
	}
	if (s->server->kind == SMTP_LISTENER_MX &&
	    loop_poll(s->c->fd, POLLIN, deadline_after_ms(SMTP_GREET_PAUSE_MS)) > 0) {
		smtp_reply(s, 554, "5.5.0", "%s You talked before my greeting", s->server_name);
		log_info("event=smtp_early_talker session=%s peer=%s", s->id, s->c->peer_text);
		return false;
	}
	smtp_reply(s, 220, NULL, "%s ESMTP Tegu", s->server_name);
	return true;
}

void smtp_server_session(struct conn *c, void *arg)
{
	const struct smtp_server *server = arg;
	struct smtp_session session, *s = &session;
	session_init(s, c, server);
	atomic_fetch_add(&sessions_open, 1);
	bool log_sessions = settings_get_bool(server->settings, "logSessions");
	if (log_sessions)
		log_info("event=smtp_connect session=%s peer=%s listener=%s", s->id, c->peer_text,
			 c->listener);

	char line[SMTP_MAX_COMMAND_LINE + 1];
	if (greet(s)) {
		while (s->state != SMTP_STATE_QUIT) {
			c->idle = s->state <= SMTP_STATE_READY && conn_buffered(c) == 0;
			int n = smtp_read_line(s, line, sizeof(line),
					       deadline_after_ms(SMTP_COMMAND_TIMEOUT_MS));
			c->idle = false;
			if (n == -2)
				break; /* EOF, timeout or a write error */
			if (n >= 0)
				dispatch(s, line, (size_t)n);
			if (s->errors >= SMTP_MAX_ERRORS) {
				smtp_reply(s, 421, "4.7.0", "%s Too many errors, closing",
					   s->server_name);
				break;
			}
		}
	}
	smtp_flush(s);
	atomic_fetch_sub(&sessions_open, 1);
	if (log_sessions)
		log_info("event=smtp_disconnect session=%s peer=%s messages=%u errors=%u", s->id,
			 c->peer_text, s->messages, s->errors);
	strbuf_free(&s->out);
	strbuf_free(&s->body);
	arena_destroy(&s->arena);
}
