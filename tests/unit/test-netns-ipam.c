/* Unit tests for netns/'s address management: subnet parsing, dyno ids, next-fit allocation,
 * exhaustion, release, the on-disk form (round trip, damage) and save/load in a directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "netns/netns-ipam.h"
#include "tests/lib/tap.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		tap_bail("bad address %s", s);
	return ntohl(a.s_addr);
}

static void test_subnet(void)
{
	struct netns_subnet s;

	is_int(netns_subnet_parse("172.30.0.0/16", &s), 0, "172.30.0.0/16 parses");
	ok(s.net == ip("172.30.0.0") && s.prefixlen == 16, "network and prefix");
	ok(s.gw == ip("172.30.0.1"), "gateway is .1");
	ok(s.first == ip("172.30.0.2") && s.last == ip("172.30.255.254"), "range .2 .. .255.254");
	is_int(netns_subnet_parse("10.1.2.3/24", &s), 0, "host bits are accepted");
	ok(s.net == ip("10.1.2.0"), "and masked off");
	is_int(netns_subnet_parse("10.0.0.0/31", &s), -EINVAL, "/31 leaves no dyno address");
	is_int(netns_subnet_parse("10.0.0.0/7", &s), -EINVAL, "/7 is too large");
	is_int(netns_subnet_parse("10.0.0.0", &s), -EINVAL, "a prefix length is required");
	is_int(netns_subnet_parse("10.0.0.0/16x", &s), -EINVAL, "trailing junk");
	is_int(netns_subnet_parse("10.0.0.256/16", &s), -EINVAL, "bad octet");
	is_int(netns_subnet_parse("", &s), -EINVAL, "empty");
}

static void test_ids(void)
{
	char long_id[NETNS_ID_MAX + 2];

	ok(netns_id_valid("web.1"), "web.1 is a dyno id");
	ok(netns_id_valid("myapp:run.4821"), "app:run.N is a dyno id");
	ok(!netns_id_valid(""), "empty id");
	ok(!netns_id_valid("a b"), "no spaces (the file is space-separated)");
	ok(!netns_id_valid("a\nlease 1.2.3.4 x"), "no newlines (no injected lines)");
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	ok(!netns_id_valid(long_id), "longer than NETNS_ID_MAX");
	long_id[NETNS_ID_MAX] = '\0';
	ok(netns_id_valid(long_id), "exactly NETNS_ID_MAX");
}

static void test_alloc(void)
{
	struct netns_subnet s;
	struct netns_ipam ipam;
	uint32_t a, b, c;
	bool created;

	netns_subnet_parse("10.9.0.0/29", &s); /* .2 .. .6: five dyno addresses */
	netns_ipam_init(&ipam, &s);
	is_int(netns_ipam_alloc(&ipam, "web.1", &a, &created), 0, "first allocation");
	ok(a == ip("10.9.0.2") && created, "is .2, new");
	is_int(netns_ipam_alloc(&ipam, "web.1", &b, &created), 0, "same id again");
	ok(b == a && !created, "gets its own lease back, not a new one");
	netns_ipam_alloc(&ipam, "web.2", &b, &created);
	ok(b == ip("10.9.0.3"), "next id gets .3");
	is_int(netns_ipam_release(&ipam, "web.1", &c), 0, "release web.1");
	ok(c == a, "released its address");
	is_int(netns_ipam_release(&ipam, "web.1", NULL), -ENOENT, "second release: -ENOENT");
	netns_ipam_alloc(&ipam, "web.3", &c, &created);
	ok(c == ip("10.9.0.4"), "next fit: a freed address rests, .4 comes next");
	netns_ipam_alloc(&ipam, "web.4", &c, &created);
	netns_ipam_alloc(&ipam, "web.5", &c, &created);
	ok(c == ip("10.9.0.6"), ".6 is the last");
	is_int(netns_ipam_alloc(&ipam, "web.6", &c, &created), 0, "wraps around");
	ok(c == ip("10.9.0.2"), "to the freed .2");
	is_int(netns_ipam_alloc(&ipam, "web.7", &c, &created), -EADDRNOTAVAIL, "full subnet");
	is_int(netns_ipam_alloc(&ipam, "bad id", &c, &created), -EINVAL, "invalid id refused");

	/* Every address once. */
	bool dup = false;
	for (size_t i = 0; i < ipam.n_leases; i++)
		for (size_t j = i + 1; j < ipam.n_leases; j++)
			dup |= ipam.leases[i].addr == ipam.leases[j].addr;
	ok(!dup && ipam.n_leases == 5, "five leases, no address twice");
	netns_ipam_done(&ipam);
}

