/* See health.h. */
#include "lib/health.h"

#include "lib/loop.h"

#include <stdatomic.h>

/* How long one successful heartbeat write vouches for the database. The
 * heartbeat runs every second, so three missed beats turn /health red. */
#define HEALTH_DB_FRESH_MS 3000

static atomic_bool migrated, listeners_up, draining, stopping;
static atomic_llong db_ok_until;
static int64_t started_ms;

__attribute__((constructor)) static void health_init(void)
{
	started_ms = time_now_ms();
}

void health_set_migrated(void)
{
	atomic_store(&migrated, true);
}

void health_set_listeners_up(void)
{
	atomic_store(&listeners_up, true);
}

void health_db_write_ok(void)
{
	atomic_store(&db_ok_until, time_now_ms() + HEALTH_DB_FRESH_MS);
}

void health_db_write_failed(void)
{
	atomic_store(&db_ok_until, 0);
}

void health_set_draining(bool value)
{
	atomic_store(&draining, value);
}

void health_set_stopping(void)
{
	atomic_store(&stopping, true);
}

bool health_migrated(void)
{
	return atomic_load(&migrated);
}

bool health_db_up(void)
{
	return time_now_ms() < atomic_load(&db_ok_until);
}

int health_status(const char **reason_r)
{
	if (atomic_load(&stopping))
		*reason_r = "shutting down";
	else if (!atomic_load(&listeners_up))
		*reason_r = "starting: listeners not up";
	else if (!atomic_load(&migrated))
		*reason_r =
		    health_db_up() ? "starting: migrations pending" : "database unavailable";
	else if (!health_db_up())
		*reason_r = "database unavailable";
	else if (atomic_load(&draining))
		*reason_r = "draining";
	else {
		*reason_r = "ok";
		return 200;
	}
	return 503;
}

double health_uptime_seconds(void)
{
	return (double)(time_now_ms() - started_ms) / 1000.0;
}
