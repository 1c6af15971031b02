/* IMAP SEARCH keys parsed into a tree; the contract is in imap-search.h,
 * the SQL they become in imap-search-sql.c.
 *
 * The parser walks the argument tree once, left to right; a key takes
 * its arguments from the same level (NOT, OR and lists recurse). Only the
 * fields of struct imap_arg are used, not the imap_arg_* helpers: the
 * rules for search strings (NIL is the atom "NIL", 8-bit octets checked
 * against the charset) are not those of mailbox names.
 * */
#include "imap/imap-search.h"

#include <string.h>

#include "imap/imap-parser.h"
#include "lib/arena.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"

/* Longest text quoted back in an error ("Unknown search key FOO"). */
#define SEARCH_ERROR_ECHO 32
/* objectid of RFC 8474: 1*255(ALPHA / DIGIT / "_" / "-"). */
#define SEARCH_MAX_OBJECTID 255

/* ---- parser ---------------------------------------------------------- */

struct search_parser {
	struct arena *arena;
	bool utf8;
	const char *error;
};

enum search_kind {
	SK_ALL,
	SK_FLAG,   /* arg: the system flag */
	SK_UNFLAG, /* arg: the system flag */
	SK_NEW,
	SK_OLD,
	SK_RECENT,
	SK_FIELD, /* arg: the header field name */
	SK_HEADER,
	SK_BODY,
	SK_TEXT,
	SK_DATE,
	SK_KEYWORD,
	SK_UNKEYWORD,
	SK_LARGER,
	SK_SMALLER,
	SK_NOT,
	SK_OR,
	SK_UID,
	SK_MODSEQ,
	SK_OLDER,
	SK_YOUNGER,
	SK_EMAILID,
	SK_THREADID,
	SK_SAVEDATESUPPORTED,
};

struct search_key_def {
	const char *name;
	enum search_kind kind;
	const char *arg;
	enum imap_search_date_field date_field;
	enum imap_search_date_op date_op;
};

