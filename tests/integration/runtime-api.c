/* The launcher API as the host service uses it: spawn, output lines, status, signal, stop with
 * grace, kill, bounded output, the network callback, and errors that name their step. Runs
 * real dynos (root) on a tiny rootfs made in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "runtime/launcher.h"
#include "tests/lib/tap.h"

static char tmp[] = "/tmp/dyt-rtapi.XXXXXX";
static char root[64], run_dir[64];
static int n_dynos;

static void params(struct dyno_params *p, char *id, size_t id_len, const char *const *argv)
{
	dyno_params_init(p);
	snprintf(id, id_len, "test-rtapi%d-%d", (int)getpid(), ++n_dynos);
	p->id = id;
	p->stack = root;
	p->argv = argv;
	p->run_dir = run_dir;
	p->limits.pids_max = 64;
}

/* Collect the lines of d until one equals want (or the dyno exits); returns whether seen. */
static bool wait_line(struct dyno *d, const char *want)
{
	for (int i = 0; i < 1000; i++) {
		struct dyno_line l;
		while (dyno_next_line(d, &l) > 0) {
			bool hit = strcmp(l.data, want) == 0;
			free(l.data);
			if (hit)
				return true;
		}
		if (dyno_wait(d, 20) == 0)
			return false;
	}
	return false;
}

static int count_dir(const char *path)
{
	_cleanup_closedir_ DIR *dir = opendir(path);
	int n = 0;
	struct dirent *de;
	while (dir && (de = readdir(dir)))
		n += de->d_name[0] != '.';
	return n;
}

/* On every exit, bail-outs included: kill and remove this run's dyno cgroups, remove the
 * temp dir. */
static void cleanup(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test-rtapi%d-", (int)getpid());
	(void)dyno_cgroup_reconcile_prefix(NULL, prefix, NULL, 0);
	(void)rm_rf(tmp);
}

static int net_ok_calls;
static int net_ok(void *userdata, const char *id, int netns_fd)
{
	struct stat st;
	net_ok_calls++;
	return fstat(netns_fd, &st) == -1 ? -errno : 0;
}

static int net_fail(void *userdata, const char *id, int netns_fd)
{
	return -EADDRNOTAVAIL;
}

