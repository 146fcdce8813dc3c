/* dynoprobe: a static multi-call helper for the launcher's tests, copied into a tiny test
 * rootfs. `dynoprobe ACTION [ARGS]`: small workloads (true, id, sleep, memhog, forkbomb, fill,
 * zombies, ...) and one probe per forbidden action. A probe prints "NAME: ERRNO" (the errno
 * name the attempt failed with) or "NAME: ok [detail]" when it succeeded, and exits 0: the
 * test decides what is right. Built -static, without sanitizers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name;

static int result(long r)
{
	if (r == -1)
		printf("%s: %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	else
		printf("%s: ok %ld\n", name, r);
	return 0;
}

static long open_write(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	long r = write(fd, data, strlen(data));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Read a file; returns the number of bytes read or -1. */
static long read_count(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	char buf[4096];
	long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && total < (1 << 20))
		total += n;
	int e = errno;
	close(fd);
	errno = e;
	return n == -1 ? -1 : total;
}

static int do_caps(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	if (!f)
		return result(-1);
	printf("caps:");
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0 ||
		    strncmp(line, "Seccomp:", 8) == 0) {
			line[strcspn(line, "\n")] = 0;
			char *v = strchr(line, ':') + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			*strchr(line, ':') = 0;
			printf(" %s=%s", line, v);
		}
	}
	printf("\n");
	fclose(f);
	return 0;
}

static int do_memhog(long max_mb)
{
	long mb = 0;
	for (;;) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (p == MAP_FAILED) {
			printf("memhog: mmap %s after %ld MiB\n", strerrorname_np(errno), mb);
			return 1;
		}
		memset(p, 0x5a, 1 << 20);
		mb++;
		if (mb % 16 == 0) {
			printf("memhog: %ld MiB\n", mb);
			fflush(stdout);
		}
		if (max_mb > 0 && mb >= max_mb) {
			printf("memhog: done %ld MiB\n", mb);
			return 0;
		}
	}
}

static int do_forkbomb(bool hold)
{
	long n = 0;
	for (;;) {
		pid_t p = fork();
		if (p == -1) {
			printf("forkbomb: %s after %ld forks\n", strerrorname_np(errno), n);
			fflush(stdout);
			while (hold)
				pause();
			return 0; /* the children die with the dyno */
		}
		if (p == 0) {
			for (;;)
				pause();
		}
		n++;
	}
}

static int do_fill(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return result(-1);
	static char buf[65536];
	memset(buf, 'x', sizeof(buf));
	long long total = 0;
	for (;;) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			const char *why = n == 0 ? "EOF" : strerrorname_np(errno);
			printf("fill: %s after %lld bytes\n", why, total);
			close(fd);
			return 0;
		}
		total += n;
	}
}

/* Orphans reparented to PID 1 must be reaped by it: count zombies until none are left. */
static int do_zombies(int n)
{
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < n; i++)
			if (fork() == 0) {
				while (getppid() != 1)
					usleep(1000);
				_exit(0);
			}
		_exit(0);
	}
	waitpid(child, NULL, 0);
	for (int round = 0; round < 5000; round++) {
		int zombies = 0, orphans = 0;
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char path[300], buf[512];
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd == -1)
				continue;
			ssize_t len = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (len <= 0)
				continue;
			buf[len] = 0;
			char *rp = strrchr(buf, ')');
			char state;
			int ppid;
			if (!rp || sscanf(rp + 2, "%c %d", &state, &ppid) != 2)
				continue;
			if (ppid == 1 && atoi(de->d_name) != getpid()) {
				orphans++;
				if (state == 'Z')
					zombies++;
			}
		}
		if (d)
			closedir(d);
		if (orphans == 0) {
			printf("zombies: none left of %d\n", n);
			return 0;
		}
		usleep(1000);
	}
	printf("zombies: some left\n");
	return 1;
}

static void on_term(int sig)
{
	static const char msg[] = "term: got SIGTERM\n";
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(0);
}

