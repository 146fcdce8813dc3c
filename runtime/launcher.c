/* The launcher's parent side: prepare a plan, clone3 into new namespaces with a pidfd, place
 * the child in its cgroup and network, release it, then follow the dyno: output as bounded
 * lines, dyno-init's reports, signals, stop with grace, exit status, cleanup. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/launcher-internal.h"

struct dyno_qline {
	struct dyno_qline *next;
	enum dyno_stream stream;
	size_t len;
	char data[];
};

struct dyno_partial {
	int fd;
	enum dyno_stream stream;
	size_t len;
	char buf[DYNO_LINE_MAX];
};

struct dyno {
	char *id;
	char *dyno_dir; /* <run_dir>/<id>: in the dyno's mount namespace, its tmpfs */
	char *run_dir;
	int oneshot_fd; /* one-shot dynos: the owner's lock (oneshot.c), -1 otherwise */
	pid_t pid;
	int pidfd;
	int ctl_fd;
	struct dyno_partial out, err;
	struct dyno_cgroup *cg;

	enum dyno_state state;
	bool reaped;
	bool have_cmd_status;
	int cmd_status;  /* wait status of the command, from dyno-init */
	int init_status; /* wait status of dyno-init */
	struct dyno_error error;
	bool killed_after_grace;
	uint64_t stop_deadline;
	struct dyno_cgroup_stats stats;
	bool have_stats;

	struct dyno_qline *head, *tail;
	size_t queued_bytes, max_bytes;
	uint64_t dropped;
};

static const char *const step_names[DYNO_STEP_MAX] = {
	[DYNO_STEP_NONE] = "none",
	[DYNO_STEP_PREPARE] = "prepare",
	[DYNO_STEP_RUN_DIR] = "run-dir",
	[DYNO_STEP_CGROUP] = "cgroup",
	[DYNO_STEP_CLONE] = "clone3",
	[DYNO_STEP_CGROUP_ATTACH] = "cgroup-attach",
	[DYNO_STEP_NET] = "network",
	[DYNO_STEP_SYNC] = "sync",
	[DYNO_STEP_MOUNT_PRIVATE] = "mount-private",
	[DYNO_STEP_TMPFS] = "tmpfs",
	[DYNO_STEP_ROOT] = "root",
	[DYNO_STEP_APP] = "app",
	[DYNO_STEP_ETC] = "etc",
	[DYNO_STEP_DEV] = "dev",
	[DYNO_STEP_PROC] = "proc",
	[DYNO_STEP_SYS] = "sys",
	[DYNO_STEP_PIVOT_ROOT] = "pivot-root",
	[DYNO_STEP_NET_JOIN] = "net-join",
	[DYNO_STEP_HOSTNAME] = "hostname",
	[DYNO_STEP_LOOPBACK] = "loopback",
	[DYNO_STEP_CGROUPNS] = "cgroupns",
	[DYNO_STEP_RLIMITS] = "rlimits",
	[DYNO_STEP_STDIO] = "stdio",
	[DYNO_STEP_USER] = "user",
	[DYNO_STEP_CAPS] = "capabilities",
	[DYNO_STEP_NO_NEW_PRIVS] = "no-new-privs",
	[DYNO_STEP_SECCOMP] = "seccomp",
	[DYNO_STEP_EXEC_INIT] = "exec-init",
	[DYNO_STEP_INIT] = "init",
	[DYNO_STEP_FORK_COMMAND] = "fork-command",
	[DYNO_STEP_CHDIR] = "chdir-app",
	[DYNO_STEP_EXEC_COMMAND] = "exec-command",
};

const char *dyno_step_to_string(enum dyno_step step)
{
	if ((unsigned)step >= DYNO_STEP_MAX)
		return "unknown";
	return step_names[step];
}

static const char *const state_names[DYNO_STATE_MAX] = {
	[DYNO_STATE_STARTING] = "starting",
	[DYNO_STATE_RUNNING] = "running",
	[DYNO_STATE_STOPPING] = "stopping",
	[DYNO_STATE_EXITED] = "exited",
};

