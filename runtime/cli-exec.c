/* `dyno exec`: run one command in a dyno, exactly as production would, stream its output and
 * exit with its status (128+N when signal N killed it). For CI smoke tests and debugging. */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "netns/netns.h"
#include "runtime/cli.h"
#include "runtime/launcher.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dyno exec --stack DIR|host [--slug DIR] [OPTIONS] -- CMD...\n"
		"\n"
		"Runs CMD (through /bin/sh -c, in /app) in a dyno and exits with its status.\n"
		"  --stack DIR|host     root filesystem (a directory, or the host's /usr, /etc)\n"
		"  --slug DIR           the app, mounted at /app (writable, ephemeral)\n"
		"  --size NAME          standard-1x (default), standard-2x, performance-m,\n"
		"                       performance-l\n"
		"  --memory BYTES       override the size's memory quota (kill at 2x)\n"
		"  --pids N             override the size's pids limit\n"
		"  --tmp-size BYTES     the ephemeral filesystem's size (default 512M)\n"
		"  --env K=V            a config var (repeatable)\n"
		"  --port N             set $PORT\n"
		"  --name NAME          $DYNO (default run.<pid>)\n"
		"  --id ID              the dyno's id: cgroup, run dir, hostname (exec-<pid>)\n"
		"  --net bridge|none    network. bridge (default): a veth on the host bridge, an\n"
		"                       address from its subnet, NAT egress (the bridge,\n"
		"                       forwarding and dynohost's nftables table are set up\n"
		"                       when missing);\n"
		"                       none: a network namespace with only lo\n"
		"  --bridge NAME        the bridge (default dyno0)\n"
		"  --subnet CIDR        its subnet (default 172.30.0.0/16)\n"
		"  --net-state DIR      where leases persist (default /var/lib/dynohost/net)\n"
		"  --grace SECONDS      SIGTERM-to-SIGKILL grace on stop (default 30)\n"
		"  --uid UID --gid GID  the dyno's user (default 10000:10000)\n"
		"  --run-dir DIR        runtime dirs ($DYNOHOST_RUN_DIR or /run/dynohost/dynos)\n"
		"  -i, --interactive    pass stdin to the dyno (default /dev/null)\n"
		"  -q, --quiet          no R12/R14/R15 notes on stderr\n");
}

/* One output line being written to our stdout or stderr. */
struct pending {
	struct dyno_line line;
	size_t off;
	bool active;
};

static int line_fd(const struct pending *pw)
{
	return pw->line.stream == DYNO_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO;
}

/* Write what the fd takes now; the line ends with its newline. Returns true when done. */
static bool pending_write(struct pending *pw)
{
	int fd = line_fd(pw);
	while (pw->off < pw->line.len + 1) {
		const char *p;
		size_t n;
		if (pw->off < pw->line.len) {
			p = pw->line.data + pw->off;
			n = pw->line.len - pw->off;
		} else {
			p = "\n";
			n = 1;
		}
		if (n > 4096)
			n = 4096; /* at most PIPE_BUF after POLLOUT, so we do not block long */
		ssize_t w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return false;
			pw->off = pw->line.len + 1; /* nobody reads: drop the rest */
			break;
		}
		pw->off += (size_t)w;
		if (pw->off < pw->line.len + 1)
			return false;
	}
	free(pw->line.data);
	pw->active = false;
	return true;
}

struct net_attach {
	struct netns_ctx *ctx;
	struct netns_lease lease;
	bool attached;
};

static int net_attach_cb(void *userdata, const char *id, int netns_fd)
{
	struct net_attach *na = userdata;
	int r = netns_attach(na->ctx, id, netns_fd, &na->lease);
	if (r == 0)
		na->attached = true;
	return r;
}

static void release_lease(void *userdata, const char *id)
{
	(void)netns_detach(userdata, id);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int run(struct dyno *d, int grace_ms, int sfd)
{
	struct pending pw = { .active = false };
	int signals = 0;
	bool exited = false;

	for (;;) {
		int r = dyno_process(d);
		if (r < 0)
			return log_error_errno(r, "following the dyno: %m");
		exited = r > 0;
		if (!pw.active && dyno_next_line(d, &pw.line) > 0) {
			pw.off = 0;
			pw.active = true;
		}
		if (exited) {
			/* Nothing more comes: write out what is queued, blocking. */
			while (pw.active) {
				while (!pending_write(&pw)) {
					struct pollfd o = { .fd = line_fd(&pw), .events = POLLOUT };
					poll(&o, 1, -1);
				}
				if (dyno_next_line(d, &pw.line) > 0) {
					pw.off = 0;
					pw.active = true;
				}
			}
			return 0;
		}

		struct pollfd pfd[6];
		int fds[4];
		size_t n = dyno_poll_fds(d, fds);
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		size_t out_idx = SIZE_MAX;
		if (pw.active) {
			out_idx = n;
			pfd[n++] = (struct pollfd){ .fd = line_fd(&pw), .events = POLLOUT };
		}
		int timeout = -1;
		uint64_t deadline = dyno_stop_deadline(d);
		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline)
				continue; /* dyno_process() escalates to SIGKILL */
			timeout = (int)(deadline - now);
		}
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			return log_error_errno(errno, "poll: %m");
		if (out_idx != SIZE_MAX && pfd[out_idx].revents)
			pending_write(&pw);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (signals++ == 0)
				(void)dyno_stop_begin(d, grace_ms);
			else
				(void)dyno_kill(d);
		}
	}
}

