/* Unit tests for the IMAP command reader (node/imap/imap-reader.c) over a
 * socketpair: a client fiber plays a script (write octets, expect octets
 * back, close), the server fiber reads commands and compares each result
 * and buffer, then writes "END\r\n". The client reads that END last, so a
 * continuation the server sent when it should not have shows up in its
 * place. Then imap_line_literal() on its own.
 *
 * cmocka's assertions longjmp, which must not happen on a fiber stack:
 * fibers record what they saw with CHECK(), and the test asserts after
 * loop_run() has returned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "imap/imap-reader.h"
#include "lib/conn.h"
#include "lib/fiber.h"
#include "lib/loop.h"
#include "lib/strbuf.h"

#include "fiber-check.h"

enum step_kind { STEP_WRITE, STEP_EXPECT, STEP_CLOSE };

struct step {
	enum step_kind kind;
	const char *data;
	size_t len; /* 0: strlen(data) */
};

struct want {
	enum imap_read_result result;
	const char *out; /* NULL: not compared */
	size_t out_len;	 /* 0: strlen(out) */
};

struct script {
	struct conn *server, *client;
	struct imap_reader_limits limits;
	int64_t deadline_ms; /* 0: LONG_WAIT_MS */
	const struct step *steps;
	size_t nsteps;
	const struct want *wants;
	size_t nwants;
};

#define W(s)                                                                                       \
	{                                                                                          \
		STEP_WRITE, (s), 0                                                                 \
	}
#define WN(s, n)                                                                                   \
	{                                                                                          \
		STEP_WRITE, (s), (n)                                                               \
	}
#define CONT                                                                                       \
	{                                                                                          \
		STEP_EXPECT, "+ OK\r\n", 0                                                         \
	}
#define CLOSE                                                                                      \
	{                                                                                          \
		STEP_CLOSE, NULL, 0                                                                \
	}

static const struct imap_reader_limits default_limits = {
    .max_line = 1000,
    .max_literal = 100,
    .max_append_literal = 100000,
    .max_command = 200000,
    .literal_minus = false,
};

static const char *result_name(enum imap_read_result r)
{
	switch (r) {
	case IMAP_READ_OK:
		return "OK";
	case IMAP_READ_CLOSED:
		return "CLOSED";
	case IMAP_READ_LINE_TOO_LONG:
		return "LINE_TOO_LONG";
	case IMAP_READ_LITERAL_TOO_BIG:
		return "LITERAL_TOO_BIG";
	case IMAP_READ_FATAL:
		return "FATAL";
	}
	return "?";
}

static void expect_bytes(struct conn *c, const char *want, size_t len)
{
	char *got = malloc(len + 1);
	size_t at = 0;

	if (got == NULL)
		abort();
	while (at < len) {
		int n = conn_read(c, got + at, len - at, soon());

		if (n <= 0) {
			check_fail(__LINE__, "client: read %d, want \"%s\"", n, want);
			free(got);
			return;
		}
		at += (size_t)n;
	}
	if (memcmp(got, want, len) != 0)
		check_fail(__LINE__, "client: got \"%.*s\", want \"%s\"", (int)len, got, want);
	free(got);
}

static void client_fiber(void *arg)
{
	struct script *s = arg;
	bool closed = false;

	for (size_t i = 0; i < s->nsteps && !closed; i++) {
		const struct step *st = &s->steps[i];
		size_t len = st->len ? st->len : (st->data ? strlen(st->data) : 0);

		switch (st->kind) {
		case STEP_WRITE:
			CHECK_INT(conn_write(s->client, st->data, len, soon()), 0);
			break;
		case STEP_EXPECT:
			expect_bytes(s->client, st->data, len);
			break;
		case STEP_CLOSE:
			shutdown(s->client->fd, SHUT_WR);
			closed = true;
			break;
		}
	}
	expect_bytes(s->client, "END\r\n", 5);
}

