#!/bin/bash
# logging.sh - what weftd writes to its log (stderr, which journald reads), under a real dockerd
# with a cluster store (LAB_STORE=etcd, default, or consul): every line starts with a journald
# priority (<3> error, <4> warning, <6> info, <7> debug), one line per event; no debug lines
# without -d; each request Docker sends, and weft's reply, at debug with -d; a refused request is
# logged once, with the message Docker shows; a store outage is logged when it starts, once per
# kind of failure and not at each retry (however many), and once when it ends; a request that
# fails meanwhile once.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
lab_require
lab_init "logging-$KIND"
lab_outside
lab_store "$KIND"
lab_host 1
lab_image 1
LOG=$LABDIR/h1/weftd.log
IMG=weft-test:local
W=(-d weft --ipam-driver weft)
ARGS=(--host-id h1 --store "$LAB_STORE_URL" --lease-ttl "$TTL" --reconcile-interval 2)
UNREACH="cluster store $LAB_STORE_URL unreachable"

# nlines ERE: how many lines of the log match ERE
nlines() { grep -Ec -- "$1" "$LOG"; }
# once ERE: exactly one line of the log matches ERE
once() {
	local n
	n=$(nlines "$1")
	[ "$n" = 1 ] && return 0
	echo "$n lines match /$1/:"
	grep -E -- "$1" "$LOG"
	return 1
}
# every_line_prioritized: each line of the log starts with <0>..<7> and holds one message
every_line_prioritized() {
	local bad
	bad=$(grep -Evn '^<[0-7]>[^ ]' "$LOG")
	[ -z "$bad" ] && [ -s "$LOG" ] && return 0
	echo "lines without a priority:"
	printf '%s\n' "$bad"
	return 1
}
net_id() { dk 1 network inspect -f '{{.Id}}' "$1"; }
ep_id() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").EndpointID}}" "$1"; }
registered() { [ "$(nlines "^<6>registered host 'h1' \(192.0.2.1\) in $LAB_STORE_URL$")" = 1 ]; }
reconcile_back() { grep -q '^<6>reconcile: works again$' "$LOG"; }
lease_back() { grep -q '^<6>host lease: the cluster store answers again$' "$LOG"; }

# ---------------------------------------------------------------- without -d
lab_start_weftd 1 "${ARGS[@]}"
lab_wait_for registered 10
expect_ok "start: one info line saying what weftd serves, with which store" \
	once "^<6>weftd [0-9.]+ serving /run/docker/plugins/weft.sock \(host 'h1', store $LAB_STORE_URL\)$"
expect_ok "start: one info line for the host's registration" registered
# the engine, as its first look at Docker found it
engine=$(dk 1 version -f '{{.Server.Version}}' | sed 's/[.+]/\\&/g')
engine_seen() { [ "$(nlines "^<6>Docker Engine $engine \(API [0-9.]+\)$")" = 1 ]; }
lab_wait_for engine_seen 10
expect_ok "the reconcile's first look at Docker: one info line naming the engine" engine_seen

expect_ok "a network, a container with a published port, both removed" bash -c "
	dk 1 network create ${W[*]} --subnet 10.120.0.0/24 lg >/dev/null &&
	dk 1 run -d --name c1 --network lg -p 8080:80 $IMG sleep 600 >/dev/null"
nid=$(net_id lg)
eid=$(ep_id c1 lg)
dk 1 rm -f c1 >/dev/null
before=$(wc -l <"$LOG")
dk 1 network rm lg >/dev/null
expect_same "network rm: one line, none for its bridge's firewall rules" "<6>deleted network ${nid:0:12}" \
	"$(tail -n +$((before + 1)) "$LOG")"
expect_ok "network create: one info line" once "^<6>created bridge network ${nid:0:12} on 'weft-b${nid:0:8}'"
expect_ok "docker run -p: one info line per published port" \
	once "^<6>endpoint ${eid:0:12}: published 0.0.0.0:8080/tcp -> 10.120.0.[0-9]+:80$"
expect_ok "docker rm: one info line for the ports" once "^<6>endpoint ${eid:0:12}: unpublished its ports$"
expect_ok "network rm: one info line" once "^<6>deleted network ${nid:0:12}$"

msg="option 'mtu': 'abc' is not a number"
expect_fail_msg "a refused network create: Docker shows weft's message" "$msg" \
	dk 1 network create "${W[@]}" --subnet 10.121.0.0/24 -o mtu=abc bad
call=$(lab_options_call 1)
expect_ok "... logged once, as a warning, with the call it refused ($call)" \
	once "^<4>/NetworkDriver.$call: .*$msg"
expect_ok "... and on no other line" once "$msg"

expect_ok "no debug line without -d" bash -c "! grep -n '^<7>' '$LOG'"

# ---------------------------------------------------------------- a store outage
# Over the outage the lease's keepalive (every TTL/3 s), the watches (backoff from 0.1 s) and the
# reconcile (every 2 s) each fail again and again: each says so once, and once when it is over.
lines_before=$(wc -l <"$LOG")
lab_store_down
sleep $((TTL + 4))
expect_fail_msg "network create with the store down: Docker shows the store unreachable" "$UNREACH" \
	dk 1 network create "${W[@]}" --subnet 10.122.0.0/24 down
