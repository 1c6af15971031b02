/* See store-mailbox.h: messages that enter a mailbox through IMAP, APPEND
 * (a new content) and COPY/MOVE (the same content under new UIDs). As
 * everywhere in the store, UIDs and MODSEQs come from the mailbox row,
 * whose lock orders the changes of every node, and each change is
 * announced on channel "mailbox" after its commit. */
#include "store/store-mailbox.h"
#include "store/store-internal.h"

#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/strbuf.h"

/* ---- APPEND ---- */

/* One statement, so one transaction. The mailbox row's UPDATE takes the
 * next UID and a new MODSEQ under the row lock; the blob is inserted only
 * when that row exists (FROM mb), so a mailbox deleted meanwhile leaves
 * no orphan content. The blob's row is checked by the foreign key of
 * messages at the end of the statement, whether this statement inserted
 * it or found it. The blob columns and expressions are those of
 * queue-enqueue.c (strip(): SEARCH asks for words, never phrases). */
static const char append_sql[] =
    "WITH mb AS ("
    " UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1"
    " WHERE id = $1 RETURNING uidnext - 1 AS uid, highestmodseq, uidvalidity),"
    " b AS ("
    " INSERT INTO mail_blobs (hash, size, content, structure, sent_date, header_fields,"
    "  body_tsv)"
    " SELECT $2::bytea, $3::bigint, $4::bytea, $5::bytea, $6::timestamptz, $7::text[],"
    "  strip(to_tsvector('tegu', $8::text)) FROM mb"
    " ON CONFLICT (hash) DO NOTHING),"
    " m AS ("
    " INSERT INTO messages (mailbox_id, uid, modseq, blob_hash, size, internaldate, flags)"
    " SELECT $1, mb.uid, mb.highestmodseq, $2::bytea, $3::bigint,"
    "  coalesce(to_timestamp($9::bigint), now()), $10::text[] FROM mb)"
    " SELECT uid::text, highestmodseq::text, uidvalidity::text FROM mb";

int store_message_append(int64_t mailbox_id, const struct store_append *message, uint32_t *uid_r,
			 uint32_t *uidvalidity_r, uint64_t *modseq_r, int64_t deadline,
			 const char **error_r)
{
	if (message->size > INT_MAX) { /* libpq's lengths are int */
		*error_r = "message too big for the database";
		return -1;
	}
	char id[24], size[24], internaldate[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	snprintf(size, sizeof(size), "%zu", message->size);
	snprintf(internaldate, sizeof(internaldate), "%lld", (long long)message->internaldate);
	const char *content = message->content != NULL ? message->content : "";
	/* The content's key in mail_blobs, hashed here rather than by
	 * PostgreSQL, as queue_enqueue() does. */
	unsigned char hash[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)content, message->size, hash);
	struct strbuf fields = {0}, flags = {0};
	db_text_array(&fields, message->header_fields, message->header_field_count);
	db_text_array(&flags, message->flags, message->flag_count);
	const char *params[] = {
	    id,
	    (const char *)hash,
	    size,
	    content,
	    (const char *)message->structure,
	    message->sent_date,
	    fields.data != NULL ? fields.data : "{}",
	    message->text != NULL ? message->text : "",
	    message->internaldate != 0 ? internaldate : NULL,
	    flags.data != NULL ? flags.data : "{}",
	};
	enum { NPARAMS = sizeof(params) / sizeof(params[0]) };
	_Static_assert(NPARAMS == 10, "append_sql takes $1 to $10");
	int lengths[NPARAMS] = {0};
	int formats[NPARAMS] = {0};
	lengths[1] = SHA256_DIGEST_LENGTH;
	formats[1] = 1;
	lengths[3] = (int)message->size;
	formats[3] = 1; /* the content goes as binary bytea, no escaping */
	lengths[4] = (int)message->structure_len;
	formats[4] = 1;
	const struct db_stmt stmt = {.sql = append_sql,
				     .nparams = NPARAMS,
				     .params = params,
				     .lengths = lengths,
				     .formats = formats};
	PGresult *res = db_query_stmt(&stmt, deadline, error_r);
	strbuf_free(&fields);
	strbuf_free(&flags);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	*uid_r = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	*modseq_r = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	*uidvalidity_r = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	store_announce_mailbox(mailbox_id);
	return 0;
}

/* ---- COPY and MOVE ---- */

/* Both rows, in id order: a COPY from A to B and one from B to A (or a
 * delivery, which locks INBOXes in id order too) cannot deadlock. Under
 * these locks UIDNEXT cannot move, so the source's UIDNEXT read here
 * bounds the originals: with source = destination the copies get UIDs
 * from it on, and the MOVE's expunge below leaves them alone. */
static const char copy_lock_sql[] = "SELECT id, uidvalidity, uidnext FROM mailboxes"
				    " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE";

/* The copies, numbered in source UID order (row_number() from 0): the
 * destination's UIDNEXT moves by their count at once, so copy n gets UID
 * first + n, and they share one new MODSEQ. Nothing changes when no
 * message matches. */
