/* rtnetlink over libnl for netns/: the bridge, veth pairs with the peer created straight in a
 * dyno's netns, addresses and routes inside it. Requests are built with libnl's message API
 * and sent back to back where the kernel allows it; every function returns the kernel's
 * -errno (libnl's own codes are mapped back), never logs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "netns/netns-internal.h"

/* libnl's error codes back to errno, for the few that are not the kernel's own. */
static int nl_to_errno(int nlerr)
{
	switch (abs(nlerr)) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_OBJ_NOTFOUND:
		return -ENODEV;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

void netns_host_ifname(uint32_t addr, char ret[IFNAMSIZ])
{
	snprintf(ret, IFNAMSIZ, "dv%08x", addr);
}

int netns_nl_open(struct nl_sock **ret)
{
	_cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	/* Replies are matched by counting acks: an echoed RTM_NEWLINK shares its request's
	 * sequence number, which libnl's own check would count as a second answer. */
	nl_socket_disable_seq_check(sk);
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return nl_to_errno(r);
	*ret = TAKE_PTR(sk);
	return 0;
}

/* Outstanding requests on a socket: each ends with an ack, an error or (dumps) NLMSG_DONE. */
struct nl_wait {
	int pending;
	int err; /* the first error */
	int (*valid)(struct nlmsghdr *nlh, void *data);
	void *data;
};

static int cb_valid(struct nl_msg *msg, void *arg)
{
	struct nl_wait *w = arg;

	if (w->valid) {
		int r = w->valid(nlmsg_hdr(msg), w->data);
		if (r < 0 && w->err == 0)
			w->err = r;
	}
	return NL_OK;
}

static int cb_done(struct nl_msg *msg, void *arg)
{
	struct nl_wait *w = arg;

	return --w->pending > 0 ? NL_OK : NL_STOP;
}

static int cb_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_wait *w = arg;

	if (w->err == 0)
		w->err = e->error < 0 ? e->error : -EIO;
	return --w->pending > 0 ? NL_SKIP : NL_STOP;
}

static int cb_noseq(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static void nl_cb_putp(struct nl_cb **cb)
{
	if (*cb)
		nl_cb_put(*cb);
}

static int nl_wait_all(struct nl_sock *sk, struct nl_wait *w)
{
	__attribute__((cleanup(nl_cb_putp))) struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, cb_valid, w);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, cb_done, w);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, cb_done, w);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, cb_noseq, NULL);
	nl_cb_err(cb, NL_CB_CUSTOM, cb_error, w);
	while (w->pending > 0) {
		int r = nl_recvmsgs(sk, cb);
		if (r < 0 && w->pending > 0)
			return w->err ? w->err : nl_to_errno(r);
	}
	return w->err;
}

/* Send msgs[0..n) back to back, then collect every answer; the first error wins. Stops
 * sending at a send failure but still collects the answers of what went out. */
static int nl_transact(struct nl_sock *sk, struct nl_msg **msgs, size_t n,
		       int (*valid)(struct nlmsghdr *, void *), void *data)
{
	struct nl_wait w = { .valid = valid, .data = data };
	int send_err = 0;

	for (size_t i = 0; i < n; i++) {
		int r = nl_send_auto(sk, msgs[i]);
		if (r < 0) {
			send_err = nl_to_errno(r);
			break;
		}
		w.pending++;
	}
	int r = w.pending > 0 ? nl_wait_all(sk, &w) : 0;
	return r < 0 ? r : send_err;
}

static int nl_transact1(struct nl_sock *sk, struct nl_msg *msg,
			int (*valid)(struct nlmsghdr *, void *), void *data)
{
	return nl_transact(sk, &msg, 1, valid, data);
}

static struct nl_msg *link_msg(int type, int flags, int ifindex, unsigned ifi_flags,
			       unsigned ifi_change)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = ifi_flags,
		.ifi_change = ifi_change,
	};
	struct nl_msg *m = nlmsg_alloc_simple(type, NLM_F_REQUEST | flags);

	if (m && nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		m = (nlmsg_free(m), NULL);
	return m;
}

