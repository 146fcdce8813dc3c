/* Root integration test of the cgroup layer on the running kernel (v1/hybrid here, v2 in the
 * VM of `make check-cgroup2`): limits as the kernel shows them, attach, OOM kill, pids limit,
 * freeze/thaw, whole-tree kill, destroy, half-way failure, reconcile. Every cgroup it makes
 * is dynohost/test-cg-<pid>-*, removed at exit whatever happened. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/cgroup.h"
#include "tests/lib/tap.h"

#define ROOT "/sys/fs/cgroup"
#define MiB (UINT64_C(1) << 20)

static enum dyno_cgroup_mode mode;
static char prefix[64];
/* The hierarchy under test: NULL and ROOT (the host's), or on a hybrid host in a second round
 * the controller-less v2 mount at ROOT/unified, where the v2 backend's core (attach, kill,
 * freeze, clone3, destroy, reconcile) runs on the host too. */
static const char *croot;
static const char *root_path = ROOT;
static bool bare; /* v2 without controllers: limits cannot be set */

static void cleanup_all(void)
{
	if (prefix[0]) {
		(void)dyno_cgroup_reconcile_prefix(NULL, prefix, NULL, 0);
		if (bare)
			(void)dyno_cgroup_reconcile_prefix(croot, prefix, NULL, 0);
	}
}

static const char *tname(const char *suffix)
{
	static char buf[8][128];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, sizeof(buf[0]), "%s-%s", prefix, suffix);
	return b;
}

/* The kernel file of the dyno cgroup `name`: v1 in the controller's hierarchy, v2 in one. */
static int cg_read(const char *ctrl, const char *name, const char *file, char **ret)
{
	char path[512];
	if (mode == DYNO_CGROUP_UNIFIED)
		snprintf(path, sizeof(path), "%s/dynohost/%s/%s", root_path, name, file);
	else
		snprintf(path, sizeof(path), "%s/%s/dynohost/%s/%s", root_path, ctrl, name, file);
	int r = read_file_at(AT_FDCWD, path, 1 << 16, ret, NULL);
	if (r >= 0)
		(*ret)[strcspn(*ret, "\n")] = '\0';
	return r;
}

static uint64_t cg_u64(const char *ctrl, const char *name, const char *file)
{
	_cleanup_free_ char *s = NULL;
	if (cg_read(ctrl, name, file, &s) < 0)
		return UINT64_MAX - 1;
	if (strcmp(s, "max") == 0)
		return UINT64_MAX;
	return strtoull(s, NULL, 10);
}

/* How many directories named dynohost/<name> exist in any hierarchy under /sys/fs/cgroup
 * (on a hybrid host that includes the v2 mount at unified/). */
static int leftovers(const char *name)
{
	char pat[512];
	int n = 0;
	const char *dirs[] = { ROOT "/*/dynohost", ROOT "/dynohost" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		glob_t g;
		snprintf(pat, sizeof(pat), "%s/%s", dirs[i], name);
		if (glob(pat, 0, NULL, &g) == 0)
			n += (int)g.gl_pathc;
		globfree(&g);
	}
	return n;
}

static bool in_cgroup(pid_t pid, const char *name)
{
	char path[64], want[256];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "/dynohost/%s\n", name);
	_cleanup_free_ char *s = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 16, &s, NULL) < 0)
		return false;
	return strstr(s, want) != NULL;
}

/* Wait for a child, bounded: SIGKILL it when the deadline passes. Returns the wait status. */
static int reap(pid_t pid)
{
	int st = 0;
	for (int i = 0; i < 3000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static bool killed_by(int st, int sig)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* Read one byte from fd, waiting at most ms. 1: got it, 0: nothing yet. */
static int read_byte(int fd, int ms, char *c)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, ms);
	if (r <= 0)
		return 0;
	return read(fd, c, 1) == 1 ? 1 : 0;
}

