/* IP address management for dynos: an in-memory lease table, its text form on disk, and the
 * flock that serialises read-modify-write cycles between processes. Internal to netns/. */
#ifndef DYNOHOST_NETNS_IPAM_H
#define DYNOHOST_NETNS_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETNS_ID_MAX 255 /* longest dyno id we store */

struct netns_subnet {
	uint32_t net;  /* network address, host byte order */
	uint8_t prefixlen;
	uint32_t gw;    /* net + 1: the bridge's address */
	uint32_t first; /* first address handed to dynos (net + 2) */
	uint32_t last;  /* last one (broadcast - 1) */
};

struct netns_ipam_lease {
	uint32_t addr; /* host byte order */
	char *id;
};

struct netns_ipam {
	struct netns_subnet subnet;
	uint32_t next; /* where the next search starts (next fit, so a freed address rests) */
	struct netns_ipam_lease *leases;
	size_t n_leases, cap;
};

/* Parse "a.b.c.d/len" (8 <= len <= 30; host bits are masked off). 0 or -EINVAL. */
int netns_subnet_parse(const char *s, struct netns_subnet *ret);
/* Whether id is a valid dyno id: 1..NETNS_ID_MAX printable, non-space ASCII characters. */
bool netns_id_valid(const char *id);

void netns_ipam_init(struct netns_ipam *ipam, const struct netns_subnet *subnet);
void netns_ipam_done(struct netns_ipam *ipam);

/* Replace the table with the leases in text (the on-disk form). Malformed lines are skipped:
 * the file is only ever replaced whole, so they can only come from outside damage, and the
 * reconcile at start releases what no live dyno owns anyway. 0 or -ENOMEM. */
int netns_ipam_parse(struct netns_ipam *ipam, const char *text);
/* The on-disk form, malloc'd. 0 or -ENOMEM. */
int netns_ipam_format(const struct netns_ipam *ipam, char **ret);

/* The lease of id, or NULL. */
struct netns_ipam_lease *netns_ipam_find(struct netns_ipam *ipam, const char *id);
/* The lease holding addr, or NULL. */
struct netns_ipam_lease *netns_ipam_find_addr(struct netns_ipam *ipam, uint32_t addr);
/* Give id an address: its existing lease if it has one (*ret_new = false), else the next free
 * address in the subnet (*ret_new = true). -EADDRNOTAVAIL when the subnet is full. */
int netns_ipam_alloc(struct netns_ipam *ipam, const char *id, uint32_t *ret_addr, bool *ret_new);
/* Drop id's lease; its address in *ret_addr. -ENOENT when id has none. */
int netns_ipam_release(struct netns_ipam *ipam, const char *id, uint32_t *ret_addr);

/* Load the table from dirfd/"leases" (a missing file is an empty table). 0 or -errno. */
int netns_ipam_load(int dirfd, struct netns_ipam *ipam);
/* Replace dirfd/"leases" atomically (leases.new + rename). 0 or -errno. */
int netns_ipam_save(int dirfd, const struct netns_ipam *ipam);
/* Take / drop the exclusive lock on the open lock file (flock, retried on EINTR). */
int netns_ipam_lock(int lockfd);
void netns_ipam_unlock(int lockfd);

#endif
