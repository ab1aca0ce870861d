#!/bin/bash
# aux.sh - --aux-address on two lab hosts sharing a cluster store (LAB_STORE=etcd, default, or
# consul): an aux address is the pool's, not a container's. It survives the reconcile (every
# second here), a second host creates the same network with it, no container on either host is
# ever given it (a burst fills the pool), --ip of it is refused, and it goes with the pool. Also:
# a pool two Docker networks on one host share (a weft network and Docker's macvlan with weft's
# IPAM) stays until the last of them goes.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
lab_require
lab_init "aux-$KIND"
lab_outside
lab_store "$KIND"
lab_host 1
lab_host 2
lab_image 1
lab_image 2
IMG=weft-test:local
ARGS=(--store "$LAB_STORE_URL" --reconcile-interval 1)
lab_start_weftd 1 --host-id h1 "${ARGS[@]}"
lab_start_weftd 2 --host-id h2 "${ARGS[@]}"

ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
key() { lab_store_value "weft/v1/pools/$1/addr/$2"; }
is_aux() { key "$1" "$2" | grep -q '"owner":"aux"'; }
no_keys() { ! lab_store_keys "$1"; }
freed() { grep 'reconcile: freed address' "$LABDIR/h$1/weftd.log"; }
not_freed() { ! freed "$1"; }
# six reconcile rounds of each weftd have passed since now (the log says when a round ends? it
# does not at info: the interval is 1 s, so 6 s hold at least three rounds each, slow ones too)
rounds() { sleep 6; }

# ---------------------------------------------------------------- bridge: one host, a full /29
# 10.79.0.0/29: .1 the gateway, .2 and .5 aux, .3 .4 .6 for containers
BR=(-d weft --ipam-driver weft --subnet 10.79.0.0/29 --aux-address r1=10.79.0.2 --aux-address r2=10.79.0.5)
expect_ok "h1: a bridge network on a /29 with two aux addresses" dk 1 network create "${BR[@]}" br
expect_ok "the store holds 10.79.0.2 as the pool's aux address" is_aux 10.79.0.0-29 10.79.0.2
expect_ok "... and 10.79.0.5" is_aux 10.79.0.0-29 10.79.0.5
rounds
expect_ok "three reconcile rounds later both are still there" \
	bash -c "$(declare -f key is_aux lab_store_value lab_store_exec); is_aux 10.79.0.0-29 10.79.0.2 && is_aux 10.79.0.0-29 10.79.0.5"
expect_ok "... and h1's reconcile freed no address" not_freed 1
# a store written by an earlier weftd holds an aux address as a container's
lab_store_put weft/v1/pools/10.79.0.0-29/addr/10.79.0.5 '{"host":"h1","owner":"endpoint"}'
lab_stop_weftd 1
lab_start_weftd 1 --host-id h1 "${ARGS[@]}"
expect_ok "an aux address held as a container's (an earlier weftd's record) is the pool's after a restart" \
	is_aux 10.79.0.0-29 10.79.0.5
expect_ok "h1: c1, c2, c3 fill the rest of the /29" \
	bash -c "for c in c1 c2 c3; do dk 1 run -d --name \$c --network br $IMG sleep 600 || exit 1; done"
got=$(for c in c1 c2 c3; do ip_of 1 $c br; done | sort | tr '\n' ' ')
expect_same "they have 10.79.0.3, .4 and .6, never an aux address" "10.79.0.3 10.79.0.4 10.79.0.6 " "$got"
expect_fail_msg "h1: a fourth container finds no free address" "no free address left in pool 10.79.0.0/29" \
	dk 1 run --rm --network br $IMG true
expect_fail_msg "h1: --ip of an aux address is refused" "10.79.0.2 is reserved on this network" \
	dk 1 run --rm --network br --ip 10.79.0.2 $IMG true
expect_ok "... and the aux address is still the pool's" is_aux 10.79.0.0-29 10.79.0.2
expect_ok "h1: docker rm c1 c2 c3, network rm br" bash -c "dk 1 rm -f c1 c2 c3 && dk 1 network rm br"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.79.0.0-29

# ---------------------------------------------------------------- macvlan: one pool, two hosts
MV=(-d weft --ipam-driver weft --subnet 10.78.0.0/29 --gateway 10.78.0.1 --aux-address router=10.78.0.2
	-o mode=macvlan -o parent=eth0)
