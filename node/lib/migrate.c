/* See migrate.h. */
#include "lib/migrate.h"

#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed number unique to Tegu; "tegu" in ASCII. */
#define MIGRATE_LOCK_KEY "1952802677"

static const char ledger_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				 " name text PRIMARY KEY,"
				 " applied_at timestamptz NOT NULL DEFAULT now())";

static bool is_applied(PGresult *applied, const char *name)
{
	for (int row = 0; row < PQntuples(applied); row++)
		if (strcmp(PQgetvalue(applied, row, 0), name) == 0)
			return true;
	return false;
}

static int apply_one(struct db_conn *conn, const struct migration *m, int64_t deadline,
		     const char **error_r)
{
	const char *params[] = {m->name};
	PGresult *res;
	if (db_conn_exec_script(conn, "BEGIN", deadline, error_r) < 0)
		return -1;
	if (db_conn_exec_script(conn, m->sql, deadline, error_r) < 0 ||
	    (res = db_conn_query(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1,
				 params, deadline, error_r)) == NULL) {
		const char *ignored;
		db_conn_exec_script(conn, "ROLLBACK", deadline, &ignored);
		return -1;
	}
	PQclear(res);
	return db_conn_exec_script(conn, "COMMIT", deadline, error_r);
}

int migrate_apply(int64_t deadline, migrate_report_fn *report, void *arg, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int applied_count = -1;
	PGresult *applied = NULL;
	/* Session-level lock: released explicitly, or by the server if we die. */
	PGresult *res = db_conn_query(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0,
				      NULL, deadline, error_r);
	if (res == NULL)
		goto out;
	PQclear(res);
	/* CREATE TABLE IF NOT EXISTS may still race without the lock held. */
	if (db_conn_exec_script(conn, ledger_sql, deadline, error_r) < 0)
		goto unlock;
	applied =
	    db_conn_query(conn, "SELECT name FROM schema_migrations", 0, NULL, deadline, error_r);
	if (applied == NULL)
		goto unlock;
	applied_count = 0;
	for (unsigned i = 0; i < migrations_embedded_count; i++) {
		const struct migration *m = &migrations_embedded[i];
		if (is_applied(applied, m->name))
			continue;
		if (apply_one(conn, m, deadline, error_r) < 0) {
			char cause[200];
			snprintf(cause, sizeof(cause), "%s", *error_r);
			*error_r = fiber_error_set("migration %s: %s", m->name, cause);
			applied_count = -1;
			break;
		}
		log_info("event=migration_applied name=%s", m->name);
		if (report)
			report(m->name, arg);
		applied_count++;
	}
unlock:
	PQclear(applied);
	const char *ignored;
	res = db_conn_query(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL,
			    deadline, &ignored);
	PQclear(res);
out:
	db_release(&conn);
	return applied_count;
}

int migrate_status(int64_t deadline, void (*fn)(const char *name, bool applied, void *arg),
		   void *arg, const char **error_r)
{
	PGresult *exists = db_query("SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
				    deadline, error_r);
	if (exists == NULL)
		return -1;
	bool has_ledger = strcmp(PQgetvalue(exists, 0, 0), "t") == 0;
	PQclear(exists);
	PGresult *applied = NULL;
	if (has_ledger) {
		applied =
		    db_query("SELECT name FROM schema_migrations", 0, NULL, deadline, error_r);
		if (applied == NULL)
			return -1;
	}
	for (unsigned i = 0; i < migrations_embedded_count; i++) {
		const char *name = migrations_embedded[i].name;
		fn(name, applied && is_applied(applied, name), arg);
	}
	PQclear(applied);
	return 0;
}
