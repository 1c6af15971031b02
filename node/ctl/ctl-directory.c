/* teguctl's directory commands (directory-admin.h): domains, users,
 * groups, aliases, export and import of the whole directory, and two
 * checks for administrators: what an address expands to, and whether a
 * login works.
 *
 * Output is for scripts: one line per item, fields separated by tabs,
 * "-" for an empty field, nothing else on stdout. Errors go to stderr;
 * exit 1 when the change failed, 2 when the input was invalid. Passwords
 * are read from stdin (one line), never from the command line, and wiped
 * after use. Reading stdin or a file blocks the thread: fine here, where
 * the command is the only fiber. */
#include "ctl/ctl.h"

#include "directory/directory-admin.h"
#include "directory/directory.h"
#include "lib/arena.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The largest import document read. */
#define CTL_DIRECTORY_MAX_DOCUMENT (64u * 1024 * 1024)

/* ------------------------------------------------------------ arguments */

struct ctl_option {
	const char *name;   /* "--quota" */
	const char **value; /* an option with a value: where it goes; NULL: a flag */
	bool *seen;
};

/* Sorts argv into options (of opts, "--name VALUE" or "--name=VALUE")
 * and positional arguments (kept in order at the start of argv; "--"
 * ends the options). Returns the count of positional arguments, or -1
 * after printing what is wrong. */
static int parse_options(const char *command, int argc, char **argv, const struct ctl_option *opts)
{
	int positional = 0;
	bool options_done = false;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (options_done || strncmp(arg, "--", 2) != 0) {
			argv[positional++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		size_t name_len = strcspn(arg, "=");
		const struct ctl_option *opt = opts;
		while (opt->name != NULL &&
		       (strlen(opt->name) != name_len || strncmp(opt->name, arg, name_len) != 0))
			opt++;
		if (opt->name == NULL) {
			fprintf(stderr, "teguctl: %s: unknown option %.*s\n", command,
				(int)name_len, arg);
			return -1;
		}
		if (opt->value == NULL) {
			if (arg[name_len] == '=') {
				fprintf(stderr, "teguctl: %s: %s takes no value\n", command,
					opt->name);
				return -1;
			}
		} else if (arg[name_len] == '=') {
			*opt->value = arg + name_len + 1;
		} else if (i + 1 < argc) {
			*opt->value = argv[++i];
		} else {
			fprintf(stderr, "teguctl: %s: %s needs a value\n", command, opt->name);
			return -1;
		}
		if (opt->seen != NULL)
			*opt->seen = true;
	}
	return positional;
}

static int positional_count(const char *command, int count, int min, int max)
{
	if (count < min || count > max) {
		fprintf(stderr, "teguctl: %s: expected %s arguments\n", command,
			count < min ? "more" : "fewer");
		return -1;
	}
	return 0;
}

static int invalid(const char *command, const char *input, const char *error)
{
	fprintf(stderr, "teguctl: %s: %s: %s\n", command, input, error);
	return CTL_USAGE;
}

static int check_address(const char *command, const char *input)
{
	char out[DIRECTORY_MAX_ADDRESS];
	const char *error;
	return directory_address_normalize(input, out, &error) < 0 ? invalid(command, input, error)
								   : CTL_OK;
}

/* A group as named on the command line: a name or an address. */
static int check_group(const char *command, const char *input)
{
	const char *error;
	if (strchr(input, '@') != NULL)
		return check_address(command, input);
	return directory_group_name_check(input, &error) < 0 ? invalid(command, input, error)
							     : CTL_OK;
}

static int parse_quota(const char *command, const char *text, int64_t *quota_r)
{
	const char *error;
	return directory_quota_parse(text, quota_r, &error) < 0 ? invalid(command, text, error)
								: CTL_OK;
}

static const char *or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static void print_list(const char *const *items, unsigned count)
{
	if (count == 0)
		fputs("-", stdout);
	for (unsigned i = 0; i < count; i++)
		printf("%s%s", i > 0 ? "," : "", items[i]);
}

/* Reads one line of stdin into buf (without the line end), with read(2)
 * so that no stdio buffer keeps a copy of the secret. */
static int read_secret_line(const char *command, char *buf, size_t size)
{
	size_t len = 0;
	bool any = false;
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			explicit_bzero(buf, size);
			fprintf(stderr, "teguctl: %s: cannot read the password from stdin: %s\n",
				command, strerror(errno));
			return CTL_FAILED;
		}
		if (n == 0 || c == '\n')
			break;
		any = true;
		if (len + 1 >= size) {
			explicit_bzero(buf, size);
			explicit_bzero(&c, sizeof(c));
			fprintf(stderr, "teguctl: %s: password longer than %d bytes\n", command,
				DIRECTORY_MAX_PASSWORD);
			return CTL_USAGE;
		}
		buf[len++] = c;
		explicit_bzero(&c, sizeof(c));
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (!any) {
		fprintf(stderr, "teguctl: %s: no password on stdin (one line)\n", command);
		return CTL_USAGE;
	}
	const char *error;
	if (directory_password_check(buf, &error) < 0) {
		explicit_bzero(buf, size);
		fprintf(stderr, "teguctl: %s: %s\n", command, error);
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* ------------------------------------------------------------ domains */

static int cmd_domain_add(int argc, char **argv)
{
	const char *command = "domain add", *quota_text = NULL, *trash_text = NULL;
	const struct ctl_option opts[] = {
	    {"--quota", &quota_text, NULL},
	    {"--trash-quota", &trash_text, NULL},
	    {NULL, NULL, NULL},
	};
	int n = parse_options(command, argc, argv, opts);
	if (n < 0 || positional_count(command, n, 1, 1) < 0)
		return CTL_USAGE;
	int64_t quota = 0, trash = 0;
	char domain[DIRECTORY_MAX_DOMAIN];
	const char *error;
	if (directory_domain_normalize(argv[0], domain, &error) < 0)
		return invalid(command, argv[0], error);
	if ((quota_text != NULL && parse_quota(command, quota_text, &quota) != CTL_OK) ||
	    (trash_text != NULL && parse_quota(command, trash_text, &trash) != CTL_OK))
		return CTL_USAGE;
	if (directory_admin_domain_add(domain, quota, trash, ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_domain_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct arena *arena = arena_create(4096);
	struct directory_domain_info *domains;
	unsigned count;
	const char *error;
	int ret = CTL_OK;
	if (directory_admin_domain_list(arena, &domains, &count, ctl_deadline(), &error) < 0)
		ret = ctl_fail("domain list", error);
	for (unsigned i = 0; ret == CTL_OK && i < count; i++)
		printf("%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", domains[i].name,
		       domains[i].default_quota_mb, domains[i].trash_quota_mb,
		       domains[i].user_count);
	arena_destroy(&arena);
	return ret;
}

static int cmd_domain_remove(int argc, char **argv)
{
	const char *command = "domain remove";
	bool force = false;
	const struct ctl_option opts[] = {{"--force", NULL, &force}, {NULL, NULL, NULL}};
	int n = parse_options(command, argc, argv, opts);
	if (n < 0 || positional_count(command, n, 1, 1) < 0)
		return CTL_USAGE;
	char domain[DIRECTORY_MAX_DOMAIN];
	const char *error;
	if (directory_domain_normalize(argv[0], domain, &error) < 0)
		return invalid(command, argv[0], error);
	if (directory_admin_domain_remove(domain, force, ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

/* ------------------------------------------------------------ users */

static int cmd_user_add(int argc, char **argv)
{
	const char *command = "user add", *name = NULL, *quota_text = NULL;
	bool password_stdin = false;
	const struct ctl_option opts[] = {
	    {"--password-stdin", NULL, &password_stdin},
	    {"--name", &name, NULL},
	    {"--quota", &quota_text, NULL},
	    {NULL, NULL, NULL},
	};
	int n = parse_options(command, argc, argv, opts);
	if (n < 0 || positional_count(command, n, 1, 1) < 0)
		return CTL_USAGE;
	int ret = check_address(command, argv[0]);
	int64_t quota = DIRECTORY_QUOTA_DEFAULT;
	const char *error;
	if (ret == CTL_OK && name != NULL && directory_display_name_check(name, &error) < 0)
		ret = invalid(command, name, error);
	if (ret == CTL_OK && quota_text != NULL)
		ret = parse_quota(command, quota_text, &quota);
	if (ret != CTL_OK)
		return ret;
	char password[DIRECTORY_MAX_PASSWORD + 2];
	if (password_stdin && (ret = read_secret_line(command, password, sizeof(password))) != 0)
		return ret;
	if (directory_admin_user_add(argv[0], password_stdin ? password : NULL, name, quota,
				     ctl_deadline(), &error) < 0)
		ret = ctl_fail(command, error);
	explicit_bzero(password, sizeof(password));
	return ret;
}

static int cmd_user_passwd(int argc, char **argv)
{
	(void)argc;
	const char *command = "user passwd", *error;
	int ret = check_address(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	char password[DIRECTORY_MAX_PASSWORD + 2];
	if ((ret = read_secret_line(command, password, sizeof(password))) != 0)
		return ret;
	if (directory_admin_user_set_password(argv[0], password, ctl_deadline(), &error) < 0)
		ret = ctl_fail(command, error);
	explicit_bzero(password, sizeof(password));
	return ret;
}

static int cmd_user_list(int argc, char **argv)
{
	const char *command = "user list", *error;
	char domain[DIRECTORY_MAX_DOMAIN];
	if (argc > 0 && directory_domain_normalize(argv[0], domain, &error) < 0)
		return invalid(command, argv[0], error);
	struct arena *arena = arena_create(16384);
	struct directory_user_info *users;
	unsigned count;
	int ret = CTL_OK;
	if (directory_admin_user_list(argc > 0 ? domain : NULL, arena, &users, &count,
				      ctl_deadline(), &error) < 0)
		ret = ctl_fail(command, error);
	for (unsigned i = 0; ret == CTL_OK && i < count; i++) {
		const struct directory_user_info *user = &users[i];
		char quota[24] = "default";
		if (user->quota_mb != DIRECTORY_QUOTA_DEFAULT)
			snprintf(quota, sizeof(quota), "%" PRId64, user->quota_mb);
		printf("%s\t%s\t%s\t%s\t%s\t", user->address, or_dash(user->display_name), quota,
		       user->enabled ? "enabled" : "disabled",
		       user->password_hash != NULL ? "password" : "no-password");
		print_list(user->addresses, user->address_count);
		putchar('\n');
	}
	arena_destroy(&arena);
	return ret;
}

static int cmd_user_remove(int argc, char **argv)
{
	(void)argc;
	const char *command = "user remove", *error;
	int ret = check_address(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	if (directory_admin_user_remove(argv[0], ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_user_set(int argc, char **argv)
{
	const char *command = "user set", *name = NULL, *quota_text = NULL, *error;
	bool enable = false, disable = false;
	const struct ctl_option opts[] = {
	    {"--name", &name, NULL},	 {"--quota", &quota_text, NULL},
	    {"--enable", NULL, &enable}, {"--disable", NULL, &disable},
	    {NULL, NULL, NULL},
	};
	int n = parse_options(command, argc, argv, opts);
	if (n < 0 || positional_count(command, n, 1, 1) < 0)
		return CTL_USAGE;
	if (name == NULL && quota_text == NULL && !enable && !disable) {
		fprintf(stderr, "teguctl: %s: nothing to change\n", command);
		return CTL_USAGE;
	}
	if (enable && disable) {
		fprintf(stderr, "teguctl: %s: --enable or --disable, not both\n", command);
		return CTL_USAGE;
	}
	int ret = check_address(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	struct directory_user_change change = {
	    .display_name = name,
	    .set_quota = quota_text != NULL,
	    .quota_mb = DIRECTORY_QUOTA_DEFAULT,
	    .set_enabled = enable || disable,
	    .enabled = enable,
	};
	if (name != NULL && directory_display_name_check(name, &error) < 0)
		return invalid(command, name, error);
	if (quota_text != NULL && strcmp(quota_text, "default") != 0 &&
	    parse_quota(command, quota_text, &change.quota_mb) != CTL_OK)
		return CTL_USAGE;
	if (directory_admin_user_set(argv[0], &change, ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_user_address(const char *command, char **argv,
			    int (*fn)(const char *, const char *, int64_t, const char **))
{
	const char *error;
	int ret = check_address(command, argv[0]);
	if (ret == CTL_OK)
		ret = check_address(command, argv[1]);
	if (ret != CTL_OK)
		return ret;
	if (fn(argv[0], argv[1], ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_user_address_add(int argc, char **argv)
{
	(void)argc;
	return cmd_user_address("user address add", argv, directory_admin_user_address_add);
}

static int cmd_user_address_remove(int argc, char **argv)
{
	(void)argc;
	return cmd_user_address("user address remove", argv, directory_admin_user_address_remove);
}

/* ------------------------------------------------------------ groups */

static int cmd_group_add(int argc, char **argv)
{
	const char *command = "group add", *parent = NULL, *error;
	bool master = false;
	const struct ctl_option opts[] = {
	    {"--parent", &parent, NULL},
	    {"--master", NULL, &master},
	    {NULL, NULL, NULL},
	};
	int n = parse_options(command, argc, argv, opts);
	if (n < 0 || positional_count(command, n, 1, 1) < 0)
		return CTL_USAGE;
	int ret = check_group(command, argv[0]);
	if (ret == CTL_OK && parent != NULL)
		ret = check_group(command, parent);
	if (ret != CTL_OK)
		return ret;
	if (directory_admin_group_add(argv[0], parent, master, ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_group_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct arena *arena = arena_create(16384);
	struct directory_group_info *groups;
	unsigned count;
	const char *error;
	int ret = CTL_OK;
	if (directory_admin_group_list(arena, &groups, &count, ctl_deadline(), &error) < 0)
		ret = ctl_fail("group list", error);
	for (unsigned i = 0; ret == CTL_OK && i < count; i++) {
		const struct directory_group_info *group = &groups[i];
		printf("%s\t%s\t%s\t%s\t", group->name, or_dash(group->address),
		       or_dash(group->parent), group->master ? "master" : "-");
		print_list(group->members, group->member_count);
		putchar('\t');
		print_list(group->subgroups, group->subgroup_count);
		putchar('\n');
	}
	arena_destroy(&arena);
	return ret;
}

static int cmd_group_remove(int argc, char **argv)
{
	(void)argc;
	const char *command = "group remove", *error;
	int ret = check_group(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	if (directory_admin_group_remove(argv[0], ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_group_member(const char *command, char **argv,
			    int (*fn)(const char *, const char *, int64_t, const char **))
{
	const char *error;
	int ret = check_group(command, argv[0]);
	if (ret == CTL_OK)
		ret = check_group(command, argv[1]);
	if (ret != CTL_OK)
		return ret;
	if (fn(argv[0], argv[1], ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_group_member_add(int argc, char **argv)
{
	(void)argc;
	return cmd_group_member("group member add", argv, directory_admin_group_member_add);
}

static int cmd_group_member_remove(int argc, char **argv)
{
	(void)argc;
	return cmd_group_member("group member remove", argv, directory_admin_group_member_remove);
}

/* ------------------------------------------------------------ aliases */

static int cmd_alias_add(int argc, char **argv)
{
	const char *command = "alias add", *error;
	for (int i = 0; i < argc; i++) {
		int ret = check_address(command, argv[i]);
		if (ret != CTL_OK)
			return ret;
	}
	if (argc - 1 > DIRECTORY_MAX_TARGETS) {
		fprintf(stderr, "teguctl: %s: at most %d targets\n", command,
			DIRECTORY_MAX_TARGETS);
		return CTL_USAGE;
	}
	if (directory_admin_alias_add(argv[0], (const char *const *)argv + 1, (unsigned)argc - 1,
				      ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

static int cmd_alias_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct arena *arena = arena_create(16384);
	struct directory_alias_info *aliases;
	unsigned count;
	const char *error;
	int ret = CTL_OK;
	if (directory_admin_alias_list(arena, &aliases, &count, ctl_deadline(), &error) < 0)
		ret = ctl_fail("alias list", error);
	for (unsigned i = 0; ret == CTL_OK && i < count; i++) {
		printf("%s\t", aliases[i].address);
		print_list(aliases[i].targets, aliases[i].target_count);
		putchar('\n');
	}
	arena_destroy(&arena);
	return ret;
}

static int cmd_alias_remove(int argc, char **argv)
{
	(void)argc;
	const char *command = "alias remove", *error;
	int ret = check_address(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	if (directory_admin_alias_remove(argv[0], ctl_deadline(), &error) < 0)
		return ctl_fail(command, error);
	return CTL_OK;
}

/* ------------------------------------------------------------ the whole directory */

static int cmd_directory_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char *json;
	const char *error;
	if (directory_admin_export(&json, ctl_deadline(), &error) < 0)
		return ctl_fail("directory export", error);
	size_t len = strlen(json);
	bool written = fwrite(json, 1, len, stdout) == len && fflush(stdout) == 0;
	explicit_bzero(json, len);
	free(json);
	if (!written)
		return ctl_fail("directory export", strerror(errno));
	return CTL_OK;
}

/* The whole of FILE ("-": stdin) into a malloc'd buffer. */
static int read_document(const char *command, const char *path, char **text_r, size_t *len_r)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "teguctl: %s: %s: %s\n", command, path, strerror(errno));
		return CTL_FAILED;
	}
	size_t len = 0, cap = 65536;
	char *text = malloc(cap);
	if (text == NULL)
		abort();
	int ret = CTL_OK;
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_DIRECTORY_MAX_DOCUMENT) {
				fprintf(stderr, "teguctl: %s: %s: larger than %u MiB\n", command,
					path, CTL_DIRECTORY_MAX_DOCUMENT >> 20);
				ret = CTL_USAGE;
				break;
			}
			char *bigger = malloc(cap * 2);
			if (bigger == NULL)
				abort();
			/* The document holds password hashes: no stale copy is left. */
			memcpy(bigger, text, len);
			explicit_bzero(text, len);
			free(text);
			text = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "teguctl: %s: %s: %s\n", command, path, strerror(errno));
			ret = CTL_FAILED;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (ret != CTL_OK) {
		explicit_bzero(text, len);
		free(text);
		return ret;
	}
	*text_r = text;
	*len_r = len;
	return CTL_OK;
}

static int cmd_directory_import(int argc, char **argv)
{
	(void)argc;
	const char *command = "directory import", *error;
	char *text;
	size_t len;
	int ret = read_document(command, argv[0], &text, &len);
	if (ret != CTL_OK)
		return ret;
	struct directory_import *import;
	if (directory_import_parse(text, len, &import, &error) < 0)
		ret = invalid(command, argv[0], error);
	explicit_bzero(text, len);
	free(text);
	if (ret != CTL_OK)
		return ret;
	if (directory_admin_import(import, ctl_deadline(), &error) < 0) {
		ret = ctl_fail(command, error);
	} else {
		struct directory_import_counts counts;
		directory_import_counts(import, &counts);
		printf("domains\t%u\nusers\t%u\ngroups\t%u\naliases\t%u\n", counts.domains,
		       counts.users, counts.groups, counts.aliases);
	}
	directory_import_free(&import);
	return ret;
}

static int cmd_directory_resolve(int argc, char **argv)
{
	(void)argc;
	const char *command = "directory resolve", *error;
	int ret = strcasecmp(argv[0], "postmaster") == 0 ? CTL_OK : check_address(command, argv[0]);
	if (ret != CTL_OK)
		return ret;
	struct arena *arena = arena_create(4096);
	const char **users, **external;
	unsigned user_count, external_count;
	if (directory_admin_resolve(argv[0], arena, &users, &user_count, &external, &external_count,
				    ctl_deadline(), &error) < 0) {
		ret = ctl_fail(command, error);
	} else {
		for (unsigned i = 0; i < user_count; i++)
			printf("user\t%s\n", users[i]);
		for (unsigned i = 0; i < external_count; i++)
			printf("external\t%s\n", external[i]);
	}
	arena_destroy(&arena);
	return ret;
}

static int cmd_directory_auth(int argc, char **argv)
{
	(void)argc;
	const char *command = "directory auth", *error;
	char password[DIRECTORY_MAX_PASSWORD + 2];
	int ret = read_secret_line(command, password, sizeof(password));
	if (ret != CTL_OK)
		return ret;
	struct directory_user user;
	int result = directory_authenticate(argv[0], password, ctl_deadline(), &user, &error);
	explicit_bzero(password, sizeof(password));
	if (result < 0)
		return ctl_fail(command, error);
	puts(result == 0 ? "ok" : "fail");
	return result == 0 ? CTL_OK : CTL_FAILED;
}

const struct ctl_command ctl_directory_commands[] = {
    {"domain add", 1, -1, "DOMAIN [--quota MB] [--trash-quota MB]",
     "add a local domain; quotas in MB (user default, extra for Trash), 0 = none", cmd_domain_add},
    {"domain list", 0, 0, "", "list domains: name, default quota, trash quota, users",
     cmd_domain_list},
    {"domain remove", 1, 2, "DOMAIN [--force]",
     "remove an empty domain; --force also removes everything in it", cmd_domain_remove},
    {"user add", 1, -1, "ADDRESS [--password-stdin] [--name NAME] [--quota MB]",
     "add a user; the password is one line on stdin (without it, no login)", cmd_user_add},
    {"user passwd", 1, 1, "ADDRESS", "set a user's password, read from stdin (one line)",
     cmd_user_passwd},
    {"user list", 0, 1, "[DOMAIN]",
     "list users: address, name, quota (MB or default), enabled|disabled, "
     "password|no-password, alternative addresses",
     cmd_user_list},
    {"user remove", 1, 1, "ADDRESS", "remove a user, its alternative addresses and memberships",
     cmd_user_remove},
    {"user set", 2, -1, "ADDRESS [--name NAME] [--quota MB|default] [--enable|--disable]",
     "change a user's display name, quota or state", cmd_user_set},
    {"user address add", 2, 2, "ADDRESS ALTERNATIVE", "give a user an alternative address",
     cmd_user_address_add},
    {"user address remove", 2, 2, "ADDRESS ALTERNATIVE", "take an alternative address away",
     cmd_user_address_remove},
    {"group add", 1, -1, "NAME|ADDRESS [--parent GROUP] [--master]",
     "add a group (with an address, mail to it reaches its members); --master: its members "
     "are master users",
     cmd_group_add},
    {"group list", 0, 0, "",
     "list groups: name, address, parent, master, user members, member groups", cmd_group_list},
    {"group remove", 1, 1, "GROUP", "remove a group (its child groups move to the top)",
     cmd_group_remove},
    {"group member add", 2, 2, "GROUP MEMBER", "add a user (by address) or a group to a group",
     cmd_group_member_add},
    {"group member remove", 2, 2, "GROUP MEMBER", "remove a member from a group",
     cmd_group_member_remove},
    {"alias add", 2, -1, "ADDRESS TARGET...",
     "add an alias delivering to the targets (local or external addresses)", cmd_alias_add},
    {"alias list", 0, 0, "", "list aliases: address, targets", cmd_alias_list},
    {"alias remove", 1, 1, "ADDRESS", "remove an alias", cmd_alias_remove},
    {"directory export", 0, 0, "",
     "print the whole directory as JSON (with password hashes: keep it safe)",
     cmd_directory_export},
    {"directory import", 1, 1, "FILE|-",
     "make the directory exactly the JSON document's, in one transaction", cmd_directory_import},
    {"directory resolve", 1, 1, "ADDRESS|postmaster",
     "print what mail to ADDRESS reaches: user ADDRESS and external ADDRESS lines",
     cmd_directory_resolve},
    {"directory auth", 1, 1, "ADDRESS",
     "check a login, the password on stdin: prints ok (exit 0) or fail (exit 1)",
     cmd_directory_auth},
    {NULL, 0, 0, NULL, NULL, NULL},
};
