/* The message parser local delivery runs once per message: headers, MIME
 * tree, envelopes, offsets and sizes, so that IMAP never parses again.
 * See mail-mime.h for what it promises.
 *
 * One pass of recursive descent over the message with a stack of the
 * boundaries of the enclosing multiparts: a part ends at the first line
 * that matches any of them, and which one matched tells the callers above
 * whether their part ended too. Recursion is bounded by the depth limit.
 * The field-value parsers (Content-Type parameters, RFC 2231) are small
 * scanners written for leniency: they take what can be used and skip the
 * rest, because a stored message must always get a structure.
 */
#include "mail/mail-mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/utf8.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-imap-quote.h"

/* Appends a string literal without counting it by hand. */
#define APPEND_LIT(out, lit) strbuf_append((out), (lit), sizeof(lit) - 1)

const struct mail_mime_limits mail_mime_default_limits = {
    .max_depth = MAIL_MIME_MAX_DEPTH,
    .max_parts = MAIL_MIME_MAX_PARTS,
    .max_message_size = MAIL_MIME_MAX_MESSAGE_SIZE,
    .header =
	{
	    .max_fields = MAIL_HEADER_MAX_FIELDS,
	    .max_field_size = MAIL_HEADER_MAX_FIELD_SIZE,
	    .max_header_size = MAIL_HEADER_MAX_SIZE,
	},
};

/* ---- field values: RFC 2045 tokens with RFC 822 comments ---- */

struct lex {
	const char *s;
	size_t len, pos;
};

static bool lex_end(const struct lex *l)
{
	return l->pos >= l->len;
}

static bool is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_tspecial(char c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static void lex_skip_cfws(struct lex *l)
{
	while (!lex_end(l)) {
		char c = l->s[l->pos];
		if (is_lwsp(c)) {
			l->pos++;
		} else if (c == '(') {
			size_t depth = 0;
			while (!lex_end(l)) {
				c = l->s[l->pos++];
				if (c == '\\' && !lex_end(l))
					l->pos++;
				else if (c == '(')
					depth++;
				else if (c == ')' && --depth == 0)
					break;
			}
		} else {
			break;
		}
	}
}

/* An RFC 2045 token; 8-bit bytes are taken, as real mail has them. */
static size_t lex_token(struct lex *l, size_t *start_r)
{
	*start_r = l->pos;
	while (!lex_end(l) && !is_lwsp(l->s[l->pos]) && !is_tspecial(l->s[l->pos]))
		l->pos++;
	return l->pos - *start_r;
}

/* Skips to the next ';' (not consumed), over quoted strings and comments. */
static void lex_skip_to_semicolon(struct lex *l)
{
	while (!lex_end(l) && l->s[l->pos] != ';') {
		char c = l->s[l->pos];
		if (c == '(') {
			lex_skip_cfws(l);
		} else if (c == '"') {
			l->pos++;
			while (!lex_end(l) && l->s[l->pos] != '"') {
				if (l->s[l->pos] == '\\' && l->pos + 1 < l->len)
					l->pos++;
				l->pos++;
			}
			if (!lex_end(l))
				l->pos++;
		} else {
			l->pos++;
		}
	}
}

/* ---- parameters and RFC 2231 ---- */

struct raw_param {
	const char *name;  /* an arena copy */
	const char *value; /* unquoted: an arena copy, or a slice of the field */
	size_t value_len;
	/* The RFC 2231 form of the name, see split_2231(). */
	size_t base_len;
	int section;
	bool is_2231, encoded;
};

/* Unquotes a quoted-string at '"': quoted-pairs unescaped, folds dropped.
 * Into an arena copy if arena is not NULL, else only skipped. A missing
 * closing quote ends at the end of the value. */
static const char *lex_quoted(struct arena *arena, struct lex *l, size_t *len_r)
{
	size_t start = ++l->pos, n = 0;

	/* First the length, so the copy is exactly as large as needed. */
	while (!lex_end(l) && l->s[l->pos] != '"') {
		char c = l->s[l->pos++];
		if (c == '\\' && !lex_end(l))
			l->pos++;
		else if (c == '\r' || c == '\n')
			continue;
		n++;
	}
	size_t end = l->pos;
	if (!lex_end(l))
		l->pos++;
	*len_r = n;
	if (arena == NULL)
		return NULL;

	/* Review: size arithmetic. n counts bytes of the field. */
	char *buf = arena_alloc(arena, n + 1);
	n = 0;
	for (size_t i = start; i < end; i++) {
		char c = l->s[i];
		if (c == '\\' && i + 1 < end)
			c = l->s[++i];
		else if (c == '\r' || c == '\n')
			continue;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return buf;
}

/* An RFC 2231 name: "attr*" (extended), "attr*N" or "attr*N*" (section N).
 * Returns false for a plain name. */
static bool split_2231(const char *name, size_t *base_len_r, int *section_r, bool *encoded_r)
{
	const char *star = strchr(name, '*');

	if (star == NULL || star == name)
		return false;
	*base_len_r = (size_t)(star - name);
	if (star[1] == '\0') {
		*section_r = -1;
		*encoded_r = true;
		return true;
	}
	/* Sections are small numbers without leading zeros. */
	int n = 0;
	const char *p = star + 1;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n >= 1000)
			return false;
		n = n * 10 + (*p - '0');
	}
	if (p == star + 1)
		return false;
	if (*p == '*' && p[1] == '\0')
		*encoded_r = true;
	else if (*p == '\0')
		*encoded_r = false;
	else
		return false;
	*section_r = n;
	return true;
}

