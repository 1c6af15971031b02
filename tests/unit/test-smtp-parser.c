/* Unit tests for the SMTP command line parser (node/smtp/smtp-parser.c).
 *
 * Each table case is copied into a heap buffer of exactly len + 1 octets
 * (the extra one stands for the CR the parser may overwrite) and parsed;
 * a success must give exactly the expected command, with every string
 * inside the buffer, and a failure exactly the expected reply codes.
 * Limits are built at the boundary and one past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp-parser.h"

struct smtp_parser_case {
	const char *line;
	size_t len;   /* 0: strlen(line); set it for lines with NUL octets */
	bool utf8_tx; /* smtputf8_transaction */
	int code;     /* 0: expect success */
	const char *enhanced;
	struct smtp_command want; /* all of it on success, the verb on failure */
};

#define OK(l, v, ...)                                                                              \
	{                                                                                          \
		.line = (l), .want = {.verb = (v), __VA_ARGS__ }                                   \
	}
#define OK_UTF8(l, v, ...)                                                                         \
	{                                                                                          \
		.line = (l), .utf8_tx = true, .want = {.verb = (v), __VA_ARGS__ }                  \
	}
#define FAIL(l, v, c, e)                                                                           \
	{                                                                                          \
		.line = (l), .code = (c), .enhanced = (e), .want = {.verb = (v) }                  \
	}
#define FAIL_UTF8(l, v, c, e)                                                                      \
	{                                                                                          \
		.line = (l), .utf8_tx = true, .code = (c), .enhanced = (e), .want = {.verb = (v) } \
	}
#define RAW_FAIL(l, v, c, e)                                                                       \
	{                                                                                          \
		.line = (l), .len = sizeof(l) - 1, .code = (c), .enhanced = (e), .want = {         \
			.verb = (v)                                                                \
		}                                                                                  \
	}

#define V_HELO SMTP_VERB_HELO
#define V_EHLO SMTP_VERB_EHLO
#define V_MAIL SMTP_VERB_MAIL
#define V_RCPT SMTP_VERB_RCPT
#define V_NONE SMTP_VERB_UNKNOWN

