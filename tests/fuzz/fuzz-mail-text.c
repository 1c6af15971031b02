/* libFuzzer target for the search text of a message (node/mail/mail-text.c,
 * node/mail/mail-date.c).
 *
 * Besides memory safety (ASan/UBSan), it checks the promises the store
 * relies on: every output is valid UTF-8 without NUL (PostgreSQL text
 * cannot hold either kind of bad input), header values stay within
 * MAIL_TEXT_MAX_FIELD and the body within MAIL_TEXT_MAX_BODY, decoders
 * never grow their input more than their encoding allows, and a date
 * that parses lies in the years 0..9999. Any violation abort()s so the
 * fuzzer keeps the input.
 *
 * The first byte picks a MIME header to put in front of the rest (so
 * that charsets, transfer encodings, HTML, multiparts and enclosed
 * messages are reached without a corpus) and a charset for the direct
 * conversion check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "mail/mail-mime.h"
#include "mail/mail-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static const char *const fuzz_prefixes[] = {
    "",
    ("Content-Type: text/plain; charset=koi8-r\r\n"
     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"),
    "Content-Type: text/html; charset=windows-1251\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    "Content-Type: text/html; charset=utf-8\r\n\r\n",
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
    "Content-Type: message/rfc822\r\n\r\n",
    "Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n",
    "Subject: ",
};

static const char *const fuzz_charsets[] = {
    NULL, "utf-8", "koi8-r", "windows-1251", "iso-2022-jp", "UTF-16", "gb2312", "x-unknown",
};

static void fuzz_check_text(const char *s, size_t len)
{
	fuzz_check(utf8_valid(s != NULL ? s : "", len));
	fuzz_check(len == 0 || memchr(s, '\0', len) == NULL);
}

static void fuzz_message(const char *buf, size_t len)
{
	struct arena *arena = arena_create(16 * 1024);
	struct mail_structure *st;
	const char *error = NULL, **fields;
	struct strbuf sb = {0};

	fuzz_check(mail_structure_parse(arena, buf, len, NULL, &st, &error) == 0);

	unsigned n = mail_text_header_fields(arena, st, buf, &fields);
	fuzz_check(n <= MAIL_HEADER_MAX_FIELDS && fields[n] == NULL);
	for (unsigned i = 0; i < n; i++) {
		const char *colon = strchr(fields[i], ':');
		fuzz_check(colon != NULL);
		fuzz_check(strlen(colon + 1) <= MAIL_TEXT_MAX_FIELD);
		fuzz_check_text(fields[i], strlen(fields[i]));
	}

	/* Appended after what is there: the limit counts from there. */
	strbuf_append(&sb, "x", 1);
	mail_text_body(&sb, st, buf);
	fuzz_check(sb.len - 1 <= MAIL_TEXT_MAX_BODY);
	fuzz_check_text(sb.data, sb.len);

	strbuf_free(&sb);
	arena_destroy(&arena);
}

static void fuzz_decoders(const char *buf, size_t len, const char *charset)
{
	struct strbuf sb = {0};

	mail_text_decode_header(&sb, buf, len);
	fuzz_check_text(sb.data, sb.len);

	strbuf_reset(&sb);
	mail_text_to_utf8(&sb, charset, buf, len);
	fuzz_check_text(sb.data, sb.len);
	/* At most a replacement (3 octets) per input octet, or what UTF-8
	 * needs for a character of the charset (at most 4 for 1). */
	fuzz_check(sb.len <= 4 * len + 16);

	strbuf_reset(&sb);
	mail_text_decode_body(&sb, "base64", buf, len);
	fuzz_check(sb.len <= len / 4 * 3 + 2);
	strbuf_reset(&sb);
	mail_text_decode_body(&sb, "quoted-printable", buf, len);
	fuzz_check(sb.len <= len);

	strbuf_free(&sb);
}

static void fuzz_date(const char *buf, size_t len)
{
	/* 0000-01-01 and 10000-01-01 in seconds since the epoch. */
	const long long first = -62167219200LL, end = 253402300800LL;
	long long t;
	int zone;

	if (mail_text_parse_date(buf, len, &t, &zone) == 0) {
		fuzz_check(zone > -24 * 3600 && zone < 24 * 3600);
		/* The local time; second 60 of the last minute reaches end. */
		fuzz_check(t + zone >= first && t + zone <= end);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t npre = sizeof(fuzz_prefixes) / sizeof(fuzz_prefixes[0]);
	size_t ncs = sizeof(fuzz_charsets) / sizeof(fuzz_charsets[0]);
	const char *prefix = size > 0 ? fuzz_prefixes[data[0] % npre] : "";
	const char *charset = size > 0 ? fuzz_charsets[data[0] / npre % ncs] : NULL;
	size_t plen = strlen(prefix), rest = size > 0 ? size - 1 : 0;
	/* Exact-size copies, so ASan sees any read past the end. */
	char *buf = malloc(plen + rest > 0 ? plen + rest : 1), *raw = malloc(rest > 0 ? rest : 1);

	fuzz_check(buf != NULL && raw != NULL);
	memcpy(buf, prefix, plen);
	if (rest > 0) {
		memcpy(buf + plen, data + 1, rest);
		memcpy(raw, data + 1, rest);
	}
	fuzz_message(buf, plen + rest);
	fuzz_decoders(raw, rest, charset);
	fuzz_date(raw, rest);
	free(buf);
	free(raw);
	return 0;
}
