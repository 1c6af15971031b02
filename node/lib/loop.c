/* See loop.h. Completion records live on the waiting fiber's stack: a
 * fiber resumes only after the completion that names it has arrived, so
 * the record is never touched after the fiber moved on. The same rule
 * holds for waitq timers: a woken waiter first cancels its timer and waits
 * for that completion too. */
#include "lib/loop.h"

#include "lib/fiber.h"
#include "lib/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_RING_ENTRIES 1024

struct stop_hook {
	void (*fn)(void *arg);
	void *arg;
	struct stop_hook *next;
};

struct loop {
	struct io_uring ring;
	unsigned id;
	bool exit_when_idle;
	bool stopping;
	unsigned holds;
	struct waitq stop_waiters;
	struct stop_hook *stop_hooks, **stop_hooks_tail;

	/* loop_post(): a locked list and an eventfd read kept armed. */
	pthread_mutex_t inbox_lock;
	struct loop_msg *inbox_head, *inbox_tail;
	int inbox_fd;
	uint64_t inbox_count;
	struct io_handler inbox_handler;
};

static _Thread_local struct loop *current_loop;

/* For completions nobody waits for: linked timeouts, timer removals. */
static void ignore_complete(struct io_handler *handler, const struct io_uring_cqe *cqe)
{
	(void)handler;
	(void)cqe;
}
static struct io_handler ignore_handler = {.complete = ignore_complete};

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct __kernel_timespec ms_to_ts(int64_t ms)
{
	if (ms < 0)
		ms = 0;
	return (struct __kernel_timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

static void inbox_arm(struct loop *loop);

static void inbox_complete(struct io_handler *handler, const struct io_uring_cqe *cqe)
{
	struct loop *loop = (struct loop *)((char *)handler - offsetof(struct loop, inbox_handler));
	(void)cqe;
	pthread_mutex_lock(&loop->inbox_lock);
	struct loop_msg *msg = loop->inbox_head;
	loop->inbox_head = loop->inbox_tail = NULL;
	pthread_mutex_unlock(&loop->inbox_lock);
	while (msg) {
		struct loop_msg *next = msg->next;
		msg->fn(msg);
		msg = next;
	}
	inbox_arm(loop);
}

static void inbox_arm(struct loop *loop)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_read(sqe, loop->inbox_fd, &loop->inbox_count, sizeof(loop->inbox_count), 0);
	io_uring_sqe_set_data(sqe, &loop->inbox_handler);
}

struct loop *loop_create(unsigned id, bool exit_when_idle)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		abort();
	int ret = io_uring_queue_init(LOOP_RING_ENTRIES, &loop->ring, 0);
	if (ret < 0) {
		log_error("event=io_uring_init_failed error=\"%s\"", strerror(-ret));
		abort();
	}
	loop->id = id;
	loop->exit_when_idle = exit_when_idle;
	loop->stop_hooks_tail = &loop->stop_hooks;
	pthread_mutex_init(&loop->inbox_lock, NULL);
	loop->inbox_fd = eventfd(0, EFD_CLOEXEC);
	if (loop->inbox_fd < 0)
		abort();
	loop->inbox_handler.complete = inbox_complete;
	current_loop = loop;
	inbox_arm(loop);
	return loop;
}

void loop_destroy(struct loop **loopp)
{
	struct loop *loop = *loopp;
	if (loop == NULL)
		return;
	*loopp = NULL;
	io_uring_queue_exit(&loop->ring);
	close(loop->inbox_fd);
	pthread_mutex_destroy(&loop->inbox_lock);
	while (loop->stop_hooks) {
		struct stop_hook *next = loop->stop_hooks->next;
		free(loop->stop_hooks);
		loop->stop_hooks = next;
	}
	/* Messages posted after the loop ended are dropped with it. */
	while (loop->inbox_head) {
		struct loop_msg *next = loop->inbox_head->next;
		free(loop->inbox_head);
		loop->inbox_head = next;
	}
	if (current_loop == loop)
		current_loop = NULL;
	free(loop);
}

struct loop *loop_current(void)
{
	return current_loop;
}

unsigned loop_id(const struct loop *loop)
{
	return loop->id;
}

void loop_run(struct loop *loop)
{
	for (;;) {
		fiber_run_ready();
		if (fiber_live_count() == 0 && loop->holds == 0 &&
		    (loop->exit_when_idle || loop->stopping))
			break;
		int ret;
		if (fiber_have_ready())
			ret = io_uring_submit(&loop->ring);
		else
			ret = io_uring_submit_and_wait(&loop->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
			log_error("event=io_uring_submit_failed error=\"%s\"", strerror(-ret));
			abort();
		}
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&loop->ring, head, cqe)
		{
			struct io_handler *handler = io_uring_cqe_get_data(cqe);
			if (handler)
				handler->complete(handler, cqe);
			seen++;
		}
		io_uring_cq_advance(&loop->ring, seen);
	}
}

void loop_post(struct loop *loop, struct loop_msg *msg)
{
	msg->next = NULL;
	pthread_mutex_lock(&loop->inbox_lock);
	if (loop->inbox_tail)
		loop->inbox_tail->next = msg;
	else
		loop->inbox_head = msg;
	loop->inbox_tail = msg;
	pthread_mutex_unlock(&loop->inbox_lock);
	uint64_t one = 1;
	ssize_t unused = write(loop->inbox_fd, &one, sizeof(one));
	(void)unused;
}

