#!/usr/bin/env bash
# What a user of `dyno exec` sees: output, exit codes, signals, environment, /app, .profile.d,
# PID 1 reaping, stop with grace, bounded output, the ephemeral /tmp's size, launch errors
# naming their step, and the host stack running Debian's ruby (and thin, when installed).
. "$top_srcdir/tests/integration/runtime-lib.sh"

# A slug: a file, a .profile.d script.
SLUG=$RT_TMP/slug
mkdir -p "$SLUG/.profile.d"
echo "slug content" >"$SLUG/hello.txt"
echo 'export FROM_PROFILE=sourced' >"$SLUG/.profile.d/test.sh"

# Output and status.
is "$(dx -- echo hello)" "hello" "stdout reaches the caller"
is "$(dx -- dynoprobe stderr oops 2>&1 >/dev/null)" "oops" "stderr reaches the caller's stderr"
is "$(dx -- 'echo a; echo b >&2; echo c' 2>/dev/null | tr '\n' ' ')" "a c " "lines in order"
is "$(dx -- printf no-newline)" "no-newline" "a last line without newline"
is "$(dx_status -- exit 3)" 3 "exit code 3"
is "$(dx_status -- false)" 1 "exit code 1"
is "$(dx_status -- dynoprobe raise 9)" 137 "killed by SIGKILL: 128+9"
is "$(dx_status -- dynoprobe raise 15)" 143 "killed by SIGTERM: 128+15"
is "$(dx -- 'dynoprobe spam 20000' | wc -l)" 20000 "20000 lines, none lost while read"
is "$(echo piped | dx -i -- cat)" "piped" "--interactive passes stdin"
is "$(echo piped | dx -- cat)" "" "stdin is /dev/null by default"

# Environment, cwd, /app.
is "$(dx --port 5000 --name web.1 --env FOO=bar --env 'SPACED=a b' -- \
	'echo "$PORT $DYNO $HOME $FOO $SPACED"')" "5000 web.1 /app bar a b" "PORT, DYNO, HOME, config vars"
is "$(dx --port 5000 --env PORT=1 --env DYNO=x -- 'echo $PORT $DYNO' | cut -d' ' -f1)" "5000" \
	"config vars cannot override PORT"
is "$(dx -- 'echo $PATH')" "/app/bin:/usr/local/bin:/usr/bin:/bin" "PATH"
is "$(dx -- pwd)" "/app" "cwd is /app"
is "$(dx --slug "$SLUG" -- cat hello.txt)" "slug content" "the slug is at /app"
is "$(dx --slug "$SLUG" -- 'echo $FROM_PROFILE')" "sourced" ".profile.d/*.sh sourced first"
is "$(dx --slug "$SLUG" -- 'echo new >/app/new.txt && echo x >/tmp/x && cat /app/new.txt')" "new" \
	"/app and /tmp are writable"
ok "writes to /app do not reach the slug" test ! -e "$SLUG/new.txt"
is "$(dx --slug "$SLUG" -- id)" "uid=10000(dyno) gid=10000(dyno) groups=10000(dyno)" "unprivileged uid/gid"
is "$(dx --uid 4242 --gid 4343 -- 'dynoprobe id')" "id: uid=4242 euid=4242 gid=4343 egid=4343" "configurable uid/gid"
id=$RT_PREFIX-host-name
is "$("$DYNO" exec --net none -q --stack "$ROOT" --id "$id" -- 'echo $(hostname) $(grep -c "$(hostname)" /etc/hosts)')" \
	"$id 1" "hostname is the dyno id, in /etc/hosts"
