/* tegu.conf: the small INI file that tells a node where its database is.
 *
 * Looked for at an explicit path (-c), else /etc/tegu.conf, else
 * ~/tegu.conf. When none exists the node writes ~/tegu.conf (mode 0600)
 * with [global] dataDir, [Log] debug = false and [WEB] adminPassword set to
 * a fresh random password. Sections:
 *   [global]   dataDir, nodeName (default: hostname), shutdownGrace (seconds, 10)
 *   [database] dsn (any libpq connection string), poolSize (per worker, 8)
 *   [Log]      debug
 *   [WEB]      adminPassword
 *   [listen]   smtp, submission, smtps, imap, imaps, http, https = ADDR:PORT
 *   [settings] any cluster setting by name: overrides the database for this node
 */
#ifndef TEGU_CONFIG_H
#define TEGU_CONFIG_H

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>

enum config_listener {
	CONFIG_LISTEN_SMTP,
	CONFIG_LISTEN_SUBMISSION,
	CONFIG_LISTEN_SMTPS,
	CONFIG_LISTEN_IMAP,
	CONFIG_LISTEN_IMAPS,
	CONFIG_LISTEN_HTTP,
	CONFIG_LISTEN_HTTPS,
	CONFIG_LISTEN_COUNT
};

struct config_override {
	char *name;
	char *value;
};

struct config {
	char *path;   /* the file that was read or written */
	bool created; /* true when this run wrote a new file */
	char *data_dir;
	char *node_name;
	int shutdown_grace; /* seconds */
	char *dsn;
	int pool_size;
	bool debug;
	char *admin_password;
	/* ADDR:PORT as written, NULL when the [listen] key is absent */
	char *listen[CONFIG_LISTEN_COUNT];
	struct config_override *overrides;
	unsigned override_count;
};

/* Names of the [listen] keys, indexed by enum config_listener. */
extern const char *const config_listener_names[CONFIG_LISTEN_COUNT];

/* Finds and reads the configuration. explicit_path may be NULL. When no
 * file exists and may_create is true, writes ~/tegu.conf (0600) first.
 * Returns 0 and a config to free with config_destroy(), or -1 with
 * *error_r (static or valid until the next call). */
int config_load(const char *explicit_path, bool may_create, struct config **config_r,
		const char **error_r);
void config_destroy(struct config **config);

/* Parses "ADDR:PORT", "[v6addr]:PORT" or ":PORT"/"PORT" (all addresses)
 * into a socket address. Returns 0 or -1. */
int config_parse_address(const char *text, struct sockaddr_storage *addr_r, socklen_t *len_r);

#endif
