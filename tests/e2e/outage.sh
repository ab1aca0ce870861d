#!/bin/bash
# outage.sh - the cluster store goes away for OUTAGE seconds (default 60) under traffic, on two
# lab hosts with overlay, routed and bridge networks. LAB_STORE=etcd (default): etcd is stopped
# and started again on its data (connections refused, then a store that restarted);
# LAB_STORE=consul: the Consul emulator is frozen with SIGSTOP (connections hang, then a store
# whose sessions ran out meanwhile). While it is away: running containers keep talking across
# hosts without losing a packet, calls that need the store fail with a message naming it and
# change nothing, calls that need it only to free something succeed (docker rm, network rm).
# When it is back: both hosts are registered, watches resync (a container started afterwards
# is reached from the other host), and what could not be freed meanwhile is freed (the removed
# container's address and overlay entries, the removed network's pool), by h1 without asking
# Docker (--docker-socket none). Then h1's lease is
# revoked in the store (as a store that comes back without its leases does): h1 registers
# again and h2 keeps reaching h1's container meanwhile. At the end nothing is left in the
# store or the kernel.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
OUTAGE=${OUTAGE:-60}
lab_require
lab_init "outage-$KIND"
lab_outside
lab_store "$KIND"
# h1 never asks Docker (--docker-socket none): what it could not free during the outage it frees
# from its own record of the releases the store did not take, not from Docker's view
for h in 1 2; do
	lab_host $h
	lab_image $h
done
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --lease-ttl $TTL --reconcile-interval 2 --docker-socket none
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL --reconcile-interval 2
IMG=weft-test:local
W=(-d weft --ipam-driver weft)
OV=("${W[@]}" --subnet 10.93.0.0/24 -o mode=overlay)
RT=("${W[@]}" --subnet 10.94.0.0/16 -o mode=routed)
UNREACH="cluster store $LAB_STORE_URL unreachable"

ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
mac_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").MacAddress}}" "$2"; }
kv_has() { [ -n "$(lab_store_value "$1")" ]; }
kv_lacks() { [ -z "$(lab_store_value "$1")" ]; }
no_keys() { ! lab_store_keys "$1"; }
both_registered() { kv_has weft/v1/hosts/h1 && kv_has weft/v1/hosts/h2; }
# fdb_has H MAC: host H has a static FDB entry for a remote overlay container
fdb_has() { bridge -n "$LAB-h$1" fdb show | grep -q "^$2 dev .* dst .* self permanent"; }
logged() { grep -q -- "$2" "$LABDIR/h$1/weftd.log"; }
weft_answers() {
	lab_exec 1 curl -s -m 5 --unix-socket /run/docker/plugins/weft.sock -X POST -d '{}' \
		http://weft/NetworkDriver.GetCapabilities | grep -q '"Scope":"local"'
}

# ---------------------------------------------------------------- before: networks, containers
for h in 1 2; do
	expect_ok "h$h: create the overlay network ov" dk $h network create "${OV[@]}" ov
	expect_ok "h$h: create the routed network rt" dk $h network create "${RT[@]}" rt
done
expect_ok "h1: create the bridge networks sn and gone" \
	bash -c "dk 1 network create ${W[*]} --subnet 10.95.0.0/24 sn >/dev/null &&
		dk 1 network create ${W[*]} --subnet 10.96.0.0/24 gone >/dev/null"
expect_ok "run c1 (h1) and c2 (h2) on ov, r1 and r2 on rt, s1 on sn, x1 (h1) on ov" \
	bash -c "dk 1 run -d --name c1 --network ov $IMG sleep 3600 >/dev/null &&
		dk 2 run -d --name c2 --network ov $IMG sleep 3600 >/dev/null &&
		dk 1 run -d --name r1 --network rt $IMG sleep 3600 >/dev/null &&
		dk 2 run -d --name r2 --network rt $IMG sleep 3600 >/dev/null &&
		dk 1 run -d --name s1 --network sn $IMG sleep 3600 >/dev/null &&
		dk 1 run -d --name x1 --network ov $IMG sleep 3600 >/dev/null"
