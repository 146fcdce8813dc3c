# Shared setup for the launcher's scenarios (tests/integration/runtime-*.sh); sourced, not run.
# Makes a tiny rootfs (busybox-static + dynoprobe) in a private temp dir, a private run dir,
# and cleans up every dyno cgroup this run created, even after a failure.
. "$top_srcdir/tests/lib/tap.sh"
require_root
DYNO=$top_builddir/dyno
PROBE=$top_builddir/tests/helpers/dynoprobe
export DYNOHOST_INIT=$top_builddir/dyno-init
for f in "$DYNO" "$PROBE" "$DYNOHOST_INIT"; do
	[ -x "$f" ] || tap_skip_all "not built: $f"
done
[ -x /bin/busybox ] || tap_skip_all "needs busybox-static at /bin/busybox"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	grep -qw overlay /proc/filesystems || tap_skip_all "no overlayfs"

RT_TMP=$(mktemp -d /tmp/dyt-rt.XXXXXX)
export DYNOHOST_RUN_DIR=$RT_TMP/run
RT_PREFIX=test-rt$TAP_TAG
rt_cleanup_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/dynohost/"$RT_PREFIX"-* /sys/fs/cgroup/dynohost/"$RT_PREFIX"-*; do
		[ -d "$d" ] || continue
		[ -f "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill"
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p"; done
		rmdir "$d" 2>/dev/null || { sleep 0.2; rmdir "$d"; }
	done
}
cleanup_push "rm -rf '$RT_TMP'"
cleanup_push rt_cleanup_cgroups

ROOT=$RT_TMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/busybox"
for a in sh cat echo env id ls pwd sleep true false hostname ps kill test grep wc head; do
	ln -s busybox "$ROOT/bin/$a"
done
cp "$PROBE" "$ROOT/bin/dynoprobe"
cp "$PROBE" "$ROOT/bin/dynoprobe-suid"
chmod 4755 "$ROOT/bin/dynoprobe-suid"
printf 'root:x:0:0:root:/:/bin/sh\ndyno:x:10000:10000:dyno:/app:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\ndyno:x:10000:\n' >"$ROOT/etc/group"

_rt_n=0
# dx [dyno exec options] -- CMD...: run in a fresh dyno of the test rootfs; unique id per call.
dx() {
	_rt_n=$((_rt_n + 1))
	"$DYNO" exec --net none -q --stack "$ROOT" --id "$RT_PREFIX-$BASHPID-$_rt_n" "$@"
}
# dx_status [options] -- CMD...: prints the exit status only.
dx_status() {
	dx "$@" >/dev/null 2>&1
	echo $?
}
# wait_for FILE REGEX: poll (bounded, 20 s) until FILE matches.
wait_for() {
	local i
	for ((i = 0; i < 1000; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
# cg_dir ID CONTROLLER: the dyno's cgroup directory for a v1 controller, or its unified one.
cg_dir() {
	if [ -d /sys/fs/cgroup/$2/dynohost/$1 ]; then echo /sys/fs/cgroup/$2/dynohost/$1
	elif [ -d /sys/fs/cgroup/dynohost/$1 ]; then echo /sys/fs/cgroup/dynohost/$1
	fi
}
# Leftovers of this run: cgroups, run dirs, mounts under the temp dir.
rt_leftover_cgroups() {
	ls -d /sys/fs/cgroup/*/dynohost/"$RT_PREFIX"-* /sys/fs/cgroup/dynohost/"$RT_PREFIX"-* 2>/dev/null | wc -l
}
rt_leftover_mounts() {
	grep -c " $RT_TMP" /proc/self/mountinfo
}
