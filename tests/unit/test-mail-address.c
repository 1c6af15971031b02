/* Unit tests for RFC 5322 address lists (node/mail/mail-address.c).
 *
 * Each case is one header value and the ENVELOPE address list IMAP prints
 * for it. The first table's expectations are what Dovecot 2.3 prints for a
 * "To:" with that value; the second table holds the places where we take
 * more from broken input on purpose, each saying what Dovecot prints.
 * Values are parsed from exact-size heap copies so that ASan sees any read
 * past the end.
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
#include "mail/mail-address.h"
#include "mail/mail-envelope.h"

struct addr_case {
	const char *name, *value, *want;
};

static const struct addr_case addr_cases[] = {
    {"addr-spec", "joe@example.org", "((NIL NIL \"joe\" \"example.org\"))"},
    {"name-addr", "Joe Public <joe@example.org>", "((\"Joe Public\" NIL \"joe\" \"example.org\"))"},
    {"quoted display name with comma", "\"Public, Joe\" <joe@example.org>",
     "((\"Public, Joe\" NIL \"joe\" \"example.org\"))"},
    {"obsolete phrase with dot", "Joe Q. Public <jqp@example.org>",
     "((\"Joe Q. Public\" NIL \"jqp\" \"example.org\"))"},
    {"list",
     "Mary Smith <mary@x.test>, jdoe@example.org, Who? "
     "<one@y.test>",
     "((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" "
     "\"example.org\")(\"Who?\" NIL \"one\" \"y.test\"))"},
    {"empty group", "undisclosed-recipients:;",
     "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))"},
    {"group with members",
     "A Group:Ed Jones <c@a.test>,joe@where.test,John "
     "<jdoe@one.test>;",
     "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")(NIL "
     "NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL "
     "NIL NIL NIL))"},
    {"group then address", "grp: a@b.example, \"x y\"@d.example;, z@w.example",
     "((NIL NIL \"grp\" NIL)(NIL NIL \"a\" \"b.example\")(NIL NIL \"x y\" "
     "\"d.example\")(NIL NIL NIL NIL)(NIL NIL \"z\" \"w.example\"))"},
    {"rfc5322 a.5 comments",
     "Pete(A nice \\) chap) <pete(his account)@silly.test(his "
     "host)>",
     "((\"Pete\" NIL \"pete\" \"silly.test\"))"},
    {"rfc5322 a.5 group with comments",
     "A Group(Some people)\r\n     :Chris Jones <c@(Chris's "
     "host.)public.example>,\r\n         joe@example.org,\r\n  John "
     "<jdoe@one.test> (my dear friend); (the end of the group)",
     "((NIL NIL \"A Group\" NIL)(\"Chris Jones\" NIL \"c\" "
     "\"public.example\")(NIL NIL \"joe\" \"example.org\")(\"John\" NIL "
     "\"jdoe\" \"one.test\")(NIL NIL NIL NIL))"},
    {"rfc5322 a.5 empty group",
     "(Empty list)(start)Hidden recipients  :(nobody(that I "
     "know))  ;",
     "((NIL NIL \"Hidden recipients\" NIL)(NIL NIL NIL NIL))"},
    {"trailing comment is the name", "a@b.example (Foo Bar) , c@d.example (x) (y)",
     "((\"Foo Bar\" NIL \"a\" \"b.example\")(\"y\" NIL \"c\" \"d.example\"))"},
    {"nested comment as name", "a.b.c@d.example (comment (nested))",
     "((\"comment (nested)\" NIL \"a.b.c\" \"d.example\"))"},
    {"empty comment is no name", "a@b.example ()", "((NIL NIL \"a\" \"b.example\"))"},
    {"comment ignored after a display name", "\"Joe\" <a@b.example> (comment)",
     "((\"Joe\" NIL \"a\" \"b.example\"))"},
    {"comment inside addr-spec", "a(x)@(y)b.example", "((\"y\" NIL \"a\" \"b.example\"))"},
    {"quoted local part", "\"quoted\\\"local\"@dom.example",
     "((NIL NIL \"quoted\\\"local\" \"dom.example\"))"},
    {"quoted local part with space", "\"x y\"@d.example", "((NIL NIL \"x y\" \"d.example\"))"},
    {"quoted local part with at", "\"a@b\"@c.example", "((NIL NIL \"a@b\" \"c.example\"))"},
    {"source route", "<@route,@r2:x@y.example>", "((NIL \"@route,@r2\" \"x\" \"y.example\"))"},
    {"domain literal", "a@[192.0.2.1]", "((NIL NIL \"a\" \"[192.0.2.1]\"))"},
    {"encoded-word name stays encoded", "=?utf-8?q?J=C3=B6rg?= <j@x.example>",
     "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.example\"))"},
    {"quoted name with specials", "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
     "(({16}\r\nGiant; \"Big\" Box NIL \"sysservices\" \"example.net\"))"},
    {"name with extra blanks", "\"  spaced   name \" <a@b.example>",
     "(({11}\r\nspaced name NIL \"a\" \"b.example\"))"},
    {"8-bit name", "\303\251l\303\250ve <eleve@example.fr>",
     "(({7}\r\n\303\251l\303\250ve NIL \"eleve\" \"example.fr\"))"},
    {"quoted and atom name", "\"a b\" c <d@e.example>", "((\"a b c\" NIL \"d\" \"e.example\"))"},
    {"empty display name", "\"\" <a@b.example>", "((NIL NIL \"a\" \"b.example\"))"},
    {"angle address only", "<boss@nil.test>", "((NIL NIL \"boss\" \"nil.test\"))"},
    {"null address", "<>", "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
    {"local part only", "foo", "((NIL NIL \"foo\" \"MISSING_DOMAIN\"))"},
    {"quoted string only", "\"x\"", "((\"x\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
    {"at only", "@", "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
    {"phrase and bare addr-spec", "name a@b.example",
     "((\"name a\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
    {"garbage after address", "Mary <mary@x.example> extra",
     "((\"Mary\" NIL \"mary\" \"x.example\"))"},
    {"second at", "a@b@c", "((NIL NIL \"a\" \"b\"))"},
    {"quoted domain", "a@\"quoted\"", "((NIL NIL \"a\" \"MISSING_DOMAIN\"))"},
    {"folded list", "a@b.example,\r\n\tc@d.example",
     "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\"))"},
    {"bare LF fold", "a@b.example,\n c@d.example",
     "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\"))"},
    {"empty", "", "NIL"},
    {"blank", "   ", "NIL"},
};

static const struct addr_case addr_deviation_cases[] = {
    /* Dovecot: two (NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN") first;
     * RFC 5322 obs-addr-list allows empty elements. */
    {"empty elements", ", ,x@y.example,", "((NIL NIL \"x\" \"y.example\"))"},
    /* Dovecot drops what follows the ';'. */
    {"semicolon between addresses", "a@b.example; c@d.example",
     "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\"))"},
    /* Dovecot: host "SYNTAX_ERROR". */
    {"unterminated angle address", "name <a@b.example", "((\"name\" NIL \"a\" \"b.example\"))"},
    /* Dovecot: ({4}\r\na. b NIL "MISSING_MAILBOX" "MISSING_DOMAIN"). */
    {"obsolete blanks around dots", "a . b @ c . d", "((NIL NIL \"a.b\" \"c.d\"))"},
    /* Dovecot: "MISSING_DOMAIN". */
    {"trailing dot in domain", "a@b.example.", "((NIL NIL \"a\" \"b.example.\"))"},
    /* Dovecot keeps only the first group. */
    {"groups without a comma", "g1:;g2:a@b.example;",
     "((NIL NIL \"g1\" NIL)(NIL NIL NIL NIL)(NIL NIL \"g2\" NIL)(NIL NIL \"a\" \"b.example\")(NIL "
     "NIL NIL NIL))"},
    /* Dovecot: ((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")). */
    {"stray semicolon", ";", "NIL"},
    /* Dovecot drops the name. */
    {"unterminated quoted string", "\"unterminated <a@b.example>",
     "((\"unterminated <a@b.example>\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"},
};

