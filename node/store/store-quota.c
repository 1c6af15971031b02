/* Quota checks at RCPT time (manual 6.2.5: "Default user quota in MB",
 * per-user quota, "Additional Trash quota in MB"). The usage is summed
 * from the user's messages: the Trash folder counts against the user quota
 * only beyond the domain's additional Trash allowance. Also the plain
 * usage IMAP QUOTA reports (store-mailbox.h). */
#include "store/store.h"
#include "store/store-mailbox.h"

#include "lib/db.h"

#include <stdio.h>
#include <stdlib.h>

/* One row for a user's own address (primary or alternative): quota and
 * usage in bytes; no row for groups, aliases and unknown addresses. */
static const char quota_sql[] =
    "SELECT coalesce(u.quota_mb, d.default_quota_mb) * 1048576,"
    "  coalesce(sum(m.size) FILTER (WHERE b.special_use IS DISTINCT FROM '\\Trash'), 0)"
    "  + greatest(coalesce(sum(m.size) FILTER (WHERE b.special_use = '\\Trash'), 0)"
    "   - d.trash_quota_mb * 1048576, 0)"
    " FROM directory_addresses a JOIN users u ON u.id = a.ref_id"
    " JOIN domains d ON d.name = u.domain"
    " LEFT JOIN mailboxes b ON b.user_id = u.id LEFT JOIN messages m ON m.mailbox_id = b.id"
    " WHERE a.address = $1 AND a.kind IN ('user', 'alternative')"
    " GROUP BY u.id, u.quota_mb, d.default_quota_mb, d.trash_quota_mb";

int store_pg_check_quota(const char *address, uint64_t size, int64_t deadline,
			 enum store_quota *result_r, const char **error_r)
{
	const char *params[] = {address};
	PGresult *res = db_query_prepared(quota_sql, 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*result_r = STORE_QUOTA_OK;
	if (PQntuples(res) == 1) {
		long long quota = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		long long used = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		if (quota > 0 && size > (unsigned long long)quota)
			*result_r = STORE_QUOTA_MESSAGE_TOO_BIG;
		else if (quota > 0 && (used >= quota || size > (unsigned long long)(quota - used)))
			*result_r = STORE_QUOTA_FULL;
	}
	PQclear(res);
	return 0;
}

int store_quota_usage(int64_t user_id, uint64_t *bytes_r, int64_t deadline, const char **error_r)
{
	char user[24];
	snprintf(user, sizeof(user), "%lld", (long long)user_id);
	const char *params[] = {user};
	PGresult *res = db_query("SELECT coalesce(sum(m.size), 0)::text FROM mailboxes b"
				 " JOIN messages m ON m.mailbox_id = b.id WHERE b.user_id = $1",
				 1, params, deadline, error_r);
	if (res == NULL)
		return -1;
	*bytes_r = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}