expect_ok "h1: a macvlan network on a /29 with an aux address" dk 1 network create "${MV[@]}" mv
expect_ok "h2: the same command (the aux address is h1's claim in the pool)" dk 2 network create "${MV[@]}" mv
expect_ok "the store holds 10.78.0.2 as the pool's aux address" is_aux 10.78.0.0-29 10.78.0.2
rounds
expect_ok "three reconcile rounds later it is still there" is_aux 10.78.0.0-29 10.78.0.2
expect_ok "... and neither reconcile freed an address (h1)" not_freed 1
expect_ok "... (h2)" not_freed 2
expect_ok "h1 and h2 together: m1, m2 on h1, m3, m4 on h2 take the other four" \
	bash -c "dk 1 run -d --name m1 --network mv $IMG sleep 600 & p=\$!
		dk 2 run -d --name m3 --network mv $IMG sleep 600 & p=\"\$p \$!\"
		dk 1 run -d --name m2 --network mv $IMG sleep 600 & p=\"\$p \$!\"
		dk 2 run -d --name m4 --network mv $IMG sleep 600 & p=\"\$p \$!\"
		r=0; for j in \$p; do wait \$j || r=1; done; exit \$r"
got=$( (ip_of 1 m1 mv; ip_of 1 m2 mv; ip_of 2 m3 mv; ip_of 2 m4 mv) | sort | tr '\n' ' ')
expect_same "they have .3 to .6, never the aux address" "10.78.0.3 10.78.0.4 10.78.0.5 10.78.0.6 " "$got"
expect_ok "m1 (h1) pings m3 (h2)" dk 1 exec m1 ping -c2 -W2 "$(ip_of 2 m3 mv)"
expect_fail_msg "h2: --ip of the aux address is refused" "10.78.0.2 is reserved" \
	dk 2 run --rm --network mv --ip 10.78.0.2 $IMG true
expect_ok "h1: docker rm m1 m2, network rm mv" bash -c "dk 1 rm -f m1 m2 && dk 1 network rm mv"
expect_ok "the aux address stays with the pool while h2 has the network" is_aux 10.78.0.0-29 10.78.0.2
expect_ok "h1: the network again, without the aux address" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.78.0.0/29 --gateway 10.78.0.1 -o mode=macvlan -o parent=eth0 mv
expect_fail_msg "h1: --ip of it is refused on a network without it too, naming the host that reserved it" \
	"address 10.78.0.2 is reserved by --aux-address \\(host 'h1'\\)" \
	dk 1 run --rm --network mv --ip 10.78.0.2 $IMG true
expect_ok "h1, h2: docker rm m3 m4, network rm mv" bash -c "dk 2 rm -f m3 m4 && dk 1 network rm mv && dk 2 network rm mv"
expect_ok "no key of the pool is left" no_keys weft/v1/pools/10.78.0.0-29

# ---------------------------------------------------------------- one pool, two networks on h1
# Docker's IPAM requests name no network: a weft network and Docker's own macvlan with weft's IPAM
# on one subnet share h1's membership of the pool. Removing the weft network must not free it.
SH=(--ipam-driver weft --subnet 10.77.0.0/28)
pool_h1() { lab_store_value weft/v1/pools/10.77.0.0-28 | grep -q '"h1"'; }
no_pool() { no_keys weft/v1/pools/10.77.0.0-28; }
expect_ok "h1: a weft network on 10.77.0.0/28" dk 1 network create -d weft "${SH[@]}" sa
expect_ok "h1: Docker's own macvlan driver with weft's IPAM on the same subnet" \
	dk 1 network create -d macvlan -o parent=eth0 "${SH[@]}" sb
expect_ok "h1: s1 on the macvlan network" dk 1 run -d --name s1 --network sb $IMG sleep 600
s1=$(ip_of 1 s1 sb)
expect_ok "h1: network rm of the weft network" dk 1 network rm sa
rounds
expect_ok "three reconcile rounds later h1 still holds the pool" pool_h1
expect_ok "... and s1's address $s1" key 10.77.0.0-28 "$s1"
expect_ok "h1: s2 on the macvlan network" dk 1 run -d --name s2 --network sb $IMG sleep 600
s2=$(ip_of 1 s2 sb)
expect_ok "s2 has an address of its own ($s2, s1 $s1)" test -n "$s2" -a "$s2" != "$s1"
expect_ok "s2 pings s1" dk 1 exec s2 ping -c2 -W2 "$s1"
expect_ok "h1: docker rm s1 s2, network rm sb" bash -c "dk 1 rm -f s1 s2 && dk 1 network rm sb"
expect_ok "the pool goes within seconds, no key of it is left" lab_wait_for no_pool 10
expect_ok "h1's weftd logged why it kept the pool, and when it let it go" \
	bash -c "grep -q 'pool 10.77.0.0/28 stays until Docker says no other network of its uses it' '$LABDIR/h1/weftd.log' &&
		grep -q 'released pool 10.77.0.0/28: no other network of Docker.s uses it' '$LABDIR/h1/weftd.log'"

expect_ok "no weft device is left on h1" lab_no_weft_devices 1
expect_ok "no weft device is left on h2" lab_no_weft_devices 2

lab_summary
