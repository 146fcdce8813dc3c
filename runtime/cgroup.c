/* The cgroup interface: mode detection, the handle, dispatch to the v1 or v2 backend, the
 * generic freeze-kill-thaw loop, reconciliation, and helpers for cgroupfs files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/cgroup-internal.h"
#include "runtime/cgroup.h"

#define CG_DEFAULT_ROOT "/sys/fs/cgroup"

int cg_detect_root(const char *root, enum dyno_cgroup_mode *ret_mode)
{
	struct statfs fs;
	if (statfs(root, &fs) == -1)
		return -errno;
	if (fs.f_type == CGROUP2_SUPER_MAGIC) {
		*ret_mode = DYNO_CGROUP_UNIFIED;
		return 0;
	}
	if (fs.f_type != TMPFS_MAGIC)
		return -ENOMEDIUM;

	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/unified", root) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		*ret_mode = DYNO_CGROUP_HYBRID;
	else
		*ret_mode = DYNO_CGROUP_LEGACY;
	return 0;
}

int dyno_cgroup_detect(enum dyno_cgroup_mode *ret_mode)
{
	return cg_detect_root(CG_DEFAULT_ROOT, ret_mode);
}

int dyno_cgroup_detect_root(const char *root, enum dyno_cgroup_mode *ret_mode)
{
	return cg_detect_root(root ? root : CG_DEFAULT_ROOT, ret_mode);
}

const char *dyno_cgroup_mode_to_string(enum dyno_cgroup_mode mode)
{
	static const char *const names[DYNO_CGROUP_MODE_MAX] = {
		[DYNO_CGROUP_UNIFIED] = "unified",
		[DYNO_CGROUP_HYBRID] = "hybrid",
		[DYNO_CGROUP_LEGACY] = "legacy",
	};
	if ((unsigned)mode >= DYNO_CGROUP_MODE_MAX)
		return NULL;
	return names[mode];
}

uint64_t dyno_cgroup_cpu_shares_from_weight(uint64_t weight)
{
	uint64_t shares = weight * 1024 / 100;
	if (shares < 2)
		return 2;
	if (shares > 262144)
		return 262144;
	return shares;
}

bool cg_name_valid(const char *name)
{
	if (!name || !*name || name[0] == '.' || strlen(name) > 200)
		return false;
	/* cgroupfs names its own files "<controller>.<key>"; keep dyno names distinct from them. */
	if (strncmp(name, "cgroup.", 7) == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' || *p == '@'))
			return false;
	return true;
}

bool dyno_cgroup_name_valid(const char *name)
{
	return cg_name_valid(name);
}

uint64_t cg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cg_backoff(unsigned round)
{
	/* 50 us doubling to 10 ms: processes usually leave within a millisecond of SIGKILL. */
	long us = round < 8 ? 50L << round : 10000L;
	if (us > 10000)
		us = 10000;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int cg_read_u64(int dirfd, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(dirfd, file, 4096, &s, NULL);
	if (r < 0)
		return r;
	s[strcspn(s, "\n")] = '\0';
	if (strcmp(s, "max") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EBADMSG;
	*ret = v;
	return 0;
}

int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(dirfd, file, 1 << 16, &s, NULL);
	if (r < 0)
		return r;
	size_t klen = strlen(key);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno != 0 || end == line + klen + 1)
				return -EBADMSG;
			*ret = v;
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int cg_write_u64(int dirfd, const char *file, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return write_string_file_at(dirfd, file, buf);
}

int cg_read_procs(int dirfd, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(dirfd, "cgroup.procs", 1 << 24, &s, NULL);
	if (r < 0)
		return r;
	size_t n = 0, cap = 0;
	_cleanup_free_ pid_t *pids = NULL;
	for (char *p = s; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			return -EBADMSG;
		if (ARRAY_GROW(pids, cap, n, 16) < 0)
			return -ENOMEM;
		pids[n++] = (pid_t)v;
		p = end + strspn(end, "\n");
	}
	*ret_n = n;
	*ret = TAKE_PTR(pids);
	return 0;
}

bool cg_file_exists(int dirfd, const char *file)
{
	return faccessat(dirfd, file, F_OK, 0) == 0;
}

static int strv_add_unique(char ***v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return 0;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(name);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	nv[*n] = NULL;
	return 0;
}

int cg_list_subdirs(const char *path, char ***v, size_t *n)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int r = strv_add_unique(v, n, de->d_name);
		if (r < 0)
			return r;
	}
	return errno != 0 ? -errno : 0;
}

static struct dyno_cgroup *cg_new(const char *root, const char *name)
{
	struct dyno_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	for (int i = 0; i < CG_V1_MAX; i++) {
		cg->fd[i] = -1;
		cg->alias[i] = -1;
	}
	cg->root = strdup(root ? root : CG_DEFAULT_ROOT);
	cg->name = strdup(name);
	if (!cg->root || !cg->name)
		return dyno_cgroup_free(cg);
	return cg;
}

