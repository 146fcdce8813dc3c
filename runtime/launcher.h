/* The dyno launcher: one isolated, limited process tree per dyno (namespaces, overlay rootfs,
 * cgroup, no capabilities, seccomp, an unprivileged uid, PID 1 = dyno-init), its output as lines,
 * and its lifecycle (signal, stop with grace, wait, status). Library code: returns -errno. */
#ifndef DYNOHOST_RUNTIME_LAUNCHER_H
#define DYNOHOST_RUNTIME_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"

#define DYNO_DEFAULT_UID 10000
#define DYNO_DEFAULT_GID 10000
#define DYNO_DEFAULT_GRACE_MS 30000
#define DYNO_DEFAULT_TMPFS_BYTES (512ULL << 20)
#define DYNO_DEFAULT_NOFILE 10000
#define DYNO_DEFAULT_OUTPUT_BYTES (256U << 10)
/* Lines longer than this reach the caller in pieces of this size. */
#define DYNO_LINE_MAX 8192

/* A dyno size from DESIGN.md: memory quota (R14), kill at 2x (1.2x for performance-l: R15),
 * pids, cpu weight. */
struct dyno_size {
	const char *name;
	struct dyno_limits limits;
};
/* Look a size up by name ("standard-1x", ...). NULL when unknown. */
const struct dyno_size *dyno_size_find(const char *name);
/* All sizes, NULL-name terminated. */
extern const struct dyno_size dyno_sizes[];

/* Where a launch can fail: what a caller sees is "step: errno". */
enum dyno_step {
	DYNO_STEP_NONE = 0,
	DYNO_STEP_PREPARE,      /* parent: arguments, paths, files before clone */
	DYNO_STEP_RUN_DIR,      /* parent: creating <run_dir>/<id> */
	DYNO_STEP_CGROUP,       /* parent: creating the dyno's cgroup */
	DYNO_STEP_CLONE,        /* parent: clone3 */
	DYNO_STEP_CGROUP_ATTACH,/* moving the child into the cgroup (v1: the child, itself) */
	DYNO_STEP_NET,          /* parent: the network namespace and the network callback */
	DYNO_STEP_SYNC,         /* child: waiting for the parent */
	DYNO_STEP_MOUNT_PRIVATE,/* child: making the mount tree private */
	DYNO_STEP_TMPFS,        /* child: the per-dyno tmpfs */
	DYNO_STEP_ROOT,         /* child: the root overlay (or the host stack's binds) */
	DYNO_STEP_APP,          /* child: the slug overlay at /app */
	DYNO_STEP_ETC,          /* child: /etc files */
	DYNO_STEP_DEV,          /* child: /dev */
	DYNO_STEP_PROC,         /* child: /proc and its masks */
	DYNO_STEP_SYS,          /* child: /sys */
	DYNO_STEP_PIVOT_ROOT,   /* child: pivot_root and detaching the old root */
	DYNO_STEP_NET_JOIN,     /* child: entering the network namespace the parent made */
	DYNO_STEP_HOSTNAME,     /* child: sethostname */
	DYNO_STEP_LOOPBACK,     /* child: bringing lo up in the dyno's network namespace */
	DYNO_STEP_CGROUPNS,     /* child: unshare(CLONE_NEWCGROUP) */
	DYNO_STEP_RLIMITS,      /* child: setrlimit */
	DYNO_STEP_STDIO,        /* child: stdin/stdout/stderr */
	DYNO_STEP_USER,         /* child: setgroups/setresgid/setresuid */
	DYNO_STEP_CAPS,         /* child: bounding set, capability sets, securebits */
	DYNO_STEP_NO_NEW_PRIVS, /* child: PR_SET_NO_NEW_PRIVS */
	DYNO_STEP_SECCOMP,      /* child: loading the seccomp filter */
	DYNO_STEP_EXEC_INIT,    /* child: executing dyno-init */
	DYNO_STEP_INIT,         /* dyno-init: its own setup */
	DYNO_STEP_FORK_COMMAND, /* dyno-init: starting the command */
	DYNO_STEP_CHDIR,        /* dyno-init: chdir /app */
	DYNO_STEP_EXEC_COMMAND, /* dyno-init: executing /bin/sh -c. Not a failed launch: the
				 * dyno runs, and the command ends with 127 or 126. */
	DYNO_STEP_MAX,
};
const char *dyno_step_to_string(enum dyno_step step);

