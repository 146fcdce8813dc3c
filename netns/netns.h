/* A network per dyno: the host bridge, one veth pair and netns per dyno, IP address
 * management, NAT for egress and isolation between dynos, over rtnetlink (libnl) and
 * nftables (the nft command). Library code: it returns -errno and never logs. */
#ifndef DYNOHOST_NETNS_NETNS_H
#define DYNOHOST_NETNS_NETNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netns_config {
	const char *bridge;    /* "dyno0" by default (tests use dyt*) */
	const char *subnet;    /* IPv4 CIDR, "172.30.0.0/16" by default; .1 is the gateway */
	const char *state_dir; /* where leases persist: "/var/lib/dynohost/net" by default */
	const char *nft_table; /* the inet table dynohost owns: "dynohost" by default */
	const uint16_t *host_ports; /* TCP/UDP ports on the gateway dynos may reach (DNS, router) */
	size_t n_host_ports;
	uint32_t mtu; /* 0: the bridge's (1500 for a new bridge) */
	/* netns_open sets net.ipv4.ip_forward=1 in the netns it runs in unless this is set. In
	 * the host's netns that is a host-wide change (every interface forwards IPv4); it is
	 * what NAT egress needs. A fake host in a netns of its own (tests) keeps the change there. */
	bool no_ip_forward;
	/* Use the network as it is: the bridge must exist with the subnet's gateway address
	 * (else -ENODEV / -EEXIST); nothing is created, and neither forwarding nor the nftables
	 * table is touched. For tools that list, detach or reconcile next to the host service
	 * (which owns the firewall's host_ports). */
	bool no_setup;
	/* Optional: on an nftables failure, its message is copied here (NUL-terminated). */
	char *error;
	size_t error_size;
};

struct netns_lease {
	struct in_addr addr;    /* the dyno's address */
	struct in_addr gateway; /* the bridge's address */
	uint8_t prefixlen;
	char host_ifname[16]; /* dv… */
};

/* A context is used by one thread at a time; several processes may each have their own on
 * the same bridge and state dir (leases are shared under a file lock). netns_attach moves the
 * calling thread into the dyno's netns for a few system calls and always moves it back. */
struct netns_ctx;

/* Ensure the bridge (with the gateway address), forwarding, and the nftables table exist;
 * an existing bridge with another subnet is -EEXIST. A NULL field takes its default. The
 * table is loaded again (one transaction, `nft -f`) unless it already holds exactly these
 * rules: its comment carries a fingerprint of them, and its chains and rule count must
 * match (a rule deleted or added by hand is seen; a rule edited in place is not). */
int netns_open(const struct netns_config *cfg, struct netns_ctx **ret);
struct netns_ctx *netns_close(struct netns_ctx *ctx);

/* Give the dyno an address, create the veth pair with its peer placed directly in the
 * netns of netns_fd (as eth0), configure lo, eth0 and the default route inside. On failure
 * nothing is left (no link, no lease). */
int netns_attach(struct netns_ctx *ctx, const char *dyno_id, int netns_fd,
		 struct netns_lease *ret);
/* Cut the dyno off (its host veth goes down at once) and release the lease. Idempotent.
 * The veth pair itself is deleted by the kernel when the dyno's netns goes away (last
 * process gone, last fd closed); a pair whose netns lives on is deleted by the next attach
 * that gets the same address, or by netns_reconcile. */
int netns_detach(struct netns_ctx *ctx, const char *dyno_id);
/* Release leases and links of dynos not in live[] (after a crash or reboot). */
int netns_reconcile(struct netns_ctx *ctx, const char *const *live, size_t n_live);
/* Remove the bridge, dynohost's nftables table and the lease state (uninstall). */
int netns_uninstall(const struct netns_config *cfg);

/* netns_attach for callers that need no lease back, shaped as the launcher's dyno_net_fn
 * (runtime/launcher.h): p.net = DYNO_NET_CALLBACK, p.net_fn = netns_attach_cb,
 * p.net_userdata = ctx. The address is then netns_lease_get(ctx, id, ...). */
int netns_attach_cb(void *ctx, const char *dyno_id, int netns_fd);

/* The lease of dyno_id (-ENOENT when it has none), e.g. to re-adopt a running dyno. */
int netns_lease_get(struct netns_ctx *ctx, const char *dyno_id, struct netns_lease *ret);
/* Call fn for each lease (a snapshot taken under the lease lock); a negative return from fn
 * stops the walk and is returned. */
int netns_lease_foreach(struct netns_ctx *ctx,
			int (*fn)(const char *dyno_id, const struct netns_lease *lease, void *data),
			void *data);

static inline void netns_closep(struct netns_ctx **c)
{
	*c = netns_close(*c);
}
#define _cleanup_netns_ __attribute__((cleanup(netns_closep)))

#endif
