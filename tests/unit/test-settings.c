/* Unit tests for lib/settings: the table's own consistency, normalisation
 * of each type including bad input, and the values store (defaults,
 * tegu.conf overrides against database values, reset, concurrent use).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/settings.h"

struct normalize_case {
	const char *input;
	const char *expected; /* NULL: must be rejected */
};

static void check_cases(const char *name, const struct normalize_case *cases, size_t count)
{
	const struct setting_def *def = settings_find(name);

	assert_non_null(def);
	for (size_t i = 0; i < count; i++) {
		char *normalized = NULL;
		const char *error = NULL;
		int ret = settings_normalize(def, cases[i].input, &normalized, &error);

		if (cases[i].expected == NULL) {
			if (ret != -1)
				fail_msg("%s: \"%s\" accepted as \"%s\"", name, cases[i].input,
					 normalized);
			assert_non_null(error);
			/* Errors name the setting so the admin knows which. */
			assert_non_null(strstr(error, name));
		} else {
			if (ret != 0)
				fail_msg("%s: \"%s\" rejected: %s", name, cases[i].input, error);
			assert_string_equal(normalized, cases[i].expected);
			free(normalized);
		}
	}
}

static void test_table(void **state)
{
	(void)state;
	for (unsigned i = 0; i < settings_count; i++) {
		const struct setting_def *def = &settings_table[i];
		char *normalized = NULL;
		const char *error = NULL;

		assert_non_null(def->name);
		/* camelCase: a lower-case start, then letters and digits */
		assert_true(islower((unsigned char)def->name[0]));
		for (const char *p = def->name; *p != '\0'; p++)
			assert_true(isalnum((unsigned char)*p));
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(def->name, settings_table[j].name);
		assert_ptr_equal(settings_find(def->name), def);

		assert_non_null(def->label);
		assert_true(def->label[0] != '\0');
		assert_non_null(def->manual);
		assert_non_null(def->help_ru);
		assert_true(def->help_ru[0] != '\0');
		assert_non_null(def->help_en);
		assert_true(def->help_en[0] != '\0');
		if (def->type == SETTING_INT)
			assert_true(def->min <= def->max);

		/* Every default passes its own rules and is already in
		 * normal form. */
		assert_non_null(def->default_value);
		if (settings_normalize(def, def->default_value, &normalized, &error) != 0)
			fail_msg("default of %s rejected: %s", def->name, error);
		assert_string_equal(normalized, def->default_value);
		free(normalized);
	}
}

