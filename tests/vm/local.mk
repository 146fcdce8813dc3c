# tests/vm/: the cgroup v2 leg. `make check-cgroup2` runs $(CGROUP2_TESTS) (runtime/local.mk;
# parts append their cgroup-related root integration tests) inside a QEMU VM whose kernel has
# only cgroup v2, and records .log/.trs files under tests/vm/cgroup2/ like `make check` does.
EXTRA_DIST += tests/vm/run-in-v2vm.sh tests/vm/init tests/vm/stage2 tests/vm/check-cgroup2.sh \
	tests/vm/cgroup2-tests.sh tests/vm/leftovers.sh

check-cgroup2: all $(check_PROGRAMS) $(check_SCRIPTS)
	$(AM_V_GEN)$(SHELL) $(top_srcdir)/tests/vm/check-cgroup2.sh $(top_srcdir) $(top_builddir) \
		$(CGROUP2_TESTS)

.PHONY: check-cgroup2
