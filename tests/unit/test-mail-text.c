/* Unit tests for the search text of a message (node/mail/mail-text.c,
 * node/mail/mail-date.c): charset conversion, RFC 2047 header decoding,
 * transfer decodings, the header field list, the body text (HTML,
 * nested messages, file names, limits) and RFC 5322 dates.
 *
 * Every output is also checked for what the store relies on: valid
 * UTF-8 without NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "lib/utf8.h"
#include "mail/mail-mime.h"
#include "mail/mail-text.h"

#define FFFD "\xef\xbf\xbd"
/* Inputs are sized by sizeof, so they may hold NUL bytes. */
#define IN(s) .in = (s), .in_len = sizeof(s) - 1

static void check_clean(const struct strbuf *sb)
{
	assert_true(utf8_valid(sb->data != NULL ? sb->data : "", sb->len));
	assert_true(sb->len == 0 || memchr(sb->data, '\0', sb->len) == NULL);
}

static void check_equal(const char *name, const struct strbuf *sb, const char *want)
{
	const char *got = sb->data != NULL ? sb->data : "";
	if (strlen(want) != sb->len || memcmp(got, want, sb->len) != 0) {
		print_error("%s:\n got \"%s\"\nwant \"%s\"\n", name, got, want);
		fail();
	}
	check_clean(sb);
}

static void append_str(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

/* ---- mail_text_to_utf8 ---- */

struct utf8_case {
	const char *name, *charset, *in;
	size_t in_len;
	const char *want;
};

static const struct utf8_case utf8_cases[] = {
    {"koi8-r", "koi8-r", IN("\xf0\xd2\xc9\xd7\xc5\xd4\x2c\x20\xcd\xc9\xd2"), "Привет, мир"},
    {"KOI8-R upper case", "KOI8-R", IN("\xd0\xd2\xc9\xd7\xc5\xd4"), "привет"},
    {"windows-1251", "windows-1251", IN("\xc4\xee\xe1\xf0\xfb\xe9 \xe4\xe5\xed\xfc"),
     "Добрый день"},
    {"cp1251 alias", "cp1251", IN("\xef\xf0\xe8\xe2\xe5\xf2"), "привет"},
    {"windows-1251 undefined octet", "windows-1251", IN("a\x98z"), "a" FFFD "z"},
    {"iso-8859-1", "ISO-8859-1", IN("caf\xe9"), "café"},
    {"gb2312 via gb18030", "gb2312", IN("\xd6\xd0\xce\xc4"), "中文"},
    {"shift_jis", "Shift_JIS", IN("\x93\xfa\x96\x7b"), "日本"},
    {"iso-2022-jp (stateful)", "iso-2022-jp", IN("\x1b$BF|K\\\x1b(B!"), "日本!"},
    {"iso-2022-jp cut in an escape", "iso-2022-jp", IN("a\x1b$"), "a" FFFD "$"},
    {"utf-8 valid", "utf-8", IN("привет"), "привет"},
    {"utf-8 invalid octets", "UTF-8", IN("a\xff\xc3z"), "a" FFFD FFFD "z"},
    {"utf-8 truncated at the end", "utf-8", IN("ab\xd0"), "ab" FFFD},
    {"utf-8 overlong", "utf-8", IN("\xc0\x80\xe0\x80\xaf"), FFFD FFFD FFFD FFFD FFFD},
    {"utf-8 surrogate", "utf-8", IN("\xed\xa0\x80"), FFFD FFFD FFFD},
    {"utf-8 past U+10FFFF", "utf-8", IN("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD},
    {"us-ascii holding UTF-8", "us-ascii", IN("caf\xc3\xa9"), "café"},
    {"no charset", NULL, IN("x\xd0\xbf"), "xп"},
    {"unknown charset as UTF-8", "x-no-such", IN("\xd0\xbf\xe9"), "п" FFFD},
    {"charset with iconv suffix refused", "koi8-r//TRANSLIT", IN("\xd0"), FFFD},
    {"NUL in UTF-8", "utf-8", IN("a\0b"), "a" FFFD "b"},
    {"NUL in koi8-r", "koi8-r", IN("a\0b"), "a" FFFD "b"},
    {"NUL from UTF-16", "UTF-16LE", IN("a\0\0\0b\0"), "a" FFFD "b"},
    {"UTF-16 odd length", "UTF-16LE", IN("a\0b"), "a" FFFD},
    {"empty", "koi8-r", IN(""), ""},
};

static void test_to_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		struct strbuf sb = {0};
		/* Twice: the second time from the converter cache. */
		for (int k = 0; k < 2; k++) {
			strbuf_reset(&sb);
			mail_text_to_utf8(&sb, c->charset, c->in, c->in_len);
			check_equal(c->name, &sb, c->want);
		}
		strbuf_free(&sb);
	}
}

/* More charsets than the cache holds, in turns. */
static void test_to_utf8_many_charsets(void **state)
{
	static const char *const charsets[] = {"koi8-r", "cp1251", "koi8-u", "iso-8859-5",
					       "cp866",	 "koi8-r", "x-bad",  "cp1251"};
	static const char *const inputs[] = {"\xd0", "\xef", "\xd0",	 "\xdf",
					     "\xaf", "\xd0", "\xd0\xbf", "\xef"};
	(void)state;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
			struct strbuf sb = {0};
			mail_text_to_utf8(&sb, charsets[i], inputs[i], strlen(inputs[i]));
			check_equal(charsets[i], &sb, "п");
			strbuf_free(&sb);
		}
	}
}

