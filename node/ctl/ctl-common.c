/* Helpers every teguctl command uses. */
#include "ctl/ctl.h"

#include "lib/loop.h"

#include <stdio.h>

#define CTL_TIMEOUT_MS 30000

int ctl_fail(const char *what, const char *error)
{
	fprintf(stderr, "teguctl: %s: %s\n", what, error);
	return CTL_FAILED;
}

int64_t ctl_deadline(void)
{
	return deadline_after_ms(CTL_TIMEOUT_MS);
}
