/* Unit tests for the header field scanner (node/mail/mail-header.c).
 *
 * The table gives raw header blocks and the fields expected from them:
 * name, raw value (folds kept) and unfolded value, plus where the body
 * starts. Each block is scanned from an exact-size heap copy placed after
 * a few bytes of junk, so that offsets are checked to be relative to the
 * buffer and ASan sees any read outside the header's range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "mail/mail-header.h"

#define MAX_WANT 4

struct hdr_want {
	const char *name, *value, *unfolded;
};

struct hdr_case {
	const char *name;
	const char *raw;
	size_t raw_len; /* 0: strlen(raw) */
	struct hdr_want fields[MAX_WANT];
	unsigned count;
	size_t body; /* where the body starts, from the header's start */
	bool has_body;
	unsigned bad_lines;
};

#define RAW(s) .raw = (s), .raw_len = sizeof(s) - 1

static const struct hdr_case hdr_cases[] = {
    {.name = "CRLF",
     .raw = "From: a@b\r\nTo: c@d\r\n\r\nbody",
     .fields = {{"From", "a@b", "a@b"}, {"To", "c@d", "c@d"}},
     .count = 2,
     .body = 22,
     .has_body = true},
    {.name = "bare LF",
     .raw = "From: a@b\nTo: c@d\n\nbody",
     .fields = {{"From", "a@b", "a@b"}, {"To", "c@d", "c@d"}},
     .count = 2,
     .body = 19,
     .has_body = true},
    {.name = "mixed line ends",
     .raw = "From: a@b\nTo: c@d\r\n\nbody",
     .fields = {{"From", "a@b", "a@b"}, {"To", "c@d", "c@d"}},
     .count = 2,
     .body = 20,
     .has_body = true},
    {.name = "folding",
     .raw = "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n",
     .fields = {{"Subject", "a\r\n b\r\n\tc", "a b\tc"}, {"X", "y", "y"}},
     .count = 2,
     .body = 28,
     .has_body = true},
    {.name = "blank-only continuation line",
     .raw = "Subject: a\r\n   \r\n b\r\n\r\n",
     .fields = {{"Subject", "a\r\n   \r\n b", "a    b"}},
     .count = 1,
     .body = 23,
     .has_body = true},
    {.name = "value starts on the next line",
     .raw = "Message-ID:\r\n <x@y>\r\n\r\n",
     .fields = {{"Message-ID", "\r\n <x@y>", " <x@y>"}},
     .count = 1,
     .body = 23,
     .has_body = true},
    {.name = "LF folds",
     .raw = "Subject: a\n\tb\n\n",
     .fields = {{"Subject", "a\n\tb", "a\tb"}},
     .count = 1,
     .body = 15,
     .has_body = true},
    {.name = "empty value, blanks kept at the end",
     .raw = "X:\r\nY:   \r\nZ: a  \r\n\r\n",
     .fields = {{"X", "", ""}, {"Y", "", ""}, {"Z", "a  ", "a  "}},
     .count = 3,
     .body = 21,
     .has_body = true},
    {.name = "blanks before the colon",
     .raw = "Subject \t: x\r\n\r\n",
     .fields = {{"Subject", "x", "x"}},
     .count = 1,
     .body = 16,
     .has_body = true},
    {.name = "no empty line",
     .raw = "From: a@b\r\nTo: c@d\r\n",
     .fields = {{"From", "a@b", "a@b"}, {"To", "c@d", "c@d"}},
     .count = 2,
     .body = 20},
    {.name = "no final line end",
     .raw = "From: a@b\r\nSubject: x\r\n y",
     .fields = {{"From", "a@b", "a@b"}, {"Subject", "x\r\n y", "x y"}},
     .count = 2,
     .body = 25},
    {.name = "empty header", .raw = "\r\nbody", .count = 0, .body = 2, .has_body = true},
    {.name = "empty header, LF", .raw = "\nbody", .count = 0, .body = 1, .has_body = true},
    {.name = "empty input", .raw = "", .count = 0, .body = 0},
    {.name = "lines that are no fields",
     .raw = " leading fold\r\nFrom someone\r\n: no name\r\nA: 1\r\n\r\n",
     .fields = {{"A", "1", "1"}},
     .count = 1,
     .body = 48,
     .has_body = true,
     .bad_lines = 3},
    {.name = "bare CR is content",
     .raw = "X: a\rb\r\nY: c\r\r\n\r\n",
     .fields = {{"X", "a\rb", "a\rb"}, {"Y", "c\r", "c\r"}},
     .count = 2,
     .body = 17,
     .has_body = true},
    {.name = "NUL in a value",
     RAW("X: a\0b\r\n\r\n"),
     .fields = {{"X", NULL,
		 "a\xef\xbf\xbd"
		 "b"}},
     .count = 1,
     .body = 10,
     .has_body = true},
    {.name = "body that looks like a header",
     .raw = "A: 1\r\n\r\nB: 2\r\n",
     .fields = {{"A", "1", "1"}},
     .count = 1,
     .body = 8,
     .has_body = true},
};

