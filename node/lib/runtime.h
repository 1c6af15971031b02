/* The node's threads: one worker per core, each with its own loop; the
 * main thread waits for signals. SIGTERM/SIGINT stop the workers: each
 * stops accepting, closes connections that are idle, gives the others up
 * to the grace period, then shuts them down. Under systemd the runtime
 * sends READY=1 once every worker is set up and WATCHDOG=1 while every
 * worker's loop still answers. */
#ifndef TEGU_RUNTIME_H
#define TEGU_RUNTIME_H

struct runtime_config {
	unsigned workers;
	int grace_seconds;
	/* Runs on each worker thread with its loop current, before the loop
	 * runs; returns 0 or -1 (the node then exits with an error). */
	int (*worker_setup)(unsigned index, void *arg);
	/* Runs on each worker thread after its loop ended. */
	void (*worker_teardown)(unsigned index, void *arg);
	/* Runs on the main thread once every worker is set up. */
	void (*all_ready)(void *arg);
	void *arg;
};

/* Returns 0 after a clean stop, 1 when a worker failed to set up. */
int runtime_run(const struct runtime_config *config);

#endif
