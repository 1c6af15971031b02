/* IMAP SEARCH keys turned into a PostgreSQL WHERE condition; the contract
 * is in imap-search.h.
 *
 * The compiler appends fixed SQL fragments; every value the client chose
 * is a text parameter, cast in SQL. Each fragment it emits is enclosed in
 * parentheses of its own, so fragments combine without precedence
 * surprises.
 */
#include "imap/imap-search.h"

#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/strbuf.h"

/* Longest word to_tsvector() indexes (PostgreSQL's MAXSTRLEN); a longer
 * word of a BODY/TEXT string cannot begin an indexed word. */
#define SEARCH_MAX_WORD 2047

/* The system flags (RFC 9051 2.3.2) in the case the store keeps them. */
static const char *const search_system_flags[] = {
    "\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent",
};

struct search_sql {
	struct arena *arena;
	const struct imap_search_view *view;
	struct strbuf *out;
	const char **params;
	unsigned *nparams;
	unsigned first;	   /* *nparams on entry */
	unsigned tz_param; /* the view's timezone, once added; 0 before */
	const char *error;
};

/* Adds value as the next parameter; returns its number ($n), 0 when the
 * limit is reached. */
static unsigned search_param(struct search_sql *c, const char *value)
{
	if (*c->nparams - c->first >= IMAP_SEARCH_MAX_PARAMS) {
		c->error = "Search program too complex";
		return 0;
	}
	c->params[(*c->nparams)++] = value;
	return *c->nparams;
}

static unsigned search_param_number(struct search_sql *c, unsigned long long n)
{
	return search_param(c, arena_printf(c->arena, "%llu", n));
}

static void search_emit(struct search_sql *c, const char *text)
{
	strbuf_append(c->out, text, strlen(text));
}

/* The stored case of a system flag; NULL for a keyword. */
static const char *search_system_flag(const char *flag)
{
	for (size_t k = 0; k < sizeof(search_system_flags) / sizeof(search_system_flags[0]); k++)
		if (strcasecmp(search_system_flags[k], flag) == 0)
			return search_system_flags[k];
	return NULL;
}

/* A header field name (RFC 5322 ftext: printable ASCII but ':'); ""
 * means any field. */
static bool search_field_name_ok(const char *field)
{
	for (const char *s = field; *s != '\0'; s++)
		if ((unsigned char)*s < 33 || (unsigned char)*s > 126 || *s == ':')
			return false;
	return true;
}

/* The case-insensitive comparison of header text. lower() follows the
 * database's LC_CTYPE: under C (initdb --no-locale) it folds ASCII only,
 * and to_tsvector() keeps "Привет" and "привет" apart just the same; a
 * database with LC_CTYPE C.UTF-8 folds both as Unicode says. */
#define SEARCH_LOWER_HEADER(x) "lower(" x ")"

/* Some header field value (everything after the first ':') holds $t. */
static int search_sql_any_field(struct search_sql *c, const char *text)
{
	unsigned t;

	if (text[0] == '\0') {
		search_emit(c, "(cardinality(b.header_fields) > 0)");
		return 0;
	}
	if ((t = search_param(c, text)) == 0)
		return -1;
	strbuf_appendf(
	    c->out,
	    "(EXISTS (SELECT 1 FROM unnest(b.header_fields) h WHERE strpos(" SEARCH_LOWER_HEADER(
		"substr(h, strpos(h, ':') + 1)") ", " SEARCH_LOWER_HEADER("$%u::text") ") > 0))",
	    t);
	return 0;
}

static int search_sql_header(struct search_sql *c, const struct imap_search_key *key)
{
	unsigned f, t;

	if (key->field[0] == '\0')
		return search_sql_any_field(c, key->text);
	/* No field has such a name (and the name must not run into the
	 * value: "from:x" would look for "from" starting with "x"). */
	if (!search_field_name_ok(key->field)) {
		search_emit(c, "(false)");
		return 0;
	}
	if ((f = search_param(c, key->field)) == 0)
		return -1;
	/* left() rather than LIKE: the name is compared as is, no wildcards. */
	if (key->text[0] == '\0') {
		/* RFC 9051: an empty string matches every message that has
		 * the field. */
		strbuf_appendf(c->out,
			       "(EXISTS (SELECT 1 FROM unnest(b.header_fields) h"
			       " WHERE left(h, length($%u::text) + 1) = $%u::text || ':'))",
			       f, f);
		return 0;
	}
	if ((t = search_param(c, key->text)) == 0)
		return -1;
	strbuf_appendf(
	    c->out,
	    "(EXISTS (SELECT 1 FROM unnest(b.header_fields) h"
	    " WHERE left(h, length($%u::text) + 1) = $%u::text || ':'"
	    " AND strpos(" SEARCH_LOWER_HEADER(
		"substr(h, length($%u::text) + 2)") ", " SEARCH_LOWER_HEADER("$%u::text") ") > 0))",
	    f, f, f, t);
	return 0;
}

