/* HTTP/1.1 request head parser (RFC 9112), the contract is in http-parser.h.
 *
 * The parser is stateless: every call parses buf from the start, so the
 * caller just calls again with more bytes. A head is at most HTTP_MAX_HEAD
 * bytes, which bounds the cost of re-parsing. Lines are examined strictly in
 * order and every check only looks at bytes before the point where it fails,
 * so once some prefix of the input gives DONE or ERROR, every longer input
 * gives the same answer; the unit test and the fuzz target rely on this.
 */
#include "http/http-parser.h"

#include <string.h>

/* Outcome of looking for the next line; ERROR has filled status/reason. */
enum http_line_result {
	HTTP_LINE_FOUND,
	HTTP_LINE_PARTIAL,
	HTTP_LINE_ERROR,
};

struct http_parse_ctx {
	const char *buf;
	/* Bytes that may belong to the head: a line reaching past this is
	 * either incomplete (NEED_MORE) or too long (431). */
	size_t window;
	int status;
	const char *reason;
	int host_count;
	int have_content_length;
	int connection_close;
	int connection_keep_alive;
};

static int http_fail(struct http_parse_ctx *ctx, int status, const char *reason)
{
	ctx->status = status;
	ctx->reason = reason;
	return -1;
}

static int http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return 1;
	default:
		return 0;
	}
}

