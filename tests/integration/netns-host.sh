#!/usr/bin/env bash
# netns on the real host's netns, the way the demo runs: the host (root netns) owns the bridge
# and gateway and reaches a dyno's port directly (router -> dyno); the dyno reaches the
# gateway only on exposed ports. Objects made here carry test names (bridge dyt*, table
# dyt*), use a /24 no route on this host covers, forwarding is left alone (--no-ip-forward),
# and everything is removed at the end. Traffic stays between the host and a netns this test
# made.
. "$top_srcdir/tests/lib/tap.sh"
require_root
require_cmd ip nsenter nft

dn=$top_builddir/dyno-net
probe=$top_builddir/tests/integration/netns-probe
[ -x "$dn" ] && [ -x "$probe" ] || tap_skip_all "build dyno-net and netns-probe first"

t=dyt$TAP_TAG
x=$((0x$TAP_TAG % 200 + 20))
net=10.213.$x
# The subnet must be unknown to this host: no address and no route in it.
[ -z "$(ip -4 route show to match $net.1 | grep -v '^default')" ] ||
	tap_skip_all "$net.0/24 is routed on this host"
ip -4 -o addr | grep -q " $net\." && tap_skip_all "$net.0/24 is in use on this host"

A=$t-a
state=$(mktemp -d /tmp/dyt-host-XXXXXX)
cleanup_push "rm -rf '$state'"
ip netns add $A || tap_skip_all "cannot create a network namespace"
cleanup_push "ip netns del '$A'"
pids=()
cleanup_push 'for p in "${pids[@]}"; do kill "$p"; done'
DN() { "$dn" --bridge ${t}b --subnet $net.0/24 --table $t --state-dir "$state" \
	--host-port 8080 --no-ip-forward "$@"; }
cleanup_push "DN uninstall"
serve() { local ns=$1; shift; local p; p=$($ns "$probe" listen "$@") && pids+=("$p"); }
inA() { nsenter --net=/run/netns/$A "$@"; }

fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)

table_handle() { nft -a list table inet $t | sed -n '1s/.*# handle //p'; }

tap_plan 13
ok "setup on the host" -- DN setup
h=$(table_handle)
DN setup
h2=$(table_handle)
ok "a second setup leaves the table as it is (it holds the same rules)" -- \
	test -n "$h" -a "$h2" = "$h"
masq=$(nft -a list chain inet $t postrouting | sed -n 's/.*masquerade # handle //p')
nft delete rule inet $t postrouting handle "$masq"
DN setup
h3=$(table_handle)
ok "a setup after a rule was deleted by hand loads the table again" -- \
	test -n "$masq" -a -n "$h3" -a "$h3" != "$h"
like "$(nft list chain inet $t postrouting)" "masquerade" "and the rule is back"
a=$(DN attach web.1 /run/netns/$A)
is "$a" "$net.2" "the dyno got $net.2"
serve inA 0.0.0.0 7000
serve env $net.1 8080
serve env $net.1 9090
is "$("$probe" connect $a 7000 2>&1)" "peer $net.1" "the host connects to the dyno's port"
is "$(inA "$probe" connect $net.1 8080 2>&1)" "peer $a" "the dyno reaches the exposed gateway port"
like "$(inA "$probe" connect $net.1 9090 3000 2>&1)" '^(EHOSTUNREACH|ETIMEDOUT)$' \
	"the dyno cannot reach a host port that is not exposed"
is "$(cat /proc/sys/net/ipv4/ip_forward)" "$fwd_before" "ip_forward untouched (--no-ip-forward)"
ok "detach" -- DN detach web.1
ok "uninstall" -- DN uninstall
ok "bridge ${t}b is gone" -- sh -c "! ip link show ${t}b 2>/dev/null"
ok "table inet $t is gone from the host" -- sh -c "! nft list table inet $t"
tap_done
