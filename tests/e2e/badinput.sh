#!/bin/bash
# badinput.sh - the bad-input battery: malformed and hostile requests straight on weftd's
# socket (what a broken or malicious client could send, next to a live network and a running
# container), broken HTTP, and bad input through the docker CLI. Each gets a clear error,
# weftd keeps running, the container keeps its traffic, and weft's devices, addresses, rules
# and records are exactly what they were before.
#   WEFTD=src/weftd tests/e2e/badinput.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
command -v python3 >/dev/null || lab_skip "python3 not installed"
lab_init badinput
lab_host 1
lab_image 1
lab_start_weftd 1 --host-id h1

IMG=weft-test:local
SOCK=$LABDIR/h1/plugins/weft.sock

expect_ok "a network n1 (10.232.0.0/24)" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.232.0.0/24 --gateway 10.232.0.1 n1
expect_ok "c1 and c2 on n1, c1 publishing 8085" bash -c \
	"dk 1 run -d --name c1 --network n1 -p 8085:80 $IMG sleep 600 && dk 1 run -d --name c2 --network n1 $IMG sleep 600"
NET=$(dk 1 network inspect -f '{{.Id}}' n1)
EP=$(dk 1 inspect -f '{{.NetworkSettings.Networks.n1.EndpointID}}' c1)
POOL=weft:10.232.0.0/24
C1=$(dk 1 inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' c1)
C2=$(dk 1 inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' c2)
MAC1=$(dk 1 inspect -f '{{.NetworkSettings.Networks.n1.MacAddress}}' c1)
before=$(lab_weft_state 1)

# post PATH BODY: POST BODY to weftd's socket as Docker does; prints "STATUS BODY"
post() {
	curl -s --path-as-is --max-time 10 --unix-socket "$SOCK" -X POST -o - -w ' %{http_code}' \
		-H 'Content-Type: application/json' --data-binary "$2" "http://weft$1" |
		awk '{ s = $NF; $NF = ""; sub(/ $/, ""); print s, $0 }'
}
# req PATH BODY ERE: the reply is an error (not 200) whose Err matches ERE
n_req=0
req() {
	local out
	n_req=$((n_req + 1))
	out=$(post "$1" "$2")
	if [[ $out != 200\ * ]] && [[ $out == *'"Err":"'* ]] && grep -Eq -- "$3" <<<"$out"; then
		ok "$1 ${2:0:60}: ${out:0:150}"
	else
		fail "$1 ${2:0:60}"
		lab_log "expected an error matching /$3/, got: ${out:0:400}"
	fi
}
# accepted PATH BODY: a retry or replay Docker may send: 200, and (checked at the end) no change
accepted() {
	local out
	out=$(post "$1" "$2")
	if [[ $out == 200\ * ]]; then
		ok "accepted, changes nothing: $1 ${2:0:60}"
	else
		fail "accepted, changes nothing: $1 ${2:0:60}"
		lab_log "got: ${out:0:400}"
	fi
}
# ids: the live network and endpoint, and an unknown endpoint
J="\"NetworkID\":\"$NET\",\"EndpointID\":\"$EP\""
J2="\"NetworkID\":\"$NET\",\"EndpointID\":\"$(dk 1 inspect -f '{{.NetworkSettings.Networks.n1.EndpointID}}' c2)\""
U="\"NetworkID\":\"$NET\",\"EndpointID\":\"0123456789abcdef\""
long=$(printf 'a%.0s' {1..65})
many_opts=$(for i in {1..65}; do printf '"k%d":"v",' "$i"; done)
many_aux=$(for i in {2..18}; do printf '"a%d":"10.233.0.%d/24",' "$i" "$i"; done)
many_ports=$(for i in {1..1025}; do printf '{"Proto":6,"Port":80,"HostPort":%d},' $((20000 + i)); done)
cn() { printf '{"NetworkID":"0123abc","IPv4Data":[{"Pool":"10.233.0.0/24","Gateway":"10.233.0.1/24"%s}]%s}' "${2:-}" "${1:-}"; }
gen() { cn ",\"Options\":{\"com.docker.network.generic\":{$1}}"; }
pm() { printf '{%s,"Options":{"com.docker.network.portmap":[%s]}}' "$J" "$1"; }

# ---------------------------------------------------------------- paths
req "/../../etc/passwd" '{}' "weft does not implement /../../etc/passwd"
req "/NetworkDriver.Nope" '{}' "weft does not implement /NetworkDriver.Nope"
req "/networkdriver.createnetwork" '{}' "does not implement"
# error messages quote what they got: not UTF-8 (Latin-1), or a character cut at 64 bytes, is
# replaced, so the reply is still JSON with its message (it was {"Err":"out of memory"})
req "/Network%e9Driver.Nope" '{}' "weft does not implement /Network\\?Driver.Nope"
req "/$(printf 'x%.0s' {1..62})%e2%82%ac" '{}' "weft does not implement /x{62}\\?\""
req /IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.232.0.$(printf '1%.0s' {1..54})\u00e9\"}" \
	"'10.232.0.1{54}\\?' is not an IP address"
req "/NetworkDriver.CreateNetwork/../../x" '{}' "does not implement"
req "/NetworkDriver.CreateNetwork?x=1" '{}' "request has no 'NetworkID'"
# ---------------------------------------------------------------- bodies
req /NetworkDriver.CreateNetwork '' "empty request body"
req /NetworkDriver.CreateNetwork '{"NetworkID":' "not a JSON object"
req /NetworkDriver.CreateNetwork '[]' "not a JSON object: wrong type"
req /NetworkDriver.CreateNetwork '"x"' "not a JSON object"
req /NetworkDriver.CreateNetwork '{"NetworkID":"a","NetworkID":"b"}' "duplicate object key"
req /NetworkDriver.CreateNetwork '{"NetworkID":"a\u0000b"}' "not a JSON object"
req /NetworkDriver.CreateNetwork $'\xff\xfe{}' "not a JSON object"
req /NetworkDriver.CreateNetwork "$(printf '[%.0s' {1..5000})" "not a JSON object"
# ---------------------------------------------------------------- CreateNetwork
req /NetworkDriver.CreateNetwork '{}' "request has no 'NetworkID'"
req /NetworkDriver.CreateNetwork '{"NetworkID":null}' "request has no 'NetworkID'"
req /NetworkDriver.CreateNetwork '{"NetworkID":5}' "field 'NetworkID' must be a string"
req /NetworkDriver.CreateNetwork '{"NetworkID":"../../etc","IPv4Data":[]}' "'../../etc' is not a Docker ID"
req /NetworkDriver.CreateNetwork "{\"NetworkID\":\"$long\",\"IPv4Data\":[]}" "is not a Docker ID"
req /NetworkDriver.CreateNetwork '{"NetworkID":"ABC","IPv4Data":[]}' "'ABC' is not a Docker ID"
req /NetworkDriver.CreateNetwork '{"NetworkID":"\u00e9t\u00e9","IPv4Data":[]}' "is not a Docker ID"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","Options":[]}' "field 'Options' must be an object"
req /NetworkDriver.CreateNetwork "$(gen '"mtu":1400')" "option 'mtu' must be a string"
req /NetworkDriver.CreateNetwork "$(gen "${many_opts%,}")" "too many option"
req /NetworkDriver.CreateNetwork "$(gen '"mode":"ring"')" "'ring' is not a mode"
req /NetworkDriver.CreateNetwork "$(gen '"mtu":"99999999999999999999"')" "option 'mtu'"
req /NetworkDriver.CreateNetwork "$(gen '"mtu":"-1"')" "option 'mtu'"
req /NetworkDriver.CreateNetwork "$(gen '"bridge_name":"../../x"')" "not a valid interface name"
req /NetworkDriver.CreateNetwork "$(gen '"bridge_name":"abcdefghijklmnop"')" "not a valid interface name"
req /NetworkDriver.CreateNetwork "$(gen '"mode":"macvlan","parent":"eth0;reboot"')" "not a valid interface name"
req /NetworkDriver.CreateNetwork "$(gen '"colour":"blue"')" "unknown option 'colour'"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","Options":{"com.docker.network.internal":"yes"}}' \
	"field 'com.docker.network.internal' must be a boolean"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":{}}' "field 'IPv4Data' must be an array"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[7]}' "IPv4Data entries must be objects"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[]}' "exactly one IPv4 subnet \(got 0\)"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"10.0.0.0/33"}]}' "'10.0.0.0/33' is not a valid CIDR"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"999.1.1.0/24"}]}' "is not a valid CIDR"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":5}]}' "field 'Pool' must be a string"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"}]}' \
	"subnet fd00::/64 is not IPv4"