static const struct smtp_parser_case smtp_parser_cases[] = {
    /* HELO / EHLO */
    OK("HELO example.com", V_HELO, .arg = "example.com"),
    OK("helo example.com", V_HELO, .arg = "example.com"),
    OK("EHLO example.com", V_EHLO, .arg = "example.com"),
    OK("eHlO Mail.Example.COM", V_EHLO, .arg = "Mail.Example.COM"),
    OK("EHLO [192.0.2.1]", V_EHLO, .arg = "[192.0.2.1]"),
    OK("EHLO [IPv6:2001:db8::1]", V_EHLO, .arg = "[IPv6:2001:db8::1]"),
    OK("EHLO   example.com   ", V_EHLO, .arg = "example.com"),
    OK("EHLO example.com\t", V_EHLO, .arg = "example.com"),
    OK("EHLO my_pc", V_EHLO, .arg = "my_pc"),
    FAIL("HELO", V_HELO, 501, "5.5.4"),
    FAIL("EHLO", V_EHLO, 501, "5.5.4"),
    FAIL("EHLO    ", V_EHLO, 501, "5.5.4"),
    FAIL("EHLO a b", V_EHLO, 501, "5.5.4"),
    FAIL("EHLO a\tb", V_EHLO, 501, "5.5.4"),
    FAIL("EHLO a\x01", V_EHLO, 501, "5.5.4"),
    FAIL("EHLO a\x7f", V_EHLO, 501, "5.5.4"),

    /* MAIL: the path */
    OK("MAIL FROM:<user@example.com>", V_MAIL, .path = "user@example.com"),
    OK("mail from:<user@example.com>", V_MAIL, .path = "user@example.com"),
    OK("MaIl FrOm:<User@Example.COM>", V_MAIL, .path = "User@example.com"),
    OK("MAIL FROM: <user@example.com>", V_MAIL, .path = "user@example.com"),
    OK("MAIL  FROM:<user@example.com>", V_MAIL, .path = "user@example.com"),
    OK("MAIL FROM:<user@example.com> ", V_MAIL, .path = "user@example.com"),
    OK("MAIL FROM:<>", V_MAIL, .path = ""),
    OK("MAIL FROM: <>", V_MAIL, .path = ""),
    OK("MAIL FROM:<a@b>", V_MAIL, .path = "a@b"),
    OK("MAIL FROM:<a.b.c@d.e.f>", V_MAIL, .path = "a.b.c@d.e.f"),
    OK("MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", V_MAIL,
       .path = "!#$%&'*+-/=?^_`{|}~@example.com"),
    OK("MAIL FROM:<a@b-c.d>", V_MAIL, .path = "a@b-c.d"),
    OK("MAIL FROM:<a@b--c.d>", V_MAIL, .path = "a@b--c.d"),
    OK("MAIL FROM:<a@123.45>", V_MAIL, .path = "a@123.45"),
    OK("MAIL FROM:<a@localhost>", V_MAIL, .path = "a@localhost"),
    OK("MAIL FROM:<\"a b\"@example.com>", V_MAIL, .path = "\"a b\"@example.com"),
    OK("MAIL FROM:<\"a\\\"b\"@example.com>", V_MAIL, .path = "\"a\\\"b\"@example.com"),
    OK("MAIL FROM:<\"a\\\\b\"@example.com>", V_MAIL, .path = "\"a\\\\b\"@example.com"),
    OK("MAIL FROM:<\"a\\ b\"@example.com>", V_MAIL, .path = "\"a\\ b\"@example.com"),
    OK("MAIL FROM:<\"\"@example.com>", V_MAIL, .path = "\"\"@example.com"),
    OK("MAIL FROM:<\"a>b\"@example.com>", V_MAIL, .path = "\"a>b\"@example.com"),
    OK("MAIL FROM:<\"a@b\"@example.com>", V_MAIL, .path = "\"a@b\"@example.com"),
    OK("MAIL FROM:<\"a..b.\"@example.com>", V_MAIL, .path = "\"a..b.\"@example.com"),
    OK("MAIL FROM:<\"A B\"@EXAMPLE.com>", V_MAIL, .path = "\"A B\"@example.com"),
    /* address literals */
    OK("MAIL FROM:<a@[192.0.2.1]>", V_MAIL, .path = "a@[192.0.2.1]"),
    OK("MAIL FROM:<a@[0.0.0.0]>", V_MAIL, .path = "a@[0.0.0.0]"),
    OK("MAIL FROM:<a@[255.255.255.255]>", V_MAIL, .path = "a@[255.255.255.255]"),
    OK("MAIL FROM:<a@[IPv6:2001:db8::1]>", V_MAIL, .path = "a@[IPv6:2001:db8::1]"),
    OK("MAIL FROM:<a@[ipv6:::1]>", V_MAIL, .path = "a@[ipv6:::1]"),
    OK("MAIL FROM:<a@[IPv6:::]>", V_MAIL, .path = "a@[IPv6:::]"),
    OK("MAIL FROM:<a@[IPv6:1::]>", V_MAIL, .path = "a@[IPv6:1::]"),
    OK("MAIL FROM:<A@[IPv6:DB8::1]>", V_MAIL, .path = "A@[IPv6:DB8::1]"),
    OK("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7:8]>", V_MAIL, .path = "a@[IPv6:1:2:3:4:5:6:7:8]"),
    OK("MAIL FROM:<a@[IPv6:1:2:3:4:5:6::]>", V_MAIL, .path = "a@[IPv6:1:2:3:4:5:6::]"),
    OK("MAIL FROM:<a@[IPv6:1:2:3::4:5:6]>", V_MAIL, .path = "a@[IPv6:1:2:3::4:5:6]"),
    OK("MAIL FROM:<a@[IPv6:ffff:FFFF::abcd]>", V_MAIL, .path = "a@[IPv6:ffff:FFFF::abcd]"),
    OK("MAIL FROM:<a@[IPv6:::ffff:192.0.2.1]>", V_MAIL, .path = "a@[IPv6:::ffff:192.0.2.1]"),
    OK("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:192.0.2.1]>", V_MAIL,
       .path = "a@[IPv6:1:2:3:4:5:6:192.0.2.1]"),
    OK("MAIL FROM:<a@[IPv6:1:2:3:4::192.0.2.1]>", V_MAIL, .path = "a@[IPv6:1:2:3:4::192.0.2.1]"),
    OK("MAIL FROM:<a@[x-tag:any!content]>", V_MAIL, .path = "a@[x-tag:any!content]"),
    OK("MAIL FROM:<a@[tag:a:b:c]>", V_MAIL, .path = "a@[tag:a:b:c]"),
    /* source routes are checked and dropped */
    OK("MAIL FROM:<@a.example,@b.example:user@c.example>", V_MAIL, .path = "user@c.example"),
    OK("MAIL FROM:<@a:u@c>", V_MAIL, .path = "u@c"),
    OK("MAIL FROM:<@A.Example:U@C.Example>", V_MAIL, .path = "U@c.example"),
    OK("RCPT TO:<@hop1,@hop2,@hop3:u@example.com>", V_RCPT, .path = "u@example.com"),

    /* MAIL: bad paths */
    FAIL("MAIL FROM:  <a@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:a@b", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b>>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<<a@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b>SIZE=1", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<postmaster>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<.a@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a.@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a..b@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a b@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a(b)@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a,b@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a@b>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a\"b@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a\"b\"@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a\tb\"@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a\\\tb\"@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a\\\"@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"a\x7f\"@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@-b.c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b-.c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b..c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@.b.c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b.c.>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b_c.d>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@b c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.256]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.1.5]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.0001]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192..2.1]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.1>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.1]x>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7::]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1::2::3]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6::::]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6::1]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:12345::]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:g::]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:2:3:4:5::192.0.2.1]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:1:2:3:4:5:6:7:192.0.2.1]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:192.0.2.1::]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:::192.0.2]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[IPv6:garbage]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag-:x]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[:x]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag:]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[t_g:x]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag:a\\b]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag:a[b]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag:a b]>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@a,b:u@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@a:>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@:u@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@a,@b u@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@a,:u@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@[192.0.2.1]:u@c>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<@a:<>", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL", V_MAIL, 501, "5.5.4"),
    FAIL("MAIL FROM", V_MAIL, 501, "5.5.4"),
    FAIL("MAIL FROM <a@b>", V_MAIL, 501, "5.5.4"),
    FAIL("MAIL TO:<a@b>", V_MAIL, 501, "5.5.4"),
    FAIL("MAIL FRO:<a@b>", V_MAIL, 501, "5.5.4"),

    /* MAIL parameters */
    OK("MAIL FROM:<a@b> SIZE=100", V_MAIL, .path = "a@b", .size = 100),
    OK("MAIL FROM:<> SIZE=100", V_MAIL, .path = "", .size = 100),
    OK("MAIL FROM:<a@b> size=0", V_MAIL, .path = "a@b", .size = 0),
    OK("MAIL FROM:<a@b> SIZE=000123", V_MAIL, .path = "a@b", .size = 123),
    OK("MAIL FROM:<a@b> SIZE=18446744073709551615", V_MAIL, .path = "a@b", .size = UINT64_MAX),
    FAIL("MAIL FROM:<a@b> SIZE=18446744073709551616", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=99999999999999999999999", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=12a", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=-1", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=+1", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE==1", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> BODY=7BIT", V_MAIL, .path = "a@b", .body = SMTP_BODY_7BIT),
    OK("MAIL FROM:<a@b> BODY=8BITMIME", V_MAIL, .path = "a@b", .body = SMTP_BODY_8BITMIME),
    OK("MAIL FROM:<a@b> body=8bitmime", V_MAIL, .path = "a@b", .body = SMTP_BODY_8BITMIME),
    OK("MAIL FROM:<a@b> BODY=BinaryMIME", V_MAIL, .path = "a@b", .body = SMTP_BODY_BINARYMIME),
    FAIL("MAIL FROM:<a@b> BODY=8BIT", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> BODY=", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> BODY", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> BODY=8BITMIMEX", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> SMTPUTF8", V_MAIL, .path = "a@b", .smtputf8 = true),
    OK("MAIL FROM:<a@b> smtputf8", V_MAIL, .path = "a@b", .smtputf8 = true),
    FAIL("MAIL FROM:<a@b> SMTPUTF8=yes", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SMTPUTF8=", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> RET=FULL", V_MAIL, .path = "a@b", .ret = SMTP_RET_FULL),
    OK("MAIL FROM:<a@b> ret=hdrs", V_MAIL, .path = "a@b", .ret = SMTP_RET_HDRS),
    FAIL("MAIL FROM:<a@b> RET=ALL", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> RET", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> ENVID=QQ314159", V_MAIL, .path = "a@b", .envid = "QQ314159"),
    OK("MAIL FROM:<a@b> ENVID=a+2Bb+3Dc", V_MAIL, .path = "a@b", .envid = "a+2Bb+3Dc"),
    OK("MAIL FROM:<a@b> envid=<id@host>", V_MAIL, .path = "a@b", .envid = "<id@host>"),
    FAIL("MAIL FROM:<a@b> ENVID=a+2bb", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=a+2", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=a+", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=a+00", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=a=b", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ENVID=\xc3\xbc", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SMTPUTF8 ENVID=\xc3\xbc", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> AUTH=<>", V_MAIL, .path = "a@b", .auth = "<>"),
    OK("MAIL FROM:<a@b> AUTH=e+3Dmc2@example.com", V_MAIL, .path = "a@b",
       .auth = "e+3Dmc2@example.com"),
    FAIL("MAIL FROM:<a@b> AUTH=", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> AUTH", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> AUTH=a+zz", V_MAIL, 555, "5.5.4"),
    OK("MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x AUTH=<>", V_MAIL,
       .path = "a@b", .size = 10, .body = SMTP_BODY_8BITMIME, .smtputf8 = true,
       .ret = SMTP_RET_HDRS, .envid = "x", .auth = "<>"),
    OK("MAIL FROM:<a@b>   SIZE=1    BODY=7BIT  ", V_MAIL, .path = "a@b", .size = 1,
       .body = SMTP_BODY_7BIT),
    FAIL("MAIL FROM:<a@b> SIZE=1 SIZE=2", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=1 size=1", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> BODY=7BIT BODY=8BITMIME", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> FOO=bar", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> FOO", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZES=1", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> =1", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> NOTIFY=NEVER", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> ORCPT=rfc822;a@b", V_MAIL, 555, "5.5.4"),
    FAIL("MAIL FROM:<a@b> SIZE=1\tBODY=7BIT", V_MAIL, 555, "5.5.4"),

    /* RCPT */
    OK("RCPT TO:<user@example.com>", V_RCPT, .path = "user@example.com"),
    OK("rcpt to:<user@example.com>", V_RCPT, .path = "user@example.com"),
    OK("Rcpt To:<User@EXAMPLE.com>", V_RCPT, .path = "User@example.com"),
    OK("RCPT TO: <user@example.com>", V_RCPT, .path = "user@example.com"),
    OK("RCPT TO:<\"john doe\"@example.com>", V_RCPT, .path = "\"john doe\"@example.com"),
    OK("RCPT TO:<a@[192.0.2.1]>", V_RCPT, .path = "a@[192.0.2.1]"),
    OK("RCPT TO:<postmaster>", V_RCPT, .path = "postmaster"),
    OK("RCPT TO:<PostMaster>", V_RCPT, .path = "postmaster"),
    OK("RCPT TO: <POSTMASTER>", V_RCPT, .path = "postmaster"),
    OK("RCPT TO:<Postmaster@Example.COM>", V_RCPT, .path = "Postmaster@example.com"),
    OK("RCPT TO:<postmaster> NOTIFY=NEVER", V_RCPT, .path = "postmaster",
       .notify = SMTP_NOTIFY_NEVER),
    FAIL("RCPT TO:<postmasterx>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:<postmaste>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:<@a:postmaster>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:<>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:<a@b", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:a@b", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:<a..b@c>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT TO:  <a@b>", V_RCPT, 501, "5.1.3"),
    FAIL("RCPT", V_RCPT, 501, "5.5.4"),
    FAIL("RCPT TO <a@b>", V_RCPT, 501, "5.5.4"),
    FAIL("RCPT FROM:<a@b>", V_RCPT, 501, "5.5.4"),
    OK("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY", V_RCPT, .path = "a@b",
       .notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY),
    OK("RCPT TO:<a@b> notify=failure,delay", V_RCPT, .path = "a@b",
       .notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY),
    OK("RCPT TO:<a@b> NOTIFY=Never", V_RCPT, .path = "a@b", .notify = SMTP_NOTIFY_NEVER),
    OK("RCPT TO:<a@b> NOTIFY=DELAY,DELAY", V_RCPT, .path = "a@b", .notify = SMTP_NOTIFY_DELAY),
    FAIL("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=DELAY,NEVER", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=SUCCESS,", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=,SUCCESS", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=SOMETIMES", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> NOTIFY=SUCCESS NOTIFY=DELAY", V_RCPT, 555, "5.5.4"),
    OK("RCPT TO:<a@b> ORCPT=rfc822;user+40example.com", V_RCPT, .path = "a@b",
       .orcpt = "rfc822;user+40example.com"),
    OK("RCPT TO:<a@b> ORCPT=rfc822;a@b", V_RCPT, .path = "a@b", .orcpt = "rfc822;a@b"),
    OK("RCPT TO:<a@b> orcpt=UTF-8;a@b", V_RCPT, .path = "a@b", .orcpt = "UTF-8;a@b"),
    OK("RCPT TO:<a@b> NOTIFY=FAILURE ORCPT=rfc822;a@b", V_RCPT, .path = "a@b",
       .notify = SMTP_NOTIFY_FAILURE, .orcpt = "rfc822;a@b"),
    FAIL("RCPT TO:<a@b> ORCPT=rfc822", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT=rfc822;", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT=;a@b", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT=rfc_822;a@b", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT=rfc822;a+4", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> ORCPT=rfc822;a@b ORCPT=rfc822;a@b", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> SIZE=1", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> SMTPUTF8", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b> BODY=8BITMIME", V_RCPT, 555, "5.5.4"),
    FAIL("RCPT TO:<a@b>NOTIFY=NEVER", V_RCPT, 501, "5.1.3"),

    /* UTF-8 (RFC 6531) */
    OK("MAIL FROM:<用户@例子.广告> SMTPUTF8", V_MAIL, .path = "用户@例子.广告", .path_utf8 = true,
       .smtputf8 = true),
    OK("MAIL FROM:<ü@example.com> SMTPUTF8", V_MAIL, .path = "ü@example.com", .path_utf8 = true,
       .smtputf8 = true),
    OK("MAIL FROM:<a@B\xc3\x9c"
       "CHER.Example> SMTPUTF8",
       V_MAIL,
       .path = "a@b\xc3\x9c"
	       "cher.example",
       .path_utf8 = true, .smtputf8 = true),
    OK("MAIL FROM:<\"ü x\"@example.com> SMTPUTF8", V_MAIL, .path = "\"ü x\"@example.com",
       .path_utf8 = true, .smtputf8 = true),
    OK("MAIL FROM:<\xf0\x9f\x98\x80@example.com> SMTPUTF8", V_MAIL,
       .path = "\xf0\x9f\x98\x80@example.com", .path_utf8 = true, .smtputf8 = true),
    OK("MAIL FROM:<\xef\xbf\xbd\xe0\xa0\x80\xf4\x8f\xbf\xbf@x> SMTPUTF8", V_MAIL,
       .path = "\xef\xbf\xbd\xe0\xa0\x80\xf4\x8f\xbf\xbf@x", .path_utf8 = true, .smtputf8 = true),
    OK("MAIL FROM:<a@b> SMTPUTF8", V_MAIL, .path = "a@b", .smtputf8 = true),
    /* a UTF-8 source route needs SMTPUTF8 but leaves an ASCII path */
    OK("MAIL FROM:<@bü.example:a@b> SMTPUTF8", V_MAIL, .path = "a@b", .smtputf8 = true),
    FAIL("MAIL FROM:<@bü.example:a@b>", V_MAIL, 553, "5.6.7"),
    FAIL("MAIL FROM:<用户@例子.广告>", V_MAIL, 553, "5.6.7"),
    FAIL("MAIL FROM:<ü@example.com>", V_MAIL, 553, "5.6.7"),
    FAIL("MAIL FROM:<a@bü.example> SIZE=1", V_MAIL, 553, "5.6.7"),
    /* the transaction flag does not stand in for MAIL's own parameter */
    FAIL_UTF8("MAIL FROM:<ü@example.com>", V_MAIL, 553, "5.6.7"),
    FAIL("RCPT TO:<ü@example.com>", V_RCPT, 553, "5.6.7"),
    FAIL("RCPT TO:<a@bücher.example>", V_RCPT, 553, "5.6.7"),
    OK_UTF8("RCPT TO:<ü@example.com>", V_RCPT, .path = "ü@example.com", .path_utf8 = true),
    OK_UTF8("RCPT TO:<a@B\xc3\x9c"
	    "CHER.example>",
	    V_RCPT,
	    .path = "a@b\xc3\x9c"
		    "cher.example",
	    .path_utf8 = true),
    OK_UTF8("RCPT TO:<a@b>", V_RCPT, .path = "a@b"),
    OK_UTF8("RCPT TO:<a@b> ORCPT=utf-8;\xc3\xbc@b", V_RCPT, .path = "a@b",
	    .orcpt = "utf-8;\xc3\xbc@b"),
    FAIL("RCPT TO:<a@b> ORCPT=utf-8;\xc3\xbc@b", V_RCPT, 555, "5.5.4"),
    FAIL_UTF8("RCPT TO:<a@b> ORCPT=utf-8;\xc3@b", V_RCPT, 555, "5.5.4"),
    FAIL_UTF8("RCPT TO:<a@b> ORCPT=utf-8;a+", V_RCPT, 555, "5.5.4"),
    /* malformed UTF-8 is a syntax error, whatever the parameters */
    FAIL("MAIL FROM:<\xc3@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xc3> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a\xc3", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xc0\xaf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xc1\xbf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xe0\x80\xaf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xe0\x9f\xbf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xf0\x80\x80\xaf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xf0\x8f\xbf\xbf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xed\xa0\x80@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xed\xbf\xbf@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xf4\x90\x80\x80@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xf5\x80\x80\x80@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xf8\x88\x80\x80\x80@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xff@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\x80@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xc3\xbc\xbc@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\xe4\xb8@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@\xc3.example> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"\xc3\"@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<\"\\\xc3\xbc\"@example.com> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[192.0.2.\xc3\xbc]> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL("MAIL FROM:<a@[tag:\xc3\xbc]> SMTPUTF8", V_MAIL, 501, "5.1.7"),
    FAIL_UTF8("RCPT TO:<\xed\xa0\x80@example.com>", V_RCPT, 501, "5.1.3"),
    FAIL_UTF8("RCPT TO:<\xc0\x80@example.com>", V_RCPT, 501, "5.1.3"),

    /* DATA, RSET, QUIT, STARTTLS take no argument */
    OK("DATA", SMTP_VERB_DATA),
    OK("data", SMTP_VERB_DATA),
    OK("DATA   ", SMTP_VERB_DATA),
    FAIL("DATA x", SMTP_VERB_DATA, 501, "5.5.4"),
    OK("RSET", SMTP_VERB_RSET),
    FAIL("RSET now", SMTP_VERB_RSET, 501, "5.5.4"),
    OK("QUIT", SMTP_VERB_QUIT),
    OK("Quit", SMTP_VERB_QUIT),
    FAIL("QUIT bye", SMTP_VERB_QUIT, 501, "5.5.4"),
    OK("STARTTLS", SMTP_VERB_STARTTLS),
    OK("starttls", SMTP_VERB_STARTTLS),
    FAIL("STARTTLS x", SMTP_VERB_STARTTLS, 501, "5.5.4"),

    /* NOOP, HELP: optional string; VRFY, EXPN: required */
    OK("NOOP", SMTP_VERB_NOOP, .arg = ""),
    OK("NOOP hello world", SMTP_VERB_NOOP, .arg = "hello world"),
    OK("noop  x ", SMTP_VERB_NOOP, .arg = "x"),
    OK("HELP", SMTP_VERB_HELP, .arg = ""),
    OK("HELP MAIL", SMTP_VERB_HELP, .arg = "MAIL"),
    OK("VRFY user", SMTP_VERB_VRFY, .arg = "user"),
    OK("vrfy \"John Doe\" <jd@example.com>", SMTP_VERB_VRFY,
       .arg = "\"John Doe\" <jd@example.com>"),
    FAIL("VRFY", SMTP_VERB_VRFY, 501, "5.5.4"),
    FAIL("VRFY   ", SMTP_VERB_VRFY, 501, "5.5.4"),
    OK("EXPN staff", SMTP_VERB_EXPN, .arg = "staff"),
    FAIL("EXPN", SMTP_VERB_EXPN, 501, "5.5.4"),

    /* BDAT */
    OK("BDAT 0", SMTP_VERB_BDAT, .chunk_size = 0),
    OK("BDAT 1000", SMTP_VERB_BDAT, .chunk_size = 1000),
    OK("BDAT 1000 LAST", SMTP_VERB_BDAT, .chunk_size = 1000, .last = true),
    OK("bdat 5 last", SMTP_VERB_BDAT, .chunk_size = 5, .last = true),
    OK("BDAT 0 LAST", SMTP_VERB_BDAT, .chunk_size = 0, .last = true),
    OK("BDAT  7   LAST  ", SMTP_VERB_BDAT, .chunk_size = 7, .last = true),
    OK("BDAT 18446744073709551615", SMTP_VERB_BDAT, .chunk_size = UINT64_MAX),
    FAIL("BDAT 18446744073709551616", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 99999999999999999999999 LAST", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT x", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT -1", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT +1", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 1x", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT LAST", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 10 FIRST", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 10 LASTX", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 10 LAST x", SMTP_VERB_BDAT, 501, "5.5.4"),
    FAIL("BDAT 10 0", SMTP_VERB_BDAT, 501, "5.5.4"),

    /* AUTH */
    OK("AUTH PLAIN", SMTP_VERB_AUTH, .arg = "PLAIN"),
    OK("auth plain", SMTP_VERB_AUTH, .arg = "PLAIN"),
    OK("AUTH scram-sha-256", SMTP_VERB_AUTH, .arg = "SCRAM-SHA-256"),
    OK("AUTH x_oauth2", SMTP_VERB_AUTH, .arg = "X_OAUTH2"),
    OK("AUTH ABCDEFGHIJKLMNOPQRST", SMTP_VERB_AUTH, .arg = "ABCDEFGHIJKLMNOPQRST"),
    OK("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", SMTP_VERB_AUTH, .arg = "PLAIN",
       .auth_initial = "dGVzdAB0ZXN0AHRlc3Q="),
    OK("AUTH PLAIN AHVzZXIAcGFzcw==", SMTP_VERB_AUTH, .arg = "PLAIN",
       .auth_initial = "AHVzZXIAcGFzcw=="),
    OK("AUTH PLAIN =", SMTP_VERB_AUTH, .arg = "PLAIN", .auth_initial = "="),
    OK("AUTH  PLAIN   abc+/9 ", SMTP_VERB_AUTH, .arg = "PLAIN", .auth_initial = "abc+/9"),
    FAIL("AUTH", SMTP_VERB_AUTH, 501, "5.5.4"),
    FAIL("AUTH ABCDEFGHIJKLMNOPQRSTU", SMTP_VERB_AUTH, 501, "5.5.4"),
    FAIL("AUTH PL@IN", SMTP_VERB_AUTH, 501, "5.5.4"),
    FAIL("AUTH PLAIN a b", SMTP_VERB_AUTH, 501, "5.5.4"),
    FAIL("AUTH PLAIN ab!c", SMTP_VERB_AUTH, 501, "5.5.2"),
    FAIL("AUTH PLAIN a=b", SMTP_VERB_AUTH, 501, "5.5.2"),
    FAIL("AUTH PLAIN ab===", SMTP_VERB_AUTH, 501, "5.5.2"),
    FAIL("AUTH PLAIN ==", SMTP_VERB_AUTH, 501, "5.5.2"),
    FAIL("AUTH PLAIN \xc3\xbc", SMTP_VERB_AUTH, 501, "5.5.2"),

    /* unknown and malformed lines */
    FAIL("", V_NONE, 500, "5.5.2"),
    FAIL("   ", V_NONE, 500, "5.5.2"),
    FAIL(" MAIL FROM:<a@b>", V_NONE, 500, "5.5.2"),
    FAIL("FOO", V_NONE, 502, "5.5.1"),
    FAIL("FOO bar", V_NONE, 502, "5.5.1"),
    FAIL("MAILX FROM:<a@b>", V_NONE, 502, "5.5.1"),
    FAIL("MAI", V_NONE, 502, "5.5.1"),
    FAIL("STARTTLSX", V_NONE, 502, "5.5.1"),
    FAIL("MAIL\tFROM:<a@b>", V_NONE, 502, "5.5.1"),
    FAIL("\xc3\xbc", V_NONE, 502, "5.5.1"),
    FAIL("GET / HTTP/1.1", V_NONE, 502, "5.5.1"),
    RAW_FAIL("MAIL FROM:<a\0@b>", V_NONE, 500, "5.5.2"),
    RAW_FAIL("NOOP \0", V_NONE, 500, "5.5.2"),
    RAW_FAIL("\0", V_NONE, 500, "5.5.2"),
    FAIL("NOOP a\rb", V_NONE, 500, "5.5.2"),
    FAIL("NOOP a\nb", V_NONE, 500, "5.5.2"),
    FAIL("DATA\r", V_NONE, 500, "5.5.2"),
    FAIL("RCPT TO:<a@b>\nRCPT TO:<c@d>", V_NONE, 500, "5.5.2"),
};

static size_t smtp_case_len(const struct smtp_parser_case *tc)
{
	return tc->len != 0 ? tc->len : strlen(tc->line);
}

/* A copy of line in a heap block of len + 1 octets; the last one is not
 * a NUL, like the CR that ends a real command line. */
static char *smtp_copy_line(const char *line, size_t len)
{
	char *copy = malloc(len + 1);

	assert_non_null(copy);
	memcpy(copy, line, len);
	copy[len] = '\r';
	return copy;
}

static void smtp_assert_inside(const char *line, const char *what, const char *s, const char *buf,
			       size_t len)
{
	if (s == NULL)
		return;
	if (s < buf || s > buf + len || (size_t)(s - buf) + strlen(s) > len)
		fail_msg("\"%s\": %s is outside the line", line, what);
}

static void smtp_assert_str(const char *line, const char *what, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("\"%s\": %s is \"%s\", expected \"%s\"", line, what,
			 got != NULL ? got : "(null)", want != NULL ? want : "(null)");
}

static void smtp_assert_command(const char *line, const struct smtp_command *got,
				const struct smtp_command *want)
{
	smtp_assert_str(line, "arg", got->arg, want->arg);
	smtp_assert_str(line, "auth_initial", got->auth_initial, want->auth_initial);
	smtp_assert_str(line, "path", got->path, want->path);
	smtp_assert_str(line, "envid", got->envid, want->envid);
	smtp_assert_str(line, "auth", got->auth, want->auth);
	smtp_assert_str(line, "orcpt", got->orcpt, want->orcpt);
	if (got->path_utf8 != want->path_utf8 || got->size != want->size ||
	    got->body != want->body || got->smtputf8 != want->smtputf8 || got->ret != want->ret ||
	    got->notify != want->notify || got->chunk_size != want->chunk_size ||
	    got->last != want->last)
		fail_msg("\"%s\": utf8 %d size %llu body %d smtputf8 %d ret %d notify %u chunk "
			 "%llu last %d differ from the expected utf8 %d size %llu body %d "
			 "smtputf8 %d ret %d notify %u chunk %llu last %d",
			 line, got->path_utf8, (unsigned long long)got->size, got->body,
			 got->smtputf8, got->ret, got->notify, (unsigned long long)got->chunk_size,
			 got->last, want->path_utf8, (unsigned long long)want->size, want->body,
			 want->smtputf8, want->ret, want->notify,
			 (unsigned long long)want->chunk_size, want->last);
}

/* Parses line[0..len) and checks the outcome against code/enhanced/want. */
static void smtp_check_line(const char *line, size_t len, bool utf8_tx, int code,
			    const char *enhanced, const struct smtp_command *want)
{
	char *buf = smtp_copy_line(line, len);
	struct smtp_command cmd;
	struct smtp_reply reply;
	int ret = smtp_parse_command(buf, len, utf8_tx, &cmd, &reply);

	if (cmd.verb != want->verb)
		fail_msg("\"%s\": verb %d, expected %d", line, cmd.verb, want->verb);
	if (code == 0) {
		if (ret != 0)
			fail_msg("\"%s\": failed with %d %s %s", line, reply.code,
				 reply.enhanced != NULL ? reply.enhanced : "(null)",
				 reply.text != NULL ? reply.text : "(null)");
		smtp_assert_command(line, &cmd, want);
		smtp_assert_inside(line, "arg", cmd.arg, buf, len);
		smtp_assert_inside(line, "auth_initial", cmd.auth_initial, buf, len);
		smtp_assert_inside(line, "path", cmd.path, buf, len);
		smtp_assert_inside(line, "envid", cmd.envid, buf, len);
		smtp_assert_inside(line, "auth", cmd.auth, buf, len);
		smtp_assert_inside(line, "orcpt", cmd.orcpt, buf, len);
	} else {
		if (ret != -1)
			fail_msg("\"%s\": accepted, expected %d %s", line, code, enhanced);
		if (reply.code != code || reply.enhanced == NULL ||
		    strcmp(reply.enhanced, enhanced) != 0)
			fail_msg("\"%s\": got %d %s, expected %d %s", line, reply.code,
				 reply.enhanced != NULL ? reply.enhanced : "(null)", code,
				 enhanced);
		if (reply.text == NULL || reply.text[0] == '\0' ||
		    strpbrk(reply.text, "\r\n") != NULL)
			fail_msg("\"%s\": bad reply text", line);
	}
	free(buf);
}

static void test_smtp_parser_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(smtp_parser_cases) / sizeof(smtp_parser_cases[0]); i++) {
		const struct smtp_parser_case *tc = &smtp_parser_cases[i];

		smtp_check_line(tc->line, smtp_case_len(tc), tc->utf8_tx, tc->code, tc->enhanced,
				&tc->want);
	}
}

/* Every verb is recognised in any case, and named by smtp_verb_names. */
static void test_smtp_parser_verb_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_names[SMTP_VERB_UNKNOWN], "");
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		char line[32];
		struct smtp_command cmd;
		struct smtp_reply reply;

		assert_non_null(smtp_verb_names[v]);
		/* lower case */
		snprintf(line, sizeof(line), "%s", smtp_verb_names[v]);
		for (char *p = line; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		smtp_parse_command(line, strlen(line), false, &cmd, &reply);
		assert_int_equal(cmd.verb, v);
		/* as named */
		snprintf(line, sizeof(line), "%s", smtp_verb_names[v]);
		smtp_parse_command(line, strlen(line), false, &cmd, &reply);
		assert_int_equal(cmd.verb, v);
	}
}

