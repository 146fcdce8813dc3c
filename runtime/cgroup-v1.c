/* The cgroup v1 backend (legacy and hybrid hosts): one dynohost/<name> directory in each of the
 * memory, pids, cpu, cpuacct and freezer hierarchies, limits through their v1 files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/cgroup-internal.h"

static const struct {
	const char *name;
	bool required;
} v1_ctrls[CG_V1_MAX] = {
	[CG_V1_MEMORY] = { "memory", true },
	[CG_V1_PIDS] = { "pids", true },
	[CG_V1_CPU] = { "cpu", true },
	[CG_V1_CPUACCT] = { "cpuacct", false },
	[CG_V1_FREEZER] = { "freezer", true },
};

/* memory.limit_in_bytes reads back as this (PAGE_COUNTER_MAX pages) when unlimited. */
#define V1_UNLIMITED_MIN (UINT64_C(1) << 62)

/* The fd that serves controller c (itself or the co-mounted hierarchy it aliases). */
static int v1_fd(struct dyno_cgroup *cg, enum cg_v1_ctrl c)
{
	return cg->alias[c] >= 0 ? cg->fd[cg->alias[c]] : cg->fd[c];
}

/* Open <root>/<controller> of each controller; co-mounted ones (cpu,cpuacct) are found by
 * identical device and inode and recorded as aliases. ret_fds get O_PATH directory fds. */
static int v1_open_hierarchies(struct dyno_cgroup *cg, int ret_fds[CG_V1_MAX])
{
	struct stat st[CG_V1_MAX];
	for (int c = 0; c < CG_V1_MAX; c++) {
		char path[PATH_MAX];
		ret_fds[c] = -1;
		if (snprintf(path, sizeof(path), "%s/%s", cg->root, v1_ctrls[c].name) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1) {
			if (errno == ENOENT && !v1_ctrls[c].required)
				continue;
			return errno == ENOENT ? -EOPNOTSUPP : -errno;
		}
		if (fstat(fd, &st[c]) == -1) {
			safe_close(fd);
			return -errno;
		}
		for (int p = 0; p < c; p++)
			if (ret_fds[p] >= 0 && st[p].st_dev == st[c].st_dev &&
			    st[p].st_ino == st[c].st_ino) {
				cg->alias[c] = p;
				break;
			}
		if (cg->alias[c] >= 0) {
			safe_close(fd);
			continue;
		}
		ret_fds[c] = fd;
	}
	return 0;
}

static void close_fds(int fds[CG_V1_MAX])
{
	for (int c = 0; c < CG_V1_MAX; c++)
		fds[c] = safe_close(fds[c]);
}

