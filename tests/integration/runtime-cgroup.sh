#!/usr/bin/env bash
# A dyno's cgroup limits as a user sees them: a fork bomb stops at the pids limit (and the host
# can still fork), a memory hog is OOM-killed and reported (R15), the cgroup has the size's
# limits while the dyno runs, and it is gone afterwards. Also run by `make check-cgroup2` in a
# pure cgroup v2 VM: keep it lean and independent of host paths (the rootfs is built in /tmp).
. "$top_srcdir/tests/integration/runtime-lib.sh"


# Fork bomb: stops at the pids limit with EAGAIN and holds it; meanwhile the host forks fine.
out=$RT_TMP/bomb.out
id=$RT_PREFIX-bomb
"$DYNO" exec --net none -q --stack "$ROOT" --id "$id" --pids 64 -- dynoprobe forkbomb hold >"$out" 2>&1 &
pid=$!
wait_for "$out" '^forkbomb: '
like "$(cat "$out")" "^forkbomb: EAGAIN after [0-9]+ forks$" "a fork bomb fails with EAGAIN"
is "$(cat "$(cg_dir "$id" pids)/pids.current")" 64 "it holds exactly the pids limit (64)"
is "$(/bin/sh -c 'echo forked')" "forked" "the host can still fork meanwhile"
kill -TERM "$pid"
wait "$pid"
is "$(cg_dir "$id" pids)" "" "the bomb's cgroup is gone after the stop"

# Memory hog: killed by the OOM killer at the kill line and reported as R15.
out=$RT_TMP/hog.out err=$RT_TMP/hog.err
"$DYNO" exec --net none --stack "$ROOT" --id "$RT_PREFIX-hog" --memory 32M -- dynoprobe memhog >"$out" 2>"$err"
st=$?
is "$st" 137 "a memory hog is SIGKILLed (137)"
like "$(cat "$err")" "R15 \\(Memory quota vastly exceeded\\)" "and the kill is reported as R15"
last=$(tail -1 "$out")
like "$last" "^memhog: [0-9]+ MiB$" "the hog got some memory before the kill"
mb=${last#memhog: }; mb=${mb% MiB}
ok "it never got past the 64 MiB kill line ($mb MiB)" test "$mb" -le 64

# Limits of the size while the dyno runs; nothing left after it.
id=$RT_PREFIX-limits
out=$RT_TMP/limits.out
"$DYNO" exec --net none -q --stack "$ROOT" --id "$id" --size standard-2x -- 'echo ready; dynoprobe sleep 30' >"$out" 2>&1 &
pid=$!
wait_for "$out" '^ready$'
mem=$(cg_dir "$id" memory)
pids=$(cg_dir "$id" pids)
if [ -f "$mem/memory.limit_in_bytes" ]; then
	is "$(cat "$mem/memory.limit_in_bytes")" $((1024 << 20)) "standard-2x: memory quota 1 GiB (v1)"
else
	is "$(cat "$mem/memory.max")" $((1024 << 20)) "standard-2x: memory.max 1 GiB (v2)"
fi
is "$(cat "$pids/pids.max")" 512 "standard-2x: 512 pids"
is "$(wc -l <"$pids/cgroup.procs")" 2 "dyno-init and the command are in the cgroup (sh execs its last command)"
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "SIGTERM to dyno exec stops the dyno (the command died of SIGTERM)"
is "$(cg_dir "$id" pids)" "" "its cgroup is removed"

is "$(rt_leftover_cgroups)" 0 "no cgroups left"
is "$(ls "$DYNOHOST_RUN_DIR" | wc -l)" 0 "no run dirs left"
tap_done