static void *thread_convert(void *arg)
{
	struct strbuf sb = {0};
	for (int i = 0; i < 100; i++) {
		strbuf_reset(&sb);
		mail_text_to_utf8(&sb, i % 2 ? "koi8-r" : "windows-1251", "\xd0\xef", 2);
		if (strcmp(sb.data, i % 2 ? "пО" : "Рп") != 0)
			*(int *)arg = 1;
	}
	strbuf_free(&sb);
	return NULL;
}

/* Each thread has its converters, freed when it ends (ASan's leak check
 * sees it otherwise). */
static void test_to_utf8_threads(void **state)
{
	pthread_t t[4];
	int bad = 0;
	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_convert, &bad), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(bad, 0);
}

/* ---- mail_text_decode_header ---- */

struct header_case {
	const char *name, *in;
	size_t in_len;
	const char *want;
};

static const struct header_case header_cases[] = {
    {"plain", IN("Hello world"), "Hello world"},
    {"koi8-r base64", IN("=?koi8-r?B?0NLJ18XU?="), "привет"},
    {"windows-1251 Q with underscores", IN("=?windows-1251?Q?=EF=F0=E8=E2=E5=F2_=EC=E8=F0?="),
     "привет мир"},
    {"Q underscores", IN("=?utf-8?q?a_b__c?="), "a b  c"},
    {"utf-8 split across two B words", IN("=?UTF-8?B?0L/RgNA=?= =?utf-8?B?uNCy0LXRgg==?="),
     "привет"},
    {"utf-8 split across folded words", IN("=?UTF-8?B?0L/RgNA=?=\r\n\t=?UTF-8?B?uNCy0LXRgg==?="),
     "привет"},
    {"utf-8 split across Q words", IN("=?utf-8?Q?=D0?= =?utf-8?Q?=BF?="), "п"},
    {"split character, different charsets", IN("=?utf-8?Q?=D0?= =?koi8-r?Q?=D0?="), FFFD "п"},
    {"adjacent words lose the blanks", IN("=?utf-8?Q?a?=  \t =?utf-8?Q?b?="), "ab"},
    {"word then text", IN("=?utf-8?Q?a?= b"), "a b"},
    {"text then word", IN("a =?utf-8?Q?b?="), "a b"},
    {"words around text", IN("=?utf-8?Q?a?= - =?utf-8?Q?b?="), "a - b"},
    {"glued to text", IN("x=?utf-8?Q?y?=z"), "xyz"},
    {"unfolding", IN("a\r\n b\n\tc"), "a b\tc"},
    {"language suffix", IN("=?utf-8*en?Q?hi?="), "hi"},
    {"unknown charset as UTF-8", IN("=?x-foo?Q?caf=C3=A9?="), "café"},
    {"unknown encoding stays", IN("=?utf-8?X?abc?="), "=?utf-8?X?abc?="},
    {"unclosed word stays", IN("=?utf-8?B?YWJj"), "=?utf-8?B?YWJj"},
    {"empty charset stays", IN("=?\?B?YQ==?="), "=?\?B?YQ==?="},
    {"invalid base64 stays", IN("=?utf-8?B?!!!?="), "=?utf-8?B?!!!?="},
    {"blank inside a word stays", IN("=?utf-8?Q?a b?="), "=?utf-8?Q?a b?="},
    {"empty word", IN("a =?utf-8?B?\?= b"), "a  b"},
    {"base64 missing padding", IN("=?utf-8?B?YWI?="), "ab"},
    {"Q bad escape kept", IN("=?utf-8?Q?a=ZZb=?="), "a=ZZb="},
    {"Q NUL", IN("=?utf-8?Q?a=00b?="), "a" FFFD "b"},
    {"raw NUL", IN("a\0b"), "a" FFFD "b"},
    {"raw 8-bit", IN("caf\xe9"), "caf" FFFD},
    {"raw UTF-8", IN("Привет =?utf-8?Q?=D0=BC=D0=B8=D1=80?="), "Привет мир"},
    {"stray =?", IN("1 =? 2 ?= 3"), "1 =? 2 ?= 3"},
    {"empty", IN(""), ""},
};

