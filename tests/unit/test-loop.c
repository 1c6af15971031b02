/* Unit tests for lib/fiber and lib/loop: the order fibers run in
 * (yield, park/wake), loop_sleep_ms, waitq deadlines and wake order (and
 * that a cancelled waitq timer never fires later), loop_post from other
 * threads, loop_stop, stack reuse over many fibers and deep stacks.
 *
 * cmocka's assertions longjmp, which must not happen on a fiber stack:
 * fibers record what they saw with CHECK(), and the test asserts after
 * loop_run() has returned on the thread's own stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fiber.h"
#include "lib/loop.h"

#include "fiber-check.h"

static struct loop *test_loop(bool exit_when_idle)
{
	failure[0] = '\0';
	return loop_create(0, exit_when_idle);
}

/* Runs the loop until no fiber is left, destroys it and reports what the
 * fibers found. */
static void run_and_check(struct loop **loop)
{
	loop_run(*loop);
	loop_destroy(loop);
	assert_null(*loop);
	assert_int_equal(fiber_live_count(), 0);
	assert_null(fiber_current());
	if (failure[0] != '\0')
		fail_msg("in a fiber: %s", failure);
}

/* --- yield ---------------------------------------------------------- */

struct yield_test {
	char trace[32];
	unsigned len;
	unsigned live_seen;
	bool names_ok;
};

struct yield_arg {
	struct yield_test *t;
	char letter;
	const char *name;
};

static void yield_fiber(void *arg)
{
	struct yield_arg *a = arg;

	if (a->t->live_seen < fiber_live_count())
		a->t->live_seen = fiber_live_count();
	if (fiber_current() == NULL || strcmp(fiber_name(fiber_current()), a->name) != 0)
		a->t->names_ok = false;
	for (int i = 0; i < 3; i++) {
		a->t->trace[a->t->len++] = a->letter;
		fiber_yield();
	}
}

static void test_yield_interleaves(void **state)
{
	struct yield_test t = {.names_ok = true};
	struct yield_arg args[3] = {
	    {&t, 'A', "fiber-a"},
	    {&t, 'B', "fiber-b"},
	    {&t, 'C', "fiber-c"},
	};
	struct loop *loop = test_loop(true);

	(void)state;
	assert_null(fiber_current());
	assert_string_equal(fiber_name(NULL), "scheduler");
	for (int i = 0; i < 3; i++)
		fiber_spawn(args[i].name, yield_fiber, &args[i]);
	assert_int_equal(fiber_live_count(), 3);
	run_and_check(&loop);
	assert_string_equal(t.trace, "ABCABCABC");
	assert_int_equal(t.live_seen, 3);
	assert_true(t.names_ok);
}

/* --- park / wake ---------------------------------------------------- */

struct park_test {
	struct fiber *sleeper;
	bool flag;
	unsigned resumes;
	char trace[16];
	unsigned len;
};

static void park_sleeper(void *arg)
{
	struct park_test *t = arg;

	t->trace[t->len++] = 's';
	while (!t->flag) {
		fiber_park();
		t->resumes++;
	}
	t->trace[t->len++] = 'S';
}

static void park_waker(void *arg)
{
	struct park_test *t = arg;

	/* Give the sleeper a few turns to prove it stays parked. */
	for (int i = 0; i < 3; i++)
		fiber_yield();
	t->trace[t->len++] = 'w';
	t->flag = true;
	fiber_wake(t->sleeper);
	fiber_wake(t->sleeper); /* already runnable: must not queue it twice */
	t->trace[t->len++] = 'W';
}

static void test_park_wake(void **state)
{
	struct park_test t = {0};
	struct loop *loop = test_loop(true);

	(void)state;
	t.sleeper = fiber_spawn("sleeper", park_sleeper, &t);
	fiber_spawn("waker", park_waker, &t);
	run_and_check(&loop);
	assert_string_equal(t.trace, "swWS");
	assert_int_equal(t.resumes, 1);
}

/* --- per-fiber error buffer ----------------------------------------- */

struct error_arg {
	const char *text;
	bool ok;
};

static void error_fiber(void *arg)
{
	struct error_arg *a = arg;
	const char *mine = fiber_error_set("error from %s", a->text);

	fiber_yield();
	fiber_yield();
	a->ok = strncmp(mine, "error from ", 11) == 0 && strcmp(mine + 11, a->text) == 0;
}

