/* The SMTP verbs other than AUTH and the message body: greeting, the
 * envelope (MAIL, RCPT) with the relay policy, and the small ones. */
#include "smtp/smtp-session.h"

#include "lib/arena.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/settings.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define SMTP_DIRECTORY_TIMEOUT_MS     10000
#define SMTP_TLS_HANDSHAKE_TIMEOUT_MS 60000

void smtp_cmd_helo(struct smtp_session *s, const struct smtp_command *cmd)
{
	smtp_transaction_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", cmd->arg);
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	s->state = SMTP_STATE_READY;
	if (!s->esmtp) {
		smtp_reply(s, 250, NULL, "%s", s->server_name);
		return;
	}
	/* EHLO keywords (RFC 5321 4.1.1.1); no enhanced code on 250 lines
	 * of the EHLO reply: it would read as a keyword. */
	smtp_reply_continue(s, 250, "%s Hello %s [%s]", s->server_name, s->helo, s->peer_ip);
	smtp_reply_continue(s, 250, "PIPELINING");
	smtp_reply_continue(s, 250, "SIZE %llu", (unsigned long long)s->max_size);
	smtp_reply_continue(s, 250, "8BITMIME");
	smtp_reply_continue(s, 250, "SMTPUTF8");
	smtp_reply_continue(s, 250, "ENHANCEDSTATUSCODES");
	smtp_reply_continue(s, 250, "CHUNKING");
	smtp_reply_continue(s, 250, "DSN");
	if (s->server->tls && s->c->ssl == NULL)
		smtp_reply_continue(s, 250, "STARTTLS");
	/* Passwords only ever travel encrypted (RFC 4954 4). */
	if (s->c->ssl && !s->authenticated)
		smtp_reply_continue(s, 250, "AUTH PLAIN LOGIN");
	smtp_reply(s, 250, NULL, "HELP");
}

static const char *copy(struct smtp_session *s, const char *text)
{
	return text ? arena_strdup(s->arena, text) : NULL;
}

