/* IMAP command parser, the contract is in imap-parser.h.
 *
 * One left-to-right pass with a cursor over the caller's buffer, which
 * holds the whole command: its lines with their CRLF and each literal's
 * octets right after the CRLF of its "{n}" line. Lists recurse (bounded by
 * IMAP_PARSER_MAX_DEPTH); each list's elements are gathered in an arena
 * array that doubles as it fills, so a list of n arguments costs at most
 * 2n elements of arena memory.
 *
 * Strict on spacing: exactly one SP between arguments, none after "(",
 * before ")" or before the final CRLF ("Extra space"), as RFC 9051 writes
 * the grammar. After a literal's octets the command goes on like after any
 * other argument: SP, ")" or the CRLF that ends it (APPEND, MULTIAPPEND,
 * CATENATE).
 */
#include "imap/imap-parser.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"

/* Literals up to this size that hold no NUL also get a NUL-terminated
 * arena copy (imap_arg.cstr), for imap_arg_astring(). Larger ones are
 * message data (APPEND), not names or search strings. */
#define IMAP_PARSER_MAX_LITERAL_COPY (64 * 1024)
/* Digits of a literal's size; 19 always fit in 64 bits. */
#define IMAP_PARSER_MAX_LITERAL_DIGITS 19

struct imap_parser {
	struct arena *arena;
	const char *p, *end;
	const char *error;
	unsigned depth; /* lists open around the cursor */
};

/* A growing array of one list's (or the command's) arguments. */
struct imap_arg_array {
	struct imap_arg *args;
	unsigned count, cap;
};

static int imap_fail(struct imap_parser *ps, const char *error)
{
	if (ps->error == NULL)
		ps->error = error;
	return -1;
}

/* ATOM-CHAR of RFC 9051: any CHAR except atom-specials. */
static bool imap_is_atom_char(unsigned char ch)
{
	if (ch <= 0x20 || ch >= 0x7f)
		return false;
	switch (ch) {
	case '(':
	case ')':
	case '{':
	case '%':
	case '*':
	case '"':
	case '\\':
	case ']':
		return false;
	default:
		return true;
	}
}

/* What an atom argument may hold outside brackets (see the header). */
static bool imap_is_arg_atom_char(unsigned char ch)
{
	return imap_is_atom_char(ch) || ch == ']' || ch == '\\' || ch == '%' || ch == '*';
}

/* tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / "]". */
static bool imap_is_tag_char(unsigned char ch)
{
	return (imap_is_atom_char(ch) || ch == ']') && ch != '+';
}

static bool imap_at_crlf(const struct imap_parser *ps)
{
	return ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n';
}

/* The error for an octet that cannot appear where the cursor is, when the
 * octet itself is the reason; NULL for a printable octet, whose error
 * depends on the context. */
static const char *imap_octet_error(const struct imap_parser *ps)
{
	unsigned char ch = (unsigned char)*ps->p;

	if (ch == '\0')
		return "NUL octet outside a literal";
	if (ch == '\r')
		return imap_at_crlf(ps) ? NULL : "Bare CR in command";
	if (ch == '\n')
		return "Bare LF in command";
	if (ch >= 0x80)
		return "8-bit octet outside a quoted string or literal";
	if (ch < 0x20 || ch == 0x7f)
		return "Control character in command";
	return NULL;
}

static int imap_fail_octet(struct imap_parser *ps, const char *otherwise)
{
	const char *error;

	if (ps->p == ps->end)
		return imap_fail(ps, "Missing CRLF at the end of the command");
	error = imap_octet_error(ps);
	return imap_fail(ps, error ? error : otherwise);
}

static void imap_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

static struct imap_arg *imap_array_add(struct imap_parser *ps, struct imap_arg_array *a)
{
	if (a->count == IMAP_PARSER_MAX_ARGS) {
		imap_fail(ps, "Too many arguments");
		return NULL;
	}
	if (a->count == a->cap) {
		unsigned cap = a->cap ? a->cap * 2 : 8;
		struct imap_arg *grown;

		if (cap > IMAP_PARSER_MAX_ARGS)
			cap = IMAP_PARSER_MAX_ARGS;
		grown = arena_alloc(ps->arena, cap * sizeof(*grown));
		if (a->count > 0)
			memcpy(grown, a->args, a->count * sizeof(*grown));
		a->args = grown;
		a->cap = cap;
	}
	memset(&a->args[a->count], 0, sizeof(a->args[0]));
	return &a->args[a->count++];
}

