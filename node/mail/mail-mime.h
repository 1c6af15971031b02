/* The MIME structure of a message (RFC 2045-2047, 2231, 2046), parsed once
 * at local delivery so that IMAP can answer ENVELOPE, BODY, BODYSTRUCTURE
 * and BODY[section] without reading the message again.
 *
 * mail_structure_parse() is pure: no I/O, memory only from the arena given,
 * the message buffer only read. The result refers to the message by
 * offsets (octets from its first byte) and owns copies of every string, so
 * the buffer may go away while the structure lives on.
 *
 * What it does with real mail:
 *   - The header of every part ends at its empty line, at the end of the
 *     part, or at a boundary line of an enclosing multipart.
 *   - A part without Content-Type (or with one that does not parse) is
 *     text/plain; charset=us-ascii, or message/rfc822 inside
 *     multipart/digest. The other Content-* fields of a message's own
 *     header count only when it has MIME-Version or Content-Type (a
 *     multipart's parts always count), as in Dovecot.
 *   - Boundaries are searched per RFC 2046: a line starting with "--" and
 *     the boundary (a prefix match, as the RFC asks), the innermost
 *     multipart's first; the line end before it belongs to the boundary;
 *     the preamble and epilogue belong to no part; a missing closing
 *     boundary ends the multipart at the enclosing boundary or the end.
 *   - message/rfc822 is parsed as a message (its own envelope and parts),
 *     whatever its Content-Transfer-Encoding, again like Dovecot.
 *   - Limits (nesting depth, number of parts, header limits) never fail the
 *     parse: a multipart or message/rfc822 that would go past them is kept
 *     as one opaque leaf, fields past a header limit are left out, and the
 *     problem is recorded in the structure for the caller to log.
 *
 * Sizes come in two kinds: octets as stored (offsets, *_size) and the
 * CRLF size (*_vsize: every bare LF counted as CRLF), which is what IMAP
 * reports because IMAP sends messages with CRLF line ends (Dovecot does
 * the same). For messages that arrived CRLF-normalised both are equal.
 */
#ifndef TEGU_MAIL_MIME_H
#define TEGU_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mail-envelope.h"
#include "mail/mail-header.h"

struct arena;
struct strbuf;

#define MAIL_MIME_MAX_DEPTH	   32
#define MAIL_MIME_MAX_PARTS	   1000
#define MAIL_MIME_MAX_MESSAGE_SIZE ((size_t)1 << 31)
/* Parameters kept per header field; the rest are dropped. */
#define MAIL_MIME_MAX_PARAMS 256
/* Languages kept from Content-Language. */
#define MAIL_MIME_MAX_LANGUAGES 64
/* Longer boundaries are not boundaries (RFC 2046 allows 70). */
#define MAIL_MIME_MAX_BOUNDARY 200
/* max_depth is clamped to this, which bounds the recursion. */
#define MAIL_MIME_HARD_MAX_DEPTH 128

struct mail_mime_limits {
	unsigned max_depth;	 /* parts nest at most this deep below the root */
	unsigned max_parts;	 /* parts in all, message/rfc822 contents included */
	size_t max_message_size; /* larger input is refused */
	struct mail_header_limits header;
};

/* MAIL_MIME_MAX_* and the header defaults. */
extern const struct mail_mime_limits mail_mime_default_limits;

/* A Content-Type or Content-Disposition parameter. RFC 2231 continuations
 * (name*0, name*1*, ...) are joined into one parameter. */
struct mail_param {
	const char *name;      /* the attribute, without RFC 2231 '*' suffixes */
	const char *imap_name; /* as BODYSTRUCTURE prints it: name, plus '*' when extended */
	/* The value as written, unquoted. For an extended (RFC 2231 "name*")
	 * parameter it stays encoded, "charset'language'%XX...", as Dovecot
	 * sends it and clients expect; unencoded continuation sections
	 * joined to an encoded one are %-encoded so the whole stays valid. */
	const char *value;
	bool extended;
	const char *charset, *language; /* of an extended value, NULL if none */
	const char *decoded;		/* %XX decoded (extended) or value, in charset */
	const char *utf8;		/* decoded as UTF-8 when known: valid UTF-8 in
					   us-ascii/utf-8 or no charset, or ISO-8859-1 converted;
					   else NULL */
};

