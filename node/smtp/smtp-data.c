/* DATA body reader, the contract is in smtp-data.h.
 *
 * A byte-at-a-time state machine whose whole state lives in the reader,
 * so input may be cut anywhere and fed in pieces. A CR, a line-start dot
 * and a line-start ".CR" are held back in the state (not emitted) until
 * the next octet shows what they were: that is what makes the result the
 * same however the input is split. Only CR LF "." CR LF ends the data;
 * every other arrangement of CR, LF and dot is message content, which is
 * the whole defence against SMTP smuggling.
 */
#include "smtp/smtp-data.h"

#include <stdlib.h>

#include "smtp/smtp-parser.h"

enum smtp_data_state {
	SMTP_DATA_STATE_LINE_START, /* after a CRLF, or after the DATA command */
	SMTP_DATA_STATE_TEXT,
	SMTP_DATA_STATE_CR,	/* a CR held back: CRLF or bare CR? */
	SMTP_DATA_STATE_DOT,	/* a dot at line start held back: stuffing or end? */
	SMTP_DATA_STATE_DOT_CR, /* ".CR" at line start held back */
	SMTP_DATA_STATE_DONE,
};

/* Output is gathered here and handed to the strbuf in runs rather than
 * one call per octet. */
struct smtp_data_out {
	struct smtp_data_reader *r;
	struct strbuf *sb;
	size_t n;
	char buf[512];
};

static void smtp_data_flush(struct smtp_data_out *o)
{
	struct smtp_data_reader *r = o->r;

	if (o->n == 0)
		return;
	/* Keep only what fits below max_size, but go on counting so the
	 * session can report the size after reading to the end. */
	if (r->size < r->max_size) {
		uint64_t room = r->max_size - r->size;

		strbuf_append(o->sb, o->buf, room < o->n ? (size_t)room : o->n);
	}
	r->size = r->size > UINT64_MAX - o->n ? UINT64_MAX : r->size + o->n;
	if (r->size > r->max_size)
		r->flags |= SMTP_DATA_TOO_BIG;
	o->n = 0;
}

static void smtp_data_put(struct smtp_data_out *o, char ch)
{
	if (ch == '\0')
		o->r->flags |= SMTP_DATA_NUL;
	else if ((unsigned char)ch >= 0x80)
		o->r->flags |= SMTP_DATA_8BIT;
	if (o->n == sizeof(o->buf))
		smtp_data_flush(o);
	o->buf[o->n++] = ch;
}

/* Counts one raw octet of the current line; saturates just past the limit
 * so that the count cannot wrap on an endless line. */
static void smtp_data_count(struct smtp_data_reader *r)
{
	if (r->line_len <= SMTP_MAX_TEXT_LINE)
		r->line_len++;
	if (r->line_len > SMTP_MAX_TEXT_LINE)
		r->flags |= SMTP_DATA_LONG_LINE;
}

/* An octet inside a line; a bare LF stays content, a CR waits for the
 * next octet. */
static void smtp_data_text(struct smtp_data_reader *r, struct smtp_data_out *o, char ch)
{
	smtp_data_count(r);
	r->state = SMTP_DATA_STATE_TEXT;
	if (ch == '\r') {
		r->state = SMTP_DATA_STATE_CR;
		return;
	}
	if (ch == '\n')
		r->flags |= SMTP_DATA_BARE_LF;
	smtp_data_put(o, ch);
}

/* The held-back CR turned out not to start a CRLF. */
static void smtp_data_bare_cr(struct smtp_data_reader *r, struct smtp_data_out *o)
{
	r->flags |= SMTP_DATA_BARE_CR;
	smtp_data_put(o, '\r');
}

void smtp_data_reader_init(struct smtp_data_reader *r, uint64_t max_size)
{
	*r = (struct smtp_data_reader){.max_size = max_size, .state = SMTP_DATA_STATE_LINE_START};
}

size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len, struct strbuf *out,
		      bool *done)
{
	struct smtp_data_out o = {.r = r, .sb = out};

	*done = r->state == SMTP_DATA_STATE_DONE;
	if (*done)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		switch (r->state) {
		case SMTP_DATA_STATE_LINE_START:
			if (ch == '.') {
				smtp_data_count(r);
				r->state = SMTP_DATA_STATE_DOT;
			} else {
				smtp_data_text(r, &o, ch);
			}
			break;
		case SMTP_DATA_STATE_TEXT:
			smtp_data_text(r, &o, ch);
			break;
		case SMTP_DATA_STATE_CR:
			if (ch == '\n') {
				smtp_data_count(r);
				smtp_data_put(&o, '\r');
				smtp_data_put(&o, '\n');
				r->line_len = 0;
				r->state = SMTP_DATA_STATE_LINE_START;
			} else {
				smtp_data_bare_cr(r, &o);
				smtp_data_text(r, &o, ch);
			}
			break;
		case SMTP_DATA_STATE_DOT:
			if (ch == '\r') {
				smtp_data_count(r);
				r->state = SMTP_DATA_STATE_DOT_CR;
			} else {
				/* The dot was stuffing: it is dropped, and RFC 5321
				 * 4.5.3.1.6 does not count it toward the line limit. */
				r->line_len--;
				smtp_data_text(r, &o, ch);
			}
			break;
		case SMTP_DATA_STATE_DOT_CR:
			if (ch == '\n') {
				smtp_data_flush(&o);
				r->state = SMTP_DATA_STATE_DONE;
				*done = true;
				return i + 1;
			}
			/* ".CR" not followed by LF: a stuffed dot, then a bare CR. */
			r->line_len--;
			smtp_data_bare_cr(r, &o);
			smtp_data_text(r, &o, ch);
			break;
		default:
			/* DONE returned above; anything else is a corrupted reader. */
			abort();
		}
	}
	smtp_data_flush(&o);
	return len;
}
