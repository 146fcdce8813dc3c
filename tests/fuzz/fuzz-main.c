/* Replay driver for fuzz targets when not built with libFuzzer: runs
 * LLVMFuzzerTestOneInput over every file named on the command line (directories are walked),
 * or over FUZZ_CORPUS_DIR (set per target at build time) when none is named, printing one TAP
 * line per input. A crash or sanitizer report fails the run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "tests/lib/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_one(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, path, 64u << 20, &buf, &len);
	if (r < 0) {
		ok(false, "read %s: %s", path, strerror(-r));
		return;
	}
	/* Hand the target an exact-size heap copy so ASan sees reads past the end. */
	_cleanup_free_ uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		tap_bail("out of memory");
	memcpy(exact, buf, len);
	LLVMFuzzerTestOneInput(exact, len);
	ok(true, "%s", path);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) == -1) {
		ok(false, "stat %s: %m", path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_one(path);
		return;
	}
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d) {
		ok(false, "opendir %s: %m", path);
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || asprintf(&nn[n], "%s/%s", path, de->d_name) < 0)
			tap_bail("out of memory");
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		run_path(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
#ifdef FUZZ_CORPUS_DIR
	if (argc < 2) {
		run_path(FUZZ_CORPUS_DIR);
		return tap_done();
	}
#endif
	if (argc < 2)
		tap_skip_all("usage: %s CORPUS-FILE-OR-DIR...", argv[0]);
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	return tap_done();
}