static int parse_link(struct nlmsghdr *nlh, void *data)
{
	struct netns_link_info *info = data;
	struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return 0;
	ifi = nlmsg_data(nlh);
	*info = (struct netns_link_info){ .ifindex = ifi->ifi_index };
	if (tb[IFLA_MTU])
		info->mtu = nla_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		info->master = (int)nla_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO] && nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) >= 0 &&
	    li[IFLA_INFO_KIND])
		info->is_bridge = strcmp(nla_get_string(li[IFLA_INFO_KIND]), "bridge") == 0;
	return 0;
}

int netns_link_get(struct nl_sock *sk, const char *name, struct netns_link_info *ret)
{
	_cleanup_nlmsg_ struct nl_msg *m = link_msg(RTM_GETLINK, 0, 0, 0, 0);
	struct netns_link_info info = { .ifindex = 0 };
	int r;

	if (!m || nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, name) < 0)
		return -ENOMEM;
	r = nl_transact1(sk, m, parse_link, &info);
	if (r < 0)
		return r;
	if (info.ifindex <= 0)
		return -ENODEV;
	*ret = info;
	return 0;
}

int netns_link_del(struct nl_sock *sk, const char *name)
{
	_cleanup_nlmsg_ struct nl_msg *m = link_msg(RTM_DELLINK, 0, 0, 0, 0);

	if (!m || nla_put_string(m, IFLA_IFNAME, name) < 0)
		return -ENOMEM;
	return nl_transact1(sk, m, NULL, NULL);
}

int netns_link_set_down(struct nl_sock *sk, const char *name)
{
	_cleanup_nlmsg_ struct nl_msg *m = link_msg(RTM_NEWLINK, 0, 0, 0, IFF_UP);

	if (!m || nla_put_string(m, IFLA_IFNAME, name) < 0)
		return -ENOMEM;
	return nl_transact1(sk, m, NULL, NULL);
}

int netns_link_set_up(struct nl_sock *sk, int ifindex)
{
	_cleanup_nlmsg_ struct nl_msg *m = link_msg(RTM_NEWLINK, 0, ifindex, IFF_UP, IFF_UP);

	if (!m)
		return -ENOMEM;
	return nl_transact1(sk, m, NULL, NULL);
}

int netns_bridge_create(struct nl_sock *sk, const char *name, uint32_t mtu)
{
	_cleanup_nlmsg_ struct nl_msg *m =
		link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP, IFF_UP);
	uint8_t mac[6];
	struct nlattr *li;

	if (!m)
		return -ENOMEM;
	/* A bridge without a set address takes the lowest of its ports' and changes as dynos
	 * come and go, leaving stale gateway entries in the dynos' ARP caches. */
	if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
		return -errno;
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	if (nla_put_string(m, IFLA_IFNAME, name) < 0 || nla_put(m, IFLA_ADDRESS, 6, mac) < 0 ||
	    (mtu && nla_put_u32(m, IFLA_MTU, mtu) < 0) || !(li = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "bridge") < 0)
		return -ENOMEM;
	nla_nest_end(m, li);
	return nl_transact1(sk, m, NULL, NULL);
}

struct addr_list {
	int ifindex;
	uint32_t *addrs;
	uint8_t *prefixlens;
	size_t max, n;
};

static int parse_addr4(struct nlmsghdr *nlh, void *data)
{
	struct addr_list *l = data;
	struct nlattr *tb[IFA_MAX + 1];
	struct ifaddrmsg *ifa;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return 0;
	ifa = nlmsg_data(nlh);
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != l->ifindex)
		return 0;
	struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || nla_len(a) != 4)
		return 0;
	if (l->n < l->max) {
		l->addrs[l->n] = ntohl(nla_get_u32(a));
		l->prefixlens[l->n] = ifa->ifa_prefixlen;
	}
	l->n++;
	return 0;
}