static void test_decode_header(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];
		struct strbuf sb = {0};
		mail_text_decode_header(&sb, c->in, c->in_len);
		check_equal(c->name, &sb, c->want);
		strbuf_free(&sb);
	}
}

/* ---- mail_text_decode_body ---- */

struct body_case {
	const char *name, *encoding, *in;
	size_t in_len;
	const char *want;
	size_t want_len;
};

#define WANT(s) .want = (s), .want_len = sizeof(s) - 1

static const struct body_case body_cases[] = {
    {"7bit", "7bit", IN("a=3D\r\n"), WANT("a=3D\r\n")},
    {"no encoding", NULL, IN("x\0y"), WANT("x\0y")},
    {"unknown encoding", "x-uuencode", IN("begin"), WANT("begin")},
    {"qp escapes", "quoted-printable", IN("a=3Db=e9"), WANT("a=b\xe9")},
    {"qp soft break CRLF", "quoted-printable", IN("abc=\r\ndef\r\n"), WANT("abcdef\r\n")},
    {"qp soft break LF", "Quoted-Printable", IN("abc=\ndef"), WANT("abcdef")},
    {"qp soft break with blanks after", "quoted-printable", IN("ab =  \r\ncd"), WANT("ab cd")},
    {"qp transport padding", "quoted-printable", IN("abc  \t\r\nx"), WANT("abc\r\nx")},
    {"qp bad escapes kept", "quoted-printable", IN("a=ZZb=4"), WANT("a=ZZb=4")},
    {"qp lone = at the end", "quoted-printable", IN("a="), WANT("a")},
    {"qp ==", "quoted-printable", IN("a==\r\nb"), WANT("a=b")},
    {"qp NUL", "quoted-printable", IN("a=00b"), WANT("a\0b")},
    {"qp cp1251", "quoted-printable", IN("=EF=F0=E8=E2=E5=F2"), WANT("\xef\xf0\xe8\xe2\xe5\xf2")},
    {"base64", "base64", IN("aGVsbG8="), WANT("hello")},
    {"base64 upper case name", "BASE64", IN("aGk="), WANT("hi")},
    {"base64 lines and junk", "base64", IN("aGVs\r\nbG8*gd2\n9y bGQ=\r\n"), WANT("hello world")},
    {"base64 no padding", "base64", IN("aGk"), WANT("hi")},
    {"base64 garbage after padding", "base64", IN("aGk=garbage"), WANT("hi")},
    {"base64 invalid", "base64", IN("!!!!"), WANT("")},
    {"base64 one char left", "base64", IN("aGVsbG8hZ"), WANT("hello!")},
    {"base64 koi8-r", "base64", IN("0NLJ18XU"), WANT("\xd0\xd2\xc9\xd7\xc5\xd4")},
};

