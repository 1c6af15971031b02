/* See store-mailbox.h: the mailbox half (list, create, rename, status).
 * Counters (UIDNEXT, HIGHESTMODSEQ) only move under the mailbox's row
 * lock, taken by the UPDATE that moves them. */
#include "store/store-mailbox.h"
#include "store/store-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/db-listen.h"
#include "lib/db.h"

const char store_ensure_folders_sql[] =
    "INSERT INTO mailboxes (user_id, name, special_use)"
    " SELECT u.id, f.name, f.special_use FROM users u JOIN domains d ON d.name = u.domain,"
    "  LATERAL (VALUES ('INBOX', NULL), (d.archive_folder, '\\Archive'),"
    "   (d.drafts_folder, '\\Drafts'), (d.junk_folder, '\\Junk'),"
    "   (d.sent_folder, '\\Sent'), (d.trash_folder, '\\Trash')) AS f(name, special_use)"
    " WHERE u.id = ANY($1::bigint[])"
    "  AND NOT EXISTS (SELECT 1 FROM mailboxes i WHERE i.user_id = u.id AND i.name = 'INBOX')"
    " ORDER BY u.id"
    " ON CONFLICT (user_id, name) DO NOTHING";

#define MAILBOX_COLUMNS "id, name, special_use, subscribed, uidvalidity, uidnext, highestmodseq"

static void read_mailbox(PGresult *res, int row, struct arena *arena, struct store_mailbox *mb);

/* The answer of a lookup of one mailbox: 0 with *mailbox_r, 1 for none,
 * -1 when res is NULL (the query failed). Clears res. */
static int read_one_mailbox(PGresult *res, struct arena *arena, struct store_mailbox *mailbox_r)
{
	if (res == NULL)
		return -1;
	int ret = 1;
	if (PQntuples(res) == 1) {
		read_mailbox(res, 0, arena, mailbox_r);
		ret = 0;
	}
	PQclear(res);
	return ret;
}

static void read_mailbox(PGresult *res, int row, struct arena *arena, struct store_mailbox *mb)
{
	mb->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	mb->name = arena_strdup(arena, PQgetvalue(res, row, 1));
	mb->special_use =
	    PQgetisnull(res, row, 2) ? NULL : arena_strdup(arena, PQgetvalue(res, row, 2));
	mb->subscribed = PQgetvalue(res, row, 3)[0] == 't';
	mb->uidvalidity = (uint32_t)strtoul(PQgetvalue(res, row, 4), NULL, 10);
	mb->uidnext = (uint32_t)strtoul(PQgetvalue(res, row, 5), NULL, 10);
	mb->highestmodseq = strtoull(PQgetvalue(res, row, 6), NULL, 10);
}

void store_announce_mailbox(int64_t mailbox_id)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	db_notify_after_commit("mailbox", id);
}

