/* FETCH and UID FETCH (RFC 9051 6.4.5), with CHANGEDSINCE and VANISHED
 * (RFC 7162 3.1.4, 3.2.6). The list of messages and their flags come in
 * one query; messages whose octets are needed are then read one at a
 * time, so a FETCH of many bodies holds one body at a time.
 * ENVELOPE and BODYSTRUCTURE come from the structure cached at delivery
 * (parsed here only for messages stored before it existed). */
#include "imap/imap-session.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "imap/imap-fetch.h"
#include "imap/imap-seqset.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "mail/mail-envelope.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure-cache.h"
#include "mail/mail-text.h"

/* Responses are written out once this much is queued. */
#define FETCH_FLUSH_SIZE (256 * 1024)
/* Messages larger than this are never read whole: their sections go out
 * in chunks read from the database one at a time. */
#define FETCH_STREAM_SIZE (1024 * 1024)
#define FETCH_CHUNK_SIZE  (256 * 1024)

static int64_t db_deadline(void)
{
	return deadline_after_ms(IMAP_DB_TIMEOUT_MS);
}

static void append_date(struct strbuf *out, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;
	char text[64];
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "\"%d-%b-%Y %H:%M:%S +0000\"", &tm);
	strbuf_append(out, text, strlen(text));
}

static void append_literal(struct strbuf *out, const char *data, size_t len, bool binary)
{
	bool nul = binary && memchr(data, '\0', len) != NULL;
	strbuf_appendf(out, "%s{%zu}\r\n", nul ? "~" : "", len);
	strbuf_append(out, data, len);
}

/* The message's content and structure, read when first needed. */
struct fetch_message {
	struct imap_session *s;
	struct arena *arena;
	const struct store_message *row;
	const char *content;
	size_t content_len;
	struct mail_structure *structure;
	bool failed;
};

static bool load_content(struct fetch_message *m)
{
	if (m->content != NULL)
		return true;
	char range[48];
	snprintf(range, sizeof(range), "{[%u,%u]}", m->row->uid, m->row->uid);
	struct store_message *rows;
	unsigned count;
	const char *error;
	if (store_message_fetch(m->s->sel.mailbox.id, range, STORE_FETCH_CONTENT, 0, m->arena,
				&rows, &count, db_deadline(), &error) < 0 ||
	    count != 1 || rows[0].content == NULL) {
		m->failed = true;
		return false;
	}
	m->content = rows[0].content;
	m->content_len = rows[0].content_len;
	return true;
}

static bool load_structure(struct fetch_message *m)
{
	if (m->structure != NULL)
		return true;
	const char *error;
	if (m->row->structure != NULL &&
	    mail_structure_cache_unpack(m->arena, m->row->structure, m->row->structure_len,
					&m->structure, &error) == 0)
		return true;
	if (!load_content(m) || mail_structure_parse(m->arena, m->content, m->content_len, NULL,
						     &m->structure, &error) < 0) {
		m->failed = true;
		return false;
	}
	return true;
}

static void append_partial(struct strbuf *out, const struct imap_fetch_item *item, const char *data,
			   size_t len, bool binary)
{
	if (item->partial) {
		size_t offset = item->offset < len ? (size_t)item->offset : len;
		size_t rest = len - offset;
		data += offset;
		len = item->length < rest ? (size_t)item->length : rest;
	}
	append_literal(out, data, len, binary);
}

/* Writes octets [start, start + len) of a large message as a literal,
 * chunk by chunk, flushing as it goes. A failure half-way leaves a
 * literal short of its announced size: the session must end. */
