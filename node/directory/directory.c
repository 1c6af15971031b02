/* The local directory's side the protocols use (directory.h): recipient
 * checks, logins, address ownership and expansion. Each lookup is one
 * statement against the tables of schema/directory.sql; the password
 * check runs on the offload pool, never on the loop. */
#include "directory/directory.h"

#include "lib/arena.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/offload.h"

#include <crypt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Aliases and groups are expanded at most this many levels deep. */
#define DIRECTORY_EXPAND_DEPTH "10"

/* A yescrypt setting with the default cost, for logins that have no hash
 * to check against (an unknown login, a user without a password): the
 * same work is done as for a real check, so the answer's timing does not
 * tell whether the login exists. It is never compared with anything. */
static const char dummy_setting[] = "$y$j9T$p9lVHiDj09Nv4zW6BZNOE/";

/* The lookup key of an address: ASCII lower-cased into out. Returns -1
 * when it cannot be a directory address (empty, too long, no '@'). */
static int address_key(const char *address, char out[DIRECTORY_MAX_ADDRESS])
{
	size_t len = strlen(address);
	if (len == 0 || len >= DIRECTORY_MAX_ADDRESS)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		char c = address[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	const char *at = strrchr(out, '@');
	return at == NULL || at == out || at[1] == '\0' ? -1 : 0;
}

/* RFC 5321 4.5.1: "Postmaster" without a domain must be accepted. It
 * stands for the postmaster of every local domain (the postmaster@
 * addresses that exist). */
static bool is_bare_postmaster(const char *address)
{
	return strcasecmp(address, "postmaster") == 0;
}

int directory_classify_recipient(const char *address, int64_t deadline,
				 enum directory_recipient *kind_r, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (is_bare_postmaster(address)) {
		*kind_r = DIRECTORY_RECIPIENT_LOCAL;
		return 0;
	}
	/* Not local@domain (an overlong path, a bare local part): nobody
	 * here. An error would make the client retry for days. */
	if (address_key(address, key) < 0) {
		*kind_r = DIRECTORY_RECIPIENT_UNKNOWN;
		return 0;
	}
	/* A disabled user's addresses are unknown: expansion skips the user,
	 * so accepting the mail would only lose it. */
	const char *params[] = {key, strrchr(key, '@') + 1};
	PGresult *res =
	    db_query_prepared("SELECT CASE"
			      " WHEN EXISTS (SELECT 1 FROM directory_addresses d"
			      "  LEFT JOIN users u ON d.kind IN ('user', 'alternative')"
			      "   AND u.id = d.ref_id"
			      "  WHERE d.address = $1 AND (u.id IS NULL OR u.enabled)) THEN 'local'"
			      " WHEN EXISTS (SELECT 1 FROM domains WHERE name = $2) THEN 'unknown'"
			      " ELSE 'remote' END",
			      2, params, deadline, error_r);
	if (res == NULL)
		return -1;
	const char *kind = PQgetvalue(res, 0, 0);
	*kind_r = strcmp(kind, "local") == 0	 ? DIRECTORY_RECIPIENT_LOCAL
		  : strcmp(kind, "unknown") == 0 ? DIRECTORY_RECIPIENT_UNKNOWN
						 : DIRECTORY_RECIPIENT_REMOTE;
	PQclear(res);
	return 0;
}

struct auth_job {
	const char *password;
	const char *hash; /* NULL: check against dummy_setting, never a match */
	bool match;
};

/* Compares without an early exit, so the time taken does not tell how
 * much of the hash matched. */
static bool equal_constant_time(const char *a, const char *b)
{
	size_t len_a = strlen(a), len_b = strlen(b);
	size_t len = len_a > len_b ? len_a : len_b;
	unsigned char diff = len_a != len_b;
	for (size_t i = 0; i < len; i++) {
		unsigned char x = i < len_a ? (unsigned char)a[i] : 0;
		unsigned char y = i < len_b ? (unsigned char)b[i] : 0;
		diff |= x ^ y;
	}
	return diff == 0;
}

/* A user by one of their addresses; read_user() takes the row. */
static const char user_by_login_sql[] =
    "SELECT u.id, u.address, COALESCE(u.quota_mb, m.default_quota_mb), u.enabled, u.password_hash"
    " FROM directory_addresses d"
    " JOIN users u ON u.id = d.ref_id"
    " JOIN domains m ON m.name = u.domain"
    " WHERE d.address = $1 AND d.kind IN ('user', 'alternative')";

static bool read_user(PGresult *res, struct directory_user *user_r)
{
	if ((size_t)PQgetlength(res, 0, 1) >= sizeof(user_r->address))
		return false;
	memset(user_r, 0, sizeof(*user_r));
	user_r->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	memcpy(user_r->address, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1) + 1);
	user_r->quota_mb = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	user_r->enabled = true;
	return true;
}

