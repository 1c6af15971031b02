/* teguctl, the admin CLI: finds the database through tegu.conf like the
 * node does, and runs one command against it. The command runs in a fiber
 * on a one-thread loop, so it uses the node's own database layer. */
#include "lib/config.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/migrate.h"
#include "lib/settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_TIMEOUT_MS 30000

enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2 };

struct ctl {
	int argc;
	char **argv;
	int result;
};

struct ctl_command {
	const char *name;
	int min_args, max_args;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static int fail(const char *what, const char *error)
{
	fprintf(stderr, "teguctl: %s: %s\n", what, error);
	return CTL_FAILED;
}

static void print_applied(const char *name, void *arg)
{
	(void)arg;
	printf("applied %s\n", name);
}

static void print_status(const char *name, bool applied, void *arg)
{
	(void)arg;
	printf("%s %s\n", name, applied ? "applied" : "pending");
}

static int cmd_migrate(int argc, char **argv)
{
	const char *error;
	int64_t deadline = deadline_after_ms(CTL_TIMEOUT_MS);
	if (argc == 1 && strcmp(argv[0], "--status") == 0)
		return migrate_status(deadline, print_status, NULL, &error) < 0
			   ? fail("migrate", error)
			   : CTL_OK;
	if (argc != 0)
		return CTL_USAGE;
	int applied = migrate_apply(deadline, print_applied, NULL, &error);
	if (applied < 0)
		return fail("migrate", error);
	if (applied == 0)
		printf("up to date\n");
	return CTL_OK;
}

/* The value the cluster runs with: the row, else the default. */
static int cluster_value(const struct setting_def *def, char **value_r, const char **error_r)
{
	const char *params[] = {def->name};
	PGresult *res = db_query("SELECT value FROM settings WHERE name = $1", 1, params,
				 deadline_after_ms(CTL_TIMEOUT_MS), error_r);
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
		return fail("get", error);
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
	    {"INSERT INTO settings (name, value) VALUES ($1, $2)"
	     " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
	     2, upsert},
	    {"SELECT pg_notify('config', $1)", 1, notify},
	};
	PGresult *results[2];
	int result = CTL_OK;
	struct db_conn *conn = db_acquire(deadline_after_ms(CTL_TIMEOUT_MS), &error);
	if (conn == NULL || db_conn_pipeline(conn, stmts, 2, results,
					     deadline_after_ms(CTL_TIMEOUT_MS), &error) < 0)
		result = fail("set", error);
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
	PGresult *res = db_query("SELECT name, value FROM settings", 0, NULL,
				 deadline_after_ms(CTL_TIMEOUT_MS), &error);
	if (res == NULL)
		return fail("dump", error);
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

static int cmd_nodes(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const char *error;
	PGresult *res =
	    db_query("SELECT id, name, host, pid, version,"
		     " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		     " to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		     " CASE WHEN stopped_at IS NOT NULL THEN 'stopped'"
		     "  WHEN heartbeat_at < now() - interval '10 seconds' THEN 'stale'"
		     "  WHEN draining THEN 'draining' ELSE 'alive' END"
		     " FROM nodes ORDER BY name",
		     0, NULL, deadline_after_ms(CTL_TIMEOUT_MS), &error);
	if (res == NULL)
		return fail("nodes", error);
	static const char *const headers[] = {"ID",	 "NAME",    "HOST",	 "PID",
					      "VERSION", "STARTED", "HEARTBEAT", "STATE"};
	enum { COLUMNS = 8 };
	int width[COLUMNS];
	for (int col = 0; col < COLUMNS; col++) {
		width[col] = (int)strlen(headers[col]);
		for (int row = 0; row < PQntuples(res); row++)
			if (PQgetlength(res, row, col) > width[col])
				width[col] = PQgetlength(res, row, col);
	}
	for (int row = -1; row < PQntuples(res); row++) {
		for (int col = 0; col < COLUMNS; col++) {
			const char *cell = row < 0 ? headers[col] : PQgetvalue(res, row, col);
			if (col + 1 < COLUMNS)
				printf("%-*s  ", width[col], cell);
			else
				printf("%s\n", cell);
		}
	}
	PQclear(res);
	return CTL_OK;
}

static int set_draining(const char *name, const char *value)
{
	const char *params[] = {name, value};
	const char *error;
	PGresult *res = db_query("UPDATE nodes SET draining = $2::boolean"
				 " WHERE name = $1 OR id::text = $1 RETURNING name",
				 2, params, deadline_after_ms(CTL_TIMEOUT_MS), &error);
	if (res == NULL)
		return fail("drain", error);
	int found = PQntuples(res);
	PQclear(res);
	if (found == 0) {
		fprintf(stderr, "teguctl: no node named \"%s\" (teguctl nodes lists them)\n", name);
		return CTL_FAILED;
	}
	return CTL_OK;
}

static int cmd_drain(int argc, char **argv)
{
	(void)argc;
	return set_draining(argv[0], "true");
}

static int cmd_undrain(int argc, char **argv)
{
	(void)argc;
	return set_draining(argv[0], "false");
}

static const struct ctl_command commands[] = {
    {"migrate", 0, 1, "migrate [--status]", cmd_migrate},
    {"get", 1, 1, "get KEY", cmd_get},
    {"set", 2, 2, "set KEY VALUE", cmd_set},
    {"dump", 0, 0, "dump", cmd_dump},
    {"nodes", 0, 0, "nodes", cmd_nodes},
    {"drain", 1, 1, "drain NODE", cmd_drain},
    {"undrain", 1, 1, "undrain NODE", cmd_undrain},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: teguctl [-c tegu.conf] COMMAND\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].usage);
}

static void ctl_fiber(void *arg)
{
	struct ctl *ctl = arg;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct ctl_command *cmd = &commands[i];
		if (strcmp(ctl->argv[0], cmd->name) != 0)
			continue;
		int nargs = ctl->argc - 1;
		if (nargs < cmd->min_args || nargs > cmd->max_args) {
			fprintf(stderr, "usage: teguctl %s\n", cmd->usage);
			ctl->result = CTL_USAGE;
			return;
		}
		ctl->result = cmd->run(nargs, ctl->argv + 1);
		if (ctl->result == CTL_USAGE && nargs > 0 && strcmp(cmd->name, "migrate") == 0)
			fprintf(stderr, "usage: teguctl %s\n", cmd->usage);
		return;
	}
	fprintf(stderr, "teguctl: unknown command \"%s\"\n", ctl->argv[0]);
	usage(stderr);
	ctl->result = CTL_USAGE;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int opt;
	static const struct option long_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* '+': options stop at the command, whose own arguments may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+c:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	struct config *config;
	const char *error;
	if (config_load(config_path, false, &config, &error) < 0) {
		fprintf(stderr, "teguctl: %s\n", error);
		return CTL_FAILED;
	}
	log_init(false);
	log_set_min_level(LOG_LEVEL_WARN);
	struct loop *loop = loop_create(0, true);
	struct db_pool *pool = db_pool_create(config->dsn, 1, "teguctl");
	db_pool_set_current(pool);
	struct ctl ctl = {.argc = argc - optind, .argv = argv + optind, .result = CTL_FAILED};
	fiber_spawn("teguctl", ctl_fiber, &ctl);
	loop_run(loop);
	db_pool_destroy(&pool);
	loop_destroy(&loop);
	config_destroy(&config);
	return ctl.result;
}
