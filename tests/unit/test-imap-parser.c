/* Unit tests for the IMAP command parser (node/imap/imap-parser.c).
 *
 * Each table case is copied into a heap buffer of exactly its length (so
 * ASan sees any read past the command) and parsed. A success is compared
 * through a dump of the argument tree:
 *   atom      as written          string   "text" (quoted-pairs undone)
 *   NIL       NIL                 literal  {n}octets, literal8 ~{n}octets
 *   list      (a b c)             a NUL inside a literal shows as \0
 * and every literal must point into the buffer. A failure must carry the
 * expected error text and the expected tag (NULL when the tag was bad).
 * Limits (nesting, argument count, literal digits) are built at the
 * boundary and one past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

struct imap_parser_case {
	const char *in;
	size_t len;	  /* 0: strlen(in); set it for input with NUL octets */
	const char *tag;  /* expected tag; NULL: none */
	const char *name; /* success: expected name; NULL: expect failure */
	bool uid;
	const char *dump;  /* success: the arguments */
	const char *error; /* failure: the error text */
};

#define OK(i, t, n, d)                                                                             \
	{                                                                                          \
		.in = (i), .tag = (t), .name = (n), .dump = (d)                                    \
	}
#define OK_UID(i, t, n, d)                                                                         \
	{                                                                                          \
		.in = (i), .tag = (t), .name = (n), .uid = true, .dump = (d)                       \
	}
#define RAW_OK(i, t, n, d)                                                                         \
	{                                                                                          \
		.in = (i), .len = sizeof(i) - 1, .tag = (t), .name = (n), .dump = (d)              \
	}
#define FAIL(i, t, e)                                                                              \
	{                                                                                          \
		.in = (i), .tag = (t), .error = (e)                                                \
	}
#define RAW_FAIL(i, t, e)                                                                          \
	{                                                                                          \
		.in = (i), .len = sizeof(i) - 1, .tag = (t), .error = (e)                          \
	}

