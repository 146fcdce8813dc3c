#!/usr/bin/env bash
# netns reachability, isolation and egress, on the real kernel. The whole world is made of
# network namespaces this test creates: a fake host H (bridge, gateway, firewall table,
# forwarding), dynos A and B attached to it with dyno-net, and an upstream U reachable from H
# only. Nothing is sent to any address outside them, and the real host's links, routes and
# firewall are not touched.
. "$top_srcdir/tests/lib/tap.sh"
require_root
require_cmd ip nsenter nft bridge

dn=$top_builddir/dyno-net
probe=$top_builddir/tests/integration/netns-probe
[ -x "$dn" ] && [ -x "$probe" ] || tap_skip_all "build dyno-net and netns-probe first"

t=dyt$TAP_TAG
H=$t-h A=$t-a B=$t-b U=$t-u
state=$(mktemp -d /tmp/dyt-reach-XXXXXX)
cleanup_push "rm -rf '$state'"
for ns in $H $A $B $U; do
	ip netns add "$ns" || tap_skip_all "cannot create network namespaces"
	cleanup_push "ip netns del '$ns'"
done
# Server processes we start are killed by pid at exit.
pids=()
cleanup_push 'for p in "${pids[@]}"; do kill "$p"; done'
inns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }
serve() { local ns=$1; shift; local p; p=$(inns "$ns" "$probe" listen "$@") && pids+=("$p"); }
reach() { inns "$1" "$probe" connect "${@:2}" 2>&1; }
DN() { inns $H "$dn" --bridge ${t}b --table $t --state-dir "$state" --host-port 8080 \
	--host-port 53 "$@"; }

tap_plan 29

ip -n $H link set lo up
ok "dyno-net setup in the fake host" -- DN setup
ok "bridge ${t}b is up in the fake host" -- sh -c "ip -n $H link show ${t}b | grep -Eq '[<,]UP[,>]'"
ok "firewall table inet $t exists in the fake host" -- inns $H nft list table inet $t
ok "and not on the real host" -- sh -c "! nft list table inet $t"
is "$(inns $H cat /proc/sys/net/ipv4/ip_forward)" 1 "forwarding is on in the fake host"

a=$(DN attach web.1 /run/netns/$A)
b=$(DN attach web.2 /run/netns/$B)
is "$a $b" "172.30.0.2 172.30.0.3" "dynos A and B got distinct addresses"
like "$(bridge -n $H -d link show | grep -c 'isolated on')" '^2$' "both bridge ports are isolated"
mac_a=$(ip -n $A -br link show eth0 | awk '{print $3}')
like "$(ip -n $H neigh show $a)" "lladdr $mac_a .*PERMANENT" \
	"the host's neighbour entry for A is A's MAC, permanent (no ARP, no ARP spoofing)"

# Upstream: a link from H to U; U has no route back to the dyno subnet, so only NAT works.
ip -n $H link add ${t}up type veth peer name eth0 netns $U
ip -n $H addr add 198.18.0.1/24 dev ${t}up && ip -n $H link set ${t}up up
ip -n $U addr add 198.18.0.2/24 dev eth0 && ip -n $U link set eth0 up && ip -n $U link set lo up

serve $H 0.0.0.0 8080           # exposed to dynos (the router)
serve $H 172.30.0.1 53 udp      # exposed (DNS)
serve $H 0.0.0.0 9090           # not exposed
serve $A 0.0.0.0 7000
serve $B 0.0.0.0 7000
serve $U 0.0.0.0 80

is "$(reach $A 172.30.0.1 8080)" "peer $a" "A reaches the gateway on an exposed TCP port"
is "$(reach $A 172.30.0.1 53 udp)" "peer $a" "A reaches the gateway on an exposed UDP port"
inns $H "$dn" --bridge ${t}b --table $t --state-dir "$state" list >/dev/null
is "$(reach $A 172.30.0.1 8080)" "peer $a" "an admin command without --host-port keeps the firewall"
is "$(reach $H 172.30.0.1 9090)" "peer 172.30.0.1" "port 9090 serves on the host itself"
like "$(reach $A 172.30.0.1 9090 3000)" '^(EHOSTUNREACH|ETIMEDOUT|ECONNREFUSED)$' \
	"A cannot reach a host port that is not exposed"
like "$(reach $A 198.18.0.1 8080 3000)" '^(EHOSTUNREACH|ETIMEDOUT|ECONNREFUSED)$' \
	"A cannot reach an exposed port on another host address"
like "$(reach $A $b 7000 3000)" '^(EHOSTUNREACH|ETIMEDOUT)$' "A cannot reach B"
like "$(reach $B $a 7000 3000)" '^(EHOSTUNREACH|ETIMEDOUT)$' "B cannot reach A"
is "$(reach $H $a 7000)" "peer 172.30.0.1" "the host reaches A's port (router -> dyno)"
is "$(reach $H $b 7000)" "peer 172.30.0.1" "the host reaches B's port"

# Even with an on-link route forced inside A, the bridge does not carry A's frames to B.
ip -n $A route add $b/32 dev eth0
like "$(reach $A $b 7000 3000)" '^(EHOSTUNREACH|ETIMEDOUT)$' "A cannot reach B over L2 either"
ip -n $A route del $b/32 dev eth0

is "$(reach $A 198.18.0.2 80)" "peer 198.18.0.1" \
	"egress: upstream answers A and sees the host's address, not the dyno's"
is "$(reach $B 198.18.0.2 80)" "peer 198.18.0.1" "egress works for B too"
ip -n $U route add 172.30.0.0/16 via 198.18.0.1
like "$(reach $U $a 7000 3000)" '^(EHOSTUNREACH|ETIMEDOUT)$' \
	"upstream cannot open a connection to a dyno even with a route"

ok "detach A" -- DN detach web.1
like "$(reach $A 172.30.0.1 8080 2000)" '^(EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)$' \
	"a detached dyno is cut off at once"
is "$(DN list)" "web.2 $b/16 dvac1e0003" "only B's lease is left"
ok "reconcile with no live dyno" -- DN reconcile
is "$(ip -n $H -br link | grep -c '^dv')" 0 "no dyno link left in the fake host"
ok "uninstall" -- DN uninstall
ok "bridge and table are gone, state dir too" -- sh -c "! ip -n $H link show ${t}b 2>/dev/null \
	&& ! ip netns exec $H nft list table inet $t 2>/dev/null && [ ! -e '$state/leases' ]"
tap_done
