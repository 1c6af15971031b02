/* The endpoints HAProxy and Prometheus read: GET /health and GET /metrics. */
#ifndef TEGU_HTTP_STATUS_H
#define TEGU_HTTP_STATUS_H

#include "http/http-server.h"

void http_status_health(const struct http_request *req, struct http_response *resp);
void http_status_metrics(const struct http_request *req, struct http_response *resp);

#endif
