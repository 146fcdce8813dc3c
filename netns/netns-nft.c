/* dynohost's nftables table (libnftables): NAT for the dynos' egress, no traffic between dynos,
 * and only the exposed ports of the gateway. The table is replaced whole in one transaction,
 * so it is created, repaired or updated atomically; no other table is ever touched. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "common/cleanup.h"
#include "netns/netns-internal.h"

/* libnftables is opened on first use, not linked. Only setting up and removing the table need it,
 * and linking it (with libnftnl, libmnl, libxtables, jansson and gmp) made every program that
 * links netns pay about 1 ms of dynamic loading at start, `dyno exec --net none` included.
 * The pointers take their types from the header, so a mismatch fails to compile. The soname
 * carries the ABI version these types belong to. */
#define NFT_SONAME "libnftables.so.1"
static struct {
	__typeof__(nft_ctx_new) *ctx_new;
	__typeof__(nft_ctx_free) *ctx_free;
	__typeof__(nft_ctx_buffer_output) *buffer_output;
	__typeof__(nft_ctx_buffer_error) *buffer_error;
	__typeof__(nft_run_cmd_from_buffer) *run_cmd_from_buffer;
	__typeof__(nft_ctx_get_error_buffer) *get_error_buffer;
} nft;

static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

static int nft_lib_open_locked(char *err, size_t err_size)
{
	if (nft.ctx_new)
		return 0;
	void *h = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		if (err && err_size)
			snprintf(err, err_size, "%s", dlerror());
		return -ELIBACC;
	}
	*(void **)&nft.ctx_free = dlsym(h, "nft_ctx_free");
	*(void **)&nft.buffer_output = dlsym(h, "nft_ctx_buffer_output");
	*(void **)&nft.buffer_error = dlsym(h, "nft_ctx_buffer_error");
	*(void **)&nft.run_cmd_from_buffer = dlsym(h, "nft_run_cmd_from_buffer");
	*(void **)&nft.get_error_buffer = dlsym(h, "nft_ctx_get_error_buffer");
	*(void **)&nft.ctx_new = dlsym(h, "nft_ctx_new");
	if (!nft.ctx_free || !nft.buffer_output || !nft.buffer_error || !nft.run_cmd_from_buffer ||
	    !nft.get_error_buffer || !nft.ctx_new) {
		if (err && err_size)
			snprintf(err, err_size, "%s lacks a function dynohost uses", NFT_SONAME);
		nft.ctx_new = NULL;
		dlclose(h);
		return -ELIBBAD;
	}
	return 0; /* the library stays loaded for the life of the process */
}

/* Several threads may each hold their own context: the first to need the library loads it. */
static int nft_lib_open(char *err, size_t err_size)
{
	pthread_mutex_lock(&nft_lock);
	int r = nft_lib_open_locked(err, err_size);
	pthread_mutex_unlock(&nft_lock);
	return r;
}

static void nft_ctx_freep(struct nft_ctx **c)
{
	if (*c)
		nft.ctx_free(*c);
}

static int nft_run(const char *cmd, char *err, size_t err_size)
{
	int r = nft_lib_open(err, err_size);
	if (r < 0)
		return r;
	__attribute__((cleanup(nft_ctx_freep))) struct nft_ctx *ctx = nft.ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		return -ENOMEM;
	/* Keep libnftables quiet: its messages go to the caller's buffer, not to stderr. */
	if (nft.buffer_output(ctx) != 0 || nft.buffer_error(ctx) != 0)
		return -ENOMEM;
	if (nft.run_cmd_from_buffer(ctx, cmd) == 0)
		return 0;
	if (err && err_size) {
		const char *e = nft.get_error_buffer(ctx);
		snprintf(err, err_size, "%s", e ? e : "nftables command failed");
		size_t n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
	}
	/* libnftables reports no errno; the likely causes are no nf_tables in the kernel or no
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