int cli_exec(int argc, char **argv)
{
	static const struct option options[] = {
		{ "stack", required_argument, NULL, 's' },
		{ "slug", required_argument, NULL, 'a' },
		{ "size", required_argument, NULL, 'z' },
		{ "memory", required_argument, NULL, 'm' },
		{ "pids", required_argument, NULL, 'P' },
		{ "tmp-size", required_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "id", required_argument, NULL, 'I' },
		{ "net", required_argument, NULL, 'N' },
		{ "bridge", required_argument, NULL, 'B' },
		{ "subnet", required_argument, NULL, 'S' },
		{ "net-state", required_argument, NULL, 'T' },
		{ "grace", required_argument, NULL, 'g' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'G' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct dyno_params p;
	const char *size = "standard-1x";
	uint64_t memory = 0, pids = 0;
	double grace_s = DYNO_DEFAULT_GRACE_MS / 1000.0;
	bool interactive = false, quiet = false;
	_cleanup_free_ const char **env = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_env = 0;
	char id_buf[64], name_buf[64];
	uint64_t v;
	int c;
	struct netns_config net_cfg = {};
	char net_error[256] = "";
	_cleanup_netns_ struct netns_ctx *net_ctx = NULL;
	struct net_attach na = {};

	if (!env)
		return log_error_errno(ENOMEM, "out of memory"), 125;
	dyno_params_init(&p);
	p.kill_on_parent_death = true;
	p.net = DYNO_NET_CALLBACK; /* bridge, as the host service runs dynos */
	p.run_dir = getenv("DYNOHOST_RUN_DIR");
	if (p.run_dir && !*p.run_dir)
		p.run_dir = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+iqh", options, NULL)) != -1) {
		switch (c) {
		case 's': p.stack = optarg; break;
		case 'a': p.slug = optarg; break;
		case 'z': size = optarg; break;
		case 'm':
			if (parse_size(optarg, &memory) < 0 || memory == 0)
				return log_error("invalid --memory \"%s\"", optarg), 2;
			break;
		case 'P':
			if (parse_uint64(optarg, 1, 4194304, &v) < 0)
				return log_error("invalid --pids \"%s\"", optarg), 2;
			pids = v;
			break;
		case 't':
			if (parse_size(optarg, &p.tmpfs_bytes) < 0 || p.tmpfs_bytes == 0)
				return log_error("invalid --tmp-size \"%s\"", optarg), 2;
			break;
		case 'e':
			if (!strchr(optarg, '='))
				return log_error("--env wants K=V, got \"%s\"", optarg), 2;
			env[n_env++] = optarg;
			break;
		case 'p':
			if (parse_uint64(optarg, 1, 65535, &v) < 0)
				return log_error("invalid --port \"%s\"", optarg), 2;
			p.port = (unsigned)v;
			break;
		case 'n': p.dyno_name = optarg; break;
		case 'I': p.id = optarg; break;
		case 'N':
			if (strcmp(optarg, "none") == 0)
				p.net = DYNO_NET_NONE;
			else if (strcmp(optarg, "bridge") == 0)
				p.net = DYNO_NET_CALLBACK;
			else
				return log_error("invalid --net \"%s\" (bridge or none)", optarg),
				       2;
			break;
		case 'B': net_cfg.bridge = optarg; break;
		case 'S': net_cfg.subnet = optarg; break;
		case 'T': net_cfg.state_dir = optarg; break;
		case 'g': {
			char *end;
			grace_s = strtod(optarg, &end);
			if (end == optarg || *end || grace_s < 0 || grace_s > 86400)
				return log_error("invalid --grace \"%s\"", optarg), 2;
			break;
		}
		case 'u':
			if (parse_uint64(optarg, 1, 0xfffffffeU, &v) < 0)
				return log_error("invalid --uid \"%s\" (not root)", optarg), 2;
			p.uid = (uid_t)v;
			break;
		case 'G':
			if (parse_uint64(optarg, 1, 0xfffffffeU, &v) < 0)
				return log_error("invalid --gid \"%s\" (not root)", optarg), 2;
			p.gid = (gid_t)v;
			break;
		case 'r': p.run_dir = optarg; break;
		case 'i': interactive = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!p.stack || optind >= argc) {
		usage(stderr);
		return 2;
	}
	const struct dyno_size *sz = dyno_size_find(size);
	if (!sz)
		return log_error("unknown dyno size \"%s\"", size), 2;
	p.limits = sz->limits;
	if (memory) {
		p.limits.memory_bytes = memory;
		p.limits.memory_kill_bytes = 2 * memory;
	}
	if (pids)
		p.limits.pids_max = pids;
	if (!p.id) {
		snprintf(id_buf, sizeof(id_buf), "exec-%d", (int)getpid());
		p.id = id_buf;
	}
	if (!p.dyno_name) {
		snprintf(name_buf, sizeof(name_buf), "run.%d", (int)getpid() % 10000);
		p.dyno_name = name_buf;
	}
	p.argv = (const char *const *)argv + optind;
	p.env = env;
	if (interactive)
		p.stdin_fd = STDIN_FILENO;

	/* Signals become events: the first one stops the dyno with its grace, a second kills. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		return log_error_errno(errno, "sigprocmask: %m"), 125;
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd == -1)
		return log_error_errno(errno, "signalfd: %m"), 125;
	signal(SIGPIPE, SIG_IGN);

	if (p.net == DYNO_NET_CALLBACK) {
		net_cfg.error = net_error;
		net_cfg.error_size = sizeof(net_error);
		int r = netns_open(&net_cfg, &net_ctx);
		if (r < 0) {
			log_error_errno(r, "the dyno network (bridge \"%s\"): %m%s%s",
					net_cfg.bridge ? net_cfg.bridge : "dyno0",
					*net_error ? ": " : "", net_error);
			return 125;
		}
		na.ctx = net_ctx;
		p.net_fn = net_attach_cb;
		p.net_userdata = &na;
	}

	struct dyno_status st;
	{
		_cleanup_dyno_ struct dyno *d = NULL;
		struct dyno_error e = {};
		int r = dyno_spawn(&p, &d, &e);
		if (r < 0) {
			if (na.attached)
				(void)netns_detach(net_ctx, p.id);
			log_error_errno(r, "starting dyno \"%s\" failed at step %s: %m", p.id,
					dyno_step_to_string(e.step));
			return 125;
		}
		/* Leftovers of `dyno exec`s that were SIGKILLed: gone now, while this dyno runs. */
		(void)dyno_reconcile_oneshot(p.run_dir, NULL, net_ctx ? release_lease : NULL, net_ctx);
		if (na.attached && !quiet) {
			char addr[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &na.lease.addr, addr, sizeof(addr));
			log_info("dyno \"%s\" at %s on %s", p.id, addr, na.lease.host_ifname);
		}
		int grace_ms = (int)(grace_s * 1000.0);
		r = run(d, grace_ms, sfd);
		dyno_get_status(d, &st);
		d = dyno_free(d); /* the netns goes with the dyno; then the veth and lease */
		if (na.attached) {
			int rr = netns_detach(net_ctx, p.id);
			if (rr < 0)
				log_warning_errno(rr, "releasing the network of \"%s\": %m", p.id);
		}
		if (r < 0)
			return 125;
	}
	if (!quiet) {
		if (st.error.step != DYNO_STEP_NONE)
			log_error_errno(st.error.error, "dyno \"%s\": step %s failed: %m", p.id,
					dyno_step_to_string(st.error.step));
		if (st.oom_killed)
			log_error("dyno \"%s\": Error R15 (Memory quota vastly exceeded): %" PRIu64
				  " process(es) killed",
				  p.id, st.cgroup.oom_kills);
		else if (st.over_quota)
			log_warning("dyno \"%s\": Error R14 (Memory quota exceeded)", p.id);
		if (st.killed_after_grace)
			log_error("dyno \"%s\": Error R12 (Exit timeout): SIGKILL after %.3gs",
				  p.id, grace_s);
		if (st.lines_dropped)
			log_warning("dyno \"%s\": %" PRIu64 " output line(s) dropped", p.id,
				    st.lines_dropped);
	}
	if (st.signal)
		return 128 + st.signal;
	return st.exit_code >= 0 ? st.exit_code : 125;
}