c1=$(ip_of 1 c1 ov)
r1=$(ip_of 1 r1 rt)
x1=$(ip_of 1 x1 ov)
x1mac=$(mac_of 1 x1 ov)
expect_ok "c2 (h2) pings c1 (h1) over the overlay" dk 2 exec c2 ping -c2 -W2 "$c1"
expect_ok "r2 (h2) pings r1 (h1) over the routed network" dk 2 exec r2 ping -c2 -W2 "$r1"
expect_ok "h2 has x1's FDB entry ($x1mac)" fdb_has 2 "$x1mac"
expect_ok "x1's address $x1 is a key in the store" kv_has "weft/v1/pools/10.93.0.0-24/addr/$x1"
expect_ok "gone's pool is in the store" lab_store_keys weft/v1/pools/10.96.0.0-24/

# ---------------------------------------------------------------- the store goes away, under traffic
# one ping every 0.2 s from before the outage to well after it
count=$(((OUTAGE + 40) * 5))
dk 2 exec c2 ping -i 0.2 -c "$count" -W1 "$c1" >"$LABDIR/ping-ov.out" 2>&1 &
ping_ov=$!
dk 2 exec r2 ping -i 0.2 -c "$count" -W1 "$r1" >"$LABDIR/ping-rt.out" 2>&1 &
ping_rt=$!
pstart=$(date +%s%N)
# mark WHAT: log what happens when, as the ping's sequence number at that time
mark() { lab_log "$1 (ping seq ~$((($(date +%s%N) - pstart) / 200000000)))"; }
sleep 3
t0=$(date +%s)
lab_store_down
mark "the $KIND store is down ($([ "$KIND" = etcd ] && echo stopped || echo frozen)) for $OUTAGE s"
h1_before=$(lab_weft_state 1)

s=$(date +%s)
expect_fail_msg "docker run on ov fails naming the store" "$UNREACH" dk 1 run -d --name y1 --network ov $IMG sleep 60
lab_log "... answered in $(($(date +%s) - s)) s"
expect_fail_msg "a new weft network fails naming the store" "$UNREACH" dk 1 network create "${W[@]}" --subnet 10.97.0.0/24 nope
expect_fail_msg "a new overlay network fails naming the store" "$UNREACH" \
	dk 1 network create "${W[@]}" --subnet 10.98.0.0/24 -o mode=overlay nope2
dk 1 rm -f y1 >/dev/null 2>&1
expect_ok "... and neither left anything on h1 (devices, addresses, rules, records)" \
	test "$(lab_weft_state 1)" = "$h1_before"
expect_ok "weftd answers what needs no store" weft_answers
expect_ok "docker rm -f x1 succeeds (its address is freed when the store is back)" dk 1 rm -f x1
expect_ok "docker network rm gone succeeds (its pool is freed when the store is back)" dk 1 network rm gone
expect_ok "... h1 says both stay held until the store answers" bash -c \
	"grep -q 'address $x1 of 10.93.0.0/24 stays held until the cluster store answers (weftd releases it then): ' '$LABDIR/h1/weftd.log' &&
	 grep -q 'pool 10.96.0.0/24 stays held until the cluster store answers' '$LABDIR/h1/weftd.log'"
expect_ok "... gone's bridge went" bash -c "! ip -n $LAB-h1 -o addr show | grep -q 10.96.0.1/"