static bool stream_range(struct fetch_message *m, struct strbuf *out, size_t start, size_t len)
{
	struct imap_session *s = m->s;
	strbuf_appendf(out, "{%zu}\r\n", len);
	for (size_t done = 0; done < len;) {
		size_t want = len - done < FETCH_CHUNK_SIZE ? len - done : FETCH_CHUNK_SIZE;
		struct arena *chunk = arena_create(want + 1024);
		const char *data, *error = "short read";
		size_t got = 0;
		int ret = store_message_read(s->sel.mailbox.id, m->row->uid, start + done, want,
					     chunk, &data, &got, db_deadline(), &error);
		if (ret != 0 || got != want) {
			log_warn("event=imap_fetch_stream_failed session=%s uid=%u error=\"%s\"",
				 s->id, m->row->uid, ret < 0 ? error : "message gone");
			arena_destroy(&chunk);
			s->state = IMAP_STATE_LOGOUT;
			return false;
		}
		strbuf_append(out, data, got);
		arena_destroy(&chunk);
		done += got;
		if (out->len >= FETCH_FLUSH_SIZE && imap_flush(s) < 0) {
			s->state = IMAP_STATE_LOGOUT;
			return false;
		}
	}
	return true;
}

/* A plain section of a large message, streamed; false if it is not one. */
static bool can_stream(const struct fetch_message *m, const struct imap_fetch_item *item)
{
	return m->content == NULL && m->row->size > FETCH_STREAM_SIZE &&
	       item->kind == IMAP_FETCH_SECTION && item->text != IMAP_SECTION_HEADER_FIELDS &&
	       item->text != IMAP_SECTION_HEADER_FIELDS_NOT;
}

static bool append_section(struct fetch_message *m, struct strbuf *out,
			   const struct imap_fetch_item *item)
{
	size_t start, len;
	if (!load_structure(m))
		return false;
	if (can_stream(m, item)) {
		strbuf_appendf(out, "%s ", item->response);
		if (!imap_fetch_section_range(m->structure, item, &start, &len) ||
		    start + len > m->row->size) {
			strbuf_append(out, "\"\"", 2);
			return true;
		}
		if (item->partial) {
			size_t skip = item->offset < len ? (size_t)item->offset : len;
			start += skip;
			len -= skip;
			if (item->length < len)
				len = (size_t)item->length;
		}
		return stream_range(m, out, start, len);
	}
	if (!load_content(m))
		return false;
	strbuf_appendf(out, "%s ", item->response);
	if (!imap_fetch_section_range(m->structure, item, &start, &len) ||
	    start + len > m->content_len) {
		strbuf_append(out, "\"\"", 2);
		return true;
	}
	if (item->kind == IMAP_FETCH_SECTION) {
		if (item->text == IMAP_SECTION_HEADER_FIELDS ||
		    item->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
			struct strbuf filtered = {0};
			imap_fetch_filter_header(&filtered, m->content + start, len, item);
			append_partial(out, item, filtered.data, filtered.len, false);
			strbuf_free(&filtered);
		} else {
			append_partial(out, item, m->content + start, len, false);
		}
		return true;
	}
	/* BINARY: the part's content with its transfer encoding undone. */
	const struct mail_mime_part *part = imap_fetch_find_part(m->structure, item);
	struct strbuf decoded = {0};
	mail_text_decode_body(&decoded,
			      part != NULL && item->part_depth > 0 ? part->encoding : NULL,
			      m->content + start, len);
	if (item->kind == IMAP_FETCH_BINARY_SIZE) {
		out->len -= strlen(item->response) + 1;
		strbuf_appendf(out, "%s %zu", item->response, decoded.len);
	} else {
		append_partial(out, item, decoded.data != NULL ? decoded.data : "", decoded.len,
			       true);
	}
	strbuf_free(&decoded);
	return true;
}

static void append_flags(struct strbuf *out, const struct store_message *row)
{
	strbuf_append(out, "FLAGS (", 7);
	for (unsigned i = 0; i < row->flag_count; i++)
		strbuf_appendf(out, "%s%s", i ? " " : "", row->flags[i]);
	strbuf_append(out, ")", 1);
}

