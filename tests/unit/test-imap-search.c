/* imap_search_parse, imap_search_has and imap_search_sql.
 *
 * The argument trees are built here, without the command parser: a
 * compact notation (tokens separated by spaces, "(" ")" lists, "..."
 * quoted strings, {...} literals, NIL) is turned into struct imap_arg by
 * test_args(). Parse cases compare a dump of the key tree; SQL cases
 * compare the exact WHERE text and its parameters.
 */
#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- argument trees -------------------------------------------------- */

struct test_input {
	const char *p, *end;
	struct arena *arena;
};

static const struct imap_arg *test_args(struct test_input *in, bool nested, unsigned *count_r)
{
	struct imap_arg *args = arena_zalloc(in->arena, 1024 * sizeof(*args));
	unsigned count = 0;

	while (in->p < in->end) {
		struct imap_arg *arg = &args[count];
		char ch = *in->p;

		if (ch == ' ') {
			in->p++;
			continue;
		}
		if (ch == ')') {
			in->p++;
			assert_true(nested);
			break;
		}
		assert_true(count < 1024);
		if (ch == '(') {
			in->p++;
			arg->type = IMAP_ARG_LIST;
			arg->list = test_args(in, true, &arg->count);
		} else if (ch == '"' || ch == '{' || ch == '~') {
			char close = ch == '"' ? '"' : '}';
			const char *start;

			if (ch == '~') { /* ~{...}: literal8 */
				in->p++;
				arg->literal8 = true;
			}
			start = ++in->p;
			while (in->p < in->end && *in->p != close)
				in->p++;
			assert_true(in->p < in->end);
			arg->len = (size_t)(in->p - start);
			in->p++;
			if (ch == '"') {
				arg->type = IMAP_ARG_STRING;
				arg->str = arena_strndup(in->arena, start, arg->len);
			} else {
				/* Not NUL-terminated, as the parser leaves literals. */
				char *lit = arena_alloc(in->arena, arg->len + 1);
				memcpy(lit, start, arg->len);
				lit[arg->len] = 'X';
				arg->type = IMAP_ARG_LITERAL;
				arg->str = lit;
			}
		} else {
			const char *start = in->p;

			while (in->p < in->end && *in->p != ' ' && *in->p != '(' && *in->p != ')')
				in->p++;
			arg->type = IMAP_ARG_ATOM;
			arg->len = (size_t)(in->p - start);
			arg->str = arena_strndup(in->arena, start, arg->len);
			if (strcmp(arg->str, "NIL") == 0) {
				arg->type = IMAP_ARG_NIL;
				arg->str = NULL;
				arg->len = 0;
			}
		}
		count++;
	}
	*count_r = count;
	return args;
}

static const struct imap_arg *test_parse_args(struct arena *arena, const char *text, size_t len,
					      unsigned *count_r)
{
	struct test_input in = {text, text + len, arena};

	return test_args(&in, false, count_r);
}

/* ---- dump ------------------------------------------------------------ */

static void test_dump_set(struct strbuf *out, const struct imap_seqset *set)
{
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			strbuf_append(out, ",", 1);
		if (r->lo == IMAP_SEQ_STAR)
			strbuf_append(out, "*", 1);
		else
			strbuf_appendf(out, "%u", (unsigned)r->lo);
		if (r->hi != r->lo) {
			if (r->hi == IMAP_SEQ_STAR)
				strbuf_append(out, ":*", 2);
			else
				strbuf_appendf(out, ":%u", (unsigned)r->hi);
		}
	}
}

