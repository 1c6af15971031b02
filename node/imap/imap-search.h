/* IMAP SEARCH (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4): the search
 * keys parsed into a tree, and the tree turned into a PostgreSQL WHERE
 * clause.
 *
 * The parser takes the arguments that follow "SEARCH [RETURN (...)]
 * [CHARSET x]" (the command handles those two), or the search keys of
 * SORT. Keys are case-insensitive; every key of RFC 9051 and RFC 3501 is
 * known (NEW, OLD, RECENT, UNANSWERED ... included), plus MODSEQ (RFC 7162,
 * with its optional entry-name and entry-type-req, which are parsed and
 * ignored), SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED (RFC 8514),
 * OLDER/YOUNGER (RFC 5032) and EMAILID/THREADID (RFC 8474).
 *
 * SQL: the clause is built only from fixed fragments; every value from
 * the client is a parameter. It refers to two tables, as the caller must
 * name them in its FROM:
 *   m  messages:   uid bigint, modseq bigint, flags text[], internaldate
 *                  timestamptz, savedate timestamptz, size bigint,
 *                  email_id text
 *   b  mail_blobs: sent_date timestamptz (the Date: header, NULL if none
 *                  or unparsable), header_fields text[] (one element per
 *                  header field: lower-case name, ':', the value unfolded
 *                  and decoded to UTF-8), body_tsv tsvector (the text
 *                  parts, decoded, under the text search configuration
 *                  'tegu')
 * HEADER/FROM/TO/CC/BCC/SUBJECT match a substring of the field value,
 * case-insensitively (as RFC 9051 asks). BODY and TEXT use the full-text
 * index: every word of the string must begin a word of the message (in
 * stemmed form), which is what Dovecot's FTS gives; TEXT matches the
 * header fields by substring too. Message numbers are turned into UIDs
 * with the map the session holds.
 */
#ifndef TEGU_IMAP_SEARCH_H
#define TEGU_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-seqset.h"

struct arena;
struct imap_arg;
struct strbuf;

/* Keys nested deeper than this (NOT NOT NOT ..., OR chains, lists) are an
 * error; it bounds the recursion of both parser and compiler. */
#define IMAP_SEARCH_MAX_DEPTH 64

enum imap_search_type {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND, /* children: a list, or the keys of the program */
	IMAP_SEARCH_OR,	 /* children: two */
	IMAP_SEARCH_NOT, /* children: one */
	IMAP_SEARCH_SEQSET,
	IMAP_SEARCH_UIDSET,
	IMAP_SEARCH_FLAG,   /* text: "\Seen", ... or a keyword; UNSEEN is NOT FLAG */
	IMAP_SEARCH_RECENT, /* RECENT; NEW is AND(RECENT, NOT \Seen) */
	IMAP_SEARCH_HEADER, /* field (lower case), text; FROM etc. are HEADER */
	IMAP_SEARCH_BODY,   /* text */
	IMAP_SEARCH_TEXT,   /* text */
	IMAP_SEARCH_DATE,   /* date_field, date_op, date */
	IMAP_SEARCH_OLDER,  /* number: seconds (RFC 5032) */
	IMAP_SEARCH_YOUNGER,
	IMAP_SEARCH_LARGER, /* number */
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_MODSEQ, /* number */
	IMAP_SEARCH_SAVEDATESUPPORTED,
	IMAP_SEARCH_EMAILID, /* text */
	IMAP_SEARCH_THREADID,
};

enum imap_search_date_field {
	IMAP_SEARCH_INTERNALDATE, /* BEFORE, ON, SINCE */
	IMAP_SEARCH_SENTDATE,	  /* SENTBEFORE, ... */
	IMAP_SEARCH_SAVEDATE,	  /* SAVEDBEFORE, ... */
};

enum imap_search_date_op {
	IMAP_SEARCH_DATE_BEFORE,
	IMAP_SEARCH_DATE_ON,
	IMAP_SEARCH_DATE_SINCE,
};

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key *children; /* AND, OR, NOT: a list by ->next */
	struct imap_search_key *next;
	unsigned child_count;
	const char *field, *text;
	unsigned long long number;
	struct imap_seqset set; /* SEQSET, UIDSET: as parsed ('*' unresolved) */
	enum imap_search_date_field date_field;
	enum imap_search_date_op date_op;
	int year, month, day; /* of "d-Mon-yyyy" */
};

/* Parses keys args[0..count). Returns 0 with *key_r (an AND of the keys,
 * or the one key), or -1 with *error_r for a BAD. A string that is not
 * valid UTF-8 is an error when utf8 is true (CHARSET UTF-8, or
 * UTF8=ACCEPT); with US-ASCII every octet must be 7-bit. */
int imap_search_parse(struct arena *arena, const struct imap_arg *args, unsigned count, bool utf8,
		      struct imap_search_key **key_r, const char **error_r);

/* true if the tree has a key the full-text index answers (BODY, TEXT);
 * MODSEQ and SAVEDATE likewise tell the command what to send back. */
bool imap_search_has(const struct imap_search_key *key, enum imap_search_type type);

/* true if the condition reads columns of mail_blobs (header fields, the
 * full-text index, the Date: field): without, the query need not join it. */
bool imap_search_needs_blob(const struct imap_search_key *key);

/* The session's view of the mailbox, for message numbers and '*'. */
struct imap_search_view {
	const uint32_t *uids; /* uids[seq - 1]: ascending */
	uint32_t count;	      /* messages in the session's view */
	const char *timezone; /* for ON/BEFORE/SINCE: "UTC" unless configured */
};

/* Appends the WHERE condition for key to where (parenthesized), adding
 * values to params[*nparams...] (arena strings, text format) and
 * numbering them from $(*nparams + 1): the caller's own parameters come
 * first. params must have room for IMAP_SEARCH_MAX_PARAMS more. Returns 0,
 * or -1 with *error_r when the tree needs more parameters than that. */
#define IMAP_SEARCH_MAX_PARAMS 256
int imap_search_sql(struct arena *arena, const struct imap_search_key *key,
		    const struct imap_search_view *view, struct strbuf *where, const char **params,
		    unsigned *nparams, const char **error_r);

#endif
