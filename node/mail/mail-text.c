/* The searchable text of a message (see mail-text.h): header fields and
 * the text of text parts, decoded to UTF-8 once at delivery for the IMAP
 * SEARCH index. Dates are in mail-date.c.
 *
 * Every octet that reaches a caller's buffer goes through append_clean(),
 * the one place that turns octets into valid UTF-8 without NUL, so the
 * output fits a PostgreSQL text column whatever path the bytes took.
 */
#include "mail/mail-text.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-header.h"
#include "mail/mail-mime.h"

#define REPLACEMENT	"\xef\xbf\xbd"
#define REPLACEMENT_LEN 3

/* Longer charset names are not charsets (the longest IANA name is 45). */
#define CHARSET_MAX 64
/* Converters kept open per thread. A message rarely uses more than two
 * charsets, and iconv_open() is far from free (module lookup, a global
 * lock in glibc), while encoded-words make us convert many tiny pieces. */
#define CONV_CACHE_SIZE 4
/* Raw octets of one part looked at: enough to fill MAIL_TEXT_MAX_BODY
 * from markup-heavy HTML, without decoding a 2 GiB part to keep 1 MiB. */
#define MAX_RAW_PART (4 * (size_t)MAIL_TEXT_MAX_BODY)

/* Small appends go through a stack buffer: strbuf_append per octet would
 * be a call and a capacity check for each. */
struct outbuf {
	struct strbuf *sb;
	size_t n;
	char buf[1024];
};

static void ob_flush(struct outbuf *ob)
{
	if (ob->n > 0)
		strbuf_append(ob->sb, ob->buf, ob->n);
	ob->n = 0;
}

static void ob_put(struct outbuf *ob, char c)
{
	if (ob->n == sizeof(ob->buf))
		ob_flush(ob);
	ob->buf[ob->n++] = c;
}

/* strbuf_append() with len 0 may get a NULL pointer (an empty strbuf),
 * which memcpy must not see. */
static void append(struct strbuf *out, const char *s, size_t len)
{
	if (len > 0)
		strbuf_append(out, s, len);
}

/* A strbuf's text, "" while it has never grown (data NULL): pointer
 * arithmetic and memcmp() on NULL are undefined even for length 0. */
static const char *sb_data(const struct strbuf *sb)
{
	return sb->data != NULL ? sb->data : "";
}

/* Length of the well-formed UTF-8 character at s[0..len) (RFC 3629: no
 * overlong forms, surrogates or values past U+10FFFF), or 0 if there is
 * none there. NUL is not a character here: PostgreSQL text cannot hold it. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return c != 0 ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	if (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return n;
}

/* Appends s[0..len) with every octet that does not start a well-formed
 * character (and every NUL) replaced by U+FFFD, one per octet. */
static void append_clean(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		size_t n = u[i] != 0 && u[i] < 0x80 ? 1 : utf8_char_len(u + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		append(out, s + run, i - run);
		strbuf_append(out, REPLACEMENT, REPLACEMENT_LEN);
		run = ++i;
	}
	append(out, s + run, i - run);
}

size_t mail_text_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void append_code_point(struct strbuf *out, uint32_t cp)
{
	char b[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		strbuf_append(out, REPLACEMENT, REPLACEMENT_LEN);
	} else if (cp < 0x80) {
		b[0] = (char)cp;
		strbuf_append(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 4);
	}
}

/* ---- charsets ---- */

#define NO_CONVERTER ((iconv_t)-1)

/* Per thread, since iconv_t carries conversion state: delivery workers
 * and offload threads each get their own, freed when the thread ends.
 * Failed opens are kept too, so an unknown charset costs one lookup. */
struct conv_cache {
	struct {
		char name[CHARSET_MAX + 1];
		iconv_t cd;
	} slots[CONV_CACHE_SIZE];
	unsigned used, next;
};

static pthread_once_t conv_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t conv_key;
/* Also a TLS variable, for the fast path and so leak checkers see it. */
static _Thread_local struct conv_cache *conv_cache;

static void conv_cache_free(void *arg)
{
	struct conv_cache *cache = arg;

	for (unsigned i = 0; i < cache->used; i++) {
		if (cache->slots[i].cd != NO_CONVERTER)
			iconv_close(cache->slots[i].cd);
	}
	free(cache);
	conv_cache = NULL;
}

static void conv_key_create(void)
{
	if (pthread_key_create(&conv_key, conv_cache_free) != 0)
		abort();
}