static bool append_item(struct fetch_message *m, struct strbuf *out,
			const struct imap_fetch_item *item)
{
	const struct store_message *row = m->row;
	switch (item->kind) {
	case IMAP_FETCH_FLAGS:
		append_flags(out, row);
		return true;
	case IMAP_FETCH_UID:
		strbuf_appendf(out, "UID %u", row->uid);
		return true;
	case IMAP_FETCH_INTERNALDATE:
		strbuf_append(out, "INTERNALDATE ", 13);
		append_date(out, row->internaldate);
		return true;
	case IMAP_FETCH_SAVEDATE:
		strbuf_append(out, "SAVEDATE ", 9);
		append_date(out, row->savedate);
		return true;
	case IMAP_FETCH_RFC822_SIZE:
		if (!load_structure(m))
			return false;
		strbuf_appendf(out, "RFC822.SIZE %zu", m->structure->vsize);
		return true;
	case IMAP_FETCH_ENVELOPE:
		if (!load_structure(m))
			return false;
		strbuf_append(out, "ENVELOPE ", 9);
		mail_envelope_dump(out, m->structure->envelope);
		return true;
	case IMAP_FETCH_BODYSTRUCTURE:
	case IMAP_FETCH_BODY_SHAPE:
		if (!load_structure(m))
			return false;
		strbuf_appendf(out, "%s ", item->response);
		mail_mime_dump(out, m->structure->root, item->kind == IMAP_FETCH_BODYSTRUCTURE);
		return true;
	case IMAP_FETCH_MODSEQ:
		strbuf_appendf(out, "MODSEQ (%llu)", (unsigned long long)row->modseq);
		return true;
	case IMAP_FETCH_EMAILID:
		strbuf_appendf(out, "EMAILID (%s)", row->email_id);
		return true;
	case IMAP_FETCH_THREADID:
		strbuf_append(out, "THREADID NIL", 12);
		return true;
	case IMAP_FETCH_SECTION:
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		return append_section(m, out, item);
	}
	return false;
}

/* One "* n FETCH (...)" line; false when the message could not be read. */
static bool fetch_one(struct imap_session *s, const struct imap_fetch_request *r,
		      const struct store_message *row, uint32_t seq, bool uid_command,
		      bool flags_changed)
{
	struct fetch_message m = {.s = s, .arena = arena_create(16 * 1024), .row = row};
	struct strbuf *out = &s->out;
	size_t mark = out->len;
	bool has_uid = false, has_flags = false, has_modseq = false;
	strbuf_appendf(out, "* %u FETCH (", seq);
	const char *sep = "";
	for (unsigned i = 0; i < r->count; i++) {
		const struct imap_fetch_item *item = &r->items[i];
		has_uid |= item->kind == IMAP_FETCH_UID;
		has_flags |= item->kind == IMAP_FETCH_FLAGS;
		has_modseq |= item->kind == IMAP_FETCH_MODSEQ;
		strbuf_appendf(out, "%s", sep);
		if (!append_item(&m, out, item)) {
			/* Unless a streamed literal already went out in part
			 * (then the session ends), nothing of this line is sent. */
			if (out->len >= mark) {
				out->len = mark;
				if (out->data != NULL)
					out->data[mark] = '\0';
			}
			arena_destroy(&m.arena);
			return false;
		}
		sep = " ";
	}
	/* UID FETCH always says UID (RFC 9051 6.4.9); \Seen set by this
	 * FETCH shows as FLAGS, with UID under CONDSTORE (RFC 7162 3.1);
	 * CONDSTORE wants MODSEQ everywhere. */
	if ((uid_command || (flags_changed && s->condstore)) && !has_uid) {
		strbuf_appendf(out, "%sUID %u", sep, row->uid);
		sep = " ";
	}
	if (flags_changed && !has_flags) {
		strbuf_appendf(out, "%s", sep);
		append_flags(out, row);
		sep = " ";
	}
	if (s->condstore && !has_modseq)
		strbuf_appendf(out, "%sMODSEQ (%llu)", sep, (unsigned long long)row->modseq);
	strbuf_append(out, ")\r\n", 3);
	arena_destroy(&m.arena);
	return true;
}

/* UID FETCH ... (CHANGEDSINCE m VANISHED) (RFC 7162 3.2.6): the UIDs of
 * the set expunged above m, as VANISHED (EARLIER), before any FETCH. "*"
 * has no upper bound here: an expunged UID may be above every UID left.
 * UIDs still in the view were expunged after the client was last told;
 * the VANISHED of the next report tells them, and only once. Returns 0,
 * or -1 (answered). */