static int v1_apply_limits(struct dyno_cgroup *cg, const struct dyno_limits *l)
{
	int mem = cg->fd[CG_V1_MEMORY];
	int r;
	if (l->memory_bytes) {
		r = cg_write_u64(mem, "memory.limit_in_bytes", l->memory_bytes);
		if (r < 0)
			return r;
	}
	/* memory+swap is the kill line when the kernel accounts swap; without swap accounting
	 * memory.limit_in_bytes (the quota) is where the OOM killer acts. */
	if (l->memory_kill_bytes && cg_file_exists(mem, "memory.memsw.limit_in_bytes")) {
		r = cg_write_u64(mem, "memory.memsw.limit_in_bytes", l->memory_kill_bytes);
		if (r < 0)
			return r;
		cg->swap_limited = true;
	}
	if (l->cpu_weight) {
		r = cg_write_u64(v1_fd(cg, CG_V1_CPU), "cpu.shares",
				 dyno_cgroup_cpu_shares_from_weight(l->cpu_weight));
		if (r < 0)
			return r;
	}
	if (l->pids_max) {
		r = cg_write_u64(v1_fd(cg, CG_V1_PIDS), "pids.max", l->pids_max);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_create(struct dyno_cgroup *cg, const struct dyno_limits *limits)
{
	int hier[CG_V1_MAX];
	int r = v1_open_hierarchies(cg, hier);
	if (r < 0) {
		close_fds(hier);
		return r;
	}

	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), CG_PARENT "/%s", cg->name);
	bool made[CG_V1_MAX] = { false };
	for (int c = 0; c < CG_V1_MAX && r >= 0; c++) {
		if (hier[c] < 0)
			continue;
		if (mkdirat(hier[c], CG_PARENT, 0755) == -1 && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (c == CG_V1_MEMORY) {
			/* Old kernels default to a flat memory hierarchy; the dyno's limit must also
			 * cover what its children charge. Newer kernels always say 1. */
			uint64_t h;
			if (cg_read_u64(hier[c], CG_PARENT "/memory.use_hierarchy", &h) == 0 &&
			    h == 0) {
				r = cg_write_u64(hier[c], CG_PARENT "/memory.use_hierarchy", 1);
				if (r < 0)
					break;
			}
		}
		if (mkdirat(hier[c], sub, 0755) == -1) {
			r = -errno;
			break;
		}
		made[c] = true;
		cg->fd[c] = openat(hier[c], sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->fd[c] == -1)
			r = -errno;
	}
	if (r >= 0)
		r = v1_apply_limits(cg, limits);
	if (r < 0) {
		for (int c = CG_V1_MAX - 1; c >= 0; c--) {
			cg->fd[c] = safe_close(cg->fd[c]);
			if (made[c])
				(void)unlinkat(hier[c], sub, AT_REMOVEDIR);
		}
	}
	close_fds(hier);
	return r;
}

static int v1_open(struct dyno_cgroup *cg)
{
	int hier[CG_V1_MAX];
	int r = v1_open_hierarchies(cg, hier);
	if (r < 0) {
		close_fds(hier);
		return r;
	}
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), CG_PARENT "/%s", cg->name);
	bool any = false;
	for (int c = 0; c < CG_V1_MAX && r >= 0; c++) {
		if (hier[c] < 0)
			continue;
		cg->fd[c] = openat(hier[c], sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->fd[c] >= 0)
			any = true;
		else if (errno != ENOENT)
			r = -errno;
	}
	close_fds(hier);
	if (r < 0)
		return r;
	if (!any)
		return -ENOENT;

	int mem = cg->fd[CG_V1_MEMORY];
	uint64_t v;
	if (mem >= 0 && cg_read_u64(mem, "memory.limit_in_bytes", &v) == 0 && v < V1_UNLIMITED_MIN)
		cg->quota = v;
	if (mem >= 0 && cg_read_u64(mem, "memory.memsw.limit_in_bytes", &v) == 0 &&
	    v < V1_UNLIMITED_MIN)
		cg->swap_limited = true;
	return 0;
}

