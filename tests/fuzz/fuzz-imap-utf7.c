/* libFuzzer target for modified UTF-7 mailbox names.
 *
 * The input (up to its first NUL) is decoded as modified UTF-7; when it
 * decodes, the result must be valid UTF-8 and encode back to exactly the
 * input (one spelling per name), which decodes to the same UTF-8 again.
 * The input is also encoded as UTF-8: valid UTF-8 must encode to
 * printable US-ASCII that decodes back to it; anything else must fail and
 * leave the output as it was. Any violation abort()s so the fuzzer keeps
 * the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-utf7.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct strbuf utf8 = {0}, utf7 = {0}, back = {0};

	fuzz_check(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';

	/* Decode. */
	strbuf_append(&utf8, "p", 1);
	if (imap_utf7_to_utf8(s, &utf8) == 0) {
		fuzz_check(utf8_valid(utf8.data, utf8.len));
		fuzz_check(strlen(utf8.data) == utf8.len);
		fuzz_check(imap_utf8_to_utf7(utf8.data + 1, &utf7) == 0);
		fuzz_check(strcmp(utf7.data ? utf7.data : "", s) == 0);
		fuzz_check(imap_utf7_to_utf8(utf7.data ? utf7.data : "", &back) == 0);
		fuzz_check(strcmp(back.data ? back.data : "", utf8.data + 1) == 0);
	} else {
		fuzz_check(utf8.len == 1 && strcmp(utf8.data, "p") == 0);
	}

	/* Encode. */
	strbuf_reset(&utf7);
	strbuf_reset(&back);
	strbuf_append(&utf7, "p", 1);
	if (utf8_valid(s, strlen(s))) {
		fuzz_check(imap_utf8_to_utf7(s, &utf7) == 0);
		for (size_t i = 0; i < utf7.len; i++)
			fuzz_check(utf7.data[i] >= 0x20 && utf7.data[i] <= 0x7e);
		fuzz_check(imap_utf7_to_utf8(utf7.data + 1, &back) == 0);
		fuzz_check(strcmp(back.data ? back.data : "", s) == 0);
	} else {
		fuzz_check(imap_utf8_to_utf7(s, &utf7) == -1);
		fuzz_check(utf7.len == 1 && strcmp(utf7.data, "p") == 0);
	}
	strbuf_free(&utf8);
	strbuf_free(&utf7);
	strbuf_free(&back);
	free(s);
	return 0;
}
