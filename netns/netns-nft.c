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

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns-internal.h"

/* The rules go through nftables' own command, `nft -f`, as one transaction. Linking
 * libnftables (with libnftnl, libmnl, libxtables, jansson and gmp) cost every program that links
 * netns about 1 ms of dynamic loading at start, and a dlopen() of it kept `dyno` from being a
 * static binary, which starts a dyno 0.3 ms sooner. Only setting up and removing the table
 * need nftables, and a run of `nft` costs about what loading the library did. */
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
	/* "add table; delete table; table {...}" in one transaction: whatever state the table
	 * was in (absent, stale, damaged), it ends up exactly this, and nothing sees it half. */
	fprintf(f,
		"add table inet %1$s\n"
		"delete table inet %1$s\n"
		"table inet %1$s {\n"
		"  chain input {\n"
		"    type filter hook input priority filter; policy accept;\n"
		"    iifname \"%2$s\" ct state established,related accept\n",
		t, b);
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
		"  }\n"
		"}\n",
		b, net, ctx->subnet.prefixlen);
	if (fclose(f) != 0)
		return -ENOMEM;
	return nft_run(buf, err, err_size);
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
