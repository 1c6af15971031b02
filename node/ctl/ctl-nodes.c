/* teguctl nodes, drain and undrain: the cluster's members. */
#include "ctl/ctl.h"

#include "lib/db.h"

#include <stdio.h>
#include <string.h>

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
		     0, NULL, ctl_deadline(), &error);
	if (res == NULL)
		return ctl_fail("nodes", error);
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
				 2, params, ctl_deadline(), &error);
	if (res == NULL)
		return ctl_fail("drain", error);
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

const struct ctl_command ctl_nodes_commands[] = {
    {"nodes", 0, 0, "", "list the nodes: id, name, host, pid, version, started, heartbeat, state",
     cmd_nodes},
    {"drain", 1, 1, "NODE", "make NODE's /health answer 503 draining", cmd_drain},
    {"undrain", 1, 1, "NODE", "let NODE take traffic again", cmd_undrain},
    {NULL, 0, 0, NULL, NULL, NULL},
};
