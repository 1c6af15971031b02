/* The SMTP server (RFC 5321): one fiber per connection on the MX (25),
 * submission (587) and SMTPS (465) listeners. Accepted messages go to the
 * queue; nothing is acknowledged with 250 before it is committed. */
#ifndef TEGU_SMTP_SERVER_H
#define TEGU_SMTP_SERVER_H

#include <openssl/ssl.h>

struct conn;
struct settings_values;

enum smtp_listener_kind {
	SMTP_LISTENER_MX,	  /* port 25: mail for local users, relay only if allowed */
	SMTP_LISTENER_SUBMISSION, /* port 587: STARTTLS, then AUTH before MAIL */
	SMTP_LISTENER_SMTPS,	  /* port 465: implicit TLS, then AUTH before MAIL */
};

struct smtp_server {
	enum smtp_listener_kind kind;
	SSL_CTX *tls; /* certificate for STARTTLS; NULL: STARTTLS not offered */
	struct settings_values *settings;
	const char *node_name;
	const char *host_name; /* when the setting serverName is empty */
};

/* The listener session function; arg is a struct smtp_server *. */
void smtp_server_session(struct conn *c, void *arg);

#endif
