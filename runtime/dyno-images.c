/* dyno-images: the `dyno slug|stack|release` verbs, in their own program so that `dyno` itself
 * does not load libarchive, OpenSSL and SQLite. Run through `dyno`, which execs it. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/cli.h"

static const struct cli_verb verbs[] = {
	{ "slug", cli_slug, NULL, "slug import|ls|path|gc" },
	{ "stack", cli_stack, NULL, "stack import|ls|path" },
	{ "release", cli_release, NULL, "release create|ls|show|rollback APP" },
};

int main(int argc, char **argv)
{
	/* Messages read as the user's command: `dyno slug ...`. */
	log_set_ident("dyno");
	if (argc < 2) {
		fprintf(stderr, "usage: dyno slug|stack|release ... (run through `dyno`)\n");
		cli_print_verbs(verbs, ELEMENTSOF(verbs));
		return 2;
	}
	return cli_dispatch("dyno", verbs, ELEMENTSOF(verbs), argc, argv);
}
