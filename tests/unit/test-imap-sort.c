/* Unit tests for SORT's pure half (node/imap/imap-sort.c): the base
 * subject of RFC 5256 section 2.1 over a table of decoded subjects
 * (leaders, blobs, trailers, "[fwd: ]" wrappers, Cyrillic), the subject
 * key from raw encoded-words, the upper-casing used for comparison, the
 * criteria parser, the keys taken from an envelope (first address, group
 * markers skipped, RFC 5957 display names) and the order with REVERSE and
 * the message-number tie-break.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "imap/imap-sort.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-envelope.h"

static const struct {
	const char *in, *base;
} base_cases[] = {
    {"", ""},
    {"hello", "hello"},
    {"Re: hello", "hello"},
    {"RE:hello", "hello"},
    {"re : hello", "hello"},
    {"Fw: hello", "hello"},
    {"FWD: hello", "hello"},
    {"fwd:hello", "hello"},
    {"Re: Re: Fwd: re: hello", "hello"},
    {"Re[2]: hello", "hello"},
    {"Re [list]: hello", "hello"},
    {"Re: [list] Fwd: subject (fwd)", "subject"},
    {"[list] Re: hello", "hello"},
    {"[a][b] Re: hello", "hello"},
    {"[PATCH] fix it", "fix it"},
    {"[a] [b] c", "c"},
    {"[PATCH]", "[PATCH]"},
    {"[a] [b]", "[b]"},
    {"hello (fwd)", "hello"},
    {"hello (FWD) (fwd)  ", "hello"},
    {"hello(fwd)", "hello"},
    {"(fwd)", ""},
    {"Re:", ""},
    {"Re: ", ""},
    {"   ", ""},
    {"[fwd: wrapped]", "wrapped"},
    {"[Fwd: Re: [list] thing (fwd)]", "thing"},
    {"Re: [fwd: x]", "x"},
    {"[fwd: x] y", "y"},
    {"[fwd:]", ""},
    {"[fwd: [x] y]", "y"},
    {"  spaced \t  out\r\n  here  ", "spaced out here"},
    {"Regarding: x", "Regarding: x"},
    {"Fwd x", "Fwd x"},
    {"Refwd: x", "Refwd: x"},
    {"[unclosed Re: x", "[unclosed Re: x"},
    {"a ] b", "a ] b"},
    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", /* Привет */
     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {"Re: [\xd1\x81\xd0\xbf\xd0\xb8\xd1\x81\xd0\xbe\xd0\xba] " /* [список] */
     "\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82 (fwd)",	       /* Отчёт */
     "\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82"},
};

static void test_base_subject(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(base_cases) / sizeof(base_cases[0]); i++) {
		struct strbuf out = {0}, again = {0};
		imap_sort_base_subject(&out, base_cases[i].in, strlen(base_cases[i].in));
		const char *got = out.data != NULL ? out.data : "";
		if (strcmp(got, base_cases[i].base) != 0)
			fail_msg("base(\"%s\") = \"%s\", want \"%s\"", base_cases[i].in, got,
				 base_cases[i].base);
		imap_sort_base_subject(&again, got, out.len);
		assert_string_equal(again.data != NULL ? again.data : "", got);
		strbuf_free(&out);
		strbuf_free(&again);
	}
}

static void test_subject_key(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	/* "Re: Привет" as one encoded-word: decoded first, then stripped. */
	assert_string_equal(imap_sort_subject_key(arena, "=?UTF-8?B?UmU6INCf0YDQuNCy0LXRgg==?="),
			    "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2"); /* ПРИВЕТ */
	/* The leader outside, the encoded text inside, folded. */
	assert_string_equal(
	    imap_sort_subject_key(arena, "Re: [list]\r\n =?utf-8?q?Fwd=3A_hello?= (fwd)"), "HELLO");
	assert_string_equal(imap_sort_subject_key(arena, NULL), "");
	assert_string_equal(imap_sort_subject_key(arena, "  "), "");
	arena_destroy(&arena);
}