const char *dyno_state_to_string(enum dyno_state state)
{
	if ((unsigned)state >= DYNO_STATE_MAX)
		return "unknown";
	return state_names[state];
}

void dyno_params_init(struct dyno_params *p)
{
	memset(p, 0, sizeof(*p));
	p->stdin_fd = -1;
	p->net = DYNO_NET_NONE;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- output ---- */

static void queue_line(struct dyno *d, enum dyno_stream stream, const char *data, size_t len)
{
	if (d->queued_bytes + len + 1 > d->max_bytes) {
		d->dropped++;
		return;
	}
	struct dyno_qline *l = malloc(sizeof(*l) + len + 1);
	if (!l) {
		d->dropped++;
		return;
	}
	l->next = NULL;
	l->stream = stream;
	l->len = len;
	memcpy(l->data, data, len);
	l->data[len] = 0;
	if (d->tail)
		d->tail->next = l;
	else
		d->head = l;
	d->tail = l;
	d->queued_bytes += len + 1;
}

/* Read what the pipe has (at most max_reads reads, so one chatty dyno cannot hold up a caller
 * that serves many; 0: until it is empty); split into lines. Returns 1 at EOF, 0 otherwise. */
static int drain_stream(struct dyno *d, struct dyno_partial *s, unsigned max_reads)
{
	char buf[16384];
	if (s->fd < 0)
		return 1;
	for (unsigned reads = 0; max_reads == 0 || reads < max_reads; reads++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			n = 0; /* treat errors as the end of the stream */
		}
		if (n == 0) {
			if (s->len > 0)
				queue_line(d, s->stream, s->buf, s->len);
			s->len = 0;
			s->fd = safe_close(s->fd);
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				queue_line(d, s->stream, s->buf, s->len);
				s->len = 0;
				continue;
			}
			s->buf[s->len++] = buf[i];
			if (s->len == sizeof(s->buf)) {
				queue_line(d, s->stream, s->buf, s->len);
				s->len = 0;
			}
		}
	}
	return 0;
}

int dyno_next_line(struct dyno *d, struct dyno_line *ret)
{
	struct dyno_qline *l = d->head;
	if (!l)
		return 0;
	char *data = malloc(l->len + 1);
	if (!data)
		return -ENOMEM;
	memcpy(data, l->data, l->len + 1);
	d->head = l->next;
	if (!d->head)
		d->tail = NULL;
	d->queued_bytes -= l->len + 1;
	*ret = (struct dyno_line){ .stream = l->stream, .len = l->len, .data = data };
	free(l);
	return 1;
}

/* ---- control pipe ---- */

static void handle_msg(struct dyno *d, const struct dyno_init_msg *m)
{
	switch (m->type) {
	case DYNO_INIT_MSG_ERROR:
		if (d->error.step == DYNO_STEP_NONE) {
			bool known = m->step > 0 && m->step < DYNO_STEP_MAX;
			d->error.step = known ? (enum dyno_step)m->step : DYNO_STEP_INIT;
			d->error.error = m->error;
		}
		break;
	case DYNO_INIT_MSG_STARTED:
		if (d->state == DYNO_STATE_STARTING)
			d->state = DYNO_STATE_RUNNING;
		break;
	case DYNO_INIT_MSG_EXITED:
		d->have_cmd_status = true;
		d->cmd_status = m->value;
		/* The command's end is what the status describes; reading the cgroup now also
		 * overlaps with dyno-init's exit, which takes the dyno's mounts down. */
		if (d->cg && dyno_cgroup_stats(d->cg, &d->stats) == 0)
			d->have_stats = true;
		break;
	}
}

/* Returns 1 at EOF, 0 otherwise. */
static int drain_ctl(struct dyno *d)
{
	struct dyno_init_msg m;
	if (d->ctl_fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(d->ctl_fd, &m, sizeof(m));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n != (ssize_t)sizeof(m)) {
			d->ctl_fd = safe_close(d->ctl_fd);
			return 1;
		}
		handle_msg(d, &m);
	}
}