static const char copy_sql[] =
    "WITH src AS ("
    " SELECT m.uid, m.blob_hash, m.size, m.internaldate, m.flags,"
    "  row_number() OVER (ORDER BY m.uid) - 1 AS n"
    " FROM messages m"
    " WHERE m.mailbox_id = $1 AND m.uid <@ $2::int8multirange AND m.uid < $4),"
    " mb AS ("
    " UPDATE mailboxes SET uidnext = uidnext + (SELECT count(*) FROM src),"
    "  highestmodseq = highestmodseq + 1"
    " WHERE id = $3 AND EXISTS (SELECT 1 FROM src)"
    " RETURNING uidnext - (SELECT count(*) FROM src) AS first_uid, highestmodseq),"
    " ins AS ("
    " INSERT INTO messages (mailbox_id, uid, modseq, blob_hash, size, internaldate, flags)"
    " SELECT $3, mb.first_uid + src.n, mb.highestmodseq, src.blob_hash, src.size,"
    "  src.internaldate, src.flags FROM src, mb)"
    " SELECT src.uid::text, (mb.first_uid + src.n)::text, mb.highestmodseq::text"
    " FROM src, mb ORDER BY src.uid";

/* MOVE's second half: the originals go as store_message_expunge() takes
 * them (one new MODSEQ, remembered for QRESYNC), \Deleted or not. */
static const char move_expunge_sql[] =
    "WITH gone AS ("
    " DELETE FROM messages m"
    " WHERE m.mailbox_id = $1 AND m.uid <@ $2::int8multirange AND m.uid < $3"
    " RETURNING m.uid),"
    " mb AS ("
    " UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
    " WHERE id = $1 AND EXISTS (SELECT 1 FROM gone) RETURNING highestmodseq),"
    " kept AS ("
    " INSERT INTO expunged_messages (mailbox_id, uid, modseq)"
    " SELECT $1, gone.uid, mb.highestmodseq FROM gone, mb"
    " ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq)"
    " SELECT highestmodseq::text FROM mb";

int store_message_copy(int64_t src_mailbox_id, const char *uids, int64_t dst_mailbox_id, bool move,
		       struct arena *arena, struct store_copy_result *result_r, int64_t deadline,
		       const char **error_r)
{
	memset(result_r, 0, sizeof(*result_r));
	char src[24], dst[24], both[64];
	snprintf(src, sizeof(src), "%lld", (long long)src_mailbox_id);
	snprintf(dst, sizeof(dst), "%lld", (long long)dst_mailbox_id);
	snprintf(both, sizeof(both), "{%s,%s}", src, dst);
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = -1;
	PGresult *locked[2] = {NULL, NULL};
	PGresult *done[3] = {NULL, NULL, NULL};
	const char *lock_params[] = {both};
	const struct db_stmt begin[] = {
	    {.sql = "BEGIN"},
	    {.sql = copy_lock_sql, .nparams = 1, .params = lock_params},
	};
	if (db_conn_pipeline(conn, begin, 2, locked, deadline, error_r) < 0)
		goto out;
	char src_uidnext[24] = "";
	bool have_dst = false;
	for (int row = 0; row < PQntuples(locked[1]); row++) {
		int64_t id = strtoll(PQgetvalue(locked[1], row, 0), NULL, 10);
		if (id == src_mailbox_id)
			snprintf(src_uidnext, sizeof(src_uidnext), "%s",
				 PQgetvalue(locked[1], row, 2));
		if (id == dst_mailbox_id) {
			have_dst = true;
			result_r->uidvalidity =
			    (uint32_t)strtoul(PQgetvalue(locked[1], row, 1), NULL, 10);
		}
	}
	if (!have_dst || src_uidnext[0] == '\0') {
		PGresult *res = db_conn_query(conn, "ROLLBACK", 0, NULL, deadline, error_r);
		ret = res == NULL ? -1 : !have_dst ? 1 : 2;
		PQclear(res);
		goto out;
	}

	const char *copy_params[] = {src, uids, dst, src_uidnext};
	const char *move_params[] = {src, uids, src_uidnext};
	struct db_stmt finish[3] = {
	    {.sql = copy_sql, .nparams = 4, .params = copy_params},
	};
	unsigned n = 1;
	if (move)
		finish[n++] =
		    (struct db_stmt){.sql = move_expunge_sql, .nparams = 3, .params = move_params};
	finish[n++] = (struct db_stmt){.sql = "COMMIT"};
	if (db_conn_pipeline(conn, finish, n, done, deadline, error_r) < 0)
		goto out; /* the transaction failed: release drops the connection */

	PGresult *copied = done[0];
	unsigned count = (unsigned)PQntuples(copied);
	result_r->src_uids = arena_alloc(arena, (count + 1) * sizeof(*result_r->src_uids));
	result_r->dst_uids = arena_alloc(arena, (count + 1) * sizeof(*result_r->dst_uids));
	for (unsigned i = 0; i < count; i++) {
		result_r->src_uids[i] = (uint32_t)strtoul(PQgetvalue(copied, (int)i, 0), NULL, 10);
		result_r->dst_uids[i] = (uint32_t)strtoul(PQgetvalue(copied, (int)i, 1), NULL, 10);
		result_r->dst_modseq = strtoull(PQgetvalue(copied, (int)i, 2), NULL, 10);
	}
	result_r->count = count;
	if (move && PQntuples(done[1]) == 1)
		result_r->src_modseq = strtoull(PQgetvalue(done[1], 0, 0), NULL, 10);
	if (count > 0)
		store_announce_mailbox(dst_mailbox_id);
	if (result_r->src_modseq > 0)
		store_announce_mailbox(src_mailbox_id);
	ret = 0;
out:
	for (unsigned i = 0; i < 2; i++)
		PQclear(locked[i]);
	for (unsigned i = 0; i < 3; i++)
		PQclear(done[i]);
	db_release(&conn);
	return ret;
}
