/* `dyno`: the dynohost command line. This file only dispatches to the subcommand groups;
 * the images verbs are served by the dyno-images helper (see runtime/cli.h). */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/cli.h"

static int cli_help(int argc, char **argv);

static const struct cli_verb verbs[] = {
	{ "help", cli_help, NULL, "help                     this text" },
	{ "exec", cli_exec, NULL,
	  "exec --stack DIR|host [--slug DIR] [OPTIONS] -- CMD...  run CMD in a dyno" },
	{ "slug", NULL, "dyno-images", "slug import|ls|path|gc    the slug store (dyno slug help)" },
	{ "stack", NULL, "dyno-images",
	  "stack import|ls|path      base root filesystems (dyno stack help)" },
	{ "release", NULL, "dyno-images",
	  "release create|ls|show|rollback APP   an app's releases" },
};

static int cli_help(int argc, char **argv)
{
	printf("usage: dyno COMMAND [ARGS...]\n\ncommands:\n");
	cli_print_verbs(verbs, ELEMENTSOF(verbs));
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
	return cli_dispatch("dyno", verbs, ELEMENTSOF(verbs), argc, argv);
}