/* "Which step failed, with which errno" for a failed dyno_spawn(). */
struct dyno_error {
	enum dyno_step step;
	int error; /* positive errno */
};

/* Called in the parent after clone, before the dyno's command runs: netns_fd is the dyno's
 * network namespace (O_RDONLY|O_CLOEXEC; the callee must not keep it past the call unless it
 * dups it). Return 0 or -errno. The caller undoes what it did after dyno_wait(). */
typedef int (*dyno_net_fn)(void *userdata, const char *id, int netns_fd);

enum dyno_net_mode {
	DYNO_NET_NONE = 0, /* a new network namespace with only lo, up */
	DYNO_NET_CALLBACK, /* a new namespace that net_fn configures (a veth on the bridge) */
	DYNO_NET_MODE_MAX,
};

struct dyno_params {
	const char *id;    /* [A-Za-z0-9._-]{1,64}: cgroup dynohost/<id>, run dir, hostname */
	const char *stack; /* a root filesystem directory, or "host" */
	const char *slug;  /* the unpacked app, at /app (a writable overlay); NULL: empty /app */
	const char *const *argv; /* the command: words joined by spaces, run by /bin/sh -c */
	const char *const *env; /* config vars "K=V", NULL-terminated; NULL for none */
	const char *dyno_name;  /* $DYNO ("web.1", "run.1234"); NULL: not set */
	unsigned port;          /* $PORT when non-zero */
	struct dyno_limits limits; /* all zero: no limits */
	uint64_t tmpfs_bytes;   /* the ephemeral filesystem (/, /app and /tmp writes); 0: default */
	uid_t uid;              /* 0: DYNO_DEFAULT_UID; root is refused */
	gid_t gid;              /* 0: DYNO_DEFAULT_GID */
	uint64_t nofile;        /* RLIMIT_NOFILE; 0: DYNO_DEFAULT_NOFILE */
	const char *run_dir;    /* NULL: DYNOHOST_RUNDIR "/dynos" */
	const char *cgroup_root; /* NULL: /sys/fs/cgroup */
	const char *hostname;   /* NULL: the id */
	const char *resolv_conf; /* contents of /etc/resolv.conf; NULL: the host's */
	enum dyno_net_mode net;
	dyno_net_fn net_fn;
	void *net_userdata;
	int stdin_fd;           /* -1: /dev/null */
	size_t output_bytes;    /* bound of the queued output lines; 0: DYNO_DEFAULT_OUTPUT_BYTES */
	bool kill_on_parent_death; /* for one-shot callers (`dyno exec`) */
	const char *init_path;  /* NULL: $DYNOHOST_INIT, else DYNOHOST_LIBEXECDIR "/dyno-init" */
};
/* Defaults for every field (stdin_fd = -1). */
void dyno_params_init(struct dyno_params *p);

enum dyno_state {
	DYNO_STATE_STARTING = 0, /* cloned, dyno-init not yet running the command */
	DYNO_STATE_RUNNING,
	DYNO_STATE_STOPPING,     /* SIGTERM sent, grace running */
	DYNO_STATE_EXITED,
	DYNO_STATE_MAX,
};
const char *dyno_state_to_string(enum dyno_state state);

struct dyno_status {
	enum dyno_state state;
	pid_t pid;         /* dyno-init (PID 1 of the dyno) in the caller's pid namespace */
	bool exited;       /* the command ended: exit_code or signal is set */
	int exit_code;     /* when it exited normally, else -1 */
	int signal;        /* when a signal killed it, else 0 */
	bool oom_killed;   /* the memory cgroup killed a process of the dyno (R15) */
	bool over_quota;   /* memory above the quota right now or at the end (R14) */
	bool killed_after_grace; /* a stop had to SIGKILL the dyno */
	struct dyno_error error; /* dyno-init failed to start the command (step != NONE) */
	uint64_t lines_dropped;  /* output lines lost because nobody read them */
	struct dyno_cgroup_stats cgroup;
};

enum dyno_stream {
	DYNO_STREAM_STDOUT = 1,
	DYNO_STREAM_STDERR = 2,
};

struct dyno_line {
	enum dyno_stream stream;
	size_t len;    /* without the newline */
	char *data;    /* NUL-terminated; owned by the caller (free()) */
};

struct dyno;

