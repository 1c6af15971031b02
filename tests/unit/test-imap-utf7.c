/* Unit tests for modified UTF-7 (node/imap/imap-utf7.c): pairs that must
 * convert both ways (Cyrillic, German, "&", astral characters through
 * surrogate pairs, the RFC 3501 example), names modified UTF-7 must
 * refuse, and UTF-8 the encoder must refuse. A failed conversion must
 * leave the output as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-utf7.h"
#include "lib/strbuf.h"

static const struct {
	const char *utf7, *utf8;
} pairs[] = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"&BBIERQQ+BDQETwRJBDgENQ-",
     "\xd0\x92\xd1\x85\xd0\xbe\xd0\xb4\xd1\x8f\xd1\x89\xd0\xb8\xd0\xb5"},
    {"&-", "&"},
    {"&-&-", "&&"},
    {"a&-b", "a&b"},
    {"Entw&APw-rfe", "Entw\xc3\xbcrfe"},
    {"&APw-", "\xc3\xbc"},
    /* RFC 3501 5.1.3 */
    {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
     "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    /* U+1F600 (surrogates D83D DE00), U+10000, U+10FFFF */
    {"&2D3eAA-", "\xf0\x9f\x98\x80"},
    {"&2ADcAA-", "\xf0\x90\x80\x80"},
    {"&2,,f,w-", "\xf4\x8f\xbf\xbf"},
    {"x&2D3eANg93gA-y", "x\xf0\x9f\x98\x80\xf0\x9f\x98\x80y"},
    /* a BMP character before and after an astral one, in one shift */
    {"&APzYPd4AAPw-", "\xc3\xbc\xf0\x9f\x98\x80\xc3\xbc"},
    /* The shift ends before printable ASCII and "&-" may follow it. */
    {"&APw-&-", "\xc3\xbc&"},
    {"&APw- &APw-", "\xc3\xbc \xc3\xbc"},
    /* Control characters and DEL are encoded too. */
    {"&AAkAfw-", "\t\x7f"},
    {"&AB8-", "\x1f"},
    /* U+FFFF, U+0080 */
    {"&,,8-", "\xef\xbf\xbf"},
    {"&AIA-", "\xc2\x80"},
    /* "&-" then plain text that looks like base64 */
    {"&-APw-", "&APw-"},
};

static const char *const bad_utf7[] = {
    "&",	       /* unterminated */
    "&APw",	       /* unterminated */
    "a&",	       /* unterminated */
    "&A-",	       /* too short for one character */
    "&AP-",	       /* 12 bits */
    "&APx-",	       /* padding bits set */
    "&APwA-",	       /* a base64 octet too many */
    "&APw=-",	       /* '=' is not modified base64 */
    "&AP/-",	       /* '/' is not modified base64 (',' is) */
    "&AP w-",	       /* space inside a shift */
    "&AGE-",	       /* 'a' must stand for itself */
    "&ACA-",	       /* ' ' too */
    "&AH4-",	       /* '~' too */
    "&ACY-",	       /* '&' must be "&-" */
    "&AAA-",	       /* NUL */
    "&APw-&APw-",      /* two shifts in a row */
    "&AGE-&AGE-",      /* two shifts in a row */
    "&2D0-",	       /* high surrogate alone */
    "&2D0AYQ-",	       /* high surrogate, then 'a' */
    "&2D3YPQ-",	       /* two high surrogates */
    "&3gA-",	       /* low surrogate alone */
    "&3gDYPQ-",	       /* low, then high */
    "&2D3eAA",	       /* unterminated pair */
    "\xc3\xbc",	       /* 8-bit */
    "Entw\xc3\xbcrfe", /* 8-bit */
    "a\tb",	       /* control character */
    "a\x7f",	       /* DEL */
    "&-&",	       /* unterminated after "&-" */
    "&&-",	       /* '&' in a shift */
};