req /NetworkDriver.CreateNetwork "$(cn '' ',"AuxAddresses":{"x":"10.234.0.5/24"}')" \
	"--aux-address 10.234.0.5 is not a host address of subnet 10.233.0.0/24"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"10.233.0.0/24"}]}' "network has no gateway address"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"10.233.0.0/24","Gateway":"10.233.0.255/24"}]}' \
	"gateway 10.233.0.255 is not a host address of subnet 10.233.0.0/24"
req /NetworkDriver.CreateNetwork "$(cn '' ',"AuxAddresses":[]')" "field 'AuxAddresses' must be an object"
req /NetworkDriver.CreateNetwork "$(cn '' ",\"AuxAddresses\":{${many_aux%,}}")" "too many --aux-address \(at most 16\)"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64"}]')" "network has no IPv6 gateway address"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd01::1/64"}]')" \
	"gateway fd01::1 is not a host address of subnet fd00::/64"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"10.9.0.0/24","Gateway":"10.9.0.1/24"}]')" \
	"IPv6 subnet 10.9.0.0/24 is not IPv6"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"},{"Pool":"fd01::/64"}]')" \
	"exactly one IPv6 subnet \(got 2\)"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64","AuxAddresses":{"a":"fd01::5/64"}}]')" \
	"--aux-address fd01::5 is not a host address of subnet fd00::/64"
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1%eth0/64"}]')" \
	"field 'Gateway': 'fd00::1%eth0/64' is not a valid CIDR"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","Options":{"com.docker.network.enable_ipv4":false,"com.docker.network.generic":{"host_binding_ipv4":"192.0.2.1"}},"IPv4Data":[],"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"}]}' \
	"option 'host_binding_ipv4' needs IPv4, and the network is IPv6-only"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[],"IPv6Data":[]}' \
	"a weft bridge network needs exactly one IPv4 subnet \(got 0\)"
