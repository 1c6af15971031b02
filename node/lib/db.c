/* See db.h. Every wait is a loop_poll() on libpq's socket, so a fiber
 * waiting for PostgreSQL costs nothing but its stack. */
#include "lib/db.h"

#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/strbuf.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DB_CONNECT_TIMEOUT_MS 5000
#define DB_BACKOFF_MIN_MS     100
#define DB_BACKOFF_MAX_MS     5000
#define DB_MAX_PREPARED	      64
#define DB_MAX_PIPELINE	      32

enum db_conn_state { DB_DOWN, DB_IDLE, DB_BUSY };

struct db_conn {
	PGconn *pg;
	struct db_pool *pool;
	enum db_conn_state state;
	bool failed; /* drop at release */
	int64_t retry_at;
	int backoff_ms;
	char sqlstate[6];
	/* The statements prepared on this connection, by their SQL's address;
	 * statement i is named "t<i>". Forgotten when the connection goes. */
	const char *prepared[DB_MAX_PREPARED];
	unsigned prepared_count;
};

struct db_pool {
	char *dsn;
	char *application_name;
	unsigned size;
	struct db_conn *conns;
	struct waitq waiters;
};

static _Thread_local struct db_pool *current_pool;
static atomic_long stat_state[3];
static atomic_long stat_queries, stat_errors, stat_reconnects;

static void set_state(struct db_conn *conn, enum db_conn_state state)
{
	atomic_fetch_sub(&stat_state[conn->state], 1);
	atomic_fetch_add(&stat_state[state], 1);
	conn->state = state;
}

static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	log_debug("event=db_notice message=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

/* libpq prints server notices to stderr by default. */
void db_quiet_notices(PGconn *pg)
{
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
}

void db_connect_params(const char ***keywords_r, const char ***values_r, const char *dsn,
		       const char *application_name)
{
	/* Defaults first: with expand_dbname the DSN's own settings, expanded
	 * in place of "dbname", come later and win. */
	static const char *keywords[] = {
	    "keepalives",	"keepalives_idle",  "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "connect_timeout",
	    "application_name", "dbname",	    NULL};
	static _Thread_local const char *values[9];
	const char *defaults[] = {"1", "5", "2", "3", "10000", "5"};
	memcpy(values, defaults, sizeof(defaults));
	values[6] = application_name;
	values[7] = dsn;
	values[8] = NULL;
	*keywords_r = keywords;
	*values_r = values;
}

struct db_pool *db_pool_create(const char *dsn, unsigned size, const char *application_name)
{
	struct db_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL || (pool->dsn = strdup(dsn)) == NULL ||
	    (pool->application_name = strdup(application_name)) == NULL ||
	    (pool->conns = calloc(size, sizeof(*pool->conns))) == NULL)
		abort();
	pool->size = size;
	for (unsigned i = 0; i < size; i++) {
		pool->conns[i].pool = pool;
		pool->conns[i].state = DB_DOWN;
		atomic_fetch_add(&stat_state[DB_DOWN], 1);
	}
	return pool;
}

void db_pool_destroy(struct db_pool **poolp)
{
	struct db_pool *pool = *poolp;
	if (pool == NULL)
		return;
	*poolp = NULL;
	for (unsigned i = 0; i < pool->size; i++) {
		if (pool->conns[i].pg)
			PQfinish(pool->conns[i].pg);
		atomic_fetch_sub(&stat_state[pool->conns[i].state], 1);
	}
	if (current_pool == pool)
		current_pool = NULL;
	free(pool->conns);
	free(pool->application_name);
	free(pool->dsn);
	free(pool);
}

void db_pool_set_current(struct db_pool *pool)
{
	current_pool = pool;
}

struct db_pool *db_pool_current(void)
{
	return current_pool;
}

