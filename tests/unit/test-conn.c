/* Unit tests for lib/conn over socketpairs and loopback TCP: lines (order,
 * the length limit, bytes split across writes, bare CR, NUL, EOF,
 * deadlines), whole writes of 1 MiB, buffered reads; then TLS with a
 * throwaway certificate made at runtime: lines and 1 MiB both ways, the
 * STARTTLS injection case (CVE-2011-0411), and handshakes that fail.
 *
 * cmocka's assertions longjmp, which must not happen on a fiber stack:
 * fibers record what they saw with CHECK(), and the test asserts after
 * loop_run() has returned on the thread's own stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/conn.h"
#include "lib/fiber.h"
#include "lib/loop.h"

#include "fiber-check.h"

#define MIB (1024 * 1024)

/* Reads one line and compares it with want (which may hold NULs). */
static void expect_line(int line, struct conn *c, size_t max, const char *want, size_t want_len)
{
	const char *got = NULL;
	int n = conn_read_line(c, max, soon(), &got);

	if (n < 0 || (size_t)n != want_len || memcmp(got, want, want_len) != 0)
		check_fail(line, "conn_read_line: got %d \"%.*s\", want \"%s\"", n, n > 0 ? n : 0,
			   n > 0 ? got : "", want);
}

#define EXPECT_LINE(c, max, s) expect_line(__LINE__, (c), (max), (s), sizeof(s) - 1)
#define WRITE(c, s)	       CHECK_INT(conn_write((c), (s), sizeof(s) - 1, soon()), 0)

/* The two ends of a connection: a is the "server", b the "client". */
struct pair {
	struct conn *a, *b;
};

static void pair_open(struct pair *p)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->a = conn_create(sv[0], NULL, 0, "test-a");
	p->b = conn_create(sv[1], NULL, 0, "test-b");
}

static struct loop *test_loop(void)
{
	failure[0] = '\0';
	return loop_create(0, true);
}

/* Runs the loop until no fiber is left, closes what the fibers left open,
 * destroys the loop and reports what the fibers found. */
static void run_and_check(struct loop **loop, struct pair *p)
{
	loop_run(*loop);
	conn_destroy(&p->a);
	conn_destroy(&p->b);
	loop_destroy(loop);
	assert_int_equal(fiber_live_count(), 0);
	assert_int_equal(conn_count(), 0);
	if (failure[0] != '\0')
		fail_msg("in a fiber: %s", failure);
}

/* Bytes that differ with position and direction, so data that is lost,
 * repeated or reordered does not compare equal. */
static unsigned char pattern_byte(size_t i, unsigned seed)
{
	return (unsigned char)(((i + seed) * 2654435761u) >> 13);
}

static unsigned char *pattern_new(size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len);

	if (buf == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(i, seed);
	return buf;
}

/* Reads until want bytes (want != 0) or EOF (want == 0), alternating
 * small reads (through the buffer) and large ones (straight into ours),
 * and checks every byte. Returns the count read or -errno. */
static long read_pattern(struct conn *c, size_t want, unsigned seed)
{
	static const size_t sizes[] = {1000, 70000, 1, 4096, 333};
	unsigned char *buf = malloc(70000);
	size_t total = 0;
	long ret = 0;

	if (buf == NULL)
		abort();
	for (unsigned k = 0; want == 0 || total < want; k++) {
		size_t len = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
		int n;

		if (want != 0 && len > want - total)
			len = want - total;
		n = conn_read(c, buf, len, soon());
		if (n < 0) {
			ret = n;
			break;
		}
		if (n == 0)
			break;
		CHECK((size_t)n <= len);
		for (int i = 0; i < n; i++)
			if (buf[i] != pattern_byte(total + (size_t)i, seed)) {
				check_fail(__LINE__, "byte %zu differs", total + (size_t)i);
				free(buf);
				return -EBADMSG;
			}
		total += (size_t)n;
	}
	free(buf);
	return ret < 0 ? ret : (long)total;
}

static int write_pattern(struct conn *c, size_t len, unsigned seed)
{
	unsigned char *buf = pattern_new(len, seed);
	int ret = conn_write(c, buf, len, soon());

	free(buf);
	return ret;
}