# An IPv6-only network (Docker 28's --ipv4=false; this dockerd may be older, so by hand): what its
# endpoints may not have. It goes again before the state is compared at the end.
V6J='"NetworkID":"6666abc","EndpointID":"6666def"'
v6net() { [[ $(post "/NetworkDriver.$1" "{\"NetworkID\":\"6666abc\"$2}") == 200\ * ]]; }
expect_ok "an IPv6-only network fd00:66::/64, by hand" \
	v6net CreateNetwork ',"IPv4Data":[],"IPv6Data":[{"Pool":"fd00:66::/64","Gateway":"fd00:66::1/64"}]'
req /NetworkDriver.CreateEndpoint "{$V6J,\"Interface\":{}}" \
	"endpoint has no address: network 6666abc is IPv6-only, and the container has IPv6 off"
req /NetworkDriver.CreateEndpoint "{$V6J,\"Interface\":{\"Address\":\"10.232.0.9/24\",\"AddressIPv6\":\"fd00:66::9/64\"}}" \
	"endpoint has IPv4 address 10.232.0.9/24, but network 6666abc has no IPv4 subnet"
req /NetworkDriver.CreateEndpoint "{$V6J,\"Interface\":{\"AddressIPv6\":\"fd00:67::9/64\"}}" \
	"address fd00:67::9/64 is not in the network's subnet fd00:66::/64"
expect_ok "... and it goes" v6net DeleteNetwork ''
req /NetworkDriver.CreateNetwork "$(cn ',"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"}],"Options":{"com.docker.network.generic":{"mode":"routed","host_prefix6":"130"}}')" \
	"option 'host_prefix6': 130 is out of range \(allowed: 1..126\)"
req /NetworkDriver.CreateNetwork "{\"NetworkID\":\"$NET\",\"IPv4Data\":[{\"Pool\":\"10.233.0.0/24\",\"Gateway\":\"10.233.0.1/24\"}]}" \
	"network ${NET:0:12} exists already, as bridge network 10.232.0.0/24"
