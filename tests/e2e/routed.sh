#!/bin/bash
# routed.sh - routed mode on three lab hosts sharing a cluster store (LAB_STORE=etcd, default,
# or consul): the same `docker network create -o mode=routed` on every host gives each host a
# slice of the subnet on a bridge of its own, the containers get the slice's prefix and its
# gateway, and every host routes the others' slices: over VXLAN (backend vxlan, the default) or
# straight to the other host (backend host-gw). Bad options are refused with a clear message and
# leave nothing; when everything is removed no device, route or key is left.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
lab_require
lab_init "routed-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2 3; do
	lab_host $h
	lab_image $h
	lab_start_weftd $h --host-id h$h --store "$LAB_STORE_URL" --lease-ttl $TTL
done
IMG=weft-test:local
RT=(-d weft --ipam-driver weft --subnet 10.244.0.0/16 -o mode=routed)

no_keys() { ! lab_store_keys "$1"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
weft_devices() { lab_weft_devices "$1"; }
no_devices() { ! weft_devices "$1"; }
# clean H: no weft device (bridge, VXLAN, veth) and no weft route (proto 157) on host H
clean() { ! ip -n "$LAB-h$1" -o link show | grep -qE ': (weft|wv)' && ! ip -n "$LAB-h$1" route show proto 157 | grep -q . &&
	! ip -n "$LAB-h$1" -6 route show proto 157 | grep -q .; }
slice_of() { lab_store_keys weft/v1/pools/10.244.0.0-16/slices/ | while read -r k; do
	lab_store_value "$k" | grep -q "\"host\":\"h$1\"" && echo "${k##*/}" | tr - /; done; }

# ---------------------------------------------------------------- bad input, nothing left
expect_fail_msg "routed without weft's IPAM is refused" "mode routed needs --ipam-driver weft" \
	dk 1 network create -d weft --subnet 10.245.0.0/16 -o mode=routed bad1
expect_fail_msg "a host_prefix that does not fit is refused" \
	"option 'host_prefix': /16 slices do not fit in 10.245.0.0/16 \(allowed: /17 to /30\)" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" -o host_prefix=16 bad2
expect_fail_msg "an unknown backend is refused" "option 'backend': 'bgp' is not a backend \(allowed: vxlan, host-gw, auto\)" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" -o backend=bgp bad3
expect_fail_msg "--gateway is refused" "mode routed takes no --gateway \(10.245.9.9\)" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" --gateway 10.245.9.9 bad4
expect_fail_msg "a vni with host-gw is refused" "option 'vni' does not apply to backend host-gw" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" -o backend=host-gw -o vni=77 bad5
expect_fail_msg "--aux-address is refused" "mode routed takes no --aux-address" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" --aux-address a=10.245.0.9 bad6
expect_fail_msg "an MTU the underlay cannot carry with VXLAN is refused" \
	"option 'mtu': 1451 is larger than 1450, the most the underlay 'eth0' carries with VXLAN" \
	dk 1 network create "${RT[@]/10.244.0.0/10.245.0.0}" -o mtu=1451 bad7
expect_ok "... and none of them left a device" no_devices 1
expect_ok "... or a key" no_keys weft/v1/pools/10.245.0.0-16

# ---------------------------------------------------------------- backend vxlan on three hosts
expect_ok "h1: create the routed network" dk 1 network create "${RT[@]}" rt
# Docker 28 (Engine API 1.48) asks GwAllocCheck first: routed needs no gateway address of the
# pool, each slice has its own. Older engines take the pool's first address, unused. (Before
# h2's refused overlay below: its gateway request is Docker's, and the address goes with the pool.)
gw_key() { lab_store_keys weft/v1/pools/10.244.0.0-16/addr/ | grep -qx 'weft/v1/pools/10.244.0.0-16/addr/10.244.0.1'; }
no_gw_key() { ! gw_key; }
API=$(dk 1 version -f '{{.Server.APIVersion}}')
if lab_api_at_least 1 1.48; then
	expect_ok "API $API: GwAllocCheck said no gateway: the pool's first address is no one's" \
		no_gw_key
else
	expect_ok "API $API: Docker took the pool's first address as the gateway" \
		gw_key
fi
expect_fail_msg "h2: another backend for the same subnet is refused, naming the conflict" \
	"routed network 10.244.0.0/16 exists in the cluster with backend=vxlan host_prefix=24 vni=[0-9]* vxlan_port=4789; this host asked for backend=host-gw host_prefix=24" \
	dk 2 network create "${RT[@]}" -o backend=host-gw rt
expect_fail_msg "h2: the same subnet as an overlay is refused, naming the mode" \
	"network 10.244.0.0/16 exists in the cluster in mode routed; this host asked for mode overlay" \
	dk 2 network create -d weft --ipam-driver weft --subnet 10.244.0.0/16 -o mode=overlay rt
expect_ok "... which left no device on h2" no_devices 2
for h in 2 3; do
	expect_ok "h$h: create the routed network" dk $h network create "${RT[@]}" rt
done
s1=$(slice_of 1) s2=$(slice_of 2) s3=$(slice_of 3)
expect_ok "each host holds its own /24 slice ($s1 $s2 $s3)" \
	bash -c "[ \$(printf '%s\n' '$s1' '$s2' '$s3' | grep -c '^10\.244\.[0-9]*\.0/24$') = 3 ] && [ \$(printf '%s\n' '$s1' '$s2' '$s3' | sort -u | wc -l) = 3 ]"
for h in 1 2 3; do
	expect_ok "h$h: run r$h" dk $h run -d --name r$h --network rt $IMG sleep 600
done
r1=$(ip_of 1 r1 rt) r2=$(ip_of 2 r2 rt) r3=$(ip_of 3 r3 rt)
expect_ok "each container's address is in its host's slice ($r1 $r2 $r3)" \
	bash -c "[ '${r1%.*}.0/24' = '$s1' ] && [ '${r2%.*}.0/24' = '$s2' ] && [ '${r3%.*}.0/24' = '$s3' ]"
expect_ok "r1 has the slice's prefix (/24) and its default route via the slice's gateway" \
	bash -c "dk 1 exec r1 ip -4 addr show eth0 | grep -q '$r1/24' && dk 1 exec r1 ip route | grep -q 'default via ${s1%.*}.1 dev eth0'"
expect_ok "docker network inspect still shows the user's subnet" \
	bash -c "[ \"\$(dk 1 network inspect -f '{{(index .IPAM.Config 0).Subnet}}' rt)\" = 10.244.0.0/16 ]"
routes_on_h1() { ip -n "$LAB-h1" route show proto 157 | grep -q "^$s2 via ${s2%/*} dev weft-v" &&
	ip -n "$LAB-h1" route show proto 157 | grep -q "^$s3 via ${s3%/*} dev weft-v"; }
expect_ok "h1 routes h2's and h3's slices over its VXLAN device" lab_wait_for routes_on_h1 10
expect_ok "r1 (h1) pings r2 (h2)" dk 1 exec r1 ping -c2 -W2 "$r2"
expect_ok "r1 (h1) pings r3 (h3)" dk 1 exec r1 ping -c2 -W2 "$r3"
expect_ok "r2 (h2) pings r3 (h3)" dk 2 exec r2 ping -c2 -W2 "$r3"
expect_ok "r3 (h3) pings r1 (h1)" dk 3 exec r3 ping -c2 -W2 "$r1"
expect_ok "r1 reaches the outside namespace (masqueraded)" dk 1 exec r1 ping -c2 -W2 192.0.2.254

# ---------------------------------------------------------------- slice records no weftd writes
SL=weft/v1/pools/10.244.0.0-16/slices
b1=${s1%.*}.7-24 b2=${s1%.*}.0-25 b3=${s3%.*}.128-25 # host bits; inside h1's own; inside h3's
lab_stop_weftd 1 KILL
lab_store_put "$SL/$b1" '{"host":"h2"}'
lab_store_put "$SL/$b2" '{"host":"h3"}'
ip -n "$LAB-h1" route flush proto 157
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL
expect_ok "h1's weftd restarted (its routes flushed) with a slice with host bits and a /25 inside h1's own in the store: it routes h2's and h3's slices" \
	lab_wait_for routes_on_h1 10
# no weft route to a bad slice, and the connected route to h1's own slice as the kernel made it
own_routes() { ! ip -n "$LAB-h1" route show proto 157 | grep -q "^${s1%.*}\.0/25 \|^${s1%.*}\.7\|^$s1 " &&
	ip -n "$LAB-h1" route show "$s1" | grep -q "proto kernel"; }
expect_ok "... no route to either bad slice, h1's own connected route to $s1 is intact" own_routes
expect_ok "... r1 pings r2 and r3" bash -c "dk 1 exec r1 ping -c2 -W2 $r2 && dk 1 exec r1 ping -c2 -W2 $r3"
# warned MSG: h1's weftd logged MSG once (else what it logged)
warned() {
	local n
	n=$(grep -c "$1" "$LABDIR/h1/weftd.log")
	[ "$n" = 1 ] && return 0
	echo "logged $n times; the log has:"
	grep -v '^<6>' "$LABDIR/h1/weftd.log" | tail -n 20
	return 1
}
expect_ok "... the slice with host bits is logged once" warned "'$SL/$b1': not an address or slice of its pool, ignoring"
expect_ok "... and the /25" warned "slice ${b2/-//} of host 'h3' in 10.244.0.0/16 is not a /24 slice of its network, ignoring"
lab_store_put "$SL/$b3" '{"host":"h2"}'
lab_store_put "$SL/${s1/\//-}" '{"host":"h2"}'
stolen() { warned "slice $s1 of host 'h2' overlaps this host's slice $s1, ignoring"; }
expect_ok "h1's own slice record rewritten as h2's: h1 says so once" lab_wait_for stolen 10
expect_ok "... and keeps its own connected route" own_routes
h3_routed() { routes_on_h1 && ! ip -n "$LAB-h1" route show proto 157 | grep -q "^${b3/-//} "; }
expect_ok "... a /25 of 'h2' inside h3's slice is not routed: h1 still routes h3's" h3_routed
lab_store_put "$SL/${s1/\//-}" '{"host":"h1"}'
lab_store_del "$SL/$b1"
lab_store_del "$SL/$b2"
lab_store_del "$SL/$b3"
r3_to_r1() { dk 3 exec r3 ping -c1 -W1 "$r1" >/dev/null; }
expect_ok "h1's slice record back: r3 (h3) pings r1 (h1) again" lab_wait_for r3_to_r1 10
dk 2 exec -d r2 sh -c 'mkdir -p /www && echo hi >/www/index.html && httpd -f -v -p 8080 -h /www 2>/tmp/httpd.log'
seen_from_r1() { dk 1 exec r1 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc $r2 8080" | grep -q hi &&
	dk 2 exec r2 grep -qF "[::ffff:$r1]:" /tmp/httpd.log; } # busybox httpd logs "[::ffff:IP]:PORT: ..."
expect_ok "r1 (h1) opens a connection to r2 (h2), which sees r1's own address (no NAT inside the subnet)" \
	lab_wait_for seen_from_r1 5
if dk 1 exec r1 sh -c 'command -v iperf3' >/dev/null 2>&1; then
	dk 2 exec -d r2 iperf3 -s -1 >/dev/null
	sleep 1
	mbps=$(dk 1 exec r1 iperf3 -c "$r2" -t 2 -f m 2>&1 | awk '/receiver/ { print $(NF - 2) }')
	expect_ok "iperf3 from r1 (h1) to r2 (h2) over VXLAN: ${mbps:-no} Mbit/s" bash -c "[ '${mbps:-0}' != 0 ]"
else
	lab_log "iperf3 not installed: no throughput check"
fi
expect_ok "h1: run w1 with -p 8089:80 (busybox httpd)" dk 1 run -d --name w1 --network rt -p 8089:80 $IMG \
	sh -c 'mkdir -p /www && echo hello-w1 >/www/index.html && httpd -p 80 -h /www && exec sleep 600'
web_ok() { [ "$(ip netns exec "$LAB-out" curl -sS -m 3 http://192.0.2.1:8089/)" = hello-w1 ]; }
expect_ok "outside -> h1:8089 reaches w1 (-p as in bridge mode)" lab_wait_for web_ok 5
expect_ok "h1: docker rm w1" dk 1 rm -f w1
# dockerd deletes and inserts its FORWARD jump to DOCKER-USER on every network create: the
# routed packets forwarded meanwhile must still find weft's accepts (9 of 1000 were lost before)
dk 2 exec r2 ping -i 0.02 -c 500 -W1 "$r1" >"$LABDIR/ping-create.out" 2>&1 &
pingpid=$!
sleep 1
for i in 1 2 3 4 5 6; do dk 1 network create --subnet "10.201.$i.0/24" "dn$i" >/dev/null; done
wait $pingpid
expect_ok "six docker network creates on h1 while r2 (h2) pings r1 every 20 ms: no packet lost ($(lab_loss "$LABDIR/ping-create.out"))" \
	lab_no_loss "$LABDIR/ping-create.out"
dk 1 network rm dn1 dn2 dn3 dn4 dn5 dn6 >/dev/null
# ---------------------------------------------------------------- restarts and dead hosts
dk 1 exec r1 ping -c 12 -W1 "$r2" >"$LABDIR/ping.out" 2>&1 &
pingpid=$!
sleep 2
lab_stop_weftd 1 KILL
sleep 2
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL
wait $pingpid
expect_ok "kill -9 and restart of h1's weftd while r1 pings r2: no packet lost ($(lab_loss "$LABDIR/ping.out"))" \
	lab_no_loss "$LABDIR/ping.out"
expect_ok "... h1 keeps its slice ($s1)" bash -c "[ '$(slice_of 1)' = '$s1' ]"
expect_ok "... and its routes" routes_on_h1
lab_stop_weftd 1 KILL
ip -n "$LAB-h1" link del "weft-v$(lab_store_value weft/v1/pools/10.244.0.0-16/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')"
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL
expect_ok "weftd restarted after its VXLAN device was deleted (as by a reboot): h1 routes to h2's slice again" \
	lab_wait_for routes_on_h1 10
expect_ok "... and r1 pings r2" dk 1 exec r1 ping -c2 -W2 "$r2"
lab_stop_weftd 3 KILL
gone3() { ! ip -n "$LAB-h1" route show proto 157 | grep -q "^$s3 "; }
# the lease expires after TTL (Consul: up to 2 x TTL), then h1 holds h3's routes one TTL more
expect_ok "h3's weftd killed: h1 drops its route to h3's slice once h3's lease expired and one TTL passed (<= 3 x ${TTL} + 5 s)" \
	lab_wait_for gone3 $((3 * TTL + 5))
expect_ok "... while h3 still holds its slice in the store (until garbage collection)" bash -c "[ '$(slice_of 3)' = '$s3' ]"
lab_start_weftd 3 --host-id h3 --store "$LAB_STORE_URL" --lease-ttl $TTL
expect_ok "h3's weftd back: h1 routes to h3's slice again" lab_wait_for routes_on_h1 $((TTL + 5))
expect_ok "r1 pings r3" dk 1 exec r1 ping -c2 -W2 "$r3"

expect_fail_msg "h2: --ip outside h2's slice is refused, naming the slice" \
	"address ${s1%.*}.77 is not in this host's slice $s2 of routed network 10.244.0.0/16" \
	dk 2 run --rm --network rt --ip "${s1%.*}.77" $IMG true
expect_ok "h2: --ip inside h2's slice works" dk 2 run --rm --network rt --ip "${s2%.*}.77" $IMG true
expect_ok "h3: docker rm r3, network rm" bash -c "dk 3 rm -f r3 && dk 3 network rm rt"
expect_ok "h3 left: h1 removes the route to its slice" lab_wait_for gone3 10
expect_ok "... and h3's slice is free in the store" no_keys "weft/v1/pools/10.244.0.0-16/slices/${s3/\//-}"
expect_ok "h3 has no weft device or route left" bash -c "! ip -n $LAB-h3 -o link show | grep -q ': weft' && ! ip -n $LAB-h3 route show proto 157 | grep -q ."
expect_ok "h1, h2: docker rm, network rm" bash -c "dk 1 rm -f r1 && dk 2 rm -f r2 && dk 1 network rm rt && dk 2 network rm rt"
for h in 1 2 3; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.244.0.0-16
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/

# ---------------------------------------------------------------- three hosts at once
# (three times: the hosts race for the pool, its gateway, its VNI and the slices)
CC=(-d weft --ipam-driver weft --subnet 10.248.0.0/24 -o mode=routed -o host_prefix=28)
cc_create() {
	local h
	for h in 1 2 3; do dk $h network create "${CC[@]}" cc >"$LABDIR/cc$h.out" 2>&1 & done
	wait
	for h in 1 2 3; do dk $h network inspect cc >/dev/null 2>&1 || { echo "h$h:"; cat "$LABDIR/cc$h.out"; }; done
	for h in 1 2 3; do dk $h network inspect cc >/dev/null 2>&1 || return 1; done
}
for round in 1 2; do
	expect_ok "the same routed network created on three hosts at once (round $round): all succeed" cc_create
	expect_ok "... network rm on the three hosts" bash -c "for h in 1 2 3; do dk \$h network rm cc || exit 1; done"
	expect_ok "... no key of the pool is left" no_keys weft/v1/pools/10.248.0.0-24
done
expect_ok "the same routed network created on three hosts at once (round 3): all succeed" cc_create
cc_slices=$(lab_store_keys weft/v1/pools/10.248.0.0-24/slices/ | sed 's|.*/||' | sort -u | tr '\n' ' ')
cc_hosts=$(lab_store_keys weft/v1/pools/10.248.0.0-24/slices/ | while read -r k; do lab_store_value "$k"; done | sort -u | wc -l)
expect_ok "... with three different slices (${cc_slices% }), one per host" \
	bash -c "[ $(wc -w <<<"$cc_slices") = 3 ] && [ $cc_hosts = 3 ]"
expect_ok "... and one VNI" bash -c "[ $(lab_store_keys weft/v1/vnis/ | wc -l) = 1 ]"
expect_ok "network rm on the three hosts" bash -c "for h in 1 2 3; do dk \$h network rm cc || exit 1; done"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.248.0.0-24

# ---------------------------------------------------------------- no slice left
EX=(-d weft --ipam-driver weft --subnet 10.249.0.0/29 -o mode=routed -o host_prefix=30)
expect_ok "h1, h2: a /29 in /30 slices (two of them)" bash -c "dk 1 network create ${EX[*]} ex && dk 2 network create ${EX[*]} ex"
expect_fail_msg "h3: no slice left, said so" "every /30 slice of 10.249.0.0/29 is taken \(2 hosts\): give a longer host_prefix" \
	dk 3 network create "${EX[@]}" ex
expect_ok "... and h3 has no weft device or route" clean 3
expect_ok "h1, h2: network rm" bash -c "dk 1 network rm ex && dk 2 network rm ex"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.249.0.0-29

# ---------------------------------------------------------------- backend host-gw
HG=(-d weft --ipam-driver weft --subnet 10.246.0.0/16 -o mode=routed -o backend=host-gw -o host_prefix=26)
for h in 1 2; do
	expect_ok "h$h: a routed network with backend host-gw, /26 slices" dk $h network create "${HG[@]}" hg
	expect_ok "h$h: run g$h" dk $h run -d --name g$h --network hg $IMG sleep 600
done
g1=$(ip_of 1 g1 hg) g2=$(ip_of 2 g2 hg)
hg_route() { ip -n "$LAB-h1" route show proto 157 | grep -q "via 192.0.2.2 dev eth0"; }
expect_ok "h1 routes h2's slice straight to h2 (192.0.2.2 on eth0)" lab_wait_for hg_route 10
expect_ok "g1 has a /26 and the MTU of the underlay (1500)" \
	bash -c "dk 1 exec g1 ip -4 addr show eth0 | grep -q '$g1/26' && dk 1 exec g1 ip link show eth0 | grep -q 'mtu 1500'"
expect_ok "g1 (h1) pings g2 (h2)" dk 1 exec g1 ping -c2 -W2 "$g2"
expect_ok "h1, h2: docker rm, network rm" bash -c "dk 1 rm -f g1 && dk 2 rm -f g2 && dk 1 network rm hg && dk 2 network rm hg"
for h in 1 2; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.246.0.0-16

# ---------------------------------------------------------------- IPv6: dual-stack slices
# Each host also holds a slice of the IPv6 subnet (as many slices as of the IPv4 one: /72s of a
# /64 for /24s of a /16), with its gateway on the bridge; the other hosts' IPv6 slices are routed
# over the same VXLAN device (via the slice's address, whose neighbour entry is the host's
# VXLAN MAC), or with host-gw straight to the host's IPv6 address on the underlay.
ip6_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").GlobalIPv6Address}}" "$2"; }
R6=(-d weft --ipam-driver weft --ipv6 --subnet 10.250.0.0/16 --subnet fd00:250::/64 -o mode=routed)
expect_fail_msg "IPv6 slices that do not fit are refused, naming what fits" \
	"option 'host_prefix6': /64 slices do not fit in fd00:250::/64 \(allowed: /65 to /88\)" \
	dk 1 network create "${R6[@]}" -o host_prefix6=64 bad8