static void finish(struct dyno *d)
{
	/* The pid namespace is gone: nobody holds the pipes' write ends any more. */
	int flags;
	if (d->out.fd >= 0 && (flags = fcntl(d->out.fd, F_GETFL)) != -1)
		(void)fcntl(d->out.fd, F_SETFL, flags & ~O_NONBLOCK);
	if (d->err.fd >= 0 && (flags = fcntl(d->err.fd, F_GETFL)) != -1)
		(void)fcntl(d->err.fd, F_SETFL, flags & ~O_NONBLOCK);
	drain_stream(d, &d->out, 0);
	drain_stream(d, &d->err, 0);
	drain_ctl(d);
	if (d->cg) {
		if (!d->have_stats && dyno_cgroup_stats(d->cg, &d->stats) == 0)
			d->have_stats = true;
		(void)dyno_cgroup_destroy(d->cg);
		d->cg = NULL;
	}
	if (d->dyno_dir)
		(void)rmdir(d->dyno_dir);
	dyno_oneshot_unlock(d->run_dir, d->id, d->oneshot_fd);
	d->oneshot_fd = -1;
	d->state = DYNO_STATE_EXITED;
	d->stop_deadline = 0;
}

static int reap(struct dyno *d, bool block)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (d->reaped)
		return 1;
	if (waitid((idtype_t)P_PIDFD, (id_t)d->pidfd, &si, WEXITED | (block ? 0 : WNOHANG)) == -1)
		return errno == EINTR ? 0 : -errno;
	if (si.si_pid == 0)
		return 0;
	d->reaped = true;
	/* Back to a wait(2) status: exit code in bits 8..15, or the signal in bits 0..6. */
	if (si.si_code == CLD_EXITED)
		d->init_status = (si.si_status & 0xff) << 8;
	else
		d->init_status = si.si_status & 0x7f;
	finish(d);
	return 1;
}

size_t dyno_poll_fds(struct dyno *d, int fds[4])
{
	size_t n = 0;
	if (d->state == DYNO_STATE_EXITED)
		return 0;
	fds[n++] = d->pidfd;
	if (d->ctl_fd >= 0)
		fds[n++] = d->ctl_fd;
	if (d->out.fd >= 0)
		fds[n++] = d->out.fd;
	if (d->err.fd >= 0)
		fds[n++] = d->err.fd;
	return n;
}

static void escalate_if_due(struct dyno *d)
{
	if (d->stop_deadline && now_ms() >= d->stop_deadline && !d->reaped) {
		d->killed_after_grace = true;
		d->stop_deadline = 0;
		(void)dyno_kill(d);
	}
}

int dyno_process(struct dyno *d)
{
	if (d->state == DYNO_STATE_EXITED)
		return 1;
	escalate_if_due(d);
	drain_stream(d, &d->out, 16);
	drain_stream(d, &d->err, 16);
	drain_ctl(d);
	return reap(d, false);
}

/* ---- signals and stop ---- */

static int pidfd_signal(struct dyno *d, int sig)
{
	if (d->reaped)
		return -ESRCH;
	return RET_NERRNO(syscall(SYS_pidfd_send_signal, d->pidfd, sig, NULL, 0));
}

int dyno_signal(struct dyno *d, int sig)
{
	return pidfd_signal(d, sig);
}

int dyno_kill(struct dyno *d)
{
	if (d->reaped)
		return 0;
	/* SIGKILL to PID 1 of a pid namespace kills every process in it; the cgroup kill is for
	 * anything that might have been placed in the cgroup from outside. */
	int r = pidfd_signal(d, SIGKILL);
	if (d->cg)
		(void)dyno_cgroup_kill(d->cg, 0);
	return r == -ESRCH ? 0 : r;
}

int dyno_stop_begin(struct dyno *d, int grace_ms)
{
	if (d->state == DYNO_STATE_EXITED)
		return 0;
	if (grace_ms < 0)
		grace_ms = DYNO_DEFAULT_GRACE_MS;
	if (d->state != DYNO_STATE_STOPPING) {
		d->state = DYNO_STATE_STOPPING;
		d->stop_deadline = now_ms() + (uint64_t)grace_ms;
	}
	int r = pidfd_signal(d, SIGTERM);
	return r == -ESRCH ? 0 : r;
}

