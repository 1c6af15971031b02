/* See directory-admin.h. Each change is one statement (or one transaction)
 * whose result also says why nothing happened (no such user, already a
 * member), so the administrator gets a precise message without a race
 * between a check and the change. Address uniqueness across users,
 * alternative addresses, groups and aliases is enforced by the database
 * (directory_addresses, schema/directory.sql); a violation is turned into
 * "address X is already used by ...". */
#include "directory/directory-admin.h"

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

static bool quota_valid(int64_t quota_mb, bool allow_default)
{
	return (quota_mb >= 0 && quota_mb <= DIRECTORY_MAX_QUOTA_MB) ||
	       (allow_default && quota_mb == DIRECTORY_QUOTA_DEFAULT);
}

/* A group as the administrator names it: an address (lower-cased) or a
 * name (as is). */
static int group_key(const char *input, char out[DIRECTORY_MAX_ADDRESS], const char **error_r)
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

static const char *address_domain(const char *address)
{
	return strchr(address, '@') + 1;
}

/* A statement of a transaction: it uses the first nparams parameters of
 * the transaction's list (a statement must use all it is given). */
struct tx_stmt {
	const char *sql;
	int nparams;
};

/* Statements sharing one parameter list, in one transaction. On failure
 * *sqlstate_r gets the failed statement's SQLSTATE. */
static int transaction(const struct tx_stmt *stmts, unsigned count, const char *const *params,
		       char sqlstate_r[6], int64_t deadline, const char **error_r)
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
static void append_once(json_t *array, json_t *set, const char *s)
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
	if (!quota_valid(default_quota_mb, false) || !quota_valid(trash_quota_mb, false)) {
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
	return transaction(stmts, sizeof(stmts) / sizeof(stmts[0]), params, sqlstate, deadline,
			   error_r);
}