static struct conv_cache *conv_cache_get(void)
{
	if (conv_cache == NULL) {
		if (pthread_once(&conv_key_once, conv_key_create) != 0)
			abort();
		conv_cache = calloc(1, sizeof(*conv_cache));
		if (conv_cache == NULL || pthread_setspecific(conv_key, conv_cache) != 0)
			abort();
	}
	return conv_cache;
}

/* Names mail uses that glibc's iconv does not know, or knows as a
 * narrower charset than the one senders really mean. */
static const struct {
	const char *name, *iconv_name;
} charset_aliases[] = {
    {"ks_c_5601-1987", "CP949"}, /* Outlook's name for Korean */
    {"gb2312", "GB18030"},	 /* mail labelled GB2312 is often GBK; GB18030 holds both */
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"iso-8859-8-i", "ISO-8859-8"}, /* the "-i" is about display order only */
    {"unicode-1-1-utf-7", "UTF-7"},
};

/* The converter from charset to UTF-8, or NO_CONVERTER for UTF-8 itself,
 * US-ASCII (undeclared 8-bit text is most often UTF-8 today) and names
 * iconv does not know. */
static iconv_t converter(const char *charset)
{
	char name[CHARSET_MAX + 1];
	size_t len = strlen(charset);

	if (len == 0 || len > CHARSET_MAX)
		return NO_CONVERTER;
	for (size_t i = 0; i <= len; i++) {
		char c = charset[i];
		/* Only what charset names are made of: this also keeps
		 * iconv's "//TRANSLIT"-style suffixes out. */
		if (c != '\0' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && strchr("-_.:+()", c) == NULL)
			return NO_CONVERTER;
		name[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	if (strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0 ||
	    strcmp(name, "us-ascii") == 0 || strcmp(name, "ascii") == 0)
		return NO_CONVERTER;

	struct conv_cache *cache = conv_cache_get();
	for (unsigned i = 0; i < cache->used; i++) {
		if (strcmp(cache->slots[i].name, name) == 0)
			return cache->slots[i].cd;
	}
	const char *iconv_name = name;
	for (size_t i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++) {
		if (strcmp(name, charset_aliases[i].name) == 0)
			iconv_name = charset_aliases[i].iconv_name;
	}
	iconv_t cd = iconv_open("UTF-8", iconv_name);

	unsigned slot;
	if (cache->used < CONV_CACHE_SIZE) {
		slot = cache->used++;
	} else {
		slot = cache->next;
		cache->next = (slot + 1) % CONV_CACHE_SIZE;
		if (cache->slots[slot].cd != NO_CONVERTER)
			iconv_close(cache->slots[slot].cd);
	}
	memcpy(cache->slots[slot].name, name, len + 1);
	cache->slots[slot].cd = cd;
	return cd;
}

static void convert(struct strbuf *out, iconv_t cd, const char *text, size_t len)
{
	char buf[4096];
	/* iconv's prototype wants char **; it does not write the input. */
	char *in = (char *)text, *o;
	size_t left = len, room;

	iconv(cd, NULL, NULL, NULL, NULL);
	while (left > 0) {
		o = buf;
		room = sizeof(buf);
		size_t r = iconv(cd, &in, &left, &o, &room);
		int err = errno;
		/* iconv's UTF-8 is valid but may hold U+0000 (from UTF-16,
		 * say): clean it like anything else. E2BIG never splits a
		 * character, so chunks are whole characters. */
		append_clean(out, buf, (size_t)(o - buf));
		if (r != (size_t)-1 || (err == E2BIG && o != buf))
			continue;
		/* EILSEQ, or EINVAL (a character cut short by the end). */
		strbuf_append(out, REPLACEMENT, REPLACEMENT_LEN);
		in++;
		left--;
	}
	/* Stateful charsets (ISO-2022-*) may still hold output. */
	o = buf;
	room = sizeof(buf);
	iconv(cd, NULL, NULL, &o, &room);
	append_clean(out, buf, (size_t)(o - buf));
}

void mail_text_to_utf8(struct strbuf *out, const char *charset, const char *text, size_t len)
{
	if (len == 0)
		return;
	iconv_t cd = charset != NULL ? converter(charset) : NO_CONVERTER;

	if (cd == NO_CONVERTER)
		append_clean(out, text, len);
	else
		convert(out, cd, text, len);
}

/* ---- transfer encodings ---- */

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
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

/* Lenient, as mail needs: line ends and junk between the characters are
 * skipped, the first '=' ends the data (what follows a padded end is
 * garbage or a second, badly joined encoding), and a last group of two or
 * three characters still gives its octets. */
static void decode_base64(struct strbuf *out, const char *s, size_t len)
{
	struct outbuf ob = {.sb = out};
	uint32_t acc = 0;
	unsigned n = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = base64_value((unsigned char)s[i]);
		if (v < 0)
			continue;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			ob_put(&ob, (char)(acc >> 16));
			ob_put(&ob, (char)(acc >> 8 & 0xff));
			ob_put(&ob, (char)(acc & 0xff));
			acc = 0;
			n = 0;
		}
	}
	if (n == 2) {
		ob_put(&ob, (char)(acc >> 4));
	} else if (n == 3) {
		ob_put(&ob, (char)(acc >> 10));
		ob_put(&ob, (char)(acc >> 2 & 0xff));
	}
	ob_flush(&ob);
}

