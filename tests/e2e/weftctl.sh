#!/bin/bash
# weftctl.sh - weftctl against running weftds on two lab hosts sharing a cluster store
# (LAB_STORE=etcd, default, or consul): h1's weftd takes its settings from a configuration
# file, h2's from flags. Every command (status, networks, endpoints, peers, ipam, gc, metrics)
# is checked in its table and in its --json form (parsed here), against what Docker and the
# cluster store say; the exit codes: 0 done, 1 refused or unhealthy (the store stopped, a gc
# of a live host), 2 bad usage, 3 no weftd; a dead host's addresses reclaimed by gc --host.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

KIND=${LAB_STORE:-etcd}
TTL=10
lab_require
command -v python3 >/dev/null || lab_skip "python3 not installed (the test parses --json with it)"
lab_init "weftctl-$KIND"
lab_outside
lab_store "$KIND"
for h in 1 2; do
	lab_host $h
	lab_image $h
done
conf=$LABDIR/h1/weftd.conf
cat >"$conf" <<EOF
# h1's weftd: its host ID, address (by interface), lease and grace from here; the store
# given here (a wrong port) is overridden by --store on the command line: flags win
host-id = h1
advertise = eth0
store = etcd://192.0.2.254:1   # a comment after a value
lease-ttl = $TTL

  gc-grace=900
reconcile-interval = 5
EOF
# --advertise(6) naming what cannot be: refused before anything is made
# refused ARGS...: weftd on h1 with ARGS, which must stop it at start
refused() {
	lab_exec 1 "$WEFTD" --state-dir "$LABDIR/h1/refused" --socket "$LABDIR/h1/refused.sock" \
		--control-socket none --store "$LAB_STORE_URL" "$@"
}
lab_exec 1 ip link add wtest0 type veth peer name wtest1
expect_fail_msg "--advertise naming an interface without an IPv4 or a global IPv6 address: refused at start" \
	"^<3>--advertise 'wtest0': the interface has no IPv4 address and no global IPv6 address$" refused --advertise wtest0
expect_fail_msg "--advertise6 naming an interface without a global IPv6 address: refused at start" \
	"^<3>--advertise6 'wtest0': the interface has no global IPv6 address$" refused --advertise6 wtest0
expect_fail_msg "--advertise6 with a link-local address: refused at start" \
	"^<3>--advertise6 'fe80::1': expected a global IPv6 address \(other hosts route to it\)$" \
	refused --advertise6 fe80::1
expect_fail_msg "--advertise6 with neither an address nor an interface: refused at start" \
	"^<3>--advertise6 'nosuch0': expected an IPv6 address or an interface of this host$" refused --advertise6 nosuch0
expect_ok "... they made nothing (no state dir, no socket)" \
	bash -c "[ ! -e '$LABDIR/h1/refused' ] && [ ! -e '$LABDIR/h1/refused.sock' ]"
lab_exec 1 ip link del wtest0
lab_start_weftd 1 --config "$conf" --store "$LAB_STORE_URL"
lab_start_weftd 2 --host-id h2 --store "$LAB_STORE_URL" --lease-ttl $TTL --reconcile-interval 5
IMG=weft-test:local
W=(-d weft --ipam-driver weft)

# pyj EXPR: evaluates the Python expression EXPR with j = the JSON on stdin; fails if it is false
pyj() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
r = eval("(" + sys.argv[1] + ")")
if not r:
    print(json.dumps(j, indent=1))
sys.exit(0 if r else 1)' "$1"
}
export -f pyj
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
net_id() { dk "$1" network inspect -f '{{.Id}}' "$2"; }
ep_id() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").EndpointID}}" "$2"; }
# rc WANT CMD...: CMD exits with status WANT
rc() {
	local want=$1 got=0
	shift
	"$@" >/dev/null 2>&1 || got=$?
	[ "$got" = "$want" ] || { echo "exit $got, expected $want"; return 1; }
}

