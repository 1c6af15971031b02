/* IMAP string syntax (RFC 3501 section 4.3, RFC 9051 section 4.3) for the
 * ENVELOPE and BODYSTRUCTURE dumps of mail-envelope.c and mail-mime.c.
 * The rules are Dovecot's, so that clients see what they are used to:
 *
 *   nstring   NIL for NULL; a literal "{n}\r\n..." when the text has CR,
 *             LF or 8-bit bytes; otherwise a quoted string with '"' and '\'
 *             escaped.
 *   nolf      the same after dropping every CR and LF (unfolded fields).
 *   human     text meant for people (subject, display names): runs of
 *             SP/TAB/CR/LF become one space and the ends are trimmed; if
 *             that changed anything, or the text has '"', '\' or 8-bit
 *             bytes, it goes out as a literal, else quoted.
 */
#ifndef TEGU_MAIL_IMAP_QUOTE_H
#define TEGU_MAIL_IMAP_QUOTE_H

struct strbuf;

void mail_imap_quote_nstring(struct strbuf *out, const char *s);
void mail_imap_quote_nstring_nolf(struct strbuf *out, const char *s);
void mail_imap_quote_human(struct strbuf *out, const char *s);

#endif
