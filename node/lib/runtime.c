/* See runtime.h. */
#include "lib/runtime.h"

#include "lib/conn.h"
#include "lib/fiber.h"
#include "lib/health.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define GRACE_CHECK_MS 100

struct worker {
	const struct runtime_config *config;
	unsigned index;
	pthread_t thread;
	struct loop *loop;
	int setup_result;
	atomic_ulong pongs;
};

static pthread_barrier_t setup_barrier;

struct worker_msg {
	struct loop_msg base;
	struct worker *worker;
};

static void shutdown_idle(struct conn *c, void *arg)
{
	(void)arg;
	if (c->idle)
		conn_shutdown(c);
}

static void shutdown_all(struct conn *c, void *arg)
{
	(void)arg;
	conn_shutdown(c);
}

/* Closes connections as they go idle, and all of them when the grace
 * period ends. */
static void grace_fiber(void *arg)
{
	struct worker *worker = arg;
	int64_t end = deadline_after_ms((int64_t)worker->config->grace_seconds * 1000);
	struct waitq never = {0};
	while (conn_count() > 0 && time_now_ms() < end) {
		conn_for_each(shutdown_idle, NULL);
		waitq_wait(&never, deadline_after_ms(GRACE_CHECK_MS));
	}
	if (conn_count() > 0) {
		log_info("event=grace_over worker=%u closing=%u", worker->index, conn_count());
		conn_for_each(shutdown_all, NULL);
	}
}

static void stop_msg(struct loop_msg *msg)
{
	struct worker *worker = ((struct worker_msg *)msg)->worker;
	free(msg);
	loop_stop(worker->loop);
	fiber_spawn("grace", grace_fiber, worker);
}

static void ping_msg(struct loop_msg *msg)
{
	struct worker *worker = ((struct worker_msg *)msg)->worker;
	free(msg);
	atomic_fetch_add(&worker->pongs, 1);
}

static void post(struct worker *worker, void (*fn)(struct loop_msg *))
{
	struct worker_msg *msg = calloc(1, sizeof(*msg));
	if (msg == NULL)
		abort();
	msg->base.fn = fn;
	msg->worker = worker;
	loop_post(worker->loop, &msg->base);
}

static void *worker_main(void *arg)
{
	struct worker *worker = arg;
	worker->loop = loop_create(worker->index, false);
	worker->setup_result = worker->config->worker_setup(worker->index, worker->config->arg);
	pthread_barrier_wait(&setup_barrier);
	loop_run(worker->loop);
	if (worker->config->worker_teardown)
		worker->config->worker_teardown(worker->index, worker->config->arg);
	return NULL;
}

int runtime_run(const struct runtime_config *config)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	/* Workers inherit the mask: only this thread takes the signals. */
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct worker *workers = calloc(config->workers, sizeof(*workers));
	if (workers == NULL)
		abort();
	pthread_barrier_init(&setup_barrier, NULL, config->workers + 1);
	for (unsigned i = 0; i < config->workers; i++) {
		workers[i].config = config;
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			abort();
	}
	pthread_barrier_wait(&setup_barrier);
	int result = 0;
	for (unsigned i = 0; i < config->workers; i++)
		if (workers[i].setup_result != 0)
			result = 1;

	if (result == 0) {
		if (config->all_ready)
			config->all_ready(config->arg);
		sd_notify(0, "READY=1\nSTATUS=serving");
		uint64_t watchdog_usec = 0;
		bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
		unsigned long *seen = calloc(config->workers, sizeof(*seen));
		if (seen == NULL)
			abort();
		for (;;) {
			struct timespec tick = {.tv_sec = 1};
			int sig = sigtimedwait(&signals, NULL, &tick);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("event=stopping signal=%s grace=%d",
					 sig == SIGTERM ? "TERM" : "INT", config->grace_seconds);
				break;
			}
			/* The watchdog is fed only while every loop still answers. */
			bool all_answered = true;
			for (unsigned i = 0; i < config->workers; i++) {
				unsigned long pongs = atomic_load(&workers[i].pongs);
				if (pongs == seen[i])
					all_answered = false;
				seen[i] = pongs;
				post(&workers[i], ping_msg);
			}
			if (watchdog && all_answered)
				sd_notify(0, "WATCHDOG=1");
		}
		free(seen);
		sd_notify(0, "STOPPING=1");
	}
	health_set_stopping();
	for (unsigned i = 0; i < config->workers; i++)
		post(&workers[i], stop_msg);
	for (unsigned i = 0; i < config->workers; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned i = 0; i < config->workers; i++)
		loop_destroy(&workers[i].loop);
	pthread_barrier_destroy(&setup_barrier);
	free(workers);
	return result;
}
