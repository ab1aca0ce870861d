#!/bin/bash
# overlay.sh - overlay mode on three lab hosts sharing a cluster store (LAB_STORE=etcd, default,
# or consul): the same `docker network create -o mode=overlay` on every host gives one L2
# network over VXLAN; containers on every pair of hosts reach each other; each host programs
# the others' containers as static FDB and neighbour entries, and removes them when the
# container goes; every host is the containers' gateway (one address and MAC on every host's
# bridge; NAT and -p on the container's own host; no frame to or from the gateway MAC crosses
# the VXLAN), or with -o gateway=docker Docker's docker_gwbridge is; a different -o on another
# host, a VNI used by another network and a network without weft's IPAM are refused with a
# clear message; a dual-stack overlay network carries IPv6 between hosts the same way; after
# everything is removed no device and no key is left.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
lab_require
command -v tcpdump >/dev/null || lab_bail "tcpdump not found (apt-get install tcpdump): it shows what crosses the VXLAN"
lab_init "overlay-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2 3; do
	lab_host $h
	lab_image $h
	lab_start_weftd $h --host-id h$h --store "$LAB_STORE_URL" --lease-ttl $TTL
done
IMG=weft-test:local
OV=(-d weft --ipam-driver weft --subnet 10.90.0.0/24 -o mode=overlay)

no_keys() { ! lab_store_keys "$1"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
mac_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").MacAddress}}" "$2"; }
weft_devices() { lab_weft_devices "$1"; }
no_devices() { ! weft_devices "$1"; }
# fdb_has H DEV MAC VTEP / neigh_has H DEV IP MAC: H's entry for a remote container
fdb_has() { bridge -n "$LAB-h$1" fdb show dev "$2" | grep -q "^$3 dst $4 self permanent"; }
neigh_has() { ip -n "$LAB-h$1" neigh show dev "$2" | grep -q "^$3 lladdr $4 PERMANENT"; }

# ---------------------------------------------------------------- bad input, nothing left
expect_fail_msg "overlay without weft's IPAM is refused" \
	"mode overlay needs --ipam-driver weft: subnet 10.91.0.0/24 is the network's name across hosts" \
	dk 1 network create -d weft --subnet 10.91.0.0/24 -o mode=overlay bad1
expect_fail_msg "a missing underlay parent is refused" "parent interface 'eth9' does not exist" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o parent=eth9 bad2
ip -n "$LAB-h1" link add hy type veth peer name hz # down
expect_fail_msg "an underlay parent that is down is refused" "parent interface 'hy' is down" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o parent=hy bad2
ip -n "$LAB-h1" link del hy
expect_fail_msg "a VNI out of range is refused" "option 'vni': 16777216 is out of range \(allowed: 1..16777215\)" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o vni=16777216 bad3
expect_fail_msg "a macvlan option on overlay is refused" "option 'macvlan_mode' does not apply to mode overlay" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o macvlan_mode=vepa bad4
ip -n "$LAB-h1" link add hx type vxlan id 1048600 dstport 4789 local 192.0.2.1 dev eth0 # another overlay's
expect_fail_msg "a VNI and port another VXLAN device of the host uses is refused" \
	"cannot create VXLAN 'weft-v1048600': another VXLAN device of this host uses VNI 1048600 on UDP port 4789" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o vni=1048600 bad6
ip -n "$LAB-h1" link del hx
expect_fail_msg "a vxlan_port out of range is refused" "option 'vxlan_port': 65536 is out of range \(allowed: 1..65535\)" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o vxlan_port=65536 bad7
expect_fail_msg "an MTU the underlay cannot carry is refused" \
	"option 'mtu': 1451 is larger than the MTU 1500 of the underlay 'eth0' minus 50 for VXLAN \(at most 1450\)" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o mtu=1451 bad8
ip netns exec "$LAB-h1" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 4800)); time.sleep(60)' &
udppid=$!
udp_bound() { ip netns exec "$LAB-h1" ss -Hlun 'sport = :4800' | grep -q .; }
lab_wait_for udp_bound 5
expect_fail_msg "a vxlan_port another program of the host holds is refused" \
	"cannot open UDP port 4800 for VXLAN 'weft-v[0-9]*': another program of this host uses it \(give -o vxlan_port\)" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o vxlan_port=4800 bad9
kill "$udppid"
wait "$udppid" 2>/dev/null
expect_ok "... and none of them left a device" no_devices 1
expect_ok "... or a key" no_keys weft/v1/pools/10.91.0.0-24
expect_ok "... or a VNI" no_keys weft/v1/vnis/

