/* IDLE (RFC 2177, RFC 9051 6.3.13): the session fiber sends updates as
 * channel "mailbox" wakes it, while a second fiber reads the client's
 * DONE, so that neither waits on the other. */
#include "imap/imap-session.h"

#include <string.h>
#include <strings.h>

#include "lib/conn.h"
#include "lib/fiber.h"

/* A line now and then keeps NAT devices from forgetting the connection. */
#define IDLE_KEEPALIVE_MS (2 * 60 * 1000)
#define IDLE_DONE_MAX	  64

struct idle_reader {
	struct imap_session *s;
	bool finished; /* the reader fiber has returned */
	bool done;     /* the client sent DONE */
	struct waitq exited;
};

static void idle_read(void *arg)
{
	struct idle_reader *r = arg;
	const char *line;
	int n =
	    conn_read_line(r->s->c, IDLE_DONE_MAX, deadline_after_ms(IMAP_AUTOLOGOUT_MS), &line);
	/* The line is not NUL-terminated: "DONE" CRLF, or a bare LF. */
	r->done = (n == 6 && line[4] == '\r' && line[5] == '\n') || (n == 5 && line[4] == '\n');
	r->done = r->done && strncasecmp(line, "DONE", 4) == 0;
	r->finished = true;
	waitq_wake_all(&r->s->wakeup);
	waitq_wake_all(&r->exited);
}

void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->count != 0) {
		imap_bad(s, "IDLE takes no arguments");
		return;
	}
	if (s->state == IMAP_STATE_SELECTED && s->changed)
		imap_select_sync(s, true);
	strbuf_append(&s->out, "+ idling\r\n", 10);
	if (imap_flush(s) < 0) {
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	struct idle_reader reader = {.s = s};
	fiber_spawn("imap-idle", idle_read, &reader);
	int64_t ends = deadline_after_ms(IMAP_AUTOLOGOUT_MS);
	bool failed = false;
	while (!reader.finished && !failed) {
		int64_t next = deadline_after_ms(IDLE_KEEPALIVE_MS);
		waitq_wait(&s->wakeup, next < ends ? next : ends);
		if (reader.finished)
			break;
		if (time_now_ms() >= ends)
			break;
		if (s->state == IMAP_STATE_SELECTED && s->changed)
			imap_select_sync(s, true);
		else if (time_now_ms() >= next)
			imap_untagged(s, "OK Still here");
		failed = imap_flush(s) < 0 || s->state == IMAP_STATE_LOGOUT;
	}
	if (!reader.finished) {
		/* Autologout or a dead client: stop the reader before going. */
		conn_shutdown(s->c);
		while (!reader.finished)
			waitq_wait(&reader.exited, deadline_after_ms(1000));
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	if (!reader.done) {
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	imap_tagged(s, "OK", "IDLE terminated");
}