/* ==== plain connections ============================================= */

struct plain_test {
	struct pair p;
	struct waitq q;
	bool go;
	int ret;
	long count;
	int64_t elapsed;
};

static void signal_go(struct plain_test *t)
{
	t->go = true;
	waitq_wake_one(&t->q);
}

static void wait_go(struct plain_test *t)
{
	while (!t->go)
		if (waitq_wait(&t->q, soon()) != 0) {
			CHECK(!"no go signal");
			return;
		}
}

/* Spawns writer and reader fibers on a fresh pair and runs them. */
static void run_pair(fiber_fn *writer, fiber_fn *reader, struct plain_test *t)
{
	struct loop *loop = test_loop();

	pair_open(&t->p);
	fiber_spawn("writer", writer, t);
	fiber_spawn("reader", reader, t);
	run_and_check(&loop, &t->p);
}

static void lines_writer(void *arg)
{
	struct plain_test *t = arg;

	WRITE(t->p.b, "one\r\ntwo\nthree\r\n");
	WRITE(t->p.b, "four\n");
	WRITE(t->p.b, "\n");
	WRITE(t->p.b, "partial, no LF");
	conn_destroy(&t->p.b); /* EOF */
}

static void lines_reader(void *arg)
{
	struct plain_test *t = arg;
	const char *line;

	EXPECT_LINE(t->p.a, 100, "one\r\n");
	EXPECT_LINE(t->p.a, 100, "two\n");
	EXPECT_LINE(t->p.a, 100, "three\r\n");
	EXPECT_LINE(t->p.a, 100, "four\n");
	EXPECT_LINE(t->p.a, 100, "\n");
	/* EOF inside a line is still EOF, and stays EOF. */
	CHECK_INT(conn_read_line(t->p.a, 100, soon(), &line), 0);
	CHECK_INT(conn_read_line(t->p.a, 100, soon(), &line), 0);
}

static void test_read_line_in_order(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(lines_writer, lines_reader, &t);
}

static void long_writer(void *arg)
{
	struct plain_test *t = arg;

	WRITE(t->p.b, "0123456789ABCDEF\n1234567\n1234567\n");
	wait_go(t);
	WRITE(t->p.b, "x\n0123456789ABCDEFGHIJ\nend\n");
}

static void long_reader(void *arg)
{
	struct plain_test *t = arg;
	const char *line;
	char rest[64];

	/* Not enough buffered yet: conn_read_line reads up to max bytes. */
	CHECK_INT(conn_read_line(t->p.a, 8, soon(), &line), -EMSGSIZE);
	CHECK_INT(conn_read_line(t->p.a, 8, soon(), &line), -EMSGSIZE);
	/* Nothing was consumed: a larger limit gets the whole line. */
	EXPECT_LINE(t->p.a, 64, "0123456789ABCDEF\n");
	/* The limit counts the LF. */
	CHECK_INT(conn_read_line(t->p.a, 7, soon(), &line), -EMSGSIZE);
	EXPECT_LINE(t->p.a, 8, "1234567\n");
	EXPECT_LINE(t->p.a, 8, "1234567\n");

	/* Already buffered beyond the limit (read with a large one). */
	signal_go(t);
	EXPECT_LINE(t->p.a, 4096, "x\n");
	CHECK_INT(conn_read_line(t->p.a, 10, soon(), &line), -EMSGSIZE);
	CHECK_INT(conn_read(t->p.a, rest, 5, soon()), 5);
	CHECK(memcmp(rest, "01234", 5) == 0);
	EXPECT_LINE(t->p.a, 64, "56789ABCDEFGHIJ\n");
	EXPECT_LINE(t->p.a, 4, "end\n");
}

static void test_read_line_too_long(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(long_writer, long_reader, &t);
}

/* Lines of many lengths, written in pieces that end anywhere (between CR
 * and LF too), so the reader's buffer moves and grows under them. */
#define SPLIT_LINES 200

static size_t split_line_len(unsigned i)
{
	return 1 + (i * 7919u) % 3000;
}

static char split_line_byte(unsigned line, size_t i, size_t len)
{
	if (i == len - 1)
		return '\n';
	if (i == len - 2)
		return '\r';
	return (char)('a' + (line + i) % 26);
}

