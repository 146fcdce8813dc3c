/* IP address management: a lease table keyed by dyno id, next-fit allocation over the
 * subnet, and its on-disk text form ("leases" in the state dir), replaced atomically. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns-ipam.h"

#define LEASES_FILE "leases"
#define LEASES_NEW "leases.new"
#define LEASES_MAX (16u << 20)

int netns_subnet_parse(const char *s, struct netns_subnet *ret)
{
	char buf[INET_ADDRSTRLEN + 4];
	struct in_addr a;
	char *slash, *end;
	unsigned long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len < 8 || len > 30)
		return -EINVAL;

	uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
	uint32_t net = ntohl(a.s_addr) & mask;
	*ret = (struct netns_subnet){
		.net = net,
		.prefixlen = (uint8_t)len,
		.gw = net + 1,
		.first = net + 2,
		.last = (net | ~mask) - 1,
	};
	return 0;
}

bool netns_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++)
		if (id[n] <= ' ' || id[n] > '~')
			return false;
	return n > 0 && n <= NETNS_ID_MAX;
}

void netns_ipam_init(struct netns_ipam *ipam, const struct netns_subnet *subnet)
{
	*ipam = (struct netns_ipam){ .subnet = *subnet, .next = subnet->first };
}

static void ipam_clear(struct netns_ipam *ipam)
{
	for (size_t i = 0; i < ipam->n_leases; i++)
		free(ipam->leases[i].id);
	ipam->n_leases = 0;
}

void netns_ipam_done(struct netns_ipam *ipam)
{
	ipam_clear(ipam);
	free(ipam->leases);
	ipam->leases = NULL;
	ipam->cap = 0;
}

static bool in_range(const struct netns_ipam *ipam, uint32_t addr)
{
	return addr >= ipam->subnet.first && addr <= ipam->subnet.last;
}

static int ipam_add(struct netns_ipam *ipam, uint32_t addr, const char *id)
{
	if (ARRAY_GROW(ipam->leases, ipam->cap, ipam->n_leases, 16) < 0)
		return -ENOMEM;
	char *copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	ipam->leases[ipam->n_leases++] = (struct netns_ipam_lease){ .addr = addr, .id = copy };
	return 0;
}

struct netns_ipam_lease *netns_ipam_find(struct netns_ipam *ipam, const char *id)
{
	for (size_t i = 0; i < ipam->n_leases; i++)
		if (strcmp(ipam->leases[i].id, id) == 0)
			return &ipam->leases[i];
	return NULL;
}

struct netns_ipam_lease *netns_ipam_find_addr(struct netns_ipam *ipam, uint32_t addr)
{
	for (size_t i = 0; i < ipam->n_leases; i++)
		if (ipam->leases[i].addr == addr)
			return &ipam->leases[i];
	return NULL;
}

static int parse_addr(const char *s, uint32_t *ret)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret = ntohl(a.s_addr);
	return 0;
}

int netns_ipam_parse(struct netns_ipam *ipam, const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	ipam_clear(ipam);
	ipam->next = ipam->subnet.first;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kw[8], a[INET_ADDRSTRLEN], id[NETNS_ID_MAX + 1];
		uint32_t addr;
		int n;

		if (line[0] == '#')
			continue;
		n = sscanf(line, "%7s %15s %255s", kw, a, id);
		if (n < 2 || parse_addr(a, &addr) < 0)
			continue;
		if (n == 2 && strcmp(kw, "next") == 0) {
			if (in_range(ipam, addr))
				ipam->next = addr;
			continue;
		}
		/* A lease outside the subnet (the subnet was changed) is kept: its dyno may still
		 * hold the address until it is detached or reconciled away. */
		if (n != 3 || strcmp(kw, "lease") != 0 || !netns_id_valid(id))
			continue;
		if (netns_ipam_find(ipam, id) || netns_ipam_find_addr(ipam, addr))
			continue; /* never two owners: the first line wins */
		r = ipam_add(ipam, addr, id);
		if (r < 0)
			return r;
	}
	return 0;
}

