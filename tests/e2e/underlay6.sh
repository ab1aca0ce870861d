#!/bin/bash
# underlay6.sh - an IPv6 underlay: h1 and h2 advertise their IPv6 addresses (--advertise
# 2001:db8:2::N), so overlay and routed networks run VXLAN over IPv6 and host-gw routes go to
# the other host's IPv6 address (an IPv4 slice's too: via inet6, RFC 5549); dual-stack
# containers reach each other over both families. h3 advertises IPv4: a network across hosts is
# refused there, saying why, and leaves nothing. Everything removed leaves nothing behind.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
lab_require
lab_init "underlay6-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2 3; do
	lab_host $h
	lab_image $h
done
IMG=weft-test:local

no_keys() { ! lab_store_keys "$1"; }
no_devices() { ! lab_weft_devices "$1"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
ip6_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").GlobalIPv6Address}}" "$2"; }
host_rec() { lab_store_value "weft/v1/hosts/h$1"; }
# clean H: no weft device and no weft route (proto 157) on host H
clean() { no_devices "$1" && ! ip -n "$LAB-h$1" route show proto 157 | grep -q . &&
	! ip -n "$LAB-h$1" -6 route show proto 157 | grep -q .; }

# ---------------------------------------------------------------- --advertise
# an interface with no IPv4 address: its global IPv6 address is taken
ip -n "$LAB-h1" link add u6 type veth peer name u6p
ip -n "$LAB-h1" addr add 2001:db8:9::1/64 dev u6 nodad
ip -n "$LAB-h1" link set u6 up
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --advertise u6
expect_ok "--advertise u6 (an interface with only IPv6): h1's record has its IPv6 address" \
	bash -c "[[ '$(host_rec 1)' == *'\"addr\":\"2001:db8:9::1\"'* ]]"
lab_stop_weftd 1
ip -n "$LAB-h1" link del u6
for h in 1 2; do
	lab_start_weftd $h --host-id h$h --store "$LAB_STORE_URL" --advertise "2001:db8:2::$h"
	expect_ok "h$h advertises 2001:db8:2::$h: its record says so" \
		bash -c "[[ '$(host_rec $h)' == *'\"addr\":\"2001:db8:2::$h\"'* ]]"
done
peers_h2() { wctl 1 peers | grep -q '^h2 .*2001:db8:2::2'; }
expect_ok "weftctl peers on h1 shows h2 at 2001:db8:2::2" lab_wait_for peers_h2 5

# ---------------------------------------------------------------- overlay over IPv6
OV=(-d weft --ipam-driver weft --ipv6 --subnet 10.96.0.0/24 --subnet fd00:96::/64 -o mode=overlay)
for h in 1 2; do
	expect_ok "h$h: a dual-stack overlay network ov" dk $h network create "${OV[@]}" ov
	expect_ok "h$h: run o$h on it" dk $h run -d --name o$h --network ov $IMG sleep 600
done
vx=$(lab_weft_devices 1 | grep '^weft-v' | head -1)
expect_ok "h1's VXLAN device $vx sends from 2001:db8:2::1" \
	bash -c "ip -n $LAB-h1 -d link show $vx | grep -q 'local 2001:db8:2::1 '"
expect_ok "... and its MTU leaves 70 bytes of 1500 for VXLAN over IPv6" \
	bash -c "ip -n $LAB-h1 link show $vx | grep -q 'mtu 1430 '"
m2=$(dk 2 exec o2 cat /sys/class/net/eth0/address)
fdb_o2() { bridge -n "$LAB-h1" fdb show dev "$vx" | grep -q "^$m2 dst 2001:db8:2::2 "; }
expect_ok "h1's FDB sends o2's MAC $m2 to 2001:db8:2::2" lab_wait_for fdb_o2 10
o2=$(ip_of 2 o2 ov)
o2v6=$(ip6_of 2 o2 ov)
ip netns exec "$LAB-h2" timeout 10 tcpdump -i eth0 -nn -c 4 'udp port 4789' >"$LABDIR/vxlan.txt" 2>/dev/null &
tpid=$!
sleep 1
expect_ok "o1 (h1) pings o2 (h2)" dk 1 exec o1 ping -c2 -W2 "$o2"
expect_ok "o1 (h1) pings o2 (h2) over IPv6" dk 1 exec o1 ping6 -c2 -W2 "$o2v6"
wait $tpid
expect_ok "the VXLAN packets on h2's underlay go between 2001:db8:2::1 and ::2, none over IPv4" \
	bash -c "[ \$(grep -c '^[0-9:.]* IP6 2001:db8:2::[12]\.[0-9]* > 2001:db8:2::[12]\.4789' '$LABDIR/vxlan.txt') -ge 4 ] &&
		! grep -q ' IP 192\.0\.2\.' '$LABDIR/vxlan.txt'"
