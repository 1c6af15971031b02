/* See strbuf.h. */
#include "lib/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *grown = realloc(sb->data, cap);
	if (grown == NULL)
		abort();
	sb->data = grown;
	sb->cap = cap;
}

void strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	reserve(sb, len);
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void strbuf_vappendf(struct strbuf *sb, const char *fmt, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	int need = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (need < 0)
		abort();
	reserve(sb, (size_t)need);
	vsnprintf(sb->data + sb->len, (size_t)need + 1, fmt, args);
	sb->len += (size_t)need;
}

void strbuf_appendf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vappendf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}
