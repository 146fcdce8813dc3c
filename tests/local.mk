# tests/: the TAP library, unit tests of common/, the harness self-test.
noinst_LIBRARIES += libtap.a
libtap_a_SOURCES = tests/lib/tap.c tests/lib/tap.h
EXTRA_DIST += tests/lib/tap.sh

check_PROGRAMS += tests/unit/test-common tests/unit/test-harness-fails
tests_unit_test_common_LDADD = libtap.a libcommon.a
tests_unit_test_harness_fails_LDADD = libtap.a libcommon.a
TESTS += tests/unit/test-common tests/unit/test-harness-fails
XFAIL_TESTS += tests/unit/test-harness-fails

# Fuzz targets: each is built as a corpus replayer (tests/fuzz/fuzz-main.c) and run over its
# seed corpus by `make check`; with --enable-fuzzing (clang) also as a libFuzzer binary.
FUZZ_MAIN = tests/fuzz/fuzz-main.c
