/* CPU-heavy work (password hashing, key generation) off the event loop:
 * offload_run() hands fn to a small shared thread pool and parks the
 * calling fiber until it has run, so other fibers on the loop keep going.
 * fn must not touch the loop, fibers or the database. */
#ifndef TEGU_OFFLOAD_H
#define TEGU_OFFLOAD_H

void offload_run(void (*fn)(void *arg), void *arg);

#endif
