/* The dyno's root filesystem: a plan of mounts and files made before clone (overlay of the
 * stack and the slug on a size-limited tmpfs, /etc, /dev, /proc with masks, read-only /sys), and
 * the child-side code that carries it out with plain system calls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "runtime/launcher-internal.h"

#define HOST "/.host"

char *dyno_plan_keep(struct dyno_plan *plan, char *s)
{
	if (!s)
		return NULL;
	if (ARRAY_GROW(plan->strings, plan->cap_strings, plan->n_strings, 64) < 0) {
		free(s);
		return NULL;
	}
	plan->strings[plan->n_strings++] = s;
	return s;
}

int dyno_plan_add(struct dyno_plan *plan, const struct dyno_op *op)
{
	if (ARRAY_GROW(plan->ops, plan->cap_ops, plan->n_ops, 64) < 0)
		return -ENOMEM;
	plan->ops[plan->n_ops++] = *op;
	return 0;
}

struct dyno_plan *dyno_plan_free(struct dyno_plan *plan)
{
	if (!plan)
		return NULL;
	for (size_t i = 0; i < plan->n_strings; i++)
		free(plan->strings[i]);
	free(plan->strings);
	free(plan->ops);
	free(plan->mount_dir);
	free(plan->dyno_dir);
	free(plan->script);
	strv_free(plan->init_envp);
	safe_close(plan->init_fd);
	safe_close(plan->parent_pidfd);
	for (size_t i = 0; i < plan->n_cg_tasks; i++)
		safe_close(plan->cg_tasks_fd[i]);
	if (plan->caps_empty)
		cap_free(plan->caps_empty);
	free(plan);
	return NULL;
}

_printf_(2, 3) static const char *fmt(struct dyno_plan *plan, const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	int r = vasprintf(&s, f, ap);
	va_end(ap);
	if (r < 0)
		return NULL;
	return dyno_plan_keep(plan, s);
}

/* Each add_* returns 0 or -ENOMEM; a NULL string from fmt() means ENOMEM. */
static int add(struct dyno_plan *plan, enum dyno_op_kind kind, enum dyno_step step,
	       const char *src, const char *dst, const char *fstype, unsigned long flags,
	       const char *data, mode_t mode, bool optional)
{
	if (!dst)
		return -ENOMEM;
	struct dyno_op op = {
		.kind = kind, .step = step, .optional = optional, .src = src, .dst = dst,
		.fstype = fstype, .flags = flags, .data = data, .mode = mode,
	};
	return dyno_plan_add(plan, &op);
}

static int add_mkdir(struct dyno_plan *plan, enum dyno_step step, const char *dst, mode_t mode,
		     bool fix_mode)
{
	if (!dst)
		return -ENOMEM;
	struct dyno_op op = { .kind = DYNO_OP_MKDIR, .step = step, .dst = dst, .mode = mode,
			      .fix_mode = fix_mode };
	return dyno_plan_add(plan, &op);
}

static int add_mknod(struct dyno_plan *plan, const char *dst, unsigned maj, unsigned min)
{
	struct dyno_op op = { .kind = DYNO_OP_MKNOD, .step = DYNO_STEP_DEV, .dst = dst,
			      .mode = S_IFCHR | 0666, .dev = makedev(maj, min) };
	return dyno_plan_add(plan, &op);
}

/* Overlay options are comma-separated and ':' separates lower layers: refuse such paths. */
static bool overlay_safe(const char *path)
{
	return !strpbrk(path, ",:\\\n");
}

/* Mirror one host path into the dyno, read-only: a symlink stays the same symlink, a
 * directory or a file is bind-mounted. Missing paths are skipped. */
static int add_host_path(struct dyno_plan *plan, const char *path, enum dyno_step step)
{
	struct stat st;
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n == -1)
			return -errno;
		target[n] = 0;
		const char *t = fmt(plan, "%s", target);
		if (!t)
			return -ENOMEM;
		return add(plan, DYNO_OP_SYMLINK, step, t, fmt(plan, "%s", path), NULL, 0, NULL, 0,
			   false);
	}
	int r;
	if (S_ISDIR(st.st_mode))
		r = add_mkdir(plan, step, fmt(plan, "%s", path), 0755, false);
	else
		r = add(plan, DYNO_OP_TOUCH, step, NULL, fmt(plan, "%s", path), NULL, 0, NULL, 0644,
			false);
	if (r < 0)
		return r;
	return add(plan, DYNO_OP_BIND_RO, step, fmt(plan, HOST "%s", path), fmt(plan, "%s", path),
		   NULL, MS_NOSUID | MS_NODEV, NULL, 0, true);
}