static void test_dump(struct strbuf *out, const struct imap_search_key *key)
{
	static const char *const fields[] = {"internal", "sent", "saved"};
	static const char *const ops[] = {"<", "=", ">="};
	const char *name = NULL;

	switch (key->type) {
	case IMAP_SEARCH_ALL:
		strbuf_appendf(out, "ALL");
		return;
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
		strbuf_appendf(out, "%s(",
			       key->type == IMAP_SEARCH_AND  ? "AND"
			       : key->type == IMAP_SEARCH_OR ? "OR"
							     : "NOT");
		for (const struct imap_search_key *c = key->children; c != NULL; c = c->next) {
			if (c != key->children)
				strbuf_append(out, " ", 1);
			test_dump(out, c);
		}
		strbuf_append(out, ")", 1);
		return;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UIDSET:
		strbuf_appendf(out, "%s(", key->type == IMAP_SEARCH_SEQSET ? "SEQ" : "UID");
		test_dump_set(out, &key->set);
		strbuf_append(out, ")", 1);
		return;
	case IMAP_SEARCH_FLAG:
		strbuf_appendf(out, "FLAG(%s)", key->text);
		return;
	case IMAP_SEARCH_RECENT:
		strbuf_appendf(out, "RECENT");
		return;
	case IMAP_SEARCH_HEADER:
		strbuf_appendf(out, "HEADER(%s \"%s\")", key->field, key->text);
		return;
	case IMAP_SEARCH_BODY:
		strbuf_appendf(out, "BODY(\"%s\")", key->text);
		return;
	case IMAP_SEARCH_TEXT:
		strbuf_appendf(out, "TEXT(\"%s\")", key->text);
		return;
	case IMAP_SEARCH_DATE:
		strbuf_appendf(out, "DATE(%s %s %04d-%02d-%02d)", fields[key->date_field],
			       ops[key->date_op], key->year, key->month, key->day);
		return;
	case IMAP_SEARCH_OLDER:
		name = "OLDER";
		break;
	case IMAP_SEARCH_YOUNGER:
		name = "YOUNGER";
		break;
	case IMAP_SEARCH_LARGER:
		name = "LARGER";
		break;
	case IMAP_SEARCH_SMALLER:
		name = "SMALLER";
		break;
	case IMAP_SEARCH_MODSEQ:
		name = "MODSEQ";
		break;
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		strbuf_appendf(out, "SAVEDATESUPPORTED");
		return;
	case IMAP_SEARCH_EMAILID:
		strbuf_appendf(out, "EMAILID(%s)", key->text);
		return;
	case IMAP_SEARCH_THREADID:
		strbuf_appendf(out, "THREADID(%s)", key->text);
		return;
	}
	assert_non_null(name);
	strbuf_appendf(out, "%s(%llu)", name, key->number);
}

/* ---- parse cases ----------------------------------------------------- */

struct parse_case {
	const char *input;
	size_t len; /* 0: strlen */
	bool utf8;
	/* The dump, or "!" and the start of the error, or "=" and all of it. */
	const char *want;
};

#define U true	/* UTF-8 */
#define A false /* US-ASCII */

