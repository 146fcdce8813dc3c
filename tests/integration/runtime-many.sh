#!/usr/bin/env bash
# 200 dynos in a row leave nothing behind: no mounts, no cgroups, no processes, no run dirs.
. "$top_srcdir/tests/integration/runtime-lib.sh"

count_inits() { # processes running our dyno-init binary
	local n=0 p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$DYNOHOST_INIT" ] && n=$((n + 1))
	done
	echo $n
}
mounts_before=$(wc -l </proc/self/mountinfo)
failed=0
for ((i = 0; i < 200; i++)); do
	out=$("$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-m$i" -- 'echo $DYNO' 2>&1) || failed=$((failed + 1))
	[ -n "$out" ] || failed=$((failed + 1))
done
is "$failed" 0 "200 dynos ran"
is "$(wc -l </proc/self/mountinfo)" "$mounts_before" "the host's mount table is unchanged"
is "$(rt_leftover_mounts)" 0 "no mounts under the test's dirs"
is "$(rt_leftover_cgroups)" 0 "no dyno cgroups left"
is "$(count_inits)" 0 "no dyno-init processes left"
is "$(ls "$DYNOHOST_RUN_DIR" | wc -l)" 0 "no run dirs left"
tap_done
