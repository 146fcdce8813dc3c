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
