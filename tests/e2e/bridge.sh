#!/bin/bash
# bridge.sh - weft's bridge mode and IPAM driven through a real dockerd: containers talk by
# IP and by name, reach the host and (masqueraded) the outside, internal and isolated
# networks stay closed, bad input is refused with a clear message and leaves nothing, and
# after docker rm / network rm no weft device, rule or record remains.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
lab_init bridge
lab_host 1
lab_outside
lab_image 1
lab_start_weftd 1 --host-id h1 -d

H="$LAB-h1"
DB=$DATADIR/h1/weft/weft.db
IMG=weft-test:local
W=(-d weft --ipam-driver weft)

# What weft owns on the host: devices, firewall rules, store keys. Compared before and after.
weft_devices() { lab_weft_devices 1; }
# Records by key only: Docker's rollback of a refused network with n1's subnet releases the pool,
# which n1's record notes (pool_released) and finishes when n1 goes.
snapshot() { lab_weft_state 1 2>&1 | sed 's/\t.*//'; }
in_c() { dk 1 exec "$1" "${@:2}"; }
ip_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

# ---------------------------------------------------------------- one network, two containers
clean=$(snapshot)
expect_ok "create weft network n1 (explicit subnet, gateway, aux)" \
	dk 1 network create "${W[@]}" --subnet 10.231.0.0/24 --gateway 10.231.0.1 \
	--aux-address reserved=10.231.0.5 n1
br=$(weft_devices | grep '^weft-b' | head -1)
expect_ok "n1 has a bridge with the gateway address" \
	bash -c "ip -n $H -4 -o addr show dev '$br' | grep -q 'inet 10.231.0.1/24'"
expect_ok "the pool, gateway and aux address are recorded" \
	bash -c "mdb_dump -n -p -s data '$DB' | grep -q 'weft/v1/pools/10.231.0.0-24/addr/10.231.0.5' &&
		 mdb_dump -n -p -s data '$DB' | grep -q 'weft/v1/pools/10.231.0.0-24/addr/10.231.0.1' &&
		 mdb_dump -n -p -s data '$DB' | grep -q 'weft/v1/local/nets/'"
expect_ok "run ca on n1" dk 1 run -d --name ca --network n1 $IMG sleep 600
expect_ok "run cb on n1 with --ip" dk 1 run -d --name cb --network n1 --ip 10.231.0.50 $IMG sleep 600
a=$(ip_of ca n1)
expect_ok "ca got an address of 10.231.0.0/24 ($a), not the gateway or aux" \
	bash -c "[[ '$a' == 10.231.0.* && '$a' != 10.231.0.1 && '$a' != 10.231.0.5 ]]"
expect_ok "cb got its --ip" bash -c "[ '$(ip_of cb n1)' = 10.231.0.50 ]"
expect_ok "cb's MAC is 02:42 and its IPv4 address" \
	bash -c "dk 1 exec cb cat /sys/class/net/eth0/address | grep -qx '02:42:0a:e7:00:32'"
expect_ok "default route via the gateway" bash -c "dk 1 exec ca ip route | grep -q 'default via 10.231.0.1'"
expect_ok "ca pings cb by IP" in_c ca ping -c2 -W2 10.231.0.50
expect_ok "cb pings ca by name (Docker's DNS)" in_c cb ping -c2 -W2 ca
expect_ok "ca pings the host (gateway)" in_c ca ping -c2 -W2 10.231.0.1
expect_ok "ca reaches the host's underlay address" in_c ca ping -c2 -W2 192.0.2.1
expect_fail_msg "the outside namespace has no route back to 10.231.0.0/24" '[Uu]nreachable|No route' \
	ip -n "$LAB-out" route get 10.231.0.2 from 192.0.2.254 iif lo
expect_ok "ca reaches the outside through masquerade" in_c ca ping -c2 -W2 192.0.2.254
expect_ok "the container's veth is enslaved to the bridge" \
	bash -c "ip -n $H -o link show master '$br' | grep -q ' wv'"

# ---------------------------------------------------------------- address errors
expect_fail_msg "--ip held by another container is refused" 'already used by another container' \
	dk 1 run --rm --network n1 --ip 10.231.0.50 $IMG true
