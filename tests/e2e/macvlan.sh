#!/bin/bash
# macvlan.sh - macvlan mode on two lab hosts sharing a cluster store (LAB_STORE=etcd, default,
# or consul): the same `docker network create` on both hosts gives one subnet whose addresses
# never collide, containers on different hosts reach each other over the LAN (the lab's wan),
# --ip held on another host is refused naming it, bad parents and options are refused with a
# clear message and leave nothing, a dual-stack network carries IPv6 between hosts, and after
# docker rm / network rm on both hosts no device and no store key is left.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
lab_require
lab_init "macvlan-$KIND"
lab_outside
lab_store "$KIND"
lab_host 1
lab_host 2
lab_image 1
lab_image 2
IMG=weft-test:local
TTL=10
GRACE=3
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE
MV=(-d weft --ipam-driver weft --subnet 10.60.0.0/24 --gateway 10.60.0.1 -o mode=macvlan -o parent=eth0)

no_keys() { ! lab_store_keys "$1"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
weft_devices() { lab_weft_devices "$1"; }
no_devices() { ! weft_devices "$1"; }

# ---------------------------------------------------------------- bad input, nothing left
expect_fail_msg "a missing parent is refused" "parent interface 'eth9' does not exist" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan -o parent=eth9 bad1
ip -n "$LAB-h1" link add dn0 type veth peer name dn1 # both down
expect_fail_msg "a parent that is down is refused" "parent interface 'dn0' is down" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan -o parent=dn0 bad0
ip -n "$LAB-h1" link del dn0
expect_fail_msg "a VLAN parent needs 802.1Q, which this kernel lacks: said so" \
	"cannot create the 802.1Q interface 'eth0.10': this kernel has no 802.1Q VLAN support" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan -o parent=eth0.10 bad2
expect_fail_msg "macvlan without a parent is refused" "mode macvlan needs -o parent=INTERFACE" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan bad3
expect_fail_msg "a bridge option on macvlan is refused" "option 'bridge_name' does not apply to mode macvlan" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan -o parent=eth0 \
	-o bridge_name=x bad4
expect_fail_msg "an MTU above the parent's is refused" "option 'mtu': 9000 is larger than the MTU 1500 of parent 'eth0'" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.61.0.0/24 -o mode=macvlan -o parent=eth0 \
	-o mtu=9000 bad5
expect_ok "... and none of them left a device" no_devices 1
expect_ok "... or a key" no_keys weft/v1/pools/10.61.0.0-24

# ---------------------------------------------------------------- one network on two hosts
expect_ok "h1: create the macvlan network" dk 1 network create "${MV[@]}" mv
expect_fail_msg "h2: the same subnet with another --gateway is refused, naming the gateway and h1" \
	"subnet 10.60.0.0/24 has the gateway 10.60.0.1 in weft \(host 'h1' claimed it\): give every host the same --gateway, or none" \
	dk 2 network create "${MV[@]/10.60.0.1/10.60.0.254}" mv
# (the exact key: a prefix of 10.63.0.2 would also match 10.63.0.2xx)
no_key() { ! lab_store_keys "$1" | grep -qx "$1"; }
h2_clean() { no_devices 2 && no_key weft/v1/pools/10.60.0.0-24/addr/10.60.0.254; }
expect_ok "... and leaves neither a device nor its gateway's key" h2_clean
expect_ok "h2: the same command" dk 2 network create "${MV[@]}" mv
expect_fail_msg "h1: another macvlan_mode on the same parent is refused" \
	"parent 'eth0' is already used by weft network .* in macvlan_mode bridge" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.62.0.0/24 -o mode=macvlan -o parent=eth0 \
	-o macvlan_mode=private mv2
expect_ok "h1: run a1" dk 1 run -d --name a1 --network mv $IMG sleep 600
expect_ok "h1: run a2" dk 1 run -d --name a2 --network mv $IMG sleep 600
expect_ok "h2: run b1" dk 2 run -d --name b1 --network mv $IMG sleep 600
expect_ok "h2: run b2 with --ip 10.60.0.50" dk 2 run -d --name b2 --network mv --ip 10.60.0.50 $IMG sleep 600
a1=$(ip_of 1 a1 mv)
a2=$(ip_of 1 a2 mv)
b1=$(ip_of 2 b1 mv)
distinct() { [ "$(printf '%s\n' "$@" | sort -u | grep -c '^10\.60\.0\.')" = 4 ] && ! printf '%s\n' "$@" | grep -qx 10.60.0.1; }
expect_ok "four different addresses of 10.60.0.0/24 ($a1 $a2 $b1 10.60.0.50), none the gateway" \
	distinct "$a1" "$a2" "$b1" 10.60.0.50
expect_ok "a1 (h1) pings b1 (h2) across the LAN" dk 1 exec a1 ping -c2 -W2 "$b1"
expect_ok "b2 (h2) pings a2 (h1)" dk 2 exec b2 ping -c2 -W2 "$a2"
expect_ok "a1 pings a2 on the same host (macvlan bridge mode)" dk 1 exec a1 ping -c2 -W2 "$a2"
expect_ok "the container's default route is the LAN's gateway" bash -c "dk 1 exec a1 ip route | grep -q 'default via 10.60.0.1'"
expect_fail_msg "h1: --ip held by h2 is refused, naming h2" "address 10.60.0.50 is in use by host 'h2'" \
	dk 1 run --rm --network mv --ip 10.60.0.50 $IMG true
expect_fail_msg "-p is refused on macvlan" "publishing ports \\(-p/-P\\) is not supported on macvlan networks" \
	dk 1 run --rm --network mv -p 8080:80 $IMG true

# ---------------------------------------------------------------- a released address goes to the other host
expect_ok "h2: rm b2 (releases 10.60.0.50)" dk 2 rm -f b2
expect_ok "h1: --ip 10.60.0.50 now works" dk 1 run -d --name a3 --network mv --ip 10.60.0.50 $IMG sleep 600
expect_ok "... and a3 (h1) pings b1 (h2)" dk 1 exec a3 ping -c2 -W2 "$b1"

# ---------------------------------------------------------------- cleanup leaves nothing
expect_ok "h1: docker rm -f a1 a2 a3" dk 1 rm -f a1 a2 a3
expect_ok "h1: network rm" dk 1 network rm mv
expect_ok "the pool is still there for h2" lab_store_keys weft/v1/pools/10.60.0.0-24
expect_ok "h2: docker rm -f b1" dk 2 rm -f b1
expect_ok "h2: network rm" dk 2 network rm mv
expect_ok "no key of the pool is left in the store" no_keys weft/v1/pools/10.60.0.0-24
expect_ok "no weft device is left on h1" no_devices 1
expect_ok "no weft device is left on h2" no_devices 2

# ---------------------------------------------------------------- IPv6 on the LAN
M6=(-d weft --ipam-driver weft --ipv6 --subnet 10.61.0.0/24 --subnet fd00:61::/64 -o mode=macvlan -o parent=eth0)
ip6_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").GlobalIPv6Address}}" "$2"; }
for h in 1 2; do
	expect_ok "h$h: a dual-stack macvlan network (10.61.0.0/24, fd00:61::/64)" dk $h network create "${M6[@]}" m6
	expect_ok "h$h: run v$h on it" dk $h run -d --name v$h --network m6 $IMG sleep 600
