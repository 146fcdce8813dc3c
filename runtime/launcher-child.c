/* The launcher's child between clone3 and the exec of dyno-init: root filesystem (entering
 * the network namespace the parent made on the way), hostname, the parent's go-ahead with the
 * cgroup, cgroup namespace, rlimits, stdio, privileges, seccomp.
 * It runs in a copy of the parent's memory and never allocates (STYLE.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/init-proto.h"
#include "runtime/launcher-internal.h"

void dyno_child_report(int fd, enum dyno_step step, int error)
{
	struct dyno_init_msg msg = {
		.type = DYNO_INIT_MSG_ERROR,
		.step = (int32_t)step,
		.error = error < 0 ? -error : error,
	};
	while (write(fd, &msg, sizeof(msg)) == -1 && errno == EINTR)
		;
}

int dyno_child_recv(const struct dyno_plan *plan, char type, int *fds, size_t max, size_t *ret_n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * DYNO_SYNC_MAX_FDS)];
	} control;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;

	*ret_n = 0;
	while ((n = recvmsg(plan->sync_fd, &msg, MSG_CMSG_CLOEXEC)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return -errno;
	size_t got = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int in[DYNO_SYNC_MAX_FDS];
		memcpy(in, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if (got < max)
				fds[got++] = in[i];
			else
				close(in[i]);
		}
	}
	*ret_n = got;
	if (n != 1 || byte != type || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
		return -ECANCELED;
	return 0;
}

/* Handlers are back to SIG_DFL already (CLONE_CLEAR_SIGHAND); the mask is inherited. Block
 * exactly the signals dyno-init takes over: a stop that comes while the dyno is being set up
 * stays pending (PID 1 of a namespace would drop it at SIG_DFL) and reaches the command. */
static int set_signal_mask(void)
{
	static const int handed_over[] = DYNO_INIT_SIGNALS;
	sigset_t mask;
	sigemptyset(&mask);
	for (size_t i = 0; i < ELEMENTSOF(handed_over); i++)
		sigaddset(&mask, handed_over[i]);
	return RET_NERRNO(sigprocmask(SIG_SETMASK, &mask, NULL));
}

/* The uid change has just cleared the parent-death signal set at the start: set it again for
 * good (dyno-init keeps it across its exec). A parent that died before this call sends nothing,
 * so its pidfd is asked too. */
static int die_with_parent(const struct dyno_plan *plan, enum dyno_step *ret_step)
{
	*ret_step = DYNO_STEP_PREPARE;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		return -errno;
	struct pollfd pfd = { .fd = plan->parent_pidfd, .events = POLLIN };
	int n = poll(&pfd, 1, 0);
	if (n == -1)
		return -errno;
	if (n == 1)
		_exit(137); /* nobody is left to report to */
	return 0;
}

/* Move fd above the stdio and control slots so the dup2 calls below never clobber it. */
static int lift(int fd)
{
	if (fd < 0)
		return fd;
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/* Every fd the child still needs is lifted first, dyno-init's included: one of them may sit
 * on 0..3 (a caller with closed stdio) and would be overwritten. */
static int setup_stdio(const struct dyno_plan *plan, int *ctl, int *init_fd)
{
	int in = plan->stdin_fd >= 0 ? lift(plan->stdin_fd)
				     : open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = lift(plan->stdout_fd), err = lift(plan->stderr_fd), c = lift(*ctl);
	int exe = lift(*init_fd);
	if (in < 0 || out < 0 || err < 0 || c < 0 || exe < 0)
		return -errno;
	*ctl = c;
	*init_fd = exe;
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		return -errno;
	if (dup2(c, DYNO_INIT_CTL_FD) == -1)
		return -errno;
	*ctl = DYNO_INIT_CTL_FD;
	/* Everything else closes at exec; the dyno-init fd is used by execveat itself. */
	if (syscall(SYS_close_range, DYNO_INIT_CTL_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		return -errno;
	return 0;
}

void dyno_child_main(const struct dyno_plan *plan)
{
	enum dyno_step step = DYNO_STEP_PREPARE;
	int ctl = plan->ctl_fd, init_fd = plan->init_fd;
	int r;

	if (plan->kill_on_parent_death && prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
		r = -errno;
		goto fail;
	}
	if ((r = set_signal_mask()) < 0)
		goto fail;
	umask(0);
	/* Meanwhile the parent makes the network namespace (which the root's plan enters before
	 * /sys) and the cgroup. */
	if ((r = dyno_rootfs_apply(plan, &step)) < 0)
		goto fail;
	step = DYNO_STEP_HOSTNAME;
	if (sethostname(plan->hostname, strlen(plan->hostname)) == -1) {
		r = -errno;
		goto fail;
	}

	/* The parent has made the cgroup and set up the network when this message comes. */
	step = DYNO_STEP_SYNC;
	int tasks[DYNO_SYNC_MAX_FDS];
	size_t n_tasks = 0;
	r = dyno_child_recv(plan, DYNO_SYNC_GO, tasks, ELEMENTSOF(tasks), &n_tasks);
	if (r < 0)
		goto fail;
	step = DYNO_STEP_CGROUP_ATTACH;
	for (size_t i = 0; i < n_tasks; i++) {
		if (r == 0 && write(tasks[i], "0", 1) != 1)
			r = -errno;
		close(tasks[i]);
	}
	if (r < 0)
		goto fail;
	step = DYNO_STEP_CGROUPNS;
	if (unshare(CLONE_NEWCGROUP) == -1) {
		r = -errno;
		goto fail;
	}

	step = DYNO_STEP_RLIMITS;
	struct rlimit nofile = { plan->nofile, plan->nofile }, core = { 0, 0 };
	if (setrlimit(RLIMIT_NOFILE, &nofile) == -1 || setrlimit(RLIMIT_CORE, &core) == -1) {
		r = -errno;
		goto fail;
	}
	step = DYNO_STEP_STDIO;
	if ((r = setup_stdio(plan, &ctl, &init_fd)) < 0)
		goto fail;
	umask(022);

	if ((r = dyno_caps_drop(plan, &step)) < 0)
		goto fail;
	if (plan->kill_on_parent_death && (r = die_with_parent(plan, &step)) < 0)
		goto fail;
	step = DYNO_STEP_SECCOMP;
	if ((r = dyno_seccomp_load(plan->seccomp)) < 0)
		goto fail;
	/* dyno-init starts the command only once it is itself out of the dyno's reach (not
	 * dumpable): forking the command here, to overlap the two execs, left a moment in which
	 * the command could ptrace PID 1 (an exec makes a process dumpable again). */
	char *init_argv[] = { "dyno-init", plan->script, NULL };
	step = DYNO_STEP_EXEC_INIT;
	syscall(SYS_execveat, init_fd, "", init_argv, plan->init_envp, AT_EMPTY_PATH);
	r = -errno;
fail:
	dyno_child_report(ctl, step, r);
	_exit(127);
}
