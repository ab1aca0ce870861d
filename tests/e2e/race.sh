#!/bin/bash
# race.sh - four lab hosts, one cluster store (LAB_STORE=etcd, default, or consul), one
# dual-stack macvlan network (an IPv4 /24 and an IPv6 /120, where weft picks each address from a
# random start) created on every host, and 25 containers started at once on each host: every
# container gets an address of each family, no address twice, and after removing everything no
# key is left in the store.
#   RACE_HOSTS (4), RACE_PER_HOST (25)
# Docker 20.10 sometimes miscounts a network's endpoints under concurrent removals
# (moby/moby#42119); see recount() for how that case is told apart and handled.
#   WEFTD=src/weftd LAB_STORE=etcd tests/e2e/race.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
HOSTS=${RACE_HOSTS:-4}
PER=${RACE_PER_HOST:-25}
lab_require
lab_init "race-$KIND"
lab_outside
lab_store "$KIND"
for ((h = 1; h <= HOSTS; h++)); do
	lab_host "$h"
	lab_image "$h"
	lab_start_weftd "$h" --host-id "h$h" --store "$LAB_STORE_URL"
done
IMG=weft-test:local
MV=(-d weft --ipam-driver weft --subnet 10.70.0.0/24 --gateway 10.70.0.1 --ipv6 --subnet fd00:70::/120
	--gateway fd00:70::1 -o mode=macvlan -o parent=eth0)

no_keys() { ! lab_store_keys "$1"; }

# create_all: the same network on every host, at once
create_all() {
	local h pids=() rc=0
	for ((h = 1; h <= HOSTS; h++)); do
		dk "$h" network create "${MV[@]}" race >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
# run_all: PER containers on every host, all started at once
run_all() {
	local h i pids=() rc=0
	for ((h = 1; h <= HOSTS; h++)); do
		for ((i = 1; i <= PER; i++)); do
			dk "$h" run -d --name "c$h-$i" --network race $IMG sleep 600 >/dev/null &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
# addresses FIELD: that address (IPAddress, GlobalIPv6Address) of every container, one per line
addresses() {
	local h
	for ((h = 1; h <= HOSTS; h++)); do
		dk "$h" ps -q | xargs -r -n 50 docker -H "unix://$LABDIR/h$h/docker.sock" inspect \
			-f "{{.NetworkSettings.Networks.race.$1}}"
	done
}
# all_distinct FIELD PREFIX: every container has an address starting with PREFIX, none twice
all_distinct() {
	local a n u
	a=$(addresses "$1")
	n=$(printf '%s\n' "$a" | grep -c "^$2")
	u=$(printf '%s\n' "$a" | grep "^$2" | sort -u | wc -l)
	echo "$n containers with an address, $u distinct"
	printf '%s\n' "$a" | sort | uniq -d | sed 's/^/duplicate: /'
	[ "$n" = $((HOSTS * PER)) ] && [ "$u" = "$n" ]
}
# rm_containers H: docker rm -f until none is left (under this load dockerd sometimes refuses
# one removal for a moment: "removal ... is already in progress"); gives up after 30 s
rm_containers() {
	local i left
	for ((i = 0; i < 30; i++)); do
		left=$(dk "$1" ps -aq)
		[ -z "$left" ] && return 0
		# shellcheck disable=SC2086
		dk "$1" rm -f $left >/dev/null 2>&1 || sleep 1
	done
	echo "h$1: containers left: $(dk "$1" ps -aq | tr '\n' ' ')"
	return 1
}
# net_rm H: dockerd may count an endpoint of a just removed container for a moment longer
# ("has active endpoints"): try again for up to 10 s, then give up with its error
net_rm() {
	local i
	for ((i = 0; i < 20; i++)); do
		dk "$1" network rm race >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	dk "$1" network rm race >/dev/null && return 0
	echo "h$1: dockerd still lists: $(dk "$1" network inspect race -f '{{json .Containers}}' 2>&1)"
	return 1
}
# recount H: Docker 20.10 keeps a per-network endpoint_count beside its endpoint records, and
# concurrent removals on one network can leave it above zero with no endpoint left
# (moby/moby#42119): "has active endpoints" while inspect lists none. Nothing of weft is
# involved: dockerd recounts at start ("Fixing inconsistent endpoint_cnt"). So when, and only
# when, dockerd lists no endpoint and the store holds no container address of that host, restart
# that dockerd and remove the network again.
recount() {
	local h=$1 c held k v
	c=$(dk "$h" network inspect race -f '{{json .Containers}}' 2>&1)
	held=$( (lab_store_keys weft/v1/pools/10.70.0.0-24/addr/; lab_store_keys weft/v1/pools/fd00:70::-120/addr/) |
		while read -r k; do
		v=$(lab_store_value "$k")
		grep -q "\"host\": *\"h$h\"" <<<"$v" && grep -q '"owner": *"endpoint"' <<<"$v" &&
			printf '%s ' "${k##*/}"
	done)
	if [ "$c" != "{}" ] || [ -n "$held" ]; then
		echo "h$h: dockerd lists $c, the store holds for h$h: ${held:-nothing}"
		return 1
	fi
	lab_log "h$h: dockerd counts an endpoint it does not list (moby/moby#42119): restarting it"
	lab_stop_dockerd "$h" && lab_start_dockerd "$h" || return 1
	grep -h 'Fixing inconsistent endpoint_cnt' "$LABDIR/h$h/dockerd.log" | sed 's/^/# /'
	dk "$h" network rm race >/dev/null
}
rm_all() {
	local h pids=() rc=0
	for ((h = 1; h <= HOSTS; h++)); do
		(rm_containers "$h" && net_rm "$h") &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] && return 0
	rc=0
	for ((h = 1; h <= HOSTS; h++)); do
		dk "$h" network inspect race >/dev/null 2>&1 || continue
		[ -z "$(dk "$h" ps -aq)" ] && recount "$h" || rc=1
	done
	return $rc
}

expect_ok "the macvlan network on $HOSTS hosts at once" create_all
expect_ok "$PER containers on each host, all at once" run_all
expect_ok "$((HOSTS * PER)) containers, $((HOSTS * PER)) different IPv4 addresses" all_distinct IPAddress '10\.70\.0\.'
expect_ok "... and $((HOSTS * PER)) different IPv6 addresses" all_distinct GlobalIPv6Address 'fd00:70::'
expect_ok "remove every container and the network on every host, at once" rm_all
# A host whose dockerd recount() restarted replayed its pools: its weftd lets the pool go a
# reconcile round after the network, once Docker says no other network of its has the subnet.
pool_gone() { no_keys weft/v1/pools/10.70.0.0-24 && no_keys weft/v1/pools/fd00:70::-120; }
expect_ok "no key of either pool is left in the store (within seconds)" lab_wait_for pool_gone 10

lab_summary