/* Reads "; attr=value" pairs. Attributes without '=' are dropped. An
 * unquoted value runs to a blank, ';', '"' or '(' and may hold tspecials
 * ('=' and '?' of an encoded-word): senders put them there, Dovecot takes
 * them. */
static unsigned read_raw_params(struct arena *arena, struct lex *l, struct raw_param *out,
				unsigned max)
{
	unsigned n = 0;

	while (!lex_end(l)) {
		lex_skip_cfws(l);
		if (lex_end(l))
			break;
		if (l->s[l->pos] == ';') {
			l->pos++;
			continue;
		}
		size_t name, name_len = lex_token(l, &name);
		lex_skip_cfws(l);
		if (name_len == 0 || lex_end(l) || l->s[l->pos] != '=') {
			lex_skip_to_semicolon(l);
			continue;
		}
		l->pos++;
		lex_skip_cfws(l);
		const char *value;
		size_t value_len;
		if (!lex_end(l) && l->s[l->pos] == '"') {
			/* Past the limit the value is skipped, not copied. */
			value = lex_quoted(n < max ? arena : NULL, l, &value_len);
		} else {
			size_t start = l->pos;
			while (!lex_end(l) && !is_lwsp(l->s[l->pos]) && l->s[l->pos] != ';' &&
			       l->s[l->pos] != '"' && l->s[l->pos] != '(')
				l->pos++;
			/* "a=" is an empty value, as in Dovecot. */
			value_len = l->pos - start;
			value = l->s + start;
		}
		lex_skip_to_semicolon(l);
		if (n < max) {
			struct raw_param *r = &out[n++];
			r->name = mail_header_strdup(arena, l->s + name, name_len);
			r->value = value;
			r->value_len = value_len;
			r->encoded = false;
			r->is_2231 = split_2231(r->name, &r->base_len, &r->section, &r->encoded);
		}
	}
	return n;
}

/* RFC 2231 attribute-char: what may stand unencoded in an extended value. */
static bool is_attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial((char)c) && c != '*' && c != '\'' && c != '%';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decoded[0..len) as UTF-8, or NULL when the charset is one we do not
 * convert here (the caller has iconv for those). */