static void server_fiber(void *arg)
{
	struct script *s = arg;
	struct strbuf out = {0};
	int64_t deadline = deadline_after_ms(s->deadline_ms ? s->deadline_ms : LONG_WAIT_MS);

	for (size_t i = 0; i < s->nwants; i++) {
		const struct want *w = &s->wants[i];
		enum imap_read_result r = imap_read_command(s->server, &s->limits, &out, deadline);

		if (r != w->result) {
			check_fail(__LINE__, "command %zu: %s, want %s (read \"%.*s\")", i,
				   result_name(r), result_name(w->result),
				   (int)(out.len > 80 ? 80 : out.len), out.data ? out.data : "");
			break;
		}
		if (w->out != NULL) {
			size_t len = w->out_len ? w->out_len : strlen(w->out);

			if (out.len != len || memcmp(out.data, w->out, len) != 0)
				check_fail(__LINE__,
					   "command %zu: read %zu \"%.*s\", want %zu \"%.*s\"", i,
					   out.len, (int)(out.len > 80 ? 80 : out.len),
					   out.data ? out.data : "", len,
					   (int)(len > 80 ? 80 : len), w->out);
		}
	}
	conn_write(s->server, "END\r\n", 5, soon());
	strbuf_free(&out);
}

static void run_script_full(struct script *s)
{
	struct loop *loop;
	int sv[2];

	failure[0] = '\0';
	loop = loop_create(0, true);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->server = conn_create(sv[0], NULL, 0, "server");
	s->client = conn_create(sv[1], NULL, 0, "client");
	fiber_spawn("client", client_fiber, s);
	fiber_spawn("server", server_fiber, s);
	loop_run(loop);
	conn_destroy(&s->server);
	conn_destroy(&s->client);
	loop_destroy(&loop);
	assert_int_equal(fiber_live_count(), 0);
	if (failure[0] != '\0')
		fail_msg("in a fiber: %s", failure);
}

#define RUN(limits_, steps_, wants_)                                                               \
	do {                                                                                       \
		struct script s_ = {.limits = (limits_),                                           \
				    .steps = (steps_),                                             \
				    .nsteps = sizeof(steps_) / sizeof((steps_)[0]),                \
				    .wants = (wants_),                                             \
				    .nwants = sizeof(wants_) / sizeof((wants_)[0])};               \
		run_script_full(&s_);                                                              \
	} while (0)

static void test_lines(void **state)
{
	static const struct step steps[] = {
	    W("a NOOP\r\nb LOGIN x y\r\n"),
	    W("c NO"),
	    W("OP\r"),
	    W("\n"),
	    W("d NOOP\n"), /* a bare LF still ends the line; the parser refuses it */
	    W("\r\n"),
	};
	static const struct want wants[] = {
	    {IMAP_READ_OK, "a NOOP\r\n", 0}, {IMAP_READ_OK, "b LOGIN x y\r\n", 0},
	    {IMAP_READ_OK, "c NOOP\r\n", 0}, {IMAP_READ_OK, "d NOOP\n", 0},
	    {IMAP_READ_OK, "\r\n", 0},
	};

	(void)state;
	RUN(default_limits, steps, wants);
}

