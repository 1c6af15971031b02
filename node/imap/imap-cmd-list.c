/* LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC
 * 5819) and the SPECIAL-USE options (RFC 6154), and LSUB (RFC 3501
 * 6.3.9). The hierarchy separator is "/".
 *
 * Every mailbox of the user comes from one query; the names above them
 * that exist only as parents ("a" of "a/b") are added, everything is
 * sorted by name and each name is answered once. A plain LIST or LSUB
 * answers as it always has (a parent that does not exist is \Noselect);
 * the extended forms (selection options, several patterns, or RETURN)
 * call such a parent \NonExistent, and with RECURSIVEMATCH list it when
 * one of its descendants meets the selection, with CHILDINFO. */
#include "imap/imap-session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-utf7.h"
#include "lib/arena.h"

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

struct list_request {
	bool lsub;
	bool extended; /* RFC 5258 syntax was used */
	/* Selection options */
	bool select_subscribed, select_special_use, recursive;
	/* Return options; CHILDREN is always on */
	bool return_subscribed;
	const struct imap_arg *status; /* RETURN (STATUS (items)), or NULL */
	const char **patterns;	       /* reference + pattern, in the store's form */
	unsigned pattern_count;
	bool root; /* the one pattern is "": the separator is asked for */
};

/* A mailbox or a parent that exists only as part of longer names. */
struct list_entry {
	const char *name;
	const struct store_mailbox *mailbox; /* NULL: no such mailbox, only children */
	bool children;			     /* some mailbox lies below */
	bool child_selected;		     /* ... and meets the selection options */
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

/* reference + pattern as the store names mailboxes: "inbox" in any case
 * is INBOX, and modified UTF-7 is decoded unless the client uses UTF-8. */
static const char *full_pattern(struct imap_session *s, const char *reference, const char *pattern)
{
	const char *full = arena_printf(s->arena, "%s%s", reference, pattern);
	if (strncasecmp(full, "INBOX", 5) == 0 && (full[5] == '\0' || full[5] == '/'))
		full = arena_printf(s->arena, "INBOX%s", full + 5);
	if (!s->utf8) {
		struct strbuf utf8 = {0};
		if (imap_utf7_to_utf8(full, &utf8) == 0)
			full = arena_strdup(s->arena, utf8.data != NULL ? utf8.data : "");
		strbuf_free(&utf8);
	}
	return full;
}

static bool selected(const struct list_request *r, const struct store_mailbox *mailbox)
{
	return mailbox != NULL && (!r->select_subscribed || mailbox->subscribed) &&
	       (!r->select_special_use || mailbox->special_use != NULL);
}

static bool any_pattern(const struct list_request *r, const char *name)
{
	for (unsigned i = 0; i < r->pattern_count; i++)
		if (pattern_match(r->patterns[i], name))
			return true;
	return false;
}

/* Parses "[(selection)] reference pattern-or-(patterns) [RETURN (...)]"
 * (RFC 5258 section 6). Returns 0, or -1 after answering BAD. */
static int parse_request(struct imap_session *s, const struct imap_command *cmd,
			 struct list_request *r)
{
	const char *verb = r->lsub ? "LSUB" : "LIST";
	const struct imap_arg *args = cmd->args;
	unsigned count = cmd->count, i = 0;
	if (!r->lsub && count > 0 && args[0].type == IMAP_ARG_LIST) {
		r->extended = true;
		for (unsigned k = 0; k < args[0].count; k++) {
			const struct imap_arg *o = &args[0].list[k];
			if (imap_arg_atom_is(o, "SUBSCRIBED"))
				r->select_subscribed = true;
			else if (imap_arg_atom_is(o, "SPECIAL-USE"))
				r->select_special_use = true;
			else if (imap_arg_atom_is(o, "RECURSIVEMATCH"))
				r->recursive = true;
			else if (!imap_arg_atom_is(o, "REMOTE")) { /* no remote mailboxes */
				imap_bad(s, "Unknown LIST selection option");
				return -1;
			}
		}
		/* RFC 5258 3.1: RECURSIVEMATCH modifies another option. */
		if (r->recursive && !r->select_subscribed && !r->select_special_use) {
			imap_bad(s, "RECURSIVEMATCH needs another selection option");
			return -1;
		}
		r->return_subscribed = r->select_subscribed;
		i = 1;
	}
	const char *reference, *pattern;
	if (count < i + 2 || !imap_arg_astring(&args[i], &reference)) {
		imap_bad(s, "%s needs a reference and a mailbox pattern", verb);
		return -1;
	}
	const struct imap_arg *patterns = &args[i + 1];
	if (!r->lsub && patterns->type == IMAP_ARG_LIST && patterns->count > 0) {
		r->extended = true;
		r->patterns = arena_alloc(s->arena, patterns->count * sizeof(*r->patterns));
		for (unsigned k = 0; k < patterns->count; k++) {
			if (!imap_arg_astring(&patterns->list[k], &pattern)) {
				imap_bad(s, "LIST patterns must be strings");
				return -1;
			}
			r->patterns[r->pattern_count++] = full_pattern(s, reference, pattern);
		}
	} else if (imap_arg_astring(patterns, &pattern)) {
		r->patterns = arena_alloc(s->arena, sizeof(*r->patterns));
		r->patterns[r->pattern_count++] = full_pattern(s, reference, pattern);
		r->root = pattern[0] == '\0';
	} else {
		imap_bad(s, "%s needs a reference and a mailbox pattern", verb);
		return -1;
	}
	i += 2;
	if (i == count)
		return 0;
	if (r->lsub || count != i + 2 || !imap_arg_atom_is(&args[i], "RETURN") ||
	    args[i + 1].type != IMAP_ARG_LIST) {
		imap_bad(s, "Unexpected %s arguments", verb);
		return -1;
	}
	r->extended = true;
	const struct imap_arg *ret = &args[i + 1];
	for (unsigned k = 0; k < ret->count; k++) {
		const struct imap_arg *o = &ret->list[k];
		if (imap_arg_atom_is(o, "SUBSCRIBED")) {
			r->return_subscribed = true;
		} else if (imap_arg_atom_is(o, "CHILDREN") || imap_arg_atom_is(o, "SPECIAL-USE")) {
			/* Sent always, asked or not (RFC 5258 4, RFC 6154 2). */
		} else if (imap_arg_atom_is(o, "STATUS") && k + 1 < ret->count &&
			   imap_status_items_valid(&ret->list[k + 1])) {
			r->status = &ret->list[++k];
		} else {
			imap_bad(s, "Unknown or malformed LIST return option");
			return -1;
		}
	}
	return 0;
}

/* "* STATUS" after a mailbox's LIST line (RFC 5819). */
static int send_status(struct imap_session *s, const struct list_request *r,
		       const struct store_mailbox *mailbox)
{
	struct strbuf line = {0};
	const char *error;
	if (imap_status_append(s, &line, mailbox, r->status, &error) < 0) {
		strbuf_free(&line);
		imap_db_error(s, error);
		return -1;
	}
	imap_untagged(s, "%s", line.data);
	strbuf_free(&line);
	return 0;
}

static void append_attributes(struct strbuf *line, const struct list_request *r,
			      const struct list_entry *e)
{
	const char *sep = "";
	if (e->mailbox == NULL) {
		strbuf_appendf(line, "%s", r->extended ? "\\NonExistent" : "\\Noselect");
		sep = " ";
	}
	if (!r->lsub) {
		strbuf_appendf(line, "%s%s", sep,
			       e->children ? "\\HasChildren" : "\\HasNoChildren");
		sep = " ";
	}
	if (r->return_subscribed && e->mailbox != NULL && e->mailbox->subscribed) {
		strbuf_appendf(line, "%s\\Subscribed", sep);
		sep = " ";
	}
	if (e->mailbox != NULL && e->mailbox->special_use != NULL)
		strbuf_appendf(line, "%s%s", sep, e->mailbox->special_use);
}

static void list(struct imap_session *s, const struct imap_command *cmd, bool lsub)
{
	struct list_request r = {.lsub = lsub};
	if (parse_request(s, cmd, &r) < 0)
		return;
	const char *verb = lsub ? "LSUB" : "LIST";
	if (!lsub && r.root) {
		/* RFC 9051 6.3.9: the separator and the root. */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_tagged(s, "OK", "LIST completed");
		return;
	}

	struct store_mailbox *mailboxes;
	unsigned count;
	const char *error;
	if (store_mailbox_list(s->user.id, s->arena, &mailboxes, &count,
			       deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error) < 0) {
		imap_db_error(s, error);
		return;
	}
	/* Every mailbox (LSUB: every subscribed one), and every parent name
	 * above one, marked when the mailbox below meets the selection. */
	bool selective = r.select_subscribed || r.select_special_use;
	struct list_entries all = {0};
	for (unsigned i = 0; i < count; i++) {
		const struct store_mailbox *mb = &mailboxes[i];
		if (lsub && !mb->subscribed)
			continue;
		bool below = selective && selected(&r, mb);
		for (const char *slash = strchr(mb->name, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/'))
			*push_entry(s->arena, &all) = (struct list_entry){
			    .name = arena_strndup(s->arena, mb->name, (size_t)(slash - mb->name)),
			    .children = true,
			    .child_selected = below};
		*push_entry(s->arena, &all) = (struct list_entry){.name = mb->name, .mailbox = mb};
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
		for (; j < n && strcmp(entries[j].name, e->name) == 0; j++) {
			e->children |= entries[j].children;
			e->child_selected |= entries[j].child_selected;
		}
		i = j - 1;
		if (!any_pattern(&r, e->name))
			continue;
		/* RFC 5258 3: with a selection option, what meets it, and with
		 * RECURSIVEMATCH also what has a descendant that does. */
		bool childinfo = r.recursive && e->child_selected;
		if (selective && !selected(&r, e->mailbox) && !childinfo)
			continue;
		strbuf_reset(&line);
		strbuf_appendf(&line, "%s (", verb);
		append_attributes(&line, &r, e);
		strbuf_append(&line, ") \"/\" ", 6);
		imap_mailbox_write(s, &line, e->name);
		if (childinfo)
			strbuf_appendf(&line, " (\"CHILDINFO\" (%s%s%s))",
				       r.select_subscribed ? "\"SUBSCRIBED\"" : "",
				       r.select_subscribed && r.select_special_use ? " " : "",
				       r.select_special_use ? "\"SPECIAL-USE\"" : "");
		imap_untagged(s, "%s", line.data);
		if (r.status != NULL && e->mailbox != NULL && send_status(s, &r, e->mailbox) < 0) {
			strbuf_free(&line);
			return;
		}
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
