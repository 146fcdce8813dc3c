#!/usr/bin/env bash
# 200 dynos in a row leave nothing behind: no mounts, no cgroups, no processes, no run dirs.
. "$top_srcdir/tests/integration/runtime-lib.sh"

count_inits() { # dyno-init processes of this test's dynos (other tests run in parallel)
	local n=0 p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$DYNOHOST_INIT" ] || continue
		grep -q "/dynohost/$RT_PREFIX-m" "$p/cgroup" 2>/dev/null && n=$((n + 1))
	done
	echo $n
}
# Mounts a dyno could leak into the host: its filesystem types, or anything under its dirs.
# (Other tests run in parallel and may mount unrelated things meanwhile: look at these only.)
dyno_mounts() {
	awk -v run="$DYNOHOST_RUN_DIR" -v root="$ROOT" '
		$3 ~ /^(overlay|proc|sysfs|devpts|mqueue)$/ || index($2, run) == 1 || index($2, root) == 1
	' /proc/self/mounts | sort
}
mounts_before=$(dyno_mounts)
failed=0
for ((i = 0; i < 200; i++)); do
	out=$("$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-m$i" -- 'echo $DYNO' 2>&1) || failed=$((failed + 1))
	[ -n "$out" ] || failed=$((failed + 1))
done
is "$failed" 0 "200 dynos ran"
is "$(dyno_mounts)" "$mounts_before" "the host's mount table has no new dyno-kind mount"
is "$(rt_leftover_mounts)" 0 "no mounts under the test's dirs"
is "$(rt_leftover_cgroups)" 0 "no dyno cgroups left"
is "$(count_inits)" 0 "no dyno-init processes left"
is "$(ls "$DYNOHOST_RUN_DIR" | wc -l)" 0 "no run dirs left"
tap_done
