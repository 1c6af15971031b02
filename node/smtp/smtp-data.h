/* The DATA body reader (RFC 5321 4.1.1.4 and 4.5.2), pure and
 * incremental: takes the octets after "354" as they arrive, removes
 * dot-stuffing and finds the end of data.
 *
 * Only <CRLF>.<CRLF> ends the data (the CRLF before the dot may be the
 * one that ended the DATA command). A bare CR or bare LF anywhere is
 * never taken as a line end: it is recorded in flags and the session
 * rejects the whole message with 550 5.6.0 after the end of data, so
 * the published smuggling variants (<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>,
 * <CR><LF>.<LF>, ...) can never end a message early or split one into
 * two. The same for NUL octets and lines over 1000 octets. Over-size
 * messages are counted but not copied beyond max_size.
 */
#ifndef TEGU_SMTP_DATA_H
#define TEGU_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

enum smtp_data_flags {
	SMTP_DATA_BARE_CR = 1,
	SMTP_DATA_BARE_LF = 2,
	SMTP_DATA_NUL = 4,
	SMTP_DATA_LONG_LINE = 8, /* a line over SMTP_MAX_TEXT_LINE octets incl. CRLF,
				  * not counting a stuffing dot */
	SMTP_DATA_TOO_BIG = 16,	 /* more than max_size octets after unstuffing */
	SMTP_DATA_8BIT = 32,	 /* octets over 127 (informational) */
};

struct smtp_data_reader {
	uint64_t max_size;
	uint64_t size;	/* message octets seen after unstuffing, incl. beyond max */
	unsigned flags; /* enum smtp_data_flags */
	/* private state */
	int state;
	size_t line_len;
};

/* Starts a reader; the DATA command line's own CRLF counts as the start
 * of the first line. */
void smtp_data_reader_init(struct smtp_data_reader *r, uint64_t max_size);

/* Consumes octets from in[0..len): appends the message octets to out
 * (CRLF line ends kept, dots unstuffed, nothing past max_size) and
 * returns how many input octets were consumed. Sets *done and stops right
 * after the end-of-data mark; octets after it (a pipelined next command)
 * are left unconsumed. */
size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len, struct strbuf *out,
		      bool *done);

#endif
