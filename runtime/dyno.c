/* `dyno`: the dynohost command line. This file only dispatches to the subcommand groups. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/cli.h"

static int cli_help(int argc, char **argv);

static const struct cli_verb verbs[] = {
	{ "help", cli_help, "help                     this text" },
	{ "slug", cli_slug, "slug import|ls|path|gc    the slug store (dyno slug help)" },
	{ "stack", cli_stack, "stack import|ls|path      base root filesystems (dyno stack help)" },
	{ "release", cli_release, "release create|ls|show|rollback APP   an app's releases" },
	{ "exec", cli_exec, "exec --stack DIR|host [--slug DIR] [OPTIONS] -- CMD...  run CMD in a dyno" },
};

static int cli_help(int argc, char **argv)
{
	printf("usage: dyno COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %s\n", verbs[i].usage);
	return 0;
}

int main(int argc, char **argv)
{
	log_set_ident("dyno");
	if (argc < 2) {
		cli_help(0, NULL);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("dyno %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help(0, NULL);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	log_error("unknown command \"%s\" (see `dyno help`)", argv[1]);
	return 2;
}