int netns_addr_list4(struct nl_sock *sk, int ifindex, uint32_t *addrs, uint8_t *prefixlens,
		     size_t max, size_t *ret_n)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_index = (uint32_t)ifindex };
	_cleanup_nlmsg_ struct nl_msg *m = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
	struct addr_list l = { ifindex, addrs, prefixlens, max, 0 };
	int r;

	if (!m || nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0)
		return -ENOMEM;
	r = nl_transact1(sk, m, parse_addr4, &l);
	if (r < 0)
		return r;
	*ret_n = l.n;
	return 0;
}

static struct nl_msg *addr4_msg(int ifindex, uint32_t addr, uint8_t prefixlen, uint32_t flags)
{
	struct ifaddrmsg ifa = {
		.ifa_family = AF_INET,
		.ifa_prefixlen = prefixlen,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)ifindex,
	};
	uint32_t mask = ~0u << (32 - prefixlen);
	uint32_t a = htonl(addr), brd = htonl(addr | ~mask);
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);

	if (!m)
		return NULL;
	if (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    nla_put(m, IFA_LOCAL, 4, &a) < 0 || nla_put(m, IFA_ADDRESS, 4, &a) < 0 ||
	    nla_put(m, IFA_BROADCAST, 4, &brd) < 0 || nla_put_u32(m, IFA_FLAGS, flags) < 0)
		return (nlmsg_free(m), NULL);
	return m;
}

int netns_addr_add4(struct nl_sock *sk, int ifindex, uint32_t addr, uint8_t prefixlen,
		    uint32_t flags)
{
	_cleanup_nlmsg_ struct nl_msg *m = addr4_msg(ifindex, addr, prefixlen, flags);

	if (!m)
		return -ENOMEM;
	return nl_transact1(sk, m, NULL, NULL);
}

struct veth_echo {
	int host_ifindex;
	int peer_ifindex;
};

static int parse_veth_echo(struct nlmsghdr *nlh, void *data)
{
	struct veth_echo *e = data;
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return 0;
	ifi = nlmsg_data(nlh);
	e->host_ifindex = ifi->ifi_index;
	if (tb[IFLA_LINK])
		e->peer_ifindex = (int)nla_get_u32(tb[IFLA_LINK]);
	return 0;
}

/* IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: none } }: no link-local address, so no
 * duplicate address detection and no router solicitations. */
static int put_no_ipv6ll(struct nl_msg *m)
{
	struct nlattr *af, *in6;

	if (!(af = nla_nest_start(m, IFLA_AF_SPEC)) || !(in6 = nla_nest_start(m, AF_INET6)) ||
	    nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0)
		return -ENOMEM;
	nla_nest_end(m, in6);
	nla_nest_end(m, af);
	return 0;
}

void netns_dyno_mac(uint32_t addr, uint8_t ret[6])
{
	ret[0] = 0x02; /* unicast, locally administered */
	ret[1] = 0x64;
	ret[2] = (uint8_t)(addr >> 24);
	ret[3] = (uint8_t)(addr >> 16);
	ret[4] = (uint8_t)(addr >> 8);
	ret[5] = (uint8_t)addr;
}

