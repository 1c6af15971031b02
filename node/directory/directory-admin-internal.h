/* What directory-admin.c shares with directory-json.c (the export and
 * import of the whole directory): not for other folders. */
#ifndef TEGU_DIRECTORY_ADMIN_INTERNAL_H
#define TEGU_DIRECTORY_ADMIN_INTERNAL_H

#include "directory/directory-admin.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct arena;
struct db_conn;

/* A statement of a transaction: it uses the first nparams parameters of
 * the transaction's list (a statement must use all it is given). */
struct tx_stmt {
	const char *sql;
	int nparams;
};

/* Statements sharing one parameter list, in one transaction. On failure
 * *sqlstate_r gets the failed statement's SQLSTATE. Returns 0 or -1. */
int directory_admin_transaction(const struct tx_stmt *stmts, unsigned count,
				const char *const *params, char sqlstate_r[6], int64_t deadline,
				const char **error_r);

bool directory_quota_valid(int64_t quota_mb, bool allow_default);
/* A group reference (name or address) in its stored form. */
int directory_group_key(const char *input, char out[DIRECTORY_MAX_ADDRESS], const char **error_r);
/* The domain part of a normalised address. */
const char *directory_address_domain(const char *address);
/* Appends s to array unless the set (an object) has it already. */
void directory_json_append_once(json_t *array, json_t *set, const char *s);

/* Every domain, user, group, alias, read on conn into arena. */
int directory_admin_load_domains(struct db_conn *conn, struct arena *arena,
				 struct directory_domain_info **domains_r, unsigned *count_r,
				 int64_t deadline, const char **error_r);
int directory_admin_load_users(struct db_conn *conn, const char *domain, struct arena *arena,
			       struct directory_user_info **users_r, unsigned *count_r,
			       int64_t deadline, const char **error_r);
int directory_admin_load_groups(struct db_conn *conn, struct arena *arena,
				struct directory_group_info **groups_r, unsigned *count_r,
				int64_t deadline, const char **error_r);
int directory_admin_load_aliases(struct db_conn *conn, struct arena *arena,
				 struct directory_alias_info **aliases_r, unsigned *count_r,
				 int64_t deadline, const char **error_r);

#endif
