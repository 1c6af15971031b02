/* SMTP command line parser, the contract is in smtp-parser.h.
 *
 * One left-to-right pass with a cursor over the caller's buffer. Strings
 * are cut out by writing a NUL over the octet that follows them, so
 * nothing is allocated and every string lies inside the line. Paths are
 * checked against the RFC 5321 ABNF (with the RFC 6531 UTF-8 extensions)
 * instead of "anything between angle brackets", because what is accepted
 * here ends up in queue records, directory lookups, logs and bounces.
 */
#include "smtp/smtp-parser.h"

#include <string.h>

const char *const smtp_verb_names[SMTP_VERB_COUNT] = {
    [SMTP_VERB_UNKNOWN] = "",  [SMTP_VERB_HELO] = "HELO",	  [SMTP_VERB_EHLO] = "EHLO",
    [SMTP_VERB_MAIL] = "MAIL", [SMTP_VERB_RCPT] = "RCPT",	  [SMTP_VERB_DATA] = "DATA",
    [SMTP_VERB_BDAT] = "BDAT", [SMTP_VERB_RSET] = "RSET",	  [SMTP_VERB_NOOP] = "NOOP",
    [SMTP_VERB_QUIT] = "QUIT", [SMTP_VERB_VRFY] = "VRFY",	  [SMTP_VERB_EXPN] = "EXPN",
    [SMTP_VERB_HELP] = "HELP", [SMTP_VERB_STARTTLS] = "STARTTLS", [SMTP_VERB_AUTH] = "AUTH",
};

#define SMTP_MAX_LOCAL_PART 64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_MAX_DOMAIN	    255 /* RFC 5321 4.5.3.1.2 */
#define SMTP_MAX_LABEL	    63	/* RFC 1035 2.3.4, for ASCII labels */
#define SMTP_MAX_ENVID	    100 /* RFC 3461 4.4 */
#define SMTP_MAX_SASL_MECH  20	/* RFC 4422 3.1 */

/* The cursor over the line; *end is always NUL. */
struct smtp_cursor {
	char *p;
	char *end;
	bool utf8;	 /* a UTF-8 sequence was taken (the path needs SMTPUTF8) */
	bool rcpt;	 /* parsing RCPT rather than MAIL: selects the address replies */
	bool utf8_orcpt; /* ORCPT may carry UTF-8 (RFC 6533, SMTPUTF8 transaction) */
	unsigned params; /* bit per parameter already seen, to refuse duplicates */
	struct smtp_reply *reply;
};

static int smtp_fail(struct smtp_reply *reply, int code, const char *enhanced, const char *text)
{
	reply->code = code;
	reply->enhanced = enhanced;
	reply->text = text;
	return -1;
}

/* MAIL and RCPT report the same address faults with different enhanced
 * codes (RFC 3463: X.1.7 sender, X.1.3 recipient). */
static int smtp_addr_fail(struct smtp_cursor *c, const char *text)
{
	return smtp_fail(c->reply, 501, c->rcpt ? "5.1.3" : "5.1.7", text);
}

static int smtp_addr_syntax(struct smtp_cursor *c)
{
	return smtp_addr_fail(c, c->rcpt ? "Bad recipient address syntax"
					 : "Bad sender address syntax");
}

static int smtp_param_fail(struct smtp_cursor *c, const char *text)
{
	return smtp_fail(c->reply, 555, "5.5.4", text);
}

static bool smtp_is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool smtp_is_alpha(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool smtp_is_alnum(unsigned char ch)
{
	return smtp_is_alpha(ch) || smtp_is_digit(ch);
}

static unsigned char smtp_upper(unsigned char ch)
{
	return ch >= 'a' && ch <= 'z' ? (unsigned char)(ch - 'a' + 'A') : ch;
}

static unsigned char smtp_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

/* Whether p[0..n) equals word (given in upper case), ignoring ASCII case. */
static bool smtp_word_is(const char *p, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (word[i] == '\0' || smtp_upper((unsigned char)p[i]) != (unsigned char)word[i])
			return false;
	}
	return word[i] == '\0';
}

