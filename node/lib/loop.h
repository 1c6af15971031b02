/* The per-thread event loop: one io_uring, the fibers of this thread, and
 * the blocking-looking calls fibers make on it.
 *
 * Deadlines are absolute CLOCK_MONOTONIC milliseconds (time_now_ms());
 * 0 means none. Calls that take a deadline return -ETIMEDOUT when it
 * passes. All calls except loop_post() must be made on the loop's thread,
 * and those that wait must be made from a fiber.
 */
#ifndef TEGU_LOOP_H
#define TEGU_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;

/* Something that receives io_uring completions: the sqe's user_data
 * points at it. */
struct io_handler {
	void (*complete)(struct io_handler *handler, const struct io_uring_cqe *cqe);
};

/* A message posted to a loop from any thread; fn runs on the loop's thread
 * in the scheduler (it may spawn or wake fibers, not wait). The sender
 * malloc()s it as one block with the loop_msg first; fn owns it
 * afterwards, and a message never delivered is free()d with the loop. */
struct loop_msg {
	void (*fn)(struct loop_msg *msg);
	struct loop_msg *next;
};

/* Fibers waiting for a condition on one loop. */
struct waiter;
struct waitq {
	struct waiter *head, *tail;
};

int64_t time_now_ms(void);
static inline int64_t deadline_after_ms(int64_t ms)
{
	return time_now_ms() + ms;
}

/* Creates the loop for the calling thread and makes it current.
 * exit_when_idle: loop_run returns as soon as no fiber is left (tools);
 * otherwise only after loop_stop() and the last fiber (servers). */
struct loop *loop_create(unsigned id, bool exit_when_idle);
void loop_destroy(struct loop **loop);
struct loop *loop_current(void);
unsigned loop_id(const struct loop *loop);
void loop_run(struct loop *loop);

/* Thread-safe: queues msg for the loop's thread. */
void loop_post(struct loop *loop, struct loop_msg *msg);

/* Stopping: loop_stop() runs the stop hooks (in registration order) and
 * wakes every fiber in loop_sleep_until_stop(). */
void loop_stop(struct loop *loop);
bool loop_stopping(const struct loop *loop);
void loop_on_stop(struct loop *loop, void (*fn)(void *arg), void *arg);

/* Handlers that are not fibers (listeners) hold the loop so loop_run
 * waits for their last completion. */
void loop_hold(struct loop *loop);
void loop_release(struct loop *loop);

/* An sqe with room for a linked timeout after it. */
struct io_uring_sqe *loop_sqe(void);
/* Submits sqe (from loop_sqe) with user_data set to a completion record
 * on the fiber's stack, links a timeout when deadline != 0, parks the
 * fiber until the completion arrives, and returns cqe->res. */
int loop_submit_wait(struct io_uring_sqe *sqe, int64_t deadline);
/* Same, also returning the completion flags. */
int loop_submit_wait_flags(struct io_uring_sqe *sqe, int64_t deadline, unsigned *flags_r);
/* Waits until fd is ready for events (POLLIN/POLLOUT); returns the ready
 * mask or -errno. */
int loop_poll(int fd, unsigned events, int64_t deadline);
/* Sleeps; returns 0, or -EINTR when the loop started stopping. */
int loop_sleep_ms(int64_t ms);

/* Parks the calling fiber on q until waitq_wake_*() or the deadline;
 * returns 0 when woken, -ETIMEDOUT otherwise. */
int waitq_wait(struct waitq *q, int64_t deadline);
/* Wakes the longest waiter; returns false when none waited. */
bool waitq_wake_one(struct waitq *q);
void waitq_wake_all(struct waitq *q);

#endif