is "$(dx -- 'test -s /etc/resolv.conf || test -f /etc/resolv.conf && echo present')" "present" "/etc/resolv.conf provided"
is "$(dx -- 'dynoprobe bind 80')" "bind: ok 0" "an unprivileged dyno can bind port 80"
# The launcher makes the network namespace from its own thread while the child mounts: the
# per-namespace settings land in the dyno's namespace, never in the host's, and /sys is
# mounted once the child is in it.
host_ports=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
is "$(dx -- 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start')" "0" "unprivileged ports in the dyno's namespace"
is "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "$host_ports" "the host's setting is untouched"
is "$(dx -- 'ls /sys/class/net' | tr '\n' ' ')" "lo " "/sys shows the dyno's network devices only"
is "$(dx -- 'cat /sys/class/net/lo/flags')" "0x9" "lo is up (IFF_UP|IFF_LOOPBACK)"

# PID 1 reaps orphans.
is "$(dx -- dynoprobe zombies 20)" "zombies: none left of 20" "PID 1 reaps 20 orphaned zombies"

# Stop: SIGTERM to every process, SIGKILL after the grace period.
out=$RT_TMP/grace.out err=$RT_TMP/grace.err
"$DYNO" exec --net none --stack "$ROOT" --id "$RT_PREFIX-grace" --grace 0.5 -- dynoprobe ignore-term >"$out" 2>"$err" &
pid=$!
if wait_for "$out" '^ready$'; then kill -TERM "$pid"; fi
wait "$pid"
is "$?" 137 "a dyno that ignores SIGTERM is SIGKILLed after --grace"
like "$(cat "$err")" "R12 \\(Exit timeout\\)" "and the caller is told (R12)"

# (A fresh file: a signal that reaches the job before it exec'd dyno would run the test's traps.)
out=$RT_TMP/graceful.out
"$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-graceful" --grace 30 -- dynoprobe graceful >"$out" 2>&1 &
pid=$!
if wait_for "$out" '^ready$'; then kill -TERM "$pid"; fi
wait "$pid"
is "$?" 0 "a dyno that exits on SIGTERM ends with its own status"
like "$(cat "$out")" "term: got SIGTERM" "SIGTERM was forwarded to the process"

# Every process of the dyno gets the SIGTERM, and the dyno waits for all of them.
out=$RT_TMP/two.out
"$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-two" --grace 30 -- \
	'dynoprobe graceful & exec dynoprobe graceful' >"$out" 2>&1 &
pid=$!
for ((i = 0; i < 1000; i++)); do
	[ "$(grep -c '^ready$' "$out" 2>/dev/null)" = 2 ] && break
	sleep 0.02
done
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "two processes that exit on SIGTERM: status 0"
is "$(grep -c '^term: got SIGTERM$' "$out")" 2 "both got SIGTERM and finished before the dyno ended"

# A dyno never blocks because nobody reads: lines beyond the bound are dropped and counted.
fifo=$RT_TMP/fifo
mkfifo "$fifo"
err=$RT_TMP/flood.err
"$DYNO" exec --net none --stack "$ROOT" --id "$RT_PREFIX-flood" -- dynoprobe spam 300000 >"$fifo" 2>"$err" &
pid=$!
exec 7<"$fifo" # the reader exists but reads nothing until the dyno is gone
gone=1
for ((i = 0; i < 1500; i++)); do
	if [ "$i" -gt 0 ] && [ ! -d /sys/fs/cgroup/pids/dynohost/"$RT_PREFIX-flood" ] &&
		[ ! -d /sys/fs/cgroup/dynohost/"$RT_PREFIX-flood" ]; then
		gone=0
		break
	fi
	sleep 0.02
done
is "$gone" 0 "the dyno finished while nobody read its output"
lines=$(wc -l <&7)
exec 7<&-
wait "$pid"
ok "some lines arrived, not all ($lines of 300000)" test "$lines" -gt 0 -a "$lines" -lt 300000
like "$(cat "$err")" "[0-9]+ output line\\(s\\) dropped" "dropped lines are counted and reported"