struct dyno_cgroup *dyno_cgroup_free(struct dyno_cgroup *cg)
{
	if (!cg)
		return NULL;
	for (int i = 0; i < CG_V1_MAX; i++)
		safe_close(cg->fd[i]);
	free(cg->root);
	free(cg->name);
	free(cg);
	return NULL;
}

static int cg_init(const char *root, const char *name, struct dyno_cgroup **ret)
{
	if (!cg_name_valid(name))
		return -EINVAL;
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = cg_new(root, name);
	if (!cg)
		return -ENOMEM;
	int r = cg_detect_root(cg->root, &cg->mode);
	if (r < 0)
		return r;
	cg->ops = cg->mode == DYNO_CGROUP_UNIFIED ? &cg_v2_ops : &cg_v1_ops;
	*ret = TAKE_PTR(cg);
	return 0;
}

int dyno_cgroup_create(const char *root, const char *name, const struct dyno_limits *limits,
		       struct dyno_cgroup **ret)
{
	static const struct dyno_limits none;
	if (!limits)
		limits = &none;
	if (limits->cpu_weight > 10000)
		return -EINVAL;
	if (limits->memory_kill_bytes && limits->memory_kill_bytes < limits->memory_bytes)
		return -EINVAL;
	if (limits->memory_kill_bytes && !limits->memory_bytes)
		return -EINVAL;

	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	int r = cg_init(root, name, &cg);
	if (r < 0)
		return r;
	r = cg->ops->create(cg, limits);
	if (r < 0)
		return r;
	cg->quota = limits->memory_bytes;
	*ret = TAKE_PTR(cg);
	return 0;
}

int dyno_cgroup_open(const char *root, const char *name, struct dyno_cgroup **ret)
{
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	int r = cg_init(root, name, &cg);
	if (r < 0)
		return r;
	r = cg->ops->open(cg);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(cg);
	return 0;
}

enum dyno_cgroup_mode dyno_cgroup_get_mode(const struct dyno_cgroup *cg)
{
	return cg->mode;
}

int dyno_cgroup_fd(struct dyno_cgroup *cg)
{
	if (cg->mode != DYNO_CGROUP_UNIFIED)
		return -EOPNOTSUPP;
	return cg->fd[0];
}

int dyno_cgroup_attach(struct dyno_cgroup *cg, pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	return cg->ops->attach(cg, pid);
}

int dyno_cgroup_open_self_attach(struct dyno_cgroup *cg, int *ret_fds, size_t max, size_t *ret_n)
{
	if (cg->mode == DYNO_CGROUP_UNIFIED)
		return -EOPNOTSUPP;
	size_t n = 0;
	int r = 0;
	for (int c = 0; c < CG_V1_MAX && r == 0; c++) {
		if (cg->fd[c] < 0)
			continue;
		if (n == max) {
			r = -E2BIG;
			break;
		}
		int fd = openat(cg->fd[c], "tasks", O_WRONLY | O_CLOEXEC);
		if (fd == -1)
			r = -errno;
		else
			ret_fds[n++] = fd;
	}
	if (r < 0) {
		while (n > 0)
			safe_close(ret_fds[--n]);
		return r;
	}
	*ret_n = n;
	return 0;
}

int dyno_cgroup_memory_event_fd(struct dyno_cgroup *cg, int *ret_fd, short *ret_events)
{
	return cg->ops->memory_event_fd(cg, ret_fd, ret_events);
}

int dyno_cgroup_memory_event_ack(struct dyno_cgroup *cg, int fd)
{
	return cg->ops->memory_event_ack(fd);
}

int dyno_cgroup_stats(struct dyno_cgroup *cg, struct dyno_cgroup_stats *ret)
{
	struct dyno_cgroup_stats st = { 0 };
	int r = cg->ops->stats(cg, &st);
	if (r < 0)
		return r;
	st.swap_limited = cg->swap_limited;
	st.over_quota = cg->quota > 0 && st.memory_current + st.swap_current > cg->quota;
	*ret = st;
	return 0;
}

int dyno_cgroup_count_procs(struct dyno_cgroup *cg)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = cg->ops->pids(cg, &pids, &n);
	if (r < 0)
		return r;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* How many processes the cgroup has, and whether the caller is one of them (freezing or
 * killing its own cgroup would stop the caller half-way: -EDEADLK). */
static int cg_procs_self(struct dyno_cgroup *cg, bool *ret_self)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = cg->ops->pids(cg, &pids, &n);
	if (r < 0)
		return r;
	pid_t self = getpid();
	*ret_self = false;
	for (size_t i = 0; i < n; i++)
		if (pids[i] == self)
			*ret_self = true;
	return n > INT_MAX ? INT_MAX : (int)n;
}

