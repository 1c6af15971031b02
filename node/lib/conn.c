/* See conn.h. Plain sockets use io_uring recv/send directly. Under TLS the
 * SSL object reads ciphertext from one memory BIO and writes to another;
 * this file moves bytes between those BIOs and the socket, so OpenSSL
 * never touches the fd and never blocks. */
#include "lib/conn.h"

#include "lib/fiber.h"
#include "lib/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONN_RBUF_INITIAL    4096
#define CONN_TLS_RAW	     4096
#define CONN_TLS_WRITE_CHUNK 16384

static _Thread_local struct conn *open_conns;
static _Thread_local unsigned open_count;
static atomic_uint_fast64_t next_conn_id = 1;

static void format_peer(struct conn *c)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (c->peer.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&c->peer;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
		snprintf(c->peer_text, sizeof(c->peer_text), "%s:%u", addr, port);
	} else if (c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&c->peer;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
		snprintf(c->peer_text, sizeof(c->peer_text), "[%s]:%u", addr, port);
	} else {
		snprintf(c->peer_text, sizeof(c->peer_text), "local");
	}
}

struct conn *conn_create(int fd, const struct sockaddr *peer, socklen_t peer_len,
			 const char *listener)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->fd = fd;
	c->id = atomic_fetch_add(&next_conn_id, 1);
	c->listener = listener;
	if (peer && peer_len <= sizeof(c->peer)) {
		memcpy(&c->peer, peer, peer_len);
		c->peer_len = peer_len;
	}
	format_peer(c);
	c->next = open_conns;
	if (open_conns)
		open_conns->prev = c;
	open_conns = c;
	open_count++;
	return c;
}

void conn_destroy(struct conn **cp)
{
	struct conn *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		open_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	open_count--;
	if (c->ssl)
		SSL_free(c->ssl);
	free(c->tls_in);
	free(c->tls_out);
	free(c->rbuf);
	close(c->fd);
	free(c);
}

int conn_connect(const struct sockaddr *addr, socklen_t len, int64_t deadline, struct conn **c_r)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_connect(sqe, fd, addr, len);
	int ret = loop_submit_wait(sqe, deadline);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*c_r = conn_create(fd, addr, len, "client");
	return 0;
}

static int raw_recv(struct conn *c, void *buf, size_t len, int64_t deadline)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_recv(sqe, c->fd, buf, len, 0);
	return loop_submit_wait(sqe, deadline);
}

static int raw_send_all(struct conn *c, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	while (len > 0) {
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_send(sqe, c->fd, p, len, MSG_NOSIGNAL);
		int ret = loop_submit_wait(sqe, deadline);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EPIPE;
		p += ret;
		len -= (size_t)ret;
	}
	return 0;
}

/* Sends whatever OpenSSL has written into the outgoing BIO. A reader and
 * a writer may both flush; one at a time keeps the records in order. */
static int tls_flush(struct conn *c, int64_t deadline)
{
	while (c->tls_flushing)
		if (waitq_wait(&c->tls_flush_wait, deadline) < 0)
			return -ETIMEDOUT;
	c->tls_flushing = true;
	BIO *wbio = SSL_get_wbio(c->ssl);
	size_t pending;
	int ret = 0;
	while (ret == 0 && (pending = BIO_ctrl_pending(wbio)) > 0) {
		int n = BIO_read(wbio, c->tls_out,
				 pending < CONN_TLS_RAW ? (int)pending : CONN_TLS_RAW);
		ret = n <= 0 ? -EPROTO : raw_send_all(c, c->tls_out, (size_t)n, deadline);
	}
	c->tls_flushing = false;
	waitq_wake_one(&c->tls_flush_wait);
	return ret;
}

