/* Search keys run against the selected mailbox: what SEARCH and SORT
 * share (imap-cmd-search.c, imap-cmd-sort.c). The charset argument, the
 * keys compiled into one condition (imap-search.h), the matching
 * messages from the store (store_sort_matches) and the ESEARCH answer of
 * RFC 4731, which ESORT (RFC 5267) uses too. Functions that return -1
 * have answered the client already. */
#ifndef TEGU_IMAP_SEARCH_RUN_H
#define TEGU_IMAP_SEARCH_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store-mailbox.h"

struct imap_arg;
struct imap_session;

enum imap_search_run_return {
	IMAP_SEARCH_RETURN_MIN = 1 << 0,
	IMAP_SEARCH_RETURN_MAX = 1 << 1,
	IMAP_SEARCH_RETURN_COUNT = 1 << 2,
	IMAP_SEARCH_RETURN_ALL = 1 << 3,
};

/* Parses the list after RETURN into *options_r; "()" means ALL (RFC
 * 4731 3.1). Returns 0, or -1 for an unknown option (nothing answered). */
int imap_search_run_return(const struct imap_arg *list, unsigned *options_r);

/* A charset argument: US-ASCII or UTF-8, any case. Returns 0 with
 * *utf8_r (true for UTF-8, and whenever UTF8=ACCEPT is on), or -1 after
 * BAD (not a string) or NO [BADCHARSET]. */
int imap_search_run_charset(struct imap_session *s, const struct imap_arg *arg, bool *utf8_r);

/* Search keys compiled for the selected mailbox. */
struct imap_search_run {
	const char *where; /* condition for store_sort_matches() */
	const char **params;
	unsigned nparams;
	bool with_modseq; /* a MODSEQ key: answers carry the highest MODSEQ */
	bool needs_blob;  /* the condition reads the content's columns (b.) */
};

/* Parses the keys args[0..count) (verb names the command in errors) and
 * compiles them into *run_r, in the command's arena. A MODSEQ key turns
 * CONDSTORE on (RFC 7162 3.1). Returns 0, or -1 after BAD or NO [LIMIT]. */
int imap_search_run_prepare(struct imap_session *s, const char *verb, const struct imap_arg *args,
			    unsigned count, bool utf8, struct imap_search_run *run_r);

/* Calls fn for each message that matches, by ascending UID (including
 * messages the client has not been told of yet: imap_select_seq() gives
 * 0 for those). Returns 0, or -1 after NO [UNAVAILABLE]. */
int imap_search_run_matches(struct imap_session *s, const struct imap_search_run *run,
			    unsigned fields, store_sort_fn *fn, void *context);

/* Queues "* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]
 * [MODSEQ n]" for found[0..n), which is in the answer's order: ascending
 * for SEARCH, sorted for SORT. MIN and MAX are the first and last of
 * that order, and ALL keeps it, joining only runs of consecutive
 * ascending numbers ("3:5,1,9"), so ESORT answers in sort order. */
void imap_search_run_esearch(struct imap_session *s, bool uid, unsigned options,
			     const uint32_t *found, unsigned n, bool with_modseq, uint64_t highest);

#endif