uint64_t dyno_stop_deadline(struct dyno *d)
{
	return d->stop_deadline;
}

int dyno_wait(struct dyno *d, int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int r = dyno_process(d);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
		uint64_t now = now_ms();
		if (d->stop_deadline && now >= d->stop_deadline)
			continue; /* dyno_process() escalates */
		if (deadline && now >= deadline)
			return -ETIMEDOUT;
		int wait = -1;
		if (deadline)
			wait = (int)(deadline - now);
		if (d->stop_deadline && (wait < 0 || d->stop_deadline - now < (uint64_t)wait))
			wait = (int)(d->stop_deadline - now);
		int fds[4];
		struct pollfd pfd[4];
		size_t n = dyno_poll_fds(d, fds);
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfd, n, wait) == -1 && errno != EINTR)
			return -errno;
	}
}

int dyno_stop(struct dyno *d, int grace_ms)
{
	int r = dyno_stop_begin(d, grace_ms);
	if (r < 0)
		return r;
	return dyno_wait(d, -1);
}

int dyno_get_status(struct dyno *d, struct dyno_status *ret)
{
	struct dyno_status s = {
		.state = d->state, .pid = d->pid, .exit_code = -1,
		.killed_after_grace = d->killed_after_grace, .error = d->error,
		.lines_dropped = d->dropped,
	};
	if (d->have_stats)
		s.cgroup = d->stats;
	else if (d->cg)
		(void)dyno_cgroup_stats(d->cg, &s.cgroup);
	if (d->reaped) {
		int st = d->have_cmd_status ? d->cmd_status : d->init_status;
		s.exited = true;
		if (WIFSIGNALED(st))
			s.signal = WTERMSIG(st);
		else
			s.exit_code = WEXITSTATUS(st);
	}
	s.oom_killed = s.cgroup.oom_kills > 0;
	s.over_quota = s.cgroup.over_quota;
	*ret = s;
	return 0;
}

const char *dyno_get_id(struct dyno *d)
{
	return d->id;
}

struct dyno *dyno_free(struct dyno *d)
{
	if (!d)
		return NULL;
	if (d->pidfd >= 0 && !d->reaped) {
		(void)dyno_kill(d);
		while (reap(d, true) == 0)
			;
	}
	if (d->state != DYNO_STATE_EXITED)
		finish(d);
	while (d->head) {
		struct dyno_qline *l = d->head;
		d->head = l->next;
		free(l);
	}
	safe_close(d->pidfd);
	safe_close(d->ctl_fd);
	safe_close(d->out.fd);
	safe_close(d->err.fd);
	if (d->cg)
		(void)dyno_cgroup_destroy(d->cg);
	dyno_oneshot_unlock(d->run_dir, d->id, d->oneshot_fd);
	free(d->id);
	free(d->dyno_dir);
	free(d->run_dir);
	free(d);
	return NULL;
}

/* ---- spawn ---- */

static inline void dyno_plan_freep(struct dyno_plan **p)
{
	*p = dyno_plan_free(*p);
}

static int plan_prepare(const struct dyno_params *p, struct dyno_plan *plan)
{
	int r;
	plan->uid = p->uid ? p->uid : DYNO_DEFAULT_UID;
	plan->gid = p->gid ? p->gid : DYNO_DEFAULT_GID;
	plan->nofile = p->nofile ? p->nofile : DYNO_DEFAULT_NOFILE;
	plan->hostname = p->hostname ? p->hostname : p->id;
	plan->loopback_up = p->net == DYNO_NET_NONE;
	plan->kill_on_parent_death = p->kill_on_parent_death;
	if (plan->kill_on_parent_death) {
		plan->parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		if (plan->parent_pidfd == -1)
			return -errno;
	}
	if (strlen(plan->hostname) > 64)
		return -EINVAL;

	const char *init = p->init_path;
	if (!init)
		init = getenv("DYNOHOST_INIT");
	if (!init || !*init)
		init = DYNOHOST_LIBEXECDIR "/dyno-init";
	plan->init_fd = open(init, O_RDONLY | O_CLOEXEC);
	if (plan->init_fd == -1)
		return -errno;

	if ((r = dyno_env_build(p, &plan->init_envp)) < 0)
		return r;
	if ((r = dyno_command_script(p->argv, &plan->script)) < 0)
		return r;

	if ((r = dyno_seccomp_get(&plan->seccomp)) < 0)
		return r;
	return dyno_caps_prepare(plan);
}