static void test_sync_literals(void **state)
{
	/* literal8, holding NUL */
	static const struct step steps8[] = {
	    W("e APPEND INBOX ~{3}\r\n"),
	    CONT,
	    WN("\0\0\0\r\n", 5),
	};
	static const struct want wants8[] = {
	    {IMAP_READ_OK, "e APPEND INBOX ~{3}\r\n\0\0\0\r\n", 26},
	};
	static const struct step plain[] = {
	    W("a LOGIN {4}\r\n"),
	    CONT,
	    W("user {4}\r\n"),
	    CONT,
	    W("pass\r\n"),
	    /* A zero-length literal gets its continuation too. */
	    W("b X {0}\r\n"),
	    CONT,
	    W("\r\n"),
	    /* The literal ends the line only right before CRLF. */
	    W("c X \"{4}\" {4} x\r\n"),
	    /* Literal octets are not lines: a "{3}" CRLF inside is data. */
	    W("d X {9}\r\n"),
	    CONT,
	    W("{3}\r\nab\r\n"),
	    W(" Y\r\n"),
	    /* Announced with a bare LF: still a literal, or the stream is lost. */
	    W("f X {3}\n"),
	    CONT,
	    W("abc\r\n"),
	};
	static const struct want plain_wants[] = {
	    {IMAP_READ_OK, "a LOGIN {4}\r\nuser {4}\r\npass\r\n", 0},
	    {IMAP_READ_OK, "b X {0}\r\n\r\n", 0},
	    {IMAP_READ_OK, "c X \"{4}\" {4} x\r\n", 0},
	    {IMAP_READ_OK, "d X {9}\r\n{3}\r\nab\r\n Y\r\n", 0},
	    {IMAP_READ_OK, "f X {3}\nabc\r\n", 0},
	};

	(void)state;
	RUN(default_limits, plain, plain_wants);
	RUN(default_limits, steps8, wants8);
}

static void test_nonsync_literals(void **state)
{
	static const struct step steps[] = {
	    W("a LOGIN {4+}\r\nuser {4+}\r\npass\r\nb NOOP\r\n"),
	    W("c APPEND INBOX ~{3+}\r\nxyz\r\n"),
	    W("d X {2+}\r\n"),
	    W("a"),
	    W("b\r\n"),
	};
	static const struct want wants[] = {
	    {IMAP_READ_OK, "a LOGIN {4+}\r\nuser {4+}\r\npass\r\n", 0},
	    {IMAP_READ_OK, "b NOOP\r\n", 0},
	    {IMAP_READ_OK, "c APPEND INBOX ~{3+}\r\nxyz\r\n", 0},
	    {IMAP_READ_OK, "d X {2+}\r\nab\r\n", 0},
	};

	(void)state;
	RUN(default_limits, steps, wants);
}

static void test_literal_limits(void **state)
{
	static const struct step steps[] = {
	    /* max_literal is 100: 100 goes, 101 gets no continuation. */
	    W("a X {100}\r\n"),
	    CONT,
	    W("0123456789012345678901234567890123456789012345678901234567890123456789"
	      "012345678901234567890123456789\r\n"),
	    W("b LOGIN {101}\r\n"),
	    W("c NOOP\r\n"),
	    /* Within a command, after a good literal. */
	    W("d LOGIN {4}\r\n"),
	    CONT,
	    W("user {1000}\r\n"),
	    W("e NOOP\r\n"),
	    /* More than 19 digits: too big, not a line of text. */
	    W("f X {99999999999999999999999}\r\n"),
	    W("g NOOP\r\n"),
	};
	static const struct want wants[] = {
	    {IMAP_READ_OK, NULL, 0},
	    {IMAP_READ_LITERAL_TOO_BIG, "b LOGIN {101}\r\n", 0},
	    {IMAP_READ_OK, "c NOOP\r\n", 0},
	    {IMAP_READ_LITERAL_TOO_BIG, "d LOGIN {4}\r\nuser {1000}\r\n", 0},
	    {IMAP_READ_OK, "e NOOP\r\n", 0},
	    {IMAP_READ_LITERAL_TOO_BIG, "f X {99999999999999999999999}\r\n", 0},
	    {IMAP_READ_OK, "g NOOP\r\n", 0},
	};
	static const struct step nonsync[] = {W("b LOGIN {101+}\r\n")};
	static const struct want nonsync_wants[] = {{IMAP_READ_FATAL, NULL, 0}};

	(void)state;
	RUN(default_limits, steps, wants);
	RUN(default_limits, nonsync, nonsync_wants);
}