static int load_domains(struct db_conn *conn, struct arena *arena,
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
	int ret = load_domains(conn, arena, domains_r, count_r, deadline, error_r);
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
	if (!quota_valid(quota_mb, true)) {
		*error_r = "quota out of range";
		return -1;
	}
	if (require_domain(address_domain(key), deadline, error_r) < 0)
		return -1;
	char hash[CRYPT_OUTPUT_SIZE];
	if (password != NULL && hash_password(password, hash, error_r) < 0)
		return -1;
	char local[DIRECTORY_MAX_ADDRESS], quota[24];
	memcpy(local, key, (size_t)(strchr(key, '@') - key));
	local[strchr(key, '@') - key] = '\0';
	const char *params[] = {
	    local,
	    address_domain(key),
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
	if (change->set_quota && !quota_valid(change->quota_mb, true)) {
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

static int load_users(struct db_conn *conn, const char *domain, struct arena *arena,
		      struct directory_user_info **users_r, unsigned *count_r, int64_t deadline,
		      const char **error_r)
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
	int ret = load_users(conn, domain != NULL ? name : NULL, arena, users_r, count_r, deadline,
			     error_r);
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
	if (require_domain(address_domain(alt), deadline, error_r) < 0)
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
	if (group_key(name_or_address, key, error_r) < 0)
		return -1;
	if (parent != NULL && group_key(parent, parent_key, error_r) < 0)
		return -1;
	bool has_address = strchr(key, '@') != NULL;
	if (has_address && require_domain(address_domain(key), deadline, error_r) < 0)
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
	if (group_key(group, key, error_r) < 0)
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
	if (group_key(group, key, error_r) < 0 || group_key(member, member_key, error_r) < 0)
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

static int load_groups(struct db_conn *conn, struct arena *arena,
		       struct directory_group_info **groups_r, unsigned *count_r, int64_t deadline,
		       const char **error_r)
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
	int ret = load_groups(conn, arena, groups_r, count_r, deadline, error_r);
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
		append_once(list, seen, target);
	}
	json_decref(seen);
	char *text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	if (text == NULL)
		abort();
	int ret = require_domain(address_domain(key), deadline, error_r);
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

static int load_aliases(struct db_conn *conn, struct arena *arena,
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
	int ret = load_aliases(conn, arena, aliases_r, count_r, deadline, error_r);
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

/* ------------------------------------------------------------ export */

static json_t *string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *string_array(const char *const *items, unsigned count)
{
	json_t *array = json_array();
	for (unsigned i = 0; i < count; i++)
		json_array_append_new(array, json_string(items[i]));
	return array;
}

int directory_admin_export(char **json_r, int64_t deadline, const char **error_r)
{
	struct db_conn *conn = db_acquire(deadline, error_r);
	if (conn == NULL)
		return -1;
	struct arena *arena = arena_create(16384);
	struct directory_domain_info *domains = NULL;
	struct directory_user_info *users = NULL;
	struct directory_group_info *groups = NULL;
	struct directory_alias_info *aliases = NULL;
	unsigned domain_count = 0, user_count = 0, group_count = 0, alias_count = 0;
	/* One snapshot: the four reads see the same directory. */
	int ret = db_conn_exec_script(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				      deadline, error_r);
	if (ret == 0)
		ret = load_domains(conn, arena, &domains, &domain_count, deadline, error_r);
	if (ret == 0)
		ret = load_users(conn, NULL, arena, &users, &user_count, deadline, error_r);
	if (ret == 0)
		ret = load_groups(conn, arena, &groups, &group_count, deadline, error_r);
	if (ret == 0)
		ret = load_aliases(conn, arena, &aliases, &alias_count, deadline, error_r);
	if (ret == 0)
		ret = db_conn_exec_script(conn, "COMMIT", deadline, error_r);
	db_release(&conn);
	if (ret < 0) {
		arena_destroy(&arena);
		return -1;
	}

	json_t *doc = json_object();
	json_object_set_new(doc, "format", json_string("tegu-directory"));
	json_object_set_new(doc, "version", json_integer(1));
	json_t *list = json_array();
	for (unsigned i = 0; i < domain_count; i++) {
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(domains[i].name));
		json_object_set_new(d, "default_quota_mb",
				    json_integer(domains[i].default_quota_mb));
		json_object_set_new(d, "trash_quota_mb", json_integer(domains[i].trash_quota_mb));
		json_array_append_new(list, d);
	}
	json_object_set_new(doc, "domains", list);
	list = json_array();
	for (unsigned i = 0; i < user_count; i++) {
		const struct directory_user_info *user = &users[i];
		json_t *u = json_object();
		json_object_set_new(u, "address", json_string(user->address));
		json_object_set_new(u, "display_name", json_string(user->display_name));
		json_object_set_new(u, "password_hash", string_or_null(user->password_hash));
		json_object_set_new(u, "quota_mb",
				    user->quota_mb == DIRECTORY_QUOTA_DEFAULT
					? json_null()
					: json_integer(user->quota_mb));
		json_object_set_new(u, "enabled", json_boolean(user->enabled));
		json_object_set_new(u, "addresses",
				    string_array(user->addresses, user->address_count));
		json_array_append_new(list, u);
	}
	json_object_set_new(doc, "users", list);
	list = json_array();
	for (unsigned i = 0; i < group_count; i++) {
		const struct directory_group_info *group = &groups[i];
		json_t *g = json_object();
		json_object_set_new(g, "name", json_string(group->name));
		json_object_set_new(g, "address", string_or_null(group->address));
		json_object_set_new(g, "parent", string_or_null(group->parent));
		json_object_set_new(g, "master", json_boolean(group->master));
		json_object_set_new(g, "members",
				    string_array(group->members, group->member_count));
		json_object_set_new(g, "subgroups",
				    string_array(group->subgroups, group->subgroup_count));
		json_array_append_new(list, g);
	}
	json_object_set_new(doc, "groups", list);
	list = json_array();
	for (unsigned i = 0; i < alias_count; i++) {
		json_t *a = json_object();
		json_object_set_new(a, "address", json_string(aliases[i].address));
		json_object_set_new(a, "targets",
				    string_array(aliases[i].targets, aliases[i].target_count));
		json_array_append_new(list, a);
	}
	json_object_set_new(doc, "aliases", list);
	arena_destroy(&arena);

	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		abort();
	size_t len = strlen(text);
	*json_r = realloc(text, len + 2);
	if (*json_r == NULL)
		abort();
	memcpy(*json_r + len, "\n", 2);
	return 0;
}

/* ------------------------------------------------------------ import */

struct directory_import {
	json_t *doc; /* the canonical document: every key present, addresses lower-cased */
	struct directory_import_counts counts;
};

/* The state of one parse: the canonical document being built, the
 * addresses taken so far (address -> where), and the names seen. */
struct parse {
	json_t *taken;
	json_t *domains;	 /* name -> true */
	json_t *users;		 /* address, primary or alternative -> primary address */
	json_t *groups;		 /* name -> parent name or null */
	json_t *group_addresses; /* address -> name */
	const char **error_r;
};

static int fail(struct parse *p, const char *where, const char *what)
{
	char copy[200];
	snprintf(copy, sizeof(copy), "%s", what);
	*p->error_r = fiber_error_set("%s: %s", where, copy);
	return -1;
}

static int check_keys(struct parse *p, json_t *obj, const char *where, const char *const *allowed)
{
	if (!json_is_object(obj))
		return fail(p, where, "not an object");
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		bool known = false;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(key, *a) == 0;
		if (!known) {
			char what[160];
			snprintf(what, sizeof(what), "unknown key \"%.100s\"", key);
			return fail(p, where, what);
		}
	}
	return 0;
}

/* obj[key] as a string: required (absent fails), or optional (absent or
 * null: *value_r NULL). */
static int get_string(struct parse *p, json_t *obj, const char *key, bool required,
		      const char *where, const char **value_r)
{
	json_t *value = json_object_get(obj, key);
	*value_r = NULL;
	if (value == NULL || (json_is_null(value) && !required)) {
		if (required) {
			char what[80];
			snprintf(what, sizeof(what), "\"%s\" is missing", key);
			return fail(p, where, what);
		}
		return 0;
	}
	if (!json_is_string(value)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not a string", key);
		return fail(p, where, what);
	}
	*value_r = json_string_value(value);
	return 0;
}

/* obj[key] as an array of strings (absent: empty). */
static int get_strings(struct parse *p, json_t *obj, const char *key, const char *where,
		       json_t **array_r)
{
	json_t *value = json_object_get(obj, key);
	*array_r = value;
	if (value == NULL)
		return 0;
	char what[80];
	snprintf(what, sizeof(what), "\"%s\" is not an array of strings", key);
	if (!json_is_array(value))
		return fail(p, where, what);
	size_t i;
	json_t *item;
	json_array_foreach(value, i, item)
	{
		if (!json_is_string(item))
			return fail(p, where, what);
	}
	return 0;
}

static int get_quota(struct parse *p, json_t *obj, const char *key, bool nullable,
		     const char *where, json_t **value_r)
{
	json_t *value = json_object_get(obj, key);
	if (value == NULL || json_is_null(value)) {
		*value_r = nullable ? json_null() : json_integer(0);
		return 0;
	}
	if (!json_is_integer(value) || !quota_valid(json_integer_value(value), false)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not a quota in MB", key);
		return fail(p, where, what);
	}
	*value_r = json_integer(json_integer_value(value));
	return 0;
}

static int get_bool(struct parse *p, json_t *obj, const char *key, bool fallback, const char *where,
		    json_t **value_r)
{
	json_t *value = json_object_get(obj, key);
	if (value == NULL) {
		*value_r = json_boolean(fallback);
		return 0;
	}
	if (!json_is_boolean(value)) {
		char what[80];
		snprintf(what, sizeof(what), "\"%s\" is not true or false", key);
		return fail(p, where, what);
	}
	*value_r = json_boolean(json_is_true(value));
	return 0;
}

/* Normalizes an address of the document and claims it for kind: it must
 * be free and its domain one of the document's. */
static int claim_address(struct parse *p, const char *input, const char *where, const char *kind,
			 char out[DIRECTORY_MAX_ADDRESS])
{
	const char *error;
	if (directory_address_normalize(input, out, &error) < 0) {
		char what[200];
		snprintf(what, sizeof(what), "%.100s: %s", input, error);
		return fail(p, where, what);
	}
	if (json_object_get(p->domains, address_domain(out)) == NULL) {
		char what[200];
		snprintf(what, sizeof(what), "%s: no domain %s in the document", out,
			 address_domain(out));
		return fail(p, where, what);
	}
	json_t *holder = json_object_get(p->taken, out);
	if (holder != NULL) {
		char what[200];
		snprintf(what, sizeof(what), "address %s is already used by %s", out,
			 json_string_value(holder));
		return fail(p, where, what);
	}
	json_object_set_new(p->taken, out, json_string(kind));
	return 0;
}

static int parse_domains(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"name", "default_quota_mb", "trash_quota_mb", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "domains[%zu]", i);
		const char *name, *error;
		json_t *quota, *trash;
		char normalized[DIRECTORY_MAX_DOMAIN];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "name", true, where, &name) < 0)
			return -1;
		if (directory_domain_normalize(name, normalized, &error) < 0)
			return fail(p, where, error);
		if (json_object_get(p->domains, normalized) != NULL)
			return fail(p, where, "domain listed twice");
		if (get_quota(p, item, "default_quota_mb", false, where, &quota) < 0)
			return -1;
		if (get_quota(p, item, "trash_quota_mb", false, where, &trash) < 0) {
			json_decref(quota);
			return -1;
		}
		json_object_set_new(p->domains, normalized, json_true());
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(normalized));
		json_object_set_new(d, "default_quota_mb", quota);
		json_object_set_new(d, "trash_quota_mb", trash);
		json_array_append_new(out, d);
	}
	return 0;
}

