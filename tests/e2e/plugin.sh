#!/bin/bash
# plugin.sh - weftd as a managed (v2) Docker plugin: plugin/build packages the built weftd
# into host 1's dockerd, which runs it through its containerd and runc with the plugin's
# config.json (host network, its capabilities and mounts). Networks made with
# -d weft:latest --ipam-driver weft:latest work (containers talk, reach the outside, publish
# a port), weft's devices and rules land in the host's namespace, its state on the host;
# a bad option gets weft's own message; a disabled plugin leaves the data path alone and,
# enabled again, knows its networks; after rm of everything and of the plugin, nothing
# of weft's is left. No legacy weftd runs in this lab.
# With LAB_STORE=etcd or consul, then: the plugin on two hosts, each given the cluster store
# by "docker plugin set args", one overlay network on both, containers talking across them,
# the network's pool and VNI keys gone after rm, nothing of weft's left on either host.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_require
command -v curl >/dev/null || lab_skip "curl not installed"
command -v ldd >/dev/null || lab_skip "ldd not found (libc-bin): plugin/build needs it"
lab_init plugin
[ -x "$WEFTD" ] || lab_bail "weftd not found at $WEFTD (set WEFTD)"
lab_host 1
lab_outside
lab_image 1

H=$LAB-h1
HD=$LABDIR/h1
P=weft:latest
IMG=weft-test:local
W=(-d "$P" --ipam-driver "$P")
# the plugin's state dir on the host: where lab_weft_state looks for weft's records
STATE=$DATADIR/h1/weft
BUILD=$LAB_TOP/plugin/build

