/* The IMAP session: greeting, the command loop with its table of commands
 * and the states each is allowed in, responses, and the registry of
 * sessions that channel "mailbox" wakes. */
#include "imap/imap-session.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap/imap-reader.h"
#include "lib/arena.h"
#include "lib/conn.h"
#include "lib/db-listen.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/settings.h"

const char *const imap_state_names[] = {
    [IMAP_STATE_NOT_AUTHENTICATED] = "not-authenticated",
    [IMAP_STATE_AUTHENTICATED] = "authenticated",
    [IMAP_STATE_SELECTED] = "selected",
    [IMAP_STATE_LOGOUT] = "logout",
};

enum {
	S_NOAUTH = 1u << IMAP_STATE_NOT_AUTHENTICATED,
	S_AUTH = 1u << IMAP_STATE_AUTHENTICATED,
	S_SEL = 1u << IMAP_STATE_SELECTED,
	S_ANY = S_NOAUTH | S_AUTH | S_SEL,
};

/* Command flags. */
enum {
	UID_OK = 1 << 0, /* has a UID form */
};

struct imap_command_def {
	const char *name;
	imap_command_fn *handler;
	unsigned states;
	unsigned flags;
};

static const struct imap_command_def commands[] = {
    {"CAPABILITY", imap_cmd_capability, S_ANY, 0},
    {"NOOP", imap_cmd_noop, S_ANY, 0},
    {"LOGOUT", imap_cmd_logout, S_ANY, 0},
    {"ID", imap_cmd_id, S_ANY, 0},
    {"STARTTLS", imap_cmd_starttls, S_NOAUTH, 0},
    {"LOGIN", imap_cmd_login, S_NOAUTH, 0},
    {"AUTHENTICATE", imap_cmd_authenticate, S_NOAUTH, 0},
    {"ENABLE", imap_cmd_enable, S_AUTH | S_SEL, 0},
    {"SELECT", imap_cmd_select, S_AUTH | S_SEL, 0},
    {"EXAMINE", imap_cmd_select, S_AUTH | S_SEL, 0},
    {"CREATE", imap_cmd_create, S_AUTH | S_SEL, 0},
    {"DELETE", imap_cmd_delete, S_AUTH | S_SEL, 0},
    {"RENAME", imap_cmd_rename, S_AUTH | S_SEL, 0},
    {"SUBSCRIBE", imap_cmd_subscribe, S_AUTH | S_SEL, 0},
    {"UNSUBSCRIBE", imap_cmd_unsubscribe, S_AUTH | S_SEL, 0},
    {"LIST", imap_cmd_list, S_AUTH | S_SEL, 0},
    {"LSUB", imap_cmd_lsub, S_AUTH | S_SEL, 0},
    {"NAMESPACE", imap_cmd_namespace, S_AUTH | S_SEL, 0},
    {"STATUS", imap_cmd_status, S_AUTH | S_SEL, 0},
    {"IDLE", imap_cmd_idle, S_AUTH | S_SEL, 0},
    {"GETQUOTA", imap_cmd_getquota, S_AUTH | S_SEL, 0},
    {"GETQUOTAROOT", imap_cmd_getquotaroot, S_AUTH | S_SEL, 0},
    {"SETQUOTA", imap_cmd_setquota, S_AUTH | S_SEL, 0},
    {"APPEND", imap_cmd_append, S_AUTH | S_SEL, 0},
    {"CHECK", imap_cmd_check, S_SEL, 0},
    {"CLOSE", imap_cmd_close, S_SEL, 0},
    {"UNSELECT", imap_cmd_unselect, S_SEL, 0},
    {"EXPUNGE", imap_cmd_expunge, S_SEL, UID_OK},
    {"FETCH", imap_cmd_fetch, S_SEL, UID_OK},
    {"STORE", imap_cmd_store, S_SEL, UID_OK},
    {"SEARCH", imap_cmd_search, S_SEL, UID_OK},
    {"SORT", imap_cmd_sort, S_SEL, UID_OK},
    {"COPY", imap_cmd_copy, S_SEL, UID_OK},
    {"MOVE", imap_cmd_copy, S_SEL, UID_OK},
};

/* ---- responses ---- */

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list args;
	strbuf_append(&s->out, "* ", 2);
	va_start(args, fmt);
	strbuf_vappendf(&s->out, fmt, args);
	va_end(args);
	strbuf_append(&s->out, "\r\n", 2);
}

void imap_tagged(struct imap_session *s, const char *status, const char *fmt, ...)
{
	va_list args;
	strbuf_appendf(&s->out, "%s %s ", s->tag != NULL ? s->tag : "*", status);
	va_start(args, fmt);
	strbuf_vappendf(&s->out, fmt, args);
	va_end(args);
	strbuf_append(&s->out, "\r\n", 2);
}

