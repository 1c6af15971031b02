/* Arena allocation: alignment, growth across blocks, large allocations,
 * strings, cleanups in reverse order, clear and reuse. */
#include "lib/arena.h"

#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_alignment_and_growth(void **state)
{
	(void)state;
	struct arena *a = arena_create(256);
	for (size_t i = 1; i < 2000; i += 7) {
		unsigned char *p = arena_alloc(a, i);
		assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
		memset(p, 0xab, i);
	}
	arena_destroy(&a);
	assert_null(a);
}

static void test_large_keeps_block_space(void **state)
{
	(void)state;
	struct arena *a = arena_create(1024);
	char *small1 = arena_alloc(a, 16);
	char *big = arena_alloc(a, 100000);
	memset(big, 1, 100000);
	char *small2 = arena_alloc(a, 16);
	/* The small ones share the first block around the big one. */
	assert_true(small2 > small1 && small2 - small1 < 1024);
	arena_destroy(&a);
}

static void test_strings(void **state)
{
	(void)state;
	struct arena *a = arena_create(0);
	assert_string_equal(arena_strdup(a, "hello"), "hello");
	assert_string_equal(arena_strndup(a, "hello world", 5), "hello");
	assert_string_equal(arena_printf(a, "%s=%d", "x", 42), "x=42");
	char *z = arena_zalloc(a, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(z[i], 0);
	arena_destroy(&a);
}

static int order[4];
static int order_len;

static void record(void *arg)
{
	order[order_len++] = (int)(intptr_t)arg;
}

static void test_cleanups_reverse_and_clear(void **state)
{
	(void)state;
	struct arena *a = arena_create(512);
	arena_on_destroy(a, record, (void *)1);
	arena_on_destroy(a, record, (void *)2);
	arena_clear(a);
	assert_int_equal(order_len, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(arena_used(a), 0);
	arena_on_destroy(a, record, (void *)3);
	arena_alloc(a, 5000);
	arena_destroy(&a);
	assert_int_equal(order_len, 3);
	assert_int_equal(order[2], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alignment_and_growth),
	    cmocka_unit_test(test_large_keeps_block_space),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_cleanups_reverse_and_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