# ---------------------------------------------------------------- status, before anything
expect_ok "status: exit 0 with a healthy cluster store and lease" rc 0 wctl 1 status
expect_ok "... the host ID and lease come from h1's configuration file, the store from the flag" bash -c \
	"wctl 1 status | grep -q \"host 'h1'\" && wctl 1 status | grep -Eq '^store +$LAB_STORE_URL \(cluster\): ok' &&
	 wctl 1 status | grep -Eq '^lease +registered, id [^ ]+, ttl $TTL s'"
expect_ok "status --json: host, store state, lease, no networks yet" bash -c \
	"wctl 1 --json status | pyj 'j[\"host\"] == \"h1\" and j[\"store\"][\"state\"] == \"ok\" and j[\"store\"][\"cluster\"]
	 and j[\"lease\"][\"registered\"] and j[\"lease\"][\"ttl_s\"] == $TTL and j[\"counts\"] == {\"networks\": 0, \"endpoints\": 0, \"peers\": 1}'"
expect_ok "the control socket is root's alone (0600)" bash -c "[ \"\$(stat -c %a '$LABDIR/h1/control.sock')\" = 600 ]"

# ---------------------------------------------------------------- networks and containers
expect_ok "networks: bridge on h1, overlay and routed on both hosts" bash -c "
	dk 1 network create ${W[*]} --subnet 10.110.0.0/24 br >/dev/null &&
	for h in 1 2; do
		dk \$h network create ${W[*]} --subnet 10.111.0.0/24 -o mode=overlay ov >/dev/null &&
		dk \$h network create ${W[*]} --subnet 10.112.0.0/16 -o mode=routed rt >/dev/null || exit 1
	done"
expect_ok "containers: b1 (-p 8080:80) on br; o1, o2 on ov; r1, r2 on rt" bash -c "
	dk 1 run -d --name b1 --network br -p 8080:80 $IMG sleep 600 >/dev/null &&
	dk 1 run -d --name o1 --network ov $IMG sleep 600 >/dev/null &&
	dk 2 run -d --name o2 --network ov $IMG sleep 600 >/dev/null &&
	dk 1 run -d --name r1 --network rt $IMG sleep 600 >/dev/null &&
	dk 2 run -d --name r2 --network rt $IMG sleep 600 >/dev/null"
o2ip=$(ip_of 2 o2 ov)
r2ip=$(ip_of 2 r2 rt)
expect_ok "o1 reaches o2 across hosts" dk 1 exec o1 ping -c2 -W2 "$o2ip"
expect_ok "r1 reaches r2 across hosts" dk 1 exec r1 ping -c2 -W2 "$r2ip"

brid=$(net_id 1 br)
ovid=$(net_id 1 ov)
rtid=$(net_id 1 rt)
expect_ok "networks: a row per network with its mode and subnet" bash -c "
	t=\$(wctl 1 networks) &&
	printf '%s\n' \"\$t\" | grep -Eq '^NETWORK +MODE +SUBNET +GATEWAY +BRIDGE +ENDPOINTS +DETAILS$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^${brid:0:12} +bridge +10.110.0.0/24 +10.110.0.1/24 +weft-b${brid:0:8} +1$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^${ovid:0:12} +overlay +10.111.0.0/24 +10.111.0.1/24 +weft-o[0-9]+ +1 +vni=[0-9]+ gateway=weft$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^${rtid:0:12} +routed +10.112.0.0/16 +10.112.[0-9]+.1/24 .* slice=10.112.[0-9]+.0/24 backend=vxlan$' ||
	{ printf '%s\n' \"\$t\"; exit 1; }"
expect_ok "networks --json: Docker's three network IDs, modes and endpoint counts" bash -c "
	wctl 1 --json networks | pyj 'sorted((n[\"id\"], n[\"mode\"], n[\"endpoints\"]) for n in j) ==
	 sorted([(\"$brid\", \"bridge\", 1), (\"$ovid\", \"overlay\", 1), (\"$rtid\", \"routed\", 1)])'"

b1ep=$(ep_id 1 b1 br)
b1ip=$(ip_of 1 b1 br)
o1ip=$(ip_of 1 o1 ov)
expect_ok "endpoints --json: Docker's endpoint IDs and addresses, b1's published port" bash -c "
	wctl 1 --json endpoints | pyj 'len(j) == 3 and [(e[\"network\"], e[\"address\"], e[\"joined\"], e[\"ports\"]) for e in j if e[\"id\"] == \"$b1ep\"]
	 == [(\"$brid\", \"$b1ip/24\", True, [{\"host\": \"0.0.0.0:8080/tcp\", \"container\": 80}])]
	 and \"$o1ip/24\" in [e[\"address\"] for e in j]'"
expect_ok "endpoints: b1's row with its address, veth and port" bash -c \
	"wctl 1 endpoints | grep -Eq '^${b1ep:0:12} +${brid:0:12} +$b1ip/24 +02:42:[0-9a-f:]+ +wv${b1ep:0:10} +yes +0.0.0.0:8080/tcp->80$'"

peers_ok() { wctl 1 --json peers | pyj 'j == [{"host": "h2", "address": "192.0.2.2", "address6": "2001:db8:2::2",
	"state": "alive", "gone_s": 0, "hold_s": '$TTL', "endpoints": 1, "slices": 1}]' >/dev/null; }
lab_wait_for peers_ok 10
expect_ok "peers --json: h2 alive at 192.0.2.2 (and 2001:db8:2::2, its eth0's IPv6) with its overlay endpoint and routed slice" \
	peers_ok
expect_ok "peers on h2: h1 at 192.0.2.1 and 2001:db8:2::1, the addresses of its eth0 (advertise = eth0 in its file)" bash -c \
	"wctl 2 --json peers | pyj '[(p[\"host\"], p[\"address\"], p[\"address6\"]) for p in j] == [(\"h1\", \"192.0.2.1\", \"2001:db8:2::1\")]'"
expect_ok "peers: h2's row" bash -c "wctl 1 peers | grep -Eq '^h2 +192.0.2.2,2001:db8:2::2 +alive +1 +1$'"

# the routed pool: Docker 28 takes no gateway address of it (GwAllocCheck), older engines one
rt_used="1 +65533"
lab_api_at_least 1 1.48 && rt_used="0 +65534"
expect_ok "ipam: a row per pool (cluster pools, h1's slice)" bash -c "
	t=\$(wctl 1 ipam) &&
	printf '%s\n' \"\$t\" | grep -Eq '^10.110.0.0/24 +cluster +2 +252 +h1$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^10.111.0.0/24 +cluster +3 +251 +(h1,h2|h2,h1)$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^10.112.0.0/16 +cluster +$rt_used +(h1,h2|h2,h1)$' &&
	printf '%s\n' \"\$t\" | grep -Eq '^10.112.[0-9]+.0/24 +host-slice +2 +252 +h1$' ||
	{ printf '%s\n' \"\$t\"; exit 1; }"
expect_ok "ipam 10.111.0.0/24 --json: the gateway, o1 held by h1 and o2 by h2 with their MACs" bash -c "
	wctl 1 --json ipam 10.111.0.0/24 | pyj 'len(j) == 1 and j[0][\"used\"] == 3 and j[0][\"free\"] == 251 and
	 sorted((a[\"address\"], a[\"host\"], a[\"owner\"]) for a in j[0][\"addresses\"]) ==
	 sorted([(\"10.111.0.1\", \"h1\", \"gateway\"), (\"$o1ip\", \"h1\", \"endpoint\"), (\"$o2ip\", \"h2\", \"endpoint\")]) and
	 all(a[\"mac\"].startswith(\"02:42:\") for a in j[0][\"addresses\"] if a[\"owner\"] == \"endpoint\")'"
expect_ok "ipam 10.112.0.0/16 --json: both hosts' slices" bash -c "
	wctl 1 --json ipam 10.112.0.0/16 | pyj 'sorted(s[\"host\"] for p in j if p[\"store\"] == \"cluster\" for s in p[\"slices\"]) == [\"h1\", \"h2\"]'"
expect_ok "ipam CIDR: each address with its owner" bash -c \
	"wctl 1 ipam 10.110.0.0/24 | grep -Eq '^ +10.110.0.1 +gateway +h1$' && wctl 1 ipam 10.110.0.0/24 | grep -Eq '^ +$b1ip +endpoint +h1$'"
expect_fail_msg "ipam with a bad CIDR: bad usage, and why" \
	"^weftctl ipam: '10.110.0.0/33' is not a valid CIDR" wctl 1 ipam 10.110.0.0/33
expect_ok "... exit status 2" rc 2 wctl 1 ipam 10.110.0.0/33
expect_ok "ipam with two CIDRs: bad usage, exit 2" rc 2 wctl 1 ipam 10.110.0.0/24 10.111.0.0/24

# ---------------------------------------------------------------- metrics
expect_ok "metrics: every line a comment or a sample" bash -c \
	"wctl 1 metrics | python3 -c 'import re, sys
lines = sys.stdin.read().splitlines()
bad = [l for l in lines if not re.fullmatch(r\"# (HELP|TYPE) \\w+ .+|\\w+(\\{[^}]*\\})? [0-9.e+-]+\", l)]
print(bad[:3]); sys.exit(1 if bad or len(lines) < 50 else 0)'"
# fdb and neigh: o2 on the overlay, h2's VTEP on the routed network's VXLAN device
expect_ok "metrics: Docker's requests counted (Join), per-mode networks, fdb entries, devices" bash -c "
	m=\$(wctl 1 metrics) &&
	printf '%s\n' \"\$m\" | grep -Eq '^weft_requests_total\{path=\"/NetworkDriver.Join\",result=\"ok\"\} [3-9]' &&
	printf '%s\n' \"\$m\" | grep -Eq '^weft_request_duration_seconds_count\{path=\"/NetworkDriver.Join\"\} [3-9]' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_networks{mode=\"overlay\"} 1' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_endpoints{state=\"joined\"} 3' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_published_ports 1' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_peers{state=\"alive\"} 1' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_kernel_entries{kind=\"fdb\"} 2' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_kernel_entries{kind=\"neigh\"} 2' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_kernel_entries{kind=\"route\"} 1' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_kernel_links{kind=\"veth\"} 3' &&
	printf '%s\n' \"\$m\" | grep -Eq '^weft_store_calls_total\{backend=\"${KIND}\",op=\"txn\",result=\"ok\"\} [1-9]' &&
	printf '%s\n' \"\$m\" | grep -qx 'weft_lease_registered 1' || { printf '%s\n' \"\$m\" | grep -v '^#\\|_bucket'; exit 1; }"
call=$(lab_options_call 1)
expect_ok "metrics: a refused request is counted as an error (of $call)" bash -c "
	before=\$(wctl 1 metrics | sed -n 's/^weft_requests_total{path=\"\/NetworkDriver.$call\",result=\"error\"} //p')
	dk 1 network create ${W[*]} --subnet 10.113.0.0/24 -o mode=nope bad >/dev/null 2>&1 && exit 1
	after=\$(wctl 1 metrics | sed -n 's/^weft_requests_total{path=\"\/NetworkDriver.$call\",result=\"error\"} //p')
	[ \$((\${before:-0} + 1)) = \"\$after\" ]"

# ---------------------------------------------------------------- gc
expect_ok "gc: nothing to reclaim while every host lives" bash -c \
	"wctl 1 gc | grep -qx 'nothing to reclaim: every host holding addresses has a record'"
expect_ok "gc --json: the same, with the grace" bash -c \
	"wctl 1 --json gc | pyj 'j == {\"cluster\": True, \"grace_s\": 900, \"reclaimed\": [], \"pending\": []}'"
expect_fail_msg "gc --host of a live host is refused" "weftctl: host 'h2' is alive \(it has a record in the cluster store\)" \
	wctl 1 gc --host h2
expect_ok "... exit 1" rc 1 wctl 1 gc --host h2
expect_fail_msg "gc --host of this host is refused" "host 'h1' is alive .*: it is this host" wctl 1 gc --host h1
expect_fail_msg "gc --host of an unknown host is refused" "host 'nobody' holds no address or slice in the cluster store" \
	wctl 1 gc --host nobody
expect_ok "gc with a stray argument: bad usage, exit 2" rc 2 wctl 1 gc h2
expect_fail_msg "gc --host with an empty ID: bad usage" "^weftctl gc: '--host' needs a value" wctl 1 gc --host ''
expect_ok "... exit 2" rc 2 wctl 1 gc --host=
expect_fail_msg "gc --host twice: bad usage" "^weftctl gc: '--host' is given twice" wctl 1 gc --host h2 --host=h3

# h2 dies: its weftd killed (the lease runs out), its dockerd stopped
lab_stop_weftd 2 KILL
lab_stop_dockerd 2 KILL
expect_fail_msg "a weftd that is not running: exit 3, and what to check" \
	"weftctl: cannot connect to $LABDIR/h2/control.sock: (Connection refused|No such file or directory) \(is weftd running" \
	wctl 2 status
expect_ok "... exit 3" rc 3 wctl 2 status
h2_pending() { wctl 1 --json gc | pyj '[p["host"] for p in j["pending"]] == ["h2"]' >/dev/null; }
lab_wait_for h2_pending $((TTL * 3))
expect_ok "gc --json after h2's lease ran out: h2 pending, reclaimed after the grace" bash -c \
	"wctl 1 --json gc | pyj '[(p[\"host\"], 0 <= p[\"dead_s\"] <= p[\"reclaim_in_s\"] + p[\"dead_s\"] == 900) for p in j[\"pending\"]] == [(\"h2\", True)]'"
expect_ok "gc: h2's pending line" bash -c \
	"wctl 1 gc | grep -Eq \"^host 'h2': no record for [0-9]+ s; its addresses are reclaimed in [0-9]+ s \\(--gc-grace 900 s\\)\$\""
expect_ok "gc --host h2: reclaims its address (o2's; r2's is in h2's slice) and its slice now" bash -c \
	"o=\$(wctl 1 gc --host h2) && printf '%s\n' \"\$o\" && printf '%s\n' \"\$o\" | grep -Eq \"^reclaimed 1 address and 1 slice of host 'h2' \\(no record for [0-9]+ s\\)\$\""
kv_lacks() { [ -z "$(lab_store_value "$1")" ]; }
expect_ok "... o2's address is gone from the cluster store" kv_lacks "weft/v1/pools/10.111.0.0-24/addr/$o2ip"
expect_ok "... and h2's routed slice" bash -c \
	"wctl 1 --json ipam 10.112.0.0/16 | pyj '[s[\"host\"] for p in j if p[\"store\"] == \"cluster\" for s in p[\"slices\"]] == [\"h1\"]'"
expect_ok "... weftd logged it, naming weftctl" grep -q "reclaimed 1 address and 1 slice of host 'h2' .*asked for by weftctl gc" \
	"$LABDIR/h1/weftd.log"
expect_ok "gc: nothing left to reclaim" bash -c "wctl 1 gc | grep -q '^nothing to reclaim'"

# ---------------------------------------------------------------- the store stopped
lab_store_down
expect_ok "status with the store stopped: exit 1" rc 1 wctl 1 status
expect_ok "... it says the store is not answering, within the probe's 2 s (and weftctl's own time)" bash -c "
	t0=\$(date +%s%N); wctl 1 status >/tmp/\$\$.st; t1=\$(date +%s%N)
	grep -Eq '^store +$LAB_STORE_URL \(cluster\): (unreachable|slow): ' /tmp/\$\$.st; r=\$?; cat /tmp/\$\$.st; rm -f /tmp/\$\$.st
	[ \$r = 0 ] && [ \$(( (t1 - t0) / 1000000 )) -lt 8000 ]"
expect_ok "status --json: the same exit status and state" bash -c "
	wctl 1 --json status >/tmp/\$\$.js; r=\$?; pyj 'j[\"store\"][\"state\"] in (\"unreachable\", \"slow\") and j[\"store\"][\"error\"]' </tmp/\$\$.js; p=\$?
	rm -f /tmp/\$\$.js; [ \$r = 1 ] && [ \$p = 0 ]"
expect_ok "networks still answer (weft's own records)" bash -c "wctl 1 --json networks | pyj 'len(j) == 3'"
lab_store_up
healthy() { rc 0 wctl 1 status >/dev/null; }
lab_wait_for healthy $((TTL * 2))
expect_ok "status is healthy again once the store is back" healthy

# ---------------------------------------------------------------- a slow store (the emulator)
# Every store call takes 4 s: a gc's round (keepalive, then its listings) takes longer than the
# 5 s weftd waits for it. It waits without holding the loop: Docker's calls are answered
# meanwhile, a second gc is refused, and the first says why it gave up.
if [ "$KIND" = consul ]; then
	emu_fault() { lab_store_exec curl -s -m 3 -X "$1" "http://192.0.2.254:8500/_emu/fault$2" >/dev/null; }
	# within 4 s: a reconcile round may hold the loop for its 3 s budget; a gc that held it would take 5
	weft_answers() {
		lab_exec 1 curl -s -m 4 --unix-socket /run/docker/plugins/weft.sock -X POST -d '{}' \
			http://weft/NetworkDriver.GetCapabilities | grep -q '"Scope":"local"'
	}
	emu_fault PUT "?mode=slow&delay_ms=4000&path=/v1/"
	wctl 1 gc >"$LABDIR/gc1.out" 2>&1 &
	gc1=$!
	sleep 1
	expect_ok "while a gc waits for a slow store, weftd answers Docker (GetCapabilities)" weft_answers
	expect_fail_msg "... a second gc meanwhile is refused" "weftctl: another weftctl gc is waiting for its answer" \
		wctl 1 gc
	wait "$gc1"
	gc1_rc=$?
	expect_ok "the first gc fails after 5 s, saying why" bash -c "[ $gc1_rc = 1 ] &&
		grep -q '^weftctl: garbage collection takes longer than 5 s (is the cluster store slow?): it goes on' '$LABDIR/gc1.out'"
	expect_ok "status says the store is slow: exit 1" bash -c \
		"wctl 1 status | grep -Eq '^store +$LAB_STORE_URL \(cluster\): slow: '; [ \"\${PIPESTATUS[0]}\" = 1 ]"
	emu_fault DELETE ""
	# 1.2 s a call: it still answers, within the 2 s a call gets, but near its end
	emu_fault PUT "?mode=slow&delay_ms=1200&path=/v1/kv/"
	expect_ok "a store that answers in 1.2 s: status says slow, how slow, exit 1" bash -c \
		"wctl 1 status | grep -Eq '^store +$LAB_STORE_URL \(cluster\): slow: it answered in 1[0-9]{3} ms \(a call gets 2000 ms\)'; [ \"\${PIPESTATUS[0]}\" = 1 ]"
	emu_fault DELETE ""
	gc_again() { wctl 1 gc >/dev/null 2>&1; }
	expect_ok "once the store is fast again, gc answers (its round ended)" lab_wait_for gc_again 30
fi

# ---------------------------------------------------------------- bad requests on the socket
# req METHOD PATH [BODY]: "STATUS BODY" of a request on h1's control socket
req() {
	curl -s --unix-socket "$LABDIR/h1/control.sock" -X "$1" -w ' %{http_code}' ${3+--data-binary "$3"} "http://weftd$2"
}
export -f req
before=$(lab_weft_cluster_state 1)
expect_ok "an unknown path: 404 and a message" bash -c "[ \"\$(req GET /v1/nope)\" = '{\"Err\":\"no such path\"} 404' ]"
expect_ok "a wrong method: 405" bash -c "[ \"\$(req POST /v1/status)\" = '{\"Err\":\"wrong method for this path\"} 405' ]"
expect_ok "gc with a body that is not JSON: 400" bash -c \
	"[ \"\$(req POST /v1/gc 'not json')\" = '{\"Err\":\"request body is not a JSON object with a string '\\''host'\\''\"} 400' ]"
expect_ok "gc with a host that is not a string: 400" bash -c "req POST /v1/gc '{\"host\": 5}' | grep -q ' 400\$'"
expect_ok "gc with a JSON list: 400" bash -c "req POST /v1/gc '[]' | grep -q ' 400\$'"
expect_ok "ipam with a query that is not a CIDR: 400 naming it" bash -c \
	"req GET '/v1/ipam?cidr=10.1.2.3%2F99' | grep -q '{\"Err\":\"ipam: .*10.1.2.3/99.* 400\$'"
expect_ok "a body over 1 MiB: 413" bash -c \
	"head -c 2097152 /dev/zero | tr '\\0' x >/tmp/\$\$.big; r=\$(req POST /v1/gc @/tmp/\$\$.big); rm -f /tmp/\$\$.big; [ \"\$r\" = '{\"Err\":\"request body too large\"} 413' ]"
unchanged() { wctl 1 --json networks >/dev/null && [ "$(lab_weft_cluster_state 1)" = "$before" ]; }
expect_ok "... weftd still answers, and nothing of weft's changed" unchanged

# ---------------------------------------------------------------- usage
expect_ok "weftctl --help lists every command and exit status" bash -c "
	h=\$('$WEFTCTL' --help) && for c in status networks endpoints peers ipam gc metrics; do
		printf '%s\n' \"\$h\" | grep -Eq \"^  \$c\" || exit 1; done && printf '%s\n' \"\$h\" | grep -q '3 weftd not reachable'"
expect_ok "weftctl gc --help: the command's own help, exit 0" bash -c "wctl 1 gc --help | grep -q '^Usage: weftctl .* gc \[--host ID\]'"
expect_ok "options after the command: status --json, gc --json --host=ID" bash -c "
	'$WEFTCTL' status --json --socket '$LABDIR/h1/control.sock' | pyj 'j[\"host\"] == \"h1\"' &&
	'$WEFTCTL' gc --host=nobody -j -s '$LABDIR/h1/control.sock' 2>&1 | grep -q \"host 'nobody' holds no address\""
expect_ok "an unknown command: exit 2" rc 2 wctl 1 nope
expect_ok "no command: exit 2" rc 2 "$WEFTCTL"

# ---------------------------------------------------------------- clean
expect_ok "h1: everything removed" bash -c \
	"dk 1 rm -f b1 o1 r1 >/dev/null && dk 1 network rm br ov rt >/dev/null"
expect_ok "... weftctl shows no network, endpoint or pool of h1 left" bash -c "
	wctl 1 --json networks | pyj 'j == []' && wctl 1 --json endpoints | pyj 'j == []' &&
	wctl 1 --json ipam | pyj 'all(\"h1\" not in p[\"hosts\"] for p in j)'"
lab_stop_weftd 1
expect_ok "weftd stopped cleanly and logged no crash or sanitizer report" \
	bash -c "grep -q '^<6>stopped' '$LABDIR/h1/weftd.log' && ! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$LABDIR/h1/weftd.log' ||
		{ tail -n 40 '$LABDIR/h1/weftd.log'; exit 1; }"
lab_summary