static int probe(const char *what, char **argv, int argc)
{
	name = what;
	struct timeval tv = { 0, 0 };
	struct timespec ts = { 0, 0 };
	struct timex tx;
	char buf[64];

	if (!strcmp(what, "mount"))
		return result(mount("none", "/tmp", "tmpfs", 0, NULL));
	if (!strcmp(what, "umount"))
		return result(umount2("/proc", MNT_DETACH));
	if (!strcmp(what, "pivot_root"))
		return result(syscall(SYS_pivot_root, "/tmp", "/tmp"));
	if (!strcmp(what, "unshare-user"))
		return result(unshare(CLONE_NEWUSER));
	if (!strcmp(what, "unshare-net"))
		return result(unshare(CLONE_NEWNET));
	if (!strcmp(what, "unshare-mnt"))
		return result(unshare(CLONE_NEWNS));
	if (!strcmp(what, "clone-newuser")) {
		long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			_exit(0);
		return result(r);
	}
	if (!strcmp(what, "clone3"))
		return result(syscall(SYS_clone3, NULL, 0));
	if (!strcmp(what, "setns")) {
		int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			return result(-1);
		return result(setns(fd, 0));
	}
	if (!strcmp(what, "chroot"))
		return result(chroot("/tmp"));
	if (!strcmp(what, "root-of-init"))
		return result(read_count("/proc/1/root/etc/hostname"));
	if (!strcmp(what, "dotdot")) {
		/* The root's parent is the root itself: no way up to the host. */
		struct stat a, b;
		if (stat("/", &a) == -1 || stat("/../../..", &b) == -1)
			return result(-1);
		bool same = a.st_ino == b.st_ino && a.st_dev == b.st_dev;
		printf("dotdot: %s\n", same ? "same" : "escaped");
		return 0;
	}
	if (!strcmp(what, "ptrace-init"))
		return result(ptrace(PTRACE_ATTACH, 1, 0, 0));
	if (!strcmp(what, "kill-pid") && argc > 0)
		return result(kill(atoi(argv[0]), 0));
	if (!strcmp(what, "ptrace-pid") && argc > 0)
		return result(ptrace(PTRACE_ATTACH, atoi(argv[0]), 0, 0));
	if (!strcmp(what, "see-pid") && argc > 0) {
		snprintf(buf, sizeof(buf), "/proc/%s", argv[0]);
		struct stat st;
		return result(stat(buf, &st));
	}
	if (!strcmp(what, "count-procs")) {
		int n = 0;
		DIR *d = opendir("/proc");
		struct dirent *de;
		while (d && (de = readdir(d)))
			n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
		if (d)
			closedir(d);
		printf("count-procs: %d\n", n);
		return 0;
	}
	if (!strcmp(what, "read") && argc > 0)
		return result(read_count(argv[0]));
	if (!strcmp(what, "write") && argc > 0)
		return result(open_write(argv[0], argc > 1 ? argv[1] : "1"));
	if (!strcmp(what, "create") && argc > 0) {
		int fd = open(argv[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		return result(fd == -1 ? -1 : 0);
	}
	if (!strcmp(what, "mknod"))
		return result(mknod("/tmp/mem", S_IFCHR | 0666, makedev(1, 1)));
	if (!strcmp(what, "init_module"))
		return result(syscall(SYS_init_module, NULL, 0, ""));
	if (!strcmp(what, "finit_module"))
		return result(syscall(SYS_finit_module, 0, "", 0));
	if (!strcmp(what, "delete_module"))
		return result(syscall(SYS_delete_module, "loop", O_NONBLOCK));
	if (!strcmp(what, "kexec_load"))
		return result(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (!strcmp(what, "kexec_file_load"))
		return result(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
	if (!strcmp(what, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		return result(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
	}
	if (!strcmp(what, "perf_event_open")) {
		struct perf_event_attr pa;
		memset(&pa, 0, sizeof(pa));
		pa.size = sizeof(pa);
		pa.type = PERF_TYPE_SOFTWARE;
		pa.config = PERF_COUNT_SW_CPU_CLOCK;
		return result(syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
	}
	if (!strcmp(what, "keyctl"))
		return result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
	if (!strcmp(what, "add_key"))
		return result(syscall(SYS_add_key, "user", "dyno", "x", 1, -3));
	if (!strcmp(what, "request_key"))
		return result(syscall(SYS_request_key, "user", "dyno", NULL, 0));
	if (!strcmp(what, "raw-socket"))
		return result(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
	if (!strcmp(what, "packet-socket"))
		return result(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
	if (!strcmp(what, "sethostname"))
		return result(sethostname("evil", 4));
	if (!strcmp(what, "setdomainname"))
		return result(setdomainname("evil", 4));
	if (!strcmp(what, "settimeofday")) {
		gettimeofday(&tv, NULL);
		return result(settimeofday(&tv, NULL));
	}
	if (!strcmp(what, "clock_settime")) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return result(clock_settime(CLOCK_REALTIME, &ts));
	}
	if (!strcmp(what, "adjtimex")) {
		memset(&tx, 0, sizeof(tx));
		tx.modes = ADJ_OFFSET;
		return result(adjtimex(&tx));
	}
	if (!strcmp(what, "reboot"))
		return result(reboot(RB_POWER_OFF));
	if (!strcmp(what, "swapon"))
		return result(swapon("/tmp/swap", 0));
	if (!strcmp(what, "swapoff"))
		return result(swapoff("/tmp/swap"));
	if (!strcmp(what, "iopl"))
		return result(syscall(SYS_iopl, 3));
	if (!strcmp(what, "ioperm"))
		return result(syscall(SYS_ioperm, 0x80, 1, 1));
	if (!strcmp(what, "open_by_handle_at")) {
		char h[sizeof(unsigned) * 2 + 8] = { 0 };
		return result(syscall(SYS_open_by_handle_at, AT_FDCWD, h, O_RDONLY));
	}
	if (!strcmp(what, "name_to_handle_at")) {
		char h[128] = { 0 };
		int mnt;
		((unsigned *)h)[0] = 64;
		return result(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", h, &mnt, 0));
	}
	if (!strcmp(what, "userfaultfd"))
		return result(syscall(SYS_userfaultfd, O_CLOEXEC));
	if (!strcmp(what, "acct"))
		return result(acct("/tmp/acct"));
	if (!strcmp(what, "setuid0"))
		return result(setuid(0));
	if (!strcmp(what, "tiocsti")) {
		char c = 'x';
		return result(ioctl(0, TIOCSTI, &c));
	}
	if (!strcmp(what, "fsopen"))
		return result(syscall(SYS_fsopen, "tmpfs", 0));
	if (!strcmp(what, "open_tree"))
		return result(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
	if (!strcmp(what, "io_uring_setup")) {
		char params[120] = { 0 };
		return result(syscall(SYS_io_uring_setup, 1, params));
	}
	if (!strcmp(what, "syslog"))
		return result(syscall(SYS_syslog, 3 /* READ_ALL */, buf, sizeof(buf)));
	if (!strcmp(what, "x32")) /* the x32 ABI: killed by the filter's bad-arch action */
		return result(syscall(0x40000000 | SYS_getpid));
	if (!strcmp(what, "int80")) {
		/* i386 getpid through int 0x80: another ABI, killed like x32. */
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
		return result(r < 0 ? (errno = (int)-r, -1) : r);
	}
	if (!strcmp(what, "hostname")) {
		struct utsname u;
		uname(&u);
		printf("hostname: %s\n", u.nodename);
		return 0;
	}
	if (!strcmp(what, "bind") && argc > 0) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[0])) };
		return result(bind(s, (struct sockaddr *)&a, sizeof(a)));
	}
	if (!strcmp(what, "connect") && argc > 1) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
		inet_pton(AF_INET, argv[0], &a.sin_addr);
		return result(connect(s, (struct sockaddr *)&a, sizeof(a)));
	}
	if (!strcmp(what, "mountopt") && argc > 0) {
		/* The per-mount options of the last mount at argv[0]: "ro,..." or "rw,...". */
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], found[256] = "none";
		while (f && fgets(line, sizeof(line), f)) {
			char mp[1024], opts[256];
			if (sscanf(line, "%*s %*s %*s %*s %1023s %255s", mp, opts) == 2 &&
			    !strcmp(mp, argv[0]))
				snprintf(found, sizeof(found), "%s", opts);
		}
		if (f)
			fclose(f);
		printf("mountopt: %.2s\n", found);
		return 0;
	}
	if (!strcmp(what, "ifaces")) {
		struct if_nameindex *ifs = if_nameindex(), *i;
		printf("ifaces:");
		for (i = ifs; i && i->if_name; i++)
			printf(" %s", i->if_name);
		printf("\n");
		return 0;
	}
	fprintf(stderr, "dynoprobe: unknown probe \"%s\"\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dynoprobe ACTION [ARGS...]\n");
		return 2;
	}
	const char *a = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(a, "true"))
		return 0;
	if (!strcmp(a, "exit"))
		return argc > 2 ? atoi(argv[2]) : 0;
	if (!strcmp(a, "raise")) {
		signal(atoi(argv[2]), SIG_DFL);
		raise(argc > 2 ? atoi(argv[2]) : SIGKILL);
		return 0;
	}
	if (!strcmp(a, "id")) {
		printf("id: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(),
		       (int)getgid(), (int)getegid());
		return 0;
	}
	if (!strcmp(a, "caps"))
		return do_caps();
	if (!strcmp(a, "sleep")) {
		double s = argc > 2 ? atof(argv[2]) : 1;
		struct timespec t = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
		while (nanosleep(&t, &t) == -1 && errno == EINTR)
			;
		return 0;
	}
	if (!strcmp(a, "memhog"))
		return do_memhog(argc > 2 ? atol(argv[2]) : 0);
	if (!strcmp(a, "forkbomb"))
		return do_forkbomb(argc > 2 && !strcmp(argv[2], "hold"));
	if (!strcmp(a, "fill"))
		return do_fill(argc > 2 ? argv[2] : "/tmp/fill");
	if (!strcmp(a, "zombies"))
		return do_zombies(argc > 2 ? atoi(argv[2]) : 10);
	if (!strcmp(a, "ignore-term")) {
		signal(SIGTERM, SIG_IGN);
		printf("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(a, "graceful")) {
		signal(SIGTERM, on_term);
		printf("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(a, "spam")) {
		long n = argc > 2 ? atol(argv[2]) : 1000;
		for (long i = 0; i < n; i++)
			printf("line %ld\n", i);
		return 0;
	}
	if (!strcmp(a, "stderr")) {
		fprintf(stderr, "%s\n", argc > 2 ? argv[2] : "to stderr");
		return 0;
	}
	return probe(a, argv + 2, argc - 2);
}
