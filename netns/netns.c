/* The netns API (netns.h): open the host side (bridge, forwarding, firewall), attach and detach
 * dynos (lease + veth + configuration inside their netns), reconcile after a crash, uninstall. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns-internal.h"
#include "netns/netns.h"

#define DEFAULT_BRIDGE "dyno0"
#define DEFAULT_SUBNET "172.30.0.0/16"
#define DEFAULT_STATE_DIR DYNOHOST_STATEDIR "/net"
#define DEFAULT_TABLE "dynohost"
#define PEER_IFNAME "eth0"
#define HOST_PREFIX "dv"
#define LOCK_FILE "lock"

struct netns_ctx *netns_close(struct netns_ctx *ctx)
{
	if (!ctx)
		return NULL;
	if (ctx->sk)
		nl_socket_free(ctx->sk);
	safe_close(ctx->lockfd);
	safe_close(ctx->state_dirfd);
	netns_ipam_done(&ctx->ipam);
	free(ctx->nft_table);
	free(ctx);
	return NULL;
}

static void fill_lease(const struct netns_ctx *ctx, uint32_t addr, struct netns_lease *ret)
{
	*ret = (struct netns_lease){
		.addr.s_addr = htonl(addr),
		.gateway.s_addr = htonl(ctx->subnet.gw),
		.prefixlen = ctx->subnet.prefixlen,
	};
	netns_host_ifname(addr, ret->host_ifname);
}

/* An existing bridge must carry exactly our gateway address (or none yet). */
static int bridge_check_addr(struct netns_ctx *ctx, bool no_setup)
{
	uint32_t addrs[8];
	uint8_t plens[8];
	size_t n;
	bool have = false;
	int r;

	r = netns_addr_list4(ctx->sk, ctx->bridge_ifindex, addrs, plens, ELEMENTSOF(addrs), &n);
	if (r < 0)
		return r;
	if (n > ELEMENTSOF(addrs))
		return -EEXIST;
	for (size_t i = 0; i < n; i++) {
		if (addrs[i] != ctx->subnet.gw || plens[i] != ctx->subnet.prefixlen)
			return -EEXIST;
		have = true;
	}
	if (have)
		return 0;
	if (no_setup)
		return -EEXIST;
	r = netns_addr_add4(ctx->sk, ctx->bridge_ifindex, ctx->subnet.gw, ctx->subnet.prefixlen, 0);
	return r == -EEXIST ? 0 : r; /* another process won the race */
}

static int bridge_ensure(struct netns_ctx *ctx, uint32_t want_mtu, bool no_setup)
{
	struct netns_link_info info;
	int r;

	r = netns_link_get(ctx->sk, ctx->bridge, &info);
	if (r == -ENODEV && !no_setup) {
		r = netns_bridge_create(ctx->sk, ctx->bridge, want_mtu);
		if (r < 0 && r != -EEXIST)
			return r;
		r = netns_link_get(ctx->sk, ctx->bridge, &info);
	}
	if (r < 0)
		return r;
	if (!info.is_bridge)
		return -EEXIST;
	ctx->bridge_ifindex = info.ifindex;
	ctx->mtu = want_mtu ? want_mtu : info.mtu;
	r = bridge_check_addr(ctx, no_setup);
	if (r < 0 || no_setup)
		return r;
	return netns_link_set_up(ctx->sk, ctx->bridge_ifindex);
}

static int ip_forward_enable(void)
{
	_cleanup_free_ char *v = NULL;
	int r;

	r = read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", 64, &v, NULL);
	if (r < 0)
		return r;
	if (v[0] == '1')
		return 0;
	return write_string_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", "1");
}

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

/* cfg (NULL: all defaults) with every NULL name replaced by its default. */
static struct netns_config config_with_defaults(const struct netns_config *cfg)
{
	struct netns_config c = cfg ? *cfg : (struct netns_config){ .bridge = NULL };
	if (!c.bridge)
		c.bridge = DEFAULT_BRIDGE;
	if (!c.subnet)
		c.subnet = DEFAULT_SUBNET;
	if (!c.state_dir)
		c.state_dir = DEFAULT_STATE_DIR;
	if (!c.nft_table)
		c.nft_table = DEFAULT_TABLE;
	return c;
}

