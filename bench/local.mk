# bench/: rules for this part (see the top-level Makefile.am).

# bench/netns: dynohost's per-dyno network setup against the CNI bridge plugin.
noinst_PROGRAMS += bench/netns-bench
bench_netns_bench_SOURCES = bench/netns-bench.c
bench_netns_bench_LDADD = $(NETNS_LIBS)
EXTRA_DIST += bench/netns

# bench/router, bench/balance: dyno-router against nginx and HAProxy; p2c against random.
EXTRA_DIST += bench/router bench/balance bench/router-loadgen.py
