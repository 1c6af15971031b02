/* libFuzzer target for the DATA body reader.
 *
 * The first input octet picks a split point, the second the size limit;
 * the rest is the body as the client sends it. It is fed whole, in two
 * pieces and one octet at a time, which must all agree, and the result is
 * compared with a plain reference: the data ends at the first CRLF "."
 * CRLF (counting the DATA command's CRLF), the message is its lines with
 * one leading dot removed, and the flags follow from the raw octets. Any
 * difference abort()s so the fuzzer keeps the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "smtp/smtp-data.h"
#include "smtp/smtp-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_result {
	struct strbuf out;
	unsigned flags;
	uint64_t size;
	size_t consumed;
	bool done;
};

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* Feeds in[0..len) in pieces of at most step octets (0: one piece at
 * cut, then the rest). */
static void fuzz_feed(const char *in, size_t len, uint64_t max_size, size_t cut, size_t step,
		      struct fuzz_result *res)
{
	struct smtp_data_reader r;
	size_t start = 0;
	/* For fixed steps, one heap block of exactly step octets serves every
	 * piece; otherwise a block of exactly each piece. Either way ASan sees
	 * a read past the piece. */
	char *block = step != 0 ? malloc(step) : NULL;

	fuzz_check(step == 0 || block != NULL);
	memset(res, 0, sizeof(*res));
	smtp_data_reader_init(&r, max_size);
	while (!res->done) {
		size_t stop = step != 0 ? (len - start > step ? start + step : len)
					: (start < cut ? cut : len);
		size_t n, piece_len = stop - start;
		char *piece = block != NULL && piece_len == step
				  ? block
				  : malloc(piece_len > 0 ? piece_len : 1);

		fuzz_check(piece != NULL);
		memcpy(piece, in + start, piece_len);
		n = smtp_data_feed(&r, piece, piece_len, &res->out, &res->done);
		if (piece != block)
			free(piece);
		fuzz_check(n <= piece_len);
		fuzz_check(res->done || n == piece_len);
		fuzz_check(res->out.len <= max_size);
		fuzz_check(r.size >= res->out.len);
		res->consumed += n;
		start = stop;
		if (start == len)
			break;
	}
	free(block);
	res->flags = r.flags;
	res->size = r.size;
}

static void fuzz_check_same(const struct fuzz_result *a, const struct fuzz_result *b)
{
	fuzz_check(a->done == b->done && a->consumed == b->consumed && a->flags == b->flags &&
		   a->size == b->size && a->out.len == b->out.len);
	fuzz_check(a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

/* The reference reader: the same answer from the definitions, not from a
 * state machine. */
static void fuzz_reference(const char *in, size_t len, uint64_t max_size, struct fuzz_result *ref)
{
	size_t msg_len = len, pos = 0;

	memset(ref, 0, sizeof(*ref));
	/* The end: ".\r\n" at the start, else the first "\r\n.\r\n". */
	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0) {
		ref->done = true;
		ref->consumed = 3;
		msg_len = 0;
	} else {
		for (size_t i = 0; i + 5 <= len; i++) {
			if (memcmp(in + i, "\r\n.\r\n", 5) == 0) {
				ref->done = true;
				ref->consumed = i + 5;
				msg_len = i + 2;
				break;
			}
		}
	}
	if (!ref->done)
		ref->consumed = len;

	/* The message octets in[0..msg_len) line by line. */
	while (pos < msg_len) {
		const char *crlf = NULL;
		size_t line_end, start = pos;

		for (size_t i = pos; i + 1 < msg_len; i++) {
			if (in[i] == '\r' && in[i + 1] == '\n') {
				crlf = in + i;
				break;
			}
		}
		line_end = crlf != NULL ? (size_t)(crlf - in) : msg_len;
		if (crlf != NULL ? line_end - pos + 2 > SMTP_MAX_TEXT_LINE
				 : line_end - pos > SMTP_MAX_TEXT_LINE)
			ref->flags |= SMTP_DATA_LONG_LINE;
		if (crlf == NULL) {
			/* An unfinished last line: a lone "." or ".\r" and a final
			 * CR are held back until the next octet. */
			if (line_end > pos && in[line_end - 1] == '\r')
				line_end--;
		}
		if (line_end > pos && in[pos] == '.')
			start++;
		if (line_end > start)
			strbuf_append(&ref->out, in + start, line_end - start);
		if (crlf != NULL)
			strbuf_append(&ref->out, "\r\n", 2);
		pos = crlf != NULL ? line_end + 2 : msg_len;
	}
	for (size_t i = 0; i < msg_len; i++) {
		if (in[i] == '\r' && i + 1 < msg_len && in[i + 1] != '\n')
			ref->flags |= SMTP_DATA_BARE_CR;
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			ref->flags |= SMTP_DATA_BARE_LF;
	}
	for (size_t i = 0; i < ref->out.len; i++) {
		if (ref->out.data[i] == '\0')
			ref->flags |= SMTP_DATA_NUL;
		else if ((unsigned char)ref->out.data[i] >= 0x80)
			ref->flags |= SMTP_DATA_8BIT;
	}
	ref->size = ref->out.len;
	if (ref->size > max_size) {
		ref->flags |= SMTP_DATA_TOO_BIG;
		ref->out.len = (size_t)max_size;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_result whole, split, bytes, ref;
	const char *in = (const char *)data + 2;
	size_t len, cut;
	uint64_t max_size;

	if (size < 2)
		return 0;
	len = size - 2;
	cut = (size_t)data[0] * (len + 1) / 256;
	/* Small limits exercise TOO_BIG, 255 means no limit worth the name. */
	max_size = data[1] == 255 ? UINT64_MAX : (uint64_t)data[1] * 8;

	fuzz_feed(in, len, max_size, len, 0, &whole);
	fuzz_feed(in, len, max_size, cut, 0, &split);
	fuzz_feed(in, len, max_size, 0, 1, &bytes);
	fuzz_check_same(&whole, &split);
	fuzz_check_same(&whole, &bytes);

	fuzz_check(whole.consumed <= len);
	if (whole.done)
		fuzz_check(
		    (whole.consumed == 3 && memcmp(in, ".\r\n", 3) == 0) ||
		    (whole.consumed >= 5 && memcmp(in + whole.consumed - 5, "\r\n.\r\n", 5) == 0));
	else
		fuzz_check(whole.consumed == len);
	if (whole.size > max_size)
		fuzz_check((whole.flags & SMTP_DATA_TOO_BIG) != 0 && whole.out.len == max_size);
	else
		fuzz_check((whole.flags & SMTP_DATA_TOO_BIG) == 0 && whole.out.len == whole.size);
	if (whole.done && whole.out.len > 0 && whole.size <= max_size)
		fuzz_check(whole.out.len >= 2 &&
			   memcmp(whole.out.data + whole.out.len - 2, "\r\n", 2) == 0);

	fuzz_reference(in, len, max_size, &ref);
	fuzz_check_same(&whole, &ref);

	strbuf_free(&whole.out);
	strbuf_free(&split.out);
	strbuf_free(&bytes.out);
	strbuf_free(&ref.out);
	return 0;
}