/* RFC 5322 atext, the characters of an SMTP Atom. */
static bool smtp_is_atext(unsigned char ch)
{
	return smtp_is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* The length of the well-formed non-ASCII UTF-8 sequence at s (RFC 3629
 * section 4, which leaves out overlong forms, surrogates and code points
 * above U+10FFFF), or 0. */
static size_t smtp_utf8_len(const char *s, const char *end)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t avail = (size_t)(end - s);
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (avail == 0)
		return 0;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		if (u[0] == 0xe0)
			lo = 0xa0;
		else if (u[0] == 0xed)
			hi = 0x9f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		if (u[0] == 0xf0)
			lo = 0x90;
		else if (u[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (avail < n || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	}
	return n;
}

/* Takes the UTF-8 sequence at the cursor; false when it is malformed. */
static bool smtp_take_utf8(struct smtp_cursor *c)
{
	size_t n = smtp_utf8_len(c->p, c->end);

	if (n == 0)
		return false;
	c->p += n;
	c->utf8 = true;
	return true;
}

/* Dot-string = Atom *("." Atom); RFC 6531 adds UTF-8 to atext. */
static bool smtp_take_dot_string(struct smtp_cursor *c)
{
	for (;;) {
		const char *atom = c->p;

		while (c->p < c->end) {
			unsigned char ch = (unsigned char)*c->p;

			if (ch >= 0x80) {
				if (!smtp_take_utf8(c))
					return false;
			} else if (smtp_is_atext(ch)) {
				c->p++;
			} else {
				break;
			}
		}
		if (c->p == atom)
			return false;
		if (c->p == c->end || *c->p != '.')
			return true;
		c->p++;
	}
}

/* Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE; RFC 6531
 * adds UTF-8 to qtextSMTP but not to quoted-pairSMTP. */
static bool smtp_take_quoted_string(struct smtp_cursor *c)
{
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch == '\\') {
			if (c->end - c->p < 2 || (unsigned char)c->p[1] < 32 ||
			    (unsigned char)c->p[1] > 126)
				return false;
			c->p += 2;
		} else if (ch >= 0x80) {
			if (!smtp_take_utf8(c))
				return false;
		} else if (ch >= 32 && ch <= 126) {
			c->p++;
		} else {
			return false;
		}
	}
	return false;
}

/* Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * or, with RFC 6531, a U-label. ASCII letters are lower-cased in place so
 * that the session can compare domains with strcmp(). */
static bool smtp_take_domain(struct smtp_cursor *c)
{
	for (;;) {
		const char *label = c->p;
		bool ascii = true, hyphen_last = false;

		while (c->p < c->end) {
			unsigned char ch = (unsigned char)*c->p;

			if (ch >= 0x80) {
				if (!smtp_take_utf8(c))
					return false;
				ascii = false;
				hyphen_last = false;
				continue;
			}
			if (ch == '-') {
				if (c->p == label)
					return false;
				hyphen_last = true;
			} else if (smtp_is_alnum(ch)) {
				*c->p = (char)smtp_lower(ch);
				hyphen_last = false;
			} else {
				break;
			}
			c->p++;
		}
		if (c->p == label || hyphen_last)
			return false;
		/* A U-label's UTF-8 form may be longer than its A-label. */
		if (ascii && c->p - label > SMTP_MAX_LABEL)
			return false;
		if (c->p == c->end || *c->p != '.')
			return true;
		c->p++;
	}
}

/* Snum = 1*3DIGIT of 0..255; IPv4-address-literal = Snum 3("." Snum). */
static bool smtp_ipv4_valid(const char *s, const char *end)
{
	for (int i = 0; i < 4; i++) {
		unsigned value = 0;
		int digits = 0;

		if (i > 0) {
			if (s == end || *s != '.')
				return false;
			s++;
		}
		while (s < end && smtp_is_digit((unsigned char)*s) && digits < 3) {
			value = value * 10 + (unsigned)(*s - '0');
			digits++;
			s++;
		}
		if (digits == 0 || value > 255)
			return false;
	}
	return s == end;
}

/* IPv6-addr of RFC 5321 4.1.3: eight groups, or fewer around one "::"
 * that stands for at least two groups, the last two groups possibly
 * written as an IPv4 address. */
