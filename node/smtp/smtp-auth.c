/* AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, only
 * over TLS. Credentials are checked by the directory; passwords are wiped
 * from memory as soon as they are checked and never logged. */
#include "smtp/smtp-session.h"

#include "lib/base64.h"
#include "lib/sasl.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define SMTP_AUTH_TIMEOUT_MS 30000
#define SMTP_AUTH_MAX	     512

/* Sends a 334 challenge and reads the client's answer into buf.
 * Returns 0, or -1 when the session ended or the client cancelled (then
 * already answered). */
static int challenge(struct smtp_session *s, const char *text, char *buf, size_t size)
{
	smtp_reply(s, 334, NULL, "%s", text);
	int n = smtp_read_line(s, buf, size, deadline_after_ms(SMTP_AUTH_TIMEOUT_MS));
	if (n == -2) {
		s->state = SMTP_STATE_QUIT;
		return -1;
	}
	if (n < 0)
		return -1;
	if (strcmp(buf, "*") == 0) {
		smtp_reply(s, 501, "5.0.0", "Authentication cancelled");
		return -1;
	}
	return 0;
}

static void check_credentials(struct smtp_session *s, const char *login, const char *password)
{
	const char *error;
	int ret = directory_authenticate(login, password, deadline_after_ms(SMTP_AUTH_TIMEOUT_MS),
					 &s->user, &error);
	if (ret == 0) {
		s->authenticated = true;
		log_info("event=smtp_auth session=%s peer=%s user=%s result=ok", s->id,
			 s->c->peer_text, s->user.address);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (ret == 1) {
		log_info("event=smtp_auth session=%s peer=%s result=failed", s->id,
			 s->c->peer_text);
		directory_auth_failed("smtp", s->id, s->peer_ip, login);
		smtp_count_error(s);
		smtp_reply(s, 535, "5.7.8", "Authentication credentials invalid");
	} else {
		log_warn("event=smtp_auth session=%s result=error error=\"%s\"", s->id, error);
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
	}
}

static void auth_plain(struct smtp_session *s, const char *initial)
{
	char line[SMTP_AUTH_MAX];
	unsigned char decoded[SMTP_AUTH_MAX];
	if (initial == NULL) {
		if (challenge(s, "", line, sizeof(line)) < 0)
			return;
		initial = line;
	}
	struct sasl_plain plain;
	if (sasl_plain_decode(initial, decoded, sizeof(decoded), &plain) < 0) {
		smtp_reply(s, 501, "5.5.2", "Malformed AUTH PLAIN response");
		smtp_count_error(s);
	} else if (plain.authzid[0] != '\0' && strcmp(plain.authzid, plain.authcid) != 0) {
		smtp_reply(s, 535, "5.7.8", "Acting as another user is not allowed");
		smtp_count_error(s);
	} else {
		check_credentials(s, plain.authcid, plain.password);
	}
	OPENSSL_cleanse(decoded, sizeof(decoded));
	OPENSSL_cleanse(line, sizeof(line));
}

static void auth_login(struct smtp_session *s, const char *initial)
{
	char line[SMTP_AUTH_MAX];
	unsigned char user[SMTP_AUTH_MAX], password[SMTP_AUTH_MAX];
	if (initial == NULL) {
		if (challenge(s, "VXNlcm5hbWU6", line, sizeof(line)) < 0) /* "Username:" */
			return;
		initial = line;
	}
	if (base64_decode_strict(initial, user, sizeof(user)) <= 0) {
		smtp_reply(s, 501, "5.5.2", "Malformed AUTH LOGIN response");
		smtp_count_error(s);
		return;
	}
	if (challenge(s, "UGFzc3dvcmQ6", line, sizeof(line)) < 0) /* "Password:" */
		return;
	if (base64_decode_strict(line, password, sizeof(password)) < 0) {
		smtp_reply(s, 501, "5.5.2", "Malformed AUTH LOGIN response");
		smtp_count_error(s);
	} else {
		check_credentials(s, (const char *)user, (const char *)password);
	}
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(line, sizeof(line));
}

void smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd)
{
	if (s->c->ssl == NULL) {
		smtp_reply(s, 538, "5.7.11",
			   "Encryption required for requested authentication mechanism");
		return;
	}
	if (s->authenticated) {
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (strcmp(cmd->arg, "PLAIN") == 0)
		auth_plain(s, cmd->auth_initial);
	else if (strcmp(cmd->arg, "LOGIN") == 0)
		auth_login(s, cmd->auth_initial);
	else
		smtp_reply(s, 504, "5.5.4", "Unrecognized authentication type");
}