static const struct imap_parser_case imap_parser_cases[] = {
    /* The command line itself. */
    OK("a1 NOOP\r\n", "a1", "NOOP", ""),
    OK("a1 noop\r\n", "a1", "NOOP", ""),
    OK("A]1 CAPABILITY\r\n", "A]1", "CAPABILITY", ""),
    OK("x.y-z_0 X-FOO\r\n", "x.y-z_0", "X-FOO", ""),
    OK("1 LOGIN user pass\r\n", "1", "LOGIN", "user pass"),
    OK_UID("a UID FETCH 1:* (FLAGS)\r\n", "a", "FETCH", "1:* (FLAGS)"),
    OK_UID("a uid fetch 1 FLAGS\r\n", "a", "FETCH", "1 FLAGS"),
    OK_UID("a UID EXPUNGE\r\n", "a", "EXPUNGE", ""),
    FAIL("a UID\r\n", "a", "Missing command name after UID"),
    FAIL("a UID \r\n", "a", "Missing command name after UID"),
    FAIL("a UID (FETCH)\r\n", "a", "Bad character in command name"),
    FAIL("\r\n", NULL, "Missing tag"),
    FAIL("", NULL, "Missing tag"),
    FAIL(" NOOP\r\n", NULL, "Missing tag"),
    FAIL("+ NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a+ NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a* NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a% NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a( NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a{ NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a\" NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a\\ NOOP\r\n", NULL, "Bad character in tag"),
    FAIL("a\x80 NOOP\r\n", NULL, "8-bit octet outside a quoted string or literal"),
    FAIL("a\x01 NOOP\r\n", NULL, "Control character in command"),
    FAIL("a\tNOOP\r\n", NULL, "Control character in command"),
    RAW_FAIL("a\0 NOOP\r\n", NULL, "NUL octet outside a literal"),
    FAIL("a1\r\n", "a1", "Missing command name"),
    FAIL("a1 \r\n", "a1", "Missing command name"),
    FAIL("a1  NOOP\r\n", "a1", "Missing command name"),
    FAIL("a1", "a1", "Missing CRLF at the end of the command"),
    FAIL("a1 NOOP", "a1", "Missing CRLF at the end of the command"),
    FAIL("a1 NOOP\r", "a1", "Bare CR in command"),
    FAIL("a1 NOOP\n", "a1", "Bare LF in command"),
    FAIL("a1\n", "a1", "Bare LF in command"),
    FAIL("a1 NO\rOP\r\n", "a1", "Bare CR in command"),
    FAIL("a1 NOOP x\ry\r\n", "a1", "Bare CR in command"),
    FAIL("a1 NOOP x\ny\r\n", "a1", "Bare LF in command"),
    FAIL("a1 NO[OP]\r\n", "a1", "Bad character in command name"),
    FAIL("a1 N\xc3\xb6OP\r\n", "a1", "8-bit octet outside a quoted string or literal"),
    FAIL("a1 NOOP\r\na2 NOOP\r\n", "a1", "Data after the end of the command"),
    FAIL("a1 NOOP\r\n\r\n", "a1", "Data after the end of the command"),

    /* Spaces. */
    FAIL("a1 NOOP \r\n", "a1", "Extra space"),
    FAIL("a1 LOGIN a  b\r\n", "a1", "Extra space"),
    FAIL("a1 LOGIN a b \r\n", "a1", "Extra space"),
    FAIL("a1 X ( a)\r\n", "a1", "Extra space"),
    FAIL("a1 X (a )\r\n", "a1", "Extra space"),
    FAIL("a1 X ( )\r\n", "a1", "Extra space"),
    FAIL("a1 X (a  b)\r\n", "a1", "Extra space"),
    FAIL("a1 X \"a\"\"b\"\r\n", "a1", "Missing space between arguments"),
    FAIL("a1 X (a)(b)\r\n", "a1", "Missing space between arguments"),
    FAIL("a1 X a(b)\r\n", "a1", "Missing space between arguments"),
    FAIL("a1 X abc{3}\r\n", "a1", "Missing space between arguments"),

    /* Atoms. */
    OK("a X \\Seen \\Answered $Junk\r\n", "a", "X", "\\Seen \\Answered $Junk"),
    OK("a LIST \"\" *\r\n", "a", "LIST", "\"\" *"),
    OK("a LIST \"\" %/x*\r\n", "a", "LIST", "\"\" %/x*"),
    OK("a X ]\r\n", "a", "X", "]"),
    OK("a X ~foo ~\r\n", "a", "X", "~foo ~"),
    OK("a X a!#$&'+,-./:;<=>?@^_`|}~\r\n", "a", "X", "a!#$&'+,-./:;<=>?@^_`|}~"),
    FAIL("a X caf\xc3\xa9\r\n", "a", "8-bit octet outside a quoted string or literal"),
    FAIL("a X \xc3\xa9\r\n", "a", "8-bit octet outside a quoted string or literal"),
    FAIL("a X a\x7f\r\n", "a", "Control character in command"),
    RAW_FAIL("a X a\0b\r\n", "a", "NUL octet outside a literal"),
    RAW_FAIL("a X \0\r\n", "a", "NUL octet outside a literal"),
    FAIL("a X )\r\n", "a", "Unexpected ')'"),
    FAIL("a X a)\r\n", "a", "Missing space between arguments"),

    /* Brackets: one atom over spaces and parentheses. */
    OK("a FETCH 1 BODY[HEADER.FIELDS (A B)]<0.10>\r\n", "a", "FETCH",
       "1 BODY[HEADER.FIELDS (A B)]<0.10>"),
    OK("a FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (From To)]<0.2048> FLAGS)\r\n", "a", "FETCH",
       "1 (UID BODY.PEEK[HEADER.FIELDS (From To)]<0.2048> FLAGS)"),
    OK("a FETCH 1 BODY[]\r\n", "a", "FETCH", "1 BODY[]"),
    OK("a FETCH 1 (BODY[1.2.MIME] BINARY[1]<0.5>)\r\n", "a", "FETCH",
       "1 (BODY[1.2.MIME] BINARY[1]<0.5>)"),
    OK("a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" \"]\")]\r\n", "a", "FETCH",
       "1 BODY[HEADER.FIELDS.NOT (\"X-A\" \"]\")]"),
    OK("a X [a[b]c]d\r\n", "a", "X", "[a[b]c]d"),
    FAIL("a X [\r\n]\r\n", "a", "Missing ']'"),
    FAIL("a FETCH 1 BODY[HEADER\r\n", "a", "Missing ']'"),
    FAIL("a FETCH 1 BODY[HEADER", "a", "Missing ']'"),
    FAIL("a FETCH 1 BODY[HEADER.FIELDS (S\xc3\xbc)]\r\n", "a",
	 "8-bit octet outside a quoted string or literal"),
    FAIL("a FETCH 1 BODY[\"abc]\r\n", "a", "Unterminated quoted string"),
    FAIL("a FETCH 1 BODY[a\nb]\r\n", "a", "Bare LF in command"),

    /* NIL. */
    OK("a X NIL nil Nil \"NIL\" NILS\r\n", "a", "X", "NIL NIL NIL \"NIL\" NILS"),
    OK("a X (NIL)\r\n", "a", "X", "(NIL)"),

    /* Quoted strings. */
    OK("a LOGIN \"user\" \"p a s s\"\r\n", "a", "LOGIN", "\"user\" \"p a s s\""),
    OK("a X \"\"\r\n", "a", "X", "\"\""),
    OK("a X \"a\\\\b\\\"c\"\r\n", "a", "X", "\"a\\b\"c\""),
    OK("a X \"caf\xc3\xa9\"\r\n", "a", "X", "\"caf\xc3\xa9\""),
    OK("a X \"(){}*%]\"\r\n", "a", "X", "\"(){}*%]\""),
    OK("a X \"\t\"\r\n", "a", "X", "\"\t\""),
    FAIL("a X \"abc\r\n", "a", "Unterminated quoted string"),
    FAIL("a X \"abc", "a", "Unterminated quoted string"),
    FAIL("a X \"a\rb\"\r\n", "a", "CR or LF in quoted string"),
    FAIL("a X \"a\nb\"\r\n", "a", "CR or LF in quoted string"),
    FAIL("a X \"a\\nb\"\r\n", "a", "Bad escape in quoted string: only \\\\ and \\\" are allowed"),
    FAIL("a X \"a\\", "a", "Bad escape in quoted string: only \\\\ and \\\" are allowed"),
    RAW_FAIL("a X \"a\0b\"\r\n", "a", "NUL octet in quoted string"),

    /* Lists. */
    OK("a X ()\r\n", "a", "X", "()"),
    OK("a X (())\r\n", "a", "X", "(())"),
    OK("a X (() ())\r\n", "a", "X", "(() ())"),
    OK("a X (a (b (c \"d\")) e) f\r\n", "a", "X", "(a (b (c \"d\")) e) f"),
    OK("a STORE 1 +FLAGS.SILENT (\\Seen \\Deleted)\r\n", "a", "STORE",
       "1 +FLAGS.SILENT (\\Seen \\Deleted)"),
    FAIL("a X (\r\n", "a", "Missing ')'"),
    FAIL("a X (a\r\n", "a", "Missing ')'"),
    FAIL("a X ((a)\r\n", "a", "Missing ')'"),
    FAIL("a X (a", "a", "Missing ')'"),
    FAIL("a X (a))\r\n", "a", "Missing space between arguments"),
    FAIL("a X a) (b\r\n", "a", "Missing space between arguments"),

    /* Literals. */
    OK("a LOGIN {4}\r\nuser {4+}\r\npass\r\n", "a", "LOGIN", "{4}user {4}pass"),
    OK("a APPEND INBOX {5}\r\nhello\r\n", "a", "APPEND", "INBOX {5}hello"),
    OK("a APPEND INBOX (\\Seen) \"7-Feb-1994 21:52:25 -0800\" {5}\r\nhello\r\n", "a", "APPEND",
       "INBOX (\\Seen) \"7-Feb-1994 21:52:25 -0800\" {5}hello"),
    OK("a APPEND INBOX {3}\r\nabc {3}\r\ndef\r\n", "a", "APPEND", "INBOX {3}abc {3}def"),
    OK("a APPEND INBOX ~{3}\r\nabc\r\n", "a", "APPEND", "INBOX ~{3}abc"),
    OK("a APPEND INBOX ~{3+}\r\nabc\r\n", "a", "APPEND", "INBOX ~{3}abc"),
    OK("a APPEND INBOX CATENATE (TEXT {3}\r\nabc URL \"/INBOX;UID=1\")\r\n", "a", "APPEND",
       "INBOX CATENATE (TEXT {3}abc URL \"/INBOX;UID=1\")"),
    OK("a X {0}\r\n\r\n", "a", "X", "{0}"),
    OK("a X ({0}\r\n)\r\n", "a", "X", "({0})"),
    OK("a X {007}\r\nabcdefg\r\n", "a", "X", "{7}abcdefg"),
    OK("a X {6}\r\n(){}\r\n\r\n", "a", "X", "{6}(){}\r\n"),
    OK("a X {4}\r\n\xff\xfe\x80\x01\r\n", "a", "X", "{4}\xff\xfe\x80\x01"),
    RAW_OK("a X {3}\r\na\0b\r\n", "a", "X", "{3}a\\0b"),
    RAW_OK("a X ~{3}\r\n\0\0\0\r\n", "a", "X", "~{3}\\0\\0\\0"),
    FAIL("a X {3}\r\nabcd\r\n", "a", "Literal size does not match its data"),
    FAIL("a X {3}\r\nab\r\n", "a", "Bare LF in command"),
    FAIL("a X {5}\r\nab\r\n", "a", "Literal extends past the end of the command"),
    FAIL("a X {3}\r\n", "a", "Literal extends past the end of the command"),
    FAIL("a X {3}\r\nabc", "a", "Missing CRLF at the end of the command"),
    FAIL("a X {3}", "a", "Missing CRLF after the literal size"),
    FAIL("a X {3}\n", "a", "Missing CRLF after the literal size"),
    FAIL("a X {3} \r\nabc\r\n", "a", "Missing CRLF after the literal size"),
    FAIL("a X {}\r\n\r\n", "a", "Bad literal size"),
    FAIL("a X {+}\r\n\r\n", "a", "Bad literal size"),
    FAIL("a X {-1}\r\n\r\n", "a", "Bad literal size"),
    FAIL("a X {3-}\r\nabc\r\n", "a", "Bad literal size"),
    FAIL("a X {3++}\r\nabc\r\n", "a", "Bad literal size"),
    FAIL("a X { 3}\r\nabc\r\n", "a", "Bad literal size"),
    FAIL("a X {3\r\nabc\r\n", "a", "Bad literal size"),
    FAIL("a X {3", "a", "Bad literal size"),
    FAIL("a X ~{3\r\nabc\r\n", "a", "Bad literal size"),
    FAIL("a X {10000000000000000000}\r\n", "a", "Literal size too large"),
    FAIL("a X {18446744073709551617}\r\n", "a", "Literal size too large"),
    FAIL("a X {0000000000000000000003}\r\nabc\r\n", "a", "Literal size too large"),
    FAIL("a X {9999999999999999999}\r\n", "a", "Literal extends past the end of the command"),
    FAIL("a X {3}\r\nabc", "a", "Missing CRLF at the end of the command"),
};

