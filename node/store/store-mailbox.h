/* Mailboxes and the messages in them, as IMAP works on them: the
 * PostgreSQL store of schema/mail.sql. Names are UTF-8 with "/" as the
 * hierarchy separator; the inbox is "INBOX". Every change that commits
 * is announced on channel "mailbox" with the mailbox id as payload
 * (db_notify_after_commit), so sessions on every node see it.
 *
 * Return convention: 0 ok, -1 with *error_r when the database failed, and
 * 1 for the "no such thing" / "already there" answers named per function.
 * Strings and arrays returned live in the arena given.
 */
#ifndef TEGU_STORE_MAILBOX_H
#define TEGU_STORE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct store_mailbox {
	int64_t id;
	const char *name;
	const char *special_use; /* "\Sent", ... or NULL */
	bool subscribed;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};

/* Creates INBOX and the special folders of the user's domain if missing. */
int store_mailbox_ensure_defaults(int64_t user_id, int64_t deadline, const char **error_r);
/* All mailboxes of the user, by name. */
int store_mailbox_list(int64_t user_id, struct arena *arena, struct store_mailbox **list_r,
		       unsigned *count_r, int64_t deadline, const char **error_r);
/* 1: no such mailbox. */
int store_mailbox_find(int64_t user_id, const char *name, struct arena *arena,
		       struct store_mailbox *mailbox_r, int64_t deadline, const char **error_r);
/* By id. 1: no such mailbox (it was deleted). */
int store_mailbox_get(int64_t mailbox_id, struct arena *arena, struct store_mailbox *mailbox_r,
		      int64_t deadline, const char **error_r);
/* *id_r gets the new mailbox's id. 1: a mailbox of that name exists. */
int store_mailbox_create(int64_t user_id, const char *name, int64_t *id_r, int64_t deadline,
			 const char **error_r);
/* Deletes the mailbox and its messages (its children stay). 1: none. */
int store_mailbox_delete(int64_t user_id, const char *name, int64_t deadline, const char **error_r);
/* Renames the mailbox and its children ("a" -> "b" renames "a/x" to
 * "b/x"), each keeping its id. INBOX is special (RFC 9051 6.3.6): its
 * messages move to a new mailbox of the new name and INBOX stays, empty,
 * its messages expunged as far as its sessions can tell. 1: no such
 * mailbox, 2: the new name exists. */
int store_mailbox_rename(int64_t user_id, const char *from, const char *to, int64_t deadline,
			 const char **error_r);
/* 1: no such mailbox. */
int store_mailbox_subscribe(int64_t user_id, const char *name, bool subscribed, int64_t deadline,
			    const char **error_r);

struct store_mailbox_status {
	uint32_t messages, unseen, deleted;
	uint64_t size;	       /* octets of all messages (STATUS SIZE) */
	uint64_t deleted_size; /* octets of the \Deleted ones (DELETED-STORAGE) */
};
int store_mailbox_status(int64_t mailbox_id, struct store_mailbox_status *status_r,
			 int64_t deadline, const char **error_r);

/* ---- messages ---- */

struct store_message {
	uint32_t uid;
	uint64_t modseq;
	const char **flags; /* system flags as "\Seen", keywords as written */
	unsigned flag_count;
	int64_t internaldate; /* seconds since the epoch */
	int64_t savedate;
	uint64_t size;
	const char *email_id;
	const void *structure; /* packed, or NULL: parse content */
	size_t structure_len;
	const char *content; /* only when asked for */
	size_t content_len;
};

/* The UIDs of the mailbox, ascending, with its current counters. */
int store_message_uids(int64_t mailbox_id, struct arena *arena, uint32_t **uids_r,
		       uint32_t *count_r, struct store_mailbox *counters_r, int64_t deadline,
		       const char **error_r);

/* How much store_message_fetch() reads of each message. */
enum store_fetch_level {
	STORE_FETCH_ROWS,      /* uid, modseq, flags, dates, size, email_id */
	STORE_FETCH_STRUCTURE, /* and the cached structure */
	STORE_FETCH_CONTENT,   /* and the message octets */
};

/* The messages whose UIDs are in uids (a PostgreSQL int8multirange
 * literal, see imap_seqset_write_multirange), ascending, read to the
 * given level. changed_since > 0 keeps only messages with a greater
 * MODSEQ. */
int store_message_fetch(int64_t mailbox_id, const char *uids, enum store_fetch_level level,
			uint64_t changed_since, struct arena *arena,
			struct store_message **messages_r, unsigned *count_r, int64_t deadline,
			const char **error_r);

/* Octets [offset, offset + length) of one message (fewer at its end), so
 * that large messages go out in pieces. 1: no such message. */
int store_message_read(int64_t mailbox_id, uint32_t uid, uint64_t offset, size_t length,
		       struct arena *arena, const char **data_r, size_t *len_r, int64_t deadline,
		       const char **error_r);

