/* dynohost's nftables table: NAT for the dynos' egress, no traffic between dynos, and only the
 * exposed ports of the gateway. The table is replaced whole in one transaction, so it is
 * created, repaired or updated atomically; no other table is ever touched. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns-internal.h"

/* The rules go through nftables' own command, `nft -f`, as one transaction. Linking
 * libnftables (with libnftnl, libmnl, libxtables, jansson and gmp) cost every program that links
 * netns about 1 ms of dynamic loading at start, and a dlopen() of it kept `dyno` from being a
 * static binary, which starts a dyno 0.3 ms sooner. Only setting up and removing the table
 * need nftables. A run of `nft` costs about 2.5 ms more than the library did, on top of the
 * transaction's commit (15-30 ms in all here), so the table is loaded only when it is not
 * already what it should be (nft_table_current). */
#ifndef NFT_PATH
#define NFT_PATH "/usr/sbin/nft"
#endif

/* Run `nft -f` on cmd: the script is a memfd on its stdin (no pipe to deadlock on, however
 * long), its stderr is kept for the caller's message. Thread-safe: no state, posix_spawn. */
static int nft_run(const char *cmd, char *err, size_t err_size)
{
	_cleanup_close_ int in = memfd_create("dynohost-nft", MFD_CLOEXEC);
	_cleanup_close_ int errfd = memfd_create("dynohost-nft-err", MFD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)NFT_PATH, (char *)"-f", (char *)"/dev/stdin", NULL };
	char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL };
	pid_t pid;
	int r, status;

	if (err && err_size)
		err[0] = '\0';
	if (in < 0 || errfd < 0)
		return -errno;
	if ((r = fd_write_all(in, cmd, strlen(cmd))) < 0)
		return r;
	if (lseek(in, 0, SEEK_SET) == -1)
		return -errno;
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	if ((r = posix_spawn_file_actions_adddup2(&fa, in, 0)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, errfd, 2)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	r = posix_spawn(&pid, NFT_PATH, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		if (err && err_size)
			snprintf(err, err_size, "%s: %s%s", NFT_PATH, strerror(r),
				 r == ENOENT ? " (on Debian: apt-get install nftables)" : "");
		return -r;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (err && err_size) {
		/* nft's first line says what and where ("/dev/stdin:1:16-18: Error: ..."); the
		 * lines after it quote the script with carets. */
		char buf[512];
		ssize_t n = pread(errfd, buf, sizeof(buf) - 1, 0);
		n = n < 0 ? 0 : n;
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		const char *line = buf;
		if (strncmp(line, "/dev/stdin:", 11) == 0)
			line += 11;
		if (*line)
			snprintf(err, err_size, "nft: script line %s", line);
		else
			snprintf(err, err_size, "nft failed (%s %d)",
				 WIFEXITED(status) ? "status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	/* nft reports no errno; the likely causes are no nf_tables in the kernel or no
	 * CAP_NET_ADMIN. */
	return -EPROTO;
}

static int table_name_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || (i > 0 && t[i] == '-')))
			return 0;
	return 1;
}

/* What the kernel holds of table `t` (family inet), read over nfnetlink: a few dozen
 * microseconds, where loading the table again costs 15-30 ms (nft's start and the
 * transaction's commit). */
struct nft_probe {
	bool found;
	uint32_t chains;   /* NFTA_TABLE_USE: the table's chains */
	bool marked;       /* its comment carries the fingerprint */
	const char *mark;
	uint32_t rules;    /* rules in the table (the rule dump) */
};

static int probe_table_cb(struct nl_msg *msg, void *arg)
{
	struct nft_probe *p = arg;
	struct nlattr *tb[NFTA_TABLE_MAX + 1];
	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct nfgenmsg), tb, NFTA_TABLE_MAX, NULL) < 0)
		return NL_SKIP;
	p->found = true;
	if (tb[NFTA_TABLE_USE])
		p->chains = ntohl(nla_get_u32(tb[NFTA_TABLE_USE]));
	if (tb[NFTA_TABLE_USERDATA])
		p->marked = memmem(nla_data(tb[NFTA_TABLE_USERDATA]),
				   (size_t)nla_len(tb[NFTA_TABLE_USERDATA]), p->mark,
				   strlen(p->mark)) != NULL;
	return NL_OK;
}

static int probe_rule_cb(struct nl_msg *msg, void *arg)
{
	struct nft_probe *p = arg;
	p->rules++;
	return NL_OK;
}

static int nft_ask(struct nl_sock *sk, int type, int flags, int name_attr, const char *table,
		   nl_recvmsg_msg_cb_t cb, struct nft_probe *p)
{
	struct nfgenmsg g = { .nfgen_family = NFPROTO_INET, .version = NFNETLINK_V0 };
	struct nl_msg *msg = nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | type,
						NLM_F_REQUEST | flags);
	if (!msg)
		return -ENOMEM;
	int r = nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO);
	if (r == 0)
		r = nla_put_string(msg, name_attr, table);
	if (r == 0)
		r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return -EIO;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, p);
	if (nl_recvmsgs_default(sk) < 0)
		return -EIO;
	/* libnl asks for an ack: a reply that is not a dump comes before it. */
	if (!(flags & NLM_F_DUMP) && nl_wait_for_ack(sk) < 0)
		return -EIO;
	return 0;
}

