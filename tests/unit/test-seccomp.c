/* The dyno's compiled-in seccomp filter (runtime/seccomp-filter.c, made by runtime/seccomp-gen)
 * against the policy, on the real kernel: its architecture check, then in forked children that
 * load it, every denied call says EPERM, clone with a namespace flag EPERM, clone3 ENOSYS, and
 * ordinary calls, fork and threads still work.
 * Denied calls are probed under a second filter that answers SECCOMP_RET_TRACE for them: the
 * dyno's EPERM outranks it, and a call the dyno's filter wrongly allows is then not run at all
 * but fails with ENOSYS (no tracer), so the test never reboots, mounts or sets the clock. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/launcher-internal.h"
#include "runtime/launcher.h"
#include "tests/lib/tap.h"

#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_RISCV64
#else
#define NATIVE_AUDIT_ARCH 0 /* the test skips */
#endif

/* The policy as DESIGN states it, written down independently of the generator. */
static const char *const expect_denied[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd", "nfsservctl",
	"kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
	"delete_module", "create_module", "get_kernel_syms", "query_module", "syslog",
	"bpf", "perf_event_open", "lookup_dcookie", "iopl", "ioperm", "swapon", "swapoff",
	"acct", "sysfs", "_sysctl", "uselib", "ustat", "vhangup", "pciconfig_read",
	"pciconfig_write", "pciconfig_iobase", "vm86", "vm86old",
	"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
	"clock_adjtime64", "adjtimex",
	"keyctl", "add_key", "request_key",
	"userfaultfd", "move_pages", "migrate_pages", "mbind", "set_mempolicy",
	"set_mempolicy_home_node", "kcmp",
	"sethostname", "setdomainname",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"fanotify_init",
};

static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
					  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
					  CLONE_NEWTIME,
#endif
					  CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID };

#define TIOCSTI_NR 0x5412UL

/* fork(); the child runs under the dyno's filter alone (exit 10 when it cannot load it). */
static pid_t fork_with_dyno_filter(void)
{
	const struct sock_fprog *dyno;
	if (dyno_seccomp_get(&dyno) < 0)
		tap_bail("dyno_seccomp_get");
	pid_t pid = fork();
	if (pid == -1)
		tap_bail("fork: %m");
	if (pid == 0 &&
	    (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || dyno_seccomp_load(dyno) < 0))
		_exit(10);
	return pid;
}
#define MAX_PROBES 128

/* One system call a child makes, and what it must answer (0: success, else an errno). */
struct probe {
	char what[80];
	long nr;
	unsigned long a0, a1;
	int expect;
};

static struct probe probes[MAX_PROBES];
static size_t n_probes;

static void add_probe(long nr, unsigned long a0, unsigned long a1, int expect, const char *fmt,
		      ...) _printf_(5, 6);
static void add_probe(long nr, unsigned long a0, unsigned long a1, int expect, const char *fmt,
		      ...)
{
	if (n_probes == MAX_PROBES)
		tap_bail("more than %d probes", MAX_PROBES);
	struct probe *p = &probes[n_probes++];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	p->nr = nr;
	p->a0 = a0;
	p->a1 = a1;
	p->expect = expect;
}

static int load(const struct sock_fprog *prog)
{
	return RET_NERRNO(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog));
}

/* A filter answering SECCOMP_RET_TRACE for the native calls in nrs, ALLOW for the rest. */
static int load_trace_filter(const long *nrs, size_t n)
{
	struct sock_filter f[MAX_PROBES + 8];
	size_t i = 0;

	if (n > MAX_PROBES + 1)
		return -E2BIG;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (size_t j = 0; j < n; j++)
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nrs[j],
						      (uint8_t)(n - j), 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	struct sock_fprog prog = { .len = (unsigned short)i, .filter = f };
	return load(&prog);
}

static void write_all_or_die(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(3);
}

/* Fork a child that loads the trace filter for the probes (if traced), then the dyno's filter,
 * makes every probe and sends back its errnos; fills results. Returns 0, or -1 with a diag. */
