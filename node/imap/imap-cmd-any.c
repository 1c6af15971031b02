/* Commands of any state: CAPABILITY, NOOP, LOGOUT (RFC 9051 6.1), ID
 * (RFC 2971), and ENABLE (RFC 5161, with QRESYNC of RFC 7162) which needs
 * a login. */
#include "imap/imap-session.h"

#include <string.h>
#include <strings.h>

#include "lib/conn.h"
#include "lib/log.h"

void imap_capabilities(struct imap_session *s, struct strbuf *out)
{
	strbuf_appendf(out, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE");
	if (s->state == IMAP_STATE_NOT_AUTHENTICATED) {
		if (s->server->tls != NULL && s->c->ssl == NULL)
			strbuf_appendf(out, " STARTTLS");
		if (s->plaintext_auth_ok || s->c->ssl != NULL)
			strbuf_appendf(out, " AUTH=PLAIN");
		else
			strbuf_appendf(out, " LOGINDISABLED");
		return;
	}
	strbuf_appendf(out, " NAMESPACE UNSELECT SPECIAL-USE UTF8=ACCEPT STATUS=SIZE CONDSTORE"
			    " QRESYNC OBJECTID UIDPLUS MOVE");
	strbuf_appendf(out, " SORT SORT=DISPLAY ESORT QUOTA QUOTA=RES-STORAGE LIST-EXTENDED"
			    " LIST-STATUS ESEARCH SAVEDATE");
}

void imap_cmd_capability(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	struct strbuf caps = {0};
	imap_capabilities(s, &caps);
	imap_untagged(s, "CAPABILITY %s", caps.data);
	strbuf_free(&caps);
	imap_tagged(s, "OK", "CAPABILITY completed");
}

void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	if (s->state == IMAP_STATE_SELECTED && imap_select_sync(s, true) < 0)
		return;
	imap_tagged(s, "OK", "NOOP completed");
}

void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd)
{
	(void)cmd;
	imap_untagged(s, "BYE Logging out");
	imap_tagged(s, "OK", "LOGOUT completed");
	if (s->state == IMAP_STATE_SELECTED)
		imap_select_close(s);
	s->state = IMAP_STATE_LOGOUT;
}

void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd)
{
	/* RFC 2971: NIL or a list of at most 30 field/value pairs. */
	if (cmd->count != 1 || (cmd->args[0].type != IMAP_ARG_NIL &&
				(cmd->args[0].type != IMAP_ARG_LIST ||
				 cmd->args[0].count % 2 != 0 || cmd->args[0].count > 60))) {
		imap_bad(s, "ID needs NIL or a list of field/value pairs");
		return;
	}
	const struct imap_arg *list = cmd->args[0].list;
	for (unsigned i = 0; cmd->args[0].type == IMAP_ARG_LIST && i < cmd->args[0].count; i += 2) {
		const char *field, *value;
		if (!imap_arg_astring(&list[i], &field) ||
		    !imap_arg_nstring(&list[i + 1], &value)) {
			imap_bad(s, "ID needs NIL or a list of field/value pairs");
			return;
		}
		if (strcasecmp(field, "name") == 0 || strcasecmp(field, "version") == 0)
			log_info("event=imap_client_id session=%s %s=\"%.64s\"", s->id, field,
				 value != NULL ? value : "");
	}
	imap_untagged(s, "ID (\"name\" \"Tegu\" \"vendor\" \"Tegu\")");
	imap_tagged(s, "OK", "ID completed");
}

void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->count == 0) {
		imap_bad(s, "ENABLE needs capabilities");
		return;
	}
	struct strbuf enabled = {0};
	for (unsigned i = 0; i < cmd->count; i++) {
		const struct imap_arg *arg = &cmd->args[i];
		if (arg->type != IMAP_ARG_ATOM) {
			imap_bad(s, "ENABLE needs capability names");
			strbuf_free(&enabled);
			return;
		}
		bool *flag = NULL;
		if (strcasecmp(arg->str, "UTF8=ACCEPT") == 0)
			flag = &s->utf8;
		else if (strcasecmp(arg->str, "CONDSTORE") == 0)
			flag = &s->condstore;
		else if (strcasecmp(arg->str, "IMAP4rev2") == 0)
			flag = &s->rev2;
		else if (strcasecmp(arg->str, "QRESYNC") == 0)
			flag = &s->qresync;
		/* RFC 5161: only what was not enabled yet is listed. */
		if (flag != NULL && !*flag) {
			*flag = true;
			strbuf_appendf(&enabled, " %s", arg->str);
		}
	}
	/* IMAP4rev2 implies UTF-8 mailbox names (RFC 9051 6.3.1), QRESYNC
	 * implies CONDSTORE (RFC 7162 3.2.3). */
	if (s->rev2)
		s->utf8 = true;
	if (s->qresync)
		s->condstore = true;
	imap_untagged(s, "ENABLED%s", enabled.data != NULL ? enabled.data : "");
	strbuf_free(&enabled);
	imap_tagged(s, "OK", "ENABLE completed");
}
