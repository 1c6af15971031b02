/* teguctl migrate [--status]: bring the schema up to date or list it. */
#include "ctl/ctl.h"

#include "lib/migrate.h"

#include <stdio.h>
#include <string.h>

static void print_applied(const char *name, void *arg)
{
	(void)arg;
	printf("applied %s\n", name);
}

static void print_status(const char *name, bool applied, void *arg)
{
	(void)arg;
	printf("%s %s\n", name, applied ? "applied" : "pending");
}

static int cmd_migrate(int argc, char **argv)
{
	const char *error;
	int64_t deadline = ctl_deadline();
	if (argc == 1 && strcmp(argv[0], "--status") == 0)
		return migrate_status(deadline, print_status, NULL, &error) < 0
			   ? ctl_fail("migrate", error)
			   : CTL_OK;
	if (argc != 0)
		return CTL_USAGE;
	int applied = migrate_apply(deadline, print_applied, NULL, &error);
	if (applied < 0)
		return ctl_fail("migrate", error);
	if (applied == 0)
		printf("up to date\n");
	return CTL_OK;
}

const struct ctl_command ctl_migrate_commands[] = {
    {"migrate", 0, 1, "[--status]", "apply pending migrations, or list them with --status",
     cmd_migrate},
    {NULL, 0, 0, NULL, NULL, NULL},
};