/* A child that waits for the go byte on `go` (so the parent can attach it first), then runs
 * fn. The child never returns into the test. */
static pid_t spawn(int go[2], void (*fn)(void *), void *arg)
{
	if (pipe2(go, O_CLOEXEC) == -1)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(100);
		close(go[0]);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	go[0] = -1;
	return pid;
}

static void go(int go[2])
{
	(void)!write(go[1], "g", 1);
	go[1] = safe_close(go[1]);
}

static void fn_sleep(void *arg)
{
	for (;;)
		pause();
}

static void test_limits(void)
{
	const char *name = tname("limits");
	struct dyno_limits l = { .memory_bytes = 64 * MiB, .memory_kill_bytes = 128 * MiB,
				 .pids_max = 32, .cpu_weight = 200 };
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	int r = dyno_cgroup_create(croot, name, &l, &cg);
	if (!is_int(r, 0, "create with standard limits"))
		return;
	is_int(dyno_cgroup_get_mode(cg), mode, "handle reports the host's mode");
	struct dyno_cgroup_stats st;
	is_int(dyno_cgroup_stats(cg, &st), 0, "stats of a fresh cgroup");
	is_int(st.pids_current, 0, "fresh cgroup has no pids");
	is_int(dyno_cgroup_count_procs(cg), 0, "fresh cgroup has no processes");
	if (mode == DYNO_CGROUP_UNIFIED) {
		is_int(cg_u64(NULL, name, "memory.max"), 64 * MiB, "memory.max is the quota");
		is_int(cg_u64(NULL, name, "memory.swap.max"), 64 * MiB,
		       "memory.swap.max is kill line minus quota");
		is_int(cg_u64(NULL, name, "pids.max"), 32, "pids.max");
		is_int(cg_u64(NULL, name, "cpu.weight"), 200, "cpu.weight");
		ok(dyno_cgroup_fd(cg) >= 0, "v2 hands out a cgroup fd");
		ok(st.swap_limited, "kill line is memory+swap");
	} else {
		is_int(cg_u64("memory", name, "memory.limit_in_bytes"), 64 * MiB,
		       "memory.limit_in_bytes is the quota");
		char path[512];
		snprintf(path, sizeof(path), ROOT "/memory/dynohost/%s/memory.memsw.limit_in_bytes",
			 name);
		if (access(path, F_OK) == 0) {
			is_int(cg_u64("memory", name, "memory.memsw.limit_in_bytes"), 128 * MiB,
			       "memory.memsw.limit_in_bytes is the kill line");
			ok(st.swap_limited, "kill line is memory+swap");
		} else {
			tap_skip("kernel without swap accounting");
			ok(!st.swap_limited, "quota is the kill line without swap accounting");
		}
		is_int(cg_u64("pids", name, "pids.max"), 32, "pids.max");
		is_int(cg_u64("cpu", name, "cpu.shares"), 2048, "cpu.shares from weight 200");
		is_int(dyno_cgroup_fd(cg), -EOPNOTSUPP, "no cgroup fd on v1");
	}
	struct dyno_cgroup *opened = NULL;
	struct dyno_cgroup_stats ost;
	is_int(dyno_cgroup_open(croot, name, &opened), 0, "open it as a restarted service would");
	if (opened && dyno_cgroup_stats(opened, &ost) == 0)
		ok(ost.swap_limited == st.swap_limited && !ost.over_quota,
		   "the opened handle reads the same kill line back from the kernel");
	else
		ok(false, "stats of the opened handle");
	opened = dyno_cgroup_free(opened);
	int before = leftovers(name);
	struct dyno_cgroup *again = NULL;
	is_int(dyno_cgroup_create(croot, name, &l, &again), -EEXIST, "second create is -EEXIST");
	ok(before > 0 && leftovers(name) == before, "failed duplicate create left the original alone");
	is_int(cg_u64("pids", name, "pids.max"), 32, "original keeps its limits");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

static void test_attach_kill(void)
{
	const char *name = tname("attach");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create without limits"))
		return;
	int p[2];
	pid_t pid = spawn(p, fn_sleep, NULL);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach a forked child");
	go(p);
	ok(in_cgroup(pid, name), "/proc/PID/cgroup names dynohost/<name>");
	is_int(dyno_cgroup_count_procs(cg), 1, "one process counted");
	struct dyno_cgroup_stats st;
	dyno_cgroup_stats(cg, &st);
	if (bare)
		tap_skip("no pids controller on this v2 mount");
	else
		is_int(st.pids_current, 1, "pids_current is 1");
	is_int(dyno_cgroup_kill(cg, 20000), 0, "kill returns once empty");
	ok(killed_by(reap(pid), SIGKILL), "child died of SIGKILL");
	is_int(dyno_cgroup_count_procs(cg), 0, "empty after kill");
	is_int(dyno_cgroup_attach(cg, 0), -EINVAL, "attach of pid 0 is refused");

	/* A handle opened again sees the same cgroup; freeing a handle leaves the cgroup. */
	struct dyno_cgroup *cg2 = NULL;
	is_int(dyno_cgroup_open(croot, name, &cg2), 0, "open an existing cgroup");
	cg2 = dyno_cgroup_free(cg2);
	ok(leftovers(name) > 0, "free leaves the cgroup in place");
	is_int(dyno_cgroup_open(croot, tname("nonexistent"), &cg2), -ENOENT,
	       "open of a missing cgroup is -ENOENT");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

/* The child writes "0" to every tasks fd (as the launcher's cloned child does) and reports. */
struct selfattach {
	const int *fds;
	size_t n;
	int report;
};

static void fn_selfattach(void *arg)
{
	struct selfattach *a = arg;
	char ok = 'y';
	for (size_t i = 0; i < a->n; i++)
		if (write(a->fds[i], "0", 1) != 1)
			ok = 'n';
	(void)!write(a->report, &ok, 1);
	for (;;)
		pause();
}

static void test_self_attach(void)
{
	const char *name = tname("self");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for self-attach"))
		return;
	int fds[8];
	size_t n = 0;
	int r = dyno_cgroup_open_self_attach(cg, fds, ELEMENTSOF(fds), &n);
	if (mode == DYNO_CGROUP_UNIFIED) {
		is_int(r, -EOPNOTSUPP, "no self-attach fds on v2");
		return;
	}
	is_int(r, 0, "self-attach fds");
	ok(n >= 4, "one per hierarchy (%zu)", n);
	int few[1];
	size_t one;
	is_int(dyno_cgroup_open_self_attach(cg, few, 1, &one), -E2BIG, "too few slots: -E2BIG");
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct selfattach a = { .fds = fds, .n = n, .report = rep[1] };
	int p[2];
	pid_t pid = spawn(p, fn_selfattach, &a);
	close(rep[1]);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	go(p);
	char c = 0;
	ok(read_byte(rep[0], 60000, &c) == 1 && c == 'y', "the child wrote 0 to every tasks file");
	close(rep[0]);
	ok(in_cgroup(pid, name), "the child moved itself into the cgroup");
	is_int(dyno_cgroup_count_procs(cg), 1, "the cgroup counts it");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	ok(killed_by(reap(pid), SIGKILL), "self-attached child died of SIGKILL");
}

struct inside {
	struct dyno_cgroup *cg;
	int report;
};

static void fn_inside(void *arg)
{
	struct inside *in = arg;
	int res[3] = { dyno_cgroup_attach(in->cg, getpid()), dyno_cgroup_freeze(in->cg, true),
		       dyno_cgroup_kill(in->cg, 1000) };
	(void)!write(in->report, res, sizeof(res));
	_exit(0);
}

/* A process inside the dyno cannot freeze or kill its own cgroup through the layer. */
static void test_self_deadlock(void)
{
	const char *name = tname("inside");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for the inside test"))
		return;
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct inside in = { .cg = cg, .report = rep[1] };
	int p[2];
	pid_t pid = spawn(p, fn_inside, &in);
	close(rep[1]);
	go(p);
	int res[3] = { 1, 1, 1 };
	struct pollfd pf = { .fd = rep[0], .events = POLLIN };
	if (poll(&pf, 1, 60000) == 1)
		(void)!read(rep[0], res, sizeof(res));
	close(rep[0]);
	is_int(res[0], 0, "a process attaches itself");
	is_int(res[1], -EDEADLK, "freezing its own cgroup is -EDEADLK");
	is_int(res[2], -EDEADLK, "killing its own cgroup is -EDEADLK");
	int ws = reap(pid);
	ok(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "and it went on to exit normally");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

static void test_clone_into(void)
{
	if (mode != DYNO_CGROUP_UNIFIED) {
		tap_skip("CLONE_INTO_CGROUP is v2 only");
		return;
	}
	const char *name = tname("clone3");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for clone3"))
		return;
	struct clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
				.cgroup = (uint64_t)dyno_cgroup_fd(cg) };
	long pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0) {
		for (;;)
			pause();
	}
	ok(pid > 0 && in_cgroup((pid_t)pid, name), "clone3 CLONE_INTO_CGROUP places the child");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy kills it and removes the cgroup");
	ok(pid > 0 && killed_by(reap((pid_t)pid), SIGKILL), "clone3 child died of SIGKILL");
}

static void fn_memhog(void *arg)
{
	size_t len = 512 * MiB;
	volatile char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				0);
	if (m == MAP_FAILED)
		_exit(101);
	for (size_t i = 0; i < len; i += 4096)
		m[i] = 1;
	_exit(0);
}

