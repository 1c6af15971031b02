/* SMTP command lines (RFC 5321 section 4.1, with the ESMTP parameters of
 * RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030 CHUNKING/BINARYMIME, RFC 6531
 * SMTPUTF8, RFC 3461 DSN and RFC 4954 AUTH), pure: no I/O, no allocation.
 *
 * smtp_parse_command() takes one command line without its CRLF, in a
 * buffer the caller owns and lets the parser modify: the parser writes NUL
 * terminators into it and the command's strings point into it. line[len]
 * must be writable too (where the CR was): the last string ends there.
 *
 * On error the parser fills reply with the code, the RFC 3463 enhanced
 * status and a short text the session sends as is, e.g.
 * {501, "5.1.7", "Bad sender address syntax"}.
 */
#ifndef TEGU_SMTP_PARSER_H
#define TEGU_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_MAX_COMMAND_LINE 512  /* octets including CRLF (RFC 5321 4.5.3.1.4) */
#define SMTP_MAX_TEXT_LINE    1000 /* octets including CRLF (RFC 5321 4.5.3.1.6) */
#define SMTP_MAX_PATH	      256  /* octets of a path (RFC 5321 4.5.3.1.3) */
#define SMTP_MAX_PARAMS	      16

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* The verb names, indexed by enum smtp_verb ("" for UNKNOWN). */
extern const char *const smtp_verb_names[SMTP_VERB_COUNT];

struct smtp_reply {
	int code;	      /* 500, 501, 502, 504, 555, ... */
	const char *enhanced; /* "5.5.2" */
	const char *text;     /* static, no CRLF */
};

enum smtp_body_type {
	SMTP_BODY_UNSPECIFIED,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME
};
enum smtp_ret { SMTP_RET_UNSPECIFIED, SMTP_RET_FULL, SMTP_RET_HDRS };
enum smtp_notify_flags {
	SMTP_NOTIFY_NEVER = 1,
	SMTP_NOTIFY_SUCCESS = 2,
	SMTP_NOTIFY_FAILURE = 4,
	SMTP_NOTIFY_DELAY = 8,
};

struct smtp_command {
	enum smtp_verb verb;
	/* HELO/EHLO: the domain or address literal as sent; AUTH: the
	 * mechanism (upper-cased); VRFY/EXPN/HELP/NOOP: the argument or "". */
	const char *arg;
	/* AUTH: the initial response or NULL ("=" means empty). */
	const char *auth_initial;

	/* MAIL/RCPT: the path without angle brackets and without a source
	 * route; "" for the null reverse-path <>. Local part as sent (quoted
	 * local parts keep their quotes), domain lower-cased. */
	const char *path;
	bool path_utf8; /* the path has non-ASCII octets (needs SMTPUTF8) */

	/* MAIL parameters */
	uint64_t size; /* SIZE=, 0 when absent */
	enum smtp_body_type body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid; /* ENVID= as sent (xtext), or NULL */
	const char *auth;  /* AUTH= as sent, or NULL */

	/* RCPT parameters */
	unsigned notify;   /* enum smtp_notify_flags, 0 when absent */
	const char *orcpt; /* ORCPT= as sent ("rfc822;" xtext), or NULL */

	/* BDAT */
	uint64_t chunk_size;
	bool last;
};

/* Parses one command line (without CRLF; len excludes it). The session
 * checks the line length limit and bare CR/LF before calling. Returns 0,
 * or -1 with *reply set: 500 5.5.2 syntax, 502 5.5.1 unknown command,
 * 501 5.5.4 bad arguments, 501 5.1.7 bad sender address, 501 5.1.3 bad
 * recipient address, 555 5.5.4 unknown or bad MAIL/RCPT parameter,
 * 553 5.6.7 non-ASCII address without SMTPUTF8 (for MAIL: only when the
 * command itself lacks the SMTPUTF8 parameter; for RCPT: when
 * smtputf8_transaction is false). Unknown verbs still set cmd->verb to
 * SMTP_VERB_UNKNOWN. */
int smtp_parse_command(char *line, size_t len, bool smtputf8_transaction, struct smtp_command *cmd,
		       struct smtp_reply *reply);

/* Decodes xtext (RFC 3461 4) in place; returns 0 or -1 when malformed. */
int smtp_xtext_decode(char *text);

#endif
