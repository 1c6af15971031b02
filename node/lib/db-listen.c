/* See db-listen.h. The connection is a plain libpq one in non-blocking
 * mode; it runs no queries besides LISTEN, so it is not taken from the
 * pool. Losing it is noticed through TCP keepalives or the server's
 * termination message; then the fiber reconnects with backoff. */
#include "lib/db-listen.h"

#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_BACKOFF_MAX_MS 5000
#define LISTEN_POLL_MS	      1000

struct subscriber {
	const char *channel;
	db_notify_fn *fn;
	void *arg;
	struct loop *loop;
	struct subscriber *next;
};

static pthread_mutex_t subscribers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct subscriber *subscribers;
static bool listening_changed; /* a subscription came after LISTEN ran */

/* One allocation, so a message still queued when its loop is destroyed
 * is freed whole. */
struct notify_msg {
	struct loop_msg base;
	struct subscriber *sub;
	bool poll;
	char payload[];
};

static void notify_deliver(struct loop_msg *msg)
{
	struct notify_msg *n = (struct notify_msg *)msg;
	n->sub->fn(n->sub->channel, n->poll ? NULL : n->payload, n->sub->arg);
	free(n);
}

static void dispatch(const char *channel, const char *payload)
{
	pthread_mutex_lock(&subscribers_lock);
	for (struct subscriber *sub = subscribers; sub; sub = sub->next) {
		if (channel && strcmp(sub->channel, channel) != 0)
			continue;
		size_t len = payload ? strlen(payload) : 0;
		struct notify_msg *n = calloc(1, sizeof(*n) + len + 1);
		if (n == NULL)
			abort();
		n->poll = payload == NULL;
		if (payload)
			memcpy(n->payload, payload, len);
		n->base.fn = notify_deliver;
		n->sub = sub;
		loop_post(sub->loop, &n->base);
	}
	pthread_mutex_unlock(&subscribers_lock);
}

void db_listen_subscribe(const char *channel, db_notify_fn *fn, void *arg)
{
	struct subscriber *sub = calloc(1, sizeof(*sub));
	if (sub == NULL)
		abort();
	sub->channel = channel;
	sub->fn = fn;
	sub->arg = arg;
	sub->loop = loop_current();
	pthread_mutex_lock(&subscribers_lock);
	sub->next = subscribers;
	subscribers = sub;
	listening_changed = true;
	pthread_mutex_unlock(&subscribers_lock);
}

void db_listen_cleanup(void)
{
	pthread_mutex_lock(&subscribers_lock);
	while (subscribers) {
		struct subscriber *next = subscribers->next;
		free(subscribers);
		subscribers = next;
	}
	pthread_mutex_unlock(&subscribers_lock);
}

struct listen_job {
	char *dsn;
	char *application_name;
};