/* A list of addresses normalized into a new array, duplicates dropped;
 * each claimed for kind when claim. */
static int parse_address_list(struct parse *p, json_t *input, const char *where, const char *kind,
			      bool claim, json_t **out_r)
{
	json_t *out = json_array(), *seen = json_object();
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char address[DIRECTORY_MAX_ADDRESS];
		const char *error;
		if (claim) {
			if (claim_address(p, json_string_value(item), where, kind, address) < 0)
				goto failed;
		} else if (directory_address_normalize(json_string_value(item), address, &error) <
			   0) {
			char what[200];
			snprintf(what, sizeof(what), "%.100s: %s", json_string_value(item), error);
			fail(p, where, what);
			goto failed;
		}
		append_once(out, seen, address);
	}
	json_decref(seen);
	*out_r = out;
	return 0;
failed:
	json_decref(seen);
	json_decref(out);
	return -1;
}

static int parse_users(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {
	    "address", "display_name", "password_hash", "quota_mb", "enabled", "addresses", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "users[%zu]", i);
		const char *address, *display_name, *hash, *error;
		json_t *alternatives;
		char key[DIRECTORY_MAX_ADDRESS];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "address", true, where, &address) < 0 ||
		    claim_address(p, address, where, "a user", key) < 0 ||
		    get_string(p, item, "display_name", false, where, &display_name) < 0 ||
		    get_string(p, item, "password_hash", false, where, &hash) < 0 ||
		    get_strings(p, item, "addresses", where, &alternatives) < 0)
			return -1;
		json_object_set_new(p->users, key, json_string(key));
		if (display_name == NULL)
			display_name = "";
		if (directory_display_name_check(display_name, &error) < 0)
			return fail(p, where, error);
		/* A crypt(3) string: printable ASCII without spaces or ':', in
		 * a format libxcrypt knows. */
		if (hash != NULL) {
			bool printable = *hash != '\0' && strlen(hash) < CRYPT_OUTPUT_SIZE;
			for (const char *c = hash; *c; c++)
				printable &= *c > ' ' && *c < 0x7f && *c != ':';
			if (!printable || crypt_checksalt(hash) == CRYPT_SALT_INVALID)
				return fail(p, where, "\"password_hash\" is not a crypt(3) hash");
		}
		json_t *u = json_object(), *value;
		json_object_set_new(u, "address", json_string(key));
		json_object_set_new(u, "display_name", json_string(display_name));
		json_object_set_new(u, "password_hash", string_or_null(hash));
		json_array_append_new(out, u);
		if (get_quota(p, item, "quota_mb", true, where, &value) < 0)
			return -1;
		json_object_set_new(u, "quota_mb", value);
		if (get_bool(p, item, "enabled", true, where, &value) < 0)
			return -1;
		json_object_set_new(u, "enabled", value);
		if (alternatives == NULL)
			value = json_array();
		else if (parse_address_list(p, alternatives, where, "an alternative address", true,
					    &value) < 0)
			return -1;
		json_object_set_new(u, "addresses", value);
		size_t k;
		json_t *alternative;
		json_array_foreach(value, k, alternative)
		{
			json_object_set_new(p->users, json_string_value(alternative),
					    json_string(key));
		}
	}
	return 0;
}