static int run_probes(bool traced, int *results)
{
	const struct sock_fprog *dyno;
	_cleanup_close_pair_ int p[2] = { -1, -1 };

	if (dyno_seccomp_get(&dyno) < 0 || pipe2(p, O_CLOEXEC) == -1)
		return -1;
	pid_t pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		int res[MAX_PROBES];
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			_exit(10);
		if (traced) {
			long nrs[MAX_PROBES + 1];
			for (size_t i = 0; i < n_probes; i++)
				nrs[i] = probes[i].nr;
			nrs[n_probes] = SYS_getppid; /* the canary */
			if (load_trace_filter(nrs, n_probes + 1) < 0)
				_exit(11);
			/* Nothing below may run a probe for real: prove the net holds first. */
			if (syscall(SYS_getppid) != -1 || errno != ENOSYS)
				_exit(12);
		}
		if (dyno_seccomp_load(dyno) < 0)
			_exit(13);
		for (size_t i = 0; i < n_probes; i++) {
			long r = syscall(probes[i].nr, probes[i].a0, probes[i].a1, 0UL, 0UL, 0UL,
					 0UL);
			res[i] = r == -1 ? errno : 0;
		}
		write_all_or_die(p[1], res, n_probes * sizeof(int));
		_exit(0);
	}
	p[1] = safe_close(p[1]);
	ssize_t n = read(p[0], results, n_probes * sizeof(int));
	int status;
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != (ssize_t)(n_probes * sizeof(int))) {
		tap_diag("probe child: status %#x, %zd bytes", (unsigned)status, n);
		return -1;
	}
	return 0;
}

static void check_probes(bool traced, const char *label)
{
	int results[MAX_PROBES];

	if (!ok(run_probes(traced, results) == 0, "%s: the child loaded the filter(s) and reported",
		label))
		return;
	for (size_t i = 0; i < n_probes; i++) {
		bool good = results[i] == probes[i].expect;
		ok(good, "%s: %s -> %s", label, probes[i].what,
		   probes[i].expect ? strerrorname_np(probes[i].expect) : "success");
		if (!good)
			tap_diag("got %s", results[i] ? strerrorname_np(results[i]) : "success");
	}
}

static void test_arch_check(const struct sock_filter *f, size_t n)
{
	ok(n >= 4 && f[0].code == (BPF_LD | BPF_W | BPF_ABS) &&
		   f[0].k == offsetof(struct seccomp_data, arch),
	   "the program first loads the architecture");
	if (n < 4)
		return;
	ok(f[1].code == (BPF_JMP | BPF_JEQ | BPF_K) && f[1].k == NATIVE_AUDIT_ARCH,
	   "then compares it with the native AUDIT_ARCH %#x (got %#x)", NATIVE_AUDIT_ARCH, f[1].k);
	size_t other = 2 + (size_t)f[1].jf;
	uint32_t action = other < n ? f[other].k & SECCOMP_RET_ACTION_FULL : 0xffffffffu;
	ok(other < n && f[other].code == (BPF_RET | BPF_K) &&
		   (action == SECCOMP_RET_KILL_THREAD || action == SECCOMP_RET_KILL_PROCESS),
	   "and kills a call from another architecture");
}

/* A call from another ABI on this machine dies with SIGSYS (x86_64: i386 int 0x80, x32). */
static void test_foreign_abi(void)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	for (int kind = 0; kind < 2; kind++) {
		pid_t pid = fork_with_dyno_filter();
		if (pid == 0) {
			if (kind == 0) {
				long ret = 20; /* i386 getpid */
				__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
			} else {
				syscall(0x40000000L | SYS_getpid); /* __X32_SYSCALL_BIT */
			}
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) == -1)
			tap_bail("waitpid: %m");
		ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "%s call: killed by SIGSYS",
		   kind == 0 ? "i386 (int 0x80)" : "x32");
	}
#else
	tap_skip("foreign ABI calls are probed on x86_64 only");
#endif
}

static void *thread_main(void *arg)
{
	return arg;
}

/* Calls a dyno makes all the time: fork (clone without namespace flags) and threads (clone3
 * says ENOSYS and libc falls back to clone). */