static const struct parse_case parse_cases[] = {
    /* Every key. */
    {"ALL", 0, A, "ALL"},
    {"all", 0, A, "ALL"},
    {"ANSWERED", 0, A, "FLAG(\\Answered)"},
    {"BCC eve", 0, A, "HEADER(bcc \"eve\")"},
    {"BEFORE 1-Feb-1994", 0, A, "DATE(internal < 1994-02-01)"},
    {"BODY \"hello world\"", 0, A, "BODY(\"hello world\")"},
    {"CC {carol}", 0, A, "HEADER(cc \"carol\")"},
    {"DELETED", 0, A, "FLAG(\\Deleted)"},
    {"DRAFT", 0, A, "FLAG(\\Draft)"},
    {"FLAGGED", 0, A, "FLAG(\\Flagged)"},
    {"FROM alice", 0, A, "HEADER(from \"alice\")"},
    {"HEADER X-Spam-Flag YES", 0, A, "HEADER(x-spam-flag \"YES\")"},
    {"HEADER \"\" \"\"", 0, A, "HEADER( \"\")"},
    {"KEYWORD $Forwarded", 0, A, "FLAG($Forwarded)"},
    {"LARGER 1000", 0, A, "LARGER(1000)"},
    {"NEW", 0, A, "AND(RECENT NOT(FLAG(\\Seen)))"},
    {"NOT SEEN", 0, A, "NOT(FLAG(\\Seen))"},
    {"OLD", 0, A, "NOT(RECENT)"},
    {"ON 29-feb-2024", 0, A, "DATE(internal = 2024-02-29)"},
    {"OR SEEN FLAGGED", 0, A, "OR(FLAG(\\Seen) FLAG(\\Flagged))"},
    {"RECENT", 0, A, "RECENT"},
    {"SEEN", 0, A, "FLAG(\\Seen)"},
    {"SENTBEFORE 1-Jan-2000", 0, A, "DATE(sent < 2000-01-01)"},
    {"SENTON 31-DEC-1999", 0, A, "DATE(sent = 1999-12-31)"},
    {"SENTSINCE 01-Mar-2024", 0, A, "DATE(sent >= 2024-03-01)"},
    {"SINCE \"1-Feb-1994\"", 0, A, "DATE(internal >= 1994-02-01)"},
    {"SMALLER 0", 0, A, "SMALLER(0)"},
    {"SUBJECT NIL", 0, A, "HEADER(subject \"NIL\")"},
    {"TEXT x", 0, A, "TEXT(\"x\")"},
    {"TO bob", 0, A, "HEADER(to \"bob\")"},
    {"UID 1:*", 0, A, "UID(1:*)"},
    {"UNANSWERED", 0, A, "NOT(FLAG(\\Answered))"},
    {"UNDELETED", 0, A, "NOT(FLAG(\\Deleted))"},
    {"UNDRAFT", 0, A, "NOT(FLAG(\\Draft))"},
    {"UNFLAGGED", 0, A, "NOT(FLAG(\\Flagged))"},
    {"UNKEYWORD Junk", 0, A, "NOT(FLAG(Junk))"},
    {"UNSEEN", 0, A, "NOT(FLAG(\\Seen))"},
    {"1,3:5", 0, A, "SEQ(1,3:5)"},
    {"*", 0, A, "SEQ(*)"},
    {"5:2,*:7", 0, A, "SEQ(2:5,7:*)"},
    {"MODSEQ 0", 0, A, "MODSEQ(0)"},
    {"MODSEQ \"/flags/\\Draft\" all 620162338", 0, A, "MODSEQ(620162338)"},
    {"MODSEQ \"/flags/$Junk\" PRIV 9223372036854775807", 0, A, "MODSEQ(9223372036854775807)"},
    {"SAVEDBEFORE 1-Jan-2021", 0, A, "DATE(saved < 2021-01-01)"},
    {"SAVEDON 1-Jan-2021", 0, A, "DATE(saved = 2021-01-01)"},
    {"SAVEDSINCE 1-Jan-2021", 0, A, "DATE(saved >= 2021-01-01)"},
    {"SAVEDATESUPPORTED", 0, A, "SAVEDATESUPPORTED"},
    {"OLDER 3600", 0, A, "OLDER(3600)"},
    {"YOUNGER 4294967295", 0, A, "YOUNGER(4294967295)"},
    {"EMAILID M6d99ac3275bb4e", 0, A, "EMAILID(M6d99ac3275bb4e)"},
    {"THREADID T64b478a75b7ea9", 0, A, "THREADID(T64b478a75b7ea9)"},
    {"EMAILID \"M-1_a\"", 0, A, "EMAILID(M-1_a)"},
    /* Programs: several keys are an AND; lists; nesting. */
    {"SEEN FROM x", 0, A, "AND(FLAG(\\Seen) HEADER(from \"x\"))"},
    {"(SEEN)", 0, A, "FLAG(\\Seen)"},
    {"(SEEN DELETED) 1:3", 0, A, "AND(AND(FLAG(\\Seen) FLAG(\\Deleted)) SEQ(1:3))"},
    {"OR (SEEN DELETED) NOT UID 1:*", 0, A, "OR(AND(FLAG(\\Seen) FLAG(\\Deleted)) NOT(UID(1:*)))"},
    {"OR OR SEEN DRAFT NOT OR FLAGGED DELETED", 0, A,
     "OR(OR(FLAG(\\Seen) FLAG(\\Draft)) NOT(OR(FLAG(\\Flagged) FLAG(\\Deleted))))"},
    {"NOT NOT ALL", 0, A, "NOT(NOT(ALL))"},
    {"((((ALL))))", 0, A, "ALL"},
    /* Strings: UTF-8, US-ASCII, NUL, literal8. */
    {"SUBJECT \"привет\"", 0, U, "HEADER(subject \"привет\")"},
    {"SUBJECT {Grüße}", 0, U, "HEADER(subject \"Grüße\")"},
    {"SUBJECT \"привет\"", 0, A, "!SUBJECT: string is not US-ASCII"},
    {"SUBJECT \"\xd0\"", 0, U, "!SUBJECT: string is not valid UTF-8"},
    {"BODY {\xed\xa0\x80}", 0, U, "!BODY: string is not valid UTF-8"},
    {"HEADER \"X-\xc3\xa9\" x", 0, A, "!HEADER: string is not US-ASCII"},
    {"BODY {a\0b}", 10, U, "!BODY: string contains NUL"},
    {"BODY ~{abc}", 0, U, "!BODY: literal8 is not a string"},
    {"BODY (a)", 0, U, "!BODY: string expected"},
    /* Dates. */
    {"ON 29-Feb-2023", 0, A, "!ON: invalid date"},
    {"ON 29-Feb-1900", 0, A, "!ON: invalid date"},
    {"ON 29-Feb-2000", 0, A, "DATE(internal = 2000-02-29)"},
    {"ON 31-Apr-2024", 0, A, "!ON: invalid date"},
    {"ON 30-Apr-2024", 0, A, "DATE(internal = 2024-04-30)"},
    {"ON 0-Jan-2024", 0, A, "!ON: invalid date"},
    {"ON 32-Jan-2024", 0, A, "!ON: invalid date"},
    {"ON 001-Jan-2024", 0, A, "!ON: invalid date"},
    {"ON 1-Jan-24", 0, A, "!ON: invalid date"},
    {"ON 1-Jan-20245", 0, A, "!ON: invalid date"},
    {"ON 1-Jan-0000", 0, A, "!ON: invalid date"},
    {"ON 1-Foo-2024", 0, A, "!ON: invalid date"},
    {"ON 1-January-2024", 0, A, "!ON: invalid date"},
    {"ON 1-Ja", 0, A, "!ON: invalid date"},
    {"ON -Jan-2024", 0, A, "!ON: invalid date"},
    {"ON 1 Jan 2024", 0, A, "!ON: invalid date"},
    {"ON 2024-01-01", 0, A, "!ON: invalid date"},
    {"ON {1-Jan-2024}", 0, A, "!ON: invalid date"},
    {"ON NIL", 0, A, "!ON: invalid date"},
    {"SENTSINCE 1-jAN-2024", 0, A, "DATE(sent >= 2024-01-01)"},
    /* Missing arguments. */
    {"FROM", 0, A, "!Missing argument for FROM"},
    {"HEADER x", 0, A, "!Missing argument for HEADER"},
    {"BEFORE", 0, A, "!Missing argument for BEFORE"},
    {"KEYWORD", 0, A, "!Missing argument for KEYWORD"},
    {"UID", 0, A, "!Missing argument for UID"},
    {"LARGER", 0, A, "!Missing argument for LARGER"},
    {"MODSEQ", 0, A, "!Missing argument for MODSEQ"},
    {"MODSEQ \"/flags/\\Seen\" all", 0, A, "!Missing argument for MODSEQ"},
    {"NOT", 0, A, "!Missing argument for NOT"},
    {"OR SEEN", 0, A, "!Missing second argument for OR"},
    {"SEEN OR", 0, A, "!Missing argument for OR"},
    {"", 0, A, "!Missing search key"},
    {"()", 0, A, "!Missing search key"},
    /* Bad arguments. */
    {"FOO", 0, A, "!Unknown search key FOO"},
    {"SEEN BOGUS", 0, A, "!Unknown search key BOGUS"},
    {"B\xc9GUS", 0, U, "!Unknown search key B?GUS"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 0, A,
     "=Unknown search key ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"},
    {"\"ALL\"", 0, A, "!Search key expected"},
    {"NIL", 0, A, "!Search key expected"},
    {"$", 0, A, "!Saved search results ($) are not supported"},
    {"UID $", 0, A, "!Saved search results ($) are not supported"},
    {"UID \"1:2\"", 0, A, "!UID: sequence set expected"},
    {"0", 0, A, "!Invalid sequence set"},
    {"1:", 0, A, "!Invalid sequence set"},
    {"1,,2", 0, A, "!Invalid sequence set"},
    {"UID 1:0", 0, A, "!Invalid sequence set"},
    {"KEYWORD \\Seen", 0, A, "!KEYWORD: \\Seen is a system flag, not a keyword"},
    {"UNKEYWORD \\Foo", 0, A, "!UNKEYWORD: \\Foo is a system flag, not a keyword"},
    {"KEYWORD \"Junk\"", 0, A, "!KEYWORD: invalid keyword"},
    {"KEYWORD a]b", 0, A, "!KEYWORD: invalid keyword"},
    {"KEYWORD a*", 0, A, "!KEYWORD: invalid keyword"},
    {"KEYWORD NIL", 0, A, "FLAG(NIL)"},
    {"KEYWORD {x}", 0, A, "!KEYWORD: invalid keyword"},
    {"LARGER -1", 0, A, "!LARGER: invalid number"},
    {"LARGER 1k", 0, A, "!LARGER: invalid number"},
    {"LARGER \"5\"", 0, A, "!LARGER: invalid number"},
    {"LARGER 9223372036854775808", 0, A, "!LARGER: invalid number"},
    {"SMALLER 99999999999999999999999", 0, A, "!SMALLER: invalid number"},
    {"OLDER 0", 0, A, "!OLDER: invalid number"},
    {"YOUNGER 4294967296", 0, A, "!YOUNGER: invalid number"},
    {"MODSEQ 9223372036854775808", 0, A, "!MODSEQ: invalid number"},
    {"MODSEQ \"/flagz/x\" all 5", 0, A, "!MODSEQ: invalid entry name"},
    {"MODSEQ \"/flags/\" all 5", 0, A, "!MODSEQ: invalid entry name"},
    {"MODSEQ \"/flags/x\" both 5", 0, A, "!MODSEQ: invalid entry type"},
    {"EMAILID \"a b\"", 0, A, "!EMAILID: invalid object id"},
    {"EMAILID \"\"", 0, A, "!EMAILID: invalid object id"},
    {"THREADID a.b", 0, A, "!THREADID: invalid object id"},
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *tc = &parse_cases[i];
		struct arena *arena = arena_create(1024);
		size_t len = tc->len ? tc->len : strlen(tc->input);
		unsigned count;
		const struct imap_arg *args = test_parse_args(arena, tc->input, len, &count);
		struct imap_search_key *key = NULL;
		const char *error = NULL;
		int ret = imap_search_parse(arena, args, count, tc->utf8, &key, &error);

		if (tc->want[0] == '!' || tc->want[0] == '=') {
			size_t n = strlen(tc->want + 1) + (tc->want[0] == '=');

			if (ret != -1 || error == NULL || strncmp(error, tc->want + 1, n) != 0)
				fail_msg("case %zu \"%s\": want error \"%s\", got %d \"%s\"", i,
					 tc->input, tc->want + 1, ret, error ? error : "(none)");
		} else {
			struct strbuf dump = {0};

			if (ret != 0)
				fail_msg("case %zu \"%s\": error \"%s\"", i, tc->input, error);
			test_dump(&dump, key);
			if (strcmp(dump.data, tc->want) != 0)
				fail_msg("case %zu \"%s\":\n want %s\n got  %s", i, tc->input,
					 tc->want, dump.data);
			strbuf_free(&dump);
		}
		arena_destroy(&arena);
	}
}

