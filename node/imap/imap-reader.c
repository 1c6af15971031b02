/* IMAP command reader, the contract is in imap-reader.h.
 *
 * Lines come from conn_read_line() with max_line as its limit; a line
 * that ends in a literal announcement is followed by exactly that many
 * octets, read with conn_read() in bounded chunks, and then by the next
 * line of the same command. A line over the limit is skipped through the
 * conn buffer without being kept, so a client cannot make the reader hold
 * more than max_line octets of it.
 */
#include "imap/imap-reader.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/conn.h"
#include "lib/strbuf.h"

/* RFC 7888 section 4: LITERAL- allows non-synchronizing literals up to
 * this size. */
#define IMAP_LITERAL_MINUS_MAX 4096
/* Octets of a too long line kept in *out for the tag. */
#define IMAP_LONG_LINE_KEEP 256
/* The end of a skipped line kept to see a literal announcement: "~{",
 * 19 digits, "+}", CRLF, and room for a few leading zeros. */
#define IMAP_LONG_LINE_TAIL 64

static const char imap_continuation[] = "+ OK\r\n";

bool imap_line_literal(const char *line, size_t len, size_t *size_r, bool *sync_r, bool *literal8_r)
{
	size_t end = len, digits_end, i;
	size_t size = 0;
	unsigned digits = 0;
	bool sync = true;

	if (end == 0 || line[end - 1] != '\n')
		return false;
	end--;
	if (end > 0 && line[end - 1] == '\r')
		end--;
	if (end < 3 || line[end - 1] != '}')
		return false;
	end--;
	if (line[end - 1] == '+') {
		sync = false;
		end--;
	}
	digits_end = end;
	for (i = end; i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9'; i--)
		;
	if (i == digits_end || i == 0 || line[i - 1] != '{')
		return false;
	for (size_t k = i; k < digits_end; k++) {
		if (++digits > 19) {
			size = SIZE_MAX;
			break;
		}
		size = size * 10 + (size_t)(line[k] - '0');
	}
	*size_r = size;
	*sync_r = sync;
	*literal8_r = i >= 2 && line[i - 2] == '~';
	return true;
}

/* Whether the first line of a command is "tag APPEND ...". */
static bool imap_line_is_append(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	size_t rest, n = 0;

	if (sp == NULL || sp == line)
		return false;
	sp++;
	rest = len - (size_t)(sp - line);
	while (n < rest && sp[n] != ' ' && sp[n] != '\r' && sp[n] != '\n')
		n++;
	return n == 6 && strncasecmp(sp, "APPEND", 6) == 0;
}

/* Skips the rest of a line that did not fit in max_line octets, keeping
 * its first octets in out and its last ones to see whether it announced a
 * literal. */
static enum imap_read_result imap_skip_long_line(struct conn *c,
						 const struct imap_reader_limits *limits,
						 struct strbuf *out, int64_t deadline)
{
	char tail[IMAP_LONG_LINE_TAIL];
	size_t tail_len = 0;
	size_t keep =
	    conn_buffered(c) < IMAP_LONG_LINE_KEEP ? conn_buffered(c) : IMAP_LONG_LINE_KEEP;
	size_t size;
	bool sync, literal8;

	strbuf_append(out, conn_buffer(c), keep);
	for (;;) {
		const char *buf = conn_buffer(c);
		size_t n = conn_buffered(c);
		const char *lf = memchr(buf, '\n', n);
		size_t take = lf ? (size_t)(lf - buf) + 1 : n;

		if (take >= sizeof(tail)) {
			memcpy(tail, buf + take - sizeof(tail), sizeof(tail));
			tail_len = sizeof(tail);
		} else {
			size_t drop =
			    tail_len + take > sizeof(tail) ? tail_len + take - sizeof(tail) : 0;
			memmove(tail, tail + drop, tail_len - drop);
			memcpy(tail + tail_len - drop, buf, take);
			tail_len = tail_len - drop + take;
		}
		conn_consume(c, take);
		if (lf != NULL)
			break;
		/* The buffer is empty: read in pieces of up to 4 KiB (or of
		 * the buffer the line already grew), whatever max_line is. */
		int ret = conn_fill(c, limits->max_line > 4096 ? limits->max_line : 4096, deadline);
		if (ret <= 0)
			return IMAP_READ_CLOSED;
	}
	if (imap_line_literal(tail, tail_len, &size, &sync, &literal8) && !sync)
		return IMAP_READ_FATAL;
	return IMAP_READ_LINE_TOO_LONG;
}

/* Appends size octets from the connection to out. */
static int imap_read_literal(struct conn *c, size_t size, struct strbuf *out, int64_t deadline)
{
	char buf[8192];

	while (size > 0) {
		size_t want = size < sizeof(buf) ? size : sizeof(buf);
		int n = conn_read(c, buf, want, deadline);

		if (n <= 0)
			return -1;
		strbuf_append(out, buf, (size_t)n);
		size -= (size_t)n;
	}
	return 0;
}

enum imap_read_result imap_read_command(struct conn *c, const struct imap_reader_limits *limits,
					struct strbuf *out, int64_t deadline)
{
	bool first = true, append = false;

	strbuf_reset(out);
	for (;;) {
		const char *line;
		size_t size;
		bool sync, literal8;
		int n = conn_read_line(c, limits->max_line, deadline, &line);

		if (n == -EMSGSIZE)
			return imap_skip_long_line(c, limits, out, deadline);
		if (n <= 0)
			return IMAP_READ_CLOSED;
		/* out->len <= max_command: nothing is appended beyond it. */
		if ((size_t)n > limits->max_command - out->len) {
			/* The line itself was read whole, but a literal it
			 * announces may be on its way; the command is over its
			 * limit either way. */
			return IMAP_READ_FATAL;
		}
		strbuf_append(out, line, (size_t)n);
		line = out->data + out->len - n; /* the conn's copy moves on the next read */
		if (first) {
			append = imap_line_is_append(line, (size_t)n);
			first = false;
		}
		if (!imap_line_literal(line, (size_t)n, &size, &sync, &literal8))
			return IMAP_READ_OK;

		size_t limit = append ? limits->max_append_literal : limits->max_literal;
		size_t room = limits->max_command - out->len;

		if (!sync && limits->literal_minus && size > IMAP_LITERAL_MINUS_MAX)
			return IMAP_READ_FATAL;
		if (size > limit || size > room)
			return sync ? IMAP_READ_LITERAL_TOO_BIG : IMAP_READ_FATAL;
		if (sync &&
		    conn_write(c, imap_continuation, sizeof(imap_continuation) - 1, deadline) < 0)
			return IMAP_READ_CLOSED;
		if (imap_read_literal(c, size, out, deadline) < 0)
			return IMAP_READ_CLOSED;
	}
}