static void run_addr_cases(const struct addr_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct addr_case *c = &cases[i];
		struct arena *arena = arena_create(1024);
		struct mail_address_list list = {0};
		struct strbuf sb = {0};
		size_t len = strlen(c->value);
		char *value = malloc(len > 0 ? len : 1);
		const char *error = NULL;

		assert_non_null(value);
		memcpy(value, c->value, len);
		assert_int_equal(mail_address_parse(arena, value, len, &list, &error), 0);
		assert_null(error);
		free(value);
		mail_envelope_dump_addresses(&sb, &list);
		if (strcmp(sb.data, c->want) != 0) {
			print_error("%s\n got: %s\nwant: %s\n", c->name, sb.data, c->want);
			fail();
		}
		unsigned n = 0;
		for (const struct mail_address *a = list.first; a != NULL; a = a->next) {
			assert_true(a->next != NULL || a == list.last);
			n++;
		}
		assert_int_equal(n, list.count);
		strbuf_free(&sb);
		arena_destroy(&arena);
	}
}

static void test_address_dovecot_cases(void **state)
{
	(void)state;
	run_addr_cases(addr_cases, sizeof(addr_cases) / sizeof(addr_cases[0]));
}

static void test_address_deviations(void **state)
{
	(void)state;
	run_addr_cases(addr_deviation_cases,
		       sizeof(addr_deviation_cases) / sizeof(addr_deviation_cases[0]));
}

