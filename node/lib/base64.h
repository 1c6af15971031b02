/* Strict base64 (RFC 4648 section 4) for SASL exchanges. */
#ifndef TEGU_BASE64_H
#define TEGU_BASE64_H

#include <stddef.h>

/* Decodes the NUL-terminated in into out (size >= 3/4 of the input + 1):
 * padding required, no blanks. Returns the decoded length (out is
 * NUL-terminated after it), or -1. */
int base64_decode_strict(const char *in, unsigned char *out, size_t size);

#endif