static PGconn *listen_connect(struct listen_job *job)
{
	const char **keywords, **values;
	db_connect_params(&keywords, &values, job->dsn, job->application_name);
	PGconn *pg = PQconnectStartParams(keywords, values, 1);
	if (pg == NULL)
		abort();
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	int64_t deadline = deadline_after_ms(5000);
	while (PQstatus(pg) != CONNECTION_BAD && status != PGRES_POLLING_OK &&
	       status != PGRES_POLLING_FAILED) {
		if (loop_poll(PQsocket(pg), status == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			      deadline) < 0)
			break;
		status = PQconnectPoll(pg);
	}
	if (status == PGRES_POLLING_OK)
		db_quiet_notices(pg);
	if (status != PGRES_POLLING_OK || PQsetnonblocking(pg, 1) != 0) {
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Sends "LISTEN x; LISTEN y" for every subscribed channel and waits for
 * the answer. Channel names are our own constants, not input. */
static bool listen_all(PGconn *pg)
{
	char sql[1024] = "";
	size_t used = 0;
	pthread_mutex_lock(&subscribers_lock);
	for (struct subscriber *sub = subscribers; sub; sub = sub->next) {
		int n = snprintf(sql + used, sizeof(sql) - used, "LISTEN \"%s\";", sub->channel);
		if (n < 0 || (size_t)n >= sizeof(sql) - used)
			abort();
		used += (size_t)n;
	}
	listening_changed = false;
	pthread_mutex_unlock(&subscribers_lock);
	if (used == 0 || !PQsendQuery(pg, sql))
		return used == 0;
	int64_t deadline = deadline_after_ms(5000);
	bool ok = true;
	for (;;) {
		while (PQflush(pg) == 1 || PQisBusy(pg)) {
			if (loop_poll(PQsocket(pg), POLLIN | POLLOUT, deadline) < 0 ||
			    !PQconsumeInput(pg))
				return false;
		}
		PGresult *res = PQgetResult(pg);
		if (res == NULL)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = false;
		PQclear(res);
	}
	return ok;
}

static void listen_fiber(void *arg)
{
	struct listen_job *job = arg;
	struct loop *loop = loop_current();
	int backoff = 0;
	while (!loop_stopping(loop)) {
		PGconn *pg = listen_connect(job);
		if (pg == NULL || !listen_all(pg)) {
			if (pg)
				PQfinish(pg);
			backoff = backoff ? backoff * 2 : 200;
			if (backoff > LISTEN_BACKOFF_MAX_MS)
				backoff = LISTEN_BACKOFF_MAX_MS;
			loop_sleep_ms(backoff);
			continue;
		}
		backoff = 0;
		log_debug("event=db_listen_connected");
		dispatch(NULL, NULL);
		while (!loop_stopping(loop)) {
			int ready =
			    loop_poll(PQsocket(pg), POLLIN, deadline_after_ms(LISTEN_POLL_MS));
			if (ready == -ETIMEDOUT) {
				if (listening_changed && !listen_all(pg))
					break;
				continue;
			}
			if (ready < 0 || !PQconsumeInput(pg))
				break;
			PGnotify *note;
			while ((note = PQnotifies(pg)) != NULL) {
				log_debug("event=db_notify channel=%s", note->relname);
				dispatch(note->relname, note->extra ? note->extra : "");
				PQfreemem(note);
			}
			if (PQstatus(pg) != CONNECTION_OK)
				break;
		}
		if (!loop_stopping(loop))
			log_warn("event=db_listen_lost");
		PQfinish(pg);
	}
	free(job->application_name);
	free(job->dsn);
	free(job);
}

void db_listen_start(const char *dsn, const char *application_name)
{
	struct listen_job *job = calloc(1, sizeof(*job));
	if (job == NULL || (job->dsn = strdup(dsn)) == NULL ||
	    (job->application_name = strdup(application_name)) == NULL)
		abort();
	fiber_spawn("db-listen", listen_fiber, job);
}

/* The cluster half of db_notify_after_commit(): per thread, a list of
 * (channel, payload) pairs waiting, and one fiber that sends them. */
#define NOTIFY_MAX_PENDING 64
#define NOTIFY_COALESCE_MS 2

struct notify_pending {
	char channel[32];
	char payload[512];
};

struct notifier {
	struct notify_pending pending[NOTIFY_MAX_PENDING];
	unsigned count;
	bool running;
	bool stop_hooked;
	struct waitq wakeup;
};

static _Thread_local struct notifier *thread_notifier;

static void notifier_fiber(void *arg)
{
	struct notifier *n = arg;
	struct loop *loop = loop_current();
	while (n->count > 0 || !loop_stopping(loop)) {
		if (n->count == 0) {
			waitq_wait(&n->wakeup, deadline_after_ms(1000));
			continue;
		}
		/* Let the announcements of concurrent sessions gather. */
		struct waitq pause = {0};
		waitq_wait(&pause, deadline_after_ms(NOTIFY_COALESCE_MS));
		struct notify_pending batch[NOTIFY_MAX_PENDING];
		unsigned count = n->count;
		memcpy(batch, n->pending, count * sizeof(batch[0]));
		n->count = 0;

		struct db_stmt stmts[NOTIFY_MAX_PENDING + 3];
		const char *params[NOTIFY_MAX_PENDING][2];
		unsigned used = 0;
		stmts[used++] = (struct db_stmt){.sql = "BEGIN"};
		stmts[used++] = (struct db_stmt){.sql = "SET LOCAL synchronous_commit TO off"};
		for (unsigned i = 0; i < count; i++) {
			params[i][0] = batch[i].channel;
			params[i][1] = batch[i].payload;
			stmts[used++] = (struct db_stmt){
			    .sql = "SELECT pg_notify($1, $2)", .nparams = 2, .params = params[i]};
		}
		stmts[used++] = (struct db_stmt){.sql = "COMMIT"};
		PGresult *results[NOTIFY_MAX_PENDING + 3];
		const char *error;
		struct db_conn *conn = db_acquire(deadline_after_ms(5000), &error);
		if (conn == NULL || db_conn_pipeline(conn, stmts, used, results,
						     deadline_after_ms(5000), &error) < 0)
			log_debug("event=notify_failed error=\"%s\"", error);
		if (conn != NULL)
			for (unsigned i = 0; i < used; i++)
				PQclear(results[i]);
		db_release(&conn);
	}
	n->running = false;
}

static void notifier_wake(void *arg)
{
	struct notifier *n = arg;
	waitq_wake_all(&n->wakeup);
}

void db_notify_after_commit(const char *channel, const char *payload)
{
	dispatch(channel, payload);
	struct notifier *n = thread_notifier;
	if (n == NULL) {
		/* Lives as long as the thread's loop; reachable for LeakSanitizer. */
		static struct notifier notifiers[64];
		static atomic_uint used;
		unsigned index = atomic_fetch_add(&used, 1);
		if (index >= 64)
			abort();
		n = thread_notifier = &notifiers[index];
	}
	bool known = false;
	for (unsigned i = 0; i < n->count && !known; i++)
		known = strcmp(n->pending[i].channel, channel) == 0 &&
			strcmp(n->pending[i].payload, payload) == 0;
	if (!known && n->count < NOTIFY_MAX_PENDING) {
		snprintf(n->pending[n->count].channel, sizeof(n->pending[0].channel), "%s",
			 channel);
		snprintf(n->pending[n->count].payload, sizeof(n->pending[0].payload), "%s",
			 payload);
		n->count++;
	}
	if (!n->running) {
		n->running = true;
		if (!n->stop_hooked) {
			loop_on_stop(loop_current(), notifier_wake, n);
			n->stop_hooked = true;
		}
		fiber_spawn("notifier", notifier_fiber, n);
	}
	waitq_wake_one(&n->wakeup);
}