/* Arguments the notation cannot write: NIL for a key, literal with NUL. */
static void test_parse_hand_built(void **state)
{
	(void)state;
	struct arena *arena = arena_create(1024);
	struct imap_search_key *key;
	const char *error;
	struct strbuf dump = {0};
	static const char lit[] = {'a', 'b', 'c'};
	const struct imap_arg inner[] = {
	    {.type = IMAP_ARG_ATOM, .str = "TEXT", .len = 4},
	    {.type = IMAP_ARG_LITERAL, .str = lit, .len = sizeof(lit)},
	};
	const struct imap_arg args[] = {
	    {.type = IMAP_ARG_ATOM, .str = "Or", .len = 2},
	    {.type = IMAP_ARG_LIST, .list = inner, .count = 2},
	    {.type = IMAP_ARG_ATOM, .str = "subject", .len = 7},
	    {.type = IMAP_ARG_NIL},
	};

	assert_int_equal(imap_search_parse(arena, args, 4, false, &key, &error), 0);
	test_dump(&dump, key);
	assert_string_equal(dump.data, "OR(TEXT(\"abc\") HEADER(subject \"NIL\"))");
	strbuf_free(&dump);

	/* The literal's NUL is at the very end. */
	static const char nul[] = {'x', '\0'};
	const struct imap_arg with_nul[] = {
	    {.type = IMAP_ARG_ATOM, .str = "TO", .len = 2},
	    {.type = IMAP_ARG_LITERAL, .str = nul, .len = 2},
	};
	assert_int_equal(imap_search_parse(arena, with_nul, 2, true, &key, &error), -1);
	assert_string_equal(error, "TO: string contains NUL");
	arena_destroy(&arena);
}

