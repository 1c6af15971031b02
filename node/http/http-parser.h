/* HTTP/1.1 request head parser (RFC 9112 section 2-5), pure and incremental.
 *
 * The parser takes the bytes received so far and says "need more", "done"
 * or "error"; it does no I/O and never allocates: the request's method,
 * target and header fields point into the caller's buffer, which must stay
 * unchanged while the request is used. Bodies are not parsed here: the
 * caller reads Content-Length bytes after the head (chunked request bodies
 * are refused with 501 for now).
 */
#ifndef TEGU_HTTP_PARSER_H
#define TEGU_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD	 8192 /* request line + all header lines, bytes */
#define HTTP_MAX_HEADERS 64

struct http_slice {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_slice name;	 /* as sent; compare case-insensitively */
	struct http_slice value; /* leading/trailing OWS removed */
};

struct http_request {
	struct http_slice method;
	struct http_slice target; /* request-target as sent */
	struct http_slice path;	  /* target up to '?' */
	struct http_slice query;  /* after '?', empty if none */
	int version_minor;	  /* HTTP/1.<minor>; only 1.0 and 1.1 accepted */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned header_count;
	uint64_t content_length; /* 0 when absent */
	int keep_alive;		 /* 1.1 default on, 1.0 default off, Connection header decides */
	size_t head_len;	 /* bytes of the head, including the final CRLF CRLF */
};

enum http_parse_result {
	HTTP_PARSE_DONE = 0,
	HTTP_PARSE_NEED_MORE = 1,
	HTTP_PARSE_ERROR = -1,
};

/* Parses the request head at the start of buf[0..len). Returns DONE and
 * fills *req, NEED_MORE when the head is not complete yet (and len is still
 * under HTTP_MAX_HEAD), or ERROR with *status_r set to the status to answer
 * (400 bad syntax, 431 head too large or too many fields, 505 version,
 * 501 Transfer-Encoding, 413 when Content-Length is over max_body) and
 * *error_r to a short static reason. */
enum http_parse_result http_parse_request(const char *buf, size_t len, uint64_t max_body,
					  struct http_request *req, int *status_r,
					  const char **error_r);

/* Returns the value of the first header field named name (case-insensitive),
 * or NULL. */
const struct http_slice *http_request_header(const struct http_request *req, const char *name);

#endif