/* "=XX" decoded; an '=' that starts no escape kept as it is. */
static void decode_qp_text(struct outbuf *ob, const char *s, size_t len, bool underscore)
{
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '=' && len - i > 2 && (hi = hex_value(s[i + 1])) >= 0 &&
		    (lo = hex_value(s[i + 2])) >= 0) {
			ob_put(ob, (char)(hi << 4 | lo));
			i += 2;
		} else {
			ob_put(ob, underscore && s[i] == '_' ? ' ' : s[i]);
		}
	}
}

/* RFC 2045 section 6.7, line by line: blanks at a line's end were added
 * in transport and go; a line ending in '=' is a soft break and joins the
 * next one. Line ends are kept as written (CRLF or LF). */
static void decode_qp(struct strbuf *out, const char *s, size_t len)
{
	struct outbuf ob = {.sb = out};
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t eol = nl != NULL ? (size_t)(nl - s) : len, end = eol;
		if (nl != NULL && end > i && s[end - 1] == '\r')
			end--;
		size_t text_end = end;
		while (text_end > i && (s[text_end - 1] == ' ' || s[text_end - 1] == '\t'))
			text_end--;
		bool soft = text_end > i && s[text_end - 1] == '=';
		decode_qp_text(&ob, s + i, text_end - i - (soft ? 1 : 0), false);
		if (!soft) {
			for (size_t k = end; k < eol + (nl != NULL ? 1 : 0); k++)
				ob_put(&ob, s[k]);
		}
		i = nl != NULL ? eol + 1 : len;
	}
	ob_flush(&ob);
}

void mail_text_decode_body(struct strbuf *out, const char *encoding, const char *body, size_t len)
{
	if (len == 0)
		return;
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0)
		decode_base64(out, body, len);
	else if (encoding != NULL && strcasecmp(encoding, "quoted-printable") == 0)
		decode_qp(out, body, len);
	else
		append(out, body, len);
}

/* ---- RFC 2047 ---- */

struct encoded_word {
	size_t end; /* just past the "?=" */
	char charset[CHARSET_MAX + 1];
	char encoding; /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "=?charset[*lang]?B|Q?text?=" at s[pos]. Like RFC 2047 the text holds
 * no '?' and no blank, so a stray "=?" never swallows the text after it;
 * B text must be base64 or it is not an encoded-word but plain text. */
static bool parse_encoded_word(const char *s, size_t len, size_t pos, struct encoded_word *ew)
{
	size_t i = pos + 2, cs = i, cs_len;

	while (i < len && s[i] != '?' && !is_blank(s[i]) && s[i] != '\r' && s[i] != '\n')
		i++;
	if (i >= len || s[i] != '?')
		return false;
	const char *star = memchr(s + cs, '*', i - cs);
	cs_len = star != NULL ? (size_t)(star - (s + cs)) : i - cs;
	if (cs_len == 0 || cs_len > CHARSET_MAX || memchr(s + cs, '\0', cs_len) != NULL)
		return false;
	i++;
	if (len - i < 2 || s[i + 1] != '?')
		return false;
	ew->encoding = s[i] == 'b' || s[i] == 'B' ? 'B' : s[i] == 'q' || s[i] == 'Q' ? 'Q' : 0;
	if (ew->encoding == 0)
		return false;
	i += 2;
	ew->text = s + i;
	while (i < len && s[i] != '?' && !is_blank(s[i]) && s[i] != '\r' && s[i] != '\n')
		i++;
	if (len - i < 2 || s[i] != '?' || s[i + 1] != '=')
		return false;
	ew->text_len = (size_t)(s + i - ew->text);
	ew->end = i + 2;
	if (ew->encoding == 'B') {
		for (size_t k = 0; k < ew->text_len; k++) {
			if (ew->text[k] != '=' && base64_value((unsigned char)ew->text[k]) < 0)
				return false;
		}
	}
	memcpy(ew->charset, s + cs, cs_len);
	ew->charset[cs_len] = '\0';
	return true;
}

static bool all_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_blank(s[i]))
			return false;
	}
	return true;
}

