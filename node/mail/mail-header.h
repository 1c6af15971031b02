/* RFC 5322 header fields: iterate the fields of a header block, find them
 * by name, unfold their values.
 *
 * The parser is pure: it reads a buffer the caller owns and keeps only
 * offsets into it. A header block starts at a given offset and ends after
 * the first empty line ("\r\n" or a bare "\n") or at the end of the range;
 * lines may end in CRLF or a bare LF (APPEND may give LF-only messages).
 * A line that starts with SP or HTAB continues the previous field. A line
 * that is neither a field ("name:") nor a continuation (an mbox "From "
 * line, garbage) belongs to the header but is not a field.
 *
 * Limits are never a reason to stop early: the header still ends where the
 * empty line is, so offsets stay right for the body. Fields past a limit
 * are left out and the first limit hit is reported as the error.
 */
#ifndef TEGU_MAIL_HEADER_H
#define TEGU_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

#define MAIL_HEADER_MAX_FIELDS	   1000
#define MAIL_HEADER_MAX_FIELD_SIZE (64 * 1024)
#define MAIL_HEADER_MAX_SIZE	   (1024 * 1024)

struct mail_header_limits {
	unsigned max_fields;	/* fields after this many are left out */
	size_t max_field_size;	/* a longer field (name to line end) is left out */
	size_t max_header_size; /* fields starting past this many octets are left out */
};

/* MAIL_HEADER_MAX_* */
extern const struct mail_header_limits mail_header_default_limits;

/* One field. All offsets are into the buffer given to the iterator. */
struct mail_header_field {
	size_t offset;	 /* start of the name */
	size_t size;	 /* the whole field, folded lines and final line end included */
	size_t name_len; /* the name, without whitespace before the colon */
	/* The raw value: after the colon and the blanks that follow it on the
	 * first line, up to (not including) the final line end. Folding line
	 * ends are kept; see mail_header_unfold(). */
	size_t value_offset;
	size_t value_len;
};

/* Iterator state; the fields are the caller's to read, not to change. */
struct mail_header_iter {
	const char *data;
	size_t pos, end;
	size_t start;
	struct mail_header_limits limits;
	unsigned fields;    /* fields returned so far */
	unsigned skipped;   /* fields left out because of a limit */
	unsigned bad_lines; /* lines that were neither field nor continuation */
	bool done;	    /* the end of the header was reached */
	bool has_body;	    /* an empty line ended the header */
	size_t body_offset; /* when done: just past the empty line, or end */
	const char *error;  /* the first limit hit, or NULL */
};

/* Starts iterating the header that begins at data[start] and may extend to
 * data[end] (exclusive). limits may be NULL for the defaults. data must
 * stay valid while iterating; nothing is allocated. */
void mail_header_iter_init(struct mail_header_iter *iter, const char *data, size_t start,
			   size_t end, const struct mail_header_limits *limits);
/* Returns true with *field_r set, or false at the end of the header (then
 * iter->body_offset and iter->has_body are set). Fields past a limit are
 * skipped, not returned; the iteration always reaches the header's end. */
bool mail_header_iter_next(struct mail_header_iter *iter, struct mail_header_field *field_r);
/* Runs the iterator to the end if it is not there yet. Returns 0, or -1
 * with *error_r (static text) if some field was left out because of a
 * limit. */
int mail_header_iter_deinit(struct mail_header_iter *iter, const char **error_r);

/* A whole header block as an array, for callers that look fields up more
 * than once. */
struct mail_header {
	const char *data; /* the buffer the field offsets refer to */
	struct mail_header_field *fields;
	unsigned count;
	size_t offset; /* where the header starts in data */
	size_t size;   /* octets, the empty line included when there is one */
	bool has_body; /* an empty line ended the header */
};

/* Parses the header at data[start..end). Returns 0, or -1 with *error_r
 * when a limit left fields out; *header_r is complete either way (fields
 * within the limits, the right size), so callers that tolerate oversized
 * headers may go on. Allocates from arena only. */
int mail_header_parse(struct arena *arena, const char *data, size_t start, size_t end,
		      const struct mail_header_limits *limits, struct mail_header **header_r,
		      const char **error_r);

/* True if the field's name is name, compared case-insensitively. */
bool mail_header_field_is(const char *data, const struct mail_header_field *field,
			  const char *name);
/* The first (or, with _last, the last) field with this name, or NULL. */
const struct mail_header_field *mail_header_find(const struct mail_header *header,
						 const char *name);
const struct mail_header_field *mail_header_find_last(const struct mail_header *header,
						      const char *name);

/* Copies len bytes into the arena as a C string. NUL bytes, which would cut
 * a C string short, become U+FFFD (as Dovecot does), so every string this
 * module family hands out is whole. */
char *mail_header_strdup(struct arena *arena, const char *p, size_t len);
/* Like mail_header_strdup(), and also removes the line ends of folds
 * (RFC 5322 section 2.2.3: CRLF or LF followed by WSP; the WSP stays). */
char *mail_header_unfold(struct arena *arena, const char *p, size_t len);
/* The field's unfolded value, copied into the arena. */
char *mail_header_field_value(struct arena *arena, const char *data,
			      const struct mail_header_field *field);

#endif
