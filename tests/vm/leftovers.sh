#!/usr/bin/env bash
# Last test of the cgroup v2 leg (tests/vm/check-cgroup2.sh): the suite left no cgroup behind.
# The VM's second stage listed /sys/fs/cgroup before the suite in /run/cgroups.before.
. "$top_srcdir/tests/lib/tap.sh"
require_root
[ -f /sys/fs/cgroup/cgroup.controllers ] || tap_skip_all "not a cgroup v2 root"
[ -f /run/cgroups.before ] || tap_skip_all "not in the cgroup v2 VM (no /run/cgroups.before)"
d=/sys/fs/cgroup/dynohost
left=$(find "$d" -mindepth 1 -type d 2>/dev/null | sed "s|^$d/||" | tr '\n' ' ')
is "$left" "" "no cgroup left under dynohost/ after the suite"
is "$(cat "$d/cgroup.procs" 2>/dev/null | wc -l)" 0 "no process left in dynohost/"
# The parent itself is dynohost's to remove; it goes only when empty.
[ -d "$d" ] && rmdir "$d" 2>/dev/null
new=$(find /sys/fs/cgroup -type d | sort | comm -13 /run/cgroups.before - | tr '\n' ' ')
is "$new" "" "nothing else left in /sys/fs/cgroup"
tap_done
