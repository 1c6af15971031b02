/* SORT and UID SORT (RFC 5256) with ESORT's return options (RFC 5267)
 * and DISPLAYFROM/DISPLAYTO (RFC 5957). The search keys run exactly as
 * SEARCH's (imap-search-run.h); the store hands over each match with its
 * dates, size and, when a criterion needs it, the structure cached at
 * delivery, whose envelope gives the subject and address keys
 * (imap-sort.h). The order itself is computed here, in C, because the
 * RFC's base subject and address rules are not SQL's. */
#include "imap/imap-session.h"

#include <stdio.h>
#include <string.h>

#include "imap/imap-search-run.h"
#include "imap/imap-sort.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "mail/mail-envelope.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure-cache.h"

struct sort_run {
	struct imap_session *s;
	const struct imap_sort_criterion *criteria;
	unsigned ncriteria;
	bool uid, envelope;
	struct imap_sort_message *messages;
	unsigned n;
	uint64_t highest; /* MODSEQ */
	unsigned unreadable;
	struct arena *scratch; /* one message's structure at a time */
};

/* The envelope from the cached structure, or for a message stored
 * before the cache existed, parsed from its header; NULL if neither
 * can be had. */
static const struct mail_envelope *load_envelope(struct sort_run *r,
						 const struct store_sort_row *row)
{
	struct mail_structure *structure;
	const char *error;
	if (row->structure != NULL &&
	    mail_structure_cache_unpack(r->scratch, row->structure, row->structure_len, &structure,
					&error) == 0)
		return structure->envelope;
	char range[48];
	snprintf(range, sizeof(range), "{[%u,%u]}", row->uid, row->uid);
	struct store_message *rows;
	unsigned count;
	if (store_message_fetch(r->s->sel.mailbox.id, range, STORE_FETCH_CONTENT, 0, r->scratch,
				&rows, &count, deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error) < 0 ||
	    count != 1 || rows[0].content == NULL) {
		r->unreadable++;
		return NULL;
	}
	struct mail_envelope *env;
	/* A header cut at a limit still gives a complete envelope. */
	(void)mail_envelope_parse(r->scratch, rows[0].content, rows[0].content_len, &env, &error);
	return env;
}

static void add_message(void *context, const struct store_sort_row *row)
{
	struct sort_run *r = context;
	if (r->messages == NULL)
		r->messages =
		    arena_alloc(r->s->arena, ((size_t)row->count + 1) * sizeof(*r->messages));
	uint32_t seq = imap_select_seq(r->s, row->uid);
	if (seq == 0)
		return; /* arrived after the client's view: not told yet */
	struct imap_sort_message *m = &r->messages[r->n++];
	/* DATE is the Date: field, else INTERNALDATE (RFC 5256 2.2). */
	*m = (struct imap_sort_message){
	    .seq = seq,
	    .id = r->uid ? row->uid : seq,
	    .arrival = row->internaldate,
	    .date = row->has_sent_date ? row->sent_date : row->internaldate,
	    .size = row->size,
	};
	if (row->modseq > r->highest)
		r->highest = row->modseq;
	if (r->envelope) {
		arena_clear(r->scratch);
		imap_sort_set_keys(r->s->arena, m, load_envelope(r, row), r->criteria,
				   r->ncriteria);
	}
}

void imap_cmd_sort(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count, options = 0;
	bool esort = false;
	if (count >= 2 && imap_arg_atom_is(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST ||
		    imap_search_run_return(&args[1], &options) < 0) {
			imap_bad(s, "Invalid SORT return options");
			return;
		}
		esort = true;
		args += 2;
		count -= 2;
	}
	if (count < 3) {
		imap_bad(s, "SORT needs sort criteria, a charset and search keys");
		return;
	}
	struct imap_sort_criterion criteria[IMAP_SORT_MAX_CRITERIA];
	const char *error;
	int ncriteria = imap_sort_parse(&args[0], criteria, &error);
	if (ncriteria < 0) {
		imap_bad(s, "%s", error);
		return;
	}
	bool utf8;
	if (imap_search_run_charset(s, &args[1], &utf8) < 0)
		return;
	struct imap_search_run run;
	if (imap_search_run_prepare(s, "SORT", args + 2, count - 2, utf8, &run) < 0)
		return;

	struct sort_run r = {
	    .s = s,
	    .criteria = criteria,
	    .ncriteria = (unsigned)ncriteria,
	    .uid = cmd->uid,
	    .envelope = imap_sort_needs_envelope(criteria, (unsigned)ncriteria),
	};
	if (r.envelope)
		r.scratch = arena_create(16 * 1024);
	/* DATE sorts by the Date: field, kept beside the content. */
	unsigned fields = r.envelope ? STORE_SORT_STRUCTURE : 0;
	for (int i = 0; i < ncriteria; i++)
		if (criteria[i].key == IMAP_SORT_DATE)
			fields |= STORE_SORT_BLOB;
	int ret = imap_search_run_matches(s, &run, fields, add_message, &r);
	if (r.scratch != NULL)
		arena_destroy(&r.scratch);
	if (ret < 0)
		return;
	if (r.unreadable > 0)
		log_warn("event=imap_sort_unreadable session=%s mailbox=%lld messages=%u", s->id,
			 (long long)s->sel.mailbox.id, r.unreadable);
	imap_sort(r.messages, r.n, criteria, (unsigned)ncriteria);

	uint32_t *ids = arena_alloc(s->arena, ((size_t)r.n + 1) * sizeof(*ids));
	for (unsigned i = 0; i < r.n; i++)
		ids[i] = r.messages[i].id;
	if (esort) {
		imap_search_run_esearch(s, cmd->uid, options, ids, r.n, run.with_modseq, r.highest);
	} else {
		struct strbuf line = {0};
		strbuf_append(&line, "SORT", 4);
		for (unsigned i = 0; i < r.n; i++)
			strbuf_appendf(&line, " %u", ids[i]);
		/* RFC 7162 3.1.5: the highest MODSEQ of what was found. */
		if (run.with_modseq && r.n > 0)
			strbuf_appendf(&line, " (MODSEQ %llu)", (unsigned long long)r.highest);
		imap_untagged(s, "%s", line.data);
		strbuf_free(&line);
	}
	imap_tagged(s, "OK", "SORT completed");
}