in_c() { dk 1 exec "$1" "${@:2}"; }
ip_of() { dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
snapshot() { lab_weft_state 1 2>&1 | sed 's/\t.*//'; }
expect_state() { expect_same "$1" "$2" "$(snapshot)"; }
# pids of the plugin's weftd: weftd processes in host 1's network namespace
plugin_pids() {
	local p
	for p in $(lab__ns_pids net "/run/netns/$H"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = weftd ] && printf '%s\n' "$p"
	done
	return 0
}
has_weft_chain() { lab_exec 1 iptables -S | grep -q -e '^-N WEFT-FORWARD'; }
plugin_log() {
	lab_log "dockerd's log of the plugin:"
	lab__diag "$(grep -e 'plugin=' -e 'level=error' "$HD/dockerd.log" | tail -n 25)"
}

# ---------------------------------------------------------------- build, create, enable
clean=$(snapshot)
# the plugin's iptables is the backend host 1's dockerd uses (LAB_IPTABLES)
build() { env DOCKER_HOST="unix://$HD/docker.sock" bash "$BUILD" --weftd "$WEFTD" --iptables "$LAB_IPTABLES" "$P"; }
expect_ok "plugin/build creates $P in host 1's dockerd (iptables $LAB_IPTABLES)" build
if ! dk 1 plugin inspect "$P" >/dev/null 2>&1; then
	lab_log "plugin/build output:"
	lab__diag "$(build 2>&1)"
	lab_bail "no plugin $P: nothing else can be tested"
fi
expect_ok "the new plugin is disabled" \
	bash -c "[ \"\$(dk 1 plugin inspect -f '{{.Enabled}}' '$P')\" = false ]"
expect_ok "its config: host network, both interfaces, socket weft.sock" \
	bash -c "dk 1 plugin inspect -f '{{.Config.Network.Type}} {{.Config.Interface.Socket}} {{range .Config.Interface.Types}}{{.}} {{end}}' '$P' |
		grep -qx 'host weft.sock docker.networkdriver/1.0 docker.ipamdriver/1.0 '"
expect_fail_msg "a setting that does not exist is refused" 'not found in the plugin configuration' \
	dk 1 plugin set "$P" colour=blue
# This lab's dockerd API socket is not /var/run/docker.sock; the state goes where the lab
# looks. Docker splits args at every space: the entrypoint drops the empty word of "  ".
expect_ok "docker plugin set: state dir, Docker's socket, weftd options" \
	dk 1 plugin set "$P" state.source="$STATE" docker-socket.source="$HD/docker.sock" args="-d  --reconcile-interval 30"
expect_ok "docker plugin enable $P" dk 1 plugin enable "$P"
expect_ok "docker plugin ls shows it enabled" \
	bash -c "dk 1 plugin ls --format '{{.Name}} {{.Enabled}}' | grep -qx '$P true'"
id=$(dk 1 plugin inspect -f '{{.Id}}' "$P")
# dockerd bind-mounts /run/docker/plugins/<id> (the lab's $HD/plugins/<id>) at the plugin's /run/docker/plugins
expect_ok "its socket is dockerd's /run/docker/plugins/<id>/weft.sock" test -S "$HD/plugins/$id/weft.sock"
expect_ok "no weft.sock in the lab's /run/docker/plugins (no legacy weftd)" test ! -e "$HD/plugins/weft.sock"
pids=$(plugin_pids)
expect_ok "weftd runs in host 1's network namespace (pid ${pids:-none})" test -n "$pids"
# lab_host gave host 1 an /etc/machine-id of its own: the plugin's host id
mid=$(cat "$HD/machine-id")
expect_ok "weftd's host id is host 1's machine-id, its store in the state dir" \
	grep -q "weftd .* serving /run/docker/plugins/weft.sock (host '$mid', store lmdb:///var/lib/weft/weft.db)" "$HD/dockerd.log"
# the run mount: weftd's control socket (a weftd that has one) shows on the host's /run/weft
if "$WEFTD" --help 2>&1 | grep -q -e '--control-socket'; then
	expect_ok "weftd's control socket is on the host at /run/weft/control.sock" \
		lab_exec 1 test -S /run/weft/control.sock
fi
[ -n "$pids" ] || plugin_log
for p in $pids; do
	lab_log "weftd pid $p: $(grep -E '^(Cap(Eff|Bnd)|Seccomp):' "/proc/$p/status" | tr '\t\n' '  ')AppArmor: $(cat "/proc/$p/attr/current" 2>/dev/null)"
done

# ---------------------------------------------------------------- a network through the plugin
expect_fail_msg "a bad network option gets weft's message through the plugin" \
	"'nope' is not a mode \(allowed: bridge, overlay, routed, macvlan\)" \
	dk 1 network create "${W[@]}" --subnet 10.78.0.0/24 -o mode=nope pbad
expect_fail_msg "... and no network pbad exists" 'No such network|not found' dk 1 network inspect pbad
expect_state "... and no weft device, rule or record" "$clean"

# /proc/sys is read-only in a plugin (Docker's default spec) and the plugin has no
# CAP_SYS_ADMIN to change that: weftd cannot turn IPv4 forwarding on. dockerd turns it on
# when it starts; off, a network create says what is wrong and leaves nothing behind.
ip netns exec "$H" sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
expect_fail_msg "with IPv4 forwarding off, a network create says weftd cannot turn it on" \
	"enable IPv4 forwarding \(/proc/sys/net/ipv4/ip_forward\): Read-only file system" \
	dk 1 network create "${W[@]}" --subnet 10.77.0.0/24 pn1
expect_state "... and leaves no weft device, rule or record" "$clean"
ip netns exec "$H" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
expect_ok "docker network create -d $P --ipam-driver $P --subnet 10.77.0.0/24 pn1 (forwarding on, as dockerd leaves it)" \
	dk 1 network create "${W[@]}" --subnet 10.77.0.0/24 pn1
expect_ok "the network's driver is $P" \
	bash -c "[ \"\$(dk 1 network inspect -f '{{.Driver}} {{.IPAM.Driver}}' pn1)\" = '$P $P' ]"
br=$(lab_weft_devices 1 | grep '^weft-b' | head -1)
expect_ok "weft's bridge '$br' is in the host's namespace, with the gateway 10.77.0.1/24" \
	bash -c "[ -n '$br' ] && ip -n $H -4 -o addr show dev '$br' | grep -q 'inet 10.77.0.1/24'"
expect_ok "the network's records are in the state dir on the host" \
	bash -c "mdb_dump -n -p -s data '$STATE/weft.db' | grep -q 'weft/v1/pools/10.77.0.0-24'"
# weftctl on the host reaches the plugin's weftd through the run mount
WEFTCTL=${WEFTCTL:-$(dirname "$WEFTD")/weftctl}
if [ -x "$WEFTCTL" ]; then
	expect_ok "weftctl networks on the host lists pn1's subnet" \
		bash -c "nsenter --mount='$HD/mnt' --net=/run/netns/$H -- '$WEFTCTL' networks | grep -q 10.77.0.0/24"
fi
expect_ok "run pa on pn1" dk 1 run -d --name pa --network pn1 $IMG sleep 600
expect_ok "run pb on pn1 with --ip 10.77.0.50" dk 1 run -d --name pb --network pn1 --ip 10.77.0.50 $IMG sleep 600
a=$(ip_of pa pn1)
expect_ok "pa got an address of 10.77.0.0/24 ($a)" bash -c "[[ '$a' == 10.77.0.* && '$a' != 10.77.0.1 ]]"
expect_ok "pa pings pb" in_c pa ping -c2 -W2 10.77.0.50
expect_ok "pb pings pa" in_c pb ping -c2 -W2 "$a"
expect_ok "pb pings pa by name" in_c pb ping -c2 -W2 pa
expect_ok "pa's veth is on the bridge in the host's namespace" \
	bash -c "ip -n $H -o link show master '$br' | grep -q ' wv'"
expect_ok "the plugin's iptables put weft's rules into the host's iptables" has_weft_chain
expect_ok "the plugin's nftables table is in the host's namespace" \
	bash -c "ip netns exec $H nft list table inet weft >/dev/null"
expect_ok "pa reaches the outside through masquerade" in_c pa ping -c2 -W2 192.0.2.254

# a published port below 1024 (weftd binds it: CAP_NET_BIND_SERVICE), from the outside
expect_ok "run pw on pn1 with -p 80:8000 (busybox httpd)" \
	dk 1 run -d --name pw --network pn1 -p 80:8000 $IMG sh -c 'mkdir -p /www && echo weft-plugin >/www/index.html && exec httpd -f -p 8000 -h /www'
# (curl: busybox wget crashes, static glibc)
port_answers() { ip netns exec "$LAB-out" curl -sS -m 2 http://192.0.2.1:80/ 2>/dev/null | grep -q weft-plugin; }
# from the host's own 127.0.0.1: route_localnet on the bridge, set through netlink (/proc/sys is read-only)
port_answers_lo() { ip netns exec "$H" curl -sS -m 2 http://127.0.0.1:80/ 2>/dev/null | grep -q weft-plugin; }
expect_ok "the outside reaches pw at 192.0.2.1:80" lab_wait_for port_answers 10
expect_ok "the host reaches pw at 127.0.0.1:80" lab_wait_for port_answers_lo 10
expect_ok "weftd turned on route_localnet of the bridge" \
	bash -c "[ \"\$(ip netns exec $H cat /proc/sys/net/ipv4/conf/$br/route_localnet)\" = 1 ]"

# ---------------------------------------------------------------- the plugin restarts
expect_fail_msg "docker plugin disable refuses while networks use it" 'in use' dk 1 plugin disable "$P"
expect_ok "docker plugin disable -f $P" dk 1 plugin disable -f "$P"
no_weftd() { [ -z "$(plugin_pids)" ]; }
expect_ok "weftd is gone" lab_wait_for no_weftd 10
expect_ok "the bridge and veths stay while the plugin is down" \
	bash -c "ip -n $H link show '$br' >/dev/null && ip -n $H -o link | grep -q ': wv'"
expect_ok "pa and pb keep talking while the plugin is down" in_c pa ping -c2 -W2 10.77.0.50
expect_ok "docker plugin enable $P again" dk 1 plugin enable "$P"
expect_ok "a new container joins pn1 and reaches pb" \
	dk 1 run --rm --network pn1 $IMG ping -c1 -W2 10.77.0.50
expect_ok "the outside still reaches pw's port" lab_wait_for port_answers 10

# ---------------------------------------------------------------- nothing left
expect_ok "remove the containers" bash -c "dk 1 rm -f pa pb pw >/dev/null"
expect_ok "remove the network" dk 1 network rm pn1
expect_ok "no weft device is left" lab_no_weft_devices 1
expect_state "no weft device, address, rule or record is left" "$clean"
expect_ok "docker plugin disable $P" dk 1 plugin disable "$P"
expect_ok "docker plugin rm $P" dk 1 plugin rm "$P"
expect_ok "docker plugin ls is empty" bash -c "[ -z \"\$(dk 1 plugin ls -q)\" ]"
expect_ok "no weftd runs" lab_wait_for no_weftd 10
expect_ok "the plugin's socket is gone" test ! -e "$HD/plugins/$id/weft.sock"
expect_state "still no weft device, rule or record" "$clean"
if [ "$LAB_T_FAIL" -ne 0 ]; then
	plugin_log
fi

# ---------------------------------------------------------------- two hosts, a cluster store
# LAB_STORE=etcd or consul: the plugin on hosts 1 and 2, each given the store by
# "docker plugin set args", an overlay network on both, containers talking across them
[ -n "${LAB_STORE:-}" ] || { lab_summary; exit; }
lab_store "$LAB_STORE"
lab_host 2
lab_image 2
no_keys() { ! lab_store_keys "$1"; }
cstate() { lab_weft_cluster_state "$1" 2>&1 | sed 's/\t.*//'; }
cclean=()
for h in 1 2; do cclean[h]=$(cstate $h); done
for h in 1 2; do
	expect_ok "plugin/build creates $P in host $h's dockerd" \
		env DOCKER_HOST="unix://$LABDIR/h$h/docker.sock" bash "$BUILD" --weftd "$WEFTD" --iptables "$LAB_IPTABLES" "$P"
	expect_ok "host $h: docker plugin set args='--store $LAB_STORE_URL'" \
		dk $h plugin set "$P" state.source="$DATADIR/h$h/weft" docker-socket.source="$LABDIR/h$h/docker.sock" \
		args="--store $LAB_STORE_URL"
	expect_ok "host $h: docker plugin enable $P" dk $h plugin enable "$P"
	expect_ok "host $h: weftd serves with the $LAB_STORE store" \
		grep -q "weftd .* serving /run/docker/plugins/weft.sock (host '$(cat "$LABDIR/h$h/machine-id")', store $LAB_STORE_URL)" "$LABDIR/h$h/dockerd.log"
done
for h in 1 2; do
	expect_ok "host $h: docker network create -d $P --ipam-driver $P -o mode=overlay --subnet 10.79.0.0/24 po" \
		dk $h network create "${W[@]}" -o mode=overlay --subnet 10.79.0.0/24 po
done
expect_ok "the network's VNI is claimed in the store" lab_store_keys weft/v1/vnis/
expect_ok "run c1 on host 1" dk 1 run -d --name c1 --network po $IMG sleep 600
expect_ok "run c2 on host 2" dk 2 run -d --name c2 --network po $IMG sleep 600
c1=$(ip_of c1 po)
c2=$(dk 2 inspect -f '{{(index .NetworkSettings.Networks "po").IPAddress}}' c2)
expect_ok "c1 and c2 got different addresses of 10.79.0.0/24 ($c1, $c2)" \
	bash -c "[[ '$c1' == 10.79.0.* && '$c2' == 10.79.0.* && '$c1' != '$c2' ]]"
c1_reaches_c2() { in_c c1 ping -c1 -W1 "$c2" >/dev/null 2>&1; }
expect_ok "c1 (host 1) pings c2 (host 2) over the overlay" lab_wait_for c1_reaches_c2 10
expect_ok "c2 (host 2) pings c1 (host 1)" dk 2 exec c2 ping -c2 -W2 "$c1"
if [ -x "$WEFTCTL" ]; then
	expect_ok "weftctl peers on host 1 lists host 2" \
		bash -c "nsenter --mount='$LABDIR/h1/mnt' --net=/run/netns/$LAB-h1 -- '$WEFTCTL' peers | grep -q '$(cat "$LABDIR/h2/machine-id")'"
fi
expect_ok "remove c1 and c2" bash -c "dk 1 rm -f c1 >/dev/null && dk 2 rm -f c2 >/dev/null"
for h in 1 2; do
	expect_ok "host $h: docker network rm po" dk $h network rm po
done
expect_ok "no key of the pool is left in the store" no_keys weft/v1/pools/10.79.0.0-24
expect_ok "no VNI is claimed any more" no_keys weft/v1/vnis/
for h in 1 2; do
	expect_ok "host $h: docker plugin disable and rm $P" \
		bash -c "dk $h plugin disable '$P' >/dev/null && dk $h plugin rm '$P' >/dev/null"
	expect_same "host $h: no weft device, address, rule, record or pool key is left" "${cclean[h]}" "$(cstate $h)"
done
if [ "$LAB_T_FAIL" -ne 0 ]; then
	plugin_log
fi
lab_summary