static char *split_text(size_t *len_r)
{
	size_t len = 0, at = 0;
	char *text;

	for (unsigned i = 0; i < SPLIT_LINES; i++)
		len += split_line_len(i);
	text = malloc(len);
	if (text == NULL)
		abort();
	for (unsigned i = 0; i < SPLIT_LINES; i++) {
		size_t line_len = split_line_len(i);

		for (size_t k = 0; k < line_len; k++)
			text[at++] = split_line_byte(i, k, line_len);
	}
	*len_r = len;
	return text;
}

static void split_writer(void *arg)
{
	struct plain_test *t = arg;
	static const char *const tiny[] = {"HEL", "LO w", "orld\r", "\n", "B",
					   "Y",	  "E",	  "\r",	    "\n"};
	size_t len, at = 0;
	char *text;

	for (size_t i = 0; i < sizeof(tiny) / sizeof(tiny[0]); i++) {
		CHECK_INT(conn_write(t->p.b, tiny[i], strlen(tiny[i]), soon()), 0);
		loop_sleep_ms(2); /* let the reader see each piece alone */
	}
	text = split_text(&len);
	for (unsigned k = 0; at < len; k++) {
		size_t chunk = 1 + (k * 131u) % 700;

		if (chunk > len - at)
			chunk = len - at;
		CHECK_INT(conn_write(t->p.b, text + at, chunk, soon()), 0);
		at += chunk;
		if (k % 5 == 0)
			fiber_yield();
	}
	free(text);
	conn_destroy(&t->p.b);
}

static void split_reader(void *arg)
{
	struct plain_test *t = arg;
	const char *line;
	size_t len, at = 0;
	char *text = split_text(&len);

	EXPECT_LINE(t->p.a, 64, "HELLO world\r\n");
	EXPECT_LINE(t->p.a, 64, "BYE\r\n");
	for (unsigned i = 0; i < SPLIT_LINES; i++) {
		size_t line_len = split_line_len(i);
		int n = conn_read_line(t->p.a, 4096, soon(), &line);

		if (n < 0 || (size_t)n != line_len || memcmp(line, text + at, line_len) != 0) {
			check_fail(__LINE__, "line %u: got %d, want %zu bytes", i, n, line_len);
			break;
		}
		at += line_len;
		t->count++;
	}
	CHECK_INT(conn_read_line(t->p.a, 4096, soon(), &line), 0);
	free(text);
}

static void test_read_line_split_writes(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(split_writer, split_reader, &t);
	assert_int_equal(t.count, SPLIT_LINES);
}

static void odd_writer(void *arg)
{
	struct plain_test *t = arg;

	WRITE(t->p.b, "abc\rdef\r\n\r\r\n\rx\n");
	WRITE(t->p.b, "a\0b\0\r\n\0\n");
}

static void odd_reader(void *arg)
{
	struct plain_test *t = arg;

	/* A CR not before the LF is data. */
	EXPECT_LINE(t->p.a, 64, "abc\rdef\r\n");
	EXPECT_LINE(t->p.a, 64, "\r\r\n");
	EXPECT_LINE(t->p.a, 64, "\rx\n");
	/* NULs are data too, and counted. */
	EXPECT_LINE(t->p.a, 64, "a\0b\0\r\n");
	EXPECT_LINE(t->p.a, 64, "\0\n");
}

static void test_read_line_cr_and_nul(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(odd_writer, odd_reader, &t);
}

static void eof_writer(void *arg)
{
	struct plain_test *t = arg;

	conn_destroy(&t->p.b);
}

static void eof_reader(void *arg)
{
	struct plain_test *t = arg;
	const char *line;
	char buf[16];

	CHECK_INT(conn_read_line(t->p.a, 64, soon(), &line), 0);
	CHECK_INT(conn_read(t->p.a, buf, sizeof(buf), soon()), 0);
	CHECK_INT(conn_fill(t->p.a, 64, soon()), 0);
}

static void test_eof(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(eof_writer, eof_reader, &t);
}

static void timeout_writer(void *arg)
{
	struct plain_test *t = arg;

	wait_go(t);
	WRITE(t->p.b, "late\r\n");
}

static void timeout_reader(void *arg)
{
	struct plain_test *t = arg;
	const char *line;
	char buf[8];
	int64_t start = time_now_ms();

	t->ret = conn_read_line(t->p.a, 64, deadline_after_ms(100), &line);
	t->elapsed = time_now_ms() - start;
	CHECK_INT(conn_read(t->p.a, buf, sizeof(buf), deadline_after_ms(20)), -ETIMEDOUT);
	/* The cancelled reads took nothing: the connection still works. */
	signal_go(t);
	EXPECT_LINE(t->p.a, 64, "late\r\n");
}

static void test_read_deadline(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(timeout_writer, timeout_reader, &t);
	assert_int_equal(t.ret, -ETIMEDOUT);
	assert_true(t.elapsed >= 100);
	assert_true(t.elapsed < 2000);
}

static void mib_writer(void *arg)
{
	struct plain_test *t = arg;

	CHECK_INT(write_pattern(t->p.b, MIB, 1), 0);
	conn_destroy(&t->p.b);
}

static void mib_reader(void *arg)
{
	struct plain_test *t = arg;

	t->count = read_pattern(t->p.a, 0, 1);
}

static void test_write_1mib(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(mib_writer, mib_reader, &t);
	assert_int_equal(t.count, MIB);
}

static void buffered_writer(void *arg)
{
	struct plain_test *t = arg;

	WRITE(t->p.b, "LINE\nrest-of-data");
	wait_go(t);
	WRITE(t->p.b, "NEW");
}

static void buffered_reader(void *arg)
{
	struct plain_test *t = arg;
	char *big = malloc(8192);
	char small[100];

	if (big == NULL)
		abort();
	EXPECT_LINE(t->p.a, 64, "LINE\n");
	CHECK_INT(conn_buffered(t->p.a), 12);
	CHECK_INT(conn_read(t->p.a, small, 4, soon()), 4);
	CHECK(memcmp(small, "rest", 4) == 0);
	/* Even a read too large for the buffer takes the buffered bytes
	 * first, and only those. */
	CHECK_INT(conn_read(t->p.a, big, 8192, soon()), 8);
	CHECK(memcmp(big, "-of-data", 8) == 0);
	CHECK_INT(conn_buffered(t->p.a), 0);
	signal_go(t);
	CHECK_INT(conn_read(t->p.a, small, sizeof(small), soon()), 3);
	CHECK(memcmp(small, "NEW", 3) == 0);
	free(big);
}

static void test_read_buffered_first(void **state)
{
	struct plain_test t = {0};

	(void)state;
	run_pair(buffered_writer, buffered_reader, &t);
}

/* Loopback TCP: conn_connect, an accepted socket with its peer address. */
struct tcp_test {
	int listen_fd;
	struct sockaddr_in addr;
	struct sockaddr_in refused;
	char client_peer[64], server_peer[64];
	int refused_ret;
	long count;
};

static void tcp_server(void *arg)
{
	struct tcp_test *t = arg;
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);
	struct conn *c;
	int fd, ret;

	ret = loop_poll(t->listen_fd, POLLIN, soon());
	CHECK(ret > 0 && (ret & POLLIN));
	fd = accept4(t->listen_fd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
	if (fd < 0) {
		CHECK(!"accept4 failed");
		return;
	}
	c = conn_create(fd, (struct sockaddr *)&peer, peer_len, "test");
	snprintf(t->server_peer, sizeof(t->server_peer), "%s", c->peer_text);
	EXPECT_LINE(c, 64, "EHLO client\r\n");
	WRITE(c, "250 ok\r\n");
	t->count = read_pattern(c, MIB, 2);
	CHECK_INT(write_pattern(c, MIB, 3), 0);
	conn_destroy(&c);
}

static void tcp_client(void *arg)
{
	struct tcp_test *t = arg;
	struct conn *c = NULL;

	t->refused_ret =
	    conn_connect((struct sockaddr *)&t->refused, sizeof(t->refused), soon(), &c);
	CHECK(c == NULL);
	CHECK_INT(conn_connect((struct sockaddr *)&t->addr, sizeof(t->addr), soon(), &c), 0);
	if (c == NULL)
		return;
	snprintf(t->client_peer, sizeof(t->client_peer), "%s", c->peer_text);
	WRITE(c, "EHLO client\r\n");
	EXPECT_LINE(c, 64, "250 ok\r\n");
	CHECK_INT(write_pattern(c, MIB, 2), 0);
	CHECK_INT(read_pattern(c, 0, 3), MIB);
	conn_destroy(&c);
}