static const struct search_key_def search_keys[] = {
    {"ALL", SK_ALL, NULL, 0, 0},
    {"ANSWERED", SK_FLAG, "\\Answered", 0, 0},
    {"BCC", SK_FIELD, "bcc", 0, 0},
    {"BEFORE", SK_DATE, NULL, IMAP_SEARCH_INTERNALDATE, IMAP_SEARCH_DATE_BEFORE},
    {"BODY", SK_BODY, NULL, 0, 0},
    {"CC", SK_FIELD, "cc", 0, 0},
    {"DELETED", SK_FLAG, "\\Deleted", 0, 0},
    {"DRAFT", SK_FLAG, "\\Draft", 0, 0},
    {"EMAILID", SK_EMAILID, NULL, 0, 0},
    {"FLAGGED", SK_FLAG, "\\Flagged", 0, 0},
    {"FROM", SK_FIELD, "from", 0, 0},
    {"HEADER", SK_HEADER, NULL, 0, 0},
    {"KEYWORD", SK_KEYWORD, NULL, 0, 0},
    {"LARGER", SK_LARGER, NULL, 0, 0},
    {"MODSEQ", SK_MODSEQ, NULL, 0, 0},
    {"NEW", SK_NEW, NULL, 0, 0},
    {"NOT", SK_NOT, NULL, 0, 0},
    {"OLD", SK_OLD, NULL, 0, 0},
    {"OLDER", SK_OLDER, NULL, 0, 0},
    {"ON", SK_DATE, NULL, IMAP_SEARCH_INTERNALDATE, IMAP_SEARCH_DATE_ON},
    {"OR", SK_OR, NULL, 0, 0},
    {"RECENT", SK_RECENT, NULL, 0, 0},
    {"SAVEDATESUPPORTED", SK_SAVEDATESUPPORTED, NULL, 0, 0},
    {"SAVEDBEFORE", SK_DATE, NULL, IMAP_SEARCH_SAVEDATE, IMAP_SEARCH_DATE_BEFORE},
    {"SAVEDON", SK_DATE, NULL, IMAP_SEARCH_SAVEDATE, IMAP_SEARCH_DATE_ON},
    {"SAVEDSINCE", SK_DATE, NULL, IMAP_SEARCH_SAVEDATE, IMAP_SEARCH_DATE_SINCE},
    {"SEEN", SK_FLAG, "\\Seen", 0, 0},
    {"SENTBEFORE", SK_DATE, NULL, IMAP_SEARCH_SENTDATE, IMAP_SEARCH_DATE_BEFORE},
    {"SENTON", SK_DATE, NULL, IMAP_SEARCH_SENTDATE, IMAP_SEARCH_DATE_ON},
    {"SENTSINCE", SK_DATE, NULL, IMAP_SEARCH_SENTDATE, IMAP_SEARCH_DATE_SINCE},
    {"SINCE", SK_DATE, NULL, IMAP_SEARCH_INTERNALDATE, IMAP_SEARCH_DATE_SINCE},
    {"SMALLER", SK_SMALLER, NULL, 0, 0},
    {"SUBJECT", SK_FIELD, "subject", 0, 0},
    {"TEXT", SK_TEXT, NULL, 0, 0},
    {"THREADID", SK_THREADID, NULL, 0, 0},
    {"TO", SK_FIELD, "to", 0, 0},
    {"UID", SK_UID, NULL, 0, 0},
    {"UNANSWERED", SK_UNFLAG, "\\Answered", 0, 0},
    {"UNDELETED", SK_UNFLAG, "\\Deleted", 0, 0},
    {"UNDRAFT", SK_UNFLAG, "\\Draft", 0, 0},
    {"UNFLAGGED", SK_UNFLAG, "\\Flagged", 0, 0},
    {"UNKEYWORD", SK_UNKEYWORD, NULL, 0, 0},
    {"UNSEEN", SK_UNFLAG, "\\Seen", 0, 0},
    {"YOUNGER", SK_YOUNGER, NULL, 0, 0},
};

static const char *const search_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* ASCII only: keys, months and flags must not depend on the locale. */
static unsigned char search_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static bool search_eq_nocase(const char *a, const char *b)
{
	while (*a != '\0' && search_lower((unsigned char)*a) == search_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* true if s begins with prefix, ignoring ASCII case. */
static bool search_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (search_lower((unsigned char)*s) != search_lower((unsigned char)*prefix))
			return false;
	return true;
}

static bool search_is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool search_is_alnum(unsigned char ch)
{
	return search_is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* ATOM-CHAR of RFC 9051: any CHAR (7-bit, not NUL) but atom-specials. */
static bool search_is_atom_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && strchr("(){%*\"\\]", ch) == NULL;
}

/* The client's text, fit to be quoted in an error: at most
 * SEARCH_ERROR_ECHO octets, anything but printable ASCII as '?'. */
static const char *search_echo(struct search_parser *p, const char *s)
{
	size_t len = strnlen(s, SEARCH_ERROR_ECHO);
	char *copy = arena_strndup(p->arena, s, len);

	for (char *c = copy; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return copy;
}

static int search_fail(struct search_parser *p, const char *error)
{
	p->error = error;
	return -1;
}

static struct imap_search_key *search_new(struct search_parser *p, enum imap_search_type type)
{
	struct imap_search_key *key = arena_zalloc(p->arena, sizeof(*key));
	key->type = type;
	return key;
}

static struct imap_search_key *search_wrap(struct search_parser *p, enum imap_search_type type,
					   struct imap_search_key *child)
{
	struct imap_search_key *key = search_new(p, type);
	key->children = child;
	key->child_count = 1;
	return key;
}

/* The next argument of key def, or NULL (and the error) when none is left. */
static const struct imap_arg *search_next_arg(struct search_parser *p,
					      const struct search_key_def *def,
					      const struct imap_arg *args, unsigned count,
					      unsigned *i)
{
	if (*i >= count) {
		p->error = arena_printf(p->arena, "Missing argument for %s", def->name);
		return NULL;
	}
	return &args[(*i)++];
}

/* An astring (atom, quoted string or literal; NIL is the atom "NIL"),
 * checked against the charset. */
static int search_string(struct search_parser *p, const struct search_key_def *def,
			 const struct imap_arg *arg, const char **str_r)
{
	const char *s;
	size_t len;

	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
		s = arg->str;
		len = strlen(s);
		break;
	case IMAP_ARG_LITERAL:
		if (arg->literal8)
			return search_fail(
			    p, arena_printf(p->arena, "%s: literal8 is not a string", def->name));
		if (memchr(arg->str, '\0', arg->len) != NULL)
			return search_fail(
			    p, arena_printf(p->arena, "%s: string contains NUL", def->name));
		s = arg->str;
		len = arg->len;
		break;
	case IMAP_ARG_NIL:
		s = "NIL";
		len = 3;
		break;
	default:
		return search_fail(p, arena_printf(p->arena, "%s: string expected", def->name));
	}
	if (p->utf8) {
		if (!utf8_valid(s, len))
			return search_fail(
			    p, arena_printf(p->arena, "%s: string is not valid UTF-8", def->name));
	} else {
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)s[k] >= 0x80)
				return search_fail(p, arena_printf(p->arena,
								   "%s: string is not US-ASCII",
								   def->name));
	}
	*str_r = arg->type == IMAP_ARG_LITERAL ? arena_strndup(p->arena, s, len) : s;
	return 0;
}

