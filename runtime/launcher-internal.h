/* Internals shared by the launcher's files: the plan prepared before clone (every path, string
 * and buffer the child needs) and the child-side steps that run it without allocating. */
#ifndef DYNOHOST_RUNTIME_LAUNCHER_INTERNAL_H
#define DYNOHOST_RUNTIME_LAUNCHER_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "runtime/init-proto.h"
#include "runtime/launcher.h"

#define DYNO_SYNC_NET 'n'
#define DYNO_SYNC_GO 'g'
#define DYNO_SYNC_MAX_FDS 16

/* One filesystem action of the child. Paths before DYNO_OP_PIVOT are host paths; after it
 * they are inside the dyno's root, where the host's root is at /.host until DYNO_OP_DETACH. */
enum dyno_op_kind {
	DYNO_OP_MOUNT = 0, /* mount(src, dst, fstype, flags, data) */
	DYNO_OP_BIND_RO,   /* recursive bind of src on dst, then remount read-only */
	DYNO_OP_REMOUNT_RO,/* bind dst on itself, remount read-only */
	DYNO_OP_MKDIR,     /* mkdir dst mode (EEXIST is fine), then chmod when fix_mode */
	DYNO_OP_TOUCH,     /* create an empty file dst (a bind target) */
	DYNO_OP_MKNOD,     /* character device dst dev mode 0666 */
	DYNO_OP_SYMLINK,   /* symlink src at dst (after removing dst) */
	DYNO_OP_WRITE,     /* replace file dst with data (mode) */
	DYNO_OP_CHOWN,     /* chown dst uid:gid */
	DYNO_OP_PIVOT,     /* pivot_root(dst, dst/.host), chdir / */
	DYNO_OP_DETACH,    /* umount2(dst, MNT_DETACH), rmdir dst */
	DYNO_OP_JOIN_NET,  /* receive the dyno's network namespace from the parent, enter it */
	DYNO_OP_LOOPBACK_UP, /* bring lo up (in the dyno's network namespace) */
	DYNO_OP_MAX,
};


struct dyno_op {
	enum dyno_op_kind kind;
	enum dyno_step step;
	bool optional; /* ENOENT of the source or target is not an error */
	bool fix_mode;
	const char *src;
	const char *dst;
	const char *fstype;
	const char *data;
	unsigned long flags;
	mode_t mode;
	dev_t dev;
};

struct dyno_plan {
	struct dyno_op *ops;
	size_t n_ops, cap_ops;
	char **strings; /* everything the ops point to, freed with the plan */
	size_t n_strings, cap_strings;
	char *mount_dir; /* the tmpfs mount point: <run_dir>/<id>, made by the parent */
	char *dyno_dir;  /* <run_dir>/<id> */

	const char *hostname;
	uid_t uid;
	gid_t gid;
	unsigned long nofile;
	bool loopback_up; /* the child brings lo up once it is in the network namespace */
	bool kill_on_parent_death;
	int parent_pidfd; /* kill_on_parent_death: the parent, to see whether it died already */

	int init_fd;     /* dyno-init, O_RDONLY|O_CLOEXEC, run with execveat(AT_EMPTY_PATH) */
	char *script;    /* the command line, run by /bin/sh -c */
	char **init_envp; /* the dyno's environment, the command's and dyno-init's */

	/* fds the child moves into place (all O_CLOEXEC in the parent). */
	int stdin_fd, stdout_fd, stderr_fd;
	int ctl_fd;  /* the child's end of the control pipe: becomes fd DYNO_INIT_CTL_FD */
	/* The child's end of a SOCK_SEQPACKET pair. The parent works while the child builds its
	 * root and sends two messages, each one byte with fds (SCM_RIGHTS):
	 *   DYNO_SYNC_NET: the dyno's network namespace, which the child enters before it
	 *                  mounts /sys (sysfs shows the devices of the mounting task's namespace);
	 *   DYNO_SYNC_GO:  the cgroup is ready (v1: with its `tasks` fds) and the network is set
	 *                  up; the child moves itself into the cgroup and goes on to dyno-init. */
	int sync_fd;
	/* v1, parent side: the dyno cgroup's `tasks` file in each hierarchy, sent with
	 * DYNO_SYNC_GO; the child writes "0" to each to move itself, which (unlike a write of
	 * another pid or to cgroup.procs) does not take the global threadgroup lock and so does
	 * not wait for an RCU grace period. */
	int cg_tasks_fd[DYNO_SYNC_MAX_FDS];
	size_t n_cg_tasks;

	cap_t caps_empty;
	int cap_last;
	const struct sock_fprog *seccomp;
};

/* rootfs.c: fill plan->ops for p (stack, slug, /etc, /dev, /proc, /sys). */
int dyno_rootfs_plan(struct dyno_plan *plan, const struct dyno_params *p);
/* rootfs.c: run the ops in the child; on failure *ret_step says which. Returns 0 or -errno. */
int dyno_rootfs_apply(const struct dyno_plan *plan, enum dyno_step *ret_step);
struct dyno_plan *dyno_plan_free(struct dyno_plan *plan);
/* Keep s (a malloc'd string) with the plan; returns s, or NULL when s is NULL or on ENOMEM. */
char *dyno_plan_keep(struct dyno_plan *plan, char *s);
int dyno_plan_add(struct dyno_plan *plan, const struct dyno_op *op);

/* seccomp.c: the filter, compiled in at build time. */
int dyno_seccomp_get(const struct sock_fprog **ret);
/* seccomp.c: load prog into the calling thread (no allocation; raw seccomp(2)). */
int dyno_seccomp_load(const struct sock_fprog *prog);

/* caps.c: before clone. */
int dyno_caps_prepare(struct dyno_plan *plan);
/* caps.c: in the child: securebits, bounding set, user and groups, every capability set.
 * Returns 0 or -errno with *ret_step set. */
int dyno_caps_drop(const struct dyno_plan *plan, enum dyno_step *ret_step);

/* env.c: the dyno's environment ("K=V", NULL-terminated, malloc'd) and dyno-init's argv. */
int dyno_env_build(const struct dyno_params *p, char ***ret);
int dyno_command_script(const char *const *argv, char **ret);

/* launcher-child.c: everything after clone; never returns. */
_Noreturn void dyno_child_main(const struct dyno_plan *plan);
/* launcher-child.c: wait for the parent's message `type` on plan->sync_fd and take the fds it
 * carries (O_CLOEXEC) into fds[max]; *ret_n says how many. No allocation. 0 or -errno
 * (-ECANCELED: the parent closed the socket, or sent something else). */
int dyno_child_recv(const struct dyno_plan *plan, char type, int *fds, size_t max, size_t *ret_n);
/* Write one report to the control fd (no allocation). */
void dyno_child_report(int fd, enum dyno_step step, int error);

/* oneshot.c: the owner's lock of a one-shot dyno (<run_dir>/.oneshot/<id>, flock held for the
 * dyno's life). *ret_stale: the lock file was left by a dead owner, whose cgroup and run dir
 * dyno_oneshot_clean() removes. -EEXIST: a live owner has the id. */
int dyno_oneshot_lock(const char *run_dir, const char *id, int *ret_fd, bool *ret_stale);
/* Remove the lock file and release the lock (fd < 0: nothing). */
void dyno_oneshot_unlock(const char *run_dir, const char *id, int fd);
/* Remove a dead one-shot dyno's cgroup (killing what is left in it) and its run dir. */
int dyno_oneshot_clean(const char *run_dir, const char *cgroup_root, const char *id);

#endif