int netns_open(const struct netns_config *config, struct netns_ctx **ret)
{
	const struct netns_config resolved = config_with_defaults(config), *cfg = &resolved;
	const char *bridge = cfg->bridge, *subnet = cfg->subnet, *state_dir = cfg->state_dir,
		   *table = cfg->nft_table;
	struct netns_ctx *ctx;
	int r;

	if (!ifname_valid(bridge) || strncmp(bridge, HOST_PREFIX, strlen(HOST_PREFIX)) == 0)
		return -EINVAL;
	if (cfg->n_host_ports > 0 && !cfg->host_ports)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_host_ports; i++)
		if (cfg->host_ports[i] == 0)
			return -EINVAL;

	_cleanup_netns_ struct netns_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->state_dirfd = c->lockfd = -1;
	snprintf(c->bridge, sizeof(c->bridge), "%s", bridge);
	r = netns_subnet_parse(subnet, &c->subnet);
	if (r < 0)
		return r;
	c->nft_table = strdup(table);
	if (!c->nft_table)
		return -ENOMEM;
	netns_ipam_init(&c->ipam, &c->subnet);

	r = mkdir_p(state_dir, 0755);
	if (r < 0)
		return r;
	c->state_dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->state_dirfd == -1)
		return -errno;
	c->lockfd = openat(c->state_dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0600);
	if (c->lockfd == -1)
		return -errno;

	r = netns_nl_open(&c->sk);
	if (r < 0)
		return r;
	r = bridge_ensure(c, cfg->mtu, cfg->no_setup);
	if (r < 0)
		return r;
	if (cfg->no_setup)
		goto done;
	if (!cfg->no_ip_forward) {
		r = ip_forward_enable();
		if (r < 0)
			return r;
	}
	r = netns_nft_install(c, cfg->host_ports, cfg->n_host_ports, cfg->error, cfg->error_size);
	if (r < 0)
		return r;
done:
	ctx = TAKE_PTR(c);
	*ret = ctx;
	return 0;
}

/* Run fn with the lease table loaded under the lock; save it afterwards when fn asks to
 * (returns 1). */
static int with_leases(struct netns_ctx *ctx, int (*fn)(struct netns_ctx *, void *), void *data)
{
	int r, r2;

	r = netns_ipam_lock(ctx->lockfd);
	if (r < 0)
		return r;
	r = netns_ipam_load(ctx->state_dirfd, &ctx->ipam);
	if (r >= 0)
		r = fn(ctx, data);
	if (r > 0) {
		r2 = netns_ipam_save(ctx->state_dirfd, &ctx->ipam);
		r = r2 < 0 ? r2 : 0;
	}
	netns_ipam_unlock(ctx->lockfd);
	return r;
}

struct alloc_args {
	const char *id;
	uint32_t addr;
	bool created;
};

static int do_alloc(struct netns_ctx *ctx, void *data)
{
	struct alloc_args *a = data;
	int r = netns_ipam_alloc(&ctx->ipam, a->id, &a->addr, &a->created);

	if (r < 0)
		return r;
	return a->created ? 1 : 0;
}

static int do_release(struct netns_ctx *ctx, void *data)
{
	return netns_ipam_release(&ctx->ipam, data, NULL) < 0 ? 0 : 1;
}

static int del_orphan_port(const char *name, void *data)
{
	struct netns_ctx *ctx = data;
	char host[IFNAMSIZ];

	for (size_t i = 0; i < ctx->ipam.n_leases; i++) {
		netns_host_ifname(ctx->ipam.leases[i].addr, host);
		if (strcmp(host, name) == 0)
			return 0;
	}
	int r = netns_link_del(ctx->sk, name);
	return r == -ENODEV ? 0 : r;
}

/* Delete the ports of our bridge that no lease explains. */
static int do_sweep(struct netns_ctx *ctx, void *data)
{
	int r = netns_link_foreach_port(ctx->sk, ctx->bridge_ifindex, HOST_PREFIX, del_orphan_port,
					ctx);
	return r < 0 ? r : 0;
}

int netns_attach(struct netns_ctx *ctx, const char *dyno_id, int netns_fd,
		 struct netns_lease *ret)
{
	struct alloc_args a = { .id = dyno_id };
	char host[IFNAMSIZ];
	int peer_ifindex, r;

	if (!ctx || !netns_id_valid(dyno_id) || netns_fd < 0)
		return -EINVAL;
	/* The lease is on disk before any link exists: a crash from here on leaves at worst a
	 * lease (and a link) that reconcile reclaims. A lease the dyno already had is reused, so
	 * a dyno id keeps its address across a restart of the host service. */
	r = with_leases(ctx, do_alloc, &a);
	if (r < 0)
		return r;
	netns_host_ifname(a.addr, host);