accepted /NetworkDriver.CreateNetwork "{\"NetworkID\":\"$NET\",\"IPv4Data\":[{\"Pool\":\"10.232.0.0/24\",\"Gateway\":\"10.232.0.1/24\"}]}"
req /NetworkDriver.CreateNetwork '{"NetworkID":"abc","IPv4Data":[{"Pool":"10.232.0.0/24","Gateway":"10.232.0.1/24"}]}' \
	"10.232.0.0/24 is already used by weft network"
# ---------------------------------------------------------------- other network calls
req /NetworkDriver.DeleteNetwork '{}' "request has no 'NetworkID'"
req /NetworkDriver.DeleteNetwork '{"NetworkID":"x/../y"}' "is not a Docker ID"
req /NetworkDriver.AllocateNetwork "{\"NetworkID\":\"$NET\"}" "swarm allocation is not supported"
req /NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NET\"}" "request has no 'EndpointID'"
req /NetworkDriver.CreateEndpoint '{"NetworkID":"abc","EndpointID":"def"}' "network abc is not known to weft"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":\"x\"}" "field 'Interface' must be an object"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":{\"MacAddress\":\"zz\"}}" "'zz' is not a MAC address"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":{\"MacAddress\":\"+1:+2:+3:+4:+5:+6\"}}" "is not a MAC address"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":{\"Address\":\"10.232.0.9/33\"}}" "is not a valid CIDR"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":{\"Address\":\"10.99.0.2/24\"}}" "10.99.0.2"
req /NetworkDriver.CreateEndpoint "{$U,\"Interface\":{\"Address\":\"10.232.0.9/24\",\"AddressIPv6\":\"fd00::9/64\"}}" \
	"endpoint has IPv6 address fd00::9/64, but network ${NET:0:12} has no IPv6 subnet"
req /NetworkDriver.CreateEndpoint "{$J,\"Interface\":{\"Address\":\"$C2/24\"}}" \
	"endpoint ${EP:0:12} exists already, with address $C1/24 on network ${NET:0:12}"
accepted /NetworkDriver.CreateEndpoint "{$J,\"Interface\":{\"Address\":\"$C1/24\",\"MacAddress\":\"$MAC1\"}}"
req /NetworkDriver.Join "{$U}" "endpoint 0123456789ab is not known to weft"
req /NetworkDriver.Join "{$J,\"SandboxKey\":5}" "field 'SandboxKey' must be a string"
req /NetworkDriver.Join "{\"NetworkID\":\"$NET\"}" "request has no 'EndpointID'"
req /NetworkDriver.Leave '{}' "request has no 'NetworkID'"
req /NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$NET\",\"EndpointID\":\"../x\"}" "'../x' is not a Docker ID"
req /NetworkDriver.EndpointOperInfo '{}' "request has no 'NetworkID'"
req /NetworkDriver.RevokeExternalConnectivity '{"NetworkID":"A"}' "is not a Docker ID|request has no 'EndpointID'"
# ---------------------------------------------------------------- published ports
req /NetworkDriver.ProgramExternalConnectivity "{$J,\"Options\":{\"com.docker.network.portmap\":{}}}" \
	"field 'com.docker.network.portmap' must be an array"
req /NetworkDriver.ProgramExternalConnectivity "$(pm 7)" "a port binding must be an object"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":"tcp","Port":80}')" "field 'Proto' must be an integer"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":70000}')" "70000 is out of range"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":80,"HostPort":-1}')" "-1 is out of range"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":80,"HostPort":1e3}')" "must be an integer"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":80,"HostPort":8080,"HostPortEnd":8000}')" \
	"host port range 8080-8000 is empty"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":132,"Port":80}')" "sctp ports is not supported"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":80,"HostIP":"localhost"}')" \
	"host IP 'localhost' of a port binding is not an IP address"
req /NetworkDriver.ProgramExternalConnectivity "{$J2,\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":\"192.0.2.99\",\"HostPort\":8086}]}}" \
	"192.0.2.99 is not an address of this host"