int main(void)
{
	char id[64], cmd[4096];
	struct dyno_params p;
	struct dyno_status st;
	struct dyno_error e;
	int r;

	if (!tap_is_root())
		tap_skip_all("needs root");
	const char *top = getenv("top_builddir");
	if (!top)
		tap_skip_all("top_builddir not set");
	if (access("/bin/busybox", X_OK) != 0)
		tap_skip_all("needs busybox-static");
	if (!mkdtemp(tmp))
		tap_bail("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/bin %s/tmp && cp /bin/busybox %s/bin/ && ln -s busybox %s/bin/sh && "
		 "cp %s/tests/helpers/dynoprobe %s/bin/",
		 root, root, root, root, top, root);
	if (system(cmd) != 0)
		tap_bail("making the rootfs failed");
	char init[512];
	snprintf(init, sizeof(init), "%s/dyno-init", top);
	setenv("DYNOHOST_INIT", init, 1);

	int fds_before = count_dir("/proc/self/fd");

	/* The seccomp filter is built once per process. */
	const void *f1, *f2;
	size_t l1, l2;
	int r1 = dyno_seccomp_program(&f1, &l1), r2 = dyno_seccomp_program(&f2, &l2);
	ok(r1 == 0 && r2 == 0 && f1 == f2 && l1 == l2 && l1 > 0,
	   "one seccomp program per process (%zu bytes)", l1);

	/* Output lines per stream, exit code. */
	{
		const char *argv[] = { "echo out; echo err >&2; exit 7", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		r = dyno_spawn(&p, &d, &e);
		if (!is_int(r, 0, "spawn"))
			tap_diag("step %s: %s", dyno_step_to_string(e.step), strerror(e.error));
		if (d) {
			is_int(dyno_wait(d, 30000), 0, "wait");
			struct dyno_line a = {}, b = {};
			ok(dyno_next_line(d, &a) == 1 && dyno_next_line(d, &b) == 1, "two lines");
			struct dyno_line *o = a.stream == DYNO_STREAM_STDOUT ? &a : &b;
			struct dyno_line *er = a.stream == DYNO_STREAM_STDOUT ? &b : &a;
			is_str(o->data ? o->data : "", "out", "the stdout line");
			is_str(er->data ? er->data : "", "err", "the stderr line");
			ok(er->stream == DYNO_STREAM_STDERR, "tagged as stderr");
			free(a.data);
			free(b.data);
			dyno_get_status(d, &st);
			ok(st.state == DYNO_STATE_EXITED && st.exited, "state exited");
			is_int(st.exit_code, 7, "exit code");
			is_int(st.signal, 0, "no signal");
		}
	}

	/* Stop: SIGTERM reaches the process, which exits within the grace. */
	{
		const char *argv[] = { "dynoprobe graceful", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		r = dyno_spawn(&p, &d, &e);
		is_int(r, 0, "spawn a graceful dyno");
		if (d) {
			dyno_get_status(d, &st);
			ok(st.pid > 0 && st.state == DYNO_STATE_RUNNING, "running, pid %d",
			   (int)st.pid);
			ok(wait_line(d, "ready"), "it is ready");
			is_int(dyno_stop(d, 10000), 0, "dyno_stop");
			ok(wait_line(d, "term: got SIGTERM"), "the process got SIGTERM");
			dyno_get_status(d, &st);
			is_int(st.exit_code, 0, "it exited 0");
			ok(!st.killed_after_grace, "no SIGKILL needed");
		}
	}

	/* Stop: a process that ignores SIGTERM is killed after the grace period. */
	{
		const char *argv[] = { "dynoprobe ignore-term", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		r = dyno_spawn(&p, &d, &e);
		is_int(r, 0, "spawn a stubborn dyno");
		if (d) {
			ok(wait_line(d, "ready"), "it is ready");
			is_int(dyno_stop_begin(d, 200), 0, "stop with 200 ms grace");
			ok(dyno_stop_deadline(d) > 0, "a deadline is set");
			is_int(dyno_wait(d, -1), 0, "wait escalates at the deadline");
			dyno_get_status(d, &st);
			is_int(st.signal, SIGKILL, "killed by SIGKILL");
			ok(st.killed_after_grace, "killed_after_grace");
		}
	}

	/* dyno_kill, dyno_signal. */
	{
		const char *argv[] = { "dynoprobe sleep 30", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		if (dyno_spawn(&p, &d, &e) == 0) {
			is_int(dyno_wait(d, 50), -ETIMEDOUT, "wait times out while it runs");
			is_int(dyno_kill(d), 0, "dyno_kill");
			is_int(dyno_wait(d, -1), 0, "then it ends");
			dyno_get_status(d, &st);
			is_int(st.signal, SIGKILL, "by SIGKILL");
			is_int(dyno_signal(d, SIGTERM), -ESRCH, "no signals to an ended dyno");
		} else
			tap_bail("spawn failed");
	}

	/* Nobody reads: a bounded queue, lines dropped and counted, the dyno never blocks. */
	{
		const char *argv[] = { "dynoprobe spam 20000", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		p.output_bytes = 4096;
		if (dyno_spawn(&p, &d, &e) == 0) {
			is_int(dyno_wait(d, 60000), 0, "a chatty dyno ends although nobody reads");
			dyno_get_status(d, &st);
			long kept = 0;
			struct dyno_line l;
			while (dyno_next_line(d, &l) > 0) {
				kept++;
				free(l.data);
			}
			ok(st.lines_dropped > 0, "%llu lines dropped",
			   (unsigned long long)st.lines_dropped);
			is_int(kept + (long)st.lines_dropped, 20000, "kept + dropped = all lines");
		} else
			tap_bail("spawn failed");
	}

	/* The network callback runs before the command; its failure fails the spawn. */
	{
		const char *argv[] = { "true", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		p.net = DYNO_NET_CALLBACK;
		p.net_fn = net_ok;
		is_int(dyno_spawn(&p, &d, &e), 0, "spawn with a network callback");
		is_int(net_ok_calls, 1, "the callback ran once with the dyno's netns");
		d = dyno_free(d);
		params(&p, id, sizeof(id), argv);
		p.net = DYNO_NET_CALLBACK;
		p.net_fn = net_fail;
		is_int(dyno_spawn(&p, &d, &e), -EADDRNOTAVAIL,
		       "a failing callback fails the spawn");
		is_str(dyno_step_to_string(e.step), "network", "at step network");
		is_int(e.error, EADDRNOTAVAIL, "with its errno");
	}

	/* Errors name their step. */
	{
		const char *argv[] = { "true", NULL };
		_cleanup_dyno_ struct dyno *d = NULL;
		params(&p, id, sizeof(id), argv);
		p.stack = "/nonexistent/stack";
		is_int(dyno_spawn(&p, &d, &e), -ENOENT, "a missing stack");
		is_str(dyno_step_to_string(e.step), "prepare", "fails at step prepare");
		params(&p, id, sizeof(id), argv);
		p.stack = "/etc/hostname";
		is_int(dyno_spawn(&p, &d, &e), -EINVAL, "a stack that is a file");
		is_str(dyno_step_to_string(e.step), "root", "fails in the child at step root");
		params(&p, id, sizeof(id), argv);
		p.id = "../escape";
		is_int(dyno_spawn(&p, &d, &e), -EINVAL, "an id with a slash is refused");
	}

	is_int(count_dir(run_dir), 0, "no run dirs left");
	is_int(count_dir("/proc/self/fd"), fds_before, "no fds leaked by the dynos");
	snprintf(cmd, sizeof(cmd), "ls -d /sys/fs/cgroup/*/dynohost/test-rtapi%d-* "
		 "/sys/fs/cgroup/dynohost/test-rtapi%d-* 2>/dev/null | grep -q .",
		 (int)getpid(), (int)getpid());
	ok(system(cmd) != 0, "no cgroups left");
	return tap_done();
}