static void test_table_rows(void **state)
{
	static const struct {
		const char *name;
		enum setting_type type;
		const char *default_value;
	} expected[] = {
	    {"serverName", SETTING_STRING, ""},
	    {"fullAllowedIps", SETTING_LIST, ""},
	    {"allowEmptySenderForFullAllowed", SETTING_BOOL, "false"},
	    {"smtpListenIp", SETTING_STRING, "0.0.0.0"},
	    {"smtpPort", SETTING_INT, "25"},
	    {"submissionPort", SETTING_INT, "587"},
	    {"smtpsPort", SETTING_INT, "465"},
	    {"smtpMaxConnections", SETTING_INT, "100"},
	    {"lmtpEnabled", SETTING_BOOL, "false"},
	    {"lmtpHost", SETTING_STRING, ""},
	    {"lmtpPort", SETTING_INT, "24"},
	    {"imapListenIp", SETTING_STRING, "0.0.0.0"},
	    {"imapPort", SETTING_INT, "143"},
	    {"imapsPort", SETTING_INT, "993"},
	    {"imapMaxConnections", SETTING_INT, "1000"},
	    {"inboxCanonicalName", SETTING_STRING, "Входящие"},
	    {"messageSizeMb", SETTING_INT, "30"},
	    {"dataDir", SETTING_STRING, "/opt/tegu/data"},
	    {"dkimDir", SETTING_STRING, "/opt/tegu/dkim"},
	    {"dkimSelector", SETTING_STRING, "mail"},
	    {"sslCertPath", SETTING_STRING, "/opt/tegu/certs/fullchain.pem"},
	    {"sslKeyPath", SETTING_STRING, "/opt/tegu/certs/privkey.pem"},
	    {"masterUserSeparator", SETTING_STRING, "*"},
	    {"greylistIgnoreDomains", SETTING_LIST, ""},
	    {"greylistLifetimeHours", SETTING_INT, "24"},
	    {"whitelistLifetimeHours", SETTING_INT, "720"},
	    {"greylistCleanIntervalSec", SETTING_INT, "300"},
	    {"dnsblThreshold", SETTING_INT, "3"},
	    {"dnsblZones", SETTING_LIST, ""},
	    {"authSecurityEnabled", SETTING_BOOL, "true"},
	    {"failedAuthLifetimeMin", SETTING_INT, "60"},
	    {"banTimeMin", SETTING_INT, "60"},
	    {"maxFailedAuth", SETTING_INT, "3"},
	    {"spfBlockFail", SETTING_BOOL, "true"},
	    {"greylistEnabled", SETTING_BOOL, "true"},
	    {"smtpListsEnabled", SETTING_BOOL, "true"},
	    {"dnsblEnabled", SETTING_BOOL, "true"},
	    {"logSessions", SETTING_BOOL, "false"},
	    {"imapPlaintextAuth", SETTING_BOOL, "false"},
	    {"queueBatchSize", SETTING_INT, "100"},
	    {"queueLeaseSeconds", SETTING_INT, "300"},
	    {"httpPort", SETTING_INT, "8888"},
	    {"httpsPort", SETTING_INT, "9999"},
	    {"httpListenIp", SETTING_STRING, "0.0.0.0"},
	};
	static const char *const ports[] = {"smtpPort",	 "submissionPort", "smtpsPort", "imapPort",
					    "imapsPort", "httpPort",	   "httpsPort"};

	(void)state;
	assert_int_equal(settings_count, sizeof(expected) / sizeof(expected[0]));
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct setting_def *def = settings_find(expected[i].name);

		if (def == NULL)
			fail_msg("missing setting %s", expected[i].name);
		assert_int_equal(def->type, expected[i].type);
		assert_string_equal(def->default_value, expected[i].default_value);
	}
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		const struct setting_def *def = settings_find(ports[i]);

		assert_non_null(def);
		assert_int_equal(def->min, 1);
		assert_int_equal(def->max, 65535);
		assert_true(def->restart);
	}
	assert_true(settings_find("lmtpEnabled")->restart);
	assert_false(settings_find("greylistEnabled")->restart);
	assert_string_equal(settings_find("serverName")->label,
			    "Server name (used in banner and HELO/EHLO)");
	assert_string_equal(settings_find("serverName")->manual, "6.2.1.1");
	assert_string_equal(settings_find("queueBatchSize")->manual, "6.2.6.1.7");
	assert_string_equal(settings_find("queueBatchSize")->label,
			    "Number of messages processed per pass");
}

static void test_find(void **state)
{
	(void)state;
	assert_non_null(settings_find("smtpPort"));
	assert_null(settings_find("smtpport"));
	assert_null(settings_find("SmtpPort"));
	assert_null(settings_find(""));
	assert_null(settings_find("smtpPort "));
	assert_null(settings_find(NULL));
}

