/* Build-time generator of the dyno's seccomp filter: the rules below, compiled by libseccomp into
 * classic BPF (a binary tree of syscall numbers) and written out as a C array that seccomp.c
 * serves, so no dyno start pays for libseccomp.
 * Usage: seccomp-gen [OUTPUT.c]   (stdout without an argument; a file is replaced atomically) */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/* The policy, in the spirit of Docker's default profile: a deny list of the system calls that
 * reach the kernel's global state (mounts, namespaces, modules, clocks, keyrings, BPF, ...).
 * Denied with EPERM, whatever the arguments. */
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

/* A preprocessor test for the architecture this generator runs on, written into the output so
 * a cross build (generator for one architecture, dynohost for another) fails to compile instead
 * of shipping a filter whose architecture check kills every dyno. */
#if defined(__x86_64__) && defined(__ILP32__)
#define GEN_ARCH_TEST "defined(__x86_64__) && defined(__ILP32__)"
#elif defined(__x86_64__)
#define GEN_ARCH_TEST "defined(__x86_64__) && !defined(__ILP32__)"
#elif defined(__i386__)
#define GEN_ARCH_TEST "defined(__i386__)"
#elif defined(__aarch64__)
#define GEN_ARCH_TEST "defined(__aarch64__)"
#elif defined(__arm__)
#define GEN_ARCH_TEST "defined(__arm__)"
#elif defined(__riscv) && __riscv_xlen == 64
#define GEN_ARCH_TEST "defined(__riscv) && __riscv_xlen == 64"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define GEN_ARCH_TEST "defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)"
#elif defined(__s390x__)
#define GEN_ARCH_TEST "defined(__s390x__)"
#else
#error "seccomp-gen: add this architecture's preprocessor test to GEN_ARCH_TEST"
#endif

/* Names the rules could not use: libseccomp knows them on other architectures only, or not at
 * all (a libseccomp older than the name). Listed in the output so a reader sees them. */
struct skipped {
	const char *absent[ELEMENTSOF(denied)];
	size_t n_absent;
	const char *unknown[ELEMENTSOF(denied)];
	size_t n_unknown;
};

static int add_rules(scmp_filter_ctx ctx, struct skipped *skipped)
{
	int r;

	for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR) {
			skipped->unknown[skipped->n_unknown++] = denied[i];
			continue;
		}
		if (nr < 0) { /* a pseudo-number: not a call on this architecture */
			skipped->absent[skipped->n_absent++] = denied[i];
			continue;
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return log_error_errno(r, "seccomp_rule_add(%s): %m", denied[i]);
	}
	/* clone(2) may make threads and processes but no namespaces; clone3 hides its flags
	 * in memory, so it says ENOSYS and libc falls back to clone. */
	for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (r < 0)
			return log_error_errno(r, "seccomp_rule_add(clone, %#lx): %m", ns_flags[i]);
	}
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return log_error_errno(r, "seccomp_rule_add(clone3): %m");
	/* ioctl(TIOCSTI) pushes input into a terminal outside the dyno. The kernel takes the
	 * command as 32 bits, so only those are compared. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0x5412 /* TIOCSTI */));
	if (r < 0)
		return log_error_errno(r, "seccomp_rule_add(ioctl TIOCSTI): %m");
	return 0;
}