static void test_append_limit(void **state)
{
	struct strbuf msg = {0}, cmd = {0};
	struct imap_reader_limits limits = default_limits;

	(void)state;
	for (int i = 0; i < 5000; i++)
		strbuf_append(&msg, i % 78 == 77 ? "\n" : "m", 1);
	strbuf_append(&cmd, "a append INBOX (\\Seen) {5000}\r\n", 31);
	strbuf_append(&cmd, msg.data, msg.len);
	strbuf_append(&cmd, "\r\n", 2);
	{
		const struct step steps[] = {
		    W("a append INBOX (\\Seen) {5000}\r\n"),
		    CONT,
		    WN(msg.data, msg.len),
		    W("\r\n"),
		    /* MULTIAPPEND: the next message too; and non-synchronizing. */
		    W("b APPEND INBOX {3+}\r\nabc {5000+}\r\n"),
		    WN(msg.data, msg.len),
		    W("\r\n"),
		    /* Over the message size limit. */
		    W("c APPEND INBOX {100001}\r\n"),
		    /* Not APPEND: the other limit. */
		    W("d XAPPEND INBOX {5000}\r\n"),
		    W("e UID APPEND INBOX {5000}\r\n"),
		    /* APPEND only on the first line counts. */
		    W("f X {4}\r\n"),
		    CONT,
		    W("abcd APPEND {5000}\r\n"),
		    W("g NOOP\r\n"),
		};
		const struct want wants[] = {
		    {IMAP_READ_OK, cmd.data, cmd.len},
		    {IMAP_READ_OK, NULL, 0},
		    {IMAP_READ_LITERAL_TOO_BIG, "c APPEND INBOX {100001}\r\n", 0},
		    {IMAP_READ_LITERAL_TOO_BIG, "d XAPPEND INBOX {5000}\r\n", 0},
		    {IMAP_READ_LITERAL_TOO_BIG, "e UID APPEND INBOX {5000}\r\n", 0},
		    {IMAP_READ_LITERAL_TOO_BIG, "f X {4}\r\nabcd APPEND {5000}\r\n", 0},
		    {IMAP_READ_OK, "g NOOP\r\n", 0},
		};
		RUN(limits, steps, wants);
	}
	strbuf_free(&msg);
	strbuf_free(&cmd);
}

static void test_long_lines(void **state)
{
	struct strbuf big = {0}, exact = {0}, over = {0}, keep = {0};
	struct strbuf sync_lit = {0}, nonsync_lit = {0};

	(void)state;
	for (int i = 0; i < 5000; i++)
		strbuf_append(&big, "x", 1);
	strbuf_append(&big, "\r\n", 2);
	for (int i = 0; i < 256; i++)
		strbuf_append(&keep, "x", 1);
	/* max_line counts the CRLF. */
	strbuf_append(&exact, "a X ", 4);
	while (exact.len < 998)
		strbuf_append(&exact, "y", 1);
	strbuf_append(&exact, "\r\n", 2);
	strbuf_append(&over, "a X ", 4);
	while (over.len < 999)
		strbuf_append(&over, "y", 1);
	strbuf_append(&over, "\r\n", 2);
	/* Long lines that announce literals, the marker split over reads. */
	strbuf_append(&sync_lit, big.data, big.len - 2);
	strbuf_append(&sync_lit, " {5}\r\n", 6);
	strbuf_append(&nonsync_lit, big.data, big.len - 2);
	strbuf_append(&nonsync_lit, " {5+}\r\n", 7);
	{
		const struct step steps[] = {
		    WN(big.data, big.len),
		    W("b NOOP\r\n"),
		    WN(exact.data, exact.len),
		    WN(over.data, over.len),
		    /* A long line that ends in a literal the client waits to send. */
		    WN(sync_lit.data, sync_lit.len),
		    W("c NOOP\r\n"),
		    /* A long continuation line after a literal. */
		    W("d X {1}\r\n"),
		    CONT,
		    W("1 "),
		    WN(big.data, big.len),
		    W("e NOOP\r\n"),
		    /* A long line whose literal is on its way. */
		    WN(nonsync_lit.data, nonsync_lit.len),
		    W("hello\r\n"),
		};
		const struct want wants[] = {
		    {IMAP_READ_LINE_TOO_LONG, keep.data, 0},
		    {IMAP_READ_OK, "b NOOP\r\n", 0},
		    {IMAP_READ_OK, exact.data, exact.len},
		    {IMAP_READ_LINE_TOO_LONG, NULL, 0},
		    {IMAP_READ_LINE_TOO_LONG, keep.data, 0},
		    {IMAP_READ_OK, "c NOOP\r\n", 0},
		    {IMAP_READ_LINE_TOO_LONG, NULL, 0},
		    {IMAP_READ_OK, "e NOOP\r\n", 0},
		    {IMAP_READ_FATAL, NULL, 0},
		};
		RUN(default_limits, steps, wants);
	}
	strbuf_free(&big);
	strbuf_free(&exact);
	strbuf_free(&over);
	strbuf_free(&keep);
	strbuf_free(&sync_lit);
	strbuf_free(&nonsync_lit);
}