/* A quoted string from the opening DQUOTE. Sets *out_r (an arena copy with
 * the quoted-pairs undone) when out_r is not NULL, else only skips it
 * (inside an atom's brackets, where it stays as written). */
static int imap_parse_quoted(struct imap_parser *ps, char **out_r, size_t *len_r)
{
	const char *start = ++ps->p;
	size_t len = 0;
	char *out, *o;

	for (;;) {
		if (ps->p == ps->end)
			return imap_fail(ps, "Unterminated quoted string");
		unsigned char ch = (unsigned char)*ps->p;
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (ps->end - ps->p < 2 || (ps->p[1] != '\\' && ps->p[1] != '"'))
				return imap_fail(ps, "Bad escape in quoted string: only \\\\ and "
						     "\\\" are allowed");
			ps->p += 2;
		} else if (ch == '\r' || ch == '\n') {
			return imap_fail(ps, imap_at_crlf(ps) ? "Unterminated quoted string"
							      : "CR or LF in quoted string");
		} else if (ch == '\0') {
			return imap_fail(ps, "NUL octet in quoted string");
		} else {
			ps->p++;
		}
		len++;
	}
	/* The string is start[0..ps->p), its closing DQUOTE at ps->p. */
	if (out_r != NULL) {
		out = o = arena_alloc(ps->arena, len + 1);
		for (const char *s = start; s < ps->p; s++) {
			if (*s == '\\')
				s++;
			*o++ = *s;
		}
		*o = '\0';
		*out_r = out;
		*len_r = len;
	}
	ps->p++;
	return 0;
}

/* An atom, or NIL. One with '[' runs on to the matching ']' over spaces,
 * parentheses and quoted strings, then on through atom characters. */
static int imap_parse_atom(struct imap_parser *ps, struct imap_arg *arg)
{
	const char *start = ps->p;
	size_t brackets = 0;

	while (ps->p < ps->end) {
		unsigned char ch = (unsigned char)*ps->p;

		if (ch == '[') {
			brackets++;
			ps->p++;
		} else if (brackets > 0 && ch == ']') {
			brackets--;
			ps->p++;
		} else if (brackets > 0 && ch == '"') {
			if (imap_parse_quoted(ps, NULL, NULL) < 0)
				return -1;
		} else if (brackets > 0 && ch >= 0x20 && ch < 0x7f) {
			ps->p++;
		} else if (brackets > 0) {
			if (imap_at_crlf(ps))
				return imap_fail(ps, "Missing ']'");
			return imap_fail_octet(ps, "Bad character in atom");
		} else if (imap_is_arg_atom_char(ch)) {
			ps->p++;
		} else {
			break;
		}
	}
	if (brackets > 0)
		return imap_fail(ps, "Missing ']'");
	arg->len = (size_t)(ps->p - start);
	if (arg->len == 3 && strncasecmp(start, "NIL", 3) == 0) {
		arg->type = IMAP_ARG_NIL;
		return 0;
	}
	arg->type = IMAP_ARG_ATOM;
	arg->str = arena_strndup(ps->arena, start, arg->len);
	return 0;
}

/* "{n}", "{n+}", "~{n}" or "~{n+}", CRLF, then n octets. */
static int imap_parse_literal(struct imap_parser *ps, struct imap_arg *arg)
{
	uint64_t size = 0;
	unsigned digits = 0;

	if (*ps->p == '~') {
		arg->literal8 = true;
		ps->p++;
	}
	ps->p++; /* '{' */
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (++digits > IMAP_PARSER_MAX_LITERAL_DIGITS)
			return imap_fail(ps, "Literal size too large");
		size = size * 10 + (uint64_t)(*ps->p - '0');
		ps->p++;
	}
	if (digits == 0)
		return imap_fail(ps, "Bad literal size");
	if (ps->p < ps->end && *ps->p == '+')
		ps->p++;
	if (ps->p == ps->end || *ps->p != '}')
		return imap_fail(ps, "Bad literal size");
	ps->p++;
	if (!imap_at_crlf(ps))
		return imap_fail(ps, "Missing CRLF after the literal size");
	ps->p += 2;
	if (size > (uint64_t)(ps->end - ps->p))
		return imap_fail(ps, "Literal extends past the end of the command");
	arg->type = IMAP_ARG_LITERAL;
	arg->str = ps->p;
	arg->len = (size_t)size;
	if (arg->len <= IMAP_PARSER_MAX_LITERAL_COPY && memchr(arg->str, '\0', arg->len) == NULL)
		arg->cstr = arena_strndup(ps->arena, arg->str, arg->len);
	ps->p += arg->len;
	return 0;
}