static void test_error_buffer_per_fiber(void **state)
{
	struct error_arg args[2] = {{"first", false}, {"second", false}};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("error-1", error_fiber, &args[0]);
	fiber_spawn("error-2", error_fiber, &args[1]);
	run_and_check(&loop);
	assert_true(args[0].ok);
	assert_true(args[1].ok);
}

/* --- loop_sleep_ms -------------------------------------------------- */

struct sleep_arg {
	int64_t ms;
	int ret;
	int64_t elapsed;
};

static void sleep_fiber(void *arg)
{
	struct sleep_arg *a = arg;
	int64_t start = time_now_ms();

	a->ret = loop_sleep_ms(a->ms);
	a->elapsed = time_now_ms() - start;
}

static void test_sleep(void **state)
{
	struct sleep_arg one = {.ms = 50, .ret = 1};
	struct sleep_arg zero = {.ms = 0, .ret = 1};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("sleep-50", sleep_fiber, &one);
	fiber_spawn("sleep-0", sleep_fiber, &zero);
	run_and_check(&loop);
	assert_int_equal(one.ret, 0);
	assert_true(one.elapsed >= 50);
	assert_true(one.elapsed < 2000);
	assert_int_equal(zero.ret, 0);
	assert_true(zero.elapsed < 2000);
}

/* Sleeping fibers do not hold each other up. */
static void test_sleeps_overlap(void **state)
{
	struct sleep_arg args[3] = {{.ms = 400}, {.ms = 400}, {.ms = 400}};
	struct loop *loop = test_loop(true);
	int64_t start = time_now_ms();

	(void)state;
	for (int i = 0; i < 3; i++)
		fiber_spawn("sleeper", sleep_fiber, &args[i]);
	run_and_check(&loop);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(args[i].ret, 0);
		assert_true(args[i].elapsed >= 400);
	}
	/* One after the other would take at least 1200 ms. */
	assert_true(time_now_ms() - start < 1200);
}

/* --- waitq ---------------------------------------------------------- */

struct timeout_test {
	struct waitq q;
	int ret[3];
	int64_t elapsed[3];
	int past_ret;
	int64_t past_elapsed;
	bool woke[3];
	bool empty_after;
};

struct timeout_arg {
	struct timeout_test *t;
	unsigned i;
	int64_t wait_ms;
};

static void timeout_waiter(void *arg)
{
	struct timeout_arg *a = arg;
	int64_t start = time_now_ms();

	a->t->ret[a->i] = waitq_wait(&a->t->q, deadline_after_ms(a->wait_ms));
	a->t->elapsed[a->i] = time_now_ms() - start;
}

static void timeout_checker(void *arg)
{
	struct timeout_test *t = arg;
	struct waitq other = {0};
	int64_t start;

	CHECK_INT(loop_sleep_ms(250), 0);
	/* Waiter 0 timed out at 100 ms and left the queue; 1 and 2 are
	 * still there, oldest first. */
	t->woke[0] = waitq_wake_one(&t->q);
	t->woke[1] = waitq_wake_one(&t->q);
	t->woke[2] = waitq_wake_one(&t->q);

	/* A deadline already in the past times out at once. */
	start = time_now_ms();
	t->past_ret = waitq_wait(&other, time_now_ms() - 10);
	t->past_elapsed = time_now_ms() - start;
	CHECK(other.head == NULL && other.tail == NULL);
}

static void test_waitq_timeout(void **state)
{
	struct timeout_test t = {.ret = {1, 1, 1}, .past_ret = 1};
	struct timeout_arg args[3] = {
	    {&t, 0, 100},
	    {&t, 1, LONG_WAIT_MS},
	    {&t, 2, LONG_WAIT_MS},
	};
	struct loop *loop = test_loop(true);

	(void)state;
	for (int i = 0; i < 3; i++)
		fiber_spawn("waiter", timeout_waiter, &args[i]);
	fiber_spawn("checker", timeout_checker, &t);
	run_and_check(&loop);

	assert_int_equal(t.ret[0], -ETIMEDOUT);
	assert_true(t.elapsed[0] >= 100);
	assert_true(t.elapsed[0] < 2000);
	assert_int_equal(t.ret[1], 0);
	assert_int_equal(t.ret[2], 0);
	assert_true(t.elapsed[1] >= 250);
	assert_true(t.elapsed[1] < 2000);
	assert_true(t.woke[0]);
	assert_true(t.woke[1]);
	assert_false(t.woke[2]);
	assert_null(t.q.head);
	assert_null(t.q.tail);
	assert_int_equal(t.past_ret, -ETIMEDOUT);
	assert_true(t.past_elapsed < 2000);
}