expect_fail_msg "an IPv6 subnet too small for as many slices as the IPv4 one is refused, saying what to give" \
	"IPv6 subnet fd00:251::/120 has no room for as many slices as the IPv4 subnet \(/128 slices\): give -o host_prefix6 \(allowed: /121 to /126\)" \
	dk 1 network create -d weft --ipam-driver weft --ipv6 --subnet 10.251.0.0/16 --subnet fd00:251::/120 -o mode=routed bad9
expect_fail_msg "an IPv6 --gateway is refused" "mode routed takes no --gateway \(fd00:250::9\)" \
	dk 1 network create "${R6[@]}" --gateway 10.250.0.1 --gateway fd00:250::9 bad10
expect_fail_msg "host_prefix6 without --ipv6 is refused" \
	"option 'host_prefix6' needs --ipv6 \(the network has no IPv6 subnet to slice\)" \
	dk 1 network create "${RT[@]/10.244.0.0/10.251.0.0}" -o host_prefix6=80 bad11
no_bad_keys() { ! lab_store_keys weft/v1/pools/ | grep -e '10\.25[01]\.' -e 'fd00:25[01]:'; }
expect_ok "... and none of them left a device" no_devices 1
expect_ok "... or a key" no_bad_keys
for h in 1 2; do
	expect_ok "h$h: a dual-stack routed network (10.250.0.0/16, fd00:250::/64)" dk $h network create "${R6[@]}" r6
