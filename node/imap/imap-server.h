/* The IMAP server (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1): one fiber
 * per connection on port 143 (STARTTLS) and 993 (implicit TLS), over the
 * PostgreSQL mailbox store. Changes committed through any node reach the
 * sessions of every node through channel "mailbox". */
#ifndef TEGU_IMAP_SERVER_H
#define TEGU_IMAP_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>

struct conn;
struct settings_values;

struct imap_server {
	bool implicit_tls;
	SSL_CTX *tls; /* for STARTTLS; NULL: not offered */
	struct settings_values *settings;
	const char *host_name; /* when the setting serverName is empty */
};

/* The listener session function; arg is a struct imap_server *. */
void imap_server_session(struct conn *c, void *arg);

/* Per worker, before its listeners accept: subscribes the worker's
 * sessions to channel "mailbox". */
void imap_server_worker_start(void);

#endif