int store_mailbox_ensure_defaults(int64_t user_id, int64_t deadline, const char **error_r)
{
	char users[32];
	snprintf(users, sizeof(users), "{%lld}", (long long)user_id);
	const char *params[] = {users};
	PGresult *res = db_query(store_ensure_folders_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int store_mailbox_list(int64_t user_id, struct arena *arena, struct store_mailbox **list_r,
		       unsigned *count_r, int64_t deadline, const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user};
	PGresult *res = db_query("SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE user_id = $1"
				 " ORDER BY name COLLATE \"C\"",
				 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	unsigned n = (unsigned)PQntuples(res);
	struct store_mailbox *list = arena_zalloc(arena, (n + 1) * sizeof(*list));
	for (unsigned i = 0; i < n; i++)
		read_mailbox(res, (int)i, arena, &list[i]);
	PQclear(res);
	*list_r = list;
	*count_r = n;
	return 0;
}

int store_mailbox_find(int64_t user_id, const char *name, struct arena *arena,
		       struct store_mailbox *mailbox_r, int64_t deadline, const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user, name};
	PGresult *res = db_query("SELECT " MAILBOX_COLUMNS " FROM mailboxes"
				 " WHERE user_id = $1 AND name = $2",
				 2, params, deadline, error_r);
	return read_one_mailbox(res, arena, mailbox_r);
}

/* Runs a statement that changes mailboxes and returns the ids it changed;
 * 1 when it changed none. */
static int change(const char *sql, int nparams, const char *const *params, int64_t deadline,
		  const char **error_r)
{
	PGresult *res = db_query(sql, nparams, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int rows = PQntuples(res);
	for (int row = 0; row < rows; row++)
		store_announce_mailbox(strtoll(PQgetvalue(res, row, 0), NULL, 10));
	PQclear(res);
	return rows > 0 ? 0 : 1;
}

int store_mailbox_create(int64_t user_id, const char *name, int64_t *id_r, int64_t deadline,
			 const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user, name};
	PGresult *res = db_query("INSERT INTO mailboxes (user_id, name) VALUES ($1, $2)"
				 " ON CONFLICT (user_id, name) DO NOTHING RETURNING id",
				 2, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int ret = 1;
	if (PQntuples(res) == 1) {
		*id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		store_announce_mailbox(*id_r);
		ret = 0;
	}
	PQclear(res);
	return ret;
}

int store_mailbox_delete(int64_t user_id, const char *name, int64_t deadline, const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user, name};
	return change("DELETE FROM mailboxes WHERE user_id = $1 AND name = $2 RETURNING id", 2,
		      params, deadline, error_r);
}

/* INBOX keeps its row (and UIDVALIDITY, and MAILBOXID): the new mailbox
 * takes its messages, with their UIDs, and INBOX starts over empty. For
 * INBOX's sessions, and QRESYNC clients coming back, the messages were
 * expunged under one new MODSEQ, like an EXPUNGE's. */
static const char rename_inbox_sql[] =
    "WITH src AS ("
    " SELECT id, uidnext, highestmodseq FROM mailboxes"
    " WHERE user_id = $1 AND name = 'INBOX' FOR UPDATE),"
    " dst AS ("
    " INSERT INTO mailboxes (user_id, name, uidnext, highestmodseq)"
    " SELECT $1, $2, src.uidnext, src.highestmodseq FROM src RETURNING id),"
    " moved AS ("
    " INSERT INTO messages (mailbox_id, uid, modseq, blob_hash, size, internaldate, savedate,"
    "  flags)"
    " SELECT dst.id, m.uid, m.modseq, m.blob_hash, m.size, m.internaldate, m.savedate, m.flags"
    " FROM dst, src JOIN messages m ON m.mailbox_id = src.id),"
    " bumped AS (UPDATE mailboxes b SET highestmodseq = b.highestmodseq + 1 FROM src"
    "  WHERE b.id = src.id RETURNING b.highestmodseq),"
    " gone AS (DELETE FROM messages m USING src WHERE m.mailbox_id = src.id RETURNING m.uid),"
    " kept AS (INSERT INTO expunged_messages (mailbox_id, uid, modseq)"
    "  SELECT src.id, gone.uid, bumped.highestmodseq FROM src, gone, bumped"
    "  ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq)"
    " SELECT id FROM dst UNION ALL SELECT id FROM src";

/* Children move with their parent: "a" and every "a/..." get the new
 * prefix. Names compare as octets (LIKE would take '%' and '_' in a
 * name as wildcards). */
static const char rename_sql[] =
    "UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1)"
    " WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')"
    " RETURNING id";

int store_mailbox_rename(int64_t user_id, const char *from, const char *to, int64_t deadline,
			 const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *exists[] = {user, to};
	PGresult *res = db_query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", 2,
				 exists, deadline, error_r);
	if (res == NULL)
		return -1;
	bool taken = PQntuples(res) > 0;
	PQclear(res);
	if (taken)
		return 2;
	if (strcmp(from, "INBOX") == 0) {
		const char *params[] = {user, to};
		return change(rename_inbox_sql, 2, params, deadline, error_r);
	}
	const char *params[] = {user, from, to};
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	res = db_conn_query(conn, rename_sql, 3, params, deadline, error_r);
	/* A child's new name (or a concurrent CREATE) hits the unique key. */
	bool collided = res == NULL && strcmp(db_conn_sqlstate(conn), "23505") == 0;
	db_release(&conn);
	if (res == NULL)
		return collided ? 2 : -1;
	int rows = PQntuples(res);
	for (int row = 0; row < rows; row++)
		store_announce_mailbox(strtoll(PQgetvalue(res, row, 0), NULL, 10));
	PQclear(res);
	return rows > 0 ? 0 : 1;
}

int store_mailbox_subscribe(int64_t user_id, const char *name, bool subscribed, int64_t deadline,
			    const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user, name, subscribed ? "t" : "f"};
	PGresult *res = db_query("UPDATE mailboxes SET subscribed = $3"
				 " WHERE user_id = $1 AND name = $2 RETURNING id",
				 3, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int ret = PQntuples(res) > 0 ? 0 : 1;
	PQclear(res);
	return ret;
}

int store_mailbox_status(int64_t mailbox_id, struct store_mailbox_status *status_r,
			 int64_t deadline, const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[] = {id};
	PGresult *res =
	    db_query("SELECT count(*), count(*) FILTER (WHERE NOT '\\Seen' = ANY(flags)),"
		     " count(*) FILTER (WHERE '\\Deleted' = ANY(flags)), COALESCE(sum(size), 0),"
		     " COALESCE(sum(size) FILTER (WHERE '\\Deleted' = ANY(flags)), 0)"
		     " FROM messages WHERE mailbox_id = $1",
		     1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	status_r->messages = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	status_r->unseen = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	status_r->deleted = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
	status_r->size = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
	status_r->deleted_size = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	return 0;
}

int store_mailbox_get(int64_t mailbox_id, struct arena *arena, struct store_mailbox *mailbox_r,
		      int64_t deadline, const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[] = {id};
	PGresult *res = db_query("SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE id = $1", 1,
				 params, deadline, error_r);
	return read_one_mailbox(res, arena, mailbox_r);
}