void loop_stop(struct loop *loop)
{
	if (loop->stopping)
		return;
	loop->stopping = true;
	for (struct stop_hook *hook = loop->stop_hooks; hook; hook = hook->next)
		hook->fn(hook->arg);
	waitq_wake_all(&loop->stop_waiters);
}

bool loop_stopping(const struct loop *loop)
{
	return loop->stopping;
}

void loop_on_stop(struct loop *loop, void (*fn)(void *arg), void *arg)
{
	struct stop_hook *hook = calloc(1, sizeof(*hook));
	if (hook == NULL)
		abort();
	hook->fn = fn;
	hook->arg = arg;
	*loop->stop_hooks_tail = hook;
	loop->stop_hooks_tail = &hook->next;
}

void loop_hold(struct loop *loop)
{
	loop->holds++;
}

void loop_release(struct loop *loop)
{
	loop->holds--;
}

struct io_uring_sqe *loop_sqe(void)
{
	struct io_uring *ring = &current_loop->ring;
	/* Keep a linked pair in one submission: a lone IO_LINK sqe would
	 * chain to whatever comes next. */
	if (io_uring_sq_space_left(ring) < 2)
		io_uring_submit(ring);
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (sqe == NULL)
		abort();
	return sqe;
}

struct io_wait {
	struct io_handler handler;
	struct fiber *fiber;
	int res;
	unsigned flags;
	bool done;
};

static void io_wait_complete(struct io_handler *handler, const struct io_uring_cqe *cqe)
{
	struct io_wait *wait = (struct io_wait *)handler;
	wait->res = cqe->res;
	wait->flags = cqe->flags;
	wait->done = true;
	fiber_wake(wait->fiber);
}

int loop_submit_wait_flags(struct io_uring_sqe *sqe, int64_t deadline, unsigned *flags_r)
{
	struct io_wait wait = {.handler.complete = io_wait_complete, .fiber = fiber_current()};
	struct __kernel_timespec ts;
	io_uring_sqe_set_data(sqe, &wait.handler);
	if (deadline != 0) {
		ts = ms_to_ts(deadline - time_now_ms());
		sqe->flags |= IOSQE_IO_LINK;
		struct io_uring_sqe *timeout = io_uring_get_sqe(&current_loop->ring);
		if (timeout == NULL)
			abort(); /* loop_sqe() left room for it */
		io_uring_prep_link_timeout(timeout, &ts, 0);
		io_uring_sqe_set_data(timeout, &ignore_handler);
		/* ts must outlive the submission, which happens when we park. */
	}
	while (!wait.done)
		fiber_park();
	if (flags_r)
		*flags_r = wait.flags;
	if (wait.res == -ECANCELED && deadline != 0)
		return -ETIMEDOUT;
	return wait.res;
}

int loop_submit_wait(struct io_uring_sqe *sqe, int64_t deadline)
{
	return loop_submit_wait_flags(sqe, deadline, NULL);
}

int loop_poll(int fd, unsigned events, int64_t deadline)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_poll_add(sqe, fd, events);
	return loop_submit_wait(sqe, deadline);
}

struct waiter {
	struct io_handler timer;
	struct fiber *fiber;
	struct waiter *next, *prev;
	bool queued;
	bool woken;
	bool timer_pending;
	bool timed_out;
	struct __kernel_timespec ts;
};

static void waiter_timer_complete(struct io_handler *handler, const struct io_uring_cqe *cqe)
{
	struct waiter *w = (struct waiter *)handler;
	w->timer_pending = false;
	if (cqe->res == -ETIME)
		w->timed_out = true;
	fiber_wake(w->fiber);
}

static void waitq_unlink(struct waitq *q, struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->queued = false;
}

/* The waiter lives on this fiber's stack and is unlinked before the
 * function returns; GCC cannot see that through fiber_park(). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
int waitq_wait(struct waitq *q, int64_t deadline)
{
	struct waiter w = {.timer.complete = waiter_timer_complete, .fiber = fiber_current()};
	w.prev = q->tail;
	if (q->tail)
		q->tail->next = &w;
	else
		q->head = &w;
	q->tail = &w;
	w.queued = true;
	if (deadline != 0) {
		w.ts = ms_to_ts(deadline - time_now_ms());
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_timeout(sqe, &w.ts, 0, 0);
		io_uring_sqe_set_data(sqe, &w.timer);
		w.timer_pending = true;
	}
	while (!w.woken && !w.timed_out)
		fiber_park();
	if (w.queued)
		waitq_unlink(q, &w);
	if (w.timer_pending) {
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_timeout_remove(sqe, (uint64_t)(uintptr_t)&w.timer, 0);
		io_uring_sqe_set_data(sqe, &ignore_handler);
		while (w.timer_pending)
			fiber_park();
	}
	return w.woken ? 0 : -ETIMEDOUT;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

bool waitq_wake_one(struct waitq *q)
{
	struct waiter *w = q->head;
	if (w == NULL)
		return false;
	waitq_unlink(q, w);
	w->woken = true;
	fiber_wake(w->fiber);
	return true;
}

void waitq_wake_all(struct waitq *q)
{
	while (waitq_wake_one(q))
		;
}

int loop_sleep_ms(int64_t ms)
{
	if (current_loop->stopping)
		return -EINTR;
	int ret = waitq_wait(&current_loop->stop_waiters, deadline_after_ms(ms));
	return ret == 0 ? -EINTR : 0;
}
