/* queue_enqueue(): one statement, so one implicit transaction: the
 * message row and, through the CTE, every entry commit together. The
 * wake-up goes out after the commit, never inside it (see db-listen.h). */
#include "queue/queue.h"

#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/strbuf.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

/* The blob's row is checked by the foreign key of queue_messages at the
 * end of the statement, so it is there whether this statement inserted
 * it or found it. strip(): positions are never used (SEARCH asks for
 * words, not phrases) and they would double the index. */
static const char enqueue_sql[] =
    "WITH b AS ("
    " INSERT INTO mail_blobs (hash, size, content, structure, sent_date, header_fields,"
    "  body_tsv)"
    " VALUES ($17, $2, $3, $18, $19, $20::text[], strip(to_tsvector('tegu', $21)))"
    " ON CONFLICT (hash) DO NOTHING),"
    " m AS ("
    " INSERT INTO queue_messages (sender, size, body_type, smtputf8, dsn_envid, dsn_ret,"
    "  client_address, helo, auth_user, received_by, session_id, body_hash)"
    " VALUES ($1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $17) RETURNING id)"
    " INSERT INTO queue_entries (message_id, recipient, transport, dsn_notify, dsn_orcpt)"
    " SELECT m.id, r.recipient, r.transport, r.notify, r.orcpt"
    " FROM m, unnest($13::text[], $14::text[], $15::text[], $16::text[])"
    "  AS r(recipient, transport, notify, orcpt)"
    " RETURNING message_id";

int queue_enqueue(const struct queue_message *m, int64_t deadline, int64_t *id_r,
		  const char **error_r)
{
	if (m->recipient_count == 0) {
		*error_r = "no recipients";
		return -1;
	}
	const char **column = calloc(m->recipient_count ? m->recipient_count : 1, sizeof(*column));
	if (column == NULL)
		abort();
	struct strbuf recipients = {0}, transport = {0}, notify = {0}, orcpt = {0};
	for (unsigned i = 0; i < m->recipient_count; i++)
		column[i] = m->recipients[i].address;
	db_text_array(&recipients, column, m->recipient_count);
	for (unsigned i = 0; i < m->recipient_count; i++)
		column[i] = m->recipients[i].remote ? "remote" : "local";
	db_text_array(&transport, column, m->recipient_count);
	for (unsigned i = 0; i < m->recipient_count; i++)
		column[i] = m->recipients[i].dsn_notify;
	db_text_array(&notify, column, m->recipient_count);
	for (unsigned i = 0; i < m->recipient_count; i++)
		column[i] = m->recipients[i].dsn_orcpt;
	db_text_array(&orcpt, column, m->recipient_count);
	free(column);
	struct strbuf fields = {0};
	db_text_array(&fields, m->header_fields, m->header_field_count);

	/* The content's key in mail_blobs, hashed here once rather than by
	 * PostgreSQL at every delivery. */
	unsigned char hash[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)(m->body ? m->body : ""), m->size, hash);
	char size[24];
	snprintf(size, sizeof(size), "%zu", m->size);
	const char *params[] = {
	    m->sender,
	    size,
	    m->body ? m->body : "",
	    m->body_type,
	    m->smtputf8 ? "t" : "f",
	    m->dsn_envid,
	    m->dsn_ret,
	    m->client_address,
	    m->helo,
	    m->auth_user,
	    m->received_by,
	    m->session_id,
	    recipients.data,
	    transport.data,
	    notify.data,
	    orcpt.data,
	    (const char *)hash,
	    (const char *)m->structure,
	    m->sent_date,
	    fields.data,
	    m->text != NULL ? m->text : "",
	};
	enum { NPARAMS = sizeof(params) / sizeof(params[0]) };
	_Static_assert(NPARAMS == 21, "enqueue_sql takes $1 to $21");
	int lengths[NPARAMS] = {0};
	int formats[NPARAMS] = {0};
	lengths[2] = (int)m->size; /* Review: messages are bounded far below INT_MAX */
	formats[2] = 1;		   /* the body goes as binary bytea, no escaping */
	lengths[16] = SHA256_DIGEST_LENGTH;
	formats[16] = 1;
	lengths[17] = (int)m->structure_len;
	formats[17] = 1;
	const struct db_stmt stmt = {.sql = enqueue_sql,
				     .nparams = NPARAMS,
				     .params = params,
				     .lengths = lengths,
				     .formats = formats,
				     .prepared = true};
	int ret = -1;
	PGresult *res = db_query_stmt(&stmt, deadline, error_r);
	if (res != NULL) {
		/* Committed: one row per recipient came back. */
		*id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		db_notify_after_commit("queue", "");
		ret = 0;
	}
	strbuf_free(&recipients);
	strbuf_free(&transport);
	strbuf_free(&notify);
	strbuf_free(&orcpt);
	strbuf_free(&fields);
	return ret;
}
