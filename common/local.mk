# common/: what two or more parts share.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/cleanup.h \
	common/fileio.c common/fileio.h \
	common/log.c common/log.h

# The HTTP/1.1 parser (owned by the http work; see common/http.h).
libcommon_a_SOURCES += \
	common/http.c common/http.h common/http-internal.h \
	common/http-chunked.c common/http-util.c

check_PROGRAMS += tests/unit/test-http
tests_unit_test_http_LDADD = libtap.a libcommon.a
TESTS += tests/unit/test-http
