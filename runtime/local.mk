# runtime/: the dyno launcher, cgroups, the `dyno` CLI.
bin_PROGRAMS += dyno
dyno_SOURCES = runtime/dyno.c runtime/cli.h
dyno_LDADD = libcommon.a
