/* dyno-init: PID 1 of every dyno. Starts the command through /bin/sh -c in /app (after
 * sourcing /app/.profile.d/ *.sh), reaps every zombie, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/
 * SIGUSR1/SIGUSR2 to every process of the dyno, reports the command's start and end on the
 * control pipe, and exits with its status: when the command ends, or, once a stop signal was
 * forwarded, when every process has ended (so a shell's early death does not cut the others'
 * graceful shutdown short). Built static and without sanitizers: it runs inside the dyno's
 * root, as the dyno's uid. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/init-proto.h"
#include "runtime/launcher.h"

extern char **environ;

static void report(uint32_t type, enum dyno_step step, int error, int value)
{
	struct dyno_init_msg msg = { .type = type, .step = (int32_t)step, .error = error,
				     .value = value };
	while (write(DYNO_INIT_CTL_FD, &msg, sizeof(msg)) == -1 && errno == EINTR)
		;
}

/* The dyno started but its command could not: say which step failed, then end as a shell
 * would (127: not found, 126: not runnable). */
static int command_failed(enum dyno_step step, int error, int code)
{
	report(DYNO_INIT_MSG_STARTED, DYNO_STEP_NONE, 0, 0);
	report(DYNO_INIT_MSG_ERROR, step, error, 0);
	report(DYNO_INIT_MSG_EXITED, DYNO_STEP_NONE, 0, code << 8);
	return code;
}

int main(int argc, char **argv)
{
	static const int taken[] = DYNO_INIT_SIGNALS;
	sigset_t mask;

	if (argc != 2) {
		fprintf(stderr, "usage: dyno-init SCRIPT (run by the dynohost launcher)\n");
		return 125;
	}
	if (fcntl(DYNO_INIT_CTL_FD, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "dyno-init: no control pipe on fd %d\n", DYNO_INIT_CTL_FD);
		return 125;
	}
	/* Processes of the dyno share our uid: keep them from ptracing PID 1. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		report(DYNO_INIT_MSG_ERROR, DYNO_STEP_INIT, errno, 0);
		return 125;
	}
	/* Blocked already by the launcher's child; what came since is pending. */
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		sigaddset(&mask, taken[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1) {
		report(DYNO_INIT_MSG_ERROR, DYNO_STEP_INIT, errno, 0);
		return 125;
	}
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd == -1) {
		report(DYNO_INIT_MSG_ERROR, DYNO_STEP_INIT, errno, 0);
		return 125;
	}

	/* The command starts in /app: ours first, and the shell inherits it. */
	if (chdir("/app") == -1)
		return command_failed(DYNO_STEP_CHDIR, errno, 126);
	/* Profile scripts set exported variables for the command; the inner shell then runs the
	 * command line (and execs its last simple command). */
	static char prologue[] =
		"for f in /app/.profile.d/*.sh; do if [ -r \"$f\" ]; then . \"$f\"; fi; "
		"done; unset f; exec /bin/sh -c \"$1\"";
	char *direct[] = { "sh", "-c", argv[1], NULL };
	char *sourced[] = { "sh", "-c", prologue, "sh", argv[1], NULL };
	int profile = open("/app/.profile.d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (profile >= 0)
		close(profile);
	/* posix_spawn: a vfork-style child with an empty signal mask, no page table copy. */
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	pid_t pid;
	int r = posix_spawnattr_init(&attr);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	if (r != 0)
		return command_failed(DYNO_STEP_FORK_COMMAND, r, 125);
	r = posix_spawn(&pid, "/bin/sh", NULL, &attr, profile >= 0 ? sourced : direct, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return command_failed(r == ENOENT || r == EACCES || r == ENOEXEC
					      ? DYNO_STEP_EXEC_COMMAND
					      : DYNO_STEP_FORK_COMMAND,
				      r, r == ENOENT ? 127 : 126);
	report(DYNO_INIT_MSG_STARTED, DYNO_STEP_NONE, 0, pid);

	bool stopping = false, main_done = false;
	int main_status = 0;
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			report(DYNO_INIT_MSG_ERROR, DYNO_STEP_INIT, n == -1 ? errno : EIO, 0);
			return 125;
		}
		if (si.ssi_signo != SIGCHLD) {
			/* Every process of the dyno but us; ESRCH when there is none left. */
			(void)kill(-1, (int)si.ssi_signo);
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				stopping = true;
			continue;
		}
		bool none_left = false;
		for (;;) {
			int status;
			pid_t p = waitpid(-1, &status, WNOHANG);
			if (p == -1 && errno == ECHILD)
				none_left = true;
			if (p <= 0)
				break;
			if (p == pid) {
				main_done = true;
				main_status = status;
			}
		}
		/* Our exit ends the pid namespace: the kernel kills what is left. */
		if (main_done && (!stopping || none_left))
			break;
	}
	report(DYNO_INIT_MSG_EXITED, DYNO_STEP_NONE, 0, main_status);
	if (WIFSIGNALED(main_status))
		return 128 + WTERMSIG(main_status);
	return WEXITSTATUS(main_status);
}
