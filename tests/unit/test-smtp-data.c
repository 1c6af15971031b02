/* Unit tests for the DATA body reader (node/smtp/smtp-data.c).
 *
 * Every input is fed whole, one octet at a time (with empty feeds in
 * between) and in two pieces split at every position; all of them must
 * give the same message, flags, size, consumed count and end. The table
 * holds the SMTP smuggling variants published in December 2023: each must
 * stay inside one message that ends only at the real CRLF "." CRLF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-data.h"
#include "smtp/smtp-parser.h"

#define TEST_MAX_SIZE (1024 * 1024)

struct smtp_data_case {
	const char *name;
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
	unsigned flags;
	uint64_t max_size; /* 0: TEST_MAX_SIZE unless zero_max */
	bool zero_max;
	uint64_t size; /* 0: out_len */
	size_t unread; /* octets after the end mark, left unconsumed */
	bool not_done; /* the input stops before the end mark */
};

#define DATA_CASE(n, i, o, f)                                                                      \
	.name = (n), .in = (i), .in_len = sizeof(i) - 1, .out = (o), .out_len = sizeof(o) - 1,     \
	.flags = (f)

/* The second transaction an attacker hides after a fake end of data. */
#define SMUGGLED_IN                                                                                \
	"MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"                 \
	"From: ceo@example.com\r\n\r\nsmuggled\r\n.\r\n"
#define SMUGGLED_OUT                                                                               \
	"MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"                 \
	"From: ceo@example.com\r\n\r\nsmuggled\r\n"

/* "hi" + the fake end + the smuggled transaction + the real end, then a
 * pipelined QUIT that must stay unread. */
#define SMUGGLE(n, fake, fake_out, f)                                                              \
	{DATA_CASE(n, "hi" fake SMUGGLED_IN "QUIT\r\n", "hi" fake_out SMUGGLED_OUT, f),            \
	 .unread = 6},                                                                             \
	{                                                                                          \
		DATA_CASE(n " (at the real end)", "hi" fake "\r\n.\r\n", "hi" fake_out "\r\n", f)  \
	}

#define BARE_CR SMTP_DATA_BARE_CR
#define BARE_LF SMTP_DATA_BARE_LF