enum mail_mime_part_flags {
	/* multipart/ *: children are its parts (maybe none: no boundary,
	 * or the boundary never seen). */
	MAIL_MIME_PART_MULTIPART = 1 << 0,
	/* message/rfc822: one child, the enclosed message, whose part has
	 * the envelope. */
	MAIL_MIME_PART_MESSAGE = 1 << 1,
	MAIL_MIME_PART_TEXT = 1 << 2, /* text/ *: the line count is reported */
	/* A multipart or message/rfc822 not looked into because of a limit. */
	MAIL_MIME_PART_OPAQUE = 1 << 3,
	/* No usable Content-Type: type/subtype are the default. */
	MAIL_MIME_PART_DEFAULT_TYPE = 1 << 4,
	/* An empty line ended the header (else the header runs to the end
	 * of the part and the body is empty). */
	MAIL_MIME_PART_HAS_BODY = 1 << 5,
};

struct mail_mime_part {
	struct mail_mime_part *parent, *next, *children;
	unsigned child_count;
	unsigned depth; /* 0 for the message itself */
	unsigned flags; /* enum mail_mime_part_flags */

	/* Octets in the message. The header starts at offset and includes
	 * its empty line; the body follows it directly. */
	size_t offset;
	size_t header_size, header_vsize;
	size_t body_offset;
	size_t body_size, body_vsize;
	size_t body_lines; /* LFs in the body */

	const char *type, *subtype; /* as written (case kept), or the default */
	const struct mail_param *params;
	unsigned param_count;
	const char *charset; /* the charset parameter; "us-ascii" for text/ * without one */

	/* Raw field values as written (folds kept), NULL when absent. */
	const char *id, *description, *md5, *location;
	const char *encoding;	 /* Content-Transfer-Encoding token, NULL if absent: 7bit */
	const char *disposition; /* the type token ("" if the field is empty) */
	const struct mail_param *disposition_params;
	unsigned disposition_param_count;
	const char *const *languages;
	unsigned language_count;

	/* The envelope of a message: set on the root and on the child of a
	 * message/rfc822 part. */
	struct mail_envelope *envelope;
};

enum mail_structure_problems {
	MAIL_STRUCTURE_HEADER_LIMIT = 1 << 0,  /* header fields left out */
	MAIL_STRUCTURE_DEPTH_LIMIT = 1 << 1,   /* an opaque part: too deep */
	MAIL_STRUCTURE_PART_LIMIT = 1 << 2,    /* parts left out or opaque: too many */
	MAIL_STRUCTURE_ADDRESS_LIMIT = 1 << 3, /* addresses left out */
};

struct mail_structure {
	size_t size;  /* of the message */
	size_t vsize; /* with bare LFs counted as CRLF: RFC822.SIZE */
	struct mail_mime_part *root;
	struct mail_envelope *envelope; /* the root's */
	unsigned part_count;
	unsigned problems;   /* enum mail_structure_problems */
	const char *problem; /* the first problem in words, or NULL */
};

/* Parses the message data[0..size). limits may be NULL for the defaults.
 * Returns 0 with *structure_r set (limits hit are in ->problems, not
 * errors), or -1 with *error_r if size is over limits->max_message_size. */
int mail_structure_parse(struct arena *arena, const char *data, size_t size,
			 const struct mail_mime_limits *limits, struct mail_structure **structure_r,
			 const char **error_r);

/* Parses the parameters in value[0..len) (what follows the type of a
 * Content-Type or Content-Disposition, starting at or before the first
 * ';'), joins RFC 2231 continuations and decodes extended values. Plain
 * parameters come first, in their order and with repeats kept; then the
 * RFC 2231 ones sorted by name. That is the order Dovecot sends them in. */
void mail_mime_params_parse(struct arena *arena, const char *value, size_t len,
			    const struct mail_param **params_r, unsigned *count_r);
/* The first parameter with this name (case-insensitive; extended or not
 * as asked), or NULL. */
const struct mail_param *mail_mime_param_find(const struct mail_param *params, unsigned count,
					      const char *name, bool extended);

/* Appends the part as IMAP's BODYSTRUCTURE (extended true) or BODY
 * (false), with Dovecot's choices: CRLF sizes, "7bit" for no encoding,
 * ("charset" "us-ascii") added to text parts without one, an empty
 * text/plain child for a multipart with no parts (IMAP needs one), an
 * opaque multipart or message/rfc822 shown as application/octet-stream. */
void mail_mime_dump(struct strbuf *out, const struct mail_mime_part *part, bool extended);
/* Appends "ENVELOPE (...) BODYSTRUCTURE (...)" as in a FETCH response. */
void mail_structure_dump(struct strbuf *out, const struct mail_structure *structure);

#endif
