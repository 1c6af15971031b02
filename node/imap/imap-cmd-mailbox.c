/* Commands on mailboxes as names (RFC 9051 6.3): CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, NAMESPACE, STATUS. The hierarchy
 * separator is "/". */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-utf7.h"
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
	int ret = store_mailbox_create(s->user.id, name, db_deadline(), &error);
	if (ret < 0)
		imap_db_error(s, error);
	else if (ret == 1)
		imap_tagged(s, "NO", "[ALREADYEXISTS] Mailbox already exists");
	else
		imap_tagged(s, "OK", "CREATE completed");
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

/* ---- LIST ---- */

/* RFC 9051 6.3.9: "*" matches anything, "%" anything but the separator. */
static bool pattern_match(const char *pattern, const char *name)
{
	for (; *pattern != '\0'; pattern++) {
		if (*pattern == '*' || *pattern == '%') {
			bool any = *pattern == '*';
			for (const char *n = name;; n++) {
				if (pattern_match(pattern + 1, n))
					return true;
				if (*n == '\0' || (!any && *n == '/'))
					return false;
			}
		}
		if (*name != *pattern)
			return false;
		name++;
	}
	return *name == '\0';
}

/* A mailbox or a parent that exists only as part of longer names. */
struct list_entry {
	const char *name;
	const struct store_mailbox *mailbox; /* NULL: no such mailbox, only children */
	bool children;
};

struct list_entries {
	struct list_entry *items;
	unsigned count, cap;
};

static struct list_entry *push_entry(struct arena *arena, struct list_entries *list)
{
	if (list->count == list->cap) {
		list->cap = list->cap < 16 ? 16 : list->cap * 2;
		struct list_entry *grown = arena_zalloc(arena, list->cap * sizeof(*grown));
		if (list->count > 0)
			memcpy(grown, list->items, list->count * sizeof(*grown));
		list->items = grown;
	}
	return &list->items[list->count++];
}

static int entry_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	/* The real mailbox before an implied parent of the same name. */
	return c != 0 ? c : (x->mailbox == NULL) - (y->mailbox == NULL);
}

static void list(struct imap_session *s, const struct imap_command *cmd, bool lsub)
{
	const char *reference, *pattern;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &reference) ||
	    !imap_arg_astring(&cmd->args[1], &pattern)) {
		imap_bad(s, "%s needs a reference and a mailbox pattern", lsub ? "LSUB" : "LIST");
		return;
	}
	const char *verb = lsub ? "LSUB" : "LIST";
	if (!lsub && pattern[0] == '\0') {
		/* RFC 9051 6.3.9: the separator and the root. */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_tagged(s, "OK", "LIST completed");
		return;
	}
	const char *full = arena_printf(s->arena, "%s%s", reference, pattern);
	if (strncasecmp(full, "INBOX", 5) == 0 && (full[5] == '\0' || full[5] == '/'))
		full = arena_printf(s->arena, "INBOX%s", full + 5);
	if (!s->utf8) {
		struct strbuf utf8 = {0};
		if (imap_utf7_to_utf8(full, &utf8) == 0)
			full = arena_strdup(s->arena, utf8.data != NULL ? utf8.data : "");
		strbuf_free(&utf8);
	}

	struct store_mailbox *mailboxes;
	unsigned count;
	const char *error;
	if (store_mailbox_list(s->user.id, s->arena, &mailboxes, &count, db_deadline(), &error) <
	    0) {
		imap_db_error(s, error);
		return;
	}
	/* Every mailbox, and every parent name above one. */
	struct list_entries all = {0};
	for (unsigned i = 0; i < count; i++) {
		if (lsub && !mailboxes[i].subscribed)
			continue;
		for (const char *slash = strchr(mailboxes[i].name, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/'))
			*push_entry(s->arena, &all) = (struct list_entry){
			    .name = arena_strndup(s->arena, mailboxes[i].name,
						  (size_t)(slash - mailboxes[i].name)),
			    .children = true};
		*push_entry(s->arena, &all) =
		    (struct list_entry){.name = mailboxes[i].name, .mailbox = &mailboxes[i]};
	}
	struct list_entry *entries = all.items;
	unsigned n = all.count;
	if (n > 0)
		qsort(entries, n, sizeof(*entries), entry_cmp);
	struct strbuf line = {0};
	for (unsigned i = 0; i < n; i++) {
		struct list_entry *e = &entries[i];
		/* Merge the implied parents that follow a name. */
		unsigned j = i + 1;
		while (j < n && strcmp(entries[j].name, e->name) == 0) {
			e->children = true;
			j++;
		}
		if (j < n && strncmp(entries[j].name, e->name, strlen(e->name)) == 0 &&
		    entries[j].name[strlen(e->name)] == '/')
			e->children = true;
		i = j - 1;
		if (!pattern_match(full, e->name))
			continue;
		strbuf_reset(&line);
		strbuf_appendf(&line, "%s (", verb);
		const char *sep = "";
		if (e->mailbox == NULL) {
			strbuf_appendf(&line, "\\Noselect");
			sep = " ";
		}
		if (!lsub) {
			strbuf_appendf(&line, "%s%s", sep,
				       e->children ? "\\HasChildren" : "\\HasNoChildren");
			sep = " ";
		}
		if (e->mailbox != NULL && e->mailbox->special_use != NULL)
			strbuf_appendf(&line, "%s%s", sep, e->mailbox->special_use);
		strbuf_append(&line, ") \"/\" ", 6);
		imap_mailbox_write(s, &line, e->name);
		imap_untagged(s, "%s", line.data);
	}
	strbuf_free(&line);
	imap_tagged(s, "OK", "%s completed", verb);
}

void imap_cmd_list(struct imap_session *s, const struct imap_command *cmd)
{
	list(s, cmd, false);
}

void imap_cmd_lsub(struct imap_session *s, const struct imap_command *cmd)
{
	list(s, cmd, true);
}

void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, "OK", "NAMESPACE completed");
}

