/* Test helper for the netns scenarios: a TCP/UDP server that tells each client the address it
 * sees it from, and a client that prints that answer or the errno name of its failure.
 *   netns-probe listen ADDR PORT [udp]   serve in the background; prints the server's pid
 *   netns-probe connect ADDR PORT [udp] [TIMEOUT_MS]
 *                                         prints "peer A.B.C.D" (exit 0) or "ECONNREFUSED"... */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"

static const char *errname(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	default:
		return strerror(e);
	}
}

static int parse_sa(const char *addr, const char *port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static void serve(int fd, bool udp)
{
	char a[INET_ADDRSTRLEN], line[64], buf[512];
	struct sockaddr_in peer;
	socklen_t len;

	for (;;) {
		len = sizeof(peer);
		if (udp) {
			if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len) == -1)
				continue;
			inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
			int n = snprintf(line, sizeof(line), "peer %s\n", a);
			(void)sendto(fd, line, (size_t)n, 0, (struct sockaddr *)&peer, len);
			continue;
		}
		int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (c == -1)
			continue;
		inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
		int n = snprintf(line, sizeof(line), "peer %s\n", a);
		(void)!write(c, line, (size_t)n);
		close(c);
	}
}

static int do_listen(const char *addr, const char *port, bool udp)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd == -1 || parse_sa(addr, port, &sa) < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || (!udp && listen(fd, 64) == -1)) {
		fprintf(stderr, "netns-probe: bind %s:%s: %s\n", addr, port, strerror(errno));
		return 1;
	}
	/* Listening before the parent returns: the caller may connect at once. */
	pid_t pid = fork();
	if (pid == -1)
		return 1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		setsid();
		serve(fd, udp);
		_exit(0);
	}
	printf("%d\n", (int)pid);
	return 0;
}

static int do_connect(const char *addr, const char *port, bool udp, int timeout_ms)
{
	struct sockaddr_in sa;
	struct pollfd p;
	char buf[128];
	int err = 0;
	socklen_t len = sizeof(err);
	_cleanup_close_ int fd =
		socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd == -1 || parse_sa(addr, port, &sa) < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno != EINPROGRESS) {
		printf("%s\n", errname(errno));
		return 1;
	}
	if (udp) {
		if (send(fd, "?", 1, 0) == -1) {
			printf("%s\n", errname(errno));
			return 1;
		}
	} else {
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, timeout_ms) == 0) {
			printf("ETIMEDOUT\n");
			return 1;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			printf("%s\n", errname(err));
			return 1;
		}
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) == 0) {
		printf("ETIMEDOUT\n");
		return 1;
	}
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		printf("%s\n", n == 0 ? "EOF" : errname(errno));
		return 1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	bool udp = argc > 4 && strcmp(argv[4], "udp") == 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && strcmp(argv[1], "listen") == 0)
		return do_listen(argv[2], argv[3], udp);
	if (argc >= 4 && strcmp(argv[1], "connect") == 0) {
		int t = 5000;
		if (argc > 4 + udp)
			t = atoi(argv[4 + udp]);
		return do_connect(argv[2], argv[3], udp, t);
	}
	fprintf(stderr, "usage: netns-probe listen|connect ADDR PORT [udp] [TIMEOUT_MS]\n");
	return 2;
}