req /NetworkDriver.ProgramExternalConnectivity "{$J2,\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":17,\"Port\":53,\"HostPort\":8088},{\"Proto\":6,\"Port\":80,\"HostPort\":8085}]}}" \
	"port 0.0.0.0:8085/tcp is already in use"
req /NetworkDriver.ProgramExternalConnectivity "$(pm "${many_ports%,}")" "too many|at most 1024"
req /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"Port":80,"HostPort":8087}')" \
	"endpoint ${EP:0:12} publishes 0.0.0.0:8085/tcp already: other ports need a revoke first"
accepted /NetworkDriver.ProgramExternalConnectivity "$(pm '')"
accepted /NetworkDriver.ProgramExternalConnectivity "$(pm '{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8085,"HostPortEnd":8085}')"
req /NetworkDriver.ProgramExternalConnectivity "{$U,\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80}]}}" \
	"is not known to weft"
# ---------------------------------------------------------------- IPAM
req /IpamDriver.RequestPool '{"Pool":"10.0.0.0/33"}' "'10.0.0.0/33' is not a valid CIDR"
accepted /IpamDriver.RequestPool '{"Pool":"10.232.0.0/24"}'
req /IpamDriver.RequestPool '{"Pool":"10.232.0.0/16"}' "overlaps|10.232.0.0/24"
req /IpamDriver.RequestPool '{"Pool":"fd00::/64"}' "--subnet fd00::/64 is not IPv4, but the request asks for an IPv4 pool"
req /IpamDriver.RequestPool '{"Pool":"10.9.0.0/24","V6":true}' "--subnet 10.9.0.0/24 is not IPv6, but the request asks for an IPv6 pool"
req /IpamDriver.RequestPool '{"Pool":"fd00::/127","V6":true}' "--subnet fd00::/127 is too small: weft needs at least a /126"
req /IpamDriver.RequestPool '{"Pool":"::/128","V6":true}' "--subnet ::/128 holds the unspecified or the loopback address"
req /IpamDriver.RequestPool '{"Pool":"fd00::1/64","V6":true}' "--subnet fd00::1/64 has host bits set; did you mean fd00::/64\?"
req /IpamDriver.RequestPool '{"Pool":"::ffff:10.9.0.0/120","V6":true}' "is IPv4-mapped: give the IPv4 subnet itself"
req /IpamDriver.RequestPool '{"Pool":"fe80::/64","V6":true}' "--subnet fe80::/64 is link-local"
req /IpamDriver.RequestPool '{"Pool":"ff02::/16","V6":true}' "--subnet ff02::/16 is multicast"
req /IpamDriver.RequestPool '{"Pool":"fe80::1%eth0/64","V6":true}' "'fe80::1%eth0/64' is not a valid CIDR"
req /IpamDriver.RequestPool '{"Pool":"fd00::/64","SubPool":"fd01::/80","V6":true}' \
	"--ip-range fd01::/80 is not inside --subnet fd00::/64"
req /IpamDriver.RequestPool '{"Pool":5}' "field 'Pool' must be a string"
req /IpamDriver.RequestPool '{"Pool":"10.233.0.0/24","Options":{"size":"8"}}' "unknown --ipam-opt 'size'"
req /IpamDriver.RequestPool '{"Pool":"10.233.0.0/24","SubPool":"10.234.0.0/28"}' \
	"--ip-range 10.234.0.0/28 is not inside --subnet 10.233.0.0/24"
req /IpamDriver.RequestPool '{"Pool":"10.233.0.9/24"}' "host bits"
req /IpamDriver.ReleasePool '{}' "request has no 'PoolID'"
req /IpamDriver.ReleasePool '{"PoolID":"weft:10.0.0.0/33"}' "is not a weft pool ID"
req /IpamDriver.ReleasePool '{"PoolID":"../../x"}' "is not a weft pool ID"
req /IpamDriver.RequestAddress '{"PoolID":"weft:10.250.0.0/24"}' "10.250.0.0/24"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.232.0.1\"}" "in use as gateway address"
accepted /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$C2\"}"
accepted /IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$C2\"}"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.99.9.9\"}" "10.99.9.9"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"not-an-ip\"}" "'not-an-ip' is not an IP address"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.232.0.255\"}" "network or broadcast address"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"fd00::5\"}" "IPv6|not"
req /IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Options\":\"x\"}" "field 'Options' must be an object"
req /IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\"}" "request has no 'Address'"
req /IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"zzz\"}" "'zzz' is not an IP address"
lab_log "$n_req bad requests on the socket"