/* The shape of the chains text: each chain is three lines ("chain NAME {", its "type" line,
 * "}"); every other line is a rule. */
static void chains_shape(const char *text, uint32_t *ret_chains, uint32_t *ret_rules)
{
	uint32_t lines = 0, chains = 0;
	for (const char *l = text; *l;) {
		const char *end = strchrnul(l, '\n');
		lines++;
		if (strncmp(l + strspn(l, " "), "chain ", 6) == 0)
			chains++;
		l = *end ? end + 1 : end;
	}
	*ret_chains = chains;
	*ret_rules = lines - 3 * chains;
}

/* 1 when table t is exactly what `chains` (the text between its braces, fingerprinted as
 * `mark`) loads: found, with the mark in its comment, and as many chains and rules. 0
 * otherwise (absent, stale, changed by hand, or nf_tables not answering: the load then says
 * what is wrong). */
static int nft_table_current(const char *t, const char *mark, const char *chains)
{
	uint32_t n_chains, n_rules;
	chains_shape(chains, &n_chains, &n_rules);
	struct nft_probe p = { .mark = mark };
	struct nl_sock *sk = nl_socket_alloc();
	int r = 0;

	if (!sk)
		return 0;
	if (nl_connect(sk, NETLINK_NETFILTER) == 0 &&
	    nft_ask(sk, NFT_MSG_GETTABLE, 0, NFTA_TABLE_NAME, t, probe_table_cb, &p) == 0 &&
	    p.found && p.marked && p.chains == n_chains &&
	    nft_ask(sk, NFT_MSG_GETRULE, NLM_F_DUMP, NFTA_RULE_TABLE, t, probe_rule_cb, &p) == 0)
		r = p.rules == n_rules;
	nl_socket_free(sk);
	return r;
}

/* FNV-1a, 64 bits: a fingerprint of the rules, not a security measure (only root can
 * change the table). */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int netns_nft_install(const struct netns_ctx *ctx, const uint16_t *ports, size_t n_ports,
		      char *err, size_t err_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	char net[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct in_addr a;
	const char *t = ctx->nft_table, *b = ctx->bridge;
	FILE *f;

	if (!table_name_valid(t))
		return -EINVAL;
	a.s_addr = htonl(ctx->subnet.net);
	inet_ntop(AF_INET, &a, net, sizeof(net));
	a.s_addr = htonl(ctx->subnet.gw);
	inet_ntop(AF_INET, &a, gw, sizeof(gw));

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	/* The chains first: their text is the table's fingerprint. */
	fprintf(f,
		"  chain input {\n"
		"    type filter hook input priority filter; policy accept;\n"
		"    iifname \"%1$s\" ct state established,related accept\n",
		b);
	if (n_ports > 0) {
		fprintf(f, "    iifname \"%s\" ip daddr %s meta l4proto { tcp, udp } th dport { ", b,
			gw);
		for (size_t i = 0; i < n_ports; i++)
			fprintf(f, "%s%u", i ? ", " : "", ports[i]);
		fprintf(f, " } accept\n");
	}
	fprintf(f,
		"    iifname \"%1$s\" reject with icmpx type admin-prohibited\n"
		"  }\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%1$s\" oifname \"%1$s\" reject with icmpx type admin-prohibited\n"
		"    iifname \"%1$s\" ip saddr != %2$s/%3$u drop\n"
		"    iifname \"%1$s\" meta nfproto ipv6 drop\n"
		"    oifname \"%1$s\" ct state established,related accept\n"
		"    oifname \"%1$s\" reject with icmpx type admin-prohibited\n"
		"  }\n"
		"  chain postrouting {\n"
		"    type nat hook postrouting priority srcnat; policy accept;\n"
		"    ip saddr %2$s/%3$u ip daddr != %2$s/%3$u oifname != \"%1$s\" masquerade\n"
		"  }\n",
		b, net, ctx->subnet.prefixlen);
	if (fclose(f) != 0)
		return -ENOMEM;

	/* A table already holding exactly these rules stays: loading it again would cost every
	 * `dyno exec --net bridge` 15-30 ms. */
	char mark[48];
	snprintf(mark, sizeof(mark), "dynohost %016llx",
		 (unsigned long long)fnv1a(buf, size));
	if (nft_table_current(t, mark, buf))
		return 0;

	/* "add table; delete table; table {...}" in one transaction: whatever state the table
	 * was in (absent, stale, damaged), it ends up exactly this, and nothing sees it half. */
	_cleanup_free_ char *script = NULL;
	if (asprintf(&script,
		     "add table inet %1$s\n"
		     "delete table inet %1$s\n"
		     "table inet %1$s {\n"
		     "  comment \"%2$s\"\n"
		     "%3$s"
		     "}\n",
		     t, mark, buf) < 0)
		return -ENOMEM;
	return nft_run(script, err, err_size);
}

int netns_nft_remove(const char *table, char *err, size_t err_size)
{
	char cmd[128];

	if (!table_name_valid(table))
		return -EINVAL;
	/* "add" first so that removing an absent table is not an error. */
	snprintf(cmd, sizeof(cmd), "add table inet %1$s\ndelete table inet %1$s\n", table);
	return nft_run(cmd, err, err_size);
}
