/* See arena.h. Blocks are a singly linked list; allocation bumps a pointer
 * in the newest block. */
#include "lib/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

struct arena_cleanup {
	void (*fn)(void *arg);
	void *arg;
	struct arena_cleanup *next;
};

struct arena {
	struct arena_block *blocks; /* newest first; the last one is the first block */
	struct arena_cleanup *cleanups;
	size_t block_size;
	size_t handed_out;
};

static struct arena_block *block_new(size_t size)
{
	struct arena_block *b = malloc(sizeof(*b) + size);
	if (b == NULL)
		abort();
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *arena_create(size_t block_size)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		abort();
	a->block_size = block_size < 256 ? 256 : block_size;
	a->blocks = block_new(a->block_size);
	return a;
}

static void run_cleanups(struct arena *a)
{
	while (a->cleanups) {
		struct arena_cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->arg); /* the record itself is arena memory */
	}
}

void arena_clear(struct arena *a)
{
	run_cleanups(a);
	while (a->blocks->next) {
		struct arena_block *b = a->blocks;
		a->blocks = b->next;
		free(b);
	}
	a->blocks->used = 0;
	a->handed_out = 0;
}

void arena_destroy(struct arena **ap)
{
	struct arena *a = *ap;
	if (a == NULL)
		return;
	*ap = NULL;
	arena_clear(a);
	free(a->blocks);
	free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
	/* Review: size arithmetic. Round up to the alignment, refusing sizes
	 * where that would overflow. */
	if (size > SIZE_MAX - ARENA_ALIGN)
		abort();
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	struct arena_block *b = a->blocks;
	if (b->size - b->used < size) {
		if (size > a->block_size / 2) {
			/* A block of its own, linked behind the current one so the
			 * current block's free space stays usable. */
			struct arena_block *big = block_new(size);
			big->used = size;
			big->next = b->next;
			b->next = big;
			a->handed_out += size;
			return big->data;
		}
		b = block_new(a->block_size);
		b->next = a->blocks;
		a->blocks = b;
	}
	void *p = b->data + b->used;
	b->used += size;
	a->handed_out += size;
	return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);
	memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0)
		abort();
	char *p = arena_alloc(a, (size_t)need + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)need + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_on_destroy(struct arena *a, void (*fn)(void *arg), void *arg)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_used(const struct arena *a)
{
	return a->handed_out;
}