void imap_bad(struct imap_session *s, const char *fmt, ...)
{
	va_list args;
	strbuf_appendf(&s->out, "%s BAD ", s->tag != NULL ? s->tag : "*");
	va_start(args, fmt);
	strbuf_vappendf(&s->out, fmt, args);
	va_end(args);
	strbuf_append(&s->out, "\r\n", 2);
	s->errors++;
}

int imap_flush(struct imap_session *s)
{
	if (s->out.len == 0)
		return 0;
	int ret = conn_write(s->c, s->out.data, s->out.len, deadline_after_ms(IMAP_AUTOLOGOUT_MS));
	strbuf_reset(&s->out);
	return ret < 0 ? ret : 0;
}

void imap_write_string(struct imap_session *s, struct strbuf *out, const char *str)
{
	bool literal = false;
	for (const unsigned char *p = (const unsigned char *)str; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || (*p >= 0x80 && !s->utf8))
			literal = true;
	if (literal) {
		strbuf_appendf(out, "{%zu}\r\n%s", strlen(str), str);
		return;
	}
	strbuf_append(out, "\"", 1);
	for (const char *p = str; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_append(out, "\\", 1);
		strbuf_append(out, p, 1);
	}
	strbuf_append(out, "\"", 1);
}

void imap_db_error(struct imap_session *s, const char *error)
{
	log_warn("event=imap_db_failed session=%s user=%s error=\"%s\"", s->id, s->user.address,
		 error);
	imap_tagged(s, "NO", "[UNAVAILABLE] Temporary failure, try again");
}

/* ---- sessions woken by channel "mailbox" ---- */

static _Thread_local struct imap_session *sessions;
static atomic_long sessions_open;

static void registry_add(struct imap_session *s)
{
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
}

static void registry_remove(struct imap_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

static bool payload_names(const char *payload, int64_t id)
{
	char want[24];
	int n = snprintf(want, sizeof(want), "%lld", (long long)id);
	for (const char *p = payload; (p = strstr(p, want)) != NULL; p += n) {
		bool starts = p == payload || p[-1] == ',';
		bool ends = p[n] == '\0' || p[n] == ',';
		if (starts && ends)
			return true;
	}
	return false;
}

static void on_mailbox_notify(const char *channel, const char *payload, void *arg)
{
	(void)channel;
	(void)arg;
	for (struct imap_session *s = sessions; s != NULL; s = s->next) {
		if (s->state != IMAP_STATE_SELECTED)
			continue;
		if (payload == NULL || payload_names(payload, s->sel.mailbox.id)) {
			s->changed = true;
			waitq_wake_all(&s->wakeup);
		}
	}
}

void imap_server_worker_start(void)
{
	db_listen_subscribe("mailbox", on_mailbox_notify, NULL);
}

/* ---- the command loop ---- */

static const struct imap_command_def *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void dispatch(struct imap_session *s)
{
	struct imap_command cmd;
	const char *error;
	arena_clear(s->arena);
	s->tag = NULL;
	if (imap_command_parse(s->arena, s->in.data, s->in.len, &cmd, &error) < 0) {
		s->tag = cmd.tag;
		imap_bad(s, "%s", error);
		return;
	}
	s->tag = cmd.tag;
	const struct imap_command_def *def = find_command(cmd.name);
	if (def == NULL || (cmd.uid && !(def->flags & UID_OK))) {
		imap_bad(s, "Unknown command");
		return;
	}
	if (!(def->states & (1u << s->state))) {
		imap_bad(s, "%s not allowed now: %s", cmd.name,
			 s->state == IMAP_STATE_NOT_AUTHENTICATED ? "log in first"
			 : s->state == IMAP_STATE_AUTHENTICATED	  ? "no mailbox selected"
								  : "already logged in");
		return;
	}
	def->handler(s, &cmd);
	/* Whatever changed meanwhile is told after each command, but
	 * expunges only where RFC 9051 7.5.1 allows them. */
	if (s->state == IMAP_STATE_SELECTED && s->changed)
		imap_select_sync(s, false);
}

/* A synchronizing literal over its limit: the client sends no octets and
 * waits for the command's tagged answer (RFC 9051 7.5), which the command
 * as read so far (up to the literal's announcement) names. A message too
 * big for APPEND is NO [TOOBIG] (RFC 9051 7.1), any other literal BAD. */
static void literal_too_big(struct imap_session *s)
{
	struct imap_command cmd;
	const char *error;
	arena_clear(s->arena);
	/* It does not parse (the literal is missing), but its tag and name do. */
	imap_command_parse(s->arena, s->in.data, s->in.len, &cmd, &error);
	s->tag = cmd.tag;
	if (cmd.tag != NULL && cmd.name != NULL && !cmd.uid && strcmp(cmd.name, "APPEND") == 0 &&
	    s->state != IMAP_STATE_NOT_AUTHENTICATED)
		imap_tagged(s, "NO", "[TOOBIG] Message too big");
	else
		imap_bad(s, "[TOOBIG] Literal too big");
}

static void session_init(struct imap_session *s, struct conn *c, const struct imap_server *server)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->server = server;
	s->arena = arena_create(8192);
	snprintf(s->id, sizeof(s->id), "i%lx%05lx", (unsigned long)getpid() & 0xfffff,
		 (unsigned long)c->id);
	netaddr_format(&c->peer, s->peer_ip, sizeof(s->peer_ip));
	settings_get_string(server->settings, "serverName", s->server_name, sizeof(s->server_name));
	if (s->server_name[0] == '\0')
		snprintf(s->server_name, sizeof(s->server_name), "%s", server->host_name);
	s->max_message =
	    (uint64_t)settings_get_int(server->settings, "messageSizeMb") * 1024 * 1024;
	s->state = IMAP_STATE_NOT_AUTHENTICATED;
	s->plaintext_auth_ok =
	    c->ssl != NULL || settings_get_bool(server->settings, "imapPlaintextAuth");
}