done
v1=$(ip6_of 1 v1 m6)
v2=$(ip6_of 2 v2 m6)
expect_ok "v1 and v2 have different addresses of fd00:61::/64 ($v1, $v2)" \
	bash -c "[[ '$v1' == fd00:61::* && '$v2' == fd00:61::* && '$v1' != '$v2' ]]"
expect_ok "v1 (h1) pings v2 (h2) over IPv6 across the LAN" dk 1 exec v1 ping6 -c2 -W2 "$v2"
expect_ok "v2's default IPv6 route is the LAN's gateway fd00:61::1" \
	bash -c "dk 2 exec v2 ip -6 route | grep -q 'default via fd00:61::1'"
expect_ok "h1, h2: docker rm, network rm m6" \
	bash -c "dk 1 rm -f v1 && dk 2 rm -f v2 && dk 1 network rm m6 && dk 2 network rm m6"
expect_ok "no key of the IPv6 pool is left" no_keys weft/v1/pools/fd00:61::-64
expect_ok "... no weft device on h1" no_devices 1
expect_ok "... or on h2" no_devices 2

# ---------------------------------------------------------------- host shim: host <-> containers
SH=(-d weft --ipam-driver weft --subnet 10.63.0.0/24 --gateway 10.63.0.1 --ipv6 --subnet fd00:63::/64 --gateway fd00:63::1
	-o mode=macvlan -o parent=eth0)
