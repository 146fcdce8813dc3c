# netns/: a network per dyno (bridge, veth, IPAM, nftables) and its admin tool dyno-net.
noinst_LIBRARIES += libnetns.a
libnetns_a_SOURCES = \
	netns/netns.h netns/netns.c \
	netns/netns-internal.h \
	netns/netns-ipam.h netns/netns-ipam.c \
	netns/netns-link.c \
	netns/netns-nft.c
libnetns_a_CFLAGS = $(AM_CFLAGS) $(NL_CFLAGS)
EXTRA_DIST += netns/README.md
# What a program linking libnetns.a adds to its LDADD.
# nftables is its command, run when the table is set up (netns/netns-nft.c says why).
NETNS_LIBS = libnetns.a libcommon.a $(NL_LIBS)

pkglibexec_PROGRAMS += dyno-net
dyno_net_SOURCES = netns/dyno-net.c
dyno_net_LDADD = $(NETNS_LIBS)

# Tests: unit (no root), and root scenarios on the real kernel inside fake hosts (netns).
check_PROGRAMS += tests/unit/test-netns-ipam tests/integration/netns-lifecycle \
	tests/integration/netns-probe
tests_unit_test_netns_ipam_LDADD = libtap.a $(NETNS_LIBS)
tests_integration_netns_lifecycle_LDADD = libtap.a $(NETNS_LIBS)
tests_integration_netns_probe_SOURCES = tests/integration/netns-probe.c
TESTS += tests/unit/test-netns-ipam tests/integration/netns-lifecycle \
	tests/integration/netns-reach.sh tests/integration/netns-host.sh

# The launcher calling netns (DYNO_NET_CALLBACK + netns_attach_cb), as dyno exec --net bridge.
check_PROGRAMS += tests/integration/netns-launcher
tests_integration_netns_launcher_LDADD = libtap.a $(DYNORUNTIME_LIBS) $(NETNS_LIBS)
TESTS += tests/integration/netns-launcher
EXTRA_DIST += tests/integration/netns-reach.sh tests/integration/netns-host.sh
