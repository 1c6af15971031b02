/* See cluster.h. */
#include "lib/cluster.h"

#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/health.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/migrate.h"
#include "lib/settings.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEARTBEAT_MS	     1000
#define HEARTBEAT_TIMEOUT_MS 2000
#define SETTINGS_POLL_MS     60000
#define MIGRATE_RETRY_MS     1000

static atomic_long settings_loads;

long cluster_settings_loads(void)
{
	return atomic_load(&settings_loads);
}

struct cluster {
	char *name, *host, *version;
	char id[24];
	struct settings_values *settings;
	struct waitq settings_wakeup;
	bool settings_dirty;
};

int cluster_load_settings(struct settings_values *values, const char **error_r)
{
	PGresult *res = db_query("SELECT name, value FROM settings", 0, NULL,
				 deadline_after_ms(HEARTBEAT_TIMEOUT_MS), error_r);
	if (res == NULL)
		return -1;
	settings_values_reset(values);
	for (int row = 0; row < PQntuples(res); row++) {
		const char *name = PQgetvalue(res, row, 0);
		const char *error;
		if (settings_find(name) == NULL)
			continue; /* written by a newer version of Tegu */
		if (settings_values_set(values, name, PQgetvalue(res, row, 1), &error) < 0)
			log_warn("event=setting_ignored name=%s error=\"%s\"", name, error);
	}
	PQclear(res);
	return 0;
}

static void on_config_notify(const char *channel, const char *payload, void *arg)
{
	struct cluster *cluster = arg;
	(void)channel;
	(void)payload;
	cluster->settings_dirty = true;
	waitq_wake_all(&cluster->settings_wakeup);
}

static void settings_fiber(void *arg)
{
	struct cluster *cluster = arg;
	struct loop *loop = loop_current();
	while (!loop_stopping(loop)) {
		const char *error;
		cluster->settings_dirty = false;
		if (cluster_load_settings(cluster->settings, &error) < 0)
			log_debug("event=settings_load_failed error=\"%s\"", error);
		else {
			atomic_fetch_add(&settings_loads, 1);
			log_debug("event=settings_loaded");
		}
		if (!cluster->settings_dirty)
			waitq_wait(&cluster->settings_wakeup, deadline_after_ms(SETTINGS_POLL_MS));
	}
}

static void wake_settings(void *arg)
{
	struct cluster *cluster = arg;
	waitq_wake_all(&cluster->settings_wakeup);
}

static int register_node(struct cluster *cluster, const char **error_r)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *params[] = {cluster->name, cluster->host, pid, cluster->version};
	PGresult *res = db_query("INSERT INTO nodes (name, host, pid, version)"
				 " VALUES ($1, $2, $3, $4)"
				 " ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host,"
				 " pid = EXCLUDED.pid, version = EXCLUDED.version,"
				 " started_at = now(), heartbeat_at = now(), draining = false,"
				 " stopped_at = NULL"
				 " RETURNING id",
				 4, params, deadline_after_ms(HEARTBEAT_TIMEOUT_MS), error_r);
	if (res == NULL)
		return -1;
	snprintf(cluster->id, sizeof(cluster->id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	log_info("event=node_registered id=%s name=%s", cluster->id, cluster->name);
	return 0;
}

/* Writes the heartbeat and reads the draining flag back. Returns 0, 1 when
 * the row is gone (re-register), -1 on failure. */
static int heartbeat(struct cluster *cluster, const char **error_r)
{
	const char *params[] = {cluster->id};
	PGresult *res = db_query("UPDATE nodes SET heartbeat_at = now(), stopped_at = NULL"
				 " WHERE id = $1 RETURNING draining",
				 1, params, deadline_after_ms(HEARTBEAT_TIMEOUT_MS), error_r);
	if (res == NULL)
		return -1;
	int gone = PQntuples(res) == 0;
	if (!gone)
		health_set_draining(strcmp(PQgetvalue(res, 0, 0), "t") == 0);
	PQclear(res);
	return gone;
}

static void mark_stopped(struct cluster *cluster)
{
	if (cluster->id[0] == '\0')
		return;
	const char *params[] = {cluster->id};
	const char *error;
	PGresult *res = db_query("UPDATE nodes SET stopped_at = now() WHERE id = $1", 1, params,
				 deadline_after_ms(HEARTBEAT_TIMEOUT_MS), &error);
	if (res == NULL)
		log_warn("event=node_unregister_failed error=\"%s\"", error);
	PQclear(res);
}

static void cluster_fiber(void *arg)
{
	struct cluster *cluster = arg;
	struct loop *loop = loop_current();
	const char *error;
	bool db_was_up = true;
	char last_error[256] = "";

	while (!loop_stopping(loop)) {
		int applied = migrate_apply(deadline_after_ms(60000), NULL, NULL, &error);
		if (applied >= 0) {
			health_set_migrated();
			break;
		}
		log_warn("event=migrations_failed error=\"%s\"", error);
		loop_sleep_ms(MIGRATE_RETRY_MS);
	}
	if (!loop_stopping(loop))
		fiber_spawn("settings", settings_fiber, cluster);

	while (!loop_stopping(loop)) {
		int ret = cluster->id[0] ? heartbeat(cluster, &error) : 1;
		if (ret == 1)
			ret = register_node(cluster, &error);
		if (ret == 0) {
			health_db_write_ok();
			if (!db_was_up)
				log_info("event=database_up");
			db_was_up = true;
		} else {
			health_db_write_failed();
			/* Once per outage, and again when the cause changes (lost
			 * connection, then a read-only server, ...). */
			if (db_was_up || strcmp(last_error, error) != 0)
				log_warn("event=database_down error=\"%s\"", error);
			snprintf(last_error, sizeof(last_error), "%s", error);
			db_was_up = false;
		}
		loop_sleep_ms(HEARTBEAT_MS);
	}
	mark_stopped(cluster);
}

/* One per process, never freed: notifications and stop hooks may still
 * name it while the node shuts down. */
static struct cluster the_cluster;

void cluster_start(const struct cluster_identity *identity, struct settings_values *settings)
{
	struct cluster *cluster = &the_cluster;
	if ((cluster->name = strdup(identity->name)) == NULL ||
	    (cluster->host = strdup(identity->host)) == NULL ||
	    (cluster->version = strdup(identity->version)) == NULL)
		abort();
	cluster->settings = settings;
	db_listen_subscribe("config", on_config_notify, cluster);
	loop_on_stop(loop_current(), wake_settings, cluster);
	fiber_spawn("cluster", cluster_fiber, cluster);
}
