/* Administration of the local directory (directory.h): domains, users and
 * their alternative addresses, groups and their members, aliases, and the
 * whole directory as one JSON document (format: README.md). Used by
 * teguctl (ctl/ctl-directory.c) and the admin API.
 *
 * The input checks (directory_*_normalize, *_check) need no database and
 * may run anywhere. Every other call runs in a fiber with the worker's
 * database pool current, validates its input again, and returns 0, or -1
 * with *error_r: a message for the administrator, valid until the fiber's
 * next call that may fail. Addresses are stored lower-case; an address
 * belongs to one entry only (user, alternative address, group or alias),
 * and its domain must exist. Passwords are hashed with yescrypt off the
 * loop; no call keeps, logs or returns a password.
 */
#ifndef TEGU_DIRECTORY_ADMIN_H
#define TEGU_DIRECTORY_ADMIN_H

#include "directory/directory.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define DIRECTORY_MAX_DOMAIN	   254
#define DIRECTORY_MAX_GROUP_NAME   128 /* bytes, with the NUL */
#define DIRECTORY_MAX_DISPLAY_NAME 256 /* bytes, without the NUL */
#define DIRECTORY_MAX_PASSWORD	   1024
#define DIRECTORY_MAX_QUOTA_MB	   INT64_C(1073741824) /* 1 PiB */
#define DIRECTORY_MAX_TARGETS	   1000		       /* per alias */
/* users.quota_mb: the user follows the domain's default quota. */
#define DIRECTORY_QUOTA_DEFAULT (-1)

/* ---- input checks: 0, or -1 with *error_r (a static string) */

/* A domain name: LDH labels separated by dots, lower-cased into out. */
int directory_domain_normalize(const char *input, char out[DIRECTORY_MAX_DOMAIN],
			       const char **error_r);
/* local@domain: the local part a dot-atom (RFC 5322 atext and dots, at
 * most 64 bytes), the domain as above; lower-cased into out. */
int directory_address_normalize(const char *input, char out[DIRECTORY_MAX_ADDRESS],
				const char **error_r);
/* A group name without '@' (one with '@' is an address): 1 to 127 bytes
 * of UTF-8 letters, digits, space, '.', '_', '-', not starting with '-'
 * or a space, not ending with a space. Case is kept and significant. */
int directory_group_name_check(const char *name, const char **error_r);
/* UTF-8, no control characters, at most DIRECTORY_MAX_DISPLAY_NAME bytes. */
int directory_display_name_check(const char *name, const char **error_r);
/* 1 to DIRECTORY_MAX_PASSWORD bytes, no CR or LF. */
int directory_password_check(const char *password, const char **error_r);
/* A quota: decimal MB, 0 to DIRECTORY_MAX_QUOTA_MB. */
int directory_quota_parse(const char *text, int64_t *quota_mb_r, const char **error_r);

/* ---- domains */

struct directory_domain_info {
	const char *name;
	int64_t default_quota_mb, trash_quota_mb; /* 0 = no limit */
	int64_t user_count;
};

int directory_admin_domain_add(const char *domain, int64_t default_quota_mb, int64_t trash_quota_mb,
			       int64_t deadline, const char **error_r);
/* Refuses a domain that still holds anything (users, alternative
 * addresses, groups, aliases) unless force, which removes all of it. */
int directory_admin_domain_remove(const char *domain, bool force, int64_t deadline,
				  const char **error_r);
/* Sorted by name; strings and the array from arena. */
int directory_admin_domain_list(struct arena *arena, struct directory_domain_info **domains_r,
				unsigned *count_r, int64_t deadline, const char **error_r);

/* ---- users (named by their primary address) */

struct directory_user_info {
	int64_t id;
	const char *address;
	const char *display_name; /* "" when none */
	int64_t quota_mb;	  /* DIRECTORY_QUOTA_DEFAULT or MB */
	bool enabled;
	const char *password_hash; /* crypt(3) string or NULL; for export, never to print */
	const char **addresses;	   /* alternative addresses, sorted */
	unsigned address_count;
};

/* password NULL: the user has no password and cannot log in until one is
 * set. display_name NULL: none. quota_mb DIRECTORY_QUOTA_DEFAULT: the
 * domain's. */
int directory_admin_user_add(const char *address, const char *password, const char *display_name,
			     int64_t quota_mb, int64_t deadline, const char **error_r);
