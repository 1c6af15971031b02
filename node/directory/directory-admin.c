/* See directory-admin.h. Each change is one statement (or one transaction)
 * whose result also says why nothing happened (no such user, already a
 * member), so the administrator gets a precise message without a race
 * between a check and the change. Address uniqueness across users,
 * alternative addresses, groups and aliases is enforced by the database
 * (directory_addresses, schema/directory.sql); a violation is turned into
 * "address X is already used by ...". */
#include "directory/directory-admin.h"
#include "directory/directory-admin-internal.h"

#include "lib/utf8.h"
#include "lib/arena.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/offload.h"

#include <crypt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQLSTATE_UNIQUE_VIOLATION "23505"

/* ------------------------------------------------------------ input checks */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

int directory_domain_normalize(const char *input, char out[DIRECTORY_MAX_DOMAIN],
			       const char **error_r)
{
	size_t len = strlen(input);
	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (len > DIRECTORY_MAX_DOMAIN - 1) {
		*error_r = "domain longer than 253 characters";
		return -1;
	}
	size_t label = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = ascii_lower(input[i]);
		if (c == '.' || c == '\0') {
			if (label == 0) {
				*error_r = "empty label in domain";
				return -1;
			}
			if (out[i - 1] == '-') {
				*error_r = "domain label ends with '-'";
				return -1;
			}
			label = 0;
		} else if (!is_alnum((unsigned char)c) && c != '-') {
			*error_r = "domain may hold only letters, digits, '-' and '.'";
			return -1;
		} else if (c == '-' && label == 0) {
			*error_r = "domain label starts with '-'";
			return -1;
		} else if (++label > 63) {
			*error_r = "domain label longer than 63 characters";
			return -1;
		}
		out[i] = c;
	}
	return 0;
}

int directory_address_normalize(const char *input, char out[DIRECTORY_MAX_ADDRESS],
				const char **error_r)
{
	const char *at = strchr(input, '@');
	if (at == NULL) {
		*error_r = "not an address (local@domain)";
		return -1;
	}
	size_t local_len = (size_t)(at - input);
	if (local_len == 0) {
		*error_r = "empty local part";
		return -1;
	}
	if (local_len > 64) {
		*error_r = "local part longer than 64 characters";
		return -1;
	}
	for (size_t i = 0; i < local_len; i++) {
		unsigned char c = (unsigned char)input[i];
		if (c == '.') {
			if (i == 0 || i + 1 == local_len || input[i - 1] == '.') {
				*error_r = "local part has a leading, trailing or double '.'";
				return -1;
			}
		} else if (!is_atext(c)) {
			*error_r = c == '@' ? "more than one '@'"
					    : "local part may hold only letters, digits, '.' and "
					      "!#$%&'*+/=?^_`{|}~-";
			return -1;
		}
		out[i] = ascii_lower((char)c);
	}
	if (strchr(at + 1, '@') != NULL) {
		*error_r = "more than one '@'";
		return -1;
	}
	char domain[DIRECTORY_MAX_DOMAIN];
	if (directory_domain_normalize(at + 1, domain, error_r) < 0)
		return -1;
	size_t domain_len = strlen(domain);
	if (local_len + 1 + domain_len >= DIRECTORY_MAX_ADDRESS) {
		*error_r = "address too long";
		return -1;
	}
	out[local_len] = '@';
	memcpy(out + local_len + 1, domain, domain_len + 1);
	return 0;
}

int directory_group_name_check(const char *name, const char **error_r)
{
	size_t len = strlen(name);
	if (len == 0 || len >= DIRECTORY_MAX_GROUP_NAME) {
		*error_r = "a group name has 1 to 127 bytes";
		return -1;
	}
	if (!utf8_valid((const unsigned char *)name, len)) {
		*error_r = "group name is not UTF-8";
		return -1;
	}
	if (name[0] == '-' || name[0] == ' ' || name[len - 1] == ' ') {
		*error_r = "a group name may not start with '-' or a space, nor end with a space";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x80 && !is_alnum(c) && strchr(" ._-", c) == NULL) {
			*error_r = "a group name may hold only letters, digits, spaces, '.', '_' "
				   "and '-'";
			return -1;
		}
		/* The C1 controls (U+0080..U+009F) and no-break spaces pass as
		 * letters; the next two lines are the C1 controls. */
		if (c == 0xc2 && i + 1 < len && (unsigned char)name[i + 1] < 0xa0) {
			*error_r = "group name holds a control character";
			return -1;
		}
	}
	return 0;
}

int directory_display_name_check(const char *name, const char **error_r)
{
	size_t len = strlen(name);
	if (len > DIRECTORY_MAX_DISPLAY_NAME) {
		*error_r = "display name longer than 256 bytes";
		return -1;
	}
	if (!utf8_valid((const unsigned char *)name, len)) {
		*error_r = "display name is not UTF-8";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < len && (unsigned char)name[i + 1] < 0xa0)) {
			*error_r = "display name holds a control character";
			return -1;
		}
	}
	return 0;
}

