# netns/: a network per dyno (bridge, veth, IPAM, nftables) and its admin tool dyno-net.
noinst_LIBRARIES += libnetns.a
libnetns_a_SOURCES = \
	netns/netns.h netns/netns.c \
	netns/netns-internal.h \
	netns/netns-ipam.h netns/netns-ipam.c \
	netns/netns-link.c \
	netns/netns-nft.c
libnetns_a_CFLAGS = $(AM_CFLAGS) $(NL_CFLAGS) $(NFTABLES_CFLAGS)
# What a program linking libnetns.a adds to its LDADD.
NETNS_LIBS = libnetns.a libcommon.a $(NL_LIBS) $(NFTABLES_LIBS)

pkglibexec_PROGRAMS += dyno-net
dyno_net_SOURCES = netns/dyno-net.c
dyno_net_LDADD = $(NETNS_LIBS)