static const struct smtp_data_case smtp_data_cases[] = {
    {DATA_CASE("empty message", ".\r\n", "", 0)},
    {DATA_CASE("one line", "Hello\r\n.\r\n", "Hello\r\n", 0)},
    {DATA_CASE("headers and body", "Subject: x\r\nFrom: a@b\r\n\r\nbody\r\nmore\r\n.\r\n",
	       "Subject: x\r\nFrom: a@b\r\n\r\nbody\r\nmore\r\n", 0)},
    {DATA_CASE("only an empty line", "\r\n.\r\n", "\r\n", 0)},
    {DATA_CASE("empty lines", "\r\n\r\n\r\n.\r\n", "\r\n\r\n\r\n", 0)},
    {DATA_CASE("dot in the middle", "a.b\r\n .\r\nx.\r\n.\r\n", "a.b\r\n .\r\nx.\r\n", 0)},
    {DATA_CASE("stuffed dot alone", "..\r\n.\r\n", ".\r\n", 0)},
    {DATA_CASE("stuffed first line", "..foo\r\n.\r\n", ".foo\r\n", 0)},
    {DATA_CASE("stuffed later line", "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", 0)},
    {DATA_CASE("three dots", "...\r\n.\r\n", "..\r\n", 0)},
    {DATA_CASE("unstuffed leading dot is still removed", ".x\r\n.\r\n", "x\r\n", 0)},
    {DATA_CASE("stuffed dots on every line", "..\r\n..\r\n...x\r\n.\r\n", ".\r\n.\r\n..x\r\n", 0)},
    {DATA_CASE("dot then space", ". \r\n.\r\n", " \r\n", 0)},
    {DATA_CASE("pipelined command after the end", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n", 0),
     .unread = 17},
    {DATA_CASE("second end mark not read", "a\r\n.\r\n.\r\n", "a\r\n", 0), .unread = 3},
    {DATA_CASE("end mark right at the start, then more", ".\r\nb\r\n.\r\n", "", 0), .unread = 6},
    {DATA_CASE("NUL", "a\0b\r\n.\r\n", "a\0b\r\n", SMTP_DATA_NUL)},
    {DATA_CASE("NUL at line start", "\0\r\n.\r\n", "\0\r\n", SMTP_DATA_NUL)},
    {DATA_CASE("NUL after a stuffed dot", ".\0\r\n.\r\n", "\0\r\n", SMTP_DATA_NUL)},
    {DATA_CASE("8bit", "caf\xc3\xa9\r\n.\r\n", "caf\xc3\xa9\r\n", SMTP_DATA_8BIT)},
    {DATA_CASE("8bit octet 0x80", "\x80\r\n.\r\n", "\x80\r\n", SMTP_DATA_8BIT)},
    {DATA_CASE("0x7f is not 8bit", "\x7f\r\n.\r\n", "\x7f\r\n", 0)},
    {DATA_CASE("bare CR inside a line", "a\rb\r\n.\r\n", "a\rb\r\n", BARE_CR)},
    {DATA_CASE("bare LF inside a line", "a\nb\r\n.\r\n", "a\nb\r\n", BARE_LF)},
    {DATA_CASE("CR CR LF", "a\r\r\n.\r\n", "a\r\r\n", BARE_CR)},
    {DATA_CASE("LF CR LF", "a\n\r\n.\r\n", "a\n\r\n", BARE_LF)},
    {DATA_CASE("bare LF first", "\n.\r\n.\r\n", "\n.\r\n", BARE_LF)},
    {DATA_CASE("bare CR first", "\r.\r\n.\r\n", "\r.\r\n", BARE_CR)},
    {DATA_CASE("dot then bare LF at the start", ".\n.\r\n.\r\n", "\n.\r\n", BARE_LF)},
    {DATA_CASE("dot then bare CR at the start", ".\r.\r\n.\r\n", "\r.\r\n", BARE_CR)},
    {DATA_CASE(".CR CR LF", ".\r\r\n.\r\n", "\r\r\n", BARE_CR)},
    {DATA_CASE("all flags", "\x80\0\r\n\n\r\r\n.\r\n", "\x80\0\r\n\n\r\r\n",
	       SMTP_DATA_8BIT | SMTP_DATA_NUL | BARE_LF | BARE_CR)},

    /* The smuggling variants (SEC Consult, December 2023) */
    SMUGGLE("<LF>.<LF>", "\n.\n", "\n.\n", BARE_LF),
    SMUGGLE("<CR>.<CR>", "\r.\r", "\r.\r", BARE_CR),
    SMUGGLE("<LF>.<CR><LF>", "\n.\r\n", "\n.\r\n", BARE_LF),
    /* after a real CRLF the dot starts the line, so it is unstuffed */
    SMUGGLE("<CR><LF>.<LF>", "\r\n.\n", "\r\n\n", BARE_LF),
    SMUGGLE("<CR><LF>.<CR>", "\r\n.\r", "\r\n\r", BARE_CR),
    SMUGGLE("<CR>.<LF>", "\r.\n", "\r.\n", BARE_CR | BARE_LF),
    SMUGGLE("<LF>.<CR>", "\n.\r", "\n.\r", BARE_LF | BARE_CR),
    SMUGGLE("<CR>.<CR><LF>", "\r.\r\n", "\r.\r\n", BARE_CR),
    SMUGGLE("<CR><LF>.<CR><CR><LF>", "\r\n.\r\r\n", "\r\n\r\r\n", BARE_CR),
    SMUGGLE("<LF><LF>.<LF><LF>", "\n\n.\n\n", "\n\n.\n\n", BARE_LF),
    SMUGGLE("<CR><CR>.<CR><CR>", "\r\r.\r\r", "\r\r.\r\r", BARE_CR),
    SMUGGLE("<CR><LF>.<NUL><CR><LF>", "\r\n.\0\r\n", "\r\n\0\r\n", SMTP_DATA_NUL),
    SMUGGLE("<CR><LF><SP>.<CR><LF>", "\r\n .\r\n", "\r\n .\r\n", 0),
    SMUGGLE("<LF><CR>.<CR><LF>", "\n\r.\r\n", "\n\r.\r\n", BARE_LF | BARE_CR),

    /* too big: max_size and max_size + 1, counted after unstuffing */
    {DATA_CASE("exactly max_size", "abc\r\n.\r\n", "abc\r\n", 0), .max_size = 5},
    {DATA_CASE("max_size + 1", "abcd\r\n.\r\n", "abcd\r", SMTP_DATA_TOO_BIG), .max_size = 5,
     .size = 6},
    {DATA_CASE("far over max_size", "abcdefghij\r\nklm\r\n.\r\n", "abc", SMTP_DATA_TOO_BIG),
     .max_size = 3, .size = 17},
    {DATA_CASE("stuffing does not count", "..bc\r\n.\r\n", ".bc\r\n", 0), .max_size = 5},
    {DATA_CASE("empty message with max_size 0", ".\r\n", "", 0), .zero_max = true},
    {DATA_CASE("max_size 0", "a\r\n.\r\n", "", SMTP_DATA_TOO_BIG), .zero_max = true, .size = 3},

    /* inputs that stop before the end: held-back octets are not output */
    {DATA_CASE("nothing", "", "", 0), .not_done = true},
    {DATA_CASE("one line, no end", "a\r\n", "a\r\n", 0), .not_done = true},
    {DATA_CASE("held-back CR", "a\r", "a", 0), .not_done = true},
    {DATA_CASE("held-back dot", "a\r\n.", "a\r\n", 0), .not_done = true},
    {DATA_CASE("held-back dot CR", "a\r\n.\r", "a\r\n", 0), .not_done = true},
    {DATA_CASE("LF dot CR LF is no end", "a\n.\r\n", "a\n.\r\n", BARE_LF), .not_done = true},
    {DATA_CASE("CR LF dot LF is no end", "a\r\n.\n", "a\r\n\n", BARE_LF), .not_done = true},
};

struct smtp_data_result {
	struct strbuf out;
	unsigned flags;
	uint64_t size;
	size_t consumed;
	bool done;
};

/* Feeds in[0..len) cut at the given points (ascending), stopping at the end
 * of data, and checks what must hold after every feed. */
static void smtp_data_run(const struct smtp_data_case *tc, const size_t *cuts, size_t ncuts,
			  struct smtp_data_result *res)
{
	struct smtp_data_reader r;
	uint64_t max_size = tc->max_size != 0 || tc->zero_max ? tc->max_size : TEST_MAX_SIZE;
	size_t start = 0;

	memset(res, 0, sizeof(*res));
	smtp_data_reader_init(&r, max_size);
	for (size_t i = 0; i <= ncuts && !res->done; i++) {
		size_t stop = i < ncuts ? cuts[i] : tc->in_len;
		/* a copy of exactly the piece, so ASan sees any read past it */
		char *piece = malloc(stop - start + 1);
		size_t n;

		assert_non_null(piece);
		memcpy(piece, tc->in + start, stop - start);
		n = smtp_data_feed(&r, piece, stop - start, &res->out, &res->done);
		free(piece);
		assert_true(n <= stop - start);
		if (!res->done)
			assert_int_equal(n, stop - start);
		assert_true(res->out.len <= max_size);
		res->consumed += n;
		start = stop;
	}
	if (res->done) {
		bool again = false;

		/* once done, the reader takes nothing more */
		assert_int_equal(smtp_data_feed(&r, "x\r\n.\r\n", 6, &res->out, &again), 0);
		assert_true(again);
	}
	res->flags = r.flags;
	res->size = r.size;
}

static void smtp_data_expect(const struct smtp_data_case *tc, const char *how,
			     const struct smtp_data_result *res)
{
	uint64_t size = tc->size != 0 ? tc->size : tc->out_len;
	size_t consumed = tc->in_len - tc->unread;

	if (res->done != !tc->not_done || res->consumed != consumed || res->flags != tc->flags ||
	    res->size != size || res->out.len != tc->out_len ||
	    memcmp(res->out.len > 0 ? res->out.data : "", tc->out, tc->out_len) != 0)
		fail_msg("\"%s\" %s: done %d consumed %zu flags %#x size %llu out %zu octets; "
			 "expected done %d consumed %zu flags %#x size %llu out %zu octets",
			 tc->name, how, res->done, res->consumed, res->flags,
			 (unsigned long long)res->size, res->out.len, !tc->not_done, consumed,
			 tc->flags, (unsigned long long)size, tc->out_len);
}

static void smtp_data_check(const struct smtp_data_case *tc)
{
	struct smtp_data_result res;
	size_t *cuts = calloc(2 * tc->in_len + 1, sizeof(*cuts));
	char how[64];

	assert_non_null(cuts);
	smtp_data_run(tc, NULL, 0, &res);
	smtp_data_expect(tc, "whole", &res);
	strbuf_free(&res.out);

	/* one octet per feed, with an empty feed before each */
	for (size_t i = 0; i < tc->in_len; i++) {
		cuts[2 * i] = i;
		cuts[2 * i + 1] = i;
	}
	smtp_data_run(tc, cuts, 2 * tc->in_len, &res);
	smtp_data_expect(tc, "byte by byte", &res);
	strbuf_free(&res.out);

	for (size_t k = 0; k <= tc->in_len; k++) {
		snprintf(how, sizeof(how), "split at %zu", k);
		smtp_data_run(tc, &k, 1, &res);
		smtp_data_expect(tc, how, &res);
		strbuf_free(&res.out);
	}
	free(cuts);
}

static void test_smtp_data_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(smtp_data_cases) / sizeof(smtp_data_cases[0]); i++)
		smtp_data_check(&smtp_data_cases[i]);
}

