#!/bin/sh
# tests/credentials.sh - weftd and a real etcd (Debian's etcd-server) that wants credentials:
# a user and password (authentication on, tokens that expire 2 s after their last use) and
# a TLS client certificate. weftd refuses to start, exit 1 and one message naming the store,
# when etcd refuses them (a wrong password; no client certificate, or a key that is not the
# certificate's); with the right ones it serves, and its store calls (the loop's, the host
# lease's, the watches') go on after etcd expired its tokens. The password is in no message.
# weftd and etcd run in a network namespace of their own (unshare -n, or -rn without root);
# without one the cases of a serving weftd are skipped. Run by make check from the build
# directory.
set -u
srcdir=${srcdir:-.}
weftd=$PWD/src/weftd
weftctl=$PWD/src/weftctl
[ -x "$weftd" ] || { echo "FAIL: $weftd not built"; exit 1; }
command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 ||
	{ echo "SKIP: etcd-server or etcd-client not installed"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl not installed"; exit 77; }
# Into a network namespace of our own, with its loopback up, where etcd and weftd meet.
if [ -z "${WEFT_CREDENTIALS_NETNS:-}" ]; then
	for u in "unshare -n" "unshare -rn"; do
		if $u true 2>/dev/null; then
			WEFT_CREDENTIALS_NETNS=1 exec $u sh "$0" "$@"
		fi
	done
	echo "# no network namespace (unshare -n, unshare -rn): the cases of a serving weftd are skipped"
	WEFT_CREDENTIALS_NETNS=none
elif ! ip link set lo up; then
	echo "FAIL: cannot bring up the loopback of the test's network namespace"
	exit 1
fi
# shellcheck source-path=SCRIPTDIR source=store/stores.sh
. "$srcdir/tests/store/stores.sh"
stores_init
tmp=$(mktemp -d /tmp/weft-credentials.XXXXXX) || exit 99
STORES_DIRS="$STORES_DIRS $tmp"
: >"$tmp/empty.conf"
fail=0
n=0
serving=

# report OK DESC [DETAIL...]
report() {
	ok=$1 desc=$2
	shift 2
	n=$((n + 1))
	if [ "$ok" = 0 ]; then
		echo "ok $n - $desc"
		return
	fi
	echo "not ok $n - $desc"
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#   /'
	done
	fail=1
}

# weftd NAME ARGS...: weftd with nothing from the machine, its files under $tmp/NAME; one that
# does not stop is stopped after 20 s (exit 124)
weftd() {
	name=$1
	shift
	timeout 20 "$weftd" --config "$tmp/empty.conf" --docker-socket none --host-id h1 --state-dir "$tmp/$name/state" \
		--socket "$tmp/$name/weft.sock" --control-socket "$tmp/$name/control.sock" "$@"
}

# refused DESC PATTERN ARGS...: weftd exits 1 and says one line matching PATTERN (a case pattern)
refused() {
	desc=$1 want=$2
	shift 2
	out=$(weftd refused "$@" 2>&1)
	rc=$?
	# shellcheck disable=SC2254 # want is a pattern
	case $out in
	$want) [ "$rc" = 1 ] ;;
	*) false ;;
	esac
	report $? "$desc" "exit $rc, said: $out" "expected exit 1 and: $want"
}

# serve NAME ARGS...: weftd in the background (its own pid: no subshell) until it answers on
# its plugin socket
serve() {
	name=$1
	shift
	mkdir -p "$tmp/$name"
	"$weftd" --config "$tmp/empty.conf" --docker-socket none --host-id h1 --state-dir "$tmp/$name/state" \
		--socket "$tmp/$name/weft.sock" --control-socket "$tmp/$name/control.sock" "$@" >"$tmp/$name/log" 2>&1 &
	serving="$serving $!"
	i=0
	until curl -sf --max-time 5 --unix-socket "$tmp/$name/weft.sock" -X POST http://weft/Plugin.Activate \
		>/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge 100 ] && return 1
		sleep 0.1
	done
}

# logged NAME TEXT [SECONDS]: TEXT shows up in weftd NAME's log within SECONDS (default 10)
logged() {
	i=0
	until grep -qF -- "$2" "$tmp/$1/log"; do
		i=$((i + 1))
		[ $i -ge $((${3:-10} * 10)) ] && return 1
		sleep 0.1
	done
}

# request NAME PATH JSON: a request of Docker's to weftd NAME; its reply
request() {
	curl -s --max-time 15 --unix-socket "$tmp/$1/weft.sock" -X POST -d "$3" "http://weft/$2"
}

stop_serving() {
	for p in $serving; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	serving=
}
trap 'stop_serving; stores_cleanup' EXIT INT TERM

# ---------------------------------------------------------------- users and passwords
ETCD_FLAGS="--auth-token simple --auth-token-ttl 2" start_etcd || { echo "FAIL: etcd did not start"; exit 1; }
url=$ETCD_URL
etcdctl="etcdctl --endpoints http://${url#etcd://} --user root:root-$$"
pw="pw $$ with blanks " # blanks, at the end too: a password's own, kept
etcd_auth_enable weft "$pw" || { echo "FAIL: could not turn etcd's authentication on (etcdctl)"; exit 1; }
printf '%s\n' "$pw" >"$tmp/password"
printf 'not-the-password\n' >"$tmp/wrong-password"
chmod 600 "$tmp/password" "$tmp/wrong-password"
auth="--store $url --store-user weft --store-allow-cleartext-credentials"