int dyno_cgroup_freeze(struct dyno_cgroup *cg, bool frozen)
{
	bool self;
	int r = cg_procs_self(cg, &self);
	if (r < 0)
		return r;
	if (frozen && self)
		return -EDEADLK;
	return cg->ops->freeze(cg, frozen, cg_now_ms() + CG_DEFAULT_TIMEOUT_MS);
}

/* SIGKILL every pid listed now. Returns how many were signalled, or -errno. */
static int cg_kill_listed(struct dyno_cgroup *cg)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = cg->ops->pids(cg, &pids, &n);
	if (r < 0)
		return r;
	int killed = 0;
	for (size_t i = 0; i < n; i++) {
		/* pid 0 lines show up for processes of another pid namespace; never signal those. */
		if (pids[i] <= 0)
			continue;
		if (kill(pids[i], SIGKILL) == 0)
			killed++;
		else if (errno != ESRCH)
			return -errno;
	}
	return killed;
}

/* One round of the generic kill: freeze so nothing forks while the list is read, SIGKILL
 * everything, thaw so the signals are delivered. */
static int cg_kill_round(struct dyno_cgroup *cg, uint64_t deadline)
{
	int rf = cg->ops->freeze(cg, true, deadline);
	int r = cg_kill_listed(cg);
	if (rf != -EOPNOTSUPP) {
		int rt = cg->ops->freeze(cg, false, deadline);
		if (r >= 0 && rt < 0 && rt != -ETIMEDOUT)
			r = rt;
	}
	return r < 0 ? r : 0;
}

int dyno_cgroup_kill(struct dyno_cgroup *cg, int timeout_ms)
{
	uint64_t deadline = cg_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	bool self;
	int n = cg_procs_self(cg, &self);
	if (n <= 0)
		return n;
	if (self)
		return -EDEADLK;
	bool whole = cg->ops->kill_all(cg) == 0;
	if (whole) {
		/* v2: the kernel reports "populated 0" in cgroup.events; no polling needed. */
		int r = cg->ops->wait_empty(cg, deadline);
		if (r != -EOPNOTSUPP)
			return r;
	} else {
		int r = cg_kill_round(cg, deadline);
		if (r < 0)
			return r;
	}
	for (unsigned round = 0;; round++) {
		n = dyno_cgroup_count_procs(cg);
		if (n <= 0)
			return n;
		if (cg_now_ms() >= deadline)
			return -ETIMEDOUT;
		/* Now and then kill again: cheap, and it catches whatever slipped in meanwhile. */
		if (round % 16 == 15) {
			int r = whole ? cg->ops->kill_all(cg) : cg_kill_round(cg, deadline);
			if (r < 0)
				return r;
		}
		cg_backoff(round);
	}
}

int dyno_cgroup_destroy(struct dyno_cgroup *cg)
{
	if (!cg)
		return 0;
	int r = dyno_cgroup_kill(cg, CG_DEFAULT_TIMEOUT_MS);
	int rr = -EBUSY;
	/* Once empty, a busy cgroup is a matter of moments; when the kill failed, try once. */
	uint64_t deadline = cg_now_ms() + (r == 0 ? 2000 : 0);
	for (unsigned round = 0;; round++) {
		rr = cg->ops->remove(cg);
		/* The last exiting task can keep a cgroup busy for a moment after it left procs. */
		if (rr != -EBUSY || cg_now_ms() >= deadline)
			break;
		cg_backoff(round);
	}
	dyno_cgroup_free(cg);
	return r < 0 ? r : rr;
}

int dyno_cgroup_reconcile_prefix(const char *root, const char *prefix, const char *const *live,
				 size_t n_live)
{
	const char *rt = root ? root : CG_DEFAULT_ROOT;
	enum dyno_cgroup_mode mode;
	int r = cg_detect_root(rt, &mode);
	if (r < 0)
		return r;
	const struct cg_ops *ops = mode == DYNO_CGROUP_UNIFIED ? &cg_v2_ops : &cg_v1_ops;
	_cleanup_strv_free_ char **names = NULL;
	r = ops->list(rt, &names);
	if (r < 0)
		return r;

	int first = 0;
	for (char **n = names; n && *n; n++) {
		if (prefix && strncmp(*n, prefix, strlen(prefix)) != 0)
			continue;
		bool keep = false;
		for (size_t i = 0; i < n_live && !keep; i++)
			keep = live[i] && strcmp(live[i], *n) == 0;
		if (keep || !cg_name_valid(*n))
			continue;
		struct dyno_cgroup *cg = NULL;
		r = dyno_cgroup_open(rt, *n, &cg);
		if (r == -ENOENT)
			continue;
		if (r >= 0)
			r = dyno_cgroup_destroy(cg);
		if (r < 0 && r != -ENOENT && first == 0)
			first = r;
	}
	return first;
}

int dyno_cgroup_reconcile(const char *root, const char *const *live, size_t n_live)
{
	return dyno_cgroup_reconcile_prefix(root, NULL, live, n_live);
}