int directory_admin_user_set_password(const char *address, const char *password, int64_t deadline,
				      const char **error_r);

struct directory_user_change {
	const char *display_name; /* NULL: unchanged */
	bool set_quota;
	int64_t quota_mb; /* with set_quota: MB or DIRECTORY_QUOTA_DEFAULT */
	bool set_enabled;
	bool enabled;
};
int directory_admin_user_set(const char *address, const struct directory_user_change *change,
			     int64_t deadline, const char **error_r);
/* Removes the user with its alternative addresses and group memberships. */
int directory_admin_user_remove(const char *address, int64_t deadline, const char **error_r);
/* The users of domain (NULL: all), sorted by address. */
int directory_admin_user_list(const char *domain, struct arena *arena,
			      struct directory_user_info **users_r, unsigned *count_r,
			      int64_t deadline, const char **error_r);
int directory_admin_user_address_add(const char *address, const char *alternative, int64_t deadline,
				     const char **error_r);
int directory_admin_user_address_remove(const char *address, const char *alternative,
					int64_t deadline, const char **error_r);

/* ---- groups (named by name or address: a group is found by either) */

struct directory_group_info {
	int64_t id;
	const char *name;
	const char *address; /* NULL when none */
	const char *parent;  /* the parent's name, NULL at the top */
	bool master;
	const char **members; /* users' primary addresses, sorted */
	unsigned member_count;
	const char **subgroups; /* member groups' names, sorted */
	unsigned subgroup_count;
};

/* name_or_address: an address makes a group with that address, named by
 * it; a name, a group without an address. parent NULL: at the top. */
int directory_admin_group_add(const char *name_or_address, const char *parent, bool master,
			      int64_t deadline, const char **error_r);
/* Its child groups move to the top; memberships in it go. */
int directory_admin_group_remove(const char *group, int64_t deadline, const char **error_r);
int directory_admin_group_list(struct arena *arena, struct directory_group_info **groups_r,
			       unsigned *count_r, int64_t deadline, const char **error_r);
/* member: a user's address (primary or alternative) or a group. */
int directory_admin_group_member_add(const char *group, const char *member, int64_t deadline,
				     const char **error_r);
int directory_admin_group_member_remove(const char *group, const char *member, int64_t deadline,
					const char **error_r);

/* ---- aliases */

struct directory_alias_info {
	const char *address;
	const char **targets; /* in the order given */
	unsigned target_count;
};

/* Targets are addresses, local or external; duplicates are dropped. */
int directory_admin_alias_add(const char *address, const char *const *targets, unsigned count,
			      int64_t deadline, const char **error_r);
int directory_admin_alias_remove(const char *address, int64_t deadline, const char **error_r);
int directory_admin_alias_list(struct arena *arena, struct directory_alias_info **aliases_r,
			       unsigned *count_r, int64_t deadline, const char **error_r);

/* ---- the expansion of directory.h, with users named by address
 * (address may be a bare "postmaster", as in RCPT TO:<Postmaster>) */

int directory_admin_resolve(const char *address, struct arena *arena, const char ***users_r,
			    unsigned *user_count_r, const char ***external_r,
			    unsigned *external_count_r, int64_t deadline, const char **error_r);

/* ---- the whole directory as JSON (README.md) */

/* The document, from one consistent snapshot, as malloc'd text ending in
 * a newline (the caller frees it). It holds the password hashes, so an
 * import restores logins: treat it like a password file. */
int directory_admin_export(char **json_r, int64_t deadline, const char **error_r);

/* A checked, normalized document, ready to import. Parsing needs no
 * database: every error is found before anything changes. */
struct directory_import;
struct directory_import_counts {
	unsigned domains, users, groups, aliases;
};
int directory_import_parse(const char *text, size_t len, struct directory_import **import_r,
			   const char **error_r);
void directory_import_counts(const struct directory_import *import,
			     struct directory_import_counts *counts_r);
void directory_import_free(struct directory_import **import);
/* Makes the directory exactly what the document says, in one transaction:
 * entries missing from it are removed, the others created or updated in
 * place (a user keeps its id). Importing the same document twice leaves
 * the same directory; a failure changes nothing. */
int directory_admin_import(const struct directory_import *import, int64_t deadline,
			   const char **error_r);

#endif