done
expect_fail_msg "h3: another IPv6 subnet for the same network is refused, naming the cluster's" \
	"routed network 10.250.0.0/16 exists in the cluster with backend=vxlan host_prefix=24 vni=[0-9]* vxlan_port=4789 subnet6=fd00:250::/64 host_prefix6=72; this host asked for .* subnet6=fd00:252::/64 host_prefix6=72" \
	dk 3 network create -d weft --ipam-driver weft --ipv6 --subnet 10.250.0.0/16 --subnet fd00:252::/64 -o mode=routed r6
expect_fail_msg "h3: another length of IPv6 slices is refused, naming the cluster's" \
	"subnet6=fd00:250::/64 host_prefix6=72; this host asked for .* subnet6=fd00:250::/64 host_prefix6=80" \
	dk 3 network create "${R6[@]}" -o host_prefix6=80 r6
expect_ok "... which left no device on h3" no_devices 3
expect_ok "h3: a dual-stack routed network (10.250.0.0/16, fd00:250::/64)" dk 3 network create "${R6[@]}" r6
slice6_of() { lab_store_keys weft/v1/pools/fd00:250::-64/slices/ | while read -r k; do
	lab_store_value "$k" | grep -q "\"host\":\"h$1\"" && echo "${k##*/}" | tr - /; done; }
