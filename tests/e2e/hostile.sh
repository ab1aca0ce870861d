#!/bin/bash
# hostile.sh - a hostile or broken cluster store (the Consul emulator's hooks), one lab host.
# The list of every pool (weft/v1/pools/, which network create, the reconcile, the garbage
# collection and a watch read) is poisoned in turn by: a 64 MiB value under it (a reply past
# weft's 64 MiB cap, refused on its Content-Length before its body; check_contract covers a
# chunked one), an HTTP 500 whose text is not UTF-8 (Latin-1), a reply cut in the middle
# of its JSON body (Content-Length, and chunked as Consul sends long answers), and a whole
# reply whose Content-Length promises more. While each is there: weftd stays up and answers,
# docker run on a network made before works and its containers ping each other (a network's
# own addresses are another list), docker network create fails with a message that says what
# the store did, and each part of weftd that met it logs it once. After each: all works again.
# At the end nothing is left: no weft device, no key.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# the hooks are the Consul emulator's (real etcd cannot be made to answer like this)
[ "${LAB_STORE:-consul}" = consul ] || lab_skip "hostile.sh runs on the Consul emulator (LAB_STORE=consul)"
lab_require
lab_init hostile
lab_outside
lab_store consul
lab_host 1
lab_image 1
IMG=weft-test:local
LOG=$LABDIR/h1/weftd.log
W=(-d weft --ipam-driver weft)
STORE=$LAB_STORE_URL
POOLS=weft/v1/pools/
# the lease's keepalive and the garbage collection every 3 s, the reconcile every 2 s
lab_start_weftd 1 --host-id h1 --store "$STORE" --lease-ttl 10 --reconcile-interval 2
WEFTD_START=$(lab__starttime "$WEFTD_PID_1")

# emu METHOD HOOK: one of the emulator's test hooks (/_emu/...)
emu() { lab_store_exec curl -sf -m 10 -X "$1" "http://192.0.2.254:8500/_emu/$2" >/dev/null; }
# a fault on the list of every pool only (exact path: a pool's own lists are not hit); the
# blocked watch of that prefix is woken so that its next query meets it
poison() { emu PUT "fault?path=/v1/kv/$POOLS&exact=1&methods=GET&$1" && emu PUT wake; }
weft_up() { lab__alive "$WEFTD_PID_1" "$WEFTD_START"; }
weft_answers() {
	lab_exec 1 curl -s -m 5 --unix-socket /run/docker/plugins/weft.sock -X POST -d '{}' \
		http://weft/NetworkDriver.GetCapabilities | grep -q '"Scope":"local"'
}
no_pool_keys() { ! lab_store_keys "$POOLS"; }
# logged_since ERE: a line logged since line $from matches ERE
logged_since() { tail -n +$((from + 1)) "$LOG" | grep -Eq -- "$1"; }
# since ERE N: exactly N lines logged since line $from match ERE (else they are shown)
since() {
	local n
	n=$(tail -n +$((from + 1)) "$LOG" | grep -Ec -- "$1")
	[ "$n" -eq "$2" ] && return 0
	echo "$n lines match /$1/ (want $2):"
	tail -n +$((from + 1)) "$LOG" | grep -E -- "$1"
	return 1
}
# back: each reader that said it failed since line $from has said that it works again
back() {
	logged_since "^<6>watch of '$POOLS': the store answers again" &&
		logged_since '^<6>reconcile: works again' && logged_since '^<6>garbage collection: works again'
}
# hits: how many requests the emulator's fault has met
hits() { lab_store_exec curl -s -m 10 http://192.0.2.254:8500/_emu/fault | sed -n 's/.*"hits":\([0-9]*\).*/\1/p'; }
# store_ok: weftctl status finds the store well (it reads this host's record, not the pools)
store_ok() { wctl 1 status | grep -Eq "^store +$STORE \(cluster\): ok"; }
# failed_with RC OUT ERE: a command exited RC != 0 and its output OUT matches ERE
failed_with() { [ "$1" -ne 0 ] && printf '%s\n' "$2" | grep -Eq -- "$3"; }
# one_line OUT: OUT is one line of text: no control character (a store's ESC, CR, tab)
one_line() { ! printf '%s' "$1" | LC_ALL=C grep -q '[[:cntrl:]]'; }

expect_ok "create the bridge network sn (weft IPAM in the cluster store)" \
	dk 1 network create "${W[@]}" --subnet 10.250.0.0/24 sn
expect_ok "run c1 on it" dk 1 run -d --name c1 --network sn $IMG sleep 600
c1=$(dk 1 inspect -f '{{.NetworkSettings.Networks.sn.IPAddress}}' c1)
# what weft holds now (sn's bridge, c1's veth, rules, records, sn's pool and addresses in the
# store): after each poison, and all that was made and removed meanwhile, the same again
before=$(lab_weft_cluster_state 1)
as_before() { [ "$(lab_weft_cluster_state 1)" = "$before" ]; }

# poisoned KIND ERE N HEAL...: the store was just poisoned (since line $from) so that reading
# $POOLS fails with a message matching ERE; checks everything the header says (container cN),
# then heals it with HEAL... and checks that all works again
poisoned() {
	local kind=$1 ere=$2 n=$3 out rc=0 h
	shift 3
	# every reader meets it more than once: the reconcile (2 s), the GC (3 s), the watch (backoff)
	sleep 4
	expect_ok "$kind: weftd is up" weft_up
	expect_ok "$kind: ... and answers on its socket" weft_answers
	expect_ok "$kind: weftctl status: the store is ok (it answers all but the one list)" store_ok
	expect_ok "$kind: docker run on sn works" dk 1 run -d --name "c$n" --network sn $IMG sleep 600
	expect_ok "$kind: ... and c$n pings c1 ($c1)" dk 1 exec "c$n" ping -c2 -W2 "$c1"
	out=$(dk 1 network create "${W[@]}" --subnet 10.250.5.0/24 bad 2>&1) || rc=$?
	lab_log "$kind: docker network create says: $(printf '%s' "$out" | cat -v)"
	expect_ok "$kind: docker network create fails, saying what the store did" \
		failed_with "$rc" "$out" "cluster store $STORE.*$ere"
	expect_ok "$kind: ... in one line of text" one_line "$out"
	expect_ok "$kind: the refused create logged once" since "^<4>/IpamDriver.RequestPool: .*$ere" 1
	expect_ok "$kind: the watch of '$POOLS' logged it once" since "^<3>watch of '$POOLS': .*$ere" 1
	expect_ok "$kind: the reconcile logged it once" since "^<4>reconcile: .*$ere" 1
	expect_ok "$kind: the garbage collection logged it once" since "^<3>garbage collection: .*$ere" 1
	expect_ok "$kind: no other line says it" since "$ere" 4
	if [ "$kind" != huge ]; then
		h=$(hits)
		expect_ok "$kind: ... while the list was read $h times" test "${h:-0}" -ge 6
	fi
	expect_ok "$kind: heal it" "$@"
	expect_ok "$kind: healed, the watch, the reconcile and the GC say they work again" lab_wait_for back 10
	expect_ok "$kind: docker network create works again" \
		dk 1 network create "${W[@]}" --subnet 10.250.5.0/24 back
	expect_ok "$kind: ... and network rm" dk 1 network rm back
	expect_ok "$kind: docker rm c$n" dk 1 rm -f "c$n"
	lab_wait_for as_before 10
	expect_same "$kind: nothing left of it (devices, rules, records, keys)" "$before" "$(lab_weft_cluster_state 1)"
}

# ---------------------------------------------------------------- a 64 MiB value
HUGE=${POOLS}10.250.9.0-24/addr/10.250.9.9
from=$(wc -l <"$LOG")
expect_ok "a 64 MiB value under $POOLS" emu PUT "huge?key=$HUGE&size=67108864"
poisoned huge "reply to GET /v1/kv/$POOLS\?recurse[^ ]* larger than 64 MiB" 2 \
	lab_store_exec curl -sf -m 30 -X DELETE "http://192.0.2.254:8500/v1/kv/$HUGE"
lab_log "weftd's peak memory so far: $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$WEFTD_PID_1/status")"

