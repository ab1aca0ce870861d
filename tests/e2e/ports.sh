#!/bin/bash
# ports.sh - bridge mode reaching the outside like Docker's bridge, through a real dockerd:
# every -p form answered from the outside namespace, from the host (also localhost) and from
# a container through the host's address (hairpin); -P; host_binding_ipv4; masquerade on and
# off; icc=false; isolation from Docker's own bridge networks both ways; port conflicts with a
# host program, another weft container and a Docker container; published ports surviving a
# weftd restart; the same on IPv6 for a dual-stack network; and no weft rule left in nft or
# iptables at the end.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
lab_init ports
lab_host 1
lab_outside
lab_image 1
lab_start_weftd 1 --host-id h1

H="$LAB-h1"
HOSTIP=192.0.2.1
DB=$DATADIR/h1/weft/weft.db
LOG=$LABDIR/h1/weftd.log
IMG=weft-test:local
W=(-d weft --ipam-driver weft)

in_c() { dk 1 exec "$1" "${@:2}"; }
ip_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
ep_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").EndpointID}}" "$1" | cut -c1-12; }
# web NAME NET [docker run options]: a container whose busybox httpd answers "hello NAME" on
# port 80 (and on every port given with WEB_PORTS="80 8000 ...").
web() {
	local name=$1 net=$2 p cmd
	cmd="mkdir -p /www && echo hello-$name >/www/index.html"
	shift 2
	for p in ${WEB_PORTS:-80}; do cmd="$cmd && httpd -p $p -h /www"; done
	dk 1 run -d --name "$name" --network "$net" "$@" $IMG sh -c "$cmd && exec sleep 600"
}
# get_from WHERE URL: fetch URL from the outside namespace, the host, or a container.
get_from() {
	case $1 in
	out) ip netns exec "$LAB-out" curl -sS -m 3 "$2" ;;
	host) ip netns exec "$H" curl -sS -m 3 "$2" ;;
	*) # busybox wget crashes (static glibc); speak HTTP/1.0 with nc and print the body's last line
		local hp=${2#http://}
		hp=${hp%%/*}
		dk 1 exec "$1" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 ${hp%:*} ${hp##*:} | tail -n 1" ;;
	esac
}
# get_is WHERE URL WANT: the answer is exactly WANT
get_is() {
	local out
	out=$(get_from "$1" "$2" 2>&1)
	echo "$out"
	[ "$out" = "$3" ]
}
# get_fails WHERE URL: nothing answers
get_fails() {
	local out
	if out=$(get_from "$1" "$2" 2>&1); then
		echo "answered: $out"
		return 1
	fi
}
answers() { expect_ok "$1" get_is "$2" "$3" "$4"; }
refused() { expect_ok "$1" get_fails "$2" "$3"; }
udp_is() { # PORT WANT: one datagram from the outside namespace
	local out
	out=$(ip netns exec "$LAB-out" timeout 5 bash -c "exec 3<>/dev/udp/$HOSTIP/$1; echo ping >&3; dd bs=64 count=1 status=none <&3")
	echo "$out"
	[ "$out" = "$2" ]
}
# port_held PORT: a host program cannot bind it (nc fails at once instead of listening)
port_held() { ! ip netns exec "$H" timeout 2 busybox nc -l -p "$1"; }
# port_free PORT: a host program can listen on it (nc is still listening when timeout kills it)
port_free() {
	ip netns exec "$H" timeout 1 busybox nc -l -p "$1"
	[ $? = 124 ]
}
# web_while_held PORT NAME NET [options]: run web while a host program holds PORT
web_while_held() {
	local pid rc
	ip netns exec "$H" busybox nc -l -p "$1" >/dev/null &
	pid=$!
	sleep 0.3
	web "${@:2}"
	rc=$?
	kill "$pid"
	wait "$pid" 2>/dev/null
	return $rc
}
# records_match_containers: one endpoint record per running container, none from the refusals
records_match_containers() {
	local recs ctrs
	recs=$(mdb_dump -n -p -s data "$DB" | grep -c 'weft/v1/local/eps/')
	ctrs=$(dk 1 ps -q | wc -l)
	echo "$recs endpoint records, $ctrs containers"
	[ "$recs" -le "$ctrs" ]
}
# shellcheck disable=SC2046
rm_all() { dk 1 rm -f $(dk 1 ps -aq) >/dev/null; }
# the hosts' own iptables (nft or legacy backend, LAB_IPTABLES) in their mount namespace
weft_iptables() { lab_exec 1 iptables-save | grep -e '--comment weft' -e '^:WEFT-FORWARD'; }
no_weft_iptables() { ! weft_iptables; }
# weft's accepts in its chain, jumped to first in DOCKER-USER and last in FORWARD
weft_chain() {
	lab_exec 1 iptables -S WEFT-FORWARD | grep -q -- '-i weft-b.* --comment weft -j ACCEPT' &&
		lab_exec 1 iptables -S DOCKER-USER | sed -n 2p | grep -q -- '--comment weft -j WEFT-FORWARD' &&
		lab_exec 1 iptables -S FORWARD | tail -n 1 | grep -q -- '--comment weft -j WEFT-FORWARD'
}
weft_rules() {
	ip netns exec "$H" nft list ruleset 2>/dev/null | grep -c 'weft'
	lab_exec 1 iptables-save 2>/dev/null | grep -c -- '--comment weft'
}

expect_ok "create weft network p1" dk 1 network create "${W[@]}" --subnet 10.241.0.0/24 p1
expect_ok "weft's accept rules are in WEFT-FORWARD, jumped to first in DOCKER-USER and last in FORWARD (iptables backend: $LAB_IPTABLES)" \
	weft_chain

# ---------------------------------------------------------------- -p HOST:CONTAINER
expect_ok "run w1 with -p 8080:80" web w1 p1 -p 8080:80
answers "outside -> host:8080 reaches w1" out "http://$HOSTIP:8080/" hello-w1
answers "host -> its own address:8080 reaches w1" host "http://$HOSTIP:8080/" hello-w1
answers "host -> localhost:8080 reaches w1" host "http://127.0.0.1:8080/" hello-w1
expect_ok "run c1 on p1 (a client)" dk 1 run -d --name c1 --network p1 $IMG sleep 600
answers "hairpin: c1 -> host:8080 reaches w1 on the same network" c1 "http://$HOSTIP:8080/" hello-w1
answers "hairpin: w1 -> host:8080 reaches itself" w1 "http://$HOSTIP:8080/" hello-w1
expect_ok "the host port is held: a host program cannot bind 8080" port_held 8080
expect_ok "the published port is recorded with its endpoint" \
	bash -c "mdb_dump -n -p -s data '$DB' | grep -q '\"host_port\":8080'"

# ---------------------------------------------------------------- -p IP:HOST:CONTAINER
expect_ok "run w2 with -p 127.0.0.1:8081:80" web w2 p1 -p 127.0.0.1:8081:80
answers "host -> localhost:8081 reaches w2" host "http://127.0.0.1:8081/" hello-w2
refused "outside -> host:8081 does not (bound to 127.0.0.1)" out "http://$HOSTIP:8081/"
expect_ok "run w3 with -p $HOSTIP:8083:80" web w3 p1 -p "$HOSTIP:8083:80"
answers "outside -> host:8083 reaches w3" out "http://$HOSTIP:8083/" hello-w3
refused "host -> localhost:8083 does not (bound to $HOSTIP)" host "http://127.0.0.1:8083/"
expect_fail_msg "-p on an address the host does not have is refused" \
	'cannot publish on 192.0.2.99:8084/tcp: 192.0.2.99 is not an address of this host' \
	dk 1 run --rm --network p1 -p 192.0.2.99:8084:80 $IMG true

# ---------------------------------------------------------------- udp
if dk 1 run --rm $IMG test -x /usr/bin/udp-echo; then
	expect_ok "run u1 with -p 8082:81/udp (udp-echo)" \
		dk 1 run -d --name u1 --network p1 -p 8082:81/udp $IMG udp-echo 81
	expect_ok "outside -> host:8082/udp answered by u1" udp_is 8082 "udp-ok ping"
else
	lab_log "no C compiler: udp-echo not in the image, udp not tested"
	fail "udp publishing tested (needs cc to build tests/e2e/udp-echo.c)"
fi

# ---------------------------------------------------------------- ranges and -P
WEB_PORTS="8000 8001 8002" expect_ok "run w4 with -p 8000-8002:8000-8002" web w4 p1 -p 8000-8002:8000-8002
for p in 8000 8001 8002; do
	answers "outside -> host:$p reaches w4:$p" out "http://$HOSTIP:$p/" hello-w4
done
expect_ok "run w5 with -p 8085-8087:80 while 8085 is held by a host program" \
	web_while_held 8085 w5 p1 -p 8085-8087:80
answers "a range takes its first free port: outside -> host:8086 reaches w5" out "http://$HOSTIP:8086/" hello-w5
expect_ok "run w6 with -P --expose 80" web w6 p1 -P --expose 80
ep=$(ep_of w6 p1)
port=$(sed -n "s/.*endpoint $ep: published 0.0.0.0:\([0-9]*\)\/tcp.*/\1/p" "$LOG" | tail -1)
expect_ok "-P: weftd logged the host port it chose ($port)" test -n "$port"
answers "outside -> host:$port (from -P) reaches w6" out "http://$HOSTIP:${port:-1}/" hello-w6

# ---------------------------------------------------------------- host_binding_ipv4
expect_ok "create p2 with -o host_binding_ipv4=127.0.0.1" \
	dk 1 network create "${W[@]}" --subnet 10.242.0.0/24 -o host_binding_ipv4=127.0.0.1 p2
expect_ok "run w7 on p2 with -p 8088:80" web w7 p2 -p 8088:80
answers "host -> localhost:8088 reaches w7" host "http://127.0.0.1:8088/" hello-w7
refused "outside -> host:8088 does not (p2 binds to 127.0.0.1)" out "http://$HOSTIP:8088/"
expect_fail_msg "host_binding_ipv4 must be IPv4" "option 'host_binding_ipv4': '::1' is not an IPv4 address" \
	dk 1 network create "${W[@]}" -o host_binding_ipv4=::1 bad

# ---------------------------------------------------------------- conflicts
before=$(weft_rules)
expect_fail_msg "a port held by another weft container is refused, naming it" \
	'port 0.0.0.0:8080/tcp is already in use' dk 1 run --rm --network p1 -p 8080:80 $IMG true
ip netns exec "$H" busybox nc -l -p 8090 >/dev/null &
ncpid=$!
sleep 0.3
expect_fail_msg "a port held by a host program is refused, naming it" \
	'port 0.0.0.0:8090/tcp is already in use' dk 1 run --rm --network p1 -p 8090:80 $IMG true
kill "$ncpid" 2>/dev/null
wait "$ncpid" 2>/dev/null
expect_ok "the refusals left no rule behind" bash -c "[ '$(weft_rules)' = '$before' ]"
expect_ok "... and no endpoint record" records_match_containers
expect_ok "create Docker's own bridge network dnet" dk 1 network create --subnet 10.243.0.0/24 dnet
expect_ok "run d1 on dnet with -p 8095:80 (docker-proxy holds it)" web d1 dnet -p 8095:80
expect_fail_msg "a port held by a Docker bridge container is refused" 'port 0.0.0.0:8095/tcp is already in use' \
	dk 1 run --rm --network p1 -p 8095:80 $IMG true
expect_fail_msg "Docker cannot take a port weft holds" '8080' dk 1 run --rm --network dnet -p 8080:80 $IMG true

# ---------------------------------------------------------------- isolation from Docker's bridges
d1=$(ip_of d1 dnet)
w1=$(ip_of w1 p1)
expect_fail_msg "c1 (weft) cannot reach d1 (Docker bridge) directly" '100% packet loss' \
	in_c c1 ping -c2 -W1 "$d1"
expect_fail_msg "d1 (Docker bridge) cannot reach w1 (weft) directly" '100% packet loss' \
	in_c d1 ping -c2 -W1 "$w1"
answers "d1 reaches w1's published port through the host" d1 "http://$HOSTIP:8080/" hello-w1
answers "c1 reaches d1's published port through the host" c1 "http://$HOSTIP:8095/" hello-d1
expect_ok "create dnet2 after weft's networks (weft hears of the new bridge)" \
	dk 1 network create --subnet 10.243.1.0/24 dnet2
expect_ok "run d2 on dnet2" dk 1 run -d --name d2 --network dnet2 $IMG sleep 600
expect_fail_msg "c1 (weft) cannot reach d2 on the newer Docker bridge" '100% packet loss' \
	in_c c1 ping -c2 -W1 "$(ip_of d2 dnet2)"
expect_fail_msg "d2 cannot reach w1" '100% packet loss' in_c d2 ping -c2 -W1 "$w1"

# ---------------------------------------------------------------- masquerade off, icc off
expect_ok "c1 reaches the outside (masquerade on by default)" in_c c1 ping -c2 -W2 192.0.2.254
expect_ok "create p3 with -o masquerade=false" \
	dk 1 network create "${W[@]}" --subnet 10.244.0.0/24 -o masquerade=false p3
expect_ok "run c3 on p3" dk 1 run -d --name c3 --network p3 $IMG sleep 600
expect_fail_msg "c3 does not reach the outside: not masqueraded, no route back" '100% packet loss' \
	in_c c3 ping -c2 -W1 192.0.2.254
expect_ok "create p4 with -o icc=false" dk 1 network create "${W[@]}" --subnet 10.245.0.0/24 -o icc=false p4
expect_ok "run w8 on p4 with -p 8089:80" web w8 p4 -p 8089:80
expect_ok "run c4 on p4" dk 1 run -d --name c4 --network p4 $IMG sleep 600
expect_fail_msg "icc=false: c4 cannot reach w8 directly" '100% packet loss' in_c c4 ping -c2 -W1 "$(ip_of w8 p4)"
expect_ok "icc=false: c4 reaches the gateway" in_c c4 ping -c2 -W2 10.245.0.1
answers "icc=false: c4 reaches w8 through its published port" c4 "http://$HOSTIP:8089/" hello-w8
expect_ok "icc=false: c4 reaches the outside" in_c c4 ping -c2 -W2 192.0.2.254

# ---------------------------------------------------------------- the gateway moves to another network
# A container on two weft networks: the default route and the published port go together to
# the network that is the gateway (Docker 28 and later: the one with the higher gw-priority,
# given through the Engine API, which older engines ignore), and back when it leaves.
API=$(dk 1 version -f '{{.Server.APIVersion}}')
# gw_net NAME GATEWAY: network NAME of g1 holds its default route, and port 8097 leads to its address there
gw_net() {
	local gw=$2 a
	a=$(ip_of g1 "$1")
	in_c g1 ip route | grep -q "^default via $gw " || { echo "default route: $(in_c g1 ip route | grep default)"; return 1; }
	ip netns exec "$H" nft list table inet weft | grep -q "dport 8097 dnat ip to $a:80" ||
		{ echo "no DNAT of 8097 to $a:80"; return 1; }
	# and from no other network of g1's
	[ "$(ip netns exec "$H" nft list table inet weft | grep -c 'dport 8097 dnat')" = 1 ] ||
		{ echo "8097 is published more than once:"; ip netns exec "$H" nft list table inet weft | grep 'dport 8097'; return 1; }
}
expect_ok "run g1 on p1 with -p 8097:80" web g1 p1 -p 8097:80
expect_ok "create weft network p5" dk 1 network create "${W[@]}" --subnet 10.246.0.0/24 p5
expect_ok "connect g1 to p5 with gw-priority 10 (Engine API $API)" \
	curl -sSf --unix-socket "$LABDIR/h1/docker.sock" -H 'Content-Type: application/json' \
	-d '{"Container":"g1","EndpointConfig":{"GwPriority":10}}' http://docker/networks/p5/connect
if lab_api_at_least 1 1.48; then
	expect_ok "gw-priority 10: p5 is g1's gateway, and port 8097 leads there" gw_net p5 10.246.0.1
else
	expect_ok "no gw-priority before API 1.48: p1 stays g1's gateway, and port 8097 with it" gw_net p1 10.241.0.1
fi
answers "outside -> host:8097 reaches g1" out "http://$HOSTIP:8097/" hello-g1
expect_ok "disconnect g1 from p5" dk 1 network disconnect p5 g1
expect_ok "p1 is g1's gateway again, and port 8097 leads there" gw_net p1 10.241.0.1
answers "outside -> host:8097 reaches g1 again" out "http://$HOSTIP:8097/" hello-g1
expect_ok "remove g1 and p5" bash -c "dk 1 rm -f g1 >/dev/null && dk 1 network rm p5 >/dev/null"
expect_ok "port 8097 is free" port_free 8097

# ---------------------------------------------------------------- IPv6
# A dual-stack network: -p without an address publishes on every IPv4 and every IPv6 address
# of the host, with the same host port; -p [::]:P only on IPv6; DNAT to the container's IPv6
# address in table inet weft.
HOSTIP6=2001:db8:2::1
expect_ok "create p6 with --ipv6 (10.246.0.0/24, fd00:246::/64)" \
	dk 1 network create "${W[@]}" --ipv6 --subnet 10.246.0.0/24 --subnet fd00:246::/64 p6
expect_ok "run v1 on p6 with -p 8180:80" web v1 p6 -p 8180:80
answers "outside -> [$HOSTIP6]:8180 reaches v1 over IPv6" out "http://[$HOSTIP6]:8180/" hello-v1
answers "outside -> $HOSTIP:8180 reaches v1 over IPv4" out "http://$HOSTIP:8180/" hello-v1
answers "host -> its own [$HOSTIP6]:8180 reaches v1" host "http://[$HOSTIP6]:8180/" hello-v1
# [::1]: the kernel drops packets from ::1 that leave by another device (IPv6 has no
# route_localnet), so weftd relays the connections to the port's socket (kernel-proxy.c)
answers "host -> [::1]:8180 reaches v1 (relayed by weftd)" host "http://[::1]:8180/" hello-v1
expect_ok "v1 serves a 3 MB file" dk 1 exec v1 sh -c "dd if=/dev/urandom of=/www/big bs=1024 count=3072 2>/dev/null"
big_sum() { dk 1 exec v1 md5sum /www/big | cut -d' ' -f1; }
relayed_sum() { ip netns exec "$H" curl -sS -m 20 "http://[::1]:8180/big" | md5sum | cut -d' ' -f1; }
expect_ok "... which comes through [::1] whole" bash -c "[ '$(relayed_sum)' = '$(big_sum)' ]"
refused6() { local out; out=$(ip netns exec "$H" curl -sS -m 3 "http://[::1]:$1/" 2>&1); echo "$out"
	[[ $out == *"Connection refused"* || $out == *"Couldn't connect"* || $out == *"Empty reply"* || $out == *"reset"* ]]; }
expect_ok "run v4 on p6 with -p [::1]:8183:80 (IPv6's loopback only)" web v4 p6 -p "[::1]:8183:80"
answers "host -> [::1]:8183 reaches v4" host "http://[::1]:8183/" hello-v4
refused "outside -> [$HOSTIP6]:8183 does not (bound to ::1)" out "http://[$HOSTIP6]:8183/"
expect_ok "v4's web server stops" dk 1 exec v4 killall httpd
expect_ok "host -> [::1]:8183 then ends at once (the container refuses, so weftd closes)" refused6 8183
rm_v4() { dk 1 rm -f v4 >/dev/null && refused6 8183; }
expect_ok "remove v4: [::1]:8183 is refused" rm_v4
expect_ok "run v5 with -p [::1]:8183:80 at once (relayed connections in TIME_WAIT keep no port)" \
	web v5 p6 -p "[::1]:8183:80"
answers "host -> [::1]:8183 reaches v5" host "http://[::1]:8183/" hello-v5
expect_ok "run c6 on p6 (a client)" dk 1 run -d --name c6 --network p6 $IMG sleep 600
answers "hairpin over IPv6: c6 -> [$HOSTIP6]:8180 reaches v1" c6 "http://[$HOSTIP6]:8180/" hello-v1
port6_held() {
	local out
	out=$(ip netns exec "$H" timeout 5 python3 -c "
import socket; s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(('::', $1))" 2>&1)
	echo "$out"
	[[ $out == *"Address already in use"* ]]
}
expect_ok "the IPv6 host port is held too: a host program cannot bind [::]:8180" port6_held 8180
expect_ok "weftd logged both: 0.0.0.0:8180 and [::]:8180 -> [fd00:246::...]:80" \
	bash -c "grep -q 'published 0.0.0.0:8180/tcp -> 10.246.0' '$LOG' && grep -q 'published \[::\]:8180/tcp -> \[fd00:246::' '$LOG'"
expect_ok "run v2 on p6 with -p [::]:8181:80 (IPv6 only)" web v2 p6 -p "[::]:8181:80"
answers "outside -> [$HOSTIP6]:8181 reaches v2" out "http://[$HOSTIP6]:8181/" hello-v2
refused "outside -> $HOSTIP:8181 does not (bound to ::)" out "http://$HOSTIP:8181/"
expect_ok "run v3 on p6 with -P --expose 80" web v3 p6 -P --expose 80
ep=$(ep_of v3 p6)
port=$(sed -n "s/.*endpoint $ep: published 0.0.0.0:\([0-9]*\)\/tcp.*/\1/p" "$LOG" | tail -1)
expect_ok "-P: the IPv6 side took the same host port ($port)" \
	grep -q "endpoint $ep: published \[::\]:${port:-1}/tcp" "$LOG"
answers "outside -> [$HOSTIP6]:$port (from -P) reaches v3" out "http://[$HOSTIP6]:${port:-1}/" hello-v3
expect_fail_msg "-p on an IPv6 address of a container without one is refused" \
	"cannot publish on $HOSTIP6: the container has no IPv6 address on network" \
	dk 1 run --rm --network p1 -p "[$HOSTIP6]:8182:80" $IMG true
lab_stop_weftd 1
lab_start_weftd 1 --host-id h1
answers "after the restart, host -> [::1]:8180 reaches v1 again" host "http://[::1]:8180/" hello-v1
expect_ok "remove v1, v2, v3, v5, c6 and p6" bash -c "dk 1 rm -f v1 v2 v3 v5 c6 >/dev/null && dk 1 network rm p6 >/dev/null"
expect_ok "[::1]:8180 is refused now" refused6 8180
expect_ok "no IPv6 port left in nft" bash -c "! ip netns exec '$H' nft list table inet weft | grep -q 'dnat ip6 to'"

# ---------------------------------------------------------------- weftd restart
expect_ok "run w9 on p1 with -p 8091:80" web w9 p1 -p 8091:80
w9ip=$(ip_of w9 p1)
expect_ok "stop weftd" lab_stop_weftd 1
dk 1 rm -f w9 >/dev/null 2>&1
expect_fail_msg "w9 was removed while weftd was down" 'No such' dk 1 inspect w9
answers "while weftd is down, outside -> host:8080 still reaches w1" out "http://$HOSTIP:8080/" hello-w1
lab_start_weftd 1 --host-id h1
answers "after the restart, outside -> host:8080 reaches w1" out "http://$HOSTIP:8080/" hello-w1
expect_ok "after the restart the port is held again" port_held 8080
expect_ok "... but w9's port 8091, removed meanwhile, is free" port_free 8091
expect_ok "... and its rule is gone" bash -c "! ip netns exec '$H' nft list table inet weft | grep -q 'dport 8091'"
expect_ok "... and its address $w9ip is free again" \
	bash -c "! mdb_dump -n -p -s data '$DB' | grep -q 'addr/$w9ip\$'"
expect_ok "... and weftd said why" grep -q 'left its container while weftd was down: freed its address' "$LOG"

# ---------------------------------------------------------------- cleanup leaves nothing
expect_ok "docker rm -f every container" rm_all
expect_ok "port 8080 is free again" port_free 8080
expect_ok "no published port left in nft" bash -c "! ip netns exec '$H' nft list table inet weft | grep -q 'dnat ip to'"
for n in p1 p2 p3 p4 dnet dnet2; do dk 1 network rm "$n" >/dev/null 2>&1; done
expect_ok "nft list ruleset has no weft table" bash -c "! ip netns exec '$H' nft list ruleset | grep -q weft"
expect_ok "iptables-save ($LAB_IPTABLES) has no weft rule" no_weft_iptables
expect_ok "no weft record left" bash -c "! mdb_dump -n -p -s data '$DB' | grep -q '^ weft/'"

lab_summary