static const char *to_utf8(struct arena *arena, const char *charset, const char *decoded,
			   size_t len)
{
	const unsigned char *u = (const unsigned char *)decoded;

	if (charset == NULL || strcasecmp(charset, "us-ascii") == 0 ||
	    strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0)
		return utf8_valid(u, len) ? decoded : NULL;
	if (strcasecmp(charset, "iso-8859-1") == 0 || strcasecmp(charset, "latin1") == 0) {
		/* Review: size arithmetic. Each byte becomes at most two;
		 * len is bounded by a header field. */
		if (len > (SIZE_MAX - 1) / 2)
			abort();
		char *out = arena_alloc(arena, 2 * len + 1);
		size_t n = 0;
		for (size_t i = 0; i < len; i++) {
			if (u[i] < 0x80) {
				out[n++] = (char)u[i];
			} else {
				out[n++] = (char)(0xc0 | (u[i] >> 6));
				out[n++] = (char)(0x80 | (u[i] & 0x3f));
			}
		}
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static void param_decode(struct arena *arena, struct mail_param *p)
{
	if (!p->extended) {
		p->decoded = p->value;
		p->utf8 = to_utf8(arena, NULL, p->value, strlen(p->value));
		return;
	}
	const char *v = p->value, *q1 = strchr(v, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
	const char *rest = v;
	if (q2 != NULL) {
		if (q1 > v)
			p->charset = arena_strndup(arena, v, (size_t)(q1 - v));
		if (q2 > q1 + 1)
			p->language = arena_strndup(arena, q1 + 1, (size_t)(q2 - q1 - 1));
		rest = q2 + 1;
	}
	size_t len = strlen(rest), n = 0;
	char *buf = arena_alloc(arena, len + 1);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (rest[i] == '%' && i + 2 < len && (hi = hex_value(rest[i + 1])) >= 0 &&
		    (lo = hex_value(rest[i + 2])) >= 0) {
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			buf[n++] = rest[i];
		}
	}
	/* %00 would cut the C string short: same U+FFFD as elsewhere. */
	p->decoded = mail_header_strdup(arena, buf, n);
	p->utf8 = to_utf8(arena, p->charset, p->decoded, strlen(p->decoded));
}

static void param_set_plain(struct arena *arena, struct mail_param *p, const char *name,
			    const struct raw_param *raw)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->imap_name = name;
	p->value = mail_header_strdup(arena, raw->value, raw->value_len);
}

/* Joins the sections of one RFC 2231 parameter. idx[s] is the raw index
 * of section s, for s in 0..count-1, all present. */
static void join_sections(struct arena *arena, const struct raw_param *raw, const unsigned *idx,
			  unsigned count, bool extended, struct mail_param *p)
{
	size_t total = 0;

	for (unsigned s = 0; s < count; s++) {
		/* Review: size arithmetic. Sections are header-field bytes
		 * (a field is at most max_field_size) and %-encoding at most
		 * triples one. */
		total += 3 * raw[idx[s]].value_len;
	}
	char *buf = arena_alloc(arena, total + 1);
	size_t n = 0;
	for (unsigned s = 0; s < count; s++) {
		const struct raw_param *r = &raw[idx[s]];
		for (size_t i = 0; i < r->value_len; i++) {
			unsigned char c = (unsigned char)r->value[i];
			if (extended && !r->encoded && !is_attribute_char(c)) {
				static const char hex[] = "0123456789ABCDEF";
				buf[n++] = '%';
				buf[n++] = hex[c >> 4];
				buf[n++] = hex[c & 15];
			} else {
				buf[n++] = (char)c;
			}
		}
	}
	memset(p, 0, sizeof(*p));
	p->name = arena_strndup(arena, raw[idx[0]].name, raw[idx[0]].base_len);
	p->imap_name = extended ? arena_printf(arena, "%s*", p->name) : p->name;
	p->extended = extended;
	p->value = mail_header_strdup(arena, buf, n);
}

void mail_mime_params_parse(struct arena *arena, const char *value, size_t len,
			    const struct mail_param **params_r, unsigned *count_r)
{
	struct raw_param raw[MAIL_MIME_MAX_PARAMS];
	struct lex l = {.s = value, .len = len};
	unsigned n = read_raw_params(arena, &l, raw, MAIL_MIME_MAX_PARAMS), count = 0;
	struct mail_param *out;
	bool done[MAIL_MIME_MAX_PARAMS] = {false};

	if (n == 0) {
		*params_r = NULL;
		*count_r = 0;
		return;
	}
	out = arena_alloc(arena, n * sizeof(*out));

	/* Plain parameters in their order, repeats kept (as Dovecot does). */
	for (unsigned i = 0; i < n; i++) {
		if (raw[i].is_2231)
			continue;
		done[i] = true;
		param_set_plain(arena, &out[count++], raw[i].name, &raw[i]);
	}
	unsigned plain_count = count;

	/* RFC 2231 ones, grouped by attribute in order of first sight. A
	 * group that is one "attr*", or sections 0..N each once, becomes one
	 * parameter; anything else (gaps, repeats, a mix) is kept as
	 * written, as Dovecot does. */
	for (unsigned i = 0; i < n; i++) {
		unsigned members[MAIL_MIME_MAX_PARAMS], idx[MAIL_MIME_MAX_PARAMS], m = 0;
		bool joinable = true;

		if (done[i])
			continue;
		for (unsigned j = i; j < n; j++) {
			if (!done[j] && raw[j].base_len == raw[i].base_len &&
			    strncasecmp(raw[j].name, raw[i].name, raw[i].base_len) == 0) {
				members[m++] = j;
				done[j] = true;
			}
		}
		for (unsigned k = 0; k < m; k++)
			idx[k] = UINT32_MAX;
		for (unsigned k = 0; k < m && joinable; k++) {
			int section = raw[members[k]].section;
			if (section < 0)
				joinable = m == 1;
			else if ((unsigned)section >= m || idx[section] != UINT32_MAX)
				joinable = false;
			else
				idx[section] = members[k];
		}
		if (joinable && raw[i].section < 0) {
			/* A lone "attr*": extended, one piece. */
			join_sections(arena, raw, &members[0], 1, true, &out[count++]);
		} else if (joinable) {
			join_sections(arena, raw, idx, m, raw[idx[0]].encoded, &out[count++]);
		} else {
			for (unsigned k = 0; k < m; k++) {
				const struct raw_param *r = &raw[members[k]];
				param_set_plain(arena, &out[count++], r->name, r);
			}
		}
	}
	/* The RFC 2231 ones sorted by attribute, in byte order, as Dovecot
	 * sends them; stable, so sections stay in order. n is small. */
	for (unsigned i = plain_count + 1; i < count; i++) {
		struct mail_param p = out[i];
		unsigned j = i;
		for (; j > plain_count && strcmp(out[j - 1].name, p.name) > 0; j--)
			out[j] = out[j - 1];
		out[j] = p;
	}
	for (unsigned i = 0; i < count; i++)
		param_decode(arena, &out[i]);
	*params_r = out;
	*count_r = count;
}

const struct mail_param *mail_mime_param_find(const struct mail_param *params, unsigned count,
					      const char *name, bool extended)
{
	for (unsigned i = 0; i < count; i++) {
		if (params[i].extended == extended && strcasecmp(params[i].name, name) == 0)
			return &params[i];
	}
	return NULL;
}

/* ---- the structure ---- */

struct mime_stop {
	size_t line; /* start of the boundary line, or the message size */
	int which;   /* index in the boundary stack, -1 at the end of data */
	bool closing;
};

struct mime_ctx {
	struct arena *arena;
	const char *data;
	size_t size;
	struct mail_mime_limits limits;
	struct mail_structure *st;
	const char **bounds;
	size_t *blens;
	unsigned nbounds;
	struct mail_mime_part **tails; /* the last child added, per parent depth */
};

/* The MIME fields of one header, first occurrence of each. */
struct mime_fields {
	const struct mail_header_field *type, *encoding, *id, *description, *disposition, *language,
	    *location, *md5;
	bool mime_version;
	struct mail_header_field storage[8];
	unsigned used;
};

static void problem(struct mime_ctx *ctx, unsigned flag, const char *text)
{
	ctx->st->problems |= flag;
	if (ctx->st->problem == NULL)
		ctx->st->problem = text;
}

static size_t next_line(const struct mime_ctx *ctx, size_t pos)
{
	const char *nl = memchr(ctx->data + pos, '\n', ctx->size - pos);

	return nl != NULL ? (size_t)(nl - ctx->data) + 1 : ctx->size;
}

/* Whether the line at pos is a boundary line. Boundaries match as
 * prefixes (RFC 2046 section 5.1.1), so with "b2" inside "b21" the line
 * "--b21" matches both: the longest match wins, then the innermost, which
 * is also what Dovecot does. */
static bool match_boundary(const struct mime_ctx *ctx, size_t pos, struct mime_stop *stop)
{
	const char *d = ctx->data;
	size_t left = ctx->size - pos, best_len = 0;
	int best = -1;

	if (left < 2 || d[pos] != '-' || d[pos + 1] != '-')
		return false;
	for (unsigned i = ctx->nbounds; i > 0; i--) {
		size_t blen = ctx->blens[i - 1];
		if (left - 2 < blen || blen <= best_len ||
		    memcmp(d + pos + 2, ctx->bounds[i - 1], blen) != 0)
			continue;
		best = (int)(i - 1);
		best_len = blen;
	}
	if (best < 0)
		return false;
	stop->line = pos;
	stop->which = best;
	stop->closing = left - 2 - best_len >= 2 && d[pos + 2 + best_len] == '-' &&
			d[pos + 3 + best_len] == '-';
	return true;
}

/* The first boundary line at or after pos (a line start). */
static void find_boundary(const struct mime_ctx *ctx, size_t pos, struct mime_stop *stop)
{
	if (ctx->nbounds > 0) {
		while (pos < ctx->size) {
			if (match_boundary(ctx, pos, stop))
				return;
			pos = next_line(ctx, pos);
		}
	}
	stop->line = ctx->size;
	stop->which = -1;
	stop->closing = false;
}

/* Where the content before a stop ends. The line end before a boundary
 * line is the boundary's, but only if nothing took it already: floor is
 * where free content starts (after a header's empty line, after the line
 * of a closing boundary), and the cut never goes below it. */
static size_t content_end(const struct mime_ctx *ctx, size_t floor, const struct mime_stop *stop)
{
	size_t end = stop->line;

	if (stop->which < 0 || end <= floor)
		return end;
	if (ctx->data[end - 1] != '\n')
		return end; /* cannot happen: lines found past floor follow a LF */
	end--;
	if (end > floor && ctx->data[end - 1] == '\r')
		end--;
	return end;
}

/* LFs in data[start..end) and how many lack a CR before them. */
static void count_lines(const struct mime_ctx *ctx, size_t start, size_t end, size_t *lines_r,
			size_t *bare_r)
{
	size_t lines = 0, bare = 0, pos = start;
	const char *nl;

	while (pos < end && (nl = memchr(ctx->data + pos, '\n', end - pos)) != NULL) {
		size_t lf = (size_t)(nl - ctx->data);
		lines++;
		if (lf == 0 || ctx->data[lf - 1] != '\r')
			bare++;
		pos = lf + 1;
	}
	*lines_r = lines;
	*bare_r = bare;
}

static bool ci_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static void note_field(struct mime_fields *f, const struct mail_header_field **slot,
		       const struct mail_header_field *field)
{
	if (*slot != NULL || f->used >= sizeof(f->storage) / sizeof(f->storage[0]))
		return;
	f->storage[f->used] = *field;
	*slot = &f->storage[f->used++];
}

static void collect_field(const char *data, const struct mail_header_field *field,
			  struct mime_fields *f)
{
	static const char prefix[] = "Content-";

	if (mail_header_field_is(data, field, "MIME-Version")) {
		f->mime_version = true;
		return;
	}
	if (field->name_len <= sizeof(prefix) - 1 ||
	    strncasecmp(data + field->offset, prefix, sizeof(prefix) - 1) != 0)
		return;
	const struct {
		const char *name;
		const struct mail_header_field **slot;
	} map[] = {
	    {"Content-Type", &f->type},
	    {"Content-Transfer-Encoding", &f->encoding},
	    {"Content-ID", &f->id},
	    {"Content-Description", &f->description},
	    {"Content-Disposition", &f->disposition},
	    {"Content-Language", &f->language},
	    {"Content-Location", &f->location},
	    {"Content-MD5", &f->md5},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (mail_header_field_is(data, field, map[i].name)) {
			note_field(f, map[i].slot, field);
			return;
		}
	}
}

static const char *field_raw(struct mime_ctx *ctx, const struct mail_header_field *field)
{
	return field == NULL ? NULL
			     : mail_header_strdup(ctx->arena, ctx->data + field->value_offset,
						  field->value_len);
}

static struct lex field_lex(const struct mime_ctx *ctx, const struct mail_header_field *field)
{
	struct lex l = {.s = ctx->data + field->value_offset, .len = field->value_len};
	return l;
}

/* Content-Type: type "/" subtype params. false if it does not parse,
 * which RFC 2045 section 5.2 says to treat as no Content-Type. */
static bool parse_content_type(struct mime_ctx *ctx, struct mail_mime_part *part,
			       const struct mail_header_field *field)
{
	struct lex l = field_lex(ctx, field);
	size_t type, type_len, subtype, subtype_len;

	lex_skip_cfws(&l);
	type_len = lex_token(&l, &type);
	lex_skip_cfws(&l);
	if (type_len == 0 || lex_end(&l) || l.s[l.pos] != '/')
		return false;
	l.pos++;
	lex_skip_cfws(&l);
	subtype_len = lex_token(&l, &subtype);
	if (subtype_len == 0)
		return false;
	part->type = mail_header_strdup(ctx->arena, l.s + type, type_len);
	part->subtype = mail_header_strdup(ctx->arena, l.s + subtype, subtype_len);
	mail_mime_params_parse(ctx->arena, l.s + l.pos, l.len - l.pos, &part->params,
			       &part->param_count);
	return true;
}

static void parse_disposition(struct mime_ctx *ctx, struct mail_mime_part *part,
			      const struct mail_header_field *field)
{
	struct lex l = field_lex(ctx, field);
	size_t start, len;

	lex_skip_cfws(&l);
	len = lex_token(&l, &start);
	part->disposition = mail_header_strdup(ctx->arena, l.s + start, len);
	mail_mime_params_parse(ctx->arena, l.s + l.pos, l.len - l.pos, &part->disposition_params,
			       &part->disposition_param_count);
}

static void parse_languages(struct mime_ctx *ctx, struct mail_mime_part *part,
			    const struct mail_header_field *field)
{
	struct lex l = field_lex(ctx, field);
	const char **langs = arena_alloc(ctx->arena, MAIL_MIME_MAX_LANGUAGES * sizeof(*langs));
	unsigned n = 0;

	while (!lex_end(&l) && n < MAIL_MIME_MAX_LANGUAGES) {
		lex_skip_cfws(&l);
		size_t start = l.pos;
		while (!lex_end(&l) && !is_lwsp(l.s[l.pos]) && l.s[l.pos] != ',' &&
		       l.s[l.pos] != '(')
			l.pos++;
		if (l.pos > start)
			langs[n++] = mail_header_strdup(ctx->arena, l.s + start, l.pos - start);
		lex_skip_cfws(&l);
		/* Skip a separator, or one stray byte, so this always moves. */
		if (!lex_end(&l) && l.pos == start)
			l.pos++;
	}
	part->languages = langs;
	part->language_count = n;
}

static void parse_encoding(struct mime_ctx *ctx, struct mail_mime_part *part,
			   const struct mail_header_field *field)
{
	struct lex l = field_lex(ctx, field);
	size_t start, len;

	lex_skip_cfws(&l);
	len = lex_token(&l, &start);
	if (len > 0)
		part->encoding = mail_header_strdup(ctx->arena, l.s + start, len);
}

/* Gives the part its type and the rest from its MIME fields. */
static void apply_fields(struct mime_ctx *ctx, struct mail_mime_part *part,
			 const struct mime_fields *f, bool message_level, bool digest_child)
{
	if (f->type == NULL || !parse_content_type(ctx, part, f->type)) {
		part->flags |= MAIL_MIME_PART_DEFAULT_TYPE;
		part->type = digest_child ? "message" : "text";
		part->subtype = digest_child ? "rfc822" : "plain";
	}
	/* A message header without MIME-Version or Content-Type is not
	 * MIME: its other Content-* fields mean nothing. */
	if (!message_level || f->mime_version || f->type != NULL) {
		if (f->encoding != NULL)
			parse_encoding(ctx, part, f->encoding);
		part->id = field_raw(ctx, f->id);
		part->description = field_raw(ctx, f->description);
		part->md5 = field_raw(ctx, f->md5);
		part->location = field_raw(ctx, f->location);
		if (f->disposition != NULL)
			parse_disposition(ctx, part, f->disposition);
		if (f->language != NULL)
			parse_languages(ctx, part, f->language);
	}
	if (ci_eq(part->type, "text"))
		part->flags |= MAIL_MIME_PART_TEXT;
	const struct mail_param *cs =
	    mail_mime_param_find(part->params, part->param_count, "charset", false);
	part->charset = cs != NULL			      ? cs->value
			: (part->flags & MAIL_MIME_PART_TEXT) ? "us-ascii"
							      : NULL;
}

static struct mail_mime_part *new_part(struct mime_ctx *ctx, struct mail_mime_part *parent,
				       size_t offset)
{
	struct mail_mime_part *part = arena_zalloc(ctx->arena, sizeof(*part));

	part->offset = offset;
	part->parent = parent;
	if (parent != NULL) {
		part->depth = parent->depth + 1;
		/* Only the parent whose children are being parsed at a depth
		 * adds children there, so one tail per depth will do. */
		if (parent->children == NULL)
			parent->children = part;
		else
			ctx->tails[parent->depth]->next = part;
		ctx->tails[parent->depth] = part;
		parent->child_count++;
	}
	ctx->st->part_count++;
	return part;
}

static bool can_descend(struct mime_ctx *ctx, const struct mail_mime_part *part)
{
	if (part->depth >= ctx->limits.max_depth) {
		problem(ctx, MAIL_STRUCTURE_DEPTH_LIMIT, "MIME parts nested too deep");
		return false;
	}
	if (ctx->st->part_count >= ctx->limits.max_parts) {
		problem(ctx, MAIL_STRUCTURE_PART_LIMIT, "too many MIME parts");
		return false;
	}
	return true;
}

static void parse_part_body(struct mime_ctx *ctx, struct mail_mime_part *part, size_t start,
			    struct mime_stop *stop);

/* Parses the part starting at start (a line start), up to the first
 * boundary line of the stack or the end of the data; *stop tells which. */
static struct mail_mime_part *parse_part(struct mime_ctx *ctx, struct mail_mime_part *parent,
					 size_t start, bool digest_child, struct mime_stop *stop)
{
	struct mail_mime_part *part = new_part(ctx, parent, start);
	bool message_level = parent == NULL || (parent->flags & MAIL_MIME_PART_MESSAGE) != 0;
	size_t pos = start, header_end, body_start;
	bool cut_by_boundary = false;

	/* Where the header ends: the empty line, a boundary line, or the
	 * end. The boundary check comes first: "--b" is not a field. */
	for (;;) {
		if (pos >= ctx->size) {
			stop->line = ctx->size;
			stop->which = -1;
			stop->closing = false;
			header_end = body_start = ctx->size;
			break;
		}
		if (ctx->nbounds > 0 && match_boundary(ctx, pos, stop)) {
			/* Header lines keep their line ends: nothing to cut. */
			header_end = body_start = pos;
			cut_by_boundary = true;
			break;
		}
		size_t next = next_line(ctx, pos);
		if (ctx->data[pos] == '\n' ||
		    (ctx->data[pos] == '\r' && next == pos + 2 && ctx->data[pos + 1] == '\n')) {
			header_end = body_start = next;
			part->flags |= MAIL_MIME_PART_HAS_BODY;
			break;
		}
		pos = next;
	}

	struct mail_header_iter iter;
	struct mail_header_field field;
	struct mime_fields fields = {0};
	const char *error;
	mail_header_iter_init(&iter, ctx->data, start, header_end, &ctx->limits.header);
	if (message_level)
		part->envelope = arena_zalloc(ctx->arena, sizeof(*part->envelope));
	while (mail_header_iter_next(&iter, &field)) {
		if (part->envelope == NULL ||
		    !mail_envelope_add_field(ctx->arena, part->envelope, ctx->data, &field))
			collect_field(ctx->data, &field, &fields);
	}
	if (mail_header_iter_deinit(&iter, &error) < 0)
		problem(ctx, MAIL_STRUCTURE_HEADER_LIMIT, error);
	if (part->envelope != NULL) {
		mail_envelope_finish(part->envelope);
		if (part->envelope->error != NULL)
			problem(ctx, MAIL_STRUCTURE_ADDRESS_LIMIT, part->envelope->error);
	}
	apply_fields(ctx, part, &fields, message_level, digest_child);

	size_t lines, bare;
	part->header_size = header_end - start;
	count_lines(ctx, start, header_end, &lines, &bare);
	part->header_vsize = part->header_size + bare;
	part->body_offset = body_start;

	if (cut_by_boundary) {
		/* No body; a multipart has no parts, a message/rfc822 an empty
		 * message, so the dump still has what IMAP's syntax needs. */
		if (ci_eq(part->type, "multipart")) {
			part->flags |= MAIL_MIME_PART_MULTIPART;
		} else if (ci_eq(part->type, "message") && ci_eq(part->subtype, "rfc822")) {
			if (can_descend(ctx, part)) {
				part->flags |= MAIL_MIME_PART_MESSAGE;
				struct mail_mime_part *inner = new_part(ctx, part, body_start);
				inner->body_offset = body_start;
				inner->envelope =
				    arena_zalloc(ctx->arena, sizeof(*inner->envelope));
				apply_fields(ctx, inner, &(struct mime_fields){0}, true, false);
			} else {
				part->flags |= MAIL_MIME_PART_OPAQUE;
			}
		}
		return part;
	}
	parse_part_body(ctx, part, body_start, stop);
	return part;
}

/* The parts of a multipart, from its first boundary line to its closing
 * one (then the epilogue) or to an enclosing boundary. Returns where its
 * content ends. */
static size_t parse_multipart(struct mime_ctx *ctx, struct mail_mime_part *part, size_t start,
			      const struct mail_param *boundary, struct mime_stop *stop)
{
	unsigned own = ctx->nbounds;
	bool digest = ci_eq(part->subtype, "digest");
	size_t end;

	ctx->bounds[own] = boundary->value;
	ctx->blens[own] = strlen(boundary->value);
	ctx->nbounds++;

	find_boundary(ctx, start, stop);
	end = content_end(ctx, start, stop);
	while (stop->which == (int)own) {
		size_t child = next_line(ctx, stop->line);
		if (stop->closing) {
			/* The epilogue, up to an enclosing boundary. */
			ctx->nbounds--;
			find_boundary(ctx, child, stop);
			return content_end(ctx, child, stop);
		}
		if (ctx->st->part_count >= ctx->limits.max_parts) {
			/* The rest of this multipart stays in its body, unparsed. */
			problem(ctx, MAIL_STRUCTURE_PART_LIMIT, "too many MIME parts");
			find_boundary(ctx, child, stop);
			end = content_end(ctx, child, stop);
			continue;
		}
		struct mail_mime_part *p = parse_part(ctx, part, child, digest, stop);
		end = p->body_offset + p->body_size;
	}
	ctx->nbounds--;
	return end;
}

static void parse_part_body(struct mime_ctx *ctx, struct mail_mime_part *part, size_t start,
			    struct mime_stop *stop)
{
	bool multipart = ci_eq(part->type, "multipart");
	bool message = ci_eq(part->type, "message") && ci_eq(part->subtype, "rfc822");
	size_t end, bare;

	if ((multipart || message) && !can_descend(ctx, part)) {
		part->flags |= MAIL_MIME_PART_OPAQUE;
		multipart = message = false;
	}
	if (multipart) {
		const struct mail_param *b =
		    mail_mime_param_find(part->params, part->param_count, "boundary", false);
		size_t blen = b != NULL ? strlen(b->value) : 0;
		part->flags |= MAIL_MIME_PART_MULTIPART;
		if (blen > 0 && blen <= MAIL_MIME_MAX_BOUNDARY) {
			end = parse_multipart(ctx, part, start, b, stop);
		} else {
			find_boundary(ctx, start, stop);
			end = content_end(ctx, start, stop);
		}
	} else if (message) {
		/* The enclosed message is the whole body. */
		part->flags |= MAIL_MIME_PART_MESSAGE;
		struct mail_mime_part *inner = parse_part(ctx, part, start, false, stop);
		end = inner->body_offset + inner->body_size;
	} else {
		find_boundary(ctx, start, stop);
		end = content_end(ctx, start, stop);
	}

	part->body_size = end - start;
	count_lines(ctx, start, end, &part->body_lines, &bare);
	part->body_vsize = part->body_size + bare;
}

int mail_structure_parse(struct arena *arena, const char *data, size_t size,
			 const struct mail_mime_limits *limits, struct mail_structure **structure_r,
			 const char **error_r)
{
	struct mime_ctx ctx = {
	    .arena = arena,
	    .data = data,
	    .size = size,
	    .limits = limits != NULL ? *limits : mail_mime_default_limits,
	};
	struct mime_stop stop;
	size_t lines, bare;

	if (size > ctx.limits.max_message_size) {
		*error_r = "message too large to parse";
		return -1;
	}
	if (ctx.limits.max_depth > MAIL_MIME_HARD_MAX_DEPTH)
		ctx.limits.max_depth = MAIL_MIME_HARD_MAX_DEPTH;
	if (ctx.limits.max_parts == 0)
		ctx.limits.max_parts = 1; /* the root is always there */
	ctx.st = arena_zalloc(arena, sizeof(*ctx.st));
	/* Review: size arithmetic. One boundary per nesting level, at most
	 * MAIL_MIME_HARD_MAX_DEPTH + 1. */
	ctx.bounds = arena_alloc(arena, (ctx.limits.max_depth + 1) * sizeof(*ctx.bounds));
	ctx.blens = arena_alloc(arena, (ctx.limits.max_depth + 1) * sizeof(*ctx.blens));
	ctx.tails = arena_alloc(arena, (ctx.limits.max_depth + 1) * sizeof(*ctx.tails));

	ctx.st->size = size;
	count_lines(&ctx, 0, size, &lines, &bare);
	ctx.st->vsize = size + bare;
	ctx.st->root = parse_part(&ctx, NULL, 0, false, &stop);
	ctx.st->envelope = ctx.st->root->envelope;
	*structure_r = ctx.st;
	return 0;
}

/* ---- BODY / BODYSTRUCTURE ---- */

static void dump_params(struct strbuf *out, const struct mail_param *params, unsigned count,
			bool default_charset)
{
	bool charset = false;

	if (count == 0 && !default_charset) {
		APPEND_LIT(out, "NIL");
		return;
	}
	APPEND_LIT(out, "(");
	for (unsigned i = 0; i < count; i++) {
		if (i > 0)
			APPEND_LIT(out, " ");
		if (ci_eq(params[i].imap_name, "charset"))
			charset = true;
		mail_imap_quote_nstring(out, params[i].imap_name);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, params[i].value);
	}
	if (default_charset && !charset)
		strbuf_appendf(out, "%s\"charset\" \"us-ascii\"", count > 0 ? " " : "");
	APPEND_LIT(out, ")");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void dump_dsp_lang_loc(struct strbuf *out, const struct mail_mime_part *part)
{
	if (part->disposition == NULL) {
		APPEND_LIT(out, "NIL");
	} else {
		APPEND_LIT(out, "(");
		mail_imap_quote_nstring(out, part->disposition);
		APPEND_LIT(out, " ");
		dump_params(out, part->disposition_params, part->disposition_param_count, false);
		APPEND_LIT(out, ")");
	}
	APPEND_LIT(out, " ");
	if (part->language_count == 0) {
		APPEND_LIT(out, "NIL");
	} else {
		APPEND_LIT(out, "(");
		for (unsigned i = 0; i < part->language_count; i++) {
			if (i > 0)
				APPEND_LIT(out, " ");
			mail_imap_quote_nstring(out, part->languages[i]);
		}
		APPEND_LIT(out, ")");
	}
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring_nolf(out, part->location);
}

void mail_mime_dump(struct strbuf *out, const struct mail_mime_part *part, bool extended)
{
	if (part->flags & MAIL_MIME_PART_MULTIPART) {
		APPEND_LIT(out, "(");
		if (part->children == NULL) {
			/* body-type-mpart needs at least one body. */
			APPEND_LIT(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
					"\"7bit\" 0 0");
			if (extended)
				APPEND_LIT(out, " NIL NIL NIL NIL");
			APPEND_LIT(out, ")");
		}
		for (const struct mail_mime_part *c = part->children; c != NULL; c = c->next)
			mail_mime_dump(out, c, extended);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, part->subtype);
		if (extended) {
			APPEND_LIT(out, " ");
			dump_params(out, part->params, part->param_count, false);
			APPEND_LIT(out, " ");
			dump_dsp_lang_loc(out, part);
		}
		APPEND_LIT(out, ")");
		return;
	}

	bool message = (part->flags & MAIL_MIME_PART_MESSAGE) != 0;
	bool text = (part->flags & MAIL_MIME_PART_TEXT) != 0;
	APPEND_LIT(out, "(");
	if (message) {
		APPEND_LIT(out, "\"message\" \"rfc822\"");
	} else if (part->flags & MAIL_MIME_PART_OPAQUE) {
		/* "message" "rfc822" would promise an envelope and a body. */
		APPEND_LIT(out, "\"application\" \"octet-stream\"");
	} else {
		mail_imap_quote_nstring(out, part->type);
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring(out, part->subtype);
	}
	APPEND_LIT(out, " ");
	dump_params(out, part->params, part->param_count, text);
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring_nolf(out, part->id);
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring_nolf(out, part->description);
	APPEND_LIT(out, " ");
	mail_imap_quote_nstring(out, part->encoding != NULL ? part->encoding : "7bit");
	strbuf_appendf(out, " %zu", part->body_vsize);
	if (message) {
		APPEND_LIT(out, " ");
		mail_envelope_dump(out, part->children->envelope);
		APPEND_LIT(out, " ");
		mail_mime_dump(out, part->children, extended);
		strbuf_appendf(out, " %zu", part->body_lines);
	} else if (text) {
		strbuf_appendf(out, " %zu", part->body_lines);
	}
	if (extended) {
		APPEND_LIT(out, " ");
		mail_imap_quote_nstring_nolf(out, part->md5);
		APPEND_LIT(out, " ");
		dump_dsp_lang_loc(out, part);
	}
	APPEND_LIT(out, ")");
}

void mail_structure_dump(struct strbuf *out, const struct mail_structure *structure)
{
	APPEND_LIT(out, "ENVELOPE ");
	mail_envelope_dump(out, structure->envelope);
	APPEND_LIT(out, " BODYSTRUCTURE ");
	mail_mime_dump(out, structure->root, true);
}
