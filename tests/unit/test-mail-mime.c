/* Unit tests for the message parser (node/mail/mail-mime.c) and the
 * ENVELOPE / BODY / BODYSTRUCTURE dumps.
 *
 * The table holds real-world shapes. Its expected strings are what Dovecot
 * 2.3 prints for the very same bytes (FETCH ENVELOPE BODYSTRUCTURE in one
 * session, FETCH BODY in another: Dovecot's output of one depends on
 * whether the other was fetched with it), so a client sees the same thing
 * from Tegu. The few places where we differ on purpose have cases of their
 * own below the table, each saying what Dovecot prints instead.
 *
 * Every parsed message is also checked for the structural promises of
 * mail-mime.h: parts nested in their parent's body, in order, offsets and
 * sizes inside the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-mime.h"

struct mime_case {
	const char *name;
	const char *msg;
	size_t msg_len;
	const char *envelope, *bodystructure, *body;
};

/* Messages are sized by sizeof, so they may hold NUL bytes. */
#define RAW(s) .msg = (s), .msg_len = sizeof(s) - 1

static const struct mime_case mime_cases[] = {
    {
	.name = "rfc3501 example envelope",
	RAW("Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
	    "From: Terry Gray <gray@cac.washington.edu>\r\n"
	    "Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
	    "To: imap@cac.washington.edu\r\n"
	    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
	    "Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	    "\r\n"
	    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"),
	.envelope = "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and "
		    "minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry "
		    "Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" "
		    "\"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL "
		    "NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" "
		    "\"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\")",
	.bodystructure =
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1)",
    },
    {
	.name = "alternative inside mixed with attachment",
	RAW("MIME-Version: 1.0\r\n"
	    "From: Alice Example <alice@example.org>\r\n"
	    "To: Bob <bob@example.net>, carol@example.net\r\n"
	    "Subject: Quarterly report\r\n"
	    "Date: Tue, 04 Mar 2025 10:15:00 +0100\r\n"
	    "Message-ID: <report-42@example.org>\r\n"
	    "Content-Type: multipart/mixed; boundary=\"----=_Part_0_1\"\r\n"
	    "\r\n"
	    "This is a multi-part message in MIME format.\r\n"
	    "------=_Part_0_1\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    "\tboundary=\"----=_Part_1_2\"\r\n"
	    "\r\n"
	    "------=_Part_1_2\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Hi Bob,\r\n"
	    "the report is attached.=20\r\n"
	    "------=_Part_1_2\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "<p>Hi Bob,</p><p>the report is attached.</p>\r\n"
	    "------=_Part_1_2--\r\n"
	    "\r\n"
	    "------=_Part_0_1\r\n"
	    "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"report.pdf\"; size=12\r\n"
	    "\r\n"
	    "JVBERi0xLjQK\r\n"
	    "------=_Part_0_1--\r\n"),
	.envelope =
	    "(\"Tue, 04 Mar 2025 10:15:00 +0100\" \"Quarterly report\" ((\"Alice Example\" "
	    "NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" "
	    "\"example.org\")) ((\"Alice Example\" NIL \"alice\" \"example.org\")) ((\"Bob\" "
	    "NIL \"bob\" \"example.net\")(NIL NIL \"carol\" \"example.net\")) NIL NIL NIL "
	    "\"<report-42@example.org>\")",
	.bodystructure =
	    "(((\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 35 1 "
	    "NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 44 0 "
	    "NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"----=_Part_1_2\") NIL NIL "
	    "NIL)(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL NIL \"base64\" 12 NIL "
	    "(\"attachment\" (\"filename\" \"report.pdf\" \"size\" \"12\")) NIL NIL) \"mixed\" "
	    "(\"boundary\" \"----=_Part_0_1\") NIL NIL NIL)",
	.body = "(((\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 35 "
		"1)(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 44 0) "
		"\"alternative\")(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL NIL "
		"\"base64\" 12) \"mixed\")",
    },
    {
	.name = "forwarded message/rfc822",
	RAW("From: Dave <dave@example.com>\r\n"
	    "To: eve@example.com\r\n"
	    "Subject: Fwd: lunch\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=fwd\r\n"
	    "\r\n"
	    "--fwd\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "See below.\r\n"
	    "--fwd\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: inline\r\n"
	    "\r\n"
	    "From: \"Frank Q. Sender\" <frank@example.org>\r\n"
	    "To: undisclosed-recipients:;\r\n"
	    "Subject: lunch\r\n"
	    "Date: Mon, 3 Mar 2025 12:00:00 +0000\r\n"
	    "Message-ID: <lunch@example.org>\r\n"
	    "In-Reply-To: <plans@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=inner\r\n"
	    "\r\n"
	    "--inner\r\n"
	    "\r\n"
	    "noon?\r\n"
	    "--inner\r\n"
	    "Content-Type: text/html\r\n"
	    "\r\n"
	    "<b>noon?</b>\r\n"
	    "--inner--\r\n"
	    "--fwd--\r\n"),
	.envelope =
	    "(NIL \"Fwd: lunch\" ((\"Dave\" NIL \"dave\" \"example.com\")) ((\"Dave\" NIL "
	    "\"dave\" \"example.com\")) ((\"Dave\" NIL \"dave\" \"example.com\")) ((NIL NIL "
	    "\"eve\" \"example.com\")) NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL "
	    "NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 349 (\"Mon, 3 Mar 2025 "
	    "12:00:00 +0000\" \"lunch\" ((\"Frank Q. Sender\" NIL \"frank\" \"example.org\")) "
	    "((\"Frank Q. Sender\" NIL \"frank\" \"example.org\")) ((\"Frank Q. Sender\" NIL "
	    "\"frank\" \"example.org\")) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL "
	    "NIL NIL)) NIL NIL \"<plans@example.org>\" \"<lunch@example.org>\") ((\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL "
	    "NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 NIL NIL "
	    "NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL) 17 NIL "
	    "(\"inline\" NIL) NIL NIL) \"mixed\" (\"boundary\" \"fwd\") NIL NIL NIL)",
	.body =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)(\"message\" "
	    "\"rfc822\" NIL NIL NIL \"7bit\" 349 (\"Mon, 3 Mar 2025 12:00:00 +0000\" "
	    "\"lunch\" ((\"Frank Q. Sender\" NIL \"frank\" \"example.org\")) ((\"Frank Q. "
	    "Sender\" NIL \"frank\" \"example.org\")) ((\"Frank Q. Sender\" NIL \"frank\" "
	    "\"example.org\")) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL "
	    "NIL)) NIL NIL \"<plans@example.org>\" \"<lunch@example.org>\") ((\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0)(\"text\" \"html\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0) \"alternative\") 17) \"mixed\")",
    },
    {
	.name = "rfc2231 continuations and charsets",
	RAW("MIME-Version: 1.0\r\n"
	    "Content-Type: application/octet-stream;\r\n"
	    " name*0*=utf-8''%E2%82%AC%20rates;\r\n"
	    " name*1*=%20for%20;\r\n"
	    " name*2=\"2025.pdf\"\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*=iso-8859-1'en'%A3%20rates.pdf;\r\n"
	    " creation-date=\"Mon, 3 Mar 2025 12:00:00 +0000\"\r\n"
	    "\r\n"
	    "AAAA\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure = "(\"application\" \"octet-stream\" (\"name*\" "
			 "\"utf-8''%E2%82%AC%20rates%20for%202025.pdf\") NIL NIL \"7bit\" 6 NIL "
			 "(\"attachment\" (\"creation-date\" \"Mon, 3 Mar 2025 12:00:00 +0000\" "
			 "\"filename*\" \"iso-8859-1'en'%A3%20rates.pdf\")) NIL NIL)",
	.body = "(\"application\" \"octet-stream\" (\"name*\" "
		"\"utf-8''%E2%82%AC%20rates%20for%202025.pdf\") NIL NIL \"7bit\" 6)",
    },
    {
	.name = "rfc2231 plain continuation",
	RAW("Content-Type: application/pdf; name*1=\"b.pdf\"; name*0=\"a\"; X=\"q\\\"uo\\\\te\"\r\n"
	    "Content-Disposition: ATTACHMENT; FileName*0*=utf-8''%e2%82%ac; filename*1*=%20x\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure = "(\"application\" \"pdf\" (\"X\" \"q\\\"uo\\\\te\" \"name\" \"ab.pdf\") "
			 "NIL NIL \"7bit\" 2 "
			 "NIL (\"ATTACHMENT\" (\"FileName*\" \"utf-8''%e2%82%ac%20x\")) NIL NIL)",
	.body = "(\"application\" \"pdf\" (\"X\" \"q\\\"uo\\\\te\" \"name\" \"ab.pdf\") NIL NIL "
		"\"7bit\" 2)",
    },
    {
	.name = "encoded-word and folded subject",
	RAW("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\r\n"
	    " =?iso-8859-1?q?M=FCnchen?=\r\n"
	    "From: =?utf-8?b?SsO2cmc=?= <joerg@example.de>\r\n"
	    "Content-Type: text/plain; charset=\"=?utf-8?q?x?=\"; name==?utf-8?q?a=20b?=\r\n"
	    "\r\n"
	    "x\r\n"),
	.envelope =
	    "(NIL {58}\r\n=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?q?M=FCnchen?= "
	    "((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.de\")) "
	    "((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.de\")) "
	    "((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.de\")) NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"=?utf-8?q?x?=\" \"name\" \"=?utf-8?q?a=20b?=\") "
	    "NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)",
	.body =
	    "(\"text\" \"plain\" (\"charset\" \"=?utf-8?q?x?=\" \"name\" \"=?utf-8?q?a=20b?=\") "
	    "NIL NIL \"7bit\" 3 1)",
    },
    {
	.name = "subject with quotes and 8-bit",
	RAW("Subject: He said \"hi\" \\o/\r\n"
	    "From: \"Q \\\"x\\\" Z\" <a@b.example>\r\n"
	    "To: \303\251l\303\250ve <eleve@example.fr>\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL {16}\r\nHe said \"hi\" \\o/ (({7}\r\nQ \"x\" Z NIL \"a\" \"b.example\")) "
		    "(({7}\r\nQ \"x\" Z NIL \"a\" \"b.example\")) (({7}\r\nQ \"x\" Z NIL \"a\" "
		    "\"b.example\")) (({7}\r\n\303\251l\303\250ve NIL \"eleve\" \"example.fr\")) "
		    "NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "missing closing boundary",
	RAW("Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
	    "\r\n"
	    "--xx\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "part one\r\n"
	    "--xx\r\n"
	    "Content-Type: text/html\r\n"
	    "\r\n"
	    "<b>two"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0 NIL NIL NIL "
	    "NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"xx\") NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0)(\"text\" "
		"\"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0) \"mixed\")",
    },
    {
	.name = "boundary never seen",
	RAW("Content-Type: multipart/mixed; boundary=zz\r\n"
	    "\r\n"
	    "no boundaries here\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL) \"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
    },
    {
	.name = "multipart without boundary parameter",
	RAW("Content-Type: multipart/mixed\r\n"
	    "\r\n"
	    "--x\r\n"
	    "\r\n"
	    "body\r\n"
	    "--x--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL) \"mixed\" NIL NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
    },
    {
	.name = "only a closing boundary",
	RAW("Content-Type: multipart/alternative; boundary=A\r\n"
	    "\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL) \"alternative\" (\"boundary\" \"A\") NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) "
		"\"alternative\")",
    },
    {
	.name = "empty parts",
	RAW("Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "--A\r\n"
	    "\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"A\") NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)(\"text\" "
		"\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
    },
    {
	.name = "header cut by boundary",
	RAW("Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "Content-Type: text/html\r\n"
	    "--A\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL NIL "
	    "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"A\") NIL "
	    "NIL NIL)",
	.body =
	    "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)(\"message\" "
	    "\"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 0) \"mixed\")",
    },
    {
	.name = "empty message",
	RAW(""),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
    },
    {
	.name = "header only, no empty line",
	RAW("From: a@b.example\r\n"
	    "Subject: no body\r\n"),
	.envelope =
	    "(NIL \"no body\" ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) "
	    "((NIL NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
    },
    {
	.name = "header only, no final line end",
	RAW("From: a@b.example"),
	.envelope =
	    "(NIL NIL ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) ((NIL "
	    "NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
    },
    {
	.name = "empty body",
	RAW("From: a@b.example\r\n"),
	.envelope =
	    "(NIL NIL ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) ((NIL "
	    "NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
    },
    {
	.name = "LF-only line ends",
	RAW("Subject: lf\n"
	    "From: a@b.example\n"
	    "Content-Type: multipart/mixed; boundary=A\n"
	    "\n"
	    "--A\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "x\n"
	    "y\n"
	    "--A\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: in\n"
	    "\n"
	    "b\n"
	    "--A--\n"),
	.envelope =
	    "(NIL \"lf\" ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) ((NIL "
	    "NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1 NIL NIL NIL "
	    "NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 16 (NIL \"in\" NIL NIL NIL NIL "
	    "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "1 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"A\") NIL "
	    "NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1)(\"message\" "
		"\"rfc822\" NIL NIL NIL \"7bit\" 16 (NIL \"in\" NIL NIL NIL NIL NIL NIL NIL "
		"NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) 2) "
		"\"mixed\")",
    },
    {
	.name = "digest defaults",
	RAW("Content-Type: multipart/digest; boundary=b\r\n"
	    "\r\n"
	    "preamble\r\n"
	    "--b\r\n"
	    "\r\n"
	    "From: x@y.example\r\n"
	    "Subject: first\r\n"
	    "\r\n"
	    "hi\r\n"
	    "--b\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "t\r\n"
	    "--b\r\n"
	    "\r\n"
	    "\r\n"
	    "--b--\r\n"
	    "epilogue\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 39 (NIL \"first\" ((NIL NIL \"x\" "
	    "\"y.example\")) ((NIL NIL \"x\" \"y.example\")) ((NIL NIL \"x\" \"y.example\")) "
	    "NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 2 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL NIL NIL)(\"message\" "
	    "\"rfc822\" NIL NIL NIL \"7bit\" 2 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL) 1 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"b\") NIL NIL NIL)",
	.body = "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 39 (NIL \"first\" ((NIL NIL \"x\" "
		"\"y.example\")) ((NIL NIL \"x\" \"y.example\")) ((NIL NIL \"x\" \"y.example\")) "
		"NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
		"\"7bit\" 2 0) 3)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 "
		"0)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 2 (NIL NIL NIL NIL NIL NIL NIL "
		"NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) "
		"1) \"digest\")",
    },
    {
	.name = "same boundary nested",
	RAW("Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "\r\n"
	    "inner\r\n"
	    "--A--\r\n"
	    "\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 66 (NIL NIL NIL NIL NIL NIL NIL "
	    "NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 "
	    "NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"A\") NIL NIL NIL) 6 NIL NIL NIL "
	    "NIL) \"mixed\" (\"boundary\" \"A\") NIL NIL NIL)",
	.body = "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 66 (NIL NIL NIL NIL NIL NIL NIL "
		"NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 "
		"0) \"mixed\") 6) \"mixed\")",
    },
    {
	.name = "boundary prefix of another",
	RAW("Content-Type: multipart/mixed; boundary=b2\r\n"
	    "\r\n"
	    "--b2\r\n"
	    "Content-Type: multipart/related; boundary=b21\r\n"
	    "\r\n"
	    "--b21\r\n"
	    "\r\n"
	    "one\r\n"
	    "--b2\r\n"
	    "\r\n"
	    "two\r\n"
	    "--b2--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL "
	    "NIL) \"related\" (\"boundary\" \"b21\") NIL NIL NIL)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL) \"mixed\" "
	    "(\"boundary\" \"b2\") NIL NIL NIL)",
	.body = "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) "
		"\"related\")(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) "
		"\"mixed\")",
    },
    {
	.name = "inner multipart not closed",
	RAW("Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A\r\n"
	    "Content-Type: multipart/mixed; boundary=B\r\n"
	    "\r\n"
	    "--B\r\n"
	    "\r\n"
	    "inner\r\n"
	    "--A\r\n"
	    "\r\n"
	    "second\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL "
	    "NIL) \"mixed\" (\"boundary\" \"B\") NIL NIL NIL)(\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 6 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" "
	    "\"A\") NIL NIL NIL)",
	.body = "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) "
		"\"mixed\")(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0) "
		"\"mixed\")",
    },
    {
	.name = "boundary lines with padding and suffix",
	RAW("Content-Type: multipart/mixed; boundary=A\r\n"
	    "\r\n"
	    "--A  \r\n"
	    "\r\n"
	    "one\r\n"
	    "--Ax\r\n"
	    "\r\n"
	    "still one?\r\n"
	    "--A--trailing\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL "
	    "NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"A\") NIL NIL NIL)",
	.body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)(\"text\" "
		"\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) \"mixed\")",
    },
    {
	.name = "Content-* without MIME-Version ignored",
	RAW("Content-Disposition: attachment; filename=\"a.txt\"\r\n"
	    "Content-Language: en\r\n"
	    "Content-ID: <x@y>\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "Content-* with MIME-Version",
	RAW("MIME-Version: 1.0\r\n"
	    "Content-Disposition: attachment\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL "
			 "(\"attachment\" NIL) NIL NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "all extension fields",
	RAW("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-ID: <id@x>\r\n"
	    "Content-Description: folded\r\n"
	    "  desc \"q\"\r\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
	    "Content-Disposition: inline; filename=\"a.txt\"\r\n"
	    "Content-Language: en (English), de-CH\r\n"
	    "Content-Location: http://x/\r\n"
	    " y\r\n"
	    "\r\n"
	    "hi"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<id@x>\" \"folded  desc \\\"q\\\"\" "
	    "\"7bit\" 2 0 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"filename\" \"a.txt\")) "
	    "(\"en\" \"de-CH\") \"http://x/ y\")",
	.body =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<id@x>\" \"folded  desc \\\"q\\\"\" "
	    "\"7bit\" 2 0)",
    },
    {
	.name = "repeated MIME fields, first wins",
	RAW("Content-Type: text/plain\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"base64\" 2 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"base64\" 2 1)",
    },
    {
	.name = "multipart extension data",
	RAW("Content-Type: multipart/mixed; boundary=A; foo=bar\r\n"
	    "Content-Disposition: inline\r\n"
	    "Content-Language: fr\r\n"
	    "Content-Location: loc\r\n"
	    "\r\n"
	    "--A\r\n"
	    "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
	    "\r\n"
	    "x\r\n"
	    "--A--\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "((\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"7bit\" 1 0 NIL NIL "
	    "NIL NIL) \"mixed\" (\"boundary\" \"A\" \"foo\" \"bar\") (\"inline\" NIL) (\"fr\") "
	    "\"loc\")",
	.body =
	    "((\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"7bit\" 1 0) \"mixed\")",
    },
    {
	.name = "message/rfc822 in base64",
	RAW("Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "RnJvbTogeEB5DQoNCmhpDQo=\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 26 (NIL NIL NIL NIL NIL NIL "
	    "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL)",
	.body = "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 26 (NIL NIL NIL NIL NIL NIL "
		"NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
		"0 0) 1)",
    },
    {
	.name = "parameter quirks",
	RAW("Content-Type: text/plain; name=\"\303\251.txt\"; empty=\"\"; bare=; dup=1; DUP=2; "
	    "novalue\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"name\" {6}\r\n\303\251.txt \"empty\" \"\" \"bare\" \"\" "
	    "\"dup\" \"1\" "
	    "\"DUP\" \"2\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL NIL NIL)",
	.body = "(\"text\" \"plain\" (\"name\" {6}\r\n\303\251.txt \"empty\" \"\" \"bare\" \"\" "
		"\"dup\" \"1\" "
		"\"DUP\" \"2\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "Outlook-style related with inline image",
	RAW("From: \"Smith, John\" <john.smith@corp.example>\r\n"
	    "To: \"Doe, Jane\" <jane.doe@corp.example>\r\n"
	    "Subject: RE: Budget\r\n"
	    "Thread-Topic: Budget\r\n"
	    "Date: Wed, 5 Mar 2025 09:00:00 +0000\r\n"
	    "Message-ID: <DB9PR01MB1234@corp.example>\r\n"
	    "Content-Language: en-US\r\n"
	    "Content-Type: multipart/related;\r\n"
	    "\tboundary=\"_004_DB9PR01MB1234_\";\r\n"
	    "\ttype=\"multipart/alternative\"\r\n"
	    "MIME-Version: 1.0\r\n"
	    "\r\n"
	    "--_004_DB9PR01MB1234_\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    "\tboundary=\"_000_DB9PR01MB1234_\"\r\n"
	    "\r\n"
	    "--_000_DB9PR01MB1234_\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "See chart.\r\n"
	    "\r\n"
	    "--_000_DB9PR01MB1234_\r\n"
	    "Content-Type: text/html; charset=\"us-ascii\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<img src=3D\"cid:image001.png@01DB\">\r\n"
	    "\r\n"
	    "--_000_DB9PR01MB1234_--\r\n"
	    "\r\n"
	    "--_004_DB9PR01MB1234_\r\n"
	    "Content-Type: image/png; name=\"image001.png\"\r\n"
	    "Content-Description: image001.png\r\n"
	    "Content-Disposition: inline; filename=\"image001.png\"; size=4;\r\n"
	    "\tcreation-date=\"Wed, 05 Mar 2025 09:00:00 GMT\"\r\n"
	    "Content-ID: <image001.png@01DB>\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "iVBO\r\n"
	    "\r\n"
	    "--_004_DB9PR01MB1234_--\r\n"),
	.envelope = "(\"Wed, 5 Mar 2025 09:00:00 +0000\" \"RE: Budget\" ((\"Smith, John\" NIL "
		    "\"john.smith\" \"corp.example\")) ((\"Smith, John\" NIL \"john.smith\" "
		    "\"corp.example\")) ((\"Smith, John\" NIL \"john.smith\" \"corp.example\")) "
		    "((\"Doe, Jane\" NIL \"jane.doe\" \"corp.example\")) NIL NIL NIL "
		    "\"<DB9PR01MB1234@corp.example>\")",
	.bodystructure =
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 12 "
	    "1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"quoted-printable\" 37 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" "
	    "\"_000_DB9PR01MB1234_\") NIL NIL NIL)(\"image\" \"png\" (\"name\" "
	    "\"image001.png\") \"<image001.png@01DB>\" \"image001.png\" \"base64\" 6 NIL "
	    "(\"inline\" (\"filename\" \"image001.png\" \"size\" \"4\" \"creation-date\" \"Wed, "
	    "05 Mar 2025 09:00:00 GMT\")) NIL NIL) \"related\" (\"boundary\" "
	    "\"_004_DB9PR01MB1234_\" \"type\" \"multipart/alternative\") NIL (\"en-US\") NIL)",
	.body = "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 12 "
		"1)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 37 "
		"1) \"alternative\")(\"image\" \"png\" (\"name\" \"image001.png\") "
		"\"<image001.png@01DB>\" \"image001.png\" \"base64\" 6) \"related\")",
    },
    {
	.name = "calendar invitation",
	RAW("From: organizer@example.com\r\n"
	    "To: attendee@example.com\r\n"
	    "Subject: Invitation: Sync\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"000000000000abc\"\r\n"
	    "\r\n"
	    "--000000000000abc\r\n"
	    "Content-Type: multipart/alternative; boundary=\"000000000000def\"\r\n"
	    "\r\n"
	    "--000000000000def\r\n"
	    "Content-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "BEGIN:VCALENDAR\r\n"
	    "END:VCALENDAR\r\n"
	    "\r\n"
	    "--000000000000def--\r\n"
	    "--000000000000abc\r\n"
	    "Content-Type: application/ics; name=\"invite.ics\"\r\n"
	    "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "QkVHSU46VkNBTEVOREFSDQo=\r\n"
	    "--000000000000abc--\r\n"),
	.envelope =
	    "(NIL \"Invitation: Sync\" ((NIL NIL \"organizer\" \"example.com\")) ((NIL NIL "
	    "\"organizer\" \"example.com\")) ((NIL NIL \"organizer\" \"example.com\")) ((NIL "
	    "NIL \"attendee\" \"example.com\")) NIL NIL NIL NIL)",
	.bodystructure =
	    "(((\"text\" \"calendar\" (\"charset\" \"UTF-8\" \"method\" \"REQUEST\") NIL NIL "
	    "\"7bit\" 32 2 NIL NIL NIL NIL) \"alternative\" (\"boundary\" "
	    "\"000000000000def\") NIL NIL NIL)(\"application\" \"ics\" (\"name\" "
	    "\"invite.ics\") NIL NIL \"base64\" 24 NIL (\"attachment\" (\"filename\" "
	    "\"invite.ics\")) NIL NIL) \"mixed\" (\"boundary\" \"000000000000abc\") NIL NIL "
	    "NIL)",
	.body = "(((\"text\" \"calendar\" (\"charset\" \"UTF-8\" \"method\" \"REQUEST\") NIL NIL "
		"\"7bit\" 32 2) \"alternative\")(\"application\" \"ics\" (\"name\" \"invite.ics\") "
		"NIL NIL \"base64\" 24) \"mixed\")",
    },
    {
	.name = "address oddities in the envelope",
	RAW("From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n"
	    "To:A Group(Some people)\r\n"
	    "     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	    "         joe@example.org,\r\n"
	    "  John <jdoe@one.test> (my dear friend); (the end of the group)\r\n"
	    "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\r\n"
	    "Bcc: \"quoted\\\"local\"@dom.example, <@route,@r2:x@y.example>, a.b.c@d.example "
	    "(comment (nested))\r\n"
	    "Reply-To: \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\r\n"
	    "Sender: foo\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope =
	    "(NIL NIL ((\"Pete\" NIL \"pete\" \"silly.test\")) ((NIL NIL \"foo\" "
	    "\"MISSING_DOMAIN\")) (({16}\r\nGiant; \"Big\" Box NIL \"sysservices\" "
	    "\"example.net\")) ((NIL NIL \"A Group\" NIL)(\"Chris Jones\" NIL \"c\" "
	    "\"public.example\")(NIL NIL \"joe\" \"example.org\")(\"John\" NIL \"jdoe\" "
	    "\"one.test\")(NIL NIL NIL NIL)) ((NIL NIL \"Hidden recipients\" NIL)(NIL "
	    "NIL NIL NIL)) ((NIL NIL \"quoted\\\"local\" \"dom.example\")(NIL \"@route,@r2\" "
	    "\"x\" \"y.example\")(\"comment (nested)\" NIL \"a.b.c\" \"d.example\")) NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "repeated envelope fields",
	RAW("Subject: first\r\n"
	    "Subject: second\r\n"
	    "From: x@y.example\r\n"
	    "From: z@w.example\r\n"
	    "Message-ID:\r\n"
	    " <folded@id.example>\r\n"
	    "Date: Mon, 7 Feb 1994\r\n"
	    " 21:52:25 -0800\r\n"
	    "Subject:   lead and trail   \r\n"
	    "\r\n"
	    "\r\n"),
	.envelope =
	    "(\"Mon, 7 Feb 1994 21:52:25 -0800\" {14}\r\nlead and trail ((NIL NIL \"x\" "
	    "\"y.example\")(NIL NIL \"z\" \"w.example\")) ((NIL NIL \"x\" \"y.example\")(NIL "
	    "NIL \"z\" \"w.example\")) ((NIL NIL \"x\" \"y.example\")(NIL NIL \"z\" "
	    "\"w.example\")) NIL NIL NIL NIL \" <folded@id.example>\")",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 1)",
    },
    {
	.name = "empty subject and NUL",
	RAW("Subject: a\000b\r\n"
	    "In-Reply-To: <a@b> <c@d>\r\n"
	    "\r\n"
	    "x\000\r\n"),
	.envelope = "(NIL {5}\r\na\357\277\275b NIL NIL NIL NIL NIL NIL \"<a@b> <c@d>\" NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1)",
    },
    {
	.name = "bare CR in header and body",
	RAW("Subject: a\rb\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "x\ry\r\n"),
	.envelope = "(NIL {3}\r\na b NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure =
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL "
	    "NIL)",
	.body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1)",
    },
    {
	.name = "rfc2231 parameters sorted after plain ones",
	RAW("Content-Type: application/pdf; x*=utf-8''%41; f*0=\"p1\"; f*1=\"p2\"; q=1;\r\n"
	    " Z=2; m*1*=b; m*0*=utf-8''a\r\n"
	    "\r\n"
	    "\r\n"),
	.envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	.bodystructure = "(\"application\" \"pdf\" (\"q\" \"1\" \"Z\" \"2\" \"f\" \"p1p2\" \"m*\" "
			 "\"utf-8''ab\" \"x*\" "
			 "\"utf-8''%41\") NIL NIL \"7bit\" 2 NIL NIL NIL NIL)",
	.body = "(\"application\" \"pdf\" (\"q\" \"1\" \"Z\" \"2\" \"f\" \"p1p2\" \"m*\" "
		"\"utf-8''ab\" \"x*\" "
		"\"utf-8''%41\") NIL NIL \"7bit\" 2)",
    },
};

/* Our own choices where Dovecot 2.3.19 prints something else. */
static const struct mime_case deviation_cases[] = {
    /* RFC 2045 section 5.2: an invalid Content-Type means the default.
     * Dovecot: ("" "" NIL NIL NIL "7bit" 3 NIL NIL NIL NIL). */
    {.name = "invalid Content-Type is text/plain",
     RAW("MIME-Version: 1.0\r\n"
	 "Content-Type: garbage; charset=utf-8\r\n"
	 "\r\n"
	 "x\r\n"),
     .envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
     .bodystructure = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL "
		      "NIL NIL)",
     .body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)"},
    /* An unquoted value runs to a blank or ';', '=' included, as the
     * sender meant. Dovecot cuts the boundary at '=' ("----"), so the
     * closing line "------=_Part_7--" opens a second, empty part. */
    {.name = "unquoted boundary with '='",
     RAW("Content-Type: multipart/mixed; boundary=----=_Part_7\r\n"
	 "\r\n"
	 "------=_Part_7\r\n"
	 "Content-Type: text/plain\r\n"
	 "\r\n"
	 "x\r\n"
	 "------=_Part_7--\r\n"),
     .envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
     .bodystructure =
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL "
	 "NIL NIL) \"mixed\" (\"boundary\" \"----=_Part_7\") NIL NIL NIL)",
     .body = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")"},
    /* An unencoded RFC 2231 section joined to an encoded one is
     * %-encoded, so the joined value still decodes. Dovecot appends it
     * raw: "utf-8''%E2%82%AC b%.pdf". */
    {.name = "rfc2231 unencoded section after an encoded one",
     RAW("Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=\" b%.pdf\"\r\n"
	 "\r\n"),
     .envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
     .bodystructure = "(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20b%25.pdf\") NIL "
		      "NIL \"7bit\" 0 NIL NIL NIL NIL)",
     .body = "(\"application\" \"pdf\" (\"name*\" \"utf-8''%E2%82%AC%20b%25.pdf\") NIL NIL "
	     "\"7bit\" 0)"},
    /* A parameter without '=' is dropped alone. Dovecot drops the one
     * after it too: ("a" "1" "c" "3" "charset" "us-ascii"). An empty
     * attribute is dropped; Dovecot keeps it as "" "x". */
    {.name = "parameter without a value",
     RAW("Content-Type: text/plain; a=1; novalue; b=2; =x; c=3\r\n"
	 "\r\n"),
     .envelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
     .bodystructure = "(\"text\" \"plain\" (\"a\" \"1\" \"b\" \"2\" \"c\" \"3\" \"charset\" "
		      "\"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)",
     .body = "(\"text\" \"plain\" (\"a\" \"1\" \"b\" \"2\" \"c\" \"3\" \"charset\" "
	     "\"us-ascii\") NIL NIL \"7bit\" 0 0)"},
    /* Empty list elements are skipped (RFC 5322 obs-addr-list); ';'
     * outside a group separates like ','. Dovecot prints a
     * (NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN") for each empty element
     * and drops what follows a stray ';'. */
    {.name = "empty address list elements",
     RAW("To: , ,x@y.example,\r\n"
	 "Cc: a@b.example; c@d.example\r\n"
	 "\r\n"),
     .envelope = "(NIL NIL NIL NIL NIL ((NIL NIL \"x\" \"y.example\")) ((NIL NIL \"a\" "
		 "\"b.example\")(NIL NIL \"c\" \"d.example\")) NIL NIL NIL)",
     .bodystructure = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL "
		      "NIL NIL)",
     .body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"},
};

static void check_part(const struct mail_mime_part *p, size_t lo, size_t hi)
{
	assert_true(p->offset >= lo);
	assert_int_equal(p->body_offset, p->offset + p->header_size);
	assert_true(p->body_offset + p->body_size <= hi);
	assert_true(p->header_vsize >= p->header_size);
	assert_true(p->body_vsize >= p->body_size);
	assert_true(p->body_vsize - p->body_size <= p->body_lines);
	assert_true(p->body_lines <= p->body_size);
	assert_non_null(p->type);
	assert_non_null(p->subtype);

	size_t end = p->body_offset + p->body_size, prev = p->body_offset;
	unsigned n = 0;
	for (const struct mail_mime_part *c = p->children; c != NULL; c = c->next) {
		assert_ptr_equal(c->parent, p);
		assert_int_equal(c->depth, p->depth + 1);
		check_part(c, prev, end);
		prev = c->body_offset + c->body_size;
		n++;
	}
	assert_int_equal(n, p->child_count);
	if (p->flags & MAIL_MIME_PART_MESSAGE) {
		/* The enclosed message is the whole body. */
		assert_int_equal(p->child_count, 1);
		assert_non_null(p->children->envelope);
		assert_int_equal(p->children->offset, p->body_offset);
		assert_int_equal(p->children->body_offset + p->children->body_size, end);
	}
	if (p->child_count > 0)
		assert_true(p->flags & (MAIL_MIME_PART_MULTIPART | MAIL_MIME_PART_MESSAGE));
}

static struct mail_structure *parse(struct arena *arena, const char *msg, size_t len,
				    const struct mail_mime_limits *limits)
{
	struct mail_structure *st;
	const char *error = NULL;

	assert_int_equal(mail_structure_parse(arena, msg, len, limits, &st, &error), 0);
	assert_null(error);
	assert_non_null(st->root);
	assert_ptr_equal(st->envelope, st->root->envelope);
	assert_int_equal(st->size, len);
	assert_int_equal(st->root->offset, 0);
	check_part(st->root, 0, len);
	return st;
}

static void expect_dump(const char *name, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		print_error("%s: %s\n got: %s\nwant: %s\n", name, what, got, want);
		fail();
	}
}

static void run_cases(const struct mime_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct mime_case *c = &cases[i];
		struct arena *arena = arena_create(4096);
		struct strbuf sb = {0};
		/* An exact-size heap copy, so ASan sees any read past the end. */
		char *msg = malloc(c->msg_len > 0 ? c->msg_len : 1);

		assert_non_null(msg);
		memcpy(msg, c->msg, c->msg_len);
		struct mail_structure *st = parse(arena, msg, c->msg_len, NULL);
		/* The result must not need the message any more. */
		memset(msg, 'Z', c->msg_len);
		free(msg);

		mail_envelope_dump(&sb, st->envelope);
		expect_dump(c->name, "ENVELOPE", sb.data, c->envelope);
		strbuf_reset(&sb);
		mail_mime_dump(&sb, st->root, true);
		expect_dump(c->name, "BODYSTRUCTURE", sb.data, c->bodystructure);
		strbuf_reset(&sb);
		mail_mime_dump(&sb, st->root, false);
		expect_dump(c->name, "BODY", sb.data, c->body);
		assert_int_equal(st->problems, 0);
		strbuf_free(&sb);
		arena_destroy(&arena);
	}
}

static void test_mime_dovecot_cases(void **state)
{
	(void)state;
	run_cases(mime_cases, sizeof(mime_cases) / sizeof(mime_cases[0]));
}

static void test_mime_deviations(void **state)
{
	(void)state;
	run_cases(deviation_cases, sizeof(deviation_cases) / sizeof(deviation_cases[0]));
}

static const struct mime_case *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(mime_cases) / sizeof(mime_cases[0]); i++) {
		if (strcmp(mime_cases[i].name, name) == 0)
			return &mime_cases[i];
	}
	fail_msg("no case %s", name);
	return NULL;
}

/* The part at an IMAP-like path of 1-based child numbers ("2.1"). */
static const struct mail_mime_part *part_at(const struct mail_mime_part *p, const char *path)
{
	while (*path != '\0') {
		unsigned n = (unsigned)strtoul(path, (char **)&path, 10);
		if (*path == '.')
			path++;
		p = p->children;
		while (p != NULL && --n > 0)
			p = p->next;
		assert_non_null(p);
	}
	return p;
}

static void expect_bytes(const char *msg, size_t offset, size_t size, const char *want)
{
	assert_int_equal(size, strlen(want));
	assert_memory_equal(msg + offset, want, size);
}

static void test_mime_offsets(void **state)
{
	(void)state;
	const struct mime_case *c = find_case("alternative inside mixed with attachment");
	struct arena *arena = arena_create(4096);
	struct mail_structure *st = parse(arena, c->msg, c->msg_len, NULL);
	const struct mail_mime_part *p;

	assert_int_equal(st->part_count, 5);
	p = part_at(st->root, "1.1");
	expect_bytes(c->msg, p->body_offset, p->body_size, "Hi Bob,\r\nthe report is attached.=20");
	assert_string_equal(p->charset, "UTF-8");
	assert_string_equal(p->encoding, "quoted-printable");
	p = part_at(st->root, "1.2");
	expect_bytes(c->msg, p->body_offset, p->body_size,
		     "<p>Hi Bob,</p><p>the report is attached.</p>");
	p = part_at(st->root, "2");
	expect_bytes(c->msg, p->body_offset, p->body_size, "JVBERi0xLjQK");
	expect_bytes(c->msg, p->offset, p->header_size,
		     "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
		     "Content-Transfer-Encoding: base64\r\n"
		     "Content-Disposition: attachment; filename=\"report.pdf\"; size=12\r\n"
		     "\r\n");
	assert_string_equal(p->disposition, "attachment");
	assert_int_equal(p->disposition_param_count, 2);
	assert_null(p->charset);
	/* The inner multipart runs from its header to the end of its
	 * epilogue, the line end before the outer boundary excluded. */
	p = part_at(st->root, "1");
	assert_true(p->flags & MAIL_MIME_PART_MULTIPART);
	assert_int_equal(c->msg[p->body_offset + p->body_size], '\r');
	assert_memory_equal(c->msg + p->body_offset + p->body_size, "\r\n------=_Part_0_1\r\n", 19);
	arena_destroy(&arena);

	/* The forwarded message: the rfc822 part's body is the whole inner
	 * message, whose own root holds its envelope. */
	c = find_case("forwarded message/rfc822");
	arena = arena_create(4096);
	st = parse(arena, c->msg, c->msg_len, NULL);
	p = part_at(st->root, "2");
	assert_true(p->flags & MAIL_MIME_PART_MESSAGE);
	assert_memory_equal(c->msg + p->body_offset, "From: \"Frank Q. Sender\"", 23);
	/* The closing boundary line keeps its line end: the CRLF before
	 * "--fwd--" was taken by it. */
	assert_memory_equal(c->msg + p->body_offset + p->body_size - 11, "--inner--\r\n", 11);
	assert_string_equal(p->children->envelope->subject, "lunch");
	assert_string_equal(p->children->envelope->to.first->mailbox, "undisclosed-recipients");
	p = part_at(st->root, "2.1.2");
	expect_bytes(c->msg, p->body_offset, p->body_size, "<b>noon?</b>");
	arena_destroy(&arena);
}

static void test_mime_lf_sizes(void **state)
{
	(void)state;
	const struct mime_case *c = find_case("LF-only line ends");
	struct arena *arena = arena_create(4096);
	struct mail_structure *st = parse(arena, c->msg, c->msg_len, NULL);
	const struct mail_mime_part *p = part_at(st->root, "1");
	size_t lfs = 0;

	for (size_t i = 0; i < c->msg_len; i++)
		lfs += c->msg[i] == '\n';
	/* Octets as stored, IMAP's CRLF size beside them. */
	assert_int_equal(st->vsize, c->msg_len + lfs);
	expect_bytes(c->msg, p->body_offset, p->body_size, "x\ny");
	assert_int_equal(p->body_vsize, 4);
	assert_int_equal(p->body_lines, 1);
	assert_int_equal(st->root->header_vsize - st->root->header_size, 4);
	arena_destroy(&arena);
}

/* count multiparts nested in each other, each with one part. */
static char *nested_multiparts(unsigned count, size_t *len_r)
{
	struct strbuf sb = {0};

	for (unsigned i = 0; i < count; i++)
		strbuf_appendf(&sb, "Content-Type: multipart/mixed; boundary=b%u\r\n\r\n--b%u\r\n",
			       i, i);
	strbuf_appendf(&sb, "\r\nleaf\r\n");
	for (unsigned i = count; i > 0; i--)
		strbuf_appendf(&sb, "--b%u--\r\n", i - 1);
	*len_r = sb.len;
	return sb.data;
}

static void test_mime_depth_limit(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct mail_mime_limits limits = mail_mime_default_limits;
	struct strbuf sb = {0};
	size_t len;
	char *msg = nested_multiparts(3, &len);

	limits.max_depth = 2;
	struct mail_structure *st = parse(arena, msg, len, &limits);
	assert_int_equal(st->problems, MAIL_STRUCTURE_DEPTH_LIMIT);
	assert_non_null(st->problem);
	/* The third multipart, at depth 2, is kept whole as one leaf. */
	const struct mail_mime_part *p = part_at(st->root, "1.1");
	assert_true(p->flags & MAIL_MIME_PART_OPAQUE);
	assert_string_equal(p->type, "multipart");
	mail_mime_dump(&sb, st->root, false);
	assert_string_equal(sb.data,
			    "(((\"application\" \"octet-stream\" (\"boundary\" \"b2\") NIL NIL "
			    "\"7bit\" 20) \"mixed\") \"mixed\")");
	strbuf_free(&sb);
	free(msg);

	/* The default limit, 40 deep: no crash, depth 32 at most. */
	msg = nested_multiparts(40, &len);
	st = parse(arena, msg, len, NULL);
	assert_true(st->problems & MAIL_STRUCTURE_DEPTH_LIMIT);
	p = st->root;
	while (p->children != NULL)
		p = p->children;
	assert_int_equal(p->depth, MAIL_MIME_MAX_DEPTH);
	assert_true(p->flags & MAIL_MIME_PART_OPAQUE);
	free(msg);

	/* message/rfc822 nesting counts too. */
	struct strbuf deep = {0};
	for (int i = 0; i < 50; i++)
		strbuf_appendf(&deep, "Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n",
			       i);
	st = parse(arena, deep.data, deep.len, NULL);
	assert_true(st->problems & MAIL_STRUCTURE_DEPTH_LIMIT);
	strbuf_reset(&sb);
	mail_structure_dump(&sb, st);
	assert_non_null(strstr(sb.data, "\"application\" \"octet-stream\""));
	strbuf_free(&sb);
	strbuf_free(&deep);
	arena_destroy(&arena);
}

static void test_mime_part_limit(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct mail_mime_limits limits = mail_mime_default_limits;
	struct strbuf msg = {0}, sb = {0};

	strbuf_appendf(&msg, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int i = 0; i < 1500; i++)
		strbuf_appendf(&msg, "--b\r\n\r\npart %d\r\n", i);
	strbuf_appendf(&msg, "--b--\r\n");

	struct mail_structure *st = parse(arena, msg.data, msg.len, NULL);
	assert_int_equal(st->problems, MAIL_STRUCTURE_PART_LIMIT);
	assert_int_equal(st->part_count, MAIL_MIME_MAX_PARTS);
	assert_int_equal(st->root->child_count, MAIL_MIME_MAX_PARTS - 1);
	/* The skipped parts stay in the body, which still runs to the end. */
	assert_int_equal(st->root->body_offset + st->root->body_size, msg.len);

	limits.max_parts = 3;
	st = parse(arena, msg.data, msg.len, &limits);
	mail_mime_dump(&sb, st->root, false);
	assert_string_equal(sb.data,
			    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0)"
			    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 "
			    "0) \"mixed\")");

	/* A message/rfc822 past the limit is opaque. */
	limits.max_parts = 1;
	static const char rfc822[] = "Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\ny";
	st = parse(arena, rfc822, sizeof(rfc822) - 1, &limits);
	assert_true(st->root->flags & MAIL_MIME_PART_OPAQUE);
	assert_int_equal(st->root->body_size, 15);
	strbuf_free(&sb);
	strbuf_free(&msg);
	arena_destroy(&arena);
}

static void test_mime_header_limits(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct strbuf msg = {0}, sb = {0};

	/* Past 1000 fields the rest are left out, Content-Type included,
	 * but the body still starts after the empty line. */
	for (int i = 0; i < MAIL_HEADER_MAX_FIELDS; i++)
		strbuf_appendf(&msg, "X-Filler-%d: y\r\n", i);
	strbuf_appendf(&msg, "Content-Type: application/pdf\r\n\r\nbody");
	struct mail_structure *st = parse(arena, msg.data, msg.len, NULL);
	assert_int_equal(st->problems, MAIL_STRUCTURE_HEADER_LIMIT);
	assert_string_equal(st->problem, "too many header fields");
	assert_string_equal(st->root->type, "text");
	assert_int_equal(st->root->body_size, 4);

	/* A field longer than 64 KiB is left out. */
	strbuf_reset(&msg);
	strbuf_appendf(&msg, "Subject: ");
	for (int i = 0; i < MAIL_HEADER_MAX_FIELD_SIZE / 8; i++)
		strbuf_appendf(&msg, "folded\r\n ");
	strbuf_appendf(&msg, "end\r\nFrom: a@b.example\r\n\r\n");
	st = parse(arena, msg.data, msg.len, NULL);
	assert_int_equal(st->problems, MAIL_STRUCTURE_HEADER_LIMIT);
	assert_null(st->envelope->subject);
	mail_envelope_dump_addresses(&sb, &st->envelope->from);
	assert_string_equal(sb.data, "((NIL NIL \"a\" \"b.example\"))");

	/* Too many addresses: the list is cut, the problem recorded. */
	strbuf_reset(&msg);
	strbuf_appendf(&msg, "To: ");
	for (int i = 0; i < MAIL_ADDRESS_MAX_PER_LIST + 5; i++)
		strbuf_appendf(&msg, "a@b,");
	strbuf_appendf(&msg, "\r\n\r\n");
	st = parse(arena, msg.data, msg.len, NULL);
	assert_int_equal(st->problems, MAIL_STRUCTURE_ADDRESS_LIMIT);
	assert_int_equal(st->envelope->to.count, MAIL_ADDRESS_MAX_PER_LIST);

	/* Over the message size limit: refused. */
	struct mail_mime_limits limits = mail_mime_default_limits;
	const char *error = NULL;
	limits.max_message_size = 10;
	assert_int_equal(mail_structure_parse(arena, msg.data, msg.len, &limits, &st, &error), -1);
	assert_string_equal(error, "message too large to parse");
	strbuf_free(&sb);
	strbuf_free(&msg);
	arena_destroy(&arena);
}

static const struct mail_param *params(struct arena *arena, const char *s, unsigned *count_r)
{
	const struct mail_param *p;

	mail_mime_params_parse(arena, s, strlen(s), &p, count_r);
	return p;
}

static void test_mime_params(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	const struct mail_param *p;
	unsigned n;

	p = params(arena,
		   "; name*0*=utf-8''%E2%82%AC%20rates; name*1*=%20for; name*2=\" 2025.pdf\"", &n);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].name, "name");
	assert_string_equal(p[0].imap_name, "name*");
	assert_true(p[0].extended);
	assert_string_equal(p[0].value, "utf-8''%E2%82%AC%20rates%20for%202025.pdf");
	assert_string_equal(p[0].charset, "utf-8");
	assert_null(p[0].language);
	assert_string_equal(p[0].decoded, "\xe2\x82\xac rates for 2025.pdf");
	assert_string_equal(p[0].utf8, "\xe2\x82\xac rates for 2025.pdf");
	assert_ptr_equal(mail_mime_param_find(p, n, "NAME", true), &p[0]);
	assert_null(mail_mime_param_find(p, n, "name", false));

	p = params(arena, "; filename*=iso-8859-1'en'%A3%20rates.pdf", &n);
	assert_string_equal(p[0].charset, "iso-8859-1");
	assert_string_equal(p[0].language, "en");
	assert_string_equal(p[0].decoded, "\xa3 rates.pdf");
	assert_string_equal(p[0].utf8, "\xc2\xa3 rates.pdf");

	/* RFC 2231's own example. */
	p = params(arena, ";title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", &n);
	assert_string_equal(p[0].decoded, "This is ***fun***");
	assert_string_equal(p[0].language, "en-us");

	/* A charset we do not convert; bytes that are no UTF-8; %00. */
	p = params(arena, "; a*=koi8-r''%C1; b*=%FF%41; c*=''x%00y", &n);
	assert_int_equal(n, 3);
	assert_null(p[0].utf8);
	assert_string_equal(p[0].decoded, "\xc1");
	assert_null(p[1].charset);
	assert_string_equal(p[1].decoded, "\xff"
					  "A");
	assert_null(p[1].utf8);
	assert_string_equal(p[2].decoded, "x\xef\xbf\xbdy");

	/* Plain parameters: repeats kept, quoted-pairs, comments, an empty
	 * value, one without '=' dropped; the RFC 2231 ones after, sorted. */
	p = params(arena, "; a=1; z*=x; t*=y; b=\"x\\\"y\" (c); A=2; novalue; e=", &n);
	assert_int_equal(n, 6);
	assert_string_equal(p[0].value, "1");
	assert_string_equal(p[1].value, "x\"y");
	assert_string_equal(p[2].name, "A");
	assert_string_equal(p[3].name, "e");
	assert_string_equal(p[3].value, "");
	assert_string_equal(p[4].imap_name, "t*");
	assert_string_equal(p[5].imap_name, "z*");
	assert_ptr_equal(mail_mime_param_find(p, n, "a", false), &p[0]);

	/* Sections with a gap or a repeat stay as written (sorted too). */
	p = params(arena, "; n*2=c; n*0=a; m*0=x; m*0=y; k*1=q", &n);
	assert_int_equal(n, 5);
	assert_string_equal(p[0].imap_name, "k*1");
	assert_string_equal(p[1].imap_name, "m*0");
	assert_string_equal(p[3].imap_name, "n*0");
	assert_string_equal(p[4].imap_name, "n*2");
	assert_false(p[0].extended);

	/* Plain sections join unencoded. */
	p = params(arena, "; n*1=\"b c\"; n*0=a", &n);
	assert_int_equal(n, 1);
	assert_false(p[0].extended);
	assert_string_equal(p[0].imap_name, "n");
	assert_string_equal(p[0].value, "ab c");

	p = params(arena, "", &n);
	assert_int_equal(n, 0);
	assert_null(p);
	arena_destroy(&arena);
}

static void test_mime_structure_dump(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct strbuf sb = {0};
	static const char msg[] = "Subject: hi\r\nFrom: a@b.example\r\n\r\nx\r\n";
	struct mail_structure *st = parse(arena, msg, sizeof(msg) - 1, NULL);

	mail_structure_dump(&sb, st);
	assert_string_equal(sb.data,
			    "ENVELOPE (NIL \"hi\" ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" "
			    "\"b.example\")) ((NIL NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL) "
			    "BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
			    "\"7bit\" 3 1 NIL NIL NIL NIL)");
	assert_true(st->root->flags & MAIL_MIME_PART_DEFAULT_TYPE);
	assert_true(st->root->flags & MAIL_MIME_PART_HAS_BODY);
	assert_string_equal(st->root->charset, "us-ascii");
	strbuf_free(&sb);
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mime_dovecot_cases),	cmocka_unit_test(test_mime_deviations),
	    cmocka_unit_test(test_mime_offsets),	cmocka_unit_test(test_mime_lf_sizes),
	    cmocka_unit_test(test_mime_depth_limit),	cmocka_unit_test(test_mime_part_limit),
	    cmocka_unit_test(test_mime_header_limits),	cmocka_unit_test(test_mime_params),
	    cmocka_unit_test(test_mime_structure_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
