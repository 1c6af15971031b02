/* The SASL PLAIN message (RFC 4616) that SMTP AUTH and IMAP AUTHENTICATE
 * both receive: base64 of authzid NUL authcid NUL passwd. */
#ifndef TEGU_SASL_H
#define TEGU_SASL_H

#include <stddef.h>

struct sasl_plain {
	const char *authzid; /* "" when absent */
	const char *authcid;
	const char *password;
};

/* Decodes the base64 text into buf (size octets; the parts point into
 * it, NUL-terminated). Returns 0, or -1 when the text is not base64 or
 * not three parts with a non-empty authcid. The caller wipes buf. */
int sasl_plain_decode(const char *text, unsigned char *buf, size_t size, struct sasl_plain *r);

#endif