/* Dumps the arguments as the table writes them. */
static void dump_args(struct strbuf *sb, const struct imap_arg *args, unsigned count,
		      const char *buf, size_t len)
{
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *arg = &args[i];

		if (i > 0)
			strbuf_append(sb, " ", 1);
		switch (arg->type) {
		case IMAP_ARG_ATOM:
			assert_non_null(arg->str);
			assert_int_equal(strlen(arg->str), arg->len);
			assert_null(arg->list);
			strbuf_append(sb, arg->str, arg->len);
			break;
		case IMAP_ARG_STRING:
			assert_non_null(arg->str);
			assert_int_equal(strlen(arg->str), arg->len);
			strbuf_appendf(sb, "\"%s\"", arg->str);
			break;
		case IMAP_ARG_NIL:
			assert_null(arg->str);
			strbuf_append(sb, "NIL", 3);
			break;
		case IMAP_ARG_LITERAL:
			/* Inside the buffer, right after a CRLF. */
			assert_true(arg->str >= buf + 2 && arg->str + arg->len <= buf + len);
			assert_memory_equal(arg->str - 2, "\r\n", 2);
			if (arg->cstr != NULL) {
				assert_int_equal(strlen(arg->cstr), arg->len);
				assert_memory_equal(arg->cstr, arg->str, arg->len);
			} else {
				assert_non_null(memchr(arg->str, '\0', arg->len));
			}
			strbuf_appendf(sb, "%s{%zu}", arg->literal8 ? "~" : "", arg->len);
			for (size_t k = 0; k < arg->len; k++) {
				if (arg->str[k] == '\0')
					strbuf_append(sb, "\\0", 2);
				else
					strbuf_append(sb, &arg->str[k], 1);
			}
			break;
		case IMAP_ARG_LIST:
			assert_null(arg->str);
			strbuf_append(sb, "(", 1);
			dump_args(sb, arg->list, arg->count, buf, len);
			strbuf_append(sb, ")", 1);
			break;
		default:
			fail_msg("bad type %d", (int)arg->type);
		}
	}
}