int netns_veth_create(struct nl_sock *sk, const char *host, int master, uint32_t mtu,
		      const char *peer, int netns_fd, uint32_t addr, int *ret_peer_ifindex)
{
	_cleanup_nlmsg_ struct nl_msg *add =
		link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, 0, 0, 0);
	_cleanup_nlmsg_ struct nl_msg *iso = link_msg(RTM_NEWLINK, 0, 0, 0, 0);
	_cleanup_nlmsg_ struct nl_msg *up = link_msg(RTM_NEWLINK, 0, 0, IFF_UP, IFF_UP);
	_cleanup_nlmsg_ struct nl_msg *neigh =
		nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	struct ndmsg nd = {
		.ndm_family = AF_INET,
		.ndm_ifindex = master,
		.ndm_state = NUD_PERMANENT,
		.ndm_type = RTN_UNICAST,
	};
	struct nlattr *li, *data, *p, *sli, *sdata;
	uint32_t addr_be = htonl(addr);
	uint8_t mac[6];
	struct veth_echo echo = { 0, 0 };
	int r;

	if (!add || !iso || !up || !neigh)
		return -ENOMEM;
	netns_dyno_mac(addr, mac);
	/* The host end: in the bridge, the bridge's MTU, down until configured. */
	if (nla_put_string(add, IFLA_IFNAME, host) < 0 ||
	    nla_put_u32(add, IFLA_MASTER, (uint32_t)master) < 0 ||
	    (mtu && nla_put_u32(add, IFLA_MTU, mtu) < 0) ||
	    !(li = nla_nest_start(add, IFLA_LINKINFO)) ||
	    nla_put_string(add, IFLA_INFO_KIND, "veth") < 0 ||
	    !(data = nla_nest_start(add, IFLA_INFO_DATA)) || !(p = nla_nest_start(add, VETH_INFO_PEER)))
		return -ENOMEM;
	/* The peer: created down in the dyno's netns, so nothing flows before it is set up. */
	void *hdr = nlmsg_reserve(add, sizeof(peer_ifi), NLMSG_ALIGNTO);
	if (!hdr)
		return -ENOMEM;
	memcpy(hdr, &peer_ifi, sizeof(peer_ifi));
	if (nla_put_string(add, IFLA_IFNAME, peer) < 0 || nla_put(add, IFLA_ADDRESS, 6, mac) < 0 ||
	    nla_put_u32(add, IFLA_NET_NS_FD, (uint32_t)netns_fd) < 0 ||
	    (mtu && nla_put_u32(add, IFLA_MTU, mtu) < 0))
		return -ENOMEM;
	nla_nest_end(add, p);
	nla_nest_end(add, data);
	nla_nest_end(add, li);

	/* Port isolation (IFLA_BRPORT_ISOLATED, not in libnl 3.7's API) and no IPv6 link-local
	 * address on the host end: a changelink of the new port by name. The kernel applies
	 * neither slave data nor IFLA_AF_SPEC while creating a link, and applies flags before
	 * IFLA_AF_SPEC, hence three requests, sent back to back. */
	if (nla_put_string(iso, IFLA_IFNAME, host) < 0 || put_no_ipv6ll(iso) < 0 ||
	    !(sli = nla_nest_start(iso, IFLA_LINKINFO)) ||
	    nla_put_string(iso, IFLA_INFO_SLAVE_KIND, "bridge") < 0 ||
	    !(sdata = nla_nest_start(iso, IFLA_INFO_SLAVE_DATA)) ||
	    nla_put_u8(iso, IFLA_BRPORT_ISOLATED, 1) < 0)
		return -ENOMEM;
	nla_nest_end(iso, sdata);
	nla_nest_end(iso, sli);
	if (nla_put_string(up, IFLA_IFNAME, host) < 0)
		return -ENOMEM;
	/* The host's neighbour entry for the dyno, permanent: the host never has to ask (the
	 * router's first connection skips an ARP round trip) and no ARP reply, forged or not,
	 * can redirect the dyno's address elsewhere. The MAC follows from the address, so the
	 * entry stays right when the address is handed out again. */
	if (nlmsg_append(neigh, &nd, sizeof(nd), NLMSG_ALIGNTO) < 0 ||
	    nla_put(neigh, NDA_DST, 4, &addr_be) < 0 || nla_put(neigh, NDA_LLADDR, 6, mac) < 0)
		return -ENOMEM;

	struct nl_msg *msgs[] = { add, iso, up, neigh };
	r = nl_transact(sk, msgs, ELEMENTSOF(msgs), parse_veth_echo, &echo);
	if (r < 0) {
		if (r != -EEXIST)
			(void)netns_link_del(sk, host);
		return r;
	}
	if (echo.peer_ifindex <= 0) {
		(void)netns_link_del(sk, host);
		return -EPROTO;
	}
	*ret_peer_ifindex = echo.peer_ifindex;
	return 0;
}