# The ephemeral filesystem stops at its size.
got=$(dx --tmp-size 8M -- dynoprobe fill /tmp/fill)
n=${got##*after }; n=${n%% bytes}
like "$got" "^fill: ENOSPC after [0-9]+ bytes$" "filling /tmp ends in ENOSPC"
ok "at most the 8 MiB tmpfs size ($n bytes)" test "$n" -le $((8 << 20)) -a "$n" -ge $((6 << 20))

# Launch failures name their step and errno.
err=$(dx --slug /nonexistent/slug -- true 2>&1)
st=$?
is "$st" 125 "a missing slug: exit 125"
like "$err" "step prepare: No such file or directory" "a missing slug names the step and errno"
err=$(DYNOHOST_INIT=/nonexistent/dyno-init dx -- true 2>&1)
like "$err" "step prepare: No such file or directory" "a missing dyno-init: step and errno"
err=$("$DYNO" exec --net none --stack /etc/hostname --id "$RT_PREFIX-badstack" -- true 2>&1)
like "$err" "step root: Invalid argument" "a stack that is a file: the overlay mount in the child fails (step root)"
mkdir -p "$RT_TMP/nosh"
err=$("$DYNO" exec --net none --stack "$RT_TMP/nosh" --id "$RT_PREFIX-nosh" -- true 2>&1)
st=$?
is "$st" 127 "a stack without /bin/sh: 127"
like "$err" "step exec-command failed: No such file or directory" "and dyno-init names its step"
# Numbers on the command line are strict: a sign, a unit typo or an overflow is refused.
for bad in "--memory -1" "--memory 1t" "--memory 99999999999g" "--pids 0" "--pids -5" "--port 65536" \
	"--tmp-size 1.5g" "--uid 0" "--uid 1x"; do
	err=$("$DYNO" exec --net none --stack "$ROOT" $bad -- true 2>&1)
	is "$?:${err#*: }" "2:${err#*: }" "dyno exec $bad: refused with status 2"
	like "$err" "invalid ${bad%% *} \"${bad#* }\"" "and the error names the option and value"
done
mkdir -p "$DYNOHOST_RUN_DIR/$RT_PREFIX-taken"
err=$("$DYNO" exec --net none --stack "$ROOT" --id "$RT_PREFIX-taken" -- true 2>&1)
like "$err" "step run-dir: File exists" "an id in use is refused"
rmdir "$DYNOHOST_RUN_DIR/$RT_PREFIX-taken"

# The host stack runs Debian's ruby (and thin on $PORT, reached from the dyno's netns).
if command -v ruby >/dev/null; then
	is "$("$DYNO" exec --net none -q --stack host --slug "$SLUG" --id "$RT_PREFIX-ruby" -- \
		'ruby -e "puts [Process.uid, Dir.pwd, ENV[%q(FROM_PROFILE)]].join(%q( ))"')" \
		"10000 /app sourced" "host stack: Debian's ruby runs as the dyno"
	is "$("$DYNO" exec --net none -q --stack host --id "$RT_PREFIX-etc" -- \
		'echo $(id -un) $(test -e /etc/shadow && echo shadow || echo no-shadow)')" \
		"dyno no-shadow" "host stack: a minimal /etc of its own (no /etc/shadow)"
else
	tap_skip "no ruby"
	tap_skip "no ruby"
fi
if command -v thin >/dev/null && command -v curl >/dev/null && command -v nsenter >/dev/null; then
	app=$RT_TMP/thin-app
	mkdir -p "$app"
	echo 'run lambda { |env| [200, {"content-type" => "text/plain"}, ["dyno #{ENV[%q(DYNO)]}\n"]] }' >"$app/config.ru"
	out=$RT_TMP/thin.out
	"$DYNO" exec --net none -q --stack host --slug "$app" --id "$RT_PREFIX-thin" --port 5000 --name web.1 \
		--grace 5 -- 'thin start -p $PORT -R config.ru' >"$out" 2>&1 &
	pid=$!
	body=
	for ((i = 0; i < 500; i++)); do
		p=$(head -1 /sys/fs/cgroup/pids/dynohost/"$RT_PREFIX-thin"/cgroup.procs 2>/dev/null ||
			head -1 /sys/fs/cgroup/dynohost/"$RT_PREFIX-thin"/cgroup.procs 2>/dev/null)
		[ -n "$p" ] && body=$(nsenter --net=/proc/$p/ns/net curl -s --max-time 2 http://127.0.0.1:5000/) &&
			[ -n "$body" ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	wait "$pid"
	is "$body" "dyno web.1" "host stack: thin serves \$PORT inside the dyno's netns"
else
	tap_skip "no thin/curl/nsenter"
fi

# A SIGKILLed `dyno exec` takes its dyno with it but cannot remove the dyno's cgroup and run
# dir; the next launch does, and never touches a dyno whose launcher still runs.
cg_empty() { [ -z "$(cat "$1"/cgroup.procs 2>/dev/null)" ]; }
launch_and_kill() { # ID: start a dyno, SIGKILL its launcher, wait until the dyno is gone
	local out=$RT_TMP/$1.out pid i cg
	"$DYNO" exec --net none -q --stack "$ROOT" --id "$1" -- 'echo ready; exec sleep 100' >"$out" 2>&1 &
	pid=$!
	wait_for "$out" '^ready$' || return 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	cg=$(cg_dir "$1" pids)
	for ((i = 0; i < 500; i++)); do cg_empty "$cg" && return 0; sleep 0.02; done
	return 1
}
killed=$RT_PREFIX-killed
ok "a SIGKILLed launcher's dyno dies with it" launch_and_kill "$killed"
ok "and leaves its cgroup, run dir and lock behind" \
	test -n "$(cg_dir "$killed" pids)" -a -d "$DYNOHOST_RUN_DIR/$killed" -a -e "$DYNOHOST_RUN_DIR/.oneshot/$killed"
live_out=$RT_TMP/live.out
"$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-live" -- 'echo ready; exec sleep 100' >"$live_out" 2>&1 &
live=$!
wait_for "$live_out" '^ready$'
is "$(dx -- echo next)" "next" "the next launch runs"
ok "and removed the dead launcher's cgroup" test -z "$(cg_dir "$killed" pids)"
ok "run dir and lock" test ! -e "$DYNOHOST_RUN_DIR/$killed" -a ! -e "$DYNOHOST_RUN_DIR/.oneshot/$killed"
ok "a running launcher's dyno is untouched" test -n "$(cg_dir "$RT_PREFIX-live" pids)" -a -d "$DYNOHOST_RUN_DIR/$RT_PREFIX-live"
kill -TERM "$live"
wait "$live"
ok "launch_and_kill again" launch_and_kill "$killed"
is "$("$DYNO" exec --net none -q --stack "$ROOT" --id "$killed" -- echo again 2>&1)" "again" \
	"the same id launches again over a dead launcher's leftovers"
# Launchers that start together each reconcile the others' locks: none takes a live one for dead.
pids=()
for ((i = 0; i < 12; i++)); do
	"$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-par$i" -- 'echo ok' >"$RT_TMP/par$i.out" 2>&1 &
	pids+=($!)
done
failed=0
for ((i = 0; i < 12; i++)); do
	wait "${pids[i]}" && [ "$(cat "$RT_TMP/par$i.out")" = ok ] || failed=$((failed + 1))
done
is "$failed" 0 "12 launchers started together all run their dyno"
is "$(ls -A "$DYNOHOST_RUN_DIR/.oneshot" | wc -l)" 0 "no launcher locks left"

is "$(ls "$DYNOHOST_RUN_DIR" | wc -l)" 0 "no run dirs left"
is "$(rt_leftover_cgroups)" 0 "no cgroups left"
is "$(rt_leftover_mounts)" 0 "no mounts left"
tap_done