static int parse_copy(struct arena *arena, const char *in, size_t len, char **buf_r,
		      struct imap_command *cmd, const char **error)
{
	char *buf = malloc(len > 0 ? len : 1);

	assert_non_null(buf);
	memcpy(buf, in, len);
	*buf_r = buf;
	return imap_command_parse(arena, buf, len, cmd, error);
}

static void run_case(struct arena *arena, const struct imap_parser_case *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	struct imap_command cmd;
	const char *error = NULL;
	char *buf;
	int ret = parse_copy(arena, c->in, len, &buf, &cmd, &error);

	if (c->name != NULL) {
		struct strbuf sb = {0};

		if (ret != 0)
			fail_msg("\"%s\": failed with \"%s\"", c->in, error);
		assert_string_equal(cmd.tag, c->tag);
		assert_string_equal(cmd.name, c->name);
		assert_int_equal(cmd.uid, c->uid);
		dump_args(&sb, cmd.args, cmd.count, buf, len);
		if (strcmp(sb.data ? sb.data : "", c->dump) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", c->in, sb.data ? sb.data : "",
				 c->dump);
		strbuf_free(&sb);
	} else {
		if (ret != -1)
			fail_msg("\"%s\": parsed, want \"%s\"", c->in, c->error);
		assert_non_null(error);
		if (strcmp(error, c->error) != 0)
			fail_msg("\"%s\": error \"%s\", want \"%s\"", c->in, error, c->error);
		if (c->tag == NULL)
			assert_null(cmd.tag);
		else if (cmd.tag == NULL || strcmp(cmd.tag, c->tag) != 0)
			fail_msg("\"%s\": tag %s, want %s", c->in, cmd.tag ? cmd.tag : "NULL",
				 c->tag);
	}
	free(buf);
}