/* Start a dyno. Call it from a single-threaded process (the child between clone and exec
 * relies on it, STYLE.md). On success *ret is a running (or starting) dyno. On failure nothing
 * is left behind (no process, cgroup, mount, run dir) and, when ret_error is not NULL, it says
 * which step failed. The seccomp filter is compiled in at build time (runtime/seccomp-gen.c).
 *
 * The work runs on two CPUs at once. clone3 makes the pid, mount, uts and ipc namespaces (on v2
 * straight into the cgroup). While the child builds the root filesystem and detaches the
 * host's tree, the parent makes the network namespace and then the v1 cgroup. A new network
 * namespace is the costliest single step, so it is not a clone3 flag: a short-lived helper
 * process born in it (sharing the caller's memory and fds while the caller waits for it) sets
 * its unprivileged ports from inside and leaves an fd; the calling thread never changes
 * namespace. The parent hands the namespace to the child with SCM_RIGHTS. The child enters it,
 * brings lo up and mounts /sys, moves itself into the cgroup, drops its privileges and executes
 * dyno-init, which makes itself non-dumpable and starts the command. */
int dyno_spawn(const struct dyno_params *p, struct dyno **ret, struct dyno_error *ret_error);

/* fds to poll for POLLIN (the dyno's pidfd, its control pipe and its output pipes); returns
 * how many were written to fds (at most 4). Call dyno_process() when any is readable. */
size_t dyno_poll_fds(struct dyno *d, int fds[4]);
/* Read what is available without blocking: output into the line queue, dyno-init's reports,
 * and the exit; SIGKILL a stop whose grace is over (dyno_stop_deadline()). Returns 1 when the
 * dyno has exited (and is reaped), 0 otherwise, or -errno. */
int dyno_process(struct dyno *d);
/* Take the oldest queued output line. 1: *ret filled; 0: none queued. */
int dyno_next_line(struct dyno *d, struct dyno_line *ret);

/* Send sig to the dyno's PID 1; dyno-init forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1/2, SIGQUIT
 * to every process of the dyno. */
int dyno_signal(struct dyno *d, int sig);
/* SIGKILL every process of the dyno now. */
int dyno_kill(struct dyno *d);
/* Heroku's stop without blocking: SIGTERM now; dyno_stop_deadline() says when to dyno_kill(). */
int dyno_stop_begin(struct dyno *d, int grace_ms);
/* The CLOCK_MONOTONIC ms at which a stop in progress must SIGKILL; 0 when none. */
uint64_t dyno_stop_deadline(struct dyno *d);
/* Blocking stop: SIGTERM, wait grace_ms (< 0: the default 30 s) processing output, then SIGKILL
 * and wait for the end. */
int dyno_stop(struct dyno *d, int grace_ms);
/* Wait up to timeout_ms (< 0: forever) for the dyno to exit, processing output meanwhile
 * (queued lines stay queued). 0 when exited, -ETIMEDOUT otherwise. Escalates a stop in
 * progress to SIGKILL at its deadline. */
int dyno_wait(struct dyno *d, int timeout_ms);
int dyno_get_status(struct dyno *d, struct dyno_status *ret);
const char *dyno_get_id(struct dyno *d);

/* Kill the dyno if it still runs, remove its cgroup and run dir, free it. NULL is fine.
 * Returns NULL. */
struct dyno *dyno_free(struct dyno *d);

/* One-shot dynos (kill_on_parent_death) die with their owner; an owner that was SIGKILLed
 * leaves their cgroup and run dir behind. Remove those of dead owners under run_dir (NULL: the
 * default) and cgroup_root (NULL: /sys/fs/cgroup); cleaned, when not NULL, hears each id (to
 * release its network lease, say). Dynos of live owners and of the host service are not
 * touched. Returns how many were removed, or the first -errno. A later launch of the same id
 * removes them too. */
int dyno_reconcile_oneshot(const char *run_dir, const char *cgroup_root,
			   void (*cleaned)(void *userdata, const char *id), void *userdata);

/* The seccomp filter as classic BPF, compiled in at build time (for tests and diagnostics). */
int dyno_seccomp_program(const void **ret_filter, size_t *ret_len);

static inline void dyno_freep(struct dyno **d)
{
	*d = dyno_free(*d);
}
#define _cleanup_dyno_ __attribute__((cleanup(dyno_freep)))

#endif