static void test_command_limit(void **state)
{
	struct imap_reader_limits limits = default_limits;
	/* 11 + 20 + 7 = 38 octets before the second literal, 12 left. */
	static const struct step steps[] = {
	    W("a X {20+}\r\n01234567890123456789 {13}\r\n"),
	    W("b NOOP\r\n"),
	    W("c X {20+}\r\n01234567890123456789 {12}\r\n"),
	    CONT,
	    W("0123456789ab\r\n"),
	};
	static const struct want wants[] = {
	    {IMAP_READ_LITERAL_TOO_BIG, "a X {20+}\r\n01234567890123456789 {13}\r\n", 0},
	    {IMAP_READ_OK, "b NOOP\r\n", 0},
	    /* The literal fits (50 octets), the CRLF after it does not. */
	    {IMAP_READ_FATAL, NULL, 0},
	};
	static const struct step nonsync[] = {
	    W("a X {20+}\r\n01234567890123456789 {13+}\r\n"),
	    W("0123456789abc\r\n"),
	};
	static const struct want nonsync_wants[] = {{IMAP_READ_FATAL, NULL, 0}};
	static const struct step line[] = {
	    W("a X 0123456789012345678901234567890123456789012345678901234567890\r\n"),
	};
	static const struct want line_wants[] = {{IMAP_READ_FATAL, NULL, 0}};
	static const struct step fits[] = {
	    W("a X {20+}\r\n01234567890123456789 {5}\r\n"),
	    CONT,
	    W("01234\r\n"),
	};
	static const struct want fits_wants[] = {{IMAP_READ_OK, NULL, 0}};

	(void)state;
	limits.max_command = 50;
	RUN(limits, steps, wants);
	RUN(limits, nonsync, nonsync_wants);
	RUN(limits, line, line_wants);
	RUN(limits, fits, fits_wants);
}

static void test_literal_minus(void **state)
{
	struct imap_reader_limits limits = default_limits;
	static char data[4096];
	const struct step steps[] = {
	    W("a APPEND INBOX {4096+}\r\n"),
	    WN(data, sizeof(data)),
	    W("\r\n"),
	    /* A synchronizing one of any size within the limit is fine. */
	    W("b APPEND INBOX {4097}\r\n"),
	    CONT,
	    WN(data, sizeof(data)),
	    W("x\r\n"),
	    W("c APPEND INBOX {4097+}\r\n"),
	};
	const struct want wants[] = {
	    {IMAP_READ_OK, NULL, 0},
	    {IMAP_READ_OK, NULL, 0},
	    {IMAP_READ_FATAL, NULL, 0},
	};

	(void)state;
	memset(data, 'z', sizeof(data));
	limits.literal_minus = true;
	RUN(limits, steps, wants);
}

