# images/: slugs, stacks, releases, Procfile (libimages.a) and the `dyno slug|stack|release` CLI.
noinst_LIBRARIES += libimages.a
libimages_a_SOURCES = \
	images/images.h images/image-internal.h \
	images/image-extract.c images/image-input.c images/image-slug.c \
	images/image-stack.c images/image-release.c images/image-procfile.c
libimages_a_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) $(SQLITE_CFLAGS) $(ZLIB_CFLAGS)
IMAGES_LIBS = libimages.a libcommon.a $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) $(ZLIB_LIBS)

# The CLI verbs slug/stack/release: a helper program that `dyno` execs (runtime/cli.h says why).
pkglibexec_PROGRAMS += dyno-images
dyno_images_SOURCES = runtime/dyno-images.c runtime/cli.c runtime/cli.h \
	runtime/cli-slug.c runtime/cli-stack.c runtime/cli-release.c runtime/cli-images.h
dyno_images_LDADD = $(IMAGES_LIBS)

# Tests.
TESTS += tests/integration/images-hostile.sh
EXTRA_DIST += tests/integration/images-hostile.sh tests/integration/images-mkslug.py \
	tests/integration/images-lib.sh

TESTS += tests/integration/images-good.sh tests/integration/images-stack.sh
EXTRA_DIST += tests/integration/images-good.sh tests/integration/images-stack.sh

check_PROGRAMS += tests/unit/test-procfile tests/unit/test-images-release tests/unit/test-images-store
tests_unit_test_procfile_LDADD = libtap.a $(IMAGES_LIBS)
tests_unit_test_images_release_LDADD = libtap.a $(IMAGES_LIBS)
tests_unit_test_images_store_LDADD = libtap.a $(IMAGES_LIBS)
TESTS += tests/unit/test-procfile tests/unit/test-images-release tests/unit/test-images-store

# Fuzz targets: the import path (bytes as a slug stream) and the Procfile parser. The slug
# seed corpus holds tarballs, so it is generated into the build tree when tests run.
check_PROGRAMS += tests/fuzz/fuzz-slug tests/fuzz/fuzz-procfile
tests_fuzz_fuzz_slug_SOURCES = tests/fuzz/fuzz-slug.c $(FUZZ_MAIN)
tests_fuzz_fuzz_slug_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(abs_top_builddir)/tests/fuzz/corpus/slug\"
tests_fuzz_fuzz_slug_LDADD = libtap.a $(IMAGES_LIBS)
tests_fuzz_fuzz_procfile_SOURCES = tests/fuzz/fuzz-procfile.c $(FUZZ_MAIN)
tests_fuzz_fuzz_procfile_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(abs_top_srcdir)/tests/fuzz/corpus/procfile\"
tests_fuzz_fuzz_procfile_LDADD = libtap.a $(IMAGES_LIBS)
TESTS += tests/fuzz/fuzz-slug tests/fuzz/fuzz-procfile
EXTRA_DIST += tests/fuzz/corpus/procfile tests/fuzz/corpus/slug/seeds.py

EXTRA_tests_fuzz_fuzz_slug_DEPENDENCIES = tests/fuzz/corpus/slug/.stamp
tests/fuzz/corpus/slug/.stamp: $(top_srcdir)/tests/fuzz/corpus/slug/seeds.py
	$(AM_V_GEN)$(MKDIR_P) tests/fuzz/corpus/slug && \
	python3 $(top_srcdir)/tests/fuzz/corpus/slug/seeds.py tests/fuzz/corpus/slug && touch $@
CLEANFILES += tests/fuzz/corpus/slug/.stamp tests/fuzz/corpus/slug/*.tgz tests/fuzz/corpus/slug/*.tar

if FUZZING
# The images sources are compiled into the libFuzzer binaries (not linked from libimages.a) so
# that they carry the coverage instrumentation the fuzzer steers by.
IMAGES_FUZZ_SOURCES = images/image-extract.c images/image-input.c images/image-slug.c \
	images/image-stack.c images/image-release.c images/image-procfile.c
IMAGES_FUZZ_LIBS = libcommon.a $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(SQLITE_LIBS) $(ZLIB_LIBS)
noinst_PROGRAMS += tests/fuzz/libfuzzer-slug tests/fuzz/libfuzzer-procfile
tests_fuzz_libfuzzer_slug_SOURCES = tests/fuzz/fuzz-slug.c $(IMAGES_FUZZ_SOURCES)
tests_fuzz_libfuzzer_slug_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_slug_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_slug_LDADD = $(IMAGES_FUZZ_LIBS)
tests_fuzz_libfuzzer_procfile_SOURCES = tests/fuzz/fuzz-procfile.c $(IMAGES_FUZZ_SOURCES)
tests_fuzz_libfuzzer_procfile_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_procfile_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_libfuzzer_procfile_LDADD = $(IMAGES_FUZZ_LIBS)
endif
