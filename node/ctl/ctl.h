/* teguctl's commands, one file per area (ctl-settings.c, ctl-nodes.c, ...),
 * each exporting a table that teguctl.c dispatches on. A command runs in a
 * fiber with the database pool current and returns an exit code.
 * Commands are noun-verb phrases ("user add", "group member add") so
 * scripts and Ansible can rely on them. */
#ifndef TEGU_CTL_H
#define TEGU_CTL_H

#include <stdint.h>

enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2 };

struct ctl_command {
	const char *words;	/* the command's words, space-separated: "group member add" */
	int min_args, max_args; /* arguments after the words; max -1: no limit */
	const char *synopsis;	/* the arguments, for usage lines: "ADDRESS [--password-stdin]" */
	const char *help;	/* one line */
	int (*run)(int argc, char **argv);
};

/* Tables end with a row whose words is NULL. */
extern const struct ctl_command ctl_migrate_commands[];
extern const struct ctl_command ctl_settings_commands[];
extern const struct ctl_command ctl_nodes_commands[];
extern const struct ctl_command ctl_directory_commands[];

/* Prints "teguctl: what: error" and returns CTL_FAILED. */
int ctl_fail(const char *what, const char *error);
/* The deadline for one database call of a command. */
int64_t ctl_deadline(void);

#endif