static int imap_parse_args(struct imap_parser *ps, bool in_list, const struct imap_arg **args_r,
			   unsigned *count_r);

static int imap_parse_arg(struct imap_parser *ps, struct imap_arg *arg)
{
	unsigned char ch = (unsigned char)*ps->p;

	switch (ch) {
	case '"': {
		char *s;

		if (imap_parse_quoted(ps, &s, &arg->len) < 0)
			return -1;
		arg->type = IMAP_ARG_STRING;
		arg->str = s;
		return 0;
	}
	case '(':
		if (ps->depth == IMAP_PARSER_MAX_DEPTH)
			return imap_fail(ps, "Lists nested too deeply");
		ps->p++;
		ps->depth++;
		arg->type = IMAP_ARG_LIST;
		if (imap_parse_args(ps, true, &arg->list, &arg->count) < 0)
			return -1;
		ps->depth--;
		return 0;
	case ')':
		return imap_fail(ps, "Unexpected ')'");
	case '{':
		return imap_parse_literal(ps, arg);
	case '~':
		if (ps->end - ps->p >= 2 && ps->p[1] == '{')
			return imap_parse_literal(ps, arg);
		return imap_parse_atom(ps, arg);
	default:
		if (ch == '[' || imap_is_arg_atom_char(ch))
			return imap_parse_atom(ps, arg);
		return imap_fail_octet(ps, "Bad character at the start of an argument");
	}
}

/* The arguments of the command (in_list false: the cursor is after the
 * command name, each argument comes after a SP, CRLF ends them) or of a
 * list (the cursor is after "(", ")" ends them). */
static int imap_parse_args(struct imap_parser *ps, bool in_list, const struct imap_arg **args_r,
			   unsigned *count_r)
{
	struct imap_arg_array a = {0};
	bool need_space = !in_list;
	bool after_literal = false;

	for (;;) {
		if (ps->p == ps->end)
			return imap_fail(ps, in_list ? "Missing ')'"
						     : "Missing CRLF at the end of the command");
		if (in_list && *ps->p == ')') {
			ps->p++;
			break;
		}
		if (imap_at_crlf(ps)) {
			if (in_list)
				return imap_fail(ps, "Missing ')'");
			ps->p += 2;
			break;
		}
		if (need_space) {
			if (*ps->p != ' ')
				return imap_fail_octet(
				    ps, after_literal ? "Literal size does not match its data"
						      : "Missing space between arguments");
			ps->p++;
			if (ps->p == ps->end)
				return imap_fail(ps, "Missing CRLF at the end of the command");
			if (*ps->p == ' ' || (in_list && *ps->p == ')') || imap_at_crlf(ps))
				return imap_fail(ps, "Extra space");
		} else if (*ps->p == ' ') {
			return imap_fail(ps, "Extra space");
		}
		struct imap_arg *arg = imap_array_add(ps, &a);
		if (arg == NULL || imap_parse_arg(ps, arg) < 0)
			return -1;
		after_literal = arg->type == IMAP_ARG_LITERAL;
		need_space = true;
	}
	*args_r = a.args;
	*count_r = a.count;
	return 0;
}

/* A command name: 1*ATOM-CHAR, upper-cased; the cursor stays on what
 * follows, which must be SP or CRLF. */