expect_ok "... and cb keeps its address" in_c ca ping -c1 -W2 10.231.0.50
expect_ok "... and its record" bash -c "mdb_dump -n -p -s data '$DB' | grep -q 'pools/10.231.0.0-24/addr/10.231.0.50'"
expect_fail_msg "--ip of the aux address is refused" '10.231.0.5 is reserved on this network' \
	dk 1 run --rm --network n1 --ip 10.231.0.5 $IMG true
expect_fail_msg "--ip of the gateway is refused" 'in use as gateway address' \
	dk 1 run --rm --network n1 --ip 10.231.0.1 $IMG true

# ---------------------------------------------------------------- MTU, --ip-range, automatic pools
expect_ok "create n2 with -o mtu=1400 and --ip-range" \
	dk 1 network create "${W[@]}" --subnet 10.232.0.0/24 --ip-range 10.232.0.128/28 -o mtu=1400 n2
expect_ok "run cc on n2" dk 1 run -d --name cc --network n2 $IMG sleep 600
expect_ok "cc's eth0 has MTU 1400" bash -c "dk 1 exec cc cat /sys/class/net/eth0/mtu | grep -qx 1400"
c=$(ip_of cc n2)
expect_ok "cc's address $c lies in --ip-range 10.232.0.128/28" \
	test "${c##*.}" -ge 128 -a "${c##*.}" -le 143
# A host route over the first free default-pool subnet: auto pools must step around it.
ip -n "$H" route add 10.200.0.0/24 via 192.0.2.254
expect_ok "create auto-pool network n3 (no --subnet)" dk 1 network create "${W[@]}" n3
expect_ok "create auto-pool network n4 (no --subnet)" dk 1 network create "${W[@]}" n4
s3=$(dk 1 network inspect -f '{{(index .IPAM.Config 0).Subnet}}' n3)
s4=$(dk 1 network inspect -f '{{(index .IPAM.Config 0).Subnet}}' n4)
expect_ok "auto pools avoid the host route and each other ($s3, $s4)" \
	bash -c "[ '$s3' != 10.200.0.0/24 ] && [ '$s4' != 10.200.0.0/24 ] && [ '$s3' != '$s4' ] && [[ '$s3' == 10.200.* ]]"
ip -n "$H" route del 10.200.0.0/24 via 192.0.2.254

# ---------------------------------------------------------------- isolation and internal networks
expect_fail_msg "ca (n1) cannot reach cc (n2): weft networks are isolated" '100% packet loss' \
	in_c ca ping -c2 -W1 "$c"
expect_fail_msg "cc (n2) cannot reach ca (n1)" '100% packet loss' in_c cc ping -c2 -W1 "$a"
expect_ok "create internal network n5" dk 1 network create "${W[@]}" --internal --subnet 10.233.0.0/24 n5
expect_ok "run cd, ce on n5" bash -c "dk 1 run -d --name cd --network n5 $IMG sleep 600 && dk 1 run -d --name ce --network n5 $IMG sleep 600"
expect_ok "cd pings ce on the internal network" in_c cd ping -c2 -W2 ce
expect_ok "cd has no default route" bash -c "! dk 1 exec cd ip route | grep -q default"
expect_fail_msg "cd cannot reach the outside" 'unreachable|100% packet loss' in_c cd ping -c2 -W1 192.0.2.254
expect_fail_msg "ca cannot reach cd on the internal network" '100% packet loss' \
	in_c ca ping -c2 -W1 "$(ip_of cd n5)"

# ---------------------------------------------------------------- a bridge named by the user
# weft's iptables chain begins with a rule that lets a packet of no weft-* device (Docker's
# bridges) return at once, but only while every weft bridge has such a name.
skips() {
	lab_exec 1 iptables -S WEFT-FORWARD | sed -n 2p |
		grep -qx -- '-A WEFT-FORWARD ! -i weft-+ ! -o weft-+ -m comment --comment weft -j RETURN'
}
no_skip() {
	local out
	out=$(lab_exec 1 iptables -S WEFT-FORWARD) && ! grep -q -- '-j RETURN' <<<"$out"
}
expect_ok "WEFT-FORWARD begins with the rule that skips packets of other bridges" skips
expect_ok "create n6 with -o bridge_name=wfbr6" dk 1 network create "${W[@]}" --subnet 10.234.0.0/24 -o bridge_name=wfbr6 n6
expect_ok "... which takes that rule away" no_skip
expect_ok "cf on n6 (bridge wfbr6) reaches the outside and the gateway" bash -c "
	dk 1 run -d --name cf --network n6 $IMG sleep 600 >/dev/null &&
	dk 1 exec cf ping -c2 -W2 192.0.2.254 && dk 1 exec cf ping -c2 -W2 10.234.0.1"