/* A group reference of the document: a name, or an address (lower-cased). */
static int group_ref(struct parse *p, const char *input, const char *where,
		     char out[DIRECTORY_MAX_ADDRESS])
{
	const char *error;
	if (group_key(input, out, &error) < 0) {
		char what[200];
		snprintf(what, sizeof(what), "%.100s: %s", input, error);
		return fail(p, where, what);
	}
	return 0;
}

/* The name of the document's group that input (a name or an address)
 * refers to; what: "parent", "subgroup", for the message. */
static int resolve_group(struct parse *p, const char *input, const char *where, const char *what,
			 const char **name_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (group_ref(p, input, where, key) < 0)
		return -1;
	/* The name as stored as a key of p->groups: it lives as long as p. */
	json_t *by_address = json_object_get(p->group_addresses, key);
	if (json_object_get(p->groups, key) != NULL)
		*name_r = json_object_iter_key(json_object_iter_at(p->groups, key));
	else
		*name_r = by_address != NULL ? json_string_value(by_address) : NULL;
	if (*name_r == NULL) {
		char text[200];
		snprintf(text, sizeof(text), "%s %.100s is not a group of the document", what, key);
		return fail(p, where, text);
	}
	return 0;
}

static int parse_groups(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"name",    "address",   "parent", "master",
					   "members", "subgroups", NULL};
	size_t i;
	json_t *item;
	/* First pass: names and addresses, so members and parents may refer
	 * to any group of the document. */
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "groups[%zu]", i);
		const char *name, *address;
		char key[DIRECTORY_MAX_ADDRESS], address_key[DIRECTORY_MAX_ADDRESS];
		char claimed[DIRECTORY_MAX_ADDRESS];
		json_t *value;
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "name", true, where, &name) < 0 ||
		    get_string(p, item, "address", false, where, &address) < 0 ||
		    group_ref(p, name, where, key) < 0)
			return -1;
		if (json_object_get(p->groups, key) != NULL)
			return fail(p, where, "group listed twice");
		bool named_by_address = strchr(key, '@') != NULL;
		if (address != NULL) {
			const char *error;
			if (directory_address_normalize(address, address_key, &error) < 0)
				return fail(p, where, error);
			if (named_by_address && strcmp(address_key, key) != 0)
				return fail(p, where,
					    "a group named by an address has that address");
		} else if (named_by_address) {
			memcpy(address_key, key, strlen(key) + 1);
		}
		if ((address != NULL || named_by_address) &&
		    claim_address(p, address_key, where, "a group", claimed) < 0)
			return -1;
		json_object_set_new(p->groups, key, json_null());
		if (address != NULL || named_by_address)
			json_object_set_new(p->group_addresses, address_key, json_string(key));
		json_t *g = json_object();
		json_object_set_new(g, "name", json_string(key));
		json_object_set_new(g, "address",
				    address != NULL || named_by_address ? json_string(address_key)
									: json_null());
		json_object_set_new(g, "parent", json_null());
		json_array_append_new(out, g);
		if (get_bool(p, item, "master", false, where, &value) < 0)
			return -1;
		json_object_set_new(g, "master", value);
	}
	/* Second pass: parents, members and subgroups. */
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "groups[%zu]", i);
		json_t *g = json_array_get(out, i), *members, *subgroups, *list, *seen;
		const char *name = json_string_value(json_object_get(g, "name")), *parent, *ref;
		if (get_string(p, item, "parent", false, where, &parent) < 0 ||
		    get_strings(p, item, "members", where, &members) < 0 ||
		    get_strings(p, item, "subgroups", where, &subgroups) < 0)
			return -1;
		if (parent != NULL) {
			if (resolve_group(p, parent, where, "parent", &ref) < 0)
				return -1;
			json_object_set_new(g, "parent", json_string(ref));
			json_object_set_new(p->groups, name, json_string(ref));
		}
		/* Members by any of their addresses, stored by the primary one. */
		json_t *normalized = NULL;
		if (members != NULL &&
		    parse_address_list(p, members, where, NULL, false, &normalized) < 0)
			return -1;
		list = json_array();
		seen = json_object();
		json_object_set_new(g, "members", list);
		size_t k;
		json_t *member;
		json_array_foreach(normalized, k, member)
		{
			json_t *primary = json_object_get(p->users, json_string_value(member));
			if (primary == NULL) {
				char what[200];
				snprintf(what, sizeof(what),
					 "member %.100s is not a user of the document",
					 json_string_value(member));
				json_decref(normalized);
				json_decref(seen);
				return fail(p, where, what);
			}
			append_once(list, seen, json_string_value(primary));
		}
		json_decref(normalized);
		json_decref(seen);
		list = json_array();
		seen = json_object();
		json_object_set_new(g, "subgroups", list);
		json_t *sub;
		json_array_foreach(subgroups, k, sub)
		{
			if (resolve_group(p, json_string_value(sub), where, "subgroup", &ref) < 0) {
				json_decref(seen);
				return -1;
			}
			if (strcmp(ref, name) == 0) {
				json_decref(seen);
				return fail(p, where, "a group cannot be a member of itself");
			}
			append_once(list, seen, ref);
		}
		json_decref(seen);
	}
	/* The hierarchy must be a forest: following parents from any group
	 * ends at the top within as many steps as there are groups. */
	size_t total = json_array_size(out);
	json_array_foreach(out, i, item)
	{
		json_t *parent = json_object_get(item, "parent");
		for (size_t steps = 0; json_is_string(parent); steps++) {
			if (steps >= total) {
				char where[40];
				snprintf(where, sizeof(where), "groups[%zu]", i);
				return fail(p, where, "the parents form a cycle");
			}
			parent = json_object_get(p->groups, json_string_value(parent));
		}
	}
	return 0;
}

