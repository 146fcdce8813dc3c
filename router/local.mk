# router/: dyno-router, the io_uring HTTP/1.1 router (see router/README.md).
noinst_LIBRARIES += librouter.a
librouter_a_SOURCES = \
	router/router.h router/proxy.h router/loader.h \
	router/routes.c router/balance.c router/codes.c router/loader.c \
	router/worker.c router/proxy.c router/headers.c
librouter_a_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JANSSON_CFLAGS)

bin_PROGRAMS += dyno-router
dyno_router_SOURCES = router/main.c
dyno_router_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JANSSON_CFLAGS)
dyno_router_LDADD = librouter.a libcommon.a $(URING_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += router/README.md

# Integration tests: each scenario starts its own router and backends on loopback.
TESTS += tests/integration/router-conformance.sh tests/integration/router-malformed.sh \
	tests/integration/router-hcodes.sh tests/integration/router-reload.sh \
	tests/integration/router-process.sh
EXTRA_DIST += tests/integration/router-conformance.sh tests/integration/router-malformed.sh \
	tests/integration/router-hcodes.sh tests/integration/router-reload.sh \
	tests/integration/router-process.sh tests/integration/router-suite.py \
	tests/helpers/router-backend.py

# The route table, balancing, route stream and error pages, without sockets.
check_PROGRAMS += tests/integration/router-table
tests_integration_router_table_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JANSSON_CFLAGS)
tests_integration_router_table_LDADD = librouter.a libtap.a libcommon.a $(URING_LIBS) \
	$(JANSSON_LIBS) -lpthread
TESTS += tests/integration/router-table

# Fuzz target for the route table parser (outside input: a file or the host service's stream).
check_PROGRAMS += tests/fuzz/fuzz-routes
tests_fuzz_fuzz_routes_SOURCES = tests/fuzz/fuzz-routes.c $(FUZZ_MAIN)
tests_fuzz_fuzz_routes_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/routes\"
tests_fuzz_fuzz_routes_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_routes_LDADD = librouter.a libtap.a libcommon.a $(URING_LIBS) $(JANSSON_LIBS) \
	-lpthread
TESTS += tests/fuzz/fuzz-routes
EXTRA_DIST += tests/fuzz/corpus/routes
if FUZZING
noinst_PROGRAMS += tests/fuzz/libfuzzer-routes
tests_fuzz_libfuzzer_routes_SOURCES = tests/fuzz/fuzz-routes.c router/routes.c
tests_fuzz_libfuzzer_routes_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	-fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_routes_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_routes_LDADD = libcommon.a $(JANSSON_LIBS) -lpthread
endif
