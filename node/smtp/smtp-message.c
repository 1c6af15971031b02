/* The message itself: DATA (RFC 5321 4.1.1.4) through the smuggling-safe
 * reader of smtp-data.c, BDAT (RFC 3030), the Received: trace header
 * (RFC 5321 4.4) and handing the message to the queue. 250 is said only
 * after the queue committed. */
#include "smtp/smtp-session.h"

#include "lib/arena.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "mail/mail-index.h"
#include "smtp/smtp-data.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SMTP_QUEUE_TIMEOUT_MS 30000
#define SMTP_READ_CHUNK	      (64 * 1024) /* octets buffered per DATA read */

/* RFC 3848 protocol names for the "with" clause. */
static const char *with_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2][2] = {
	    /* [utf8][esmtp][tls][auth] */
	    {{{"SMTP", "SMTP"}, {"SMTP", "SMTP"}}, {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}}},
	    {{{"SMTP", "SMTP"}, {"SMTP", "SMTP"}},
	     {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}}},
	};
	return names[s->mail.smtputf8][s->esmtp][s->c->ssl != NULL][s->authenticated];
}

static void append_received(struct smtp_session *s, struct strbuf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	strbuf_appendf(out, "Received: from %s ([%s])\r\n\tby %s (Tegu) with %s id %s.%u",
		       s->helo[0] ? s->helo : "unknown", s->peer_ip, s->server_name,
		       with_protocol(s), s->id, s->messages + 1);
	if (s->recipient_count == 1)
		strbuf_appendf(out, "\r\n\tfor <%s>", s->recipients[0].address);
	strbuf_appendf(out, "; %s\r\n", date);
}

/* The message's index (mail-index.h) and the memory it lives in. */
struct index_job {
	struct arena *arena;
	struct mail_index index;
	int ret;
	const char *error;
};

/* Commits the message to the queue and answers. */
static void accept_message(struct smtp_session *s, struct strbuf *message, bool eight_bit)
{
	struct index_job job = {.arena = arena_create(16 * 1024)};
	job.ret = mail_index_build_in_fiber(job.arena, message->data, message->len, &job.index,
					    &job.error);
	if (job.ret < 0) {
		/* Only the parser's size limit fails it, far above any SIZE. */
		log_warn("event=smtp_index_failed session=%s error=\"%s\"", s->id, job.error);
		smtp_reply(s, 552, "5.3.4", "Message too big for system");
		arena_destroy(&job.arena);
		smtp_transaction_reset(s);
		return;
	}
	if (job.index.problem != NULL)
		log_info("event=smtp_index_limited session=%s problem=\"%s\"", s->id,
			 job.index.problem);

	const char *body_type =
	    s->mail.body == SMTP_BODY_8BITMIME || eight_bit ? "8bitmime" : "7bit";
	const char *ret = s->mail.ret == SMTP_RET_FULL	 ? "full"
			  : s->mail.ret == SMTP_RET_HDRS ? "hdrs"
							 : NULL;
	struct queue_message m = {
	    .sender = s->sender,
	    .body = message->data,
	    .size = message->len,
	    .body_type = body_type,
	    .smtputf8 = s->mail.smtputf8,
	    .dsn_envid = s->mail.envid,
	    .dsn_ret = ret,
	    .client_address = s->peer_ip,
	    .helo = s->helo,
	    .auth_user = s->authenticated ? s->user.address : NULL,
	    .received_by = s->server->node_name,
	    .session_id = s->id,
	    .recipients = s->recipients,
	    .recipient_count = s->recipient_count,
	    .structure = job.index.structure,
	    .structure_len = job.index.structure_len,
	    .header_fields = job.index.header_fields,
	    .header_field_count = job.index.header_field_count,
	    .text = job.index.text,
	    .sent_date = job.index.sent_date,
	};
	int64_t id;
	const char *error;
	if (queue_enqueue(&m, deadline_after_ms(SMTP_QUEUE_TIMEOUT_MS), &id, &error) < 0) {
		log_warn("event=smtp_queue_failed session=%s error=\"%s\"", s->id, error);
		smtp_reply(s, 451, "4.3.0", "Requested action aborted: local error in processing");
	} else {
		s->messages++;
		log_info("event=smtp_accepted session=%s peer=%s queue_id=%lld from=<%s> rcpts=%u "
			 "size=%zu",
			 s->id, s->c->peer_text, (long long)id, s->sender, s->recipient_count,
			 message->len);
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %lld", (long long)id);
	}
	arena_destroy(&job.arena);
	smtp_transaction_reset(s);
}

void smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	if (s->state != SMTP_STATE_RCPT) {
		smtp_reply(s, 554, "5.5.1", "No valid recipients");
		return;
	}
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	if (smtp_flush(s) < 0) {
		s->state = SMTP_STATE_QUIT;
		return;
	}
	struct strbuf message = {0};
	append_received(s, &message);
	struct smtp_data_reader reader;
	smtp_data_reader_init(&reader, s->max_size);
	bool done = false;
	while (!done) {
		size_t used = smtp_data_feed(&reader, conn_buffer(s->c), conn_buffered(s->c),
					     &message, &done);
		conn_consume(s->c, used);
		if (done)
			break;
		int n = conn_fill(s->c, SMTP_READ_CHUNK, deadline_after_ms(SMTP_DATA_TIMEOUT_MS));
		if (n <= 0) {
			/* No end of data: nothing is stored, the client saw no 250. */
			log_info("event=smtp_data_aborted session=%s peer=%s size=%llu", s->id,
				 s->c->peer_text, (unsigned long long)reader.size);
			strbuf_free(&message);
			s->state = SMTP_STATE_QUIT;
			return;
		}
	}
	if (reader.flags & SMTP_DATA_TOO_BIG)
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
	else if (reader.flags & (SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF))
		smtp_reply(s, 550, "5.6.0", "Bare CR or LF in message: lines must end with CRLF");
	else if (reader.flags & SMTP_DATA_NUL)
		smtp_reply(s, 554, "5.6.0", "NUL octets are not allowed in messages");
	else if (reader.flags & SMTP_DATA_LONG_LINE)
		smtp_reply(s, 554, "5.6.0", "Line longer than 1000 octets in message");
	else {
		accept_message(s, &message, (reader.flags & SMTP_DATA_8BIT) != 0);
		strbuf_free(&message);
		return;
	}
	smtp_count_error(s);
	smtp_transaction_reset(s);
	strbuf_free(&message);
}

/* Reads size octets of a BDAT chunk into the body, or drops them.
 * Returns 0, or -1 when the connection ended. */
static int read_chunk(struct smtp_session *s, uint64_t size, bool discard)
{
	char buf[8192];
	while (size > 0) {
		size_t want = size < sizeof(buf) ? (size_t)size : sizeof(buf);
		int n = conn_read(s->c, buf, want, deadline_after_ms(SMTP_DATA_TIMEOUT_MS));
		if (n <= 0)
			return -1;
		if (!discard)
			strbuf_append(&s->body, buf, (size_t)n);
		size -= (uint64_t)n;
	}
	return 0;
}

int smtp_bdat_discard(struct smtp_session *s, uint64_t size)
{
	return read_chunk(s, size, true);
}

void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd)
{
	bool no_recipients = s->state == SMTP_STATE_MAIL;
	if (s->state != SMTP_STATE_BDAT) {
		strbuf_free(&s->body);
		if (!no_recipients)
			append_received(s, &s->body);
		s->received_len = s->body.len;
		s->state = SMTP_STATE_BDAT;
	}
	/* The chunk follows the command at once (RFC 3030 2): it must be
	 * read even when it is refused. */
	if (!s->bdat_failed && !no_recipients &&
	    cmd->chunk_size > s->max_size - (s->body.len - s->received_len))
		s->bdat_failed = true;
	bool discard = s->bdat_failed || no_recipients;
	if (read_chunk(s, cmd->chunk_size, discard) < 0) {
		s->state = SMTP_STATE_QUIT;
		return;
	}
	if (no_recipients) {
		smtp_reply(s, 554, "5.5.1", "No valid recipients");
		smtp_transaction_reset(s);
		return;
	}
	if (!cmd->last) {
		if (s->bdat_failed)
			smtp_reply(s, 552, "5.3.4",
				   "Message size exceeds fixed maximum message size");
		else
			smtp_reply(s, 250, "2.0.0", "%llu octets received",
				   (unsigned long long)cmd->chunk_size);
		return;
	}
	if (s->bdat_failed) {
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		smtp_transaction_reset(s);
		return;
	}
	struct strbuf message = s->body;
	s->body = (struct strbuf){0};
	accept_message(s, &message, s->mail.body == SMTP_BODY_8BITMIME);
	strbuf_free(&message);
}
