/* One-shot dynos (kill_on_parent_death, as `dyno exec` runs them) die with their owner, but an
 * owner that is SIGKILLed cannot remove the dyno's cgroup and run dir. So the owner of each
 * one-shot dyno holds an exclusive flock on <run_dir>/.oneshot/<id> (the file holds its pid)
 * for the dyno's life. A lock that can be taken on a complete (non-empty) file belongs to a dead
 * owner, and its leftovers can be removed by anyone: by the next launch of the same id, or by
 * dyno_reconcile_oneshot(). Dynos of the host service have no lock file and are never touched
 * here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/launcher-internal.h"

#define ONESHOT_DIR ".oneshot"

static int open_lock_dir(const char *run_dir, bool create)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/" ONESHOT_DIR, run_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (create) {
		int r = mkdir_p(path, 0700);
		if (r < 0)
			return r;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd == -1 ? -errno : fd;
}

/* Take the lock on an existing lock file without waiting. 1: taken (fd returned), 0: held by a
 * live owner or gone meanwhile, or -errno. The file must still be the one under the name: a
 * lock on a file that its owner unlinked says nothing. */
static int try_lock(int dir, const char *id, int *ret_fd)
{
	_cleanup_close_ int fd = openat(dir, id, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? 0 : -errno;
	struct stat a, b;
	if (fstat(fd, &a) == -1)
		return -errno;
	if (fstatat(dir, id, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

int dyno_oneshot_lock(const char *run_dir, const char *id, int *ret_fd, bool *ret_stale)
{
	_cleanup_close_ int dir = open_lock_dir(run_dir, true);
	if (dir < 0)
		return dir;
	for (unsigned attempt = 0; attempt < 8; attempt++) {
		int fd = openat(dir, id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* The file is new. A reconciler may hold its lock for a moment (it leaves
			 * an empty file alone): wait for it. Our pid marks the file complete. */
			char pid[24];
			int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
			int r = 0;
			while (flock(fd, LOCK_EX) == -1)
				if (errno != EINTR) {
					r = -errno;
					break;
				}
			if (r == 0)
				r = fd_write_all(fd, pid, (size_t)len);
			if (r < 0) {
				close(fd);
				(void)unlinkat(dir, id, 0);
				return r;
			}
			*ret_fd = fd;
			*ret_stale = false;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
		int r = try_lock(dir, id, &fd);
		if (r < 0)
			return r;
		if (r == 1) {
			/* A one-shot owner of this id died: its leftovers are ours to remove. */
			*ret_fd = fd;
			*ret_stale = true;
			return 0;
		}
		/* Held: the id is in use, unless the owner was just unlinking it. */
		struct stat st;
		if (fstatat(dir, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
	}
	return -EEXIST;
}

void dyno_oneshot_unlock(const char *run_dir, const char *id, int fd)
{
	if (fd < 0)
		return;
	_cleanup_close_ int dir = open_lock_dir(run_dir, false);
	if (dir >= 0)
		(void)unlinkat(dir, id, 0);
	close(fd);
}

int dyno_oneshot_clean(const char *run_dir, const char *cgroup_root, const char *id)
{
	struct dyno_cgroup *cg = NULL;
	int r = dyno_cgroup_open(cgroup_root, id, &cg);
	if (r >= 0)
		r = dyno_cgroup_destroy(cg);
	if (r == -ENOENT)
		r = 0;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", run_dir, id) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (rmdir(path) == -1 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int dyno_reconcile_oneshot(const char *run_dir, const char *cgroup_root,
			   void (*cleaned)(void *userdata, const char *id), void *userdata)
{
	if (!run_dir)
		run_dir = DYNOHOST_RUNDIR "/dynos";
	_cleanup_close_ int dir = open_lock_dir(run_dir, false);
	if (dir == -ENOENT)
		return 0;
	if (dir < 0)
		return dir;
	_cleanup_closedir_ DIR *d = opendir_fd(dir);
	if (!d)
		return -errno;
	int n = 0, first = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd;
		int r = try_lock(dir, de->d_name, &fd);
		struct stat st;
		if (r == 1 && (fstat(fd, &st) == -1 || st.st_size == 0)) {
			/* Empty: its owner is between creating and locking it. */
			close(fd);
			r = 0;
		}
		if (r == 1) {
			r = dyno_oneshot_clean(run_dir, cgroup_root, de->d_name);
			if (r == 0) {
				if (cleaned)
					cleaned(userdata, de->d_name);
				(void)unlinkat(dir, de->d_name, 0);
				n++;
			}
			close(fd);
		}
		if (r < 0 && first == 0)
			first = r;
	}
	return first < 0 ? first : n;
}
