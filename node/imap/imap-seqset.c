/* IMAP sequence sets, the contract is in imap-seqset.h.
 *
 * '*' and the number 4294967295 share the value IMAP_SEQ_STAR, so a
 * written-out 4294967295 is taken as 4294967294: no UID or message number
 * ever reaches either, so "4294967295" still matches nothing and
 * "4294967295:*" still matches the last message, as RFC 9051 wants. Only
 * the parser's '*' is ever IMAP_SEQ_STAR.
 *
 * Resolving sorts (qsort, O(n log n)) and merges in one linear pass.
 */
#include "imap/imap-seqset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/strbuf.h"

/* One seq-number at *sp: nz-number or '*'. Leading zeros are tolerated
 * ("007"), zero itself is not. */
static int imap_seq_number(const char **sp, uint32_t *n_r, const char **error_r)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '0' || *s > '9') {
		*error_r = "Invalid sequence set: number expected";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX) {
			*error_r = "Invalid sequence set: number too big";
			return -1;
		}
	}
	if (n == 0) {
		*error_r = "Invalid sequence set: 0 is not a message number";
		return -1;
	}
	*n_r = n == IMAP_SEQ_STAR ? IMAP_SEQ_STAR - 1 : (uint32_t)n;
	*sp = s;
	return 0;
}

int imap_seqset_parse(struct arena *arena, const char *s, struct imap_seqset *set_r,
		      const char **error_r)
{
	size_t ranges = 1;
	unsigned count = 0;

	set_r->ranges = NULL;
	set_r->count = 0;
	if (*s == '\0') {
		*error_r = "Invalid sequence set: empty";
		return -1;
	}
	for (const char *p = s; *p != '\0'; p++)
		if (*p == ',' && ++ranges > IMAP_SEQSET_MAX_RANGES) {
			*error_r = "Sequence set has too many ranges";
			return -1;
		}
	struct imap_seq_range *r = arena_alloc(arena, ranges * sizeof(*r));

	for (;;) {
		uint32_t lo, hi;

		if (imap_seq_number(&s, &lo, error_r) < 0)
			return -1;
		hi = lo;
		if (*s == ':') {
			s++;
			if (imap_seq_number(&s, &hi, error_r) < 0)
				return -1;
		}
		r[count].lo = lo < hi ? lo : hi;
		r[count].hi = lo < hi ? hi : lo;
		count++;
		if (*s == '\0')
			break;
		if (*s != ',') {
			*error_r = "Invalid sequence set: bad character";
			return -1;
		}
		s++;
	}
	set_r->ranges = r;
	set_r->count = count;
	return 0;
}

static int imap_seq_range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.hi == IMAP_SEQ_STAR) {
			/* In an empty mailbox '*' stands for nothing. */
			if (max == 0)
				continue;
			r.hi = max;
			if (r.lo == IMAP_SEQ_STAR)
				r.lo = max;
		}
		if (r.lo > r.hi) {
			uint32_t t = r.lo;
			r.lo = r.hi;
			r.hi = t;
		}
		set->ranges[kept++] = r;
	}
	set->count = kept;
	if (kept < 2)
		return;
	qsort(set->ranges, kept, sizeof(set->ranges[0]), imap_seq_range_cmp);
	unsigned out = 0;
	for (unsigned i = 1; i < kept; i++) {
		struct imap_seq_range *last = &set->ranges[out];
		const struct imap_seq_range *r = &set->ranges[i];

		if ((uint64_t)r->lo <= (uint64_t)last->hi + 1) {
			if (r->hi > last->hi)
				last->hi = r->hi;
		} else {
			set->ranges[++out] = *r;
		}
	}
	set->count = out + 1;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct imap_seq_range *r = &set->ranges[mid];

		if (n < r->lo)
			hi = mid;
		else if (n > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void imap_seqset_write(struct strbuf *out, const struct imap_seqset *set)
{
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];
		const char *sep = i > 0 ? "," : "";

		if (r->lo == r->hi)
			strbuf_appendf(out, "%s%u", sep, (unsigned)r->lo);
		else
			strbuf_appendf(out, "%s%u:%u", sep, (unsigned)r->lo, (unsigned)r->hi);
	}
}

void imap_seqset_write_multirange(struct strbuf *out, const struct imap_seqset *set)
{
	strbuf_append(out, "{", 1);
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		strbuf_appendf(out, "%s[%llu,%llu)", i > 0 ? "," : "", (unsigned long long)r->lo,
			       (unsigned long long)r->hi + 1);
	}
	strbuf_append(out, "}", 1);
}
