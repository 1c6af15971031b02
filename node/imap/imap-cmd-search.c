/* SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH return options
 * (RFC 4731: MIN, MAX, COUNT, ALL) and CONDSTORE's MODSEQ (RFC 7162
 * 3.1.5). The keys become one SQL query (imap-search.c); the database
 * does the matching, with the full-text index for BODY and TEXT. */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-search.h"
#include "imap/imap-seqset.h"
#include "lib/arena.h"
#include "lib/db.h"

enum {
	RETURN_MIN = 1 << 0,
	RETURN_MAX = 1 << 1,
	RETURN_COUNT = 1 << 2,
	RETURN_ALL = 1 << 3,
};

static int parse_return(const struct imap_arg *list, unsigned *options_r)
{
	*options_r = 0;
	for (unsigned i = 0; i < list->count; i++) {
		const struct imap_arg *o = &list->list[i];
		if (imap_arg_atom_is(o, "MIN"))
			*options_r |= RETURN_MIN;
		else if (imap_arg_atom_is(o, "MAX"))
			*options_r |= RETURN_MAX;
		else if (imap_arg_atom_is(o, "COUNT"))
			*options_r |= RETURN_COUNT;
		else if (imap_arg_atom_is(o, "ALL"))
			*options_r |= RETURN_ALL;
		else
			return -1;
	}
	/* RETURN () means ALL (RFC 4731 3.1). */
	if (*options_r == 0)
		*options_r = RETURN_ALL;
	return 0;
}

void imap_cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count, options = 0;
	bool esearch = false;
	if (count >= 2 && imap_arg_atom_is(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST || parse_return(&args[1], &options) < 0) {
			imap_bad(s, "Invalid SEARCH return options");
			return;
		}
		esearch = true;
		args += 2;
		count -= 2;
	} else if (s->rev2) {
		/* IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 6.4.4). */
		esearch = true;
		options = RETURN_ALL;
	}
	bool utf8 = s->utf8;
	if (count >= 2 && imap_arg_atom_is(&args[0], "CHARSET")) {
		const char *charset;
		if (!imap_arg_astring(&args[1], &charset)) {
			imap_bad(s, "CHARSET needs a name");
			return;
		}
		if (strcasecmp(charset, "UTF-8") == 0)
			utf8 = true;
		else if (strcasecmp(charset, "US-ASCII") != 0) {
			imap_tagged(s, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
			return;
		}
		args += 2;
		count -= 2;
	}
	struct imap_search_key *key;
	const char *error;
	if (count == 0 || imap_search_parse(s->arena, args, count, utf8, &key, &error) < 0) {
		imap_bad(s, "%s", count == 0 ? "SEARCH needs search keys" : error);
		return;
	}
	bool with_modseq = imap_search_has(key, IMAP_SEARCH_MODSEQ);
	if (with_modseq)
		s->condstore = true;

	const struct imap_search_view view = {
	    .uids = s->sel.uids, .count = s->sel.count, .timezone = "UTC"};
	const char **params = arena_alloc(s->arena, (IMAP_SEARCH_MAX_PARAMS + 2) * sizeof(*params));
	char mailbox[24];
	snprintf(mailbox, sizeof(mailbox), "%lld", (long long)s->sel.mailbox.id);
	params[0] = mailbox;
	unsigned nparams = 1;
	struct strbuf sql = {0};
	strbuf_appendf(&sql, "SELECT m.uid, m.modseq FROM messages m"
			     " JOIN mail_blobs b ON b.hash = m.blob_hash"
			     " WHERE m.mailbox_id = $1 AND ");
	if (imap_search_sql(s->arena, key, &view, &sql, params, &nparams, &error) < 0) {
		strbuf_free(&sql);
		imap_tagged(s, "NO", "[LIMIT] %s", error);
		return;
	}
	strbuf_append(&sql, " ORDER BY m.uid", 15);
	PGresult *res =
	    db_query(sql.data, (int)nparams, params, deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error);
	strbuf_free(&sql);
	if (res == NULL) {
		imap_db_error(s, error);
		return;
	}
	/* Numbers (message numbers, or UIDs for UID SEARCH) of the matches
	 * the client knows of, ascending. */
	int rows = PQntuples(res);
	uint32_t *found = arena_alloc(s->arena, ((size_t)rows + 1) * sizeof(*found));
	unsigned n = 0;
	unsigned long long highest = 0;
	for (int row = 0; row < rows; row++) {
		uint32_t uid = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10);
		uint32_t seq = imap_select_seq(s, uid);
		if (seq == 0)
			continue;
		found[n++] = cmd->uid ? uid : seq;
		unsigned long long modseq = strtoull(PQgetvalue(res, row, 1), NULL, 10);
		if (modseq > highest)
			highest = modseq;
	}
	PQclear(res);

	struct strbuf line = {0};
	if (!esearch) {
		strbuf_append(&line, "SEARCH", 6);
		for (unsigned i = 0; i < n; i++)
			strbuf_appendf(&line, " %u", found[i]);
		if (with_modseq && n > 0)
			strbuf_appendf(&line, " (MODSEQ %llu)", highest);
	} else {
		strbuf_appendf(&line, "ESEARCH (TAG ");
		imap_write_string(s, &line, s->tag);
		strbuf_append(&line, ")", 1);
		if (cmd->uid)
			strbuf_append(&line, " UID", 4);
		if (n > 0 && (options & RETURN_MIN))
			strbuf_appendf(&line, " MIN %u", found[0]);
		if (n > 0 && (options & RETURN_MAX))
			strbuf_appendf(&line, " MAX %u", found[n - 1]);
		if (options & RETURN_COUNT)
			strbuf_appendf(&line, " COUNT %u", n);
		if (n > 0 && (options & RETURN_ALL)) {
			struct imap_seqset set = {
			    .ranges = arena_alloc(s->arena, n * sizeof(*set.ranges))};
			for (unsigned i = 0; i < n; i++)
				set.ranges[set.count++] =
				    (struct imap_seq_range){found[i], found[i]};
			imap_seqset_resolve(&set, UINT32_MAX);
			strbuf_append(&line, " ALL ", 5);
			imap_seqset_write(&line, &set);
		}
		if (with_modseq && n > 0)
			strbuf_appendf(&line, " MODSEQ %llu", highest);
	}
	imap_untagged(s, "%s", line.data);
	strbuf_free(&line);
	imap_tagged(s, "OK", "SEARCH completed");
}