expect_fail_msg "ca (n1) cannot reach cf (n6)" '100% packet loss' in_c ca ping -c2 -W1 "$(ip_of cf n6)"
expect_ok "docker rm cf, network rm n6" bash -c "dk 1 rm -f cf >/dev/null && dk 1 network rm n6 >/dev/null"
expect_ok "... and the rule is back, first in WEFT-FORWARD" skips
expect_ok "ca still reaches the outside" in_c ca ping -c2 -W2 192.0.2.254

# ---------------------------------------------------------------- connect / disconnect
expect_ok "docker network connect n2 ca" dk 1 network connect n2 ca
expect_ok "ca now has eth1 on n2 and reaches cc over it" in_c ca ping -c2 -W2 "$c"
expect_ok "docker network disconnect n2 ca" dk 1 network disconnect n2 ca
expect_ok "ca's eth1 is gone" bash -c "! dk 1 exec ca ip link show eth1"
expect_ok "only ca, cb, cc, cd, ce veths remain on the host (5)" \
	bash -c "[ \$(ip -n $H -o link show | grep -c ': wv') -eq 5 ]"

# ---------------------------------------------------------------- bad input leaves nothing
# expect_state DESC REF: weft's devices, rules and records are exactly REF
expect_state() { expect_same "$1" "$2" "$(snapshot)"; }
before=$(snapshot)
bad() { # bad DESC REGEX ARGS... : network create must fail with REGEX and change nothing
	local desc=$1 re=$2
	shift 2
	expect_fail_msg "$desc" "$re" dk 1 network create "$@" refused
	expect_state "... and leaves no device, rule or record" "$before"
	# not a name of hex digits: docker network rm takes one that names no network as an ID
	# prefix ("bad" removed n3, whose ID began badaca61)
	dk 1 network rm refused >/dev/null 2>&1
}
bad "unknown option" "unknown option 'colour'" "${W[@]}" --subnet 10.240.0.0/24 -o colour=blue
bad "routed and --internal" "mode routed cannot be --internal: its containers are routed to other hosts" \
	"${W[@]}" --internal --subnet 10.240.0.0/16 -o mode=routed
bad "overlay without a cluster store" "mode overlay joins hosts through a cluster store, and this weftd has none" \
	"${W[@]}" --subnet 10.240.0.0/24 -o mode=overlay
bad "unknown mode" "'ring' is not a mode \(allowed: bridge, overlay, routed, macvlan\)" "${W[@]}" --subnet 10.240.0.0/24 -o mode=ring
bad "mtu not a number" "option 'mtu': 'big' is not a number \(allowed: 68..65535\)" "${W[@]}" --subnet 10.240.0.0/24 -o mtu=big
bad "mtu out of range" "option 'mtu': 70000 is out of range" "${W[@]}" --subnet 10.240.0.0/24 -o mtu=70000
bad "masquerade not a boolean" "'maybe' is not a boolean" "${W[@]}" --subnet 10.240.0.0/24 -o masquerade=maybe
bad "bridge_name too long" "is not a valid interface name" "${W[@]}" --subnet 10.240.0.0/24 -o bridge_name=averyveryverylongname
bad "bridge_name with a slash" "is not a valid interface name" "${W[@]}" --subnet 10.240.0.0/24 -o bridge_name=a/b
bad "bridge_name of an existing device" "interface 'docker0' already exists" "${W[@]}" --subnet 10.240.0.0/24 -o bridge_name=docker0
# (weft's messages on Docker 20.10; Docker 25+ checks subnets and --ip itself, in its own words)
bad "subnet with host bits" "has host bits set; did you mean 10.240.0.0/24|it should be 10.240.0.0/24" \
	"${W[@]}" --subnet 10.240.0.9/24
