/* libFuzzer target for SORT's subject rules (node/imap/imap-sort.c).
 *
 * The input is taken as a subject already decoded and its base subject
 * (RFC 5256 section 2.1) computed. Checks: the base subject of the base
 * subject is the same text (idempotence: nothing the rules strip can be
 * left or exposed), it is never longer than the input, it is valid UTF-8
 * whenever the input is, and it has no blank at either end and no two
 * blanks in a row. The comparison folding must be idempotent and keep
 * UTF-8 valid too. The subject key of the input taken as a raw header
 * value (encoded-words decoded first) must be valid UTF-8 whatever the
 * input. Any violation abort()s so the fuzzer keeps the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-sort.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static const char *text(const struct strbuf *sb)
{
	return sb->data != NULL ? sb->data : "";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	bool valid = utf8_valid(data, size);
	struct strbuf base = {0}, again = {0}, fold = {0}, fold2 = {0};

	imap_sort_base_subject(&base, in, size);
	fuzz_check(base.len <= size);
	imap_sort_base_subject(&again, text(&base), base.len);
	fuzz_check(again.len == base.len && memcmp(text(&again), text(&base), base.len) == 0);
	if (valid)
		fuzz_check(utf8_valid(text(&base), base.len));
	if (base.len > 0) {
		fuzz_check(base.data[0] != ' ' && base.data[base.len - 1] != ' ');
		for (size_t i = 0; i < base.len; i++)
			fuzz_check(base.data[i] != '\t' && base.data[i] != '\r' &&
				   base.data[i] != '\n' &&
				   (i == 0 || base.data[i] != ' ' || base.data[i - 1] != ' '));
	}

	imap_sort_fold(&fold, text(&base), base.len);
	fuzz_check(fold.len == base.len);
	imap_sort_fold(&fold2, text(&fold), fold.len);
	fuzz_check(fold2.len == fold.len && memcmp(text(&fold2), text(&fold), fold.len) == 0);
	if (valid)
		fuzz_check(utf8_valid(text(&fold), fold.len));

	/* As a raw header value: the decoder's output is always UTF-8. */
	if (memchr(data, '\0', size) == NULL) {
		struct arena *arena = arena_create(4096);
		char *raw = arena_strndup(arena, in, size);
		const char *key = imap_sort_subject_key(arena, raw);
		fuzz_check(utf8_valid(key, strlen(key)));
		arena_destroy(&arena);
	}

	strbuf_free(&base);
	strbuf_free(&again);
	strbuf_free(&fold);
	strbuf_free(&fold2);
	return 0;
}
