/* dyno-router: options, listening sockets, privilege drop, worker threads, and the main
 * thread's loop over signals, the watched route file and the route stream. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/parse.h"
#include "router/loader.h"
#include "router/proxy.h"

struct options {
	struct router_config cfg;
	const char *listen;
	int listen_fd;
	const char *routes;
	int routes_fd;
	const char *user;
	const char *request_log;
	const char *log_socket;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: dyno-router [OPTIONS]\n"
	        "HTTP/1.1 router for dynohost: Host -> app -> one of its web dynos.\n\n"
	        "  --listen ADDR:PORT        listen here (default 0.0.0.0:8080; [::]:80 for IPv6)\n"
	        "  --listen-fd N             serve the listening socket inherited as fd N\n"
	        "  --workers N               worker threads, one io_uring each (default 1)\n"
	        "  --routes FILE             route table (JSON), watched and reloaded on change\n"
	        "  --routes-fd N             read newline-delimited route tables from fd N\n"
	        "  --balance p2c|random|rr   dyno choice (default p2c: least loaded of two)\n"
	        "  --connect-timeout T       H19 (default 5s)\n"
	        "  --request-timeout T       time to first response byte, H12 (default 30s)\n"
	        "  --idle-timeout T          rolling idle window, H15/H28 (default 55s)\n"
	        "  --keepalive-timeout T     client keep-alive between requests (default 55s)\n"
	        "  --pool-idle-timeout T     idle connections to dynos (default 90s)\n"
	        "  --boot-timeout T          wait for a booting dyno, then H20 (default 75s)\n"
	        "  --drain-timeout T         graceful stop bound (default 30s)\n"
	        "  --pool-max N              idle connections per dyno per worker (default 64)\n"
	        "  --buffers N               receive buffers per worker (default 1024)\n"
	        "  --buffer-size BYTES       receive buffer size (default 16384)\n"
	        "  --forwarded-proto P       X-Forwarded-Proto value (default http)\n"
	        "  --request-log stdout|none|FILE   one line per request (default stdout)\n"
	        "  --log-socket PATH         also send \"<app> <line>\" datagrams to this socket\n"
	        "  --user NAME               drop to this user after opening sockets\n"
	        "  --log-level LEVEL         error, warning, notice, info, debug\n"
	        "Times take a unit: 250ms, 5s, 2m (a bare number is seconds).\n");
}

/* "250ms", "5s", "2m", "5" (seconds) → milliseconds. */
static int parse_duration(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	uint64_t mul;
	if (*end == 0 || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else
		return -EINVAL;
	*ret = v * mul;
	return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	uint64_t v;
	int r = parse_uint64(s, min, max, &v);
	if (r < 0)
		return r;
	*ret = (unsigned)v;
	return 0;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	unsigned port;
	if (parse_uint(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	if (hl == 0)
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -EINVAL;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*len = sizeof(*a);
	return 0;
}

static int open_listener(const struct sockaddr_storage *ss, socklen_t len, bool reuseport)
{
	_cleanup_close_ int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		return -errno;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		return -errno;
	if (bind(fd, (const struct sockaddr *)ss, len) == -1)
		return -errno;
	if (listen(fd, 4096) == -1)
		return -errno;
	return TAKE_FD(fd);
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return -ESRCH;
	if (setgroups(0, NULL) == -1)
		return -errno;
	if (setgid(pw->pw_gid) == -1)
		return -errno;
	if (setuid(pw->pw_uid) == -1)
		return -errno;
	if (setuid(0) == 0)
		return -EPERM; /* must not be able to regain root */
	return 0;
}

enum {
	OPT_LISTEN = 256,
	OPT_LISTEN_FD,
	OPT_WORKERS,
	OPT_ROUTES,
	OPT_ROUTES_FD,
	OPT_BALANCE,
	OPT_CONNECT_TIMEOUT,
	OPT_REQUEST_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_KEEPALIVE_TIMEOUT,
	OPT_POOL_IDLE_TIMEOUT,
	OPT_BOOT_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
	OPT_POOL_MAX,
	OPT_BUFFERS,
	OPT_BUFFER_SIZE,
	OPT_FORWARDED_PROTO,
	OPT_REQUEST_LOG,
	OPT_LOG_SOCKET,
	OPT_USER,
	OPT_LOG_LEVEL,
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"listen", required_argument, NULL, OPT_LISTEN},
	        {"listen-fd", required_argument, NULL, OPT_LISTEN_FD},
	        {"workers", required_argument, NULL, OPT_WORKERS},
	        {"routes", required_argument, NULL, OPT_ROUTES},
	        {"routes-fd", required_argument, NULL, OPT_ROUTES_FD},
	        {"balance", required_argument, NULL, OPT_BALANCE},
	        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	        {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	        {"keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE_TIMEOUT},
	        {"pool-idle-timeout", required_argument, NULL, OPT_POOL_IDLE_TIMEOUT},
	        {"boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT},
	        {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	        {"pool-max", required_argument, NULL, OPT_POOL_MAX},
	        {"buffers", required_argument, NULL, OPT_BUFFERS},
	        {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
	        {"forwarded-proto", required_argument, NULL, OPT_FORWARDED_PROTO},
	        {"request-log", required_argument, NULL, OPT_REQUEST_LOG},
	        {"log-socket", required_argument, NULL, OPT_LOG_SOCKET},
	        {"user", required_argument, NULL, OPT_USER},
	        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	        {},
	};
	struct router_config *c = &o->cfg;
	int opt, r = 0;
	unsigned u;

	int idx = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		uint64_t *dur = NULL;
		switch (opt) {
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_LISTEN_FD:
			r = parse_uint(optarg, 0, 1u << 30, &u);
			o->listen_fd = (int)u;
			break;
		case OPT_WORKERS:
			r = parse_uint(optarg, 1, 256, &c->workers);
			break;
		case OPT_ROUTES:
			o->routes = optarg;
			break;
		case OPT_ROUTES_FD:
			r = parse_uint(optarg, 0, 1u << 30, &u);
			o->routes_fd = (int)u;
			break;
		case OPT_BALANCE:
			r = router_balance_from_string(optarg);
			if (r >= 0)
				c->balance = (enum router_balance)r;
			break;
		case OPT_CONNECT_TIMEOUT:
			dur = &c->connect_timeout;
			break;
		case OPT_REQUEST_TIMEOUT:
			dur = &c->first_byte_timeout;
			break;
		case OPT_IDLE_TIMEOUT:
			dur = &c->idle_timeout;
			break;
		case OPT_KEEPALIVE_TIMEOUT:
			dur = &c->keepalive_timeout;
			break;
		case OPT_POOL_IDLE_TIMEOUT:
			dur = &c->pool_idle_timeout;
			break;
		case OPT_BOOT_TIMEOUT:
			dur = &c->boot_timeout;
			break;
		case OPT_DRAIN_TIMEOUT:
			dur = &c->drain_timeout;
			break;
		case OPT_POOL_MAX:
			r = parse_uint(optarg, 0, 100000, &c->pool_max);
			break;
		case OPT_BUFFERS:
			r = parse_uint(optarg, 8, 32768, &c->buffers);
			if (r >= 0 && (c->buffers & (c->buffers - 1)))
				r = -EINVAL; /* a buffer ring is a power of two */
			break;
		case OPT_BUFFER_SIZE:
			r = parse_uint(optarg, 1024, 1u << 20, &c->buffer_size);
			break;
		case OPT_FORWARDED_PROTO:
			c->forwarded_proto = optarg;
			break;
		case OPT_REQUEST_LOG:
			o->request_log = optarg;
			break;
		case OPT_LOG_SOCKET:
			o->log_socket = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_LOG_LEVEL:
			r = log_level_from_string(optarg);
			if (r >= 0)
				log_set_max_level((enum log_level)r);
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (dur)
			r = parse_duration(optarg, dur);
		if (r < 0)
			return log_error_errno(r, "bad value \"%s\" for --%s", optarg,
			                       longopts[idx].name);
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "unexpected argument \"%s\"", argv[optind]);
	if (o->listen && o->listen_fd >= 0)
		return log_error_errno(EINVAL, "--listen and --listen-fd exclude each other");
	return 0;
}

/* ---- the main thread ---- */

struct main_ctx {
	struct options *o;
	struct router_feed *feed;
	struct worker *workers;
	unsigned n_workers;
};

static void publish(struct main_ctx *m, struct router_table *t, const char *from)
{
	size_t n_dynos = t->n_dynos_total, n_apps = t->n_apps;
	router_feed_publish(m->feed, t);
	for (unsigned i = 0; i < m->n_workers; i++)
		worker_wake(&m->workers[i]);
	log_info("routes from %s: %zu apps, %zu dynos", from, n_apps, n_dynos);
}

static void reload_file(struct main_ctx *m)
{
	struct router_table *t = NULL;
	struct router_error err = {""};
	int r = router_load_file(m->o->routes, &t, &err);
	if (r == -EINVAL)
		log_warning("route file \"%s\" rejected, keeping the current table: %s",
		            m->o->routes, err.msg);
	else if (r < 0)
		log_warning_errno(r, "route file \"%s\": %m; keeping the current table",
		                  m->o->routes);
	else
		publish(m, t, m->o->routes);
}

static void on_stream_line(const char *line, size_t len, void *userdata)
{
	struct main_ctx *m = userdata;
	struct router_table *t = NULL;
	struct router_error err = {""};
	int r = router_table_parse(line, len, &t, &err);
	if (r < 0)
		log_warning("route stream: table rejected, keeping the current one: %s",
		            r == -EINVAL ? err.msg : strerror(-r));
	else
		publish(m, t, "stream");
}

static int main_loop(struct main_ctx *m, int sfd, int ifd, const char *watch_name)
{
	struct route_stream stream;
	route_stream_init(&stream);
	int routes_fd = m->o->routes_fd;
	int ret = 0;

	for (;;) {
		struct pollfd p[3] = {
		        {.fd = sfd, .events = POLLIN},
		        {.fd = ifd, .events = POLLIN},
		        {.fd = routes_fd, .events = POLLIN},
		};
		if (poll(p, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP && m->o->routes)
					reload_file(m);
				else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					log_info("stopping: draining requests in flight");
					break;
				}
			}
		}
		if (p[1].revents & POLLIN) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t n = read(ifd, buf, sizeof(buf));
			bool hit = false;
			for (char *q = buf; n > 0 && q < buf + n;) {
				struct inotify_event *ev = (struct inotify_event *)q;
				if (ev->len && strcmp(ev->name, watch_name) == 0)
					hit = true;
				q += sizeof(*ev) + ev->len;
			}
			if (hit)
				reload_file(m);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[65536];
			ssize_t n = read(routes_fd, buf, sizeof(buf));
			if (n > 0) {
				int r = route_stream_feed(&stream, buf, (size_t)n, on_stream_line,
				                          m);
				if (r < 0) {
					log_warning_errno(
					        r, "route stream: %m; dropping buffered bytes");
					route_stream_done(&stream);
				}
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* The writer went away: keep serving the last table. */
				log_warning("route stream closed; keeping the current table");
				routes_fd = -1;
			}
		}
	}
	route_stream_done(&stream);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o = {
	        .cfg =
	                {
	                        .workers = 1,
	                        .balance = ROUTER_BALANCE_P2C,
	                        .connect_timeout = 5000,
	                        .first_byte_timeout = 30000,
	                        .idle_timeout = 55000,
	                        .keepalive_timeout = 55000,
	                        .pool_idle_timeout = 90000,
	                        .boot_timeout = 75000,
	                        .drain_timeout = 30000,
	                        .pool_max = 64,
	                        .buffers = 1024,
	                        .buffer_size = 16384,
	                        .max_request_head = 64 * 1024,
	                        .max_response_head = 640 * 1024,
	                        .forwarded_proto = "http",
	                        .log_fd = STDOUT_FILENO,
	                        .log_socket = -1,
	                },
	        .listen_fd = -1,
	        .routes_fd = -1,
	};
	int r;

	log_set_ident("dyno-router");
	if (parse_options(argc, argv, &o) < 0)
		return EXIT_FAILURE;

	_cleanup_close_ int log_file = -1, log_sock = -1;
	if (o.request_log && strcmp(o.request_log, "none") == 0)
		o.cfg.log_fd = -1;
	else if (o.request_log && strcmp(o.request_log, "stdout") != 0) {
		log_file = open(o.request_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (log_file == -1)
			return log_error_errno(errno, "open request log \"%s\": %m", o.request_log),
			       EXIT_FAILURE;
		o.cfg.log_fd = log_file;
	}
	if (o.log_socket) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(o.log_socket) >= sizeof(sa.sun_path))
			return log_error("log socket path too long"), EXIT_FAILURE;
		strcpy(sa.sun_path, o.log_socket);
		log_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (log_sock == -1 || connect(log_sock, (struct sockaddr *)&sa, sizeof(sa)) == -1)
			return log_error_errno(errno, "connect to log socket \"%s\": %m",
			                       o.log_socket),
			       EXIT_FAILURE;
		o.cfg.log_socket = log_sock;
	}

	/* Signals arrive as events on the main thread; workers inherit the blocked mask. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return EXIT_FAILURE;
	sigdelset(&mask, SIGPIPE);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd == -1)
		return log_error_errno(errno, "signalfd: %m"), EXIT_FAILURE;

	/* Listening sockets: one per worker with SO_REUSEPORT, or the inherited one shared. */
	unsigned nw = o.cfg.workers;
	_cleanup_free_ int *lfds = calloc(nw, sizeof(int));
	if (!lfds)
		return EXIT_FAILURE;
	if (o.listen_fd >= 0) {
		int type = 0;
		socklen_t tl = sizeof(type);
		if (getsockopt(o.listen_fd, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 ||
		    type != SOCK_STREAM)
			return log_error_errno(errno ? errno : ENOTSOCK,
			                       "--listen-fd %d is not a stream socket",
			                       o.listen_fd),
			       EXIT_FAILURE;
		(void)fcntl(o.listen_fd, F_SETFD, FD_CLOEXEC);
		(void)listen(o.listen_fd, 4096); /* harmless if the parent already listens */
		for (unsigned i = 0; i < nw; i++)
			lfds[i] = o.listen_fd;
	} else {
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *addr = o.listen ? o.listen : "0.0.0.0:8080";
		if (parse_addr(addr, &ss, &sl) < 0)
			return log_error("bad --listen address \"%s\"", addr), EXIT_FAILURE;
		for (unsigned i = 0; i < nw; i++) {
			lfds[i] = open_listener(&ss, sl, nw > 1);
			if (lfds[i] < 0)
				return log_error_errno(lfds[i], "listen on %s: %m", addr),
				       EXIT_FAILURE;
		}
		log_info("listening on %s with %u worker%s", addr, nw, nw > 1 ? "s" : "");
	}

	struct router_feed feed;
	r = router_feed_init(&feed);
	if (r < 0)
		return log_error_errno(r, "route feed: %m"), EXIT_FAILURE;

	/* Watch the route file's directory: writers replace the file by rename. */
	_cleanup_close_ int ifd = -1;
	_cleanup_free_ char *dir_copy = NULL, *base_copy = NULL;
	if (o.routes) {
		dir_copy = strdup(o.routes);
		base_copy = strdup(o.routes);
		if (!dir_copy || !base_copy)
			return EXIT_FAILURE;
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ifd == -1 ||
		    inotify_add_watch(ifd, dirname(dir_copy), IN_CLOSE_WRITE | IN_MOVED_TO) == -1)
			return log_error_errno(errno, "watch \"%s\": %m", o.routes), EXIT_FAILURE;
		struct router_table *t = NULL;
		struct router_error err = {""};
		r = router_load_file(o.routes, &t, &err);
		if (r == -EINVAL)
			return log_error("route file \"%s\": %s", o.routes, err.msg), EXIT_FAILURE;
		if (r == -ENOENT)
			log_warning("route file \"%s\" does not exist yet; serving no apps",
			            o.routes);
		else if (r < 0)
			return log_error_errno(r, "route file \"%s\": %m", o.routes), EXIT_FAILURE;
		else
			router_feed_publish(&feed, t);
	}
	if (o.routes_fd >= 0)
		(void)fcntl(o.routes_fd, F_SETFD, FD_CLOEXEC);

	if (o.user) {
		r = drop_privileges(o.user);
		if (r < 0)
			return log_error_errno(r, "drop privileges to \"%s\": %m", o.user),
			       EXIT_FAILURE;
	}

	_cleanup_free_ struct worker *workers = calloc(nw, sizeof(*workers));
	if (!workers)
		return EXIT_FAILURE;
	for (unsigned i = 0; i < nw; i++) {
		r = worker_init(&workers[i], i, &o.cfg, &feed, lfds[i]);
		if (r < 0)
			return log_error_errno(r, "worker %u: %m", i), EXIT_FAILURE;
	}
	for (unsigned i = 0; i < nw; i++) {
		r = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (r != 0)
			return log_error_errno(r, "start worker %u: %m", i), EXIT_FAILURE;
	}

	struct main_ctx m = {.o = &o, .feed = &feed, .workers = workers, .n_workers = nw};
	r = main_loop(&m, sfd, ifd, base_copy ? basename(base_copy) : "");

	atomic_store(&feed.stopping, true);
	for (unsigned i = 0; i < nw; i++)
		worker_wake(&workers[i]);
	for (unsigned i = 0; i < nw; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned i = 0; i < nw; i++)
		worker_destroy(&workers[i]);
	if (o.listen_fd < 0)
		for (unsigned i = 0; i < nw; i++)
			safe_close(lfds[i]);
	router_feed_done(&feed);
	log_info("stopped");
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