/* The dyno cgroup's `tasks` files, one per v1 hierarchy that has dynohost/<id>. */
static void close_v1_tasks(struct dyno_plan *plan)
{
	for (size_t i = 0; i < plan->n_cg_tasks; i++)
		safe_close(plan->cg_tasks_fd[i]);
	plan->n_cg_tasks = 0;
}

/* Per network namespace: lets the dyno's unprivileged uid bind $PORT whatever it is. */
static int unprivileged_ports(void)
{
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_unprivileged_port_start",
				      O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -errno;
	return write(fd, "0", 1) == 1 ? 0 : -errno;
}

struct netns_job {
	int fd;               /* out: the new namespace, O_CLOEXEC, in our fd table */
	int error;            /* out: 0 or -errno */
	enum dyno_step step;  /* out: where it failed */
};

/* Runs in a short-lived process born in the new network namespace. It shares our memory and
 * fd table, and we are suspended until it exits (CLONE_VM | CLONE_FILES | CLONE_VFORK), so it
 * can write its results into the job and leave its fd behind. */
static int netns_job_run(void *arg)
{
	struct netns_job *job = arg;
	job->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (job->fd == -1) {
		job->error = -errno;
		return 1;
	}
	job->error = unprivileged_ports();
	return job->error < 0;
}

/* The dyno's network namespace, made while the child builds its root: a new network namespace
 * is the costliest single step of a launch (~0.6 ms here), so it is not one of clone3's flags.
 * A helper process born in it sets what only a process inside can (the sysctl: /proc/sys/net
 * is the reader's namespace's) and leaves us an fd; the calling thread never changes namespace.
 * The child brings lo up once it is in, while we make the cgroup. */
static int make_netns(int *ret_fd, enum dyno_step *ret_step)
{
	struct netns_job job = { .fd = -1, .step = DYNO_STEP_NET };
	_Alignas(16) char stack[32768];
	pid_t pid = clone(netns_job_run, stack + sizeof(stack),
			  CLONE_VM | CLONE_FILES | CLONE_VFORK | CLONE_NEWNET, &job);
	if (pid == -1)
		return -errno;
	/* exit signal 0: only __WALL reaps it, so a caller's wait(-1) never sees it. */
	while (waitpid(pid, NULL, __WALL) == -1 && errno == EINTR)
		;
	if (job.error < 0) {
		safe_close(job.fd);
		*ret_step = job.step;
		return job.error;
	}
	*ret_fd = job.fd;
	return 0;
}

/* One message to the child: a byte and fds (SCM_RIGHTS). A child that already failed has
 * closed its end; it reported why on the control pipe, which wait_started() reads. */
static int send_sync(int sock, char type, const int *fds, size_t n_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * DYNO_SYNC_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = &type, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds > DYNO_SYNC_MAX_FDS)
		return -E2BIG;
	if (n_fds > 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) == 1)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET)
		return 0;
	return -errno;
}