/* Removes the line ends of folds (CRLF or LF before a blank). */
static void unfold(struct strbuf *out, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		size_t j = i;
		if (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')
			j++;
		if (s[j] == '\n' && j + 1 < len && is_blank(s[j + 1])) {
			append(out, s + run, i - run);
			i = j;
			run = j + 1;
		}
	}
	append(out, s + run, len - run);
}

void mail_text_decode_header(struct strbuf *out, const char *value, size_t len)
{
	struct strbuf text = {0}, pending = {0};
	struct encoded_word ew;
	char pending_charset[CHARSET_MAX + 1];
	bool have_pending = false;
	size_t i = 0, literal = 0;

	if (len == 0)
		return;
	unfold(&text, value, len);
	const char *s = sb_data(&text);
	size_t n = text.len;

	/* Decoded octets of adjacent words in one charset are converted
	 * together: senders split multi-byte characters between words. */
	while (n > 1 && i < n - 1) {
		if (s[i] != '=' || s[i + 1] != '?' || !parse_encoded_word(s, n, i, &ew)) {
			i++;
			continue;
		}
		bool adjacent = have_pending && all_blank(s + literal, i - literal);
		if (have_pending && (!adjacent || strcasecmp(pending_charset, ew.charset) != 0)) {
			mail_text_to_utf8(out, pending_charset, sb_data(&pending), pending.len);
			strbuf_reset(&pending);
			have_pending = false;
		}
		if (!adjacent)
			append_clean(out, s + literal, i - literal);
		struct outbuf ob = {.sb = &pending};
		if (ew.encoding == 'B') {
			decode_base64(&pending, ew.text, ew.text_len);
		} else {
			decode_qp_text(&ob, ew.text, ew.text_len, true);
			ob_flush(&ob);
		}
		memcpy(pending_charset, ew.charset, strlen(ew.charset) + 1);
		have_pending = true;
		i = literal = ew.end;
	}
	if (have_pending)
		mail_text_to_utf8(out, pending_charset, sb_data(&pending), pending.len);
	append_clean(out, s + literal, n - literal);
	strbuf_free(&text);
	strbuf_free(&pending);
}

/* ---- header fields ---- */

static bool is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

