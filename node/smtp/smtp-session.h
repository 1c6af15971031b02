/* The state of one SMTP session, shared by the files of the session:
 * smtp-session.c (the command loop, replies, limits), smtp-commands.c
 * (one handler per verb), smtp-auth.c (AUTH PLAIN and LOGIN) and
 * smtp-message.c (DATA/BDAT bodies, the Received: header, the queue). */
#ifndef TEGU_SMTP_SESSION_H
#define TEGU_SMTP_SESSION_H

#include "directory/directory.h"
#include "lib/strbuf.h"
#include "queue/queue.h"
#include "smtp/smtp-parser.h"
#include "smtp/smtp-server.h"

#include <stdbool.h>
#include <stdint.h>

#define SMTP_MAX_RECIPIENTS 100
#define SMTP_MAX_ERRORS	    10
/* RFC 5321 4.5.3.2: the server waits 5 minutes for a command and 3
 * minutes for each block of DATA. */
#define SMTP_COMMAND_TIMEOUT_MS (5 * 60 * 1000)
#define SMTP_DATA_TIMEOUT_MS	(3 * 60 * 1000)

struct arena;

enum smtp_state {
	SMTP_STATE_CONNECTED, /* banner sent, no HELO/EHLO yet */
	SMTP_STATE_READY,     /* greeted, no transaction */
	SMTP_STATE_MAIL,      /* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,      /* at least one recipient */
	SMTP_STATE_BDAT,      /* inside a BDAT sequence */
	SMTP_STATE_QUIT,      /* closing */
};

extern const char *const smtp_state_names[];

struct smtp_session {
	struct conn *c;
	const struct smtp_server *server;
	char id[24];
	char peer_ip[64];
	char server_name[256];
	uint64_t max_size;
	enum smtp_state state;
	bool esmtp;
	char helo[256];
	bool full_allowed; /* peer is in the setting fullAllowedIps */
	bool authenticated;
	struct directory_user user;
	unsigned errors;
	unsigned messages;
	struct strbuf out; /* replies not yet written (PIPELINING) */

	/* the transaction */
	struct arena *arena;
	const char *sender;
	struct smtp_command mail; /* MAIL parameters; strings in arena */
	struct queue_recipient recipients[SMTP_MAX_RECIPIENTS];
	unsigned recipient_count;
	struct strbuf body;  /* BDAT: our Received: header, then the chunks so far */
	size_t received_len; /* octets of body that are our Received: header */
	bool bdat_failed;
};

/* Queues a reply line; ENHANCEDSTATUSCODES: every reply carries one. */
void smtp_reply(struct smtp_session *s, int code, const char *enhanced, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A multi-line reply's non-final line ("250-..."). */
void smtp_reply_continue(struct smtp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes queued replies. Returns 0 or -errno. */
int smtp_flush(struct smtp_session *s);
/* Counts a client error; the session ends after SMTP_MAX_ERRORS. */
void smtp_count_error(struct smtp_session *s);
/* Forgets the transaction (RSET, after a message, after STARTTLS). */
void smtp_transaction_reset(struct smtp_session *s);
/* Reads one command line into buf (NUL-terminated, CRLF removed) after
 * writing pending replies. Returns its length, -1 when the line was too
 * long (already answered), -2 at end of stream, timeout (421 queued) or
 * error: the session ends. */
int smtp_read_line(struct smtp_session *s, char *buf, size_t size, int64_t deadline);

/* Reads and drops a BDAT chunk that is refused. Returns 0 or -1 when the
 * connection ended. */
int smtp_bdat_discard(struct smtp_session *s, uint64_t size);

/* Handlers, one per verb, in smtp-commands.c, smtp-auth.c and smtp-message.c. */
void smtp_cmd_helo(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_mail(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_rset(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_noop(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_quit(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_expn(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_help(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_command *cmd);
void smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd);

#endif