	r = netns_veth_create(ctx->sk, host, ctx->bridge_ifindex, ctx->mtu, PEER_IFNAME, netns_fd,
			      a.addr, &peer_ifindex);
	if (r == -EEXIST && a.created) {
		/* The address was free, so a link of that name is a leftover of a detached dyno
		 * whose netns still exists (detach leaves deletion to the kernel): remove it. */
		r = netns_link_del(ctx->sk, host);
		if (r >= 0 || r == -ENODEV)
			r = netns_veth_create(ctx->sk, host, ctx->bridge_ifindex, ctx->mtu,
					      PEER_IFNAME, netns_fd, a.addr, &peer_ifindex);
		/* Still in the way: the netns itself holds an eth0 from an earlier attach that was
		 * detached. Its host end is a port without a lease; clear those and try once more. */
		if (r == -EEXIST) {
			r = with_leases(ctx, do_sweep, NULL);
			if (r >= 0)
				r = netns_veth_create(ctx->sk, host, ctx->bridge_ifindex, ctx->mtu,
						      PEER_IFNAME, netns_fd, a.addr, &peer_ifindex);
		}
	}
	if (r < 0)
		goto fail;
	r = netns_dyno_configure(netns_fd, peer_ifindex, a.addr, ctx->subnet.prefixlen,
				 ctx->subnet.gw);
	if (r < 0) {
		(void)netns_link_del(ctx->sk, host);
		goto fail;
	}
	fill_lease(ctx, a.addr, ret);
	return 0;
fail:
	/* Only a lease made by this call goes: an older one may belong to a link still in use
	 * (that is the -EEXIST case), and must keep its address until detach or reconcile. */
	if (a.created)
		(void)with_leases(ctx, do_release, (void *)dyno_id);
	return r;
}

int netns_attach_cb(void *ctx, const char *dyno_id, int netns_fd)
{
	struct netns_lease l;

	return netns_attach(ctx, dyno_id, netns_fd, &l);
}

static int do_detach(struct netns_ctx *ctx, void *data)
{
	const char *id = data;
	struct netns_ipam_lease *l = netns_ipam_find(&ctx->ipam, id);
	char host[IFNAMSIZ];
	int r;

	if (!l)
		return 0;
	/* Take the host end down: the dyno is cut off at once (no carrier on its eth0, and it
	 * cannot bring up a link in the host's netns). Deleting the pair here would cost an RCU
	 * grace period (20-30 ms, kernel side) on every dyno stop; the kernel deletes it anyway
	 * when the dyno's netns goes away, and a leftover still in the way is deleted by the
	 * attach that gets its address again or by reconcile. The link goes down before the lease
	 * goes, so an address is never handed out while usable. */
	netns_host_ifname(l->addr, host);
	r = netns_link_set_down(ctx->sk, host);
	if (r < 0 && r != -ENODEV)
		return r;
	(void)netns_ipam_release(&ctx->ipam, id, NULL);
	return 1;
}

int netns_detach(struct netns_ctx *ctx, const char *dyno_id)
{
	if (!ctx || !netns_id_valid(dyno_id))
		return -EINVAL;
	return with_leases(ctx, do_detach, (void *)dyno_id);
}

struct reconcile_args {
	const char *const *live;
	size_t n_live;
	bool changed;
};

static bool is_live(const struct reconcile_args *a, const char *id)
{
	for (size_t i = 0; i < a->n_live; i++)
		if (a->live[i] && strcmp(a->live[i], id) == 0)
			return true;
	return false;
}

static int do_reconcile(struct netns_ctx *ctx, void *data)
{
	struct reconcile_args *a = data;
	char host[IFNAMSIZ];
	int r;

	for (size_t i = 0; i < ctx->ipam.n_leases;) {
		struct netns_ipam_lease *l = &ctx->ipam.leases[i];
		if (is_live(a, l->id)) {
			i++;
			continue;
		}
		netns_host_ifname(l->addr, host);
		r = netns_link_del(ctx->sk, host);
		if (r < 0 && r != -ENODEV)
			return r;
		free(l->id);
		*l = ctx->ipam.leases[--ctx->ipam.n_leases];
		a->changed = true;
	}
	/* Ports of our bridge that no lease explains: detached dynos whose netns lives on, or
	 * links whose lease was lost with a damaged file. */
	r = do_sweep(ctx, NULL);
	if (r < 0)
		return r;
	return a->changed ? 1 : 0;
}