static int add_write(struct dyno_plan *plan, const char *dst, const char *data)
{
	return add(plan, DYNO_OP_WRITE, DYNO_STEP_ETC, NULL, dst, NULL, 0, data, 0644, false);
}

static int plan_host_stack(struct dyno_plan *plan)
{
	static const char *const top[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					   "/libx32" };
	static const char *const etc[] = {
		"/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/ld.so.cache",
		"/etc/services", "/etc/protocols", "/etc/localtime", "/etc/timezone",
		"/etc/mime.types", "/etc/gai.conf", "/etc/host.conf",
	};
	int r;
	for (size_t i = 0; i < ELEMENTSOF(top); i++)
		if ((r = add_host_path(plan, top[i], DYNO_STEP_ROOT)) < 0)
			return r;
	static const char *const dirs[] = { "/etc", "/var", "/run", "/home" };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if ((r = add_mkdir(plan, DYNO_STEP_ROOT, dirs[i], 0755, false)) < 0)
			return r;
	if ((r = add_mkdir(plan, DYNO_STEP_ROOT, "/var/tmp", 01777, true)) < 0 ||
	    (r = add_mkdir(plan, DYNO_STEP_ROOT, "/var/lib", 0755, false)) < 0)
		return r;
	/* Gems installed with `gem install` (Debian's GEM_HOME): the host's Ruby is incomplete
	 * without them. */
	if ((r = add_host_path(plan, "/var/lib/gems", DYNO_STEP_ROOT)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(etc); i++)
		if ((r = add_host_path(plan, etc[i], DYNO_STEP_ETC)) < 0)
			return r;
	const char *passwd = fmt(plan,
				 "root:x:0:0:root:/root:/usr/sbin/nologin\n"
				 "dyno:x:%u:%u:dyno:/app:/bin/sh\n"
				 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
				 (unsigned)plan->uid, (unsigned)plan->gid);
	const char *group = fmt(plan, "root:x:0:\ndyno:x:%u:\nnogroup:x:65534:\n",
				(unsigned)plan->gid);
	if (!passwd || !group)
		return -ENOMEM;
	if ((r = add_write(plan, "/etc/passwd", passwd)) < 0 ||
	    (r = add_write(plan, "/etc/group", group)) < 0 ||
	    (r = add_write(plan, "/etc/nsswitch.conf",
			   "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
			   "networks: files\nprotocols: files\nservices: files\n")) < 0)
		return r;
	return 0;
}

static int plan_dev(struct dyno_plan *plan)
{
	int r;
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {
		{ "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_DEV, "tmpfs", "/dev", "tmpfs",
		     MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536,nr_inodes=64", 0, false)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
		if ((r = add_mknod(plan, nodes[i].name, nodes[i].maj, nodes[i].min)) < 0)
			return r;
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if ((r = add(plan, DYNO_OP_SYMLINK, DYNO_STEP_DEV, links[i][0], links[i][1], NULL,
			     0, NULL, 0, false)) < 0)
			return r;
	if ((r = add_mkdir(plan, DYNO_STEP_DEV, "/dev/pts", 0755, false)) < 0 ||
	    (r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_DEV, "devpts", "/dev/pts", "devpts",
		     MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0, false)) < 0 ||
	    (r = add_mkdir(plan, DYNO_STEP_DEV, "/dev/shm", 01777, false)) < 0 ||
	    (r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_DEV, "shm", "/dev/shm", "tmpfs",
		     MS_NOSUID | MS_NODEV, "mode=1777,size=67108864", 0, false)) < 0)
		return r;
	return 0;
}

/* /proc as Docker leaves it: kernel memory, keys and timers masked, sysctls and the sysrq
 * trigger read-only. (Every mount here is also work at the dyno's exit: mask only what
 * exists and matters.) */
static int plan_proc(struct dyno_plan *plan)
{
	static const char *const masked_files[] = { "/proc/kcore", "/proc/keys",
						    "/proc/timer_list", "/proc/sched_debug",
						    "/proc/latency_stats", "/proc/timer_stats",
						    /* kernel addresses, when kptr_restrict allows */
						    "/proc/kallsyms" };
	static const char *const masked_dirs[] = { "/proc/acpi", "/proc/scsi", "/proc/asound" };
	static const char *const readonly[] = { "/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
						"/proc/bus", "/proc/fs" };
	int r;
	if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_PROC, "proc", "/proc", "proc",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, false)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(masked_files); i++)
		if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_PROC, "/dev/null", masked_files[i],
			     NULL, MS_BIND, NULL, 0, true)) < 0)
			return r;
	for (size_t i = 0; i < ELEMENTSOF(masked_dirs); i++)
		if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_PROC, "tmpfs", masked_dirs[i], "tmpfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", 0, true)) < 0)
			return r;
	for (size_t i = 0; i < ELEMENTSOF(readonly); i++)
		if ((r = add(plan, DYNO_OP_REMOUNT_RO, DYNO_STEP_PROC, NULL, readonly[i], NULL,
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, true)) < 0)
			return r;
	return 0;
}

