/* Helpers shared by the images CLI groups (cli-slug.c, cli-stack.c, cli-release.c). */
#ifndef DYNOHOST_RUNTIME_CLI_IMAGES_H
#define DYNOHOST_RUNTIME_CLI_IMAGES_H

#include <stdint.h>

#include "images/images.h"

enum {
	CLI_OPT_MAX_COMPRESSED = 0x100,
	CLI_OPT_MAX_UNCOMPRESSED,
	CLI_OPT_MAX_ENTRIES,
	CLI_OPT_MAX_PATH,
	CLI_OPT_MAX_DEPTH,
	CLI_OPT_MAX_RATIO,
};

#define CLI_IMAGES_LIMIT_OPTIONS                                                                   \
	{"max-compressed", required_argument, NULL, CLI_OPT_MAX_COMPRESSED},                       \
	        {"max-uncompressed", required_argument, NULL, CLI_OPT_MAX_UNCOMPRESSED},           \
	        {"max-entries", required_argument, NULL, CLI_OPT_MAX_ENTRIES},                     \
	        {"max-path", required_argument, NULL, CLI_OPT_MAX_PATH},                           \
	        {"max-depth", required_argument, NULL, CLI_OPT_MAX_DEPTH},                         \
	{                                                                                          \
		"max-ratio", required_argument, NULL, CLI_OPT_MAX_RATIO                            \
	}

/* The entry points (also declared in runtime/cli.h for the dispatch table). */
int cli_slug(int argc, char **argv);
int cli_stack(int argc, char **argv);
int cli_release(int argc, char **argv);

/* 1 when c was a limit option (applied to o), 0 when not, <0 on a bad value (logged). */
int cli_images_limit_opt(int c, const char *arg, struct image_import_opts *o);
/* Open the images root, logging failures. */
int cli_images_open_store(const char *root, bool create, struct image_store **ret);

#endif