# ---------------------------------------------------------------- broken HTTP
# raw REQUEST: send bytes on the socket, print the status line's code (or "closed")
raw() {
	python3 - "$SOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
try:
    line = s.recv(200).split(b"\r\n")[0].decode()
except socket.timeout:
    line = "timeout"
print(line.split(" ")[1] if line.startswith("HTTP/") else "closed")
EOF
}
get_status() { curl -s --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' http://weft/Plugin.Activate; }
huge_status() {
	head -c 2097152 /dev/zero | tr '\0' a | curl -s --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' \
		--data-binary @- http://weft/NetworkDriver.CreateNetwork
}
# is WANT CMD...: CMD prints WANT (one of WANT's |-separated words)
is() {
	local v
	v=$("${@:2}")
	[[ "|$1|" == *"|$v|"* ]] || { echo "got '$v', want $1"; return 1; }
}
expect_ok "GET is refused (405)" is 405 get_status
expect_ok "a 2 MiB body is refused (413)" is 413 huge_status
expect_ok "not HTTP at all: refused (400) or closed" is "400|closed" raw '\x00\x01 hello\r\n\r\n'
expect_ok "a body shorter than its Content-Length, then a hang-up" \
	is "closed|timeout" raw 'POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"a"'
expect_ok "... weftd lives" kill -0 "$WEFTD_PID_1"
# 20 clients that connect and say nothing: Docker's next call is still served
python3 - "$SOCK" <<'EOF' &
import socket, sys, time
idle = []
for _ in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); idle.append(s)
time.sleep(8)
EOF
idle=$!
sleep 1
activate() { curl -s --max-time 5 --unix-socket "$SOCK" -X POST http://weft/Plugin.Activate; }
expect_ok "with 20 idle connections open, a request is answered" is '{"Implements":["NetworkDriver","IpamDriver"]}' activate
wait "$idle"

# ---------------------------------------------------------------- through the docker CLI
expect_fail_msg "docker run --ip outside the subnet" "10.99.0.5" dk 1 run --rm --network n1 --ip 10.99.0.5 $IMG true
expect_fail_msg "docker run --ip of a running container" "already used by another container" \
	dk 1 run --rm --network n1 --ip "$C2" $IMG true
expect_fail_msg "docker run -p of a port c1 holds" "8085.*already in use|already allocated" \
	dk 1 run --rm --network n1 -p 8085:80 $IMG true
expect_fail_msg "docker network create with an unknown --ipam-opt" "unknown --ipam-opt 'size'" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.233.0.0/24 --ipam-opt size=8 bad
expect_fail_msg "docker network create, host_prefix on a bridge network" "host_prefix" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.233.0.0/24 -o host_prefix=26 bad
expect_fail_msg "docker network create, 65 options" "too many" \
	dk 1 network create -d weft --ipam-driver weft --subnet 10.233.0.0/24 $(for i in {1..65}; do printf -- '-o k%d=v ' "$i"; done) bad

# ---------------------------------------------------------------- nothing changed
expect_ok "weftd is still running" kill -0 "$WEFTD_PID_1"
expect_ok "c1 still pings c2" dk 1 exec c1 ping -c2 -W2 "$C2"
expect_ok "c2 still has its address" is "$C2" dk 1 inspect -f '{{.NetworkSettings.Networks.n1.IPAddress}}' c2
expect_same "weft's devices, addresses, rules and records are what they were ($(wc -l <<<"$before") lines)" \
	"$before" "$(lab_weft_state 1)"
expect_ok "weftd logged no crash or sanitizer report" \
	bash -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$LABDIR/h1/weftd.log'"
expect_ok "docker rm, network rm" bash -c "dk 1 rm -f c1 c2 >/dev/null && dk 1 network rm n1 >/dev/null"
expect_ok "no weft device, address, rule or record is left" is "" lab_weft_state 1
lab_summary