hping() { ip netns exec "$LAB-h$1" busybox ping -c2 -W2 "$2"; }
hping6() { ip netns exec "$LAB-h$1" busybox ping6 -c2 -W2 "$2"; }
expect_ok "h1: mv again, run a5 on it (no shim)" bash -c "dk 1 network create ${MV[*]} mv && dk 1 run -d --name a5 --network mv $IMG sleep 600"
expect_fail_msg "without host_shim, h1 cannot reach its own container (the kernel's macvlan rule)" "0 packets received|100% packet loss" \
	hping 1 "$(ip_of 1 a5 mv)"
expect_fail_msg "host_shim with macvlan_mode private is refused" "option 'host_shim' needs macvlan_mode bridge" \
	dk 1 network create "${SH[@]}" -o host_shim=true -o macvlan_mode=private bad6
expect_fail_msg "host_shim without weft's IPAM is refused" \
	"the host's own address comes from weft's IPAM, which does not hold subnet 10.64.0.0/24: create the network with --ipam-driver weft" \
	dk 1 network create -d weft --subnet 10.64.0.0/24 -o mode=macvlan -o parent=eth0 -o host_shim=true bad7
expect_ok "... and neither left a device" no_devices 1
expect_ok "h1: create a dual-stack network with host_shim=true" dk 1 network create "${SH[@]}" -o host_shim=true mvs
expect_ok "h2: the same" dk 2 network create "${SH[@]}" -o host_shim=true mvs
shim_of() { printf 'wm%s' "$(dk "$1" network inspect -f '{{.Id}}' mvs | cut -c1-8)"; }
shim_ip() { ip -n "$LAB-h$1" -4 -o addr show dev "$(shim_of "$1")" | awk '{print $4}' | cut -d/ -f1; }
shim=$(shim_of 1)
s1ip=$(shim_ip 1)
s2ip=$(shim_ip 2)
expect_ok "each host has its shim ($shim on h1) with an address of the subnet ($s1ip, $s2ip)" \
	bash -c "[[ '$s1ip' == 10.63.0.* && '$s2ip' == 10.63.0.* && '$s1ip' != '$s2ip' ]]"
shim_key() { lab_store_value "weft/v1/pools/10.63.0.0-24/addr/$1"; }
held_by_h1() { shim_key "$s1ip" | grep -q '"host":"h1"' && shim_key "$s1ip" | grep -q '"owner":"host"'; }
expect_ok "the store holds $s1ip for h1 as its host address" held_by_h1
shim_ip6() { ip -n "$LAB-h$1" -6 -o addr show dev "$(shim_of "$1")" scope global | awk '{print $4}' | cut -d/ -f1; }
s1ip6=$(shim_ip6 1)
s2ip6=$(shim_ip6 2)
expect_ok "each shim has an IPv6 address of the subnet too ($s1ip6, $s2ip6)" \
	bash -c "[[ '$s1ip6' == fd00:63::* && '$s2ip6' == fd00:63::* && '$s1ip6' != '$s2ip6' ]]"
held6_by_h1() { lab_store_value "weft/v1/pools/fd00:63::-64/addr/$s1ip6" | grep -q '"host":"h1".*"owner":"host"\|"owner":"host".*"host":"h1"'; }
expect_ok "the store holds $s1ip6 for h1 as its host address" held6_by_h1
expect_ok "h1: run s1" dk 1 run -d --name s1 --network mvs $IMG sleep 600
expect_ok "h2: run s2" dk 2 run -d --name s2 --network mvs $IMG sleep 600
s1=$(ip_of 1 s1 mvs)
s2=$(ip_of 2 s2 mvs)
expect_ok "container addresses are not the shims' ($s1 $s2)" bash -c "[[ '$s1' != '$s1ip' && '$s1' != '$s2ip' && '$s2' != '$s1ip' && '$s2' != '$s2ip' ]]"
expect_ok "h1 pings its own container s1 through the shim" hping 1 "$s1"
expect_ok "h2 pings its own container s2" hping 2 "$s2"
expect_ok "h1 pings s2 on h2 (the subnet route through the shim)" hping 1 "$s2"
expect_ok "s1 pings h1's shim address" dk 1 exec s1 ping -c2 -W2 "$s1ip"
expect_ok "s1 pings h2's shim address" dk 1 exec s1 ping -c2 -W2 "$s2ip"
expect_fail_msg "h2: --ip of h1's shim address is refused, naming h1" "address $s1ip is in use by host 'h1'" \
	dk 2 run --rm --network mvs --ip "$s1ip" $IMG true