static void test_normalize_bool(void **state)
{
	static const struct normalize_case cases[] = {
	    {"true", "true"}, {"false", "false"}, {"TRUE", "true"}, {"False", "false"},
	    {"yes", "true"},  {"no", "false"},	  {"on", "true"},   {"OFF", "false"},
	    {"1", "true"},    {"0", "false"},	  {" on ", "true"}, {"", NULL},
	    {"2", NULL},      {"tru", NULL},	  {"truee", NULL},  {"yes please", NULL},
	    {"-1", NULL},     {"on\n", "true"},	  {"o\nn", NULL},
	};

	(void)state;
	check_cases("greylistEnabled", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_normalize_int(void **state)
{
	static const struct normalize_case port_cases[] = {
	    {"25", "25"},
	    {" 25 ", "25"},
	    {"+25", "25"},
	    {"00025", "25"},
	    {"1", "1"},
	    {"65535", "65535"},
	    {"0", NULL},
	    {"-1", NULL},
	    {"65536", NULL},
	    {"", NULL},
	    {" ", NULL},
	    {"+", NULL},
	    {"-", NULL},
	    {"abc", NULL},
	    {"25abc", NULL},
	    {"2 5", NULL},
	    {"1e3", NULL},
	    {"0x19", NULL},
	    {"25.0", NULL},
	    {"9223372036854775807", NULL},
	    {"9223372036854775808", NULL},
	    {"99999999999999999999999999", NULL},
	    {"-99999999999999999999999999", NULL},
	    {"2\n5", NULL},
	};
	static const struct normalize_case size_cases[] = {
	    {"1", "1"},
	    {"30", "30"},
	    {"0", NULL},
	};

	(void)state;
	check_cases("smtpPort", port_cases, sizeof(port_cases) / sizeof(port_cases[0]));
	check_cases("messageSizeMb", size_cases, sizeof(size_cases) / sizeof(size_cases[0]));
}

static void test_normalize_string(void **state)
{
	static char long_value[5000];
	static const struct normalize_case cases[] = {
	    {"", ""},
	    {"mail.example.com", "mail.example.com"},
	    {"Входящие", "Входящие"},
	    {"with\ttab", "with\ttab"},
	    {"two\nlines", NULL},
	    {"trailing newline\n", NULL},
	    {"carriage\rreturn", NULL},
	    {"bell\a", NULL},
	    {"escape\x1b[0m", NULL},
	    {"delete\x7f", NULL},
	    {"\xff", NULL},		/* never valid in UTF-8 */
	    {"\xd0", NULL},		/* truncated sequence */
	    {"\xc0\xaf", NULL},		/* overlong '/' */
	    {"\xed\xa0\x80", NULL},	/* surrogate */
	    {"\xf4\x90\x80\x80", NULL}, /* above U+10FFFF */
	};
	const struct setting_def *def = settings_find("serverName");
	char *normalized;
	const char *error;

	(void)state;
	check_cases("serverName", cases, sizeof(cases) / sizeof(cases[0]));

	memset(long_value, 'a', sizeof(long_value) - 1);
	assert_int_equal(settings_normalize(def, long_value, &normalized, &error), -1);
}

static void test_normalize_list(void **state)
{
	static const struct normalize_case cases[] = {
	    {"", ""},
	    {"\n\n\n", ""},
	    {"   \n\t\n", ""},
	    {"10.0.0.1", "10.0.0.1"},
	    {"10.0.0.1\n10.0.0.2", "10.0.0.1\n10.0.0.2"},
	    {"10.0.0.1\n10.0.0.2\n", "10.0.0.1\n10.0.0.2"},
	    {"\n\n10.0.0.1\n\n\n10.0.0.2\n\n", "10.0.0.1\n10.0.0.2"},
	    {"  10.0.0.1  \n\t10.0.0.2\t", "10.0.0.1\n10.0.0.2"},
	    {"10.0.0.1\r\n10.0.0.2\r\n", "10.0.0.1\n10.0.0.2"},
	    {"one entry with spaces", "one entry with spaces"},
	    {"ok\nbad\x01entry", NULL},
	    {"ok\n\xff", NULL},
	};

	(void)state;
	check_cases("fullAllowedIps", cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_normalize_null(void **state)
{
	char *normalized;
	const char *error = NULL;

	(void)state;
	assert_int_equal(settings_normalize(settings_find("smtpPort"), NULL, &normalized, &error),
			 -1);
	assert_non_null(error);
}

static void test_values_defaults(void **state)
{
	struct settings_values *values = settings_values_create();
	char buf[128];

	(void)state;
	assert_int_equal(settings_get_int(values, "smtpPort"), 25);
	assert_int_equal(settings_get_int(values, "httpsPort"), 9999);
	assert_true(settings_get_bool(values, "greylistEnabled"));
	assert_false(settings_get_bool(values, "lmtpEnabled"));
	assert_string_equal(settings_get_string(values, "serverName", buf, sizeof(buf)), "");
	assert_string_equal(settings_get_string(values, "inboxCanonicalName", buf, sizeof(buf)),
			    "Входящие");
	assert_string_equal(settings_get_string(values, "fullAllowedIps", buf, sizeof(buf)), "");
	/* Any type reads as its stored text. */
	assert_string_equal(settings_get_string(values, "smtpPort", buf, sizeof(buf)), "25");
	assert_false(settings_values_is_overridden(values, "smtpPort"));
	assert_false(settings_values_is_overridden(values, "noSuchSetting"));

	settings_values_destroy(&values);
	assert_null(values);
	settings_values_destroy(&values);
}

static void test_values_set(void **state)
{
	struct settings_values *values = settings_values_create();
	const char *error = NULL;
	char buf[128];

	(void)state;
	assert_int_equal(settings_values_set(values, "smtpPort", " 2525 ", &error), 0);
	assert_int_equal(settings_get_int(values, "smtpPort"), 2525);
	assert_int_equal(settings_values_set(values, "greylistEnabled", "off", &error), 0);
	assert_false(settings_get_bool(values, "greylistEnabled"));
	assert_int_equal(
	    settings_values_set(values, "fullAllowedIps", "\n10.0.0.1\n\n 10.0.0.2 \n", &error), 0);
	assert_string_equal(settings_get_string(values, "fullAllowedIps", buf, sizeof(buf)),
			    "10.0.0.1\n10.0.0.2");

	/* An invalid value leaves the old one in place. */
	error = NULL;
	assert_int_equal(settings_values_set(values, "smtpPort", "70000", &error), -1);
	assert_non_null(error);
	assert_int_equal(settings_get_int(values, "smtpPort"), 2525);
	assert_int_equal(settings_values_set(values, "serverName", "a\nb", &error), -1);

	error = NULL;
	assert_int_equal(settings_values_set(values, "noSuchSetting", "1", &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "noSuchSetting"));

	settings_values_destroy(&values);
}

static void test_values_override(void **state)
{
	struct settings_values *values = settings_values_create();
	const char *error = NULL;

	(void)state;
	assert_int_equal(settings_values_override(values, "smtpPort", "2526", &error), 0);
	assert_true(settings_values_is_overridden(values, "smtpPort"));
	assert_false(settings_values_is_overridden(values, "imapPort"));

	/* Later database values are valid but ignored for this setting... */
	assert_int_equal(settings_values_set(values, "smtpPort", "2525", &error), 0);
	assert_int_equal(settings_get_int(values, "smtpPort"), 2526);
	/* ...still checked, though. */
	assert_int_equal(settings_values_set(values, "smtpPort", "nope", &error), -1);
	/* ...while the others follow the database. */
	assert_int_equal(settings_values_set(values, "imapPort", "1143", &error), 0);
	assert_int_equal(settings_get_int(values, "imapPort"), 1143);

	/* An override may be changed by another override. */
	assert_int_equal(settings_values_override(values, "smtpPort", "2527", &error), 0);
	assert_int_equal(settings_get_int(values, "smtpPort"), 2527);

	assert_int_equal(settings_values_override(values, "smtpPort", "0", &error), -1);
	assert_int_equal(settings_get_int(values, "smtpPort"), 2527);
	assert_int_equal(settings_values_override(values, "noSuchSetting", "0", &error), -1);

	settings_values_destroy(&values);
}

static void test_values_reset(void **state)
{
	struct settings_values *values = settings_values_create();
	const char *error = NULL;
	char buf[128];

	(void)state;
	assert_int_equal(settings_values_override(values, "serverName", "mx.example.com", &error),
			 0);
	assert_int_equal(settings_values_set(values, "dkimSelector", "s2024", &error), 0);
	assert_int_equal(settings_values_set(values, "dnsblEnabled", "false", &error), 0);
	assert_int_equal(settings_values_set(values, "dnsblZones", "zen.example", &error), 0);

	settings_values_reset(values);
	assert_string_equal(settings_get_string(values, "serverName", buf, sizeof(buf)),
			    "mx.example.com");
	assert_true(settings_values_is_overridden(values, "serverName"));
	assert_string_equal(settings_get_string(values, "dkimSelector", buf, sizeof(buf)), "mail");
	assert_true(settings_get_bool(values, "dnsblEnabled"));
	assert_string_equal(settings_get_string(values, "dnsblZones", buf, sizeof(buf)), "");

	settings_values_destroy(&values);
}

static void test_get_string_truncates(void **state)
{
	struct settings_values *values = settings_values_create();
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_string_equal(settings_get_string(values, "dataDir", buf, 4), "/op");
	assert_int_equal(buf[4], 'x');
	assert_string_equal(settings_get_string(values, "dataDir", buf, 1), "");
	assert_ptr_equal(settings_get_string(values, "dataDir", buf, 0), buf);
	settings_values_destroy(&values);
}

/* The typed getters treat an unknown name or a wrong type as a bug. */
static void expect_abort(void (*fn)(struct settings_values *))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct settings_values *values = settings_values_create();

		/* keep the expected crash report out of the test output */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		fn(values);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void get_unknown(struct settings_values *values)
{
	(void)settings_get_bool(values, "noSuchSetting");
}

static void get_wrong_type(struct settings_values *values)
{
	(void)settings_get_int(values, "greylistEnabled");
}

static void test_get_aborts(void **state)
{
	(void)state;
	expect_abort(get_unknown);
	expect_abort(get_wrong_type);
}

#define HAMMER_ROUNDS 20000

static void *hammer_writer(void *arg)
{
	struct settings_values *values = arg;
	const char *error;

	for (int i = 0; i < HAMMER_ROUNDS; i++) {
		if (settings_values_set(values, "serverName",
					(i & 1) != 0 ? "odd.example.com" : "even.example.com",
					&error) != 0)
			abort();
		if (i % 1000 == 0)
			settings_values_reset(values);
	}
	return NULL;
}

static void *hammer_reader(void *arg)
{
	struct settings_values *values = arg;
	char buf[64];

	for (int i = 0; i < HAMMER_ROUNDS; i++) {
		settings_get_string(values, "serverName", buf, sizeof(buf));
		if (strcmp(buf, "odd.example.com") != 0 && strcmp(buf, "even.example.com") != 0 &&
		    strcmp(buf, "") != 0)
			abort();
		if (settings_get_int(values, "smtpPort") != 25)
			abort();
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct settings_values *values = settings_values_create();
	pthread_t threads[4];

	(void)state;
	assert_int_equal(pthread_create(&threads[0], NULL, hammer_writer, values), 0);
	for (int i = 1; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, hammer_reader, values), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	settings_values_destroy(&values);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_table_rows),
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_normalize_bool),
	    cmocka_unit_test(test_normalize_int),
	    cmocka_unit_test(test_normalize_string),
	    cmocka_unit_test(test_normalize_list),
	    cmocka_unit_test(test_normalize_null),
	    cmocka_unit_test(test_values_defaults),
	    cmocka_unit_test(test_values_set),
	    cmocka_unit_test(test_values_override),
	    cmocka_unit_test(test_values_reset),
	    cmocka_unit_test(test_get_string_truncates),
	    cmocka_unit_test(test_get_aborts),
	    cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