/* Builds "<dots><n x 'x'>\r\n.\r\n" (and its message) into the case. */
static void smtp_data_line_case(struct smtp_data_case *tc, const char *name, bool dot, size_t n,
				unsigned flags)
{
	char *in = malloc(n + 8), *out = malloc(n + 8);
	size_t i = 0;

	assert_non_null(in);
	assert_non_null(out);
	if (dot)
		in[i++] = '.';
	memset(in + i, 'x', n);
	i += n;
	memcpy(in + i, "\r\n.\r\n", 5);
	memset(out, 'x', n);
	memcpy(out + n, "\r\n", 2);
	*tc = (struct smtp_data_case){
	    .name = name, .in = in, .in_len = i + 5, .out = out, .out_len = n + 2, .flags = flags};
}

static void test_smtp_data_long_lines(void **state)
{
	struct smtp_data_case tc;

	(void)state;
	smtp_data_line_case(&tc, "1000 octets", false, SMTP_MAX_TEXT_LINE - 2, 0);
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);

	smtp_data_line_case(&tc, "1001 octets", false, SMTP_MAX_TEXT_LINE - 1, SMTP_DATA_LONG_LINE);
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);

	/* counted before unstuffing */
	smtp_data_line_case(&tc, "1000 octets with a stuffed dot", true, SMTP_MAX_TEXT_LINE - 3, 0);
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);

	/* RFC 5321 4.5.3.1.6: the stuffing dot does not count toward the limit. */
	smtp_data_line_case(&tc, "1001 octets with a stuffed dot", true, SMTP_MAX_TEXT_LINE - 2, 0);
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);

	smtp_data_line_case(&tc, "1002 octets with a stuffed dot", true, SMTP_MAX_TEXT_LINE - 1,
			    SMTP_DATA_LONG_LINE);
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);

	/* far over, and TOO_BIG at the same time */
	smtp_data_line_case(&tc, "5000 octets, too big", false, 4998,
			    SMTP_DATA_LONG_LINE | SMTP_DATA_TOO_BIG);
	tc.max_size = 4000;
	tc.size = tc.out_len;
	tc.out_len = 4000;
	smtp_data_check(&tc);
	free((char *)tc.in);
	free((char *)tc.out);
}

