/* Getting in: STARTTLS (RFC 9051 6.2.1), LOGIN (6.2.3) and AUTHENTICATE
 * PLAIN (6.2.2, RFC 4616, with SASL-IR). Passwords travel only under TLS
 * unless the peer is a full-allowed address. A login of the form
 * "user<sep>master" with the master user's password opens the user's
 * mailboxes (manual 6.2.1.22, 6.2.4). */
#include "imap/imap-session.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-reader.h"
#include "lib/arena.h"
#include "lib/sasl.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/settings.h"

#define IMAP_AUTH_TIMEOUT_MS 60000
#define IMAP_AUTH_MAX	     1024

void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd)
{
	if (cmd->count != 0) {
		imap_bad(s, "STARTTLS takes no arguments");
		return;
	}
	if (s->server->tls == NULL || s->c->ssl != NULL) {
		imap_tagged(s, "NO", "TLS not available");
		return;
	}
	imap_tagged(s, "OK", "Begin TLS negotiation now");
	if (imap_flush(s) < 0) {
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	const char *error;
	if (conn_tls_accept(s->c, s->server->tls, deadline_after_ms(IMAP_TLS_HANDSHAKE_TIMEOUT),
			    &error) < 0) {
		log_info("event=imap_tls_failed session=%s peer=%s error=\"%s\"", s->id,
			 s->c->peer_text, error);
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	s->plaintext_auth_ok = true;
}

/* Counts toward the cluster-wide ban of the client address (the ban
 * itself belongs to the protections; this is the event it counts). */
static void auth_failed(struct imap_session *s, const char *login)
{
	directory_auth_failed("imap", s->id, s->peer_ip, login);
	s->errors++;
	imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
}

static void logged_in(struct imap_session *s)
{
	const char *error;
	if (store_mailbox_ensure_defaults(s->user.id, deadline_after_ms(IMAP_DB_TIMEOUT_MS),
					  &error) < 0) {
		imap_db_error(s, error);
		return;
	}
	s->state = IMAP_STATE_AUTHENTICATED;
	log_info("event=imap_login session=%s peer=%s user=%s%s%s", s->id, s->c->peer_text,
		 s->user.address, s->master[0] ? " master=" : "", s->master);
	struct strbuf caps = {0};
	imap_capabilities(s, &caps);
	imap_tagged(s, "OK", "[CAPABILITY %s] Logged in", caps.data);
	strbuf_free(&caps);
}

/* Checks login/password, with the master-user form. */
static void check_credentials(struct imap_session *s, const char *login, const char *password)
{
	int64_t deadline = deadline_after_ms(IMAP_AUTH_TIMEOUT_MS);
	char separator[16];
	settings_get_string(s->server->settings, "masterUserSeparator", separator,
			    sizeof(separator));
	const char *sep = separator[0] ? strstr(login, separator) : NULL;
	const char *error;
	int ret;
	if (sep != NULL) {
		char target[DIRECTORY_MAX_ADDRESS];
		size_t len = (size_t)(sep - login);
		const char *master_login = sep + strlen(separator);
		struct directory_user master;
		bool is_master = false;
		if (len >= sizeof(target)) {
			auth_failed(s, login);
			return;
		}
		memcpy(target, login, len);
		target[len] = '\0';
		ret = directory_authenticate(master_login, password, deadline, &master, &error);
		if (ret == 0)
			ret = directory_user_is_master(master.id, deadline, &is_master, &error) < 0
				  ? -1
			      : is_master ? 0
					  : 1;
		if (ret == 0)
			ret = directory_find_user(target, deadline, &s->user, &error);
		if (ret == 0)
			snprintf(s->master, sizeof(s->master), "%s", master.address);
	} else {
		ret = directory_authenticate(login, password, deadline, &s->user, &error);
	}
	if (ret == 0) {
		logged_in(s);
	} else if (ret == 1) {
		memset(&s->user, 0, sizeof(s->user));
		auth_failed(s, login);
	} else {
		log_warn("event=imap_auth_error session=%s error=\"%s\"", s->id, error);
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary authentication failure");
	}
}

static bool may_send_password(struct imap_session *s)
{
	if (s->plaintext_auth_ok || s->c->ssl != NULL)
		return true;
	imap_tagged(s, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
	return false;
}

void imap_cmd_login(struct imap_session *s, const struct imap_command *cmd)
{
	const char *login, *password;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &login) ||
	    !imap_arg_astring(&cmd->args[1], &password)) {
		imap_bad(s, "LOGIN needs a user name and a password");
		return;
	}
	if (may_send_password(s))
		check_credentials(s, login, password);
}

void imap_cmd_authenticate(struct imap_session *s, const struct imap_command *cmd)
{
	const char *mechanism, *initial = NULL;
	if (cmd->count < 1 || cmd->count > 2 || !imap_arg_astring(&cmd->args[0], &mechanism) ||
	    (cmd->count == 2 && !imap_arg_astring(&cmd->args[1], &initial))) {
		imap_bad(s, "AUTHENTICATE needs a mechanism");
		return;
	}
	if (strcasecmp(mechanism, "PLAIN") != 0) {
		imap_tagged(s, "NO", "[CANNOT] Unsupported mechanism");
		return;
	}
	if (!may_send_password(s))
		return;
	if (initial == NULL) {
		/* RFC 9051 6.2.2: an empty challenge, the answer on its own line. */
		strbuf_append(&s->out, "+ \r\n", 4);
		if (imap_flush(s) < 0) {
			s->state = IMAP_STATE_LOGOUT;
			return;
		}
		const char *line;
		int n = conn_read_line(s->c, IMAP_AUTH_MAX, deadline_after_ms(IMAP_AUTH_TIMEOUT_MS),
				       &line);
		if (n <= 0) {
			s->state = IMAP_STATE_LOGOUT;
			return;
		}
		size_t len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		char *copy = arena_strndup(s->arena, line, len);
		if (strcmp(copy, "*") == 0) {
			imap_bad(s, "Authentication cancelled");
			return;
		}
		initial = copy;
	}
	unsigned char decoded[IMAP_AUTH_MAX];
	struct sasl_plain plain;
	if (sasl_plain_decode(initial, decoded, sizeof(decoded), &plain) < 0) {
		imap_bad(s, "Malformed PLAIN response");
	} else if (plain.authzid[0] != '\0' && strcmp(plain.authzid, plain.authcid) != 0) {
		/* authzid naming another user: the master-user form of PLAIN. */
		char login[2 * IMAP_AUTH_MAX + 16], separator[16];
		settings_get_string(s->server->settings, "masterUserSeparator", separator,
				    sizeof(separator));
		snprintf(login, sizeof(login), "%s%s%s", plain.authzid, separator, plain.authcid);
		check_credentials(s, login, plain.password);
	} else {
		check_credentials(s, plain.authcid, plain.password);
	}
	OPENSSL_cleanse(decoded, sizeof(decoded));
}