int netns_ipam_format(const struct netns_ipam *ipam, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	char a[INET_ADDRSTRLEN];
	struct in_addr in;

	if (!f)
		return -ENOMEM;
	in.s_addr = htonl(ipam->next);
	inet_ntop(AF_INET, &in, a, sizeof(a));
	fprintf(f, "# dynohost netns leases: lease ADDRESS DYNO-ID\nnext %s\n", a);
	for (size_t i = 0; i < ipam->n_leases; i++) {
		in.s_addr = htonl(ipam->leases[i].addr);
		inet_ntop(AF_INET, &in, a, sizeof(a));
		fprintf(f, "lease %s %s\n", a, ipam->leases[i].id);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}

int netns_ipam_alloc(struct netns_ipam *ipam, const char *id, uint32_t *ret_addr, bool *ret_new)
{
	const struct netns_subnet *s = &ipam->subnet;
	struct netns_ipam_lease *l;
	uint32_t size, start;
	int r;

	if (!netns_id_valid(id))
		return -EINVAL;
	l = netns_ipam_find(ipam, id);
	if (l) {
		*ret_addr = l->addr;
		*ret_new = false;
		return 0;
	}

	/* One bit per address of the range: marking the leases and scanning is linear, however
	 * full the subnet is (a /16 is 8 KiB). */
	size = s->last - s->first + 1;
	_cleanup_free_ uint64_t *used = calloc((size + 63) / 64, sizeof(uint64_t));
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < ipam->n_leases; i++)
		if (in_range(ipam, ipam->leases[i].addr)) {
			uint32_t o = ipam->leases[i].addr - s->first;
			used[o / 64] |= UINT64_C(1) << (o % 64);
		}
	start = in_range(ipam, ipam->next) ? ipam->next - s->first : 0;
	for (uint32_t k = 0; k < size; k++) {
		uint32_t o = (start + k) % size;
		if (used[o / 64] & (UINT64_C(1) << (o % 64)))
			continue;
		r = ipam_add(ipam, s->first + o, id);
		if (r < 0)
			return r;
		ipam->next = s->first + (o + 1) % size;
		*ret_addr = s->first + o;
		*ret_new = true;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

int netns_ipam_release(struct netns_ipam *ipam, const char *id, uint32_t *ret_addr)
{
	struct netns_ipam_lease *l = netns_ipam_find(ipam, id);

	if (!l)
		return -ENOENT;
	if (ret_addr)
		*ret_addr = l->addr;
	free(l->id);
	*l = ipam->leases[--ipam->n_leases];
	return 0;
}

int netns_ipam_load(int dirfd, struct netns_ipam *ipam)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = read_file_at(dirfd, LEASES_FILE, LEASES_MAX, &text, NULL);
	if (r == -ENOENT) {
		ipam_clear(ipam);
		ipam->next = ipam->subnet.first;
		return 0;
	}
	if (r < 0)
		return r;
	return netns_ipam_parse(ipam, text);
}

int netns_ipam_save(int dirfd, const struct netns_ipam *ipam)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	r = netns_ipam_format(ipam, &text);
	if (r < 0)
		return r;
	/* A fresh inode each time (never O_TRUNC an old one) and an exchange rather than a
	 * rename over the old file: ext4 flushes data on both "replace" patterns (auto_da_alloc),
	 * which costs ~1.5 ms per save on this class of disk; the exchange costs ~0.1 ms and is
	 * just as atomic. leases.new then holds the previous table until the next save. */
	if (unlinkat(dirfd, LEASES_NEW, 0) == -1 && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, LEASES_NEW, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		return -errno;
	r = fd_write_all(fd, text, strlen(text));
	if (r < 0)
		goto fail;
	/* No fsync, on purpose: a lease only matters while its dyno runs. A crash of the process
	 * keeps the page cache, and the exchange makes the replacement atomic; a power loss or
	 * reboot kills every dyno, so whatever the file then holds is released by the reconcile
	 * at start. Two fsyncs (file and directory) would cost ~3 ms per attach here. */
	if (renameat2(dirfd, LEASES_NEW, dirfd, LEASES_FILE, RENAME_EXCHANGE) == -1) {
		if (errno != ENOENT && errno != EINVAL) {
			r = -errno;
			goto fail;
		}
		/* No table yet, or a file system without exchange. */
		if (renameat(dirfd, LEASES_NEW, dirfd, LEASES_FILE) == -1) {
			r = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	(void)unlinkat(dirfd, LEASES_NEW, 0);
	return r;
}

int netns_ipam_lock(int lockfd)
{
	while (flock(lockfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void netns_ipam_unlock(int lockfd)
{
	(void)flock(lockfd, LOCK_UN);
}
