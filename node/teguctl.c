/* teguctl, the admin CLI: finds the database through tegu.conf like the
 * node does, and runs one command (node/ctl/) against it. The command runs
 * in a fiber on a one-thread loop, so it uses the node's own database
 * layer. Wiring only. */
#include "ctl/ctl.h"
#include "lib/config.h"
#include "lib/db.h"
#include "lib/fiber.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_command *const tables[] = {
    ctl_migrate_commands,
    ctl_settings_commands,
    ctl_nodes_commands,
    ctl_directory_commands,
};
#define TABLE_COUNT (sizeof(tables) / sizeof(tables[0]))

struct ctl_run {
	const struct ctl_command *command;
	int argc;
	char **argv;
	int result;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: teguctl [-c tegu.conf] COMMAND [ARGS]\ncommands:\n");
	for (size_t t = 0; t < TABLE_COUNT; t++)
		for (const struct ctl_command *cmd = tables[t]; cmd->words; cmd++)
			fprintf(out, "  %s %s\n      %s\n", cmd->words, cmd->synopsis, cmd->help);
}

/* How many of argv's leading words spell out words, or 0. */
static int match_words(const char *words, int argc, char **argv)
{
	int used = 0;
	const char *p = words;
	while (*p) {
		size_t len = strcspn(p, " ");
		if (used >= argc || strlen(argv[used]) != len || strncmp(argv[used], p, len) != 0)
			return 0;
		used++;
		p += len;
		p += *p == ' ';
	}
	return used;
}

/* The command whose words match the most leading arguments. */
static const struct ctl_command *find_command(int argc, char **argv, int *used_r)
{
	const struct ctl_command *best = NULL;
	*used_r = 0;
	for (size_t t = 0; t < TABLE_COUNT; t++) {
		for (const struct ctl_command *cmd = tables[t]; cmd->words; cmd++) {
			int used = match_words(cmd->words, argc, argv);
			if (used > *used_r) {
				best = cmd;
				*used_r = used;
			}
		}
	}
	return best;
}

static void run_fiber(void *arg)
{
	struct ctl_run *run = arg;
	run->result = run->command->run(run->argc, run->argv);
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int opt;
	static const struct option long_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* '+': options stop at the command, whose own arguments may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+c:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	int used;
	const struct ctl_command *command = find_command(argc - optind, argv + optind, &used);
	if (command == NULL) {
		fprintf(stderr, "teguctl: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	struct ctl_run run = {
	    .command = command,
	    .argc = argc - optind - used,
	    .argv = argv + optind + used,
	    .result = CTL_FAILED,
	};
	if (run.argc < command->min_args ||
	    (command->max_args >= 0 && run.argc > command->max_args)) {
		fprintf(stderr, "usage: teguctl %s %s\n", command->words, command->synopsis);
		return CTL_USAGE;
	}

	struct config *config;
	const char *error;
	if (config_load(config_path, false, &config, &error) < 0) {
		fprintf(stderr, "teguctl: %s\n", error);
		return CTL_FAILED;
	}
	log_init(false);
	log_set_min_level(LOG_LEVEL_WARN);
	struct loop *loop = loop_create(0, true);
	struct db_pool *pool = db_pool_create(config->dsn, 1, "teguctl");
	db_pool_set_current(pool);
	fiber_spawn("teguctl", run_fiber, &run);
	loop_run(loop);
	db_pool_destroy(&pool);
	loop_destroy(&loop);
	config_destroy(&config);
	if (run.result == CTL_USAGE)
		fprintf(stderr, "usage: teguctl %s %s\n", command->words, command->synopsis);
	return run.result;
}
