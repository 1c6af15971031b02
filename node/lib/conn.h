/* A network connection as protocol code sees it: buffered reads, whole
 * writes, lines with a length limit, every call with a deadline, and TLS
 * (OpenSSL over memory BIOs) switched on in place, so STARTTLS and
 * implicit TLS are the same code path.
 *
 * Return convention: >= 0 success, -errno on failure (-ETIMEDOUT when the
 * deadline passed, -ECONNRESET/-EPIPE when the peer went away, -EPROTO
 * for a TLS error, -EMSGSIZE for a line over the limit).
 *
 * One fiber may read while another writes (IMAP IDLE does), also under
 * TLS. A conn must not be destroyed while a fiber is parked in I/O on it:
 * conn_shutdown() it, let that fiber return, then conn_destroy().
 */
#ifndef TEGU_CONN_H
#define TEGU_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/loop.h"

struct conn {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_text[64]; /* "addr:port" for logs */
	uint64_t id;	    /* per process, for log lines */

	/* Plaintext input: bytes [rstart, rend) of rbuf are unread. */
	char *rbuf;
	size_t rcap, rstart, rend;

	SSL *ssl;
	char *tls_in, *tls_out; /* ciphertext scratch, one per direction */
	bool tls_flushing;	/* one fiber sends ciphertext at a time */
	struct waitq tls_flush_wait;

	/* Set by protocol code while it waits for the next command: such a
	 * connection may be closed at once when the node stops. */
	bool idle;
	bool shut;		  /* shutdown(2) was called by the node */
	struct conn *next, *prev; /* the loop's open connections */
	const char *listener;
};

/* Wraps an accepted or connected socket (takes ownership of fd) and
 * registers it with the current loop. */
struct conn *conn_create(int fd, const struct sockaddr *peer, socklen_t peer_len,
			 const char *listener);
/* Closes the socket, frees TLS state and buffers, clears *c. */
void conn_destroy(struct conn **c);

/* Connects to addr; returns 0 and *c_r or -errno. */
int conn_connect(const struct sockaddr *addr, socklen_t len, int64_t deadline, struct conn **c_r);

/* Unread buffered bytes, without reading. */
static inline size_t conn_buffered(const struct conn *c)
{
	return c->rend - c->rstart;
}
static inline const char *conn_buffer(const struct conn *c)
{
	return c->rbuf ? c->rbuf + c->rstart : ""; /* never NULL, even before the first read */
}
/* Drops n buffered bytes (n <= conn_buffered). */
void conn_consume(struct conn *c, size_t n);
/* Reads more bytes into the buffer, making room for at least up to max
 * buffered bytes in all. Returns the count read, 0 at end of stream,
 * -EMSGSIZE when max bytes are already buffered, or -errno. */
int conn_fill(struct conn *c, size_t max, int64_t deadline);
/* Reads up to len bytes (buffered first). Returns count, 0 at EOF, -errno. */
int conn_read(struct conn *c, void *buf, size_t len, int64_t deadline);
/* Reads one line ending in LF, at most max bytes including the LF. On
 * success returns its length and *line_r points into the buffer (valid
 * until the next read); the line is consumed. -EMSGSIZE when no LF came
 * within max bytes (nothing is consumed), 0 at EOF. */
int conn_read_line(struct conn *c, size_t max, int64_t deadline, const char **line_r);
/* Writes all of buf. Returns 0 or -errno. */
int conn_write(struct conn *c, const void *buf, size_t len, int64_t deadline);

/* Starts TLS on the connection as server or client and runs the
 * handshake. Unread plaintext is discarded first: bytes a client pipelined
 * after STARTTLS must not be taken as commands sent under TLS
 * (CVE-2011-0411). Returns 0 or -errno; on error *error_r says why.
 * -EALREADY when TLS was already started on the connection. */
int conn_tls_accept(struct conn *c, SSL_CTX *ctx, int64_t deadline, const char **error_r);
int conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *sni, int64_t deadline,
		     const char **error_r);

/* shutdown(2) both directions: pending and later reads return 0. */
void conn_shutdown(struct conn *c);
/* Calls fn for each open connection on the current loop. */
void conn_for_each(void (*fn)(struct conn *c, void *arg), void *arg);
unsigned conn_count(void);

/* Server TLS context from PEM certificate chain and key; NULL with
 * *error_r when they cannot be loaded. */
SSL_CTX *conn_tls_server_ctx(const char *cert_path, const char *key_path, const char **error_r);

#endif