t1=$(slice6_of 1) t2=$(slice6_of 2) t3=$(slice6_of 3)
expect_ok "each host holds its own /72 IPv6 slice ($t1 $t2 $t3)" \
	bash -c "[ \$(printf '%s\n' '$t1' '$t2' '$t3' | grep -c '^fd00:250:.*/72$') = 3 ] && [ \$(printf '%s\n' '$t1' '$t2' '$t3' | sort -u | wc -l) = 3 ]"
for h in 1 2 3; do
	expect_ok "h$h: run x$h (busybox httpd)" dk $h run -d --name x$h --network r6 $IMG \
		sh -c 'mkdir -p /www && echo hello-x'$h' >/www/index.html && httpd -f -v -p 80 -h /www 2>/tmp/httpd.log'
done
x1=$(ip6_of 1 x1 r6) x2=$(ip6_of 2 x2 r6) x3=$(ip6_of 3 x3 r6)
lab_log "x1 $x1 (h1), x2 $x2 (h2), x3 $x3 (h3)"
# on its own host: the slice's connected route on the network's bridge
own6() { ip -n "$LAB-h$1" -6 route get "$2" | grep -q ' dev weft-b'; }
own6_all() { own6 1 "$x1" && own6 2 "$x2" && own6 3 "$x3"; }
expect_ok "each container's IPv6 address is on its own host's bridge, in its slice" own6_all
gw6=$(dk 1 inspect -f '{{(index .NetworkSettings.Networks "r6").IPv6Gateway}}' x1)
expect_ok "x1 has the slice's IPv6 prefix (/72) and its default route via the slice's gateway $gw6, which h1's bridge holds" \
	bash -c "dk 1 exec x1 ip -6 addr show eth0 | grep -q '$x1/72' && dk 1 exec x1 ip -6 route | grep -q 'default via $gw6 dev eth0' &&
		ip -n $LAB-h1 -6 addr show | grep -q 'inet6 $gw6/72'"
