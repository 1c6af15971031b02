/* STORE and UID STORE (RFC 9051 6.4.6), with UNCHANGEDSINCE (RFC 7162
 * 3.1.3). System flags are kept in their canonical case; keywords as the
 * client first wrote them. */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-flags.h"
#include "imap/imap-seqset.h"
#include "lib/arena.h"

#define STORE_MAX_FLAGS 64

void imap_cmd_store(struct imap_session *s, const struct imap_command *cmd)
{
	unsigned next = 1;
	unsigned long long unchanged_since = 0;
	if (cmd->count < 3) {
		imap_bad(s, "STORE needs a sequence set, an item and flags");
		return;
	}
	const struct imap_arg *args = cmd->args;
	if (args[1].type == IMAP_ARG_LIST) {
		if (args[1].count != 2 || !imap_arg_atom_is(&args[1].list[0], "UNCHANGEDSINCE") ||
		    !imap_arg_number(&args[1].list[1], &unchanged_since)) {
			imap_bad(s, "Unknown STORE modifier");
			return;
		}
		s->condstore = true;
		next = 2;
	}
	if (cmd->count < next + 2 || args[next].type != IMAP_ARG_ATOM) {
		imap_bad(s, "STORE needs an item and flags");
		return;
	}
	const char *item = args[next].str;
	enum store_flags_op op = STORE_FLAGS_SET;
	if (item[0] == '+' || item[0] == '-') {
		op = item[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		item++;
	}
	bool silent = false;
	if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else if (strcasecmp(item, "FLAGS") != 0) {
		imap_bad(s, "Unknown STORE item");
		return;
	}
	/* The flags: one list, or flags written loose (RFC 9051 allows both). */
	const struct imap_arg *flag_args = &args[next + 1];
	unsigned flag_count = cmd->count - next - 1;
	if (flag_count == 1 && flag_args->type == IMAP_ARG_LIST) {
		flag_count = flag_args->count;
		flag_args = flag_args->list;
	}
	if (flag_count > STORE_MAX_FLAGS) {
		imap_bad(s, "Too many flags");
		return;
	}
	const char **flags = arena_alloc(s->arena, (flag_count + 1) * sizeof(*flags));
	unsigned n = 0;
	for (unsigned i = 0; i < flag_count; i++) {
		const char *flag = flag_args[i].type == IMAP_ARG_ATOM
				       ? imap_flag_canonical(flag_args[i].str)
				       : NULL;
		if (flag == NULL) {
			imap_bad(s, "Invalid flag");
			return;
		}
		flags[n++] = flag;
	}
	unsigned unique = imap_flags_sort_unique(flags, n);

	struct imap_seqset set;
	const char *uids = imap_select_uid_ranges(s, &args[0], cmd->uid, &set);
	if (uids == NULL)
		return;
	if (s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	struct store_message *changed;
	unsigned changed_count, failed_count;
	uint32_t *failed;
	uint64_t modseq;
	const char *error;
	if (store_message_set_flags(s->sel.mailbox.id, uids, op, flags, unique, unchanged_since,
				    s->arena, &changed, &changed_count, &failed, &failed_count,
				    &modseq, deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error) < 0) {
		imap_db_error(s, error);
		return;
	}
	imap_select_told(s, modseq);
	struct strbuf line = {0};
	for (unsigned i = 0; i < changed_count; i++) {
		const struct store_message *m = &changed[i];
		uint32_t seq = imap_select_seq(s, m->uid);
		/* .SILENT still reports MODSEQ under CONDSTORE (RFC 7162 3.1.3). */
		if (seq == 0 || (silent && !s->condstore))
			continue;
		strbuf_reset(&line);
		strbuf_appendf(&line, "%u FETCH (", seq);
		/* CONDSTORE: UID in every FETCH a STORE causes (RFC 7162 3.1). */
		if (cmd->uid || s->condstore)
			strbuf_appendf(&line, "UID %u ", m->uid);
		if (!silent) {
			strbuf_append(&line, "FLAGS (", 7);
			for (unsigned f = 0; f < m->flag_count; f++)
				strbuf_appendf(&line, "%s%s", f ? " " : "", m->flags[f]);
			strbuf_append(&line, ") ", 2);
		}
		if (s->condstore)
			strbuf_appendf(&line, "MODSEQ (%llu) ", (unsigned long long)m->modseq);
		line.data[--line.len] = ')';
		imap_untagged(s, "%s", line.data);
	}
	strbuf_free(&line);
	if (failed_count > 0) {
		struct imap_seqset refused = {
		    .ranges = arena_alloc(s->arena, failed_count * sizeof(*refused.ranges))};
		for (unsigned i = 0; i < failed_count; i++) {
			uint32_t id = cmd->uid ? failed[i] : imap_select_seq(s, failed[i]);
			if (id != 0)
				refused.ranges[refused.count++] = (struct imap_seq_range){id, id};
		}
		imap_seqset_resolve(&refused, UINT32_MAX);
		struct strbuf text = {0};
		imap_seqset_write(&text, &refused);
		imap_tagged(s, "OK", "[MODIFIED %s] Conditional STORE failed", text.data);
		strbuf_free(&text);
		return;
	}
	imap_tagged(s, "OK", "STORE completed");
}
