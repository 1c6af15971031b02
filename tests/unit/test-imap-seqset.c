/* Unit tests for IMAP sequence sets (node/imap/imap-seqset.c): parsing
 * (ranges as written, '*', the errors), resolving against a highest
 * number (sorting, merging overlapping and adjacent ranges, '*' in an
 * empty mailbox), contains(), and both written forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-seqset.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

#define STAR IMAP_SEQ_STAR

/* Parsed ranges, as "lo:hi" with '*' for IMAP_SEQ_STAR. */
static void dump_parsed(struct strbuf *sb, const struct imap_seqset *set)
{
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			strbuf_append(sb, ",", 1);
		if (r->lo == STAR)
			strbuf_append(sb, "*", 1);
		else
			strbuf_appendf(sb, "%u", (unsigned)r->lo);
		strbuf_append(sb, ":", 1);
		if (r->hi == STAR)
			strbuf_append(sb, "*", 1);
		else
			strbuf_appendf(sb, "%u", (unsigned)r->hi);
	}
}

static const struct {
	const char *in;
	const char *parsed; /* NULL: expect an error */
} parse_cases[] = {
    {"1", "1:1"},
    {"1:4", "1:4"},
    {"4:1", "1:4"},
    {"*", "*:*"},
    {"1:*", "1:*"},
    {"*:1", "1:*"},
    {"*:*", "*:*"},
    {"1:4,7,9:*", "1:4,7:7,9:*"},
    {"7,1,7", "7:7,1:1,7:7"},
    {"007", "7:7"},
    {"4294967294", "4294967294:4294967294"},
    /* 2^32-1 is a valid number, but '*' holds its value. */
    {"4294967295", "4294967294:4294967294"},
    {"4294967295:*", "4294967294:*"},
    {"", NULL},
    {"0", NULL},
    {"00", NULL},
    {"0:5", NULL},
    {"5:0", NULL},
    {"4294967296", NULL},
    {"99999999999999999999999", NULL},
    {"-1", NULL},
    {"1,", NULL},
    {",1", NULL},
    {"1,,2", NULL},
    {"1:", NULL},
    {":1", NULL},
    {"1::2", NULL},
    {"1:2:3", NULL},
    {"1 2", NULL},
    {" 1", NULL},
    {"1 ", NULL},
    {"$", NULL},
    {"**", NULL},
    {"1*", NULL},
    {"a", NULL},
    {"+1", NULL},
};

static void test_parse(void **state)
{
	struct arena *arena = arena_create(4096);

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct imap_seqset set;
		const char *error = NULL;
		int ret = imap_seqset_parse(arena, parse_cases[i].in, &set, &error);

		if (parse_cases[i].parsed == NULL) {
			if (ret != -1)
				fail_msg("\"%s\" parsed", parse_cases[i].in);
			assert_non_null(error);
			continue;
		}
		if (ret != 0)
			fail_msg("\"%s\": %s", parse_cases[i].in, error);
		struct strbuf sb = {0};
		dump_parsed(&sb, &set);
		if (strcmp(sb.data, parse_cases[i].parsed) != 0)
			fail_msg("\"%s\": got %s, want %s", parse_cases[i].in, sb.data,
				 parse_cases[i].parsed);
		strbuf_free(&sb);
	}
	arena_destroy(&arena);
}

static const struct {
	const char *in;
	uint32_t max;
	const char *written; /* imap_seqset_write */
	const char *multirange;
} resolve_cases[] = {
    {"1", 10, "1", "{[1,2)}"},
    {"1:4,7,9:*", 12, "1:4,7,9:12", "{[1,5),[7,8),[9,13)}"},
    {"9:*,1:4,7", 12, "1:4,7,9:12", "{[1,5),[7,8),[9,13)}"},
    {"*", 5, "5", "{[5,6)}"},
    {"*:3", 5, "3:5", "{[3,6)}"},
    /* '*' below the start: "9:*" with max 5 is 5:9. */
    {"9:*", 5, "5:9", "{[5,10)}"},
    /* Overlapping, contained, adjacent, duplicate. */
    {"1:5,3:8", 0, "1:8", "{[1,9)}"},
    {"1:10,3:4", 0, "1:10", "{[1,11)}"},
    {"1:4,5:8", 0, "1:8", "{[1,9)}"},
    {"1,2,3,4", 0, "1:4", "{[1,5)}"},
    {"5,3,1,2,4", 0, "1:5", "{[1,6)}"},
    {"3,3,3", 0, "3", "{[3,4)}"},
    {"1,3,5", 0, "1,3,5", "{[1,2),[3,4),[5,6)}"},
    {"10:20,1:2,4:9", 0, "1:2,4:20", "{[1,3),[4,21)}"},
    {"7,*", 7, "7", "{[7,8)}"},
    /* An empty mailbox: '*' matches nothing, the rest stays. */
    {"*", 0, "", "{}"},
    {"1:*", 0, "", "{}"},
    {"*:*,*", 0, "", "{}"},
    {"1:*,3", 0, "3", "{[3,4)}"},
    /* The top of the range. */
    {"4294967294", 0, "4294967294", "{[4294967294,4294967295)}"},
    {"1:*", UINT32_MAX, "1:4294967295", "{[1,4294967296)}"},
    {"4294967295:*", 4, "4:4294967294", "{[4,4294967295)}"},
};

