/* dyno-init: PID 1 of every dyno. The launcher's child forks the command (/bin/sh -c in /app,
 * after /app/.profile.d/ *.sh) and then executes this program, so both start at once; it is told
 * the command's pid. It reaps every zombie, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/
 * SIGUSR2 to every process of the dyno, reports the command's start and end on the control
 * pipe, and exits with its status: when the command ends, or, once a stop signal was forwarded,
 * when every process has ended (so a shell's early death does not cut the others' graceful
 * shutdown short). Built static and without sanitizers: it runs inside the dyno's root, as the
 * dyno's uid. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/init-proto.h"
#include "runtime/launcher.h"

static void report(uint32_t type, enum dyno_step step, int error, int value)
{
	struct dyno_init_msg msg = { .type = type, .step = (int32_t)step, .error = error,
				     .value = value };
	while (write(DYNO_INIT_CTL_FD, &msg, sizeof(msg)) == -1 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	static const int taken[] = DYNO_INIT_SIGNALS;
	sigset_t mask;
	char *end;
	long v = argc == 2 ? strtol(argv[1], &end, 10) : 0;

	if (argc != 2 || *end || v < 2 || v > 4194304) {
		fprintf(stderr, "usage: dyno-init PID (run by the dynohost launcher)\n");
		return 125;
	}
	pid_t pid = (pid_t)v;
	if (fcntl(DYNO_INIT_CTL_FD, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "dyno-init: no control pipe on fd %d\n", DYNO_INIT_CTL_FD);
		return 125;
	}
	/* Processes of the dyno share our uid: keep them from ptracing PID 1. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		report(DYNO_INIT_MSG_ERROR, DYNO_STEP_INIT, errno, 0);
		return 125;
	}
	/* Blocked already since before the command's fork; what came since is pending. */
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
