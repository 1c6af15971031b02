/* A growable byte string for building responses. Allocation failure
 * aborts. data is always NUL-terminated. */
#ifndef TEGU_STRBUF_H
#define TEGU_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *data;
	size_t len, cap;
};

void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_appendf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vappendf(struct strbuf *sb, const char *fmt, va_list args)
    __attribute__((format(printf, 2, 0)));
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