vn6=$(lab_store_value weft/v1/pools/10.250.0.0-16/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
routes6_on_h1() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^$t2 via ${t2%/*} dev weft-v$vn6" &&
	ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^$t3 via ${t3%/*} dev weft-v$vn6"; }
expect_ok "h1 routes h2's and h3's IPv6 slices over its VXLAN device" lab_wait_for routes6_on_h1 10
expect_ok "... with a permanent neighbour entry for each, h2's VXLAN MAC for h2's" \
	bash -c "ip -n $LAB-h1 -6 neigh show dev weft-v$vn6 | grep -q '^${t2%/*} lladdr $(ip -n "$LAB-h2" link show "weft-v$vn6" | awk '/link\/ether/ { print $2 }') PERMANENT'"
expect_ok "x1 (h1) pings x2 (h2) over IPv6" dk 1 exec x1 ping6 -c2 -W2 "$x2"
expect_ok "x1 (h1) pings x3 (h3) over IPv6" dk 1 exec x1 ping6 -c2 -W2 "$x3"
expect_ok "x3 (h3) pings x2 (h2) over IPv6" dk 3 exec x3 ping6 -c2 -W2 "$x2"
expect_ok "x2 (h2) pings x1 over IPv4 too" dk 2 exec x2 ping -c2 -W2 "$(ip_of 1 x1 r6)"
seen6() { dk 1 exec x1 sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $x2 80" | grep -qx hello-x2 &&
	dk 2 exec x2 grep -qF "[$x1]:" /tmp/httpd.log; }
expect_ok "x1 (h1) fetches x2's (h2) page over IPv6, and x2 sees x1's own address (no NAT inside the subnet)" \
	lab_wait_for seen6 5
expect_ok "x1 reaches the outside over IPv6 (masqueraded)" dk 1 exec x1 ping6 -c2 -W2 2001:db8:2::254
expect_ok "weftctl shows both slices" bash -c "wctl 1 networks | grep -q 'slice=10\.250\.[0-9]*\.0/24,$t1 '"
lab_stop_weftd 2 KILL
ip -n "$LAB-h2" -6 route flush proto 157
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL
x2_to_x1() { dk 2 exec x2 ping6 -c1 -W1 "$x1" >/dev/null; }
expect_ok "h2's weftd restarted with its IPv6 routes flushed: x2 pings x1 again" lab_wait_for x2_to_x1 10
expect_ok "... h2 keeps its IPv6 slice ($t2)" bash -c "[ '$(slice6_of 2)' = '$t2' ]"
expect_fail_msg "h2: --ip6 outside h2's IPv6 slice is refused, naming the slice" \
	"address ${t1%/*}77 is not in this host's slice $t2 of routed network fd00:250::/64 \(--ip6 must be in it\)" \
	dk 2 run --rm --network r6 --ip6 "${t1%/*}77" $IMG true
expect_ok "h2: --ip6 inside h2's IPv6 slice works" dk 2 run --rm --network r6 --ip6 "${t2%/*}77" $IMG true
expect_ok "h3: docker rm x3, network rm r6" bash -c "dk 3 rm -f x3 && dk 3 network rm r6"
gone6() { ! ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^$t3 "; }
expect_ok "h3 left: h1 removes the route to its IPv6 slice" lab_wait_for gone6 10
expect_ok "... and h3's IPv6 slice is free in the store" no_keys "weft/v1/pools/fd00:250::-64/slices/${t3/\//-}"
expect_ok "h1, h2: docker rm, network rm" bash -c "dk 1 rm -f x1 && dk 2 rm -f x2 && dk 1 network rm r6 && dk 2 network rm r6"
for h in 1 2 3; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
no_r6_keys() { no_keys weft/v1/pools/10.250.0.0-16 && no_keys weft/v1/pools/fd00:250::-64; }
expect_ok "no key of either pool is left" no_r6_keys
HG6=(-d weft --ipam-driver weft --ipv6 --subnet 10.252.0.0/16 --subnet fd00:253::/64 -o mode=routed -o backend=host-gw -o host_prefix6=80)
for h in 1 2; do
	expect_ok "h$h: a dual-stack routed network with backend host-gw, /80 IPv6 slices" dk $h network create "${HG6[@]}" hg6
	expect_ok "h$h: run y$h" dk $h run -d --name y$h --network hg6 $IMG sleep 600
done
y1=$(ip6_of 1 y1 hg6) y2=$(ip6_of 2 y2 hg6)
hg6_route() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^fd00:253:[0-9a-f:]*/80 via 2001:db8:2::2 dev eth0"; }
expect_ok "h1 routes h2's IPv6 slice straight to h2's IPv6 address (2001:db8:2::2 on eth0)" lab_wait_for hg6_route 10
expect_ok "y1 (h1) pings y2 (h2) over IPv6" dk 1 exec y1 ping6 -c2 -W2 "$y2"
expect_ok "y2 (h2) pings y1 (h1) over IPv6" dk 2 exec y2 ping6 -c2 -W2 "$y1"
# another IPv6 address of h2 given with --advertise6: the others route h2's IPv6 slice to it
lab_stop_weftd 2 TERM
ip -n "$LAB-h2" addr add 2001:db8:2::22/64 dev eth0 nodad
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL --advertise6 2001:db8:2::22
hg6_route22() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^fd00:253:[0-9a-f:]*/80 via 2001:db8:2::22 dev eth0"; }
expect_ok "h2's weftd restarted with --advertise6 2001:db8:2::22: h1 routes h2's IPv6 slice to it" lab_wait_for hg6_route22 10
expect_ok "... and y1 pings y2 over IPv6" dk 1 exec y1 ping6 -c2 -W2 "$y2"
expect_ok "weftctl peers on h1 shows h2's IPv6 address" bash -c "wctl 1 peers | grep -Eq '^h2 +192.0.2.2,2001:db8:2::22 '"
expect_ok "h1, h2: docker rm, network rm" bash -c "dk 1 rm -f y1 && dk 2 rm -f y2 && dk 1 network rm hg6 && dk 2 network rm hg6"
for h in 1 2; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
no_hg6_keys() { no_keys weft/v1/pools/10.252.0.0-16 && no_keys weft/v1/pools/fd00:253::-64; }
expect_ok "no key of either pool is left" no_hg6_keys
lab_stop_weftd 2 TERM
ip -n "$LAB-h2" addr del 2001:db8:2::22/64 dev eth0
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL

# ---------------------------------------------------------------- a dead host's slice
GRACE=5
lab_stop_weftd 1 TERM
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE
expect_ok "h1, h2: the routed network again" bash -c "dk 1 network create ${RT[*]} rt && dk 2 network create ${RT[*]} rt"
s2=$(slice_of 2)
lab_stop_weftd 2 KILL
reclaimed() { no_keys "weft/v1/pools/10.244.0.0-16/slices/${s2/\//-}"; }
expect_ok "h2's weftd killed: h1 frees h2's slice $s2 once h2's lease expired and ${GRACE} s passed" \
	lab_wait_for reclaimed $((2 * TTL + GRACE + 10))
expect_ok "h3: the network gets the freed slice" dk 3 network create "${RT[@]}" rt
expect_ok "... $s2" bash -c "[ '$(slice_of 3)' = '$s2' ]"
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL
refused_back() { grep -q "this host's slice $s2 went to another host while it was away" "$LABDIR/h2/weftd.log" &&
	[ "$(lab_store_value "weft/v1/pools/10.244.0.0-16/slices/${s2/\//-}")" = '{"host":"h3"}' ]; }
expect_ok "h2's weftd back: it says its slice went to another host, and does not take it" refused_back
expect_ok "h1, h2, h3: network rm" bash -c "dk 1 network rm rt && dk 2 network rm rt && dk 3 network rm rt"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.244.0.0-16

# ---------------------------------------------------------------- a host off the underlay's subnet
# h3 moves to 198.51.100.3: the same wire, but no subnet in common with h1 and h2, which
# reach it (and it them, and the store) through on-link routes, as if a router were between.
lab_stop_weftd 3 TERM
ip -n "$LAB-h3" addr add 198.51.100.3/24 dev eth0
ip -n "$LAB-h3" addr del 192.0.2.3/24 dev eth0
ip -n "$LAB-h3" route add 192.0.2.0/24 dev eth0 src 198.51.100.3
ip -n "$LAB-h3" route replace default via 192.0.2.254 dev eth0 onlink 2>/dev/null
for ns in h1 h2 out; do ip -n "$LAB-$ns" route add 198.51.100.0/24 dev eth0; done
lab_start_weftd 3 --host-id h3 --store "$LAB_STORE_URL" --lease-ttl $TTL --advertise 198.51.100.3
AU=(-d weft --ipam-driver weft --subnet 10.247.0.0/16 --ipv6 --subnet fd00:247::/64 -o mode=routed -o backend=auto)
for h in 1 2 3; do
	expect_ok "h$h: a routed network with backend auto" dk $h network create "${AU[@]}" au
	expect_ok "h$h: run a$h" dk $h run -d --name a$h --network au $IMG sleep 600
done
a1=$(ip_of 1 a1 au) a2=$(ip_of 2 a2 au) a3=$(ip_of 3 a3 au)
auto_routes() { ip -n "$LAB-h1" route show proto 157 | grep -q "via 192.0.2.2 dev eth0" &&
	ip -n "$LAB-h1" route show proto 157 | grep -q "^${a3%.*}.0/24 via ${a3%.*}.0 dev weft-v"; }
expect_ok "h1 routes h2's slice straight to h2 and h3's over VXLAN" lab_wait_for auto_routes 10
# h3's IPv6 address stayed on the underlay's subnet: its IPv6 slice is reached straight
auto_routes6() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "via 2001:db8:2::3 dev eth0" &&
	ip -n "$LAB-h1" -6 route show proto 157 | grep -q "via 2001:db8:2::2 dev eth0" &&
	! ip -n "$LAB-h1" -6 route show proto 157 | grep -q "dev weft-v"; }
expect_ok "... and both hosts' IPv6 slices straight to their IPv6 addresses (h3's is on the subnet)" lab_wait_for auto_routes6 10
expect_ok "a1 (h1) pings a3 (h3) over IPv6" dk 1 exec a1 ping6 -c2 -W2 "$(ip6_of 3 a3 au)"
expect_ok "a3 (h3) pings a1 (h1) over IPv6" dk 3 exec a3 ping6 -c2 -W2 "$(ip6_of 1 a1 au)"
expect_ok "a1 (h1) pings a2 (h2)" dk 1 exec a1 ping -c2 -W2 "$a2"
expect_ok "a1 (h1) pings a3 (h3, off the subnet)" dk 1 exec a1 ping -c2 -W2 "$a3"
expect_ok "a3 (h3) pings a2 (h2)" dk 3 exec a3 ping -c2 -W2 "$a2"
expect_ok "a3 (h3) pings a1 (h1)" dk 3 exec a3 ping -c2 -W2 "$a1"
expect_ok "h1, h2: a host-gw network" bash -c "dk 1 network create ${HG[*]} hg && dk 2 network create ${HG[*]} hg"
expect_fail_msg "h3: host-gw with hosts that are not on its subnet is refused, naming one" \
	"backend host-gw: host 'h[12]' \(192.0.2.[12]\) is not on a subnet of the underlay 'eth0', so no route can go straight to it \(use backend vxlan or auto\)" \
	dk 3 network create "${HG[@]}" hg
expect_ok "... and left no device on h3 (only the bridge of au)" \
	bash -c "[ \$(ip -n $LAB-h3 -o link show type bridge | grep -c ': weft-b') = 1 ]"
expect_ok "everything removed" bash -c "dk 1 rm -f a1 && dk 2 rm -f a2 && dk 3 rm -f a3 &&
	dk 1 network rm au hg && dk 2 network rm au hg && dk 3 network rm au"
for h in 1 2 3; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
expect_ok "no key of a pool is left" no_keys weft/v1/pools/
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/

lab_summary