expect_ok "h1: a route to s1 through the shim" bash -c "ip -n $LAB-h1 route show $s1/32 | grep -q 'dev $shim'"
s1v6=$(ip6_of 1 s1 mvs)
s2v6=$(ip6_of 2 s2 mvs)
expect_ok "h1 pings its own container s1 over IPv6 through the shim ($s1v6)" hping6 1 "$s1v6"
expect_ok "h1 pings s2 on h2 over IPv6 (the IPv6 subnet route through the shim)" hping6 1 "$s2v6"
expect_ok "s1 pings h1's shim IPv6 address" dk 1 exec s1 ping6 -c2 -W2 "$s1ip6"
expect_ok "h1: an IPv6 route to s1 through the shim" bash -c "ip -n $LAB-h1 -6 route show $s1v6/128 | grep -q 'dev $shim'"
expect_fail_msg "h2: --ip6 of h1's shim IPv6 address is refused, naming h1" "address $s1ip6 is in use by host 'h1'" \
	dk 2 run --rm --network mvs --ip6 "$s1ip6" $IMG true
lab_stop_weftd 1 KILL
ip -n "$LAB-h1" link del "$shim"
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE
expect_ok "weftd restarted after its shim was deleted (as by a reboot): the shim has $s1ip again" \
	bash -c "[ \"\$(ip -n $LAB-h1 -4 -o addr show dev $shim | awk '{print \$4}')\" = $s1ip/32 ]"
expect_ok "... and its IPv6 address" \
	bash -c "[ \"\$(ip -n $LAB-h1 -6 -o addr show dev $shim scope global | awk '{print \$4}')\" = $s1ip6/128 ]"
expect_ok "... and h1 pings s1 again (the container's route is back)" hping 1 "$s1"
expect_ok "... also over IPv6" hping6 1 "$s1v6"
expect_ok "h1: docker rm s1 removes its routes" \
	bash -c "dk 1 rm -f s1 >/dev/null && ! ip -n $LAB-h1 route show $s1/32 | grep -q . && ! ip -n $LAB-h1 -6 route show $s1v6/128 | grep -q ."
expect_ok "h1: docker rm a5, network rm mv mvs" bash -c "dk 1 rm -f a5 && dk 1 network rm mv mvs"
expect_ok "h1's shim is gone" bash -c "! ip -n $LAB-h1 link show $shim"
expect_ok "h1's shim address is free in the store" no_key "weft/v1/pools/10.63.0.0-24/addr/$s1ip"
expect_ok "... and its IPv6 one" no_key "weft/v1/pools/fd00:63::-64/addr/$s1ip6"
expect_ok "h2: docker rm s2, network rm mvs" bash -c "dk 2 rm -f s2 && dk 2 network rm mvs"
expect_ok "no key of the shim network is left" no_keys weft/v1/pools/10.63.0.0-24
expect_ok "... nor of its IPv6 subnet" no_keys weft/v1/pools/fd00:63::-64
expect_ok "no weft device is left on h1" no_devices 1
expect_ok "no weft device is left on h2" no_devices 2

# ---------------------------------------------------------------- a dockerd crash keeps addresses with their owner
pool_addrs() { lab_store_keys weft/v1/pools/10.60.0.0-24/addr/ | sed 's|.*/||' | sort | tr '\n' ' '; }
expect_ok "h1 and h2: mv again" bash -c "dk 1 network create ${MV[*]} mv && dk 2 network create ${MV[*]} mv"
expect_ok "h1: run a6" dk 1 run -d --name a6 --network mv $IMG sleep 600
expect_ok "h2: run b5 --restart always --ip 10.60.0.60" \
	dk 2 run -d --name b5 --restart always --network mv --ip 10.60.0.60 $IMG sleep 600
a6=$(ip_of 1 a6 mv)
before=$(pool_addrs)
lab_stop_dockerd 2 KILL
expect_fail_msg "h2's dockerd killed (-9): h1 still cannot take b5's address" "address 10.60.0.60 is in use by host 'h2'" \
	dk 1 run --rm --network mv --ip 10.60.0.60 $IMG true
