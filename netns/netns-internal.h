/* Internals shared by the files of netns/: the context, rtnetlink helpers (netns-link.c) and
 * the nftables table (netns-nft.c). Not a public header. */
#ifndef DYNOHOST_NETNS_INTERNAL_H
#define DYNOHOST_NETNS_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "netns/netns-ipam.h"

struct netns_ctx {
	char bridge[IFNAMSIZ];
	char *nft_table;
	struct netns_subnet subnet;
	uint32_t mtu;
	int bridge_ifindex;
	struct nl_sock *sk; /* rtnetlink, in the netns netns_open ran in (the host) */
	int state_dirfd;
	int lockfd;
	struct netns_ipam ipam; /* scratch table, valid only under the lock */
};

static inline void nl_socket_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
	*sk = NULL;
}
#define _cleanup_nlsock_ __attribute__((cleanup(nl_socket_freep)))

static inline void nlmsg_freep(struct nl_msg **m)
{
	if (*m)
		nlmsg_free(*m);
	*m = NULL;
}
#define _cleanup_nlmsg_ __attribute__((cleanup(nlmsg_freep)))

/* The host end of a dyno's veth: "dv" + the dyno's address in hex (unique while the lease is). */
void netns_host_ifname(uint32_t addr, char ret[IFNAMSIZ]);

/* netns-link.c: rtnetlink over libnl. Every function returns 0 or the kernel's -errno. */
int netns_nl_open(struct nl_sock **ret);

struct netns_link_info {
	int ifindex;
	uint32_t mtu;
	int master;
	bool is_bridge;
};
int netns_link_get(struct nl_sock *sk, const char *name, struct netns_link_info *ret);
int netns_link_del(struct nl_sock *sk, const char *name);
/* Create a bridge with a fixed random MAC (so it never changes as ports come and go). */
int netns_bridge_create(struct nl_sock *sk, const char *name, uint32_t mtu);
int netns_link_set_up(struct nl_sock *sk, int ifindex);
int netns_link_set_down(struct nl_sock *sk, const char *name);
/* The IPv4 addresses on ifindex: up to max (address, prefixlen) pairs; count in *ret_n. */
int netns_addr_list4(struct nl_sock *sk, int ifindex, uint32_t *addrs, uint8_t *prefixlens,
		     size_t max, size_t *ret_n);
int netns_addr_add4(struct nl_sock *sk, int ifindex, uint32_t addr, uint8_t prefixlen,
		    uint32_t flags);

/* Create the veth pair: host end `host` (up, in master `master`, isolated port) and its peer
 * `peer` directly in the netns of netns_fd (down, MAC from addr), and the host's permanent
 * neighbour entry addr -> that MAC on master. Peer's ifindex (in that netns) in
 * *ret_peer_ifindex. */
int netns_veth_create(struct nl_sock *sk, const char *host, int master, uint32_t mtu,
		      const char *peer, int netns_fd, uint32_t addr, int *ret_peer_ifindex);
/* The dyno's MAC: 02:64 and its address, so the host's permanent neighbour entry for an
 * address is right for whichever dyno holds it. */
void netns_dyno_mac(uint32_t addr, uint8_t ret[6]);
/* Inside the netns of netns_fd (setns in this thread, restored before returning): lo up;
 * ifindex without IPv6 link-local (no DAD), addr/prefixlen without a prefix route, up, and
 * the default route via gw on-link. */
int netns_dyno_configure(int netns_fd, int ifindex, uint32_t addr, uint8_t prefixlen,
			 uint32_t gw);
/* Call fn for each link enslaved to master whose name starts with prefix. */
int netns_link_foreach_port(struct nl_sock *sk, int master, const char *prefix,
			    int (*fn)(const char *name, void *data), void *data);

/* netns-nft.c: dynohost's inet table. Detail of an nftables failure goes to err. */
int netns_nft_install(const struct netns_ctx *ctx, const uint16_t *ports, size_t n_ports,
		      char *err, size_t err_size);
int netns_nft_remove(const char *table, char *err, size_t err_size);

#endif