bad "prefix length 33" "invalid CIDR address|not a valid CIDR|invalid CIDR block notation" \
	"${W[@]}" --subnet 10.240.0.0/33
bad "subnet too small" "too small: weft needs at least a /30" "${W[@]}" --subnet 10.240.0.0/31
bad "subnet overlapping n1" "overlaps 10.231.0.0/24|already used by weft network" "${W[@]}" --subnet 10.231.0.0/16
bad "same subnet as n1" "subnet 10.231.0.0/24 is already used by weft network" "${W[@]}" --subnet 10.231.0.0/24
bad "ip-range outside the subnet" "not inside --subnet|no matching subnet|is not in" "${W[@]}" --subnet 10.240.0.0/24 --ip-range 10.241.0.0/28
bad "gateway outside the subnet" "not in subnet|no matching subnet" "${W[@]}" --subnet 10.240.0.0/24 --gateway 10.241.0.1
bad "gateway = network address" "network or broadcast address" "${W[@]}" --subnet 10.240.0.0/24 --gateway 10.240.0.0
bad "--ipam-opt" "unknown --ipam-opt 'size'" "${W[@]}" --subnet 10.240.0.0/24 --ipam-opt size=8
bad "two subnets" "exactly one IPv4 subnet" "${W[@]}" --subnet 10.240.0.0/24 --subnet 10.241.0.0/24
expect_fail_msg "--ip outside the subnet is refused" 'does not belong|not in|no configured subnet or ip-range contain' \
	dk 1 run --rm --network n1 --ip 10.9.9.9 $IMG true
expect_state "... and leaves nothing" "$before"

# ---------------------------------------------------------------- restarts keep the data path
expect_ok "SIGTERM weftd" lab_stop_weftd 1 TERM
expect_ok "bridge and veths stay while weftd is down" bash -c "ip -n $H link show '$br' && ip -n $H -o link | grep -q ': wv'"
expect_ok "containers keep talking while weftd is down" in_c ca ping -c2 -W2 10.231.0.50
lab_start_weftd 1 --host-id h1 -d
expect_ok "after the restart a new container joins n1" dk 1 run --rm --network n1 $IMG ping -c1 -W2 10.231.0.50
lab_stop_dockerd 1 && lab_start_dockerd 1 && ok "restart dockerd (containers stop, pools are replayed)"
expect_ok "after the dockerd restart, containers start again on n1 and talk" \
	bash -c "dk 1 start ca cb >/dev/null && dk 1 exec ca ping -c2 -W2 10.231.0.50"

# ---------------------------------------------------------------- a host that forwarded nothing
# The operator turned IPv4 forwarding off (dockerd --ip-forward=false leaves it so): weft turns
# it on for a bridge network, as Docker does, with the FORWARD policy DROP first, so the host
# does not start routing between all its interfaces.
ip netns exec "$H" sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
lab_exec 1 iptables -w -P FORWARD ACCEPT
expect_ok "forwarding off, FORWARD policy ACCEPT: create n6" dk 1 network create "${W[@]}" --subnet 10.236.0.0/24 n6
fwd_drop() { [ "$(ip netns exec "$H" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] &&
	lab_exec 1 iptables -w -S FORWARD | grep -qx -- '-P FORWARD DROP'; }
expect_ok "... forwarding is on, the FORWARD policy DROP" fwd_drop
expect_ok "... and weftd says so" grep -q "enabled IPv4 forwarding, with the iptables FORWARD policy DROP" "$LABDIR/h1/weftd.log"
expect_ok "... a container on n6 reaches the outside through weft's accepts" dk 1 run --rm --network n6 $IMG ping -c2 -W2 192.0.2.254
expect_ok "network rm n6" dk 1 network rm n6

# ---------------------------------------------------------------- IPv6: dual-stack networks
# The host forwarded no IPv6 (a new namespace does not): weft turns it on for n7 as for IPv4,
# with ip6tables' FORWARD policy DROP first and its accepts in ip6tables' WEFT-FORWARD. The host
# has a default route learned from router advertisements on eth0 (accept_ra 1), which the
# kernel stops renewing with forwarding on: weftd says so.
ip -n "$H" -6 route add default via fe80::99 dev eth0 proto ra metric 4096
ip netns exec "$H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1
ip6_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").GlobalIPv6Address}}" "$1"; }
expect_ok "create n7 with --ipv6 (10.237.0.0/24 and fd00:237::/64)" \
	dk 1 network create "${W[@]}" --ipv6 --subnet 10.237.0.0/24 --subnet fd00:237::/64 \
	--aux-address r6=fd00:237::5 n7
