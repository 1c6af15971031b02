/* The selected mailbox as a session sees it (RFC 9051 2.3.1.2, 7.5.1):
 * message numbers are positions in the session's list of UIDs, which
 * changes only as the client is told (EXISTS, EXPUNGE or VANISHED).
 * Changes made by anyone, on any node, are found by MODSEQ: new messages
 * and flag changes above modseq_seen, expunges above expunge_modseq_seen
 * (and, for QRESYNC, above the MODSEQ a client comes back with). And
 * mailbox names between the client's form and the store's. */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-seqset.h"
#include "imap/imap-utf7.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "lib/utf8.h"

const char *imap_mailbox_from_client(struct imap_session *s, const char *name)
{
	if (strcasecmp(name, "INBOX") == 0)
		return "INBOX";
	const char *utf8 = name;
	if (!s->utf8) {
		struct strbuf out = {0};
		if (imap_utf7_to_utf8(name, &out) < 0) {
			strbuf_free(&out);
			imap_bad(s, "Mailbox name is not valid modified UTF-7");
			return NULL;
		}
		utf8 = arena_strdup(s->arena, out.data != NULL ? out.data : "");
		strbuf_free(&out);
	} else if (!utf8_valid(name, strlen(name))) {
		imap_bad(s, "Mailbox name is not valid UTF-8");
		return NULL;
	}
	/* "a/b/" is "a/b": the separator only separates. */
	size_t len = strlen(utf8);
	while (len > 1 && utf8[len - 1] == '/')
		len--;
	if (len == 0 || utf8[0] == '/' || strstr(utf8, "//") != NULL) {
		imap_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
		return NULL;
	}
	for (const char *p = utf8; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			imap_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
			return NULL;
		}
	return arena_strndup(s->arena, utf8, len);
}

void imap_mailbox_write(struct imap_session *s, struct strbuf *out, const char *name)
{
	if (s->utf8) {
		imap_write_string(s, out, name);
		return;
	}
	struct strbuf utf7 = {0};
	if (imap_utf8_to_utf7(name, &utf7) < 0)
		strbuf_append(&utf7, "INVALID", 7);
	imap_write_string(s, out, utf7.data != NULL ? utf7.data : "");
	strbuf_free(&utf7);
}

int imap_select_open(struct imap_session *s, const struct store_mailbox *mailbox, bool readonly,
		     const char **error_r)
{
	struct imap_selected *sel = &s->sel;
	imap_select_close(s);
	sel->arena = arena_create(16 * 1024);
	uint32_t *uids, count;
	int ret = store_message_uids(mailbox->id, sel->arena, &uids, &count, &sel->mailbox,
				     deadline_after_ms(IMAP_DB_TIMEOUT_MS), error_r);
	if (ret != 0) {
		arena_destroy(&sel->arena);
		return ret;
	}
	sel->mailbox.name = arena_strdup(sel->arena, mailbox->name);
	sel->mailbox.special_use = NULL;
	sel->readonly = readonly;
	sel->uids = uids;
	sel->count = count;
	sel->cap = count;
	sel->modseq_seen = sel->mailbox.highestmodseq;
	sel->expunge_modseq_seen = sel->mailbox.highestmodseq;
	s->changed = false;
	s->state = IMAP_STATE_SELECTED;
	return 0;
}

void imap_select_close(struct imap_session *s)
{
	if (s->sel.arena != NULL)
		arena_destroy(&s->sel.arena);
	memset(&s->sel, 0, sizeof(s->sel));
	s->changed = false;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTHENTICATED;
}

uint32_t imap_select_seq(const struct imap_session *s, uint32_t uid)
{
	uint32_t lo = 0, hi = s->sel.count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->sel.uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->sel.count && s->sel.uids[lo] == uid ? lo + 1 : 0;
}

static void view_append(struct imap_selected *sel, uint32_t uid)
{
	if (sel->count == sel->cap) {
		uint32_t cap = sel->cap < 64 ? 64 : sel->cap * 2;
		uint32_t *grown = arena_alloc(sel->arena, cap * sizeof(*grown));
		if (sel->count > 0)
			memcpy(grown, sel->uids, sel->count * sizeof(*grown));
		sel->uids = grown;
		sel->cap = cap;
	}
	sel->uids[sel->count++] = uid;
}

/* "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])": a change the client did
 * not make itself, so UID and MODSEQ come along (RFC 7162 3.1). */
