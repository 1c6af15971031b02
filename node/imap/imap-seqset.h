/* IMAP sequence sets (RFC 9051 section 9, "sequence-set"): "1:4,7,9:*".
 *
 * A set is parsed into ranges in the order written, each with lo <= hi
 * ("4:1" is 1:4); '*' is IMAP_SEQ_STAR until imap_seqset_resolve() puts
 * the largest number in use in its place. Numbers are 1..2^32-1 (nz-number);
 * 0 is an error.
 */
#ifndef TEGU_IMAP_SEQSET_H
#define TEGU_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct strbuf;

#define IMAP_SEQ_STAR UINT32_MAX
/* Ranges one set may hold; longer sets are an error. */
#define IMAP_SEQSET_MAX_RANGES 100000

struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	unsigned count;
};

/* Parses s (NUL-terminated). Returns 0, or -1 with *error_r. "$" (the
 * saved search result, RFC 5182) is not a sequence set here. */
int imap_seqset_parse(struct arena *arena, const char *s, struct imap_seqset *set_r,
		      const char **error_r);
/* Replaces '*' by max (the highest UID or message number; 0 in an empty
 * mailbox, which leaves "*" matching nothing... but "1:*" and "*" in
 * an empty mailbox match nothing either), then sorts the ranges and
 * merges overlapping and adjacent ones. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);
/* true if n is in a resolved set (binary search). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Appends a resolved set in its shortest IMAP form: "1:4,7". */
void imap_seqset_write(struct strbuf *out, const struct imap_seqset *set);
/* Appends a resolved set as a PostgreSQL int8multirange literal,
 * "{[1,5),[7,8)}", for a parameter such as uid <@ $1::int8multirange. */
void imap_seqset_write_multirange(struct strbuf *out, const struct imap_seqset *set);

#endif
