#!/usr/bin/env bash
# The main job end to end: the Ruby/Thin demo app imported as a slug, two web dynos on a
# bridge, dyno-router in front, real curl requests. Everything runs inside a network namespace
# this test makes (its own bridge, firewall table and loopback), so the host's network is
# never touched; cgroups and run dirs carry the test's own names and are checked to be gone.
. "$top_srcdir/tests/lib/tap.sh"
require_root
require_cmd ruby thin curl unshare

app="dyt$TAP_TAG"
root=$(mktemp -d /tmp/dynohost-demo-test.XXXXXX)
cleanup_push "rm -rf '$root'"
out="$root/out"

unshare --net -- bash -c '
	ip link set lo up &&
	exec "$0/examples/demo-run" --bindir "$1" --app "$2" --web 2 --listen 127.0.0.1:18080 \
		--bridge "$2" --subnet 172.31.251.0/24 --root "$3" --check
' "$top_srcdir" "$top_builddir" "$app" "$root" >"$out" 2>&1
rc=$?
tap_ok $rc "demo-run --check exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$out"

like "$(grep -c '^Hello from web.1 ' "$out")" '^[1-9]' "web.1 answered through the router"
like "$(grep -c '^Hello from web.2 ' "$out")" '^[1-9]' "web.2 answered through the router"
envline=$(grep '^{"dyno"' "$out" | head -n1)
like "$envline" '"port":"5000"' "the dyno sees PORT=5000"
like "$envline" '"home":"/app","cwd":"/app"' "HOME and cwd are /app"
like "$envline" '"uid":10000' "the app runs as the unprivileged dyno uid"
like "$envline" '"pid":[0-9]{1,2},' "the app sees its own pid namespace (a small pid)"
like "$envline" '"greeting":"hello from dynohost"' "config vars reach the app"
like "$envline" '"profile_d":"sourced"' ".profile.d scripts are sourced"
like "$envline" '"request_id":"[0-9a-f-]{36}"' "the router adds an X-Request-Id"
like "$envline" '"forwarded_for":"127.0.0.1"' "the router adds X-Forwarded-For"
like "$(grep -c 'dynohost\[router\]: at=info method=GET path="/" host='"$app"'.dynohost.local .* status=200' "$root/logs/router")" \
	'^[1-9]' "the router logs requests in Heroku's format"
like "$(cat "$root/logs/web.1")" 'Listening on 0.0.0.0:5000' "Thin's own output reaches the dyno's log"

left=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/dynohost/$app-*" 2>/dev/null)
is "$left" "" "no dyno cgroup is left behind"
is "$(grep -c "$root" /proc/mounts)" "0" "no mount is left behind"
is "$(ls "$root/run" 2>/dev/null)" "" "no dyno run dir is left behind"
tap_done
