/* libFuzzer target for IMAP sequence sets.
 *
 * The input (up to its first NUL) is parsed; a set that parses is
 * resolved against a highest number derived from the input (0, small,
 * large, or near 2^32). The result must be sorted and merged (no overlap,
 * no adjacency); contains() must agree with a linear scan of the ranges as
 * parsed, each resolved on its own, on the values around every range end
 * and a few others; and the written form must parse back to the same set.
 * Any violation abort()s so the fuzzer keeps the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-seqset.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* Whether n is in one of the ranges as parsed, '*' taken as max (and as
 * nothing when max is 0). */
static int fuzz_linear(const struct imap_seq_range *r, unsigned count, uint32_t max, uint32_t n)
{
	for (unsigned i = 0; i < count; i++) {
		uint32_t lo = r[i].lo, hi = r[i].hi;

		if (hi == IMAP_SEQ_STAR) {
			if (max == 0)
				continue;
			hi = max;
			if (lo == IMAP_SEQ_STAR)
				lo = max;
		}
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return 1;
	}
	return 0;
}

static void fuzz_check_value(const struct imap_seqset *set, const struct imap_seq_range *parsed,
			     unsigned count, uint32_t max, uint32_t n)
{
	fuzz_check(imap_seqset_contains(set, n) == fuzz_linear(parsed, count, max, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_create(4096);
	char *s = malloc(size + 1);
	struct imap_seqset set, again;
	struct imap_seq_range *parsed;
	const char *error = NULL;
	uint32_t h = 2166136261u, max;

	fuzz_check(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	switch (h % 5) {
	case 0:
		max = 0;
		break;
	case 1:
		max = h % 16;
		break;
	case 2:
		max = h % 100000;
		break;
	case 3:
		max = UINT32_MAX - h % 4;
		break;
	default:
		max = h;
		break;
	}

	if (imap_seqset_parse(arena, s, &set, &error) != 0) {
		fuzz_check(error != NULL && error[0] != '\0');
		goto out;
	}
	fuzz_check(set.count >= 1 && set.count <= IMAP_SEQSET_MAX_RANGES);
	for (unsigned i = 0; i < set.count; i++) {
		fuzz_check(set.ranges[i].lo >= 1 && set.ranges[i].lo <= set.ranges[i].hi);
		fuzz_check(set.ranges[i].lo != IMAP_SEQ_STAR || set.ranges[i].hi == IMAP_SEQ_STAR);
	}
	parsed = malloc(set.count * sizeof(*parsed));
	fuzz_check(parsed != NULL);
	memcpy(parsed, set.ranges, set.count * sizeof(*parsed));
	unsigned parsed_count = set.count;

	imap_seqset_resolve(&set, max);
	for (unsigned i = 0; i < set.count; i++) {
		fuzz_check(set.ranges[i].lo <= set.ranges[i].hi);
		if (i > 0)
			fuzz_check((uint64_t)set.ranges[i - 1].hi + 1 < set.ranges[i].lo);
	}
	/* Around every range end, as parsed and as resolved. */
	for (unsigned i = 0; i < parsed_count; i++) {
		uint32_t ends[2] = {parsed[i].lo, parsed[i].hi};
		for (int k = 0; k < 2; k++) {
			fuzz_check_value(&set, parsed, parsed_count, max, ends[k]);
			fuzz_check_value(&set, parsed, parsed_count, max, ends[k] - 1);
			fuzz_check_value(&set, parsed, parsed_count, max, ends[k] + 1);
		}
	}
	for (unsigned i = 0; i < set.count; i++) {
		fuzz_check_value(&set, parsed, parsed_count, max, set.ranges[i].lo - 1);
		fuzz_check_value(&set, parsed, parsed_count, max, set.ranges[i].hi + 1);
		fuzz_check_value(&set, parsed, parsed_count, max,
				 set.ranges[i].lo + (set.ranges[i].hi - set.ranges[i].lo) / 2);
	}
	static const uint32_t fixed[] = {0, 1, 2, UINT32_MAX - 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		fuzz_check_value(&set, parsed, parsed_count, max, fixed[i]);
	fuzz_check_value(&set, parsed, parsed_count, max, max);
	fuzz_check_value(&set, parsed, parsed_count, max, max + 1);
	fuzz_check_value(&set, parsed, parsed_count, max, h);

	/* The written form parses back to the same set ("4294967295" stands
	 * for 4294967294, so a set reaching 2^32-1 is left out). */
	struct strbuf sb = {0}, mr = {0};
	imap_seqset_write(&sb, &set);
	imap_seqset_write_multirange(&mr, &set);
	fuzz_check(mr.len >= 2 && mr.data[0] == '{' && mr.data[mr.len - 1] == '}');
	if (set.count == 0) {
		fuzz_check(sb.len == 0 && mr.len == 2);
	} else if (set.ranges[set.count - 1].hi != UINT32_MAX) {
		fuzz_check(imap_seqset_parse(arena, sb.data, &again, &error) == 0);
		fuzz_check(again.count == set.count);
		imap_seqset_resolve(&again, max);
		fuzz_check(again.count == set.count);
		fuzz_check(memcmp(again.ranges, set.ranges, set.count * sizeof(set.ranges[0])) ==
			   0);
	}
	strbuf_free(&sb);
	strbuf_free(&mr);
	free(parsed);
out:
	free(s);
	arena_destroy(&arena);
	return 0;
}
