/* Verb dispatch shared by `dyno` and its helper programs: run a verb in-process, or exec the
 * helper program that serves it (found beside the running binary, else in pkglibexec). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime/cli.h"

void cli_print_verbs(const struct cli_verb *verbs, size_t n_verbs)
{
	for (size_t i = 0; i < n_verbs; i++)
		printf("  %s\n", verbs[i].usage);
}

/* $DYNOHOST_LIBEXEC_DIR, then the directory of /proc/self/exe (a build tree keeps helpers
 * beside `dyno`), then the configured pkglibexecdir. */
static int find_helper(const char *helper, char *buf, size_t size)
{
	const char *env = getenv("DYNOHOST_LIBEXEC_DIR");
	if (env && *env) {
		if (snprintf(buf, size, "%s/%s", env, helper) >= (int)size)
			return -ENAMETOOLONG;
		return access(buf, X_OK) == 0 ? 0 : -errno;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, size, "%s/%s", self, helper) < (int)size &&
			    access(buf, X_OK) == 0)
				return 0;
		}
	}
	if (snprintf(buf, size, "%s/%s", DYNOHOST_LIBEXECDIR, helper) >= (int)size)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -errno;
}

int cli_dispatch(const char *prog, const struct cli_verb *verbs, size_t n_verbs, int argc,
		 char **argv)
{
	for (size_t i = 0; i < n_verbs; i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		if (verbs[i].run)
			return verbs[i].run(argc - 1, argv + 1);
		char path[PATH_MAX];
		int r = find_helper(verbs[i].helper, path, sizeof(path));
		if (r < 0)
			return log_error_errno(r, "\"%s %s\" needs %s, not found: %m", prog,
					       verbs[i].name, verbs[i].helper),
			       1;
		argv[0] = path;
		execv(path, argv);
		return log_error_errno(errno, "exec \"%s\": %m", path), 1;
	}
	log_error("unknown command \"%s\" (see `%s help`)", argv[1], prog);
	return 2;
}