br7=weft-b$(dk 1 network inspect -f '{{.Id}}' n7 | cut -c1-8)
expect_ok "n7's bridge $br7 holds the IPv6 gateway fd00:237::1/64 next to 10.237.0.1/24" \
	bash -c "ip -n $H -o addr show dev '$br7' | grep -q 'inet6 fd00:237::1/64' &&
		 ip -n $H -o addr show dev '$br7' | grep -q 'inet 10.237.0.1/24'"
expect_ok "run c6a and c6b (--ip6 fd00:237::50) on n7" \
	bash -c "dk 1 run -d --name c6a --network n7 $IMG sleep 600 >/dev/null &&
		 dk 1 run -d --name c6b --network n7 --ip6 fd00:237::50 $IMG sleep 600 >/dev/null"
a6=$(ip6_of c6a n7)
expect_ok "c6a got an address of fd00:237::/64 ($a6), not the gateway or the aux address" \
	bash -c "[[ '$a6' == fd00:237::* && '$a6' != fd00:237::1 && '$a6' != fd00:237::5 ]]"
expect_ok "c6b got its --ip6" bash -c "[ '$(ip6_of c6b n7)' = fd00:237::50 ]"
expect_ok "the pool, the IPv6 gateway and aux address are recorded" \
	bash -c "mdb_dump -n -p -s data '$DB' | grep -q 'weft/v1/pools/fd00:237::-64/addr/fd00:237::1' &&
		 mdb_dump -n -p -s data '$DB' | grep -q 'weft/v1/pools/fd00:237::-64/addr/fd00:237::5'"
expect_ok "c6a has one interface with both addresses, and default routes via both gateways" \
	bash -c "dk 1 exec c6a ip -6 route | grep -q 'default via fd00:237::1' &&
		 dk 1 exec c6a ip route | grep -q 'default via 10.237.0.1' &&
		 [ \$(dk 1 exec c6a ls /sys/class/net | grep -vc '^lo$') = 1 ]"
expect_ok "c6a pings c6b over IPv6" in_c c6a ping6 -c2 -W2 fd00:237::50
expect_ok "c6a pings the IPv6 gateway (the host)" in_c c6a ping6 -c2 -W2 fd00:237::1
expect_ok "c6a reaches the host's IPv6 underlay address" in_c c6a ping6 -c2 -W2 2001:db8:2::1
expect_fail_msg "the outside namespace has no route back to fd00:237::/64" '[Uu]nreachable|No route' \
	ip -n "$LAB-out" -6 route get fd00:237::50 from 2001:db8:2::254 iif lo
