/* Message flags as the store keeps them (RFC 9051 2.3.2): system flags
 * in their canonical case, keywords as the client first wrote them; a
 * message's flags sorted and without repeats. Pure; shared by STORE and
 * APPEND. */
#ifndef TEGU_IMAP_FLAGS_H
#define TEGU_IMAP_FLAGS_H

/* A flag as stored, or NULL when it is not a flag one may set: \Recent,
 * unknown system flags, or a keyword that is no flag-keyword. The result
 * is flag itself or a static string. */
const char *imap_flag_canonical(const char *flag);

/* Sorts flags[0..n) (strcmp) and drops repeats. Returns how many are
 * left. */
unsigned imap_flags_sort_unique(const char **flags, unsigned n);

#endif