static void test_closed(void **state)
{
	static const struct step mid_literal[] = {W("a LOGIN {10+}\r\nabc"), CLOSE};
	static const struct step mid_line[] = {W("a NOOP\r\nb NOO"), CLOSE};
	static const struct step at_start[] = {CLOSE};
	static const struct step long_line[] = {W("xxxxxxxxxxxxxxxxxxxxxxxx"), CLOSE};
	static const struct want ok_closed[] = {{IMAP_READ_OK, "a NOOP\r\n", 0},
						{IMAP_READ_CLOSED, NULL, 0}};
	static const struct want closed[] = {{IMAP_READ_CLOSED, NULL, 0}};
	struct imap_reader_limits limits = default_limits;

	(void)state;
	RUN(default_limits, mid_literal, closed);
	RUN(default_limits, mid_line, ok_closed);
	RUN(default_limits, at_start, closed);
	limits.max_line = 10;
	RUN(limits, long_line, closed);
}

/* The deadline covers the whole command: a client that stops after the
 * continuation does not get more time. */
static void test_deadline(void **state)
{
	static const struct step steps[] = {W("a LOGIN {4}\r\n"), CONT, W("us")};
	static const struct want wants[] = {{IMAP_READ_CLOSED, NULL, 0}};
	struct script s = {.limits = default_limits,
			   .deadline_ms = 200,
			   .steps = steps,
			   .nsteps = 3,
			   .wants = wants,
			   .nwants = 1};
	int64_t start = time_now_ms();

	(void)state;
	run_script_full(&s);
	assert_true(time_now_ms() - start < LONG_WAIT_MS / 2);
}

static void test_line_literal(void **state)
{
	static const struct {
		const char *line;
		bool is;
		size_t size;
		bool sync, literal8;
	} cases[] = {
	    {"a X {5}\r\n", true, 5, true, false},
	    {"a X {5+}\r\n", true, 5, false, false},
	    {"a X ~{5}\r\n", true, 5, true, true},
	    {"a X ~{5+}\r\n", true, 5, false, true},
	    {"{0}\r\n", true, 0, true, false},
	    {"{0}\n", true, 0, true, false},
	    {"x{12}\r\n", true, 12, true, false},
	    {"{9999999999999999999}\r\n", true, 9999999999999999999ull, true, false},
	    {"{10000000000000000000}\r\n", true, SIZE_MAX, true, false},
	    {"{0000000000000000000001}\r\n", true, SIZE_MAX, true, false},
	    {"a X {5}", false, 0, false, false},
	    {"a X {5}\r", false, 0, false, false},
	    {"a X {5} \r\n", false, 0, false, false},
	    {"a X {5}x\r\n", false, 0, false, false},
	    {"a X {}\r\n", false, 0, false, false},
	    {"a X {+}\r\n", false, 0, false, false},
	    {"a X {5++}\r\n", false, 0, false, false},
	    {"a X {-5}\r\n", false, 0, false, false},
	    {"a X {5-}\r\n", false, 0, false, false},
	    {"a X 5}\r\n", false, 0, false, false},
	    {"}\r\n", false, 0, false, false},
	    {"5}\r\n", false, 0, false, false},
	    {"+}\r\n", false, 0, false, false},
	    {"\r\n", false, 0, false, false},
	    {"\n", false, 0, false, false},
	    {"", false, 0, false, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t size = 123;
		bool sync = false, literal8 = false;
		bool is = imap_line_literal(cases[i].line, strlen(cases[i].line), &size, &sync,
					    &literal8);

		if (is != cases[i].is)
			fail_msg("\"%s\": %d", cases[i].line, is);
		if (is && (size != cases[i].size || sync != cases[i].sync ||
			   literal8 != cases[i].literal8))
			fail_msg("\"%s\": %zu %d %d", cases[i].line, size, sync, literal8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_sync_literals),
	    cmocka_unit_test(test_nonsync_literals),
	    cmocka_unit_test(test_literal_limits),
	    cmocka_unit_test(test_append_limit),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_command_limit),
	    cmocka_unit_test(test_literal_minus),
	    cmocka_unit_test(test_closed),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_line_literal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
