# runtime/: the dyno launcher, cgroups, the `dyno` CLI.
bin_PROGRAMS += dyno
dyno_SOURCES = runtime/dyno.c runtime/cli.c runtime/cli.h
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

# The dyno launcher (libdynoruntime.a), `dyno exec`, and PID 1 of every dyno (dyno-init: static,
# no sanitizers, since it runs inside the dyno's root as the dyno's uid).
noinst_LIBRARIES += libdynoruntime.a
libdynoruntime_a_SOURCES = runtime/launcher.c runtime/launcher.h runtime/launcher-internal.h \
	runtime/launcher-child.c runtime/rootfs.c runtime/seccomp.c runtime/caps.c runtime/env.c \
	runtime/sizes.c runtime/oneshot.c runtime/init-proto.h
libdynoruntime_a_CFLAGS = $(AM_CFLAGS) $(CAP_CFLAGS)
DYNORUNTIME_LIBS = libdynoruntime.a libdynocgroup.a libcommon.a $(CAP_LIBS)
# The seccomp filter is compiled at build time: runtime/seccomp-gen holds the rules and writes
# them as classic BPF into runtime/seccomp-filter.c, so libdynoruntime.a needs no libseccomp.
noinst_PROGRAMS += runtime/seccomp-gen
runtime_seccomp_gen_SOURCES = runtime/seccomp-gen.c
runtime_seccomp_gen_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
runtime_seccomp_gen_LDADD = libcommon.a $(SECCOMP_LIBS)
nodist_libdynoruntime_a_SOURCES = runtime/seccomp-filter.c
BUILT_SOURCES += runtime/seccomp-filter.c
CLEANFILES += runtime/seccomp-filter.c
runtime/seccomp-filter.c: runtime/seccomp-gen$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) runtime && runtime/seccomp-gen$(EXEEXT) $@
check_PROGRAMS += tests/unit/test-seccomp
tests_unit_test_seccomp_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
tests_unit_test_seccomp_LDADD = libtap.a libdynoruntime.a libcommon.a $(SECCOMP_LIBS)
TESTS += tests/unit/test-seccomp
dyno_SOURCES += runtime/cli-exec.c
# A static PIE without sanitizers (configure: --disable-static-dyno); else libcap and libnl
# statically where possible (--disable-static-deps).
dyno_LDFLAGS = $(AM_LDFLAGS) $(DYNO_LDFLAGS)
dyno_LDADD += libdynoruntime.a libdynocgroup.a libnetns.a libcommon.a $(DYNO_DEP_LIBS)

# dyno-init is built by its own compiler, INIT_CC (musl-gcc when configure finds it: configure.ac
# says why), so by this rule: automake's program rules know only CC. Installed as a program all
# the same (install-exec-local).
all-local: dyno-init$(EXEEXT)
CLEANFILES += dyno-init$(EXEEXT)
EXTRA_DIST += runtime/init.c
install-exec-local: dyno-init$(EXEEXT)
	$(MKDIR_P) '$(DESTDIR)$(pkglibexecdir)'
	$(INSTALL_PROGRAM) dyno-init$(EXEEXT) '$(DESTDIR)$(pkglibexecdir)/dyno-init$(EXEEXT)'
uninstall-local:
	rm -f '$(DESTDIR)$(pkglibexecdir)/dyno-init$(EXEEXT)'
dyno-init$(EXEEXT): $(srcdir)/runtime/init.c $(srcdir)/runtime/init-proto.h \
		$(srcdir)/runtime/launcher.h $(srcdir)/runtime/cgroup.h $(top_builddir)/config.h
	$(AM_V_CCLD)$(INIT_CC) $(AX_CFLAGS) $(WARN_CFLAGS) $(CFLAGS) -include $(top_builddir)/config.h \
		-I$(top_srcdir) -static -o $@ $(srcdir)/runtime/init.c

# The launcher's tests: a static multi-call probe copied into a test rootfs made at run time.
check_PROGRAMS += tests/helpers/dynoprobe
tests_helpers_dynoprobe_SOURCES = tests/helpers/dynoprobe.c
tests_helpers_dynoprobe_CFLAGS = $(AX_CFLAGS) $(WARN_CFLAGS) -Wno-missing-prototypes
tests_helpers_dynoprobe_LDFLAGS = -static
tests_helpers_dynoprobe_LDADD =
EXTRA_DIST += tests/integration/runtime-lib.sh
RUNTIME_SHELL_TESTS = tests/integration/runtime-escape.sh tests/integration/runtime-basic.sh \
	tests/integration/runtime-cgroup.sh tests/integration/runtime-many.sh \
	tests/integration/runtime-net.sh
TESTS += $(RUNTIME_SHELL_TESTS)
EXTRA_DIST += $(RUNTIME_SHELL_TESTS)
CGROUP2_TESTS += tests/integration/runtime-cgroup.sh
check_PROGRAMS += tests/integration/runtime-api
tests_integration_runtime_api_LDADD = libtap.a $(DYNORUNTIME_LIBS)
TESTS += tests/integration/runtime-api