/* Compile ctx to classic BPF. libseccomp 2.5 exports to an fd only: a memfd holds it. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret_insns, size_t *ret_n)
{
	_cleanup_close_ int fd = memfd_create("dyno-seccomp-gen", MFD_CLOEXEC);
	struct stat st;
	int r;

	if (fd == -1)
		return log_error_errno(errno, "memfd_create: %m");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return log_error_errno(r, "seccomp_export_bpf: %m");
	if (fstat(fd, &st) == -1)
		return log_error_errno(errno, "fstat: %m");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return log_error_errno(EINVAL, "libseccomp exported %zu bytes: %m", size);
	_cleanup_free_ struct sock_filter *insns = malloc(size);
	if (!insns)
		return log_error_errno(ENOMEM, "%m");
	ssize_t n = pread(fd, insns, size, 0);
	if (n == -1)
		return log_error_errno(errno, "read the exported program: %m");
	if ((size_t)n != size)
		return log_error_errno(EIO, "short read of the exported program: %m");
	*ret_insns = TAKE_PTR(insns);
	*ret_n = size / sizeof(struct sock_filter);
	return 0;
}

static void write_names(FILE *f, const char *what, const char *const *names, size_t n)
{
	if (n == 0)
		return;
	fprintf(f, " * %s:", what);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s", i > 0 && i % 6 == 0 ? "\n *" : "", names[i]);
	fputs("\n", f);
}

static void write_source(FILE *f, const struct sock_filter *insns, size_t n, uint32_t arch,
			 const struct skipped *skipped)
{
	const struct scmp_version *v = seccomp_version();
	struct utsname u;

	if (uname(&u) == -1)
		snprintf(u.machine, sizeof(u.machine), "?");
	fprintf(f,
		"/* Generated by runtime/seccomp-gen (libseccomp %u.%u.%u, optimize level 2): the\n"
		" * dyno's seccomp filter as classic BPF for the native architecture %s\n"
		" * (AUDIT_ARCH %#x). Do not edit; the rules are in runtime/seccomp-gen.c.\n",
		v->major, v->minor, v->micro, u.machine, arch);
	write_names(f, "Not calls on this architecture", skipped->absent, skipped->n_absent);
	write_names(f, "Unknown to this libseccomp, NOT filtered", skipped->unknown,
		    skipped->n_unknown);
	fprintf(f,
		" */\n"
		"#include <linux/filter.h>\n"
		"\n"
		"#if !(%s)\n"
		"#error \"the seccomp filter was generated for %s; build runtime/seccomp-gen for "
		"the target\"\n"
		"#endif\n"
		"\n"
		"extern const struct sock_filter dyno_seccomp_filter[];\n"
		"extern const unsigned short dyno_seccomp_filter_len;\n"
		"\n"
		"const struct sock_filter dyno_seccomp_filter[] = {\n",
		GEN_ARCH_TEST, u.machine);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "\t{ 0x%04x, %3u, %3u, 0x%08x },\n", insns[i].code, insns[i].jt,
			insns[i].jf, insns[i].k);
	fprintf(f,
		"};\n"
		"const unsigned short dyno_seccomp_filter_len = %zu;\n",
		n);
}

/* Write to a temporary name next to path and rename it over path, so a failed run leaves
 * either the old file or none. */
static int write_file(const char *path, const struct sock_filter *insns, size_t n, uint32_t arch,
		      const struct skipped *skipped)
{
	size_t len = strlen(path) + sizeof(".XXXXXX");
	_cleanup_free_ char *tmp = malloc(len);
	int r;

	if (!tmp)
		return log_error_errno(ENOMEM, "%m");
	snprintf(tmp, len, "%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1)
		return log_error_errno(errno, "create a temporary file for \"%s\": %m", path);
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) == -1) {
		r = log_error_errno(errno, "chmod \"%s\": %m", tmp);
		close(fd);
		goto fail;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		r = log_error_errno(errno, "fdopen \"%s\": %m", tmp);
		close(fd);
		goto fail;
	}
	write_source(f, insns, n, arch, skipped);
	if (fflush(f) == EOF || ferror(f) || fsync(fileno(f)) == -1) {
		r = log_error_errno(errno ? errno : EIO, "write \"%s\": %m", tmp);
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		r = log_error_errno(errno, "close \"%s\": %m", tmp);
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		r = log_error_errno(errno, "rename \"%s\" to \"%s\": %m", tmp, path);
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return r;
}

int main(int argc, char **argv)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	_cleanup_free_ struct sock_filter *insns = NULL;
	struct skipped skipped = { 0 };
	size_t n = 0;
	int r;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [OUTPUT.c]\n", argv[0]);
		return 2;
	}
	/* Other ABIs (i386 via int 0x80, x32) are killed by the default bad-arch action. */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		log_error_errno(ENOMEM, "seccomp_init: %m");
		return 1;
	}
	/* A binary tree of syscall numbers: the kernel runs the filter for every number when it
	 * builds its action cache at load time, and a tree is cheaper there than a linear list. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		log_error_errno(r, "seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, 2): %m");
		return 1;
	}
	if (add_rules(ctx, &skipped) < 0 || export_bpf(ctx, &insns, &n) < 0)
		return 1;
	for (size_t i = 0; i < skipped.n_unknown; i++)
		fprintf(stderr, "seccomp-gen: warning: libseccomp %u.%u.%u does not know \"%s\"; "
			"it is not filtered\n", seccomp_version()->major, seccomp_version()->minor,
			seccomp_version()->micro, skipped.unknown[i]);

	uint32_t arch = seccomp_arch_native();
	if (argc == 2)
		return write_file(argv[1], insns, n, arch, &skipped) < 0 ? 1 : 0;
	write_source(stdout, insns, n, arch, &skipped);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_error_errno(errno ? errno : EIO, "write to stdout: %m");
		return 1;
	}
	return 0;
}
