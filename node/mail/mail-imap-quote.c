/* IMAP quoted strings and literals for the structure dumps. Kept apart from
 * the parsers because the same rules serve ENVELOPE and BODYSTRUCTURE, and
 * later the IMAP server's FETCH. Each function writes straight into the
 * output in one or two passes, with no temporary copy.
 */
#include "mail/mail-imap-quote.h"

#include <stdbool.h>
#include <string.h>

#include "lib/strbuf.h"

/* Appends a string literal without counting it by hand. */
#define APPEND_LIT(out, lit) strbuf_append((out), (lit), sizeof(lit) - 1)

static bool is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_crlf(unsigned char c)
{
	return c == '\r' || c == '\n';
}

/* Writes s, minus CR and LF if nolf, as a literal or quoted string. */
static void append_string(struct strbuf *out, const char *s, bool nolf)
{
	size_t len = 0;
	bool literal = false;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (is_crlf(*p)) {
			if (nolf)
				continue;
			literal = true;
		} else if (*p >= 0x80) {
			literal = true;
		}
		len++;
	}
	if (literal) {
		strbuf_appendf(out, "{%zu}\r\n", len);
		if (!nolf) {
			strbuf_append(out, s, len);
			return;
		}
	} else {
		APPEND_LIT(out, "\"");
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (nolf && is_crlf((unsigned char)*p))
			continue;
		if (!literal && (*p == '"' || *p == '\\'))
			APPEND_LIT(out, "\\");
		strbuf_append(out, p, 1);
	}
	if (!literal)
		APPEND_LIT(out, "\"");
}

void mail_imap_quote_nstring(struct strbuf *out, const char *s)
{
	if (s == NULL)
		APPEND_LIT(out, "NIL");
	else
		append_string(out, s, false);
}

void mail_imap_quote_nstring_nolf(struct strbuf *out, const char *s)
{
	if (s == NULL)
		APPEND_LIT(out, "NIL");
	else
		append_string(out, s, true);
}

void mail_imap_quote_human(struct strbuf *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t in_len = 0, out_len = 0;
	bool special = false, gap = false;

	if (s == NULL) {
		APPEND_LIT(out, "NIL");
		return;
	}
	/* Pass one: the cleaned length, and whether the text needs a
	 * literal. A gap counts only once a word follows it, so blanks at
	 * either end vanish. */
	for (; u[in_len] != '\0'; in_len++) {
		unsigned char c = u[in_len];
		if (is_lwsp(c)) {
			gap = out_len > 0;
			continue;
		}
		if (gap)
			out_len++;
		gap = false;
		out_len++;
		if (c == '"' || c == '\\' || c >= 0x80)
			special = true;
	}
	if (out_len == 0) {
		APPEND_LIT(out, "\"\"");
		return;
	}
	if (out_len == in_len && !special) {
		/* Nothing to clean: no blank but single spaces between words. */
		bool clean = true;
		for (size_t i = 0; i < in_len; i++) {
			if (u[i] != ' ' && is_lwsp(u[i]))
				clean = false;
		}
		if (clean) {
			APPEND_LIT(out, "\"");
			strbuf_append(out, s, in_len);
			APPEND_LIT(out, "\"");
			return;
		}
	}
	strbuf_appendf(out, "{%zu}\r\n", out_len);
	gap = false;
	size_t written = 0;
	for (size_t i = 0; i < in_len; i++) {
		if (is_lwsp(u[i])) {
			gap = written > 0;
			continue;
		}
		if (gap) {
			APPEND_LIT(out, " ");
			written++;
		}
		gap = false;
		strbuf_append(out, s + i, 1);
		written++;
	}
}
