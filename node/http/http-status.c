/* See http-status.h. /metrics is the Prometheus text exposition format
 * (version 0.0.4): a HELP and TYPE line per family, then samples. */
#include "http/http-status.h"

#include "lib/cluster.h"
#include "lib/db.h"
#include "lib/health.h"
#include "lib/listener.h"

void http_status_health(const struct http_request *req, struct http_response *resp)
{
	(void)req;
	const char *reason;
	resp->status = health_status(&reason);
	resp->content_type = "text/plain; charset=utf-8";
	strbuf_appendf(&resp->body, "%s\n", reason);
}

static void family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void listener_active(const char *name, const struct listener_stats *stats, void *arg)
{
	strbuf_appendf(arg, "tegu_connections_active{listener=\"%s\"} %ld\n", name,
		       atomic_load(&stats->active));
}

static void listener_total(const char *name, const struct listener_stats *stats, void *arg)
{
	strbuf_appendf(arg, "tegu_connections_total{listener=\"%s\"} %ld\n", name,
		       atomic_load(&stats->total));
}

void http_status_metrics(const struct http_request *req, struct http_response *resp)
{
	(void)req;
	struct strbuf *out = &resp->body;
	const char *reason;
	struct db_stats db;
	db_stats_get(&db);
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";

	family(out, "tegu_up", "gauge", "1 when /health answers 200.");
	strbuf_appendf(out, "tegu_up %d\n", health_status(&reason) == 200);
	family(out, "tegu_uptime_seconds", "gauge", "Seconds since the node started.");
	strbuf_appendf(out, "tegu_uptime_seconds %.3f\n", health_uptime_seconds());
	family(out, "tegu_db_up", "gauge", "1 when the database took a write in the last seconds.");
	strbuf_appendf(out, "tegu_db_up %d\n", health_db_up());
	family(out, "tegu_db_pool_connections", "gauge", "Database pool connections by state.");
	strbuf_appendf(out, "tegu_db_pool_connections{state=\"idle\"} %ld\n", db.idle);
	strbuf_appendf(out, "tegu_db_pool_connections{state=\"busy\"} %ld\n", db.busy);
	strbuf_appendf(out, "tegu_db_pool_connections{state=\"down\"} %ld\n", db.down);
	family(out, "tegu_db_queries_total", "counter", "Statements sent to the database.");
	strbuf_appendf(out, "tegu_db_queries_total %ld\n", db.queries);
	family(out, "tegu_db_errors_total", "counter", "Statements that failed.");
	strbuf_appendf(out, "tegu_db_errors_total %ld\n", db.errors);
	family(out, "tegu_db_connects_total", "counter", "Database connections opened.");
	strbuf_appendf(out, "tegu_db_connects_total %ld\n", db.reconnects);
	family(out, "tegu_settings_loads_total", "counter",
	       "Times the cluster settings were read (start, NOTIFY config, slow poll).");
	strbuf_appendf(out, "tegu_settings_loads_total %ld\n", cluster_settings_loads());
	family(out, "tegu_connections_active", "gauge", "Open client connections by listener.");
	listener_stats_each(listener_active, out);
	family(out, "tegu_connections_total", "counter", "Accepted connections by listener.");
	listener_stats_each(listener_total, out);
}