enum store_flags_op {
	STORE_FLAGS_SET,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

/* Changes the flags of the messages in uids under one new MODSEQ. Only
 * messages whose flags really change are touched; unchanged_since > 0
 * (CONDSTORE) leaves alone those with a greater MODSEQ and lists their
 * UIDs in *failed_r. *changed_r gets the changed messages (uid, modseq,
 * flags); *modseq_r the MODSEQ this change took (the mailbox's highest
 * right after it). */
int store_message_set_flags(int64_t mailbox_id, const char *uids, enum store_flags_op op,
			    const char *const *flags, unsigned flag_count, uint64_t unchanged_since,
			    struct arena *arena, struct store_message **changed_r,
			    unsigned *changed_count_r, uint32_t **failed_r,
			    unsigned *failed_count_r, uint64_t *modseq_r, int64_t deadline,
			    const char **error_r);

/* Expunges the messages flagged \Deleted (and in uids, when not NULL),
 * remembering them for QRESYNC. *expunged_r gets their UIDs ascending. */
int store_message_expunge(int64_t mailbox_id, const char *uids, struct arena *arena,
			  uint32_t **expunged_r, unsigned *count_r, int64_t deadline,
			  const char **error_r);

/* UIDs expunged with a MODSEQ above since, ascending. */
int store_message_expunged_since(int64_t mailbox_id, uint64_t since, struct arena *arena,
				 uint32_t **uids_r, unsigned *count_r, int64_t deadline,
				 const char **error_r);

/* ---- search and sort (store-sort.c) ---- */

/* A message that matched, as store_sort_matches() hands it over. */
struct store_sort_row {
	uint32_t uid;
	uint64_t modseq;
	int64_t internaldate; /* seconds since the epoch */
	bool has_sent_date;   /* the Date: field was there and a date */
	int64_t sent_date;
	uint64_t size;
	/* Packed (mail-structure-cache.h), valid during the call only; NULL
	 * when not asked for or not cached. */
	const void *structure;
	size_t structure_len;
	unsigned index, count; /* this row's position, and how many there are */
};
enum store_sort_fields {
	STORE_SORT_STRUCTURE = 1 << 0, /* read the cached structure too */
	/* The condition reads mail_blobs (b.), or the caller wants the Date:
	 * field (sent_date): join it. Without, only messages is read. */
	STORE_SORT_BLOB = 1 << 1,
};
typedef void store_sort_fn(void *context, const struct store_sort_row *row);
/* Calls fn for each message of the mailbox that satisfies where, by
 * ascending UID. where is a condition over messages m and mail_blobs b
 * made of fixed fragments only (imap_search_sql builds it), referring to
 * the mailbox id as $1 and to params[1..nparams) as $2...; this function
 * supplies $1 (params[0] is not read). fields: enum store_sort_fields. */
int store_sort_matches(int64_t mailbox_id, const char *where, const char *const *params,
		       unsigned nparams, unsigned fields, store_sort_fn *fn, void *context,
		       int64_t deadline, const char **error_r);

/* ---- quota (store-quota.c) ---- */

/* Octets of all the user's messages, every mailbox counted (IMAP QUOTA's
 * STORAGE usage). */
int store_quota_usage(int64_t user_id, uint64_t *bytes_r, int64_t deadline, const char **error_r);

/* ---- APPEND, COPY, MOVE (store-append.c) ---- */

/* A message to append, with what the store keeps beside its content (the
 * fields of the message's index, see mail_index_build: plain fields here,
 * the store does not include mail/). */
struct store_append {
	const char *content; /* the octets as stored, CRLF line ends */
	size_t size;
	const void *structure; /* packed structure, or NULL */
	size_t structure_len;
	const char *const *header_fields; /* "name:value", UTF-8 */
	unsigned header_field_count;
	const char *text;	  /* for the full-text index, or NULL */
	const char *sent_date;	  /* the Date: field as a timestamptz literal, or NULL */
	const char *const *flags; /* canonical, sorted, without repeats */
	unsigned flag_count;
	int64_t internaldate; /* seconds since the epoch; 0: now */
};

/* Appends one message to the mailbox in one statement: the content goes
 * into mail_blobs unless a blob of the same SHA-256 is there, the message
 * takes the mailbox's next UID and a new MODSEQ. *uid_r gets its UID,
 * *uidvalidity_r the mailbox's UIDVALIDITY (APPENDUID), *modseq_r the
 * MODSEQ it took. The mailbox is announced after the commit. 1: no such
 * mailbox (it was deleted meanwhile); nothing was stored. */
int store_message_append(int64_t mailbox_id, const struct store_append *message, uint32_t *uid_r,
			 uint32_t *uidvalidity_r, uint64_t *modseq_r, int64_t deadline,
			 const char **error_r);

/* The result of a COPY or MOVE: the messages copied, in source UID order,
 * with the UID each got in the destination (COPYUID). */
struct store_copy_result {
	uint32_t *src_uids; /* ascending */
	uint32_t *dst_uids; /* ascending: dst_uids[i] is the copy of src_uids[i] */
	unsigned count;
	uint32_t uidvalidity; /* the destination's */
	uint64_t dst_modseq;  /* the MODSEQ the copies took (0 when none) */
	uint64_t src_modseq;  /* move: the MODSEQ of the expunge in the source (0 when none) */
};

/* Copies the messages of the source mailbox whose UIDs are in uids (an
 * int8multirange literal) to the destination, in one transaction: both
 * mailbox rows are locked (in id order), the destination's UIDNEXT moves
 * by the number of messages at once, and each copy keeps the content
 * (same blob), flags and INTERNALDATE of its original, with SAVEDATE now
 * and one new MODSEQ. With move the originals are then expunged under a
 * new MODSEQ of the source and remembered for QRESYNC, as
 * store_message_expunge does. The destination may be the source: the
 * copies get new UIDs. UIDs not in the mailbox are skipped; none left is
 * no error (count 0, nothing changes). Both mailboxes are announced after
 * the commit when something changed. 1: no such destination mailbox, 2:
 * no such source mailbox; nothing changed. */
int store_message_copy(int64_t src_mailbox_id, const char *uids, int64_t dst_mailbox_id, bool move,
		       struct arena *arena, struct store_copy_result *result_r, int64_t deadline,
		       const char **error_r);

#endif
