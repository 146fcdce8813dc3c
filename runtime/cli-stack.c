/* `dyno stack`: import root filesystems (tarball or directory), list them, locate them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/images.h"
#include "runtime/cli.h"
#include "runtime/cli-images.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, image_store_free)

static void stack_usage(FILE *f)
{
	fprintf(f,
	        "usage: dyno stack import NAME FILE|DIR [--no-sync] [--max-... N]\n"
	        "       dyno stack ls\n"
	        "       dyno stack path NAME\n"
	        "common: --root DIR   the images root (default %s)\n"
	        "FILE is a root filesystem tarball (gzip, xz, zstd, bzip2 or plain); DIR is "
	        "copied.\n"
	        "\"host\" is the built-in stack (the host's own userland, read-only).\n",
	        DYNOHOST_STATEDIR);
}

static int stack_import(const char *root, const char *name, const char *src,
                        struct image_import_opts *o)
{
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, true, &s) < 0)
		return 1;
	struct stat st;
	if (stat(src, &st) == -1) {
		log_error_errno(errno, "\"%s\": %m", src);
		return 1;
	}
	struct image_stack_info info;
	struct image_error err = {0};
	int r;
	if (S_ISDIR(st.st_mode))
		r = image_stack_import_dir(s, name, src, o, &info, &err);
	else {
		_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd == -1) {
			log_error_errno(errno, "open \"%s\": %m", src);
			return 1;
		}
		r = image_stack_import_fd(s, name, fd, o, &info, &err);
	}
	if (r < 0) {
		if (err.msg[0])
			log_error("stack \"%s\" from \"%s\" refused: %s", name, src, err.msg);
		else
			log_error_errno(r, "import stack \"%s\" from \"%s\": %m", name, src);
		return 1;
	}
	log_info("stack %s is now %s (%" PRIu64 " entries%s)", name, info.digest, info.entries,
	         info.skipped ? ", device nodes/FIFOs/sockets left out" : "");
	printf("%s\n", info.digest);
	return 0;
}

static int stack_ls(const char *root)
{
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, false, &s) < 0)
		return 1;
	struct image_stack_info *v = NULL;
	size_t n = 0;
	int r = image_stack_list(s, &v, &n);
	if (r < 0) {
		log_error_errno(r, "list stacks: %m");
		return 1;
	}
	printf("%-24s %s\n", "NAME", "DIGEST");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %s\n", v[i].name, v[i].digest[0] ? v[i].digest : "(built in)");
	free(v);
	return 0;
}

static int stack_path(const char *root, const char *name)
{
	if (strcmp(name, IMAGE_STACK_HOST) == 0) {
		printf("%s\n", IMAGE_STACK_HOST);
		return 0;
	}
	_cleanup_(image_store_freep) struct image_store *s = NULL;
	if (cli_images_open_store(root, false, &s) < 0)
		return 1;
	_cleanup_free_ char *p = NULL;
	int r = image_stack_path(s, name, &p);
	if (r < 0) {
		log_error_errno(r, "stack \"%s\": %m", name);
		return 1;
	}
	printf("%s\n", p);
	return 0;
}

int cli_stack(int argc, char **argv)
{
	if (argc < 2) {
		stack_usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	const char *root = DYNOHOST_STATEDIR;
	struct image_import_opts o;
	image_import_opts_default(&o);
	static const struct option longopts[] = {
	        {"root", required_argument, NULL, 'r'},
	        {"no-sync", no_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        CLI_IMAGES_LIMIT_OPTIONS,
	        {0},
	};
	optind = 0;
	int c;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		int r = cli_images_limit_opt(c, optarg, &o);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'n':
			o.no_sync = true;
			break;
		case 'h':
			stack_usage(stdout);
			return 0;
		default:
			stack_usage(stderr);
			return 2;
		}
	}
	char **args = argv + 1 + optind;
	int nargs = argc - 1 - optind;
	if (strcmp(cmd, "import") == 0 && nargs == 2)
		return stack_import(root, args[0], args[1], &o);
	if (strcmp(cmd, "ls") == 0 && nargs == 0)
		return stack_ls(root);
	if (strcmp(cmd, "path") == 0 && nargs == 1)
		return stack_path(root, args[0]);
	if (strcmp(cmd, "help") == 0) {
		stack_usage(stdout);
		return 0;
	}
	stack_usage(stderr);
	return 2;
}
