/* libFuzzer target for the message parser (node/mail/mail-mime.c) and its
 * ENVELOPE / BODY / BODYSTRUCTURE dumps.
 *
 * Besides memory safety (ASan/UBSan), it checks what IMAP will rely on:
 * every part lies inside its parent's body and the message, siblings are
 * in order, sizes add up; the dumps are well-formed IMAP (balanced lists,
 * quoted strings, literals of the length they announce, nothing left over);
 * the structure does not need the message buffer once parsed; the header
 * scanner and the header array agree. Any violation abort()s so the fuzzer
 * keeps the input.
 *
 * The first byte picks a MIME header to put in front of the rest, so that
 * multipart and message/rfc822 paths are reached without a corpus. Each
 * input is parsed with the default limits and with tiny ones, to reach the
 * limit paths too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static const char *const fuzz_prefixes[] = {
    "",
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
    "Content-Type: message/rfc822\r\n\r\n",
    "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"b\"\r\n\r\n--b\r\n",
    "Content-Type: multipart/alternative; boundary=a\nFrom: x@y\n\n--a\n",
};

static void fuzz_check_part(const struct mail_mime_part *p, size_t lo, size_t hi, unsigned *count)
{
	size_t end = p->body_offset + p->body_size, prev = p->body_offset;
	unsigned n = 0;

	(*count)++;
	fuzz_check(p->offset >= lo && p->offset <= hi);
	fuzz_check(p->header_size <= hi - p->offset);
	fuzz_check(p->body_offset == p->offset + p->header_size);
	fuzz_check(p->body_size <= hi - p->body_offset);
	fuzz_check(p->header_vsize >= p->header_size && p->body_vsize >= p->body_size);
	fuzz_check(p->body_vsize - p->body_size <= p->body_lines);
	fuzz_check(p->body_lines <= p->body_size);
	fuzz_check(p->type != NULL && p->subtype != NULL);
	fuzz_check(p->depth <= MAIL_MIME_HARD_MAX_DEPTH);
	for (const struct mail_mime_part *c = p->children; c != NULL; c = c->next) {
		fuzz_check(c->parent == p && c->depth == p->depth + 1);
		fuzz_check_part(c, prev, end, count);
		prev = c->body_offset + c->body_size;
		n++;
	}
	fuzz_check(n == p->child_count);
	if (p->flags & MAIL_MIME_PART_MESSAGE) {
		fuzz_check(n == 1 && p->children->envelope != NULL);
		fuzz_check(p->children->offset == p->body_offset);
		fuzz_check(p->children->body_offset + p->children->body_size == end);
	}
	if (n > 0)
		fuzz_check((p->flags & (MAIL_MIME_PART_MULTIPART | MAIL_MIME_PART_MESSAGE)) != 0);
	for (unsigned i = 0; i < p->param_count; i++)
		fuzz_check(p->params[i].name != NULL && p->params[i].value != NULL &&
			   p->params[i].imap_name != NULL && p->params[i].decoded != NULL);
}

/* One IMAP value at s[*pos]: a list, a quoted string, a literal or an
 * atom. Returns false if it is not well-formed. */
static bool fuzz_imap_value(const char *s, size_t len, size_t *pos, unsigned depth)
{
	size_t i = *pos;

	if (i >= len || depth > 4 * MAIL_MIME_HARD_MAX_DEPTH)
		return false;
	if (s[i] == '(') {
		i++;
		while (i < len && s[i] != ')') {
			if (s[i] == ' ')
				i++;
			if (!fuzz_imap_value(s, len, &i, depth + 1))
				return false;
		}
		if (i >= len)
			return false;
		*pos = i + 1;
		return true;
	}
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\r' || c == '\n' || c >= 0x80 || c == 0)
				return false;
			if (c == '\\') {
				if (++i >= len || (s[i] != '"' && s[i] != '\\'))
					return false;
			}
		}
		if (i >= len)
			return false;
		*pos = i + 1;
		return true;
	}
	if (s[i] == '{') {
		size_t n = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			n = n * 10 + (size_t)(s[i] - '0');
		if (len - i < 3 || memcmp(s + i, "}\r\n", 3) != 0)
			return false;
		i += 3;
		if (len - i < n || memchr(s + i, '\0', n) != NULL)
			return false;
		*pos = i + n;
		return true;
	}
	size_t start = i;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i == start)
		return false;
	if (s[start] >= 'A' && (i - start != 3 || memcmp(s + start, "NIL", 3) != 0))
		return false;
	*pos = i;
	return true;
}

static void fuzz_check_imap(const struct strbuf *sb)
{
	size_t pos = 0;

	fuzz_check(fuzz_imap_value(sb->data, sb->len, &pos, 0));
	fuzz_check(pos == sb->len);
	fuzz_check(sb->data[0] == '(');
}

static void fuzz_check_groups(const struct mail_address_list *list)
{
	int open = 0;
	unsigned n = 0;

	for (const struct mail_address *a = list->first; a != NULL; a = a->next) {
		if (mail_address_is_group_end(a)) {
			fuzz_check(open == 1);
			open = 0;
		} else if (mail_address_is_group_start(a)) {
			fuzz_check(open == 0);
			open = 1;
		} else {
			fuzz_check(a->mailbox != NULL && a->host != NULL);
		}
		fuzz_check(a->next != NULL || a == list->last);
		n++;
	}
	fuzz_check(open == 0 && n == list->count);
}