sleep 2
lab_store_up
expect_ok "the lease is kept alive again" lab_wait_for lease_back $((TTL * 2))
expect_ok "the reconcile works again" lab_wait_for reconcile_back 20
# every watch that failed is back: each tries again within 5 s (its longest backoff)
watches_back() {
	local p
	for p in $(tail -n +$((lines_before + 1)) "$LOG" | sed -n "s/^<3>watch of '\([^']*\)'.*/\1/p" | sort -u); do
		grep -q "^<6>watch of '$p': the store answers again" "$LOG" || return 1
	done
}
lab_wait_for watches_back 10
outage=$(tail -n +$((lines_before + 1)) "$LOG")
lab_log "what weftd logged over the outage:"
lab__diag "$outage"
# out_count ERE: lines logged since the outage began that match ERE
out_count() { printf '%s\n' "$outage" | grep -Ec -- "$1"; }
# out_cmp OP N ERE: their number compares to N by OP (==, <=, >=); else they are shown
out_cmp() {
	local n
	n=$(out_count "$3")
	(("n $1 $2")) && return 0
	echo "$n lines match /$3/ (want $1 $2):"
	printf '%s\n' "$outage" | grep -E -- "$3"
	return 1
}
expect_ok "the failed create: one warning line naming the store" \
	out_cmp == 1 "^<4>/IpamDriver.RequestPool: .*$UNREACH"
expect_ok "... and no other line about that request" out_cmp == 1 'RequestPool|CreateNetwork'
expect_ok "the lease: one error line while it fails (it was retried every $((TTL / 3)) s)" \
	out_cmp == 1 "^<3>.*\(retrying every $((TTL / 3)) s\)$"
# the reconcile and the watches say it once per kind of failure: a frozen store first costs a
# round its budget ("too slow"), then a call its timeout; a stopped one first closes connections
n=$(out_count '^<4>reconcile: .*nothing Docker removed meanwhile is freed until this works')
expect_ok "the reconcile: one or two warning lines while it fails (a round every 2 s): $n" \
	bash -c "[ $n -ge 1 ] && [ $n -le 2 ]"
expect_ok "... and one when it works again" out_cmp == 1 '^<6>reconcile: works again$'
for p in $(printf '%s\n' "$outage" | sed -n "s/^<3>watch of '\([^']*\)'.*/\1/p" | sort -u); do
	expect_ok "watch of '$p': one or two error lines over the outage" \
		out_cmp "<=" 2 "^<3>watch of '$p': "
	expect_ok "... and one line when the store answers again" \
		out_cmp == 1 "^<6>watch of '$p': the store answers again"
done
# a blocking query to a frozen store just waits (up to its 30 s): only a stopped one fails it
[ "$KIND" = consul ] ||
	expect_ok "the watches said the store was gone" out_cmp ">=" 1 "^<3>watch of '"

# ---------------------------------------------------------------- with -d, under a service manager
lab_stop_weftd 1
expect_ok "SIGTERM: one info line, 'stopped' the last" bash -c \
	"grep -q '^<6>received signal 15, stopping' '$LOG' && [ \"\$(tail -n 1 '$LOG')\" = '<6>stopped' ]"
expect_ok "every line so far has a journald priority" every_line_prioritized
mv "$LOG" "$LOG.1"
# systemd's side of Type=notify: a datagram socket in $NOTIFY_SOCKET; each message is written
# down with whether the plugin socket took a connection when it came
NOTES=$LABDIR/notify.out
lab__spawn notify 1 "$LABDIR/notify.log" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(300)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        m = s.recv(4096).decode()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(sys.argv[3])
            state = "listening"
        except OSError:
            state = "not listening"
        c.close()
        out.write(m + " " + state + "\n")
        if m == "STOPPING=1":
            break
' "$LABDIR/notify.sock" "$NOTES" "$LABDIR/h1/plugins/weft.sock" || lab_bail "cannot start the notify listener"
notify_sock() { [ -S "$LABDIR/notify.sock" ]; }
lab_wait_for notify_sock 5 || lab_bail "no notify socket"
LAB_WEFTD_WRAPPER="env NOTIFY_SOCKET=$LABDIR/notify.sock" lab_start_weftd 1 "${ARGS[@]}" -d
ready() { grep -q '^READY=1' "$NOTES" 2>/dev/null; }
lab_wait_for ready 5
expect_same "NOTIFY_SOCKET: READY=1 once, when the plugin socket already listens" "READY=1 listening" \
	"$(cat "$NOTES" 2>/dev/null)"
expect_ok "-d: each request of Docker's at debug, with its body" bash -c "
	dk 1 network create ${W[*]} --subnet 10.123.0.0/24 dbg >/dev/null &&
	grep -Eq '^<7>/IpamDriver.RequestPool \{.*\"Pool\":\"10.123.0.0/24\"' '$LOG' &&
	grep -Eq '^<7>/NetworkDriver.CreateNetwork \{.*\"NetworkID\":\"[0-9a-f]{64}\"' '$LOG'"
expect_ok "-d: and weft's reply" \
	grep -Eq '^<7>/IpamDriver.RequestPool -> \{"PoolID":"weft:10.123.0.0/24"' "$LOG"
expect_ok "-d: the event itself still one info line" once "^<6>created bridge network "
dk 1 network rm dbg >/dev/null
expect_ok "-d: every line has a journald priority (request bodies on one line)" every_line_prioritized
lab_stop_weftd 1
expect_ok "NOTIFY_SOCKET: STOPPING=1 on SIGTERM" grep -qx 'STOPPING=1 .*' "$NOTES"

expect_ok "nothing of weft's left" lab_no_weft_devices 1
lab_summary
