# common/: what two or more parts share.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/array.c common/array.h \
	common/cleanup.h \
	common/fileio.c common/fileio.h \
	common/log.c common/log.h \
	common/parse.c common/parse.h

# The HTTP/1.1 parser (owned by the http work; see common/http.h).
libcommon_a_SOURCES += \
	common/http.c common/http.h common/http-internal.h \
	common/http-chunked.c common/http-util.c

check_PROGRAMS += tests/unit/test-http
tests_unit_test_http_LDADD = libtap.a libcommon.a
TESTS += tests/unit/test-http

check_PROGRAMS += tests/fuzz/fuzz-http
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz-http.c $(FUZZ_MAIN)
tests_fuzz_fuzz_http_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/http\"
tests_fuzz_fuzz_http_LDADD = libtap.a libcommon.a
TESTS += tests/fuzz/fuzz-http
EXTRA_DIST += tests/fuzz/corpus/http
if FUZZING
noinst_PROGRAMS += tests/fuzz/libfuzzer-http
# The parser is compiled into the fuzzer itself so that libFuzzer sees its coverage.
tests_fuzz_libfuzzer_http_SOURCES = tests/fuzz/fuzz-http.c \
	common/http.c common/http-chunked.c common/http-util.c
tests_fuzz_libfuzzer_http_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_http_LDFLAGS = -fsanitize=fuzzer,address,undefined
endif
