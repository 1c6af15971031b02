/* The IMAP ENVELOPE of a message (RFC 3501 section 7.4.2, RFC 9051
 * section 7.5.2): built once at delivery, printed by FETCH.
 *
 * String fields hold the raw header value as written (after the colon and
 * the blanks that follow it, folding kept, NUL turned into U+FFFD), NULL
 * when the field is absent; the last occurrence of a repeated field wins.
 * Address fields gather the addresses of every occurrence. After
 * mail_envelope_finish(), sender and reply_to are from when their header
 * is absent or gives no address (RFC 3501). All memory is arena memory.
 */
#ifndef TEGU_MAIL_ENVELOPE_H
#define TEGU_MAIL_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mail-address.h"

struct arena;
struct strbuf;
struct mail_header_field;

struct mail_envelope {
	const char *date, *subject;
	struct mail_address_list from, sender, reply_to, to, cc, bcc;
	const char *in_reply_to, *message_id;
	/* The first problem met (an address list cut at its limit), or NULL. */
	const char *error;
};

/* Feeds one header field of the message (data is the buffer the field's
 * offsets refer to); fields the envelope does not use are ignored. Returns
 * true if the field was used. env must start zeroed. */
bool mail_envelope_add_field(struct arena *arena, struct mail_envelope *env, const char *data,
			     const struct mail_header_field *field);
/* Applies the defaults; call once, after the last field. */
void mail_envelope_finish(struct mail_envelope *env);

/* Builds the envelope from the header at the start of data[0..size).
 * Returns 0, or -1 with *error_r if the header or an address list hit a
 * limit; *env_r is complete either way. */
int mail_envelope_parse(struct arena *arena, const char *data, size_t size,
			struct mail_envelope **env_r, const char **error_r);

/* Appends the ENVELOPE as IMAP prints it: "(date subject from ... )".
 * env NULL prints ten NILs. Subject and display names are printed "for
 * humans" like Dovecot does (blank runs and folds become one space, the
 * ends trimmed; as a literal when that changed anything or the text has
 * '"', '\' or 8-bit bytes); date, In-Reply-To and Message-ID lose their
 * CR/LF. */
void mail_envelope_dump(struct strbuf *out, const struct mail_envelope *env);
/* Appends one address list: NIL or "((name adl mailbox host)...)". */
void mail_envelope_dump_addresses(struct strbuf *out, const struct mail_address_list *list);

#endif