/* NOT and lists nest at most IMAP_SEARCH_MAX_DEPTH deep. */
static void test_parse_depth(void **state)
{
	(void)state;
	char buf[1024];
	struct imap_search_key *key;
	const char *error;

	for (int n = IMAP_SEARCH_MAX_DEPTH - 1; n <= IMAP_SEARCH_MAX_DEPTH + 1; n++) {
		struct arena *arena = arena_create(1024);
		size_t len = 0;
		unsigned count;

		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "NOT ");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "ALL");
		const struct imap_arg *args = test_parse_args(arena, buf, len, &count);
		int ret = imap_search_parse(arena, args, count, true, &key, &error);
		if (n <= IMAP_SEARCH_MAX_DEPTH) {
			assert_int_equal(ret, 0);
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, "Search keys nested too deeply");
		}
		arena_destroy(&arena);
	}

	/* OR chains and lists count as well. */
	struct arena *arena = arena_create(1024);
	size_t len = 0;
	unsigned count;
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "OR ALL ");
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "(");
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "ALL");
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, ")");
	const struct imap_arg *args = test_parse_args(arena, buf, len, &count);
	assert_int_equal(imap_search_parse(arena, args, count, true, &key, &error), -1);
	assert_string_equal(error, "Search keys nested too deeply");
	arena_destroy(&arena);
}