static int plan_sys(struct dyno_plan *plan)
{
	/* A fresh sysfs has nothing mounted on kernel/debug or kernel/security. */
	static const char *const masked[] = { "/sys/firmware", "/sys/devices/virtual/powercap" };
	int r;
	if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_SYS, "sysfs", "/sys", "sysfs",
		     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, false)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(masked); i++)
		if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_SYS, "tmpfs", masked[i], "tmpfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", 0, true)) < 0)
			return r;
	return 0;
}

static int read_host_resolv_conf(struct dyno_plan *plan, const char **ret)
{
	_cleanup_free_ char *s = NULL;
	int r = read_file_at(AT_FDCWD, "/etc/resolv.conf", 65536, &s, NULL);
	if (r == -ENOENT) {
		*ret = "";
		return 0;
	}
	if (r < 0)
		return r;
	*ret = dyno_plan_keep(plan, TAKE_PTR(s));
	return *ret ? 0 : -ENOMEM;
}

/* What the dyno adds to its root: the mount points, /app, /tmp, and /etc's generated files.
 * `at` prefixes every path. With an overlay root they go straight into its upper layer before
 * the overlay is mounted (at = "<tmpfs>/upper"): created through the mounted overlay, each
 * costs a copy-up or a whiteout (0.02-0.06 ms apiece, on the launch's critical path); in the
 * upper layer they are plain tmpfs writes, and the overlay shows them over the stack's. */
static int plan_root_entries(struct dyno_plan *plan, const char *at, const char *resolv)
{
	static const struct {
		const char *path;
		mode_t mode;
		bool fix_mode;
	} dirs[] = {
		{ HOST, 0700, false }, { "/app", 0755, false }, { "/tmp", 01777, true },
		{ "/etc", 0755, false }, { "/dev", 0755, false }, { "/proc", 0555, false },
		{ "/sys", 0555, false },
	};
	int r;
	if (!at)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if ((r = add_mkdir(plan, DYNO_STEP_ROOT, fmt(plan, "%s%s", at, dirs[i].path),
				   dirs[i].mode, dirs[i].fix_mode)) < 0)
			return r;
	const char *hosts = fmt(plan,
				"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
				"127.0.1.1\t%s\n",
				plan->hostname);
	const char *hostname = fmt(plan, "%s\n", plan->hostname);
	if (!hosts || !hostname)
		return -ENOMEM;
	if ((r = add_write(plan, fmt(plan, "%s/etc/hosts", at), hosts)) < 0 ||
	    (r = add_write(plan, fmt(plan, "%s/etc/hostname", at), hostname)) < 0 ||
	    (r = add_write(plan, fmt(plan, "%s/etc/resolv.conf", at), resolv)) < 0)
		return r;
	return 0;
}