static struct mail_address_list parse(struct arena *arena, const char *s)
{
	struct mail_address_list list = {0};
	const char *error;

	assert_int_equal(mail_address_parse(arena, s, strlen(s), &list, &error), 0);
	return list;
}

static void test_address_fields(void **state)
{
	(void)state;
	struct arena *arena = arena_create(1024);
	struct mail_address_list list =
	    parse(arena, "Team: \"Joe\" <@hop:joe@x.example>, foo;, \"\" <a@[192.0.2.1]>");
	const struct mail_address *a = list.first;

	/* Group start: mailbox is the name, host NULL. */
	assert_true(mail_address_is_group_start(a));
	assert_false(mail_address_is_group_end(a));
	assert_null(a->name);
	assert_string_equal(a->mailbox, "Team");
	a = a->next;
	assert_string_equal(a->name, "Joe");
	assert_string_equal(a->adl, "@hop");
	assert_string_equal(a->mailbox, "joe");
	assert_string_equal(a->host, "x.example");
	assert_false(mail_address_is_group_start(a));
	a = a->next;
	/* A placeholder is the exported constant itself. */
	assert_string_equal(a->mailbox, "foo");
	assert_ptr_equal(a->host, mail_address_missing_domain);
	a = a->next;
	assert_true(mail_address_is_group_end(a));
	assert_null(a->name);
	assert_null(a->mailbox);
	a = a->next;
	assert_null(a->name);
	assert_null(a->adl);
	assert_string_equal(a->host, "[192.0.2.1]");
	assert_null(a->next);
	assert_ptr_equal(a, list.last);
	assert_int_equal(list.count, 5);

	list = parse(arena, "<>");
	assert_ptr_equal(list.first->mailbox, mail_address_missing_mailbox);
	assert_ptr_equal(list.first->host, mail_address_missing_domain);
	arena_destroy(&arena);
}

static void test_address_append(void **state)
{
	(void)state;
	struct arena *arena = arena_create(1024);
	struct mail_address_list list = {0};
	struct strbuf sb = {0};
	const char *error;

	/* Repeated header fields add to one list, as the envelope does. */
	assert_int_equal(mail_address_parse(arena, "a@b.example", 11, &list, &error), 0);
	assert_int_equal(mail_address_parse(arena, "", 0, &list, &error), 0);
	assert_int_equal(mail_address_parse(arena, "c@d.example", 11, &list, &error), 0);
	mail_envelope_dump_addresses(&sb, &list);
	assert_string_equal(sb.data,
			    "((NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\"))");
	assert_int_equal(list.count, 2);

	/* A value cut short must not be read past its length. */
	list = (struct mail_address_list){0};
	assert_int_equal(mail_address_parse(arena, "x@y.example, z@w.example", 11, &list, &error),
			 0);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.first->host, "y.example");
	strbuf_free(&sb);
	arena_destroy(&arena);
}

static void test_address_limit(void **state)
{
	(void)state;
	struct arena *arena = arena_create(4096);
	struct mail_address_list list = {0};
	struct strbuf sb = {0};
	const char *error = NULL;

	for (int i = 0; i < MAIL_ADDRESS_MAX_PER_LIST + 10; i++)
		strbuf_appendf(&sb, "u%d@example.org, ", i);
	assert_int_equal(mail_address_parse(arena, sb.data, sb.len, &list, &error), -1);
	assert_string_equal(error, "too many addresses");
	assert_int_equal(list.count, MAIL_ADDRESS_MAX_PER_LIST);

	/* Cut inside a group, the group is still closed. */
	strbuf_reset(&sb);
	strbuf_appendf(&sb, "many:");
	for (int i = 0; i < MAIL_ADDRESS_MAX_PER_LIST + 10; i++)
		strbuf_appendf(&sb, "u%d@example.org,", i);
	strbuf_appendf(&sb, ";");
	list = (struct mail_address_list){0};
	error = NULL;
	assert_int_equal(mail_address_parse(arena, sb.data, sb.len, &list, &error), -1);
	assert_non_null(error);
	assert_int_equal(list.count, MAIL_ADDRESS_MAX_PER_LIST + 1);
	assert_true(mail_address_is_group_start(list.first));
	assert_true(mail_address_is_group_end(list.last));
	strbuf_free(&sb);
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_dovecot_cases), cmocka_unit_test(test_address_deviations),
	    cmocka_unit_test(test_address_fields),	  cmocka_unit_test(test_address_append),
	    cmocka_unit_test(test_address_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
