/* Commands on mailboxes as names (RFC 9051 6.3): CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, NAMESPACE, STATUS (whose items LIST-STATUS
 * shares). LIST and LSUB are in imap-cmd-list.c. The hierarchy
 * separator is "/". */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"

/* The mailbox name argument in the store's form, or NULL (answered). */
static const char *mailbox_arg(struct imap_session *s, const struct imap_arg *arg)
{
	const char *name;
	if (!imap_arg_astring(arg, &name)) {
		imap_bad(s, "Mailbox name expected");
		return NULL;
	}
	return imap_mailbox_from_client(s, name);
}

static int64_t db_deadline(void)
{
	return deadline_after_ms(IMAP_DB_TIMEOUT_MS);
}

void imap_cmd_create(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	if (cmd->count < 1 || cmd->count > 2) {
		imap_bad(s, "CREATE needs a mailbox name");
		return;
	}
	if ((name = mailbox_arg(s, &cmd->args[0])) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		return;
	}
	if (strpbrk(name, "%*") != NULL) {
		imap_tagged(s, "NO", "[CANNOT] Wildcards are not allowed in mailbox names");
		return;
	}
	const char *error;
	int64_t id;
	int ret = store_mailbox_create(s->user.id, name, &id, db_deadline(), &error);
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1)
		imap_tagged(s, "NO", "[ALREADYEXISTS] Mailbox already exists");
	else /* RFC 8474 4.1: the new mailbox's id in the tagged OK */
		imap_tagged(s, "OK", "[MAILBOXID (" IMAP_MAILBOXID_FMT ")] CREATE completed",
			    (long long)id);
}

void imap_cmd_delete(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	if (cmd->count != 1) {
		imap_bad(s, "DELETE needs a mailbox name");
		return;
	}
	if ((name = mailbox_arg(s, &cmd->args[0])) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
		return;
	}
	if (s->state == IMAP_STATE_SELECTED && strcmp(name, s->sel.mailbox.name) == 0)
		imap_select_close(s);
	const char *error;
	int ret = store_mailbox_delete(s->user.id, name, db_deadline(), &error);
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else
		imap_tagged(s, "OK", "DELETE completed");
}

void imap_cmd_rename(struct imap_session *s, const struct imap_command *cmd)
{
	const char *from, *to;
	if (cmd->count != 2) {
		imap_bad(s, "RENAME needs two mailbox names");
		return;
	}
	if ((from = mailbox_arg(s, &cmd->args[0])) == NULL ||
	    (to = mailbox_arg(s, &cmd->args[1])) == NULL)
		return;
	if (strcmp(to, "INBOX") == 0) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		return;
	}
	if (strpbrk(to, "%*") != NULL) {
		imap_tagged(s, "NO", "[CANNOT] Wildcards are not allowed in mailbox names");
		return;
	}
	const char *error;
	int ret = store_mailbox_rename(s->user.id, from, to, db_deadline(), &error);
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else if (ret == 2)
		imap_tagged(s, "NO", "[ALREADYEXISTS] Target mailbox already exists");
	else
		imap_tagged(s, "OK", "RENAME completed");
}

static void subscribe(struct imap_session *s, const struct imap_command *cmd, bool on)
{
	const char *name;
	if (cmd->count != 1) {
		imap_bad(s, "A mailbox name is needed");
		return;
	}
	if ((name = mailbox_arg(s, &cmd->args[0])) == NULL)
		return;
	const char *error;
	int ret = store_mailbox_subscribe(s->user.id, name, on, db_deadline(), &error);
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1 && on)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else
		imap_tagged(s, "OK", "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
}

void imap_cmd_subscribe(struct imap_session *s, const struct imap_command *cmd)
{
	subscribe(s, cmd, true);
}

void imap_cmd_unsubscribe(struct imap_session *s, const struct imap_command *cmd)
{
	subscribe(s, cmd, false);
}

void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, "OK", "NAMESPACE completed");
}

