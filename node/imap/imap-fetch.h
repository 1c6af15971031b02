/* FETCH items (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8474
 * EMAILID/THREADID, RFC 8514 SAVEDATE): parsing the attribute list, and
 * finding the octets a section names in a message by its structure.
 * Pure: no I/O. */
#ifndef TEGU_IMAP_FETCH_H
#define TEGU_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct imap_arg;
struct mail_structure;
struct mail_mime_part;

enum imap_fetch_kind {
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_UID,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_BODY_SHAPE, /* BODY without a section: the non-extensible structure */
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_SECTION,	/* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER/TEXT */
	IMAP_FETCH_BINARY,	/* BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE, /* BINARY.SIZE[...] */
};

enum imap_section_text {
	IMAP_SECTION_ALL,		/* BODY[] or BODY[1.2]: the part's content */
	IMAP_SECTION_HEADER,		/* [HEADER], [n.HEADER] */
	IMAP_SECTION_HEADER_FIELDS,	/* [HEADER.FIELDS (...)] */
	IMAP_SECTION_HEADER_FIELDS_NOT, /* [HEADER.FIELDS.NOT (...)] */
	IMAP_SECTION_TEXT,		/* [TEXT], [n.TEXT] */
	IMAP_SECTION_MIME,		/* [n.MIME] */
};

#define IMAP_SECTION_MAX_DEPTH 32

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	bool peek;	      /* does not set \Seen */
	const char *response; /* the name in the response: "BODY[HEADER]", "RFC822" */
	unsigned part[IMAP_SECTION_MAX_DEPTH]; /* "1.2.3" */
	unsigned part_depth;
	enum imap_section_text text;
	const char **fields; /* HEADER.FIELDS(.NOT): names */
	unsigned field_count;
	bool partial;
	uint64_t offset, length; /* <offset.length> */
};

struct imap_fetch_request {
	struct imap_fetch_item *items;
	unsigned count;
	bool needs_content;	/* some item reads the message octets */
	bool needs_structure;	/* some item reads the structure */
	bool sets_seen;		/* some non-PEEK body item */
	uint64_t changed_since; /* CHANGEDSINCE (RFC 7162), 0 if none */
	bool vanished;		/* VANISHED modifier (QRESYNC) */
};

/* Parses the attributes (one atom, a macro, or a list) and the optional
 * modifier list that follow the sequence set. Returns 0, or -1 with
 * *error_r for BAD. */
int imap_fetch_parse(struct arena *arena, const struct imap_arg *args, unsigned count,
		     struct imap_fetch_request *request_r, const char **error_r);

/* The part a section's numbers name, or NULL when there is no such part.
 * For HEADER/TEXT after numbers, the part must be a message/rfc822 and
 * the result is the enclosed message. */
const struct mail_mime_part *imap_fetch_find_part(const struct mail_structure *structure,
						  const struct imap_fetch_item *item);

/* The octets of the section: [*start_r, *start_r + *len_r) in the
 * message. HEADER.FIELDS items also need filtering (imap_fetch_filter).
 * Returns false when the section does not exist (the answer is then
 * NIL for BODY, an empty string by Dovecot's habit). */
bool imap_fetch_section_range(const struct mail_structure *structure,
			      const struct imap_fetch_item *item, size_t *start_r, size_t *len_r);

/* Appends the header fields of header[0..len) that item selects (or, for
 * .NOT, does not), then the empty line. */
struct strbuf;
void imap_fetch_filter_header(struct strbuf *out, const char *header, size_t len,
			      const struct imap_fetch_item *item);

#endif
