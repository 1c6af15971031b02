/* UTF-8 checks for input from the network and from admins. */
#ifndef TEGU_UTF8_H
#define TEGU_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms,
 * no surrogates, nothing past U+10FFFF, no truncated sequence. */
bool utf8_valid(const void *s, size_t len);

#endif
