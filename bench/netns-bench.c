/* bench/netns-bench: per-dyno network setup and teardown, dynohost's netns_attach/netns_detach
 * against the CNI bridge plugin with host-local IPAM, in interleaved rounds inside a private
 * "host" netns this program creates (nothing on the real host is touched). Prints medians and
 * ratios. Run through bench/netns. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A new netns as an fd, without moving this thread there for longer than the call. */
static int netns_new(void)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd;

	if (self == -1 || unshare(CLONE_NEWNET) == -1)
		return -1;
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(self, CLONE_NEWNET) == -1) {
		perror("setns back");
		exit(1);
	}
	return fd;
}

/* Run the CNI bridge plugin once: CNI_COMMAND=cmd, the network config on stdin. */
static int cni_run(const char *cmd, const char *conf, const char *id, int nsfd, double *ret_ms)
{
	char netns[64], env_cmd[32], env_id[128], env_ns[96];
	int in[2], out[2];
	double t0 = now_ms();

	snprintf(netns, sizeof(netns), "/proc/%d/fd/%d", (int)getpid(), nsfd);
	snprintf(env_cmd, sizeof(env_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(env_id, sizeof(env_id), "CNI_CONTAINERID=%s", id);
	snprintf(env_ns, sizeof(env_ns), "CNI_NETNS=%s", netns);
	char *envp[] = { env_cmd, env_id, env_ns, "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni",
			 "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *argv[] = { "/usr/lib/cni/bridge", NULL };

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		return -errno;
	pid_t pid = fork();
	if (pid == -1)
		return -errno;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	(void)fd_write_all(in[1], conf, strlen(conf));
	close(in[1]);
	char buf[4096], all[16384];
	size_t total = 0;
	ssize_t n;
	while ((n = read(out[0], buf, sizeof(buf))) > 0)
		if (total + (size_t)n < sizeof(all)) {
			memcpy(all + total, buf, (size_t)n);
			total += (size_t)n;
		}
	close(out[0]);
	all[total] = '\0';
	int st;
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	*ret_ms = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "cni %s failed: %s\n", cmd, all);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	char tag[8], bridge_d[16], bridge_c[16], table[16], conf[1024];
	char tmpl[] = "/tmp/dyt-bench-XXXXXX";
	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	int r;

	if (rounds < 1)
		rounds = 1;
	if (geteuid() != 0) {
		fprintf(stderr, "netns-bench: needs root\n");
		return 77;
	}
	if (access("/usr/lib/cni/bridge", X_OK) != 0 || access("/usr/lib/cni/host-local", X_OK) != 0) {
		fprintf(stderr, "netns-bench: needs /usr/lib/cni/{bridge,host-local} "
				"(containernetworking-plugins)\n");
		return 77;
	}
	snprintf(tag, sizeof(tag), "%04x", (unsigned)getpid() & 0xffff);
	snprintf(bridge_d, sizeof(bridge_d), "dyt%sd", tag);
	snprintf(bridge_c, sizeof(bridge_c), "dyt%sc", tag);
	snprintf(table, sizeof(table), "dyt%s", tag);
	if (!mkdtemp(tmpl))
		return perror("mkdtemp"), 1;
	char state[64], cnidata[64];
	snprintf(state, sizeof(state), "%s/state", tmpl);
	snprintf(cnidata, sizeof(cnidata), "%s/cni", tmpl);

	/* The fake host: this process's own netns, gone when it exits. */
	if (unshare(CLONE_NEWNET) == -1)
		return perror("unshare"), 1;

	struct netns_config cfg = {
		.bridge = bridge_d,
		.subnet = "10.88.0.0/16",
		.state_dir = state,
		.nft_table = table,
	};
	r = netns_open(&cfg, &ctx);
	if (r < 0) {
		fprintf(stderr, "netns_open: %s\n", strerror(-r));
		return 1;
	}
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"dyt%s\",\"type\":\"bridge\","
		 "\"bridge\":\"%s\",\"isGateway\":true,\"ipMasq\":false,"
		 "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.89.0.0/16\","
		 "\"dataDir\":\"%s\"}}",
		 tag, bridge_c, cnidata);

	_cleanup_free_ double *d_at = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *d_de = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *d_sum = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *c_add = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *c_del = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *c_sum = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *s_at = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *s_de = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *s_sum = calloc((size_t)rounds, sizeof(double));
	_cleanup_free_ double *ns = calloc((size_t)rounds * 3, sizeof(double));
	if (!d_at || !d_de || !d_sum || !c_add || !c_del || !c_sum || !s_at || !s_de || !s_sum ||
	    !ns)
		return 1;

	/* One untimed warm-up of each, then interleaved rounds, alternating who goes first. */
	for (int i = -1; i < rounds; i++) {
		for (int k = 0; k < 3; k++) {
			/* 0: dynohost, 1: CNI, 2: dynohost deleting the pair at once; the order
			 * rotates every round. */
			int who = (k + (i < 0 ? 0 : i)) % 3;
			char id[32];
			double t0 = now_ms();
			_cleanup_close_ int fd = netns_new();
			if (fd < 0)
				return perror("netns"), 1;
			double tns = now_ms() - t0;
			snprintf(id, sizeof(id), "bench.%d", i + 1);
			if (who == 2) {
				struct netns_lease l;
				t0 = now_ms();
				r = netns_attach(ctx, id, fd, &l);
				double t1 = now_ms();
				/* The reference cost of deleting the veth pair synchronously, which
				 * detach leaves to the kernel's netns teardown: reconcile deletes
				 * every link without a lease, now. */
				if (r >= 0)
					r = netns_detach(ctx, id);
				if (r >= 0)
					r = netns_reconcile(ctx, NULL, 0);
				double t2 = now_ms();
				if (r < 0) {
					fprintf(stderr, "sync round: %s\n", strerror(-r));
					return 1;
				}
				if (i >= 0) {
					s_at[i] = t1 - t0;
					s_de[i] = t2 - t1;
					s_sum[i] = t2 - t0;
				}
			} else if (who == 0) {
				struct netns_lease l;
				t0 = now_ms();
				r = netns_attach(ctx, id, fd, &l);
				double t1 = now_ms();
				if (r < 0) {
					fprintf(stderr, "attach: %s\n", strerror(-r));
					return 1;
				}
				r = netns_detach(ctx, id);
				double t2 = now_ms();
				if (r < 0) {
					fprintf(stderr, "detach: %s\n", strerror(-r));
					return 1;
				}
				if (i >= 0) {
					d_at[i] = t1 - t0;
					d_de[i] = t2 - t1;
					d_sum[i] = t2 - t0;
				}
			} else {
				double a, d;
				if (cni_run("ADD", conf, id, fd, &a) < 0 ||
				    cni_run("DEL", conf, id, fd, &d) < 0)
					return 1;
				if (i >= 0) {
					c_add[i] = a;
					c_del[i] = d;
					c_sum[i] = a + d;
				}
			}
			if (i >= 0)
				ns[3 * i + k] = tns;
		}
	}

	double mda = median(d_at, (size_t)rounds), mdd = median(d_de, (size_t)rounds),
	       mds = median(d_sum, (size_t)rounds), mca = median(c_add, (size_t)rounds),
	       mcd = median(c_del, (size_t)rounds), mcs = median(c_sum, (size_t)rounds),
	       mns = median(ns, (size_t)rounds * 3), msa = median(s_at, (size_t)rounds),
	       msd = median(s_de, (size_t)rounds), mss = median(s_sum, (size_t)rounds);
	printf("netns bench: %d interleaved rounds, medians in ms (netns creation, %.3f ms, not "
	       "included)\n",
	       rounds, mns);
	printf("%-28s %10s %10s %12s\n", "", "setup", "teardown", "setup+down");
	printf("%-28s %10.3f %10.3f %12.3f\n", "dynohost attach/detach", mda, mdd, mds);
	printf("%-28s %10.3f %10.3f %12.3f\n", "CNI bridge+host-local", mca, mcd, mcs);
	printf("%-28s %9.1fx %9.1fx %11.1fx\n", "CNI / dynohost", mca / mda, mcd / mdd, mcs / mds);
	printf("reference, pair deleted at once (detach + reconcile, what CNI DEL waits for):\n");
	printf("%-28s %10.3f %10.3f %12.3f\n", "dynohost, synchronous delete", msa, msd, mss);
	printf("%-28s %9.1fx %9.1fx %11.1fx\n", "CNI / that", mca / msa, mcd / msd, mcs / mss);
	printf("target: dynohost <= 1/15 of CNI: %s (%.1fx)\n", mcs / mds >= 15 ? "met" : "NOT met",
	       mcs / mds);

	ctx = netns_close(ctx);
	struct netns_config un = cfg;
	(void)netns_uninstall(&un);
	(void)rm_rf(tmpl);
	return 0;
}
