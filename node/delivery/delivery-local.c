/* See delivery.h. Exactly once: the entry is deleted, and only if this
 * process still holds its claim, in the transaction that stores the
 * message; a crash before COMMIT leaves the entry to be claimed again
 * when the lease runs out, a crash after it leaves nothing to redo. */
#include "delivery/delivery.h"

#include "directory/directory.h"
#include "lib/arena.h"
#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/health.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/settings.h"
#include "lib/strbuf.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIVERY_POLL_MS     5000
#define DELIVERY_TIMEOUT_MS  60000
#define DELIVERY_RETRY_MIN_S 10
#define DELIVERY_RETRY_MAX_S 900
/* A recipient that vanished between RCPT and delivery waits for the
 * bounce machinery of outbound delivery; until then it is retried hourly. */
#define DELIVERY_GONE_RETRY_S 3600

/* The agents of one worker share this: a notification wakes one of them,
 * and an agent that found work wakes one more, so an idle node spends one
 * claim query per wake-up and a busy one keeps every agent going. */
struct agent {
	char claimer[128];
	struct settings_values *settings;
	struct waitq wakeup;
	bool pending; /* work was announced since the last claim began */
};

static const char claim_sql[] =
    "UPDATE queue_entries SET claimed_by = $1,"
    " claimed_until = now() + make_interval(secs => $3), attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM queue_entries"
    "  WHERE transport = 'local' AND next_attempt_at <= now()"
    "   AND (claimed_until IS NULL OR claimed_until < now())"
    "  ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, message_id, recipient, attempts";

/* Gives the entry back with a later attempt time. */
static void release_entry(struct agent *agent, const char *entry_id, int attempts,
			  const char *error, int delay_s)
{
	if (delay_s == 0) {
		delay_s = DELIVERY_RETRY_MIN_S;
		for (int i = 1; i < attempts && delay_s < DELIVERY_RETRY_MAX_S; i++)
			delay_s *= 2;
		if (delay_s > DELIVERY_RETRY_MAX_S)
			delay_s = DELIVERY_RETRY_MAX_S;
	}
	char delay[16];
	snprintf(delay, sizeof(delay), "%d", delay_s);
	const char *params[] = {entry_id, agent->claimer, error, delay};
	const char *ignored;
	PGresult *res =
	    db_query("UPDATE queue_entries SET claimed_by = NULL, claimed_until = NULL,"
		     " last_error = $3, next_attempt_at = now() + make_interval(secs => $4)"
		     " WHERE id = $1 AND claimed_by = $2",
		     4, params, deadline_after_ms(DELIVERY_TIMEOUT_MS), &ignored);
	PQclear(res);
}

/* The transaction: claim check, store, alias targets outside, cleanup. */
static int deliver(struct agent *agent, const char *entry_id,
		   const struct directory_expansion *expansion, const char **error_r)
{
	int64_t deadline = deadline_after_ms(DELIVERY_TIMEOUT_MS);
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = -1;
	PGresult *results[3] = {NULL, NULL, NULL};
	struct strbuf changed = {0}; /* the INBOXes that got the message */
	const char *entry[] = {entry_id, agent->claimer};
	const struct db_stmt begin[] = {
	    {.sql = "BEGIN"},
	    {.sql = "DELETE FROM queue_entries WHERE id = $1 AND claimed_by = $2"
		    " RETURNING message_id",
	     .nparams = 2,
	     .params = entry,
	     .prepared = true},
	};
	if (db_conn_pipeline(conn, begin, 2, results, deadline, error_r) < 0)
		goto out;
	if (PQntuples(results[1]) == 0) {
		/* Our lease ran out and another agent took the entry. */
		ret = 1;
		goto out;
	}
	const char *message_id = PQgetvalue(results[1], 0, 0);
	if (expansion->user_count > 0 &&
	    store_pg_deliver(conn, strtoll(message_id, NULL, 10), expansion->user_ids,
			     expansion->user_count, &changed, deadline, error_r) < 0)
		goto out;

	struct strbuf external = {0};
	db_text_array(&external, (const char *const *)expansion->external,
		      expansion->external_count);
	const char *outside[] = {message_id, external.data};
	const char *message[] = {message_id};
	const struct db_stmt finish[] = {
	    {.sql = "INSERT INTO queue_entries (message_id, recipient, transport)"
		    " SELECT $1, unnest($2::text[]), 'remote'",
	     .nparams = 2,
	     .params = outside,
	     .prepared = true},
	    {.sql = "DELETE FROM queue_messages q WHERE q.id = $1"
		    " AND NOT EXISTS (SELECT 1 FROM queue_entries e WHERE e.message_id = q.id)",
	     .nparams = 1,
	     .params = message,
	     .prepared = true},
	    {.sql = "COMMIT"},
	};
	PGresult *done[3];
	ret = db_conn_pipeline(conn, finish, 3, done, deadline, error_r);
	for (int i = 0; i < 3; i++)
		PQclear(done[i]);
	strbuf_free(&external);
	if (ret == 0) {
		if (changed.len > 0)
			db_notify_after_commit("mailbox", changed.data);
		if (expansion->external_count > 0)
			db_notify_after_commit("queue", "");
	}
out:
	strbuf_free(&changed);
	for (int i = 0; i < 3; i++)
		PQclear(results[i]);
	db_release(&conn); /* still in a transaction after a failure: dropped, rolled back */
	return ret;
}

