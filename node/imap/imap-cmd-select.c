/* Opening and leaving a mailbox (RFC 9051 6.3.2, 6.3.3, 6.4): SELECT,
 * EXAMINE, with CONDSTORE and QRESYNC (RFC 7162), CLOSE, UNSELECT (RFC
 * 3691), CHECK and EXPUNGE with its UID form (RFC 4315). */
#include "imap/imap-session.h"

#include <string.h>
#include <strings.h>

#include "imap/imap-seqset.h"
#include "lib/arena.h"

static int64_t db_deadline(void)
{
	return deadline_after_ms(IMAP_DB_TIMEOUT_MS);
}

/* SELECT's parameters (RFC 7162 3.1.8, 3.2.5): CONDSTORE, and
 * QRESYNC (uidvalidity modseq [known-uids] [(seq-match-data)]). */
struct select_params {
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	bool have_known;
	struct imap_seqset known;
};

static bool seqset_arg(struct imap_session *s, const struct imap_arg *arg,
		       struct imap_seqset *set_r)
{
	const char *error;
	if (arg->type != IMAP_ARG_ATOM || imap_seqset_parse(s->arena, arg->str, set_r, &error) < 0)
		return false;
	imap_seqset_resolve(set_r, UINT32_MAX);
	return true;
}

static bool parse_qresync(struct imap_session *s, const struct imap_arg *list,
			  struct select_params *p)
{
	unsigned long long uidvalidity, modseq;
	if (list->type != IMAP_ARG_LIST || list->count < 2 || list->count > 4 ||
	    !imap_arg_number(&list->list[0], &uidvalidity) || uidvalidity == 0 ||
	    uidvalidity > UINT32_MAX || !imap_arg_number(&list->list[1], &modseq))
		return false;
	p->qresync = true;
	p->uidvalidity = (uint32_t)uidvalidity;
	p->modseq = modseq;
	unsigned i = 2;
	if (i < list->count && list->list[i].type == IMAP_ARG_ATOM) {
		if (!seqset_arg(s, &list->list[i], &p->known))
			return false;
		p->have_known = true;
		i++;
	}
	if (i < list->count) {
		/* seq-match-data: checked, not needed (every expunge is kept). */
		const struct imap_arg *match = &list->list[i];
		struct imap_seqset seqs, uids;
		if (match->type != IMAP_ARG_LIST || match->count != 2 ||
		    !seqset_arg(s, &match->list[0], &seqs) ||
		    !seqset_arg(s, &match->list[1], &uids))
			return false;
		i++;
	}
	return i == list->count;
}

/* Returns 0, or -1 after answering BAD. */
static int parse_select_params(struct imap_session *s, const struct imap_command *cmd,
			       struct select_params *p)
{
	memset(p, 0, sizeof(*p));
	if (cmd->count < 2)
		return 0;
	const struct imap_arg *params = &cmd->args[1];
	bool condstore = false;
	if (params->type != IMAP_ARG_LIST || params->count == 0) {
		imap_bad(s, "Unknown %s parameter", cmd->name);
		return -1;
	}
	for (unsigned i = 0; i < params->count; i++) {
		const struct imap_arg *param = &params->list[i];
		if (imap_arg_atom_is(param, "CONDSTORE")) {
			condstore = true;
		} else if (imap_arg_atom_is(param, "QRESYNC") && !p->qresync &&
			   i + 1 < params->count) {
			if (!parse_qresync(s, &params->list[++i], p)) {
				imap_bad(s, "Invalid QRESYNC parameter");
				return -1;
			}
		} else {
			imap_bad(s, "Unknown %s parameter", cmd->name);
			return -1;
		}
	}
	/* RFC 7162 3.2.5: QRESYNC without ENABLE QRESYNC is an error. */
	if (p->qresync && !s->qresync) {
		imap_bad(s, "QRESYNC parameter needs ENABLE QRESYNC first");
		return -1;
	}
	if (condstore)
		s->condstore = true;
	return 0;
}