void imap_server_session(struct conn *c, void *arg)
{
	const struct imap_server *server = arg;
	struct imap_session session, *s = &session;
	session_init(s, c, server);
	long open = atomic_fetch_add(&sessions_open, 1) + 1;
	registry_add(s);
	bool log_sessions = settings_get_bool(server->settings, "logSessions");
	if (log_sessions)
		log_info("event=imap_connect session=%s peer=%s listener=%s", s->id, c->peer_text,
			 c->listener);

	if (open > settings_get_int(server->settings, "imapMaxConnections")) {
		imap_untagged(s, "BYE [UNAVAILABLE] Too many connections, try again later");
		goto out;
	}
	struct strbuf caps = {0};
	imap_capabilities(s, &caps);
	imap_untagged(s, "OK [CAPABILITY %s] %s Tegu IMAP ready", caps.data, s->server_name);
	strbuf_free(&caps);

	while (s->state != IMAP_STATE_LOGOUT) {
		if (imap_flush(s) < 0)
			break;
		bool authenticated = s->state != IMAP_STATE_NOT_AUTHENTICATED;
		/* Before login APPEND is refused anyway: no message-sized
		 * literal for it. */
		struct imap_reader_limits limits = {
		    .max_line = IMAP_MAX_LINE,
		    .max_literal = IMAP_MAX_LITERAL,
		    .max_append_literal = authenticated ? s->max_message : IMAP_MAX_LITERAL,
		    .max_command = (authenticated ? s->max_message : 0) + IMAP_MAX_COMMAND,
		    .literal_minus = false,
		};
		c->idle = conn_buffered(c) == 0;
		enum imap_read_result r =
		    imap_read_command(c, &limits, &s->in,
				      deadline_after_ms(authenticated ? IMAP_AUTOLOGOUT_MS
								      : IMAP_PREAUTH_TIMEOUT_MS));
		c->idle = false;
		if (r == IMAP_READ_CLOSED) {
			if (!c->shut)
				imap_untagged(s, "BYE Autologout");
			break;
		}
		if (r == IMAP_READ_LINE_TOO_LONG) {
			s->tag = NULL;
			imap_bad(s, "[TOOBIG] Command line too long");
		} else if (r == IMAP_READ_LITERAL_TOO_BIG) {
			literal_too_big(s);
		} else if (r == IMAP_READ_FATAL) {
			imap_untagged(s, "BYE [TOOBIG] Command too big");
			break;
		} else {
			dispatch(s);
		}
		if (s->errors >= IMAP_MAX_ERRORS) {
			imap_untagged(s, "BYE Too many errors");
			break;
		}
	}
out:
	imap_flush(s);
	if (s->state == IMAP_STATE_SELECTED)
		imap_select_close(s);
	registry_remove(s);
	atomic_fetch_sub(&sessions_open, 1);
	if (log_sessions)
		log_info("event=imap_disconnect session=%s peer=%s user=%s errors=%u", s->id,
			 c->peer_text, s->user.address, s->errors);
	strbuf_free(&s->out);
	strbuf_free(&s->in);
	arena_destroy(&s->arena);
}
