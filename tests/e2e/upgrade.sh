#!/bin/bash
# upgrade.sh - weftd upgraded under a running overlay network, one host at a time, on three lab
# hosts sharing a cluster store (LAB_STORE=etcd, default, or consul). The weftd of UPGRADE_FROM
# (a commit of this repository, built here once and kept in /var/lib/weft-test; by default the
# last one before overlay networks had weft's own gateway) creates an overlay network on h1 and
# h2 and each runs a container. This tree's weftd then takes over on h1 alone: the network keeps
# Docker's docker_gwbridge as its way out (its records say so), its containers keep reaching
# each other and the outside, and a new overlay network gets weft's gateway on h1 while h2, still
# on the earlier weftd, joins it with docker_gwbridge; their containers reach each other. Then
# h2 is upgraded too, and keeps what it set up; h3 (this tree's weftd only) creates the first
# network without -o gateway and takes docker_gwbridge as well.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
FROM=${UPGRADE_FROM:-9c9fa65}
top=$(cd "$(dirname "$0")/../.." && pwd)
lab_require
command -v git >/dev/null && git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
	lab_skip "upgrade.sh builds weftd of an earlier commit: $top is not a git checkout"
commit=$(git -C "$top" rev-parse --verify -q "$FROM^{commit}") ||
	lab_bail "UPGRADE_FROM=$FROM is not a commit of $top"

# The earlier weftd, built once per commit (without sanitizers: only its behaviour matters).
OLD=/var/lib/weft-test/weftd-$commit
if [ ! -x "$OLD/src/weftd" ]; then
	rm -rf "$OLD.tmp"
	mkdir -p "$OLD.tmp"
	git -C "$top" archive "$commit" | tar -x -C "$OLD.tmp" &&
		(cd "$OLD.tmp" && autoreconf -fi && ./configure && make -j2 src/weftd) >"$OLD.tmp.log" 2>&1 ||
		{ tail -n 20 "$OLD.tmp.log"; lab_bail "cannot build weftd of $FROM"; }
	rm -rf "$OLD"
	mv "$OLD.tmp" "$OLD"
fi
NEW=$WEFTD

lab_init "upgrade-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2 3; do
	lab_host $h
	lab_image $h
done
IMG=weft-test:local
OV=(-d weft --ipam-driver weft --subnet 10.97.0.0/24 -o mode=overlay)
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
start() { lab_start_weftd "$1" --host-id "h$1" --store "$LAB_STORE_URL"; }
gwbridge_route() { dk "$1" exec "$2" ip route | grep -q 'default via .* dev eth1'; }
no_gw_addr() { ! ip -n "$LAB-h$1" -4 addr show dev "weft-o$vni" | grep -q inet; }

# ---------------------------------------------------------------- the earlier weftd
for h in 1 2; do
	WEFTD=$OLD/src/weftd start $h
	expect_ok "h$h: weftd of $FROM creates the overlay network and runs u$h" bash -c "
		dk $h network create ${OV[*]} ov >/dev/null && dk $h run -d --name u$h --network ov $IMG sleep 600"