static void test_has(void **state)
{
	(void)state;
	static const struct {
		const char *input;
		enum imap_search_type type;
		bool want;
	} cases[] = {
	    {"SEEN", IMAP_SEARCH_BODY, false},
	    {"OR SEEN NOT BODY x", IMAP_SEARCH_BODY, true},
	    {"SEEN (FROM a TEXT x)", IMAP_SEARCH_BODY, true},
	    {"BODY x", IMAP_SEARCH_TEXT, false},
	    {"NOT (SEEN MODSEQ 5)", IMAP_SEARCH_MODSEQ, true},
	    {"SAVEDBEFORE 1-Jan-2020", IMAP_SEARCH_DATE, true},
	    {"SAVEDATESUPPORTED", IMAP_SEARCH_SAVEDATESUPPORTED, true},
	    {"UNSEEN", IMAP_SEARCH_NOT, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *arena = arena_create(1024);
		unsigned count;
		const struct imap_arg *args =
		    test_parse_args(arena, cases[i].input, strlen(cases[i].input), &count);
		struct imap_search_key *key;
		const char *error;

		assert_int_equal(imap_search_parse(arena, args, count, true, &key, &error), 0);
		if (imap_search_has(key, cases[i].type) != cases[i].want)
			fail_msg("case %zu \"%s\"", i, cases[i].input);
		arena_destroy(&arena);
	}
}

/* ---- SQL cases ------------------------------------------------------- */

static const uint32_t test_uids[] = {1, 2, 3, 5, 8, 9, 10, 20};
static const struct imap_search_view test_view = {test_uids, 8, "Europe/Berlin"};
static const struct imap_search_view test_empty = {NULL, 0, NULL};

struct sql_case {
	const char *input;
	const struct imap_search_view *view;
	const char *where;
	const char *params[8]; /* after the caller's $1 */
};

#define HDR_EXISTS "(EXISTS (SELECT 1 FROM unnest(b.header_fields) h WHERE "

static const struct sql_case sql_cases[] = {
    {"ALL", &test_view, "(true)", {NULL}},
    {"SEEN", &test_view, "($2::text = ANY(m.flags))", {"\\Seen"}},
    {"UNSEEN", &test_view, "(($2::text = ANY(m.flags)) IS NOT TRUE)", {"\\Seen"}},
    {"KEYWORD $Junk",
     &test_view,
     "(EXISTS (SELECT 1 FROM unnest(m.flags) f WHERE lower(f) = lower($2::text)))",
     {"$Junk"}},
    {"NEW", &test_view, "((false) AND (($2::text = ANY(m.flags)) IS NOT TRUE))", {"\\Seen"}},
    {"FROM Alice",
     &test_view,
     HDR_EXISTS "left(h, length($2::text) + 1) = $2::text || ':' AND "
		"strpos(lower(substr(h, length($2::text) + 2)), lower($3::text)) > 0))",
     {"from", "Alice"}},
    {"HEADER X-Spam \"\"",
     &test_view,
     HDR_EXISTS "left(h, length($2::text) + 1) = $2::text || ':'))",
     {"x-spam"}},
    {"HEADER \"\" moscow",
     &test_view,
     HDR_EXISTS "strpos(lower(substr(h, strpos(h, ':') + 1)), lower($2::text)) > 0))",
     {"moscow"}},
    {"HEADER \"\" \"\"", &test_view, "(cardinality(b.header_fields) > 0)", {NULL}},
    {"HEADER \"from:\" x", &test_view, "(false)", {NULL}},
    {"HEADER \"x y\" x", &test_view, "(false)", {NULL}},
    {"BODY \"Привет, мир! it's 2024\"",
     &test_view,
     "(b.body_tsv @@ to_tsquery('tegu', $2::text))",
     {"'Привет':* & 'мир':* & 'it':* & 's':* & '2024':*"}},
    {"BODY \"'&|!:*()\\\\\"", &test_view, "(true)", {NULL}},
    {"TEXT fox",
     &test_view,
     "((b.body_tsv @@ to_tsquery('tegu', $2::text)) OR " HDR_EXISTS
     "strpos(lower(substr(h, strpos(h, ':') + 1)), lower($3::text)) > 0)))",
     {"'fox':*", "fox"}},
    {"SINCE 1-Mar-2024 BEFORE 2-Mar-2024",
     &test_view,
     "(((m.internaldate AT TIME ZONE $2::text)::date >= $3::date) AND "
     "((m.internaldate AT TIME ZONE $2::text)::date < $4::date))",
     {"Europe/Berlin", "2024-03-01", "2024-03-02"}},
    {"SAVEDON 1-Mar-2024",
     &test_empty,
     "((m.savedate AT TIME ZONE $2::text)::date = $3::date)",
     {"UTC", "2024-03-01"}},
    {"SENTBEFORE 9-Feb-2024",
     &test_view,
     "((b.sent_date AT TIME ZONE 'UTC')::date < $2::date)",
     {"2024-02-09"}},
    {"OR OLDER 60 YOUNGER 10",
     &test_view,
     "((m.internaldate <= now() - make_interval(secs => $2::bigint)) OR "
     "(m.internaldate > now() - make_interval(secs => $3::bigint)))",
     {"60", "10"}},
    {"LARGER 10 SMALLER 20 MODSEQ 7",
     &test_view,
     "((m.size > $2::bigint) AND (m.size < $3::bigint) AND (m.modseq >= $4::bigint))",
     {"10", "20", "7"}},
    {"EMAILID Mabc", &test_view, "(m.email_id = $2::text)", {"Mabc"}},
    {"THREADID Tabc", &test_view, "(false)", {NULL}},
    {"SAVEDATESUPPORTED RECENT", &test_view, "((true) AND (false))", {NULL}},
    /* Message numbers become the view's UIDs, in runs. */
    {"1:*", &test_view, "(m.uid <@ $2::int8multirange)", {"{[1,4),[5,6),[8,11),[20,21)}"}},
    {"2,4:5", &test_view, "(m.uid <@ $2::int8multirange)", {"{[2,3),[5,6),[8,9)}"}},
    {"*", &test_view, "(m.uid <@ $2::int8multirange)", {"{[20,21)}"}},
    {"10:*", &test_view, "(m.uid <@ $2::int8multirange)", {"{[20,21)}"}},
    {"9:10", &test_view, "(false)", {NULL}},
    {"1:*", &test_empty, "(false)", {NULL}},
    /* UIDs: the view's UIDs in the set. */
    {"UID 4:9", &test_view, "(m.uid <@ $2::int8multirange)", {"{[5,6),[8,10)}"}},
    {"UID *", &test_view, "(m.uid <@ $2::int8multirange)", {"{[20,21)}"}},
    {"UID 25:*", &test_view, "(m.uid <@ $2::int8multirange)", {"{[20,21)}"}},
    {"UID 1:4294967295",
     &test_view,
     "(m.uid <@ $2::int8multirange)",
     {"{[1,4),[5,6),[8,11),[20,21)}"}},
    {"UID 11:19,21", &test_view, "(false)", {NULL}},
    {"UID *", &test_empty, "(false)", {NULL}},
    {"UID 1", &test_empty, "(false)", {NULL}},
    {"NOT (SEEN 1:2)",
     &test_view,
     "((($2::text = ANY(m.flags)) AND (m.uid <@ $3::int8multirange)) IS NOT TRUE)",
     {"\\Seen", "{[1,3)}"}},
};

static void test_sql_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sql_cases) / sizeof(sql_cases[0]); i++) {
		const struct sql_case *tc = &sql_cases[i];
		struct arena *arena = arena_create(1024);
		unsigned count, nparams = 1, want_params = 1;
		const struct imap_arg *args =
		    test_parse_args(arena, tc->input, strlen(tc->input), &count);
		struct imap_search_key *key;
		const char *error, *params[1 + IMAP_SEARCH_MAX_PARAMS] = {"42"};
		struct strbuf where = {0};

		if (imap_search_parse(arena, args, count, true, &key, &error) != 0)
			fail_msg("case %zu \"%s\": %s", i, tc->input, error);
		strbuf_append(&where, "m.mailbox_id = $1 AND ", 22);
		if (imap_search_sql(arena, key, tc->view, &where, params, &nparams, &error) != 0)
			fail_msg("case %zu \"%s\": %s", i, tc->input, error);
		if (strncmp(where.data, "m.mailbox_id = $1 AND ", 22) != 0 ||
		    strcmp(where.data + 22, tc->where) != 0)
			fail_msg("case %zu \"%s\":\n want %s\n got  %s", i, tc->input, tc->where,
				 where.data + 22);
		while (want_params - 1 < 8 && tc->params[want_params - 1] != NULL)
			want_params++;
		if (nparams != want_params)
			fail_msg("case %zu \"%s\": %u parameters, want %u", i, tc->input, nparams,
				 want_params);
		assert_string_equal(params[0], "42");
		for (unsigned p = 1; p < nparams; p++)
			if (strcmp(params[p], tc->params[p - 1]) != 0)
				fail_msg("case %zu \"%s\": $%u is \"%s\", want \"%s\"", i,
					 tc->input, p + 1, params[p], tc->params[p - 1]);
		strbuf_free(&where);
		arena_destroy(&arena);
	}
}