/* number (max: 2^32-1 for nz-number, 2^63-1 for number64), as an atom. */
static int search_number(struct search_parser *p, const struct search_key_def *def,
			 const struct imap_arg *arg, unsigned long long min, unsigned long long max,
			 unsigned long long *n_r)
{
	unsigned long long n = 0;
	const char *s = arg->type == IMAP_ARG_ATOM ? arg->str : "";

	if (*s == '\0')
		goto bad;
	for (; *s != '\0'; s++) {
		unsigned digit = (unsigned)(*s - '0');
		if (!search_is_digit((unsigned char)*s) || n > (max - digit) / 10)
			goto bad;
		n = n * 10 + digit;
	}
	if (n < min)
		goto bad;
	*n_r = n;
	return 0;
bad:
	return search_fail(p, arena_printf(p->arena, "%s: invalid number", def->name));
}

/* The month (0..11) whose name s begins with, ignoring case; -1 if none. */
static int search_month(const char *s)
{
	for (int m = 0; m < 12; m++)
		if (search_prefix_nocase(s, search_months[m]))
			return m;
	return -1;
}

static bool search_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-"
 * date-month "-" date-year, date-day = 1*2DIGIT. */
static int search_date(struct search_parser *p, const struct search_key_def *def,
		       const struct imap_arg *arg, struct imap_search_key *key)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s;
	int day = 0, month = -1, year = 0, n;

	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING)
		goto bad;
	s = arg->str;
	for (n = 0; n < 2 && search_is_digit((unsigned char)s[n]); n++)
		day = day * 10 + (s[n] - '0');
	if (n == 0 || s[n] != '-')
		goto bad;
	s += n + 1;
	month = search_month(s);
	if (month < 0 || s[3] != '-')
		goto bad;
	s += 4;
	for (n = 0; n < 4 && search_is_digit((unsigned char)s[n]); n++)
		year = year * 10 + (s[n] - '0');
	if (n != 4 || s[n] != '\0' || year < 1)
		goto bad;
	if (day < 1 || day > days[month] + (month == 1 && search_leap(year)))
		goto bad;
	key->year = year;
	key->month = month + 1;
	key->day = day;
	return 0;
bad:
	return search_fail(p, arena_printf(p->arena, "%s: invalid date", def->name));
}

