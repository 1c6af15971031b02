/* COPY (RFC 9051 6.4.7), MOVE (RFC 6851) and their UID forms, with the
 * COPYUID response code of UIDPLUS (RFC 4315). The store copies in one
 * transaction (store_message_copy): the copies share their originals'
 * content, flags and INTERNALDATE, and take new UIDs in the order of the
 * originals' UIDs. */
#include "imap/imap-session.h"

#include <string.h>

#include "imap/imap-seqset.h"
#include "lib/arena.h"

/* Appends UIDs (ascending) as an IMAP set, runs as ranges: "3:5,9". */
static void write_uid_set(struct imap_session *s, struct strbuf *out, const uint32_t *uids,
			  unsigned count)
{
	struct imap_seqset set = {.ranges =
				      arena_alloc(s->arena, (count + 1) * sizeof(*set.ranges))};
	for (unsigned i = 0; i < count; i++) {
		if (set.count > 0 && set.ranges[set.count - 1].hi + 1 == uids[i])
			set.ranges[set.count - 1].hi = uids[i];
		else
			set.ranges[set.count++] = (struct imap_seq_range){uids[i], uids[i]};
	}
	imap_seqset_write(out, &set);
}

/* 1 when copying the messages in uids would take the user over quota. */
static int copy_exceeds_quota(struct imap_session *s, const char *uids, const char **error_r)
{
	struct store_message *rows;
	unsigned count;
	uint64_t used, adding = 0;
	int64_t deadline = deadline_after_ms(IMAP_DB_TIMEOUT_MS);
	if (store_message_fetch(s->sel.mailbox.id, uids, STORE_FETCH_ROWS, 0, s->arena, &rows,
				&count, deadline, error_r) < 0 ||
	    store_quota_usage(s->user.id, &used, deadline, error_r) < 0)
		return -1;
	for (unsigned i = 0; i < count; i++)
		adding += rows[i].size;
	return used + adding > (uint64_t)s->user.quota_mb * 1024 * 1024;
}

void imap_cmd_copy(struct imap_session *s, const struct imap_command *cmd)
{
	bool move = strcmp(cmd->name, "MOVE") == 0;
	const char *name;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[1], &name)) {
		imap_bad(s, "%s needs a sequence set and a mailbox name", cmd->name);
		return;
	}
	const char *uids = imap_select_uid_ranges(s, &cmd->args[0], cmd->uid, NULL);
	if (uids == NULL)
		return;
	if ((name = imap_mailbox_from_client(s, name)) == NULL)
		return;
	/* MOVE expunges, which a mailbox opened with EXAMINE does not allow. */
	if (move && s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	struct store_mailbox dst;
	const char *error;
	/* RFC 9208 4.1: a COPY that would go over the quota fails as a whole
	 * (a MOVE changes nothing of the user's usage). */
	if (!move && s->user.quota_mb > 0) {
		int over = copy_exceeds_quota(s, uids, &error);
		if (over < 0) {
			imap_db_error(s, error);
			return;
		}
		if (over) {
			imap_tagged(s, "NO", "[OVERQUOTA] Quota exceeded");
			return;
		}
	}
	int ret = store_mailbox_find(s->user.id, name, s->arena, &dst,
				     deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error);
	struct store_copy_result copied;
	if (ret == 0)
		ret = store_message_copy(s->sel.mailbox.id, uids, dst.id, move, s->arena, &copied,
					 deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error);
	if (ret < 0) {
		imap_db_error(s, error);
		return;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[TRYCREATE] No such mailbox");
		return;
	}
	if (ret == 2) {
		/* The next sync says BYE. */
		imap_tagged(s, "NO", "[NONEXISTENT] Selected mailbox was deleted");
		return;
	}
	struct strbuf code = {0};
	if (copied.count > 0) {
		strbuf_appendf(&code, "[COPYUID %u ", copied.uidvalidity);
		write_uid_set(s, &code, copied.src_uids, copied.count);
		strbuf_append(&code, " ", 1);
		write_uid_set(s, &code, copied.dst_uids, copied.count);
		strbuf_append(&code, "] ", 2);
	}
	if (move) {
		/* RFC 6851 4.3: COPYUID in an untagged OK before the EXPUNGEs
		 * of the moved messages, which the sync tells (with whatever
		 * else changed, which an EXPUNGE may be told with). */
		if (copied.count > 0) {
			imap_untagged(s, "OK %sMoved", code.data);
			if (imap_select_sync(s, true) < 0) {
				strbuf_free(&code);
				return;
			}
		}
		imap_tagged(s, "OK", "MOVE completed");
	} else {
		/* Copies into the selected mailbox are told at once. */
		if (copied.count > 0 && dst.id == s->sel.mailbox.id &&
		    imap_select_sync(s, false) < 0) {
			strbuf_free(&code);
			return;
		}
		imap_tagged(s, "OK", "%sCOPY completed", code.data != NULL ? code.data : "");
	}
	strbuf_free(&code);
}
