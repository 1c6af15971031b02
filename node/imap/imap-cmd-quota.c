/* QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA and SETQUOTA. Every user has
 * one quota root, "", holding all their mailboxes, with one resource,
 * STORAGE, in units of 1024 octets: the usage is every message's size,
 * rounded up; the limit the user's effective quota (the user's own, else
 * the domain default) as it was at login. A quota of 0 means none, and
 * then the root lists no resource. Quotas are the administrator's
 * (teguctl user set --quota), so SETQUOTA is refused. */
#include "imap/imap-session.h"

#include "lib/strbuf.h"

/* "* QUOTA "" (STORAGE used limit)". Returns 0, or -1 after answering. */
static int send_quota(struct imap_session *s)
{
	uint64_t bytes;
	const char *error;
	if (store_quota_usage(s->user.id, &bytes, deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error) <
	    0) {
		imap_db_error(s, error);
		return -1;
	}
	if (s->user.quota_mb <= 0) {
		imap_untagged(s, "QUOTA \"\" ()");
		return 0;
	}
	imap_untagged(s, "QUOTA \"\" (STORAGE %llu %llu)",
		      (unsigned long long)((bytes + 1023) / 1024),
		      (unsigned long long)s->user.quota_mb * 1024);
	return 0;
}

void imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *cmd)
{
	const char *name;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &name)) {
		imap_bad(s, "GETQUOTAROOT needs a mailbox name");
		return;
	}
	if ((name = imap_mailbox_from_client(s, name)) == NULL)
		return;
	struct store_mailbox mailbox;
	const char *error;
	int ret = store_mailbox_find(s->user.id, name, s->arena, &mailbox,
				     deadline_after_ms(IMAP_DB_TIMEOUT_MS), &error);
	if (ret < 0) {
		imap_db_error(s, error);
		return;
	}
	if (ret == 1) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such mailbox");
		return;
	}
	struct strbuf line = {0};
	strbuf_append(&line, "QUOTAROOT ", 10);
	imap_mailbox_write(s, &line, name);
	strbuf_append(&line, " \"\"", 3);
	imap_untagged(s, "%s", line.data);
	strbuf_free(&line);
	if (send_quota(s) < 0)
		return;
	imap_tagged(s, "OK", "GETQUOTAROOT completed");
}

void imap_cmd_getquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &root)) {
		imap_bad(s, "GETQUOTA needs a quota root");
		return;
	}
	if (root[0] != '\0') {
		imap_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		return;
	}
	if (send_quota(s) < 0)
		return;
	imap_tagged(s, "OK", "GETQUOTA completed");
}

void imap_cmd_setquota(struct imap_session *s, const struct imap_command *cmd)
{
	const char *root;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &root) ||
	    cmd->args[1].type != IMAP_ARG_LIST) {
		imap_bad(s, "SETQUOTA needs a quota root and a list of limits");
		return;
	}
	imap_tagged(s, "NO", "[NOPERM] Quotas are set by the administrator");
}