left=$((t0 + OUTAGE - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
lab_store_up
mark "the $KIND store is back after $(($(date +%s) - t0)) s"

# ---------------------------------------------------------------- after
h1_noticed() { logged 1 'answers again'; }
resynced() { logged 1 "watch of 'weft/v1/pools/': the store answers again" &&
	logged 2 "watch of 'weft/v1/pools/': the store answers again"; }
x1_freed() { kv_lacks "weft/v1/pools/10.93.0.0-24/addr/$x1"; }
x1_fdb_gone() { ! fdb_has 2 "$x1mac"; }
gone_freed() { no_keys weft/v1/pools/10.96.0.0-24/; }
no_pools() { no_keys weft/v1/pools/; }
expect_ok "both hosts are registered" lab_wait_for both_registered 30
for h in 1 2; do
	logged $h "lease of host 'h$h' expired" && lab_log "h$h's lease expired during the outage: it registered again"
done
expect_ok "h1 noticed the store answers again" lab_wait_for h1_noticed 30
expect_ok "both hosts' watches listed the store again" lab_wait_for resynced 30
expect_ok "x1's address $x1 is freed" lab_wait_for x1_freed 30
expect_ok "h2 removed x1's FDB entry" lab_wait_for x1_fdb_gone 30
expect_ok "gone's pool is freed" lab_wait_for gone_freed 30
expect_ok "... h1 says it finished both releases (it never asks Docker)" bash -c \
	"grep -q 'released address $x1, which the cluster store could not take' '$LABDIR/h1/weftd.log' &&
	 grep -q 'released pool 10.96.0.0/24, which the cluster store could not take' '$LABDIR/h1/weftd.log'"
mark "running x3 and x4"
expect_ok "run x3 on ov on h1" dk 1 run -d --name x3 --network ov $IMG sleep 3600
expect_ok "c2 (h2) pings x3 (h1): h2's watch resynced" dk 2 exec c2 ping -c2 -W2 "$(ip_of 1 x3 ov)"
expect_ok "run x4 on rt on h2" dk 2 run -d --name x4 --network rt $IMG sleep 3600
expect_ok "r1 (h1) pings x4 (h2)" dk 1 exec r1 ping -c2 -W2 "$(ip_of 2 x4 rt)"
mark "x3 and x4 run"
expect_ok "a new weft network can be created" dk 1 network create "${W[@]}" --subnet 10.97.0.0/24 back

wait $ping_ov
wait $ping_rt
for n in ov rt; do
	expect_ok "$n: no packet lost during the outage ($(lab_loss "$LABDIR/ping-$n.out"))" \
		lab_no_loss "$LABDIR/ping-$n.out"
done

# ---------------------------------------------------------------- a lease lost, the host alive
# As when a store comes back without its leases: h1's record goes, h1 registers again within a
# third of the TTL, and h2 holds h1's containers meanwhile.
revoke_h1() {
	local id
	case $KIND in
	etcd)
		id=$(lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 get weft/v1/hosts/h1 -w json |
			python3 -c 'import json,sys; print("%x" % json.load(sys.stdin)["kvs"][0]["lease"])') &&
			lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 lease revoke "$id" ;;
	consul)
		id=$(lab_store_exec curl -s -m 3 -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" \
			http://192.0.2.254:8500/v1/kv/weft/v1/hosts/h1 |
			python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Session"])') &&
			lab_store_exec curl -s -m 3 -X PUT -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" \
				"http://192.0.2.254:8500/v1/session/destroy/$id" | grep -q true ;;
	esac
}
h1_again() { [ "$(grep -c "registered host 'h1'" "$LABDIR/h1/weftd.log")" -gt "$before" ]; }
before=$(grep -c "registered host 'h1'" "$LABDIR/h1/weftd.log")
dk 2 exec c2 ping -i 0.2 -c $((TTL * 10)) -W1 "$c1" >"$LABDIR/ping-lease.out" 2>&1 &
ping_lease=$!
sleep 2
expect_ok "h1's lease revoked in the store: its record is gone" revoke_h1
expect_ok "h1 registers again" lab_wait_for h1_again $TTL
wait $ping_lease
expect_ok "c2 (h2) kept reaching c1 (h1) meanwhile ($(lab_loss "$LABDIR/ping-lease.out"))" \
	lab_no_loss "$LABDIR/ping-lease.out"

# ---------------------------------------------------------------- nothing left
expect_ok "remove every container" bash -c "dk 1 rm -f c1 r1 s1 x3 >/dev/null && dk 2 rm -f c2 r2 x4 >/dev/null"
expect_ok "remove every network" \
	bash -c "dk 1 network rm ov rt sn back >/dev/null && dk 2 network rm ov rt >/dev/null"
expect_ok "no pool, address or slice key is left" lab_wait_for no_pools 10
for h in 1 2; do
	expect_ok "h$h: no weft device is left" lab_no_weft_devices "$h"
done

lab_summary
