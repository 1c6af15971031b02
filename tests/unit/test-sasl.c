/* Unit tests for the SASL PLAIN decoder (node/lib/sasl.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/sasl.h"

static void test_plain(void **state)
{
	unsigned char buf[128];
	struct sasl_plain p;
	(void)state;

	/* "\0alice\0secret" and "admin\0alice\0pw" */
	assert_int_equal(sasl_plain_decode("AGFsaWNlAHNlY3JldA==", buf, sizeof(buf), &p), 0);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "alice");
	assert_string_equal(p.password, "secret");
	assert_int_equal(sasl_plain_decode("YWRtaW4AYWxpY2UAcHc=", buf, sizeof(buf), &p), 0);
	assert_string_equal(p.authzid, "admin");
	assert_string_equal(p.authcid, "alice");
	assert_string_equal(p.password, "pw");
	/* An empty password is a password. */
	assert_int_equal(sasl_plain_decode("AGFsaWNlAA==", buf, sizeof(buf), &p), 0);
	assert_string_equal(p.password, "");

	static const char *const bad[] = {
	    "",			  /* nothing */
	    "=",		  /* the empty response */
	    "YWxpY2U=",		  /* "alice": one part */
	    "AGFsaWNl",		  /* "\0alice": two parts */
	    "AABwdw==",		  /* "\0\0pw": empty authcid */
	    "AGFsaWNlAHB3AHg=",	  /* "\0alice\0pw\0x": four parts */
	    "AGFsaWNlAHNlY3JldA", /* padding missing */
	    "AGFsaW!lAHNlY3JldA==",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sasl_plain_decode(bad[i], buf, sizeof(buf), &p), -1);
	/* Too long for the buffer. */
	assert_int_equal(sasl_plain_decode("AGFsaWNlAHNlY3JldA==", buf, 8, &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_plain)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