struct order_test {
	struct waitq q, done;
	char order[8];
	unsigned woken;
	int ret[3];
	bool woke_empty;
};

struct order_arg {
	struct order_test *t;
	unsigned i;
};

static void order_waiter(void *arg)
{
	struct order_arg *a = arg;
	/* The middle one has a timer, which must be cancelled on wake. */
	int64_t deadline = a->i == 1 ? soon() : 0;

	a->t->ret[a->i] = waitq_wait(&a->t->q, deadline);
	a->t->order[a->t->woken++] = (char)('A' + a->i);
	waitq_wake_one(&a->t->done);
}

static void order_waker(void *arg)
{
	struct order_test *t = arg;

	for (unsigned k = 0; k < 3; k++) {
		CHECK(waitq_wake_one(&t->q));
		while (t->woken < k + 1)
			if (waitq_wait(&t->done, soon()) != 0) {
				CHECK(!"woken waiter did not run");
				return;
			}
	}
	t->woke_empty = waitq_wake_one(&t->q);
}

static void test_waitq_wake_one_oldest(void **state)
{
	struct order_test t = {.ret = {1, 1, 1}};
	struct order_arg args[3] = {{&t, 0}, {&t, 1}, {&t, 2}};
	struct loop *loop = test_loop(true);

	(void)state;
	for (int i = 0; i < 3; i++)
		fiber_spawn("waiter", order_waiter, &args[i]);
	fiber_spawn("waker", order_waker, &t);
	run_and_check(&loop);
	assert_string_equal(t.order, "ABC");
	for (int i = 0; i < 3; i++)
		assert_int_equal(t.ret[i], 0);
	assert_false(t.woke_empty);
	assert_null(t.q.head);
	assert_null(t.q.tail);
}

struct all_test {
	struct waitq q;
	int ret[4];
	unsigned finished;
};

struct all_arg {
	struct all_test *t;
	unsigned i;
};

static void all_waiter(void *arg)
{
	struct all_arg *a = arg;

	a->t->ret[a->i] = waitq_wait(&a->t->q, a->i % 2 ? soon() : 0);
	a->t->finished++;
}

static void all_waker(void *arg)
{
	struct all_test *t = arg;

	waitq_wake_all(&t->q);
	CHECK(t->q.head == NULL);
	CHECK(!waitq_wake_one(&t->q));
}

