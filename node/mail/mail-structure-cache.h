/* The parsed structure of a message in the form local delivery stores in
 * mail_blobs.structure (protobuf-c, node/mail/mail-structure.proto), and
 * back: IMAP unpacks it instead of parsing the message again.
 *
 * Unpacking gives the same struct mail_structure the parser gave, so
 * mail_structure_dump() and the section lookups work on either; only the
 * pointer identity of the address placeholders (MISSING_MAILBOX) is lost.
 */
#ifndef TEGU_MAIL_STRUCTURE_CACHE_H
#define TEGU_MAIL_STRUCTURE_CACHE_H

#include <stddef.h>

struct arena;
struct mail_structure;

/* The form written now; a cache of another version is parsed anew. */
#define MAIL_STRUCTURE_CACHE_VERSION 1

/* Packs structure; returns an arena buffer of *len_r octets. */
const void *mail_structure_cache_pack(struct arena *arena, const struct mail_structure *structure,
				      size_t *len_r);

/* Unpacks data[0..len) into arena memory. Returns 0, or -1 with *error_r
 * when the data does not decode or is of another version. */
int mail_structure_cache_unpack(struct arena *arena, const void *data, size_t len,
				struct mail_structure **structure_r, const char **error_r);

#endif
