/* A network per dyno: the host bridge, one veth pair and netns per dyno, IP address
 * management, NAT for egress and isolation between dynos, over rtnetlink (libnl) and
 * nftables (libnftables). Library code: it returns -errno and never logs. */
#ifndef DYNOHOST_NETNS_NETNS_H
#define DYNOHOST_NETNS_NETNS_H

#include <netinet/in.h>
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
};

struct netns_lease {
	struct in_addr addr;    /* the dyno's address */
	struct in_addr gateway; /* the bridge's address */
	uint8_t prefixlen;
	char host_ifname[16]; /* dv… */
};

struct netns_ctx;

/* Ensure the bridge (with the gateway address), forwarding, and the nftables table exist;
 * an existing bridge with another subnet is -EEXIST. A NULL field takes its default. */
int netns_open(const struct netns_config *cfg, struct netns_ctx **ret);
struct netns_ctx *netns_close(struct netns_ctx *ctx);

/* Give the dyno an address, create the veth pair with its peer placed directly in the
 * netns of netns_fd (as eth0), configure lo, eth0 and the default route inside. On failure
 * nothing is left (no link, no lease). */
int netns_attach(struct netns_ctx *ctx, const char *dyno_id, int netns_fd,
		 struct netns_lease *ret);
/* Remove the host veth (and so its peer) and release the lease. Idempotent. */
int netns_detach(struct netns_ctx *ctx, const char *dyno_id);
/* Release leases and links of dynos not in live[] (after a crash or reboot). */
int netns_reconcile(struct netns_ctx *ctx, const char *const *live, size_t n_live);
/* Remove the bridge, dynohost's nftables table and the lease state (uninstall). */
int netns_uninstall(const struct netns_config *cfg);

static inline void netns_closep(struct netns_ctx **c)
{
	*c = netns_close(*c);
}
#define _cleanup_netns_ __attribute__((cleanup(netns_closep)))

#endif
