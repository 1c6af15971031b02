/* Reads one IMAP command from a connection: its lines and literals, into
 * one buffer that imap_command_parse() takes as is.
 *
 * For a synchronizing literal "{n}" the reader checks n against the limit
 * and sends the continuation ("+ OK\r\n") before reading the octets; a
 * non-synchronizing "{n+}" is read straight on (LITERAL+), except that
 * with LITERAL- a non-synchronizing literal over 4096 octets is refused.
 * Only the first line tells what the command is, so the limit for APPEND's
 * message literal (the message size) applies when the first line's command
 * is APPEND (or a literal follows within an APPEND); every other literal
 * has max_literal.
 */
#ifndef TEGU_IMAP_READER_H
#define TEGU_IMAP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct strbuf;

struct imap_reader_limits {
	size_t max_line;	   /* octets of one line, CRLF included */
	size_t max_literal;	   /* a literal outside APPEND */
	size_t max_append_literal; /* a literal within APPEND: the message size limit */
	size_t max_command;	   /* all lines and literals of one command */
	bool literal_minus;	   /* LITERAL- instead of LITERAL+ */
};

enum imap_read_result {
	IMAP_READ_OK,		 /* *out holds one command */
	IMAP_READ_CLOSED,	 /* the peer closed, or I/O failed, or the deadline passed */
	/* The rest of the line was skipped: answer BAD. *out holds what was
	 * read of the command, the long line cut to its first 256 octets (for
	 * the tag). A skipped line that announced a non-synchronizing literal
	 * gives IMAP_READ_FATAL instead: its octets are on their way. */
	IMAP_READ_LINE_TOO_LONG,
	/* A synchronizing literal over its limit (or over what max_command
	 * leaves): no continuation was sent and
	 * the client will not send the octets; *out holds the command up to
	 * the literal's line (for the tag). Answer "tag NO [TOOBIG]" or BAD
	 * and go on with the next command. */
	IMAP_READ_LITERAL_TOO_BIG,
	/* A non-synchronizing literal over its limit, or the command over
	 * max_command: the octets are on their way and cannot be told from
	 * commands; answer BAD and close. */
	IMAP_READ_FATAL,
};

/* Reads one command into out (reset first). The deadline covers the whole
 * command; literals the client sends slowly do not extend it. */
enum imap_read_result imap_read_command(struct conn *c, const struct imap_reader_limits *limits,
					struct strbuf *out, int64_t deadline);

/* Whether line[0..len), one line as read (ending in CRLF, or in a bare LF,
 * which the parser refuses but which still announces the literal the
 * client will send or wait for), ends with a literal announcement "{n}",
 * "{n+}", "~{n}" or "~{n+}" right before its line ending. Then sets
 * *size_r (SIZE_MAX when n has more than 19 digits), *sync_r (false for
 * "+") and *literal8_r ("~"). What precedes the announcement is not
 * looked at: the client sends (or waits) either way. */
bool imap_line_literal(const char *line, size_t len, size_t *size_r, bool *sync_r,
		       bool *literal8_r);

#endif
