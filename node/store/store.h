/* Mailbox storage. Today one backend, PostgreSQL (store-pg.c): the
 * mailboxes, messages and content-addressed blobs of schema/mail.sql.
 *
 * Delivery into PostgreSQL happens inside the caller's transaction, so
 * that the message appearing in the mailboxes and its queue entry going
 * away commit together: a crash never yields a second copy. */
#ifndef TEGU_STORE_H
#define TEGU_STORE_H

#include <stdint.h>
#include <stddef.h>

struct db_conn;

/* Inside an open transaction on conn: makes sure each user has INBOX and
 * the special folders of their domain, stores the content of queue
 * message queue_message_id once, appends it to each user's INBOX with the
 * next UID and MODSEQ; a user who already got this queue message
 * through another of its recipients is skipped. user_ids must not repeat. Appends the ids of the
 * INBOXes that changed, comma-separated, to changed (for the "mailbox"
 * announcement the caller makes after its commit). Returns 0 or -1 with
 * *error_r (the caller rolls back). */
struct strbuf;
int store_pg_deliver(struct db_conn *conn, int64_t queue_message_id, const int64_t *user_ids,
		     unsigned user_count, struct strbuf *changed, int64_t deadline,
		     const char **error_r);

enum store_quota {
	STORE_QUOTA_OK,
	STORE_QUOTA_FULL,	     /* the mailbox is full: 452 4.2.2, try later */
	STORE_QUOTA_MESSAGE_TOO_BIG, /* the message alone exceeds the quota: 552 5.2.2 */
};

/* Whether a message of size octets (0: unknown) still fits the quota of
 * the user who owns address. Groups, aliases and users without a quota
 * are always OK. Returns 0 with *result_r, or -1 with *error_r. */
int store_pg_check_quota(const char *address, uint64_t size, int64_t deadline,
			 enum store_quota *result_r, const char **error_r);

#endif