unsigned mail_text_header_fields(struct arena *arena, const struct mail_structure *structure,
				 const char *data, const char ***fields_r)
{
	const struct mail_mime_part *root = structure->root;
	size_t start = root->offset, end = root->offset + root->header_size;
	struct mail_header_iter iter;
	struct mail_header_field f;
	struct strbuf field = {0}, value = {0};
	unsigned count = 0, n = 0;

	mail_header_iter_init(&iter, data, start, end, NULL);
	while (mail_header_iter_next(&iter, &f))
		count++;
	/* Review: size arithmetic. count is at most MAIL_HEADER_MAX_FIELDS. */
	const char **fields = arena_alloc(arena, ((size_t)count + 1) * sizeof(*fields));

	mail_header_iter_init(&iter, data, start, end, NULL);
	while (n < count && mail_header_iter_next(&iter, &f)) {
		char name[64];
		strbuf_reset(&field);
		for (size_t k = 0; k < f.name_len; k += sizeof(name)) {
			size_t m = f.name_len - k < sizeof(name) ? f.name_len - k : sizeof(name);
			for (size_t j = 0; j < m; j++) {
				char c = data[f.offset + k + j];
				name[j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
			}
			append_clean(&field, name, m);
		}
		strbuf_append(&field, ":", 1);

		strbuf_reset(&value);
		mail_text_decode_header(&value, data + f.value_offset, f.value_len);
		const char *v = sb_data(&value);
		size_t vlen = value.len;
		while (vlen > 0 && is_trim(v[0])) {
			v++;
			vlen--;
		}
		vlen = mail_text_utf8_cut(v, vlen, MAIL_TEXT_MAX_FIELD);
		while (vlen > 0 && is_trim(v[vlen - 1]))
			vlen--;
		append(&field, v, vlen);
		fields[n++] = arena_strndup(arena, field.data, field.len);
	}
	fields[n] = NULL;
	strbuf_free(&field);
	strbuf_free(&value);
	*fields_r = fields;
	return n;
}

/* ---- HTML ---- */

static bool ci_prefix(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && strncasecmp(s, prefix, plen) == 0;
}

static bool ci_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static const char *ci_find(const char *s, size_t len, const char *needle)
{
	size_t nlen = strlen(needle);

	for (size_t i = 0; i + nlen <= len; i++) {
		if (strncasecmp(s + i, needle, nlen) == 0)
			return s + i;
	}
	return NULL;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* The entity at s[0] == '&': its length, with the text it stands for
 * appended; 0 (nothing appended) if it is not one we know, and then the
 * '&' stays as text. */
static size_t html_entity(struct strbuf *out, const char *s, size_t len)
{
	static const struct {
		const char *name, *text;
	} names[] = {
	    {"amp", "&"},   {"lt", "<"},   {"gt", ">"},
	    {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}, /* a space is what a search means */
	};
	size_t i = 1;

	if (i < len && s[i] == '#') {
		bool hex = ++i < len && (s[i] == 'x' || s[i] == 'X');
		uint32_t cp = 0;
		size_t digits = 0;
		if (hex)
			i++;
		for (; i < len; i++, digits++) {
			int v = hex			     ? hex_value(s[i])
				: s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
							     : -1;
			if (v < 0)
				break;
			/* Past U+10FFFF is replaced anyway: stop growing. */
			if (cp <= 0x10ffff)
				cp = cp * (hex ? 16 : 10) + (uint32_t)v;
		}
		if (digits == 0)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		append_code_point(out, cp);
		return i;
	}
	while (i < len && i <= 8 && is_alnum(s[i]))
		i++;
	if (i >= len || s[i] != ';')
		return 0;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (ci_eq(s + 1, i - 1, names[k].name)) {
			strbuf_append(out, names[k].text, strlen(names[k].text));
			return i + 1;
		}
	}
	return 0;
}

/* Tags after which the text goes on a new line, so that words in two
 * cells or paragraphs do not run together. */
static bool html_breaks(const char *name, size_t len)
{
	static const char *const tags[] = {"br", "p",  "div", "tr",	    "li",   "td", "th",
					   "h1", "h2", "h3",  "h4",	    "h5",   "h6", "table",
					   "ul", "ol", "hr",  "blockquote", "title"};

	for (size_t k = 0; k < sizeof(tags) / sizeof(tags[0]); k++) {
		if (ci_eq(name, len, tags[k]))
			return true;
	}
	return false;
}

/* A small state machine, not a parser: text outside tags kept with
 * entities decoded, tags and comments dropped, script and style contents
 * dropped. s is valid UTF-8 and the markup is ASCII, so cutting at markup
 * keeps the output valid UTF-8. */
static void html_to_text(struct strbuf *out, const char *s, size_t len)
{
	size_t i = 0, run = 0;

	while (i < len) {
		if (s[i] == '&') {
			append(out, s + run, i - run);
			size_t n = html_entity(out, s + i, len - i);
			run = i;
			i += n > 0 ? n : 1;
			if (n > 0)
				run = i;
			continue;
		}
		if (s[i] != '<' || i + 1 >= len ||
		    !(is_alpha(s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!' ||
		      s[i + 1] == '?')) {
			i++;
			continue;
		}
		append(out, s + run, i - run);
		if (ci_prefix(s + i, len - i, "<!--")) {
			const char *end = ci_find(s + i + 4, len - i - 4, "-->");
			i = end != NULL ? (size_t)(end - s) + 3 : len;
			run = i;
			continue;
		}
		size_t j = i + 1;
		bool closing = s[j] == '/';
		if (closing)
			j++;
		size_t name = j;
		while (j < len && is_alnum(s[j]))
			j++;
		size_t name_len = j - name;
		/* Quoted attribute values may hold '>'. */
		char quote = 0;
		for (; j < len; j++) {
			if (quote != 0) {
				if (s[j] == quote)
					quote = 0;
			} else if (s[j] == '"' || s[j] == '\'') {
				quote = s[j];
			} else if (s[j] == '>') {
				break;
			}
		}
		i = j < len ? j + 1 : len;
		if (html_breaks(s + name, name_len))
			strbuf_append(out, "\n", 1);
		bool script = ci_eq(s + name, name_len, "script");
		if (!closing && (script || ci_eq(s + name, name_len, "style"))) {
			const char *end = ci_find(s + i, len - i, script ? "</script" : "</style");
			i = end != NULL ? (size_t)(end - s) : len;
		}
		run = i;
	}
	append(out, s + run, len - run);
}

/* ---- body ---- */

struct body_ctx {
	struct strbuf *out;
	const char *data;
	size_t limit; /* out->len may grow to this */
	bool full, any;
	struct strbuf raw, text;
};

/* Appends valid UTF-8 s[0..len) after a newline, within the limit. */
static void body_add(struct body_ctx *ctx, const char *s, size_t len)
{
	if (ctx->full || len == 0)
		return;
	size_t room = ctx->limit - ctx->out->len;
	if (ctx->any) {
		if (room == 0) {
			ctx->full = true;
			return;
		}
		strbuf_append(ctx->out, "\n", 1);
		room--;
	}
	size_t n = mail_text_utf8_cut(s, len, room);
	if (n < len)
		ctx->full = true;
	append(ctx->out, s, n);
	ctx->any = true;
}

static void body_add_text(struct body_ctx *ctx, const struct mail_mime_part *p, bool html)
{
	size_t size = p->body_size < MAX_RAW_PART ? p->body_size : MAX_RAW_PART;

	strbuf_reset(&ctx->raw);
	strbuf_reset(&ctx->text);
	mail_text_decode_body(&ctx->raw, p->encoding, ctx->data + p->body_offset, size);
	mail_text_to_utf8(&ctx->text, p->charset, sb_data(&ctx->raw), ctx->raw.len);
	if (html) {
		strbuf_reset(&ctx->raw);
		html_to_text(&ctx->raw, sb_data(&ctx->text), ctx->text.len);
		body_add(ctx, sb_data(&ctx->raw), ctx->raw.len);
	} else {
		body_add(ctx, sb_data(&ctx->text), ctx->text.len);
	}
}

static const struct mail_param *find_name(const struct mail_param *params, unsigned count,
					  const char *name)
{
	const struct mail_param *p = mail_mime_param_find(params, count, name, true);

	return p != NULL ? p : mail_mime_param_find(params, count, name, false);
}

static void file_name(struct strbuf *out, const struct mail_param *param)
{
	/* An RFC 2231 value has its charset; a plain one is often RFC
	 * 2047-encoded, against the RFC but as mailers send it. */
	if (param->extended)
		mail_text_to_utf8(out, param->charset, param->decoded, strlen(param->decoded));
	else
		mail_text_decode_header(out, param->value, strlen(param->value));
}

/* The Content-Disposition filename and the Content-Type name, the second
 * only when it says something else (mailers often send both). */
static void body_add_file_names(struct body_ctx *ctx, const struct mail_mime_part *p)
{
	const struct mail_param *filename =
	    find_name(p->disposition_params, p->disposition_param_count, "filename");
	const struct mail_param *name = find_name(p->params, p->param_count, "name");

	strbuf_reset(&ctx->text);
	strbuf_reset(&ctx->raw);
	if (filename != NULL) {
		file_name(&ctx->text, filename);
		body_add(ctx, sb_data(&ctx->text), ctx->text.len);
	}
	if (name != NULL) {
		file_name(&ctx->raw, name);
		if (ctx->raw.len != ctx->text.len ||
		    memcmp(sb_data(&ctx->raw), sb_data(&ctx->text), ctx->raw.len) != 0)
			body_add(ctx, sb_data(&ctx->raw), ctx->raw.len);
	}
}

void mail_text_body(struct strbuf *out, const struct mail_structure *structure, const char *data)
{
	struct body_ctx ctx = {.out = out, .data = data, .limit = out->len + MAIL_TEXT_MAX_BODY};
	const struct mail_mime_part *root = structure->root, *p = root;

	/* Pre-order, without recursion: the tree may be deep. */
	while (p != NULL && !ctx.full) {
		if (p->children == NULL) {
			bool text = (p->flags & MAIL_MIME_PART_TEXT) != 0;
			if (text && strcasecmp(p->subtype, "plain") == 0)
				body_add_text(&ctx, p, false);
			else if (text && strcasecmp(p->subtype, "html") == 0)
				body_add_text(&ctx, p, true);
			body_add_file_names(&ctx, p);
		}
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != root && p->next == NULL)
			p = p->parent;
		p = p != root ? p->next : NULL;
	}
	strbuf_free(&ctx.raw);
	strbuf_free(&ctx.text);
}
