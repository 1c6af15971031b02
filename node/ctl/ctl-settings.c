/* teguctl get, set and dump: the cluster-wide settings of settings.c. */
#include "ctl/ctl.h"

#include "lib/db.h"
#include "lib/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value the cluster runs with: the row, else the default. */
static int cluster_value(const struct setting_def *def, char **value_r, const char **error_r)
{
	const char *params[] = {def->name};
	PGresult *res = db_query("SELECT value FROM settings WHERE name = $1", 1, params,
				 ctl_deadline(), error_r);
	if (res == NULL)
		return -1;
	*value_r = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : def->default_value);
	PQclear(res);
	if (*value_r == NULL)
		abort();
	return 0;
}

static const struct setting_def *find_setting(const char *name)
{
	const struct setting_def *def = settings_find(name);
	if (def == NULL)
		fprintf(stderr, "teguctl: unknown setting \"%s\" (teguctl dump lists them)\n",
			name);
	return def;
}

static int cmd_get(int argc, char **argv)
{
	(void)argc;
	const struct setting_def *def = find_setting(argv[0]);
	if (def == NULL)
		return CTL_USAGE;
	char *value;
	const char *error;
	if (cluster_value(def, &value, &error) < 0)
		return ctl_fail("get", error);
	printf("%s\n", value);
	free(value);
	return CTL_OK;
}

static int cmd_set(int argc, char **argv)
{
	(void)argc;
	const struct setting_def *def = find_setting(argv[0]);
	if (def == NULL)
		return CTL_USAGE;
	char *value;
	const char *error;
	if (settings_normalize(def, argv[1], &value, &error) < 0) {
		fprintf(stderr, "teguctl: invalid value for %s: %s\n", def->name, error);
		return CTL_USAGE;
	}
	/* One pipeline, one implicit transaction: the row and the wake-up of
	 * every node's settings reader commit together. */
	const char *upsert[] = {def->name, value};
	const char *notify[] = {def->name};
	const struct db_stmt stmts[] = {
	    {.sql = "INSERT INTO settings (name, value) VALUES ($1, $2)"
		    " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
	     .nparams = 2,
	     .params = upsert},
	    {.sql = "SELECT pg_notify('config', $1)", .nparams = 1, .params = notify},
	};
	PGresult *results[2];
	int result = CTL_OK;
	struct db_conn *conn = db_acquire(ctl_deadline(), &error);
	if (conn == NULL || db_conn_pipeline(conn, stmts, 2, results, ctl_deadline(), &error) < 0)
		result = ctl_fail("set", error);
	if (conn) {
		PQclear(results[0]);
		PQclear(results[1]);
	}
	db_release(&conn);
	free(value);
	return result;
}

static int cmd_dump(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const char *error;
	PGresult *res =
	    db_query("SELECT name, value FROM settings", 0, NULL, ctl_deadline(), &error);
	if (res == NULL)
		return ctl_fail("dump", error);
	for (unsigned i = 0; i < settings_count; i++) {
		const struct setting_def *def = &settings_table[i];
		const char *value = def->default_value;
		for (int row = 0; row < PQntuples(res); row++)
			if (strcmp(PQgetvalue(res, row, 0), def->name) == 0)
				value = PQgetvalue(res, row, 1);
		printf("%s = ", def->name);
		for (const char *p = value; *p; p++) {
			if (*p == '\n')
				fputs(p[1] ? ", " : "", stdout);
			else
				putchar(*p);
		}
		putchar('\n');
	}
	PQclear(res);
	return CTL_OK;
}

const struct ctl_command ctl_settings_commands[] = {
    {"get", 1, 1, "KEY", "print a setting's cluster value", cmd_get},
    {"set", 2, 2, "KEY VALUE", "store a setting for the whole cluster", cmd_set},
    {"dump", 0, 0, "", "print every setting as name = value", cmd_dump},
    {NULL, 0, 0, NULL, NULL, NULL},
};