int dyno_rootfs_plan(struct dyno_plan *plan, const struct dyno_params *p)
{
	bool host = strcmp(p->stack, "host") == 0;
	_cleanup_free_ char *stack = NULL, *slug = NULL;
	const char *m = plan->mount_dir;
	int r;

	if (!host) {
		stack = realpath(p->stack, NULL);
		if (!stack)
			return -errno;
		if (!overlay_safe(stack))
			return -EINVAL;
	}
	if (p->slug) {
		slug = realpath(p->slug, NULL);
		if (!slug)
			return -errno;
		if (!overlay_safe(slug))
			return -EINVAL;
	}
	if (!overlay_safe(m))
		return -EINVAL;

	const char *size = fmt(plan, "size=%llu,mode=0755",
			       (unsigned long long)(p->tmpfs_bytes ? p->tmpfs_bytes
								   : DYNO_DEFAULT_TMPFS_BYTES));
	const char *root = fmt(plan, "%s/root", m);
	if (!size || !root)
		return -ENOMEM;

	/* On the host side: a private mount tree, the tmpfs, the root, then into it. */
	if ((r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_MOUNT_PRIVATE, NULL, "/", NULL,
		     MS_REC | MS_PRIVATE, NULL, 0, false)) < 0 ||
	    (r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_TMPFS, "tmpfs", m, "tmpfs",
		     MS_NOSUID | MS_NODEV, size, 0, false)) < 0)
		return r;
	static const char *const sub[] = { "root", "upper", "work", "app-upper", "app-work" };
	for (size_t i = 0; i < ELEMENTSOF(sub); i++)
		if ((r = add_mkdir(plan, DYNO_STEP_TMPFS, fmt(plan, "%s/%s", m, sub[i]), 0755,
				   false)) < 0)
			return r;
	const char *resolv = p->resolv_conf;
	if (!resolv && (r = read_host_resolv_conf(plan, &resolv)) < 0)
		return r;
	/* The root's entries go where they are plain tmpfs writes: the host stack's root is a
	 * directory of the tmpfs (bound on itself below), an overlay root takes them in its upper
	 * layer, before it is mounted. */
	if ((r = plan_root_entries(plan, host ? root : fmt(plan, "%s/upper", m), resolv)) < 0)
		return r;
	if (host)
		r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_ROOT, root, root, NULL, MS_BIND, NULL, 0,
			false);
	else
		r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_ROOT, "overlay", root, "overlay",
			MS_NOSUID | MS_NODEV,
			fmt(plan, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", stack, m, m), 0,
			false);
	if (r < 0)
		return r;
	if ((r = add(plan, DYNO_OP_PIVOT, DYNO_STEP_PIVOT_ROOT, fmt(plan, "%s" HOST, root), root,
		     NULL, 0, NULL, 0, false)) < 0)
		return r;

	/* From here on paths are inside the dyno; the host is at /.host. */
	if (host && (r = plan_host_stack(plan)) < 0)
		return r;
	if (slug &&
	    (r = add(plan, DYNO_OP_MOUNT, DYNO_STEP_APP, "overlay", "/app", "overlay",
		     MS_NOSUID | MS_NODEV,
		     fmt(plan, "lowerdir=" HOST "%s,upperdir=" HOST "%s/app-upper,workdir=" HOST
			       "%s/app-work",
			 slug, m, m),
		     0, false)) < 0)
		return r;
	struct dyno_op chown_app = { .kind = DYNO_OP_CHOWN, .step = DYNO_STEP_APP, .dst = "/app" };
	if ((r = dyno_plan_add(plan, &chown_app)) < 0)
		return r;

	if ((r = plan_dev(plan)) < 0 || (r = plan_proc(plan)) < 0)
		return r;
	/* The host's tree goes before the network namespace is needed: detaching it waits for an
	 * RCU grace period, which overlaps with the parent still making the namespace. */
	if ((r = add(plan, DYNO_OP_DETACH, DYNO_STEP_PIVOT_ROOT, NULL, HOST, NULL, 0, NULL, 0,
		     false)) < 0)
		return r;
	/* The network namespace comes as late as possible and before /sys, whose net class shows
	 * the devices of the mounting task's namespace. */
	struct dyno_op join = { .kind = DYNO_OP_JOIN_NET, .step = DYNO_STEP_NET_JOIN };
	struct dyno_op lo = { .kind = DYNO_OP_LOOPBACK_UP, .step = DYNO_STEP_LOOPBACK };
	if ((r = dyno_plan_add(plan, &join)) < 0 ||
	    (plan->loopback_up && (r = dyno_plan_add(plan, &lo)) < 0))
		return r;
	return plan_sys(plan);
}

