/* See offload.h. The pool starts on first use; its threads live as long
 * as the process and sleep on a condition variable when idle. */
#include "lib/offload.h"

#include "lib/fiber.h"
#include "lib/loop.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define OFFLOAD_THREADS 2

struct offload_job {
	struct loop_msg msg; /* first: posted back to the loop when done */
	void (*fn)(void *arg);
	void *arg;
	struct loop *loop;
	struct fiber *fiber;
	bool *done;
	struct offload_job *next;
};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct offload_job *queue_head, *queue_tail;

static void job_finished(struct loop_msg *msg)
{
	struct offload_job *job = (struct offload_job *)msg;
	*job->done = true;
	fiber_wake(job->fiber);
	free(job);
}

static void *pool_thread(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&pool_lock);
		while (queue_head == NULL)
			pthread_cond_wait(&pool_cond, &pool_lock);
		struct offload_job *job = queue_head;
		queue_head = job->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		pthread_mutex_unlock(&pool_lock);
		job->fn(job->arg);
		job->msg.fn = job_finished;
		loop_post(job->loop, &job->msg);
	}
	return NULL;
}

static void pool_start(void)
{
	for (int i = 0; i < OFFLOAD_THREADS; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, pool_thread, NULL) != 0)
			abort();
		pthread_detach(thread);
	}
}

void offload_run(void (*fn)(void *arg), void *arg)
{
	pthread_once(&pool_once, pool_start);
	bool done = false;
	struct offload_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		abort();
	job->fn = fn;
	job->arg = arg;
	job->loop = loop_current();
	job->fiber = fiber_current();
	job->done = &done;
	pthread_mutex_lock(&pool_lock);
	if (queue_tail)
		queue_tail->next = job;
	else
		queue_head = job;
	queue_tail = job;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	while (!done)
		fiber_park();
}