int directory_password_check(const char *password, const char **error_r)
{
	size_t len = strlen(password);
	if (len == 0) {
		*error_r = "empty password";
		return -1;
	}
	if (len > DIRECTORY_MAX_PASSWORD) {
		*error_r = "password longer than 1024 bytes";
		return -1;
	}
	if (strpbrk(password, "\r\n") != NULL) {
		*error_r = "password holds a line break";
		return -1;
	}
	return 0;
}

int directory_quota_parse(const char *text, int64_t *quota_mb_r, const char **error_r)
{
	int64_t value = 0;
	if (*text == '\0') {
		*error_r = "empty quota";
		return -1;
	}
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9') {
			*error_r = "a quota is a number of MB (0: no limit)";
			return -1;
		}
		value = value * 10 + (*p - '0');
		if (value > DIRECTORY_MAX_QUOTA_MB) {
			*error_r = "quota larger than 1073741824 MB";
			return -1;
		}
	}
	*quota_mb_r = value;
	return 0;
}

bool directory_quota_valid(int64_t quota_mb, bool allow_default)
{
	return (quota_mb >= 0 && quota_mb <= DIRECTORY_MAX_QUOTA_MB) ||
	       (allow_default && quota_mb == DIRECTORY_QUOTA_DEFAULT);
}

/* A group as the administrator names it: an address (lower-cased) or a
 * name (as is). */
int directory_group_key(const char *input, char out[DIRECTORY_MAX_ADDRESS], const char **error_r)
{
	if (strchr(input, '@') != NULL)
		return directory_address_normalize(input, out, error_r);
	if (directory_group_name_check(input, error_r) < 0)
		return -1;
	memcpy(out, input, strlen(input) + 1);
	return 0;
}

/* ------------------------------------------------------------ database helpers */

/* "prefix: cause" where cause may be the fiber's error buffer itself. */
static const char *error_with(const char *prefix, const char *cause)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", cause);
	return fiber_error_set("%s: %s", prefix, copy);
}

/* One statement on a connection of its own. On failure *sqlstate_r gets
 * the SQLSTATE ("" for client errors). */
static PGresult *query(const char *sql, int nparams, const char *const *params, char sqlstate_r[6],
		       int64_t deadline, const char **error_r)
{
	sqlstate_r[0] = '\0';
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return NULL;
	PGresult *res = db_conn_query(conn, sql, nparams, params, deadline, error_r);
	if (res == NULL)
		snprintf(sqlstate_r, 6, "%s", db_conn_sqlstate(conn));
	db_release(&conn);
	return res;
}

static const char *kind_description(const char *kind)
{
	if (strcmp(kind, "user") == 0)
		return "a user";
	if (strcmp(kind, "alternative") == 0)
		return "an alternative address";
	if (strcmp(kind, "group") == 0)
		return "a group";
	return "an alias";
}

/* The message for a unique violation when address was being added: who
 * holds it now. Keeps *error_r when the holder cannot be found (the
 * violation was about something else). */
static void address_taken(const char *address, int64_t deadline, const char **error_r)
{
	const char *params[] = {address};
	const char *ignored;
	PGresult *res = db_query("SELECT kind FROM directory_addresses WHERE address = $1", 1,
				 params, deadline, &ignored);
	if (res != NULL && PQntuples(res) == 1)
		*error_r = fiber_error_set("address %s is already used by %s", address,
					   kind_description(PQgetvalue(res, 0, 0)));
	PQclear(res);
}

/* Runs a failed change's error through address_taken when it was a
 * unique violation. Returns -1. */
static int change_failed(const char *sqlstate, const char *address, int64_t deadline,
			 const char **error_r)
{
	if (address != NULL && strcmp(sqlstate, SQLSTATE_UNIQUE_VIOLATION) == 0) {
		char cause[256];
		snprintf(cause, sizeof(cause), "%s", *error_r);
		*error_r = cause;
		address_taken(address, deadline, error_r);
		if (*error_r == cause)
			*error_r = fiber_error_set("%s", cause);
	}
	return -1;
}

