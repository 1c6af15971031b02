/* utf8_valid: valid text in several scripts, and every way to be invalid. */
#include "lib/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		bool valid;
	} cases[] = {
	    {"", 0, true},
	    {"plain ascii", 0, true},
	    {"Входящие", 0, true},
	    {"日本語", 0, true},
	    {"\xf0\x9f\x93\xa7 mail", 0, true},
	    {"\xf4\x8f\xbf\xbf", 0, true},  /* U+10FFFF */
	    {"\xf4\x90\x80\x80", 0, false}, /* past U+10FFFF */
	    {"\xc0\xaf", 0, false},	    /* overlong '/' */
	    {"\xe0\x80\xaf", 0, false},	    /* overlong */
	    {"\xf0\x80\x80\xaf", 0, false}, /* overlong */
	    {"\xed\xa0\x80", 0, false},	    /* surrogate */
	    {"\xd0", 0, false},		    /* truncated */
	    {"\xe6\x97", 0, false},	    /* truncated */
	    {"\x80", 0, false},		    /* stray continuation */
	    {"\xff", 0, false},
	    {"a\xd0z", 0, false},
	    {"nul\0inside", 10, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		if (utf8_valid(cases[i].text, len) != cases[i].valid)
			fail_msg("case %zu", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_utf8)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
