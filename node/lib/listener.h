/* TCP listeners: each worker binds its own socket to the same address
 * (SO_REUSEPORT, so the kernel spreads connections across workers) and
 * keeps one multishot accept armed. Every accepted connection runs the
 * listener's session function in a new fiber, which owns the conn. */
#ifndef TEGU_LISTENER_H
#define TEGU_LISTENER_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <sys/socket.h>

struct conn;
struct listener;

typedef void listener_session_fn(struct conn *c, void *arg);

struct listener_stats {
	atomic_long active;
	atomic_long total;
};

struct listener_def {
	const char *name; /* "http", "smtp", ...: static */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	SSL_CTX *implicit_tls; /* handshake before the session, or NULL */
	listener_session_fn *session;
	void *arg;
};

/* Connection counters per listener name, shared by all workers (created
 * on first use, never freed). */
struct listener_stats *listener_stats_get(const char *name);
void listener_stats_each(void (*fn)(const char *name, const struct listener_stats *stats,
				    void *arg),
			 void *arg);

/* Binds and starts accepting on the current loop. The listener closes
 * itself when the loop stops. Returns 0, or -1 with *error_r. */
int listener_start(const struct listener_def *def, const char **error_r);

#endif