int netns_reconcile(struct netns_ctx *ctx, const char *const *live, size_t n_live)
{
	struct reconcile_args a = { live, n_live, false };

	if (!ctx || (n_live > 0 && !live))
		return -EINVAL;
	return with_leases(ctx, do_reconcile, &a);
}

struct get_args {
	const char *id;
	struct netns_lease lease;
};

static int do_get(struct netns_ctx *ctx, void *data)
{
	struct get_args *g = data;
	struct netns_ipam_lease *l = netns_ipam_find(&ctx->ipam, g->id);

	if (!l)
		return -ENOENT;
	fill_lease(ctx, l->addr, &g->lease);
	return 0;
}

int netns_lease_get(struct netns_ctx *ctx, const char *dyno_id, struct netns_lease *ret)
{
	struct get_args g = { .id = dyno_id };
	int r;

	if (!ctx || !netns_id_valid(dyno_id))
		return -EINVAL;
	r = with_leases(ctx, do_get, &g);
	if (r < 0)
		return r;
	*ret = g.lease;
	return 0;
}

static int do_nothing(struct netns_ctx *ctx, void *data)
{
	return 0;
}

int netns_lease_foreach(struct netns_ctx *ctx,
			int (*fn)(const char *dyno_id, const struct netns_lease *lease, void *data),
			void *data)
{
	int r;

	if (!ctx || !fn)
		return -EINVAL;
	r = with_leases(ctx, do_nothing, NULL);
	if (r < 0)
		return r;
	/* ctx->ipam now holds the snapshot; fn may call back into ctx, which reloads it. */
	struct netns_ipam snap;
	netns_ipam_init(&snap, &ctx->subnet);
	snap.leases = TAKE_PTR(ctx->ipam.leases);
	snap.n_leases = ctx->ipam.n_leases;
	snap.cap = ctx->ipam.cap;
	ctx->ipam.n_leases = ctx->ipam.cap = 0;
	for (size_t i = 0; r >= 0 && i < snap.n_leases; i++) {
		struct netns_lease l;
		fill_lease(ctx, snap.leases[i].addr, &l);
		r = fn(snap.leases[i].id, &l, data);
	}
	netns_ipam_done(&snap);
	return r < 0 ? r : 0;
}

static int uninstall_port(const char *name, void *data)
{
	int r = netns_link_del(data, name);
	return r == -ENODEV ? 0 : r;
}

int netns_uninstall(const struct netns_config *config)
{
	const struct netns_config cfg = config_with_defaults(config);
	const char *bridge = cfg.bridge, *state_dir = cfg.state_dir, *table = cfg.nft_table;
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	_cleanup_close_ int dirfd = -1;
	struct netns_link_info info;
	struct netns_subnet subnet;
	int r;

	if (!ifname_valid(bridge))
		return -EINVAL;
	r = netns_subnet_parse(cfg.subnet, &subnet);
	if (r < 0)
		return r;
	r = netns_nl_open(&sk);
	if (r < 0)
		return r;

	/* The dynos' links by their leases, then whatever else hangs off our bridge. */
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1 && errno != ENOENT)
		return -errno;
	if (dirfd >= 0) {
		struct netns_ipam ipam;
		char host[IFNAMSIZ];

		netns_ipam_init(&ipam, &subnet);
		r = netns_ipam_load(dirfd, &ipam);
		for (size_t i = 0; r >= 0 && i < ipam.n_leases; i++) {
			netns_host_ifname(ipam.leases[i].addr, host);
			r = netns_link_del(sk, host);
			if (r == -ENODEV)
				r = 0;
		}
		netns_ipam_done(&ipam);
		if (r < 0)
			return r;
	}
	r = netns_link_get(sk, bridge, &info);
	if (r >= 0 && info.is_bridge) {
		r = netns_link_foreach_port(sk, info.ifindex, HOST_PREFIX, uninstall_port, sk);
		if (r < 0)
			return r;
		r = netns_link_del(sk, bridge);
	}
	if (r < 0 && r != -ENODEV)
		return r;

	r = netns_nft_remove(table, cfg.error, cfg.error_size);
	if (r < 0)
		return r;

	if (dirfd >= 0) {
		static const char *const files[] = { "leases", "leases.new", LOCK_FILE };
		for (size_t i = 0; i < ELEMENTSOF(files); i++)
			if (unlinkat(dirfd, files[i], 0) == -1 && errno != ENOENT)
				return -errno;
		if (rmdir(state_dir) == -1 && errno != ENOENT && errno != ENOTEMPTY)
			return -errno;
	}
	return 0;
}