static void test_resolve(void **state)
{
	struct arena *arena = arena_create(4096);

	(void)state;
	for (size_t i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]); i++) {
		struct imap_seqset set;
		const char *error = NULL;
		struct strbuf sb = {0}, mr = {0};

		assert_int_equal(imap_seqset_parse(arena, resolve_cases[i].in, &set, &error), 0);
		imap_seqset_resolve(&set, resolve_cases[i].max);
		imap_seqset_write(&sb, &set);
		imap_seqset_write_multirange(&mr, &set);
		if (strcmp(sb.data ? sb.data : "", resolve_cases[i].written) != 0 ||
		    strcmp(mr.data, resolve_cases[i].multirange) != 0)
			fail_msg("\"%s\" max %u: got %s %s, want %s %s", resolve_cases[i].in,
				 (unsigned)resolve_cases[i].max, sb.data ? sb.data : "", mr.data,
				 resolve_cases[i].written, resolve_cases[i].multirange);
		strbuf_free(&sb);
		strbuf_free(&mr);
	}
	arena_destroy(&arena);
}

static void test_contains(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_seqset set;
	const char *error;

	(void)state;
	assert_int_equal(imap_seqset_parse(arena, "20:*,1:4,7,9:11,13", &set, &error), 0);
	imap_seqset_resolve(&set, 25);
	for (uint32_t n = 0; n < 40; n++) {
		bool want = (n >= 1 && n <= 4) || n == 7 || (n >= 9 && n <= 11) || n == 13 ||
			    (n >= 20 && n <= 25);
		if (imap_seqset_contains(&set, n) != want)
			fail_msg("contains(%u) != %d", (unsigned)n, want);
	}
	assert_false(imap_seqset_contains(&set, UINT32_MAX));

	/* The empty set contains nothing. */
	assert_int_equal(imap_seqset_parse(arena, "*", &set, &error), 0);
	imap_seqset_resolve(&set, 0);
	assert_int_equal(set.count, 0);
	assert_false(imap_seqset_contains(&set, 0));
	assert_false(imap_seqset_contains(&set, 1));

	assert_int_equal(imap_seqset_parse(arena, "1:*", &set, &error), 0);
	imap_seqset_resolve(&set, UINT32_MAX);
	assert_true(imap_seqset_contains(&set, UINT32_MAX));
	assert_true(imap_seqset_contains(&set, 1));
	assert_false(imap_seqset_contains(&set, 0));
	arena_destroy(&arena);
}

/* The most ranges a set may hold, and one more; merging a large set of
 * single numbers written backwards, which a quadratic merge would not
 * finish in time. */
static void test_many(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_seqset set;
	const char *error;
	struct strbuf sb = {0};

	(void)state;
	for (unsigned i = IMAP_SEQSET_MAX_RANGES; i >= 1; i--)
		strbuf_appendf(&sb, "%u%s", i * 2, i > 1 ? "," : "");
	assert_int_equal(imap_seqset_parse(arena, sb.data, &set, &error), 0);
	assert_int_equal(set.count, IMAP_SEQSET_MAX_RANGES);
	imap_seqset_resolve(&set, 0);
	assert_int_equal(set.count, IMAP_SEQSET_MAX_RANGES);
	for (unsigned i = 0; i < set.count; i++)
		assert_true(set.ranges[i].lo == (i + 1) * 2 && set.ranges[i].hi == (i + 1) * 2);
	assert_true(imap_seqset_contains(&set, 2000));
	assert_false(imap_seqset_contains(&set, 2001));

	strbuf_append(&sb, ",1", 2);
	assert_int_equal(imap_seqset_parse(arena, sb.data, &set, &error), -1);
	assert_string_equal(error, "Sequence set has too many ranges");

	/* All the odd numbers too: one range. */
	strbuf_reset(&sb);
	for (unsigned i = IMAP_SEQSET_MAX_RANGES; i >= 1; i--)
		strbuf_appendf(&sb, "%u:%u%s", i * 2 - 1, i * 2, i > 1 ? "," : "");
	assert_int_equal(imap_seqset_parse(arena, sb.data, &set, &error), 0);
	imap_seqset_resolve(&set, 0);
	assert_int_equal(set.count, 1);
	assert_int_equal(set.ranges[0].lo, 1);
	assert_int_equal(set.ranges[0].hi, IMAP_SEQSET_MAX_RANGES * 2);
	strbuf_free(&sb);
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
