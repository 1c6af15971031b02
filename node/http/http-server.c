/* See http-server.h. */
#include "http/http-server.h"

#include "lib/conn.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_KEEPALIVE_MS 60000
#define HTTP_REQUEST_MS	  30000
#define HTTP_MAX_BODY	  (1024 * 1024)

const char *http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static bool slice_is(const struct http_slice *s, const char *text)
{
	size_t len = strlen(text);
	return s->len == len && memcmp(s->p, text, len) == 0;
}

static void route(const struct http_routes *routes, const struct http_request *req,
		  struct http_response *resp)
{
	bool path_found = false;
	for (const struct http_route *r = routes->routes; r->path; r++) {
		if (!slice_is(&req->path, r->path))
			continue;
		path_found = true;
		if (slice_is(&req->method, r->method) ||
		    (strcmp(r->method, "GET") == 0 && slice_is(&req->method, "HEAD"))) {
			r->handler(req, resp);
			return;
		}
	}
	resp->status = path_found ? 405 : 404;
	resp->content_type = "text/plain; charset=utf-8";
	strbuf_appendf(&resp->body, "%s\n", http_status_text(resp->status));
}

static int send_response(struct conn *c, const struct http_response *resp, bool head_only,
			 bool keep_alive)
{
	char head[512];
	int len = snprintf(head, sizeof(head),
			   "HTTP/1.1 %d %s\r\n"
			   "Content-Type: %s\r\n"
			   "Content-Length: %zu\r\n"
			   "Cache-Control: no-store\r\n"
			   "Connection: %s\r\n\r\n",
			   resp->status, http_status_text(resp->status),
			   resp->content_type ? resp->content_type : "text/plain; charset=utf-8",
			   resp->body.len, keep_alive ? "keep-alive" : "close");
	int64_t deadline = deadline_after_ms(HTTP_REQUEST_MS);
	int ret = conn_write(c, head, (size_t)len, deadline);
	if (ret == 0 && !head_only && resp->body.len > 0)
		ret = conn_write(c, resp->body.data, resp->body.len, deadline);
	return ret;
}

static void send_error(struct conn *c, int status, const char *reason)
{
	struct http_response resp = {.status = status};
	strbuf_appendf(&resp.body, "%s\n", reason);
	send_response(c, &resp, false, false);
	strbuf_free(&resp.body);
}

/* Drops a request body we do not use, so the next request can be read. */
static int discard_body(struct conn *c, uint64_t length)
{
	char sink[4096];
	int64_t deadline = deadline_after_ms(HTTP_REQUEST_MS);
	while (length > 0) {
		int n = conn_read(c, sink, length < sizeof(sink) ? (size_t)length : sizeof(sink),
				  deadline);
		if (n <= 0)
			return -1;
		length -= (uint64_t)n;
	}
	return 0;
}

void http_server_session(struct conn *c, void *arg)
{
	const struct http_routes *routes = arg;
	struct loop *loop = loop_current();
	for (;;) {
		struct http_request req;
		int status = 0;
		const char *error = NULL;
		enum http_parse_result parsed;
		int64_t deadline = deadline_after_ms(HTTP_KEEPALIVE_MS);
		for (;;) {
			parsed = http_parse_request(conn_buffer(c), conn_buffered(c), HTTP_MAX_BODY,
						    &req, &status, &error);
			if (parsed != HTTP_PARSE_NEED_MORE)
				break;
			/* Between requests the node may close us at once when stopping. */
			c->idle = conn_buffered(c) == 0;
			if (c->idle && loop_stopping(loop))
				return;
			int n = conn_fill(c, HTTP_MAX_HEAD, deadline);
			c->idle = false;
			if (n == -EMSGSIZE) {
				parsed = HTTP_PARSE_ERROR;
				status = 431;
				error = "request head too large";
				break;
			}
			if (n == -ETIMEDOUT && conn_buffered(c) > 0) {
				send_error(c, 408, "request timeout");
				return;
			}
			if (n <= 0)
				return;
			if (conn_buffered(c) == (size_t)n)
				deadline = deadline_after_ms(HTTP_REQUEST_MS);
		}
		if (parsed == HTTP_PARSE_ERROR) {
			log_debug("event=http_bad_request conn=%lu peer=%s status=%d error=\"%s\"",
				  (unsigned long)c->id, c->peer_text, status, error);
			send_error(c, status, error);
			return;
		}
		struct http_response resp = {.status = 200};
		route(routes, &req, &resp);
		bool keep_alive = req.keep_alive && !loop_stopping(loop);
		bool head_only = slice_is(&req.method, "HEAD");
		log_debug("event=http_request conn=%lu peer=%s method=%.*s path=%.*s status=%d",
			  (unsigned long)c->id, c->peer_text, (int)req.method.len, req.method.p,
			  (int)req.path.len, req.path.p, resp.status);
		int ret = send_response(c, &resp, head_only, keep_alive);
		strbuf_free(&resp.body);
		uint64_t body = req.content_length;
		conn_consume(c, req.head_len);
		if (ret < 0 || !keep_alive || discard_body(c, body) < 0)
			return;
	}
}
