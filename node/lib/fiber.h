/* Fibers: cooperative threads with their own small guarded stack.
 *
 * Every connection and every background job runs in a fiber so protocol
 * code reads top to bottom; a call that would block submits to the
 * thread's io_uring (loop.h) and parks the fiber until the completion
 * arrives. Fibers never move between threads. The scheduler state is per
 * thread: fiber_spawn() creates the fiber on the calling thread.
 */
#ifndef TEGU_FIBER_H
#define TEGU_FIBER_H

#include <stdbool.h>
#include <stdint.h>

struct fiber;
typedef void fiber_fn(void *arg);

/* Creates a runnable fiber on this thread. name must be a static string.
 * The fiber ends when fn returns. Aborts on allocation failure. */
struct fiber *fiber_spawn(const char *name, fiber_fn *fn, void *arg);

/* The running fiber, or NULL in the scheduler. */
struct fiber *fiber_current(void);
const char *fiber_name(const struct fiber *fiber);

/* Gives up the CPU until fiber_wake(). Wakes may be spurious: callers
 * re-check their condition in a loop. Must be called from a fiber. */
void fiber_park(void);
/* Makes a parked fiber runnable; no-op if it is already runnable. */
void fiber_wake(struct fiber *fiber);
/* Lets other runnable fibers run first. */
void fiber_yield(void);

/* Runs every fiber that is runnable now; returns how many ran. Called by
 * the loop between io_uring completions. */
unsigned fiber_run_ready(void);
/* True when some fiber is runnable. */
bool fiber_have_ready(void);
/* Fibers created and not yet ended on this thread. */
unsigned fiber_live_count(void);

/* A per-fiber scratch buffer for error messages returned through
 * error_r: valid until the same fiber's next call that may fail. In the
 * scheduler it is a per-thread buffer. */
char *fiber_error_buf(unsigned *size_r);
const char *fiber_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