done
vni=$(lab_store_value weft/v1/pools/10.97.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
u1=$(ip_of 1 u1 ov) u2=$(ip_of 2 u2 ov)
expect_ok "u1's way out is docker_gwbridge (eth1), as weft $FROM made it" gwbridge_route 1 u1
expect_ok "u1 (h1) pings u2 (h2)" dk 1 exec u1 ping -c2 -W2 "$u2"

# ---------------------------------------------------------------- this tree's weftd on h1
lab_stop_weftd 1 TERM
WEFTD=$NEW start 1
expect_ok "after h1's upgrade, weftctl on h1 says gateway=docker" \
	bash -c "wctl 1 networks | grep -q 'vni=$vni gateway=docker'"
expect_ok "... h1's bridge still holds no address, u1 still goes out by eth1" \
	bash -c "! ip -n $LAB-h1 -4 addr show dev weft-o$vni | grep -q inet && dk 1 exec u1 ip route | grep -q 'default via .* dev eth1'"
expect_ok "... u1 pings u2 (h2, weft $FROM) and the outside" \
	bash -c "dk 1 exec u1 ping -c2 -W2 $u2 && dk 1 exec u1 ping -c2 -W2 192.0.2.254"
# A network made while the cluster is half upgraded.
expect_ok "h1: a new overlay network gets weft's gateway: n1 has one interface, default via 10.98.0.1" bash -c "
	dk 1 network create ${OV[*]/10.97.0.0/10.98.0.0} nv >/dev/null &&
	dk 1 run -d --name n1 --network nv $IMG sleep 600 >/dev/null &&
	[ \"\$(dk 1 exec n1 ls /sys/class/net | grep -vx lo)\" = eth0 ] && dk 1 exec n1 ip route | grep -q 'default via 10.98.0.1 dev eth0'"
vnv=$(lab_store_value weft/v1/pools/10.98.0.0-24/net | sed -n 's/.*"vni":\([0-9]*\).*/\1/p')
expect_ok "h2 (weft $FROM) joins it: n2 there goes out by docker_gwbridge" bash -c "
	dk 2 network create ${OV[*]/10.97.0.0/10.98.0.0} nv >/dev/null &&
	dk 2 run -d --name n2 --network nv $IMG sleep 600 >/dev/null && dk 2 exec n2 ip route | grep -q 'default via .* dev eth1'"
n1=$(ip_of 1 n1 nv) n2=$(ip_of 2 n2 nv)
expect_ok "n1 (h1, this weftd) and n2 (h2, weft $FROM) ping each other" \
	bash -c "dk 1 exec n1 ping -c2 -W2 $n2 && dk 2 exec n2 ping -c2 -W2 $n1"
expect_ok "n1 reaches the outside through h1, n2 through h2's docker_gwbridge" \
	bash -c "dk 1 exec n1 ping -c2 -W2 192.0.2.254 && dk 2 exec n2 ping -c2 -W2 192.0.2.254"

# ---------------------------------------------------------------- and on h2
lab_stop_weftd 2 TERM
WEFTD=$NEW start 2
expect_ok "after h2's upgrade, weftctl on h2 says gateway=docker for both networks (as h2 set them up)" \
	bash -c "wctl 2 networks | grep -q 'vni=$vni gateway=docker' && wctl 2 networks | grep -q 'vni=$vnv gateway=docker'"
expect_ok "... u1 pings u2, n1 pings n2, n2 pings n1" \
	bash -c "dk 1 exec u1 ping -c2 -W2 $u2 && dk 1 exec n1 ping -c2 -W2 $n2 && dk 2 exec n2 ping -c2 -W2 $n1"
expect_ok "h2: a new container u4 on the first network also goes out by docker_gwbridge" bash -c "
	dk 2 run -d --name u4 --network ov $IMG sleep 600 >/dev/null && dk 2 exec u4 ip route | grep -q 'default via .* dev eth1'"
WEFTD=$NEW start 3
expect_fail_msg "h3: -o gateway=weft for it is refused, naming the cluster's" \
	"exists in the cluster with vni=$vni vxlan_port=4789 flood=false gateway=docker; this host asked for vni=$vni vxlan_port=4789 flood=false gateway=weft" \
	dk 3 network create "${OV[@]}" -o gateway=weft ov
expect_ok "... which left no device on h3" lab_no_weft_devices 3
expect_ok "h3 (this weftd only): the same network without -o gateway takes the cluster's" dk 3 network create "${OV[@]}" ov
expect_ok "h3: u3 on it goes out by docker_gwbridge and pings u1" bash -c "
	dk 3 run -d --name u3 --network ov $IMG sleep 600 >/dev/null && dk 3 exec u3 ip route | grep -q 'default via .* dev eth1' &&
	dk 3 exec u3 ping -c2 -W2 $u1"
expect_ok "h3's bridge holds no address either" no_gw_addr 3

# ---------------------------------------------------------------- cleanup leaves nothing
expect_ok "docker rm, network rm on every host" bash -c "
	dk 1 rm -f u1 n1 >/dev/null && dk 2 rm -f u2 u4 n2 >/dev/null && dk 3 rm -f u3 >/dev/null &&
	dk 1 network rm ov nv >/dev/null && dk 2 network rm ov nv >/dev/null && dk 3 network rm ov >/dev/null"
no_keys() { ! lab_store_keys weft/v1/pools/ && ! lab_store_keys weft/v1/vnis/; }
expect_ok "no key of either pool is left in the store" no_keys
for h in 1 2 3; do
	expect_ok "no weft device is left on h$h" lab_no_weft_devices $h
done

lab_summary
