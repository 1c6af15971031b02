/* The SMTP queue as data (PostgreSQL tables queue_messages and
 * queue_entries, migrations/0003_queue.sql). Accepting a message means
 * queue_enqueue() has committed it: only then may the session say 250. */
#ifndef TEGU_QUEUE_H
#define TEGU_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue_recipient {
	const char *address;
	bool remote;		/* not a local domain: delivered over SMTP, not into a mailbox */
	const char *dsn_notify; /* "SUCCESS,FAILURE" as given, or NULL */
	const char *dsn_orcpt;	/* as given, or NULL */
};

struct queue_message {
	const char *sender; /* "" for <> */
	const char *body;
	size_t size;
	const char *body_type; /* "7bit", "8bitmime", "binarymime" */
	bool smtputf8;
	const char *dsn_envid; /* or NULL */
	const char *dsn_ret;   /* "full", "hdrs" or NULL */
	const char *client_address;
	const char *helo;
	const char *auth_user;	 /* or NULL */
	const char *received_by; /* node name */
	const char *session_id;
	const struct queue_recipient *recipients;
	unsigned recipient_count;
	/* What the store keeps beside the content, from mail_index_build()
	 * (the caller builds it: the queue does not parse mail). */
	const void *structure;
	size_t structure_len;
	const char *const *header_fields;
	unsigned header_field_count;
	const char *text;      /* for the full-text index */
	const char *sent_date; /* or NULL */
};

/* Stores the content as a blob of the mail area (once per SHA-256: a
 * blob already there is kept), the message and one entry per recipient in
 * one transaction (one statement), then announces channel "queue" (db_notify_after_commit) to
 * wake the delivery agents of every node. Returns 0 with *id_r once
 * committed, or -1 with *error_r when the commit did not happen (the
 * session answers 451 4.3.0; nothing is left behind). */
int queue_enqueue(const struct queue_message *m, int64_t deadline, int64_t *id_r,
		  const char **error_r);

#endif