/* flag-keyword: an atom, not a system flag. */
static int search_keyword(struct search_parser *p, const struct search_key_def *def,
			  const struct imap_arg *arg, const char **keyword_r)
{
	if (arg->type == IMAP_ARG_ATOM && arg->str[0] == '\\')
		return search_fail(p,
				   arena_printf(p->arena, "%s: %s is a system flag, not a keyword",
						def->name, search_echo(p, arg->str)));
	if (arg->type == IMAP_ARG_NIL) { /* the atom "NIL" is a keyword too */
		*keyword_r = "NIL";
		return 0;
	}
	if (arg->type != IMAP_ARG_ATOM || arg->str[0] == '\0')
		goto bad;
	for (const char *s = arg->str; *s != '\0'; s++)
		if (!search_is_atom_char((unsigned char)*s))
			goto bad;
	*keyword_r = arg->str;
	return 0;
bad:
	return search_fail(p, arena_printf(p->arena, "%s: invalid keyword", def->name));
}

/* objectid (RFC 8474), as any astring form. */
static int search_objectid(struct search_parser *p, const struct search_key_def *def,
			   const struct imap_arg *arg, const char **id_r)
{
	const char *s;
	size_t len;

	if (search_string(p, def, arg, &s) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len > SEARCH_MAX_OBJECTID)
		goto bad;
	for (size_t k = 0; k < len; k++)
		if (!search_is_alnum((unsigned char)s[k]) && s[k] != '_' && s[k] != '-')
			goto bad;
	*id_r = s;
	return 0;
bad:
	return search_fail(p, arena_printf(p->arena, "%s: invalid object id", def->name));
}

/* MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer (RFC 7162):
 * entry-name is "/flags/<flag>" (a quoted string), entry-type-req one of
 * priv, shared, all. Both are checked and then ignored. */
static int search_modseq(struct search_parser *p, const struct search_key_def *def,
			 const struct imap_arg *args, unsigned count, unsigned *i,
			 struct imap_search_key *key)
{
	const struct imap_arg *arg = search_next_arg(p, def, args, count, i);

	if (arg == NULL)
		return -1;
	if (arg->type == IMAP_ARG_STRING || arg->type == IMAP_ARG_LITERAL) {
		const char *name;

		if (search_string(p, def, arg, &name) < 0)
			return -1;
		if (!search_prefix_nocase(name, "/flags/") || name[7] == '\0')
			return search_fail(p, "MODSEQ: invalid entry name");
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL)
			return -1;
		if (arg->type != IMAP_ARG_ATOM ||
		    (!search_eq_nocase(arg->str, "priv") && !search_eq_nocase(arg->str, "shared") &&
		     !search_eq_nocase(arg->str, "all")))
			return search_fail(p, "MODSEQ: invalid entry type");
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL)
			return -1;
	}
	return search_number(p, def, arg, 0, INT64_MAX, &key->number);
}

static int search_parse_key(struct search_parser *p, const struct imap_arg *args, unsigned count,
			    unsigned *i, unsigned depth, struct imap_search_key **key_r);

/* args[0..count) as one key: the key itself, or an AND of them. */
static int search_parse_list(struct search_parser *p, const struct imap_arg *args, unsigned count,
			     unsigned depth, struct imap_search_key **key_r)
{
	struct imap_search_key *first = NULL, **tail = &first, *key;
	unsigned i = 0, n = 0;

	if (count == 0)
		return search_fail(p, "Missing search key");
	while (i < count) {
		if (search_parse_key(p, args, count, &i, depth, &key) < 0)
			return -1;
		*tail = key;
		tail = &key->next;
		n++;
	}
	if (n == 1) {
		*key_r = first;
		return 0;
	}
	key = search_new(p, IMAP_SEARCH_AND);
	key->children = first;
	key->child_count = n;
	*key_r = key;
	return 0;
}