static void test_oom(void)
{
	const char *name = tname("oom");
	struct dyno_limits l = { .memory_bytes = 32 * MiB, .memory_kill_bytes = 64 * MiB };
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, &l, &cg), 0, "create 32 MiB quota"))
		return;
	_cleanup_close_ int efd = -1;
	short events = 0;
	is_int(dyno_cgroup_memory_event_fd(cg, &efd, &events), 0, "memory event fd");
	struct pollfd pf = { .fd = efd, .events = events };
	is_int(poll(&pf, 1, 0), 0, "no memory event before the hog runs");
	int p[2];
	pid_t pid = spawn(p, fn_memhog, NULL);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach the memory hog");
	go(p);
	int ws = reap(pid);
	ok(killed_by(ws, SIGKILL), "memory hog (512 MiB) was killed by the OOM killer");
	ok(poll(&pf, 1, 60000) == 1 && (pf.revents & events), "the memory event fd woke up");
	is_int(dyno_cgroup_memory_event_ack(cg, efd), 0, "ack the memory event");
	is_int(poll(&pf, 1, 0), 0, "quiet again after the ack");
	struct dyno_cgroup_stats st;
	is_int(dyno_cgroup_stats(cg, &st), 0, "stats after the OOM kill");
	ok(st.oom_kills >= 1, "oom_kills counted (%" PRIu64 ")", st.oom_kills);
	ok(st.memory_limit_hits >= 1, "the quota was hit (%" PRIu64 ")", st.memory_limit_hits);
	ok(st.memory_peak > 0 && st.memory_peak + st.swap_current <= 64 * MiB,
	   "peak %" PRIu64 " stayed under the kill line", st.memory_peak);
	/* The kernel may force-charge a few pages to a task it is already killing. */
	ok(st.memory_peak <= 33 * MiB, "RAM never exceeded the quota (%" PRIu64 ")", st.memory_peak);
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