static void test_table(void **state)
{
	struct arena *arena = arena_create(4096);

	(void)state;
	for (size_t i = 0; i < sizeof(imap_parser_cases) / sizeof(imap_parser_cases[0]); i++) {
		run_case(arena, &imap_parser_cases[i]);
		arena_clear(arena);
	}
	arena_destroy(&arena);
}

/* Builds "a X " + n times "(" + ")" n times + CRLF. */
static char *nested(unsigned n)
{
	struct strbuf sb = {0};

	strbuf_append(&sb, "a X ", 4);
	for (unsigned i = 0; i < n; i++)
		strbuf_append(&sb, "(", 1);
	strbuf_append(&sb, "x", 1);
	for (unsigned i = 0; i < n; i++)
		strbuf_append(&sb, ")", 1);
	strbuf_append(&sb, "\r\n", 2);
	return sb.data;
}

static void test_nesting(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_command cmd;
	const char *error;
	char *s = nested(IMAP_PARSER_MAX_DEPTH);
	const struct imap_arg *arg;

	(void)state;
	assert_int_equal(imap_command_parse(arena, s, strlen(s), &cmd, &error), 0);
	arg = &cmd.args[0];
	for (unsigned i = 0; i < IMAP_PARSER_MAX_DEPTH; i++) {
		assert_int_equal(arg->type, IMAP_ARG_LIST);
		assert_int_equal(arg->count, 1);
		arg = &arg->list[0];
	}
	assert_int_equal(arg->type, IMAP_ARG_ATOM);
	free(s);

	s = nested(IMAP_PARSER_MAX_DEPTH + 1);
	assert_int_equal(imap_command_parse(arena, s, strlen(s), &cmd, &error), -1);
	assert_string_equal(error, "Lists nested too deeply");
	assert_string_equal(cmd.tag, "a");
	free(s);

	/* Very deep input fails at the limit, without deep recursion. */
	s = nested(100000);
	assert_int_equal(imap_command_parse(arena, s, strlen(s), &cmd, &error), -1);
	assert_string_equal(error, "Lists nested too deeply");
	free(s);
	arena_destroy(&arena);
}

