/* Arenas: memory that belongs to a lifetime (a connection, a command, a
 * request) and is freed all at once with it, plus cleanups for what is not
 * memory (a PGresult, an fd). Protocol code allocates from its arena and
 * never calls free(). Allocation failure aborts. */
#ifndef TEGU_ARENA_H
#define TEGU_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_create(size_t block_size);
/* Runs the cleanups (last registered first), frees everything, clears *a. */
void arena_destroy(struct arena **a);
/* Frees everything but keeps the first block for reuse; runs cleanups. */
void arena_clear(struct arena *a);

/* Aligned for any type. Large requests get a block of their own. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_on_destroy(struct arena *a, void (*fn)(void *arg), void *arg);
/* Bytes handed out since creation or the last clear (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif
