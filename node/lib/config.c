/* tegu.conf: finding it, creating it on first start with a fresh admin
 * password, and reading it with inih into struct config. The file is small
 * and hand-edited, so every mistake (unknown section or key, bad value,
 * duplicate) stops the node with file:line rather than being ignored.
 */
#include "lib/config.h"
#include "lib/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_SYSTEM_PATH     "/etc/tegu.conf"
#define CONFIG_FILE_NAME       "tegu.conf"
#define CONFIG_PASSWORD_LENGTH 20

const char *const config_listener_names[CONFIG_LISTEN_COUNT] = {
    [CONFIG_LISTEN_SMTP] = "smtp",   [CONFIG_LISTEN_SUBMISSION] = "submission",
    [CONFIG_LISTEN_SMTPS] = "smtps", [CONFIG_LISTEN_IMAP] = "imap",
    [CONFIG_LISTEN_IMAPS] = "imaps", [CONFIG_LISTEN_HTTP] = "http",
    [CONFIG_LISTEN_HTTPS] = "https",
};

enum config_key_kind {
	CONFIG_KEY_PATH,    /* absolute path */
	CONFIG_KEY_NAME,    /* non-empty, no white space */
	CONFIG_KEY_TEXT,    /* anything, even empty */
	CONFIG_KEY_SECRET,  /* non-empty, never echoed in errors */
	CONFIG_KEY_INT,	    /* within [min, max] */
	CONFIG_KEY_BOOL,    /* true/false/yes/no/on/off/1/0 */
	CONFIG_KEY_ADDRESS, /* accepted by config_parse_address() */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_key_kind kind;
	size_t offset; /* into struct config */
	int min, max;
};

#define FIELD(member) offsetof(struct config, member)

/* Every key of the fixed sections. [settings] is handled apart: its keys
 * are the settings table's names. */
static const struct config_key config_keys[] = {
    {"global", "dataDir", CONFIG_KEY_PATH, FIELD(data_dir), 0, 0},
    {"global", "nodeName", CONFIG_KEY_NAME, FIELD(node_name), 0, 0},
    {"global", "shutdownGrace", CONFIG_KEY_INT, FIELD(shutdown_grace), 0, 3600},
    {"database", "dsn", CONFIG_KEY_TEXT, FIELD(dsn), 0, 0},
    {"database", "poolSize", CONFIG_KEY_INT, FIELD(pool_size), 1, 256},
    {"Log", "debug", CONFIG_KEY_BOOL, FIELD(debug), 0, 0},
    {"WEB", "adminPassword", CONFIG_KEY_SECRET, FIELD(admin_password), 0, 0},
    {"listen", "smtp", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_SMTP]), 0, 0},
    {"listen", "submission", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_SUBMISSION]), 0, 0},
    {"listen", "smtps", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_SMTPS]), 0, 0},
    {"listen", "imap", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_IMAP]), 0, 0},
    {"listen", "imaps", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_IMAPS]), 0, 0},
    {"listen", "http", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_HTTP]), 0, 0},
    {"listen", "https", CONFIG_KEY_ADDRESS, FIELD(listen[CONFIG_LISTEN_HTTPS]), 0, 0},
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_sections[] = {"global", "database", "Log",
					      "WEB",	"listen",   "settings"};

struct config_parser {
	struct config *config;
	const char *path;
	FILE *file;
	/* The reader's own line buffer: inih's is fixed-size, and reading
	 * whole lines here is what lets us count them and spot long ones. */
	char *line;
	size_t line_size;
	int lineno;
	int error_line; /* of the first error we found, 0 when none */
	bool seen[CONFIG_KEY_COUNT];
};

/* Holds the last error; the header promises it until the next call. */
static _Thread_local char config_error_buf[512];

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (p == NULL)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static const char *config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *config_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(config_error_buf, sizeof(config_error_buf), fmt, args);
	va_end(args);
	return config_error_buf;
}

static void parser_fail(struct config_parser *parser, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps only the first error: later ones are often its consequences. */
static void parser_fail(struct config_parser *parser, const char *fmt, ...)
{
	va_list args;
	int n;

	if (parser->error_line != 0)
		return;
	parser->error_line = parser->lineno;
	n = snprintf(config_error_buf, sizeof(config_error_buf), "%s:%d: ", parser->path,
		     parser->lineno);
	if (n < 0 || (size_t)n >= sizeof(config_error_buf))
		return;
	va_start(args, fmt);
	vsnprintf(config_error_buf + n, sizeof(config_error_buf) - (size_t)n, fmt, args);
	va_end(args);
}

static void free_secret(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

static int parse_bool(const char *value, bool *result_r)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*result_r = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*result_r = false;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *value, int min, int max, int *result_r)
{
	long n = 0;

	if (*value == '\0')
		return -1;
	for (const char *p = value; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
		if (n > max)
			return -1;
	}
	if (n < min)
		return -1;
	*result_r = (int)n;
	return 0;
}

static const char *canonical_section(const char *section)
{
	for (unsigned i = 0; i < sizeof(config_sections) / sizeof(config_sections[0]); i++) {
		if (strcasecmp(section, config_sections[i]) == 0)
			return config_sections[i];
	}
	return NULL;
}

/* Keys are matched exactly so one spelling appears in every file and
 * document; a key that differs only in case gets a hint instead. */
static const char *case_hint(const char *section, const char *name)
{
	if (strcmp(section, "settings") == 0) {
		for (unsigned i = 0; i < settings_count; i++) {
			if (strcasecmp(settings_table[i].name, name) == 0)
				return settings_table[i].name;
		}
		return NULL;
	}
	for (unsigned i = 0; i < CONFIG_KEY_COUNT; i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcasecmp(config_keys[i].name, name) == 0)
			return config_keys[i].name;
	}
	return NULL;
}

static void unknown_key(struct config_parser *parser, const char *section, const char *name)
{
	const char *hint = case_hint(section, name);

	if (hint != NULL)
		parser_fail(parser, "unknown key \"%s\" in [%s] (did you mean \"%s\"?)", name,
			    section, hint);
	else
		parser_fail(parser, "unknown key \"%s\" in [%s]", name, section);
}

static struct config_override *find_override(struct config *config, const char *name)
{
	for (unsigned i = 0; i < config->override_count; i++) {
		if (strcmp(config->overrides[i].name, name) == 0)
			return &config->overrides[i];
	}
	return NULL;
}

/* A list setting may be continued on indented lines (inih calls us once per
 * line) or repeated; either way the entries add up. Any other setting may
 * be given once. */
static int handle_setting(struct config_parser *parser, const char *name, const char *value)
{
	const struct setting_def *def = settings_find(name);
	struct config *config = parser->config;
	struct config_override *override;
	char *combined = NULL, *normalized;
	const char *error;
	int ret;

	if (def == NULL) {
		unknown_key(parser, "settings", name);
		return -1;
	}
	override = find_override(config, name);
	if (override != NULL) {
		size_t size;

		if (def->type != SETTING_LIST) {
			parser_fail(parser, "%s is given more than once", name);
			return -1;
		}
		size = strlen(override->value) + 1 + strlen(value) + 1;
		combined = xrealloc(NULL, size);
		snprintf(combined, size, "%s\n%s", override->value, value);
		value = combined;
	}
	ret = settings_normalize(def, value, &normalized, &error);
	free(combined);
	if (ret < 0) {
		parser_fail(parser, "%s", error);
		return -1;
	}
	if (override != NULL) {
		free(override->value);
		override->value = normalized;
		return 0;
	}
	config->overrides = xrealloc(config->overrides,
				     (config->override_count + 1) * sizeof(config->overrides[0]));
	config->overrides[config->override_count].name = xstrdup(name);
	config->overrides[config->override_count].value = normalized;
	config->override_count++;
	return 0;
}

static int store_key(struct config_parser *parser, const struct config_key *key, const char *value)
{
	void *field = (char *)parser->config + key->offset;
	const char *name = key->name;

	switch (key->kind) {
	case CONFIG_KEY_PATH:
		if (value[0] != '/') {
			parser_fail(parser, "%s must be an absolute path", name);
			return -1;
		}
		break;
	case CONFIG_KEY_NAME:
		if (value[0] == '\0' || strpbrk(value, " \t") != NULL) {
			parser_fail(parser, "%s must be a non-empty name without spaces", name);
			return -1;
		}
		break;
	case CONFIG_KEY_TEXT:
		break;
	case CONFIG_KEY_SECRET:
		if (value[0] == '\0') {
			parser_fail(parser, "%s must not be empty", name);
			return -1;
		}
		break;
	case CONFIG_KEY_INT:
		if (parse_int(value, key->min, key->max, field) < 0) {
			parser_fail(parser, "%s must be an integer between %d and %d", name,
				    key->min, key->max);
			return -1;
		}
		return 0;
	case CONFIG_KEY_BOOL:
		if (parse_bool(value, field) < 0) {
			parser_fail(parser, "%s must be true or false", name);
			return -1;
		}
		return 0;
	case CONFIG_KEY_ADDRESS:
		if (config_parse_address(value, NULL, NULL) < 0) {
			parser_fail(parser, "%s: \"%s\" is not ADDR:PORT", name, value);
			return -1;
		}
		break;
	}
	/* The string kinds: replace the default. */
	if (key->kind == CONFIG_KEY_SECRET)
		free_secret(*(char **)field);
	else
		free(*(char **)field);
	*(char **)field = xstrdup(value);
	return 0;
}

static int config_handler(void *user, const char *section_as_written, const char *name,
			  const char *value)
{
	struct config_parser *parser = user;
	const char *section;

	if (parser->error_line != 0)
		return 0;
	if (section_as_written[0] == '\0') {
		parser_fail(parser, "\"%s\" is outside any [section]", name);
		return 0;
	}
	section = canonical_section(section_as_written);
	if (section == NULL) {
		parser_fail(parser, "unknown section [%s]", section_as_written);
		return 0;
	}
	if (strcmp(section, "settings") == 0)
		return handle_setting(parser, name, value) == 0;
	for (unsigned i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *key = &config_keys[i];

		if (strcmp(key->section, section) != 0 || strcmp(key->name, name) != 0)
			continue;
		if (parser->seen[i]) {
			parser_fail(parser, "%s is given more than once in [%s]", name, section);
			return 0;
		}
		parser->seen[i] = true;
		return store_key(parser, key, value) == 0;
	}
	unknown_key(parser, section, name);
	return 0;
}

/* Hands inih one physical line per call, so parser->lineno is the line the
 * handler is looking at, and refuses what inih would silently mangle: a
 * line longer than its buffer (it would parse the rest as a new line) and
 * NUL bytes (the rest of the line would vanish). */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parser *parser = stream;
	ssize_t len = getline(&parser->line, &parser->line_size, parser->file);

	if (len < 0)
		return NULL;
	parser->lineno++;
	if (memchr(parser->line, '\0', (size_t)len) != NULL) {
		parser_fail(parser, "NUL byte in line");
		len = 0;
	} else if (len > num - 1) {
		/* num counts the terminator. */
		parser_fail(parser, "line longer than %d characters", num - 2);
		len = 0;
	}
	memcpy(str, parser->line, (size_t)len);
	str[len] = '\0';
	return str;
}

static void config_set_defaults(struct config *config)
{
	char host[256];

	config->data_dir = xstrdup("/opt/tegu/data");
	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	/* POSIX leaves a truncated name unterminated. */
	host[sizeof(host) - 1] = '\0';
	config->node_name = xstrdup(host);
	config->shutdown_grace = 10;
	config->dsn = xstrdup("");
	config->pool_size = 8;
	config->debug = false;
}

/* Parses an opened file into a new config. */
static int config_parse_file(FILE *file, const char *path, struct config **config_r,
			     const char **error_r)
{
	struct config_parser parser = {.path = path, .file = file};
	struct config *config;
	int ret;

	config = xrealloc(NULL, sizeof(*config));
	memset(config, 0, sizeof(*config));
	config->path = xstrdup(path);
	config_set_defaults(config);
	parser.config = config;

	ret = ini_parse_stream(config_reader, &parser, config_handler, &parser);
	if (parser.line != NULL) {
		/* It held the password line. */
		explicit_bzero(parser.line, parser.line_size);
		free(parser.line);
	}
	if (ret == -2)
		abort();
	if (parser.error_line != 0 && (ret <= 0 || parser.error_line <= ret)) {
		*error_r = config_error_buf;
	} else if (ret > 0) {
		*error_r = config_error("%s:%d: syntax error (expected [section] or key = value)",
					path, ret);
	} else if (ferror(file)) {
		*error_r = config_error("%s: read error", path);
	} else {
		*config_r = config;
		return 0;
	}
	config_destroy(&config);
	return -1;
}

/* 0 read, -1 error, 1 no such file. */
static int config_try_read(const char *path, struct config **config_r, const char **error_r)
{
	FILE *file = fopen(path, "re");
	int ret;

	if (file == NULL) {
		if (errno == ENOENT)
			return 1;
		*error_r = config_error("%s: %s", path, strerror(errno));
		return -1;
	}
	ret = config_parse_file(file, path, config_r, error_r);
	fclose(file);
	return ret;
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] != '\0')
		return home;
	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] != '\0')
		return pw->pw_dir;
	return NULL;
}

/* Rejection sampling: 62 does not divide 256, so taking every byte modulo
 * 62 would favour the first few characters. */
static int random_password(char *password, size_t length, const char **error_r)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz"
				       "0123456789";
	const unsigned n = sizeof(alphabet) - 1;
	const unsigned limit = 256 - 256 % n;
	unsigned char bytes[64];
	size_t filled = 0;

	while (filled < length) {
		ssize_t got = getrandom(bytes, sizeof(bytes), 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			*error_r = config_error("getrandom: %s", strerror(errno));
			return -1;
		}
		for (ssize_t i = 0; i < got && filled < length; i++) {
			if (bytes[i] < limit)
				password[filled++] = alphabet[bytes[i] % n];
		}
	}
	password[length] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	return 0;
}

static int write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* 0 written, 1 someone else created it meanwhile, -1 error. O_EXCL with
 * mode 0600 means the password is never readable by others, not even
 * between open and chmod; fchmod then undoes a umask that took owner bits. */
static int config_create(const char *path, const char **error_r)
{
	char password[CONFIG_PASSWORD_LENGTH + 1];
	char content[256];
	int fd, len, saved_errno;

	if (random_password(password, CONFIG_PASSWORD_LENGTH, error_r) < 0)
		return -1;
	len = snprintf(content, sizeof(content),
		       "[global]\ndataDir = /opt/tegu/data\n\n[Log]\ndebug = false\n\n"
		       "[WEB]\nadminPassword = %s\n",
		       password);
	explicit_bzero(password, sizeof(password));

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		saved_errno = errno;
		explicit_bzero(content, sizeof(content));
		if (saved_errno == EEXIST)
			return 1;
		*error_r = config_error("cannot create %s: %s", path, strerror(saved_errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, content, (size_t)len) < 0 || fsync(fd) < 0) {
		saved_errno = errno;
		explicit_bzero(content, sizeof(content));
		close(fd);
		unlink(path);
		*error_r = config_error("cannot write %s: %s", path, strerror(saved_errno));
		return -1;
	}
	explicit_bzero(content, sizeof(content));
	if (close(fd) < 0) {
		saved_errno = errno;
		unlink(path);
		*error_r = config_error("cannot write %s: %s", path, strerror(saved_errno));
		return -1;
	}
	return 0;
}

int config_load(const char *explicit_path, bool may_create, struct config **config_r,
		const char **error_r)
{
	const char *home;
	char *home_path;
	size_t size;
	bool created;
	int ret;

	*config_r = NULL;
	if (explicit_path != NULL) {
		/* An explicit -c names the one file wanted: no fallback. */
		ret = config_try_read(explicit_path, config_r, error_r);
		if (ret > 0)
			*error_r = config_error("%s: %s", explicit_path, strerror(ENOENT));
		return ret == 0 ? 0 : -1;
	}

	ret = config_try_read(CONFIG_SYSTEM_PATH, config_r, error_r);
	if (ret <= 0)
		return ret;

	home = home_dir();
	if (home == NULL) {
		*error_r = config_error("no %s and no home directory to look for %s in",
					CONFIG_SYSTEM_PATH, CONFIG_FILE_NAME);
		return -1;
	}
	size = strlen(home) + 1 + sizeof(CONFIG_FILE_NAME);
	home_path = xrealloc(NULL, size);
	snprintf(home_path, size, "%s%s%s", home, home[strlen(home) - 1] == '/' ? "" : "/",
		 CONFIG_FILE_NAME);

	ret = config_try_read(home_path, config_r, error_r);
	if (ret <= 0) {
		free(home_path);
		return ret;
	}
	if (!may_create) {
		*error_r = config_error("no configuration: neither %s nor %s exists",
					CONFIG_SYSTEM_PATH, home_path);
		free(home_path);
		return -1;
	}

	ret = config_create(home_path, error_r);
	if (ret < 0) {
		free(home_path);
		return -1;
	}
	created = ret == 0;

	ret = config_try_read(home_path, config_r, error_r);
	if (ret > 0)
		*error_r = config_error("%s vanished after it was created", home_path);
	free(home_path);
	if (ret != 0)
		return -1;
	(*config_r)->created = created;
	return 0;
}

void config_destroy(struct config **config_p)
{
	struct config *config = *config_p;

	if (config == NULL)
		return;
	*config_p = NULL;
	free(config->path);
	free(config->data_dir);
	free(config->node_name);
	/* A DSN may carry the database password. */
	free_secret(config->dsn);
	free_secret(config->admin_password);
	for (unsigned i = 0; i < CONFIG_LISTEN_COUNT; i++)
		free(config->listen[i]);
	for (unsigned i = 0; i < config->override_count; i++) {
		free(config->overrides[i].name);
		free(config->overrides[i].value);
	}
	free(config->overrides);
	free(config);
}

static int parse_port(const char *text, in_port_t *port_r)
{
	unsigned port = 0;
	size_t len = strlen(text);

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		port = port * 10 + (unsigned)(text[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	*port_r = htons((in_port_t)port);
	return 0;
}

int config_parse_address(const char *text, struct sockaddr_storage *addr_r, socklen_t *len_r)
{
	char host[INET6_ADDRSTRLEN];
	const char *host_start, *host_end, *port_text;
	struct sockaddr_storage addr;
	socklen_t len;
	in_port_t port;
	bool v6 = false;

	if (text == NULL)
		return -1;
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || host_end[1] != ':' || host_end == host_start)
			return -1;
		port_text = host_end + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(text, ':');

		host_start = text;
		host_end = colon != NULL ? colon : text;
		port_text = colon != NULL ? colon + 1 : text;
		/* A bare IPv6 address is ambiguous with its port: needs [ ]. */
		if (memchr(host_start, ':', (size_t)(host_end - host_start)) != NULL)
			return -1;
	}
	if ((size_t)(host_end - host_start) >= sizeof(host))
		return -1;
	memcpy(host, host_start, (size_t)(host_end - host_start));
	host[host_end - host_start] = '\0';
	if (parse_port(port_text, &port) < 0)
		return -1;

	memset(&addr, 0, sizeof(addr));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&addr;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		if (host[0] == '\0')
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		len = sizeof(*sin);
	}
	if (addr_r != NULL)
		*addr_r = addr;
	if (len_r != NULL)
		*len_r = len;
	return 0;
}