lab_start_dockerd 2
b5_up() { [ "$(dk 2 inspect -f '{{.State.Running}}' b5 2>/dev/null)" = true ]; }
expect_ok "h2's dockerd is back and restarts b5" lab_wait_for b5_up 30
expect_ok "b5 has 10.60.0.60 again and pings a6 on h1" bash -c "dk 2 exec b5 ip -4 addr | grep -q 10.60.0.60/24 && dk 2 exec b5 ping -c2 -W2 $a6"
expect_ok "the pool holds the same addresses as before the crash ($before)" bash -c "[ '$(pool_addrs)' = '$before' ]"
expect_ok "h2 has no stray macvlan left by the old b5" bash -c "! ip -n $LAB-h2 -o link show | grep -q ': wc'"
expect_ok "h1, h2: docker rm a6 b5, network rm mv" \
	bash -c "dk 1 rm -f a6 && dk 2 rm -f b5 && dk 1 network rm mv && dk 2 network rm mv"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.60.0.0-24

# ---------------------------------------------------------------- a dead host's addresses come back
expect_ok "h1 and h2: the network again" bash -c "dk 1 network create ${MV[*]} mv && dk 2 network create ${MV[*]} mv"
expect_ok "h2: run b3" dk 2 run -d --name b3 --network mv $IMG sleep 600
b3=$(ip_of 2 b3 mv)
lab_stop_weftd 2 KILL
expect_fail_msg "h1: $b3 is still h2's while h2's lease lives" "address $b3 is in use by host 'h2'" \
	dk 1 run --rm --network mv --ip "$b3" $IMG true
dk 2 rm -f b3 >/dev/null 2>&1 # Docker cannot tell the dead weftd: h2's claim on $b3 stays
reclaimed() { grep -q "reclaimed 1 address of host 'h2'" "$LABDIR/h1/weftd.log"; }
expect_ok "h1 reclaims it once h2's lease expired and ${GRACE} s passed (<= 2 x ${TTL} + ${GRACE} + 10 s)" \
	lab_wait_for reclaimed $((2 * TTL + GRACE + 10))
expect_ok "h1: --ip $b3 works now" dk 1 run -d --name a4 --network mv --ip "$b3" $IMG sleep 600
expect_ok "h1: docker rm a4, network rm" bash -c "dk 1 rm -f a4 && dk 1 network rm mv"
expect_ok "h2 left the pool with its lease: no key of it is left" no_keys weft/v1/pools/10.60.0.0-24

# ---------------------------------------------------------------- h1 dies between its shim's address and its record
MS=(-d weft --ipam-driver weft --subnet 10.64.0.0/24 --gateway 10.64.0.1 -o mode=macvlan -o parent=eth0 -o host_shim=true)
# (h2's garbage collection waits long: h1's own reconcile is what must free it)
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace 600
expect_ok "h2: a host_shim network on 10.64.0.0/24" dk 2 network create "${MS[@]}" ms
lab_stop_weftd 1
WEFT_CRASH_AT=net_create.shim lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE
expect_fail_msg "h1: the same network; weftd dies once it claimed its shim's address" "." dk 1 network create "${MS[@]}" ms
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --gc-grace $GRACE --reconcile-interval 1
# h1's keys in the pool: its shim's address, which h2's pool keeps alive
h1_keys() { local k; for k in $(lab_store_keys weft/v1/pools/10.64.0.0-24/addr/); do
	lab_store_value "$k" | grep -q '"host":"h1"' && echo "$k"; done; }
no_h1_key() { [ -z "$(h1_keys)" ]; }
expect_ok "h1's reconcile frees the address it claimed for a shim no network of its has" lab_wait_for no_h1_key 15
expect_ok "... saying so" grep -q "reconcile: freed address 10.64.0.[0-9]* of 10.64.0.0/24: no network of weft's has it for its shim" \
	"$LABDIR/h1/weftd.log"
expect_ok "h1: the network now, h2's shim still has its address" bash -c \
	"dk 1 network create ${MS[*]} ms >/dev/null && dk 1 network rm ms >/dev/null && dk 2 network rm ms >/dev/null"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.64.0.0-24

lab_summary