static bool swap_active(void)
{
	_cleanup_free_ char *s = NULL;
	if (read_file_at(AT_FDCWD, "/proc/swaps", 1 << 16, &s, NULL) < 0)
		return false;
	char *nl = strchr(s, '\n'); /* a header line, then one line per swap area */
	return nl && nl[1] != '\0';
}

struct swaphog {
	int report; /* the hog writes a byte when it holds 48 MiB */
	int cont;   /* and reads one before it goes on to 512 MiB */
};

static void fn_swaphog(void *arg)
{
	struct swaphog *h = arg;
	size_t len = 512 * MiB;
	volatile char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				0);
	if (m == MAP_FAILED)
		_exit(101);
	for (size_t i = 0; i < 48 * MiB; i += 4096)
		m[i] = 1;
	char c;
	if (write(h->report, "h", 1) != 1 || read(h->cont, &c, 1) != 1)
		_exit(102);
	for (size_t i = 48 * MiB; i < len; i += 4096)
		m[i] = 1;
	_exit(0);
}

/* Heroku's rule with swap: over the quota the dyno lives on in swap (R14), at 2x it dies (R15). */
static void test_swap(void)
{
	if (!swap_active()) {
		tap_skip("no swap on this machine: the quota is the kill line (tested above)");
		return;
	}
	const char *name = tname("swap");
	struct dyno_limits l = { .memory_bytes = 32 * MiB, .memory_kill_bytes = 64 * MiB };
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, &l, &cg), 0, "create 32 MiB quota, 64 MiB kill"))
		return;
	int rep[2], cont[2];
	if (pipe2(rep, O_CLOEXEC) == -1 || pipe2(cont, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct swaphog h = { .report = rep[1], .cont = cont[0] };
	int p[2];
	pid_t pid = spawn(p, fn_swaphog, &h);
	close(rep[1]);
	close(cont[0]);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach the swapping hog");
	go(p);
	char c;
	ok(read_byte(rep[0], 120000, &c) == 1, "the hog holds 48 MiB, 1.5x its quota");
	struct dyno_cgroup_stats st;
	is_int(dyno_cgroup_stats(cg, &st), 0, "stats over the quota");
	ok(waitpid(pid, NULL, WNOHANG) == 0, "the dyno still runs over its quota");
	ok(st.over_quota, "over_quota is reported (R14)");
	ok(st.swap_current > 0, "part of it is in swap (%" PRIu64 " bytes)", st.swap_current);
	ok(st.memory_current <= 33 * MiB, "RAM stays at the quota (%" PRIu64 ")", st.memory_current);
	is_int(st.oom_kills, 0, "no OOM kill yet");
	(void)!write(cont[1], "c", 1);
	ok(killed_by(reap(pid), SIGKILL), "at the kill line (2x quota) the hog is killed (R15)");
	is_int(dyno_cgroup_stats(cg, &st), 0, "stats after the kill");
	ok(st.oom_kills >= 1, "oom_kills counted (%" PRIu64 ")", st.oom_kills);
	close(rep[0]);
	close(cont[1]);
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

struct bomb {
	int report; /* write end: the number of successful forks */
};

static void fn_forkbomb(void *arg)
{
	struct bomb *b = arg;
	int n = 0;
	for (;;) {
		pid_t c = fork();
		if (c == 0) {
			for (;;)
				pause();
		}
		if (c == -1)
			break;
		n++;
	}
	int e = errno;
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d %d\n", n, e);
	(void)!write(b->report, buf, (size_t)len);
	for (;;)
		pause();
}

static void test_forkbomb(void)
{
	const char *name = tname("pids");
	struct dyno_limits l = { .pids_max = 16 };
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, &l, &cg), 0, "create pids_max 16"))
		return;
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct bomb b = { .report = rep[1] };
	int p[2];
	pid_t pid = spawn(p, fn_forkbomb, &b);
	close(rep[1]);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach the fork bomb");
	go(p);
	char buf[64] = "";
	struct pollfd pf = { .fd = rep[0], .events = POLLIN };
	if (poll(&pf, 1, 60000) == 1)
		(void)!read(rep[0], buf, sizeof(buf) - 1);
	close(rep[0]);
	int forks = -1, err = 0;
	sscanf(buf, "%d %d", &forks, &err);
	is_int(forks, 15, "the bomb forked until pids.max (16 tasks)");
	is_int(err, EAGAIN, "fork failed with EAGAIN");
	struct dyno_cgroup_stats st;
	dyno_cgroup_stats(cg, &st);
	is_int(st.pids_current, 16, "pids_current is at the limit");
	ok(st.pids_limit_hits >= 1, "pids_limit_hits counted (%" PRIu64 ")", st.pids_limit_hits);
	is_int(dyno_cgroup_count_procs(cg), 16, "16 processes in the cgroup");
	is_int(dyno_cgroup_kill(cg, 20000), 0, "kill the whole bomb");
	is_int(dyno_cgroup_count_procs(cg), 0, "bomb is gone");
	ok(killed_by(reap(pid), SIGKILL), "bomb parent died of SIGKILL");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