static int bound_socket(struct sockaddr_in *addr_r, int flags)
{
	socklen_t len = sizeof(*addr_r);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

	assert_true(fd >= 0);
	*addr_r =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)addr_r, sizeof(*addr_r)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr_r, &len), 0);
	return fd;
}

static void test_tcp_loopback(void **state)
{
	struct tcp_test t = {0};
	struct pair none = {0};
	char want[64];
	struct loop *loop = test_loop();
	/* Bound and not listening: connecting to it is refused, and holding
	 * it keeps the port from being reused meanwhile. */
	int closed_fd = bound_socket(&t.refused, 0);

	(void)state;
	t.listen_fd = bound_socket(&t.addr, SOCK_NONBLOCK);
	assert_int_equal(listen(t.listen_fd, 8), 0);
	fiber_spawn("tcp-server", tcp_server, &t);
	fiber_spawn("tcp-client", tcp_client, &t);
	run_and_check(&loop, &none);
	close(t.listen_fd);
	close(closed_fd);
	assert_int_equal(t.refused_ret, -ECONNREFUSED);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(t.addr.sin_port));
	assert_string_equal(t.client_peer, want);
	assert_true(strncmp(t.server_peer, "127.0.0.1:", 10) == 0);
	assert_int_equal(t.count, MIB);
}

/* ==== TLS ============================================================ */

struct tls_fixture {
	char dir[64];
	char cert[128], key[128], other_key[128];
	SSL_CTX *server, *client;
};

static EVP_PKEY *write_key(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	FILE *file;

	if (key == NULL)
		return NULL;
	file = fopen(path, "w");
	if (file == NULL || PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL) != 1) {
		if (file != NULL)
			fclose(file);
		EVP_PKEY_free(key);
		return NULL;
	}
	fclose(file);
	return key;
}

/* A self-signed certificate for CN=localhost, valid for a day. */
static int write_cert(const char *path, EVP_PKEY *key)
{
	X509 *x509 = X509_new();
	X509_NAME *name;
	FILE *file;
	int ok;

	if (x509 == NULL)
		return -1;
	name = X509_get_subject_name(x509);
	ok = X509_set_version(x509, 2) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x509), 1) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x509), -3600) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x509), 24 * 3600) != NULL &&
	     X509_set_pubkey(x509, key) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"localhost", -1, -1, 0) == 1 &&
	     X509_set_issuer_name(x509, name) == 1 && X509_sign(x509, key, EVP_sha256()) > 0;
	if (ok) {
		file = fopen(path, "w");
		ok = file != NULL && PEM_write_X509(file, x509) == 1;
		if (file != NULL)
			fclose(file);
	}
	X509_free(x509);
	return ok ? 0 : -1;
}

static int tls_setup(void **state)
{
	struct tls_fixture *f = calloc(1, sizeof(*f));
	const char *error = NULL;
	EVP_PKEY *key, *other;

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tegu-test-conn-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	snprintf(f->other_key, sizeof(f->other_key), "%s/other-key.pem", f->dir);
	key = write_key(f->key);
	other = write_key(f->other_key);
	EVP_PKEY_free(other);
	if (key == NULL || other == NULL || write_cert(f->cert, key) != 0) {
		EVP_PKEY_free(key);
		return -1;
	}
	EVP_PKEY_free(key);

	f->server = conn_tls_server_ctx(f->cert, f->key, &error);
	if (f->server == NULL) {
		fprintf(stderr, "conn_tls_server_ctx: %s\n", error);
		return -1;
	}
	f->client = SSL_CTX_new(TLS_client_method());
	if (f->client == NULL)
		return -1;
	SSL_CTX_set_verify(f->client, SSL_VERIFY_NONE, NULL);
	return 0;
}

