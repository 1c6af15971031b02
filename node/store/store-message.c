/* See store-mailbox.h: the message half (UIDs, fetch, flags, expunge).
 * Each change takes one new MODSEQ from its mailbox row (whose lock
 * orders concurrent changes from any node) and announces the mailbox
 * after the commit. */
#include "store/store-mailbox.h"
#include "store/store-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/strbuf.h"

/* Splits the space-separated flags of array_to_string(flags, ' '):
 * flags are atoms, never holding a space. */
static void split_flags(struct arena *arena, const char *text, struct store_message *m)
{
	unsigned n = 0;
	for (const char *p = text; *p != '\0'; p++)
		n += *p == ' ';
	m->flags = arena_alloc(arena, (n + 2) * sizeof(*m->flags));
	m->flag_count = 0;
	const char *start = text;
	while (*start != '\0') {
		const char *end = strchr(start, ' ');
		size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
		if (len > 0)
			m->flags[m->flag_count++] = arena_strndup(arena, start, len);
		start += len + (end != NULL);
	}
}

static uint32_t *read_uids(PGresult *res, int column, struct arena *arena, unsigned *count_r)
{
	unsigned n = (unsigned)PQntuples(res);
	uint32_t *uids = arena_alloc(arena, (n + 1) * sizeof(*uids));
	for (unsigned i = 0; i < n; i++)
		uids[i] = (uint32_t)strtoul(PQgetvalue(res, (int)i, column), NULL, 10);
	*count_r = n;
	return uids;
}

