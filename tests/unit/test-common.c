/* Unit tests for common/: cleanup macros, file helpers and the logger. */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/parse.h"
#include "tests/lib/tap.h"

static int freed;
static void count_free(int *p)
{
	if (*p)
		freed++;
}

static void test_cleanup(void)
{
	{
		_cleanup_(count_free) int a = 1;
		_cleanup_(count_free) int b = 0;
		(void)a;
		(void)b;
	}
	is_int(freed, 1, "_cleanup_ runs once per non-zero variable at scope exit");

	int fd;
	{
		_cleanup_close_ int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fd = f;
	}
	ok(fcntl(fd, F_GETFD) == -1 && errno == EBADF, "_cleanup_close_ closes the fd");

	_cleanup_close_ int kept = -1;
	{
		_cleanup_close_ int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
		kept = TAKE_FD(f);
		is_int(f, -1, "TAKE_FD leaves -1 behind");
	}
	ok(fcntl(kept, F_GETFD) != -1, "TAKE_FD keeps the fd open");

	char *p = strdup("x");
	char *q = TAKE_PTR(p);
	ok(p == NULL && q != NULL, "TAKE_PTR hands over the pointer and leaves NULL");
	free(q);

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	{
		_cleanup_pid_ pid_t c = child;
		(void)c;
	}
	ok(kill(child, 0) == -1 && errno == ESRCH, "_cleanup_pid_ kills and reaps the child");

	ok(strv_free(NULL) == NULL, "strv_free accepts NULL and returns NULL");
}

static void test_fileio(void)
{
	char dir[] = "/tmp/dynohost-test-common.XXXXXX";
	if (!mkdtemp(dir))
		tap_bail("mkdtemp: %m");

	char path[256], deep[256];
	snprintf(path, sizeof(path), "%s/state", dir);
	const char *data = "hello\n";
	is_int(write_file_atomic(path, data, strlen(data), 0644), 0, "write_file_atomic writes");
	_cleanup_free_ char *back = NULL;
	size_t len = 0;
	is_int(read_file_at(AT_FDCWD, path, 1024, &back, &len), 0, "read_file_at reads it back");
	is_str(back, data, "contents are identical");
	ok(access(path, F_OK) == 0, "the file exists under its name");
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	ok(access(tmp, F_OK) == -1, "no .new file is left behind");

	char *big = NULL;
	is_int(read_file_at(AT_FDCWD, path, 3, &big, NULL), -EFBIG, "read_file_at refuses over max");
	ok(big == NULL, "output untouched on failure");
	is_int(read_file_at(AT_FDCWD, "/nonexistent/dynohost", 10, &big, NULL), -ENOENT,
	       "read_file_at returns -ENOENT");

	is_int(write_string_file_at(AT_FDCWD, "/nonexistent/x", "1"), -ENOENT,
	       "write_string_file_at does not create files");

	snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
	is_int(mkdir_p(deep, 0755), 0, "mkdir_p creates a chain");
	is_int(mkdir_p(deep, 0755), 0, "mkdir_p is idempotent");
	is_int(mkdir_p(path, 0755), -ENOTDIR, "mkdir_p on a file is -ENOTDIR");
	snprintf(tmp, sizeof(tmp), "%s/a/b/link", dir);
	ok(symlink("/etc", tmp) == 0, "symlink inside the tree");
	snprintf(tmp, sizeof(tmp), "%s/a/ro", dir);
	ok(mkdir(tmp, 0555) == 0, "a read-only directory inside the tree");
	/* In a private mount namespace, so the host never sees the test's tmpfs. */
	if (tap_is_root() && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		/* A filesystem mounted inside is never descended into: the removal stops there. */
		snprintf(tmp, sizeof(tmp), "%s/a/b/mnt", dir);
		mkdir(tmp, 0755);
		ok(mount("dynohost-test", tmp, "tmpfs", 0, "size=64k") == 0, "a tmpfs inside the tree");
		char inside[320];
		snprintf(inside, sizeof(inside), "%s/keep", tmp);
		close(open(inside, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		is_int(rm_rf(dir), -EBUSY, "rm_rf stops at a mount point with -EBUSY");
		ok(access(inside, F_OK) == 0, "nothing on the mounted filesystem was removed");
		umount2(tmp, MNT_DETACH);
	} else {
		tap_skip("mount point case needs root and a mount namespace");
		tap_skip("mount point case needs root and a mount namespace");
		tap_skip("mount point case needs root and a mount namespace");
	}
	is_int(rm_rf(dir), 0, "rm_rf removes the tree");
	ok(access(dir, F_OK) == -1 && access("/etc/passwd", F_OK) == 0,
	   "rm_rf removed the tree and did not follow the symlink");
	is_int(rm_rf(dir), 0, "rm_rf of a missing path succeeds");
}

static void test_log(void)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	int saved = dup(STDERR_FILENO);
	dup2(pipefd[1], STDERR_FILENO);
	log_set_ident("t");
	log_set_timestamps(0);
	log_set_max_level(LOG_LEVEL_INFO);
	errno = 0;
	int r = log_error_errno(-ENOENT, "open \"%s\": %m", "x");
	log_debug("hidden");
	log_info("shown");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pipefd[1]);
	char buf[512] = "";
	size_t n = 0;
	fd_read_all(pipefd[0], buf, sizeof(buf) - 1, &n);
	close(pipefd[0]);
	buf[n] = '\0';
	is_int(r, -ENOENT, "log_error_errno returns -errno");
	is_str(buf, "t: error: open \"x\": No such file or directory\nt: shown\n",
	       "%m prints the passed error; debug is filtered at info");
	is_int(log_level_from_string("debug"), LOG_LEVEL_DEBUG, "level names parse");
	is_int(log_level_from_string("loud"), -EINVAL, "bad level names are -EINVAL");
}