static int tls_teardown(void **state)
{
	struct tls_fixture *f = *state;

	if (f == NULL)
		return 0;
	SSL_CTX_free(f->server);
	SSL_CTX_free(f->client);
	unlink(f->cert);
	unlink(f->key);
	unlink(f->other_key);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_tls_server_ctx_errors(void **state)
{
	struct tls_fixture *f = *state;
	char missing[160];
	const char *error = NULL;

	snprintf(missing, sizeof(missing), "%s/missing.pem", f->dir);
	assert_null(conn_tls_server_ctx(missing, f->key, &error));
	assert_non_null(error);
	assert_true(error[0] != '\0');
	error = NULL;
	assert_null(conn_tls_server_ctx(f->cert, missing, &error));
	assert_non_null(error);
	assert_true(error[0] != '\0');
	/* A key that does not belong to the certificate. */
	error = NULL;
	assert_null(conn_tls_server_ctx(f->cert, f->other_key, &error));
	assert_non_null(error);
	assert_true(error[0] != '\0');
}

struct tls_test {
	struct tls_fixture *f;
	struct pair p;
	struct waitq q;
	bool go;
	/* What each side's handshake returned, and why it failed. error_r
	 * points into the fiber's own buffer, gone when it ends: copied. */
	int server_ret, client_ret;
	char server_error[256], client_error[256];
	long server_count, client_count;
	int64_t elapsed;
	const void *garbage;
	size_t garbage_len;
};

static void tls_signal_go(struct tls_test *t)
{
	t->go = true;
	waitq_wake_one(&t->q);
}

static void tls_wait_go(struct tls_test *t)
{
	while (!t->go)
		if (waitq_wait(&t->q, soon()) != 0) {
			CHECK(!"no go signal");
			return;
		}
}

static int tls_accept(struct tls_test *t, int64_t deadline)
{
	const char *error = NULL;

	t->server_ret = conn_tls_accept(t->p.a, t->f->server, deadline, &error);
	if (t->server_ret < 0)
		snprintf(t->server_error, sizeof(t->server_error), "%s", error ? error : "(null)");
	return t->server_ret;
}

static int tls_connect(struct tls_test *t)
{
	const char *error = NULL;

	t->client_ret = conn_tls_connect(t->p.b, t->f->client, "localhost", soon(), &error);
	if (t->client_ret < 0)
		snprintf(t->client_error, sizeof(t->client_error), "%s", error ? error : "(null)");
	return t->client_ret;
}

static void run_tls(struct tls_test *t, fiber_fn *server, fiber_fn *client)
{
	struct loop *loop = test_loop();

	t->server_ret = t->client_ret = 1;
	pair_open(&t->p);
	fiber_spawn("tls-server", server, t);
	fiber_spawn("tls-client", client, t);
	run_and_check(&loop, &t->p);
}

static void lines_server(void *arg)
{
	struct tls_test *t = arg;
	const char *line;

	if (tls_accept(t, soon()) != 0)
		return;
	CHECK(t->p.a->ssl != NULL);
	EXPECT_LINE(t->p.a, 64, "EHLO client\r\n");
	WRITE(t->p.a, "250-first\r\n250 second\r\n");
	EXPECT_LINE(t->p.a, 64, "one\r\n");
	EXPECT_LINE(t->p.a, 64, "two\r\n");
	CHECK_INT(conn_read_line(t->p.a, 4, soon(), &line), -EMSGSIZE);
	EXPECT_LINE(t->p.a, 64, "toolong\r\n");
	EXPECT_LINE(t->p.a, 64, "QUIT\r\n");
	/* The client closes without close_notify: EOF all the same. */
	CHECK_INT(conn_read_line(t->p.a, 64, soon(), &line), 0);
}

static void lines_client(void *arg)
{
	struct tls_test *t = arg;

	if (tls_connect(t) != 0) {
		conn_destroy(&t->p.b);
		return;
	}
	WRITE(t->p.b, "EHLO client\r\n");
	EXPECT_LINE(t->p.b, 64, "250-first\r\n");
	EXPECT_LINE(t->p.b, 64, "250 second\r\n");
	WRITE(t->p.b, "one\r\ntwo\r\n");
	WRITE(t->p.b, "tool");
	loop_sleep_ms(2); /* a line in two TLS records */
	WRITE(t->p.b, "ong\r\nQUIT\r\n");
	conn_destroy(&t->p.b);
}

static void test_tls_lines(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, lines_server, lines_client);
	assert_int_equal(t.server_ret, 0);
	assert_int_equal(t.client_ret, 0);
}

