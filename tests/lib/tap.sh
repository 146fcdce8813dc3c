# TAP helpers for the shell scenarios in tests/integration. Source it:
#   . "$top_srcdir/tests/lib/tap.sh"
# Every scenario registers its cleanup with `cleanup_push CMD`; cleanups run in reverse order
# on exit, success or failure, so a failing test leaves nothing behind.

_tap_n=0
_tap_failed=0
_tap_cleanups=()

tap_plan() { echo "1..$1"; _tap_planned=$1; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 77; }
tap_diag() { printf '# %s\n' "$*"; }
tap_ok() { # tap_ok STATUS NAME...
	local st=$1; shift
	_tap_n=$((_tap_n + 1))
	if [ "$st" -eq 0 ]; then echo "ok $_tap_n - $*"; else echo "not ok $_tap_n - $*"; _tap_failed=$((_tap_failed + 1)); fi
	return "$st"
}
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
# ok NAME -- CMD...   : passes when CMD exits 0
ok() { local name=$1; shift; [ "$1" = "--" ] && shift; "$@" >/dev/null 2>&1; tap_ok $? "$name"; }
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then tap_ok 0 "$3"; else tap_ok 1 "$3"; tap_diag "got '$1', want '$2'"; fi
}
# like GOT REGEX NAME
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then tap_ok 0 "$3"; else tap_ok 1 "$3"; tap_diag "got '$1', want match of /$2/"; fi
}
require_root() { [ "$(id -u)" = 0 ] || tap_skip_all "needs root"; }
require_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || tap_skip_all "needs $c"; done; }

cleanup_push() { _tap_cleanups+=("$*"); }
_tap_run_cleanups() {
	local i
	for ((i = ${#_tap_cleanups[@]} - 1; i >= 0; i--)); do eval "${_tap_cleanups[$i]}" >/dev/null 2>&1 || true; done
	_tap_cleanups=()
}
tap_done() {
	[ -n "${_tap_planned:-}" ] || echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ] && { [ -z "${_tap_planned:-}" ] || [ "$_tap_planned" -eq "$_tap_n" ]; }
}
trap '_tap_run_cleanups' EXIT
trap 'exit 130' INT TERM

# A unique short tag for this run, for names of kernel objects (links must fit 15 chars).
TAP_TAG=$(printf '%04x' $(( ($$ ^ RANDOM) & 0xffff )))
