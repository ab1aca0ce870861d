#!/bin/bash
# store.sh - weftd with a cluster store, under a real dockerd: LAB_STORE=etcd (real etcd,
# default) or LAB_STORE=consul (the Consul emulator, with an ACL token). The host record is
# there while weftd runs and survives a clean restart (the lease is taken over), pools and
# addresses live in the store, a hung store gives Docker an error naming it while weftd keeps
# serving and running containers keep their traffic, the store coming back is noticed, a slow
# store (the emulator's) costs a request of Docker's 10 s at most and leaves nothing behind,
# and after kill -9 the host record goes when its lease expires.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
lab_require
lab_init "store-$KIND"
lab_outside
TOKEN=
if [ "$KIND" = consul ]; then
	TOKEN=weft-e2e-$$-token
	LAB_STORE_TOKEN=$TOKEN
	lab_store consul --acl-token "$TOKEN"
	printf '%s\n' "$TOKEN" >"$LABDIR/token"
	chmod 600 "$LABDIR/token"
else
	lab_store etcd
fi
lab_host 1
lab_image 1
IMG=weft-test:local
LOG=$LABDIR/h1/weftd.log
W=(-d weft --ipam-driver weft)
ARGS=(--host-id h1 --store "$LAB_STORE_URL" --lease-ttl "$TTL" --reconcile-interval 2)
# The emulator speaks plain HTTP: the token crosses the lab's network unencrypted (weftd(8)).
[ -n "$TOKEN" ] && ARGS+=(--store-token-file "$LABDIR/token" --store-allow-cleartext-credentials)

kv_has() { [ -n "$(lab_store_value "$1")" ]; }
kv_lacks() { [ -z "$(lab_store_value "$1")" ]; }
host_gone() { kv_lacks weft/v1/hosts/h1; }
host_record_ok() {
	local v
	v=$(lab_store_value weft/v1/hosts/h1)
	echo "$v"
	[[ $v == *'"addr":"192.0.2.1"'* && $v == *'"version":'* ]]
}
no_pools() { ! lab_store_keys weft/v1/pools/; }
logged() { grep -q -- "$1" "$LOG"; }
weft_answers() {
	lab_exec 1 curl -s -m 5 --unix-socket /run/docker/plugins/weft.sock -X POST -d '{}' \
		http://weft/NetworkDriver.GetCapabilities | grep -q '"Scope":"local"'
}
denied_logged() { logged "cluster store $LAB_STORE_URL: permission denied"; }
secrets_not_logged() { ! grep -q -e "$TOKEN" -e not-the-token "$LOG"; }
registered_twice() { [ "$(grep -c "registered host 'h1'" "$LOG")" -ge 2 ]; }

# ---------------------------------------------------------------- a bad token is refused, weftd serves
if [ "$KIND" = consul ]; then
	printf 'not-the-token\n' >"$LABDIR/badtoken"
	chmod 600 "$LABDIR/badtoken"
	lab_start_weftd 1 --host-id h1 --store "$LAB_STORE_URL" --store-token-file "$LABDIR/badtoken" \
		--store-allow-cleartext-credentials
	expect_ok "a wrong ACL token: weftd logs 'permission denied' and names the store" lab_wait_for denied_logged 5
	expect_ok "... and never logs a token" secrets_not_logged
	expect_fail_msg "... Docker's calls that need the store fail naming it" "cluster store $LAB_STORE_URL: permission denied" \
		dk 1 network create "${W[@]}" --subnet 10.250.1.0/24 nope
	lab_stop_weftd 1
fi

# ---------------------------------------------------------------- registration
lab_start_weftd 1 "${ARGS[@]}"
expect_ok "weftd registered weft/v1/hosts/h1 with its address and version" lab_wait_for host_record_ok 5
expect_ok "create a weft network with the cluster store" dk 1 network create "${W[@]}" --subnet 10.250.0.0/24 sn
expect_ok "its pool and gateway are keys in the store" kv_has weft/v1/pools/10.250.0.0-24/addr/10.250.0.1
expect_ok "run c1 on it" dk 1 run -d --name c1 --network sn $IMG sleep 600
c1=$(dk 1 inspect -f '{{.NetworkSettings.Networks.sn.IPAddress}}' c1)
expect_ok "c1's address $c1 is a key in the store" kv_has "weft/v1/pools/10.250.0.0-24/addr/$c1"
expect_ok "c1 pings its gateway" dk 1 exec c1 ping -c2 -W2 10.250.0.1

# ---------------------------------------------------------------- a hung store
kill -STOP "$STORE_PID"
expect_fail_msg "with the store hung, Docker's call fails naming the store" \
	"cluster store $LAB_STORE_URL unreachable" dk 1 network create "${W[@]}" --subnet 10.250.2.0/24 hung
expect_ok "... weftd still answers what needs no store (GetCapabilities on its socket)" weft_answers
expect_ok "... and c1 keeps its traffic" dk 1 exec c1 ping -c2 -W2 10.250.0.1
kill -CONT "$STORE_PID"
expect_ok "the store is back: a network can be created again" \
	dk 1 network create "${W[@]}" --subnet 10.250.2.0/24 back
expect_ok "... and nothing of the failed create was left in the store" kv_lacks weft/v1/pools/10.250.2.0-24/addr/10.250.2.2

# ---------------------------------------------------------------- a slow store
# The emulator answers every call after 4 s, under the 5 s timeout: a request of Docker's gives
# up once its store calls took 10 s in all, and says so; what the store applied after weft gave
# up (the address it was claiming) is freed by the reconcile once the store is fast again.
if [ "$KIND" = consul ]; then
	emu_fault() { lab_store_exec curl -s -m 3 -X "$1" -H "X-Consul-Token: $TOKEN" \
		"http://192.0.2.254:8500/_emu/fault$2" >/dev/null; }
	before=$(lab_weft_cluster_state 1)
	emu_fault PUT "?mode=slow&delay_ms=4000&path=/v1/"
	expect_fail_msg "with every store call taking 4 s, docker run fails: the store is too slow" \
		"cluster store $LAB_STORE_URL too slow: gave up after 10.0 s of calls for one request" \
		dk 1 run -d --name slow1 --network sn $IMG sleep 60
	expect_ok "... weftd answers what needs no store" weft_answers
	emu_fault DELETE ""
	dk 1 rm -f slow1 >/dev/null 2>&1
	as_before() { [ "$(lab_weft_cluster_state 1)" = "$before" ]; }
	expect_ok "the store is fast again: nothing of the failed run is left (devices, records, keys)" \
		lab_wait_for as_before 20
	expect_ok "... and c1 kept its traffic" dk 1 exec c1 ping -c2 -W2 10.250.0.1
fi

# ---------------------------------------------------------------- restart and kill -9
lab_stop_weftd 1
lab_start_weftd 1 "${ARGS[@]}"
expect_ok "after a clean restart the host record is still there" kv_has weft/v1/hosts/h1
expect_ok "... and weftd registered again" lab_wait_for registered_twice 5
expect_ok "docker rm c1 releases its address in the store" dk 1 rm -f c1
expect_ok "... gone: $c1" kv_lacks "weft/v1/pools/10.250.0.0-24/addr/$c1"
expect_ok "network rm releases the pools" dk 1 network rm sn back
expect_ok "... no pool key left" no_pools
lab_stop_weftd 1 KILL
expect_ok "after kill -9 the host record goes when the lease expires (<= 2 x ${TTL} s + 5 s)" \
	lab_wait_for host_gone $((2 * TTL + 5))

lab_summary