static void mib_server(void *arg)
{
	struct tls_test *t = arg;

	if (tls_accept(t, soon()) != 0)
		return;
	t->server_count = read_pattern(t->p.a, MIB, 4);
	CHECK_INT(write_pattern(t->p.a, MIB, 5), 0);
	EXPECT_LINE(t->p.a, 64, "BYE\r\n");
}

static void mib_client(void *arg)
{
	struct tls_test *t = arg;

	if (tls_connect(t) != 0) {
		conn_destroy(&t->p.b);
		return;
	}
	CHECK_INT(write_pattern(t->p.b, MIB, 4), 0);
	t->client_count = read_pattern(t->p.b, MIB, 5);
	WRITE(t->p.b, "BYE\r\n");
}

static void test_tls_1mib_both_ways(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, mib_server, mib_client);
	assert_int_equal(t.server_ret, 0);
	assert_int_equal(t.client_ret, 0);
	assert_int_equal(t.server_count, MIB);
	assert_int_equal(t.client_count, MIB);
}

/* CVE-2011-0411: a command pipelined after STARTTLS in the same packet
 * must not be taken as sent under TLS. */
static void starttls_server(void *arg)
{
	struct tls_test *t = arg;

	EXPECT_LINE(t->p.a, 64, "STARTTLS\r\n");
	/* The injected line arrived with STARTTLS and sits in the buffer:
	 * otherwise this test would not test anything. */
	CHECK_INT(conn_buffered(t->p.a), strlen("INJECTED\r\n"));
	tls_signal_go(t);
	if (tls_accept(t, soon()) != 0)
		return;
	EXPECT_LINE(t->p.a, 64, "EHLO under-tls\r\n");
}

static void starttls_client(void *arg)
{
	struct tls_test *t = arg;

	WRITE(t->p.b, "STARTTLS\r\nINJECTED\r\n");
	/* Our ClientHello must not arrive with the plaintext. */
	tls_wait_go(t);
	if (tls_connect(t) != 0) {
		conn_destroy(&t->p.b);
		return;
	}
	WRITE(t->p.b, "EHLO under-tls\r\n");
}

static void test_tls_starttls_injection(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, starttls_server, starttls_client);
	assert_int_equal(t.server_ret, 0);
	assert_int_equal(t.client_ret, 0);
}

/* The injected line comes after the server read STARTTLS: it reaches the
 * TLS layer as ciphertext, and the handshake fails rather than succeed. */
static void starttls_late_server(void *arg)
{
	struct tls_test *t = arg;

	EXPECT_LINE(t->p.a, 64, "STARTTLS\r\n");
	CHECK_INT(conn_buffered(t->p.a), 0);
	tls_signal_go(t);
	tls_accept(t, soon());
	conn_destroy(&t->p.a);
}

static void starttls_late_client(void *arg)
{
	struct tls_test *t = arg;

	WRITE(t->p.b, "STARTTLS\r\n");
	tls_wait_go(t);
	WRITE(t->p.b, "INJECTED\r\n");
	tls_connect(t);
}

static void test_tls_starttls_injection_late(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, starttls_late_server, starttls_late_client);
	assert_int_equal(t.server_ret, -EPROTO);
	assert_true(t.server_error[0] != '\0');
	assert_true(t.client_ret < 0);
}

/* A handshake against a peer that sends garbage fails cleanly. */
static void garbage_server(void *arg)
{
	struct tls_test *t = arg;

	tls_accept(t, soon());
	conn_destroy(&t->p.a);
}

static void garbage_client(void *arg)
{
	struct tls_test *t = arg;
	char buf[512];

	CHECK_INT(conn_write(t->p.b, t->garbage, t->garbage_len, soon()), 0);
	/* Take whatever alert comes back until the server hangs up. */
	while (conn_read(t->p.b, buf, sizeof(buf), soon()) > 0)
		;
}