/* Fills buf with n copies of ch; returns the end. */
static char *smtp_fill(char *buf, char ch, size_t n)
{
	memset(buf, ch, n);
	return buf + n;
}

/* "<" local "@" domain ">" where the domain has labels of at most 63. */
static void smtp_build_mailbox(char *out, size_t size, size_t local_len, size_t domain_len)
{
	char *p = out;

	assert_true(local_len + domain_len + 8 < size);
	p = smtp_fill(p, 'l', local_len);
	*p++ = '@';
	while (domain_len > 0) {
		size_t label = domain_len > 63 ? 63 : domain_len;

		/* never leave a label of 0 after a dot */
		if (domain_len > 63 && domain_len - 63 < 2)
			label = 61;
		p = smtp_fill(p, 'D', label);
		domain_len -= label;
		if (domain_len > 0) {
			*p++ = '.';
			domain_len--;
		}
	}
	*p = '\0';
}

static void smtp_check_built(const char *prefix, const char *mailbox, const char *suffix, int code,
			     const char *enhanced, enum smtp_verb verb)
{
	char line[1024];
	struct smtp_command want = {.verb = verb};
	char lower[600];

	snprintf(line, sizeof(line), "%s%s%s", prefix, mailbox, suffix);
	/* the expected path: the mailbox with its domain lower-cased */
	snprintf(lower, sizeof(lower), "%s", mailbox);
	for (char *p = strchr(lower, '@'); p != NULL && *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	want.path = lower;
	smtp_check_line(line, strlen(line), false, code, enhanced, &want);
}

static void test_smtp_parser_limits(void **state)
{
	char mailbox[600];

	(void)state;
	/* local part: 64 octets, then 65 */
	smtp_build_mailbox(mailbox, sizeof(mailbox), 64, 10);
	smtp_check_built("MAIL FROM:<", mailbox, ">", 0, NULL, SMTP_VERB_MAIL);
	smtp_check_built("RCPT TO:<", mailbox, ">", 0, NULL, SMTP_VERB_RCPT);
	smtp_build_mailbox(mailbox, sizeof(mailbox), 65, 10);
	smtp_check_built("MAIL FROM:<", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);
	smtp_check_built("RCPT TO:<", mailbox, ">", 501, "5.1.3", SMTP_VERB_RCPT);

	/* a quoted local part counts its quotes */
	memcpy(mailbox, "\"", 1);
	smtp_fill(mailbox + 1, ' ', 62);
	strcpy(mailbox + 63, "\"@d");
	smtp_check_built("MAIL FROM:<", mailbox, ">", 0, NULL, SMTP_VERB_MAIL);
	smtp_fill(mailbox + 1, ' ', 63);
	strcpy(mailbox + 64, "\"@d");
	smtp_check_built("MAIL FROM:<", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);

	/* the path, brackets included: 256 octets, then 257 */
	smtp_build_mailbox(mailbox, sizeof(mailbox), 64, 256 - 2 - 65);
	assert_int_equal(strlen(mailbox) + 2, 256);
	smtp_check_built("MAIL FROM:<", mailbox, ">", 0, NULL, SMTP_VERB_MAIL);
	smtp_check_built("RCPT TO:<", mailbox, ">", 0, NULL, SMTP_VERB_RCPT);
	smtp_build_mailbox(mailbox, sizeof(mailbox), 64, 257 - 2 - 65);
	assert_int_equal(strlen(mailbox) + 2, 257);
	smtp_check_built("MAIL FROM:<", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);
	smtp_check_built("RCPT TO:<", mailbox, ">", 501, "5.1.3", SMTP_VERB_RCPT);
	smtp_build_mailbox(mailbox, sizeof(mailbox), 10, 257 - 2 - 11);
	smtp_check_built("MAIL FROM:<", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);

	/* a source route counts towards the path: 256 with "@r:", then 257 */
	smtp_build_mailbox(mailbox, sizeof(mailbox), 64, 256 - 2 - 65 - 3);
	smtp_check_built("MAIL FROM:<@r:", mailbox, ">", 0, NULL, SMTP_VERB_MAIL);
	smtp_build_mailbox(mailbox, sizeof(mailbox), 64, 257 - 2 - 65 - 3);
	smtp_check_built("MAIL FROM:<@r:", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);

	/* an ASCII label: 63 octets, then 64 */
	mailbox[0] = 'a';
	mailbox[1] = '@';
	smtp_fill(mailbox + 2, 'D', 63);
	strcpy(mailbox + 65, ".example");
	smtp_check_built("MAIL FROM:<", mailbox, ">", 0, NULL, SMTP_VERB_MAIL);
	smtp_fill(mailbox + 2, 'D', 64);
	strcpy(mailbox + 66, ".example");
	smtp_check_built("MAIL FROM:<", mailbox, ">", 501, "5.1.7", SMTP_VERB_MAIL);
}

static void smtp_check_envid(size_t len, int code)
{
	char line[256] = "MAIL FROM:<a@b> ENVID=";
	size_t prefix = strlen(line);
	struct smtp_command want = {.verb = SMTP_VERB_MAIL, .path = "a@b"};

	smtp_fill(line + prefix, 'e', len);
	line[prefix + len] = '\0';
	if (code == 0)
		want.envid = line + prefix;
	smtp_check_line(line, strlen(line), false, code, code != 0 ? "5.5.4" : NULL, &want);
}

static void test_smtp_parser_envid_limit(void **state)
{
	(void)state;
	smtp_check_envid(1, 0);
	smtp_check_envid(100, 0);
	smtp_check_envid(101, 555);
}

struct smtp_xtext_case {
	const char *in;
	const char *out; /* NULL: malformed */
};

static const struct smtp_xtext_case smtp_xtext_cases[] = {
    {"", ""},
    {"abc", "abc"},
    {"a+2Bb", "a+b"},
    {"+3D", "="},
    {"+41+42+43", "ABC"},
    {"+20", " "},
    {"+7F", "\x7f"},
    {"+FF", "\xff"},
    {"+01", "\x01"},
    {"<>", "<>"},
    {"e+3Dmc2@example.com", "e=mc2@example.com"},
    {"!~", "!~"},
    {"a+2b", NULL},
    {"a+2", NULL},
    {"a+", NULL},
    {"+", NULL},
    {"+G0", NULL},
    {"+00", NULL},
    {"a b", NULL},
    {"a=b", NULL},
    {"a\tb", NULL},
    {"a\x7f", NULL},
    {"\xc3\xbc", NULL},
    {"ok+2Bok+", NULL},
};

static void test_smtp_xtext_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(smtp_xtext_cases) / sizeof(smtp_xtext_cases[0]); i++) {
		const struct smtp_xtext_case *tc = &smtp_xtext_cases[i];
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", tc->in);
		if (tc->out == NULL) {
			if (smtp_xtext_decode(buf) != -1)
				fail_msg("xtext \"%s\" accepted", tc->in);
			/* a malformed text is left as it was */
			assert_string_equal(buf, tc->in);
		} else {
			if (smtp_xtext_decode(buf) != 0)
				fail_msg("xtext \"%s\" refused", tc->in);
			assert_string_equal(buf, tc->out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtp_parser_table),
	    cmocka_unit_test(test_smtp_parser_verb_names),
	    cmocka_unit_test(test_smtp_parser_limits),
	    cmocka_unit_test(test_smtp_parser_envid_limit),
	    cmocka_unit_test(test_smtp_xtext_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
