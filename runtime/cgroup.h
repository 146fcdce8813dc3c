/* One cgroup per dyno, with the limits of its size, behind one interface and two backends:
 * the unified v2 hierarchy and v1/hybrid hosts (cgroup-v2.c, cgroup-v1.c). Every dyno's
 * cgroup lives under a `dynohost` subtree of the host's hierarchy; nothing else is touched. */
#ifndef DYNOHOST_RUNTIME_CGROUP_H
#define DYNOHOST_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum dyno_cgroup_mode {
	DYNO_CGROUP_UNIFIED = 0, /* pure v2 at /sys/fs/cgroup */
	DYNO_CGROUP_HYBRID,      /* v1 controllers + an (empty) v2 at /sys/fs/cgroup/unified */
	DYNO_CGROUP_LEGACY,      /* v1 only */
	DYNO_CGROUP_MODE_MAX,
};

/* Limits of one dyno; 0 means "no limit" for every field.
 *
 * Memory, Heroku's way: over the quota the dyno keeps running and swaps (R14); at the kill
 * line (2x the quota) the kernel OOM-kills it (R15). Both backends express that the same way:
 *   v1: memory.limit_in_bytes = memory_bytes, memory.memsw.limit_in_bytes = memory_kill_bytes;
 *   v2: memory.max = memory_bytes, memory.swap.max = memory_kill_bytes - memory_bytes.
 * RAM never exceeds the quota; memory+swap never exceeds the kill line. memory.high is not
 * used (it throttles instead of letting the dyno swap). Where the kernel does not account
 * swap (no memsw / swap.max file), the quota itself is the kill line; stats report which
 * (swap_limited). On a host without swap the OOM killer therefore acts at the quota.
 * memory_kill_bytes must be 0 or >= memory_bytes, and needs memory_bytes. */
struct dyno_limits {
	uint64_t memory_bytes; /* the quota: over it the dyno swaps (R14) */
	uint64_t memory_kill_bytes; /* memory+swap at which the kernel OOM-kills it (R15; 2x quota) */
	uint64_t pids_max;
	uint64_t cpu_weight; /* v2 weight 1..10000 (100 = default); v1 shares derived from it */
};

/* What the dyno's cgroup has seen so far. */
struct dyno_cgroup_stats {
	uint64_t memory_current; /* bytes charged now */
	uint64_t memory_peak;    /* high-water mark, where the kernel keeps one */
	uint64_t swap_current;   /* bytes in swap now (0 where unknown) */
	uint64_t oom_kills;      /* processes the OOM killer took in this cgroup */
	uint64_t pids_current;
	uint64_t pids_limit_hits; /* forks refused at pids.max */
	bool over_quota;          /* memory_current (+swap) is above memory_bytes: R14 */
	uint64_t memory_limit_hits; /* times usage hit the quota (v1 memory.failcnt, v2 "max") */
	uint64_t cpu_usage_usec;    /* CPU time used (v1 cpuacct.usage, v2 cpu.stat usage_usec) */
	bool swap_limited;          /* the kill line is memory+swap; false: the quota kills */
};

struct dyno_cgroup;

/* Which hierarchy this host runs (statfs of /sys/fs/cgroup, then of .../unified). */
int dyno_cgroup_detect(enum dyno_cgroup_mode *ret_mode);
/* The same for a cgroupfs mount or delegated v2 directory `root` (NULL: /sys/fs/cgroup). */
int dyno_cgroup_detect_root(const char *root, enum dyno_cgroup_mode *ret_mode);
const char *dyno_cgroup_mode_to_string(enum dyno_cgroup_mode mode);
/* Whether name can be a dyno cgroup: [A-Za-z0-9._@-], not starting with '.', at most 200. */
bool dyno_cgroup_name_valid(const char *name);
/* v1 cpu.shares for a v2 weight: weight*1024/100, clamped to 2..262144. */
uint64_t dyno_cgroup_cpu_shares_from_weight(uint64_t weight);

/* Create the cgroup `dynohost/<name>` (in every v1 controller that dynohost uses, or once in
 * v2) and apply limits. `root` is the cgroupfs mount ("/sys/fs/cgroup" unless a test says
 * otherwise; NULL for the default). On v2 root may also be a delegated cgroup2 directory with
 * no processes of its own; the memory, pids and cpu controllers are enabled in its and in
 * dynohost/'s cgroup.subtree_control where missing (-EOPNOTSUPP when a limit needs one the
 * kernel does not offer there). Exists already: -EEXIST. On failure nothing is left behind. */