static int tell_vanished(struct imap_session *s, const char *set_text, uint64_t since)
{
	struct imap_seqset set;
	uint32_t *gone;
	unsigned count, n = 0;
	const char *error;
	if (imap_seqset_parse(s->arena, set_text, &set, &error) < 0) {
		imap_bad(s, "Invalid sequence set");
		return -1;
	}
	imap_seqset_resolve(&set, UINT32_MAX);
	if (store_message_expunged_since(s->sel.mailbox.id, since, s->arena, &gone, &count,
					 db_deadline(), &error) < 0) {
		imap_db_error(s, error);
		return -1;
	}
	for (unsigned i = 0; i < count; i++)
		if (imap_seqset_contains(&set, gone[i]) && imap_select_seq(s, gone[i]) == 0)
			gone[n++] = gone[i];
	imap_select_vanished(s, true, gone, n);
	return 0;
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command *cmd)
{
	struct imap_fetch_request r;
	const char *error;
	if (cmd->count < 2) {
		imap_bad(s, "FETCH needs a sequence set and data items");
		return;
	}
	const char *uids = imap_select_uid_ranges(s, &cmd->args[0], cmd->uid, NULL);
	if (uids == NULL)
		return;
	if (imap_fetch_parse(s->arena, cmd->args + 1, cmd->count - 1, &r, &error) < 0) {
		imap_bad(s, "%s", error);
		return;
	}
	/* RFC 7162 3.2.6: VANISHED is for UID FETCH under QRESYNC only. */
	if (r.vanished && !cmd->uid) {
		imap_bad(s, "VANISHED needs UID FETCH");
		return;
	}
	if (r.vanished && !s->qresync) {
		imap_bad(s, "VANISHED needs ENABLE QRESYNC first");
		return;
	}
	if (r.changed_since > 0)
		s->condstore = true; /* RFC 7162 3.1: CHANGEDSINCE enables it */

	/* Setting \Seen first, so the rows read below carry it. */
	struct imap_seqset seen = {0};
	if (r.sets_seen && !s->sel.readonly) {
		static const char *const flag[] = {"\\Seen"};
		struct store_message *changed;
		unsigned changed_count, failed_count;
		uint32_t *failed;
		uint64_t modseq;
		if (store_message_set_flags(s->sel.mailbox.id, uids, STORE_FLAGS_ADD, flag, 1, 0,
					    s->arena, &changed, &changed_count, &failed,
					    &failed_count, &modseq, db_deadline(), &error) < 0) {
			imap_db_error(s, error);
			return;
		}
		imap_select_told(s, modseq);
		seen.ranges = arena_alloc(s->arena, (changed_count + 1) * sizeof(*seen.ranges));
		for (unsigned i = 0; i < changed_count; i++)
			seen.ranges[seen.count++] =
			    (struct imap_seq_range){changed[i].uid, changed[i].uid};
	}

	if (r.vanished && tell_vanished(s, cmd->args[0].str, r.changed_since) < 0)
		return;

	struct store_message *rows;
	unsigned count;
	if (store_message_fetch(s->sel.mailbox.id, uids,
				r.needs_structure ? STORE_FETCH_STRUCTURE : STORE_FETCH_ROWS,
				r.changed_since, s->arena, &rows, &count, db_deadline(),
				&error) < 0) {
		imap_db_error(s, error);
		return;
	}
	unsigned failed = 0;
	for (unsigned i = 0; i < count; i++) {
		uint32_t seq = imap_select_seq(s, rows[i].uid);
		if (seq == 0)
			continue; /* arrived after the client's view: not told yet */
		if (!fetch_one(s, &r, &rows[i], seq, cmd->uid,
			       imap_seqset_contains(&seen, rows[i].uid)))
			failed++;
		if (s->state == IMAP_STATE_LOGOUT)
			return;
		if (s->out.len >= FETCH_FLUSH_SIZE && imap_flush(s) < 0) {
			s->state = IMAP_STATE_LOGOUT;
			return;
		}
	}
	if (failed > 0) {
		log_warn("event=imap_fetch_failed session=%s mailbox=%lld messages=%u", s->id,
			 (long long)s->sel.mailbox.id, failed);
		imap_tagged(s, "NO", "[SERVERBUG] Some messages could not be read");
		return;
	}
	imap_tagged(s, "OK", "FETCH completed");
}
