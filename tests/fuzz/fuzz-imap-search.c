/* libFuzzer target for the IMAP SEARCH key parser and its SQL compiler.
 *
 * The input becomes an argument tree cheaply, without the command parser:
 * tokens separated by spaces (or NUL), "(" and ")" open and close lists,
 * "..." is a quoted string, {...} a literal (which may hold NUL), NIL the
 * NIL atom, anything else an atom. The keys are parsed as US-ASCII and as
 * UTF-8; a tree the parser accepts is compiled against a small fixed view
 * and an empty one, after two parameters of the caller's own.
 *
 * Checked: parsing succeeds under UTF-8 whenever it does under US-ASCII;
 * errors are one printable line; the tree has the shape the header
 * promises; the SQL is printable ASCII only (nothing of the client's
 * reaches it), its parentheses balance outside quoted SQL strings, every
 * $n it uses is one of its own parameters (> 2, <= *nparams), each of
 * those is used and non-NULL; a failed compile leaves buffer and count as
 * they were. Any violation abort()s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "lib/arena.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lists nested deeper than the search parser's own limit, to reach it. */
#define FUZZ_MAX_NESTING   80
#define FUZZ_CALLER_PARAMS 2

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

struct fuzz_input {
	const uint8_t *p, *end;
	struct arena *arena;
};

/* The elements of one list, up to its ")" or the end of the input. */
static const struct imap_arg *fuzz_args(struct fuzz_input *in, unsigned depth, unsigned *count_r)
{
	unsigned count = 0, cap = 8;
	struct imap_arg *args = malloc(cap * sizeof(*args)), *copy;

	fuzz_check(args != NULL);
	while (in->p < in->end) {
		struct imap_arg arg = {0};
		uint8_t ch = *in->p;

		if (ch == ' ' || ch == '\0') {
			in->p++;
			continue;
		}
		if (ch == ')') {
			in->p++;
			if (depth > 0)
				break;
			continue;
		}
		if (ch == '(' && depth < FUZZ_MAX_NESTING) {
			in->p++;
			arg.type = IMAP_ARG_LIST;
			arg.list = fuzz_args(in, depth + 1, &arg.count);
		} else if (ch == '"' || ch == '{') {
			const uint8_t *start = ++in->p;
			uint8_t close = ch == '"' ? '"' : '}';

			while (in->p < in->end && *in->p != close)
				in->p++;
			arg.len = (size_t)(in->p - start);
			if (in->p < in->end)
				in->p++;
			if (ch == '"') {
				/* A quoted string never holds NUL. */
				arg.type = IMAP_ARG_STRING;
				arg.str = arena_strndup(in->arena, (const char *)start, arg.len);
				arg.len = strlen(arg.str);
			} else {
				char *lit = arena_alloc(in->arena, arg.len + 1);

				memcpy(lit, start, arg.len);
				lit[arg.len] = '\0';
				arg.type = IMAP_ARG_LITERAL;
				arg.str = lit;
				arg.literal8 = arg.len > 0 && start[0] == '~';
			}
		} else {
			const uint8_t *start = in->p;

			while (in->p < in->end && *in->p != ' ' && *in->p != '\0' &&
			       *in->p != '(' && *in->p != ')')
				in->p++;
			if (in->p == start) /* '(' too deep: taken as an atom */
				in->p++;
			arg.type = IMAP_ARG_ATOM;
			arg.len = (size_t)(in->p - start);
			arg.str = arena_strndup(in->arena, (const char *)start, arg.len);
			if (arg.len == 3 && strncasecmp(arg.str, "NIL", 3) == 0) {
				arg.type = IMAP_ARG_NIL;
				arg.str = NULL;
				arg.len = 0;
			}
		}
		if (count == cap) {
			cap *= 2;
			args = realloc(args, cap * sizeof(*args));
			fuzz_check(args != NULL);
		}
		args[count++] = arg;
	}
	copy = arena_alloc(in->arena, (count ? count : 1) * sizeof(*copy));
	if (count > 0)
		memcpy(copy, args, count * sizeof(*copy));
	free(args);
	*count_r = count;
	return copy;
}