static void test_tls_garbage_from_client(void **state)
{
	static const char text[] = "EHLO mail.example.org\r\nMAIL FROM:<a@example.org>\r\n";
	/* A handshake record holding a ClientHello too short to parse. */
	static const unsigned char record[] = {0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00,
					       0x00, 0x04, 0xff, 0xff, 0xff, 0xff};
	struct tls_test t = {.f = *state, .garbage = text, .garbage_len = sizeof(text) - 1};

	run_tls(&t, garbage_server, garbage_client);
	assert_int_equal(t.server_ret, -EPROTO);
	assert_true(t.server_error[0] != '\0');

	t = (struct tls_test){.f = *state, .garbage = record, .garbage_len = sizeof(record)};
	run_tls(&t, garbage_server, garbage_client);
	assert_int_equal(t.server_ret, -EPROTO);
	assert_true(t.server_error[0] != '\0');
}

static void garbage_answer_server(void *arg)
{
	struct tls_test *t = arg;
	char buf[4096];

	/* The ClientHello, answered with an SMTP banner. */
	CHECK(conn_read(t->p.a, buf, sizeof(buf), soon()) > 0);
	WRITE(t->p.a, "220 mail.example.org ESMTP not TLS at all\r\n");
	while (conn_read(t->p.a, buf, sizeof(buf), soon()) > 0)
		;
}

static void garbage_answer_client(void *arg)
{
	struct tls_test *t = arg;

	tls_connect(t);
	conn_destroy(&t->p.b);
}

static void test_tls_garbage_from_server(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, garbage_answer_server, garbage_answer_client);
	assert_int_equal(t.client_ret, -EPROTO);
	assert_true(t.client_error[0] != '\0');
}

static void silent_client(void *arg)
{
	struct tls_test *t = arg;

	tls_wait_go(t);
	conn_destroy(&t->p.b);
}

static void closed_server(void *arg)
{
	struct tls_test *t = arg;

	tls_signal_go(t); /* the client hangs up without a word */
	tls_accept(t, soon());
}

static void test_tls_peer_closes_in_handshake(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, closed_server, silent_client);
	assert_int_equal(t.server_ret, -ECONNRESET);
	assert_true(t.server_error[0] != '\0');
}

static void slow_server(void *arg)
{
	struct tls_test *t = arg;
	int64_t start = time_now_ms();

	tls_accept(t, deadline_after_ms(100));
	t->elapsed = time_now_ms() - start;
	tls_signal_go(t);
}

static void test_tls_handshake_deadline(void **state)
{
	struct tls_test t = {.f = *state};

	run_tls(&t, slow_server, silent_client);
	assert_int_equal(t.server_ret, -ETIMEDOUT);
	assert_true(t.server_error[0] != '\0');
	assert_true(t.elapsed >= 100);
	assert_true(t.elapsed < 2000);
}

int main(void)
{
	const struct CMUnitTest plain_tests[] = {
	    cmocka_unit_test(test_read_line_in_order),
	    cmocka_unit_test(test_read_line_too_long),
	    cmocka_unit_test(test_read_line_split_writes),
	    cmocka_unit_test(test_read_line_cr_and_nul),
	    cmocka_unit_test(test_eof),
	    cmocka_unit_test(test_read_deadline),
	    cmocka_unit_test(test_write_1mib),
	    cmocka_unit_test(test_read_buffered_first),
	    cmocka_unit_test(test_tcp_loopback),
	};
	const struct CMUnitTest tls_tests[] = {
	    cmocka_unit_test(test_tls_server_ctx_errors),
	    cmocka_unit_test(test_tls_lines),
	    cmocka_unit_test(test_tls_1mib_both_ways),
	    cmocka_unit_test(test_tls_starttls_injection),
	    cmocka_unit_test(test_tls_starttls_injection_late),
	    cmocka_unit_test(test_tls_garbage_from_client),
	    cmocka_unit_test(test_tls_garbage_from_server),
	    cmocka_unit_test(test_tls_peer_closes_in_handshake),
	    cmocka_unit_test(test_tls_handshake_deadline),
	};
	int failed;

	/* A runtime bug tends to hang rather than crash. */
	alarm(120);
	failed = cmocka_run_group_tests_name("conn", plain_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("conn-tls", tls_tests, tls_setup, tls_teardown);
	return failed;
}
