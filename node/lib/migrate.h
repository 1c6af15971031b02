/* Schema migrations: migrations/NNNN_name.sql, compiled into the binary,
 * applied in name order, each in its own transaction and recorded in
 * schema_migrations. The whole run holds a PostgreSQL advisory lock, so
 * nodes starting together apply each migration exactly once: the others
 * wait, then find nothing left to do. */
#ifndef TEGU_MIGRATE_H
#define TEGU_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

struct migration {
	const char *name; /* file name without .sql */
	const char *sql;
};

extern const struct migration migrations_embedded[];
extern const unsigned migrations_embedded_count;

/* Called once per migration applied, for the caller to report. */
typedef void migrate_report_fn(const char *name, void *arg);

/* Applies all pending migrations through the current worker's pool.
 * Returns the number applied, or -1 with *error_r. */
int migrate_apply(int64_t deadline, migrate_report_fn *report, void *arg, const char **error_r);

/* Calls fn for each embedded migration with whether it is applied.
 * Returns 0 or -1 with *error_r. */
int migrate_status(int64_t deadline, void (*fn)(const char *name, bool applied, void *arg),
		   void *arg, const char **error_r);

#endif
