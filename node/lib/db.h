/* The PostgreSQL client: libpq in non-blocking mode, its socket watched by
 * the loop's io_uring, a small pool of connections per worker.
 *
 * A connection that fails (lost, timed out, or the server says it is now
 * read-only: SQLSTATE 25006 from a demoted primary) is dropped and
 * reconnected through the DSN, which may list several hosts with
 * target_session_attrs=read-write. Reconnects back off up to a few
 * seconds; meanwhile calls fail at once with "database unavailable"
 * rather than wait, so the node keeps serving what it can.
 *
 * Statements are always parameterized: never build SQL from input.
 * Results are libpq's PGresult; callers PQclear() them.
 */
#ifndef TEGU_DB_H
#define TEGU_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct db_pool;
struct db_conn;

/* A statement of a pipeline. */
struct db_stmt {
	const char *sql;
	int nparams;
	const char *const *params; /* NULL for SQL NULL */
	/* Both NULL: every parameter is text. Otherwise formats[i] 1 marks
	 * params[i] as binary (bytea) of lengths[i] octets. */
	const int *lengths;
	const int *formats;
	/* Results in binary: bytea comes as its octets, text as itself, other
	 * types in their binary form (select them ::text to read them). */
	bool binary_results;
	/* Prepared once per connection and then executed by name, which saves
	 * the server parsing and planning it every time. Only for sql that is
	 * a constant: the statement is known by the pointer. */
	bool prepared;
};

/* Appends a PostgreSQL array literal of items (NULL items are SQL NULL)
 * to out, for a text parameter cast to text[]: {"a","b\\"c"}. */
struct strbuf;
void db_text_array(struct strbuf *out, const char *const *items, unsigned n);

/* The connection parameters every connection adds to the DSN (which may
 * override them): keepalives and tcp_user_timeout, so a vanished primary
 * is noticed in seconds. */
void db_connect_params(const char ***keywords_r, const char ***values_r, const char *dsn,
		       const char *application_name);

/* Sends the server's NOTICE messages to the debug log instead of stderr. */
void db_quiet_notices(PGconn *pg);

struct db_pool *db_pool_create(const char *dsn, unsigned size, const char *application_name);
void db_pool_destroy(struct db_pool **pool);
/* The pool of the calling thread's worker. */
void db_pool_set_current(struct db_pool *pool);
struct db_pool *db_pool_current(void);

/* Takes a connection from the current pool, connecting one if needed.
 * Returns NULL with *error_r when the database cannot be reached. */
struct db_conn *db_acquire(int64_t deadline, const char **error_r);
/* Returns it to the pool (dropping it if it failed). */
void db_release(struct db_conn **conn);

/* One statement on a held connection. Returns a result with status
 * COMMAND_OK or TUPLES_OK, or NULL with *error_r (the server's message);
 * *sqlstate_r (may be NULL) gets the SQLSTATE or "" for client errors. */
PGresult *db_conn_query(struct db_conn *conn, const char *sql, int nparams,
			const char *const *params, int64_t deadline, const char **error_r);
const char *db_conn_sqlstate(const struct db_conn *conn);
/* Several statements (simple query protocol, no parameters): scripts such
 * as migrations. Returns 0 or -1 with *error_r. */
int db_conn_exec_script(struct db_conn *conn, const char *sql, int64_t deadline,
			const char **error_r);
/* Sends all statements in pipeline mode with one sync and collects one
 * result per statement into results[] (all NULL on failure). Returns 0 when
 * every statement succeeded, -1 otherwise with *error_r; results of the
 * statements that ran are still filled (PQclear them). */
int db_conn_pipeline(struct db_conn *conn, const struct db_stmt *stmts, unsigned n,
		     PGresult **results, int64_t deadline, const char **error_r);

/* One statement given as a db_stmt (binary parameters allowed). */
PGresult *db_conn_run(struct db_conn *conn, const struct db_stmt *stmt, int64_t deadline,
		      const char **error_r);

/* acquire + run + release, for a db_stmt. */
PGresult *db_query_stmt(const struct db_stmt *stmt, int64_t deadline, const char **error_r);

/* acquire + query + release. */
PGresult *db_query(const char *sql, int nparams, const char *const *params, int64_t deadline,
		   const char **error_r);
/* The same for a constant sql, prepared (see db_stmt.prepared). */
PGresult *db_query_prepared(const char *sql, int nparams, const char *const *params,
			    int64_t deadline, const char **error_r);

/* Pool figures for /metrics, summed over all pools of the process. */
struct db_stats {
	long idle, busy, down;
	long queries, errors, reconnects;
};
void db_stats_get(struct db_stats *stats);

#endif
