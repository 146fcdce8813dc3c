# common/: what two or more parts share.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/cleanup.h \
	common/fileio.c common/fileio.h \
	common/log.c common/log.h
