/* The cgroup v2 backend (unified hierarchy): one dynohost/<name> directory, the memory, pids and
 * cpu controllers enabled for it, cgroup.kill and cgroup.freeze for the whole dyno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/cgroup-internal.h"

static const char *const v2_ctrls[] = { "memory", "pids", "cpu" };

/* Whether the space-separated list in file (cgroup.controllers, cgroup.subtree_control)
 * names controller. */
static int v2_list_has(int dirfd, const char *file, const char *controller, bool *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(dirfd, file, 4096, &s, NULL);
	if (r < 0)
		return r;
	size_t len = strlen(controller);
	*ret = false;
	for (char *p = s; *p;) {
		p += strspn(p, " \n");
		size_t w = strcspn(p, " \n");
		if (w == len && strncmp(p, controller, len) == 0)
			*ret = true;
		p += w;
	}
	return 0;
}

/* Enable controller for the children of dirfd when dirfd offers it. *ret_on says whether it is
 * enabled afterwards. */
static int v2_enable(int dirfd, const char *controller, bool *ret_on)
{
	bool avail, on;
	int r = v2_list_has(dirfd, "cgroup.controllers", controller, &avail);
	if (r < 0)
		return r;
	*ret_on = false;
	if (!avail)
		return 0;
	r = v2_list_has(dirfd, "cgroup.subtree_control", controller, &on);
	if (r < 0)
		return r;
	if (!on) {
		char buf[32];
		snprintf(buf, sizeof(buf), "+%s", controller);
		r = write_string_file_at(dirfd, "cgroup.subtree_control", buf);
		if (r < 0)
			return r;
	}
	*ret_on = true;
	return 0;
}

static bool v2_needs(const struct dyno_limits *l, const char *controller)
{
	if (strcmp(controller, "memory") == 0)
		return l->memory_bytes || l->memory_kill_bytes;
	if (strcmp(controller, "pids") == 0)
		return l->pids_max;
	return l->cpu_weight;
}

/* Make the controllers reach dynohost/<name>: enabled in the root (a no-op on hosts whose init
 * already did; needed in a bare VM) and in dynohost/. A controller a limit needs but the
 * kernel does not offer is -EOPNOTSUPP; the others are used where available. */
static int v2_prepare_parent(int rootfd, const struct dyno_limits *limits)
{
	if (mkdirat(rootfd, CG_PARENT, 0755) == -1 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int pfd = openat(rootfd, CG_PARENT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1)
		return -errno;
	for (size_t i = 0; i < ELEMENTSOF(v2_ctrls); i++) {
		bool on;
		int r = v2_enable(rootfd, v2_ctrls[i], &on);
		if (r >= 0 && on)
			r = v2_enable(pfd, v2_ctrls[i], &on);
		if (r < 0 && v2_needs(limits, v2_ctrls[i]))
			return r;
		if (!on && v2_needs(limits, v2_ctrls[i]))
			return -EOPNOTSUPP;
	}
	return 0;
}

static int v2_apply_limits(struct dyno_cgroup *cg, const struct dyno_limits *l)
{
	int fd = cg->fd[0];
	int r;
	if (l->memory_bytes) {
		r = cg_write_u64(fd, "memory.max", l->memory_bytes);
		if (r < 0)
			return r;
	}
	/* Swap takes the rest up to the kill line, so memory+swap reaches 2x quota before the OOM
	 * killer acts: the same line as v1's memsw. */
	if (l->memory_kill_bytes && cg_file_exists(fd, "memory.swap.max")) {
		r = cg_write_u64(fd, "memory.swap.max", l->memory_kill_bytes - l->memory_bytes);
		if (r < 0)
			return r;
		cg->swap_limited = true;
	}
	if (l->cpu_weight) {
		r = cg_write_u64(fd, "cpu.weight", l->cpu_weight);
		if (r < 0)
			return r;
	}
	if (l->pids_max) {
		r = cg_write_u64(fd, "pids.max", l->pids_max);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v2_create(struct dyno_cgroup *cg, const struct dyno_limits *limits)
{
	_cleanup_close_ int rootfd = open(cg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd == -1)
		return -errno;
	int r = v2_prepare_parent(rootfd, limits);
	if (r < 0)
		return r;
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), CG_PARENT "/%s", cg->name);
	if (mkdirat(rootfd, sub, 0755) == -1)
		return -errno;
	cg->fd[0] = openat(rootfd, sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = cg->fd[0] == -1 ? -errno : v2_apply_limits(cg, limits);
	if (r < 0) {
		cg->fd[0] = safe_close(cg->fd[0]);
		(void)unlinkat(rootfd, sub, AT_REMOVEDIR);
	}
	return r;
}

static int v2_open(struct dyno_cgroup *cg)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/" CG_PARENT "/%s", cg->root, cg->name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	cg->fd[0] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd[0] == -1)
		return -errno;
	uint64_t v;
	if (cg_read_u64(cg->fd[0], "memory.max", &v) == 0 && v != UINT64_MAX)
		cg->quota = v;
	if (cg_read_u64(cg->fd[0], "memory.swap.max", &v) == 0 && v != UINT64_MAX)
		cg->swap_limited = true;
	return 0;
}

static int v2_attach(struct dyno_cgroup *cg, pid_t pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_string_file_at(cg->fd[0], "cgroup.procs", buf);
}

static int v2_stats(struct dyno_cgroup *cg, struct dyno_cgroup_stats *st)
{
	int fd = cg->fd[0];
	if (fd < 0)
		return -EBADF;
	/* Files of controllers that are not enabled are absent: those stats stay 0. */
	if (cg_read_u64(fd, "memory.current", &st->memory_current) == 0) {
		if (cg_read_u64(fd, "memory.peak", &st->memory_peak) < 0)
			st->memory_peak = st->memory_current;
		(void)cg_read_u64(fd, "memory.swap.current", &st->swap_current);
		(void)cg_read_keyed(fd, "memory.events", "oom_kill", &st->oom_kills);
		(void)cg_read_keyed(fd, "memory.events", "max", &st->memory_limit_hits);
	}
	(void)cg_read_u64(fd, "pids.current", &st->pids_current);
	(void)cg_read_keyed(fd, "pids.events", "max", &st->pids_limit_hits);
	(void)cg_read_keyed(fd, "cpu.stat", "usage_usec", &st->cpu_usage_usec);
	return 0;
}

static int v2_pids(struct dyno_cgroup *cg, pid_t **ret, size_t *ret_n)
{
	if (cg->fd[0] < 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	return cg_read_procs(cg->fd[0], ret, ret_n);
}

/* Wait until cgroup.events says key is want; the kernel signals changes of that file with
 * POLLPRI. */
static int v2_wait_event(struct dyno_cgroup *cg, const char *key, uint64_t want, uint64_t deadline)
{
	_cleanup_close_ int efd = openat(cg->fd[0], "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (efd == -1)
		return -errno;
	for (;;) {
		char buf[256];
		ssize_t n = pread(efd, buf, sizeof(buf) - 1, 0);
		if (n == -1)
			return -errno;
		buf[n] = '\0';
		char pat[64];
		snprintf(pat, sizeof(pat), "%s ", key);
		char *p = strstr(buf, pat);
		if (!p)
			return -EOPNOTSUPP;
		if (strtoull(p + strlen(pat), NULL, 10) == want)
			return 0;
		uint64_t now = cg_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = efd, .events = POLLPRI };
		uint64_t left = deadline - now;
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) == -1 && errno != EINTR)
			return -errno;
	}
}