static int http_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-value allows VCHAR, obs-text and, inside the value, SP and HTAB. */
static int http_is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static unsigned char http_lower(unsigned char c)
{
	/* Not tolower(): header names must not depend on the locale. */
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int http_slice_equal_ci(const char *p, size_t len, const char *name)
{
	size_t name_len = strlen(name);

	if (len != name_len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (http_lower((unsigned char)p[i]) != http_lower((unsigned char)name[i]))
			return 0;
	}
	return 1;
}

/* Finds the line starting at start. The byte checks (NUL, bare CR, bare LF)
 * run here, in byte order, before the line is known to be complete, so a
 * hostile client cannot make us wait for a CRLF that a valid head would
 * never need. *eol_r is the offset of the line's CR. */
static enum http_line_result http_next_line(struct http_parse_ctx *ctx, size_t start, size_t *eol_r)
{
	for (size_t i = start; i < ctx->window; i++) {
		switch (ctx->buf[i]) {
		case '\0':
			http_fail(ctx, 400, "NUL byte in request head");
			return HTTP_LINE_ERROR;
		case '\n':
			http_fail(ctx, 400, "bare LF in request head");
			return HTTP_LINE_ERROR;
		case '\r':
			if (i + 1 >= ctx->window)
				return HTTP_LINE_PARTIAL;
			if (ctx->buf[i + 1] != '\n') {
				http_fail(ctx, 400, "bare CR in request head");
				return HTTP_LINE_ERROR;
			}
			*eol_r = i;
			return HTTP_LINE_FOUND;
		default:
			break;
		}
	}
	return HTTP_LINE_PARTIAL;
}

/* request-line = method SP request-target SP HTTP-version, with exactly one
 * SP each: lenient splitting on runs of whitespace is how request smuggling
 * between a proxy and a server starts. */
static int http_parse_request_line(struct http_parse_ctx *ctx, size_t start, size_t eol,
				   struct http_request *req)
{
	const char *buf = ctx->buf;
	size_t i = start;

	while (i < eol && http_is_tchar((unsigned char)buf[i]))
		i++;
	if (i == start || i == eol || buf[i] != ' ')
		return http_fail(ctx, 400, "bad request method");
	req->method.p = buf + start;
	req->method.len = i - start;

	size_t target_start = ++i;
	while (i < eol && buf[i] != ' ') {
		unsigned char c = (unsigned char)buf[i];

		/* URIs are ASCII: CTLs, DEL and raw 8-bit bytes are all
		 * invalid in a request-target. */
		if (c < 0x21 || c > 0x7e)
			return http_fail(ctx, 400, "bad request target");
		i++;
	}
	if (i == target_start)
		return http_fail(ctx, 400, "empty request target");
	if (i == eol)
		return http_fail(ctx, 400, "missing HTTP version");
	req->target.p = buf + target_start;
	req->target.len = i - target_start;

	const char *q = memchr(req->target.p, '?', req->target.len);
	if (q != NULL) {
		req->path.p = req->target.p;
		req->path.len = (size_t)(q - req->target.p);
		req->query.p = q + 1;
		req->query.len = req->target.len - req->path.len - 1;
	} else {
		req->path = req->target;
		req->query.p = req->target.p + req->target.len;
		req->query.len = 0;
	}

	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
	const char *v = buf + i + 1;
	size_t vlen = eol - (i + 1);
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return http_fail(ctx, 400, "bad HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return http_fail(ctx, 505, "HTTP version not supported");
	req->version_minor = v[7] - '0';
	return 0;
}

static int http_parse_content_length(struct http_parse_ctx *ctx, const struct http_slice *value,
				     struct http_request *req)
{
	uint64_t n = 0;

	/* Digits only: no sign, no list. A list of equal values is allowed by
	 * RFC 9110 8.6 but nobody legitimate sends one. */
	if (value->len == 0)
		return http_fail(ctx, 400, "bad Content-Length");
	for (size_t i = 0; i < value->len; i++) {
		unsigned char c = (unsigned char)value->p[i];

		if (c < '0' || c > '9')
			return http_fail(ctx, 400, "bad Content-Length");
		unsigned d = c - '0';
		if (n > (UINT64_MAX - d) / 10)
			return http_fail(ctx, 400, "Content-Length overflow");
		n = n * 10 + d;
	}
	/* Two different lengths mean two parsers may frame the body
	 * differently: refuse rather than pick one. */
	if (ctx->have_content_length && req->content_length != n)
		return http_fail(ctx, 400, "conflicting Content-Length");
	ctx->have_content_length = 1;
	req->content_length = n;
	return 0;
}

/* Connection = #connection-option. Elements we don't know (e.g. "Upgrade"
 * or names of hop-by-hop fields) are none of our business here. */
static void http_parse_connection(struct http_parse_ctx *ctx, const struct http_slice *value)
{
	size_t i = 0;

	while (i < value->len) {
		size_t start, end;

		while (i < value->len &&
		       (http_is_ows((unsigned char)value->p[i]) || value->p[i] == ','))
			i++;
		start = i;
		while (i < value->len && value->p[i] != ',')
			i++;
		end = i;
		while (end > start && http_is_ows((unsigned char)value->p[end - 1]))
			end--;
		if (http_slice_equal_ci(value->p + start, end - start, "close"))
			ctx->connection_close = 1;
		else if (http_slice_equal_ci(value->p + start, end - start, "keep-alive"))
			ctx->connection_keep_alive = 1;
	}
}

/* field-line = field-name ":" OWS field-value OWS */
static int http_parse_field_line(struct http_parse_ctx *ctx, size_t start, size_t eol,
				 struct http_request *req)
{
	const char *buf = ctx->buf;
	size_t i = start;

	/* A line starting with whitespace is obs-fold (or junk between the
	 * request-line and the first field); RFC 9112 5.2 and 2.2 let us
	 * reject both, and joining lines is a smuggling vector. */
	if (http_is_ows((unsigned char)buf[start]))
		return http_fail(ctx, 400, "obsolete line folding");
	if (req->header_count >= HTTP_MAX_HEADERS)
		return http_fail(ctx, 431, "too many header fields");

	while (i < eol && http_is_tchar((unsigned char)buf[i]))
		i++;
	if (i == start)
		return http_fail(ctx, 400, "bad header field name");
	/* Covers "Name :" too, which RFC 9112 5.1 says MUST be rejected. */
	if (i == eol || buf[i] != ':')
		return http_fail(ctx, 400, "bad header field line");
	size_t name_end = i++;

	for (size_t j = i; j < eol; j++) {
		if (!http_is_field_char((unsigned char)buf[j]))
			return http_fail(ctx, 400, "bad header field value");
	}
	while (i < eol && http_is_ows((unsigned char)buf[i]))
		i++;
	size_t value_end = eol;
	while (value_end > i && http_is_ows((unsigned char)buf[value_end - 1]))
		value_end--;

	struct http_header *h = &req->headers[req->header_count++];
	h->name.p = buf + start;
	h->name.len = name_end - start;
	h->value.p = buf + i;
	h->value.len = value_end - i;

	if (http_slice_equal_ci(h->name.p, h->name.len, "content-length"))
		return http_parse_content_length(ctx, &h->value, req);
	if (http_slice_equal_ci(h->name.p, h->name.len, "transfer-encoding"))
		return http_fail(ctx, 501, "Transfer-Encoding not implemented");
	if (http_slice_equal_ci(h->name.p, h->name.len, "connection")) {
		http_parse_connection(ctx, &h->value);
	} else if (http_slice_equal_ci(h->name.p, h->name.len, "host")) {
		/* RFC 9112 3.2: more than one Host MUST get a 400. */
		if (++ctx->host_count > 1)
			return http_fail(ctx, 400, "duplicate Host");
	}
	return 0;
}

/* Turns a line that could not be completed into NEED_MORE, or into 431 when
 * the head already fills HTTP_MAX_HEAD bytes. */
static enum http_parse_result http_line_incomplete(struct http_parse_ctx *ctx, size_t len)
{
	if (len >= HTTP_MAX_HEAD) {
		http_fail(ctx, 431, "request head too large");
		return HTTP_PARSE_ERROR;
	}
	return HTTP_PARSE_NEED_MORE;
}

static enum http_parse_result http_parse_head(struct http_parse_ctx *ctx, size_t len,
					      uint64_t max_body, struct http_request *req)
{
	enum http_line_result lr;
	size_t pos = 0, eol = 0;

	/* RFC 9112 2.2: ignore empty lines before the request-line; clients
	 * send a stray CRLF after a POST body. */
	for (;;) {
		lr = http_next_line(ctx, pos, &eol);
		if (lr == HTTP_LINE_ERROR)
			return HTTP_PARSE_ERROR;
		if (lr == HTTP_LINE_PARTIAL)
			return http_line_incomplete(ctx, len);
		if (eol != pos)
			break;
		pos = eol + 2;
	}
	if (http_parse_request_line(ctx, pos, eol, req) < 0)
		return HTTP_PARSE_ERROR;
	pos = eol + 2;

	for (;;) {
		lr = http_next_line(ctx, pos, &eol);
		if (lr == HTTP_LINE_ERROR)
			return HTTP_PARSE_ERROR;
		if (lr == HTTP_LINE_PARTIAL)
			return http_line_incomplete(ctx, len);
		if (eol == pos)
			break;
		if (http_parse_field_line(ctx, pos, eol, req) < 0)
			return HTTP_PARSE_ERROR;
		pos = eol + 2;
	}
	req->head_len = eol + 2;

	/* RFC 9112 3.2: an HTTP/1.1 request without Host MUST get a 400. */
	if (req->version_minor == 1 && ctx->host_count == 0) {
		http_fail(ctx, 400, "missing Host");
		return HTTP_PARSE_ERROR;
	}
	if (req->content_length > max_body) {
		http_fail(ctx, 413, "Content-Length too large");
		return HTTP_PARSE_ERROR;
	}
	/* close wins over keep-alive: it is the safe reading of a confused
	 * client. */
	if (ctx->connection_close)
		req->keep_alive = 0;
	else if (ctx->connection_keep_alive)
		req->keep_alive = 1;
	else
		req->keep_alive = req->version_minor == 1;
	return HTTP_PARSE_DONE;
}

enum http_parse_result http_parse_request(const char *buf, size_t len, uint64_t max_body,
					  struct http_request *req, int *status_r,
					  const char **error_r)
{
	struct http_parse_ctx ctx;
	enum http_parse_result ret;

	memset(req, 0, sizeof(*req));
	*status_r = 0;
	*error_r = NULL;
	/* buf may be NULL when len is 0; don't form pointers from it. */
	if (len == 0)
		return HTTP_PARSE_NEED_MORE;

	memset(&ctx, 0, sizeof(ctx));
	ctx.buf = buf;
	ctx.window = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	ret = http_parse_head(&ctx, len, max_body, req);
	if (ret == HTTP_PARSE_ERROR) {
		*status_r = ctx.status;
		*error_r = ctx.reason;
	}
	return ret;
}

const struct http_slice *http_request_header(const struct http_request *req, const char *name)
{
	for (unsigned i = 0; i < req->header_count && i < HTTP_MAX_HEADERS; i++) {
		const struct http_header *h = &req->headers[i];

		if (http_slice_equal_ci(h->name.p, h->name.len, name))
			return &h->value;
	}
	return NULL;
}