static int parse_aliases(struct parse *p, json_t *input, json_t *out)
{
	static const char *const keys[] = {"address", "targets", NULL};
	size_t i;
	json_t *item;
	json_array_foreach(input, i, item)
	{
		char where[40];
		snprintf(where, sizeof(where), "aliases[%zu]", i);
		const char *address;
		json_t *targets, *normalized;
		char key[DIRECTORY_MAX_ADDRESS];
		if (check_keys(p, item, where, keys) < 0 ||
		    get_string(p, item, "address", true, where, &address) < 0 ||
		    claim_address(p, address, where, "an alias", key) < 0 ||
		    get_strings(p, item, "targets", where, &targets) < 0)
			return -1;
		if (targets == NULL || json_array_size(targets) == 0 ||
		    json_array_size(targets) > DIRECTORY_MAX_TARGETS)
			return fail(p, where, "an alias has 1 to 1000 targets");
		if (parse_address_list(p, targets, where, NULL, false, &normalized) < 0)
			return -1;
		size_t k;
		json_t *target;
		json_array_foreach(normalized, k, target)
		{
			if (strcmp(json_string_value(target), key) == 0) {
				json_decref(normalized);
				return fail(p, where, "an alias cannot be its own target");
			}
		}
		json_t *a = json_object();
		json_object_set_new(a, "address", json_string(key));
		json_object_set_new(a, "targets", normalized);
		json_array_append_new(out, a);
	}
	return 0;
}