void smtp_cmd_mail(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (s->server->kind != SMTP_LISTENER_MX && !s->authenticated) {
		smtp_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (cmd->body == SMTP_BODY_BINARYMIME) {
		smtp_reply(s, 504, "5.5.4", "BODY=BINARYMIME is not supported here");
		return;
	}
	if (cmd->size > s->max_size) {
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		return;
	}
	if (!s->esmtp &&
	    (cmd->size || cmd->body || cmd->smtputf8 || cmd->ret || cmd->envid || cmd->auth)) {
		smtp_reply(s, 555, "5.5.4", "MAIL parameters need EHLO, not HELO");
		return;
	}
	if (s->authenticated) {
		/* The null sender is for notifications (DSN, MDN) a client may send. */
		bool owns = cmd->path[0] == '\0';
		const char *error;
		if (cmd->path[0] != '\0' &&
		    directory_user_has_address(s->user.id, cmd->path,
					       deadline_after_ms(SMTP_DIRECTORY_TIMEOUT_MS), &owns,
					       &error) < 0) {
			log_warn("event=smtp_directory_failed session=%s error=\"%s\"", s->id,
				 error);
			smtp_reply(s, 451, "4.3.0", "Temporary directory failure, try again later");
			return;
		}
		if (!owns) {
			smtp_reply(s, 553, "5.7.1", "<%s>: Sender address not owned by user %s",
				   cmd->path, s->user.address);
			return;
		}
	}
	s->mail = *cmd;
	s->mail.envid = copy(s, cmd->envid);
	s->mail.auth = copy(s, cmd->auth);
	s->mail.arg = NULL;
	s->mail.path = s->sender = arena_strdup(s->arena, cmd->path);
	s->state = SMTP_STATE_MAIL;
	smtp_reply(s, 250, "2.1.0", "Ok");
}

/* Whether this client may send to addresses outside our domains. */
static bool may_relay(struct smtp_session *s)
{
	if (s->authenticated)
		return true;
	if (!s->full_allowed)
		return false;
	/* Hardware (scanners, UPSes) often sends with an empty MAIL FROM. */
	return s->sender[0] != '\0' ||
	       settings_get_bool(s->server->settings, "allowEmptySenderForFullAllowed");
}

static const char *notify_text(unsigned notify)
{
	static const char *const names[16] = {
	    [SMTP_NOTIFY_NEVER] = "NEVER",
	    [SMTP_NOTIFY_SUCCESS] = "SUCCESS",
	    [SMTP_NOTIFY_FAILURE] = "FAILURE",
	    [SMTP_NOTIFY_DELAY] = "DELAY",
	    [SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE] = "SUCCESS,FAILURE",
	    [SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY] = "SUCCESS,DELAY",
	    [SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY] = "FAILURE,DELAY",
	    [SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY] =
		"SUCCESS,FAILURE,DELAY",
	};
	return names[notify & 15];
}

void smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (!s->esmtp && (cmd->notify || cmd->orcpt)) {
		smtp_reply(s, 555, "5.5.4", "RCPT parameters need EHLO, not HELO");
		return;
	}
	if (s->recipient_count >= SMTP_MAX_RECIPIENTS) {
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	enum directory_recipient kind;
	const char *error;
	/* <postmaster> comes without a domain (RFC 5321 4.5.1): the directory
	 * takes it as every local domain's postmaster. */
	const char *path = cmd->path;
	if (directory_classify_recipient(path, deadline_after_ms(SMTP_DIRECTORY_TIMEOUT_MS), &kind,
					 &error) < 0) {
		log_warn("event=smtp_directory_failed session=%s error=\"%s\"", s->id, error);
		smtp_reply(s, 451, "4.3.0", "Temporary directory failure, try again later");
		return;
	}
	if (kind == DIRECTORY_RECIPIENT_UNKNOWN) {
		smtp_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: User unknown", path);
		return;
	}
	if (kind == DIRECTORY_RECIPIENT_LOCAL) {
		enum store_quota quota;
		if (store_pg_check_quota(path, s->mail.size,
					 deadline_after_ms(SMTP_DIRECTORY_TIMEOUT_MS), &quota,
					 &error) < 0) {
			log_warn("event=smtp_quota_failed session=%s error=\"%s\"", s->id, error);
			smtp_reply(s, 451, "4.3.0", "Temporary failure, try again later");
			return;
		}
		if (quota == STORE_QUOTA_MESSAGE_TOO_BIG) {
			smtp_reply(s, 552, "5.2.2", "<%s>: Message exceeds the mailbox quota",
				   path);
			return;
		}
		if (quota == STORE_QUOTA_FULL) {
			smtp_reply(s, 452, "4.2.2", "<%s>: Mailbox full, try again later", path);
			return;
		}
	}
	if (kind == DIRECTORY_RECIPIENT_REMOTE && !may_relay(s)) {
		log_info("event=smtp_relay_denied session=%s peer=%s rcpt=<%s>", s->id,
			 s->c->peer_text, path);
		smtp_reply(s, 554, "5.7.1", "<%s>: Relay access denied", path);
		return;
	}
	for (unsigned i = 0; i < s->recipient_count; i++) {
		if (strcmp(s->recipients[i].address, path) == 0) {
			smtp_reply(s, 250, "2.1.5", "Ok");
			return; /* the same mailbox twice gets one copy */
		}
	}
	struct queue_recipient *r = &s->recipients[s->recipient_count++];
	r->address = arena_strdup(s->arena, path);
	r->remote = kind == DIRECTORY_RECIPIENT_REMOTE;
	r->dsn_notify = cmd->notify ? notify_text(cmd->notify) : NULL;
	r->dsn_orcpt = copy(s, cmd->orcpt);
	s->state = SMTP_STATE_RCPT;
	smtp_reply(s, 250, "2.1.5", "Ok");
}

void smtp_cmd_rset(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_transaction_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_noop(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_quit(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 221, "2.0.0", "%s Bye", s->server_name);
	s->state = SMTP_STATE_QUIT;
}

void smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 3.5.3: saying nothing about who exists is allowed. */
	smtp_reply(s, 252, "2.5.0",
		   "Cannot VRFY user, but will accept message and attempt delivery");
}

void smtp_cmd_expn(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 502, "5.5.1", "EXPN is not available");
}

void smtp_cmd_help(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 214, "2.0.0",
		   "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY "
		   "STARTTLS AUTH HELP; see RFC 5321");
}

void smtp_cmd_starttls(struct smtp_session *s, const struct smtp_command *cmd)
{
	(void)cmd;
	if (s->server->tls == NULL) {
		smtp_reply(s, 454, "4.7.0", "TLS not available");
		return;
	}
	if (s->c->ssl) {
		smtp_reply(s, 503, "5.5.1", "TLS already active");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (smtp_flush(s) < 0) {
		s->state = SMTP_STATE_QUIT;
		return;
	}
	const char *error;
	if (conn_tls_accept(s->c, s->server->tls, deadline_after_ms(SMTP_TLS_HANDSHAKE_TIMEOUT_MS),
			    &error) < 0) {
		log_info("event=smtp_tls_failed session=%s peer=%s error=\"%s\"", s->id,
			 s->c->peer_text, error);
		s->state = SMTP_STATE_QUIT;
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	smtp_transaction_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->state = SMTP_STATE_CONNECTED;
}
