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
