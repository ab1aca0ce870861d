#!/bin/bash
# crash.sh - weftd killed (SIGKILL) at each named point of Docker's calls (WEFT_CRASH_AT, see
# weftd(8)), halfway through docker network create / network rm / run / rm, then started
# again: Docker gave up on the call and never repeats it, so weftd must find out by itself.
# After each crash: Docker's view, weft's records, the kernel and the store agree, nothing is
# leaked (devices, addresses, rules, records, pool and address keys), nothing is lost (the
# same command works again), and running containers kept their traffic. Bridge mode on the
# embedded store first (with -p: Program, Revoke), then with etcd the steps of routed
# (the host's slice), macvlan (the host shim's address) and overlay (the MAC in the store),
# and the kernel steps of docker run and rm on a network of each of them.
#   WEFTD=src/weftd tests/e2e/crash.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
lab_init crash
lab_host 1
lab_image 1
IMG=weft-test:local
W=(-d weft --ipam-driver weft)
ARGS=(--host-id h1 --reconcile-interval 2)
lab_start_weftd 1 "${ARGS[@]}"

# a container that lives through every crash, on a network of its own
expect_ok "a network and a container that live through every crash" bash -c \
	"dk 1 network create ${W[*]} --subnet 10.241.0.0/24 keep >/dev/null && dk 1 run -d --name k1 --network keep $IMG sleep 3600 >/dev/null && dk 1 run -d --name k2 --network keep $IMG sleep 3600 >/dev/null"
K2=$(dk 1 inspect -f '{{.NetworkSettings.Networks.keep.IPAddress}}' k2)
base=$(lab_weft_state 1)

# crash POINT: the next weftd dies at POINT
crash() {
	lab_stop_weftd 1
	WEFT_CRASH_AT=$1 lab_start_weftd 1 "${ARGS[@]}"
}
# died: weftd is gone (it met its crash point)
died() { ! kill -0 "$WEFTD_PID_1" 2>/dev/null; }
# restart: weftd back, without a crash point
restart() {
	lab_stop_weftd 1
	lab_start_weftd 1 "${ARGS[@]}"
}
# agrees WANT: within 20 s, weft's state is WANT (reconcile runs every 2 s, acts on the 2nd look)
agrees() {
	local i now
	for ((i = 0; i < 40; i++)); do
		now=$(lab_weft_cluster_state 1)
		[ "$now" = "$1" ] && return 0
		sleep 0.5
	done
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$now")
	return 1
}
# survivors: k1 still reaches k2
survivors() { dk 1 exec k1 ping -c1 -W2 "$K2" >/dev/null; }

# ---------------------------------------------------------------- docker network create
for p in pool_request addr_request.gateway net_create.kernel net_create.record; do
	crash "$p"
	expect_fail_msg "$p: docker network create fails" "." dk 1 network create "${W[@]}" --subnet 10.242.0.0/24 cn
	expect_ok "$p: weftd died there" died
	restart
	expect_ok "$p: Docker has no network cn" bash -c "! dk 1 network inspect cn >/dev/null 2>&1"
	expect_ok "$p: weft holds nothing of it" agrees "$base"
	expect_ok "$p: the same network can be created, and removed" bash -c \
		"dk 1 network create ${W[*]} --subnet 10.242.0.0/24 cn >/dev/null && dk 1 network rm cn >/dev/null"
	expect_ok "$p: k1 still reaches k2" survivors
done

# ---------------------------------------------------------------- docker run
expect_ok "network cn for the container crashes" dk 1 network create "${W[@]}" --subnet 10.242.0.0/24 cn
withnet=$(lab_weft_state 1)
for p in addr_request ep_create.record join.kernel; do
	crash "$p"
	expect_fail_msg "$p: docker run fails" "." dk 1 run --rm --network cn --ip 10.242.0.50 $IMG true
	expect_ok "$p: weftd died there" died
	restart
	expect_ok "$p: weft holds nothing of the container" agrees "$withnet"
	expect_ok "$p: the same container runs, with the same --ip" \
		dk 1 run --rm --network cn --ip 10.242.0.50 $IMG ping -c1 -W2 10.242.0.1
	expect_ok "$p: k1 still reaches k2" survivors
done

p=program.record
crash "$p"
expect_fail_msg "$p: docker run -p fails" "." dk 1 run --rm --network cn -p 18080:80 $IMG true
expect_ok "$p: weftd died there" died
restart
expect_ok "$p: weft holds nothing of the container" agrees "$withnet"
expect_ok "$p: the same container runs, publishing the same port" \
	dk 1 run --rm --network cn -p 18080:80 $IMG true
expect_ok "$p: k1 still reaches k2" survivors

# ---------------------------------------------------------------- docker rm
for p in addr_release ep_delete.kernel unpublish.record; do
	dk 1 run -d --name victim --network cn --ip 10.242.0.60 -p 18081:80 $IMG sleep 3600 >/dev/null
	crash "$p"
	dk 1 rm -f victim >/dev/null 2>&1
	expect_ok "$p: docker rm -f removed the container" bash -c "! dk 1 inspect victim >/dev/null 2>&1"
	expect_ok "$p: weftd died there" died
	restart
	expect_ok "$p: weft holds nothing of the container" agrees "$withnet"
	expect_ok "$p: its --ip and its port can be used again" \
		dk 1 run --rm --network cn --ip 10.242.0.60 -p 18081:80 $IMG true
	expect_ok "$p: k1 still reaches k2" survivors
done