static void test_waitq_wake_all(void **state)
{
	struct all_test t = {.ret = {1, 1, 1, 1}};
	struct all_arg args[4] = {{&t, 0}, {&t, 1}, {&t, 2}, {&t, 3}};
	struct loop *loop = test_loop(true);

	(void)state;
	for (int i = 0; i < 4; i++)
		fiber_spawn("waiter", all_waiter, &args[i]);
	fiber_spawn("waker", all_waker, &t);
	run_and_check(&loop);
	assert_int_equal(t.finished, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(t.ret[i], 0);
}

/* A waiter woken before its deadline: its timer is cancelled and does not
 * fire into a later wait that reuses the same stack slot. */
struct late_test {
	struct waitq q;
	int ret1, ret2;
	int64_t start, elapsed1, elapsed2;
	bool waiting_again;
};

static void late_waiter(void *arg)
{
	struct late_test *t = arg;

	t->start = time_now_ms();
	t->ret1 = waitq_wait(&t->q, deadline_after_ms(150));
	t->elapsed1 = time_now_ms() - t->start;
	t->waiting_again = true;
	/* The same frame layout: the new waiter sits where the first was. */
	t->ret2 = waitq_wait(&t->q, soon());
	t->elapsed2 = time_now_ms() - t->start;
}

static void late_waker(void *arg)
{
	struct late_test *t = arg;

	CHECK_INT(loop_sleep_ms(20), 0);
	CHECK(waitq_wake_one(&t->q));
	/* Well past the first deadline. */
	CHECK_INT(loop_sleep_ms(400), 0);
	CHECK(t->waiting_again);
	CHECK(waitq_wake_one(&t->q));
}

static void test_waitq_woken_timer_never_fires(void **state)
{
	struct late_test t = {.ret1 = 1, .ret2 = 1};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("waiter", late_waiter, &t);
	fiber_spawn("waker", late_waker, &t);
	run_and_check(&loop);
	assert_int_equal(t.ret1, 0);
	assert_true(t.elapsed1 >= 20);
	assert_int_equal(t.ret2, 0);
	assert_true(t.elapsed2 >= 420);
	assert_true(t.elapsed2 < 5000);
}

/* A wake racing the deadline: whichever wins, waitq_wake_one() returned
 * true exactly when the waiter reports 0. */
struct race_test {
	struct waitq q, done;
	unsigned finished;
	int ret;
	bool woke;
	unsigned woken_count, timeout_count;
};

static void race_waiter(void *arg)
{
	struct race_test *t = arg;

	t->ret = waitq_wait(&t->q, deadline_after_ms(5));
	t->finished++;
	waitq_wake_one(&t->done);
}

static void race_waker(void *arg)
{
	struct race_test *t = arg;

	loop_sleep_ms(5);
	t->woke = waitq_wake_one(&t->q);
	t->finished++;
	waitq_wake_one(&t->done);
}

static void race_driver(void *arg)
{
	struct race_test *t = arg;

	for (int i = 0; i < 20; i++) {
		t->finished = 0;
		t->ret = 1;
		fiber_spawn("race-waiter", race_waiter, t);
		fiber_spawn("race-waker", race_waker, t);
		while (t->finished < 2)
			if (waitq_wait(&t->done, soon()) != 0) {
				CHECK(!"race fibers did not finish");
				return;
			}
		CHECK(t->ret == 0 || t->ret == -ETIMEDOUT);
		CHECK_INT(t->ret == 0, t->woke);
		if (t->ret == 0)
			t->woken_count++;
		else
			t->timeout_count++;
		CHECK(t->q.head == NULL);
	}
}

static void test_waitq_wake_races_deadline(void **state)
{
	struct race_test t = {0};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("race-driver", race_driver, &t);
	run_and_check(&loop);
	assert_int_equal(t.woken_count + t.timeout_count, 20);
}

/* --- loop_post ------------------------------------------------------ */

#define POST_THREADS 2
#define POST_EACH    500

struct post_test {
	struct loop *loop;
	pthread_t loop_thread;
	struct waitq q;
	unsigned received;
	unsigned next_seq[POST_THREADS];
	bool in_order, on_loop_thread, in_scheduler;
	bool fiber_ran;
};

struct post_msg {
	struct loop_msg msg; /* first: loop_destroy() frees undelivered ones */
	struct post_test *t;
	unsigned sender, seq;
};

struct post_sender {
	struct post_test *t;
	unsigned sender;
	useconds_t delay_us;
};

static void post_received(struct loop_msg *msg)
{
	struct post_msg *m = (struct post_msg *)msg;
	struct post_test *t = m->t;

	if (!pthread_equal(pthread_self(), t->loop_thread))
		t->on_loop_thread = false;
	if (fiber_current() != NULL || loop_current() != t->loop)
		t->in_scheduler = false;
	if (m->seq != t->next_seq[m->sender])
		t->in_order = false;
	t->next_seq[m->sender] = m->seq + 1;
	t->received++;
	waitq_wake_one(&t->q);
	free(m);
}

static void *post_thread(void *arg)
{
	struct post_sender *s = arg;

	if (s->delay_us > 0)
		usleep(s->delay_us);
	for (unsigned i = 0; i < POST_EACH; i++) {
		struct post_msg *m = calloc(1, sizeof(*m));

		if (m == NULL)
			abort();
		m->msg.fn = post_received;
		m->t = s->t;
		m->sender = s->sender;
		m->seq = i;
		loop_post(s->t->loop, &m->msg);
	}
	return NULL;
}

static void post_waiter(void *arg)
{
	struct post_test *t = arg;

	while (t->received < POST_THREADS * POST_EACH)
		if (waitq_wait(&t->q, soon()) != 0) {
			CHECK(!"posted messages did not all arrive");
			return;
		}
}

static void test_loop_post_wakes_fiber(void **state)
{
	struct post_test t = {.in_order = true, .on_loop_thread = true, .in_scheduler = true};
	struct post_sender senders[POST_THREADS];
	pthread_t threads[POST_THREADS];
	struct loop *loop = test_loop(true);

	(void)state;
	t.loop = loop;
	t.loop_thread = pthread_self();
	fiber_spawn("post-waiter", post_waiter, &t);
	for (unsigned i = 0; i < POST_THREADS; i++) {
		senders[i] = (struct post_sender){&t, i, 20000};
		assert_int_equal(pthread_create(&threads[i], NULL, post_thread, &senders[i]), 0);
	}
	run_and_check(&loop);
	for (unsigned i = 0; i < POST_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	assert_int_equal(t.received, POST_THREADS * POST_EACH);
	assert_true(t.in_order);
	assert_true(t.on_loop_thread);
	assert_true(t.in_scheduler);
}

static void post_spawned_fiber(void *arg)
{
	struct post_test *t = arg;

	t->fiber_ran = fiber_current() != NULL;
}

static void post_release(struct loop_msg *msg)
{
	struct post_msg *m = (struct post_msg *)msg;
	struct post_test *t = m->t;

	t->on_loop_thread = pthread_equal(pthread_self(), t->loop_thread);
	t->received++;
	/* Messages may start fibers; the loop then lives on for them. */
	fiber_spawn("post-spawned", post_spawned_fiber, t);
	loop_release(loop_current());
	free(m);
}

static void *post_one_thread(void *arg)
{
	struct post_test *t = arg;
	struct post_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	usleep(50000);
	m->msg.fn = post_release;
	m->t = t;
	loop_post(t->loop, &m->msg);
	return NULL;
}

static void test_loop_post_with_hold(void **state)
{
	struct post_test t = {0};
	pthread_t thread;
	struct loop *loop = test_loop(true);

	(void)state;
	t.loop = loop;
	t.loop_thread = pthread_self();
	/* No fiber at all: only the hold keeps loop_run() going. */
	loop_hold(loop);
	assert_int_equal(pthread_create(&thread, NULL, post_one_thread, &t), 0);
	run_and_check(&loop);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(t.received, 1);
	assert_true(t.on_loop_thread);
	assert_true(t.fiber_ran);
}

/* --- loop_stop ------------------------------------------------------ */

struct stop_test {
	struct sleep_arg sleepers[2];
	unsigned hook_calls;
	bool hook_saw_stopping;
	int after_ret;
	int64_t after_elapsed;
};

static void stop_hook(void *arg)
{
	struct stop_test *t = arg;

	t->hook_calls++;
	t->hook_saw_stopping = loop_stopping(loop_current());
}

static void stopper(void *arg)
{
	struct stop_test *t = arg;
	int64_t start;

	CHECK_INT(loop_sleep_ms(50), 0);
	CHECK(!loop_stopping(loop_current()));
	loop_stop(loop_current());
	loop_stop(loop_current()); /* idempotent: hooks run once */
	CHECK(loop_stopping(loop_current()));
	start = time_now_ms();
	t->after_ret = loop_sleep_ms(LONG_WAIT_MS);
	t->after_elapsed = time_now_ms() - start;
}

static void test_loop_stop_interrupts_sleep(void **state)
{
	struct stop_test t = {
	    .sleepers = {{.ms = LONG_WAIT_MS, .ret = 1}, {.ms = LONG_WAIT_MS, .ret = 1}},
	    .after_ret = 1,
	};
	/* A server loop: it only ends after loop_stop() and the last fiber. */
	struct loop *loop = test_loop(false);

	(void)state;
	loop_on_stop(loop, stop_hook, &t);
	fiber_spawn("sleeper", sleep_fiber, &t.sleepers[0]);
	fiber_spawn("sleeper", sleep_fiber, &t.sleepers[1]);
	fiber_spawn("stopper", stopper, &t);
	run_and_check(&loop);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t.sleepers[i].ret, -EINTR);
		assert_true(t.sleepers[i].elapsed >= 50);
		assert_true(t.sleepers[i].elapsed < 2000);
	}
	assert_int_equal(t.hook_calls, 1);
	assert_true(t.hook_saw_stopping);
	assert_int_equal(t.after_ret, -EINTR);
	assert_true(t.after_elapsed < 2000);
}

