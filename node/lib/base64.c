/* See base64.h: OpenSSL's block decoder with the checks it lacks. */
#include "lib/base64.h"

#include <openssl/evp.h>
#include <string.h>

int base64_decode_strict(const char *in, unsigned char *out, size_t size)
{
	size_t len = strlen(in);
	if (len % 4 != 0 || len / 4 * 3 + 1 > size)
		return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero octets. */
	if (len > 0 && in[len - 1] == '=')
		n--;
	if (len > 1 && in[len - 2] == '=')
		n--;
	out[n] = '\0';
	return n;
}
