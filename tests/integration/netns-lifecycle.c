/* netns lifecycle on the real kernel, inside a fake host (a netns this test makes for itself,
 * so nothing on the real host changes): what a dyno sees after attach, 500 attach/detach
 * cycles leave nothing behind, a detached dyno whose netns lives on is cut off and its link
 * is cleared when the address comes round again, leases left by a crash are reclaimed by
 * reconcile, and concurrent attaches from several processes never share an address. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns.h"
#include "tests/lib/tap.h"

static char state_dir[64], bridge[16], table[16];

/* A new netns as an fd; this thread stays where it is. */
static int netns_new(void)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd;

	if (self == -1 || unshare(CLONE_NEWNET) == -1)
		tap_bail("unshare: %m");
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd == -1 || setns(self, CLONE_NEWNET) == -1)
		tap_bail("setns: %m");
	return fd;
}

/* Links of the current netns whose name starts with prefix. */
static int count_links(const char *prefix)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	if (!ifs)
		return -1;
	for (i = ifs; i->if_index; i++)
		if (strncmp(i->if_name, prefix, strlen(prefix)) == 0)
			n++;
	if_freenameindex(ifs);
	return n;
}

/* Poll (bounded) until no dv* link is left: the kernel deletes a detached dyno's pair when
 * its netns goes, asynchronously. */
static bool wait_no_dv_links(int seconds)
{
	struct timespec d = { 0, 20 * 1000 * 1000 };
	for (int i = 0; i < seconds * 50; i++) {
		if (count_links("dv") == 0)
			return true;
		nanosleep(&d, NULL);
	}
	return false;
}

static int count_leases(struct netns_ctx *ctx);

static int count_cb(const char *id, const struct netns_lease *l, void *data)
{
	(*(int *)data)++;
	return 0;
}

static int count_leases(struct netns_ctx *ctx)
{
	int n = 0;
	int r = netns_lease_foreach(ctx, count_cb, &n);
	return r < 0 ? r : n;
}

static int nsfds_open(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char p[300], t[64];
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		ssize_t l = readlink(p, t, sizeof(t) - 1);
		if (l > 0) {
			t[l] = '\0';
			n += strncmp(t, "net:[", 5) == 0;
		}
	}
	return n;
}

/* What a dyno sees inside: eth0 up with its address, IPv4 only. Runs setns in a child. */
static int dyno_view(int nsfd, const struct netns_lease *l)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct ifaddrs *ifa, *i;
		int found = 0, v6 = 0;
		if (setns(nsfd, CLONE_NEWNET) == -1 || getifaddrs(&ifa) == -1)
			_exit(10);
		for (i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || strcmp(i->ifa_name, "eth0") != 0)
				continue;
			if (i->ifa_addr->sa_family == AF_INET &&
			    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == l->addr.s_addr &&
			    (i->ifa_flags & IFF_UP))
				found = 1;
			if (i->ifa_addr->sa_family == AF_INET6)
				v6 = 1;
		}
		freeifaddrs(ifa);
		_exit(found && !v6 ? 0 : 11);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static struct netns_config base_cfg(void)
{
	return (struct netns_config){
		.bridge = bridge,
		.subnet = "172.30.0.0/16",
		.state_dir = state_dir,
		.nft_table = table,
	};
}