/* Feeds one socket read of ciphertext to OpenSSL. 0 at EOF. */
static int tls_pull(struct conn *c, int64_t deadline)
{
	int n = raw_recv(c, c->tls_in, CONN_TLS_RAW, deadline);
	if (n <= 0)
		return n;
	if (BIO_write(SSL_get_rbio(c->ssl), c->tls_in, n) != n)
		return -EPROTO;
	return n;
}

static int tls_read(struct conn *c, void *buf, size_t len, int64_t deadline)
{
	for (;;) {
		ERR_clear_error();
		int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		int err = SSL_get_error(c->ssl, n);
		if (err == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (err != SSL_ERROR_WANT_READ)
			return -EPROTO;
		/* TLS 1.3 may have queued tickets or a key update to send. */
		int ret = tls_flush(c, deadline);
		if (ret < 0)
			return ret;
		ret = tls_pull(c, deadline);
		if (ret <= 0)
			return ret;
	}
}

static int tls_write(struct conn *c, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	while (len > 0) {
		size_t chunk = len < CONN_TLS_WRITE_CHUNK ? len : CONN_TLS_WRITE_CHUNK;
		ERR_clear_error();
		/* The outgoing BIO is memory: SSL_write takes the whole chunk. */
		int n = SSL_write(c->ssl, p, (int)chunk);
		if (n <= 0)
			return -EPROTO;
		int ret = tls_flush(c, deadline);
		if (ret < 0)
			return ret;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void conn_consume(struct conn *c, size_t n)
{
	c->rstart += n;
	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;
}

int conn_fill(struct conn *c, size_t max, int64_t deadline)
{
	size_t buffered = conn_buffered(c);
	if (buffered >= max)
		return -EMSGSIZE;
	if (c->rstart > 0 && (c->rend == c->rcap || c->rstart >= c->rcap / 2)) {
		memmove(c->rbuf, c->rbuf + c->rstart, buffered);
		c->rstart = 0;
		c->rend = buffered;
	}
	if (c->rend == c->rcap) {
		size_t cap = c->rcap ? c->rcap * 2 : CONN_RBUF_INITIAL;
		if (cap > max && max > c->rcap)
			cap = max;
		if (cap <= c->rcap)
			return -EMSGSIZE;
		char *grown = realloc(c->rbuf, cap);
		if (grown == NULL)
			abort();
		c->rbuf = grown;
		c->rcap = cap;
	}
	size_t space = c->rcap - c->rend;
	if (space > max - buffered)
		space = max - buffered;
	int n = c->ssl ? tls_read(c, c->rbuf + c->rend, space, deadline)
		       : raw_recv(c, c->rbuf + c->rend, space, deadline);
	if (n > 0)
		c->rend += (size_t)n;
	return n;
}

int conn_read(struct conn *c, void *buf, size_t len, int64_t deadline)
{
	if (conn_buffered(c) == 0) {
		/* Large reads go straight to the caller's buffer. */
		if (len >= CONN_RBUF_INITIAL)
			return c->ssl ? tls_read(c, buf, len, deadline)
				      : raw_recv(c, buf, len, deadline);
		int n = conn_fill(c, CONN_RBUF_INITIAL, deadline);
		if (n <= 0)
			return n;
	}
	size_t n = conn_buffered(c) < len ? conn_buffered(c) : len;
	memcpy(buf, conn_buffer(c), n);
	conn_consume(c, n);
	return (int)n;
}

int conn_read_line(struct conn *c, size_t max, int64_t deadline, const char **line_r)
{
	size_t scanned = 0;
	for (;;) {
		size_t buffered = conn_buffered(c);
		const char *start = conn_buffer(c);
		size_t limit = buffered < max ? buffered : max;
		const char *lf =
		    scanned < limit ? memchr(start + scanned, '\n', limit - scanned) : NULL;
		if (lf) {
			size_t len = (size_t)(lf - start) + 1;
			*line_r = start;
			c->rstart += len; /* not conn_consume: the line stays readable */
			return (int)len;
		}
		if (buffered >= max)
			return -EMSGSIZE;
		scanned = buffered;
		/* A line already consumed into *line_r of an earlier call may move
		 * here; callers copy what they keep before reading again. */
		if (c->rstart == c->rend)
			c->rstart = c->rend = 0;
		int n = conn_fill(c, max, deadline);
		if (n <= 0)
			return n == -EMSGSIZE ? -EMSGSIZE : n;
		scanned = scanned < conn_buffered(c) ? scanned : 0;
	}
}

int conn_write(struct conn *c, const void *buf, size_t len, int64_t deadline)
{
	return c->ssl ? tls_write(c, buf, len, deadline) : raw_send_all(c, buf, len, deadline);
}

static const char *tls_error_text(void)
{
	unsigned long code = ERR_peek_last_error();
	char text[160];
	ERR_error_string_n(code, text, sizeof(text));
	return fiber_error_set("%s", code ? text : "TLS handshake failed");
}

static int tls_start(struct conn *c, SSL_CTX *ctx, bool server, const char *sni, int64_t deadline,
		     const char **error_r)
{
	if (c->ssl) {
		*error_r = "TLS already started";
		return -EALREADY;
	}
	/* Anything the peer sent before the handshake was plaintext. */
	c->rstart = c->rend = 0;
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL) {
		*error_r = "SSL_new failed";
		return -ENOMEM;
	}
	if ((c->tls_in = malloc(CONN_TLS_RAW)) == NULL ||
	    (c->tls_out = malloc(CONN_TLS_RAW)) == NULL)
		abort();
	BIO *rbio = BIO_new(BIO_s_mem());
	BIO *wbio = BIO_new(BIO_s_mem());
	if (rbio == NULL || wbio == NULL)
		abort();
	BIO_set_mem_eof_return(rbio, -1); /* empty means "wait", not EOF */
	SSL_set_bio(c->ssl, rbio, wbio);
	if (server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (sni)
			SSL_set_tlsext_host_name(c->ssl, sni);
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_do_handshake(c->ssl);
		int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
		const char *reason =
		    err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ ? NULL : tls_error_text();
		/* Send alerts too, so the peer learns why. */
		int ret = tls_flush(c, deadline);
		if (reason) {
			*error_r = reason;
			return -EPROTO;
		}
		if (ret < 0) {
			*error_r = "connection lost during TLS handshake";
			return ret;
		}
		if (r == 1)
			return 0;
		ret = tls_pull(c, deadline);
		if (ret <= 0) {
			*error_r = ret == -ETIMEDOUT ? "TLS handshake timed out"
						     : "connection closed during TLS handshake";
			return ret == 0 ? -ECONNRESET : ret;
		}
	}
}

int conn_tls_accept(struct conn *c, SSL_CTX *ctx, int64_t deadline, const char **error_r)
{
	return tls_start(c, ctx, true, NULL, deadline, error_r);
}

int conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *sni, int64_t deadline,
		     const char **error_r)
{
	return tls_start(c, ctx, false, sni, deadline, error_r);
}

void conn_shutdown(struct conn *c)
{
	if (!c->shut) {
		c->shut = true;
		shutdown(c->fd, SHUT_RDWR);
	}
}

void conn_for_each(void (*fn)(struct conn *c, void *arg), void *arg)
{
	struct conn *next;
	for (struct conn *c = open_conns; c; c = next) {
		next = c->next;
		fn(c, arg);
	}
}

unsigned conn_count(void)
{
	return open_count;
}

SSL_CTX *conn_tls_server_ctx(const char *cert_path, const char *key_path, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Idle connections should not hold 2 x 16 KiB of record buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* No TLS 1.3 session tickets: a node keeps no session cache another
	 * node could resume from, and the tickets that arrive after the
	 * handshake trip clients that read and write from two threads
	 * (offlineimap's imaplib2 then loses the command after STARTTLS). */
	SSL_CTX_set_num_tickets(ctx, 0);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error_text();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
