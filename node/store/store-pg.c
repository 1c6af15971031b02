/* See store.h. One pipeline of statements inside the caller's
 * transaction. INBOX rows are locked in id order before their counters
 * move, so two deliveries to overlapping sets of users cannot deadlock,
 * and the row lock makes UIDs strictly increasing per mailbox whichever
 * node delivers. */
#include "store/store.h"
#include "store/store-internal.h"

#include "lib/db.h"
#include "lib/strbuf.h"

#include <stdio.h>
#include <stdlib.h>

static const char lock_inboxes_sql[] =
    "SELECT id FROM mailboxes WHERE user_id = ANY($1::bigint[]) AND name = 'INBOX'"
    " ORDER BY id FOR UPDATE";

static const char append_sql[] =
    "WITH mb AS ("
    " UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1"
    " WHERE user_id = ANY($1::bigint[]) AND name = 'INBOX'"
    " RETURNING id, uidnext - 1 AS uid, highestmodseq)"
    " INSERT INTO messages (mailbox_id, uid, modseq, blob_hash, size, internaldate)"
    " SELECT mb.id, mb.uid, mb.highestmodseq, q.body_hash, q.size, q.received_at"
    " FROM mb, queue_messages q WHERE q.id = $2";

/* Records the users as served for this queue message and keeps in *users
 * (a bigint[] literal) only those that were not yet. Returns how many are
 * left, or -1. */
static int claim_users(struct db_conn *conn, const char *message, struct strbuf *users,
		       int64_t deadline, const char **error_r)
{
	const char *params[] = {message, users->data};
	const struct db_stmt stmt = {.sql =
					 "INSERT INTO queue_delivered (message_id, user_id)"
					 " SELECT $1, u FROM unnest($2::bigint[]) AS u ORDER BY u"
					 " ON CONFLICT DO NOTHING"
					 " RETURNING user_id",
				     .nparams = 2,
				     .params = params,
				     .prepared = true};
	PGresult *res = db_conn_run(conn, &stmt, deadline, error_r);
	if (res == NULL)
		return -1;
	int count = PQntuples(res);
	strbuf_reset(users);
	strbuf_append(users, "{", 1);
	for (int row = 0; row < count; row++)
		strbuf_appendf(users, "%s%s", row ? "," : "", PQgetvalue(res, row, 0));
	strbuf_append(users, "}", 1);
	PQclear(res);
	return count;
}

int store_pg_deliver(struct db_conn *conn, int64_t queue_message_id, const int64_t *user_ids,
		     unsigned user_count, struct strbuf *changed, int64_t deadline,
		     const char **error_r)
{
	struct strbuf users = {0};
	strbuf_append(&users, "{", 1);
	for (unsigned i = 0; i < user_count; i++)
		strbuf_appendf(&users, "%s%lld", i ? "," : "", (long long)user_ids[i]);
	strbuf_append(&users, "}", 1);
	char message[24];
	snprintf(message, sizeof(message), "%lld", (long long)queue_message_id);
	int fresh = claim_users(conn, message, &users, deadline, error_r);
	if (fresh <= 0) {
		strbuf_free(&users);
		return fresh; /* 0: every one of them already has it */
	}
	user_count = (unsigned)fresh;

	const char *by_users[] = {users.data};
	const char *both[] = {users.data, message};
	const struct db_stmt stmts[] = {
	    {.sql = store_ensure_folders_sql, .nparams = 1, .params = by_users, .prepared = true},
	    {.sql = lock_inboxes_sql, .nparams = 1, .params = by_users, .prepared = true},
	    {.sql = append_sql, .nparams = 2, .params = both, .prepared = true},
	};
	enum { COUNT = sizeof(stmts) / sizeof(stmts[0]) };
	PGresult *results[COUNT];
	int ret = db_conn_pipeline(conn, stmts, COUNT, results, deadline, error_r);
	if (ret == 0 && (unsigned)atoi(PQcmdTuples(results[2])) != user_count) {
		*error_r = "an INBOX was missing after creating it";
		ret = -1;
	}
	for (int row = 0; ret == 0 && row < PQntuples(results[1]); row++)
		strbuf_appendf(changed, "%s%s", changed->len ? "," : "",
			       PQgetvalue(results[1], row, 0));
	for (unsigned i = 0; i < COUNT; i++)
		PQclear(results[i]);
	strbuf_free(&users);
	return ret;
}
