# bench/: rules for this part (see the top-level Makefile.am).

# bench/netns: dynohost's per-dyno network setup against the CNI bridge plugin.
noinst_PROGRAMS += bench/netns-bench
bench_netns_bench_SOURCES = bench/netns-bench.c
bench_netns_bench_LDADD = $(NETNS_LIBS)
EXTRA_DIST += bench/netns

# bench/router, bench/balance: dyno-router against nginx and HAProxy; p2c against random.
EXTRA_DIST += bench/router bench/balance bench/router-loadgen.py

# bench/slug-import: `dyno slug import` against GNU tar -xzf of the same Ruby-app-like slug.
EXTRA_DIST += bench/slug-import

# bench/dyno-start: `dyno exec` against bwrap and runc; bench/dyno-spawn is the launcher alone.
noinst_PROGRAMS += bench/dyno-spawn
bench_dyno_spawn_SOURCES = bench/dyno-spawn.c
# Linked as `dyno` is (a static PIE without sanitizers), so the two compare like for like.
bench_dyno_spawn_LDFLAGS = $(AM_LDFLAGS) $(DYNO_LDFLAGS)
bench_dyno_spawn_LDADD = $(DYNORUNTIME_LIBS)
EXTRA_DIST += bench/dyno-start

# bench/http-parse: the HTTP/1.1 request parser against Node's http_parser (libhttp-parser-dev).
EXTRA_DIST += bench/http-parse bench/http-parse-main.c