/* One STATUS data item, "NAME value"; false for an unknown item. */
static bool append_status_item(struct strbuf *line, const struct imap_arg *item,
			       const struct store_mailbox *mailbox,
			       const struct store_mailbox_status *status)
{
	if (imap_arg_atom_is(item, "MESSAGES"))
		strbuf_appendf(line, "MESSAGES %u", status->messages);
	else if (imap_arg_atom_is(item, "UIDNEXT"))
		strbuf_appendf(line, "UIDNEXT %u", mailbox->uidnext);
	else if (imap_arg_atom_is(item, "UIDVALIDITY"))
		strbuf_appendf(line, "UIDVALIDITY %u", mailbox->uidvalidity);
	else if (imap_arg_atom_is(item, "UNSEEN"))
		strbuf_appendf(line, "UNSEEN %u", status->unseen);
	else if (imap_arg_atom_is(item, "DELETED"))
		strbuf_appendf(line, "DELETED %u", status->deleted);
	else if (imap_arg_atom_is(item, "SIZE"))
		strbuf_appendf(line, "SIZE %llu", (unsigned long long)status->size);
	else if (imap_arg_atom_is(item, "DELETED-STORAGE")) /* RFC 9208 4.1.4: in KiB */
		strbuf_appendf(line, "DELETED-STORAGE %llu",
			       (unsigned long long)(status->deleted_size + 1023) / 1024);
	else if (imap_arg_atom_is(item, "RECENT"))
		strbuf_appendf(line, "RECENT 0");
	else if (imap_arg_atom_is(item, "HIGHESTMODSEQ"))
		strbuf_appendf(line, "HIGHESTMODSEQ %llu",
			       (unsigned long long)mailbox->highestmodseq);
	else if (imap_arg_atom_is(item, "MAILBOXID")) /* RFC 8474 4.3 */
		strbuf_appendf(line, "MAILBOXID (" IMAP_MAILBOXID_FMT ")", (long long)mailbox->id);
	else
		return false;
	return true;
}

bool imap_status_items_valid(const struct imap_arg *items)
{
	static const struct store_mailbox mailbox;
	static const struct store_mailbox_status status;
	if (items->type != IMAP_ARG_LIST || items->count == 0)
		return false;
	/* The one list of names is the writer's: try it on nothing. */
	struct strbuf scratch = {0};
	bool valid = true;
	for (unsigned i = 0; i < items->count && valid; i++)
		valid = append_status_item(&scratch, &items->list[i], &mailbox, &status);
	strbuf_free(&scratch);
	return valid;
}

int imap_status_append(struct imap_session *s, struct strbuf *line,
		       const struct store_mailbox *mailbox, const struct imap_arg *items,
		       const char **error_r)
{
	struct store_mailbox_status status;
	if (store_mailbox_status(mailbox->id, &status, db_deadline(), error_r) < 0)
		return -1;
	strbuf_append(line, "STATUS ", 7);
	imap_mailbox_write(s, line, mailbox->name);
	strbuf_append(line, " (", 2);
	for (unsigned i = 0; i < items->count; i++) {
		if (i > 0)
			strbuf_append(line, " ", 1);
		append_status_item(line, &items->list[i], mailbox, &status);
	}
	strbuf_append(line, ")", 1);
	return 0;
}

void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count == 0) {
		imap_bad(s, "STATUS needs a mailbox name and a list of items");
		return;
	}
	if (!imap_status_items_valid(&cmd->args[1])) {
		imap_bad(s, "Unknown STATUS item");
		return;
	}
	if ((name = mailbox_arg(s, &cmd->args[0])) == NULL)
		return;
	struct store_mailbox mailbox;
	struct strbuf line = {0};
	const char *error;
	int ret = store_mailbox_find(s->user.id, name, s->arena, &mailbox, db_deadline(), &error);
	if (ret == 0 && imap_status_append(s, &line, &mailbox, &cmd->args[1], &error) < 0)
		ret = -1;
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1)
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
	else {
		imap_untagged(s, "%s", line.data);
		imap_tagged(s, "OK", "STATUS completed");
	}
	strbuf_free(&line);
}