/* ---- child side: no allocation from here on ---- */

static int loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s == -1)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return RET_NERRNO(ioctl(s, SIOCSIFFLAGS, &ifr));
}

static int apply_one(const struct dyno_plan *plan, const struct dyno_op *op)
{
	int fd, r;

	switch (op->kind) {
	case DYNO_OP_MOUNT:
		return RET_NERRNO(mount(op->src, op->dst, op->fstype, op->flags, op->data));
	case DYNO_OP_BIND_RO:
		if (mount(op->src, op->dst, NULL, MS_BIND | MS_REC, NULL) == -1)
			return -errno;
		return RET_NERRNO(mount(NULL, op->dst, NULL,
					MS_REMOUNT | MS_BIND | MS_RDONLY | op->flags, NULL));
	case DYNO_OP_REMOUNT_RO:
		if (mount(op->dst, op->dst, NULL, MS_BIND | MS_REC, NULL) == -1)
			return -errno;
		return RET_NERRNO(mount(NULL, op->dst, NULL,
					MS_REMOUNT | MS_BIND | MS_RDONLY | op->flags, NULL));
	case DYNO_OP_MKDIR:
		if (mkdir(op->dst, op->mode) == -1 && errno != EEXIST)
			return -errno;
		if (op->fix_mode && chmod(op->dst, op->mode) == -1)
			return -errno;
		return 0;
	case DYNO_OP_TOUCH:
		fd = open(op->dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, op->mode);
		if (fd == -1)
			return -errno;
		close(fd);
		return 0;
	case DYNO_OP_MKNOD:
		if (mknod(op->dst, op->mode, op->dev) == -1 && errno != EEXIST)
			return -errno;
		return 0;
	case DYNO_OP_SYMLINK:
		if (unlink(op->dst) == -1 && errno != ENOENT && errno != EISDIR)
			return -errno;
		return RET_NERRNO(symlink(op->src, op->dst));
	case DYNO_OP_WRITE:
		if (unlink(op->dst) == -1 && errno != ENOENT)
			return -errno;
		fd = open(op->dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op->mode);
		if (fd == -1)
			return -errno;
		r = fd_write_all(fd, op->data, strlen(op->data));
		close(fd);
		return r;
	case DYNO_OP_CHOWN:
		return RET_NERRNO(chown(op->dst, plan->uid, plan->gid));
	case DYNO_OP_PIVOT:
		if (syscall(SYS_pivot_root, op->dst, op->src) == -1)
			return -errno;
		return RET_NERRNO(chdir("/"));
	case DYNO_OP_DETACH:
		if (umount2(op->dst, MNT_DETACH) == -1)
			return -errno;
		return RET_NERRNO(rmdir(op->dst));
	case DYNO_OP_JOIN_NET: {
		int ns;
		size_t n;
		if ((r = dyno_child_recv(plan, DYNO_SYNC_NET, &ns, 1, &n)) < 0 || n != 1) {
			if (n == 1)
				close(ns);
			return r < 0 ? r : -ECANCELED;
		}
		r = RET_NERRNO(setns(ns, CLONE_NEWNET));
		close(ns);
		return r;
	}
	case DYNO_OP_LOOPBACK_UP:
		return loopback_up();
	case DYNO_OP_MAX:
		break;
	}
	return -EINVAL;
}

int dyno_rootfs_apply(const struct dyno_plan *plan, enum dyno_step *ret_step)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct dyno_op *op = &plan->ops[i];
		int r = apply_one(plan, op);
		if (r == -ENOENT && op->optional)
			continue;
		if (r < 0) {
			*ret_step = op->step;
			return r;
		}
	}
	return 0;
}
