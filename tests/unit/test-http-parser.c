/* Unit tests for the HTTP/1.1 request head parser (node/http/http-parser.c).
 *
 * Each table case is parsed whole and then fed one byte at a time, the way
 * a slow client delivers it: every prefix must give NEED_MORE until the
 * point where the whole input's answer is known, then that same answer for
 * every longer prefix. Prefixes are copied into buffers of their exact size
 * so that ASan catches any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-parser.h"

#define TEST_MAX_BODY 1000

struct http_test_case {
	const char *name;
	const char *raw;
	size_t raw_len; /* 0: strlen(raw); set it for inputs with NUL bytes */
	int status;	/* 0: expect DONE */
	const char *method;
	const char *target;
	const char *path;
	const char *query;
	int minor;
	unsigned header_count;
	uint64_t content_length;
	int keep_alive;
	size_t head_len; /* 0: all of raw */
};

#define HOST "Host: example.org\r\n"
/* For inputs with NUL bytes, which strlen() would cut short. */
#define RAW(s) .raw = (s), .raw_len = sizeof(s) - 1

static const struct http_test_case http_valid_cases[] = {
    {.name = "simple GET",
     .raw = "GET / HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "HTTP/1.0 without Host, default close",
     .raw = "GET /index.html HTTP/1.0\r\n\r\n",
     .method = "GET",
     .target = "/index.html",
     .path = "/index.html",
     .query = "",
     .minor = 0,
     .header_count = 0,
     .keep_alive = 0},
    {.name = "HTTP/1.0 keep-alive",
     .raw = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 0,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "HTTP/1.1 Connection: close",
     .raw = "GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .keep_alive = 0},
    {.name = "Connection list with close",
     .raw = "GET / HTTP/1.1\r\n" HOST "Connection: Upgrade, CLOSE\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .keep_alive = 0},
    {.name = "close wins over keep-alive",
     .raw = "GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 0,
     .header_count = 1,
     .keep_alive = 0},
    {.name = "Connection list with empty elements and OWS",
     .raw = "GET / HTTP/1.0\r\nConnection: ,  , keep-alive\t, \r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 0,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "two Connection fields",
     .raw = "GET / HTTP/1.0\r\nConnection: foo\r\nconnection: KEEP-ALIVE\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 0,
     .header_count = 2,
     .keep_alive = 1},
    {.name = "Connection token that only starts with close",
     .raw = "GET / HTTP/1.1\r\n" HOST "Connection: closed, close-ish\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .keep_alive = 1},
    {.name = "query split at the first ?",
     .raw = "GET /search?q=a?b&c HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "/search?q=a?b&c",
     .path = "/search",
     .query = "q=a?b&c",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "empty query",
     .raw = "GET /? HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "/?",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "target that is only a query",
     .raw = "GET ?x HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "?x",
     .path = "",
     .query = "x",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "asterisk-form",
     .raw = "OPTIONS * HTTP/1.1\r\n" HOST "\r\n",
     .method = "OPTIONS",
     .target = "*",
     .path = "*",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "absolute-form",
     .raw = "GET http://example.org/a%20b?x=1 HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "http://example.org/a%20b?x=1",
     .path = "http://example.org/a%20b",
     .query = "x=1",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "unusual token method",
     .raw = "M-SEARCH_!#$%&'*+.^`|~09 / HTTP/1.1\r\n" HOST "\r\n",
     .method = "M-SEARCH_!#$%&'*+.^`|~09",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "Content-Length",
     .raw = "POST /upload HTTP/1.1\r\n" HOST "Content-Length: 42\r\n\r\n",
     .method = "POST",
     .target = "/upload",
     .path = "/upload",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .content_length = 42,
     .keep_alive = 1},
    {.name = "Content-Length zero",
     .raw = "POST / HTTP/1.1\r\n" HOST "content-length: 0\r\n\r\n",
     .method = "POST",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .keep_alive = 1},
    {.name = "duplicate Content-Length that agrees",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nCONTENT-LENGTH: 005\r\n\r\n",
     .method = "POST",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 3,
     .content_length = 5,
     .keep_alive = 1},
    {.name = "Content-Length with OWS",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length:\t 7 \t\r\n\r\n",
     .method = "POST",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .content_length = 7,
     .keep_alive = 1},
    {.name = "Content-Length equal to max_body",
     .raw = "PUT / HTTP/1.1\r\n" HOST "Content-Length: 1000\r\n\r\n",
     .method = "PUT",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .content_length = 1000,
     .keep_alive = 1},
    {.name = "empty lines before the request-line",
     .raw = "\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "body bytes after the head are not consumed",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello",
     .method = "POST",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .content_length = 5,
     .keep_alive = 1,
     .head_len = 57},
    {.name = "pipelined request after the head",
     .raw = "GET /a HTTP/1.1\r\n" HOST "\r\nGET /b HTTP/1.1\r\n" HOST "\r\n",
     .method = "GET",
     .target = "/a",
     .path = "/a",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1,
     .head_len = 38},
    {.name = "garbage after the head is not looked at",
     RAW("GET / HTTP/1.1\r\n" HOST "\r\n\n\r\0\x01"),
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1,
     .head_len = 37},
    {.name = "empty field value",
     .raw = "GET / HTTP/1.1\r\n" HOST "X-Empty:\r\nX-Blank: \t \r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 3,
     .keep_alive = 1},
    {.name = "field value with inner spaces and obs-text",
     .raw = "GET / HTTP/1.1\r\n" HOST "X-Text: a  b\tc \xc3\xa9\xff\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 2,
     .keep_alive = 1},
    {.name = "lower-case method is still a token",
     .raw = "get / HTTP/1.1\r\nhost:x\r\n\r\n",
     .method = "get",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
    {.name = "Host with empty value",
     .raw = "GET / HTTP/1.1\r\nHost:\r\n\r\n",
     .method = "GET",
     .target = "/",
     .path = "/",
     .query = "",
     .minor = 1,
     .header_count = 1,
     .keep_alive = 1},
};

static const struct http_test_case http_invalid_cases[] = {
    {.name = "empty target", .raw = "GET  / HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "leading space", .raw = " GET / HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "method with non-token byte", .raw = "G(T / HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "method then CRLF", .raw = "GET\r\n\r\n", .status = 400},
    {.name = "tab as separator", .raw = "GET\t/ HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "no version", .raw = "GET /\r\n\r\n", .status = 400},
    {.name = "empty version", .raw = "GET / \r\n" HOST "\r\n", .status = 400},
    {.name = "trailing space", .raw = "GET / HTTP/1.1 \r\n" HOST "\r\n", .status = 400},
    {.name = "space in target", .raw = "GET /a b HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "tab in target", .raw = "GET /a\tb HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "DEL in target", .raw = "GET /\x7f HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "8-bit in target", .raw = "GET /\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "CTL in target", .raw = "GET /\x01 HTTP/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "lower-case version", .raw = "GET / http/1.1\r\n" HOST "\r\n", .status = 400},
    {.name = "two-digit minor", .raw = "GET / HTTP/1.10\r\n" HOST "\r\n", .status = 400},
    {.name = "version without minor", .raw = "GET / HTTP/1\r\n" HOST "\r\n", .status = 400},
    {.name = "version with letters", .raw = "GET / HTTP/a.b\r\n" HOST "\r\n", .status = 400},
    {.name = "version with comma", .raw = "GET / HTTP/1,1\r\n" HOST "\r\n", .status = 400},
    {.name = "HTTP/2.0", .raw = "GET / HTTP/2.0\r\n" HOST "\r\n", .status = 505},
    {.name = "HTTP/1.2", .raw = "GET / HTTP/1.2\r\n" HOST "\r\n", .status = 505},
    {.name = "HTTP/0.9", .raw = "GET / HTTP/0.9\r\n\r\n", .status = 505},
    {.name = "HTTP/9.9", .raw = "GET / HTTP/9.9\r\n\r\n", .status = 505},
    {.name = "bare LF everywhere", .raw = "GET / HTTP/1.1\n" HOST "\n", .status = 400},
    {.name = "bare LF in fields", .raw = "GET / HTTP/1.1\r\nHost: a\n\r\n", .status = 400},
    {.name = "bare LF ends the head", .raw = "GET / HTTP/1.1\r\n" HOST "\n", .status = 400},
    {.name = "bare LF before request-line",
     .raw = "\nGET / HTTP/1.1\r\n" HOST "\r\n",
     .status = 400},
    {.name = "bare CR", .raw = "GET / HTTP/1.1\rHost: a\r\n\r\n", .status = 400},
    {.name = "bare CR in value", .raw = "GET / HTTP/1.1\r\nX: a\rb\r\n" HOST "\r\n", .status = 400},
    {.name = "CR CR LF", .raw = "GET / HTTP/1.1\r\r\n" HOST "\r\n", .status = 400},
    {.name = "NUL in method", RAW("G\0T / HTTP/1.1\r\n" HOST "\r\n"), .status = 400},
    {.name = "NUL in target", RAW("GET /\0 HTTP/1.1\r\n" HOST "\r\n"), .status = 400},
    {.name = "NUL in field value", RAW("GET / HTTP/1.1\r\nX: a\0b\r\n" HOST "\r\n"), .status = 400},
    {.name = "NUL in field name", RAW("GET / HTTP/1.1\r\nX\0: a\r\n" HOST "\r\n"), .status = 400},
    {.name = "obs-fold", .raw = "GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n", .status = 400},
    {.name = "obs-fold with tab",
     .raw = "GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n",
     .status = 400},
    {.name = "whitespace before the first field",
     .raw = "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
     .status = 400},
    {.name = "space before colon", .raw = "GET / HTTP/1.1\r\nHost : a\r\n\r\n", .status = 400},
    {.name = "tab before colon", .raw = "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .status = 400},
    {.name = "empty field name", .raw = "GET / HTTP/1.1\r\n" HOST ": a\r\n\r\n", .status = 400},
    {.name = "no colon", .raw = "GET / HTTP/1.1\r\n" HOST "X a\r\n\r\n", .status = 400},
    {.name = "name only", .raw = "GET / HTTP/1.1\r\n" HOST "X\r\n\r\n", .status = 400},
    {.name = "space in field name",
     .raw = "GET / HTTP/1.1\r\n" HOST "X Y: a\r\n\r\n",
     .status = 400},
    {.name = "separator in field name",
     .raw = "GET / HTTP/1.1\r\n" HOST "X/Y: a\r\n\r\n",
     .status = 400},
    {.name = "CTL in field value",
     .raw = "GET / HTTP/1.1\r\n" HOST "X: a\x01z\r\n\r\n",
     .status = 400},
    {.name = "DEL in field value",
     .raw = "GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n",
     .status = 400},
    {.name = "ESC in field value",
     .raw = "GET / HTTP/1.1\r\n" HOST "X: \x1b[0m\r\n\r\n",
     .status = 400},
    {.name = "missing Host in HTTP/1.1", .raw = "GET / HTTP/1.1\r\nX: a\r\n\r\n", .status = 400},
    {.name = "duplicate Host",
     .raw = "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
     .status = 400},
    {.name = "duplicate Host in HTTP/1.0",
     .raw = "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
     .status = 400},
    {.name = "Content-Length negative",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n",
     .status = 400},
    {.name = "Content-Length with plus",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: +1\r\n\r\n",
     .status = 400},
    {.name = "Content-Length empty",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n",
     .status = 400},
    {.name = "Content-Length inner space",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 1 2\r\n\r\n",
     .status = 400},
    {.name = "Content-Length hex",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 0x10\r\n\r\n",
     .status = 400},
    {.name = "Content-Length list",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 1,1\r\n\r\n",
     .status = 400},
    {.name = "Content-Length decimal point",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 1.0\r\n\r\n",
     .status = 400},
    {.name = "Content-Length conflicting",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
     .status = 400},
    {.name = "Content-Length conflicting with zero",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\nContent-Length: 1\r\n\r\n",
     .status = 400},
    {.name = "Content-Length overflow by one",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551616\r\n\r\n",
     .status = 400},
    {.name = "Content-Length overflow, many digits",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999999\r\n\r\n",
     .status = 400},
    {.name = "Content-Length over max_body",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 1001\r\n\r\n",
     .status = 413},
    {.name = "Content-Length far over max_body",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551615\r\n\r\n",
     .status = 413},
    {.name = "Transfer-Encoding chunked",
     .raw = "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n",
     .status = 501},
    {.name = "Transfer-Encoding identity",
     .raw = "POST / HTTP/1.1\r\n" HOST "transfer-encoding: identity\r\n\r\n",
     .status = 501},
    {.name = "Transfer-Encoding empty",
     .raw = "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\r\n\r\n",
     .status = 501},
    {.name = "Transfer-Encoding with Content-Length",
     .raw = "POST / HTTP/1.1\r\n" HOST "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     .status = 501},
    {.name = "Transfer-Encoding in HTTP/1.0",
     .raw = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     .status = 501},
    {.name = "first error in line order wins",
     .raw = "GET / HTTP/2.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     .status = 505},
};

/* Inputs that are the start of a valid head and must wait for more. */
static const char *const http_partial_inputs[] = {
    "G",
    "GET",
    "GET ",
    "GET / HTTP/1.1",
    "GET / HTTP/1.1\r",
    "GET / HTTP/1.1\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r",
    "\r\n",
    "\r\n\r\n\r",
    "POST / HTTP/1.1\r\nContent-Length: 99999999999",
};

static size_t http_case_len(const struct http_test_case *tc)
{
	return tc->raw_len != 0 ? tc->raw_len : strlen(tc->raw);
}

/* Copies buf into a heap block of exactly len bytes so ASan sees over-reads. */
static char *http_exact_copy(const char *buf, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, buf, len);
	return copy;
}

static void http_assert_inside(const char *what, const struct http_slice *s, const char *buf,
			       size_t len)
{
	if (s->p == NULL || s->p < buf || s->len > len || (size_t)(s->p - buf) > len - s->len)
		fail_msg("%s slice is outside the buffer", what);
}

static void http_assert_slice(const char *case_name, const char *what, const struct http_slice *s,
			      const char *expected)
{
	size_t len = strlen(expected);

	if (s->len != len || memcmp(s->p, expected, len) != 0)
		fail_msg("case \"%s\": %s is \"%.*s\", expected \"%s\"", case_name, what,
			 (int)s->len, s->p, expected);
}

/* Checks every slice of req lies in buf and the head within len. */
static void http_assert_well_formed(const struct http_request *req, const char *buf, size_t len)
{
	assert_true(req->head_len <= len);
	assert_true(req->head_len <= HTTP_MAX_HEAD);
	assert_true(req->header_count <= HTTP_MAX_HEADERS);
	http_assert_inside("method", &req->method, buf, req->head_len);
	http_assert_inside("target", &req->target, buf, req->head_len);
	http_assert_inside("path", &req->path, buf, req->head_len);
	http_assert_inside("query", &req->query, buf, req->head_len);
	for (unsigned i = 0; i < req->header_count; i++) {
		http_assert_inside("header name", &req->headers[i].name, buf, req->head_len);
		http_assert_inside("header value", &req->headers[i].value, buf, req->head_len);
	}
}

static void http_assert_same_slice(const struct http_slice *a, const char *abuf,
				   const struct http_slice *b, const char *bbuf)
{
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->p - abuf, b->p - bbuf);
}

/* Two parses of (prefixes of) the same input must describe the same request. */
static void http_assert_same_request(const struct http_request *a, const char *abuf,
				     const struct http_request *b, const char *bbuf)
{
	http_assert_same_slice(&a->method, abuf, &b->method, bbuf);
	http_assert_same_slice(&a->target, abuf, &b->target, bbuf);
	http_assert_same_slice(&a->path, abuf, &b->path, bbuf);
	http_assert_same_slice(&a->query, abuf, &b->query, bbuf);
	assert_int_equal(a->version_minor, b->version_minor);
	assert_int_equal(a->header_count, b->header_count);
	for (unsigned i = 0; i < a->header_count; i++) {
		http_assert_same_slice(&a->headers[i].name, abuf, &b->headers[i].name, bbuf);
		http_assert_same_slice(&a->headers[i].value, abuf, &b->headers[i].value, bbuf);
	}
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->keep_alive, b->keep_alive);
	assert_int_equal(a->head_len, b->head_len);
}

struct http_outcome {
	enum http_parse_result ret;
	int status;
	const char *error;
	struct http_request req;
};

static void http_parse_copy(const char *raw, size_t len, uint64_t max_body,
			    struct http_outcome *out, char **copy_r)
{
	char *copy = http_exact_copy(raw, len);

	out->ret = http_parse_request(copy, len, max_body, &out->req, &out->status, &out->error);
	if (out->ret == HTTP_PARSE_DONE) {
		http_assert_well_formed(&out->req, copy, len);
	} else if (out->ret == HTTP_PARSE_ERROR) {
		assert_non_null(out->error);
		assert_true(out->error[0] != '\0');
	} else {
		assert_int_equal(out->ret, HTTP_PARSE_NEED_MORE);
		assert_true(len < HTTP_MAX_HEAD);
	}
	*copy_r = copy;
}

/* Parses raw whole, then every prefix of it, and checks the prefixes agree
 * with the whole: NEED_MORE up to some length, then the whole's answer.
 * Returns the whole's outcome in *whole_r (its buffer is freed). */
static void http_check_incremental(const char *case_name, const char *raw, size_t len,
				   uint64_t max_body, struct http_outcome *whole_r)
{
	struct http_outcome whole, part;
	char *whole_buf, *part_buf;
	int decided = 0;

	http_parse_copy(raw, len, max_body, &whole, &whole_buf);
	for (size_t n = 0; n <= len; n++) {
		http_parse_copy(raw, n, max_body, &part, &part_buf);
		if (part.ret == HTTP_PARSE_NEED_MORE) {
			if (decided)
				fail_msg("case \"%s\": NEED_MORE at %zu bytes after an answer",
					 case_name, n);
			free(part_buf);
			continue;
		}
		decided = 1;
		if (part.ret != whole.ret || part.status != whole.status)
			fail_msg("case \"%s\": %zu bytes give %d/%d, whole input %d/%d", case_name,
				 n, part.ret, part.status, whole.ret, whole.status);
		if (part.ret == HTTP_PARSE_ERROR) {
			assert_string_equal(part.error, whole.error);
		} else {
			/* DONE is only possible once the final CRLF is in. */
			if (n < part.req.head_len)
				fail_msg("case \"%s\": DONE at %zu bytes, head_len %zu", case_name,
					 n, part.req.head_len);
			http_assert_same_request(&part.req, part_buf, &whole.req, whole_buf);
		}
		free(part_buf);
	}
	if (whole.ret != HTTP_PARSE_NEED_MORE && !decided)
		fail_msg("case \"%s\": no prefix gave the answer", case_name);
	free(whole_buf);
	*whole_r = whole;
}

static void test_http_valid_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(http_valid_cases) / sizeof(http_valid_cases[0]); i++) {
		const struct http_test_case *tc = &http_valid_cases[i];
		size_t len = http_case_len(tc);
		struct http_request req;
		int status = -1;
		const char *error = "unset";
		enum http_parse_result ret;

		ret = http_parse_request(tc->raw, len, TEST_MAX_BODY, &req, &status, &error);
		if (ret != HTTP_PARSE_DONE)
			fail_msg("case \"%s\": result %d status %d (%s)", tc->name, ret, status,
				 error != NULL ? error : "");
		http_assert_well_formed(&req, tc->raw, len);
		http_assert_slice(tc->name, "method", &req.method, tc->method);
		http_assert_slice(tc->name, "target", &req.target, tc->target);
		http_assert_slice(tc->name, "path", &req.path, tc->path);
		http_assert_slice(tc->name, "query", &req.query, tc->query);
		assert_int_equal(req.version_minor, tc->minor);
		assert_int_equal(req.header_count, tc->header_count);
		assert_int_equal(req.content_length, tc->content_length);
		assert_int_equal(req.keep_alive, tc->keep_alive);
		assert_int_equal(req.head_len, tc->head_len != 0 ? tc->head_len : len);

		struct http_outcome whole;
		http_check_incremental(tc->name, tc->raw, len, TEST_MAX_BODY, &whole);
		assert_int_equal(whole.ret, HTTP_PARSE_DONE);
	}
}

static void test_http_invalid_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(http_invalid_cases) / sizeof(http_invalid_cases[0]); i++) {
		const struct http_test_case *tc = &http_invalid_cases[i];
		size_t len = http_case_len(tc);
		struct http_request req;
		int status = 0;
		const char *error = NULL;
		enum http_parse_result ret;

		ret = http_parse_request(tc->raw, len, TEST_MAX_BODY, &req, &status, &error);
		if (ret != HTTP_PARSE_ERROR || status != tc->status)
			fail_msg("case \"%s\": result %d status %d, expected error %d", tc->name,
				 ret, status, tc->status);
		assert_non_null(error);

		struct http_outcome whole;
		http_check_incremental(tc->name, tc->raw, len, TEST_MAX_BODY, &whole);
		assert_int_equal(whole.status, tc->status);
	}
}

static void test_http_partial_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(http_partial_inputs) / sizeof(http_partial_inputs[0]); i++) {
		struct http_outcome out;

		http_check_incremental(http_partial_inputs[i], http_partial_inputs[i],
				       strlen(http_partial_inputs[i]), TEST_MAX_BODY, &out);
		if (out.ret != HTTP_PARSE_NEED_MORE)
			fail_msg("partial input \"%s\" gave %d", http_partial_inputs[i], out.ret);
	}

	struct http_request req;
	int status = 0;
	const char *error = NULL;
	assert_int_equal(http_parse_request(NULL, 0, 0, &req, &status, &error),
			 HTTP_PARSE_NEED_MORE);
}

/* Builds a head of exactly total bytes: a request line, Host, and one field
 * padded to size. The last four bytes are the closing CRLF CRLF. */
static char *http_build_sized_head(size_t total)
{
	static const char start[] = "GET / HTTP/1.1\r\n" HOST "X-Pad: ";
	size_t fixed = sizeof(start) - 1 + 4;
	char *buf;

	assert_true(total > fixed);
	buf = malloc(total);
	assert_non_null(buf);
	memcpy(buf, start, sizeof(start) - 1);
	memset(buf + sizeof(start) - 1, 'a', total - fixed);
	memcpy(buf + total - 4, "\r\n\r\n", 4);
	return buf;
}

static void test_http_head_size_limit(void **state)
{
	struct http_outcome out;
	struct http_request req;
	int status = 0;
	const char *error = NULL;
	char *buf;

	(void)state;
	buf = http_build_sized_head(HTTP_MAX_HEAD);
	http_check_incremental("head of HTTP_MAX_HEAD bytes", buf, HTTP_MAX_HEAD, 0, &out);
	assert_int_equal(out.ret, HTTP_PARSE_DONE);
	assert_int_equal(out.req.head_len, HTTP_MAX_HEAD);
	free(buf);

	buf = http_build_sized_head(HTTP_MAX_HEAD + 1);
	http_check_incremental("head one byte over", buf, HTTP_MAX_HEAD + 1, 0, &out);
	assert_int_equal(out.ret, HTTP_PARSE_ERROR);
	assert_int_equal(out.status, 431);
	/* The answer is due at HTTP_MAX_HEAD bytes, not when the head ends. */
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD, 0, &req, &status, &error),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD - 1, 0, &req, &status, &error),
			 HTTP_PARSE_NEED_MORE);
	free(buf);

	/* A head that never ends: much more than the limit, no CRLF at all. */
	size_t big = 4 * HTTP_MAX_HEAD;
	buf = malloc(big);
	assert_non_null(buf);
	memset(buf, 'A', big);
	assert_int_equal(http_parse_request(buf, big, 0, &req, &status, &error), HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD - 1, 0, &req, &status, &error),
			 HTTP_PARSE_NEED_MORE);
	/* The request-line alone fills the limit. */
	memcpy(buf, "GET /", 5);
	assert_int_equal(http_parse_request(buf, HTTP_MAX_HEAD, 0, &req, &status, &error),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	/* Empty lines count towards the limit too. */
	for (size_t i = 0; i + 1 < big; i += 2)
		memcpy(buf + i, "\r\n", 2);
	assert_int_equal(http_parse_request(buf, big, 0, &req, &status, &error), HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	free(buf);
}

/* Builds a request with count header fields, Host being the first. */
static size_t http_build_fields(char *buf, size_t size, unsigned count)
{
	size_t len = 0;
	int n;

	n = snprintf(buf, size, "GET / HTTP/1.1\r\nHost: a\r\n");
	assert_true(n > 0 && (size_t)n < size);
	len = (size_t)n;
	for (unsigned i = 1; i < count; i++) {
		n = snprintf(buf + len, size - len, "X-%u: %u\r\n", i, i);
		assert_true(n > 0 && (size_t)n < size - len);
		len += (size_t)n;
	}
	assert_true(len + 2 < size);
	memcpy(buf + len, "\r\n", 2);
	return len + 2;
}

static void test_http_header_count_limit(void **state)
{
	char buf[4096];
	struct http_outcome out;
	size_t len;

	(void)state;
	len = http_build_fields(buf, sizeof(buf), HTTP_MAX_HEADERS);
	http_check_incremental("HTTP_MAX_HEADERS fields", buf, len, 0, &out);
	assert_int_equal(out.ret, HTTP_PARSE_DONE);
	assert_int_equal(out.req.header_count, HTTP_MAX_HEADERS);

	len = http_build_fields(buf, sizeof(buf), HTTP_MAX_HEADERS + 1);
	http_check_incremental("one field too many", buf, len, 0, &out);
	assert_int_equal(out.ret, HTTP_PARSE_ERROR);
	assert_int_equal(out.status, 431);
}

static void http_check_content_length(const char *value, uint64_t max_body, int status,
				      uint64_t expected)
{
	char buf[256];
	struct http_outcome out;
	int n;

	n = snprintf(buf, sizeof(buf), "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
		     value);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	http_check_incremental(value, buf, (size_t)n, max_body, &out);
	if (status == 0) {
		if (out.ret != HTTP_PARSE_DONE)
			fail_msg("Content-Length %s, max %ju: status %d", value,
				 (uintmax_t)max_body, out.status);
		assert_int_equal(out.req.content_length, expected);
	} else {
		if (out.ret != HTTP_PARSE_ERROR || out.status != status)
			fail_msg("Content-Length %s, max %ju: result %d status %d, expected %d",
				 value, (uintmax_t)max_body, out.ret, out.status, status);
	}
}

static void test_http_content_length_limits(void **state)
{
	(void)state;
	http_check_content_length("0", 0, 0, 0);
	http_check_content_length("1", 0, 413, 0);
	http_check_content_length("1000", 1000, 0, 1000);
	http_check_content_length("1001", 1000, 413, 0);
	http_check_content_length("18446744073709551615", UINT64_MAX, 0, UINT64_MAX);
	http_check_content_length("000018446744073709551615", UINT64_MAX, 0, UINT64_MAX);
	http_check_content_length("18446744073709551616", UINT64_MAX, 400, 0);
	http_check_content_length("18446744073709551620", UINT64_MAX, 400, 0);
	http_check_content_length("184467440737095516150", UINT64_MAX, 400, 0);
	http_check_content_length("18446744073709551614", UINT64_MAX - 1, 0, UINT64_MAX - 1);
	http_check_content_length("18446744073709551615", UINT64_MAX - 1, 413, 0);
}

static void test_http_request_header(void **state)
{
	static const char raw[] = "GET / HTTP/1.1\r\n"
				  "Host: example.org\r\n"
				  "X-Dup: first\r\n"
				  "x-dup: second\r\n"
				  "Accept:  text/plain \r\n"
				  "\r\n";
	struct http_request req;
	const struct http_slice *v;
	int status = 0;
	const char *error = NULL;

	(void)state;
	assert_int_equal(http_parse_request(raw, sizeof(raw) - 1, 0, &req, &status, &error),
			 HTTP_PARSE_DONE);
	v = http_request_header(&req, "HOST");
	assert_non_null(v);
	http_assert_slice("lookup", "Host", v, "example.org");
	v = http_request_header(&req, "x-DUP");
	assert_non_null(v);
	http_assert_slice("lookup", "X-Dup", v, "first");
	v = http_request_header(&req, "accept");
	assert_non_null(v);
	http_assert_slice("lookup", "Accept", v, "text/plain");
	assert_null(http_request_header(&req, "Hos"));
	assert_null(http_request_header(&req, "Hostx"));
	assert_null(http_request_header(&req, ""));
	assert_null(http_request_header(&req, "Content-Length"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_valid_requests),
	    cmocka_unit_test(test_http_invalid_requests),
	    cmocka_unit_test(test_http_partial_requests),
	    cmocka_unit_test(test_http_head_size_limit),
	    cmocka_unit_test(test_http_header_count_limit),
	    cmocka_unit_test(test_http_content_length_limits),
	    cmocka_unit_test(test_http_request_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