int store_message_uids(int64_t mailbox_id, struct arena *arena, uint32_t **uids_r,
		       uint32_t *count_r, struct store_mailbox *counters_r, int64_t deadline,
		       const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[] = {id};
	/* Counters first: a message committed in between is then seen twice
	 * (harmless), never missed. */
	PGresult *res = db_query("SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes"
				 " WHERE id = $1",
				 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	counters_r->id = mailbox_id;
	counters_r->uidvalidity = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	counters_r->uidnext = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	counters_r->highestmodseq = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	res = db_query("SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid", 1, params,
		       deadline, error_r);
	if (res == NULL)
		return -1;
	unsigned n;
	*uids_r = read_uids(res, 0, arena, &n);
	*count_r = n;
	PQclear(res);
	return 0;
}

#define FETCH_COLUMNS                                                                              \
	"SELECT m.uid::text, m.modseq::text, array_to_string(m.flags, ' '),"                       \
	" extract(epoch FROM m.internaldate)::bigint::text,"                                       \
	" extract(epoch FROM m.savedate)::bigint::text, m.size::text, m.email_id"
#define FETCH_WHERE                                                                                \
	" WHERE m.mailbox_id = $1 AND m.uid <@ $2::int8multirange AND m.modseq > $4"               \
	" ORDER BY m.uid"

/* Flags and the like come from messages alone: a FETCH FLAGS of a whole
 * mailbox, and every update a session reports, need no blob. */
static const char fetch_rows_sql[] =
    FETCH_COLUMNS ", NULL::bytea, $3::text::bytea FROM messages m" FETCH_WHERE;
static const char fetch_blob_sql[] =
    FETCH_COLUMNS ", b.structure, CASE WHEN $3 = 't' THEN b.content END"
		  " FROM messages m JOIN mail_blobs b ON b.hash = m.blob_hash" FETCH_WHERE;

static const char *binary_copy(struct arena *arena, PGresult *res, int row, int column,
			       size_t *len_r)
{
	*len_r = 0;
	if (PQgetisnull(res, row, column))
		return NULL;
	size_t len = (size_t)PQgetlength(res, row, column);
	char *copy = arena_alloc(arena, len + 1);
	memcpy(copy, PQgetvalue(res, row, column), len);
	copy[len] = '\0';
	*len_r = len;
	return copy;
}

int store_message_fetch(int64_t mailbox_id, const char *uids, enum store_fetch_level level,
			uint64_t changed_since, struct arena *arena,
			struct store_message **messages_r, unsigned *count_r, int64_t deadline,
			const char **error_r)
{
	char id[24], since[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	snprintf(since, sizeof(since), "%llu", (unsigned long long)changed_since);
	bool content = level == STORE_FETCH_CONTENT;
	/* $3 is in both statements so that both take the same parameters;
	 * the rows-only one turns it into a NULL content. */
	const char *params[] = {id, uids, content ? "t" : NULL, since};
	const struct db_stmt stmt = {.sql = level == STORE_FETCH_ROWS ? fetch_rows_sql
								      : fetch_blob_sql,
				     .nparams = 4,
				     .params = params,
				     .binary_results = true,
				     .prepared = true};
	PGresult *res = db_query_stmt(&stmt, deadline, error_r);
	if (res == NULL)
		return -1;
	unsigned n = (unsigned)PQntuples(res);
	struct store_message *out = arena_zalloc(arena, (n + 1) * sizeof(*out));
	for (unsigned i = 0; i < n; i++) {
		int row = (int)i;
		struct store_message *m = &out[i];
		m->uid = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10);
		m->modseq = strtoull(PQgetvalue(res, row, 1), NULL, 10);
		split_flags(arena, PQgetvalue(res, row, 2), m);
		m->internaldate = strtoll(PQgetvalue(res, row, 3), NULL, 10);
		m->savedate = strtoll(PQgetvalue(res, row, 4), NULL, 10);
		m->size = strtoull(PQgetvalue(res, row, 5), NULL, 10);
		m->email_id = arena_strdup(arena, PQgetvalue(res, row, 6));
		m->structure = binary_copy(arena, res, row, 7, &m->structure_len);
		m->content = binary_copy(arena, res, row, 8, &m->content_len);
	}
	PQclear(res);
	*messages_r = out;
	*count_r = n;
	return 0;
}

/* The new flags of a message per operation; $3 is the flags given,
 * sorted and without repeats. */
static const char *const new_flags_sql[] = {
    [STORE_FLAGS_SET] = "$3::text[]",
    [STORE_FLAGS_ADD] = "ARRAY(SELECT DISTINCT f FROM unnest(m.flags || $3::text[]) f"
			" ORDER BY f)",
    [STORE_FLAGS_REMOVE] = "ARRAY(SELECT f FROM unnest(m.flags) f WHERE f <> ALL($3::text[])"
			   " ORDER BY f)",
};

int store_message_set_flags(int64_t mailbox_id, const char *uids, enum store_flags_op op,
			    const char *const *flags, unsigned flag_count, uint64_t unchanged_since,
			    struct arena *arena, struct store_message **changed_r,
			    unsigned *changed_count_r, uint32_t **failed_r,
			    unsigned *failed_count_r, uint64_t *modseq_r, int64_t deadline,
			    const char **error_r)
{
	char id[24], since[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	snprintf(since, sizeof(since), "%llu",
		 (unsigned long long)(unchanged_since > 0 ? unchanged_since : UINT64_MAX >> 1));
	struct strbuf array = {0}, sql = {0};
	db_text_array(&array, flags, flag_count);
	/* Only the operation's expression varies, from the table above. */
	strbuf_appendf(
	    &sql,
	    "WITH mb AS (UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1"
	    " RETURNING highestmodseq),"
	    " target AS (SELECT m.uid, m.modseq, %s AS flags FROM messages m"
	    "  WHERE m.mailbox_id = $1 AND m.uid <@ $2::int8multirange),"
	    " changed AS (UPDATE messages m SET flags = t.flags, modseq = mb.highestmodseq"
	    "  FROM mb, target t WHERE m.mailbox_id = $1 AND m.uid = t.uid"
	    "  AND m.flags IS DISTINCT FROM t.flags AND t.modseq <= $4"
	    "  RETURNING m.uid, m.modseq, m.flags)"
	    " SELECT uid, modseq, array_to_string(flags, ' '), 'c' FROM changed"
	    " UNION ALL SELECT uid, modseq, '', 'r' FROM target WHERE modseq > $4"
	    " UNION ALL SELECT 0, highestmodseq, '', 'm' FROM mb"
	    " ORDER BY 1",
	    new_flags_sql[op]);
	const char *params[] = {id, uids, array.data, since};
	PGresult *res = db_query(sql.data, 4, params, deadline, error_r);
	strbuf_free(&array);
	strbuf_free(&sql);
	if (res == NULL)
		return -1;
	unsigned n = (unsigned)PQntuples(res), changed = 0, failed = 0;
	struct store_message *out = arena_zalloc(arena, (n + 1) * sizeof(*out));
	uint32_t *refused = arena_alloc(arena, (n + 1) * sizeof(*refused));
	for (unsigned i = 0; i < n; i++) {
		int row = (int)i;
		uint32_t uid = (uint32_t)strtoul(PQgetvalue(res, row, 0), NULL, 10);
		char kind = PQgetvalue(res, row, 3)[0];
		if (kind == 'm') {
			*modseq_r = strtoull(PQgetvalue(res, row, 1), NULL, 10);
			continue;
		}
		if (kind == 'r') {
			refused[failed++] = uid;
			continue;
		}
		struct store_message *m = &out[changed++];
		m->uid = uid;
		m->modseq = strtoull(PQgetvalue(res, row, 1), NULL, 10);
		split_flags(arena, PQgetvalue(res, row, 2), m);
	}
	PQclear(res);
	if (changed > 0)
		store_announce_mailbox(mailbox_id);
	*changed_r = out;
	*changed_count_r = changed;
	*failed_r = refused;
	*failed_count_r = failed;
	return 0;
}

static const char expunge_sql[] =
    "WITH mb AS (UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1"
    " RETURNING highestmodseq),"
    " gone AS (DELETE FROM messages m WHERE m.mailbox_id = $1 AND '\\Deleted' = ANY(m.flags)"
    "  AND ($2::int8multirange IS NULL OR m.uid <@ $2::int8multirange) RETURNING m.uid),"
    " kept AS (INSERT INTO expunged_messages (mailbox_id, uid, modseq)"
    "  SELECT $1, gone.uid, mb.highestmodseq FROM gone, mb"
    "  ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq)"
    " SELECT uid FROM gone ORDER BY uid";

int store_message_expunge(int64_t mailbox_id, const char *uids, struct arena *arena,
			  uint32_t **expunged_r, unsigned *count_r, int64_t deadline,
			  const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	const char *params[] = {id, uids};
	PGresult *res = db_query(expunge_sql, 2, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*expunged_r = read_uids(res, 0, arena, count_r);
	PQclear(res);
	if (*count_r > 0)
		store_announce_mailbox(mailbox_id);
	return 0;
}

int store_message_expunged_since(int64_t mailbox_id, uint64_t since, struct arena *arena,
				 uint32_t **uids_r, unsigned *count_r, int64_t deadline,
				 const char **error_r)
{
	char id[24], after[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	snprintf(after, sizeof(after), "%llu", (unsigned long long)since);
	const char *params[] = {id, after};
	PGresult *res = db_query("SELECT uid FROM expunged_messages"
				 " WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
				 2, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*uids_r = read_uids(res, 0, arena, count_r);
	PQclear(res);
	return 0;
}

int store_message_read(int64_t mailbox_id, uint32_t uid, uint64_t offset, size_t length,
		       struct arena *arena, const char **data_r, size_t *len_r, int64_t deadline,
		       const char **error_r)
{
	char id[24], number[16], from[24], count[24];
	snprintf(id, sizeof(id), "%lld", (long long)mailbox_id);
	snprintf(number, sizeof(number), "%u", uid);
	/* substring() counts from 1. */
	snprintf(from, sizeof(from), "%llu", (unsigned long long)offset + 1);
	snprintf(count, sizeof(count), "%zu", length);
	const char *params[] = {id, number, from, count};
	const struct db_stmt stmt = {
	    .sql = "SELECT substring(b.content FROM $3::bigint::int FOR $4::bigint::int)"
		   " FROM messages m JOIN mail_blobs b ON b.hash = m.blob_hash"
		   " WHERE m.mailbox_id = $1 AND m.uid = $2",
	    .nparams = 4,
	    .params = params,
	    .binary_results = true,
	    .prepared = true};
	PGresult *res = db_query_stmt(&stmt, deadline, error_r);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	*data_r = binary_copy(arena, res, 0, 0, len_r);
	PQclear(res);
	return 0;
}