/* Past IMAP_SEARCH_MAX_PARAMS the compile fails and leaves the caller's
 * buffer and parameter count as they were. */
static void test_sql_param_limit(void **state)
{
	(void)state;
	char buf[4096];
	const char *params[3 + IMAP_SEARCH_MAX_PARAMS];

	for (unsigned keys = IMAP_SEARCH_MAX_PARAMS - 1; keys <= IMAP_SEARCH_MAX_PARAMS + 1;
	     keys++) {
		struct arena *arena = arena_create(1024);
		struct strbuf where = {0};
		struct imap_search_key *key;
		const char *error = NULL;
		unsigned count, nparams = 3;
		size_t len = 0;

		for (unsigned i = 0; i < keys; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "LARGER %u ", i);
		const struct imap_arg *args = test_parse_args(arena, buf, len, &count);
		assert_int_equal(imap_search_parse(arena, args, count, true, &key, &error), 0);
		strbuf_append(&where, "x AND ", 6);
		int ret = imap_search_sql(arena, key, &test_view, &where, params, &nparams, &error);
		if (keys <= IMAP_SEARCH_MAX_PARAMS) {
			assert_int_equal(ret, 0);
			assert_int_equal(nparams, 3 + keys);
			assert_string_equal(params[2 + keys], arena_printf(arena, "%u", keys - 1));
			assert_non_null(strstr(where.data, arena_printf(arena, "$%u::", 3 + keys)));
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, "Search program too complex");
			assert_int_equal(nparams, 3);
			assert_string_equal(where.data, "x AND ");
		}
		strbuf_free(&where);
		arena_destroy(&arena);
	}
}

