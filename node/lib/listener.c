/* See listener.h. */
#include "lib/listener.h"

#include "lib/conn.h"
#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG		 1024
#define TLS_HANDSHAKE_TIMEOUT_MS 30000
#define LISTENER_STATS_MAX	 16

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *name;
	struct listener_stats stats;
} stats_table[LISTENER_STATS_MAX];
static unsigned stats_used;

struct listener_stats *listener_stats_get(const char *name)
{
	struct listener_stats *found = NULL;
	pthread_mutex_lock(&stats_lock);
	for (unsigned i = 0; i < stats_used && !found; i++)
		if (strcmp(stats_table[i].name, name) == 0)
			found = &stats_table[i].stats;
	if (!found) {
		if (stats_used == LISTENER_STATS_MAX)
			abort();
		stats_table[stats_used].name = name;
		found = &stats_table[stats_used++].stats;
	}
	pthread_mutex_unlock(&stats_lock);
	return found;
}

void listener_stats_each(void (*fn)(const char *name, const struct listener_stats *stats,
				    void *arg),
			 void *arg)
{
	pthread_mutex_lock(&stats_lock);
	unsigned used = stats_used;
	pthread_mutex_unlock(&stats_lock);
	for (unsigned i = 0; i < used; i++)
		fn(stats_table[i].name, &stats_table[i].stats, arg);
}

struct listener {
	struct io_handler handler;
	struct listener_def def;
	struct listener_stats *stats;
	int fd;
	bool closed;
};

/* What a session needs of its listener, copied at accept: the listener
 * may be freed (node stopping) before the session's fiber first runs. */
struct session_start {
	struct listener_def def;
	struct listener_stats *stats;
	struct conn *conn;
};

static void session_fiber(void *arg)
{
	struct session_start *start = arg;
	const struct listener_def def = start->def;
	struct listener_stats *stats = start->stats;
	struct conn *c = start->conn;
	free(start);
	atomic_fetch_add(&stats->active, 1);
	atomic_fetch_add(&stats->total, 1);
	bool ok = true;
	if (def.implicit_tls) {
		const char *error;
		if (conn_tls_accept(c, def.implicit_tls,
				    deadline_after_ms(TLS_HANDSHAKE_TIMEOUT_MS), &error) < 0) {
			log_debug("event=tls_failed listener=%s conn=%lu peer=%s error=\"%s\"",
				  def.name, (unsigned long)c->id, c->peer_text, error);
			ok = false;
		}
	}
	if (ok)
		def.session(c, def.arg);
	atomic_fetch_sub(&stats->active, 1);
	conn_destroy(&c);
}

static void accept_arm(struct listener *l)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &l->handler);
}

static void accept_complete(struct io_handler *handler, const struct io_uring_cqe *cqe)
{
	struct listener *l = (struct listener *)handler;
	if (cqe->res >= 0) {
		int fd = cqe->res;
		if (l->closed) {
			close(fd);
			return;
		}
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0)
			peer_len = 0;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct session_start *start = malloc(sizeof(*start));
		if (start == NULL)
			abort();
		start->def = l->def;
		start->stats = l->stats;
		start->conn = conn_create(fd, peer_len ? (struct sockaddr *)&peer : NULL, peer_len,
					  l->def.name);
		fiber_spawn(l->def.name, session_fiber, start);
	} else if (cqe->res != -ECANCELED && !l->closed) {
		/* EMFILE and friends: keep serving the connections we have. */
		log_warn("event=accept_failed listener=%s error=\"%s\"", l->def.name,
			 strerror(-cqe->res));
	}
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		if (l->closed) {
			close(l->fd);
			loop_release(loop_current());
			free(l);
		} else {
			accept_arm(l);
		}
	}
}

static void listener_stop(void *arg)
{
	struct listener *l = arg;
	l->closed = true;
	/* Cancelling the accept ends it with a final completion, after which
	 * the socket is closed and the kernel refuses new connections. */
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_cancel(sqe, &l->handler, 0);
	io_uring_sqe_set_data(sqe, NULL);
	shutdown(l->fd, SHUT_RDWR);
}

int listener_start(const struct listener_def *def, const char **error_r)
{
	int fd = socket(def->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = fiber_error_set("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (def->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&def->addr, def->addr_len) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		*error_r = fiber_error_set("bind/listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct listener *l = calloc(1, sizeof(*l));
	if (l == NULL)
		abort();
	l->handler.complete = accept_complete;
	l->def = *def;
	l->stats = listener_stats_get(def->name);
	l->fd = fd;
	accept_arm(l);
	loop_hold(loop_current());
	loop_on_stop(loop_current(), listener_stop, l);
	return 0;
}
