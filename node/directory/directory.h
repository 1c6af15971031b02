/* The local user directory, cluster-wide in PostgreSQL (the manual's
 * "JSON File User DB", kept in the database): domains, users, groups in a
 * hierarchy, aliases, master users. This header is what the protocols
 * use: recipient checks, authentication, address ownership and the
 * expansion of an address into mailboxes. Administration (add, remove,
 * import, export) is in directory-admin.h.
 *
 * All calls run in a fiber and use the current worker's database pool.
 * Addresses are compared case-insensitively in the domain and as stored
 * in the local part (lower-cased on input: local parts are treated as
 * case-insensitive, as every mainstream server does).
 */
#ifndef TEGU_DIRECTORY_H
#define TEGU_DIRECTORY_H

#include <stdbool.h>
#include <stdint.h>

struct arena;

#define DIRECTORY_MAX_ADDRESS 320

struct directory_user {
	int64_t id;
	char address[DIRECTORY_MAX_ADDRESS]; /* primary address */
	int64_t quota_mb; /* effective: the user's, else the domain default; 0 = none */
	bool enabled;
};

enum directory_recipient {
	DIRECTORY_RECIPIENT_LOCAL,   /* a user, alternative address, alias or group address */
	DIRECTORY_RECIPIENT_UNKNOWN, /* the domain is local, the address is not */
	DIRECTORY_RECIPIENT_REMOTE,  /* not a local domain */
};

/* Classifies an envelope recipient (RCPT TO). Returns 0 or -1 with *error_r. */
int directory_classify_recipient(const char *address, int64_t deadline,
				 enum directory_recipient *kind_r, const char **error_r);

/* Checks a login (an address, primary or alternative) and password.
 * Returns 0 with *user_r filled, 1 when the login is unknown, disabled or
 * the password wrong (the caller counts it as a failed attempt), -1 with
 * *error_r when the directory could not be asked. The password hash is
 * checked off the event loop (offload.h). */
int directory_authenticate(const char *login, const char *password, int64_t deadline,
			   struct directory_user *user_r, const char **error_r);

/* The enabled user with this login (an address, primary or alternative),
 * without a password: for a master user's login as another user.
 * Returns 0, 1 when there is no such enabled user, or -1. */
int directory_find_user(const char *login, int64_t deadline, struct directory_user *user_r,
			const char **error_r);

/* Whether the user is in a master-users group (a group with the master
 * flag), directly or through nested groups (manual 6.2.1.22, 6.2.4). */
int directory_user_is_master(int64_t user_id, int64_t deadline, bool *is_master_r,
			     const char **error_r);

/* A failed login over any service ("smtp", "imap", "http"): one log event
 * per failure with the client address. This is where the cluster-wide
 * ban of the protections counts failures; the ban itself is not there
 * yet. login is logged cut short and escaped (it comes from the client);
 * the password never reaches this function. */
void directory_auth_failed(const char *service, const char *session_id, const char *client_ip,
			   const char *login);

/* Whether address is one of the user's own addresses (primary or
 * alternative): the envelope sender an authenticated user may use. */
int directory_user_has_address(int64_t user_id, const char *address, int64_t deadline, bool *has_r,
			       const char **error_r);

/* What one recipient address delivers to: local users (each once) and
 * external addresses (each once), through aliases and nested groups
 * (depth-limited, cycles ignored). Strings are allocated from arena. */
struct directory_expansion {
	int64_t *user_ids;
	unsigned user_count;
	const char **external;
	unsigned external_count;
};
int directory_expand(const char *address, struct arena *arena, int64_t deadline,
		     struct directory_expansion *expansion_r, const char **error_r);

#endif
