/* Mailbox names in modified UTF-7 (RFC 3501 section 5.1.3), the form
 * IMAP4rev1 clients use; UTF-8 is what the store keeps and what clients
 * that ENABLE UTF8=ACCEPT or IMAP4rev2 send.
 */
#ifndef TEGU_IMAP_UTF7_H
#define TEGU_IMAP_UTF7_H

struct strbuf;

/* Appends the UTF-8 form of the modified UTF-7 name in. Returns 0, or -1
 * (out unchanged) if in is not valid modified UTF-7: 8-bit octets, an
 * unterminated or empty "&...-" shift (other than "&-"), a shift that
 * encodes printable US-ASCII, bad base64 or padding bits, surrogates
 * unpaired, "&" of one shift right after another ("&AGE-&AGE-" must be
 * written as one). */
int imap_utf7_to_utf8(const char *in, struct strbuf *out);
/* Appends the modified UTF-7 form of the UTF-8 name in. Returns 0, or -1
 * (out unchanged) if in is not valid UTF-8. */
int imap_utf8_to_utf7(const char *in, struct strbuf *out);

#endif
