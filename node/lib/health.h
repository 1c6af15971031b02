/* The node's readiness, as GET /health and the load balancer see it:
 * ready when migrations are done, the listeners are up, the database took
 * a write within the last few seconds, and the node is neither draining
 * (teguctl drain) nor shutting down. Thread-safe. */
#ifndef TEGU_HEALTH_H
#define TEGU_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

void health_set_migrated(void);
void health_set_listeners_up(void);
/* The heartbeat committed a write just now. */
void health_db_write_ok(void);
void health_db_write_failed(void);
void health_set_draining(bool draining);
void health_set_stopping(void);

bool health_db_up(void);
bool health_migrated(void);
/* 200 with reason "ok", or 503 with the first reason the node is not ready. */
int health_status(const char **reason_r);
/* Seconds since the process started. */
double health_uptime_seconds(void);

#endif