/* "a X" + n times " x" (or " ()" inside a list) + CRLF. */
static char *many(unsigned n, bool in_list)
{
	struct strbuf sb = {0};

	strbuf_append(&sb, in_list ? "a X (" : "a X", in_list ? 5 : 3);
	for (unsigned i = 0; i < n; i++) {
		if (in_list && i == 0)
			strbuf_append(&sb, "()", 2);
		else
			strbuf_append(&sb, in_list ? " ()" : " x", in_list ? 3 : 2);
	}
	strbuf_append(&sb, in_list ? ")\r\n" : "\r\n", in_list ? 3 : 2);
	return sb.data;
}

static void test_arg_count(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_command cmd;
	const char *error;

	(void)state;
	for (int in_list = 0; in_list <= 1; in_list++) {
		char *s = many(IMAP_PARSER_MAX_ARGS, in_list);

		if (imap_command_parse(arena, s, strlen(s), &cmd, &error) != 0)
			fail_msg("%u arguments: %s", IMAP_PARSER_MAX_ARGS, error);
		if (in_list) {
			assert_int_equal(cmd.count, 1);
			assert_int_equal(cmd.args[0].count, IMAP_PARSER_MAX_ARGS);
			assert_int_equal(cmd.args[0].list[IMAP_PARSER_MAX_ARGS - 1].type,
					 IMAP_ARG_LIST);
		} else {
			assert_int_equal(cmd.count, IMAP_PARSER_MAX_ARGS);
			assert_string_equal(cmd.args[IMAP_PARSER_MAX_ARGS - 1].str, "x");
		}
		free(s);
		arena_clear(arena);

		s = many(IMAP_PARSER_MAX_ARGS + 1, in_list);
		assert_int_equal(imap_command_parse(arena, s, strlen(s), &cmd, &error), -1);
		assert_string_equal(error, "Too many arguments");
		free(s);
		arena_clear(arena);
	}
	arena_destroy(&arena);
}