/* input[key]: an array (absent: empty). */
static int get_section(struct parse *p, json_t *input, const char *key, json_t **section_r)
{
	json_t *section = json_object_get(input, key);
	if (section != NULL && !json_is_array(section))
		return fail(p, key, "not an array");
	*section_r = section != NULL ? section : json_array();
	if (section != NULL)
		json_incref(section);
	return 0;
}

int directory_import_parse(const char *text, size_t len, struct directory_import **import_r,
			   const char **error_r)
{
	*import_r = NULL;
	json_error_t jerror;
	json_t *input = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerror);
	if (input == NULL) {
		*error_r = fiber_error_set("not JSON: line %d column %d: %s", jerror.line,
					   jerror.column, jerror.text);
		return -1;
	}
	struct parse p = {
	    .taken = json_object(),
	    .domains = json_object(),
	    .users = json_object(),
	    .groups = json_object(),
	    .group_addresses = json_object(),
	    .error_r = error_r,
	};
	static const char *const keys[] = {"format", "version", "domains", "users",
					   "groups", "aliases", NULL};
	json_t *doc = json_object(), *sections[4] = {NULL, NULL, NULL, NULL};
	static const char *const names[] = {"domains", "users", "groups", "aliases"};
	int (*const parsers[])(struct parse *, json_t *, json_t *) = {parse_domains, parse_users,
								      parse_groups, parse_aliases};
	json_t *format = json_object_get(input, "format");
	json_t *version = json_object_get(input, "version");
	int ret = check_keys(&p, input, "document", keys);
	if (ret == 0 && format != NULL &&
	    (!json_is_string(format) || strcmp(json_string_value(format), "tegu-directory") != 0))
		ret = fail(&p, "format", "not \"tegu-directory\"");
	if (ret == 0 && (!json_is_integer(version) || json_integer_value(version) != 1))
		ret = fail(&p, "version", "missing or not 1 (the only version this Tegu reads)");
	for (unsigned s = 0; ret == 0 && s < 4; s++) {
		ret = get_section(&p, input, names[s], &sections[s]);
		if (ret == 0) {
			json_t *out = json_array();
			json_object_set_new(doc, names[s], out);
			ret = parsers[s](&p, sections[s], out);
		}
	}
	for (unsigned s = 0; s < 4; s++)
		json_decref(sections[s]);
	json_decref(input);
	json_decref(p.taken);
	json_decref(p.domains);
	json_decref(p.users);
	json_decref(p.groups);
	json_decref(p.group_addresses);
	if (ret < 0) {
		json_decref(doc);
		return -1;
	}
	struct directory_import *import = calloc(1, sizeof(*import));
	if (import == NULL)
		abort();
	import->doc = doc;
	import->counts.domains = (unsigned)json_array_size(json_object_get(doc, "domains"));
	import->counts.users = (unsigned)json_array_size(json_object_get(doc, "users"));
	import->counts.groups = (unsigned)json_array_size(json_object_get(doc, "groups"));
	import->counts.aliases = (unsigned)json_array_size(json_object_get(doc, "aliases"));
	*import_r = import;
	return 0;
}

