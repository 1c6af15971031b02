/* The node as a member of the cluster: brings the schema up to date,
 * registers the node in the `nodes` table and keeps its heartbeat, reads
 * the draining flag back, and keeps the node's settings in step with the
 * database (on NOTIFY config and on a slow poll). Runs as fibers on the
 * loop that calls cluster_start (worker 0). */
#ifndef TEGU_CLUSTER_H
#define TEGU_CLUSTER_H

struct settings_values;

struct cluster_identity {
	const char *name; /* [global] nodeName */
	const char *host;
	const char *version;
};

void cluster_start(const struct cluster_identity *identity, struct settings_values *settings);

/* How many times the settings were (re)loaded from the database. */
long cluster_settings_loads(void);

/* Loads every row of `settings` into values (keeping tegu.conf overrides).
 * Returns 0 or -1 with *error_r. */
int cluster_load_settings(struct settings_values *values, const char **error_r);

#endif