# ---------------------------------------------------------------- one network on three hosts
expect_ok "h1: create the overlay network" dk 1 network create "${OV[@]}" ov
vni=$(lab_store_value weft/v1/pools/10.90.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
expect_ok "the cluster store records it with a VNI ($vni)" test -n "$vni"
expect_ok "... weft/v1/vnis/$vni holds the subnet" bash -c "[ '$(lab_store_value "weft/v1/vnis/$vni")' = 10.90.0.0/24 ]"
expect_fail_msg "h2: another -o for the same subnet is refused, naming the conflict" \
	"overlay network 10.90.0.0/24 exists in the cluster with vni=$vni vxlan_port=4789 flood=false gateway=weft; this host asked for vni=$vni vxlan_port=4789 flood=true gateway=weft" \
	dk 2 network create "${OV[@]}" -o flood=true ov
expect_fail_msg "h2: another gateway for the same subnet is refused, naming the conflict" \
	"exists in the cluster with vni=$vni vxlan_port=4789 flood=false gateway=weft; this host asked for vni=$vni vxlan_port=4789 flood=false gateway=docker" \
	dk 2 network create "${OV[@]}" -o gateway=docker ov
expect_ok "h2: the same command as h1" dk 2 network create "${OV[@]}" ov
expect_ok "h3: the same command with -o vni=$vni" dk 3 network create "${OV[@]}" -o vni="$vni" ov
expect_fail_msg "h1: vni $vni for another subnet is refused" "vni $vni is already used by overlay network 10.90.0.0/24" \
	dk 1 network create "${OV[@]/10.90.0.0/10.91.0.0}" -o vni="$vni" bad5
expect_ok "every host has weft-o$vni and weft-v$vni (VXLAN $vni, port 4789, learning off)" bash -c "
	for h in 1 2 3; do
		ip -n $LAB-h\$h -d link show weft-v$vni | grep -q 'vxlan id $vni .*dstport 4789 .*nolearning' &&
		ip -n $LAB-h\$h -d link show weft-v$vni | grep -q 'master weft-o$vni' || exit 1
	done"
expect_ok "its bridged frames skip netfilter (nf_call_iptables 0)" \
	bash -c "ip -n $LAB-h1 -d link show weft-o$vni | grep -q 'nf_call_iptables 0'"
expect_ok "the overlay MTU is the underlay's minus 50" bash -c "ip -n $LAB-h1 link show weft-v$vni | grep -q 'mtu 1450'"
for h in 1 2 3; do
	expect_ok "h$h: run c$h" dk $h run -d --name c$h --network ov $IMG sleep 600
done
c1=$(ip_of 1 c1 ov) c2=$(ip_of 2 c2 ov) c3=$(ip_of 3 c3 ov)
m2=$(mac_of 2 c2 ov) m3=$(mac_of 3 c3 ov)
expect_ok "three different addresses ($c1 $c2 $c3)" bash -c "[ \$(printf '%s\n' $c1 $c2 $c3 | sort -u | grep -c '^10\.90\.0\.') = 3 ]"
entries() { fdb_has 1 "weft-v$vni" "$m2" 192.0.2.2 && neigh_has 1 "weft-v$vni" "$c2" "$m2" &&
	fdb_has 1 "weft-v$vni" "$m3" 192.0.2.3 && neigh_has 1 "weft-v$vni" "$c3" "$m3"; }
expect_ok "h1 has FDB and neighbour entries for c2 (h2) and c3 (h3)" lab_wait_for entries 10
expect_ok "c1 (h1) pings c2 (h2)" dk 1 exec c1 ping -c2 -W2 "$c2"
expect_ok "c1 (h1) pings c3 (h3)" dk 1 exec c1 ping -c2 -W2 "$c3"
expect_ok "c2 (h2) pings c3 (h3)" dk 2 exec c2 ping -c2 -W2 "$c3"
expect_ok "c3 (h3) pings c1 (h1)" dk 3 exec c3 ping -c2 -W2 "$c1"
expect_ok "the container's MTU is 1450" bash -c "dk 1 exec c1 ip link show eth0 | grep -q 'mtu 1450'"
expect_ok "no flooding: h1's VXLAN device has no all-zero FDB entry" \
	bash -c "! bridge -n $LAB-h1 fdb show dev weft-v$vni | grep -q '^00:00:00:00:00:00'"
# the gateway: every host's bridge holds 10.90.0.1 with the MAC derived from it
GWMAC=02:42:0a:5a:00:01
expect_ok "every host's bridge holds the gateway 10.90.0.1/24 with MAC $GWMAC" bash -c "
	for h in 1 2 3; do
		ip -n $LAB-h\$h -4 addr show dev weft-o$vni | grep -q 'inet 10.90.0.1/24' &&
		ip -n $LAB-h\$h link show weft-o$vni | grep -q 'link/ether $GWMAC' || exit 1
	done"
expect_ok "c1 has one interface (no docker_gwbridge) and its default route via 10.90.0.1" \
	bash -c "[ \"\$(dk 1 exec c1 ls /sys/class/net | grep -vx lo)\" = eth0 ] &&
		dk 1 exec c1 ip route | grep -q 'default via 10.90.0.1 dev eth0'"
expect_ok "h1 has no docker_gwbridge" bash -c "! ip -n $LAB-h1 link show docker_gwbridge 2>/dev/null"
# a capture of the VXLAN traffic on h2's underlay while containers of every host go out
ip netns exec "$LAB-h2" tcpdump -i eth0 -nn -e -U -w "$LABDIR/vxlan.pcap" udp port 4789 2>/dev/null &
TCPDUMP=$!
sleep 1
expect_ok "c1 (h1) reaches the outside namespace, masqueraded (the outside has no route to 10.90.0.0/24)" \
	bash -c "dk 1 exec c1 ping -c2 -W2 192.0.2.254 && ! ip -n $LAB-out route get 10.90.0.2 >/dev/null 2>&1"
# from_host N C: container C on hN pings the outside, which sees hN's address
from_host() {
	local pid n
	ip netns exec "$LAB-out" timeout 8 tcpdump -i any -nn -c 1 "icmp[icmptype] = icmp-echo and src host 192.0.2.$1" \
		>"$LABDIR/from$1.txt" 2>/dev/null &
	pid=$!
	sleep 1
	dk "$1" exec "$2" ping -c2 -W2 192.0.2.254 >/dev/null
	wait $pid && grep -q "192.0.2.$1 > 192.0.2.254" "$LABDIR/from$1.txt"
}
expect_ok "c2 (h2) reaches it from h2's address" from_host 2 c2
expect_ok "c3 (h3) reaches it from h3's address" from_host 3 c3
expect_ok "c1 (h1) pings c2 (h2) over the VXLAN" dk 1 exec c1 ping -c2 -W2 "$c2"
kill "$TCPDUMP" 2>/dev/null
wait "$TCPDUMP" 2>/dev/null
gw_frames() { tcpdump -nn -e -r "$LABDIR/vxlan.pcap" 2>/dev/null | grep -c "$GWMAC"; }
all_frames() { tcpdump -nn -e -r "$LABDIR/vxlan.pcap" 2>/dev/null | grep -c "$c2"; }
expect_ok "the capture on h2's underlay has the containers' VXLAN frames ($(all_frames)) ..." \
	bash -c "[ $(all_frames) -gt 0 ]"
expect_ok "... and none to or from the gateway MAC ($(gw_frames))" bash -c "[ $(gw_frames) = 0 ]"
expect_ok "h1: run w1 on ov with -p 8088:80, h2: w2 with -p 8089:80 (busybox httpd)" bash -c "
	dk 1 run -d --name w1 --network ov -p 8088:80 $IMG \
		sh -c 'mkdir -p /www && echo hello-w1 >/www/index.html && httpd -p 80 -h /www && exec sleep 600' &&
	dk 2 run -d --name w2 --network ov -p 8089:80 $IMG \
		sh -c 'mkdir -p /www && echo hello-w2 >/www/index.html && httpd -p 80 -h /www && exec sleep 600'"
web_ok() { [ "$(ip netns exec "$LAB-out" curl -sS -m 3 "http://$1/")" = "$2" ]; }
web_w1() { web_ok 192.0.2.1:8088 hello-w1; }
web_w2() { web_ok 192.0.2.2:8089 hello-w2; }
expect_ok "outside -> h1:8088 reaches w1 (published by weft on h1)" lab_wait_for web_w1 5
expect_ok "outside -> h2:8089 reaches w2 (published by weft on h2)" lab_wait_for web_w2 5
w1_listed() { wctl 1 endpoints | grep -q ':8088/tcp->80$'; }
expect_ok "weftctl on h1 lists w1's port" w1_listed
expect_ok "h1 itself reaches it on localhost:8088" \
	bash -c "[ \"\$(ip netns exec $LAB-h1 curl -sS -m 3 http://127.0.0.1:8088/)\" = hello-w1 ]"
expect_ok "c1 reaches it on its host's address (hairpin)" \
	bash -c "dk 1 exec c1 sh -c 'printf \"GET / HTTP/1.0\r\n\r\n\" | nc 192.0.2.1 8088' | grep -q hello-w1"
# seen_as H DEV SRC C DST: a ping from container C (on H) to DST arrives on DEV of h1 from SRC
seen_as() {
	local pid
	ip netns exec "$LAB-h1" timeout 8 tcpdump -i "$2" -nn -c 1 "icmp[icmptype] = icmp-echo and src host $3" \
		>"$LABDIR/seen.txt" 2>/dev/null &
	pid=$!
	sleep 1
	dk "$1" exec "$4" ping -c2 -W2 "$5" >/dev/null
	wait $pid && grep -q "$3 > $5" "$LABDIR/seen.txt"
}
expect_ok "c2 (h2) -> w1 (h1) is not NATed: h1's bridge sees c2's own address" \
	seen_as 2 "weft-o$vni" "$c2" c2 "$(ip_of 1 w1 ov)"
expect_ok "c2 (h2) reaches w1's port 80 over the overlay" \
	bash -c "dk 2 exec c2 sh -c 'printf \"GET / HTTP/1.0\r\n\r\n\" | nc $(ip_of 1 w1 ov) 80' | grep -q hello-w1"
# the other forms of -p, on the container's own host
expect_ok "h1: w3 with -P --expose 80, w4 with -p 127.0.0.1:8093:80" bash -c "
	dk 1 run -d --name w3 --network ov -P --expose 80 $IMG \
		sh -c 'mkdir -p /www && echo hello-w3 >/www/index.html && httpd -p 80 -h /www && exec sleep 600' &&
	dk 1 run -d --name w4 --network ov -p 127.0.0.1:8093:80 $IMG \
		sh -c 'mkdir -p /www && echo hello-w4 >/www/index.html && httpd -p 80 -h /www && exec sleep 600'"
w3port=$(wctl 1 endpoints | awk -v ip="$(ip_of 1 w3 ov)/24" '$3 == ip { print $7 }' | sed -n 's/^0\.0\.0\.0:\([0-9]*\)\/tcp->80$/\1/p')
web_w3() { web_ok "192.0.2.1:${w3port:-1}" hello-w3; }
expect_ok "-P: outside -> h1:$w3port (the port weft chose, as weftctl lists it) reaches w3" lab_wait_for web_w3 5
expect_ok "-p 127.0.0.1:8093:80: h1 itself reaches w4 on localhost" \
	bash -c "[ \"\$(ip netns exec $LAB-h1 curl -sS -m 3 http://127.0.0.1:8093/)\" = hello-w4 ]"
expect_fail_msg "... the outside does not (bound to 127.0.0.1)" "Connection refused|Failed to connect|timed out" \
	ip netns exec "$LAB-out" curl -sS -m 3 http://192.0.2.1:8093/
udp_echo() { # PORT: one datagram from the outside to h2:PORT comes back from udp-echo
	[ "$(ip netns exec "$LAB-out" timeout 5 bash -c "exec 3<>/dev/udp/192.0.2.2/$1; echo ping >&3; dd bs=64 count=1 status=none <&3")" = "udp-ok ping" ]
}
if dk 2 run --rm $IMG test -x /usr/bin/udp-echo; then
	expect_ok "h2: u2 with -p 8092:81/udp (udp-echo)" dk 2 run -d --name u2 --network ov -p 8092:81/udp $IMG udp-echo 81
	expect_ok "outside -> h2:8092/udp answered by u2" udp_echo 8092
	dk 2 rm -f u2 >/dev/null
else
	fail "udp publishing tested (needs cc to build tests/e2e/udp-echo.c)"
fi
expect_ok "h1, h2: docker rm w1, w2, w3, w4" bash -c "dk 1 rm -f w1 w3 w4 && dk 2 rm -f w2"
expect_ok "... and their DNAT rules went" bash -c "! ip netns exec $LAB-h1 nft list table inet weft | grep -q 'dport 8088'"

# ---------------------------------------------------------------- -o gateway=docker: Docker's docker_gwbridge, as before
OD=(-d weft --ipam-driver weft --subnet 10.94.0.0/24 -o mode=overlay)
expect_ok "h1: an overlay network with -o gateway=docker" dk 1 network create "${OD[@]}" -o gateway=docker od
expect_ok "h2: the same without -o gateway takes the cluster's" dk 2 network create "${OD[@]}" od
vnid=$(lab_store_value weft/v1/pools/10.94.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
expect_ok "weftctl on h2 says gateway=docker" bash -c "wctl 2 networks | grep -q 'vni=$vnid gateway=docker'"
expect_ok "h1: run d1 on od with -p 8090:80, h2: d2" bash -c "
	dk 1 run -d --name d1 --network od -p 8090:80 $IMG \
		sh -c 'mkdir -p /www && echo hello-d1 >/www/index.html && httpd -p 80 -h /www && exec sleep 600' &&
	dk 2 run -d --name d2 --network od $IMG sleep 600"
expect_ok "their bridges hold no address" bash -c "! ip -n $LAB-h1 -4 addr show dev weft-o$vnid | grep -q inet &&
	! ip -n $LAB-h2 -4 addr show dev weft-o$vnid | grep -q inet"
expect_ok "d1 has eth1 (docker_gwbridge) with the default route" \
	bash -c "dk 1 exec d1 ip route | grep -q 'default via .* dev eth1'"
expect_ok "d2 (h2) goes out through docker_gwbridge on h2" from_host 2 d2
web_d1() { web_ok 192.0.2.1:8090 hello-d1; }
expect_ok "outside -> h1:8090 reaches d1 (published by Docker on docker_gwbridge)" lab_wait_for web_d1 5
expect_ok "d2 pings d1 over the overlay" dk 2 exec d2 ping -c2 -W2 "$(ip_of 1 d1 od)"
expect_ok "h1, h2: docker rm, network rm od" \
	bash -c "dk 1 rm -f d1 && dk 2 rm -f d2 && dk 1 network rm od && dk 2 network rm od"

# ---------------------------------------------------------------- --internal: no gateway, no way out
expect_ok "h1: an internal overlay network" dk 1 network create "${OD[@]/10.94.0.0/10.95.0.0}" --internal oi
expect_ok "h1: run i1 on it" dk 1 run -d --name i1 --network oi $IMG sleep 600
vnii=$(lab_store_value weft/v1/pools/10.95.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
expect_ok "its bridge holds no address, i1 has no default route" \
	bash -c "! ip -n $LAB-h1 -4 addr show dev weft-o$vnii | grep -q inet && ! dk 1 exec i1 ip route | grep -q default"
expect_fail_msg "i1 cannot reach the outside" "Network is unreachable|100% packet loss" dk 1 exec i1 ping -c1 -W1 192.0.2.254
expect_ok "h1: docker rm i1, network rm oi" bash -c "dk 1 rm -f i1 && dk 1 network rm oi"

# ---------------------------------------------------------------- IPv6: a dual-stack overlay network
# Each host holds the IPv6 gateway too and programs the others' containers' IPv6 addresses as
# neighbour entries on its VXLAN device, whose proxy answers neighbour solicitations for them
# as it answers ARP: nothing floods (flood=false), ping6 and TCP cross, the way out is the
# container's own host (masqueraded).
O6=(-d weft --ipam-driver weft --ipv6 --subnet 10.96.0.0/24 --subnet fd00:96::/64 -o mode=overlay)
for h in 1 2; do
	expect_ok "h$h: a dual-stack overlay network (10.96.0.0/24, fd00:96::/64)" dk $h network create "${O6[@]}" o6
	expect_ok "h$h: run s$h on it" dk $h run -d --name s$h --network o6 $IMG \
		sh -c 'mkdir -p /www && echo hello-s'$h' >/www/index.html && httpd -p 80 -h /www && exec sleep 600'
done
ip6_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").GlobalIPv6Address}}" "$2"; }
vn6=$(lab_store_value weft/v1/pools/10.96.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
s1=$(ip6_of 1 s1 o6)
s2=$(ip6_of 2 s2 o6)
lab_log "s1 $s1 (h1), s2 $s2 (h2), vni $vn6"
expect_ok "both hosts' bridges hold the IPv6 gateway fd00:96::1" \
	bash -c "ip -n $LAB-h1 -6 addr show dev weft-o$vn6 | grep -q 'fd00:96::1/64' &&
		ip -n $LAB-h2 -6 addr show dev weft-o$vn6 | grep -q 'fd00:96::1/64'"
neigh6() { ip -n "$LAB-h$1" -6 neigh show dev "weft-v$vn6" | grep -q "^$2 lladdr $(mac_of "$3" "$4" o6) PERMANENT"; }
n6_both() { neigh6 1 "$s2" 2 s2 && neigh6 2 "$s1" 1 s1; }
expect_ok "h1 has s2's IPv6 address as a neighbour entry on its VXLAN device, h2 s1's" lab_wait_for n6_both 5
expect_ok "s1 (h1) pings s2 (h2) over IPv6" dk 1 exec s1 ping6 -c2 -W2 "$s2"
expect_ok "s2 (h2) fetches s1's page over IPv6" \
	bash -c "dk 2 exec s2 sh -c 'printf \"GET / HTTP/1.0\r\n\r\n\" | nc -w 3 $s1 80' | grep -qx hello-s1"
expect_ok "s2 pings its IPv6 gateway (its own host)" dk 2 exec s2 ping6 -c2 -W2 fd00:96::1
expect_ok "s2 reaches the outside over IPv6 through masquerade on h2" dk 2 exec s2 ping6 -c2 -W2 2001:db8:2::254
expect_ok "s2's default IPv6 route is via fd00:96::1" bash -c "dk 2 exec s2 ip -6 route | grep -q 'default via fd00:96::1'"
# an automatic IPv6 subnet differs per host: the cluster's record names the network's
only_known_pools() { ! lab_store_keys weft/v1/pools/ | grep -v -e '^weft/v1/pools/10\.9' -e '^weft/v1/pools/fd00:96::-64'; }
expect_fail_msg "h3: the same network with an automatic IPv6 subnet is refused, naming the cluster's" \
	"overlay network 10.96.0.0/24 exists in the cluster with vni=$vn6 vxlan_port=4789 flood=false gateway=weft subnet6=fd00:96::/64; this host asked for .*subnet6=fd[0-9a-f:]*/64" \
	dk 3 network create -d weft --ipam-driver weft --ipv6 --subnet 10.96.0.0/24 -o mode=overlay o6
expect_ok "... and leaves no pool of its own in the store" only_known_pools
expect_ok "h1, h2: docker rm, network rm o6" \
	bash -c "dk 1 rm -f s1 && dk 2 rm -f s2 && dk 1 network rm o6 && dk 2 network rm o6"
expect_ok "no key of the IPv6 pool is left" no_keys weft/v1/pools/fd00:96::-64

# ---------------------------------------------------------------- another port, an explicit parent, a smaller MTU
OP=(-d weft --ipam-driver weft --subnet 10.93.0.0/24 -o mode=overlay -o vxlan_port=4790 -o parent=eth0 -o mtu=1400)
for h in 1 2; do
	expect_ok "h$h: an overlay network with vxlan_port=4790 parent=eth0 mtu=1400" dk $h network create "${OP[@]}" op
	expect_ok "h$h: run p$h on it" dk $h run -d --name p$h --network op $IMG sleep 600
done
vnp=$(lab_store_value weft/v1/pools/10.93.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
expect_ok "its VXLAN device uses port 4790 over eth0 with MTU 1400" \
	bash -c "ip -n $LAB-h1 -d link show weft-v$vnp | grep -q 'mtu 1400 ' &&
		ip -n $LAB-h1 -d link show weft-v$vnp | grep -q 'vxlan id $vnp local 192.0.2.1 dev eth0 .*dstport 4790 '"
expect_ok "the containers' MTU is 1400" bash -c "dk 1 exec p1 ip link show eth0 | grep -q 'mtu 1400'"
expect_ok "p1 (h1) pings p2 (h2) with 1400-byte packets" dk 1 exec p1 ping -c2 -W2 -s 1372 "$(ip_of 2 p2 op)"
expect_ok "h1, h2: docker rm, network rm op" \
	bash -c "dk 1 rm -f p1 && dk 2 rm -f p2 && dk 1 network rm op && dk 2 network rm op"

# ---------------------------------------------------------------- flood=true carries broadcasts
OF=(-d weft --ipam-driver weft --subnet 10.92.0.0/24 --ipv6 --subnet fd00:92::/64 -o mode=overlay -o flood=true)
for h in 1 2; do
	expect_ok "h$h: a dual-stack overlay network with flood=true" dk $h network create "${OF[@]}" of
	expect_ok "h$h: run f$h on it, answering broadcast pings" dk $h run -d --name f$h --network of \
		--sysctl net.ipv4.icmp_echo_ignore_broadcasts=0 $IMG sleep 600
done
vnf=$(lab_store_value weft/v1/pools/10.92.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
flood_entry() { bridge -n "$LAB-h1" fdb show dev "weft-v$vnf" | grep -q '^00:00:00:00:00:00 dst 192.0.2.2 self permanent'; }
expect_ok "h1 floods to h2: an all-zero FDB entry toward 192.0.2.2" lab_wait_for flood_entry 10
# with flooding, the gateway still stays on each host: h1's ARP requests for f1 (before it
# forwards the outside's reply) and f1's for the gateway do not cross the VXLAN, nor f1's
# neighbour solicitation for the IPv6 gateway (its first IPv6 packet out). The bridge's
# multicast snooping would keep that one home by itself (h1's bridge listens on the gateway's
# solicited-node group); with snooping off, as an operator may have it, it reaches the VXLAN
# device, whose proxy answers the solicitations it has entries for and drops the others.
ip -n "$LAB-h1" link set "weft-o$vnf" type bridge mcast_snooping 0
ip netns exec "$LAB-h2" tcpdump -i eth0 -nn -e -U -w "$LABDIR/flood.pcap" udp port 4789 2>/dev/null &
TCPDUMP=$!
sleep 1
ip -n "$LAB-h1" neigh flush dev "weft-o$vnf"
expect_ok "f1 (h1) reaches the outside" dk 1 exec f1 ping -c2 -W2 192.0.2.254
expect_ok "f1 (h1) reaches the outside over IPv6 too" dk 1 exec f1 ping6 -c2 -W2 2001:db8:2::254
expect_ok "f1 (h1) pings f2 (h2) over IPv6" dk 1 exec f1 ping6 -c2 -W2 "$(ip6_of 2 f2 of)"
expect_ok "a broadcast ping from f1 (h1) is answered by f2 (h2)" \
	bash -c "dk 1 exec f1 ping -c2 -W2 10.92.0.255 | grep -q 'from $(ip_of 2 f2 of)'"
kill "$TCPDUMP" 2>/dev/null
wait "$TCPDUMP" 2>/dev/null
in_flood() { tcpdump -nn -e -r "$LABDIR/flood.pcap" 2>/dev/null | grep -c -- "$1"; }
expect_ok "the capture on h2's underlay has f1's broadcasts ($(in_flood 10.92.0.255)) ..." \
	bash -c "[ $(in_flood 10.92.0.255) -gt 0 ]"
expect_ok "... no frame to or from the gateway MAC ($(in_flood 02:42:0a:5c:00:01)), no ARP request for it ($(in_flood 'who-has 10.92.0.1 '))" \
	bash -c "[ $(in_flood 02:42:0a:5c:00:01) = 0 ] && [ $(in_flood 'who-has 10.92.0.1 ') = 0 ]"
expect_ok "... f1's IPv6 pings of f2 ($(in_flood 'ICMP6, echo request')), and no neighbour solicitation for the IPv6 gateway ($(in_flood 'who has fd00:92::1,'))" \
	bash -c "[ $(in_flood 'ICMP6, echo request') -gt 0 ] && [ $(in_flood 'who has fd00:92::1,') = 0 ]"
expect_ok "h2: run b2 on ov, answering broadcast pings" \
	dk 2 run -d --name b2 --network ov --sysctl net.ipv4.icmp_echo_ignore_broadcasts=0 $IMG sleep 600
expect_fail_msg "without flood, a broadcast ping from c1 gets no answer from h2" "0 packets received" \
	dk 1 exec c1 ping -c2 -W2 10.90.0.255
expect_ok "h1, h2: docker rm, network rm of" \
	bash -c "dk 1 rm -f f1 && dk 2 rm -f f2 b2 && dk 1 network rm of && dk 2 network rm of"

# ---------------------------------------------------------------- weftd restarts do not stop traffic
dk 1 exec c1 ping -c 12 -W1 "$c2" >"$LABDIR/ping.out" 2>&1 &
pingpid=$!
sleep 2
lab_stop_weftd 1 KILL
sleep 2
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL
wait $pingpid
expect_ok "kill -9 and restart of h1's weftd while c1 pings c2: no packet lost ($(lab_loss "$LABDIR/ping.out"))" \
	lab_no_loss "$LABDIR/ping.out"
expect_ok "... and h1's entries are still right" lab_wait_for entries 10
expect_ok "... and c1 still goes out through h1" bash -c "dk 1 exec c1 ping -c2 -W2 192.0.2.254 &&
	ip -n $LAB-h1 -4 addr show dev weft-o$vni | grep -q 'inet 10.90.0.1/24'"

# ---------------------------------------------------------------- a container goes: its entries go
expect_ok "h3: docker rm c3" dk 3 rm -f c3
gone() { ! fdb_has 1 "weft-v$vni" "$m3" 192.0.2.3 && ! neigh_has 1 "weft-v$vni" "$c3" "$m3" &&
	! fdb_has 2 "weft-v$vni" "$m3" 192.0.2.3; }
expect_ok "h1 and h2 remove c3's entries" lab_wait_for gone 10
c2_kept() { fdb_has 1 "weft-v$vni" "$m2" 192.0.2.2 && neigh_has 1 "weft-v$vni" "$c2" "$m2"; }
expect_ok "... and h1 keeps c2's" c2_kept
expect_ok "c1 still pings c2" dk 1 exec c1 ping -c2 -W2 "$c2"

# ---------------------------------------------------------------- a container moves to another host
# rm on h3, run with the same --ip (so the same MAC) on h2: a silent server, which sends nothing
# first, is reached at once from h2 itself and from c2, whose ARP entry for it is still fresh
# (a MAC the bridge had learned behind the VXLAN device would hold its frames for 300 s)
expect_ok "h3: run m3 --ip 10.90.0.50; c2 (h2) and c1 (h1) ping it" bash -c "
	dk 3 run -d --name m3 --network ov --ip 10.90.0.50 $IMG sleep 600 >/dev/null &&
	dk 2 exec c2 ping -c2 -W2 10.90.0.50 && dk 1 exec c1 ping -c2 -W2 10.90.0.50"
mm=$(mac_of 3 m3 ov)
expect_ok "h3: docker rm m3; h2: run m2 --ip 10.90.0.50 -p 8091:80, a web server that sends nothing first" bash -c "
	dk 3 rm -f m3 >/dev/null &&
	dk 2 run -d --name m2 --network ov --ip 10.90.0.50 -p 8091:80 $IMG \
		sh -c 'mkdir -p /www && echo hello-m2 >/www/index.html && exec httpd -f -p 80 -h /www'"
expect_ok "m2 has m3's MAC ($mm)" bash -c "[ '$(mac_of 2 m2 ov)' = '$mm' ]"
get_m2() { dk "$1" exec "$2" sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 10.90.0.50 80' | grep -q hello-m2; }
expect_ok "c2 (h2) reaches m2 at once" get_m2 2 c2
web_m2() { web_ok 192.0.2.2:8091 hello-m2; }
expect_ok "the outside reaches m2 through h2:8091 (the gateway on h2)" lab_wait_for web_m2 5
m2_on_h1() { fdb_has 1 "weft-v$vni" "$mm" 192.0.2.2; }
expect_ok "h1's entry for its MAC moves to h2" lab_wait_for m2_on_h1 10
expect_ok "c1 (h1) reaches m2" get_m2 1 c1
expect_ok "no bridge learned a MAC behind a VXLAN device" bash -c "
	for h in 1 2 3; do ! bridge -n $LAB-h\$h fdb show dev weft-v$vni | grep -v ' self' | grep -qv ' static\| permanent'; done"
expect_ok "h2: docker rm m2" dk 2 rm -f m2

# ---------------------------------------------------------------- changes while a weftd is down
expect_ok "h3: run c4" dk 3 run -d --name c4 --network ov $IMG sleep 600
c4=$(ip_of 3 c4 ov) m4=$(mac_of 3 c4 ov)
c4_on_h1() { fdb_has 1 "weft-v$vni" "$m4" 192.0.2.3 && neigh_has 1 "weft-v$vni" "$c4" "$m4"; }
expect_ok "h1 gets c4's entries" lab_wait_for c4_on_h1 10
lab_stop_weftd 1 TERM
expect_ok "h1's weftd stopped; h3: docker rm c4" dk 3 rm -f c4
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL
c4_gone() { ! fdb_has 1 "weft-v$vni" "$m4" 192.0.2.3 && ! neigh_has 1 "weft-v$vni" "$c4" "$m4"; }
expect_ok "h1's weftd, back, removes c4's entries (gone meanwhile)" lab_wait_for c4_gone 10
expect_ok "... and keeps c2's" c2_kept

# ---------------------------------------------------------------- a host dies: its entries go one TTL after its lease
expect_ok "h3: run c5" dk 3 run -d --name c5 --network ov $IMG sleep 600
c5=$(ip_of 3 c5 ov) m5=$(mac_of 3 c5 ov)
c5_on_h1() { fdb_has 1 "weft-v$vni" "$m5" 192.0.2.3; }
expect_ok "h1 gets c5's entries" lab_wait_for c5_on_h1 10
lab_stop_weftd 3 KILL
c5_gone() { ! fdb_has 1 "weft-v$vni" "$m5" 192.0.2.3 && ! neigh_has 1 "weft-v$vni" "$c5" "$m5"; }
# the lease expires after TTL (Consul: up to 2 x TTL), then h1 holds h3's entries one TTL more
expect_ok "h3's weftd killed: h1 removes c5's entries once h3's lease expired and one TTL passed (<= 3 x ${TTL} + 5 s)" \
	lab_wait_for c5_gone $((3 * TTL + 5))
lab_start_weftd 3 --host-id h3 --store "$LAB_STORE_URL" --lease-ttl $TTL
expect_ok "h3's weftd back: h1 has c5's entries again" lab_wait_for c5_on_h1 $((TTL + 5))
expect_ok "c1 pings c5" dk 1 exec c1 ping -c2 -W2 "$c5"
expect_ok "h3: docker rm c5" dk 3 rm -f c5

# ---------------------------------------------------------------- dockerd restarts, live-restore off and on
expect_ok "h2: run r2 --restart always --ip 10.90.0.77" \
	dk 2 run -d --name r2 --restart always --network ov --ip 10.90.0.77 $IMG sleep 600
r2_on_h1() { fdb_has 1 "weft-v$vni" "$(mac_of 2 r2 ov)" 192.0.2.2 && neigh_has 1 "weft-v$vni" 10.90.0.77 "$(mac_of 2 r2 ov)"; }
expect_ok "h1 gets r2's entries" lab_wait_for r2_on_h1 10
lab_stop_dockerd 2 TERM
r2_gone() { ! ip -n "$LAB-h1" neigh show dev "weft-v$vni" | grep -q '^10\.90\.0\.77 '; }
expect_ok "h2's dockerd stopped (live-restore off): its containers stop, h1 removes r2's entries" lab_wait_for r2_gone 10
lab_start_dockerd 2
r2_up() { [ "$(dk 2 inspect -f '{{.State.Running}}' r2 2>/dev/null)" = true ]; }
expect_ok "h2's dockerd is back and restarts r2" lab_wait_for r2_up 30
expect_ok "r2 has 10.90.0.77 again and h1 has its entries" lab_wait_for r2_on_h1 10
expect_ok "c1 (h1) pings r2 (h2)" dk 1 exec c1 ping -c2 -W2 10.90.0.77
expect_ok "r2 goes out through h2 after the dockerd restart" from_host 2 r2
echo '{"live-restore": true}' >"$LABDIR/h2/daemon.json"
kill -HUP "$DOCKERD_PID_2"
live() { [ "$(dk 2 info -f '{{.LiveRestoreEnabled}}')" = true ]; }
expect_ok "h2's dockerd reloads with live-restore on" lab_wait_for live 10
dk 1 exec c1 ping -c 12 -W1 10.90.0.77 >"$LABDIR/ping2.out" 2>&1 &
pingpid=$!
sleep 2
lab_stop_dockerd 2 TERM
sleep 2
lab_start_dockerd 2
wait $pingpid
expect_ok "a restart of h2's dockerd with live-restore while c1 pings r2: no packet lost ($(lab_loss "$LABDIR/ping2.out"))" \
	lab_no_loss "$LABDIR/ping2.out"
kept() { r2_up && r2_on_h1; }
expect_ok "... r2 kept running and h1 kept its entries" kept
expect_ok "... and r2 still goes out through h2" from_host 2 r2
expect_ok "h2: docker rm r2 after the live restore" dk 2 rm -f r2
expect_ok "... h1 removes its entries" lab_wait_for r2_gone 10
expect_ok "... and its veth on h2" bash -c "! ip -n $LAB-h2 -o link show | grep -q ': wv'"

# ---------------------------------------------------------------- cleanup leaves nothing
expect_ok "h1, h2: docker rm" bash -c "dk 1 rm -f c1 && dk 2 rm -f c2"
for h in 1 2 3; do
	expect_ok "h$h: network rm" dk $h network rm ov
done
expect_ok "no key of the pool is left in the store" no_keys weft/v1/pools/10.90.0.0-24
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/
for h in 1 2 3; do
	expect_ok "no weft device is left on h$h" no_devices $h
done

lab_summary