static int v2_freeze(struct dyno_cgroup *cg, bool frozen, uint64_t deadline)
{
	int r = write_string_file_at(cg->fd[0], "cgroup.freeze", frozen ? "1" : "0");
	if (r == -ENOENT)
		return -EOPNOTSUPP;
	if (r < 0)
		return r;
	return v2_wait_event(cg, "frozen", frozen ? 1 : 0, deadline);
}

static int v2_memory_event_fd(struct dyno_cgroup *cg, int *ret_fd, short *ret_events)
{
	int fd = openat(cg->fd[0], "memory.events", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	/* Reading once arms it: POLLPRI then means "changed since the last read". */
	char buf[512];
	if (pread(fd, buf, sizeof(buf), 0) == -1) {
		int r = -errno;
		safe_close(fd);
		return r;
	}
	*ret_fd = fd;
	*ret_events = POLLPRI;
	return 0;
}

static int v2_memory_event_ack(int fd)
{
	char buf[512];
	return pread(fd, buf, sizeof(buf), 0) == -1 ? -errno : 0;
}

static int v2_kill_all(struct dyno_cgroup *cg)
{
	int r = write_string_file_at(cg->fd[0], "cgroup.kill", "1");
	return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int v2_wait_empty(struct dyno_cgroup *cg, uint64_t deadline)
{
	return v2_wait_event(cg, "populated", 0, deadline);
}

static int v2_remove(struct dyno_cgroup *cg)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/" CG_PARENT "/%s", cg->root, cg->name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (rmdir(path) == -1 && errno != ENOENT)
		return -errno;
	cg->fd[0] = safe_close(cg->fd[0]);
	return 0;
}

static int v2_list(const char *root, char ***ret)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/" CG_PARENT, root) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	int r = cg_list_subdirs(path, &names, &n);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(names);
	return 0;
}

const struct cg_ops cg_v2_ops = {
	.create = v2_create,
	.open = v2_open,
	.attach = v2_attach,
	.stats = v2_stats,
	.pids = v2_pids,
	.freeze = v2_freeze,
	.kill_all = v2_kill_all,
	.wait_empty = v2_wait_empty,
	.memory_event_fd = v2_memory_event_fd,
	.memory_event_ack = v2_memory_event_ack,
	.remove = v2_remove,
	.list = v2_list,
};