static void test_fold(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"abc XYZ 09_[", "ABC XYZ 09_["},
	    /* привет ёж -> ПРИВЕТ ЁЖ */
	    {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd1\x91\xd0\xb6",
	     "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 \xd0\x81\xd0\x96"},
	    /* straße: ß stays; čšž -> ČŠŽ; é -> É; ÿ -> Ÿ */
	    {"stra\xc3\x9f"
	     "e",
	     "STRA\xc3\x9f"
	     "E"},
	    {"\xc4\x8d\xc5\xa1\xc5\xbe", "\xc4\x8c\xc5\xa0\xc5\xbd"},
	    {"\xc3\xa9\xc3\xbf", "\xc3\x89\xc5\xb8"},
	    /* αβς -> ΑΒΣ */
	    {"\xce\xb1\xce\xb2\xcf\x82", "\xce\x91\xce\x92\xce\xa3"},
	    /* Invalid octets pass through. */
	    {"\xc0\x80\xff", "\xc0\x80\xff"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf out = {0};
		imap_sort_fold(&out, cases[i].in, strlen(cases[i].in));
		assert_string_equal(out.data, cases[i].out);
		strbuf_free(&out);
	}
}

static int parse_criteria(struct arena *arena, const char *list,
			  struct imap_sort_criterion *criteria, const char **error_r)
{
	char line[256];
	snprintf(line, sizeof(line), "t SORT %s UTF-8 ALL\r\n", list);
	struct imap_command cmd;
	if (imap_command_parse(arena, line, strlen(line), &cmd, error_r) < 0)
		return -2;
	return imap_sort_parse(&cmd.args[0], criteria, error_r);
}

static void test_parse(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct imap_sort_criterion c[IMAP_SORT_MAX_CRITERIA];
	const char *error;
	assert_int_equal(parse_criteria(arena, "(REVERSE date subject DisplayFrom)", c, &error), 3);
	assert_int_equal(c[0].key, IMAP_SORT_DATE);
	assert_true(c[0].reverse);
	assert_int_equal(c[1].key, IMAP_SORT_SUBJECT);
	assert_false(c[1].reverse);
	assert_int_equal(c[2].key, IMAP_SORT_DISPLAYFROM);
	assert_false(imap_sort_needs_envelope(c, 1));
	assert_true(imap_sort_needs_envelope(c, 2));
	assert_int_equal(parse_criteria(arena, "(ARRIVAL CC FROM SIZE TO DISPLAYTO)", c, &error),
			 6);
	assert_int_equal(parse_criteria(arena, "()", c, &error), -1);
	assert_int_equal(parse_criteria(arena, "(REVERSE)", c, &error), -1);
	assert_int_equal(parse_criteria(arena, "(REVERSE REVERSE DATE)", c, &error), -1);
	assert_int_equal(parse_criteria(arena, "(DATE BOGUS)", c, &error), -1);
	assert_int_equal(parse_criteria(arena, "DATE", c, &error), -1);
	assert_int_equal(
	    parse_criteria(arena,
			   "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE"
			   " DATE DATE DATE DATE DATE)",
			   c, &error),
	    -1);
	arena_destroy(&arena);
}

static const char header[] = "From: \"Zed Last\" <alice@example.test>, bob@example.test\r\n"
			     "To: undisclosed:;, Group: carol@x.test, dave@x.test;,\r\n"
			     " =?UTF-8?B?0JfQvtGP?= <erin@x.test>\r\n"
			     "Cc: <Frank_1@x.test>\r\n"
			     "Subject: =?UTF-8?B?UmU6INCf0YDQuNCy0LXRgg==?=\r\n"
			     "\r\n";