void directory_import_counts(const struct directory_import *import,
			     struct directory_import_counts *counts_r)
{
	*counts_r = import->counts;
}

void directory_import_free(struct directory_import **import)
{
	if (*import == NULL)
		return;
	json_decref((*import)->doc);
	free(*import);
	*import = NULL;
}

/* The import, $1 being the canonical document. First everything that
 * goes or changes hands is removed (aliases and users not in the
 * document, every alternative address and membership, groups not in the
 * document, group addresses that change), so no address is held twice
 * on the way; then domains, users, alternative addresses, groups,
 * parents, memberships and aliases are upserted. Upserts by natural key
 * (address, name) keep existing rows and their ids, and skip rows that
 * would not change. */
static const struct tx_stmt import_stmts[] = {
    {"LOCK TABLE domains, users, user_addresses, groups, group_members, aliases,"
     " directory_addresses IN SHARE ROW EXCLUSIVE MODE",
     0},
    {"DELETE FROM aliases WHERE address NOT IN"
     " (SELECT e->>'address' FROM jsonb_array_elements($1::jsonb->'aliases') AS e)",
     1},
    {"DELETE FROM user_addresses", 0},
    {"DELETE FROM group_members", 0},
    {"DELETE FROM groups WHERE name NOT IN"
     " (SELECT e->>'name' FROM jsonb_array_elements($1::jsonb->'groups') AS e)",
     1},
    {"UPDATE groups g SET address = NULL"
     " FROM jsonb_to_recordset($1::jsonb->'groups') AS d (name text, address text)"
     " WHERE g.name = d.name AND g.address IS NOT NULL AND g.address IS DISTINCT FROM d.address",
     1},
    {"DELETE FROM users WHERE address NOT IN"
     " (SELECT e->>'address' FROM jsonb_array_elements($1::jsonb->'users') AS e)",
     1},
    {"DELETE FROM domains WHERE name NOT IN"
     " (SELECT e->>'name' FROM jsonb_array_elements($1::jsonb->'domains') AS e)",
     1},
    {"INSERT INTO domains (name, default_quota_mb, trash_quota_mb)"
     " SELECT name, default_quota_mb, trash_quota_mb FROM jsonb_to_recordset($1::jsonb->'domains')"
     "  AS d (name text, default_quota_mb bigint, trash_quota_mb bigint)"
     " ON CONFLICT (name) DO UPDATE SET default_quota_mb = EXCLUDED.default_quota_mb,"
     "  trash_quota_mb = EXCLUDED.trash_quota_mb"
     " WHERE (domains.default_quota_mb, domains.trash_quota_mb)"
     "  IS DISTINCT FROM (EXCLUDED.default_quota_mb, EXCLUDED.trash_quota_mb)",
     1},
    {"INSERT INTO users (local_part, domain, password_hash, display_name, quota_mb, enabled)"
     " SELECT split_part(address, '@', 1), split_part(address, '@', 2), password_hash,"
     "  display_name, quota_mb, enabled FROM jsonb_to_recordset($1::jsonb->'users')"
     "  AS d (address text, password_hash text, display_name text, quota_mb bigint,"
     "   enabled boolean)"
     " ON CONFLICT (address) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
     "  display_name = EXCLUDED.display_name, quota_mb = EXCLUDED.quota_mb,"
     "  enabled = EXCLUDED.enabled"
     " WHERE (users.password_hash, users.display_name, users.quota_mb, users.enabled)"
     "  IS DISTINCT FROM (EXCLUDED.password_hash, EXCLUDED.display_name, EXCLUDED.quota_mb,"
     "   EXCLUDED.enabled)",
     1},
    {"INSERT INTO user_addresses (address, user_id)"
     " SELECT a.address, u.id FROM jsonb_to_recordset($1::jsonb->'users')"
     "  AS d (address text, addresses jsonb)"
     " JOIN users u ON u.address = d.address"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.addresses) AS a (address)",
     1},
    {"INSERT INTO groups (name, address, master)"
     " SELECT name, address, master FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, address text, master boolean)"
     " ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, master = EXCLUDED.master"
     " WHERE (groups.address, groups.master) IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.master)",
     1},
    {"UPDATE groups g SET parent_id = p.id"
     " FROM jsonb_to_recordset($1::jsonb->'groups') AS d (name text, parent text)"
     " LEFT JOIN groups p ON p.name = d.parent"
     " WHERE g.name = d.name AND g.parent_id IS DISTINCT FROM p.id",
     1},
    {"INSERT INTO group_members (group_id, user_id)"
     " SELECT g.id, u.id FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, members jsonb)"
     " JOIN groups g ON g.name = d.name"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.members) AS m (address)"
     " JOIN users u ON u.address = m.address",
     1},
    {"INSERT INTO group_members (group_id, member_group_id)"
     " SELECT g.id, s.id FROM jsonb_to_recordset($1::jsonb->'groups')"
     "  AS d (name text, subgroups jsonb)"
     " JOIN groups g ON g.name = d.name"
     " CROSS JOIN LATERAL jsonb_array_elements_text(d.subgroups) AS m (name)"
     " JOIN groups s ON s.name = m.name",
     1},
    {"INSERT INTO aliases (address, targets)"
     " SELECT d.address, ARRAY(SELECT t FROM jsonb_array_elements_text(d.targets)"
     "  WITH ORDINALITY AS e (t, n) ORDER BY n)"
     " FROM jsonb_to_recordset($1::jsonb->'aliases') AS d (address text, targets jsonb)"
     " ON CONFLICT (address) DO UPDATE SET targets = EXCLUDED.targets"
     " WHERE aliases.targets IS DISTINCT FROM EXCLUDED.targets",
     1},
};

int directory_admin_import(const struct directory_import *import, int64_t deadline,
			   const char **error_r)
{
	char *text = json_dumps(import->doc, JSON_COMPACT);
	if (text == NULL)
		abort();
	const char *params[] = {text};
	char sqlstate[6];
	int ret = transaction(import_stmts, sizeof(import_stmts) / sizeof(import_stmts[0]), params,
			      sqlstate, deadline, error_r);
	/* The document holds password hashes. */
	explicit_bzero(text, strlen(text));
	free(text);
	return ret;
}
