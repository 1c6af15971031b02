/* SORT (RFC 5256) and its display-name keys (RFC 5957): the sort
 * criteria, the key of each message as the RFC defines it, and the
 * order. Pure: no I/O, memory only from the arena or strbuf given, so
 * the subject rules are table-tested (tests/unit/test-imap-sort.c) and
 * fuzzed (tests/fuzz/fuzz-imap-sort.c). imap-cmd-sort.c runs the search
 * and feeds the envelopes in.
 *
 * Comparisons: addresses (FROM, TO, CC: the local part of the first
 * address) under i;ascii-casemap, a-z mapped to A-Z and then octets
 * compared. Subjects and display names are compared by code point
 * after a simple upper-casing of Latin-1, Latin Extended-A, Greek and
 * Cyrillic (imap_sort_fold): enough for i;unicode-casemap's purpose in
 * the languages our users write, without its full decomposition tables.
 * Equal keys fall through to the next criterion, and finally to the
 * message number, ascending whatever REVERSE said (RFC 5256 section 3).
 */
#ifndef TEGU_IMAP_SORT_H
#define TEGU_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct imap_arg;
struct mail_envelope;
struct strbuf;

/* Criteria one SORT may give; more is an error (a bound on the work per
 * comparison). */
#define IMAP_SORT_MAX_CRITERIA 16

enum imap_sort_key {
	IMAP_SORT_ARRIVAL, /* INTERNALDATE */
	IMAP_SORT_CC,
	IMAP_SORT_DATE, /* the Date: field, else INTERNALDATE */
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT, /* the base subject */
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, /* RFC 5957 */
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;
};

/* Parses the sort-criteria list ("(REVERSE DATE SUBJECT)"), any case.
 * Returns the number of criteria (1..IMAP_SORT_MAX_CRITERIA) in
 * criteria[], or -1 with *error_r for a BAD. */
int imap_sort_parse(const struct imap_arg *list, struct imap_sort_criterion *criteria,
		    const char **error_r);

/* true when a criterion needs the message's envelope (the addresses or
 * the subject), false when dates and sizes are enough. */
bool imap_sort_needs_envelope(const struct imap_sort_criterion *criteria, unsigned count);

/* One message as the sort sees it. */
struct imap_sort_message {
	uint32_t seq; /* message number: the final tie-break */
	uint32_t id;  /* what the answer lists: the message number or the UID */
	int64_t arrival, date;
	uint64_t size;
	/* Keys as compared ("" when the message has none); only those the
	 * criteria need are set, the others stay NULL. */
	const char *subject, *from, *to, *cc, *display_from, *display_to;
};

/* Appends the base subject of text[0..len) (RFC 5256 section 2.1),
 * which must already be decoded (no RFC 2047 words left): blanks and
 * line breaks become one space, then "Re:", "Fw:", "Fwd:" and "[blob]"
 * leaders, "(fwd)" trailers and "[fwd: ...]" wrappers come off, matched
 * case-insensitively. Idempotent: applied to its own output it gives
 * the same text; valid UTF-8 in gives valid UTF-8 out. */
void imap_sort_base_subject(struct strbuf *out, const char *text, size_t len);

/* Appends text[0..len) with the simple upper-casing described above;
 * other octets, valid or not, are copied. Idempotent. */
void imap_sort_fold(struct strbuf *out, const char *text, size_t len);

/* The SUBJECT key of a raw Subject value (as the envelope holds it,
 * folding and encoded-words included): decoded to UTF-8, base subject,
 * folded. An arena string. */
const char *imap_sort_subject_key(struct arena *arena, const char *raw);

/* Sets the keys of m that the criteria need from env (NULL: a message
 * without envelope, every key ""); strings are copied into arena, so
 * env may go away afterwards. */
void imap_sort_set_keys(struct arena *arena, struct imap_sort_message *m,
			const struct mail_envelope *env, const struct imap_sort_criterion *criteria,
			unsigned count);

/* <0, 0, >0 as a sorts before, with, after b under the criteria (never
 * 0 for two messages of different numbers). */
int imap_sort_compare(const struct imap_sort_message *a, const struct imap_sort_message *b,
		      const struct imap_sort_criterion *criteria, unsigned count);

/* Sorts messages[0..n) in place. */
void imap_sort(struct imap_sort_message *messages, unsigned n,
	       const struct imap_sort_criterion *criteria, unsigned count);

#endif
