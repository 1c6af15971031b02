/* tegu, the node daemon: reads tegu.conf, starts one worker per core with
 * the admin HTTP(S) listeners, and joins the cluster through PostgreSQL.
 * Wiring only; the parts live in lib/ and the protocol folders. */
#include "delivery/delivery.h"
#include "http/http-server.h"
#include "http/http-status.h"
#include "imap/imap-server.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/conn.h"
#include "lib/db-listen.h"
#include "lib/db.h"
#include "lib/health.h"
#include "lib/listener.h"
#include "lib/log.h"
#include "lib/runtime.h"
#include "lib/settings.h"
#include "smtp/smtp-server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 64

struct node {
	struct config *config;
	struct settings_values *settings;
	char host[256];
	char application_name[128];
	char claimer[160]; /* claimed_by in the queue: node name and pid */
	struct listener_def listeners[CONFIG_LISTEN_COUNT];
	unsigned listener_count;
	SSL_CTX *tls;
	struct smtp_server smtp[3];
	struct imap_server imap[2];
	bool imap_on;
	struct db_pool *pools[MAX_WORKERS];
};

static const struct http_route admin_routes[] = {
    {"GET", "/health", http_status_health},
    {"GET", "/metrics", http_status_metrics},
    {NULL, NULL, NULL},
};
static const struct http_routes admin = {admin_routes};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tegu [-c tegu.conf]\n"
		"Runs a Tegu mail server node. Without -c the configuration is read from\n"
		"/etc/tegu.conf, then ~/tegu.conf; if neither exists ~/tegu.conf is created.\n");
}

/* The address for a listener: [listen] in tegu.conf wins, else the
 * cluster's IP and port settings. */
static int listener_address(struct node *node, enum config_listener which, const char *ip_setting,
			    const char *port_setting, struct listener_def *def)
{
	char text[300];
	const char *address = node->config->listen[which];
	if (address == NULL) {
		char ip[256];
		settings_get_string(node->settings, ip_setting, ip, sizeof(ip));
		snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip,
			 (long long)settings_get_int(node->settings, port_setting));
		address = text;
	}
	if (config_parse_address(address, &def->addr, &def->addr_len) < 0) {
		log_error("event=bad_listen_address listener=%s address=\"%s\"",
			  config_listener_names[which], address);
		return -1;
	}
	return 0;
}

static int add_listener(struct node *node, enum config_listener which, const char *ip_setting,
			const char *port_setting, listener_session_fn *session, void *arg,
			SSL_CTX *implicit_tls)
{
	struct listener_def *def = &node->listeners[node->listener_count];
	if (listener_address(node, which, ip_setting, port_setting, def) < 0)
		return -1;
	def->name = config_listener_names[which];
	def->session = session;
	def->arg = arg;
	def->implicit_tls = implicit_tls;
	node->listener_count++;
	return 0;
}

/* The TLS context from the certificate settings, or NULL when they are
 * not readable (then TLS listeners stay off, as the manual says of SMTPS). */
static int load_tls(struct node *node)
{
	char cert[1024], key[1024];
	settings_get_string(node->settings, "sslCertPath", cert, sizeof(cert));
	settings_get_string(node->settings, "sslKeyPath", key, sizeof(key));
	if (access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
		log_info("event=tls_disabled reason=\"certificate or key not readable\" cert=%s",
			 cert);
		return 0;
	}
	const char *error;
	node->tls = conn_tls_server_ctx(cert, key, &error);
	if (node->tls == NULL) {
		log_error("event=tls_setup_failed cert=%s error=\"%s\"", cert, error);
		return -1;
	}
	return 0;
}

static int plan_listeners(struct node *node)
{
	if (load_tls(node) < 0)
		return -1;
	if (add_listener(node, CONFIG_LISTEN_HTTP, "httpListenIp", "httpPort", http_server_session,
			 (void *)&admin, NULL) < 0)
		return -1;
	if (node->tls && add_listener(node, CONFIG_LISTEN_HTTPS, "httpListenIp", "httpsPort",
				      http_server_session, (void *)&admin, node->tls) < 0)
		return -1;

	static const struct {
		enum smtp_listener_kind kind;
		enum config_listener listen;
		const char *port_setting;
	} smtp[] = {
	    {SMTP_LISTENER_MX, CONFIG_LISTEN_SMTP, "smtpPort"},
	    {SMTP_LISTENER_SUBMISSION, CONFIG_LISTEN_SUBMISSION, "submissionPort"},
	    {SMTP_LISTENER_SMTPS, CONFIG_LISTEN_SMTPS, "smtpsPort"},
	};
	for (unsigned i = 0; i < 3; i++) {
		node->smtp[i] = (struct smtp_server){
		    .kind = smtp[i].kind,
		    .tls = node->tls,
		    .settings = node->settings,
		    .node_name = node->config->node_name,
		    .host_name = node->host,
		};
		if (smtp[i].kind == SMTP_LISTENER_SMTPS && node->tls == NULL)
			continue;
		if (add_listener(node, smtp[i].listen, "smtpListenIp", smtp[i].port_setting,
				 smtp_server_session, &node->smtp[i],
				 smtp[i].kind == SMTP_LISTENER_SMTPS ? node->tls : NULL) < 0)
			return -1;
	}

	/* The built-in IMAP server runs unless mail goes to an LMTP server
	 * instead (manual 6.2.1.8). */
	node->imap_on = !settings_get_bool(node->settings, "lmtpEnabled");
	for (unsigned i = 0; node->imap_on && i < 2; i++) {
		bool implicit = i == 1;
		node->imap[i] = (struct imap_server){
		    .implicit_tls = implicit,
		    .tls = node->tls,
		    .settings = node->settings,
		    .host_name = node->host,
		};
		if (implicit && node->tls == NULL)
			continue;
		if (add_listener(node, implicit ? CONFIG_LISTEN_IMAPS : CONFIG_LISTEN_IMAP,
				 "imapListenIp", implicit ? "imapsPort" : "imapPort",
				 imap_server_session, &node->imap[i],
				 implicit ? node->tls : NULL) < 0)
			return -1;
	}
	return 0;
}