/* 0 when domain exists, else -1 with *error_r. */
static int require_domain(const char *domain, int64_t deadline, const char **error_r)
{
	const char *params[] = {domain};
	PGresult *res =
	    db_query("SELECT 1 FROM domains WHERE name = $1", 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int found = PQntuples(res);
	PQclear(res);
	if (found == 0) {
		*error_r = fiber_error_set("no domain %s: add it first", domain);
		return -1;
	}
	return 0;
}

const char *directory_address_domain(const char *address)
{
	return strchr(address, '@') + 1;
}

/* Statements sharing one parameter list, in one transaction. On failure
 * *sqlstate_r gets the failed statement's SQLSTATE. */
int directory_admin_transaction(const struct tx_stmt *stmts, unsigned count,
				const char *const *params, char sqlstate_r[6], int64_t deadline,
				const char **error_r)
{
	sqlstate_r[0] = '\0';
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = db_conn_exec_script(conn, "BEGIN", deadline, error_r);
	for (unsigned i = 0; ret == 0 && i < count; i++) {
		PGresult *res =
		    db_conn_query(conn, stmts[i].sql, stmts[i].nparams, params, deadline, error_r);
		if (res == NULL) {
			snprintf(sqlstate_r, 6, "%s", db_conn_sqlstate(conn));
			char cause[256];
			snprintf(cause, sizeof(cause), "%s", *error_r);
			const char *ignored;
			db_conn_exec_script(conn, "ROLLBACK", deadline, &ignored);
			*error_r = fiber_error_set("%s", cause);
			ret = -1;
		}
		PQclear(res);
	}
	if (ret == 0)
		ret = db_conn_exec_script(conn, "COMMIT", deadline, error_r);
	/* A connection still in a transaction is dropped (the server rolls
	 * back), never reused. */
	db_release(&conn);
	return ret;
}

static const char *int64_text(char buf[24], int64_t value)
{
	snprintf(buf, 24, "%" PRId64, value);
	return buf;
}

static int64_t int64_value(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool bool_value(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* Splits a comma-joined list ("" = none) into arena strings. Addresses
 * and group names never hold a comma. */
static void split_list(struct arena *arena, const char *text, const char ***items_r,
		       unsigned *count_r)
{
	unsigned count = *text ? 1 : 0;
	for (const char *p = text; *p; p++)
		count += *p == ',';
	const char **items = arena_alloc(arena, (count + 1) * sizeof(*items));
	unsigned n = 0;
	const char *start = text;
	while (n < count) {
		size_t len = strcspn(start, ",");
		items[n++] = arena_strndup(arena, start, len);
		start += len + 1;
	}
	items[n] = NULL;
	*items_r = items;
	*count_r = count;
}

/* Appends s to array unless the set (an object) has it already. */
void directory_json_append_once(json_t *array, json_t *set, const char *s)
{
	if (json_object_get(set, s) == NULL) {
		json_object_set_new(set, s, json_true());
		json_array_append_new(array, json_string(s));
	}
}

/* ------------------------------------------------------------ passwords */

struct hash_job {
	const char *password;
	char hash[CRYPT_OUTPUT_SIZE];
	bool ok;
};

/* On an offload thread: a fresh yescrypt salt with the default cost, then
 * the hash. crypt_data holds the password's derived state; it is wiped. */
static void hash_job_run(void *arg)
{
	struct hash_job *job = arg;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (data == NULL)
		abort();
	job->ok = false;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) != NULL) {
		const char *out = crypt_rn(job->password, setting, data, sizeof(*data));
		if (out != NULL && out[0] == '$' && strlen(out) < sizeof(job->hash)) {
			memcpy(job->hash, out, strlen(out) + 1);
			job->ok = true;
		}
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
}

static int hash_password(const char *password, char hash_r[CRYPT_OUTPUT_SIZE], const char **error_r)
{
	struct hash_job job = {.password = password};
	offload_run(hash_job_run, &job);
	if (job.ok)
		memcpy(hash_r, job.hash, sizeof(job.hash));
	bool ok = job.ok;
	explicit_bzero(&job, sizeof(job));
	if (!ok) {
		*error_r = "could not hash the password (libxcrypt without yescrypt?)";
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ domains */

int directory_admin_domain_add(const char *domain, int64_t default_quota_mb, int64_t trash_quota_mb,
			       int64_t deadline, const char **error_r)
{
	char name[DIRECTORY_MAX_DOMAIN];
	if (directory_domain_normalize(domain, name, error_r) < 0)
		return -1;
	if (!directory_quota_valid(default_quota_mb, false) ||
	    !directory_quota_valid(trash_quota_mb, false)) {
		*error_r = "quota out of range";
		return -1;
	}
	char quota[24], trash[24];
	const char *params[] = {name, int64_text(quota, default_quota_mb),
				int64_text(trash, trash_quota_mb)};
	char sqlstate[6];
	PGresult *res = query("INSERT INTO domains (name, default_quota_mb, trash_quota_mb)"
			      " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name",
			      3, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	int added = PQntuples(res);
	PQclear(res);
	if (added == 0) {
		*error_r = fiber_error_set("domain %s already exists", name);
		return -1;
	}
	return 0;
}

int directory_admin_domain_remove(const char *domain, bool force, int64_t deadline,
				  const char **error_r)
{
	char name[DIRECTORY_MAX_DOMAIN];
	if (directory_domain_normalize(domain, name, error_r) < 0)
		return -1;
	const char *params[] = {name};
	char sqlstate[6];
	PGresult *res = query("SELECT EXISTS (SELECT 1 FROM domains WHERE name = $1),"
			      " (SELECT count(*) FROM users WHERE domain = $1),"
			      " (SELECT count(*) FROM directory_addresses"
			      "  WHERE domain = $1 AND kind <> 'user')",
			      1, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	bool exists = bool_value(res, 0, 0);
	int64_t users = int64_value(res, 0, 1), others = int64_value(res, 0, 2);
	PQclear(res);
	if (!exists) {
		*error_r = fiber_error_set("no domain %s", name);
		return -1;
	}
	if ((users > 0 || others > 0) && !force) {
		*error_r = fiber_error_set("domain %s is not empty: %" PRId64 " users, %" PRId64
					   " other addresses; --force removes them",
					   name, users, others);
		return -1;
	}
	/* Everything in the domain, then the domain; the registry's foreign
	 * key fails the transaction if anything was added meanwhile. An
	 * alternative address in the domain goes, its user (elsewhere) stays. */
	static const struct tx_stmt stmts[] = {
	    {"DELETE FROM aliases WHERE id IN (SELECT ref_id FROM directory_addresses"
	     " WHERE domain = $1 AND kind = 'alias')",
	     1},
	    {"DELETE FROM user_addresses WHERE address IN (SELECT address FROM directory_addresses"
	     " WHERE domain = $1 AND kind = 'alternative')",
	     1},
	    {"DELETE FROM groups WHERE id IN (SELECT ref_id FROM directory_addresses"
	     " WHERE domain = $1 AND kind = 'group')",
	     1},
	    {"DELETE FROM users WHERE domain = $1", 1},
	    {"DELETE FROM domains WHERE name = $1", 1},
	};
	return directory_admin_transaction(stmts, sizeof(stmts) / sizeof(stmts[0]), params,
					   sqlstate, deadline, error_r);
}

int directory_admin_load_domains(struct db_conn *conn, struct arena *arena,
				 struct directory_domain_info **domains_r, unsigned *count_r,
				 int64_t deadline, const char **error_r)
{
	PGresult *res = db_conn_query(conn,
				      "SELECT d.name, d.default_quota_mb, d.trash_quota_mb,"
				      " (SELECT count(*) FROM users u WHERE u.domain = d.name)"
				      " FROM domains d ORDER BY d.name COLLATE \"C\"",
				      0, NULL, deadline, error_r);
	if (res == NULL)
		return -1;
	int rows = PQntuples(res);
	struct directory_domain_info *domains =
	    arena_zalloc(arena, ((size_t)rows + 1) * sizeof(*domains));
	for (int row = 0; row < rows; row++) {
		domains[row].name = arena_strdup(arena, PQgetvalue(res, row, 0));
		domains[row].default_quota_mb = int64_value(res, row, 1);
		domains[row].trash_quota_mb = int64_value(res, row, 2);
		domains[row].user_count = int64_value(res, row, 3);
	}
	PQclear(res);
	*domains_r = domains;
	*count_r = (unsigned)rows;
	return 0;
}

int directory_admin_domain_list(struct arena *arena, struct directory_domain_info **domains_r,
				unsigned *count_r, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = directory_admin_load_domains(conn, arena, domains_r, count_r, deadline, error_r);
	db_release(&conn);
	return ret;
}

/* ------------------------------------------------------------ users */

int directory_admin_user_add(const char *address, const char *password, const char *display_name,
			     int64_t quota_mb, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	if (password != NULL && directory_password_check(password, error_r) < 0)
		return -1;
	if (display_name != NULL && directory_display_name_check(display_name, error_r) < 0)
		return -1;
	if (!directory_quota_valid(quota_mb, true)) {
		*error_r = "quota out of range";
		return -1;
	}
	if (require_domain(directory_address_domain(key), deadline, error_r) < 0)
		return -1;
	char hash[CRYPT_OUTPUT_SIZE];
	if (password != NULL && hash_password(password, hash, error_r) < 0)
		return -1;
	char local[DIRECTORY_MAX_ADDRESS], quota[24];
	memcpy(local, key, (size_t)(strchr(key, '@') - key));
	local[strchr(key, '@') - key] = '\0';
	const char *params[] = {
	    local,
	    directory_address_domain(key),
	    password != NULL ? hash : NULL,
	    display_name != NULL ? display_name : "",
	    quota_mb == DIRECTORY_QUOTA_DEFAULT ? NULL : int64_text(quota, quota_mb),
	};
	char sqlstate[6];
	PGresult *res = query("INSERT INTO users (local_part, domain, password_hash, display_name,"
			      " quota_mb) VALUES ($1, $2, $3, $4, $5::bigint) RETURNING id",
			      5, params, sqlstate, deadline, error_r);
	explicit_bzero(hash, sizeof(hash));
	if (res == NULL)
		return change_failed(sqlstate, key, deadline, error_r);
	PQclear(res);
	return 0;
}

/* An UPDATE or DELETE of one user by address, "RETURNING id": 0 rows
 * means no such user. */
static int change_user(const char *sql, int nparams, const char *const *params, int64_t deadline,
		       const char **error_r)
{
	char sqlstate[6];
	PGresult *res = query(sql, nparams, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	int changed = PQntuples(res);
	PQclear(res);
	if (changed == 0) {
		*error_r = fiber_error_set("no user %s", params[0]);
		return -1;
	}
	return 0;
}

int directory_admin_user_set_password(const char *address, const char *password, int64_t deadline,
				      const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0 ||
	    directory_password_check(password, error_r) < 0)
		return -1;
	char hash[CRYPT_OUTPUT_SIZE];
	if (hash_password(password, hash, error_r) < 0)
		return -1;
	const char *params[] = {key, hash};
	int ret = change_user("UPDATE users SET password_hash = $2 WHERE address = $1 RETURNING id",
			      2, params, deadline, error_r);
	explicit_bzero(hash, sizeof(hash));
	return ret;
}

int directory_admin_user_set(const char *address, const struct directory_user_change *change,
			     int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	if (change->display_name != NULL &&
	    directory_display_name_check(change->display_name, error_r) < 0)
		return -1;
	if (change->set_quota && !directory_quota_valid(change->quota_mb, true)) {
		*error_r = "quota out of range";
		return -1;
	}
	char quota[24];
	const char *params[] = {
	    key,
	    change->display_name,
	    change->set_quota ? "true" : "false",
	    change->set_quota && change->quota_mb != DIRECTORY_QUOTA_DEFAULT
		? int64_text(quota, change->quota_mb)
		: NULL,
	    change->set_enabled ? (change->enabled ? "true" : "false") : NULL,
	};
	return change_user("UPDATE users SET display_name = COALESCE($2, display_name),"
			   " quota_mb = CASE WHEN $3::boolean THEN $4::bigint ELSE quota_mb END,"
			   " enabled = COALESCE($5::boolean, enabled)"
			   " WHERE address = $1 RETURNING id",
			   5, params, deadline, error_r);
}

int directory_admin_user_remove(const char *address, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	const char *params[] = {key};
	return change_user("DELETE FROM users WHERE address = $1 RETURNING id", 1, params, deadline,
			   error_r);
}

int directory_admin_load_users(struct db_conn *conn, const char *domain, struct arena *arena,
			       struct directory_user_info **users_r, unsigned *count_r,
			       int64_t deadline, const char **error_r)
{
	const char *params[] = {domain};
	PGresult *res = db_conn_query(
	    conn,
	    "SELECT u.id, u.address, u.display_name, u.quota_mb, u.enabled, u.password_hash,"
	    " COALESCE((SELECT string_agg(a.address, ',' ORDER BY a.address COLLATE \"C\")"
	    "  FROM user_addresses a WHERE a.user_id = u.id), '')"
	    " FROM users u WHERE $1::text IS NULL OR u.domain = $1"
	    " ORDER BY u.address COLLATE \"C\"",
	    1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int rows = PQntuples(res);
	struct directory_user_info *users =
	    arena_zalloc(arena, ((size_t)rows + 1) * sizeof(*users));
	for (int row = 0; row < rows; row++) {
		struct directory_user_info *user = &users[row];
		user->id = int64_value(res, row, 0);
		user->address = arena_strdup(arena, PQgetvalue(res, row, 1));
		user->display_name = arena_strdup(arena, PQgetvalue(res, row, 2));
		user->quota_mb =
		    PQgetisnull(res, row, 3) ? DIRECTORY_QUOTA_DEFAULT : int64_value(res, row, 3);
		user->enabled = bool_value(res, row, 4);
		user->password_hash =
		    PQgetisnull(res, row, 5) ? NULL : arena_strdup(arena, PQgetvalue(res, row, 5));
		split_list(arena, PQgetvalue(res, row, 6), &user->addresses, &user->address_count);
	}
	PQclear(res);
	*users_r = users;
	*count_r = (unsigned)rows;
	return 0;
}

int directory_admin_user_list(const char *domain, struct arena *arena,
			      struct directory_user_info **users_r, unsigned *count_r,
			      int64_t deadline, const char **error_r)
{
	char name[DIRECTORY_MAX_DOMAIN];
	if (domain != NULL) {
		if (directory_domain_normalize(domain, name, error_r) < 0 ||
		    require_domain(name, deadline, error_r) < 0)
			return -1;
	}
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = directory_admin_load_users(conn, domain != NULL ? name : NULL, arena, users_r,
					     count_r, deadline, error_r);
	db_release(&conn);
	return ret;
}

int directory_admin_user_address_add(const char *address, const char *alternative, int64_t deadline,
				     const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS], alt[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0 ||
	    directory_address_normalize(alternative, alt, error_r) < 0)
		return -1;
	if (require_domain(directory_address_domain(alt), deadline, error_r) < 0)
		return -1;
	const char *params[] = {key, alt};
	char sqlstate[6];
	PGresult *res = query("INSERT INTO user_addresses (address, user_id)"
			      " SELECT $2, id FROM users WHERE address = $1 RETURNING user_id",
			      2, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return change_failed(sqlstate, alt, deadline, error_r);
	int added = PQntuples(res);
	PQclear(res);
	if (added == 0) {
		*error_r = fiber_error_set("no user %s", key);
		return -1;
	}
	return 0;
}

int directory_admin_user_address_remove(const char *address, const char *alternative,
					int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS], alt[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0 ||
	    directory_address_normalize(alternative, alt, error_r) < 0)
		return -1;
	const char *params[] = {key, alt};
	char sqlstate[6];
	PGresult *res = query("WITH removed AS (DELETE FROM user_addresses a USING users u"
			      "  WHERE a.user_id = u.id AND u.address = $1 AND a.address = $2"
			      "  RETURNING 1)"
			      " SELECT (SELECT count(*) FROM removed),"
			      " EXISTS (SELECT 1 FROM users WHERE address = $1)",
			      2, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	int64_t removed = int64_value(res, 0, 0);
	bool user_exists = bool_value(res, 0, 1);
	PQclear(res);
	if (!user_exists) {
		*error_r = fiber_error_set("no user %s", key);
		return -1;
	}
	if (removed == 0) {
		*error_r = fiber_error_set("%s is not an alternative address of %s", alt, key);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ groups */

int directory_admin_group_add(const char *name_or_address, const char *parent, bool master,
			      int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS], parent_key[DIRECTORY_MAX_ADDRESS];
	if (directory_group_key(name_or_address, key, error_r) < 0)
		return -1;
	if (parent != NULL && directory_group_key(parent, parent_key, error_r) < 0)
		return -1;
	bool has_address = strchr(key, '@') != NULL;
	if (has_address && require_domain(directory_address_domain(key), deadline, error_r) < 0)
		return -1;
	const char *params[] = {key, has_address ? key : NULL, parent != NULL ? parent_key : NULL,
				master ? "true" : "false"};
	char sqlstate[6];
	PGresult *res =
	    query("WITH parent AS (SELECT id FROM groups WHERE name = $3 OR address = $3),"
		  " added AS (INSERT INTO groups (name, address, parent_id, master)"
		  "  SELECT $1, $2, (SELECT id FROM parent), $4::boolean"
		  "  WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM parent)"
		  "  ON CONFLICT (name) DO NOTHING RETURNING id)"
		  " SELECT (SELECT count(*) FROM added), $3::text IS NULL OR EXISTS (SELECT 1 FROM "
		  "parent)",
		  4, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return change_failed(sqlstate, has_address ? key : NULL, deadline, error_r);
	int64_t added = int64_value(res, 0, 0);
	bool parent_exists = bool_value(res, 0, 1);
	PQclear(res);
	if (!parent_exists) {
		*error_r = fiber_error_set("no group %s (the parent)", parent_key);
		return -1;
	}
	if (added == 0) {
		*error_r = fiber_error_set("group %s already exists", key);
		return -1;
	}
	return 0;
}

int directory_admin_group_remove(const char *group, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_group_key(group, key, error_r) < 0)
		return -1;
	const char *params[] = {key};
	char sqlstate[6];
	PGresult *res = query("DELETE FROM groups WHERE name = $1 OR address = $1 RETURNING id", 1,
			      params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	int removed = PQntuples(res);
	PQclear(res);
	if (removed == 0) {
		*error_r = fiber_error_set("no group %s", key);
		return -1;
	}
	return 0;
}

/* The group ($1, name or address) and the member ($2: a user's address,
 * primary or alternative, or a group's name or address) of a membership
 * change, as the CTEs "g" and "m" (user_id, group_id). */
#define MEMBERSHIP_CTES                                                                            \
	"WITH g AS (SELECT id FROM groups WHERE name = $1 OR address = $1),"                       \
	" m AS (SELECT CASE WHEN kind = 'group' THEN NULL ELSE ref_id END AS user_id,"             \
	"   CASE WHEN kind = 'group' THEN ref_id END AS group_id"                                  \
	"  FROM directory_addresses WHERE address = $2 AND kind IN ('user', 'alternative', "       \
	"'group')"                                                                                 \
	"  UNION ALL SELECT NULL, id FROM groups WHERE name = $2 AND position('@' in $2) = 0),"

/* no_change: what it means that change_cte changed nothing ("is not a
 * member of"). */
static int membership_change(const char *group, const char *member, const char *change_cte,
			     const char *no_change, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS], member_key[DIRECTORY_MAX_ADDRESS];
	if (directory_group_key(group, key, error_r) < 0 ||
	    directory_group_key(member, member_key, error_r) < 0)
		return -1;
	const char *params[] = {key, member_key};
	char sql[2048];
	snprintf(sql, sizeof(sql),
		 MEMBERSHIP_CTES " changed AS (%s)"
				 " SELECT EXISTS (SELECT 1 FROM g), EXISTS (SELECT 1 FROM m),"
				 " EXISTS (SELECT 1 FROM g, m WHERE g.id = m.group_id),"
				 " (SELECT count(*) FROM changed)",
		 change_cte);
	char sqlstate[6];
	PGresult *res = query(sql, 2, params, sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	bool group_exists = bool_value(res, 0, 0), member_exists = bool_value(res, 0, 1);
	bool itself = bool_value(res, 0, 2);
	int64_t changed = int64_value(res, 0, 3);
	PQclear(res);
	if (!group_exists) {
		*error_r = fiber_error_set("no group %s", key);
		return -1;
	}
	if (!member_exists) {
		*error_r = fiber_error_set("no user or group %s", member_key);
		return -1;
	}
	if (itself) {
		*error_r = "a group cannot be a member of itself";
		return -1;
	}
	if (changed == 0) {
		*error_r = fiber_error_set("%s %s %s", member_key, no_change, key);
		return -1;
	}
	return 0;
}

int directory_admin_group_member_add(const char *group, const char *member, int64_t deadline,
				     const char **error_r)
{
	return membership_change(
	    group, member,
	    "INSERT INTO group_members (group_id, user_id, member_group_id)"
	    " SELECT g.id, m.user_id, m.group_id FROM g, m"
	    " WHERE g.id IS DISTINCT FROM m.group_id ON CONFLICT DO NOTHING RETURNING 1",
	    "is already a member of", deadline, error_r);
}

int directory_admin_group_member_remove(const char *group, const char *member, int64_t deadline,
					const char **error_r)
{
	return membership_change(group, member,
				 "DELETE FROM group_members x USING g, m WHERE x.group_id = g.id"
				 " AND (x.user_id = m.user_id OR x.member_group_id = m.group_id)"
				 " RETURNING 1",
				 "is not a member of", deadline, error_r);
}

int directory_admin_load_groups(struct db_conn *conn, struct arena *arena,
				struct directory_group_info **groups_r, unsigned *count_r,
				int64_t deadline, const char **error_r)
{
	PGresult *res = db_conn_query(
	    conn,
	    "SELECT g.id, g.name, g.address, p.name, g.master,"
	    " COALESCE((SELECT string_agg(u.address, ',' ORDER BY u.address COLLATE \"C\")"
	    "  FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = g.id), ''),"
	    " COALESCE((SELECT string_agg(s.name, ',' ORDER BY s.name COLLATE \"C\")"
	    "  FROM group_members m JOIN groups s ON s.id = m.member_group_id"
	    "  WHERE m.group_id = g.id), '')"
	    " FROM groups g LEFT JOIN groups p ON p.id = g.parent_id"
	    " ORDER BY g.name COLLATE \"C\"",
	    0, NULL, deadline, error_r);
	if (res == NULL)
		return -1;
	int rows = PQntuples(res);
	struct directory_group_info *groups =
	    arena_zalloc(arena, ((size_t)rows + 1) * sizeof(*groups));
	for (int row = 0; row < rows; row++) {
		struct directory_group_info *group = &groups[row];
		group->id = int64_value(res, row, 0);
		group->name = arena_strdup(arena, PQgetvalue(res, row, 1));
		group->address =
		    PQgetisnull(res, row, 2) ? NULL : arena_strdup(arena, PQgetvalue(res, row, 2));
		group->parent =
		    PQgetisnull(res, row, 3) ? NULL : arena_strdup(arena, PQgetvalue(res, row, 3));
		group->master = bool_value(res, row, 4);
		split_list(arena, PQgetvalue(res, row, 5), &group->members, &group->member_count);
		split_list(arena, PQgetvalue(res, row, 6), &group->subgroups,
			   &group->subgroup_count);
	}
	PQclear(res);
	*groups_r = groups;
	*count_r = (unsigned)rows;
	return 0;
}

int directory_admin_group_list(struct arena *arena, struct directory_group_info **groups_r,
			       unsigned *count_r, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = directory_admin_load_groups(conn, arena, groups_r, count_r, deadline, error_r);
	db_release(&conn);
	return ret;
}

/* ------------------------------------------------------------ aliases */

int directory_admin_alias_add(const char *address, const char *const *targets, unsigned count,
			      int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	if (count == 0 || count > DIRECTORY_MAX_TARGETS) {
		*error_r = "an alias has 1 to 1000 targets";
		return -1;
	}
	json_t *list = json_array(), *seen = json_object();
	for (unsigned i = 0; i < count; i++) {
		char target[DIRECTORY_MAX_ADDRESS];
		if (directory_address_normalize(targets[i], target, error_r) < 0) {
			*error_r = error_with(targets[i], *error_r);
			json_decref(list);
			json_decref(seen);
			return -1;
		}
		if (strcmp(target, key) == 0) {
			*error_r = "an alias cannot be its own target";
			json_decref(list);
			json_decref(seen);
			return -1;
		}
		directory_json_append_once(list, seen, target);
	}
	json_decref(seen);
	char *text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	if (text == NULL)
		abort();
	int ret = require_domain(directory_address_domain(key), deadline, error_r);
	PGresult *res = NULL;
	char sqlstate[6] = "";
	if (ret == 0) {
		const char *params[] = {key, text};
		res = query("INSERT INTO aliases (address, targets) SELECT $1,"
			    " ARRAY(SELECT t FROM jsonb_array_elements_text($2::jsonb)"
			    "  WITH ORDINALITY AS e (t, n) ORDER BY n)"
			    " ON CONFLICT (address) DO NOTHING RETURNING id",
			    2, params, sqlstate, deadline, error_r);
		if (res == NULL)
			ret = change_failed(sqlstate, key, deadline, error_r);
	}
	free(text);
	if (res != NULL && PQntuples(res) == 0) {
		*error_r = fiber_error_set("alias %s already exists", key);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

int directory_admin_alias_remove(const char *address, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	const char *params[] = {key};
	char sqlstate[6];
	PGresult *res = query("DELETE FROM aliases WHERE address = $1 RETURNING id", 1, params,
			      sqlstate, deadline, error_r);
	if (res == NULL)
		return -1;
	int removed = PQntuples(res);
	PQclear(res);
	if (removed == 0) {
		*error_r = fiber_error_set("no alias %s", key);
		return -1;
	}
	return 0;
}

int directory_admin_load_aliases(struct db_conn *conn, struct arena *arena,
				 struct directory_alias_info **aliases_r, unsigned *count_r,
				 int64_t deadline, const char **error_r)
{
	PGresult *res = db_conn_query(conn,
				      "SELECT address, array_to_string(targets, ',') FROM aliases"
				      " ORDER BY address COLLATE \"C\"",
				      0, NULL, deadline, error_r);
	if (res == NULL)
		return -1;
	int rows = PQntuples(res);
	struct directory_alias_info *aliases =
	    arena_zalloc(arena, ((size_t)rows + 1) * sizeof(*aliases));
	for (int row = 0; row < rows; row++) {
		aliases[row].address = arena_strdup(arena, PQgetvalue(res, row, 0));
		split_list(arena, PQgetvalue(res, row, 1), &aliases[row].targets,
			   &aliases[row].target_count);
	}
	PQclear(res);
	*aliases_r = aliases;
	*count_r = (unsigned)rows;
	return 0;
}

int directory_admin_alias_list(struct arena *arena, struct directory_alias_info **aliases_r,
			       unsigned *count_r, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	int ret = directory_admin_load_aliases(conn, arena, aliases_r, count_r, deadline, error_r);
	db_release(&conn);
	return ret;
}

/* ------------------------------------------------------------ resolve */

int directory_admin_resolve(const char *address, struct arena *arena, const char ***users_r,
			    unsigned *user_count_r, const char ***external_r,
			    unsigned *external_count_r, int64_t deadline, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (strcasecmp(address, "postmaster") == 0)
		memcpy(key, "postmaster", sizeof("postmaster"));
	else if (directory_address_normalize(address, key, error_r) < 0)
		return -1;
	struct directory_expansion expansion;
	if (directory_expand(key, arena, deadline, &expansion, error_r) < 0)
		return -1;
	*external_r = expansion.external;
	*external_count_r = expansion.external_count;
	*users_r = arena_zalloc(arena, ((size_t)expansion.user_count + 1) * sizeof(char *));
	*user_count_r = 0;
	if (expansion.user_count == 0)
		return 0;
	/* The ids as an array literal: digits and commas only. */
	size_t size = 3 + (size_t)expansion.user_count * 21;
	char *ids = arena_alloc(arena, size);
	size_t len = 0;
	ids[len++] = '{';
	for (unsigned i = 0; i < expansion.user_count; i++)
		len += (size_t)snprintf(ids + len, size - len, "%s%" PRId64, i > 0 ? "," : "",
					expansion.user_ids[i]);
	snprintf(ids + len, size - len, "}");
	const char *params[] = {ids};
	PGresult *res = db_query("SELECT address FROM users WHERE id = ANY ($1::bigint[])"
				 " ORDER BY address COLLATE \"C\"",
				 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	for (int row = 0; row < PQntuples(res); row++)
		(*users_r)[(*user_count_r)++] = arena_strdup(arena, PQgetvalue(res, row, 0));
	PQclear(res);
	return 0;
}