/* libpq's messages end in a newline and may span lines. */
static const char *pg_error(PGconn *pg, const char *prefix)
{
	const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
	const char *text = fiber_error_set("%s%s", prefix, msg);
	char *end = (char *)text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	for (char *p = (char *)text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return text;
}

static int conn_open(struct db_conn *conn, int64_t deadline, const char **error_r)
{
	struct db_pool *pool = conn->pool;
	const char **keywords, **values;
	db_connect_params(&keywords, &values, pool->dsn, pool->application_name);
	int64_t connect_deadline = deadline_after_ms(DB_CONNECT_TIMEOUT_MS);
	if (deadline != 0 && deadline < connect_deadline)
		connect_deadline = deadline;

	PGconn *pg = PQconnectStartParams(keywords, values, 1);
	if (pg == NULL || PQstatus(pg) == CONNECTION_BAD) {
		*error_r = pg_error(pg, "database unavailable: ");
		PQfinish(pg);
		return -1;
	}
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	while (status != PGRES_POLLING_OK) {
		if (status == PGRES_POLLING_FAILED) {
			*error_r = pg_error(pg, "database unavailable: ");
			PQfinish(pg);
			return -1;
		}
		int ret =
		    loop_poll(PQsocket(pg), status == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			      connect_deadline);
		if (ret < 0) {
			*error_r =
			    fiber_error_set("database unavailable: connect: %s", strerror(-ret));
			PQfinish(pg);
			return -1;
		}
		status = PQconnectPoll(pg);
	}
	db_quiet_notices(pg);
	if (PQsetnonblocking(pg, 1) != 0) {
		*error_r = pg_error(pg, "database: ");
		PQfinish(pg);
		return -1;
	}
	conn->pg = pg;
	conn->failed = false;
	conn->backoff_ms = 0;
	conn->prepared_count = 0;
	atomic_fetch_add(&stat_reconnects, 1);
	log_debug("event=db_connected host=%s port=%s", PQhost(pg), PQport(pg));
	return 0;
}

static void conn_drop(struct db_conn *conn)
{
	if (conn->pg) {
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
	conn->backoff_ms = conn->backoff_ms ? conn->backoff_ms * 2 : DB_BACKOFF_MIN_MS;
	if (conn->backoff_ms > DB_BACKOFF_MAX_MS)
		conn->backoff_ms = DB_BACKOFF_MAX_MS;
	conn->retry_at = time_now_ms() + conn->backoff_ms;
	set_state(conn, DB_DOWN);
}

struct db_conn *db_acquire(int64_t deadline, const char **error_r)
{
	struct db_pool *pool = current_pool;
	if (pool == NULL) {
		*error_r = "no database configured";
		return NULL;
	}
	for (;;) {
		struct db_conn *down = NULL;
		bool any_busy = false;
		for (unsigned i = 0; i < pool->size; i++) {
			struct db_conn *conn = &pool->conns[i];
			if (conn->state == DB_IDLE) {
				set_state(conn, DB_BUSY);
				return conn;
			}
			if (conn->state == DB_BUSY)
				any_busy = true;
			else if (down == NULL && conn->retry_at <= time_now_ms())
				down = conn;
		}
		if (down) {
			set_state(down, DB_BUSY); /* reserved while connecting */
			if (conn_open(down, deadline, error_r) == 0)
				return down;
			conn_drop(down);
			waitq_wake_one(&pool->waiters);
			return NULL;
		}
		if (!any_busy) {
			/* Every connection is down and backing off: fail fast. */
			*error_r = "database unavailable (reconnecting)";
			return NULL;
		}
		if (waitq_wait(&pool->waiters, deadline) < 0) {
			*error_r = "database busy: no free connection in time";
			return NULL;
		}
	}
}

void db_release(struct db_conn **connp)
{
	struct db_conn *conn = *connp;
	if (conn == NULL)
		return;
	*connp = NULL;
	/* A connection left inside a transaction would leak it to the next
	 * user; dropping it makes the server roll back. */
	if (conn->failed || conn->pg == NULL || PQstatus(conn->pg) != CONNECTION_OK ||
	    PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
		conn_drop(conn);
		conn->retry_at = time_now_ms(); /* first retry at once */
	} else {
		set_state(conn, DB_IDLE);
	}
	waitq_wake_one(&conn->pool->waiters);
}

/* Marks the connection for dropping when the failure says it is unusable:
 * lost, timed out, or no longer a writable primary. */
static void classify_failure(struct db_conn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(conn->sqlstate, sizeof(conn->sqlstate), "%s", state ? state : "");
	atomic_fetch_add(&stat_errors, 1);
	/* 0A000 includes "cached plan must not change result type": a
	 * migration changed a table under a prepared statement; a new
	 * connection prepares it afresh. */
	if (PQstatus(conn->pg) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "25006") == 0 || strncmp(state, "57P", 3) == 0 ||
	    strcmp(state, "0A000") == 0)
		conn->failed = true;
}

static int wait_socket(struct db_conn *conn, unsigned events, int64_t deadline,
		       const char **error_r)
{
	int ret = loop_poll(PQsocket(conn->pg), events, deadline);
	if (ret < 0) {
		conn->failed = true;
		*error_r = ret == -ETIMEDOUT
			       ? "database: query timed out"
			       : fiber_error_set("database: poll: %s", strerror(-ret));
		return -1;
	}
	return ret;
}

static int flush_out(struct db_conn *conn, int64_t deadline, const char **error_r)
{
	for (;;) {
		int ret = PQflush(conn->pg);
		if (ret == 0)
			return 0;
		if (ret < 0) {
			conn->failed = true;
			*error_r = pg_error(conn->pg, "database: ");
			return -1;
		}
		int ready = wait_socket(conn, POLLOUT | POLLIN, deadline, error_r);
		if (ready < 0)
			return -1;
		if ((ready & POLLIN) && !PQconsumeInput(conn->pg)) {
			conn->failed = true;
			*error_r = pg_error(conn->pg, "database: ");
			return -1;
		}
	}
}

static int wait_result(struct db_conn *conn, int64_t deadline, const char **error_r)
{
	while (PQisBusy(conn->pg)) {
		if (wait_socket(conn, POLLIN, deadline, error_r) < 0)
			return -1;
		if (!PQconsumeInput(conn->pg)) {
			conn->failed = true;
			*error_r = pg_error(conn->pg, "database: ");
			return -1;
		}
	}
	return 0;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static const char *result_error(const PGresult *res)
{
	const char *text = fiber_error_set("%s", PQresultErrorMessage(res));
	char *end = (char *)text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	for (char *p = (char *)text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return text;
}

/* Reads every result of the statement(s) sent; keeps the first failure,
 * else the last result. */
static PGresult *collect(struct db_conn *conn, int64_t deadline, const char **error_r)
{
	PGresult *kept = NULL;
	bool failed = false;
	for (;;) {
		if (wait_result(conn, deadline, error_r) < 0) {
			PQclear(kept);
			return NULL;
		}
		PGresult *res = PQgetResult(conn->pg);
		if (res == NULL)
			break;
		if (failed) {
			PQclear(res);
			continue;
		}
		PQclear(kept);
		kept = res;
		if (!result_ok(res))
			failed = true;
	}
	if (kept == NULL) {
		conn->failed = true;
		*error_r = pg_error(conn->pg, "database: ");
		return NULL;
	}
	if (failed) {
		classify_failure(conn, kept);
		*error_r = result_error(kept);
		PQclear(kept);
		return NULL;
	}
	conn->sqlstate[0] = '\0';
	return kept;
}

PGresult *db_conn_query(struct db_conn *conn, const char *sql, int nparams,
			const char *const *params, int64_t deadline, const char **error_r)
{
	const struct db_stmt stmt = {.sql = sql, .nparams = nparams, .params = params};
	return db_conn_run(conn, &stmt, deadline, error_r);
}

/* The index of stmt among the connection's prepared statements, preparing
 * it first if needed (one round trip, once per connection); -1 when it
 * is not to be prepared or the table is full (then it runs unnamed), -2
 * with *error_r when preparing failed. Outside pipeline mode only. */
static int prepare(struct db_conn *conn, const struct db_stmt *stmt, int64_t deadline,
		   const char **error_r)
{
	if (!stmt->prepared)
		return -1;
	for (unsigned i = 0; i < conn->prepared_count; i++)
		if (conn->prepared[i] == stmt->sql)
			return (int)i;
	if (conn->prepared_count == DB_MAX_PREPARED)
		return -1;
	char name[16];
	snprintf(name, sizeof(name), "t%u", conn->prepared_count);
	if (!PQsendPrepare(conn->pg, name, stmt->sql, stmt->nparams, NULL)) {
		conn->failed = true;
		*error_r = pg_error(conn->pg, "database: ");
		return -2;
	}
	if (flush_out(conn, deadline, error_r) < 0)
		return -2;
	PGresult *res = collect(conn, deadline, error_r);
	if (res == NULL)
		return -2;
	PQclear(res);
	conn->prepared[conn->prepared_count] = stmt->sql;
	return (int)conn->prepared_count++;
}

/* Sends stmt, by name when it is prepared (index >= 0). */
static int send_stmt(struct db_conn *conn, const struct db_stmt *stmt, int index)
{
	int format = stmt->binary_results ? 1 : 0;
	if (index < 0)
		return PQsendQueryParams(conn->pg, stmt->sql, stmt->nparams, NULL, stmt->params,
					 stmt->lengths, stmt->formats, format);
	char name[16];
	snprintf(name, sizeof(name), "t%d", index);
	return PQsendQueryPrepared(conn->pg, name, stmt->nparams, stmt->params, stmt->lengths,
				   stmt->formats, format);
}

PGresult *db_conn_run(struct db_conn *conn, const struct db_stmt *stmt, int64_t deadline,
		      const char **error_r)
{
	atomic_fetch_add(&stat_queries, 1);
	int index = prepare(conn, stmt, deadline, error_r);
	if (index == -2)
		return NULL;
	if (!send_stmt(conn, stmt, index)) {
		conn->failed = true;
		*error_r = pg_error(conn->pg, "database: ");
		return NULL;
	}
	if (flush_out(conn, deadline, error_r) < 0)
		return NULL;
	return collect(conn, deadline, error_r);
}

const char *db_conn_sqlstate(const struct db_conn *conn)
{
	return conn->sqlstate;
}

int db_conn_exec_script(struct db_conn *conn, const char *sql, int64_t deadline,
			const char **error_r)
{
	atomic_fetch_add(&stat_queries, 1);
	if (!PQsendQuery(conn->pg, sql)) {
		conn->failed = true;
		*error_r = pg_error(conn->pg, "database: ");
		return -1;
	}
	if (flush_out(conn, deadline, error_r) < 0)
		return -1;
	PGresult *res = collect(conn, deadline, error_r);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int db_conn_pipeline(struct db_conn *conn, const struct db_stmt *stmts, unsigned n,
		     PGresult **results, int64_t deadline, const char **error_r)
{
	PGconn *pg = conn->pg;
	memset(results, 0, n * sizeof(*results));
	atomic_fetch_add(&stat_queries, n);
	/* Statements past the first DB_MAX_PIPELINE run unnamed (the
	 * notifier's pipelines of NOTIFYs can be long; none is prepared). */
	int names[DB_MAX_PIPELINE];
	for (unsigned i = 0; i < n && i < DB_MAX_PIPELINE; i++)
		if ((names[i] = prepare(conn, &stmts[i], deadline, error_r)) == -2)
			return -1;
	if (!PQenterPipelineMode(pg)) {
		*error_r = pg_error(pg, "database: ");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!send_stmt(conn, &stmts[i], i < DB_MAX_PIPELINE ? names[i] : -1)) {
			conn->failed = true;
			*error_r = pg_error(pg, "database: ");
			return -1;
		}
	}
	if (!PQpipelineSync(pg)) {
		conn->failed = true;
		*error_r = pg_error(pg, "database: ");
		return -1;
	}
	if (flush_out(conn, deadline, error_r) < 0)
		return -1;
	/* Each statement's results end with a NULL; the sync point ends all. */
	const char *first_error = NULL;
	unsigned index = 0;
	for (;;) {
		if (wait_result(conn, deadline, error_r) < 0)
			return -1;
		PGresult *res = PQgetResult(pg);
		if (res == NULL) {
			index++;
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (!result_ok(res) && first_error == NULL &&
		    PQresultStatus(res) != PGRES_PIPELINE_ABORTED) {
			classify_failure(conn, res);
			first_error = result_error(res);
		}
		if (index < n && results[index] == NULL)
			results[index] = res;
		else
			PQclear(res);
	}
	if (!PQexitPipelineMode(pg))
		conn->failed = true;
	for (unsigned i = 0; i < n; i++) {
		if (results[i] && !result_ok(results[i])) {
			PQclear(results[i]);
			results[i] = NULL;
		}
	}
	if (first_error) {
		*error_r = first_error;
		return -1;
	}
	return 0;
}

PGresult *db_query_stmt(const struct db_stmt *stmt, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return NULL;
	PGresult *res = db_conn_run(conn, stmt, deadline, error_r);
	db_release(&conn);
	return res;
}

PGresult *db_query(const char *sql, int nparams, const char *const *params, int64_t deadline,
		   const char **error_r)
{
	const struct db_stmt stmt = {.sql = sql, .nparams = nparams, .params = params};
	return db_query_stmt(&stmt, deadline, error_r);
}

PGresult *db_query_prepared(const char *sql, int nparams, const char *const *params,
			    int64_t deadline, const char **error_r)
{
	const struct db_stmt stmt = {
	    .sql = sql, .nparams = nparams, .params = params, .prepared = true};
	return db_query_stmt(&stmt, deadline, error_r);
}

void db_stats_get(struct db_stats *stats)
{
	stats->idle = atomic_load(&stat_state[DB_IDLE]);
	stats->busy = atomic_load(&stat_state[DB_BUSY]);
	stats->down = atomic_load(&stat_state[DB_DOWN]);
	stats->queries = atomic_load(&stat_queries);
	stats->errors = atomic_load(&stat_errors);
	stats->reconnects = atomic_load(&stat_reconnects);
}

void db_text_array(struct strbuf *out, const char *const *items, unsigned n)
{
	strbuf_append(out, "{", 1);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			strbuf_append(out, ",", 1);
		if (items[i] == NULL) {
			strbuf_append(out, "NULL", 4);
			continue;
		}
		/* Quoted always, so "NULL", spaces, commas and braces stay data. */
		strbuf_append(out, "\"", 1);
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_append(out, "\\", 1);
			strbuf_append(out, p, 1);
		}
		strbuf_append(out, "\"", 1);
	}
	strbuf_append(out, "}", 1);
}
