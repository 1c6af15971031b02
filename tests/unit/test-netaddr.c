/* netaddr_in_list: single addresses, CIDR networks, IPv4-mapped IPv6,
 * malformed lines. */
#include "lib/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static struct sockaddr_storage ip(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	return ss;
}

static void test_matches(void **state)
{
	(void)state;
	static const struct {
		const char *peer, *list;
		bool match;
	} cases[] = {
	    {"192.0.2.1", "192.0.2.1", true},
	    {"192.0.2.1", "192.0.2.2", false},
	    {"192.0.2.1", "  192.0.2.0/24  \r", true},
	    {"192.0.3.1", "192.0.2.0/24", false},
	    {"10.1.2.3", "192.0.2.0/24\n10.0.0.0/8", true},
	    {"10.1.2.3", "0.0.0.0/0", true},
	    {"10.1.2.3", "10.0.0.0/33", false},
	    {"10.1.2.3", "10.0.0.0/", false},
	    {"10.1.2.3", "garbage\n\n10.1.2.3", true},
	    {"2001:db8::1", "2001:db8::/32", true},
	    {"2001:db9::1", "2001:db8::/32", false},
	    {"2001:db8::1", "2001:db8::1", true},
	    {"::ffff:192.0.2.7", "192.0.2.0/24", true},
	    {"192.0.2.7", "::ffff:192.0.2.0/120", true},
	    {"192.0.2.7", "", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage peer = ip(cases[i].peer);
		if (netaddr_in_list(&peer, cases[i].list) != cases[i].match)
			fail_msg("case %zu: %s in %s", i, cases[i].peer, cases[i].list);
	}
}

static void test_format(void **state)
{
	(void)state;
	char buf[64];
	struct sockaddr_storage a = ip("192.0.2.1"), b = ip("2001:db8::1");
	netaddr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1");
	netaddr_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