static void fuzz_check_envelopes(const struct mail_mime_part *p)
{
	if (p->envelope != NULL) {
		const struct mail_envelope *e = p->envelope;
		fuzz_check_groups(&e->from);
		fuzz_check_groups(&e->sender);
		fuzz_check_groups(&e->reply_to);
		fuzz_check_groups(&e->to);
		fuzz_check_groups(&e->cc);
		fuzz_check_groups(&e->bcc);
	}
	for (const struct mail_mime_part *c = p->children; c != NULL; c = c->next)
		fuzz_check_envelopes(c);
}

static void fuzz_dump_all(struct strbuf *out, const struct mail_structure *st)
{
	strbuf_reset(out);
	mail_structure_dump(out, st);
	strbuf_append(out, " ", 1);
	mail_mime_dump(out, st->root, false);
}

static void fuzz_parse(const char *buf, size_t len, const struct mail_mime_limits *limits)
{
	struct arena *arena = arena_create(16 * 1024);
	struct mail_structure *st;
	const char *error = NULL;
	struct strbuf sb = {0}, again = {0};
	unsigned count = 0;
	char *copy = malloc(len > 0 ? len : 1);

	fuzz_check(copy != NULL);
	memcpy(copy, buf, len);
	fuzz_check(mail_structure_parse(arena, copy, len, limits, &st, &error) == 0);
	fuzz_check(st->root != NULL && st->root->offset == 0 && st->size == len);
	fuzz_check(st->envelope == st->root->envelope && st->envelope != NULL);
	fuzz_check_part(st->root, 0, len, &count);
	fuzz_check(count == st->part_count);
	fuzz_check(st->part_count <= (limits != NULL ? limits->max_parts : MAIL_MIME_MAX_PARTS));
	fuzz_check((st->problems == 0) == (st->problem == NULL));
	fuzz_check_envelopes(st->root);

	strbuf_reset(&sb);
	mail_envelope_dump(&sb, st->envelope);
	fuzz_check_imap(&sb);
	strbuf_reset(&sb);
	mail_mime_dump(&sb, st->root, true);
	fuzz_check_imap(&sb);
	strbuf_reset(&sb);
	mail_mime_dump(&sb, st->root, false);
	fuzz_check_imap(&sb);

	/* The structure owns its strings: the message may go. */
	fuzz_dump_all(&sb, st);
	memset(copy, 'Z', len);
	free(copy);
	fuzz_dump_all(&again, st);
	fuzz_check(sb.len == again.len && memcmp(sb.data, again.data, sb.len) == 0);

	/* The cached form answers exactly as the parse did. */
	size_t packed_len;
	const void *packed = mail_structure_cache_pack(arena, st, &packed_len);
	struct mail_structure *unpacked;
	fuzz_check(mail_structure_cache_unpack(arena, packed, packed_len, &unpacked, &error) == 0);
	fuzz_check(unpacked->part_count == st->part_count && unpacked->vsize == st->vsize &&
		   unpacked->problems == st->problems);
	unsigned unpacked_count = 0;
	fuzz_check_part(unpacked->root, 0, len, &unpacked_count);
	fuzz_check(unpacked_count == count);
	strbuf_reset(&again);
	fuzz_dump_all(&again, unpacked);
	fuzz_check(sb.len == again.len && memcmp(sb.data, again.data, sb.len) == 0);

	strbuf_free(&sb);
	strbuf_free(&again);
	arena_destroy(&arena);
}

/* The iterator and the array see the same fields. */
static void fuzz_headers(const char *buf, size_t len)
{
	struct arena *arena = arena_create(4096);
	struct mail_header_iter iter;
	struct mail_header_field f;
	struct mail_header *hdr;
	const char *error = NULL, *error2 = NULL;
	unsigned n = 0;
	int ret;

	ret = mail_header_parse(arena, buf, 0, len, NULL, &hdr, &error);
	fuzz_check((ret < 0) == (error != NULL));
	fuzz_check(hdr->size <= len);
	mail_header_iter_init(&iter, buf, 0, len, NULL);
	while (mail_header_iter_next(&iter, &f)) {
		fuzz_check(n < hdr->count);
		fuzz_check(memcmp(&f, &hdr->fields[n], sizeof(f)) == 0);
		fuzz_check(f.name_len > 0 && f.value_offset + f.value_len <= f.offset + f.size);
		fuzz_check(f.offset + f.size <= len);
		fuzz_check(mail_header_find(hdr, "Subject") == NULL ||
			   mail_header_field_is(buf, mail_header_find(hdr, "Subject"), "subject"));
		n++;
	}
	fuzz_check(n == hdr->count && iter.body_offset == hdr->size);
	fuzz_check(mail_header_iter_deinit(&iter, &error2) == ret);
	arena_destroy(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mail_mime_limits tiny = {
	    .max_depth = 3,
	    .max_parts = 8,
	    .max_message_size = 1 << 20,
	    .header = {.max_fields = 6, .max_field_size = 200, .max_header_size = 400},
	};
	size_t npre = sizeof(fuzz_prefixes) / sizeof(fuzz_prefixes[0]);
	const char *prefix = size > 0 ? fuzz_prefixes[data[0] % npre] : "";
	size_t plen = strlen(prefix), rest = size > 0 ? size - 1 : 0;
	char *buf = malloc(plen + rest + 1);

	fuzz_check(buf != NULL);
	memcpy(buf, prefix, plen);
	if (rest > 0)
		memcpy(buf + plen, data + 1, rest);
	fuzz_parse(buf, plen + rest, NULL);
	fuzz_parse(buf, plen + rest, &tiny);
	fuzz_headers(buf, plen + rest);
	free(buf);
	return 0;
}