static void test_attach_view(struct netns_ctx *ctx)
{
	_cleanup_close_ int fd = netns_new();
	struct netns_lease l;
	char a[INET_ADDRSTRLEN];

	is_int(netns_attach(ctx, "web.1", fd, &l), 0, "attach web.1");
	inet_ntop(AF_INET, &l.addr, a, sizeof(a));
	is_str(a, "172.30.0.2", "first dyno gets 172.30.0.2");
	ok(l.gateway.s_addr == inet_addr("172.30.0.1") && l.prefixlen == 16, "gateway .1, /16");
	ok(strncmp(l.host_ifname, "dv", 2) == 0 && if_nametoindex(l.host_ifname) > 0,
	   "host end %s exists", l.host_ifname);
	is_int(dyno_view(fd, &l), 0, "inside: eth0 up with the address, no IPv6 address (no DAD)");
	is_int(netns_attach(ctx, "web.1", fd, &l), -EEXIST, "attaching the same dyno twice: -EEXIST");
	is_int(count_leases(ctx), 1, "still one lease after the refused attach");
	is_int(netns_attach(ctx, "bad id", fd, &l), -EINVAL, "an invalid id is refused");
	{
		_cleanup_close_ int notns = open("/dev/null", O_RDONLY | O_CLOEXEC);
		struct netns_lease x;
		int links = count_links("dv");
		ok(netns_attach(ctx, "web.bad", notns, &x) < 0, "attach with an fd that is no netns fails");
		is_int(netns_lease_get(ctx, "web.bad", &x), -ENOENT, "and leaves no lease");
		is_int(count_links("dv"), links, "and no link");
	}
	struct netns_lease g;
	ok(netns_lease_get(ctx, "web.1", &g) == 0 && g.addr.s_addr == l.addr.s_addr,
	   "netns_lease_get finds it");
	is_int(netns_detach(ctx, "web.1"), 0, "detach web.1");
	is_int(netns_detach(ctx, "web.1"), 0, "detach is idempotent");
	is_int(netns_lease_get(ctx, "web.1", &g), -ENOENT, "lease gone");
	unsigned flags = 0;
	{
		_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct ifreq ifr = { 0 };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", l.host_ifname);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
			flags = (unsigned)ifr.ifr_flags;
	}
	ok(!(flags & IFF_UP), "the detached dyno's host end is down at once (netns still open)");

	struct netns_lease l2;
	is_int(netns_attach(ctx, "web.1b", fd, &l2), 0,
	       "attach again into the same netns after detach (its old eth0 is cleared)");
	is_int(dyno_view(fd, &l2), 0, "and the dyno sees its new address");
	ok(l2.addr.s_addr != l.addr.s_addr, "a new address (next fit)");
	is_int(netns_detach(ctx, "web.1b"), 0, "detach it");
}

static void test_cycles(struct netns_ctx *ctx)
{
	int fails = 0, base_fds = nsfds_open();

	for (int i = 0; i < 500; i++) {
		_cleanup_close_ int fd = netns_new();
		struct netns_lease l;
		char id[32];
		snprintf(id, sizeof(id), "cycle.%d", i);
		if (netns_attach(ctx, id, fd, &l) < 0 || (i % 100 == 0 && dyno_view(fd, &l) != 0) ||
		    netns_detach(ctx, id) < 0)
			fails++;
	}
	is_int(fails, 0, "500 attach/detach cycles, no failure");
	is_int(count_leases(ctx), 0, "no lease left");
	is_int(nsfds_open(), base_fds, "no netns fd left open");
	ok(wait_no_dv_links(60), "no dv* link left once the netns are gone");
}

static void test_reuse_stale(void)
{
	/* A /29 has five dyno addresses: the sixth attach comes back to the first one, whose
	 * dyno was detached but whose netns this test keeps open. */
	struct netns_config cfg = base_cfg();
	char br[IFNAMSIZ + 2], st[80];
	snprintf(br, sizeof(br), "%sr", bridge);
	snprintf(st, sizeof(st), "%s-r", state_dir);
	cfg.bridge = br;
	cfg.subnet = "10.213.0.0/29";
	cfg.state_dir = st;
	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	int fds[6], bad = 0;
	struct netns_lease l, first;

	is_int(netns_open(&cfg, &ctx), 0, "open a second network (/29) on its own bridge");
	for (int i = 0; i < 6; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r.%d", i);
		fds[i] = netns_new();
		if (netns_attach(ctx, id, fds[i], &l) < 0)
			bad++;
		if (i == 0)
			first = l;
		if (i < 5 && netns_detach(ctx, id) < 0)
			bad++;
	}
	is_int(bad, 0, "six attaches through five addresses");
	ok(l.addr.s_addr == first.addr.s_addr, "the sixth got the first address again");
	is_int(dyno_view(fds[5], &l), 0, "and works: the leftover link was cleared for it");
	ok(dyno_view(fds[0], &first) != 0, "the old dyno lost its eth0");
	netns_detach(ctx, "r.5");
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	ctx = netns_close(ctx);
	is_int(netns_uninstall(&cfg), 0, "uninstall the second network");
	ok(if_nametoindex(br) == 0, "its bridge is gone");
	ok(access(st, F_OK) != 0, "its state dir is gone");
}

