/* SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH return options
 * (RFC 4731: MIN, MAX, COUNT, ALL) and CONDSTORE's MODSEQ (RFC 7162
 * 3.1.5). The keys become one SQL query (imap-search.h, run through
 * imap-search-run.h, which SORT shares); the database does the
 * matching, with the full-text index for BODY and TEXT. */
#include "imap/imap-session.h"

#include <string.h>

#include "imap/imap-search-run.h"
#include "lib/arena.h"

/* The matches the client knows of, ascending. */
struct search_found {
	struct imap_session *s;
	bool uid;
	uint32_t *found;
	unsigned n;
	uint64_t highest; /* MODSEQ */
};

static void collect(void *context, const struct store_sort_row *row)
{
	struct search_found *f = context;
	if (f->found == NULL)
		f->found = arena_alloc(f->s->arena, ((size_t)row->count + 1) * sizeof(*f->found));
	uint32_t seq = imap_select_seq(f->s, row->uid);
	if (seq == 0)
		return;
	f->found[f->n++] = f->uid ? row->uid : seq;
	if (row->modseq > f->highest)
		f->highest = row->modseq;
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count, options = 0;
	bool esearch = false;
	if (count >= 2 && imap_arg_atom_is(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST ||
		    imap_search_run_return(&args[1], &options) < 0) {
			imap_bad(s, "Invalid SEARCH return options");
			return;
		}
		esearch = true;
		args += 2;
		count -= 2;
	} else if (s->rev2) {
		/* IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 6.4.4). */
		esearch = true;
		options = IMAP_SEARCH_RETURN_ALL;
	}
	bool utf8 = s->utf8;
	if (count >= 2 && imap_arg_atom_is(&args[0], "CHARSET")) {
		if (imap_search_run_charset(s, &args[1], &utf8) < 0)
			return;
		args += 2;
		count -= 2;
	}
	struct imap_search_run run;
	if (imap_search_run_prepare(s, "SEARCH", args, count, utf8, &run) < 0)
		return;
	struct search_found f = {.s = s, .uid = cmd->uid};
	if (imap_search_run_matches(s, &run, 0, collect, &f) < 0)
		return;

	if (esearch) {
		imap_search_run_esearch(s, cmd->uid, options, f.found, f.n, run.with_modseq,
					f.highest);
	} else {
		struct strbuf line = {0};
		strbuf_append(&line, "SEARCH", 6);
		for (unsigned i = 0; i < f.n; i++)
			strbuf_appendf(&line, " %u", f.found[i]);
		if (run.with_modseq && f.n > 0)
			strbuf_appendf(&line, " (MODSEQ %llu)", (unsigned long long)f.highest);
		imap_untagged(s, "%s", line.data);
		strbuf_free(&line);
	}
	imap_tagged(s, "OK", "SEARCH completed");
}