# h3 comes with an IPv4 underlay: the cluster is mixed while it is there
lab_start_weftd 3 --host-id h3 --store "$LAB_STORE_URL" --lease-ttl 10
expect_ok "h3 advertises its IPv4 address 192.0.2.3" bash -c "[[ '$(host_rec 3)' == *'\"addr\":\"192.0.2.3\"'* ]]"
warned() { grep -q "host 'h3' advertises 192.0.2.3, an IPv4 address, and this host an IPv6 one" "$LABDIR/h1/weftd.log"; }
expect_ok "h1's weftd warns that h3's underlay is IPv4, not IPv6 as its own" lab_wait_for warned 5
expect_fail_msg "h3: the same network is refused, saying why" \
	"host 'h[12]' advertises 2001:db8:2::[12] and this host 192.0.2.3: a cluster's underlay must be all IPv4 or all IPv6" \
	dk 3 network create "${OV[@]}" ov
expect_ok "... and left nothing on h3" clean 3
expect_fail_msg "h1: a new network across hosts is refused while h3 is there, naming it" \
	"host 'h3' advertises 192.0.2.3 and this host 2001:db8:2::1: a cluster's underlay must be all IPv4 or all IPv6" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.95.0.0/24 -o mode=overlay ov2
expect_ok "o1 still pings o2 (the network made before h3 came)" dk 1 exec o1 ping -c2 -W2 "$o2"
lab_stop_weftd 3
h3_gone() { ! lab_store_keys weft/v1/hosts/h3; }
expect_ok "h3's weftd stopped: its record goes with its lease (10 s)" lab_wait_for h3_gone 30

# ---------------------------------------------------------------- routed over IPv6
RT=(-d weft --ipam-driver weft --ipv6 --subnet 10.97.0.0/16 --subnet fd00:97::/64 -o mode=routed)
for h in 1 2; do
	expect_ok "h$h: a dual-stack routed network rt (vxlan)" dk $h network create "${RT[@]}" rt
	expect_ok "h$h: run r$h on it" dk $h run -d --name r$h --network rt $IMG sleep 600
done
rvx=$(ip -n "$LAB-h1" -o link show type vxlan | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v "^$vx$" | head -1)
rfdb() { bridge -n "$LAB-h1" fdb show dev "$rvx" | grep -q " dst 2001:db8:2::2 "; }
expect_ok "h1's FDB sends h2's routed slices to 2001:db8:2::2 (on $rvx)" lab_wait_for rfdb 10
expect_ok "r1 (h1) pings r2 (h2)" dk 1 exec r1 ping -c2 -W2 "$(ip_of 2 r2 rt)"
expect_ok "r1 (h1) pings r2 (h2) over IPv6" dk 1 exec r1 ping6 -c2 -W2 "$(ip6_of 2 r2 rt)"
HG=(-d weft --ipam-driver weft --ipv6 --subnet 10.98.0.0/16 --subnet fd00:98::/64 -o mode=routed -o backend=host-gw)
for h in 1 2; do
	expect_ok "h$h: a dual-stack routed network hg (host-gw)" dk $h network create "${HG[@]}" hg
	expect_ok "h$h: run y$h on it" dk $h run -d --name y$h --network hg $IMG sleep 600
done
via6() { ip -n "$LAB-h1" route show proto 157 | grep -q "^10\.98\.[0-9]*\.0/24 via inet6 2001:db8:2::2 dev eth0"; }
expect_ok "h1 routes h2's IPv4 slice of hg via inet6 2001:db8:2::2 (RFC 5549)" lab_wait_for via6 10
route6() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^fd00:98:.*/72 via 2001:db8:2::2 dev eth0"; }
expect_ok "... and its IPv6 slice via 2001:db8:2::2" lab_wait_for route6 10
expect_ok "y1 (h1) pings y2 (h2)" dk 1 exec y1 ping -c2 -W2 "$(ip_of 2 y2 hg)"
expect_ok "y2 (h2) pings y1 (h1) over IPv6" dk 2 exec y2 ping6 -c2 -W2 "$(ip6_of 1 y1 hg)"
expect_ok "h2 leaves hg: h1 removes both its routes" \
	bash -c "dk 2 rm -f y2 >/dev/null && dk 2 network rm hg >/dev/null"
gone() { ! via6 && ! route6; }
expect_ok "... the IPv4 one via inet6 too" lab_wait_for gone 10

# ---------------------------------------------------------------- nothing left
expect_ok "everything removed" bash -c "dk 1 rm -f o1 r1 y1 && dk 2 rm -f o2 r2 &&
	dk 1 network rm ov rt hg && dk 2 network rm ov rt"
for h in 1 2 3; do
	expect_ok "no weft device or route is left on h$h" clean $h
done
expect_ok "no key of a pool is left" no_keys weft/v1/pools/
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/

lab_summary