static int v1_attach(struct dyno_cgroup *cg, pid_t pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (int c = 0; c < CG_V1_MAX; c++) {
		if (cg->fd[c] < 0)
			continue;
		int r = write_string_file_at(cg->fd[c], "cgroup.procs", buf);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_stats(struct dyno_cgroup *cg, struct dyno_cgroup_stats *st)
{
	int mem = cg->fd[CG_V1_MEMORY], pids = v1_fd(cg, CG_V1_PIDS);
	int r;
	if (mem >= 0) {
		r = cg_read_u64(mem, "memory.usage_in_bytes", &st->memory_current);
		if (r < 0)
			return r;
		(void)cg_read_u64(mem, "memory.max_usage_in_bytes", &st->memory_peak);
		(void)cg_read_u64(mem, "memory.failcnt", &st->memory_limit_hits);
		(void)cg_read_keyed(mem, "memory.oom_control", "oom_kill", &st->oom_kills);
		uint64_t memsw;
		if (cg_read_u64(mem, "memory.memsw.usage_in_bytes", &memsw) == 0 &&
		    memsw > st->memory_current)
			st->swap_current = memsw - st->memory_current;
	}
	if (pids >= 0) {
		r = cg_read_u64(pids, "pids.current", &st->pids_current);
		if (r < 0)
			return r;
		(void)cg_read_keyed(pids, "pids.events", "max", &st->pids_limit_hits);
	}
	int acct = v1_fd(cg, CG_V1_CPUACCT);
	uint64_t ns;
	if (acct >= 0 && cg_read_u64(acct, "cpuacct.usage", &ns) == 0)
		st->cpu_usage_usec = ns / 1000;
	return 0;
}

static int v1_pids(struct dyno_cgroup *cg, pid_t **ret, size_t *ret_n)
{
	/* Every process is attached to every hierarchy; take the list from the freezer (the
	 * one the kill loop freezes), else from any directory that exists. */
	static const enum cg_v1_ctrl order[] = { CG_V1_FREEZER, CG_V1_PIDS, CG_V1_MEMORY,
						 CG_V1_CPU, CG_V1_CPUACCT };
	for (size_t i = 0; i < ELEMENTSOF(order); i++)
		if (cg->fd[order[i]] >= 0)
			return cg_read_procs(cg->fd[order[i]], ret, ret_n);
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

static int v1_freeze(struct dyno_cgroup *cg, bool frozen, uint64_t deadline)
{
	int fz = cg->fd[CG_V1_FREEZER];
	if (fz < 0)
		return -EOPNOTSUPP;
	const char *want = frozen ? "FROZEN" : "THAWED";
	int r = write_string_file_at(fz, "freezer.state", want);
	if (r < 0)
		return r;
	for (unsigned round = 0;; round++) {
		_cleanup_free_ char *s = NULL;
		r = read_file_at(fz, "freezer.state", 64, &s, NULL);
		if (r < 0)
			return r;
		s[strcspn(s, "\n")] = '\0';
		if (strcmp(s, want) == 0)
			return 0;
		if (cg_now_ms() >= deadline)
			return -ETIMEDOUT;
		/* FREEZING: a task is not freezable yet; writing again retries the transition. */
		if (frozen)
			(void)write_string_file_at(fz, "freezer.state", want);
		cg_backoff(round);
	}
}

static int v1_memory_event_fd(struct dyno_cgroup *cg, int *ret_fd, short *ret_events)
{
	int mem = cg->fd[CG_V1_MEMORY];
	if (mem < 0)
		return -EOPNOTSUPP;
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd == -1)
		return -errno;
	_cleanup_close_ int ofd = openat(mem, "memory.oom_control", O_RDONLY | O_CLOEXEC);
	if (ofd == -1)
		return -errno;
	/* The kernel keeps the registration (until the cgroup goes); ofd may close after it. */
	char buf[64];
	snprintf(buf, sizeof(buf), "%d %d", efd, ofd);
	int r = write_string_file_at(mem, "cgroup.event_control", buf);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(efd);
	*ret_events = POLLIN;
	return 0;
}

static int v1_memory_event_ack(int fd)
{
	uint64_t n;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int v1_kill_all(struct dyno_cgroup *cg)
{
	return -EOPNOTSUPP;
}

static int v1_wait_empty(struct dyno_cgroup *cg, uint64_t deadline)
{
	return -EOPNOTSUPP;
}

static int v1_remove(struct dyno_cgroup *cg)
{
	char path[PATH_MAX];
	int first = 0;
	for (int c = 0; c < CG_V1_MAX; c++) {
		if (cg->fd[c] < 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/" CG_PARENT "/%s", cg->root,
			     v1_ctrls[c].name, cg->name) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (rmdir(path) == -1 && errno != ENOENT) {
			if (first == 0)
				first = -errno;
			continue;
		}
		cg->fd[c] = safe_close(cg->fd[c]);
	}
	return first;
}

static int v1_list(const char *root, char ***ret)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	for (int c = 0; c < CG_V1_MAX; c++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s/" CG_PARENT, root, v1_ctrls[c].name) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		int r = cg_list_subdirs(path, &names, &n);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(names);
	return 0;
}

const struct cg_ops cg_v1_ops = {
	.create = v1_create,
	.open = v1_open,
	.attach = v1_attach,
	.stats = v1_stats,
	.pids = v1_pids,
	.freeze = v1_freeze,
	.kill_all = v1_kill_all,
	.wait_empty = v1_wait_empty,
	.memory_event_fd = v1_memory_event_fd,
	.memory_event_ack = v1_memory_event_ack,
	.remove = v1_remove,
	.list = v1_list,
};
