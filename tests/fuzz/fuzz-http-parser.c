/* libFuzzer target for the HTTP/1.1 request head parser.
 *
 * Besides memory safety (ASan/UBSan), it checks what callers rely on: every
 * slice lies inside the head, the head inside the input, limits hold, and an
 * input fed in two pieces gets the same answer as when fed whole, as happens
 * when a request arrives in two reads. Any violation abort()s so the fuzzer
 * keeps the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-parser.h"

#define FUZZ_MAX_BODY (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_outcome {
	enum http_parse_result ret;
	int status;
	const char *error;
	struct http_request req;
};

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int fuzz_slice_inside(const struct http_slice *s, const char *buf, size_t len)
{
	return s->p != NULL && s->p >= buf && s->len <= len && (size_t)(s->p - buf) <= len - s->len;
}

static int fuzz_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void fuzz_check_done(const struct http_request *req, const char *buf, size_t len)
{
	size_t head = req->head_len;

	fuzz_check(head <= len);
	fuzz_check(head <= HTTP_MAX_HEAD);
	fuzz_check(head >= 4 && memcmp(buf + head - 4, "\r\n\r\n", 4) == 0);
	fuzz_check(memchr(buf, '\0', head) == NULL);
	fuzz_check(req->header_count <= HTTP_MAX_HEADERS);
	fuzz_check(req->version_minor == 0 || req->version_minor == 1);
	fuzz_check(req->keep_alive == 0 || req->keep_alive == 1);
	fuzz_check(req->content_length <= FUZZ_MAX_BODY);

	fuzz_check(fuzz_slice_inside(&req->method, buf, head) && req->method.len > 0);
	fuzz_check(fuzz_slice_inside(&req->target, buf, head) && req->target.len > 0);
	/* path and query are pieces of the target. */
	fuzz_check(fuzz_slice_inside(&req->path, req->target.p, req->target.len));
	fuzz_check(fuzz_slice_inside(&req->query, req->target.p, req->target.len));
	fuzz_check(memchr(req->path.p, '?', req->path.len) == NULL);
	for (unsigned i = 0; i < req->header_count; i++) {
		const struct http_header *h = &req->headers[i];

		fuzz_check(fuzz_slice_inside(&h->name, buf, head) && h->name.len > 0);
		fuzz_check(fuzz_slice_inside(&h->value, buf, head));
		fuzz_check(memchr(h->value.p, '\r', h->value.len) == NULL);
		fuzz_check(memchr(h->value.p, '\n', h->value.len) == NULL);
		fuzz_check(h->value.len == 0 || (!fuzz_is_ows(h->value.p[0]) &&
						 !fuzz_is_ows(h->value.p[h->value.len - 1])));
	}

	/* Every field must be found by name; the names hold no NUL, so a
	 * copy works as a C string. */
	if (req->header_count > 0) {
		const struct http_header *h = &req->headers[req->header_count - 1];
		char name[HTTP_MAX_HEAD + 1];

		memcpy(name, h->name.p, h->name.len);
		name[h->name.len] = '\0';
		fuzz_check(http_request_header(req, name) != NULL);
	}
}

/* Parses buf[0..len) from a heap copy of exactly len bytes, so ASan sees
 * any read past the end of what the caller has received. */
static void fuzz_parse(const uint8_t *data, size_t len, struct fuzz_outcome *out, char **copy_r)
{
	char *copy = malloc(len > 0 ? len : 1);

	fuzz_check(copy != NULL);
	if (len > 0)
		memcpy(copy, data, len);
	out->ret =
	    http_parse_request(copy, len, FUZZ_MAX_BODY, &out->req, &out->status, &out->error);
	switch (out->ret) {
	case HTTP_PARSE_DONE:
		fuzz_check_done(&out->req, copy, len);
		break;
	case HTTP_PARSE_NEED_MORE:
		fuzz_check(len < HTTP_MAX_HEAD);
		break;
	case HTTP_PARSE_ERROR:
		fuzz_check(out->error != NULL && out->error[0] != '\0');
		fuzz_check(out->status == 400 || out->status == 413 || out->status == 431 ||
			   out->status == 501 || out->status == 505);
		break;
	default:
		abort();
	}
	*copy_r = copy;
}

static int fuzz_same_slice(const struct http_slice *a, const char *abuf, const struct http_slice *b,
			   const char *bbuf)
{
	return a->len == b->len && a->p - abuf == b->p - bbuf;
}

/* A prefix that already has an answer must have the whole input's answer. */
static void fuzz_check_same(const struct fuzz_outcome *a, const char *abuf,
			    const struct fuzz_outcome *b, const char *bbuf)
{
	fuzz_check(a->ret == b->ret);
	if (a->ret == HTTP_PARSE_ERROR) {
		fuzz_check(a->status == b->status);
		fuzz_check(strcmp(a->error, b->error) == 0);
		return;
	}
	if (a->ret != HTTP_PARSE_DONE)
		return;
	fuzz_check(a->req.head_len == b->req.head_len);
	fuzz_check(fuzz_same_slice(&a->req.method, abuf, &b->req.method, bbuf));
	fuzz_check(fuzz_same_slice(&a->req.target, abuf, &b->req.target, bbuf));
	fuzz_check(fuzz_same_slice(&a->req.path, abuf, &b->req.path, bbuf));
	fuzz_check(fuzz_same_slice(&a->req.query, abuf, &b->req.query, bbuf));
	fuzz_check(a->req.version_minor == b->req.version_minor);
	fuzz_check(a->req.header_count == b->req.header_count);
	for (unsigned i = 0; i < a->req.header_count; i++) {
		fuzz_check(
		    fuzz_same_slice(&a->req.headers[i].name, abuf, &b->req.headers[i].name, bbuf));
		fuzz_check(fuzz_same_slice(&a->req.headers[i].value, abuf, &b->req.headers[i].value,
					   bbuf));
	}
	fuzz_check(a->req.content_length == b->req.content_length);
	fuzz_check(a->req.keep_alive == b->req.keep_alive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome whole, part;
	char *whole_buf, *part_buf;
	size_t split;

	fuzz_parse(data, size, &whole, &whole_buf);

	/* The first read: a split point the fuzzer controls through the
	 * first byte, anywhere from nothing to everything. */
	split = size > 0 ? (size_t)data[0] * (size + 1) / 256 : 0;
	fuzz_parse(data, split, &part, &part_buf);
	if (part.ret != HTTP_PARSE_NEED_MORE)
		fuzz_check_same(&part, part_buf, &whole, whole_buf);
	free(part_buf);

	/* A head that is DONE needs exactly head_len bytes: one byte less
	 * must still be waiting, and the head alone must give the same. */
	if (whole.ret == HTTP_PARSE_DONE) {
		size_t head = whole.req.head_len;

		fuzz_parse(data, head, &part, &part_buf);
		fuzz_check_same(&part, part_buf, &whole, whole_buf);
		free(part_buf);
		fuzz_parse(data, head - 1, &part, &part_buf);
		fuzz_check(part.ret == HTTP_PARSE_NEED_MORE);
		free(part_buf);
	}
	free(whole_buf);
	return 0;
}