static bool smtp_ipv6_valid(const char *s, const char *end)
{
	int groups = 0;
	bool compressed = false;

	if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = true;
		s += 2;
	}
	while (s < end) {
		const char *colon = memchr(s, ':', (size_t)(end - s));
		const char *stop = colon != NULL ? colon : end;

		if (memchr(s, '.', (size_t)(stop - s)) != NULL) {
			if (stop != end || !smtp_ipv4_valid(s, end))
				return false;
			groups += 2;
			break;
		}
		if (stop - s < 1 || stop - s > 4)
			return false;
		for (const char *h = s; h < stop; h++) {
			unsigned char ch = (unsigned char)*h;

			if (!smtp_is_digit(ch) && !(smtp_upper(ch) >= 'A' && smtp_upper(ch) <= 'F'))
				return false;
		}
		groups++;
		s = stop;
		if (s == end)
			break;
		if (end - s >= 2 && s[1] == ':') {
			if (compressed)
				return false;
			compressed = true;
			s += 2;
		} else {
			s++;
			if (s == end)
				return false;
		}
	}
	return compressed ? groups <= 6 : groups == 8;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]". The "IPv6" tag is registered, so its
 * content must be an IPv6 address rather than any dcontent. */
static bool smtp_take_address_literal(struct smtp_cursor *c)
{
	char *start = c->p + 1;
	char *close = memchr(start, ']', (size_t)(c->end - start));
	const char *colon;

	if (close == NULL)
		return false;
	c->p = close + 1;
	if (close - start >= 5 && smtp_word_is(start, 5, "IPV6:"))
		return smtp_ipv6_valid(start + 5, close);
	colon = memchr(start, ':', (size_t)(close - start));
	if (colon == NULL)
		return smtp_ipv4_valid(start, close);

	/* Standardized-tag = Ldh-str ":" 1*dcontent */
	if (colon == start || !smtp_is_alnum((unsigned char)colon[-1]) || colon + 1 == close)
		return false;
	for (const char *t = start; t < colon; t++) {
		if (!smtp_is_alnum((unsigned char)*t) && *t != '-')
			return false;
	}
	for (const char *d = colon + 1; d < close; d++) {
		unsigned char ch = (unsigned char)*d;

		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return false;
	}
	return true;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int smtp_take_mailbox(struct smtp_cursor *c)
{
	const char *local = c->p, *domain;
	bool ok;

	if (c->p < c->end && *c->p == '"')
		ok = smtp_take_quoted_string(c);
	else
		ok = smtp_take_dot_string(c);
	if (!ok)
		return smtp_addr_syntax(c);
	if (c->p - local > SMTP_MAX_LOCAL_PART)
		return smtp_addr_fail(c, "Local part too long");
	if (c->p == c->end || *c->p != '@')
		return smtp_addr_syntax(c);
	c->p++;
	domain = c->p;
	if (c->p < c->end && *c->p == '[')
		ok = smtp_take_address_literal(c);
	else
		ok = smtp_take_domain(c);
	if (!ok)
		return smtp_addr_syntax(c);
	/* Implied by SMTP_MAX_PATH today; checked so each limit stands alone. */
	if (c->p - domain > SMTP_MAX_DOMAIN)
		return smtp_addr_fail(c, "Domain too long");
	return 0;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">", and "<>" for MAIL, "<postmaster>"
 * for RCPT (RFC 5321 4.5.1). The source route is checked and dropped
 * (RFC 5321 4.1.1.3 and appendix C). */
static int smtp_take_path(struct smtp_cursor *c, struct smtp_command *cmd)
{
	const char *open = c->p;
	char *mailbox;

	if (c->p == c->end || *c->p != '<')
		return smtp_addr_syntax(c);
	c->p++;
	mailbox = c->p;
	if (!c->rcpt && c->p < c->end && *c->p == '>') {
		/* the null reverse-path */
	} else if (c->rcpt && c->end - c->p >= 11 && smtp_word_is(c->p, 10, "POSTMASTER") &&
		   c->p[10] == '>') {
		for (int i = 0; i < 10; i++)
			c->p[i] = (char)smtp_lower((unsigned char)c->p[i]);
		c->p += 10;
	} else {
		if (c->p < c->end && *c->p == '@') {
			for (;;) {
				c->p++;
				if (!smtp_take_domain(c))
					return smtp_addr_syntax(c);
				if (c->end - c->p >= 2 && c->p[0] == ',' && c->p[1] == '@') {
					c->p++;
					continue;
				}
				if (c->p < c->end && *c->p == ':') {
					c->p++;
					break;
				}
				return smtp_addr_syntax(c);
			}
			mailbox = c->p;
		}
		if (smtp_take_mailbox(c) < 0)
			return -1;
	}
	if (c->p == c->end || *c->p != '>')
		return smtp_addr_syntax(c);
	if (c->p - open + 1 > SMTP_MAX_PATH)
		return smtp_addr_fail(c, "Path too long");
	*c->p++ = '\0';
	cmd->path = mailbox;
	for (const char *s = mailbox; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			cmd->path_utf8 = true;
	}
	return 0;
}

/* xtext = *( xchar / hexchar ) (RFC 3461 4); utf8 admits the raw UTF-8
 * that RFC 6533 allows in ORCPT within an SMTPUTF8 transaction. "+00" is
 * refused: it would decode to a NUL that cuts the C string short. */
static bool smtp_xtext_valid(const char *s, const char *end, bool utf8)
{
	while (s < end) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '+') {
			if (end - s < 3)
				return false;
			for (int i = 1; i <= 2; i++) {
				unsigned char h = (unsigned char)s[i];

				if (!smtp_is_digit(h) && !(h >= 'A' && h <= 'F'))
					return false;
			}
			if (s[1] == '0' && s[2] == '0')
				return false;
			s += 3;
		} else if (ch >= 0x80 && utf8) {
			size_t n = smtp_utf8_len(s, end);

			if (n == 0)
				return false;
			s += n;
		} else if (ch >= 33 && ch <= 126 && ch != '=') {
			s++;
		} else {
			return false;
		}
	}
	return true;
}