static void test_keys(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct mail_envelope *env;
	const char *error;
	assert_int_equal(mail_envelope_parse(arena, header, strlen(header), &env, &error), 0);
	static const struct imap_sort_criterion all[] = {
	    {IMAP_SORT_SUBJECT, false},	    {IMAP_SORT_FROM, false},
	    {IMAP_SORT_TO, false},	    {IMAP_SORT_CC, false},
	    {IMAP_SORT_DISPLAYFROM, false}, {IMAP_SORT_DISPLAYTO, false},
	};
	struct imap_sort_message m = {0};
	imap_sort_set_keys(arena, &m, env, all, 6);
	assert_string_equal(m.subject, "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2");
	assert_string_equal(m.from, "ALICE");
	assert_string_equal(m.to, "CAROL"); /* the empty group and the marker skipped */
	assert_string_equal(m.cc, "FRANK_1");
	assert_string_equal(m.display_from, "ZED LAST");
	assert_string_equal(m.display_to, "CAROL@X.TEST"); /* no name: the address */

	/* Only what the criteria need; no envelope at all gives "". */
	struct imap_sort_message bare = {0};
	imap_sort_set_keys(arena, &bare, NULL, all + 1, 1);
	assert_string_equal(bare.from, "");
	assert_null(bare.subject);
	arena_destroy(&arena);
}

static void test_display_name_decoded(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	static const char h[] = "To: =?UTF-8?B?0JfQvtGP?= <erin@x.test>\r\n\r\n";
	struct mail_envelope *env;
	const char *error;
	assert_int_equal(mail_envelope_parse(arena, h, strlen(h), &env, &error), 0);
	static const struct imap_sort_criterion to[] = {{IMAP_SORT_DISPLAYTO, false}};
	struct imap_sort_message m = {0};
	imap_sort_set_keys(arena, &m, env, to, 1);
	assert_string_equal(m.display_to, "\xd0\x97\xd0\x9e\xd0\xaf"); /* ЗОЯ */
	arena_destroy(&arena);
}

static void test_order(void **state)
{
	(void)state;
	struct imap_sort_message m[] = {
	    {.seq = 1, .id = 1, .date = 300, .size = 10, .subject = "B", .from = "X"},
	    {.seq = 2, .id = 2, .date = 100, .size = 30, .subject = "A", .from = "X"},
	    {.seq = 3, .id = 3, .date = 300, .size = 20, .subject = "B", .from = "Y"},
	    {.seq = 4, .id = 4, .date = 200, .size = 10, .subject = "", .from = "X"},
	};
	struct {
		struct imap_sort_criterion c[2];
		unsigned count;
		uint32_t want[4];
	} cases[] = {
	    {{{IMAP_SORT_DATE, false}}, 1, {2, 4, 1, 3}},
	    /* REVERSE flips the key, not the message-number tie-break. */
	    {{{IMAP_SORT_DATE, true}}, 1, {1, 3, 4, 2}},
	    {{{IMAP_SORT_SUBJECT, false}}, 1, {4, 2, 1, 3}},
	    {{{IMAP_SORT_SUBJECT, false}, {IMAP_SORT_SIZE, true}}, 2, {4, 2, 3, 1}},
	    {{{IMAP_SORT_FROM, true}, {IMAP_SORT_DATE, false}}, 2, {3, 2, 4, 1}},
	    {{{IMAP_SORT_SIZE, false}}, 1, {1, 4, 3, 2}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_sort_message copy[4];
		memcpy(copy, m, sizeof(m));
		imap_sort(copy, 4, cases[i].c, cases[i].count);
		for (unsigned k = 0; k < 4; k++)
			assert_int_equal(copy[k].id, cases[i].want[k]);
	}
	assert_true(imap_sort_compare(&m[0], &m[2], (struct imap_sort_criterion[]){{0, false}}, 0) <
		    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_subject), cmocka_unit_test(test_subject_key),
	    cmocka_unit_test(test_fold),	 cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_keys),	 cmocka_unit_test(test_display_name_decoded),
	    cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