#define JUNK "junk!"

static void test_header_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		const struct hdr_case *c = &hdr_cases[i];
		size_t len = c->raw_len > 0 ? c->raw_len : strlen(c->raw);
		size_t start = sizeof(JUNK) - 1, end = start + len;
		char *buf = malloc(end > 0 ? end : 1);
		struct arena *arena = arena_create(1024);
		struct mail_header_iter iter;
		struct mail_header_field f;
		const char *error = NULL;
		unsigned n = 0;

		assert_non_null(buf);
		memcpy(buf, JUNK, start);
		memcpy(buf + start, c->raw, len);
		mail_header_iter_init(&iter, buf, start, end, NULL);
		while (mail_header_iter_next(&iter, &f)) {
			const struct hdr_want *w = &c->fields[n];
			if (n >= c->count)
				fail_msg("%s: too many fields", c->name);
			assert_true(f.offset >= start && f.offset + f.size <= end);
			assert_true(f.value_offset >= f.offset + f.name_len);
			assert_true(f.value_offset + f.value_len <= f.offset + f.size);
			assert_int_equal(f.name_len, strlen(w->name));
			assert_memory_equal(buf + f.offset, w->name, f.name_len);
			assert_true(mail_header_field_is(buf, &f, w->name));
			if (w->value != NULL) {
				assert_int_equal(f.value_len, strlen(w->value));
				assert_memory_equal(buf + f.value_offset, w->value, f.value_len);
			}
			assert_string_equal(mail_header_field_value(arena, buf, &f), w->unfolded);
			n++;
		}
		if (n != c->count)
			fail_msg("%s: %u fields, want %u", c->name, n, c->count);
		if (iter.body_offset != start + c->body)
			fail_msg("%s: body at %zu, want %zu", c->name, iter.body_offset - start,
				 c->body);
		assert_int_equal(iter.has_body, c->has_body);
		assert_int_equal(iter.bad_lines, c->bad_lines);
		assert_int_equal(mail_header_iter_deinit(&iter, &error), 0);
		assert_null(error);
		/* Once done, the iterator stays done. */
		assert_false(mail_header_iter_next(&iter, &f));
		arena_destroy(&arena);
		free(buf);
	}
}

static void test_header_parse_and_find(void **state)
{
	(void)state;
	static const char msg[] = "Received: one\r\nSUBJECT: hi\r\nreceived: two\r\n\r\nbody";
	struct arena *arena = arena_create(1024);
	struct mail_header *hdr;
	const struct mail_header_field *f;
	const char *error = NULL;

	assert_int_equal(mail_header_parse(arena, msg, 0, sizeof(msg) - 1, NULL, &hdr, &error), 0);
	assert_int_equal(hdr->count, 3);
	assert_int_equal(hdr->size, 45);
	assert_true(hdr->has_body);
	f = mail_header_find(hdr, "subject");
	assert_non_null(f);
	assert_string_equal(mail_header_field_value(arena, msg, f), "hi");
	f = mail_header_find(hdr, "RECEIVED");
	assert_string_equal(mail_header_field_value(arena, msg, f), "one");
	f = mail_header_find_last(hdr, "Received");
	assert_string_equal(mail_header_field_value(arena, msg, f), "two");
	assert_null(mail_header_find(hdr, "Receive"));
	assert_null(mail_header_find_last(hdr, "Received-SPF"));

	/* More fields than the first array holds. */
	struct mail_header *big;
	char many[64 * 40];
	size_t len = 0;
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "X-%d: %d\r\n", i, i);
	assert_int_equal(mail_header_parse(arena, many, 0, len, NULL, &big, &error), 0);
	assert_int_equal(big->count, 40);
	assert_string_equal(mail_header_field_value(arena, many, mail_header_find(big, "x-39")),
			    "39");
	arena_destroy(&arena);
}

