/* See sasl.h. */
#include "lib/sasl.h"

#include <string.h>

#include "lib/base64.h"

int sasl_plain_decode(const char *text, unsigned char *buf, size_t size, struct sasl_plain *r)
{
	int n = base64_decode_strict(text, buf, size);
	if (n <= 0)
		return -1;
	/* base64_decode_strict() NUL-terminated the octets, so the last part
	 * ends there. */
	const char *start = (const char *)buf, *end = start + n;
	const char *first = memchr(start, '\0', (size_t)n);
	const char *second =
	    first != NULL ? memchr(first + 1, '\0', (size_t)(end - first - 1)) : NULL;
	if (second == NULL || second == first + 1 ||
	    memchr(second + 1, '\0', (size_t)(end - second - 1)) != NULL)
		return -1;
	r->authzid = start;
	r->authcid = first + 1;
	r->password = second + 1;
	return 0;
}