/* The time zone is one parameter however many dates use it. */
static void test_sql_timezone_once(void **state)
{
	(void)state;
	struct arena *arena = arena_create(1024);
	const char *input = "ON 1-Jan-2024 NOT SAVEDSINCE 2-Jan-2024 SENTON 3-Jan-2024";
	unsigned count, nparams = 0;
	const struct imap_arg *args = test_parse_args(arena, input, strlen(input), &count);
	struct imap_search_key *key;
	const char *error, *params[IMAP_SEARCH_MAX_PARAMS];
	struct strbuf where = {0};

	assert_int_equal(imap_search_parse(arena, args, count, true, &key, &error), 0);
	assert_int_equal(imap_search_sql(arena, key, &test_view, &where, params, &nparams, &error),
			 0);
	assert_string_equal(
	    where.data, "(((m.internaldate AT TIME ZONE $1::text)::date = $2::date) AND "
			"(((m.savedate AT TIME ZONE $1::text)::date >= $3::date) IS NOT TRUE) AND "
			"((b.sent_date AT TIME ZONE 'UTC')::date = $4::date))");
	assert_int_equal(nparams, 4);
	assert_string_equal(params[0], "Europe/Berlin");
	assert_string_equal(params[3], "2024-01-03");
	strbuf_free(&where);
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),	      cmocka_unit_test(test_parse_hand_built),
	    cmocka_unit_test(test_parse_depth),	      cmocka_unit_test(test_has),
	    cmocka_unit_test(test_sql_table),	      cmocka_unit_test(test_sql_param_limit),
	    cmocka_unit_test(test_sql_timezone_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