static void test_decode_body(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *c = &body_cases[i];
		struct strbuf sb = {0};
		mail_text_decode_body(&sb, c->encoding, c->in, c->in_len);
		if (sb.len != c->want_len ||
		    (sb.len > 0 && memcmp(sb.data, c->want, sb.len) != 0)) {
			print_error("%s: got %zu octets \"%s\"\n", c->name, sb.len, sb.data);
			fail();
		}
		strbuf_free(&sb);
	}
}

/* ---- mail_text_header_fields ---- */

static struct mail_structure *parse(struct arena *arena, const char *msg, size_t len)
{
	struct mail_structure *st;
	const char *error;

	assert_int_equal(mail_structure_parse(arena, msg, len, NULL, &st, &error), 0);
	return st;
}

static void test_header_fields(void **state)
{
	static const char msg[] =
	    "Received: from a\r\n\tby b; Mon, 5 Jan 2004 12:00:00 +0000\r\n"
	    "From: =?koi8-r?B?0NLJ18XU?= <a@example.com>\r\n"
	    "SUBJECT:   =?windows-1251?Q?=EF=F0=E8=E2=E5=F2_=EC=E8=F0?=  \r\n"
	    "To: =?UTF-8?B?0L/RgNA=?=\r\n =?UTF-8?B?uNCy0LXRgg==?= <b@example.com>\r\n"
	    "X-Empty:\r\n"
	    "X-Nul: a\0b\r\n"
	    "X-Raw: caf\xe9\r\n"
	    "\r\n"
	    "Subject: not a header\r\n";
	static const char *const want[] = {
	    "received:from a\tby b; Mon, 5 Jan 2004 12:00:00 +0000",
	    "from:привет <a@example.com>",
	    "subject:привет мир",
	    "to:привет <b@example.com>",
	    "x-empty:",
	    ("x-nul:a" FFFD "b"),
	    ("x-raw:caf" FFFD),
	};
	struct arena *arena = arena_create(4096);
	const char **fields;
	(void)state;

	struct mail_structure *st = parse(arena, msg, sizeof(msg) - 1);
	unsigned n = mail_text_header_fields(arena, st, msg, &fields);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(fields[i], want[i]);
	assert_null(fields[n]);
	arena_destroy(&arena);
}

/* A value over MAIL_TEXT_MAX_FIELD is cut, never inside a character. */
static void test_header_field_cut(void **state)
{
	struct strbuf msg = {0};
	struct arena *arena = arena_create(4096);
	const char **fields;
	(void)state;

	strbuf_append(&msg, "Subject: a", 10);
	for (int i = 0; i < 3000; i++)
		strbuf_append(&msg, "я", 2);
	strbuf_append(&msg, "\r\nX-Exact: ", 11);
	for (int i = 0; i < MAIL_TEXT_MAX_FIELD; i++)
		strbuf_append(&msg, "b", 1);
	strbuf_append(&msg, "\r\nX-Encoded:", 12);
	for (int i = 0; i < 600; i++)
		strbuf_append(&msg, " =?utf-8?B?0Y8=?=", 17); /* 'я' each */
	strbuf_append(&msg, "\r\n\r\n", 4);

	struct mail_structure *st = parse(arena, msg.data, msg.len);
	unsigned n = mail_text_header_fields(arena, st, msg.data, &fields);
	assert_int_equal(n, 3);
	assert_int_equal(strlen(fields[0]), strlen("subject:") + MAIL_TEXT_MAX_FIELD - 1);
	assert_true(utf8_valid(fields[0], strlen(fields[0])));
	assert_int_equal(strlen(fields[1]), strlen("x-exact:") + MAIL_TEXT_MAX_FIELD);
	assert_int_equal(strlen(fields[2]), strlen("x-encoded:") + 600 * 2);
	arena_destroy(&arena);
	strbuf_free(&msg);
}