static void test_parse(void)
{
	uint64_t v = 7;
	ok(parse_uint64("42", 0, 100, &v) == 0 && v == 42, "42 in [0, 100]");
	ok(parse_uint64("0", 0, 0, &v) == 0 && v == 0, "0 in [0, 0]");
	ok(parse_uint64("18446744073709551615", 0, UINT64_MAX, &v) == 0 && v == UINT64_MAX,
	   "UINT64_MAX");
	v = 7;
	is_int(parse_uint64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE, "2^64: ERANGE");
	is_int(parse_uint64("101", 0, 100, &v), -ERANGE, "above max: ERANGE");
	is_int(parse_uint64("1", 2, 100, &v), -ERANGE, "below min: ERANGE");
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1.5", "1k", "abc" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ok(parse_uint64(bad[i], 0, UINT64_MAX, &v) == -EINVAL, "uint \"%s\": EINVAL", bad[i]);
	ok(v == 7, "failures leave the result alone");

	ok(parse_size("512", &v) == 0 && v == 512, "512");
	ok(parse_size("4k", &v) == 0 && v == 4096, "4k");
	ok(parse_size("512M", &v) == 0 && v == 512ULL << 20, "512M");
	ok(parse_size("2g", &v) == 0 && v == 2ULL << 30, "2g");
	is_int(parse_size("17179869184g", &v), -ERANGE, "2^34 g overflows: ERANGE");
	static const char *const bad_size[] = { "", "-1", "-1g", "1t", "1kb", "k", "1 k", "1.5g" };
	for (size_t i = 0; i < ELEMENTSOF(bad_size); i++)
		ok(parse_size(bad_size[i], &v) == -EINVAL, "size \"%s\": EINVAL", bad_size[i]);
}

static void test_array(void)
{
	int *v = NULL;
	size_t n = 0, cap = 0;
	bool all = true;
	for (int i = 0; i < 100; i++) {
		if (ARRAY_GROW(v, cap, n, 4) < 0) {
			all = false;
			break;
		}
		v[n++] = i;
	}
	ok(all && n == 100, "ARRAY_GROW: 100 appends");
	is_int((int)cap, 128, "capacity doubled from 4: 4, 8, ... 128");
	bool kept = true;
	for (int i = 0; i < 100; i++)
		kept = kept && v[i] == i;
	ok(kept, "the elements survive every move");
	int *before = v;
	is_int(ARRAY_GROW(v, cap, 50, 4), 0, "room left: nothing to do");
	ok(v == before && cap == 128, "and nothing moved");
	size_t huge = SIZE_MAX / 2 + 1;
	is_int(array_grow((void **)&before, &huge, huge, 1, 4), -ENOMEM,
	       "a capacity that cannot double: -ENOMEM");
	ok(before == v && huge == SIZE_MAX / 2 + 1, "and the array is unchanged");
	size_t big = SIZE_MAX / 16;
	is_int(array_grow((void **)&before, &big, big, 64, 4), -ENOMEM,
	       "a size that overflows: -ENOMEM");
	free(v);
}

int main(void)
{
	test_cleanup();
	test_fileio();
	test_log();
	test_parse();
	test_array();
	return tap_done();
}
