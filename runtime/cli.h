/* The `dyno` CLI: one file per subcommand group (cli-*.c), dispatched from dyno.c.
 * Each entry point gets argv with argv[0] = the subcommand name and returns the exit status. */
#ifndef DYNOHOST_RUNTIME_CLI_H
#define DYNOHOST_RUNTIME_CLI_H

struct cli_verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* one line for `dyno help` */
};

int cli_exec(int argc, char **argv);
int cli_slug(int argc, char **argv);
int cli_stack(int argc, char **argv);
int cli_release(int argc, char **argv);

#endif