static int search_parse_atom_key(struct search_parser *p, const struct imap_arg *args,
				 unsigned count, unsigned *i, unsigned depth, const char *name,
				 struct imap_search_key **key_r)
{
	const struct search_key_def *def = NULL;
	const struct imap_arg *arg;
	struct imap_search_key *key, *a, *b;

	if (search_is_digit((unsigned char)name[0]) || name[0] == '*') {
		key = search_new(p, IMAP_SEARCH_SEQSET);
		if (imap_seqset_parse(p->arena, name, &key->set, &p->error) < 0)
			return -1;
		*key_r = key;
		return 0;
	}
	if (name[0] == '$')
		return search_fail(p, "Saved search results ($) are not supported");
	for (size_t k = 0; k < sizeof(search_keys) / sizeof(search_keys[0]); k++) {
		if (search_eq_nocase(search_keys[k].name, name)) {
			def = &search_keys[k];
			break;
		}
	}
	if (def == NULL)
		return search_fail(
		    p, arena_printf(p->arena, "Unknown search key %s", search_echo(p, name)));

	switch (def->kind) {
	case SK_ALL:
		key = search_new(p, IMAP_SEARCH_ALL);
		break;
	case SK_FLAG:
	case SK_UNFLAG:
		key = search_new(p, IMAP_SEARCH_FLAG);
		key->text = def->arg;
		if (def->kind == SK_UNFLAG)
			key = search_wrap(p, IMAP_SEARCH_NOT, key);
		break;
	case SK_NEW:
		a = search_new(p, IMAP_SEARCH_RECENT);
		b = search_new(p, IMAP_SEARCH_FLAG);
		b->text = "\\Seen";
		a->next = search_wrap(p, IMAP_SEARCH_NOT, b);
		key = search_new(p, IMAP_SEARCH_AND);
		key->children = a;
		key->child_count = 2;
		break;
	case SK_OLD:
		key = search_wrap(p, IMAP_SEARCH_NOT, search_new(p, IMAP_SEARCH_RECENT));
		break;
	case SK_RECENT:
		key = search_new(p, IMAP_SEARCH_RECENT);
		break;
	case SK_FIELD:
		key = search_new(p, IMAP_SEARCH_HEADER);
		key->field = def->arg;
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_string(p, def, arg, &key->text) < 0)
			return -1;
		break;
	case SK_HEADER: {
		const char *field;
		char *lower;

		key = search_new(p, IMAP_SEARCH_HEADER);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_string(p, def, arg, &field) < 0)
			return -1;
		lower = arena_strdup(p->arena, field);
		for (char *s = lower; *s != '\0'; s++)
			*s = (char)search_lower((unsigned char)*s);
		key->field = lower;
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_string(p, def, arg, &key->text) < 0)
			return -1;
		break;
	}
	case SK_BODY:
	case SK_TEXT:
		key = search_new(p, def->kind == SK_BODY ? IMAP_SEARCH_BODY : IMAP_SEARCH_TEXT);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_string(p, def, arg, &key->text) < 0)
			return -1;
		break;
	case SK_DATE:
		key = search_new(p, IMAP_SEARCH_DATE);
		key->date_field = def->date_field;
		key->date_op = def->date_op;
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_date(p, def, arg, key) < 0)
			return -1;
		break;
	case SK_KEYWORD:
	case SK_UNKEYWORD:
		key = search_new(p, IMAP_SEARCH_FLAG);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_keyword(p, def, arg, &key->text) < 0)
			return -1;
		if (def->kind == SK_UNKEYWORD)
			key = search_wrap(p, IMAP_SEARCH_NOT, key);
		break;
	case SK_LARGER:
	case SK_SMALLER:
		/* number64 (RFC 9051). */
		key = search_new(p,
				 def->kind == SK_LARGER ? IMAP_SEARCH_LARGER : IMAP_SEARCH_SMALLER);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_number(p, def, arg, 0, INT64_MAX, &key->number) < 0)
			return -1;
		break;
	case SK_OLDER:
	case SK_YOUNGER:
		/* nz-number (RFC 5032). */
		key =
		    search_new(p, def->kind == SK_OLDER ? IMAP_SEARCH_OLDER : IMAP_SEARCH_YOUNGER);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_number(p, def, arg, 1, UINT32_MAX, &key->number) < 0)
			return -1;
		break;
	case SK_NOT:
		if (*i >= count)
			return search_fail(p, "Missing argument for NOT");
		if (search_parse_key(p, args, count, i, depth + 1, &a) < 0)
			return -1;
		key = search_wrap(p, IMAP_SEARCH_NOT, a);
		break;
	case SK_OR:
		if (*i >= count)
			return search_fail(p, "Missing argument for OR");
		if (search_parse_key(p, args, count, i, depth + 1, &a) < 0)
			return -1;
		if (*i >= count)
			return search_fail(p, "Missing second argument for OR");
		if (search_parse_key(p, args, count, i, depth + 1, &b) < 0)
			return -1;
		a->next = b;
		key = search_new(p, IMAP_SEARCH_OR);
		key->children = a;
		key->child_count = 2;
		break;
	case SK_UID:
		key = search_new(p, IMAP_SEARCH_UIDSET);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL)
			return -1;
		if (arg->type != IMAP_ARG_ATOM)
			return search_fail(p, "UID: sequence set expected");
		if (arg->str[0] == '$')
			return search_fail(p, "Saved search results ($) are not supported");
		if (imap_seqset_parse(p->arena, arg->str, &key->set, &p->error) < 0)
			return -1;
		break;
	case SK_MODSEQ:
		key = search_new(p, IMAP_SEARCH_MODSEQ);
		if (search_modseq(p, def, args, count, i, key) < 0)
			return -1;
		break;
	case SK_EMAILID:
	case SK_THREADID:
		key = search_new(p, def->kind == SK_EMAILID ? IMAP_SEARCH_EMAILID
							    : IMAP_SEARCH_THREADID);
		if ((arg = search_next_arg(p, def, args, count, i)) == NULL ||
		    search_objectid(p, def, arg, &key->text) < 0)
			return -1;
		break;
	case SK_SAVEDATESUPPORTED:
		key = search_new(p, IMAP_SEARCH_SAVEDATESUPPORTED);
		break;
	default:
		return search_fail(p, "Unknown search key");
	}
	*key_r = key;
	return 0;
}

