/* Internals shared by the cgroup interface (cgroup.c) and its two backends (cgroup-v1.c,
 * cgroup-v2.c): the handle, the backend operations, and helpers for cgroupfs files. */
#ifndef DYNOHOST_RUNTIME_CGROUP_INTERNAL_H
#define DYNOHOST_RUNTIME_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"

/* The parent directory of every dyno cgroup, in each hierarchy. */
#define CG_PARENT "dynohost"
/* How long freeze/thaw (which take no timeout) and destroy wait for the kernel. */
#define CG_DEFAULT_TIMEOUT_MS 10000

/* v1 controllers dynohost uses; v2 uses slot 0 only. */
enum cg_v1_ctrl {
	CG_V1_MEMORY = 0,
	CG_V1_PIDS,
	CG_V1_CPU,
	CG_V1_CPUACCT,
	CG_V1_FREEZER,
	CG_V1_MAX,
};

struct dyno_cgroup;

struct cg_ops {
	/* Make the directories and apply limits; on failure remove what it made. */
	int (*create)(struct dyno_cgroup *cg, const struct dyno_limits *limits);
	/* Open existing directories (-ENOENT when none exists). */
	int (*open)(struct dyno_cgroup *cg);
	int (*attach)(struct dyno_cgroup *cg, pid_t pid);
	int (*stats)(struct dyno_cgroup *cg, struct dyno_cgroup_stats *ret);
	/* Read the pids in the cgroup into a malloc'd array. */
	int (*pids)(struct dyno_cgroup *cg, pid_t **ret, size_t *ret_n);
	/* Set the frozen state and wait until the kernel reports it (or deadline, CLOCK_MONOTONIC
	 * ms: -ETIMEDOUT). -EOPNOTSUPP without a freezer. */
	int (*freeze)(struct dyno_cgroup *cg, bool frozen, uint64_t deadline_ms);
	/* Backend-specific whole-cgroup kill (v2 cgroup.kill); -EOPNOTSUPP: use the generic loop. */
	int (*kill_all)(struct dyno_cgroup *cg);
	/* Wait until no process is left (or deadline: -ETIMEDOUT); -EOPNOTSUPP: poll instead. */
	int (*wait_empty)(struct dyno_cgroup *cg, uint64_t deadline_ms);
	/* rmdir every directory of the cgroup (missing ones are fine). */
	int (*remove)(struct dyno_cgroup *cg);
	/* dyno_cgroup_memory_event_fd() and _ack(). */
	int (*memory_event_fd)(struct dyno_cgroup *cg, int *ret_fd, short *ret_events);
	int (*memory_event_ack)(int fd);
	/* Names of the directories under dynohost/ (NULL-terminated strv). */
	int (*list)(const char *root, char ***ret);
};

struct dyno_cgroup {
	enum dyno_cgroup_mode mode;
	const struct cg_ops *ops;
	char *root;
	char *name;
	/* v1: O_PATH directory of dynohost/<name> in each controller's hierarchy, -1 where the
	 * controller is absent or shares a hierarchy with an earlier one (alias[] says which).
	 * v2: fd[0] is the one directory, also handed out by dyno_cgroup_fd(). */
	int fd[CG_V1_MAX];
	int alias[CG_V1_MAX];
	uint64_t quota;     /* memory_bytes (0: none), for over_quota */
	bool swap_limited;  /* the kill line is memory+swap (memsw / swap.max) */
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;

/* Mode of the hierarchy mounted at root (statfs magic of root, then of root/unified). */
int cg_detect_root(const char *root, enum dyno_cgroup_mode *ret_mode);
uint64_t cg_now_ms(void);
/* Sleep a little while polling: grows from 50 us to 10 ms with round. */
void cg_backoff(unsigned round);

/* One number from a cgroupfs file; "max" reads as UINT64_MAX. */
int cg_read_u64(int dirfd, const char *file, uint64_t *ret);
/* The value of "key N" in a flat keyed file (memory.events, pids.events, memory.oom_control). */
int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret);
int cg_write_u64(int dirfd, const char *file, uint64_t v);
/* Parse the pids of a cgroup.procs file. */
int cg_read_procs(int dirfd, pid_t **ret, size_t *ret_n);
bool cg_file_exists(int dirfd, const char *file);
/* Add the names of the subdirectories of path (none when path is missing) to the
 * NULL-terminated strv *v of *n names, each name once. */
int cg_list_subdirs(const char *path, char ***v, size_t *n);
/* Whether a name can be a dyno cgroup (also exported as dyno_cgroup_name_valid). */
bool cg_name_valid(const char *name);

#endif
