#!/usr/bin/env bash
# Last test of the cgroup v2 leg: the suite left no dyno cgroup and no process in one.
. "$top_srcdir/tests/lib/tap.sh"
require_root
d=/sys/fs/cgroup/dynohost
[ -f /sys/fs/cgroup/cgroup.controllers ] || tap_skip_all "not a cgroup v2 root"
left=$(find "$d" -mindepth 1 -type d 2>/dev/null | sed "s|^$d/||" | tr '\n' ' ')
is "$left" "" "no cgroup left under dynohost/ after the suite"
procs=$(cat "$d/cgroup.procs" 2>/dev/null | wc -l)
is "$procs" 0 "no process left in dynohost/"
tap_done
