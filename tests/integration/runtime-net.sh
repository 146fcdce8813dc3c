#!/usr/bin/env bash
# `dyno exec --net bridge`: the dyno gets a veth on the bridge and an address; a server in the
# dyno is reachable from the host side, and the veth and lease are gone after the dyno. Runs in
# a private network namespace standing in for the host (its own bridge dyt*, subnet, state).
. "$top_srcdir/tests/integration/runtime-lib.sh"
require_cmd unshare ip
NET_STATE=$RT_TMP/net
mkdir -p "$NET_STATE"
export RT_PREFIX NET_STATE ROOT DYNO TAP_TAG
out=$(timeout 120 unshare --net bash -c '
	ip link set lo up
	"$DYNO" exec --stack "$ROOT" --net bridge --bridge "dyt$TAP_TAG" --subnet 10.213.7.0/24 \
		--net-state "$NET_STATE" --id "$RT_PREFIX-net" --port 5000 -- \
		"dynoprobe ifaces; busybox nc -l -p \$PORT -e echo hello-from-dyno" >"$NET_STATE/out" 2>"$NET_STATE/err" &
	pid=$!
	got=
	for ((i = 0; i < 400; i++)); do
		got=$(busybox nc -w 1 10.213.7.2 5000 2>/dev/null) && [ -n "$got" ] && break
		sleep 0.05
	done
	wait $pid
	st=$?
	# The kernel removes the veth with the dyno'"'"'s netns, from a workqueue: poll for it.
	for ((i = 0; i < 500; i++)); do
		veths=$(ip -o link show | grep -c " dv")
		[ "$veths" = 0 ] && break
		sleep 0.02
	done
	echo "status=$st got=$got veths=$veths"
' 2>&1)
is "$out" "status=0 got=hello-from-dyno veths=0" "reached the dyno at its address; its veth is gone after it" ||
	tap_diag "dyno exec said: $(cat "$NET_STATE/err" 2>&1)"
like "$(cat "$NET_STATE/out")" "^ifaces: lo eth0" "the dyno sees lo and eth0"
like "$(cat "$NET_STATE/err")" "at 10\\.213\\.7\\.2 on dv" "dyno exec says where the dyno is"
is "$(rt_leftover_cgroups)" 0 "no cgroups left"
tap_done