static int nl_open_in(int netns_fd, struct nl_sock **ret)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int r, r2;

	if (self == -1)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET) == -1)
		return -errno;
	/* The socket stays in the netns it was created in; the thread goes back at once. */
	r = netns_nl_open(ret);
	r2 = RET_NERRNO(setns(self, CLONE_NEWNET));
	if (r2 < 0) {
		if (r >= 0)
			nl_socket_free(*ret);
		return r2;
	}
	return r;
}

int netns_dyno_configure(int netns_fd, int ifindex, uint32_t addr, uint8_t prefixlen,
			 uint32_t gw)
{
	_cleanup_nlsock_ struct nl_sock *sk = NULL;
	struct rtmsg rtm = {
		.rtm_family = AF_INET,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_STATIC,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
		.rtm_flags = RTNH_F_ONLINK,
	};
	uint32_t gw_be = htonl(gw);
	int r;

	r = nl_open_in(netns_fd, &sk);
	if (r < 0)
		return r;

	_cleanup_nlmsg_ struct nl_msg *v6 = link_msg(RTM_NEWLINK, 0, ifindex, 0, 0);
	_cleanup_nlmsg_ struct nl_msg *lo = link_msg(RTM_NEWLINK, 0, 1, IFF_UP, IFF_UP);
	_cleanup_nlmsg_ struct nl_msg *up = link_msg(RTM_NEWLINK, 0, ifindex, IFF_UP, IFF_UP);
	/* The subnet's prefix but no prefix route: everything, other dynos included, goes
	 * through the gateway, where the forward chain turns dyno-to-dyno traffic away. */
	_cleanup_nlmsg_ struct nl_msg *ad = addr4_msg(ifindex, addr, prefixlen, IFA_F_NOPREFIXROUTE);
	_cleanup_nlmsg_ struct nl_msg *rt =
		nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	if (!v6 || !lo || !up || !ad || !rt || put_no_ipv6ll(v6) < 0 ||
	    nlmsg_append(rt, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(rt, RTA_GATEWAY, 4, &gw_be) < 0 || nla_put_u32(rt, RTA_OIF, (uint32_t)ifindex) < 0)
		return -ENOMEM;

	/* The kernel handles each request as it is sent, in order: the IPv6 mode is set while
	 * the link is down, the link is up before the on-link route needs it. */
	struct nl_msg *msgs[] = { v6, lo, up, ad, rt };
	return nl_transact(sk, msgs, ELEMENTSOF(msgs), NULL, NULL);
}

struct port_list {
	int master;
	const char *prefix;
	char (*names)[IFNAMSIZ];
	size_t n, cap;
	int err;
};

static int parse_port(struct nlmsghdr *nlh, void *data)
{
	struct port_list *l = data;
	struct nlattr *tb[IFLA_MAX + 1];

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return 0;
	if (!tb[IFLA_MASTER] || (int)nla_get_u32(tb[IFLA_MASTER]) != l->master || !tb[IFLA_IFNAME])
		return 0;
	const char *name = nla_get_string(tb[IFLA_IFNAME]);
	if (strncmp(name, l->prefix, strlen(l->prefix)) != 0)
		return 0;
	if (ARRAY_GROW(l->names, l->cap, l->n, 32) < 0)
		return -ENOMEM;
	snprintf(l->names[l->n++], IFNAMSIZ, "%s", name);
	return 0;
}

int netns_link_foreach_port(struct nl_sock *sk, int master, const char *prefix,
			    int (*fn)(const char *name, void *data), void *data)
{
	_cleanup_nlmsg_ struct nl_msg *m = link_msg(RTM_GETLINK, NLM_F_DUMP, 0, 0, 0);
	struct port_list l = { .master = master, .prefix = prefix };
	int r;

	if (!m || nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0 ||
	    nla_put_u32(m, IFLA_MASTER, (uint32_t)master) < 0)
		return -ENOMEM;
	r = nl_transact1(sk, m, parse_port, &l);
	/* Call back only after the dump is over: fn may talk on the same socket. */
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		r = fn(l.names[i], data);
	free(l.names);
	return r;
}