# ---------------------------------------------------------------- an error that is not UTF-8
# "Datenbank gestört" in Latin-1 (0xF6), then a terminal escape (red) and a newline
from=$(wc -l <"$LOG")
expect_ok "HTTP 500 with a Latin-1 text for the list of $POOLS" \
	poison "mode=error&code=500&body=Datenbank%20gest%F6rt%1B%5B31m%0D%0A"
poisoned latin1 "HTTP 500 from GET /v1/kv/$POOLS\?recurse[^ ]*: Datenbank gest\?rt" 3 emu DELETE fault

# ---------------------------------------------------------------- cut replies
from=$(wc -l <"$LOG")
expect_ok "the list of $POOLS cut in the middle of its JSON body" poison "mode=truncate"
poisoned cut "reply to GET /v1/kv/$POOLS\?recurse[^ ]* cut short: transfer closed with [0-9]+ bytes remaining to read" \
	4 emu DELETE fault

from=$(wc -l <"$LOG")
expect_ok "the list of $POOLS chunked (as Consul sends long ones) and cut" poison "mode=truncate&chunked=1"
poisoned chunked "reply to GET /v1/kv/$POOLS\?recurse[^ ]* cut short: transfer closed with outstanding read data remaining" \
	5 emu DELETE fault

from=$(wc -l <"$LOG")
expect_ok "the list of $POOLS whole, but its Content-Length 100 bytes more" poison "mode=overlong&extra=100"
poisoned overlong "reply to GET /v1/kv/$POOLS\?recurse[^ ]* cut short: transfer closed with 100 bytes remaining to read" \
	6 emu DELETE fault

# ---------------------------------------------------------------- nothing left
expect_ok "weftd is still the one started first" weft_up
expect_ok "docker rm c1, network rm sn" bash -c "dk 1 rm -f c1 >/dev/null && dk 1 network rm sn >/dev/null"
expect_ok "no weft device left" lab_no_weft_devices 1
expect_ok "no key left under $POOLS" lab_wait_for no_pool_keys 10
expect_ok "every line of weftd's log has a journald priority" bash -c "! grep -qv '^<[0-7]>' '$LOG'"

lab_summary
