#!/bin/bash
# restart.sh - dockerd restarts, with live-restore off and on, on a network of every mode
# (bridge, routed, overlay, macvlan; one host with etcd, LAB_STORE=consul for the emulator).
# Live-restore off: the containers stop with dockerd and start again with it (--restart
# always); Docker replays its IPAM requests, the networks keep their subnets and gateways, a
# container started with --ip gets it again (one without gets a new address, as with Docker's
# own drivers: Docker asks for none in particular; on a full /29 the four without --ip leave
# its address to the one with it), and weft holds as many devices, rules,
# records and keys as before (the old endpoints' are gone). Live-restore on: the containers
# keep running and keep talking while dockerd is away (pinged from outside Docker), and
# nothing of weft changes. At the end nothing is left.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
lab_require
lab_init "restart-$KIND"
lab_outside
lab_store "$KIND"
lab_host 1
lab_image 1
lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --reconcile-interval 2
IMG=weft-test:local
W=(-d weft --ipam-driver weft)
NETS=(br rt ov mv)

ip_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
# addrs: every network's subnet, and the --ip container's address and gateway on it (the
# network's Config.Gateway is no use: Docker 20.10 shows it only after a restart)
addrs() {
	local n
	for n in "${NETS[@]}"; do
		printf '%s %s a=%s gw=%s\n' "$n" "$(dk 1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$n")" \
			"$(ip_of "${n}a" "$n")" \
			"$(dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$n\").Gateway}}" "${n}a")"
	done
}
# shape: the same with IDs, container addresses and record revisions made alike
shape() {
	lab_weft_cluster_state 1 | sed -E 's/[0-9a-f]{12,64}/ID/g; s/w([vcm])[0-9a-f]{10}/w\1ID/g; s/([0-9a-f]{2}:){5}[0-9a-f]{2}/MAC/g
		s/10\.7[1-5]\.[0-9]+\.[0-9]+/ADDR/g; s/^([^\t]*\t) .{1,32}\{"/\1REV{"/' | sort
}
# talk: on every network, a pings b
talk() {
	local n
	for n in "${NETS[@]}"; do
		dk 1 exec "${n}a" ping -c1 -W2 "$(ip_of "${n}b" "$n")" >/dev/null || { echo "$n: no answer"; return 1; }
	done
}
# full: a bridge network with no address to spare, f1 with --ip, f2-f5 without
FULL=(f1 f2 f3 f4 f5)
containers() {
	local n
	for n in "${NETS[@]}"; do
		printf '%sa %sb ' "$n" "$n"
	done
	printf '%s ' "${FULL[@]}"
}
running() {
	local c
	for c in $(containers); do
		[ "$(dk 1 inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || return 1
	done
}

expect_ok "networks of every mode" bash -c "
	dk 1 network create ${W[*]} --subnet 10.71.0.0/24 br >/dev/null &&
	dk 1 network create ${W[*]} --subnet 10.72.0.0/16 -o mode=routed rt >/dev/null &&
	dk 1 network create ${W[*]} --subnet 10.73.0.0/24 -o mode=overlay ov >/dev/null &&
	dk 1 network create ${W[*]} --subnet 10.74.0.0/24 -o mode=macvlan -o parent=eth0 mv >/dev/null"
i=1
for n in "${NETS[@]}"; do
	expect_ok "$n: two containers, --restart always, one with --ip 10.7$i.0.10" bash -c \
		"dk 1 run -d --restart always --name ${n}a --network $n --ip 10.7$i.0.10 $IMG sleep 3600 >/dev/null &&
		 dk 1 run -d --restart always --name ${n}b --network $n $IMG sleep 3600 >/dev/null"
	i=$((i + 1))
done
expect_ok "on every network the two talk" talk
expect_ok "full: a /29 with f1 on --ip 10.75.0.2 and four more without (none left)" bash -c "
	dk 1 network create ${W[*]} --subnet 10.75.0.0/29 full >/dev/null &&
	dk 1 run -d --restart always --name f1 --network full --ip 10.75.0.2 $IMG sleep 3600 >/dev/null &&
	for c in f2 f3 f4 f5; do dk 1 run -d --restart always --name \$c --network full $IMG sleep 3600 >/dev/null || exit 1; done
	! dk 1 run -d --name f6 --network full $IMG sleep 3600 2>/dev/null"
dk 1 rm -f f6 >/dev/null 2>&1
before_addrs=$(addrs)
lab_log "addresses: $(printf '%s' "$before_addrs" | tr '\n' ';')"
before=$(shape)

# ---------------------------------------------------------------- live-restore off
lab_stop_dockerd 1 TERM
stopped() { ! running; }
same_addrs() { [ "$(addrs)" = "$before_addrs" ]; }
expect_ok "dockerd stopped (live-restore off): the containers stopped" stopped
lab_start_dockerd 1
expect_ok "dockerd is back and starts every container again" lab_wait_for running 60
running || for c in $(containers); do
	lab_log "$c: $(dk 1 inspect -f '{{.State.Status}} {{.State.Error}}' "$c" 2>&1)"
done
expect_ok "the networks have their subnets and gateways, the --ip containers their addresses" same_addrs
same_addrs || addrs | sed 's/^/#   now: /'
# in whatever order dockerd started them, f2-f5 left f1's address to it
expect_same "full: f1 has 10.75.0.2 again" 10.75.0.2 "$(ip_of f1 full)"
expect_ok "on every network the two talk again" talk
same_shape() { [ "$(shape)" = "$before" ]; }
expect_ok "weft holds as many devices, addresses, rules, records and keys as before" lab_wait_for same_shape 10
same_shape || diff <(printf '%s\n' "$before") <(shape) | sed 's/^/#   /'

# ---------------------------------------------------------------- live-restore on
echo '{"live-restore": true}' >"$LABDIR/h1/daemon.json"
kill -HUP "$DOCKERD_PID_1"
live() { [ "$(dk 1 info -f '{{.LiveRestoreEnabled}}')" = true ]; }
expect_ok "dockerd reloads with live-restore on" lab_wait_for live 10
before=$(lab_weft_cluster_state 1)
same() { [ "$(lab_weft_cluster_state 1)" = "$before" ]; }
# pinged from the host's busybox in the container's namespace: docker exec would end with dockerd
pids=()
for n in "${NETS[@]}"; do
	pid=$(dk 1 inspect -f '{{.State.Pid}}' "${n}a")
	nsenter -t "$pid" -n busybox ping -i 0.2 -c 50 -W1 "$(ip_of "${n}b" "$n")" >"$LABDIR/ping-$n.out" 2>&1 &
	pids+=($!)
done
sleep 2
lab_stop_dockerd 1 TERM
sleep 3
lab_start_dockerd 1
wait "${pids[@]}"
for n in "${NETS[@]}"; do
	expect_ok "$n: a dockerd restart with live-restore under ping: no packet lost ($(lab_loss "$LABDIR/ping-$n.out"))" \
		lab_no_loss "$LABDIR/ping-$n.out"
done
expect_ok "every container kept running" running
expect_ok "... with its address" lab_wait_for same_addrs 10
same_addrs || addrs | sed 's/^/#   now: /'
expect_ok "weft's state did not change" lab_wait_for same 10
same || diff <(printf '%s\n' "$before") <(lab_weft_cluster_state 1) | sed 's/^/#   /'
expect_ok "on every network the two still talk" talk

# ---------------------------------------------------------------- nothing left
expect_ok "remove every container and network" bash -c "dk 1 rm -f $(containers) >/dev/null && dk 1 network rm ${NETS[*]} full >/dev/null"
nothing() { [ -z "$(lab_weft_cluster_state 1)" ]; }
expect_ok "no weft device, address, rule, record or key is left" lab_wait_for nothing 10
nothing || lab_weft_cluster_state 1 | sed 's/^/#   /'
# the store was up throughout, and Consul's blocking queries idle past 10 s here
no_errors() { ! grep -E '^<[0-3]>' "$LABDIR/h1/weftd.log"; }
expect_ok "weftd logged no error" no_errors
lab_summary
