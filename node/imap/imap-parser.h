/* IMAP command syntax (RFC 9051 section 9, RFC 3501 section 9, literals of
 * RFC 7888 and RFC 3516): a complete command, as received, becomes a tag,
 * a command name and a tree of arguments.
 *
 * The parser is pure: it reads buf[0..len), the command exactly as it
 * came off the wire (lines with their CRLF, each literal's octets right
 * after the CRLF that ends its "{n}" line), and allocates only from the
 * arena. imap-reader.h assembles such a buffer from a connection.
 *
 * Arguments are generic; each command then checks what it got:
 *   atom     any run of ATOM-CHAR plus ']' (resp-specials), '\' (flags),
 *            '%' and '*' (list wildcards, sequence sets); an atom that
 *            contains '[' runs on to the matching ']' over spaces and
 *            parentheses, then on through atom characters, so that
 *            BODY.PEEK[HEADER.FIELDS (From To)]<0.2048> is one atom.
 *   string   a quoted string, quoted-pairs undone.
 *   literal  {n}, {n+} or literal8 ~{n} / ~{n+}: the n octets, which may
 *            hold NUL; str points into buf.
 *   NIL      the atom NIL in any case.
 *   list     "(" args ")", nested.
 * 8-bit octets are allowed only inside quoted strings and literals
 * (UTF8=ACCEPT); NUL only inside literals.
 */
#ifndef TEGU_IMAP_PARSER_H
#define TEGU_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/* Nesting of parenthesized lists; deeper is an error. */
#define IMAP_PARSER_MAX_DEPTH 32
/* Arguments of one list (or of the command); more is an error. */
#define IMAP_PARSER_MAX_ARGS 10000

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,
	IMAP_ARG_LITERAL,
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, STRING: a NUL-terminated arena copy. LITERAL: points into
	 * the parsed buffer (not NUL-terminated, may hold NUL). NIL, LIST:
	 * NULL. */
	const char *str;
	size_t len;
	bool literal8; /* a ~{n} literal */
	/* LITERAL: a NUL-terminated arena copy when the literal holds no NUL
	 * and is at most 64 KiB (what imap_arg_astring() gives); else NULL.
	 * Other types: NULL. */
	const char *cstr;
	/* LIST: its elements. */
	const struct imap_arg *list;
	unsigned count;
};

struct imap_command {
	const char *tag;  /* NULL when even the tag could not be parsed */
	const char *name; /* upper-cased; for "UID FETCH" it is "FETCH" */
	bool uid;	  /* the command came as UID <name> */
	const struct imap_arg *args;
	unsigned count;
};

/* Parses one command. Returns 0 with *cmd_r filled, or -1 with *error_r
 * (words fit for "tag BAD <error>"); cmd_r->tag is still set when the tag
 * itself was good, so the BAD can carry it. */
int imap_command_parse(struct arena *arena, const char *buf, size_t len,
		       struct imap_command *cmd_r, const char **error_r);

/* Helpers for command handlers. */

/* An ATOM, STRING or LITERAL ("astring"); false for anything else. A
 * literal holding NUL is refused (mailbox names, user names), and so is
 * one over 64 KiB. */
bool imap_arg_astring(const struct imap_arg *arg, const char **str_r);
/* An astring or NIL (NIL gives NULL). */
bool imap_arg_nstring(const struct imap_arg *arg, const char **str_r);
/* An atom equal to word, case-insensitively. */
bool imap_arg_atom_is(const struct imap_arg *arg, const char *word);
/* An atom that is a number (1*DIGIT, at most 2^63-1). */
bool imap_arg_number(const struct imap_arg *arg, unsigned long long *n_r);

#endif