static bool search_is_word_byte(unsigned char ch)
{
	return ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

/* The tsquery of a BODY/TEXT string: every word (a run of ASCII letters
 * and digits and of non-ASCII octets) as a prefix, all required:
 * "'word':* & 'other':*". Sets *none when the string has no word, *never
 * when a word is too long to be in any index. The words hold no quote or
 * backslash, so they need no escaping. */
static const char *search_tsquery(struct search_sql *c, const char *text, bool *none, bool *never)
{
	struct strbuf q = {0};
	const char *s = text, *result;

	*none = true;
	*never = false;
	while (*s != '\0') {
		size_t n = 0;

		while (*s != '\0' && !search_is_word_byte((unsigned char)*s))
			s++;
		while (search_is_word_byte((unsigned char)s[n]))
			n++;
		if (n == 0)
			break;
		if (n > SEARCH_MAX_WORD)
			*never = true;
		if (!*none)
			strbuf_append(&q, " & ", 3);
		strbuf_append(&q, "'", 1);
		strbuf_append(&q, s, n);
		strbuf_append(&q, "':*", 3);
		*none = false;
		s += n;
	}
	result = q.data != NULL ? arena_strdup(c->arena, q.data) : "";
	strbuf_free(&q);
	return result;
}

/* BODY: the index answers; a string without words matches every
 * message. A query whose words are all stop words ("the") or that the
 * configuration turns into no lexeme at all is empty for PostgreSQL,
 * which then matches nothing (with a NOTICE); matching everything instead
 * would need an OR that keeps the index from answering. */
static int search_sql_body(struct search_sql *c, const char *text)
{
	bool none, never;
	const char *query = search_tsquery(c, text, &none, &never);
	unsigned q;

	if (never) {
		search_emit(c, "(false)");
		return 0;
	}
	if (none) {
		search_emit(c, "(true)");
		return 0;
	}
	if ((q = search_param(c, query)) == 0)
		return -1;
	strbuf_appendf(c->out, "(b.body_tsv @@ to_tsquery('tegu', $%u::text))", q);
	return 0;
}

static int search_sql_date(struct search_sql *c, const struct imap_search_key *key)
{
	static const char *const ops[] = {
	    [IMAP_SEARCH_DATE_BEFORE] = "<",
	    [IMAP_SEARCH_DATE_ON] = "=",
	    [IMAP_SEARCH_DATE_SINCE] = ">=",
	};
	const char *column =
	    key->date_field == IMAP_SEARCH_SAVEDATE ? "m.savedate" : "m.internaldate";
	unsigned d;

	if ((unsigned)key->date_op > IMAP_SEARCH_DATE_SINCE) {
		c->error = "Invalid date comparison";
		return -1;
	}
	if (key->date_field == IMAP_SEARCH_SENTDATE) {
		if ((d = search_param(c, arena_printf(c->arena, "%04d-%02d-%02d", key->year,
						      key->month, key->day))) == 0)
			return -1;
		/* RFC 9051 compares the date of the Date: header as written,
		 * without regard to its zone. sent_date keeps only the instant
		 * (the header's own zone is lost), so its UTC date stands in;
		 * a message without a (parsable) Date: never matches. */
		strbuf_appendf(c->out, "((b.sent_date AT TIME ZONE 'UTC')::date %s $%u::date)",
			       ops[key->date_op], d);
		return 0;
	}
	/* Internal and save dates: the date in the session's time zone; the
	 * zone is one parameter however many dates use it. */
	if (c->tz_param == 0 &&
	    (c->tz_param =
		 search_param(c, c->view->timezone != NULL ? c->view->timezone : "UTC")) == 0)
		return -1;
	if ((d = search_param(c, arena_printf(c->arena, "%04d-%02d-%02d", key->year, key->month,
					      key->day))) == 0)
		return -1;
	strbuf_appendf(c->out, "((%s AT TIME ZONE $%u::text)::date %s $%u::date)", column,
		       c->tz_param, ops[key->date_op], d);
	return 0;
}

/* Appends the UIDs view->uids[from..to) to runs, a resolved set of runs
 * of consecutive UIDs. */
static void search_uid_runs(struct search_sql *c, uint32_t from, uint32_t to,
			    struct imap_seqset *runs, unsigned *cap)
{
	const uint32_t *uids = c->view->uids;

	for (uint32_t k = from; k < to; k++) {
		uint32_t uid = uids[k];

		if (runs->count > 0 && runs->ranges[runs->count - 1].hi != UINT32_MAX &&
		    runs->ranges[runs->count - 1].hi + 1 == uid) {
			runs->ranges[runs->count - 1].hi = uid;
			continue;
		}
		if (runs->count > 0 && uid <= runs->ranges[runs->count - 1].hi)
			continue; /* not ascending: the view is broken; keep what we have */
		if (runs->count == *cap) {
			unsigned grown = *cap ? *cap * 2 : 16;
			struct imap_seq_range *r = arena_alloc(c->arena, grown * sizeof(*r));
			if (runs->count > 0)
				memcpy(r, runs->ranges, runs->count * sizeof(*r));
			runs->ranges = r;
			*cap = grown;
		}
		runs->ranges[runs->count].lo = uid;
		runs->ranges[runs->count].hi = uid;
		runs->count++;
	}
}

static uint32_t search_lower_bound(const uint32_t *uids, uint32_t count, uint32_t uid)
{
	uint32_t lo = 0, hi = count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Message numbers (SEQSET) or UIDs (UIDSET) become the UIDs of the
 * view's messages they name, written as runs of consecutive UIDs: the
 * key matches exactly the messages of the session's view it names, never
 * a message the session has not announced. */
static int search_sql_set(struct search_sql *c, const struct imap_search_key *key)
{
	const struct imap_search_view *view = c->view;
	struct imap_seqset set = {0}, runs = {0};
	struct strbuf text = {0};
	unsigned cap = 0, p;

	if (view->count == 0 || key->set.count == 0) {
		/* Nothing in view: even "*" names no message. */
		search_emit(c, "(false)");
		return 0;
	}
	set.count = key->set.count;
	set.ranges = arena_alloc(c->arena, set.count * sizeof(*set.ranges));
	memcpy(set.ranges, key->set.ranges, set.count * sizeof(*set.ranges));
	if (key->type == IMAP_SEARCH_SEQSET) {
		imap_seqset_resolve(&set, view->count);
		for (unsigned r = 0; r < set.count; r++) {
			uint32_t lo = set.ranges[r].lo, hi = set.ranges[r].hi;

			if (lo == 0)
				lo = 1;
			if (hi > view->count)
				hi = view->count;
			if (lo <= hi)
				search_uid_runs(c, lo - 1, hi, &runs, &cap);
		}
	} else {
		imap_seqset_resolve(&set, view->uids[view->count - 1]);
		for (unsigned r = 0; r < set.count; r++) {
			uint32_t from =
			    search_lower_bound(view->uids, view->count, set.ranges[r].lo);
			uint32_t to =
			    set.ranges[r].hi == UINT32_MAX
				? view->count
				: search_lower_bound(view->uids, view->count, set.ranges[r].hi + 1);
			search_uid_runs(c, from, to, &runs, &cap);
		}
	}
	if (runs.count == 0) {
		search_emit(c, "(false)");
		return 0;
	}
	imap_seqset_write_multirange(&text, &runs);
	p = search_param(c, arena_strdup(c->arena, text.data));
	strbuf_free(&text);
	if (p == 0)
		return -1;
	strbuf_appendf(c->out, "(m.uid <@ $%u::int8multirange)", p);
	return 0;
}

static int search_sql_key(struct search_sql *c, const struct imap_search_key *key, unsigned depth)
{
	unsigned p;

	if (depth > IMAP_SEARCH_MAX_DEPTH + 3) {
		c->error = "Search keys nested too deeply";
		return -1;
	}
	switch (key->type) {
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		/* Every message has a save date (messages.savedate). */
		search_emit(c, "(true)");
		return 0;
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR: {
		const char *op = key->type == IMAP_SEARCH_AND ? " AND " : " OR ";

		if (key->children == NULL) {
			search_emit(c, key->type == IMAP_SEARCH_AND ? "(true)" : "(false)");
			return 0;
		}
		search_emit(c, "(");
		for (const struct imap_search_key *k = key->children; k != NULL; k = k->next) {
			if (k != key->children)
				search_emit(c, op);
			if (search_sql_key(c, k, depth + 1) < 0)
				return -1;
		}
		search_emit(c, ")");
		return 0;
	}
	case IMAP_SEARCH_NOT:
		/* IS NOT TRUE rather than NOT: a condition that is NULL (no
		 * Date: header, say) does not match, and neither would its NOT;
		 * this way NOT is the complement. */
		if (key->children == NULL) {
			search_emit(c, "(false)");
			return 0;
		}
		search_emit(c, "(");
		if (search_sql_key(c, key->children, depth + 1) < 0)
			return -1;
		search_emit(c, " IS NOT TRUE)");
		return 0;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UIDSET:
		return search_sql_set(c, key);
	case IMAP_SEARCH_FLAG: {
		const char *system = search_system_flag(key->text);

		if (system != NULL) {
			if ((p = search_param(c, system)) == 0)
				return -1;
			strbuf_appendf(c->out, "($%u::text = ANY(m.flags))", p);
			return 0;
		}
		/* Keywords are kept as first written and compared without
		 * regard to case (they are ASCII atoms). */
		if ((p = search_param(c, key->text)) == 0)
			return -1;
		strbuf_appendf(c->out,
			       "(EXISTS (SELECT 1 FROM unnest(m.flags) f"
			       " WHERE lower(f) = lower($%u::text)))",
			       p);
		return 0;
	}
	case IMAP_SEARCH_RECENT:
		/* Tegu does not track \Recent (RFC 9051 removed it): no
		 * message is recent, NEW matches nothing, OLD everything. */
		search_emit(c, "(false)");
		return 0;
	case IMAP_SEARCH_HEADER:
		return search_sql_header(c, key);
	case IMAP_SEARCH_BODY:
		return search_sql_body(c, key->text);
	case IMAP_SEARCH_TEXT:
		search_emit(c, "(");
		if (search_sql_body(c, key->text) < 0)
			return -1;
		search_emit(c, " OR ");
		if (search_sql_any_field(c, key->text) < 0)
			return -1;
		search_emit(c, ")");
		return 0;
	case IMAP_SEARCH_DATE:
		return search_sql_date(c, key);
	case IMAP_SEARCH_OLDER:
	case IMAP_SEARCH_YOUNGER:
		if ((p = search_param_number(c, key->number)) == 0)
			return -1;
		strbuf_appendf(c->out,
			       "(m.internaldate %s now() - make_interval(secs => $%u::bigint))",
			       key->type == IMAP_SEARCH_OLDER ? "<=" : ">", p);
		return 0;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		if ((p = search_param_number(c, key->number)) == 0)
			return -1;
		strbuf_appendf(c->out, "(m.size %s $%u::bigint)",
			       key->type == IMAP_SEARCH_LARGER ? ">" : "<", p);
		return 0;
	case IMAP_SEARCH_MODSEQ:
		if ((p = search_param_number(c, key->number)) == 0)
			return -1;
		strbuf_appendf(c->out, "(m.modseq >= $%u::bigint)", p);
		return 0;
	case IMAP_SEARCH_EMAILID:
		if ((p = search_param(c, key->text)) == 0)
			return -1;
		strbuf_appendf(c->out, "(m.email_id = $%u::text)", p);
		return 0;
	case IMAP_SEARCH_THREADID:
		/* No threads yet (RFC 8474 lets THREADID be unsupported). */
		search_emit(c, "(false)");
		return 0;
	}
	c->error = "Unknown search key";
	return -1;
}

int imap_search_sql(struct arena *arena, const struct imap_search_key *key,
		    const struct imap_search_view *view, struct strbuf *where, const char **params,
		    unsigned *nparams, const char **error_r)
{
	struct search_sql c = {
	    .arena = arena,
	    .view = view,
	    .out = where,
	    .params = params,
	    .nparams = nparams,
	    .first = *nparams,
	};
	size_t start = where->len;

	if (search_sql_key(&c, key, 0) < 0) {
		/* Leave the caller's buffer and parameters as they were. */
		if (where->data != NULL) {
			where->len = start;
			where->data[start] = '\0';
		}
		*nparams = c.first;
		*error_r = c.error;
		return -1;
	}
	return 0;
}

bool imap_search_needs_blob(const struct imap_search_key *key)
{
	switch (key->type) {
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return true;
	case IMAP_SEARCH_DATE:
		return key->date_field == IMAP_SEARCH_SENTDATE;
	default:
		break;
	}
	for (const struct imap_search_key *c = key->children; c != NULL; c = c->next)
		if (imap_search_needs_blob(c))
			return true;
	return false;
}
