# images/: slugs, stacks, releases, Procfile (libimages.a) and the `dyno slug|stack|release` CLI.
noinst_LIBRARIES += libimages.a
libimages_a_SOURCES = \
	images/images.h images/image-internal.h \
	images/image-extract.c images/image-input.c images/image-slug.c \
	images/image-stack.c images/image-release.c images/image-procfile.c
libimages_a_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) $(SQLITE_CFLAGS) $(ZLIB_CFLAGS)
IMAGES_LIBS = libimages.a libcommon.a $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) $(ZLIB_LIBS)

dyno_SOURCES += runtime/cli-slug.c runtime/cli-stack.c runtime/cli-release.c runtime/cli-images.h
dyno_LDADD += $(IMAGES_LIBS)

# Tests.
TESTS += tests/integration/images-hostile.sh
EXTRA_DIST += tests/integration/images-hostile.sh tests/integration/images-mkslug.py \
	tests/integration/images-lib.sh

