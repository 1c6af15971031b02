/* What the store keeps beside a message's content so that IMAP never reads
 * the message again: the packed structure (mail-structure-cache.h), the
 * decoded header fields and the text for the full-text index
 * (mail-text.h), and the Date: field. Built once, when SMTP accepts a
 * message or IMAP APPEND stores one.
 *
 * mail_index_build() is pure CPU work over the message (no I/O), so
 * callers may run it on the offload pool for large messages.
 */
#ifndef TEGU_MAIL_INDEX_H
#define TEGU_MAIL_INDEX_H

#include <stddef.h>

struct arena;

/* Text handed to the full-text index: enough to find a message by its
 * words while keeping the tsvector far below PostgreSQL's 1 MB limit. */
#define MAIL_INDEX_MAX_TEXT (256 * 1024)

struct mail_index {
	const void *structure; /* MailStructurePb, packed */
	size_t structure_len;
	const char *const *header_fields; /* "name:value", UTF-8 */
	unsigned header_field_count;
	const char *text;      /* UTF-8, no NUL, at most MAIL_INDEX_MAX_TEXT octets */
	const char *sent_date; /* "2026-11-23 10:00:00+00" (UTC), or NULL */
	const char *problem;   /* a parser limit hit (for the log), or NULL */
};

/* Builds the index of data[0..size) into arena memory. Returns 0, or -1
 * with *error_r when the message is over the parser's size limit. */
int mail_index_build(struct arena *arena, const char *data, size_t size, struct mail_index *index_r,
		     const char **error_r);

/* Messages from this size on are indexed on the offload pool. */
#define MAIL_INDEX_OFFLOAD_SIZE (256 * 1024)

/* mail_index_build() for a fiber: a large message is indexed on the
 * offload pool (lib/offload.h) so that parsing it does not hold up the
 * other fibers of the thread, a small one right here. */
int mail_index_build_in_fiber(struct arena *arena, const char *data, size_t size,
			      struct mail_index *index_r, const char **error_r);

#endif