static void fuzz_check_error(const char *error)
{
	fuzz_check(error != NULL && error[0] != '\0');
	for (const char *s = error; *s != '\0'; s++)
		fuzz_check((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
}

/* The shape of the tree; returns its depth (a key alone is 0). */
static unsigned fuzz_check_tree(const struct imap_search_key *key)
{
	unsigned n = 0, depth = 0;

	for (const struct imap_search_key *c = key->children; c != NULL; c = c->next) {
		unsigned d = fuzz_check_tree(c) + 1;

		if (d > depth)
			depth = d;
		n++;
	}
	fuzz_check(n == key->child_count);
	switch (key->type) {
	case IMAP_SEARCH_AND:
		fuzz_check(n >= 2);
		break;
	case IMAP_SEARCH_OR:
		fuzz_check(n == 2);
		break;
	case IMAP_SEARCH_NOT:
		fuzz_check(n == 1);
		break;
	case IMAP_SEARCH_FLAG:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_EMAILID:
	case IMAP_SEARCH_THREADID:
		fuzz_check(n == 0 && key->text != NULL);
		break;
	case IMAP_SEARCH_HEADER:
		fuzz_check(n == 0 && key->text != NULL && key->field != NULL);
		for (const char *s = key->field; *s != '\0'; s++)
			fuzz_check(!(*s >= 'A' && *s <= 'Z'));
		break;
	case IMAP_SEARCH_DATE:
		fuzz_check(key->year >= 1 && key->year <= 9999 && key->month >= 1 &&
			   key->month <= 12 && key->day >= 1 && key->day <= 31);
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UIDSET:
		fuzz_check(key->set.count >= 1);
		for (unsigned i = 0; i < key->set.count; i++)
			fuzz_check(key->set.ranges[i].lo >= 1 &&
				   key->set.ranges[i].lo <= key->set.ranges[i].hi);
		break;
	case IMAP_SEARCH_OLDER:
	case IMAP_SEARCH_YOUNGER:
		fuzz_check(key->number >= 1 && key->number <= UINT32_MAX);
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_MODSEQ:
		fuzz_check(key->number <= INT64_MAX);
		break;
	default:
		fuzz_check(n == 0);
		break;
	}
	return depth;
}

static void fuzz_check_sql(const char *sql, const char **params, unsigned nparams)
{
	int open = 0;
	bool quoted = false;
	unsigned char used[FUZZ_CALLER_PARAMS + IMAP_SEARCH_MAX_PARAMS + 1] = {0};

	fuzz_check(sql[0] == '(');
	for (const char *s = sql; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		fuzz_check(ch >= 0x20 && ch < 0x7f);
		if (ch == '\'') {
			quoted = !quoted;
			continue;
		}
		if (quoted)
			continue;
		if (ch == '(') {
			open++;
		} else if (ch == ')') {
			fuzz_check(--open >= 0);
			/* Only the last ")" closes the first "(". */
			fuzz_check(open > 0 || s[1] == '\0');
		} else if (ch == '$') {
			unsigned long n = strtoul(s + 1, NULL, 10);

			fuzz_check(s[1] >= '1' && s[1] <= '9');
			fuzz_check(n > FUZZ_CALLER_PARAMS && n <= nparams);
			used[n] = 1;
		}
	}
	fuzz_check(open == 0 && !quoted);
	for (unsigned n = FUZZ_CALLER_PARAMS + 1; n <= nparams; n++)
		fuzz_check(used[n] && params[n - 1] != NULL);
}

static void fuzz_compile(struct arena *arena, const struct imap_search_key *key,
			 const struct imap_search_view *view)
{
	static const char prefix[] = "m.mailbox_id = $1 AND m.uid < $2 AND ";
	const char *params[FUZZ_CALLER_PARAMS + IMAP_SEARCH_MAX_PARAMS];
	unsigned nparams = FUZZ_CALLER_PARAMS;
	struct strbuf where = {0};
	const char *error = NULL;

	memset(params, 0, sizeof(params));
	params[0] = "1";
	params[1] = "100";
	strbuf_append(&where, prefix, sizeof(prefix) - 1);
	if (imap_search_sql(arena, key, view, &where, params, &nparams, &error) == 0) {
		fuzz_check(nparams >= FUZZ_CALLER_PARAMS &&
			   nparams <= FUZZ_CALLER_PARAMS + IMAP_SEARCH_MAX_PARAMS);
		fuzz_check(where.len > sizeof(prefix) - 1 &&
			   memcmp(where.data, prefix, sizeof(prefix) - 1) == 0);
		fuzz_check(strlen(where.data) == where.len);
		fuzz_check_sql(where.data + sizeof(prefix) - 1, params, nparams);
	} else {
		fuzz_check_error(error);
		fuzz_check(nparams == FUZZ_CALLER_PARAMS);
		fuzz_check(where.len == sizeof(prefix) - 1 && strcmp(where.data, prefix) == 0);
	}
	strbuf_free(&where);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t uids[] = {1, 2, 3, 5, 8, 9, 10, 20, 4294967294u};
	const struct imap_search_view view = {uids, sizeof(uids) / sizeof(uids[0]),
					      "Europe/Berlin"};
	const struct imap_search_view empty = {NULL, 0, NULL};
	struct arena *arena = arena_create(4096);
	struct fuzz_input in = {data, data + size, arena};
	const struct imap_arg *args;
	struct imap_search_key *ascii = NULL, *utf8 = NULL;
	const char *ascii_error = NULL, *utf8_error = NULL;
	unsigned count;
	int ascii_ret, utf8_ret;

	args = fuzz_args(&in, 0, &count);
	ascii_ret = imap_search_parse(arena, args, count, false, &ascii, &ascii_error);
	utf8_ret = imap_search_parse(arena, args, count, true, &utf8, &utf8_error);
	fuzz_check(ascii_ret == 0 || ascii_ret == -1);
	fuzz_check(utf8_ret == 0 || utf8_ret == -1);
	/* What is good US-ASCII is good UTF-8. */
	if (ascii_ret == 0)
		fuzz_check(utf8_ret == 0);
	if (ascii_ret < 0)
		fuzz_check_error(ascii_error);
	if (utf8_ret < 0) {
		fuzz_check_error(utf8_error);
	} else {
		/* Nesting: the limit, plus NEW's AND/NOT and the top AND. */
		fuzz_check(fuzz_check_tree(utf8) <= IMAP_SEARCH_MAX_DEPTH + 3);
		(void)imap_search_has(utf8, IMAP_SEARCH_BODY);
		(void)imap_search_has(utf8, IMAP_SEARCH_MODSEQ);
		fuzz_compile(arena, utf8, &view);
		fuzz_compile(arena, utf8, &empty);
	}
	arena_destroy(&arena);
	return 0;
}
