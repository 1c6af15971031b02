/* RFC 5322 header block scanning for the message parser (mail-mime.c), the
 * envelope and anything else that reads stored or arriving mail.
 *
 * The scanner reads lines with memchr() and keeps offsets only, so it can
 * run over a whole message without copying it. It is lenient in what it
 * takes (bare LF, lines without a colon, blanks before the colon) because
 * a message that SMTP accepted must still be stored and shown. See
 * mail-header.h for the contract.
 */
#include "mail/mail-header.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"

const struct mail_header_limits mail_header_default_limits = {
    .max_fields = MAIL_HEADER_MAX_FIELDS,
    .max_field_size = MAIL_HEADER_MAX_FIELD_SIZE,
    .max_header_size = MAIL_HEADER_MAX_SIZE,
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One physical line starting at pos: where its content ends (before CRLF
 * or LF) and where the next line starts. A line without LF runs to end. */
static void line_bounds(const char *data, size_t pos, size_t end, size_t *content_end_r,
			size_t *next_r)
{
	const char *nl = memchr(data + pos, '\n', end - pos);

	if (nl == NULL) {
		*content_end_r = end;
		*next_r = end;
		return;
	}
	size_t lf = (size_t)(nl - data);
	*next_r = lf + 1;
	/* Only the CR right before the LF is part of the line end; a bare CR
	 * elsewhere is content. */
	*content_end_r = lf > pos && data[lf - 1] == '\r' ? lf - 1 : lf;
}

void mail_header_iter_init(struct mail_header_iter *iter, const char *data, size_t start,
			   size_t end, const struct mail_header_limits *limits)
{
	memset(iter, 0, sizeof(*iter));
	iter->data = data;
	iter->start = start;
	iter->pos = start;
	iter->end = end;
	iter->limits = limits != NULL ? *limits : mail_header_default_limits;
	iter->body_offset = end;
}

static void iter_limit(struct mail_header_iter *iter, const char *error)
{
	iter->skipped++;
	if (iter->error == NULL)
		iter->error = error;
}

bool mail_header_iter_next(struct mail_header_iter *iter, struct mail_header_field *field_r)
{
	const char *data = iter->data;

	while (!iter->done) {
		size_t line = iter->pos, content_end, next;

		if (line >= iter->end) {
			iter->done = true;
			iter->body_offset = iter->end;
			break;
		}
		line_bounds(data, line, iter->end, &content_end, &next);
		if (content_end == line && next > line) {
			/* The empty line: the header ends after it. */
			iter->done = true;
			iter->has_body = true;
			iter->body_offset = next;
			break;
		}
		iter->pos = next;

		/* A continuation with no field before it, or a line with no
		 * name and colon: part of the header, but not a field. */
		const char *colon =
		    is_wsp(data[line]) ? NULL : memchr(data + line, ':', content_end - line);
		size_t name_len = colon != NULL ? (size_t)(colon - (data + line)) : 0;
		while (name_len > 0 && is_wsp(data[line + name_len - 1]))
			name_len--;
		if (name_len == 0) {
			iter->bad_lines++;
			continue;
		}

		size_t value = (size_t)(colon - data) + 1;
		while (value < content_end && is_wsp(data[value]))
			value++;
		size_t value_end = content_end;
		/* Folded lines, blank-only ones included, belong to the field. */
		while (iter->pos < iter->end && is_wsp(data[iter->pos])) {
			line_bounds(data, iter->pos, iter->end, &value_end, &next);
			iter->pos = next;
		}

		size_t size = iter->pos - line;
		if (iter->fields >= iter->limits.max_fields) {
			iter_limit(iter, "too many header fields");
			continue;
		}
		if (size > iter->limits.max_field_size) {
			iter_limit(iter, "header field too long");
			continue;
		}
		if (line - iter->start >= iter->limits.max_header_size) {
			iter_limit(iter, "header too large");
			continue;
		}
		iter->fields++;
		field_r->offset = line;
		field_r->size = size;
		field_r->name_len = name_len;
		field_r->value_offset = value;
		field_r->value_len = value_end - value;
		return true;
	}
	return false;
}

int mail_header_iter_deinit(struct mail_header_iter *iter, const char **error_r)
{
	struct mail_header_field field;

	while (mail_header_iter_next(iter, &field))
		;
	if (iter->error != NULL) {
		*error_r = iter->error;
		return -1;
	}
	return 0;
}

int mail_header_parse(struct arena *arena, const char *data, size_t start, size_t end,
		      const struct mail_header_limits *limits, struct mail_header **header_r,
		      const char **error_r)
{
	struct mail_header_iter iter;
	struct mail_header_field field;
	struct mail_header *hdr = arena_zalloc(arena, sizeof(*hdr));
	size_t cap = 0;

	mail_header_iter_init(&iter, data, start, end, limits);
	hdr->data = data;
	hdr->offset = start;
	while (mail_header_iter_next(&iter, &field)) {
		if (hdr->count == cap) {
			/* Review: size arithmetic. cap doubles from 16 and
			 * stays near max_fields (an unsigned); the old array
			 * is left to the arena. */
			size_t ncap = cap == 0 ? 16 : cap * 2;
			if (ncap > SIZE_MAX / sizeof(*hdr->fields))
				abort();
			struct mail_header_field *n = arena_alloc(arena, ncap * sizeof(*n));
			if (hdr->count > 0)
				memcpy(n, hdr->fields, hdr->count * sizeof(*n));
			hdr->fields = n;
			cap = ncap;
		}
		hdr->fields[hdr->count++] = field;
	}
	hdr->size = iter.body_offset - start;
	hdr->has_body = iter.has_body;
	*header_r = hdr;
	return mail_header_iter_deinit(&iter, error_r);
}

bool mail_header_field_is(const char *data, const struct mail_header_field *field, const char *name)
{
	size_t len = strlen(name);

	return field->name_len == len && strncasecmp(data + field->offset, name, len) == 0;
}

const struct mail_header_field *mail_header_find(const struct mail_header *header, const char *name)
{
	for (unsigned i = 0; i < header->count; i++) {
		if (mail_header_field_is(header->data, &header->fields[i], name))
			return &header->fields[i];
	}
	return NULL;
}

const struct mail_header_field *mail_header_find_last(const struct mail_header *header,
						      const char *name)
{
	for (unsigned i = header->count; i > 0; i--) {
		if (mail_header_field_is(header->data, &header->fields[i - 1], name))
			return &header->fields[i - 1];
	}
	return NULL;
}

/* Copies p[0..len) to dst, dropping fold line ends if unfold, turning NUL
 * into U+FFFD. Returns the bytes written; dst NULL only counts. */
static size_t copy_clean(char *dst, const char *p, size_t len, bool unfold)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (unfold && (p[i] == '\r' || p[i] == '\n')) {
			size_t j = i;
			if (p[j] == '\r' && j + 1 < len && p[j + 1] == '\n')
				j++;
			if (p[j] == '\n' && j + 1 < len && is_wsp(p[j + 1])) {
				i = j;
				continue;
			}
		}
		if (p[i] == '\0') {
			if (dst != NULL)
				memcpy(dst + n, "\xef\xbf\xbd", 3);
			n += 3;
			continue;
		}
		if (dst != NULL)
			dst[n] = p[i];
		n++;
	}
	return n;
}

static char *dup_clean(struct arena *arena, const char *p, size_t len, bool unfold)
{
	/* Review: size arithmetic. The copy is at most 3 * len (each NUL
	 * grows to 3 bytes) plus the terminator. */
	if (len > (SIZE_MAX - 1) / 3)
		abort();
	size_t n = copy_clean(NULL, p, len, unfold);
	char *s = arena_alloc(arena, n + 1);

	copy_clean(s, p, len, unfold);
	s[n] = '\0';
	return s;
}

char *mail_header_strdup(struct arena *arena, const char *p, size_t len)
{
	return dup_clean(arena, p, len, false);
}

char *mail_header_unfold(struct arena *arena, const char *p, size_t len)
{
	return dup_clean(arena, p, len, true);
}

char *mail_header_field_value(struct arena *arena, const char *data,
			      const struct mail_header_field *field)
{
	return mail_header_unfold(arena, data + field->value_offset, field->value_len);
}