static const char *const bad_utf8[] = {
    "\x80",
    "a\xc3",
    "\xc0\xaf",
    "\xed\xa0\x80",	/* surrogate */
    "\xf4\x90\x80\x80", /* past U+10FFFF */
    "\xff",
};

static void test_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct strbuf a = {0}, b = {0};

		if (imap_utf7_to_utf8(pairs[i].utf7, &a) != 0)
			fail_msg("\"%s\" did not decode", pairs[i].utf7);
		if (strcmp(a.data ? a.data : "", pairs[i].utf8) != 0)
			fail_msg("\"%s\" decoded to \"%s\"", pairs[i].utf7, a.data);
		if (imap_utf8_to_utf7(pairs[i].utf8, &b) != 0)
			fail_msg("\"%s\" did not encode", pairs[i].utf8);
		if (strcmp(b.data ? b.data : "", pairs[i].utf7) != 0)
			fail_msg("\"%s\" encoded to \"%s\", want \"%s\"", pairs[i].utf8, b.data,
				 pairs[i].utf7);
		strbuf_free(&a);
		strbuf_free(&b);
	}
}

static void test_append(void **state)
{
	struct strbuf sb = {0};

	(void)state;
	strbuf_append(&sb, "prefix/", 7);
	assert_int_equal(imap_utf7_to_utf8("Entw&APw-rfe", &sb), 0);
	assert_string_equal(sb.data, "prefix/Entw\xc3\xbcrfe");
	assert_int_equal(imap_utf8_to_utf7("/\xc3\xbc", &sb), 0);
	assert_string_equal(sb.data, "prefix/Entw\xc3\xbcrfe/&APw-");
	strbuf_free(&sb);
}

static void test_bad_utf7(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_utf7) / sizeof(bad_utf7[0]); i++) {
		struct strbuf sb = {0};

		strbuf_append(&sb, "keep", 4);
		if (imap_utf7_to_utf8(bad_utf7[i], &sb) != -1)
			fail_msg("\"%s\" decoded to \"%s\"", bad_utf7[i], sb.data);
		/* A failure leaves what was there, even after a good start. */
		assert_int_equal(sb.len, 4);
		assert_string_equal(sb.data, "keep");
		strbuf_free(&sb);
	}
}

static void test_bad_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		struct strbuf sb = {0};

		strbuf_append(&sb, "keep", 4);
		if (imap_utf8_to_utf7(bad_utf8[i], &sb) != -1)
			fail_msg("bad UTF-8 #%zu encoded", i);
		assert_string_equal(sb.data, "keep");
		strbuf_free(&sb);
	}
}

/* Every BMP character (but surrogates) and a sample of astral ones, alone
 * and between ASCII, converts both ways. */
static void test_all_characters(void **state)
{
	struct strbuf utf8 = {0}, utf7 = {0}, back = {0};

	(void)state;
	for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) {
		char s[8];
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			s[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			s[0] = (char)(0xc0 | (cp >> 6));
			s[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			s[0] = (char)(0xe0 | (cp >> 12));
			s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			s[0] = (char)(0xf0 | (cp >> 18));
			s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		strbuf_reset(&utf8);
		strbuf_append(&utf8, "a", 1);
		strbuf_append(&utf8, s, n);
		strbuf_append(&utf8, s, n);
		strbuf_append(&utf8, "b", 1);
		strbuf_reset(&utf7);
		strbuf_reset(&back);
		assert_int_equal(imap_utf8_to_utf7(utf8.data, &utf7), 0);
		if (imap_utf7_to_utf8(utf7.data, &back) != 0 || strcmp(back.data, utf8.data) != 0)
			fail_msg("U+%04X: \"%s\" does not decode back", (unsigned)cp, utf7.data);
		for (const char *p = utf7.data; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p <= 0x7e);
	}
	strbuf_free(&utf8);
	strbuf_free(&utf7);
	strbuf_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pairs),	   cmocka_unit_test(test_append),
	    cmocka_unit_test(test_bad_utf7),	   cmocka_unit_test(test_bad_utf8),
	    cmocka_unit_test(test_all_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