struct echo {
	int in, out;
};

static void fn_echo(void *arg)
{
	struct echo *e = arg;
	char c;
	while (read(e->in, &c, 1) == 1)
		(void)!write(e->out, &c, 1);
	_exit(0);
}

static bool frozen_state(const char *name, bool want)
{
	_cleanup_free_ char *s = NULL;
	if (mode == DYNO_CGROUP_UNIFIED) {
		if (cg_read(NULL, name, "cgroup.events", &s) < 0)
			return false;
		/* cg_read kept the first line only; read the whole file again. */
		char path[512];
		snprintf(path, sizeof(path), "%s/dynohost/%s/cgroup.events", root_path, name);
		free(s);
		s = NULL;
		if (read_file_at(AT_FDCWD, path, 4096, &s, NULL) < 0)
			return false;
		return strstr(s, want ? "frozen 1" : "frozen 0") != NULL;
	}
	if (cg_read("freezer", name, "freezer.state", &s) < 0)
		return false;
	return strcmp(s, want ? "FROZEN" : "THAWED") == 0;
}

static void test_freeze(void)
{
	const char *name = tname("freeze");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for freeze"))
		return;
	int a[2], b[2];
	if (pipe2(a, O_CLOEXEC) == -1 || pipe2(b, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct echo e = { .in = a[0], .out = b[1] };
	int p[2];
	pid_t pid = spawn(p, fn_echo, &e);
	close(a[0]);
	close(b[1]);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach the echo child");
	go(p);
	char c = 0;
	(void)!write(a[1], "1", 1);
	ok(read_byte(b[0], 60000, &c) == 1 && c == '1', "echo child answers before freezing");

	is_int(dyno_cgroup_freeze(cg, true), 0, "freeze");
	ok(frozen_state(name, true), "kernel reports the cgroup frozen");
	(void)!write(a[1], "2", 1);
	/* Frozen, the child cannot answer however long we wait; the wait only bounds the test. */
	is_int(read_byte(b[0], 300, &c), 0, "frozen child does not answer");
	is_int(dyno_cgroup_freeze(cg, false), 0, "thaw");
	ok(frozen_state(name, false), "kernel reports the cgroup thawed");
	ok(read_byte(b[0], 60000, &c) == 1 && c == '2', "thawed child answers what it was sent");

	is_int(dyno_cgroup_freeze(cg, true), 0, "freeze again");
	is_int(dyno_cgroup_kill(cg, 20000), 0, "kill a frozen cgroup");
	ok(killed_by(reap(pid), SIGKILL), "frozen child died of SIGKILL");
	close(a[1]);
	close(b[0]);
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

struct tree {
	int ready; /* each process of the tree writes one byte when it ignores SIGTERM */
};

static void fn_tree(void *arg)
{
	struct tree *t = arg;
	signal(SIGTERM, SIG_IGN);
	for (int i = 0; i < 3; i++) {
		pid_t c = fork();
		if (c == 0) {
			if (i == 1)
				setsid();
			if (i == 2 && fork() > 0) /* orphan a grandchild */
				_exit(0);
			(void)!write(t->ready, "r", 1);
			for (;;)
				pause();
		}
		/* Reap the orphan's parent so the tree is exactly four processes when ready. */
		if (i == 2 && c > 0)
			waitpid(c, NULL, 0);
	}
	(void)!write(t->ready, "r", 1);
	for (;;)
		pause();
}

static void test_kill_tree(void)
{
	const char *name = tname("tree");
	_cleanup_dyno_cgroup_ struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for the tree"))
		return;
	int rd[2];
	if (pipe2(rd, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	struct tree t = { .ready = rd[1] };
	int p[2];
	pid_t pid = spawn(p, fn_tree, &t);
	close(rd[1]);
	is_int(dyno_cgroup_attach(cg, pid), 0, "attach the tree's root");
	go(p);
	int ready = 0;
	char c;
	while (ready < 4 && read_byte(rd[0], 60000, &c) == 1)
		ready++;
	close(rd[0]);
	is_int(ready, 4, "four SIGTERM-ignoring processes ready");
	kill(pid, SIGTERM);
	is_int(dyno_cgroup_count_procs(cg), 4, "SIGTERM-ignoring tree (with an orphan) counted");
	is_int(dyno_cgroup_kill(cg, 20000), 0, "kill the whole tree");
	is_int(dyno_cgroup_count_procs(cg), 0, "tree is gone, orphan included");
	ok(killed_by(reap(pid), SIGKILL), "tree root died of SIGKILL");
	is_int(dyno_cgroup_destroy(TAKE_PTR(cg)), 0, "destroy");
	is_int(leftovers(name), 0, "nothing left after destroy");
}

static void test_destroy_busy(void)
{
	const char *name = tname("busy");
	struct dyno_cgroup *cg = NULL;
	if (!is_int(dyno_cgroup_create(croot, name, NULL, &cg), 0, "create for destroy"))
		return;
	int p[2];
	pid_t pid = spawn(p, fn_sleep, NULL);
	dyno_cgroup_attach(cg, pid);
	go(p);
	is_int(dyno_cgroup_destroy(cg), 0, "destroy a cgroup with a live process");
	ok(killed_by(reap(pid), SIGKILL), "its process died of SIGKILL");
	is_int(leftovers(name), 0, "nothing left under any hierarchy");
}

static void test_halfway_failure(void)
{
	const char *name = tname("half");
	/* Memory and cpu are written first; the kernel refuses this pids.max (above PID_MAX_LIMIT)
	 * after the directories exist and other limits are set. */
	struct dyno_limits l = { .memory_bytes = 64 * MiB, .memory_kill_bytes = 128 * MiB,
				 .cpu_weight = 100, .pids_max = UINT64_C(1000000000) };
	struct dyno_cgroup *cg = NULL;
	int r = dyno_cgroup_create(croot, name, &l, &cg);
	ok(r < 0, "create with a pids.max the kernel refuses fails (%d)", r);
	ok(cg == NULL, "no handle returned");
	is_int(leftovers(name), 0, "the half-made cgroup is gone from every hierarchy");
	is_int(dyno_cgroup_create(croot, "a/b", NULL, &cg), -EINVAL, "a name with / is refused");
}

static void test_reconcile(void)
{
	const char *keep = tname("rc-keep"), *busy = tname("rc-busy"), *idle = tname("rc-idle");
	char rprefix[96];
	snprintf(rprefix, sizeof(rprefix), "%s-rc-", prefix);
	struct dyno_cgroup *a = NULL, *b = NULL, *c = NULL;
	if (dyno_cgroup_create(croot, keep, NULL, &a) < 0 ||
	    dyno_cgroup_create(croot, busy, NULL, &b) < 0 ||
	    dyno_cgroup_create(croot, idle, NULL, &c) < 0) {
		ok(false, "create three cgroups for reconcile");
		dyno_cgroup_free(a);
		dyno_cgroup_free(b);
		dyno_cgroup_free(c);
		return;
	}
	int p[2];
	pid_t pid = spawn(p, fn_sleep, NULL);
	dyno_cgroup_attach(b, pid);
	go(p);
	/* The service crashed: handles are gone, the cgroups are not. */
	a = dyno_cgroup_free(a);
	b = dyno_cgroup_free(b);
	c = dyno_cgroup_free(c);
	const char *live[] = { keep };
	is_int(dyno_cgroup_reconcile_prefix(croot, rprefix, live, 1), 0, "reconcile");
	ok(leftovers(keep) > 0, "the live cgroup stays");
	is_int(leftovers(busy), 0, "the stale busy cgroup is removed");
	is_int(leftovers(idle), 0, "the stale empty cgroup is removed");
	ok(killed_by(reap(pid), SIGKILL), "the stale cgroup's process was killed");
	is_int(dyno_cgroup_reconcile_prefix(croot, rprefix, NULL, 0), 0, "reconcile with none live");
	is_int(leftovers(keep), 0, "then nothing is left");
}

/* Whether ROOT/unified is a writable v2 mount (hybrid hosts). */
static bool cg_detect_unified(enum dyno_cgroup_mode *ret)
{
	struct dyno_cgroup *cg = NULL;
	if (dyno_cgroup_create(ROOT "/unified", tname("probe"), NULL, &cg) < 0)
		return false;
	*ret = dyno_cgroup_get_mode(cg);
	(void)dyno_cgroup_destroy(cg);
	return *ret == DYNO_CGROUP_UNIFIED;
}

int main(void)
{
	if (!tap_is_root())
		tap_skip_all("needs root");
	int r = dyno_cgroup_detect(&mode);
	if (r < 0)
		tap_skip_all("no cgroup hierarchy at " ROOT " (%s)", strerror(-r));
	snprintf(prefix, sizeof(prefix), "test-cg-%d", (int)getpid());
	atexit(cleanup_all);
	tap_diag("cgroup mode: %s", dyno_cgroup_mode_to_string(mode));

	test_limits();
	test_attach_kill();
	test_clone_into();
	test_self_attach();
	test_self_deadlock();
	test_oom();
	test_swap();
	test_forkbomb();
	test_freeze();
	test_kill_tree();
	test_destroy_busy();
	test_halfway_failure();
	test_reconcile();

	/* A hybrid host's v2 mount has no controllers, but cgroup.kill, cgroup.freeze,
	 * cgroup.events and CLONE_INTO_CGROUP are v2's core: run the v2 backend on them here,
	 * between the full runs in the cgroup v2 VM. */
	enum dyno_cgroup_mode umode;
	if (mode == DYNO_CGROUP_HYBRID && cg_detect_unified(&umode)) {
		croot = root_path = ROOT "/unified";
		mode = DYNO_CGROUP_UNIFIED;
		bare = true;
		tap_diag("again on the controller-less v2 mount %s", croot);
		test_attach_kill();
		test_clone_into();
		test_self_attach();
		test_self_deadlock();
		test_freeze();
		test_kill_tree();
		test_destroy_busy();
		test_reconcile();
		struct dyno_cgroup *cg = NULL;
		struct dyno_limits l = { .pids_max = 10 };
		is_int(dyno_cgroup_create(croot, tname("nopids"), &l, &cg), -EOPNOTSUPP,
		       "a limit without its controller is -EOPNOTSUPP");
		is_int(leftovers(tname("nopids")), 0, "and leaves nothing behind");
	}
	return tap_done();
}