static void tell_flags(struct imap_session *s, struct strbuf *line, uint32_t seq,
		       const struct store_message *m)
{
	strbuf_reset(line);
	strbuf_appendf(line, "%u FETCH (UID %u FLAGS (", seq, m->uid);
	for (unsigned i = 0; i < m->flag_count; i++)
		strbuf_appendf(line, "%s%s", i ? " " : "", m->flags[i]);
	strbuf_append(line, ")", 1);
	if (s->condstore)
		strbuf_appendf(line, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	strbuf_append(line, ")", 1);
	imap_untagged(s, "%s", line->data);
}

/* VANISHED lines stay well under the 8192 octets RFC 7162 4 asks
 * clients to accept. */
#define VANISHED_LINE_MAX 4000

void imap_select_vanished(struct imap_session *s, bool earlier, const uint32_t *uids,
			  unsigned count)
{
	struct strbuf line = {0};
	for (unsigned i = 0; i < count;) {
		unsigned j = i;
		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		if (line.len == 0)
			strbuf_appendf(&line, "VANISHED %s", earlier ? "(EARLIER) " : "");
		else
			strbuf_append(&line, ",", 1);
		if (j == i)
			strbuf_appendf(&line, "%u", uids[i]);
		else
			strbuf_appendf(&line, "%u:%u", uids[i], uids[j]);
		i = j + 1;
		if (i == count || line.len >= VANISHED_LINE_MAX) {
			imap_untagged(s, "%s", line.data);
			strbuf_reset(&line);
		}
	}
	strbuf_free(&line);
}

/* With QRESYNC: the UIDs of gone (ascending) that are in the view leave
 * it in one pass and are told as VANISHED, never as EXPUNGE (RFC 7162
 * 3.2.10); message numbers after them shift down as the client knows. */
static void vanish_from_view(struct imap_session *s, const uint32_t *gone, unsigned count)
{
	struct imap_selected *sel = &s->sel;
	uint32_t *told = arena_alloc(s->arena, (count + 1) * sizeof(*told));
	unsigned n = 0, kept = 0, g = 0;
	for (uint32_t i = 0; i < sel->count; i++) {
		uint32_t uid = sel->uids[i];
		while (g < count && gone[g] < uid)
			g++;
		if (g < count && gone[g] == uid)
			told[n++] = uid;
		else
			sel->uids[kept++] = uid;
	}
	sel->count = kept;
	imap_select_vanished(s, false, told, n);
}

/* Tells expunges: EXPUNGE per message, highest first so the numbers
 * stay right, or one VANISHED with QRESYNC. */
static int sync_expunges(struct imap_session *s, uint64_t upto)
{
	struct imap_selected *sel = &s->sel;
	uint32_t *gone;
	unsigned count;
	const char *error;
	if (store_message_expunged_since(sel->mailbox.id, sel->expunge_modseq_seen, s->arena, &gone,
					 &count, deadline_after_ms(IMAP_DB_TIMEOUT_MS),
					 &error) < 0) {
		log_warn("event=imap_sync_failed session=%s error=\"%s\"", s->id, error);
		return -1;
	}
	if (s->qresync) {
		vanish_from_view(s, gone, count);
		sel->expunge_modseq_seen = upto;
		return 0;
	}
	for (unsigned i = count; i-- > 0;) {
		uint32_t seq = imap_select_seq(s, gone[i]);
		if (seq == 0)
			continue;
		memmove(&sel->uids[seq - 1], &sel->uids[seq],
			(sel->count - seq) * sizeof(*sel->uids));
		sel->count--;
		imap_untagged(s, "%u EXPUNGE", seq);
	}
	sel->expunge_modseq_seen = upto;
	return 0;
}

int imap_select_sync(struct imap_session *s, bool allow_expunge)
{
	struct imap_selected *sel = &s->sel;
	struct store_mailbox now;
	const char *error;
	s->changed = false;
	int ret = store_mailbox_get(sel->mailbox.id, s->arena, &now,
				    deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error);
	if (ret < 0) {
		log_warn("event=imap_sync_failed session=%s error=\"%s\"", s->id, error);
		return 0; /* told next time */
	}
	if (ret == 1) {
		imap_untagged(s, "BYE Selected mailbox was deleted");
		s->state = IMAP_STATE_LOGOUT;
		return -1;
	}
	if (allow_expunge && now.highestmodseq > sel->expunge_modseq_seen &&
	    sync_expunges(s, now.highestmodseq) < 0)
		return 0;
	if (now.highestmodseq <= sel->modseq_seen)
		return 0;

	struct store_message *changed;
	unsigned count;
	if (store_message_fetch(sel->mailbox.id, "{[1,)}", STORE_FETCH_ROWS, sel->modseq_seen,
				s->arena, &changed, &count, deadline_after_ms(IMAP_DB_TIMEOUT_MS),
				&error) < 0) {
		log_warn("event=imap_sync_failed session=%s error=\"%s\"", s->id, error);
		return 0;
	}
	uint32_t last = sel->count > 0 ? sel->uids[sel->count - 1] : 0;
	uint32_t before = sel->count;
	struct strbuf line = {0};
	for (unsigned i = 0; i < count; i++) {
		const struct store_message *m = &changed[i];
		if (m->uid > last) {
			view_append(sel, m->uid);
			last = m->uid;
			continue;
		}
		uint32_t seq = imap_select_seq(s, m->uid);
		if (seq == 0)
			continue;
		tell_flags(s, &line, seq, m);
	}
	strbuf_free(&line);
	if (sel->count != before)
		imap_untagged(s, "%u EXISTS", sel->count);
	sel->modseq_seen = now.highestmodseq;
	return 0;
}

const char *imap_select_uid_ranges(struct imap_session *s, const struct imap_arg *arg, bool uid,
				   struct imap_seqset *uids_r)
{
	const struct imap_selected *sel = &s->sel;
	struct imap_seqset set;
	const char *error;
	if (arg->type != IMAP_ARG_ATOM || imap_seqset_parse(s->arena, arg->str, &set, &error) < 0) {
		imap_bad(s, "Invalid sequence set");
		return NULL;
	}
	if (uid) {
		imap_seqset_resolve(&set, sel->count > 0 ? sel->uids[sel->count - 1] : 0);
	} else {
		imap_seqset_resolve(&set, sel->count);
		/* RFC 9051 9: message numbers beyond the mailbox are an error. */
		if (set.count > 0 && set.ranges[set.count - 1].hi > sel->count) {
			imap_bad(s, "Message number out of range");
			return NULL;
		}
		for (unsigned i = 0; i < set.count; i++) {
			set.ranges[i].lo = sel->uids[set.ranges[i].lo - 1];
			set.ranges[i].hi = sel->uids[set.ranges[i].hi - 1];
		}
	}
	struct strbuf out = {0};
	imap_seqset_write_multirange(&out, &set);
	const char *ranges = arena_strdup(s->arena, out.data != NULL ? out.data : "{}");
	strbuf_free(&out);
	if (uids_r != NULL)
		*uids_r = set;
	return ranges;
}

void imap_select_told(struct imap_session *s, uint64_t modseq)
{
	if (modseq == s->sel.modseq_seen + 1)
		s->sel.modseq_seen = modseq;
}

int imap_select_resync_load(struct imap_session *s, uint64_t modseq,
			    const struct imap_seqset *known, struct imap_resync *r,
			    const char **error_r)
{
	const struct imap_selected *sel = &s->sel;
	int64_t deadline = deadline_after_ms(IMAP_DB_TIMEOUT_MS);
	uint32_t *gone;
	unsigned count;
	memset(r, 0, sizeof(*r));
	/* Every expunge is kept with its MODSEQ, so the UIDs are exact and
	 * seq-match-data has nothing to narrow. A UID still in the view was
	 * expunged after it was loaded: the next VANISHED tells it. */
	if (store_message_expunged_since(sel->mailbox.id, modseq, s->arena, &gone, &count, deadline,
					 error_r) < 0)
		return -1;
	r->vanished = gone;
	for (unsigned i = 0; i < count; i++)
		if ((known == NULL || imap_seqset_contains(known, gone[i])) &&
		    imap_select_seq(s, gone[i]) == 0)
			r->vanished[r->vanished_count++] = gone[i];
	/* Changes to any message of the view, in the known UIDs or not (new
	 * messages among them): telling more than the client knows is
	 * harmless, telling less would lose flag changes. */
	if (store_message_fetch(sel->mailbox.id, "{[1,)}", STORE_FETCH_ROWS, modseq, s->arena,
				&r->changed, &count, deadline, error_r) < 0)
		return -1;
	unsigned kept = 0;
	for (unsigned i = 0; i < count; i++)
		if (imap_select_seq(s, r->changed[i].uid) != 0)
			r->changed[kept++] = r->changed[i];
	r->changed_count = kept;
	return 0;
}

/* Responses are written out once this much is queued. */
#define RESYNC_FLUSH_SIZE (256 * 1024)

int imap_select_resync_tell(struct imap_session *s, const struct imap_resync *r)
{
	imap_select_vanished(s, true, r->vanished, r->vanished_count);
	struct strbuf line = {0};
	for (unsigned i = 0; i < r->changed_count; i++) {
		const struct store_message *m = &r->changed[i];
		tell_flags(s, &line, imap_select_seq(s, m->uid), m);
		if (s->out.len >= RESYNC_FLUSH_SIZE && imap_flush(s) < 0) {
			strbuf_free(&line);
			s->state = IMAP_STATE_LOGOUT;
			return -1;
		}
	}
	strbuf_free(&line);
	return 0;
}