# ---------------------------------------------------------------- docker network rm
# net_rm_crash P NET WANT: network rm of NET dies at P; after a restart weft's state is WANT
net_rm_crash() {
	local p=$1 net=$2
	crash "$p"
	dk 1 network rm "$net" >/dev/null 2>&1
	expect_ok "$p ($net): weftd died there" died
	restart
	# Docker may or may not have kept the network after its call failed: either way, one
	# more network rm (if it is there) leaves nothing
	dk 1 network rm "$net" >/dev/null 2>&1
	expect_ok "$p ($net): Docker has no network $net" bash -c "! dk 1 network inspect $net >/dev/null 2>&1"
	expect_ok "$p ($net): weft holds nothing of it, here or in a store" agrees "$3"
	expect_ok "$p ($net): k1 still reaches k2" survivors
}
for p in pool_release net_delete.kernel; do
	dk 1 network create "${W[@]}" --subnet 10.243.0.0/24 rn >/dev/null
	net_rm_crash "$p" rn "$withnet"
done

expect_ok "remove everything" bash -c "dk 1 rm -f k1 k2 >/dev/null && dk 1 network rm cn keep >/dev/null"
expect_ok "no weft device, address, rule or record is left" agrees ""

# ---------------------------------------------------------------- routed, overlay, macvlan (etcd)
lab_outside
lab_store etcd
ARGS+=(--store "$LAB_STORE_URL")
restart
expect_ok "with etcd: a network and a container that live through every crash" bash -c \
	"dk 1 network create ${W[*]} --subnet 10.241.0.0/24 keep >/dev/null && dk 1 run -d --name k1 --network keep $IMG sleep 3600 >/dev/null && dk 1 run -d --name k2 --network keep $IMG sleep 3600 >/dev/null"
K2=$(dk 1 inspect -f '{{.NetworkSettings.Networks.keep.IPAddress}}' k2)
base=$(lab_weft_cluster_state 1)
# p ARGS...: network create with ARGS fails at p; afterwards nothing of it is left, and it works
net_crash() {
	local p=$1
	shift
	crash "$p"
	expect_fail_msg "$p: docker network create fails" "." dk 1 network create "${W[@]}" "$@" mn
	expect_ok "$p: weftd died there" died
	restart
	expect_ok "$p: Docker has no network mn" bash -c "! dk 1 network inspect mn >/dev/null 2>&1"
	expect_ok "$p: weft holds nothing of it, here or in the store" agrees "$base"
	expect_ok "$p: the same network can be created, and removed" bash -c \
		"dk 1 network create ${W[*]} $* mn >/dev/null && dk 1 network rm mn >/dev/null"
	expect_ok "$p: k1 still reaches k2" survivors
}
net_crash net_create.slice --subnet 10.244.0.0/16 -o mode=routed
net_crash net_create.shim --subnet 10.61.0.0/24 -o mode=macvlan -o parent=eth0 -o host_shim=true
expect_ok "an overlay network for the container crash" dk 1 network create "${W[@]}" --subnet 10.90.0.0/24 -o mode=overlay ov
withnet=$(lab_weft_cluster_state 1)
p=ep_create.mac
crash "$p"
expect_fail_msg "$p: docker run fails" "." dk 1 run --rm --network ov --ip 10.90.0.50 $IMG true
expect_ok "$p: weftd died there" died
restart
expect_ok "$p: weft holds nothing of the container, here or in the store" agrees "$withnet"
expect_ok "$p: the same container runs, with the same --ip" dk 1 run --rm --network ov --ip 10.90.0.50 $IMG true
expect_ok "$p: k1 still reaches k2" survivors


# the kernel steps of docker run, rm and network rm on a network of each mode
expect_ok "a routed and a macvlan network for the container crashes" bash -c \
	"dk 1 network create ${W[*]} --subnet 10.245.0.0/16 -o mode=routed rt >/dev/null &&
	dk 1 network create ${W[*]} --subnet 10.62.0.0/24 -o mode=macvlan -o parent=eth0 mv >/dev/null"
withnets=$(lab_weft_cluster_state 1)
for net in ov:10.90.0.51 rt:10.245.0.51 mv:10.62.0.51; do
	ip=${net#*:} net=${net%:*}
	p=join.kernel
	crash "$p"
	expect_fail_msg "$p ($net): docker run fails" "." dk 1 run --rm --network "$net" --ip "$ip" $IMG true
	expect_ok "$p ($net): weftd died there" died
	restart
	expect_ok "$p ($net): weft holds nothing of the container, here or in the store" agrees "$withnets"
	p=ep_delete.kernel
	expect_ok "$p ($net): the same container runs, with the same --ip" \
		dk 1 run -d --name victim --network "$net" --ip "$ip" $IMG sleep 3600
	crash "$p"
	dk 1 rm -f victim >/dev/null 2>&1
	expect_ok "$p ($net): docker rm -f removed the container" bash -c "! dk 1 inspect victim >/dev/null 2>&1"
	expect_ok "$p ($net): weftd died there" died
	restart
	expect_ok "$p ($net): weft holds nothing of the container, here or in the store" agrees "$withnets"
	expect_ok "$p ($net): its --ip can be used again" dk 1 run --rm --network "$net" --ip "$ip" $IMG true
	expect_ok "$p ($net): k1 still reaches k2" survivors
done
expect_ok "network rm mv" dk 1 network rm mv
net_rm_crash net_delete.kernel rt "$withnet" # the routed network's slice is free too

expect_ok "remove everything" bash -c "dk 1 rm -f k1 k2 >/dev/null && dk 1 network rm ov keep >/dev/null"
expect_ok "no weft device, address, rule, record or key is left" agrees ""
# what weftd found and mended after the crashes, for the reader of the log
grep -h 'reconcile:\|WEFT_CRASH_AT' "$LABDIR/h1/weftd.log" | sed 's/^<[0-9]>/# /'
lab_summary
