/* RFC 5322 address lists (From, To, Cc, ...) as IMAP's ENVELOPE wants them.
 *
 * Every address becomes the four ENVELOPE parts (RFC 3501 section 7.4.2):
 *   name     the display name as written: quoted strings unquoted, words
 *            joined by one space, encoded-words left encoded (IMAP sends
 *            them that way); for a bare addr-spec, the last non-empty
 *            comment ("a@b (Joe)" gives "Joe"); NULL if none.
 *   adl      the obsolete source route ("@a,@b" of "<@a,@b:x@y>"), else NULL.
 *   mailbox  the local part, quoted-strings unquoted.
 *   host     the domain; a domain literal keeps its brackets.
 * A group is a start marker (mailbox = group name, name/adl/host NULL), its
 * members, and an end marker (all four NULL), as IMAP represents it.
 *
 * Parsing never fails: obsolete forms (routes, CFWS around dots, empty
 * list elements, comments anywhere) are accepted, ';' outside a group
 * separates like ','. An element that yields no usable address still
 * gives one address, with the placeholders below in place of a missing
 * mailbox or host, because an address with a NULL host would read as a
 * group marker (Dovecot uses the same words). Garbage after an address is
 * skipped up to the next separator.
 */
#ifndef TEGU_MAIL_ADDRESS_H
#define TEGU_MAIL_ADDRESS_H

#include <stddef.h>

struct arena;

/* Addresses one list may hold; more are dropped and reported. */
#define MAIL_ADDRESS_MAX_PER_LIST 10000

/* The placeholders; compare by pointer to tell them from a real
 * "MISSING_DOMAIN" host. */
extern const char mail_address_missing_mailbox[]; /* "MISSING_MAILBOX" */
extern const char mail_address_missing_domain[];  /* "MISSING_DOMAIN" */

struct mail_address {
	struct mail_address *next;
	const char *name, *adl, *mailbox, *host;
};

struct mail_address_list {
	struct mail_address *first, *last;
	unsigned count; /* addresses and group markers */
};

/* Parses the raw value of an address header (folding allowed) and appends
 * its addresses to *list, which must start zeroed. Strings are copied into
 * the arena. Returns 0, or -1 with *error_r if the list reached
 * MAIL_ADDRESS_MAX_PER_LIST and addresses were dropped (the list is still
 * well formed: an open group still gets its end marker). */
int mail_address_parse(struct arena *arena, const char *value, size_t len,
		       struct mail_address_list *list, const char **error_r);

/* Group markers, as defined above. */
static inline int mail_address_is_group_start(const struct mail_address *addr)
{
	return addr->mailbox != NULL && addr->host == NULL;
}

static inline int mail_address_is_group_end(const struct mail_address *addr)
{
	return addr->mailbox == NULL && addr->host == NULL;
}

#endif
