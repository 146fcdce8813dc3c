#!/usr/bin/env bash
# Runs inside the cgroup v2 VM (tests/vm/check-cgroup2.sh starts it): each test through
# automake's TAP driver, so .log/.trs files land in OUTDIR exactly as `make check` writes them.
# Usage: cgroup2-tests.sh OUTDIR SRCDIR BUILDDIR TEST...
# A TEST is a program under BUILDDIR or a shell script under SRCDIR (run with bash).
# Exit 0 when every test passed or skipped, 1 otherwise.
set -uo pipefail
out=$1 srcdir=$2 builddir=$3
shift 3

export top_srcdir=$srcdir top_builddir=$builddir
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export AM_TAP_AWK=awk DYNOHOST_TEST_VM=cgroup2
cd "$builddir" || exit 1

run_one() {
	local t=$1 cmd
	if [ -f "$builddir/$t" ] && [ -x "$builddir/$t" ]; then
		cmd=("$builddir/$t")
	elif [ -f "$srcdir/$t" ]; then
		cmd=(bash "$srcdir/$t")
	else
		cmd=(sh -c "echo 'Bail out! $t not found in the build or source tree'; exit 99")
	fi
	mkdir -p "$out/$(dirname "$t")"
	bash "$srcdir/build-aux/tap-driver.sh" --test-name "$t" --log-file "$out/$t.log" \
		--trs-file "$out/$t.trs" --color-tests no --enable-hard-errors yes \
		--expect-failure no -- "${cmd[@]}"
}

# All but the last test run $V2VM_JOBS at a time (one per vCPU), as `make -j check` runs them
# on the host; the last one (the leftovers check) runs alone after them.
jobs=${V2VM_JOBS:-$(nproc)}
n=$#
i=0
for t in "$@"; do
	i=$((i + 1))
	[ "$i" -eq "$n" ] && break
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	run_one "$t" &
done
wait
[ "$n" -gt 0 ] && run_one "${!n}"

rc=0
for t in "$@"; do
	grep -q '^:global-test-result: \(PASS\|SKIP\|XFAIL\)' "$out/$t.trs" 2>/dev/null || rc=1
done
exit $rc