static int imap_parse_name(struct imap_parser *ps, const char **name_r, const char *missing)
{
	const char *start = ps->p;
	char *name;

	while (ps->p < ps->end && imap_is_atom_char((unsigned char)*ps->p))
		ps->p++;
	if (ps->p == start) {
		if (ps->p == ps->end || *ps->p == ' ' || imap_at_crlf(ps))
			return imap_fail(ps, missing);
		return imap_fail_octet(ps, "Bad character in command name");
	}
	if (ps->p == ps->end)
		return imap_fail(ps, "Missing CRLF at the end of the command");
	if (*ps->p != ' ' && !imap_at_crlf(ps))
		return imap_fail_octet(ps, "Bad character in command name");
	name = arena_strndup(ps->arena, start, (size_t)(ps->p - start));
	imap_upper(name);
	*name_r = name;
	return 0;
}

int imap_command_parse(struct arena *arena, const char *buf, size_t len, struct imap_command *cmd_r,
		       const char **error_r)
{
	struct imap_parser ps = {.arena = arena, .p = buf, .end = buf + len};
	const char *start = buf;

	memset(cmd_r, 0, sizeof(*cmd_r));
	*error_r = NULL;

	/* The tag. */
	while (ps.p < ps.end && imap_is_tag_char((unsigned char)*ps.p))
		ps.p++;
	if (ps.p == start) {
		if (ps.p == ps.end || imap_at_crlf(&ps) || *ps.p == ' ')
			*error_r = "Missing tag";
		else if (imap_octet_error(&ps) != NULL)
			*error_r = imap_octet_error(&ps);
		else
			*error_r = "Bad character in tag";
		return -1;
	}
	/* The tag ends at SP or at the line's end (a bare CR or LF is still
	 * the end of a good tag); any other octet makes it a bad one. */
	if (ps.p < ps.end && *ps.p != ' ' && *ps.p != '\r' && *ps.p != '\n') {
		const char *error = imap_octet_error(&ps);

		*error_r = error ? error : "Bad character in tag";
		return -1;
	}
	cmd_r->tag = arena_strndup(arena, start, (size_t)(ps.p - start));
	if (ps.p == ps.end || *ps.p != ' ') {
		if (ps.p == ps.end)
			*error_r = "Missing CRLF at the end of the command";
		else if (imap_octet_error(&ps) != NULL)
			*error_r = imap_octet_error(&ps);
		else
			*error_r = "Missing command name";
		return -1;
	}
	ps.p++;

	/* The command name, and "UID name". */
	if (imap_parse_name(&ps, &cmd_r->name, "Missing command name") < 0)
		goto fail;
	if (strcmp(cmd_r->name, "UID") == 0) {
		if (*ps.p != ' ') {
			imap_fail(&ps, "Missing command name after UID");
			goto fail;
		}
		ps.p++;
		if (imap_parse_name(&ps, &cmd_r->name, "Missing command name after UID") < 0)
			goto fail;
		cmd_r->uid = true;
	}

	if (imap_parse_args(&ps, false, &cmd_r->args, &cmd_r->count) < 0)
		goto fail;
	if (ps.p != ps.end) {
		imap_fail(&ps, "Data after the end of the command");
		goto fail;
	}
	return 0;
fail:
	*error_r = ps.error ? ps.error : "Syntax error";
	return -1;
}

bool imap_arg_astring(const struct imap_arg *arg, const char **str_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
		*str_r = arg->str;
		return true;
	case IMAP_ARG_LITERAL:
		if (arg->cstr == NULL)
			return false;
		*str_r = arg->cstr;
		return true;
	default:
		return false;
	}
}

bool imap_arg_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		return true;
	}
	return imap_arg_astring(arg, str_r);
}

bool imap_arg_atom_is(const struct imap_arg *arg, const char *word)
{
	if (arg->type == IMAP_ARG_NIL)
		return strcasecmp(word, "NIL") == 0;
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}

bool imap_arg_number(const struct imap_arg *arg, unsigned long long *n_r)
{
	unsigned long long n = 0;

	if (arg->type != IMAP_ARG_ATOM || arg->len == 0)
		return false;
	for (size_t i = 0; i < arg->len; i++) {
		char ch = arg->str[i];

		if (ch < '0' || ch > '9')
			return false;
		if (n > (INT64_MAX - (unsigned long long)(ch - '0')) / 10)
			return false;
		n = n * 10 + (unsigned long long)(ch - '0');
	}
	*n_r = n;
	return true;
}