/* On an offload thread. crypt_data holds the password's derived state:
 * it is heap-allocated (32 KiB) and wiped before it is freed. */
static void auth_job_run(void *arg)
{
	struct auth_job *job = arg;
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (data == NULL)
		abort();
	const char *out =
	    crypt_rn(job->password, job->hash ? job->hash : dummy_setting, data, sizeof(*data));
	job->match = job->hash != NULL && out != NULL && out[0] != '*' &&
		     equal_constant_time(out, job->hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
}

int directory_authenticate(const char *login, const char *password, int64_t deadline,
			   struct directory_user *user_r, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	PGresult *res = NULL;
	if (address_key(login, key) == 0) {
		const char *params[] = {key};
		res = db_query_prepared(user_by_login_sql, 1, params, deadline, error_r);
		if (res == NULL)
			return -1;
	}
	bool found = res != NULL && PQntuples(res) == 1;
	struct auth_job job = {
	    .password = password,
	    .hash = found && !PQgetisnull(res, 0, 4) ? PQgetvalue(res, 0, 4) : NULL,
	};
	/* Unknown, disabled or password-less logins cost a hash too. */
	offload_run(auth_job_run, &job);
	bool enabled = found && strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	int ret = 1;
	if (job.match && enabled && read_user(res, user_r))
		ret = 0;
	PQclear(res);
	return ret;
}

int directory_user_has_address(int64_t user_id, const char *address, int64_t deadline, bool *has_r,
			       const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	*has_r = false;
	if (address_key(address, key) < 0)
		return 0;
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, user_id);
	const char *params[] = {id, key};
	PGresult *res = db_query("SELECT 1 FROM directory_addresses"
				 " WHERE address = $2 AND kind IN ('user', 'alternative')"
				 " AND ref_id = $1::bigint",
				 2, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*has_r = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

/* The walk from one address (or from the postmaster@ address of every
 * local domain, for a bare "postmaster") through the directory. A row is
 * a node of the graph: an address still to resolve, a user, a group, an
 * alias, or an external address. depth counts the aliases and groups expanded to reach
 * the row; one at depth 10 is not expanded further. UNION (not UNION ALL)
 * drops a row already seen at the same depth, so a cycle only repeats
 * until the depth limit and the walk stays bounded by nodes x 11 rows.
 * An address is external when nobody holds it and its domain is not
 * local; an unknown address of a local domain leads nowhere. */
static const char expand_sql[] =
    "WITH RECURSIVE walk (kind, id, address, depth) AS ("
    "  SELECT 'address'::text, NULL::bigint, s.address, 0 FROM ("
    "   SELECT $1::text AS address WHERE $1::text <> 'postmaster'"
    "   UNION ALL SELECT 'postmaster@' || name FROM domains WHERE $1::text = 'postmaster'"
    "  ) AS s"
    " UNION"
    "  SELECT n.kind, n.id, n.address, w.depth + n.step"
    "  FROM walk w CROSS JOIN LATERAL ("
    "   SELECT CASE d.kind WHEN 'alternative' THEN 'user' ELSE d.kind END,"
    "    d.ref_id, NULL::text, 0"
    "   FROM directory_addresses d WHERE w.kind = 'address' AND d.address = w.address"
    "  UNION ALL"
    "   SELECT 'external', NULL, w.address, 0"
    "   WHERE w.kind = 'address'"
    "    AND NOT EXISTS (SELECT 1 FROM directory_addresses d WHERE d.address = w.address)"
    "    AND NOT EXISTS (SELECT 1 FROM domains m"
    "     WHERE m.name = split_part(w.address, '@', 2))"
    "  UNION ALL"
    "   SELECT 'address', NULL, t.target, 1"
    "   FROM aliases a CROSS JOIN LATERAL unnest(a.targets) AS t (target)"
    "   WHERE w.kind = 'alias' AND a.id = w.id AND w.depth < " DIRECTORY_EXPAND_DEPTH "  UNION ALL"
    "   SELECT CASE WHEN g.user_id IS NULL THEN 'group' ELSE 'user' END,"
    "    COALESCE(g.user_id, g.member_group_id), NULL, 1"
    "   FROM group_members g"
    "   WHERE w.kind = 'group' AND g.group_id = w.id AND w.depth < " DIRECTORY_EXPAND_DEPTH
    "  UNION ALL"
    "   SELECT 'group', c.id, NULL, 1 FROM groups c"
    "   WHERE w.kind = 'group' AND c.parent_id = w.id AND w.depth < " DIRECTORY_EXPAND_DEPTH
    "  ) AS n (kind, id, address, step)"
    ")"
    " SELECT kind, id, address FROM ("
    "  SELECT 'user' AS kind, u.id, NULL::text AS address FROM users u"
    "   WHERE u.enabled AND u.id IN (SELECT id FROM walk WHERE kind = 'user')"
    "  UNION"
    "  SELECT 'external', NULL, address FROM walk WHERE kind = 'external'"
    " ) AS e ORDER BY kind, id, address COLLATE \"C\"";

/* The user an address belongs to as primary or alternative address; no
 * row for groups, aliases and unknown addresses. */
static const char direct_user_sql[] =
    "SELECT u.id, u.enabled FROM directory_addresses d JOIN users u ON u.id = d.ref_id"
    " WHERE d.address = $1 AND d.kind IN ('user', 'alternative')";

int directory_expand(const char *address, struct arena *arena, int64_t deadline,
		     struct directory_expansion *expansion_r, const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	memset(expansion_r, 0, sizeof(*expansion_r));
	if (is_bare_postmaster(address))
		memcpy(key, "postmaster", sizeof("postmaster"));
	else if (address_key(address, key) < 0)
		return 0; /* delivers to nobody, like an unknown address */
	const char *params[] = {key};
	/* Most mail is for a user's own address: one lookup by key, without
	 * the recursive walk (whose planning alone cost more than a
	 * delivery's other statements together). */
	PGresult *res = db_query_prepared(direct_user_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		expansion_r->user_ids = arena_alloc(arena, sizeof(int64_t));
		expansion_r->external = arena_alloc(arena, sizeof(const char *));
		if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
			expansion_r->user_ids[expansion_r->user_count++] =
			    strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = db_query_prepared(expand_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	unsigned rows = (unsigned)PQntuples(res);
	expansion_r->user_ids = arena_alloc(arena, (rows + 1) * sizeof(int64_t));
	expansion_r->external = arena_alloc(arena, (rows + 1) * sizeof(const char *));
	for (unsigned row = 0; row < rows; row++) {
		if (strcmp(PQgetvalue(res, (int)row, 0), "user") == 0)
			expansion_r->user_ids[expansion_r->user_count++] =
			    strtoll(PQgetvalue(res, (int)row, 1), NULL, 10);
		else
			expansion_r->external[expansion_r->external_count++] =
			    arena_strdup(arena, PQgetvalue(res, (int)row, 2));
	}
	PQclear(res);
	return 0;
}

int directory_find_user(const char *login, int64_t deadline, struct directory_user *user_r,
			const char **error_r)
{
	char key[DIRECTORY_MAX_ADDRESS];
	if (address_key(login, key) < 0)
		return 1;
	const char *params[] = {key};
	PGresult *res = db_query_prepared(user_by_login_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	int ret = 1;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 3), "t") == 0 &&
	    read_user(res, user_r))
		ret = 0;
	PQclear(res);
	return ret;
}

/* The groups a user belongs to: those naming the user, the groups those
 * are members of, and their parents (a child's members belong to the
 * parent too), followed to the top; UNION ends cycles. */
static const char master_sql[] =
    "WITH RECURSIVE g(id) AS ("
    " SELECT group_id FROM group_members WHERE user_id = $1"
    " UNION"
    " SELECT up.id FROM g JOIN ("
    "  SELECT group_id AS id, member_group_id AS child FROM group_members"
    "  WHERE member_group_id IS NOT NULL"
    "  UNION ALL SELECT parent_id, id FROM groups WHERE parent_id IS NOT NULL) up"
    " ON up.child = g.id)"
    " SELECT EXISTS (SELECT 1 FROM groups WHERE master AND id IN (SELECT id FROM g))";

int directory_user_is_master(int64_t user_id, int64_t deadline, bool *is_master_r,
			     const char **error_r)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, user_id);
	const char *params[] = {id};
	PGresult *res = db_query(master_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*is_master_r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

void directory_auth_failed(const char *service, const char *session_id, const char *client_ip,
			   const char *login)
{
	/* The login goes into a quoted log value: keep it printable. */
	char shown[DIRECTORY_MAX_ADDRESS];
	size_t n = 0;
	for (const char *p = login != NULL ? login : ""; *p != '\0' && n + 1 < sizeof(shown); p++)
		shown[n++] =
		    (unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f ? '?' : *p;
	shown[n] = '\0';
	log_info("event=auth_failed service=%s session=%s ip=%s login=\"%s\"", service, session_id,
		 client_ip, shown);
}
