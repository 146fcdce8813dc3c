/* netns wired into the launcher the way `dyno exec --net bridge` and the host service do it:
 * DYNO_NET_CALLBACK with netns_attach_cb, in a fake host (this test's own netns). The dyno
 * (host stack) prints what it sees: eth0 with its lease, the default route via the gateway;
 * after it exits, detach leaves no lease. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns.h"
#include "runtime/launcher.h"
#include "tests/lib/tap.h"

int main(void)
{
	char tmpl[] = "/tmp/dyt-netns-launch-XXXXXX", state[96], run[96], init[512], id[32];
	char bridge[16], table[16], want_addr[64], want_route[64];
	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	const char *builddir = getenv("top_builddir");
	struct netns_lease lease;
	struct dyno_error e;
	struct dyno *d = NULL;
	int r;

	if (!tap_is_root())
		tap_skip_all("needs root");
	snprintf(init, sizeof(init), "%s/dyno-init", builddir ? builddir : ".");
	if (access(init, X_OK) != 0)
		tap_skip_all("no dyno-init at %s", init);
	if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0)
		tap_skip_all("needs ip(8) for the dyno to print its network");
	if (unshare(CLONE_NEWNET) == -1)
		tap_skip_all("cannot create a network namespace: %s", strerror(errno));
	if (!mkdtemp(tmpl))
		tap_bail("mkdtemp: %m");
	snprintf(state, sizeof(state), "%s/net", tmpl);
	snprintf(run, sizeof(run), "%s/run", tmpl);
	snprintf(bridge, sizeof(bridge), "dyt%04xl", (unsigned)getpid() & 0xffff);
	snprintf(table, sizeof(table), "dyt%04xl", (unsigned)getpid() & 0xffff);
	snprintf(id, sizeof(id), "test-netns-%d", (int)getpid());

	struct netns_config cfg = {
		.bridge = bridge,
		.subnet = "172.30.0.0/16",
		.state_dir = state,
		.nft_table = table,
	};
	r = netns_open(&cfg, &ctx);
	if (r == -EPROTO)
		tap_skip_all("nftables unusable here");
	is_int(r, 0, "open the dyno network in the fake host");

	struct dyno_params p;
	dyno_params_init(&p);
	const char *argv[] = { "ip -4 -o addr show dev eth0; ip -4 route show default", NULL };
	p.id = id;
	p.stack = "host";
	p.argv = argv;
	p.run_dir = run;
	p.init_path = init;
	p.kill_on_parent_death = true;
	p.net = DYNO_NET_CALLBACK;
	p.net_fn = netns_attach_cb;
	p.net_userdata = ctx;
	r = dyno_spawn(&p, &d, &e);
	if (r < 0) {
		tap_diag("spawn failed at %s: %s", dyno_step_to_string(e.step), strerror(-r));
		(void)netns_detach(ctx, id); /* the caller undoes a net_fn that ran */
		ctx = netns_close(ctx);
		(void)netns_uninstall(&cfg);
		rm_rf(tmpl);
		if (e.step != DYNO_STEP_NET)
			tap_skip_all("the launcher cannot run here (%s)", dyno_step_to_string(e.step));
		tap_bail("attach through the launcher failed");
	}
	ok(1, "dyno spawned with DYNO_NET_CALLBACK = netns_attach_cb");
	is_int(netns_lease_get(ctx, id, &lease), 0, "the dyno has a lease");

	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &lease.addr, a, sizeof(a));
	snprintf(want_addr, sizeof(want_addr), "inet %s/16", a);
	snprintf(want_route, sizeof(want_route), "default via 172.30.0.1 dev eth0");
	is_int(dyno_wait(d, 30000), 0, "the dyno ran and exited");
	bool saw_addr = false, saw_route = false;
	struct dyno_line l;
	while (dyno_next_line(d, &l) == 1) {
		tap_diag("dyno: %s", l.data);
		saw_addr |= strstr(l.data, want_addr) != NULL;
		saw_route |= strstr(l.data, want_route) != NULL;
		free(l.data);
	}
	ok(saw_addr, "inside the dyno: eth0 has %s", a);
	ok(saw_route, "inside the dyno: default route via the gateway on eth0");
	d = dyno_free(d);
	is_int(netns_detach(ctx, id), 0, "detach after the dyno is gone");
	is_int(netns_lease_get(ctx, id, &lease), -ENOENT, "no lease left");
	ctx = netns_close(ctx);
	is_int(netns_uninstall(&cfg), 0, "uninstall");
	ok(if_nametoindex(bridge) == 0, "bridge gone");
	rm_rf(tmpl);
	return tap_done();
}
