/* Fiber stacks, the context switch around them, and the per-thread run
 * queue. Stacks are mmap'd with a PROT_NONE guard page below them so an
 * overflow faults instead of corrupting a neighbour; only the pages a
 * fiber touches become resident, which is what keeps idle connections
 * cheap. Switches are annotated for AddressSanitizer, which otherwise
 * loses track of which stack is live. */
#include "lib/fiber.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEGU_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEGU_ASAN 1
#endif

#ifdef TEGU_ASAN
#include <sanitizer/common_interface_defs.h>
/* ASan's redzones make frames several times larger. */
#define FIBER_STACK_SIZE (1024 * 1024)
#else
#define FIBER_STACK_SIZE (256 * 1024)
#endif
#define FIBER_STACK_CACHE 64
#define FIBER_ERROR_SIZE  256

void fiber_switch_context(void **from_sp, void *to_sp);
void fiber_trampoline(void);

struct fiber {
	void *sp;
	char *stack; /* lowest address of the mapping; the guard page is first */
	size_t map_size;
	fiber_fn *fn;
	void *arg;
	const char *name;
	struct fiber *next_ready;
	bool ready;
	bool done;
	char error[FIBER_ERROR_SIZE];
#ifdef TEGU_ASAN
	void *asan_fake_stack;
#endif
};

struct scheduler {
	void *sp; /* the thread's own stack while a fiber runs */
	struct fiber *current;
	struct fiber *ready_head, *ready_tail;
	unsigned live;
	char *stack_cache[FIBER_STACK_CACHE];
	unsigned cached;
	char error[FIBER_ERROR_SIZE];
#ifdef TEGU_ASAN
	const void *thread_stack_bottom;
	size_t thread_stack_size;
#endif
};

static _Thread_local struct scheduler sched;

static size_t page_size(void)
{
	static size_t size;
	if (size == 0)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

static char *stack_get(size_t *map_size_r)
{
	*map_size_r = FIBER_STACK_SIZE + page_size();
	if (sched.cached > 0)
		return sched.stack_cache[--sched.cached];
	char *map = mmap(NULL, *map_size_r, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED)
		abort();
	if (mprotect(map, page_size(), PROT_NONE) != 0)
		abort();
	return map;
}

static void stack_put(char *stack, size_t map_size)
{
	if (sched.cached < FIBER_STACK_CACHE) {
		sched.stack_cache[sched.cached++] = stack;
		return;
	}
	munmap(stack, map_size);
}

/* Switches from `from` (NULL: the scheduler) to `to` (NULL: the scheduler). */
static void switch_to(struct fiber *from, struct fiber *to, bool from_finished)
{
	void **save_sp = from ? &from->sp : &sched.sp;
#ifdef TEGU_ASAN
	void *sched_fake = NULL;
	void **fake_save = from_finished ? NULL : (from ? &from->asan_fake_stack : &sched_fake);
	if (to)
		__sanitizer_start_switch_fiber(fake_save, to->stack + page_size(),
					       FIBER_STACK_SIZE);
	else
		__sanitizer_start_switch_fiber(fake_save, sched.thread_stack_bottom,
					       sched.thread_stack_size);
	fiber_switch_context(save_sp, to ? to->sp : sched.sp);
	__sanitizer_finish_switch_fiber(from ? from->asan_fake_stack : sched_fake, NULL, NULL);
#else
	(void)from_finished;
	fiber_switch_context(save_sp, to ? to->sp : sched.sp);
#endif
}

static void fiber_entry(struct fiber *fiber)
{
#ifdef TEGU_ASAN
	__sanitizer_finish_switch_fiber(NULL, &sched.thread_stack_bottom, &sched.thread_stack_size);
#endif
	fiber->fn(fiber->arg);
	fiber->done = true;
	/* Back to the scheduler for good; it frees the stack we stand on. */
	switch_to(fiber, NULL, true);
	abort();
}

struct fiber *fiber_spawn(const char *name, fiber_fn *fn, void *arg)
{
	struct fiber *fiber = calloc(1, sizeof(*fiber));
	if (fiber == NULL)
		abort();
	fiber->name = name;
	fiber->fn = fn;
	fiber->arg = arg;
	fiber->stack = stack_get(&fiber->map_size);

	/* The initial frame fiber_switch_context pops: callee-saved registers
	 * (the fiber and its entry in the ones the trampoline reads) and the
	 * return address, with the stack 16-byte aligned after the return. */
	uintptr_t *top = (uintptr_t *)(fiber->stack + fiber->map_size);
#if defined(__x86_64__)
	/* After `ret` pops the return address the stack pointer is `top`,
	 * 16-byte aligned, as the trampoline's call requires. */
	uintptr_t *sp = top - 7;
	sp[6] = (uintptr_t)fiber_trampoline; /* return address */
	sp[5] = 0;			     /* rbp */
	sp[4] = 0;			     /* rbx */
	sp[3] = (uintptr_t)fiber;	     /* r12 */
	sp[2] = (uintptr_t)fiber_entry;	     /* r13 */
	sp[1] = 0;			     /* r14 */
	sp[0] = 0;			     /* r15 */
#elif defined(__aarch64__)
	uintptr_t *sp = top - 20;
	memset(sp, 0, 20 * sizeof(*sp));
	sp[0] = (uintptr_t)fiber;	      /* x19 */
	sp[1] = (uintptr_t)fiber_entry;	      /* x20 */
	sp[11] = (uintptr_t)fiber_trampoline; /* x30 */
#endif
	fiber->sp = sp;
	sched.live++;
	fiber_wake(fiber);
	return fiber;
}

struct fiber *fiber_current(void)
{
	return sched.current;
}

const char *fiber_name(const struct fiber *fiber)
{
	return fiber ? fiber->name : "scheduler";
}

void fiber_wake(struct fiber *fiber)
{
	if (fiber->ready || fiber->done)
		return;
	fiber->ready = true;
	fiber->next_ready = NULL;
	if (sched.ready_tail)
		sched.ready_tail->next_ready = fiber;
	else
		sched.ready_head = fiber;
	sched.ready_tail = fiber;
}

void fiber_park(void)
{
	struct fiber *self = sched.current;
	if (self == NULL)
		abort(); /* the scheduler cannot wait */
	switch_to(self, NULL, false);
}

void fiber_yield(void)
{
	fiber_wake(sched.current);
	fiber_park();
}

unsigned fiber_run_ready(void)
{
	unsigned ran = 0;
	/* Only the fibers ready now: one that wakes itself runs next turn,
	 * after the ring has been looked at again. */
	struct fiber *tail = sched.ready_tail;
	while (sched.ready_head != NULL) {
		struct fiber *fiber = sched.ready_head;
		bool last = fiber == tail;
		sched.ready_head = fiber->next_ready;
		if (sched.ready_head == NULL)
			sched.ready_tail = NULL;
		fiber->ready = false;
		sched.current = fiber;
		switch_to(NULL, fiber, false);
		sched.current = NULL;
		ran++;
		if (fiber->done) {
			stack_put(fiber->stack, fiber->map_size);
			sched.live--;
			free(fiber);
		}
		if (last)
			break;
	}
	return ran;
}

bool fiber_have_ready(void)
{
	return sched.ready_head != NULL;
}

unsigned fiber_live_count(void)
{
	return sched.live;
}

char *fiber_error_buf(unsigned *size_r)
{
	*size_r = FIBER_ERROR_SIZE;
	return sched.current ? sched.current->error : sched.error;
}

const char *fiber_error_set(const char *fmt, ...)
{
	unsigned size;
	char *buf = fiber_error_buf(&size);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}
