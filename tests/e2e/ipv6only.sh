#!/bin/bash
# ipv6only.sh - IPv6-only weft networks (Docker 28's `--ipv4=false --ipv6`) on two lab hosts
# sharing a cluster store (LAB_STORE=etcd, default, or consul), in each mode: the containers
# get an IPv6 address and no IPv4 one, reach each other on one host and across hosts, their
# gateway and (bridge, overlay, routed) the outside, masqueraded; -p publishes on the hosts'
# IPv6 addresses; the macvlan host shim has only an IPv6 address; a weftd killed and started
# again restores them, and frees what went while it was down. IPv4-only options are refused
# with a clear message and leave nothing; after docker rm / network rm nothing is left.
# Engines before Engine API 1.48 have no --ipv4=false: the suite is skipped there.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
lab_require
lab_init "ipv6only-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2; do
	lab_host $h
	lab_api_at_least $h 1.48 || lab_skip "this dockerd speaks Engine API before 1.48: it has no --ipv4=false"
	lab_image $h
	lab_start_weftd $h --host-id h$h --store "$LAB_STORE_URL" --reconcile-interval 2
done
IMG=weft-test:local
V6=(-d weft --ipam-driver weft --ipv4=false --ipv6)

ip4_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
ip6_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").GlobalIPv6Address}}" "$2"; }
no_keys() { ! lab_store_keys "$1"; }
no_devices() { ! lab_weft_devices "$1"; }
# no_inet H C: container C on host H has no IPv4 address and no IPv4 route
no_inet() { ! dk "$1" exec "$2" ip -4 addr show dev eth0 | grep -q inet && [ -z "$(dk "$1" exec "$2" ip -4 route)" ]; }
web_ok() { [ "$(ip netns exec "$LAB-out" curl -sS -m 3 -g "http://$1/")" = "$2" ]; }
httpd_cmd() { printf 'mkdir -p /www && echo %s >/www/index.html && httpd -p 80 -h /www && exec sleep 600' "$1"; }
# clean H: no weft device, route (proto 157), address or firewall rule on host H
clean() {
	no_devices "$1" && ! ip -n "$LAB-h$1" -6 route show proto 157 | grep -q . &&
		! ip -n "$LAB-h$1" route show proto 157 | grep -q . &&
		! lab_exec "$1" iptables -S | grep -q -e '--comment weft' -e WEFT-FORWARD &&
		! lab_exec "$1" ip6tables -S | grep -q -e '--comment weft' -e WEFT-FORWARD &&
		! ip netns exec "$LAB-h$1" nft list table inet weft 2>/dev/null | grep -q saddr
}

# ---------------------------------------------------------------- bridge
expect_fail_msg "host_binding_ipv4 on an IPv6-only network is refused" \
	"option 'host_binding_ipv4' needs IPv4, and the network is IPv6-only" \
	dk 1 network create "${V6[@]}" --subnet fd00:72::/64 -o host_binding_ipv4=192.0.2.1 bad1
expect_ok "... and left no device" no_devices 1
expect_ok "... and no key of its pool" no_keys weft/v1/pools/fd00:72::-64
expect_ok "h1: an IPv6-only bridge network b6 (fd00:71::/64)" dk 1 network create "${V6[@]}" --subnet fd00:71::/64 b6
br=$(lab_weft_devices 1 | grep '^weft-b' | head -1)
expect_ok "its bridge $br has the gateway fd00:71::1/64 and no IPv4 address" \
	bash -c "ip -n $LAB-h1 -6 -o addr show dev '$br' | grep -q 'inet6 fd00:71::1/64' &&
		! ip -n $LAB-h1 -4 -o addr show dev '$br' | grep -q inet"
v6_rules_only() { lab_exec 1 ip6tables -S WEFT-FORWARD | grep -q -- "-i $br " && ! lab_exec 1 iptables -S | grep -q -- "$br"; }
expect_ok "ip6tables accepts b6's traffic, iptables has no rule for it" v6_rules_only
expect_ok "weftctl lists b6 with its IPv6 subnet and gateway only" \
	bash -c "wctl 1 networks | grep -E '^[0-9a-f]{12} +bridge +fd00:71::/64 +fd00:71::1/64 '"
expect_ok "h1: run c1 and c2 on b6 (c2 with --ip6 fd00:71::1234:5678:9abc)" bash -c "
	dk 1 run -d --name c1 --network b6 $IMG sleep 600 &&
	dk 1 run -d --name c2 --network b6 --ip6 fd00:71::1234:5678:9abc $IMG sleep 600"
c1=$(ip6_of 1 c1 b6)
expect_ok "c1 has an IPv6 address of the subnet ($c1) and no IPv4 one" \
	bash -c "[[ '$c1' == fd00:71::* && -z '$(ip4_of 1 c1 b6)' ]]"
expect_ok "... no IPv4 address or route inside c1" no_inet 1 c1
expect_ok "c2's MAC is 02 and the last five bytes of its address" \
	bash -c "dk 1 exec c2 cat /sys/class/net/eth0/address | grep -qx '02:34:56:78:9a:bc'"
expect_ok "c1's default route is via the gateway fd00:71::1" bash -c "dk 1 exec c1 ip -6 route | grep -q 'default via fd00:71::1'"
expect_ok "c1 pings c2" dk 1 exec c1 ping6 -c2 -W2 fd00:71::1234:5678:9abc
expect_ok "c2 pings c1 by name (Docker's DNS, AAAA)" dk 1 exec c2 ping6 -c2 -W2 c1
expect_ok "c1 pings the gateway" dk 1 exec c1 ping6 -c2 -W2 fd00:71::1
expect_fail_msg "the outside has no route back to fd00:71::/64" '[Uu]nreachable|No route' \
	ip -n "$LAB-out" -6 route get fd00:71::2 from 2001:db8:2::254 iif lo
expect_ok "c1 reaches the outside through masquerade" dk 1 exec c1 ping6 -c2 -W2 2001:db8:2::254
expect_fail_msg "a container with IPv6 off cannot join b6, saying why" "endpoint has no address: network [0-9a-f]{12} is IPv6-only, and the container has IPv6 off" \
	dk 1 run --rm --network b6 --sysctl net.ipv6.conf.all.disable_ipv6=1 $IMG true
expect_ok "... and left no veth" bash -c "[ \$(ip -n $LAB-h1 -o link show master '$br' | grep -c ' wv') = 2 ]"
expect_ok "h1: run w1 on b6 with -p 8080:80 (busybox httpd)" \
	dk 1 run -d --name w1 --network b6 -p 8080:80 $IMG sh -c "$(httpd_cmd hello-w1)"
w1_web() { web_ok '[2001:db8:2::1]:8080' hello-w1; }
expect_ok "outside -> [2001:db8:2::1]:8080 reaches w1" lab_wait_for w1_web 5
expect_fail_msg "... but nothing listens on h1's IPv4 address (w1 has no IPv4 address)" "Connection refused|Failed to connect" \
	ip netns exec "$LAB-out" curl -sS -m 3 http://192.0.2.1:8080/
expect_ok "weftctl lists w1's port on [::]" bash -c "wctl 1 endpoints | grep -q '\[::\]:8080/tcp->80'"
expect_fail_msg "-p on an IPv4 address of the host is refused, saying why" \
	"cannot publish on 192.0.2.1: the container has no IPv4 address on network" \
	dk 1 run --rm --network b6 -p 192.0.2.1:8081:80 $IMG true
expect_ok "h1: an IPv6-only network without --subnet (b6auto)" dk 1 network create "${V6[@]}" b6auto
auto=$(dk 1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' b6auto)
expect_ok "b6auto has one unique local /64 and no IPv4 subnet ($auto)" bash -c "[[ '$auto' =~ ^fd[0-9a-f:]*::/64\ $ ]]"
expect_ok "h1: docker rm, network rm" bash -c "dk 1 rm -f c1 c2 w1 && dk 1 network rm b6 b6auto"
expect_ok "nothing of b6 is left on h1 (device, route, rule)" clean 1
expect_ok "... nor a key of its pool" no_keys weft/v1/pools/fd00:71::-64

# ---------------------------------------------------------------- overlay
OV6=("${V6[@]}" --subnet fd00:73::/64 -o mode=overlay)
for h in 1 2; do
	expect_ok "h$h: an IPv6-only overlay network ov6 (fd00:73::/64)" dk $h network create "${OV6[@]}" ov6
	expect_ok "h$h: run o$h on it" dk $h run -d --name o$h --network ov6 $IMG sleep 600
done
o1=$(ip6_of 1 o1 ov6)
o2=$(ip6_of 2 o2 ov6)
expect_ok "o1 and o2 have different addresses of fd00:73::/64 ($o1, $o2)" \
	bash -c "[[ '$o1' == fd00:73::* && '$o2' == fd00:73::* && '$o1' != '$o2' ]]"
expect_ok "o1 has no IPv4 address or route" no_inet 1 o1
vx=$(lab_weft_devices 1 | grep '^weft-v' | head -1)
m2=$(dk 2 exec o2 cat /sys/class/net/eth0/address)
neigh_o2() { ip -n "$LAB-h1" -6 neigh show dev "$vx" | grep -q "^$o2 lladdr $m2 PERMANENT"; }
expect_ok "h1 has a neighbour entry for o2 on $vx ($o2 -> $m2)" lab_wait_for neigh_o2 10
expect_ok "o1 (h1) pings o2 (h2)" dk 1 exec o1 ping6 -c2 -W2 "$o2"
expect_ok "o2 (h2) pings o1 (h1)" dk 2 exec o2 ping6 -c2 -W2 "$o1"
gwmac() { ip -n "$LAB-h$1" -o link show "weft-o${vx#weft-v}" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
expect_ok "both hosts' bridges hold the gateway with the same MAC ($(gwmac 1))" \
	bash -c "[ '$(gwmac 1)' = '$(gwmac 2)' ] && ip -n $LAB-h2 -6 -o addr show dev weft-o${vx#weft-v} | grep -q 'fd00:73::1/64'"
expect_ok "o2 pings its gateway (its own host's bridge)" dk 2 exec o2 ping6 -c2 -W2 fd00:73::1
expect_ok "o2 reaches the outside through masquerade on h2" dk 2 exec o2 ping6 -c2 -W2 2001:db8:2::254
expect_fail_msg "h2: --ip6 of o1's address is refused (one IPAM for the cluster)" "address $o1 is in use by host 'h1'" \
	dk 2 run --rm --network ov6 --ip6 "$o1" $IMG true
expect_ok "h2: run w2 on ov6 with -p 8082:80" \
	dk 2 run -d --name w2 --network ov6 -p 8082:80 $IMG sh -c "$(httpd_cmd hello-w2)"
w2_web() { web_ok '[2001:db8:2::2]:8082' hello-w2; }
expect_ok "outside -> [2001:db8:2::2]:8082 reaches w2" lab_wait_for w2_web 5
expect_ok "h1, h2: docker rm, network rm" \
	bash -c "dk 1 rm -f o1 && dk 2 rm -f o2 w2 && dk 1 network rm ov6 && dk 2 network rm ov6"
expect_ok "nothing of ov6 is left on h1" clean 1
expect_ok "... or on h2" clean 2
expect_ok "no key of fd00:73::/64 is left" no_keys weft/v1/pools/fd00:73::-64
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/

# ---------------------------------------------------------------- routed
expect_fail_msg "routed: host_prefix on an IPv6-only network is refused, naming host_prefix6" \
	"option 'host_prefix' slices the IPv4 subnet, and the network is IPv6-only: use host_prefix6" \
	dk 1 network create "${V6[@]}" --subnet fd00:75::/64 -o mode=routed -o host_prefix=26 bad2
expect_fail_msg "routed: an IPv6 subnet too small for the default 256 slices is refused, saying what to give" \
	"IPv6 subnet fd00:75::/120 has no room for as many slices as the default 256 \(/128 slices\): give -o host_prefix6 \(allowed: /121 to /126\)" \
	dk 1 network create "${V6[@]}" --subnet fd00:75::/120 -o mode=routed bad3
expect_ok "... and neither left a device" no_devices 1
expect_ok "... or a key" no_keys weft/v1/pools/fd00:75::
RT6=("${V6[@]}" --subnet fd00:74::/64 -o mode=routed)
for h in 1 2; do
	expect_ok "h$h: an IPv6-only routed network rt6 (fd00:74::/64, vxlan)" dk $h network create "${RT6[@]}" rt6
	expect_ok "h$h: run r$h on it" dk $h run -d --name r$h --network rt6 $IMG sleep 600
done
slice6_of() { lab_store_keys weft/v1/pools/fd00:74::-64/slices/ | while read -r k; do
	lab_store_value "$k" | grep -q "\"host\":\"h$1\"" && echo "${k##*/}" | tr - /; done; }
s1=$(slice6_of 1)
s2=$(slice6_of 2)
expect_ok "each host holds a /72 of fd00:74::/64 ($s1, $s2)" \
	bash -c "[[ '$s1' == fd00:74:*/72 && '$s2' == fd00:74:*/72 && '$s1' != '$s2' ]]"
r1=$(ip6_of 1 r1 rt6)
r2=$(ip6_of 2 r2 rt6)
expect_ok "r1 has no IPv4 address or route" no_inet 1 r1
rvx=$(lab_weft_devices 1 | grep '^weft-v' | head -1)
expect_ok "h1's VXLAN device $rvx holds its slice's address (${s1%/*}/128) and no IPv4 one" \
	bash -c "ip -n $LAB-h1 -6 -o addr show dev $rvx | grep -q 'inet6 ${s1%/*}/128' &&
		! ip -n $LAB-h1 -4 -o addr show dev $rvx | grep -q inet"
route_s2() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^$s2 via ${s2%/*} dev $rvx"; }
expect_ok "h1 routes h2's slice over $rvx" lab_wait_for route_s2 10
vmac2=$(ip -n "$LAB-h2" -o link show "$rvx" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
expect_ok "h1's neighbour entry for h2's slice has h2's VXLAN MAC ($vmac2)" \
	bash -c "ip -n $LAB-h1 -6 neigh show dev $rvx | grep -q '^${s2%/*} lladdr $vmac2 PERMANENT'"
expect_ok "r1 (h1) pings r2 (h2)" dk 1 exec r1 ping6 -c2 -W2 "$r2"
expect_ok "r2 (h2) pings r1 (h1)" dk 2 exec r2 ping6 -c2 -W2 "$r1"
expect_ok "r1 reaches the outside through masquerade" dk 1 exec r1 ping6 -c2 -W2 2001:db8:2::254
# weftd killed; r1 removed while it is down: its address is freed when weftd is back
db_has() { mdb_dump -n -p -s data "$DATADIR/h$1/weft/weft.db" | grep -q -- "$2"; }
expect_ok "h1's own store holds r1's address in h1's slice" db_has 1 "/addr/$r1"
lab_stop_weftd 1 KILL
expect_ok "h1's weftd killed (-9): docker rm r1 all the same" dk 1 rm -f r1
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --reconcile-interval 2
r1_freed() { ! db_has 1 "/addr/$r1"; }
expect_ok "weftd back: the reconcile frees r1's address" lab_wait_for r1_freed 20
expect_ok "... and says so" grep -q "left its container while weftd was down: freed its address $r1 " "$LABDIR/h1/weftd.log"
expect_ok "h1 keeps its slice $s1, and routes h2's again" bash -c "[ '$(slice6_of 1)' = '$s1' ]"
expect_ok "... over $rvx" lab_wait_for route_s2 10
expect_ok "h1: run r3 on rt6" dk 1 run -d --name r3 --network rt6 $IMG sleep 600
expect_ok "r2 (h2) pings r3 (h1)" dk 2 exec r2 ping6 -c2 -W2 "$(ip6_of 1 r3 rt6)"
HG6=("${V6[@]}" --subnet fd00:76::/64 -o mode=routed -o backend=host-gw)
for h in 1 2; do
	expect_ok "h$h: an IPv6-only routed network hg6 (backend host-gw)" dk $h network create "${HG6[@]}" hg6
	expect_ok "h$h: run y$h on it" dk $h run -d --name y$h --network hg6 $IMG sleep 600
done
hg_route() { ip -n "$LAB-h1" -6 route show proto 157 | grep -q "^fd00:76:.*/72 via 2001:db8:2::2 dev eth0"; }
expect_ok "h1 routes h2's slice of hg6 straight to h2's IPv6 address" lab_wait_for hg_route 10
expect_ok "y1 (h1) pings y2 (h2)" dk 1 exec y1 ping6 -c2 -W2 "$(ip6_of 2 y2 hg6)"
expect_ok "h1, h2: docker rm, network rm" \
	bash -c "dk 1 rm -f r3 y1 && dk 2 rm -f r2 y2 && dk 1 network rm rt6 hg6 && dk 2 network rm rt6 hg6"
expect_ok "nothing of rt6 or hg6 is left on h1" clean 1
expect_ok "... or on h2" clean 2
no_keys_rt() { no_keys weft/v1/pools/fd00:74::-64 && no_keys weft/v1/pools/fd00:76::-64; }
expect_ok "... nor a key of their pools" no_keys_rt

# ---------------------------------------------------------------- macvlan, with the host shim
MV6=("${V6[@]}" --subnet fd00:77::/64 --gateway fd00:77::fe -o mode=macvlan -o parent=eth0 -o host_shim=true)
for h in 1 2; do
	expect_ok "h$h: an IPv6-only macvlan network mv6 with host_shim" dk $h network create "${MV6[@]}" mv6
	expect_ok "h$h: run m$h on it" dk $h run -d --name m$h --network mv6 $IMG sleep 600
done
shim=wm$(dk 1 network inspect -f '{{.Id}}' mv6 | cut -c1-8)
shim6=$(ip -n "$LAB-h1" -6 -o addr show dev "$shim" scope global | awk '{print $4}')
expect_ok "h1's shim $shim has an IPv6 address of the subnet ($shim6) and no IPv4 one" \
	bash -c "[[ '$shim6' == fd00:77::*/128 ]] && ! ip -n $LAB-h1 -4 -o addr show dev $shim | grep -q inet"
m1=$(ip6_of 1 m1 mv6)
m2=$(ip6_of 2 m2 mv6)
expect_ok "m1 has no IPv4 address or route" no_inet 1 m1
expect_ok "m1's default route is the LAN's gateway fd00:77::fe" bash -c "dk 1 exec m1 ip -6 route | grep -q 'default via fd00:77::fe'"
expect_ok "m1 (h1) pings m2 (h2) across the LAN" dk 1 exec m1 ping6 -c2 -W2 "$m2"
expect_ok "h1 pings its own container m1 through the shim" ip netns exec "$LAB-h1" busybox ping6 -c2 -W2 "$m1"
expect_ok "h1 pings m2 on h2 (the subnet route through the shim)" ip netns exec "$LAB-h1" busybox ping6 -c2 -W2 "$m2"
lab_stop_weftd 1 KILL
ip -n "$LAB-h1" link del "$shim"
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --reconcile-interval 2
shim_back() { [ "$(ip -n "$LAB-h1" -6 -o addr show dev "$shim" scope global 2>/dev/null | awk '{print $4}')" = "$shim6" ]; }
expect_ok "weftd killed, the shim deleted (as by a reboot), weftd started: the shim has $shim6 again" lab_wait_for shim_back 10
expect_ok "... and h1 pings m1 through it again" ip netns exec "$LAB-h1" busybox ping6 -c2 -W2 "$m1"
expect_ok "h1, h2: docker rm, network rm" bash -c "dk 1 rm -f m1 && dk 2 rm -f m2 && dk 1 network rm mv6 && dk 2 network rm mv6"
expect_ok "nothing of mv6 is left on h1 (the shim included)" clean 1
expect_ok "... or on h2" clean 2
expect_ok "no key of any pool is left" no_keys weft/v1/pools/

lab_summary