int dyno_cgroup_create(const char *root, const char *name, const struct dyno_limits *limits,
		       struct dyno_cgroup **ret);
/* Open an existing dyno cgroup (re-adoption after a restart of the host service). */
int dyno_cgroup_open(const char *root, const char *name, struct dyno_cgroup **ret);

enum dyno_cgroup_mode dyno_cgroup_get_mode(const struct dyno_cgroup *cg);

/* On v2: an O_PATH|O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP); -EOPNOTSUPP
 * on v1. The fd stays owned by the cgroup object. */
int dyno_cgroup_fd(struct dyno_cgroup *cg);
/* Move pid (and on v1, in every controller) into the cgroup. */
int dyno_cgroup_attach(struct dyno_cgroup *cg, pid_t pid);
/* v1: O_WRONLY|O_CLOEXEC fds of the cgroup's `tasks` file in each hierarchy, for a freshly
 * cloned, single-threaded child that moves itself by writing "0" to each (no allocation, fine
 * after clone). Unlike dyno_cgroup_attach() of another pid, that skips the kernel's global
 * threadgroup lock and its RCU grace period (about 0.7 ms per hierarchy). Up to max fds go to
 * ret_fds, *ret_n says how many; the caller closes them. -EOPNOTSUPP on v2 (use
 * dyno_cgroup_fd() with CLONE_INTO_CGROUP), -E2BIG when max is too small. */
int dyno_cgroup_open_self_attach(struct dyno_cgroup *cg, int *ret_fds, size_t max, size_t *ret_n);

int dyno_cgroup_stats(struct dyno_cgroup *cg, struct dyno_cgroup_stats *ret);
/* A pollable fd (O_CLOEXEC, owned by the caller) that wakes when the dyno's memory state
 * changes, so a supervisor learns of an OOM kill (R15) without polling stats: it wakes at least
 * on every OOM event, on v2 also when usage hits the quota (R14 pressure). Poll it for
 * *ret_events (v1: an eventfd on memory.oom_control, POLLIN; v2: memory.events, POLLPRI),
 * then call dyno_cgroup_memory_event_ack() and read dyno_cgroup_stats(). */
int dyno_cgroup_memory_event_fd(struct dyno_cgroup *cg, int *ret_fd, short *ret_events);
/* Re-arm the fd after a wake-up. */
int dyno_cgroup_memory_event_ack(struct dyno_cgroup *cg, int fd);
/* Number of processes in the cgroup now (0 when empty). */
int dyno_cgroup_count_procs(struct dyno_cgroup *cg);
/* Freeze or thaw every process of the dyno; returns once the kernel reports the new state
 * (-ETIMEDOUT after 10 s). Freezing the caller's own cgroup is -EDEADLK. */
int dyno_cgroup_freeze(struct dyno_cgroup *cg, bool frozen);
/* SIGKILL every process of the dyno (cgroup.kill on v2; freeze, kill, thaw on v1) and wait
 * until the cgroup is empty or timeout_ms passes (-ETIMEDOUT; 0: signal, do not wait). The
 * caller's own cgroup is -EDEADLK. */
int dyno_cgroup_kill(struct dyno_cgroup *cg, int timeout_ms);
/* Kill what is left and remove the cgroup directories. Frees cg. NULL is fine. Returns 0 or
 * the first -errno; the object is freed either way. */
int dyno_cgroup_destroy(struct dyno_cgroup *cg);
/* Free the handle, leave the cgroup as it is (the dyno keeps running). Returns NULL. */
struct dyno_cgroup *dyno_cgroup_free(struct dyno_cgroup *cg);

/* Remove dyno cgroups under dynohost/ whose name is not in live[] (after a crash or reboot);
 * empty ones only after killing their processes. */
int dyno_cgroup_reconcile(const char *root, const char *const *live, size_t n_live);
/* The same, limited to names starting with prefix (tests use their own prefix; NULL: all). */
int dyno_cgroup_reconcile_prefix(const char *root, const char *prefix, const char *const *live,
				 size_t n_live);

static inline void dyno_cgroup_freep(struct dyno_cgroup **cg)
{
	*cg = dyno_cgroup_free(*cg);
}
#define _cleanup_dyno_cgroup_ __attribute__((cleanup(dyno_cgroup_freep)))

#endif