static void test_allowed_processes(void)
{
	pid_t pid = fork_with_dyno_filter();
	if (pid == 0) {
		pid_t c = fork();
		if (c == -1)
			_exit(11);
		if (c == 0)
			_exit(42);
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 42)
			_exit(12);
		pthread_t t;
		int token;
		void *back = NULL;
		if (pthread_create(&t, NULL, thread_main, &token) != 0)
			_exit(13);
		if (pthread_join(t, &back) != 0 || back != &token)
			_exit(14);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) == -1)
		tap_bail("waitpid: %m");
	if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"under the filter: fork, wait, pthread_create and join work"))
		tap_diag("child status %#x (10 load, 11 fork, 12 wait, 13 thread, 14 join)",
			 (unsigned)status);
}

int main(void)
{
	if (NATIVE_AUDIT_ARCH == 0)
		tap_skip_all("no AUDIT_ARCH known for this architecture in the test");
	const void *prog = NULL;
	size_t len = 0;
	const struct sock_fprog *fprog;

	int r = dyno_seccomp_program(&prog, &len);
	if (!ok(r == 0 && len > 0 &&
			len % sizeof(struct sock_filter) == 0 &&
			len / sizeof(struct sock_filter) <= BPF_MAXINSNS,
		"dyno_seccomp_program: %zu instructions", len / sizeof(struct sock_filter)))
		return tap_done();
	ok(dyno_seccomp_get(&fprog) == 0 && fprog->filter == prog &&
		   fprog->len * sizeof(struct sock_filter) == len,
	   "dyno_seccomp_get serves the same program");
	test_arch_check(prog, len / sizeof(struct sock_filter));

	/* Denied outright, under the trace net. */
	for (size_t i = 0; i < ELEMENTSOF(expect_denied); i++) {
		int nr = seccomp_syscall_resolve_name(expect_denied[i]);
		if (nr < 0)
			continue; /* not a call on this architecture */
		add_probe(nr, 0, 0, EPERM, "%s", expect_denied[i]);
	}
	for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++)
		add_probe(SYS_clone, ns_flags[i] | SIGCHLD, 0, EPERM, "clone(%#lx|SIGCHLD)",
			  ns_flags[i]);
	add_probe(SYS_ioctl, 0, TIOCSTI_NR, EPERM, "ioctl(TIOCSTI)");
	add_probe(SYS_ioctl, 0, (1UL << 32) | TIOCSTI_NR, EPERM,
		  "ioctl(TIOCSTI with high bits set)");
	/* Controls: what the dyno's filter allows meets the net (ENOSYS, not run), which shows
	 * the EPERMs above come from the dyno's filter. */
	add_probe(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, 0, ENOSYS,
		  "control: clone without namespace flags reaches the net");
	add_probe(SYS_ioctl, 0, FIONREAD, ENOSYS, "control: ioctl(FIONREAD) reaches the net");
	check_probes(true, "traced");

	/* Without the net: clone3 and TIOCSTI on a pipe (harmless if let through) and calls
	 * that must work. */
	_cleanup_close_pair_ int pfd[2] = { -1, -1 };
	if (pipe2(pfd, O_CLOEXEC) == -1)
		tap_bail("pipe2: %m");
	n_probes = 0;
	add_probe(SYS_clone3, 0, 0, ENOSYS, "clone3(NULL, 0)");
	add_probe(SYS_ioctl, (unsigned long)pfd[0], TIOCSTI_NR, EPERM, "ioctl(pipe, TIOCSTI)");
	add_probe(SYS_ioctl, (unsigned long)pfd[0], FIONREAD, EFAULT,
		  "ioctl(pipe, FIONREAD, NULL) reaches the kernel");
	add_probe(SYS_getpid, 0, 0, 0, "getpid");
	add_probe(SYS_getppid, 0, 0, 0, "getppid");
	add_probe(SYS_close_range, 1000000, 1000001, 0, "close_range");
	check_probes(false, "plain");

	test_allowed_processes();
	test_foreign_abi();
	return tap_done();
}