static void test_big_literal(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_command cmd;
	const char *error, *str;
	struct strbuf sb = {0};
	size_t n = 64 * 1024 + 1;

	(void)state;
	strbuf_appendf(&sb, "a APPEND INBOX {%zu}\r\n", n);
	for (size_t i = 0; i < n; i++)
		strbuf_append(&sb, "x", 1);
	strbuf_append(&sb, "\r\n", 2);
	assert_int_equal(imap_command_parse(arena, sb.data, sb.len, &cmd, &error), 0);
	assert_int_equal(cmd.count, 2);
	assert_int_equal(cmd.args[1].type, IMAP_ARG_LITERAL);
	assert_int_equal(cmd.args[1].len, n);
	assert_null(cmd.args[1].cstr); /* message data is not copied */
	assert_false(imap_arg_astring(&cmd.args[1], &str));
	strbuf_free(&sb);
	arena_destroy(&arena);
}

static void test_helpers(void **state)
{
	struct arena *arena = arena_create(4096);
	struct imap_command cmd;
	const char *error, *str;
	unsigned long long n;
	static const char in[] = "a X atom \"str\" {3}\r\nlit NIL (l) {3}\r\na\0b 0 "
				 "9223372036854775807 9223372036854775808 12a \"12\" "
				 "18446744073709551616\r\n";

	(void)state;
	assert_int_equal(imap_command_parse(arena, in, sizeof(in) - 1, &cmd, &error), 0);
	assert_int_equal(cmd.count, 12);

	assert_true(imap_arg_astring(&cmd.args[0], &str));
	assert_string_equal(str, "atom");
	assert_true(imap_arg_astring(&cmd.args[1], &str));
	assert_string_equal(str, "str");
	assert_true(imap_arg_astring(&cmd.args[2], &str));
	assert_string_equal(str, "lit");
	assert_false(imap_arg_astring(&cmd.args[3], &str)); /* NIL */
	assert_false(imap_arg_astring(&cmd.args[4], &str)); /* list */
	assert_false(imap_arg_astring(&cmd.args[5], &str)); /* literal with NUL */

	str = "x";
	assert_true(imap_arg_nstring(&cmd.args[3], &str));
	assert_null(str);
	assert_true(imap_arg_nstring(&cmd.args[1], &str));
	assert_string_equal(str, "str");
	assert_false(imap_arg_nstring(&cmd.args[4], &str));

	assert_true(imap_arg_atom_is(&cmd.args[0], "ATOM"));
	assert_true(imap_arg_atom_is(&cmd.args[0], "atom"));
	assert_false(imap_arg_atom_is(&cmd.args[0], "ato"));
	assert_false(imap_arg_atom_is(&cmd.args[1], "str")); /* a string is no atom */
	assert_false(imap_arg_atom_is(&cmd.args[2], "lit"));
	assert_true(imap_arg_atom_is(&cmd.args[3], "nil"));

	assert_true(imap_arg_number(&cmd.args[6], &n));
	assert_int_equal(n, 0);
	assert_true(imap_arg_number(&cmd.args[7], &n));
	assert_true(n == 9223372036854775807ull);
	assert_false(imap_arg_number(&cmd.args[8], &n));
	assert_false(imap_arg_number(&cmd.args[9], &n));
	assert_false(imap_arg_number(&cmd.args[10], &n)); /* a string */
	assert_false(imap_arg_number(&cmd.args[11], &n));
	assert_false(imap_arg_number(&cmd.args[0], &n));
	assert_false(imap_arg_number(&cmd.args[3], &n));
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),     cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_arg_count), cmocka_unit_test(test_big_literal),
	    cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
