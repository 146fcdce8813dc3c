/* dyno-net: the admin tool of netns/ (pkglibexec): set up the bridge and firewall, attach a
 * netns to the dyno network or detach it, list leases, reconcile, uninstall. It runs in the
 * netns it was started in, which is "the host" for everything it does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "netns/netns.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dyno-net [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"commands:\n"
		"  setup                       create or check the bridge, forwarding and firewall\n"
		"                              (the other commands change none of them)\n"
		"  attach DYNO-ID NETNS-PATH   give the netns at NETNS-PATH an address; prints it\n"
		"  detach DYNO-ID              remove the dyno's link and release its address\n"
		"  show DYNO-ID                print the dyno's address\n"
		"  list                        print every lease: DYNO-ID ADDRESS HOST-IFNAME\n"
		"  reconcile [LIVE-ID...]      release what no live dyno owns\n"
		"  uninstall                   remove the bridge, the firewall table and the leases\n"
		"\n"
		"options:\n"
		"  --bridge NAME       bridge (default dyno0)\n"
		"  --subnet CIDR       dyno subnet (default 172.30.0.0/16)\n"
		"  --state-dir DIR     lease directory (default %s/net)\n"
		"  --table NAME        nftables inet table (default dynohost)\n"
		"  --host-port PORT    a gateway port dynos may reach (repeatable)\n"
		"  --mtu N             MTU of the dyno links (default: the bridge's)\n"
		"  --no-ip-forward     do not set net.ipv4.ip_forward=1\n",
		DYNOHOST_STATEDIR);
}

static int print_lease(const char *id, const struct netns_lease *l, void *data)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &l->addr, a, sizeof(a));
	printf("%s %s/%u %s\n", id, a, l->prefixlen, l->host_ifname);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_BRIDGE = 256, OPT_SUBNET, OPT_STATE, OPT_TABLE, OPT_PORT, OPT_MTU, OPT_NOFWD };
	static const struct option opts[] = {
		{ "bridge", required_argument, NULL, OPT_BRIDGE },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "host-port", required_argument, NULL, OPT_PORT },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "no-ip-forward", no_argument, NULL, OPT_NOFWD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct netns_config cfg = { .bridge = NULL };
	uint16_t ports[64];
	char err[512] = "";
	_cleanup_netns_ struct netns_ctx *ctx = NULL;
	const char *cmd;
	int c, r;

	log_set_ident("dyno-net");
	cfg.host_ports = ports;
	cfg.error = err;
	cfg.error_size = sizeof(err);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case OPT_BRIDGE:
			cfg.bridge = optarg;
			break;
		case OPT_SUBNET:
			cfg.subnet = optarg;
			break;
		case OPT_STATE:
			cfg.state_dir = optarg;
			break;
		case OPT_TABLE:
			cfg.nft_table = optarg;
			break;
		case OPT_PORT:
		case OPT_MTU:
			if (parse_uint64(optarg, 1, 65535, &v) < 0) {
				log_error("invalid number \"%s\"", optarg);
				return 2;
			}
			if (c == OPT_MTU) {
				cfg.mtu = (uint32_t)v;
				break;
			}
			if (cfg.n_host_ports == ELEMENTSOF(ports)) {
				log_error("too many --host-port");
				return 2;
			}
			ports[cfg.n_host_ports++] = (uint16_t)v;
			break;
		case OPT_NOFWD:
			cfg.no_ip_forward = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;

	if (strcmp(cmd, "uninstall") == 0 && argc == 0) {
		r = netns_uninstall(&cfg);
		if (r < 0)
			return log_error_errno(r, "uninstall: %m%s%s", err[0] ? ": " : "", err), 1;
		return 0;
	}

	/* Only `setup` (re)writes the bridge, forwarding and firewall: the others work next to
	 * the host service without resetting its exposed ports. */
	cfg.no_setup = strcmp(cmd, "setup") != 0;
	r = netns_open(&cfg, &ctx);
	if (r == -EEXIST)
		return log_error_errno(r, "bridge \"%s\" exists with another address or kind",
				       cfg.bridge ? cfg.bridge : "dyno0"),
		       1;
	if (r == -ENODEV)
		return log_error_errno(r, "bridge \"%s\" does not exist (run `dyno-net setup`)",
				       cfg.bridge ? cfg.bridge : "dyno0"),
		       1;
	if (r < 0)
		return log_error_errno(r, "set up the dyno network: %m%s%s", err[0] ? ": " : "",
				       err),
		       1;

	if (strcmp(cmd, "setup") == 0 && argc == 0)
		return 0;
	if (strcmp(cmd, "attach") == 0 && argc == 2) {
		_cleanup_close_ int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		struct netns_lease l;
		char a[INET_ADDRSTRLEN];

		if (fd == -1)
			return log_error_errno(errno, "open \"%s\": %m", argv[1]), 1;
		r = netns_attach(ctx, argv[0], fd, &l);
		if (r < 0)
			return log_error_errno(r, "attach \"%s\": %m", argv[0]), 1;
		inet_ntop(AF_INET, &l.addr, a, sizeof(a));
		printf("%s\n", a);
		return 0;
	}
	if (strcmp(cmd, "detach") == 0 && argc == 1) {
		r = netns_detach(ctx, argv[0]);
		if (r < 0)
			return log_error_errno(r, "detach \"%s\": %m", argv[0]), 1;
		return 0;
	}
	if (strcmp(cmd, "show") == 0 && argc == 1) {
		struct netns_lease l;
		char a[INET_ADDRSTRLEN];

		r = netns_lease_get(ctx, argv[0], &l);
		if (r < 0)
			return log_error_errno(r, "no address for \"%s\": %m", argv[0]), 1;
		inet_ntop(AF_INET, &l.addr, a, sizeof(a));
		printf("%s\n", a);
		return 0;
	}
	if (strcmp(cmd, "list") == 0 && argc == 0) {
		r = netns_lease_foreach(ctx, print_lease, NULL);
		if (r < 0)
			return log_error_errno(r, "list leases: %m"), 1;
		return 0;
	}
	if (strcmp(cmd, "reconcile") == 0) {
		r = netns_reconcile(ctx, (const char *const *)argv, (size_t)argc);
		if (r < 0)
			return log_error_errno(r, "reconcile: %m"), 1;
		return 0;
	}
	usage(stderr);
	return 2;
}
