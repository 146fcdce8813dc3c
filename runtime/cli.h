/* The `dyno` CLI: one file per subcommand group (cli-*.c), dispatched from a table.
 * Each entry point gets argv with argv[0] = the subcommand name and returns the exit status.
 *
 * Verbs whose code pulls in heavy libraries (libarchive, OpenSSL, SQLite for the images
 * store) live in a helper program in pkglibexec that `dyno` execs, so that `dyno exec` — on
 * the dyno start path — loads only what it uses. */
#ifndef DYNOHOST_RUNTIME_CLI_H
#define DYNOHOST_RUNTIME_CLI_H

#include <stddef.h>

struct cli_verb {
	const char *name;
	int (*run)(int argc, char **argv); /* NULL: the verb is served by `helper` */
	const char *helper;                /* program in pkglibexec that serves the verb */
	const char *usage;                 /* one line for `dyno help` */
};

/* Run the verb named by argv[1] from verbs[]: call it, or exec its helper with the same
 * arguments. `prog` names the program in messages. Returns the exit status. */
int cli_dispatch(const char *prog, const struct cli_verb *verbs, size_t n_verbs, int argc,
		 char **argv);
void cli_print_verbs(const struct cli_verb *verbs, size_t n_verbs);

int cli_exec(int argc, char **argv);
int cli_slug(int argc, char **argv);
int cli_stack(int argc, char **argv);
int cli_release(int argc, char **argv);

#endif
