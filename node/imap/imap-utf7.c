/* Modified UTF-7 (RFC 3501 section 5.1.3), the contract is in imap-utf7.h.
 *
 * Printable US-ASCII except "&" stands for itself, "&-" for "&", and
 * everything else is UTF-16BE in base64 with "," for "/", no padding,
 * between "&" and "-". Decoding accepts only what encoding produces, so
 * that one name has one spelling: encode(decode(x)) == x for every x that
 * decodes.
 */
#include "imap/imap-utf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/utf8.h"

static const char imap_utf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int imap_utf7_b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == ',')
		return 63;
	return -1;
}

static bool imap_utf7_direct(unsigned char ch)
{
	return ch >= 0x20 && ch <= 0x7e && ch != '&';
}

static void imap_utf8_put(struct strbuf *out, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	strbuf_append(out, b, n);
}

/* One shift, *sp just after its "&"; on success *sp is after its "-".
 * Appends the characters to out. */
static int imap_utf7_shift(const char **sp, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0, units = 0;

	for (; *s != '-'; s++) {
		int v = imap_utf7_b64_value(*s);

		if (v < 0)
			return -1; /* bad base64, or the end without "-" */
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return -1; /* a high surrogate alone */
			imap_utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return -1; /* a low surrogate alone */
		} else if (unit == 0 || (unit >= 0x20 && unit <= 0x7e)) {
			return -1; /* NUL, or printable US-ASCII ("&" too: "&-") */
		} else {
			imap_utf8_put(out, unit);
		}
	}
	/* Leftover bits: fewer than 6 (else a whole base64 octet too many),
	 * and zero. */
	if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
		return -1;
	*sp = (const char *)s + 1;
	return 0;
}

int imap_utf7_to_utf8(const char *in, struct strbuf *out)
{
	size_t start = out->len;
	bool after_shift = false;
	const char *s = in;

	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;

		if (ch != '&') {
			if (!imap_utf7_direct(ch))
				goto fail;
			strbuf_append(out, s, 1);
			s++;
			after_shift = false;
			continue;
		}
		s++;
		if (*s == '-') {
			strbuf_append(out, "&", 1);
			s++;
			after_shift = false;
			continue;
		}
		/* Two shifts in a row must be written as one. */
		if (after_shift || imap_utf7_shift(&s, out) < 0)
			goto fail;
		after_shift = true;
	}
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}

/* Decodes one code point of valid UTF-8 at *sp. */
static uint32_t imap_utf8_get(const unsigned char **sp)
{
	const unsigned char *s = *sp;
	uint32_t cp;
	unsigned n;

	if (s[0] < 0x80) {
		cp = s[0];
		n = 1;
	} else if (s[0] < 0xe0) {
		cp = s[0] & 0x1f;
		n = 2;
	} else if (s[0] < 0xf0) {
		cp = s[0] & 0x0f;
		n = 3;
	} else {
		cp = s[0] & 0x07;
		n = 4;
	}
	for (unsigned i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	*sp = s + n;
	return cp;
}

int imap_utf8_to_utf7(const char *in, struct strbuf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len = strlen(in);

	if (!utf8_valid(in, len))
		return -1;
	while (*s != '\0') {
		if (imap_utf7_direct(*s)) {
			strbuf_append(out, s, 1);
			s++;
			continue;
		}
		if (*s == '&') {
			strbuf_append(out, "&-", 2);
			s++;
			continue;
		}
		/* One shift for the whole run of characters that need it. */
		uint32_t bits = 0;
		unsigned nbits = 0;
		char b[1];

		strbuf_append(out, "&", 1);
		while (*s != '\0' && !imap_utf7_direct(*s) && *s != '&') {
			uint32_t cp = imap_utf8_get(&s);
			uint32_t units[2];
			unsigned n = 0;

			if (cp >= 0x10000) {
				units[n++] = 0xd800 + ((cp - 0x10000) >> 10);
				units[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			} else {
				units[n++] = cp;
			}
			for (unsigned i = 0; i < n; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					b[0] = imap_utf7_b64[(bits >> nbits) & 0x3f];
					strbuf_append(out, b, 1);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0) {
			b[0] = imap_utf7_b64[(bits << (6 - nbits)) & 0x3f];
			strbuf_append(out, b, 1);
		}
		strbuf_append(out, "-", 1);
	}
	return 0;
}
