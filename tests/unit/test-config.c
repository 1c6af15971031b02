/* Unit tests for lib/config: reading tegu.conf (defaults, every section,
 * errors with file:line), creating ~/tegu.conf with a private random admin
 * password, and config_parse_address().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"

struct fixture {
	char dir[64];
	char path[128]; /* dir/tegu.conf, for the explicit-path tests */
	char *saved_home;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *home = getenv("HOME");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tegu-test-config-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/tegu.conf", f->dir);
	f->saved_home = home != NULL ? strdup(home) : NULL;
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (f->saved_home != NULL)
		setenv("HOME", f->saved_home, 1);
	else
		unsetenv("HOME");
	free(f->saved_home);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *content)
{
	FILE *file = fopen(path, "w");

	assert_non_null(file);
	assert_int_equal(fputs(content, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
}

static struct config *load_ok(struct fixture *f, const char *content)
{
	struct config *config = NULL;
	const char *error = NULL;

	write_file(f->path, content);
	if (config_load(f->path, false, &config, &error) != 0)
		fail_msg("config_load failed: %s", error);
	assert_non_null(config);
	return config;
}

/* Loads content expecting an error at `line` that mentions `needle`. */
static void load_fails(struct fixture *f, const char *content, int line, const char *needle)
{
	struct config *config = NULL;
	const char *error = NULL;
	char where[192];

	write_file(f->path, content);
	if (config_load(f->path, false, &config, &error) != -1)
		fail_msg("accepted:\n%s", content);
	assert_null(config);
	assert_non_null(error);
	snprintf(where, sizeof(where), "%s:%d: ", f->path, line);
	if (strncmp(error, where, strlen(where)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", error, where);
	if (needle != NULL && strstr(error, needle) == NULL)
		fail_msg("\"%s\" does not mention \"%s\"", error, needle);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config *config = load_ok(f, "; nothing but a comment\n");
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	assert_string_equal(config->path, f->path);
	assert_false(config->created);
	assert_string_equal(config->data_dir, "/opt/tegu/data");
	assert_string_equal(config->node_name, host);
	assert_int_equal(config->shutdown_grace, 10);
	assert_string_equal(config->dsn, "");
	assert_int_equal(config->pool_size, 8);
	assert_false(config->debug);
	assert_null(config->admin_password);
	for (int i = 0; i < CONFIG_LISTEN_COUNT; i++)
		assert_null(config->listen[i]);
	assert_int_equal(config->override_count, 0);
	config_destroy(&config);
	assert_null(config);
	config_destroy(&config);
}

static void test_all_sections(void **state)
{
	struct fixture *f = *state;
	struct config *config;

	/* Section names in any case; comments and blank lines anywhere. */
	config = load_ok(f, "# tegu.conf\n"
			    "[GLOBAL]\n"
			    "dataDir = /srv/tegu\n"
			    "nodeName = node1\n"
			    "shutdownGrace = 30\n"
			    "\n"
			    "[Database]\n"
			    "dsn = host=db1 dbname=tegu user=tegu\n"
			    "poolSize = 6\n"
			    "[log]\n"
			    "debug = yes\n"
			    "[web]\n"
			    "adminPassword = Abc123\n"
			    "[Listen]\n"
			    "smtp = 0.0.0.0:2525\n"
			    "https = [::1]:9443\n"
			    "[SETTINGS]\n"
			    "serverName = mx.example.com\n"
			    "greylistEnabled = off\n");
	assert_string_equal(config->data_dir, "/srv/tegu");
	assert_string_equal(config->node_name, "node1");
	assert_int_equal(config->shutdown_grace, 30);
	assert_string_equal(config->dsn, "host=db1 dbname=tegu user=tegu");
	assert_int_equal(config->pool_size, 6);
	assert_true(config->debug);
	assert_string_equal(config->admin_password, "Abc123");
	assert_string_equal(config->listen[CONFIG_LISTEN_SMTP], "0.0.0.0:2525");
	assert_string_equal(config->listen[CONFIG_LISTEN_HTTPS], "[::1]:9443");
	assert_null(config->listen[CONFIG_LISTEN_IMAP]);
	assert_int_equal(config->override_count, 2);
	assert_string_equal(config->overrides[0].name, "serverName");
	assert_string_equal(config->overrides[0].value, "mx.example.com");
	assert_string_equal(config->overrides[1].name, "greylistEnabled");
	/* stored normalised */
	assert_string_equal(config->overrides[1].value, "false");
	config_destroy(&config);
}

static void test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
	    {"true", true}, {"false", false}, {"yes", true}, {"no", false},  {"on", true},
	    {"off", false}, {"1", true},      {"0", false},  {"TRUE", true}, {"Off", false},
	};
	struct fixture *f = *state;
	char content[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *config;

		snprintf(content, sizeof(content), "[Log]\ndebug = %s\n", cases[i].text);
		config = load_ok(f, content);
		assert_int_equal(config->debug, cases[i].value);
		config_destroy(&config);
	}
	load_fails(f, "[Log]\ndebug = maybe\n", 2, "debug");
	load_fails(f, "[Log]\ndebug =\n", 2, "debug");
}

static void test_listen(void **state)
{
	struct fixture *f = *state;
	char content[512];
	size_t used = 0;
	struct config *config;

	/* Every name of config_listener_names is accepted and lands at its
	 * index. */
	used += (size_t)snprintf(content + used, sizeof(content) - used, "[listen]\n");
	for (int i = 0; i < CONFIG_LISTEN_COUNT; i++)
		used += (size_t)snprintf(content + used, sizeof(content) - used,
					 "%s = 127.0.0.1:%d\n", config_listener_names[i], 1000 + i);
	config = load_ok(f, content);
	for (int i = 0; i < CONFIG_LISTEN_COUNT; i++) {
		char expected[32];

		snprintf(expected, sizeof(expected), "127.0.0.1:%d", 1000 + i);
		assert_string_equal(config->listen[i], expected);
	}
	config_destroy(&config);

	load_fails(f, "[listen]\nsmtp = 25\nimap = localhost:143\n", 3, "imap");
	load_fails(f, "[listen]\nsmtp = 0.0.0.0:0\n", 2, "smtp");
	load_fails(f, "[listen]\nsmtp = 25\nsmtp = 26\n", 3, "smtp");
	load_fails(f, "[listen]\npop3 = 110\n", 2, "pop3");
}

static void test_settings_section(void **state)
{
	struct fixture *f = *state;
	struct config *config;

	/* A list may continue on indented lines or be repeated. */
	config = load_ok(f, "[settings]\n"
			    "fullAllowedIps = 10.0.0.1\n"
			    "    10.0.0.2\n"
			    "smtpPort = 2525\n"
			    "fullAllowedIps = 10.0.0.3\n"
			    "messageSizeMb = +50\n");
	assert_int_equal(config->override_count, 3);
	assert_string_equal(config->overrides[0].name, "fullAllowedIps");
	assert_string_equal(config->overrides[0].value, "10.0.0.1\n10.0.0.2\n10.0.0.3");
	assert_string_equal(config->overrides[1].name, "smtpPort");
	assert_string_equal(config->overrides[1].value, "2525");
	assert_string_equal(config->overrides[2].value, "50");
	config_destroy(&config);

	load_fails(f, "[settings]\nsmtpPort = 25\nnoSuchSetting = 1\n", 3, "noSuchSetting");
	load_fails(f, "[settings]\n\nsmtpPort = 0\n", 3, "smtpPort");
	load_fails(f, "[settings]\nsmtpPort = many\n", 2, "smtpPort");
	load_fails(f, "[settings]\nsmtpPort = 25\nsmtpPort = 26\n", 3, "smtpPort");
	/* a scalar cannot continue onto the next line */
	load_fails(f, "[settings]\nserverName = a\n  b\n", 3, "serverName");
	/* names are exact, with a hint */
	load_fails(f, "[settings]\nsmtpport = 25\n", 2, "\"smtpPort\"");
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	char long_line[400];

	load_fails(f, "[global]\ndataDir = /x\nbogus = 1\n", 3, "bogus");
	load_fails(f, "[global]\ndatadir = /x\n", 2, "\"dataDir\"");
	load_fails(f, "[global]\n\n[nosuch]\nkey = 1\n", 4, "[nosuch]");
	load_fails(f, "dataDir = /x\n[global]\n", 1, "section");
	load_fails(f, "[global]\nthis line is not ini\n", 2, "syntax");
	load_fails(f, "[global\ndataDir = /x\n", 1, NULL);
	load_fails(f, "[global]\ndataDir = relative/path\n", 2, "dataDir");
	load_fails(f, "[global]\nnodeName =\n", 2, "nodeName");
	load_fails(f, "[global]\nnodeName = two words\n", 2, "nodeName");
	load_fails(f, "[global]\nshutdownGrace = -1\n", 2, "shutdownGrace");
	load_fails(f, "[global]\nshutdownGrace = 10s\n", 2, "shutdownGrace");
	load_fails(f, "[global]\nshutdownGrace = 99999999999999999999\n", 2, "shutdownGrace");
	load_fails(f, "[database]\npoolSize = 0\n", 2, "poolSize");
	load_fails(f, "[global]\ndataDir = /a\ndataDir = /b\n", 3, "dataDir");
	load_fails(f, "[WEB]\nadminPassword =\n", 2, "adminPassword");

	/* The first error is the one reported. */
	load_fails(f, "[global]\nfirst = 1\nsecond = 2\n", 2, "first");
	load_fails(f, "[global]\nnot ini\nsecond = 2\n", 2, "syntax");

	/* Over-long lines are refused rather than split. */
	memset(long_line, 'a', sizeof(long_line));
	memcpy(long_line, "[database]\ndsn = ", 17);
	memcpy(long_line + sizeof(long_line) - 2, "\n", 2);
	load_fails(f, long_line, 2, "long");
}

static void test_password_not_in_errors(void **state)
{
	struct fixture *f = *state;
	struct config *config = NULL;
	const char *error = NULL;
	static const char *const contents[] = {
	    "[WEB]\nadminPasword = Secret123\n",
	    "[WEB]\nadminPassword = Secret123\nadminPassword = Secret123\n",
	    "[web]\nadminpassword = Secret123\n",
	    "[WEEB]\nadminPassword = Secret123\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		write_file(f->path, contents[i]);
		assert_int_equal(config_load(f->path, false, &config, &error), -1);
		assert_null(strstr(error, "Secret123"));
	}
}

static void test_explicit_missing(void **state)
{
	struct fixture *f = *state;
	struct config *config = NULL;
	const char *error = NULL;
	char path[160];

	/* -c names a file: no search, no creation. */
	snprintf(path, sizeof(path), "%s/missing.conf", f->dir);
	assert_int_equal(config_load(path, true, &config, &error), -1);
	assert_null(config);
	assert_non_null(strstr(error, path));
	assert_int_equal(access(path, F_OK), -1);
}

static char *read_file(const char *path)
{
	static char buf[1024];
	FILE *file = fopen(path, "r");
	size_t n;

	assert_non_null(file);
	n = fread(buf, 1, sizeof(buf) - 1, file);
	buf[n] = '\0';
	fclose(file);
	return buf;
}

static void test_create(void **state)
{
	static const char prefix[] = "[global]\ndataDir = /opt/tegu/data\n\n[Log]\ndebug = "
				     "false\n\n[WEB]\nadminPassword = ";
	struct fixture *f = *state;
	struct config *config = NULL;
	const char *error = NULL;
	char home_path[160], password[32];
	const char *content;
	struct stat st;
	mode_t old_umask;

	if (access("/etc/tegu.conf", F_OK) == 0)
		skip();
	setenv("HOME", f->dir, 1);
	snprintf(home_path, sizeof(home_path), "%s/tegu.conf", f->dir);

	/* Without may_create a missing file is an error. */
	assert_int_equal(config_load(NULL, false, &config, &error), -1);
	assert_null(config);
	assert_int_equal(access(home_path, F_OK), -1);

	/* Even with a umask that allows everything the file is private. */
	old_umask = umask(0);
	assert_int_equal(config_load(NULL, true, &config, &error), 0);
	umask(old_umask);
	assert_true(config->created);
	assert_string_equal(config->path, home_path);
	assert_int_equal(stat(home_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	content = read_file(home_path);
	assert_int_equal(strncmp(content, prefix, strlen(prefix)), 0);
	assert_int_equal(strlen(content), strlen(prefix) + 20 + 1);
	assert_int_equal(content[strlen(content) - 1], '\n');
	memcpy(password, content + strlen(prefix), 20);
	password[20] = '\0';
	for (int i = 0; i < 20; i++)
		assert_true(isalnum((unsigned char)password[i]));
	assert_string_equal(config->admin_password, password);
	assert_string_equal(config->data_dir, "/opt/tegu/data");
	assert_false(config->debug);
	config_destroy(&config);

	/* The second start reads the same file and leaves it alone. */
	assert_int_equal(config_load(NULL, true, &config, &error), 0);
	assert_false(config->created);
	assert_string_equal(config->path, home_path);
	assert_string_equal(config->admin_password, password);
	assert_string_equal(read_file(home_path) + strlen(prefix), content + strlen(prefix));
	config_destroy(&config);
}

static void test_create_fresh_passwords(void **state)
{
	struct fixture *f = *state;
	struct config *config = NULL;
	const char *error = NULL;
	char home[128], first[32];

	if (access("/etc/tegu.conf", F_OK) == 0)
		skip();
	/* HOME with a trailing slash still gives dir/tegu.conf. */
	snprintf(home, sizeof(home), "%s/", f->dir);
	setenv("HOME", home, 1);
	assert_int_equal(config_load(NULL, true, &config, &error), 0);
	assert_string_equal(config->path, f->path);
	snprintf(first, sizeof(first), "%s", config->admin_password);
	config_destroy(&config);

	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(config_load(NULL, true, &config, &error), 0);
	assert_true(config->created);
	assert_string_not_equal(config->admin_password, first);
	config_destroy(&config);
}

static void test_parse_address(void **state)
{
	static const struct {
		const char *text;
		int family; /* 0: rejected */
		const char *address;
		int port;
	} cases[] = {
	    {"127.0.0.1:8888", AF_INET, "127.0.0.1", 8888},
	    {"0.0.0.0:25", AF_INET, "0.0.0.0", 25},
	    {"10.1.2.3:65535", AF_INET, "10.1.2.3", 65535},
	    {"[::1]:8888", AF_INET6, "::1", 8888},
	    {"[::]:993", AF_INET6, "::", 993},
	    {"[2001:db8::1]:1", AF_INET6, "2001:db8::1", 1},
	    {":8888", AF_INET, "0.0.0.0", 8888},
	    {"8888", AF_INET, "0.0.0.0", 8888},
	    {"25", AF_INET, "0.0.0.0", 25},
	    {"", 0, NULL, 0},
	    {":", 0, NULL, 0},
	    {"0", 0, NULL, 0},
	    {"65536", 0, NULL, 0},
	    {"123456", 0, NULL, 0},
	    {"-1", 0, NULL, 0},
	    {"+25", 0, NULL, 0},
	    {"127.0.0.1", 0, NULL, 0},
	    {"127.0.0.1:", 0, NULL, 0},
	    {"127.0.0.1:0", 0, NULL, 0},
	    {"127.0.0.1:70000", 0, NULL, 0},
	    {"127.0.0.1:25x", 0, NULL, 0},
	    {"127.0.0.1: 25", 0, NULL, 0},
	    {"256.0.0.1:25", 0, NULL, 0},
	    {"localhost:25", 0, NULL, 0},
	    {"*:25", 0, NULL, 0},
	    {"::1:8888", 0, NULL, 0},
	    {"[::1]8888", 0, NULL, 0},
	    {"[::1]:", 0, NULL, 0},
	    {"[]:25", 0, NULL, 0},
	    {"[::1:25", 0, NULL, 0},
	    {"[127.0.0.1]:25", 0, NULL, 0},
	    {"[fe80::1%eth0]:25", 0, NULL, 0},
	    {"[0000:0000:0000:0000:0000:0000:0000:0000:0000]:25", 0, NULL, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage addr;
		socklen_t len = 0;
		char text[INET6_ADDRSTRLEN];
		int ret = config_parse_address(cases[i].text, &addr, &len);

		if (cases[i].family == 0) {
			if (ret != -1)
				fail_msg("\"%s\" accepted", cases[i].text);
			continue;
		}
		if (ret != 0)
			fail_msg("\"%s\" rejected", cases[i].text);
		assert_int_equal(addr.ss_family, cases[i].family);
		if (cases[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr;

			assert_int_equal(len, sizeof(*sin));
			assert_int_equal(ntohs(sin->sin_port), cases[i].port);
			inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr;

			assert_int_equal(len, sizeof(*sin6));
			assert_int_equal(ntohs(sin6->sin6_port), cases[i].port);
			inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		}
		assert_string_equal(text, cases[i].address);
	}
	assert_int_equal(config_parse_address(NULL, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settings_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password_not_in_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explicit_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_fresh_passwords, setup, teardown),
	    cmocka_unit_test(test_parse_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
