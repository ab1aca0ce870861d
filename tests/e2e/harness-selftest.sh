#!/bin/bash
# harness-selftest.sh - proves tests/e2e/lib.sh with Docker's own bridge driver (no weft):
# a lab host with a real dockerd, outbound NAT to the lab's outside namespace, name
# resolution between containers on a user-defined network, and a teardown that leaves
# nothing behind.
#
# SELFTEST_ABORT=1 makes the test die midway (exit 1) after containers are running; the
# EXIT trap must still clean everything (check by hand: see the end of this file).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_init selftest
t0=$(date +%s%N)
lab_host 1
lab_outside
t1=$(date +%s%N)
lab_log "lab host + outside up in $(((t1 - t0) / 1000000)) ms"
lab_image 1
expect_ok "busybox image imported" dk 1 image inspect weft-test:local

# --- outbound NAT: the outside namespace knows no route back to container subnets
expect_fail_msg "outside has no route to container subnets" 'unreachable' \
	ip -n "$LAB-out" route get 172.17.0.2
expect_ok "container on docker0 reaches 192.0.2.254 (masqueraded)" \
	dk 1 run --rm weft-test:local ping -c1 -W2 192.0.2.254

# --- user-defined bridge network, embedded DNS
expect_ok "network create --subnet 10.201.0.0/24 t" \
	dk 1 network create --subnet 10.201.0.0/24 t
expect_ok "container ca on t" dk 1 run -d --name ca --network t weft-test:local sleep 300
expect_ok "container cb on t" dk 1 run -d --name cb --network t weft-test:local sleep 300
expect_ok "ca has an address in 10.201.0.0/24" \
	bash -c 'dk 1 exec ca ip -4 addr show eth0 | grep -q "inet 10\.201\.0\."'
expect_ok "ca pings cb by name" dk 1 exec ca ping -c1 -W2 cb
expect_ok "cb pings ca by name" dk 1 exec cb ping -c1 -W2 ca
expect_ok "ca on t reaches the outside too" dk 1 exec ca ping -c1 -W2 192.0.2.254
expect_fail_msg "docker errors are caught with their message" 'No such container' \
	dk 1 exec nosuch true
expect_fail_msg "network create of an overlapping subnet fails" 'overlap' \
	dk 1 network create --subnet 10.201.0.0/25 t2

if [ "${SELFTEST_ABORT:-0}" = 1 ]; then
	lab_log "SELFTEST_ABORT=1: dying midway with containers running"
	false || exit 1
fi

# --- teardown leaves nothing: remember what ran, then tear down and look
procs=()
for f in "$LABDIR"/h*/mnt; do
	for p in $(lab__ns_pids mnt "$f"); do procs+=("$p $(lab__starttime "$p")"); done
done
for p in $(lab__cg_pids); do procs+=("$p $(lab__starttime "$p")"); done
lab_log "${#procs[@]} processes in the lab before teardown"
# check NAME COND...: ok/fail on a shell condition
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}
check "lab processes found: dockerd, containerd, 2 shims, 2 containers (${#procs[@]})" \
	[ "${#procs[@]}" -ge 6 ]
lab="$LAB"
t0=$(date +%s%N)
lab_down
t1=$(date +%s%N)
lab_log "lab down in $(((t1 - t0) / 1000000)) ms"

left=$(ls -d /run/netns/"$lab"-* 2>/dev/null) || true
check "no namespaces left${left:+: $left}" [ -z "$left" ]
left=$(grep -F -- "$lab" /proc/mounts) || true
check "no mounts left${left:+: $left}" [ -z "$left" ]
left=
for e in "${procs[@]}"; do
	# shellcheck disable=SC2086
	lab__alive $e && left="$left ${e%% *}"
done
check "no processes left${left:+:$left}" [ -z "$left" ]
left=$(ls -d /run/"$lab" /var/lib/"$lab" /sys/fs/cgroup/*/"$lab"-* /sys/fs/cgroup/"$lab"-* 2>/dev/null) || true
check "no directories or cgroups left${left:+: $left}" [ -z "$left" ]

lab_summary