/* Bare CR and LF do not end a line, so they do not reset its length. */
static void test_smtp_data_long_line_bare(void **state)
{
	char in[1100], out[1100];
	struct smtp_data_case tc;

	(void)state;
	for (int bare = 0; bare < 2; bare++) {
		/* 500 x, a bare CR or LF, 499 x, CRLF: 1002 octets in one line */
		memset(in, 'x', 1000);
		in[500] = bare ? '\n' : '\r';
		memcpy(in + 1000, "\r\n.\r\n", 5);
		memcpy(out, in, 1002);
		tc = (struct smtp_data_case){
		    .name = bare ? "long line with a bare LF" : "long line with a bare CR",
		    .in = in,
		    .in_len = 1005,
		    .out = out,
		    .out_len = 1002,
		    .flags = SMTP_DATA_LONG_LINE | (bare ? BARE_LF : BARE_CR)};
		smtp_data_check(&tc);
	}

	/* many short lines add up to nothing */
	for (int i = 0; i < 100; i++)
		memcpy(in + 10 * i, "xxxxxxxx\r\n", 10);
	memcpy(in + 1000, ".\r\n", 3);
	tc = (struct smtp_data_case){
	    .name = "many short lines", .in = in, .in_len = 1003, .out = in, .out_len = 1000};
	smtp_data_check(&tc);
}

/* out may already hold data: the reader appends, and max_size bounds
 * only what it appends. */
static void test_smtp_data_appends(void **state)
{
	struct smtp_data_reader r;
	struct strbuf out = {0};
	bool done = false;

	(void)state;
	strbuf_append(&out, "prefix:", 7);
	smtp_data_reader_init(&r, 2);
	assert_int_equal(smtp_data_feed(&r, "abc\r\n.\r\nX", 9, &out, &done), 8);
	assert_true(done);
	assert_int_equal(out.len, 9);
	assert_memory_equal(out.data, "prefix:ab", 9);
	assert_int_equal(r.size, 5);
	assert_int_equal(r.flags, SMTP_DATA_TOO_BIG);
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtp_data_table),
	    cmocka_unit_test(test_smtp_data_long_lines),
	    cmocka_unit_test(test_smtp_data_long_line_bare),
	    cmocka_unit_test(test_smtp_data_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