static int search_parse_key(struct search_parser *p, const struct imap_arg *args, unsigned count,
			    unsigned *i, unsigned depth, struct imap_search_key **key_r)
{
	const struct imap_arg *arg = &args[(*i)++];

	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return search_fail(p, "Search keys nested too deeply");
	if (arg->type == IMAP_ARG_LIST)
		return search_parse_list(p, arg->list, arg->count, depth + 1, key_r);
	if (arg->type != IMAP_ARG_ATOM)
		return search_fail(p, "Search key expected");
	return search_parse_atom_key(p, args, count, i, depth, arg->str, key_r);
}

int imap_search_parse(struct arena *arena, const struct imap_arg *args, unsigned count, bool utf8,
		      struct imap_search_key **key_r, const char **error_r)
{
	struct search_parser p = {.arena = arena, .utf8 = utf8};

	if (search_parse_list(&p, args, count, 0, key_r) < 0) {
		*error_r = p.error != NULL ? p.error : "Invalid search program";
		return -1;
	}
	return 0;
}

bool imap_search_has(const struct imap_search_key *key, enum imap_search_type type)
{
	/* Asking for BODY means "anything the full-text index answers". */
	if (key->type == type || (type == IMAP_SEARCH_BODY && key->type == IMAP_SEARCH_TEXT))
		return true;
	for (const struct imap_search_key *c = key->children; c != NULL; c = c->next)
		if (imap_search_has(c, type))
			return true;
	return false;
}
