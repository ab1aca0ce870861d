# shellcheck shell=sh
# tests/store/stores.sh - start throw-away stores on loopback, for run-contract and
# bench/run-store (sourced). Every process started is killed, and every directory removed,
# by stores_cleanup (installed as an EXIT trap by stores_init).
#
#   stores_init                   trap + state
#   start_etcd                    real etcd (etcd-server) on free loopback ports; sets ETCD_URL
#   etcd_auth_enable USER PASS    etcd users: root, and USER with read and write under weft
#                                 prefixes; then authentication on (needs etcdctl)
#   start_consul_emu SRCDIR ARGS  the Consul emulator (python3); sets CONSUL_URL
# Both return 77 when the server is not installed, 1 when it does not come up.

stores_init() {
	STORES_PIDS=
	STORES_DIRS=
	trap stores_cleanup EXIT INT TERM
}

# shellcheck disable=SC2317 # called by the trap
stores_cleanup() {
	for f in ${STORES_PIDFILES:-}; do
		[ -f "$f" ] && STORES_PIDS="$STORES_PIDS $(cat "$f")"
	done
	for p in $STORES_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for d in $STORES_DIRS; do rm -rf "$d"; done
}

# stores_free_port N: a TCP port no socket uses now, below the kernel's ephemeral range
# (32768 up by default): a port picked there can be taken by a connection's local end between
# this check and the store's bind (etcd's "bind: address already in use" in one CI run)
stores_free_port() {
	p=$((20000 + ($$ * 7 + $1) % 12000))
	while ss -Hatn "sport = :$p" | grep -q .; do p=$((p + 3)); done
	echo "$p"
}

# start_etcd [CERT KEY CA [CLIENT-CERT CLIENT-KEY]]: also writes $ETCD_DIR/restart, a script
# that stops etcd and starts it again on the same data and ports (for tests of watches across a
# store restart); with CERT and KEY its clients talk TLS (ETCD_URL etcd+https://), checked
# against CA; with CLIENT-CERT, etcd wants a client certificate signed by CA
# (--client-cert-auth), and its own readiness check shows that one. $ETCD_FLAGS: more flags
# (--auth-token-ttl 2, say).
start_etcd() {
	command -v etcd >/dev/null 2>&1 || return 77
	scheme=http tls='' cacert=''
	if [ $# -ge 3 ]; then
		scheme=https tls="--cert-file $1 --key-file $2" cacert="--cacert $3"
	fi
	if [ $# -ge 5 ]; then
		tls="$tls --client-cert-auth --trusted-ca-file $3" cacert="$cacert --cert $4 --key $5"
	fi
	d=$(mktemp -d /tmp/weft-etcd.XXXXXX)
	STORES_DIRS="$STORES_DIRS $d"
	STORES_PIDFILES="${STORES_PIDFILES:-} $d/pid"
	cport=$(stores_free_port 0)
	pport=$(stores_free_port 1)
	# spec/kv-stores.md B.14; short timings make the minimum lease TTL 1 s. A session of its
	# own: a check test that restarts it runs in a process group check kills when it ends
	cat >"$d/start" <<EOS
#!/bin/sh
setsid env -i PATH="$PATH" etcd --name t1 --data-dir "$d/data" \\
	--listen-client-urls "$scheme://127.0.0.1:$cport" --advertise-client-urls "$scheme://127.0.0.1:$cport" $tls \\
	--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \\
	--initial-cluster "t1=http://127.0.0.1:$pport" --initial-cluster-state new \\
	--heartbeat-interval 10 --election-timeout 100 ${ETCD_FLAGS:-} \\
	--logger zap --log-level error --log-outputs stderr >>"$d/etcd.log" 2>&1 &
echo \$! >"$d/pid"
i=0
until curl -s -m 1 $cacert "$scheme://127.0.0.1:$cport/health" | grep -q true; do
	i=\$((i + 1))
	[ \$i -ge 100 ] && exit 1
	sleep 0.05
done
EOS
	cat >"$d/restart" <<EOS
#!/bin/sh
p=\$(cat "$d/pid")
kill "\$p"
while kill -0 "\$p" 2>/dev/null; do sleep 0.05; done
exec sh "$d/start"
EOS
	chmod +x "$d/start" "$d/restart"
	sh "$d/start" || { cat "$d/etcd.log"; return 1; }
	ETCD_DIR=$d
	if [ "$scheme" = https ]; then ETCD_URL="etcd+https://127.0.0.1:$cport"; else ETCD_URL="etcd://127.0.0.1:$cport"; fi
	export ETCD_URL ETCD_DIR
}

# etcd_auth_enable USER PASSWORD: on the etcd start_etcd started (plain http)
etcd_auth_enable() {
	command -v etcdctl >/dev/null 2>&1 || return 77
	set -- "$1" "$2" "etcdctl --endpoints http://${ETCD_URL#etcd://}"
	# roles grant on a prefix; the contract writes under weft-test/, weftd under weft/
	$3 user add "root:root-$$" >/dev/null &&
		$3 user add "$1:$2" >/dev/null &&
		$3 role add weft >/dev/null &&
		$3 role grant-permission weft --prefix=true readwrite weft/ >/dev/null &&
		$3 role grant-permission weft --prefix=true readwrite weft-test/ >/dev/null &&
		$3 user grant-role "$1" weft >/dev/null &&
		$3 auth enable >/dev/null 2>&1
}

start_consul_emu() {
	emu=$1/tests/consul-emu/consul-emu
	shift
	command -v python3 >/dev/null 2>&1 && [ -f "$emu" ] || return 77
	d=$(mktemp -d /tmp/weft-consul-emu.XXXXXX)
	STORES_DIRS="$STORES_DIRS $d"
	python3 "$emu" --listen 127.0.0.1:0 --port-file "$d/port" "$@" >"$d/emu.log" 2>&1 &
	STORES_PIDS="$STORES_PIDS $!"
	i=0
	until [ -s "$d/port" ]; do
		i=$((i + 1))
		[ $i -ge 100 ] && { cat "$d/emu.log"; return 1; }
		sleep 0.1
	done
	CONSUL_URL=consul://127.0.0.1:$(cat "$d/port")
	export CONSUL_URL
}
