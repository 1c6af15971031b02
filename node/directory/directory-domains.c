/* Lookups about the local domains as a whole. */
#include "directory/directory.h"

#include "lib/db.h"

#include <stdio.h>

int directory_primary_domain(char *domain_r, unsigned size, int64_t deadline, const char **error_r)
{
	PGresult *res =
	    db_query("SELECT name FROM domains ORDER BY name LIMIT 1", 0, NULL, deadline, error_r);
	if (res == NULL)
		return -1;
	snprintf(domain_r, size, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return 0;
}