/* --- many fibers, stack reuse, deep stacks -------------------------- */

#define MANY_FIBERS 1000

struct many_test {
	struct waitq done;
	unsigned started, finished;
	unsigned peak_live;
	const void *frames[64];
	unsigned distinct_frames;
	bool too_many_frames;
	bool child_done;
};

static void many_fiber(void *arg)
{
	struct many_test *t = arg;

	t->started++;
	if (t->peak_live < fiber_live_count())
		t->peak_live = fiber_live_count();
	fiber_yield();
	t->finished++;
}

static void test_many_fibers(void **state)
{
	struct many_test t = {0};
	struct loop *loop = test_loop(true);

	(void)state;
	for (int i = 0; i < MANY_FIBERS; i++)
		fiber_spawn("many", many_fiber, &t);
	run_and_check(&loop);
	assert_int_equal(t.started, MANY_FIBERS);
	assert_int_equal(t.finished, MANY_FIBERS);
	assert_int_equal(t.peak_live, MANY_FIBERS);
}

static void reuse_child(void *arg)
{
	struct many_test *t = arg;
	const void *frame = __builtin_frame_address(0);
	unsigned i;

	for (i = 0; i < t->distinct_frames; i++)
		if (t->frames[i] == frame)
			break;
	if (i == t->distinct_frames) {
		if (t->distinct_frames < sizeof(t->frames) / sizeof(t->frames[0]))
			t->frames[t->distinct_frames++] = frame;
		else
			t->too_many_frames = true;
	}
	t->finished++;
	t->child_done = true;
	waitq_wake_one(&t->done);
}