static void test_crash_reconcile(void)
{
	struct netns_config cfg = base_cfg();
	int fds[3];

	for (int i = 0; i < 3; i++)
		fds[i] = netns_new();
	/* The "host service" attaches three dynos and dies without a word; the dynos (their
	 * netns, held here) live on. */
	pid_t pid = fork();
	if (pid == 0) {
		struct netns_ctx *c;
		struct netns_lease l;
		if (netns_open(&cfg, &c) < 0)
			_exit(1);
		for (int i = 0; i < 3; i++) {
			char id[16];
			snprintf(id, sizeof(id), "crash.%d", i);
			if (netns_attach(c, id, fds[i], &l) < 0)
				_exit(2);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a crashed service left three attached dynos");

	/* The file might be damaged too: a stray line must not stop the restart. */
	char path[128];
	snprintf(path, sizeof(path), "%s/leases", state_dir);
	FILE *f = fopen(path, "ae");
	if (f) {
		fputs("lease 300.1.1.1 junk\nnonsense\n", f);
		fclose(f);
	}

	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	is_int(netns_open(&cfg, &ctx), 0, "restart: open again");
	is_int(count_leases(ctx), 3, "the three leases survived the crash");
	is_int(count_links("dv"), 3, "and their links");
	const char *live[] = { "crash.1", "web.99" };
	is_int(netns_reconcile(ctx, live, 2), 0, "reconcile with crash.1 the only live one");
	is_int(count_leases(ctx), 1, "one lease left");
	struct netns_lease l;
	is_int(netns_lease_get(ctx, "crash.1", &l), 0, "crash.1 kept its lease");
	is_int(count_links("dv"), 1, "the two dead dynos' links are gone at once");
	is_int(dyno_view(fds[1], &l), 0, "crash.1 still has its network");
	ok(dyno_view(fds[0], &l) != 0, "crash.0 has none");
	is_int(netns_reconcile(ctx, NULL, 0), 0, "reconcile with nothing live");
	is_int(count_leases(ctx), 0, "no lease left");
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	ok(wait_no_dv_links(30), "no link left");
}

static void test_concurrent(void)
{
	enum { PROCS = 4, PER = 12 };
	struct netns_config cfg = base_cfg();
	int pipefd[2];
	pid_t pids[PROCS];
	uint32_t addrs[PROCS * PER];
	int n = 0, bad = 0;

	if (pipe2(pipefd, O_CLOEXEC) == -1)
		tap_bail("pipe: %m");
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			struct netns_ctx *c;
			close(pipefd[0]);
			if (netns_open(&cfg, &c) < 0)
				_exit(1);
			for (int i = 0; i < PER; i++) {
				struct netns_lease l;
				char id[32];
				int fd = netns_new();
				snprintf(id, sizeof(id), "conc.%d.%d", p, i);
				if (netns_attach(c, id, fd, &l) < 0)
					_exit(2);
				(void)!write(pipefd[1], &l.addr.s_addr, 4);
				/* keep fd open: the dyno stays alive until this process exits */
			}
			_exit(0);
		}
	}
	close(pipefd[1]);
	uint32_t a;
	while (n < PROCS * PER && read(pipefd[0], &a, 4) == 4)
		addrs[n++] = a;
	close(pipefd[0]);
	for (int p = 0; p < PROCS; p++) {
		int st;
		waitpid(pids[p], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	is_int(bad, 0, "4 processes attached 12 dynos each, at once");
	is_int(n, PROCS * PER, "every attach reported an address");
	int dups = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			dups += addrs[i] == addrs[j];
	is_int(dups, 0, "no address handed out twice");

	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	netns_open(&cfg, &ctx);
	is_int(count_leases(ctx), PROCS * PER, "every lease is on disk");
	is_int(netns_reconcile(ctx, NULL, 0), 0, "reconcile them away");
	is_int(count_leases(ctx), 0, "none left");
	ok(wait_no_dv_links(30), "no link left");
}

int main(void)
{
	char tmpl[] = "/tmp/dyt-netns-XXXXXX";
	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	int r;

	if (!tap_is_root())
		tap_skip_all("needs root");
	/* The fake host: this process's own netns; everything below lives and dies in it. */
	if (unshare(CLONE_NEWNET) == -1)
		tap_skip_all("cannot create a network namespace: %s", strerror(errno));
	if (!mkdtemp(tmpl))
		tap_bail("mkdtemp: %m");
	snprintf(state_dir, sizeof(state_dir), "%s/net", tmpl);
	snprintf(bridge, sizeof(bridge), "dyt%04xb", (unsigned)getpid() & 0xffff);
	snprintf(table, sizeof(table), "dyt%04x", (unsigned)getpid() & 0xffff);

	struct netns_config cfg = base_cfg();
	char err[256] = "";
	cfg.error = err;
	cfg.error_size = sizeof(err);
	r = netns_open(&cfg, &ctx);
	if (r == -EPROTO)
		tap_skip_all("nftables unusable here: %s", err);
	is_int(r, 0, "open: bridge, table, state dir");
	ok(if_nametoindex(bridge) > 0, "the bridge exists");
	{
		struct netns_config other = cfg;
		struct netns_ctx *c2 = NULL;
		other.subnet = "10.44.0.0/16";
		is_int(netns_open(&other, &c2), -EEXIST, "same bridge with another subnet: -EEXIST");
		netns_close(c2);
		struct netns_config ro = cfg;
		ro.bridge = "dytnone0";
		ro.no_setup = true;
		is_int(netns_open(&ro, &c2), -ENODEV, "no_setup does not create a missing bridge");
		ok(if_nametoindex("dytnone0") == 0, "and none was created");
		ro.bridge = bridge;
		is_int(netns_open(&ro, &c2), 0, "no_setup opens the existing network");
		netns_close(c2);
		c2 = NULL;
		struct netns_config again = cfg;
		is_int(netns_open(&again, &c2), 0, "same bridge, same subnet: opens again");
		netns_close(c2);
		/* nft refuses a keyword as a table name: its own words reach the caller. */
		struct netns_config bad = cfg;
		char nft_err[512] = "";
		c2 = NULL;
		bad.nft_table = "add";
		bad.error = nft_err;
		bad.error_size = sizeof(nft_err);
		is_int(netns_open(&bad, &c2), -EPROTO, "a table nft refuses: -EPROTO");
		ok(strstr(nft_err, "syntax error") != NULL, "with nft's message: %s", nft_err);
		netns_close(c2);
	}

	test_attach_view(ctx);
	test_cycles(ctx);
	test_reuse_stale();
	test_crash_reconcile();
	test_concurrent();

	ctx = netns_close(ctx);
	is_int(netns_uninstall(&cfg), 0, "uninstall");
	ok(if_nametoindex(bridge) == 0, "bridge gone");
	ok(access(state_dir, F_OK) != 0, "state dir gone");
	rm_rf(tmpl);
	return tap_done();
}