static int smtp_hex_value(char h)
{
	return h <= '9' ? h - '0' : h - 'A' + 10;
}

int smtp_xtext_decode(char *text)
{
	char *end = text + strlen(text), *out = text;

	/* Validate first so that a malformed text is left as it was. */
	if (!smtp_xtext_valid(text, end, false))
		return -1;
	for (const char *s = text; s < end; s++) {
		if (*s == '+') {
			*out++ = (char)(smtp_hex_value(s[1]) * 16 + smtp_hex_value(s[2]));
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return 0;
}

/* Parses an unsigned decimal into *value_r; false on no digits, other
 * characters or overflow. */
static bool smtp_parse_u64(const char *s, const char *end, uint64_t *value_r)
{
	uint64_t value = 0;

	if (s == end)
		return false;
	for (; s < end; s++) {
		unsigned digit;

		if (!smtp_is_digit((unsigned char)*s))
			return false;
		digit = (unsigned)(*s - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*value_r = value;
	return true;
}

/* The parameter handlers: value is NULL when the keyword had no "=". */

static int smtp_param_size(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	if (value == NULL || !smtp_parse_u64(value, value + strlen(value), &cmd->size))
		return smtp_param_fail(c, "Invalid SIZE parameter");
	return 0;
}

static int smtp_param_body(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	size_t n = value != NULL ? strlen(value) : 0;

	if (value != NULL && smtp_word_is(value, n, "7BIT"))
		cmd->body = SMTP_BODY_7BIT;
	else if (value != NULL && smtp_word_is(value, n, "8BITMIME"))
		cmd->body = SMTP_BODY_8BITMIME;
	else if (value != NULL && smtp_word_is(value, n, "BINARYMIME"))
		cmd->body = SMTP_BODY_BINARYMIME;
	else
		return smtp_param_fail(c, "Invalid BODY parameter");
	return 0;
}

static int smtp_param_smtputf8(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	if (value != NULL)
		return smtp_param_fail(c, "SMTPUTF8 takes no value");
	cmd->smtputf8 = true;
	return 0;
}

static int smtp_param_ret(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	size_t n = value != NULL ? strlen(value) : 0;

	if (value != NULL && smtp_word_is(value, n, "FULL"))
		cmd->ret = SMTP_RET_FULL;
	else if (value != NULL && smtp_word_is(value, n, "HDRS"))
		cmd->ret = SMTP_RET_HDRS;
	else
		return smtp_param_fail(c, "Invalid RET parameter");
	return 0;
}

static int smtp_param_envid(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	size_t n = value != NULL ? strlen(value) : 0;

	if (n == 0 || n > SMTP_MAX_ENVID || !smtp_xtext_valid(value, value + n, false))
		return smtp_param_fail(c, "Invalid ENVID parameter");
	cmd->envid = value;
	return 0;
}

/* RFC 4954 5: an xtext mailbox, or "<>" (itself valid xtext). */
static int smtp_param_auth(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	size_t n = value != NULL ? strlen(value) : 0;

	if (n == 0 || !smtp_xtext_valid(value, value + n, false))
		return smtp_param_fail(c, "Invalid AUTH parameter");
	cmd->auth = value;
	return 0;
}

/* NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE and DELAY. */
static int smtp_param_notify(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	const char *s = value, *end;
	unsigned flags = 0;

	if (value == NULL || *value == '\0')
		return smtp_param_fail(c, "Invalid NOTIFY parameter");
	end = value + strlen(value);
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma != NULL ? comma : end;
		size_t n = (size_t)(stop - s);

		if (smtp_word_is(s, n, "NEVER"))
			flags |= SMTP_NOTIFY_NEVER;
		else if (smtp_word_is(s, n, "SUCCESS"))
			flags |= SMTP_NOTIFY_SUCCESS;
		else if (smtp_word_is(s, n, "FAILURE"))
			flags |= SMTP_NOTIFY_FAILURE;
		else if (smtp_word_is(s, n, "DELAY"))
			flags |= SMTP_NOTIFY_DELAY;
		else
			return smtp_param_fail(c, "Invalid NOTIFY parameter");
		s = stop + 1;
	}
	if ((flags & SMTP_NOTIFY_NEVER) != 0 && flags != SMTP_NOTIFY_NEVER)
		return smtp_param_fail(c, "NOTIFY=NEVER cannot be combined");
	cmd->notify = flags;
	return 0;
}

/* ORCPT = addr-type ";" xtext; the known addr-types are atoms of letters,
 * digits and hyphens ("rfc822", "utf-8", "x400", "unknown"). */
static int smtp_param_orcpt(struct smtp_cursor *c, char *value, struct smtp_command *cmd)
{
	const char *semicolon, *end;

	if (value == NULL)
		return smtp_param_fail(c, "Invalid ORCPT parameter");
	end = value + strlen(value);
	semicolon = memchr(value, ';', (size_t)(end - value));
	if (semicolon == NULL || semicolon == value || semicolon + 1 == end ||
	    !smtp_xtext_valid(semicolon + 1, end, c->utf8_orcpt))
		return smtp_param_fail(c, "Invalid ORCPT parameter");
	for (const char *t = value; t < semicolon; t++) {
		if (!smtp_is_alnum((unsigned char)*t) && *t != '-')
			return smtp_param_fail(c, "Invalid ORCPT parameter");
	}
	cmd->orcpt = value;
	return 0;
}

struct smtp_param {
	const char *keyword;
	bool rcpt; /* RCPT rather than MAIL */
	int (*handle)(struct smtp_cursor *c, char *value, struct smtp_command *cmd);
};

static const struct smtp_param smtp_params[] = {
    {"SIZE", false, smtp_param_size},	      {"BODY", false, smtp_param_body},
    {"SMTPUTF8", false, smtp_param_smtputf8}, {"RET", false, smtp_param_ret},
    {"ENVID", false, smtp_param_envid},	      {"AUTH", false, smtp_param_auth},
    {"NOTIFY", true, smtp_param_notify},      {"ORCPT", true, smtp_param_orcpt},
};

/* Mail-parameters = esmtp-param *(SP esmtp-param), esmtp-param =
 * esmtp-keyword ["=" esmtp-value]; runs of spaces are tolerated. */
static int smtp_take_params(struct smtp_cursor *c, struct smtp_command *cmd)
{
	if (c->p < c->end && *c->p != ' ')
		return smtp_addr_syntax(c);
	for (;;) {
		const char *keyword;
		char *value = NULL;
		size_t keyword_len, i;

		while (c->p < c->end && *c->p == ' ')
			c->p++;
		if (c->p == c->end)
			return 0;
		keyword = c->p;
		while (c->p < c->end && *c->p != ' ' && *c->p != '=')
			c->p++;
		keyword_len = (size_t)(c->p - keyword);
		if (c->p < c->end && *c->p == '=') {
			value = ++c->p;
			while (c->p < c->end && *c->p != ' ')
				c->p++;
		}
		if (c->p < c->end)
			*c->p++ = '\0';

		for (i = 0; i < sizeof(smtp_params) / sizeof(smtp_params[0]); i++) {
			if (smtp_params[i].rcpt == c->rcpt &&
			    smtp_word_is(keyword, keyword_len, smtp_params[i].keyword))
				break;
		}
		if (i == sizeof(smtp_params) / sizeof(smtp_params[0]))
			return smtp_param_fail(c, "Unknown parameter");
		if ((c->params & (1u << i)) != 0)
			return smtp_param_fail(c, "Duplicate parameter");
		c->params |= 1u << i;
		if (smtp_params[i].handle(c, value, cmd) < 0)
			return -1;
	}
}

/* "MAIL FROM:" Reverse-path [SP Mail-parameters] and
 * "RCPT TO:" Forward-path [SP Rcpt-parameters]. */
static int smtp_parse_mail_rcpt(struct smtp_cursor *c, bool smtputf8_transaction,
				struct smtp_command *cmd)
{
	const char *prefix = c->rcpt ? "TO:" : "FROM:";
	size_t n = strlen(prefix);

	if ((size_t)(c->end - c->p) < n || !smtp_word_is(c->p, n, prefix))
		return smtp_fail(c->reply, 501, "5.5.4",
				 c->rcpt ? "Syntax: RCPT TO:<address>"
					 : "Syntax: MAIL FROM:<address>");
	c->p += n;
	/* Not in the RFC's grammar but sent by many clients. */
	if (c->p < c->end && *c->p == ' ')
		c->p++;
	c->utf8_orcpt = c->rcpt && smtputf8_transaction;
	if (smtp_take_path(c, cmd) < 0 || smtp_take_params(c, cmd) < 0)
		return -1;
	if (c->utf8 && !(c->rcpt ? smtputf8_transaction : cmd->smtputf8))
		return smtp_fail(c->reply, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
	return 0;
}

/* "BDAT" SP chunk-size [SP end-marker] (RFC 3030 2) */
static int smtp_parse_bdat(struct smtp_cursor *c, struct smtp_command *cmd)
{
	const char *digits = c->p;

	while (c->p < c->end && *c->p != ' ')
		c->p++;
	if (c->p == digits)
		return smtp_fail(c->reply, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	for (const char *d = digits; d < c->p; d++) {
		if (!smtp_is_digit((unsigned char)*d))
			return smtp_fail(c->reply, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	}
	if (!smtp_parse_u64(digits, c->p, &cmd->chunk_size))
		return smtp_fail(c->reply, 501, "5.5.4", "Chunk size too large");
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p == c->end)
		return 0;
	if (!smtp_word_is(c->p, (size_t)(c->end - c->p), "LAST"))
		return smtp_fail(c->reply, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	cmd->last = true;
	return 0;
}

/* Base64 (RFC 4648 4) with padding only at the end, or "=" alone for an
 * empty initial response (RFC 4954 4). Decoding is left to the session. */
static bool smtp_base64_valid(const char *s, const char *end)
{
	const char *start = s;
	int padding = 0;

	if (end - s == 1 && *s == '=')
		return true;
	for (; s < end; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '=') {
			if (s == start || ++padding > 2)
				return false;
		} else if (padding > 0 || !(smtp_is_alnum(ch) || ch == '+' || ch == '/')) {
			return false;
		}
	}
	return s != start;
}

/* "AUTH" SP sasl-mech [SP initial-response] (RFC 4954 4) */
static int smtp_parse_auth(struct smtp_cursor *c, struct smtp_command *cmd)
{
	char *mech = c->p;

	while (c->p < c->end && *c->p != ' ') {
		unsigned char ch = smtp_upper((unsigned char)*c->p);

		if (!smtp_is_alnum(ch) && ch != '-' && ch != '_')
			return smtp_fail(c->reply, 501, "5.5.4", "Invalid mechanism name");
		*c->p++ = (char)ch;
	}
	if (c->p == mech)
		return smtp_fail(c->reply, 501, "5.5.4",
				 "Syntax: AUTH mechanism [initial-response]");
	if (c->p - mech > SMTP_MAX_SASL_MECH)
		return smtp_fail(c->reply, 501, "5.5.4", "Invalid mechanism name");
	cmd->arg = mech;
	if (c->p == c->end)
		return 0;
	*c->p++ = '\0';
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p == c->end)
		return 0;
	if (memchr(c->p, ' ', (size_t)(c->end - c->p)) != NULL)
		return smtp_fail(c->reply, 501, "5.5.4",
				 "Syntax: AUTH mechanism [initial-response]");
	if (!smtp_base64_valid(c->p, c->end))
		return smtp_fail(c->reply, 501, "5.5.2", "Invalid base64 data");
	cmd->auth_initial = c->p;
	return 0;
}

/* HELO/EHLO: one token of visible octets. Real clients send names that
 * are not valid domains (underscores, bare host names), so the domain
 * syntax itself is not enforced here. */
static int smtp_parse_hello(struct smtp_cursor *c, struct smtp_command *cmd)
{
	const char *usage =
	    cmd->verb == SMTP_VERB_HELO ? "Syntax: HELO hostname" : "Syntax: EHLO hostname";

	if (c->p == c->end)
		return smtp_fail(c->reply, 501, "5.5.4", usage);
	for (const char *s = c->p; s < c->end; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch == 0x7f)
			return smtp_fail(c->reply, 501, "5.5.4", usage);
	}
	cmd->arg = c->p;
	return 0;
}

static enum smtp_verb smtp_find_verb(const char *name, size_t len)
{
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		if (smtp_word_is(name, len, smtp_verb_names[v]))
			return (enum smtp_verb)v;
	}
	return SMTP_VERB_UNKNOWN;
}

int smtp_parse_command(char *line, size_t len, bool smtputf8_transaction, struct smtp_command *cmd,
		       struct smtp_reply *reply)
{
	struct smtp_cursor c = {.reply = reply};
	const char *verb;

	memset(cmd, 0, sizeof(*cmd));
	memset(reply, 0, sizeof(*reply));
	cmd->verb = SMTP_VERB_UNKNOWN;
	/* The session checks these too; a line that slipped through must not
	 * reach paths that end up in queue files and logs. */
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return smtp_fail(reply, 500, "5.5.2", "Invalid character in command");
	/* Trailing blanks are common (e.g. "DATA ") and carry no meaning. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	line[len] = '\0';
	c.end = line + len;

	verb = line;
	c.p = line;
	while (c.p < c.end && *c.p != ' ')
		c.p++;
	if (c.p == verb)
		return smtp_fail(reply, 500, "5.5.2", "Syntax error");
	cmd->verb = smtp_find_verb(verb, (size_t)(c.p - verb));
	if (cmd->verb == SMTP_VERB_UNKNOWN)
		return smtp_fail(reply, 502, "5.5.1", "Unrecognized command");
	while (c.p < c.end && *c.p == ' ')
		c.p++;

	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		return smtp_parse_hello(&c, cmd);
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		c.rcpt = cmd->verb == SMTP_VERB_RCPT;
		return smtp_parse_mail_rcpt(&c, smtputf8_transaction, cmd);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (c.p != c.end)
			return smtp_fail(reply, 501, "5.5.4", "No arguments allowed");
		return 0;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		if (c.p == c.end)
			return smtp_fail(reply, 501, "5.5.4", "Argument required");
		cmd->arg = c.p;
		return 0;
	case SMTP_VERB_NOOP:
	case SMTP_VERB_HELP:
		cmd->arg = c.p;
		return 0;
	case SMTP_VERB_BDAT:
		return smtp_parse_bdat(&c, cmd);
	case SMTP_VERB_AUTH:
		return smtp_parse_auth(&c, cmd);
	default:
		break;
	}
	return smtp_fail(reply, 502, "5.5.1", "Unrecognized command");
}