static void test_text(void)
{
	struct netns_subnet s;
	struct netns_ipam ipam, back;
	_cleanup_free_ char *text = NULL, *text2 = NULL;
	uint32_t a;
	bool created;

	netns_subnet_parse("172.30.0.0/16", &s);
	netns_ipam_init(&ipam, &s);
	netns_ipam_alloc(&ipam, "web.1", &a, &created);
	netns_ipam_alloc(&ipam, "worker.1", &a, &created);
	is_int(netns_ipam_format(&ipam, &text), 0, "format");
	netns_ipam_init(&back, &s);
	is_int(netns_ipam_parse(&back, text), 0, "parse it back");
	netns_ipam_format(&back, &text2);
	is_str(text2, text, "round trip is exact (leases and next)");

	is_int(netns_ipam_parse(&back,
				"garbage\n"
				"lease 172.30.0.9 web.9\n"
				"lease 172.30.0.9 web.10\n"   /* same address: first line wins */
				"lease 172.30.0.11 web.9\n"   /* same id: first line wins */
				"lease 999.1.1.1 web.11\n"    /* bad address */
				"lease 172.30.0.12\n"         /* no id */
				"next 10.0.0.1\n"             /* outside the subnet: ignored */
				"lease 10.1.0.5 old.1\n"),    /* another subnet: kept for reconcile */
	       0, "a damaged file parses");
	is_int(back.n_leases, 2, "only the sound, unambiguous leases are kept");
	ok(netns_ipam_find(&back, "web.9") && netns_ipam_find(&back, "web.9")->addr == ip("172.30.0.9"),
	   "web.9 keeps .9");
	ok(netns_ipam_find_addr(&back, ip("10.1.0.5")) != NULL, "out-of-subnet lease kept");
	ok(!netns_ipam_find(&back, "web.10"), "second owner of .9 dropped");
	ok(back.next == s.first, "bad next ignored");
	netns_ipam_alloc(&back, "new.1", &a, &created);
	ok(a == ip("172.30.0.2"), "allocation skips nothing it need not");
	netns_ipam_done(&back);
	netns_ipam_done(&ipam);
}

static void test_disk(void)
{
	char dir[] = "/tmp/test-netns-ipam-XXXXXX";
	struct netns_subnet s;
	struct netns_ipam ipam, back;
	uint32_t a;
	bool created;

	if (!mkdtemp(dir))
		tap_bail("mkdtemp: %m");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	netns_subnet_parse("172.30.0.0/16", &s);
	netns_ipam_init(&ipam, &s);
	netns_ipam_init(&back, &s);
	is_int(netns_ipam_load(dfd, &back), 0, "a missing file loads as empty");
	is_int(back.n_leases, 0, "empty");
	netns_ipam_alloc(&ipam, "web.1", &a, &created);
	is_int(netns_ipam_save(dfd, &ipam), 0, "first save (rename)");
	netns_ipam_alloc(&ipam, "web.2", &a, &created);
	is_int(netns_ipam_save(dfd, &ipam), 0, "second save (exchange)");
	netns_ipam_alloc(&ipam, "web.3", &a, &created);
	is_int(netns_ipam_save(dfd, &ipam), 0, "third save (over the old leases.new)");
	is_int(netns_ipam_load(dfd, &back), 0, "load");
	is_int(back.n_leases, 3, "three leases on disk");
	ok(back.next == ip("172.30.0.5"), "and the cursor");
	netns_ipam_done(&back);
	netns_ipam_done(&ipam);
	rm_rf(dir);
}

int main(void)
{
	test_subnet();
	test_ids();
	test_alloc();
	test_text();
	test_disk();
	return tap_done();
}
