/* The searchable text of a message, extracted once at delivery for IMAP
 * SEARCH: every header field unfolded and decoded to UTF-8, and the text
 * of the text parts decoded (Content-Transfer-Encoding, then charset) to
 * UTF-8. The store keeps the fields as a text[] and the body as a
 * full-text index (tsvector), so SEARCH never reads the message again.
 *
 * Decoding never fails: what cannot be decoded (unknown charset, broken
 * base64, invalid UTF-8) is kept as far as it goes, invalid sequences
 * replaced by U+FFFD, so that the result is always valid UTF-8 without
 * NUL. Charsets are converted with iconv(3) (glibc knows KOI8-R,
 * windows-1251, ISO-8859-*, GB2312, Shift_JIS, ...).
 */
#ifndef TEGU_MAIL_TEXT_H
#define TEGU_MAIL_TEXT_H

#include <stddef.h>

struct arena;
struct strbuf;
struct mail_structure;

/* Body text kept per message for the index; the rest is dropped (the
 * index is for finding mail, not for storing it). */
#define MAIL_TEXT_MAX_BODY (1024 * 1024)
/* Octets kept of one header field value. */
#define MAIL_TEXT_MAX_FIELD 4096

/* The length of the longest prefix of the UTF-8 text s[0..len), at most
 * max octets, that does not end inside a character. */
size_t mail_text_utf8_cut(const char *s, size_t len, size_t max);

/* Appends to out the UTF-8 form of text[0..len) in charset (NULL or a
 * charset iconv does not know: taken as UTF-8, invalid octets becoming
 * U+FFFD). */
void mail_text_to_utf8(struct strbuf *out, const char *charset, const char *text, size_t len);

/* Decodes RFC 2047 encoded-words in a header value (unfolded first: CRLF
 * followed by blanks becomes the blanks; blanks between two adjacent
 * encoded-words dropped, as RFC 2047 section 6.2 asks; B and Q encodings;
 * RFC 2231 language suffix "charset*lang" ignored), appending UTF-8. */
void mail_text_decode_header(struct strbuf *out, const char *value, size_t len);

/* Decodes a part's body of the given Content-Transfer-Encoding (NULL,
 * "7bit", "8bit", "binary": as is; "quoted-printable", "base64": decoded,
 * leniently; anything else: as is), appending the octets. */
void mail_text_decode_body(struct strbuf *out, const char *encoding, const char *body, size_t len);

/* The header fields of the message's top-level header (data is the
 * message the structure was parsed from): each "name:value", the name
 * lower-cased, the value decoded as above and trimmed, cut at
 * MAIL_TEXT_MAX_FIELD octets on a character boundary. Returns the count;
 * *fields_r is an arena array of arena strings. */
unsigned mail_text_header_fields(struct arena *arena, const struct mail_structure *structure,
				 const char *data, const char ***fields_r);

/* Appends the text of every text/plain and text/html part (HTML tags and
 * entities reduced to text: tags dropped, &amp; &lt; &gt; &quot; &nbsp;
 * and numeric entities decoded, <script>/<style> contents dropped),
 * including those of attached message/rfc822 parts, separated by
 * newlines, up to MAIL_TEXT_MAX_BODY octets (cut on a character
 * boundary). Other parts' file names (Content-Disposition filename,
 * Content-Type name, decoded) are added too, so a search finds
 * attachments by name. */
void mail_text_body(struct strbuf *out, const struct mail_structure *structure, const char *data);

/* Parses an RFC 5322 date-time (section 3.3, with the obsolete forms of
 * section 4.3: two-digit years, alphabetic zones, missing seconds,
 * missing day of week, comments and folding). Returns 0 with the moment
 * as seconds since the epoch in *time_r and the zone offset in seconds
 * in *zone_r, or -1 if value is not a date. */
int mail_text_parse_date(const char *value, size_t len, long long *time_r, int *zone_r);

#endif
