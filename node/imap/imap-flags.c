/* See imap-flags.h. */
#include "imap/imap-flags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const system_flags[] = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
					   "\\Draft"};

const char *imap_flag_canonical(const char *flag)
{
	if (flag[0] == '\\') {
		for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++)
			if (strcasecmp(flag, system_flags[i]) == 0)
				return system_flags[i];
		return NULL; /* \Recent and unknown system flags */
	}
	/* A keyword is an atom (the parser saw to that) without wildcards
	 * or ']' (flag-keyword is atom, ATOM-CHAR excludes them). */
	if (flag[0] == '\0' || strpbrk(flag, "*%]\"\\") != NULL)
		return NULL;
	return flag;
}

static int flag_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

unsigned imap_flags_sort_unique(const char **flags, unsigned n)
{
	if (n == 0)
		return 0;
	qsort(flags, n, sizeof(*flags), flag_cmp);
	unsigned unique = 0;
	for (unsigned i = 0; i < n; i++)
		if (unique == 0 || strcmp(flags[unique - 1], flags[i]) != 0)
			flags[unique++] = flags[i];
	return unique;
}