static int worker_setup(unsigned index, void *arg)
{
	struct node *node = arg;
	node->pools[index] = db_pool_create(node->config->dsn, (unsigned)node->config->pool_size,
					    node->application_name);
	db_pool_set_current(node->pools[index]);
	for (unsigned i = 0; i < node->listener_count; i++) {
		const char *error;
		if (listener_start(&node->listeners[i], &error) < 0) {
			log_error("event=listen_failed listener=%s worker=%u error=\"%s\"",
				  node->listeners[i].name, index, error);
			return -1;
		}
	}
	delivery_local_start(node->claimer, node->settings);
	if (node->imap_on)
		imap_server_worker_start();
	if (index == 0) {
		struct cluster_identity identity = {
		    .name = node->config->node_name,
		    .host = node->host,
		    .version = TEGU_VERSION,
		};
		cluster_start(&identity, node->settings);
		db_listen_start(node->config->dsn, node->application_name);
	}
	return 0;
}

static void worker_teardown(unsigned index, void *arg)
{
	struct node *node = arg;
	db_pool_destroy(&node->pools[index]);
}

static void all_ready(void *arg)
{
	struct node *node = arg;
	health_set_listeners_up();
	for (unsigned i = 0; i < node->listener_count; i++) {
		char port[8];
		const struct sockaddr_storage *a = &node->listeners[i].addr;
		unsigned p = a->ss_family == AF_INET6
				 ? ntohs(((const struct sockaddr_in6 *)a)->sin6_port)
				 : ntohs(((const struct sockaddr_in *)a)->sin_port);
		snprintf(port, sizeof(port), "%u", p);
		log_info("event=listening listener=%s port=%s", node->listeners[i].name, port);
	}
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int opt;
	static const struct option long_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	while ((opt = getopt_long(argc, argv, "c:hV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tegu %s\n", TEGU_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	struct node node = {0};
	const char *error;
	if (config_load(config_path, true, &node.config, &error) < 0) {
		fprintf(stderr, "tegu: %s\n", error);
		return 1;
	}
	log_init(node.config->debug);
	if (node.config->created)
		log_info("event=config_created path=%s note=\"the admin password is in [WEB] "
			 "adminPassword there\"",
			 node.config->path);
	log_info("event=starting version=%s config=%s node=%s", TEGU_VERSION, node.config->path,
		 node.config->node_name);

	node.settings = settings_values_create();
	int result = 1;
	for (unsigned i = 0; i < node.config->override_count; i++) {
		const struct config_override *o = &node.config->overrides[i];
		if (settings_values_override(node.settings, o->name, o->value, &error) < 0) {
			log_error("event=bad_setting_override name=%s error=\"%s\"", o->name,
				  error);
			goto out;
		}
		log_info("event=setting_override name=%s source=%s", o->name, node.config->path);
	}
	if (gethostname(node.host, sizeof(node.host) - 1) != 0)
		snprintf(node.host, sizeof(node.host), "unknown");
	snprintf(node.application_name, sizeof(node.application_name), "tegu %s",
		 node.config->node_name);
	snprintf(node.claimer, sizeof(node.claimer), "%s/%d", node.config->node_name,
		 (int)getpid());
	if (plan_listeners(&node) < 0)
		goto out;

	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct runtime_config runtime = {
	    .workers = cores < 1	     ? 1
		       : cores > MAX_WORKERS ? MAX_WORKERS
					     : (unsigned)cores,
	    .grace_seconds = node.config->shutdown_grace,
	    .worker_setup = worker_setup,
	    .worker_teardown = worker_teardown,
	    .all_ready = all_ready,
	    .arg = &node,
	};
	result = runtime_run(&runtime);
	log_info("event=stopped result=%d", result);
out:
	db_listen_cleanup();
	SSL_CTX_free(node.tls);
	settings_values_destroy(&node.settings);
	config_destroy(&node.config);
	return result;
}
