# runtime/: the dyno launcher, cgroups, the `dyno` CLI.
bin_PROGRAMS += dyno
dyno_SOURCES = runtime/dyno.c runtime/cli.h
dyno_LDADD = libcommon.a

# cgroups: one interface (cgroup.h), a v1/hybrid and a v2 backend.
noinst_LIBRARIES += libdynocgroup.a
libdynocgroup_a_SOURCES = runtime/cgroup.c runtime/cgroup.h runtime/cgroup-internal.h \
	runtime/cgroup-v1.c runtime/cgroup-v2.c
check_PROGRAMS += tests/unit/test-cgroup tests/integration/cgroup-layer
tests_unit_test_cgroup_LDADD = libdynocgroup.a libtap.a libcommon.a
tests_integration_cgroup_layer_LDADD = libdynocgroup.a libtap.a libcommon.a
TESTS += tests/unit/test-cgroup tests/integration/cgroup-layer
# Root integration tests that `make check-cgroup2` also runs in a cgroup v2 VM (tests/vm/).
# Append yours with +=.
CGROUP2_TESTS = tests/integration/cgroup-layer
