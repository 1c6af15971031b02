/* See store-mailbox.h: the messages that match a search condition, for
 * IMAP SEARCH and SORT. One query; the rows go to the caller's function
 * one at a time while the result is held, so a SORT over a large mailbox
 * never copies every cached structure at once. */
#include "store/store-mailbox.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/db.h"
#include "lib/strbuf.h"

/* Results come in binary (for the structure's bytea), so every other
 * column is selected as text. The structure column is one of two fixed
 * fragments: the condition's parameters follow $1 directly. */
static const char select_sql[] =
    "SELECT m.uid::text, m.modseq::text, extract(epoch FROM m.internaldate)::bigint::text, ";

int store_sort_matches(int64_t mailbox_id, const char *where, const char *const *params,
		       unsigned nparams, unsigned fields, store_sort_fn *fn, void *context,
		       int64_t deadline, const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char **all = calloc(nparams > 0 ? nparams : 1, sizeof(*all));
	if (all == NULL)
		abort();
	for (unsigned i = 1; i < nparams; i++)
		all[i] = params[i];
	all[0] = id;
	struct strbuf sql = {0};
	/* The join is only for conditions and keys that read the content's
	 * columns: flag, date and size searches over a large mailbox then
	 * read messages alone. */
	bool blob = (fields & (STORE_SORT_BLOB | STORE_SORT_STRUCTURE)) != 0;
	strbuf_append(&sql, select_sql, sizeof(select_sql) - 1);
	strbuf_appendf(&sql, "%s, m.size::text, %s FROM messages m%s",
		       blob ? "extract(epoch FROM b.sent_date)::bigint::text" : "NULL::text",
		       (fields & STORE_SORT_STRUCTURE) ? "b.structure" : "NULL::bytea",
		       blob ? " JOIN mail_blobs b ON b.hash = m.blob_hash" : "");
	strbuf_appendf(&sql, " WHERE m.mailbox_id = $1 AND %s ORDER BY m.uid", where);
	const struct db_stmt stmt = {.sql = sql.data,
				     .nparams = (int)(nparams > 0 ? nparams : 1),
				     .params = all,
				     .binary_results = true};
	PGresult *res = db_query_stmt(&stmt, deadline, error_r);
	strbuf_free(&sql);
	free(all);
	if (res == NULL)
		return -1;
	unsigned n = (unsigned)PQntuples(res);
	for (unsigned i = 0; i < n; i++) {
		int row = (int)i;
		struct store_sort_row r = {
		    .uid = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10),
		    .modseq = strtoull(PQgetvalue(res, row, 1), NULL, 10),
		    .internaldate = strtoll(PQgetvalue(res, row, 2), NULL, 10),
		    .has_sent_date = !PQgetisnull(res, row, 3),
		    .sent_date = strtoll(PQgetvalue(res, row, 3), NULL, 10),
		    .size = strtoull(PQgetvalue(res, row, 4), NULL, 10),
		    .index = i,
		    .count = n,
		};
		if (!PQgetisnull(res, row, 5)) {
			r.structure = PQgetvalue(res, row, 5);
			r.structure_len = (size_t)PQgetlength(res, row, 5);
		}
		fn(context, &r);
	}
	PQclear(res);
	return 0;
}
