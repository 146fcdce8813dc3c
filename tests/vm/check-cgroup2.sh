#!/usr/bin/env bash
# `make check-cgroup2`: the runtime's cgroup integration tests on a pure cgroup v2 kernel.
# Compiled on the host, run in the VM of tests/vm/run-in-v2vm.sh (the build directory is its
# writable share), results as .log/.trs under BUILDDIR/tests/vm/cgroup2 through automake's TAP
# driver, so tests/run-all counts them. When the VM cannot run here, every test is recorded as
# SKIP with the reason; when the VM dies, the tests without results are recorded as ERROR.
# Usage: check-cgroup2.sh SRCDIR BUILDDIR TEST...
set -uo pipefail
srcdir=$(cd "$1" && pwd) builddir=$(cd "$2" && pwd)
shift 2
tests=("$@" tests/vm/leftovers.sh)
out=$builddir/tests/vm/cgroup2
rm -rf "$out"
mkdir -p "$out"

# One synthetic result for a test the VM did not run.
record() { # record TEST RESULT REASON
	mkdir -p "$out/$(dirname "$1")"
	printf '%s: %s\n' "$2" "$3" >"$out/$1.log"
	printf ':test-result: %s\n:global-test-result: %s\n:recheck: no\n:copy-in-global-log: yes\n' \
		"$2" "$2" >"$out/$1.trs"
	echo "$2: $1 (cgroup v2 VM: $3)"
}

# The VM mounts tmpfs on these; a source tree there is shared separately.
ro=
case "$srcdir" in /tmp/* | /run/* | /var/tmp/* | /root/*) ro=$srcdir ;; esac

# Under software emulation the guest kernel has been seen to hang in soft lockups on a busy
# host (the VM then ends without a status, 255): such a run says nothing about dynohost, so a
# VM that dies that way is booted once more. Test failures are never retried. One vCPU: two
# emulated vCPUs on two shared host cores are the likely cause of those lockups (both vCPUs were
# stuck at once), and the suite takes no longer on one.
start=$(date +%s)
for attempt in 1 2; do
	V2VM_WORK=$builddir V2VM_CACHE=${V2VM_CACHE:-$builddir/tests/vm/cache} \
		V2VM_TIMEOUT=${V2VM_TIMEOUT:-300} V2VM_SMP=${V2VM_SMP:-1} V2VM_RO=$ro \
		bash "$srcdir/tests/vm/run-in-v2vm.sh" \
		bash "$srcdir/tests/vm/cgroup2-tests.sh" "$out" "$srcdir" "$builddir" "${tests[@]}" \
		2> >(tee "$out/vm.err" >&2)
	rc=$?
	wait
	[ "$rc" -eq 255 ] && [ "$attempt" -eq 1 ] || break
	echo "check-cgroup2: the VM died without a status; booting it once more" >&2
	find "$out" -name '*.trs' -delete
done
secs=$(($(date +%s) - start))

if [ "$rc" -eq 77 ]; then
	why=$(sed -n 's/^v2vm: SKIP: //p' "$out/vm.err" | head -1)
	for t in "${tests[@]}"; do record "$t" SKIP "${why:-the VM cannot run on this machine}"; done
	echo "check-cgroup2: skipped (${secs}s)"
	exit 0
fi
for t in "${tests[@]}"; do
	[ -s "$out/$t.trs" ] || record "$t" ERROR "no result (VM status $rc)"
done
results=$(find "$out" -name '*.trs' -exec cat {} +)
pass=$(grep -c '^:test-result: \(PASS\|XFAIL\)' <<<"$results")
fail=$(grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' <<<"$results")
echo "check-cgroup2: $pass passed, $fail failed in the cgroup v2 VM (${secs}s, VM status $rc)"
[ "$rc" -eq 0 ] && [ "$fail" -eq 0 ]