/* ---- mail_text_body ---- */

struct text_case {
	const char *name, *in;
	size_t in_len;
	const char *want;
};

static const struct text_case text_cases[] = {
    {"plain us-ascii", IN("Subject: x\r\n\r\nHello\r\nworld\r\n"), "Hello\r\nworld\r\n"},
    {"no header at all", IN("\r\nbody"), "body"},
    {"koi8-r base64",
     IN("Content-Type: text/plain; charset=koi8-r\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"89/F29gg1sUgxd2jINzUycggzdHHy8nIIMbSwc7D1drTy8nIIMLVzM/L\r\n"),
     "Съешь же ещё этих мягких французских булок"},
    {"windows-1251 quoted-printable with soft breaks",
     IN("Content-Type: text/plain; charset=\"windows-1251\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	"=C4=EE=E1=F0=FB=E9 =E4=\r\n=E5=ED=FC\r\n"),
     "Добрый день\r\n"},
    {"8bit utf-8 with NUL", IN("Content-Type: text/plain; charset=utf-8\r\n\r\nа\0б\xff"),
     "а" FFFD "б" FFFD},
    {"html with entities, script, style and comments",
     IN("Content-Type: text/html; charset=utf-8\r\n\r\n"
	"<html><head><title>T</title><style>p {color: red}</style>"
	"<script type=\"text/javascript\">if (a < b) alert('x');</script></head>"
	"<body><p class=\"a>b\">Fish &amp; chips &lt;3&gt; &quot;q&quot;&nbsp;x</p>"
	"<!-- a <b>comment</b> -->&#1087;&#x440;&#0;&bogus; &amp 5 < 6"
	"<SCRIPT>hidden</SCRIPT>wo<b>rd</b><br>end</body></html>"),
     "\nT\n\nFish & chips <3> \"q\" x\nпр" FFFD "&bogus; &amp 5 < 6word\nend"},
    {"html in koi8-r, base64",
     IN("Content-Type: text/html; charset=koi8-r\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"PGI+0NLJ18XUPC9iPg==\r\n"),
     "привет"},
    {"alternative, attachment names, nested message",
     IN("MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=koi8-r\r\n\r\n"
	"\xd0\xd2\xc9\xd7\xc5\xd4\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"=?UTF-8?B?0L7RgtGH0ZHRgi5wZGY=?=\"\r\n"
	"Content-Disposition: attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"JVBERi0=\r\n"
	"--outer\r\n"
	"Content-Type: image/png; name=\"=?windows-1251?Q?=F4=EE=F2=EE?=.png\"\r\n\r\n"
	"PNG\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n\r\n"
	"Subject: inner\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"0JLQu9C+0LbQtdC90L3QvtC1INC/0LjRgdGM0LzQvg==\r\n"
	"--outer--\r\n"
	"epilogue\r\n"),
     "привет\n\nhtml\n\nотчёт.pdf\nфото.png\nВложенное письмо"},
    {"text attachment keeps its name",
     IN("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	"--b\r\n"
	"Content-Type: text/plain; name=notes.txt\r\n"
	"Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\n"
	"remember\r\n"
	"--b--\r\n"),
     "remember\nnotes.txt"},
    {"other text subtypes are not text",
     IN("Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n"), ""},
};

static void test_body(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		struct arena *arena = arena_create(4096);
		struct strbuf sb = {0};
		struct mail_structure *st = parse(arena, c->in, c->in_len);
		mail_text_body(&sb, st, c->in);
		check_equal(c->name, &sb, c->want);
		strbuf_free(&sb);
		arena_destroy(&arena);
	}
}

/* The body is cut at MAIL_TEXT_MAX_BODY octets appended, on a character
 * boundary, and later parts are left out. */
static void test_body_limit(void **state)
{
	struct strbuf msg = {0}, out = {0};
	struct arena *arena = arena_create(4096);
	(void)state;

	append_str(&msg, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n\r\nx");
	for (int i = 0; i < MAIL_TEXT_MAX_BODY / 2 + 10; i++)
		strbuf_append(&msg, "я", 2);
	append_str(&msg, "\r\n--b\r\nContent-Type: text/plain\r\n\r\nlater\r\n--b--\r\n");
	struct mail_structure *st = parse(arena, msg.data, msg.len);

	strbuf_append(&out, "prefix", 6);
	mail_text_body(&out, st, msg.data);
	assert_int_equal(out.len, 6 + MAIL_TEXT_MAX_BODY - 1);
	check_clean(&out);
	assert_null(strstr(out.data, "later"));
	strbuf_free(&out);
	strbuf_free(&msg);
	arena_destroy(&arena);
}

/* ---- mail_text_parse_date ---- */

struct date_case {
	const char *in;
	bool ok;
	long long time;
	int zone;
};

static const struct date_case date_cases[] = {
    {"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", true, 837595405, -7 * 3600},
    {"Mon, 5 Jan 2004 12:00:00 +0000", true, 1073304000, 0},
    {"5 Jan 2004 12:00:00 +0000", true, 1073304000, 0},
    {"Mon, 05 Jan 2004 12:00 +0000", true, 1073304000, 0},
    {"mon, 05 JAN 2004 12:00:00 GMT", true, 1073304000, 0},
    {"Mon, 5 Jan 2004 12:00:00 UT", true, 1073304000, 0},
    {"Mon 5 Jan 2004 12:00:00 +0000", true, 1073304000, 0},
    {"Mon, 5 Jan 2004 12:00:00", true, 1073304000, 0},
    {"Tue, 1 Jul 2003 10:52:37 +0200", true, 1057049557, 7200},
    {"Tue, 1 Jul 2003 10:52:37 CEST", true, 1057049557 + 7200, 0},
    {"Sat, 1 Jan 2000 00:00:00 -0530", true, 946704600, -(5 * 3600 + 30 * 60)},
    {"Fri, 31 Dec 1999 23:59:60 +0000", true, 946684800, 0},
    {"Thu, 29 Feb 2024 00:00:00 +0300", true, 1709154000, 3 * 3600},
    {"1 Mar 49 09:05 EST", true, 2498220300, -5 * 3600},
    {"1 Mar 49 14:05 -0000", true, 2498220300, 0},
    {"1 Mar 50 09:05:00 Z", true, -626021700, 0},
    {"1 Mar 103 09:05:00 a", true, 1046509500, 0},
    {"1 Mar 2003 09:05:00 EDT", true, 1046509500 + 4 * 3600, -4 * 3600},
    {"1 Mar 2003 09:05:00 CST", true, 1046509500 + 6 * 3600, -6 * 3600},
    {"1 Mar 2003 09:05:00 CDT", true, 1046509500 + 5 * 3600, -5 * 3600},
    {"1 Mar 2003 09:05:00 MST", true, 1046509500 + 7 * 3600, -7 * 3600},
    {"1 Mar 2003 09:05:00 MDT", true, 1046509500 + 6 * 3600, -6 * 3600},
    {"1 Mar 2003 09:05:00 PST", true, 1046509500 + 8 * 3600, -8 * 3600},
    {"1 Mar 2003 09:05:00 pdt", true, 1046509500 + 7 * 3600, -7 * 3600},
    {" (c) Sat (x (nested) \\) ) ,\r\n 1 (d) Mar\r\n\t2003 09 : 05 : 00 (e) +0000 (f)", true,
     1046509500, 0},
    {"Fri, 31 Dec 9999 23:59:59 +0000", true, 253402300799, 0},
    {"Mon, 1 Jan 0001 00:00:00 +0000", true, -62135596800, 0},
    {"Sat, 1 Jan 0000 00:00:00 +0000", true, -62167219200, 0},
    {"Wed, 31 Dec 1969 23:59:59 +0000", true, -1, 0},
    {"Wed, 28 Feb 1900 12:00:00 +0000", true, -2203934400, 0},
    {"", false, 0, 0},
    {"garbage", false, 0, 0},
    {"Mon, 5 Jan 2004", false, 0, 0},
    {"Mon, 5 Jan 2004 12", false, 0, 0},
    {"Xyz, 5 Jan 2004 12:00:00 +0000", false, 0, 0},
    {"Monday, 5 Jan 2004 12:00:00 +0000", false, 0, 0},
    {"Mon, 32 Jan 2004 12:00:00 +0000", false, 0, 0},
    {"Mon, 0 Jan 2004 12:00:00 +0000", false, 0, 0},
    {"Mon, 29 Feb 2100 12:00:00 +0000", false, 0, 0},
    {"Mon, 29 Feb 2023 12:00:00 +0000", false, 0, 0},
    {"Mon, 31 Apr 2023 12:00:00 +0000", false, 0, 0},
    {"Mon, 5 Foo 2004 12:00:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 10000 12:00:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2 12:00:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 24:00:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:60:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:61 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:0:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 123:00:00 +0000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +00000", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +0060", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +2400", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 J", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 XY", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 TOOLONG", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +0000 trailing", false, 0, 0},
    {"Mon, 5 Jan 2004 12:00:00 +0000 (unclosed", true, 1073304000, 0},
    {"2004-01-05T12:00:00Z", false, 0, 0},
};

static void test_parse_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		const struct date_case *c = &date_cases[i];
		long long t = 12345;
		int zone = 12345;
		int ret = mail_text_parse_date(c->in, strlen(c->in), &t, &zone);
		if ((ret == 0) != c->ok || (c->ok && (t != c->time || zone != c->zone))) {
			print_error("\"%s\": ret %d time %lld zone %d\n", c->in, ret, t, zone);
			fail();
		}
	}
	/* NUL ends nothing: the length does. */
	long long t;
	int zone;
	assert_int_equal(mail_text_parse_date("5 Jan 2004 12:00 GMT\0x", 22, &t, &zone), -1);
	assert_int_equal(mail_text_parse_date("5 Jan 2004 12:00 GMT\0x", 20, &t, &zone), 0);
	assert_int_equal(t, 1073304000);
}

/* The day arithmetic against the C library's, on every month's first
 * and last days over four centuries, and a spread of years beyond. */
static void test_parse_date_arithmetic(void **state)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	(void)state;

	for (int year = 1600; year <= 9999; year += year < 2400 ? 1 : 97) {
		for (int m = 0; m < 12; m++) {
			bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
			int last = mdays[m] + (m == 1 && leap);
			for (int d = 1; d <= last; d += last - 1) {
				char buf[64];
				struct tm tm = {.tm_year = year - 1900,
						.tm_mon = m,
						.tm_mday = d,
						.tm_hour = 13,
						.tm_min = 7,
						.tm_sec = 9};
				long long t;
				int zone;
				snprintf(buf, sizeof(buf), "%d %s %04d 13:07:09 -0130", d,
					 months[m], year);
				assert_int_equal(mail_text_parse_date(buf, strlen(buf), &t, &zone),
						 0);
				assert_int_equal(zone, -5400);
				assert_true(t == (long long)timegm(&tm) + 5400);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_to_utf8),
	    cmocka_unit_test(test_to_utf8_many_charsets),
	    cmocka_unit_test(test_to_utf8_threads),
	    cmocka_unit_test(test_decode_header),
	    cmocka_unit_test(test_decode_body),
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_header_field_cut),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_body_limit),
	    cmocka_unit_test(test_parse_date),
	    cmocka_unit_test(test_parse_date_arithmetic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