static void handle_entry(struct agent *agent, PGresult *claimed, int row)
{
	const char *entry_id = PQgetvalue(claimed, row, 0);
	const char *recipient = PQgetvalue(claimed, row, 2);
	int attempts = atoi(PQgetvalue(claimed, row, 3));
	struct arena *arena = arena_create(1024);
	struct directory_expansion expansion;
	const char *error;
	if (directory_expand(recipient, arena, deadline_after_ms(DELIVERY_TIMEOUT_MS), &expansion,
			     &error) < 0) {
		log_warn("event=delivery_deferred entry=%s rcpt=<%s> error=\"%s\"", entry_id,
			 recipient, error);
		release_entry(agent, entry_id, attempts, error, 0);
	} else if (expansion.user_count == 0 && expansion.external_count == 0) {
		log_warn("event=delivery_deferred entry=%s rcpt=<%s> error=\"recipient no longer "
			 "exists\"",
			 entry_id, recipient);
		release_entry(agent, entry_id, attempts, "recipient no longer exists",
			      DELIVERY_GONE_RETRY_S);
	} else {
		int ret = deliver(agent, entry_id, &expansion, &error);
		if (ret == 0)
			log_info("event=delivered entry=%s rcpt=<%s> mailboxes=%u forwarded=%u",
				 entry_id, recipient, expansion.user_count,
				 expansion.external_count);
		else if (ret == 1)
			log_info("event=delivery_lease_lost entry=%s", entry_id);
		else {
			/* error points into this fiber's buffer: copy before the release query. */
			char cause[256];
			snprintf(cause, sizeof(cause), "%s", error);
			log_warn("event=delivery_deferred entry=%s rcpt=<%s> error=\"%s\"",
				 entry_id, recipient, cause);
			release_entry(agent, entry_id, attempts, cause, 0);
		}
	}
	arena_destroy(&arena);
}

static void on_queue_notify(const char *channel, const char *payload, void *arg)
{
	struct agent *agent = arg;
	(void)channel;
	(void)payload;
	agent->pending = true;
	waitq_wake_one(&agent->wakeup);
}

static void wake_on_stop(void *arg)
{
	struct agent *agent = arg;
	waitq_wake_all(&agent->wakeup);
}

static void agent_fiber(void *arg)
{
	struct agent *agent = arg;
	struct loop *loop = loop_current();
	while (!loop_stopping(loop)) {
		if (!health_migrated()) {
			loop_sleep_ms(200);
			continue;
		}
		char batch[24];
		snprintf(batch, sizeof(batch), "%lld",
			 (long long)settings_get_int(agent->settings, "queueBatchSize"));
		char lease[24];
		snprintf(lease, sizeof(lease), "%lld",
			 (long long)settings_get_int(agent->settings, "queueLeaseSeconds"));
		const char *params[] = {agent->claimer, batch, lease};
		const char *error;
		agent->pending = false;
		PGresult *claimed = db_query_prepared(
		    claim_sql, 3, params, deadline_after_ms(DELIVERY_TIMEOUT_MS), &error);
		if (claimed == NULL) {
			log_debug("event=delivery_claim_failed error=\"%s\"", error);
			loop_sleep_ms(1000);
			continue;
		}
		int rows = PQntuples(claimed);
		if (rows > 0)
			waitq_wake_one(&agent->wakeup);
		for (int row = 0; row < rows && !loop_stopping(loop); row++)
			handle_entry(agent, claimed, row);
		PQclear(claimed);
		if (rows < atoi(batch) && !agent->pending && !loop_stopping(loop))
			waitq_wait(&agent->wakeup, deadline_after_ms(DELIVERY_POLL_MS));
	}
}

/* One per worker, for the life of the process: notifications and stop
 * hooks may name it until the very end. */
#define DELIVERY_MAX_WORKERS	   64
#define DELIVERY_AGENTS_PER_WORKER 4
static struct agent agents[DELIVERY_MAX_WORKERS];
static atomic_uint agents_used;

void delivery_local_start(const char *claimer, struct settings_values *settings)
{
	unsigned index = atomic_fetch_add(&agents_used, 1);
	if (index >= DELIVERY_MAX_WORKERS)
		abort();
	struct agent *agent = &agents[index];
	snprintf(agent->claimer, sizeof(agent->claimer), "%s", claimer);
	agent->settings = settings;
	db_listen_subscribe("queue", on_queue_notify, agent);
	loop_on_stop(loop_current(), wake_on_stop, agent);
	/* Several fibers: each waits on PostgreSQL most of the time, and
	 * concurrent commits share their WAL flush. */
	for (int i = 0; i < DELIVERY_AGENTS_PER_WORKER; i++)
		fiber_spawn("delivery", agent_fiber, agent);
}