void imap_cmd_status(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count == 0) {
		imap_bad(s, "STATUS needs a mailbox name and a list of items");
		return;
	}
	if ((name = mailbox_arg(s, &cmd->args[0])) == NULL)
		return;
	struct store_mailbox mailbox;
	struct store_mailbox_status status;
	const char *error;
	int ret = store_mailbox_find(s->user.id, name, s->arena, &mailbox, db_deadline(), &error);
	if (ret == 0)
		ret = store_mailbox_status(mailbox.id, &status, db_deadline(), &error);
	if (ret < 0) {
		imap_db_error(s, error);
		return;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
		return;
	}
	struct strbuf line = {0};
	strbuf_append(&line, "STATUS ", 7);
	imap_mailbox_write(s, &line, name);
	strbuf_append(&line, " (", 2);
	for (unsigned i = 0; i < cmd->args[1].count; i++) {
		const struct imap_arg *item = &cmd->args[1].list[i];
		const char *sep = i ? " " : "";
		if (imap_arg_atom_is(item, "MESSAGES"))
			strbuf_appendf(&line, "%sMESSAGES %u", sep, status.messages);
		else if (imap_arg_atom_is(item, "UIDNEXT"))
			strbuf_appendf(&line, "%sUIDNEXT %u", sep, mailbox.uidnext);
		else if (imap_arg_atom_is(item, "UIDVALIDITY"))
			strbuf_appendf(&line, "%sUIDVALIDITY %u", sep, mailbox.uidvalidity);
		else if (imap_arg_atom_is(item, "UNSEEN"))
			strbuf_appendf(&line, "%sUNSEEN %u", sep, status.unseen);
		else if (imap_arg_atom_is(item, "DELETED"))
			strbuf_appendf(&line, "%sDELETED %u", sep, status.deleted);
		else if (imap_arg_atom_is(item, "SIZE"))
			strbuf_appendf(&line, "%sSIZE %llu", sep, (unsigned long long)status.size);
		else if (imap_arg_atom_is(item, "RECENT"))
			strbuf_appendf(&line, "%sRECENT 0", sep);
		else if (imap_arg_atom_is(item, "HIGHESTMODSEQ"))
			strbuf_appendf(&line, "%sHIGHESTMODSEQ %llu", sep,
				       (unsigned long long)mailbox.highestmodseq);
		else {
			strbuf_free(&line);
			imap_bad(s, "Unknown STATUS item");
			return;
		}
	}
	strbuf_append(&line, ")", 1);
	imap_untagged(s, "%s", line.data);
	strbuf_free(&line);
	imap_tagged(s, "OK", "STATUS completed");
}
