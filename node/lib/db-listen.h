/* LISTEN/NOTIFY for the whole node: one extra PostgreSQL connection holds
 * LISTEN for every channel somebody subscribed to and hands each
 * notification to the subscribers, on their own worker's loop.
 *
 * NOTIFY is a hint, never the only source of truth: after every
 * (re)connect each subscriber is called once with payload NULL, meaning
 * "notifications may have been lost: poll now". Subscribers also poll on
 * their own slow timer. */
#ifndef TEGU_DB_LISTEN_H
#define TEGU_DB_LISTEN_H

/* Runs on the subscriber's loop, in the scheduler: may wake fibers, must
 * not wait. payload is NULL for "poll once". */
typedef void db_notify_fn(const char *channel, const char *payload, void *arg);

/* Registers fn for channel on the calling thread's loop. channel must be
 * a static lower-case identifier. Call before or after db_listen_start. */
void db_listen_subscribe(const char *channel, db_notify_fn *fn, void *arg);

/* Starts the LISTEN fiber on the current loop; it ends when the loop stops. */
void db_listen_start(const char *dsn, const char *application_name);

/* Announces a change that was just committed: the subscribers of this
 * process hear it at once, the other nodes through one NOTIFY that the
 * calling thread sends a moment later for everything announced meanwhile.
 * Why not NOTIFY inside the data transaction: PostgreSQL commits every
 * transaction that notified one at a time under a global lock, which
 * would undo group commit. The NOTIFY transaction itself does not wait
 * for its flush (a lost hint is covered by the listeners' polling).
 * payload: at most a few hundred bytes; equal payloads are sent once.
 * Call from a fiber, after the commit. */
void db_notify_after_commit(const char *channel, const char *payload);

/* Frees the subscriber table at process exit. */
void db_listen_cleanup(void);

#endif