static int make_pipe(int fds[2])
{
	return RET_NERRNO(pipe2(fds, O_CLOEXEC));
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags == -1)
		return -errno;
	return RET_NERRNO(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

/* Wait for dyno-init's first report (or the child's failure). */
static int wait_started(struct dyno *d)
{
	while (d->state == DYNO_STATE_STARTING && d->error.step == DYNO_STEP_NONE) {
		struct pollfd pfd[2] = { { .fd = d->ctl_fd, .events = POLLIN },
					 { .fd = d->pidfd, .events = POLLIN } };
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (drain_ctl(d) == 1 && d->state == DYNO_STATE_STARTING &&
		    d->error.step == DYNO_STEP_NONE) {
			/* The pipe closed without a word: the child died. */
			d->error = (struct dyno_error){ DYNO_STEP_EXEC_INIT, ECHILD };
			break;
		}
		if (pfd[1].revents && d->state == DYNO_STATE_STARTING) {
			drain_ctl(d);
			if (d->error.step == DYNO_STEP_NONE)
				d->error = (struct dyno_error){ DYNO_STEP_INIT, ECHILD };
			break;
		}
	}
	return 0;
}

int dyno_spawn(const struct dyno_params *p, struct dyno **ret, struct dyno_error *ret_error)
{
	_cleanup_(dyno_plan_freep) struct dyno_plan *plan = NULL;
	_cleanup_dyno_ struct dyno *d = NULL;
	_cleanup_close_pair_ int ctl[2] = { -1, -1 }, sync_sock[2] = { -1, -1 },
				 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	_cleanup_close_ int netns = -1;
	struct dyno_error e = { DYNO_STEP_PREPARE, 0 };
	int r;

	if (!p || !p->id || !p->stack || !p->argv || !p->argv[0] || !id_valid(p->id) ||
	    (p->net == DYNO_NET_CALLBACK && !p->net_fn)) {
		r = -EINVAL;
		goto fail;
	}
	plan = calloc(1, sizeof(*plan));
	d = calloc(1, sizeof(*d));
	if (!plan || !d) {
		r = -ENOMEM;
		goto fail;
	}
	plan->init_fd = plan->ctl_fd = plan->sync_fd = plan->stdin_fd = plan->parent_pidfd = -1;
	plan->stdout_fd = plan->stderr_fd = -1;
	d->pidfd = d->ctl_fd = d->out.fd = d->err.fd = d->oneshot_fd = -1;
	d->out.stream = DYNO_STREAM_STDOUT;
	d->err.stream = DYNO_STREAM_STDERR;
	d->max_bytes = p->output_bytes ? p->output_bytes : DYNO_DEFAULT_OUTPUT_BYTES;
	d->state = DYNO_STATE_STARTING;
	d->id = strdup(p->id);
	const char *run_dir = p->run_dir ? p->run_dir : DYNOHOST_RUNDIR "/dynos";
	d->run_dir = strdup(run_dir);
	if (!d->id || !d->run_dir || asprintf(&d->dyno_dir, "%s/%s", run_dir, p->id) < 0) {
		d->dyno_dir = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if ((r = plan_prepare(p, plan)) < 0)
		goto fail;

	e.step = DYNO_STEP_RUN_DIR;
	if ((r = mkdir_p(run_dir, 0755)) < 0)
		goto fail;
	if (p->kill_on_parent_death) {
		bool stale;
		if ((r = dyno_oneshot_lock(run_dir, p->id, &d->oneshot_fd, &stale)) < 0)
			goto fail;
		if (stale && (r = dyno_oneshot_clean(run_dir, p->cgroup_root, p->id)) < 0)
			goto fail;
	}
	if (mkdir(d->dyno_dir, 0700) == -1) {
		r = -errno;
		free(d->dyno_dir); /* not ours: another dyno with this id */
		d->dyno_dir = NULL;
		goto fail;
	}
	plan->dyno_dir = strdup(d->dyno_dir);
	plan->mount_dir = strdup(d->dyno_dir);
	if (!plan->dyno_dir || !plan->mount_dir) {
		r = -ENOMEM;
		goto fail;
	}
	e.step = DYNO_STEP_PREPARE;
	if ((r = dyno_rootfs_plan(plan, p)) < 0)
		goto fail;

	/* v2: the cgroup comes first, and clone3 puts the child straight into it. v1 (no
	 * CLONE_INTO_CGROUP): the cgroup is made while the child builds its root, and the child
	 * moves itself in before it starts dyno-init. */
	e.step = DYNO_STEP_CGROUP;
	enum dyno_cgroup_mode mode;
	if ((r = dyno_cgroup_detect_root(p->cgroup_root, &mode)) < 0)
		goto fail;
	if (mode == DYNO_CGROUP_UNIFIED &&
	    (r = dyno_cgroup_create(p->cgroup_root, p->id, &p->limits, &d->cg)) < 0)
		goto fail;

	e.step = DYNO_STEP_PREPARE;
	if ((r = make_pipe(ctl)) < 0 ||
	    (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_sock) == -1 &&
	     (r = -errno)) ||
	    (r = make_pipe(out)) < 0 || (r = make_pipe(err)) < 0)
		goto fail;
	plan->ctl_fd = ctl[1];
	plan->sync_fd = sync_sock[0];
	plan->stdout_fd = out[1];
	plan->stderr_fd = err[1];
	plan->stdin_fd = p->stdin_fd;

	struct clone_args ca = {
		.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD |
			 CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)&d->pidfd,
		.exit_signal = SIGCHLD,
	};
	if (d->cg) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)dyno_cgroup_fd(d->cg);
	}
	e.step = DYNO_STEP_CLONE;
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == -1) {
		r = -errno;
		goto fail;
	}
	if (pid == 0)
		dyno_child_main(plan); /* never returns */
	d->pid = (pid_t)pid;
	ctl[1] = safe_close(ctl[1]);
	sync_sock[0] = safe_close(sync_sock[0]);
	out[1] = safe_close(out[1]);
	err[1] = safe_close(err[1]);
	d->ctl_fd = TAKE_FD(ctl[0]);
	d->out.fd = TAKE_FD(out[0]);
	d->err.fd = TAKE_FD(err[0]);

	/* The child is mounting its root now (about 1 ms). In parallel: the network namespace
	 * first (the child waits for it before /sys, after detaching the host's tree), then the
	 * v1 cgroup and the network callback; then the go-ahead. */
	e.step = DYNO_STEP_NET;
	if ((r = make_netns(&netns, &e.step)) < 0)
		goto fail;
	e.step = DYNO_STEP_SYNC;
	if ((r = send_sync(sync_sock[1], DYNO_SYNC_NET, &netns, 1)) < 0)
		goto fail;
	if (!d->cg) {
		e.step = DYNO_STEP_CGROUP;
		if ((r = dyno_cgroup_create(p->cgroup_root, p->id, &p->limits, &d->cg)) < 0)
			goto fail;
		e.step = DYNO_STEP_CGROUP_ATTACH;
		if ((r = dyno_cgroup_open_self_attach(d->cg, plan->cg_tasks_fd,
						      ELEMENTSOF(plan->cg_tasks_fd),
						      &plan->n_cg_tasks)) < 0)
			goto fail;
	}
	if (p->net == DYNO_NET_CALLBACK) {
		e.step = DYNO_STEP_NET;
		if ((r = p->net_fn(p->net_userdata, p->id, netns)) < 0)
			goto fail;
	}
	netns = safe_close(netns);
	e.step = DYNO_STEP_SYNC;
	if ((r = send_sync(sync_sock[1], DYNO_SYNC_GO, plan->cg_tasks_fd, plan->n_cg_tasks)) < 0)
		goto fail;
	close_v1_tasks(plan);
	sync_sock[1] = safe_close(sync_sock[1]);

	if ((r = set_nonblock(d->ctl_fd)) < 0 || (r = set_nonblock(d->out.fd)) < 0 ||
	    (r = set_nonblock(d->err.fd)) < 0)
		goto fail;
	if ((r = wait_started(d)) < 0)
		goto fail;
	if (d->state == DYNO_STATE_STARTING && d->error.step != DYNO_STEP_NONE) {
		e = d->error;
		r = -(e.error ? e.error : EIO);
		goto fail;
	}
	*ret = TAKE_PTR(d);
	return 0;

fail:
	if (ret_error) {
		ret_error->step = e.step;
		ret_error->error = r < 0 ? -r : r;
	}
	return r;
}