# shellcheck disable=SC2086 # auth is words
refused "a wrong password: weftd does not start, naming the store and the user" \
	"<3>cluster store $url refused user 'weft': authentication failed, invalid user ID or password (see --store-password-file)" \
	$auth --store-password-file "$tmp/wrong-password"
# shellcheck disable=SC2086
refused "an unknown user: the same" \
	"<3>cluster store $url refused user 'nobody': authentication failed, invalid user ID or password (see --store-password-file)" \
	--store "$url" --store-user nobody --store-allow-cleartext-credentials --store-password-file "$tmp/password"
case $out in
*not-the-password* | *"$pw"*) report 1 "... and says no password" "$out" ;;
*) report 0 "... and says no password" ;;
esac

if [ "$WEFT_CREDENTIALS_NETNS" = 1 ]; then
	# shellcheck disable=SC2086
	serve u1 $auth --store-password-file "$tmp/password" --lease-ttl 10
	report $? "the right password: weftd serves" "$(cat "$tmp/u1/log")"
	logged u1 "registered host 'h1'"
	report $? "... and registers its host in the store" "$(cat "$tmp/u1/log")"
	# Nothing of weftd's asks for 3 s (the lease keepalives are no calls etcd checks the token of).
	sleep 3
	reply=$(request u1 IpamDriver.RequestPool '{"AddressSpace":"weft-global","Pool":"10.250.0.0/24","SubPool":"","Options":{},"V6":false}')
	pool=$($etcdctl get --print-value-only weft/v1/pools/10.250.0.0-24 2>&1)
	case $reply in *Err*) false ;; *PoolID*) [ -n "$pool" ] ;; *) false ;; esac
	report $? "after etcd expired its token: a request of Docker's writes its pool into the store" "$reply" "$pool" \
		"$(cat "$tmp/u1/log")"
	# A host that another client writes: weftd's watch lists the hosts, with a token of its own.
	sleep 3
	$etcdctl put weft/v1/hosts/h2 '{"addr":"192.0.2.2","host":"h2","version":"0"}' >/dev/null
	i=0
	until "$weftctl" -s "$tmp/u1/control.sock" peers 2>&1 | grep -q h2 || [ $i -ge 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	peers=$("$weftctl" -s "$tmp/u1/control.sock" peers 2>&1)
	case $peers in *h2*192.0.2.2*) true ;; *) false ;; esac
	report $? "... and its watch sees a host another client wrote" "$peers" "$(cat "$tmp/u1/log")"
	status=$("$weftctl" -s "$tmp/u1/control.sock" status 2>&1)
	report $? "... and weftctl status says healthy" "$status"
	! grep -qF -e "$pw" -e "Authorization" "$tmp/u1/log"
	report $? "... and weftd's log holds no password" "$(cat "$tmp/u1/log")"
	! grep -q "refused\|TLS failed\|permission denied\|unreachable" "$tmp/u1/log"
	report $? "... nor any failure of the store" "$(cat "$tmp/u1/log")"
	stop_serving
fi

# ---------------------------------------------------------------- TLS client certificates
pki=$tmp/pki
mkdir "$pki"
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/srv.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$pki/cli.ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=weft-test-ca \
	-keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null || { echo "FAIL: could not make the test CA"; exit 1; }
for c in srv cli; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=weft-$c" \
		-keyout "$pki/$c.key" -out "$pki/$c.csr" 2>/dev/null &&
		openssl x509 -req -in "$pki/$c.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 1 \
			-extfile "$pki/$c.ext" -out "$pki/$c.pem" 2>/dev/null ||
		{ echo "FAIL: could not make the $c certificate"; exit 1; }
done
ETCD_FLAGS= start_etcd "$pki/srv.pem" "$pki/srv.key" "$pki/ca.pem" "$pki/cli.pem" "$pki/cli.key" ||
	{ echo "FAIL: etcd did not start with client certificates"; exit 1; }
url=$ETCD_URL

# TLS 1.3 (curl and etcd choose it) ends the handshake before the server checks the client's
# certificate, which it refuses by closing; in TLS 1.2 the handshake fails with an alert.
refused "no client certificate: weftd does not start, naming the store" \
	"<3>cluster store $url: TLS failed: *certificate*" \
	--store "$url" --store-ca "$pki/ca.pem"
refused "a key that is not the certificate's" \
	"<3>cluster store $url: TLS failed: unable to set private key file: '$pki/srv.key' type PEM" \
	--store "$url" --store-ca "$pki/ca.pem" --store-cert "$pki/cli.pem" --store-key "$pki/srv.key"
refused "a store certificate of a CA weftd does not trust" \
	"<3>cluster store $url: TLS failed: SSL certificate problem: *" \
	--store "$url" --store-cert "$pki/cli.pem" --store-key "$pki/cli.key"
if [ "$WEFT_CREDENTIALS_NETNS" = 1 ]; then
	serve c1 --store "$url" --store-ca "$pki/ca.pem" --store-cert "$pki/cli.pem" --store-key "$pki/cli.key" \
		--lease-ttl 10
	report $? "the client certificate: weftd serves" "$(cat "$tmp/c1/log")"
	logged c1 "registered host 'h1'"
	report $? "... and registers its host in the store" "$(cat "$tmp/c1/log")"
	reply=$(request c1 IpamDriver.RequestPool '{"AddressSpace":"weft-global","Pool":"10.251.0.0/24","SubPool":"","Options":{},"V6":false}')
	case $reply in *Err*) false ;; *PoolID*) true ;; *) false ;; esac
	report $? "... and a request of Docker's writes its pool into the store" "$reply" "$(cat "$tmp/c1/log")"
	stop_serving
fi

echo "1..$n"
exit "$fail"
