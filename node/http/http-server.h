/* The HTTP/1.1 server session: reads requests with the parser in
 * http-parser.h, looks the path up in a route table and writes the
 * response. Keep-alive is honoured; requests are answered in order. */
#ifndef TEGU_HTTP_SERVER_H
#define TEGU_HTTP_SERVER_H

#include "http/http-parser.h"
#include "lib/strbuf.h"

struct conn;

struct http_response {
	int status;
	const char *content_type;
	struct strbuf body;
};

typedef void http_handler_fn(const struct http_request *req, struct http_response *resp);

struct http_route {
	const char *method; /* "GET" also answers HEAD */
	const char *path;
	http_handler_fn *handler;
};

/* A NULL-path-terminated table, static for the process. */
struct http_routes {
	const struct http_route *routes;
};

/* The listener session function; arg is a struct http_routes *. */
void http_server_session(struct conn *c, void *arg);

const char *http_status_text(int status);

#endif