static void test_header_limits(void **state)
{
	(void)state;
	static const char msg[] = "A: 1\r\nB: 22\r\nC: 333\r\nD: 4444444444\r\nE: 5\r\n\r\nbody";
	struct mail_header_limits limits = mail_header_default_limits;
	struct arena *arena = arena_create(1024);
	struct mail_header *hdr;
	const char *error = NULL;

	/* Too many: the first ones are kept, the header still ends right. */
	limits.max_fields = 2;
	assert_int_equal(mail_header_parse(arena, msg, 0, sizeof(msg) - 1, &limits, &hdr, &error),
			 -1);
	assert_string_equal(error, "too many header fields");
	assert_int_equal(hdr->count, 2);
	assert_int_equal(hdr->size, sizeof(msg) - 1 - 4);
	assert_non_null(mail_header_find(hdr, "B"));

	/* Too long: that field alone is left out. */
	limits = mail_header_default_limits;
	limits.max_field_size = 10;
	error = NULL;
	assert_int_equal(mail_header_parse(arena, msg, 0, sizeof(msg) - 1, &limits, &hdr, &error),
			 -1);
	assert_string_equal(error, "header field too long");
	assert_int_equal(hdr->count, 4);
	assert_null(mail_header_find(hdr, "D"));
	assert_non_null(mail_header_find(hdr, "E"));

	/* Too large: fields starting past the limit are left out. */
	limits = mail_header_default_limits;
	limits.max_header_size = 13;
	error = NULL;
	assert_int_equal(mail_header_parse(arena, msg, 0, sizeof(msg) - 1, &limits, &hdr, &error),
			 -1);
	assert_string_equal(error, "header too large");
	assert_int_equal(hdr->count, 2);
	assert_int_equal(hdr->size, sizeof(msg) - 1 - 4);

	/* The default count limit. */
	char *big = malloc(16 * 1200);
	size_t len = 0;
	assert_non_null(big);
	for (int i = 0; i < 1200; i++)
		len += (size_t)snprintf(big + len, 16 * 1200 - len, "X: %d\r\n", i);
	error = NULL;
	assert_int_equal(mail_header_parse(arena, big, 0, len, NULL, &hdr, &error), -1);
	assert_int_equal(hdr->count, MAIL_HEADER_MAX_FIELDS);
	assert_int_equal(hdr->size, len);
	free(big);

	/* The iterator reports the same, and counts what it skipped. */
	struct mail_header_iter iter;
	struct mail_header_field f;
	unsigned n = 0;
	limits = mail_header_default_limits;
	limits.max_fields = 3;
	mail_header_iter_init(&iter, msg, 0, sizeof(msg) - 1, &limits);
	while (mail_header_iter_next(&iter, &f))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(iter.skipped, 2);
	assert_int_equal(mail_header_iter_deinit(&iter, &error), -1);
	arena_destroy(&arena);
}

static void test_header_strings(void **state)
{
	(void)state;
	struct arena *arena = arena_create(1024);

	assert_string_equal(mail_header_strdup(arena, "a\0b", 3), "a\xef\xbf\xbd"
								  "b");
	assert_string_equal(mail_header_strdup(arena, "", 0), "");
	/* Only folds go: a line end with no blank after it stays. */
	assert_string_equal(mail_header_unfold(arena, "a\r\n b\r\nc\n\td\r", 12), "a b\r\nc\td\r");
	assert_string_equal(mail_header_unfold(arena, "a\r\n", 3), "a\r\n");
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_cases),
	    cmocka_unit_test(test_header_parse_and_find),
	    cmocka_unit_test(test_header_limits),
	    cmocka_unit_test(test_header_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
