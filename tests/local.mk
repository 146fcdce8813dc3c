# tests/: the TAP library, unit tests of common/, the harness self-test.
noinst_LIBRARIES += libtap.a
libtap_a_SOURCES = tests/lib/tap.c tests/lib/tap.h
EXTRA_DIST += tests/lib/tap.sh tests/lib/cgroup-parents.sh

check_PROGRAMS += tests/unit/test-common tests/unit/test-harness-fails
tests_unit_test_common_LDADD = libtap.a libcommon.a
tests_unit_test_harness_fails_LDADD = libtap.a libcommon.a
TESTS += tests/unit/test-common tests/unit/test-harness-fails
XFAIL_TESTS += tests/unit/test-harness-fails

# Fuzz targets: each is built as a corpus replayer (tests/fuzz/fuzz-main.c) and run over its
# seed corpus by `make check`; with --enable-fuzzing (clang) also as a libFuzzer binary.
FUZZ_MAIN = tests/fuzz/fuzz-main.c
# A target "foo" follows this pattern (in its part's local.mk):
#   check_PROGRAMS += tests/fuzz/fuzz-foo
#   tests_fuzz_fuzz_foo_SOURCES = tests/fuzz/fuzz-foo.c $(FUZZ_MAIN)
#   tests_fuzz_fuzz_foo_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/foo\"
#   tests_fuzz_fuzz_foo_LDADD = libpart.a libtap.a libcommon.a ...
#   TESTS += tests/fuzz/fuzz-foo
#   if FUZZING
#   noinst_PROGRAMS += tests/fuzz/libfuzzer-foo
#   tests_fuzz_libfuzzer_foo_SOURCES = tests/fuzz/fuzz-foo.c
#   tests_fuzz_libfuzzer_foo_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
#   tests_fuzz_libfuzzer_foo_LDFLAGS = -fsanitize=fuzzer,address,undefined
#   tests_fuzz_libfuzzer_foo_LDADD = libpart.a libcommon.a ...
#   endif

# The root tests' dynos live under `dynohost` cgroups. `make check` removes those parents after
# the tests when it made them and they are empty (tests/lib/cgroup-parents.sh; tests/run-all and
# the benchmarks do the same around their own runs).
# (A check "script" so it is made afresh just before the tests run.)
check_SCRIPTS += cg-parents-before
cg-parents-before:
	$(AM_V_GEN). $(top_srcdir)/tests/lib/cgroup-parents.sh; cg_parents_snapshot; \
	printf '%s\n' "$$_cg_parents_before" >$@
check-local: check-TESTS
	@. $(top_srcdir)/tests/lib/cgroup-parents.sh; \
	_cg_parents_before=$$(cat cg-parents-before 2>/dev/null); cg_parents_cleanup; \
	rm -f cg-parents-before
.PHONY: cg-parents-before
CLEANFILES += cg-parents-before