expect_ok "c6a reaches the outside over IPv6 through masquerade" in_c c6a ping6 -c2 -W2 2001:db8:2::254
fwd6_drop() { [ "$(ip netns exec "$H" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] &&
	lab_exec 1 ip6tables -w -S FORWARD | grep -qx -- '-P FORWARD DROP'; }
expect_ok "IPv6 forwarding is on, ip6tables' FORWARD policy DROP" fwd6_drop
expect_ok "... and weftd says so" grep -q "enabled IPv6 forwarding, with the ip6tables FORWARD policy DROP" "$LABDIR/h1/weftd.log"
expect_ok "... and that eth0's default route from router advertisements will go (accept_ra 1)" \
	grep -q "IPv6 forwarding is on now, so the kernel ignores router advertisements on 'eth0' (accept_ra 1).*net.ipv6.conf.eth0.accept_ra=2 keeps it" \
	"$LABDIR/h1/weftd.log"
ip -n "$H" -6 route del default via fe80::99 dev eth0 proto ra metric 4096
accepts6() { lab_exec 1 ip6tables -w -S WEFT-FORWARD | grep -q -- "-i $br7 "; }
expect_ok "ip6tables' WEFT-FORWARD accepts n7's bridge" accepts6
masq6() { ip netns exec "$H" nft list chain inet weft postrouting | grep -qF "ip6 saddr fd00:237::/64 oifname != \"$br7\" masquerade"; }
expect_ok "table inet weft masquerades fd00:237::/64" masq6
expect_ok "weftctl networks shows both subnets" bash -c "wctl 1 networks | grep -q '10.237.0.0/24,fd00:237::/64'"
expect_ok "weftctl endpoints shows c6b's IPv6 address" bash -c "wctl 1 endpoints | grep -q ',fd00:237::50/64'"

# without an IPv6 --subnet: a /64 of the cluster's unique local /48, kept for good
expect_ok "create n8 with --ipv6 and only an IPv4 subnet" \
	dk 1 network create "${W[@]}" --ipv6 --subnet 10.238.0.0/24 n8
ula=$(sed -n 's/.*IPv6 networks without --subnet get theirs from \([^ ]*\)$/\1/p' "$LABDIR/h1/weftd.log" | tail -1)
s8=$(dk 1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' n8)
g8=$(dk 1 network inspect -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' n8 | tr ' ' '\n' | grep : | sed 's|/.*||')
lab_log "the cluster's unique local prefix: $ula; n8: $s8, gateway $g8"
expect_ok "n8 got a /64 of the cluster's unique local /48 ($ula)" \
	bash -c "[[ '$ula' =~ ^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/48$ && '$s8' == *' ${ula%%::/48}:'*'/64 '* ]]"
expect_ok "... kept in the store for every host" bash -c "mdb_dump -n -p -s data '$DB' | grep -qx ' weft/v1/ula'"
expect_ok "a container on n8 pings its IPv6 gateway $g8" dk 1 run --rm --network n8 $IMG ping6 -c2 -W2 "$g8"
expect_ok "network rm n8" dk 1 network rm n8

before=$(snapshot)
bad "IPv6 /127" "fd00:240::/127 is too small: weft needs at least a /126" "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet fd00:240::/127
bad "IPv6 link-local" "fe80::/64 is link-local" "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet fe80::/64
bad "IPv6 multicast" "ff05::/64 is multicast" "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet ff05::/64
bad "an IPv6 subnet n7 has" "overlaps fd00:237::/64" "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet fd00:237::/80
bad "a scope id" "invalid|not a valid" "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet fe80::%eth0/64
bad "IPv6 gateway outside the subnet" "not in subnet|no matching subnet|not a host address" \
	"${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet fd00:240::/64 --gateway fd00:241::1
bad "IPv6 slices that do not fit in mode routed" \
	"option 'host_prefix6': /64 slices do not fit in fd00:240::/64 \(allowed: /65 to /88\)" \
	"${W[@]}" -o mode=routed -o host_prefix6=64 --ipv6 --subnet 10.240.0.0/16 --subnet fd00:240::/64
# Refusals after which Docker keeps what it took before, for weft's reconcile to free (two
# looks, --reconcile-interval 30): Docker 28 takes an IPv4-mapped subnet for a second IPv4
# one and keeps the first pool when weft refuses it; Docker 20.10 asks for a container's IPv4
# address, then refuses an --ip6 outside the subnet itself and never gives the address back.
expect_fail_msg "IPv4-mapped" "is IPv4-mapped: give the IPv4 subnet itself" \
	dk 1 network create "${W[@]}" --ipv6 --subnet 10.240.0.0/24 --subnet ::ffff:10.241.0.0/120 refused
dk 1 network rm refused >/dev/null 2>&1
expect_fail_msg "--ip6 outside the subnet is refused" 'does not belong|not in|no configured subnet or ip-range contain' \
	dk 1 run --rm --network n7 --ip6 fd00:999::9 $IMG true
as_before() { [ "$(snapshot)" = "$before" ]; }
lab_wait_for as_before 75
expect_state "... and leaves nothing (once the reconcile freed what Docker kept)" "$before"

# ---------------------------------------------------------------- nothing leaks
expect_ok "remove all containers" bash -c "dk 1 rm -f ca cb cc cd ce c6a c6b >/dev/null"
expect_ok "remove all networks" dk 1 network rm n1 n2 n3 n4 n5 n7
expect_state "no weft device, rule or record remains" "$clean"
lab_log "left: $(snapshot | tr '\n' ' ')"
expect_ok "weftd is still running" kill -0 "$WEFTD_PID_1"
lab_summary