void imap_cmd_select(struct imap_session *s, const struct imap_command *cmd)
{
	bool readonly = strcmp(cmd->name, "EXAMINE") == 0;
	const char *name;
	struct select_params params;
	if (cmd->count < 1 || cmd->count > 2 || !imap_arg_astring(&cmd->args[0], &name)) {
		imap_bad(s, "%s needs a mailbox name", cmd->name);
		return;
	}
	if (parse_select_params(s, cmd, &params) < 0)
		return;
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected. */
	if (s->state == IMAP_STATE_SELECTED) {
		imap_select_close(s);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	if ((name = imap_mailbox_from_client(s, name)) == NULL)
		return;
	struct store_mailbox mailbox;
	const char *error;
	int ret = store_mailbox_find(s->user.id, name, s->arena, &mailbox, db_deadline(), &error);
	if (ret == 0)
		ret = imap_select_open(s, &mailbox, readonly, &error);
	if (ret < 0) {
		imap_db_error(s, error);
		return;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
		return;
	}
	const struct imap_selected *sel = &s->sel;
	/* QRESYNC: what changed since the client was last here, unless the
	 * UIDs it knows are void (the UIDVALIDITY it has tells it so). */
	bool resync = params.qresync && params.uidvalidity == sel->mailbox.uidvalidity;
	struct imap_resync changes = {0};
	if (resync &&
	    imap_select_resync_load(s, params.modseq, params.have_known ? &params.known : NULL,
				    &changes, &error) < 0) {
		imap_select_close(s);
		imap_db_error(s, error);
		return;
	}
	imap_untagged(s, "%u EXISTS", sel->count);
	if (!s->rev2)
		imap_untagged(s, "0 RECENT");
	imap_untagged(s, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
	imap_untagged(s, "OK [PERMANENTFLAGS (%s)] Flags permitted",
		      readonly ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*");
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", sel->mailbox.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", sel->mailbox.uidnext);
	if (s->condstore)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)sel->mailbox.highestmodseq);
	/* RFC 8474 4.2 */
	imap_untagged(s, "OK [MAILBOXID (" IMAP_MAILBOXID_FMT ")] Ok", (long long)sel->mailbox.id);
	if (s->rev2) {
		struct strbuf line = {0};
		strbuf_append(&line, "LIST () \"/\" ", 12);
		imap_mailbox_write(s, &line, name);
		imap_untagged(s, "%s", line.data);
		strbuf_free(&line);
	}
	if (resync && imap_select_resync_tell(s, &changes) < 0)
		return;
	imap_tagged(s, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE", cmd->name);
}

void imap_cmd_check(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_select_sync(s, true);
	imap_tagged(s, "OK", "CHECK completed");
}

/* Expunges \Deleted messages (those in uids, if not NULL) and tells
 * the client when tell is true. Returns 0 or -1 (answered). */
static int expunge(struct imap_session *s, const char *uids, bool tell)
{
	uint32_t *gone;
	unsigned count;
	const char *error;
	if (store_message_expunge(s->sel.mailbox.id, uids, s->arena, &gone, &count, db_deadline(),
				  &error) < 0) {
		imap_db_error(s, error);
		return -1;
	}
	if (tell)
		return imap_select_sync(s, true) < 0 ? -1 : 0;
	return 0;
}

void imap_cmd_close(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	/* RFC 9051 6.4.1: silently expunge, unless read-only. */
	if (!s->sel.readonly && expunge(s, NULL, false) < 0)
		return;
	imap_select_close(s);
	imap_tagged(s, "OK", "CLOSE completed");
}

void imap_cmd_unselect(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_select_close(s);
	imap_tagged(s, "OK", "UNSELECT completed");
}

void imap_cmd_expunge(struct imap_session *s, const struct imap_command *cmd)
{
	const char *uids = NULL;
	if (cmd->uid) {
		struct imap_seqset set;
		const char *error;
		if (cmd->count != 1 || cmd->args[0].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(s->arena, cmd->args[0].str, &set, &error) < 0) {
			imap_bad(s, "UID EXPUNGE needs a UID set");
			return;
		}
		imap_seqset_resolve(&set, s->sel.count > 0 ? s->sel.uids[s->sel.count - 1] : 0);
		struct strbuf range = {0};
		imap_seqset_write_multirange(&range, &set);
		uids = arena_strdup(s->arena, range.data != NULL ? range.data : "{}");
		strbuf_free(&range);
	} else if (cmd->count != 0) {
		imap_bad(s, "EXPUNGE takes no arguments");
		return;
	}
	if (s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (expunge(s, uids, true) == 0)
		imap_tagged(s, "OK", "EXPUNGE completed");
}
