/* Checks for tests that run inside fibers: cmocka's assertions long-jump
 * and must not leave a fiber's stack, so fibers record the first failure
 * here and the test reports it after loop_run() returns. */
#ifndef TEGU_TEST_FIBER_CHECK_H
#define TEGU_TEST_FIBER_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/loop.h"

/* Every wait that should end well before it has this deadline, so a bug
 * fails the test instead of hanging it. */
#define LONG_WAIT_MS 10000

static char failure[512];

static void check_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check_fail(int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (failure[0] != '\0')
		return; /* the first failure is the interesting one */
	n = snprintf(failure, sizeof(failure), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(failure + n, sizeof(failure) - (size_t)n, fmt, ap);
	va_end(ap);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_fail(__LINE__, "%s", #cond);                                         \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (a), b_ = (b);                                                      \
		if (a_ != b_)                                                                      \
			check_fail(__LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);            \
	} while (0)

static inline int64_t soon(void)
{
	return deadline_after_ms(LONG_WAIT_MS);
}

#endif
