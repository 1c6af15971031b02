/* The agents that empty the queue. Each worker runs one local delivery
 * agent: it claims due entries for local recipients with FOR UPDATE SKIP
 * LOCKED and a lease, expands each recipient (aliases, groups) and
 * delivers into the users' INBOX in the same transaction that deletes the
 * entry. NOTIFY queue wakes it; it also polls every few seconds, so a
 * dead node's expired claims are picked up. */
#ifndef TEGU_DELIVERY_H
#define TEGU_DELIVERY_H

struct settings_values;

/* claimer names this process in claimed_by ("node/pid"). */
void delivery_local_start(const char *claimer, struct settings_values *settings);

#endif
