/* See imap-search-run.h: the part of SEARCH that SORT shares. The
 * condition compiled here is only fixed fragments with $n parameters
 * (imap-search-sql.c); the store puts it behind its own SELECT. */
#include "imap/imap-search-run.h"

#include <strings.h>

#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "lib/arena.h"

int imap_search_run_return(const struct imap_arg *list, unsigned *options_r)
{
	*options_r = 0;
	for (unsigned i = 0; i < list->count; i++) {
		const struct imap_arg *o = &list->list[i];
		if (imap_arg_atom_is(o, "MIN"))
			*options_r |= IMAP_SEARCH_RETURN_MIN;
		else if (imap_arg_atom_is(o, "MAX"))
			*options_r |= IMAP_SEARCH_RETURN_MAX;
		else if (imap_arg_atom_is(o, "COUNT"))
			*options_r |= IMAP_SEARCH_RETURN_COUNT;
		else if (imap_arg_atom_is(o, "ALL"))
			*options_r |= IMAP_SEARCH_RETURN_ALL;
		else
			return -1;
	}
	if (*options_r == 0)
		*options_r = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

int imap_search_run_charset(struct imap_session *s, const struct imap_arg *arg, bool *utf8_r)
{
	const char *charset;
	if (!imap_arg_astring(arg, &charset)) {
		imap_bad(s, "A charset name is needed");
		return -1;
	}
	if (strcasecmp(charset, "UTF-8") == 0) {
		*utf8_r = true;
	} else if (strcasecmp(charset, "US-ASCII") == 0) {
		*utf8_r = s->utf8;
	} else {
		imap_tagged(s, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return -1;
	}
	return 0;
}

int imap_search_run_prepare(struct imap_session *s, const char *verb, const struct imap_arg *args,
			    unsigned count, bool utf8, struct imap_search_run *run_r)
{
	struct imap_search_key *key;
	const char *error;
	if (count == 0) {
		imap_bad(s, "%s needs search keys", verb);
		return -1;
	}
	if (imap_search_parse(s->arena, args, count, utf8, &key, &error) < 0) {
		imap_bad(s, "%s", error);
		return -1;
	}
	run_r->with_modseq = imap_search_has(key, IMAP_SEARCH_MODSEQ);
	run_r->needs_blob = imap_search_needs_blob(key);
	if (run_r->with_modseq)
		s->condstore = true;

	const struct imap_search_view view = {
	    .uids = s->sel.uids, .count = s->sel.count, .timezone = "UTC"};
	/* params[0] is the store's mailbox id ($1). */
	run_r->params =
	    arena_zalloc(s->arena, (IMAP_SEARCH_MAX_PARAMS + 2) * sizeof(*run_r->params));
	run_r->nparams = 1;
	struct strbuf where = {0};
	if (imap_search_sql(s->arena, key, &view, &where, run_r->params, &run_r->nparams, &error) <
	    0) {
		strbuf_free(&where);
		imap_tagged(s, "NO", "[LIMIT] %s", error);
		return -1;
	}
	run_r->where = arena_strndup(s->arena, where.data != NULL ? where.data : "TRUE", where.len);
	strbuf_free(&where);
	return 0;
}

int imap_search_run_matches(struct imap_session *s, const struct imap_search_run *run,
			    unsigned fields, store_sort_fn *fn, void *context)
{
	const char *error;
	if (run->needs_blob)
		fields |= STORE_SORT_BLOB;
	if (store_sort_matches(s->sel.mailbox.id, run->where, run->params, run->nparams, fields, fn,
			       context, deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error) < 0) {
		imap_db_error(s, error);
		return -1;
	}
	return 0;
}

void imap_search_run_esearch(struct imap_session *s, bool uid, unsigned options,
			     const uint32_t *found, unsigned n, bool with_modseq, uint64_t highest)
{
	struct strbuf line = {0};
	strbuf_appendf(&line, "ESEARCH (TAG ");
	imap_write_string(s, &line, s->tag);
	strbuf_append(&line, ")", 1);
	if (uid)
		strbuf_append(&line, " UID", 4);
	if (n > 0 && (options & IMAP_SEARCH_RETURN_MIN))
		strbuf_appendf(&line, " MIN %u", found[0]);
	if (n > 0 && (options & IMAP_SEARCH_RETURN_MAX))
		strbuf_appendf(&line, " MAX %u", found[n - 1]);
	if (options & IMAP_SEARCH_RETURN_COUNT)
		strbuf_appendf(&line, " COUNT %u", n);
	if (n > 0 && (options & IMAP_SEARCH_RETURN_ALL)) {
		/* In the given order: a range only where numbers ascend by one. */
		struct imap_seqset set = {.ranges = arena_alloc(s->arena, n * sizeof(*set.ranges))};
		for (unsigned i = 0; i < n; i++) {
			if (set.count > 0 && found[i] == set.ranges[set.count - 1].hi + 1)
				set.ranges[set.count - 1].hi = found[i];
			else
				set.ranges[set.count++] =
				    (struct imap_seq_range){found[i], found[i]};
		}
		strbuf_append(&line, " ALL ", 5);
		imap_seqset_write(&line, &set);
	}
	if (with_modseq && n > 0)
		strbuf_appendf(&line, " MODSEQ %llu", (unsigned long long)highest);
	imap_untagged(s, "%s", line.data);
	strbuf_free(&line);
}