static void reuse_spawner(void *arg)
{
	struct many_test *t = arg;

	for (int i = 0; i < MANY_FIBERS; i++) {
		t->child_done = false;
		fiber_spawn("reuse-child", reuse_child, t);
		while (!t->child_done)
			if (waitq_wait(&t->done, soon()) != 0) {
				CHECK(!"child fiber did not finish");
				return;
			}
	}
}

/* One fiber after another: a finished fiber's stack is used again, not
 * mapped anew (a leak would show as ever new stack addresses). */
static void test_fiber_stacks_reused(void **state)
{
	struct many_test t = {0};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("reuse-spawner", reuse_spawner, &t);
	run_and_check(&loop);
	assert_int_equal(t.finished, MANY_FIBERS);
	assert_false(t.too_many_frames);
	assert_true(t.distinct_frames <= 4);
}

#define DEEP_LEVELS 64
#define DEEP_FRAME  1024

/* Each level keeps DEEP_FRAME bytes of its own, yields at the bottom while
 * the other fiber does the same, and checks its bytes on the way back.
 * Returns how many levels found their bytes intact. */
static unsigned deep_recurse(unsigned depth, unsigned char seed)
{
	volatile unsigned char buf[DEEP_FRAME];
	unsigned intact = 1;

	for (unsigned i = 0; i < DEEP_FRAME; i++)
		buf[i] = (unsigned char)(seed + depth * 7 + i);
	if (depth > 0)
		intact += deep_recurse(depth - 1, seed);
	else
		fiber_yield();
	for (unsigned i = 0; i < DEEP_FRAME; i++)
		if (buf[i] != (unsigned char)(seed + depth * 7 + i)) {
			intact--;
			break;
		}
	return intact;
}

struct deep_arg {
	unsigned char seed;
	unsigned intact;
};

static void deep_fiber(void *arg)
{
	struct deep_arg *a = arg;

	a->intact = deep_recurse(DEEP_LEVELS - 1, a->seed);
}

static void test_deep_recursion(void **state)
{
	struct deep_arg args[2] = {{.seed = 0x11}, {.seed = 0xa5}};
	struct loop *loop = test_loop(true);

	(void)state;
	fiber_spawn("deep-1", deep_fiber, &args[0]);
	fiber_spawn("deep-2", deep_fiber, &args[1]);
	run_and_check(&loop);
	assert_int_equal(args[0].intact, DEEP_LEVELS);
	assert_int_equal(args[1].intact, DEEP_LEVELS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yield_interleaves),
	    cmocka_unit_test(test_park_wake),
	    cmocka_unit_test(test_error_buffer_per_fiber),
	    cmocka_unit_test(test_sleep),
	    cmocka_unit_test(test_sleeps_overlap),
	    cmocka_unit_test(test_waitq_timeout),
	    cmocka_unit_test(test_waitq_wake_one_oldest),
	    cmocka_unit_test(test_waitq_wake_all),
	    cmocka_unit_test(test_waitq_woken_timer_never_fires),
	    cmocka_unit_test(test_waitq_wake_races_deadline),
	    cmocka_unit_test(test_loop_post_wakes_fiber),
	    cmocka_unit_test(test_loop_post_with_hold),
	    cmocka_unit_test(test_loop_stop_interrupts_sleep),
	    cmocka_unit_test(test_many_fibers),
	    cmocka_unit_test(test_fiber_stacks_reused),
	    cmocka_unit_test(test_deep_recursion),
	};

	/* A fiber runtime bug tends to hang rather than crash. */
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
