/* The dyno's seccomp filter, in the spirit of Docker's default profile: a deny list of the
 * system calls that reach the kernel's global state (mounts, namespaces, modules, clocks,
 * keyrings, BPF, ...). Built once per process with libseccomp, exported as classic BPF, and
 * loaded in every dyno with the raw system call (no allocation after clone). */
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/launcher-internal.h"

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/* Denied with EPERM, whatever the arguments. */
static const char *const denied[] = {
	/* filesystems and namespaces */
	"mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd", "nfsservctl",
	/* the kernel itself */
	"kexec_load", "kexec_file_load", "reboot", "init_module", "finit_module",
	"delete_module", "create_module", "get_kernel_syms", "query_module", "syslog",
	"bpf", "perf_event_open", "lookup_dcookie", "iopl", "ioperm", "swapon", "swapoff",
	"acct", "sysfs", "_sysctl", "uselib", "ustat", "vhangup", "pciconfig_read",
	"pciconfig_write", "pciconfig_iobase", "vm86", "vm86old",
	/* clocks */
	"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
	"clock_adjtime64", "adjtimex",
	/* keyrings */
	"keyctl", "add_key", "request_key",
	/* memory tricks used in exploits */
	"userfaultfd", "move_pages", "migrate_pages", "mbind", "set_mempolicy",
	"set_mempolicy_home_node", "kcmp",
	/* host-wide identity */
	"sethostname", "setdomainname",
	/* rings that bypass this filter's view of the calls they carry */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"fanotify_init",
};

static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
					  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
#ifdef CLONE_NEWTIME
					  CLONE_NEWTIME
#endif
};

static struct sock_fprog seccomp_prog;
static void *seccomp_mem;

static int build(void)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	/* Other ABIs (i386 via int 0x80, x32) are killed by the default bad-arch action. */
	for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not a call on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return r;
	}
	/* clone(2) may make threads and processes but no namespaces; clone3 hides its flags
	 * in memory, so it says ENOSYS and libc falls back to clone. */
	for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (r < 0)
			return r;
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return r;
	/* ioctl(TIOCSTI) pushes input into a terminal outside the dyno. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0x5412 /* TIOCSTI */));
	if (r < 0)
		return r;

	/* libseccomp 2.5 exports to an fd only: a pipe holds the program (BPF_MAXINSNS
	 * instructions are 32 KiB, below the pipe's 64 KiB). */
	_cleanup_close_pair_ int pipe_fds[2] = { -1, -1 };
	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == -1)
		return -errno;
	r = seccomp_export_bpf(ctx, pipe_fds[1]);
	if (r < 0)
		return r;
	size_t max = BPF_MAXINSNS * sizeof(struct sock_filter);
	_cleanup_free_ void *mem = malloc(max);
	if (!mem)
		return -ENOMEM;
	ssize_t n = read(pipe_fds[0], mem, max);
	if (n == -1)
		return -errno;
	if (n == 0 || n % (ssize_t)sizeof(struct sock_filter) != 0)
		return -EINVAL;
	seccomp_prog.len = (unsigned short)((size_t)n / sizeof(struct sock_filter));
	seccomp_prog.filter = mem;
	seccomp_mem = TAKE_PTR(mem);
	return 0;
}

int dyno_seccomp_get(const struct sock_fprog **ret)
{
	if (!seccomp_mem) {
		int r = build();
		if (r < 0)
			return r;
	}
	*ret = &seccomp_prog;
	return 0;
}

int dyno_seccomp_program(const void **ret_filter, size_t *ret_len)
{
	const struct sock_fprog *prog;
	int r = dyno_seccomp_get(&prog);
	if (r < 0)
		return r;
	*ret_filter = prog->filter;
	*ret_len = prog->len * sizeof(struct sock_filter);
	return 0;
}

int dyno_seccomp_load(const struct sock_fprog *prog)
{
	return RET_NERRNO(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog));
}
