#!/bin/sh
# tests/startup.sh - weftd's fatal start-up errors: each one exits with status 1 (weftd(8),
# EXIT STATUS) and one message saying why. An LMDB store that cannot be opened, a bad --store
# URL, a --store-token-file or --store-password-file that cannot be used, credentials that do
# not fit the store's URL or would cross the network in clear text (unless
# --store-allow-cleartext-credentials), and another weftd serving the plugin socket:
# the second weftd is refused before it makes or changes anything (the first's firewall), and
# the first goes on answering. A
# weftd stopped by SIGTERM exits 0, removes its socket and closes it once (strace, if there).
# Every path is in a temporary directory, never /run/docker/plugins. The cases where weftd
# gets as far as the kernel run it in a private network namespace (unshare -n, or -rn without
# root), and are skipped when there is none. Run by make check from the build directory.
set -u
weftd=./src/weftd
[ -x "$weftd" ] || { echo "FAIL: $weftd not built"; exit 1; }
tmp=$(mktemp -d /tmp/weft-startup.XXXXXX) || exit 99
first= # the pid of the weftd that serves, while it runs
trap '[ -z "$first" ] || kill "$first" 2>/dev/null; rm -rf "$tmp"' EXIT
: >"$tmp/empty.conf"
sock=$tmp/run/weft.sock
fail=0
n=0

# weftd ARGS...: weftd with nothing from the machine (no weftd.conf, no Docker, no /run)
weftd() {
	"$weftd" --config "$tmp/empty.conf" --docker-socket none --host-id h1 --control-socket none "$@"
}

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

# case_ DESC WANT [ARGS...]: weftd exits 1 and says exactly WANT
case_() {
	desc=$1 want=$2
	shift 2
	out=$(weftd "$@" 2>&1)
	rc=$?
	[ "$rc" = 1 ] && [ "$out" = "$want" ]
	report $? "$desc" "exit $rc, said: $out" "expected exit 1 and: $want"
}

touch "$tmp/file"
case_ "the state directory is a file: LMDB cannot open it" \
	"<3>store 'lmdb://$tmp/file/weft.db': lmdb $tmp/file/weft.db: Not a directory" \
	--state-dir "$tmp/file" --socket "$sock"
mkdir -p "$tmp/garbage"
head -c 8192 /dev/zero | tr '\0' x >"$tmp/garbage/weft.db"
case_ "the LMDB file is not one" \
	"<3>store 'lmdb://$tmp/garbage/weft.db': lmdb $tmp/garbage/weft.db: MDB_INVALID: File is not an LMDB file" \
	--state-dir "$tmp/garbage" --socket "$sock"
case_ "the state directory cannot be made" \
	"<3>cannot create state directory '$tmp/file/state': Not a directory" \
	--state-dir "$tmp/file/state" --socket "$sock"
case_ "a store URL of no known scheme" \
	"<3>store URL 'bogus://x': unknown scheme (supported: lmdb, consul, consul+https, etcd, etcd+https)" \
	--state-dir "$tmp/state" --socket "$sock" --store bogus://x
case_ "an etcd URL without a host" "<3>store 'etcd://': expected etcd://HOST:PORT" \
	--state-dir "$tmp/state" --socket "$sock" --store etcd://
# a store nobody answers on is no error (weftd retries): these stop at the token
case_ "a token file that does not exist" \
	"<3>--store-token-file '$tmp/no-token': No such file or directory" \
	--state-dir "$tmp/state" --socket "$sock" --store consul+https://127.0.0.1:9 --store-token-file "$tmp/no-token"
(umask 077 && : >"$tmp/empty-token")
case_ "an empty token file" "<3>--store-token-file '$tmp/empty-token': expected one line holding the token" \
	--state-dir "$tmp/state" --socket "$sock" --store consul+https://127.0.0.1:9 --store-token-file "$tmp/empty-token"

# Credentials that do not fit the store, before anything is made (no state directory).
case_ "a user without a password file" "<3>--store-user and --store-password-file go together" \
	--state-dir "$tmp/no-state" --store etcd+https://127.0.0.1:9 --store-user weft
case_ "a password file without a user" "<3>--store-user and --store-password-file go together" \
	--state-dir "$tmp/no-state" --store etcd+https://127.0.0.1:9 --store-password-file "$tmp/no-password"
case_ "a client certificate without its key" "<3>--store-cert and --store-key go together" \
	--state-dir "$tmp/no-state" --store etcd+https://127.0.0.1:9 --store-cert "$tmp/cert.pem"
case_ "a token for etcd" \
	"<3>--store-token-file: only a consul:// or consul+https:// store takes a token (etcd's users: --store-user)" \
	--state-dir "$tmp/no-state" --store etcd+https://127.0.0.1:9 --store-token-file "$tmp/empty-token"
case_ "a user for Consul" \
	"<3>--store-user: only an etcd:// or etcd+https:// store takes a user (Consul's: --store-token-file)" \
	--state-dir "$tmp/no-state" --store consul+https://127.0.0.1:9 --store-user weft --store-password-file "$tmp/pw"
case_ "a client certificate for a store without TLS" \
	"<3>--store-cert: only a consul+https:// or etcd+https:// store takes a client certificate" \
	--state-dir "$tmp/no-state" --store etcd://127.0.0.1:9 --store-cert "$tmp/cert.pem" --store-key "$tmp/key.pem"
case_ "a token over plain HTTP" \
	"<3>--store-token-file with store consul://127.0.0.1:9: the token would cross the network unencrypted, readable on the way; use consul+https://, or give --store-allow-cleartext-credentials where that is fine" \
	--state-dir "$tmp/no-state" --store consul://127.0.0.1:9 --store-token-file "$tmp/empty-token"
case_ "a password over plain HTTP" \
	"<3>--store-password-file with store etcd://127.0.0.1:9: the password would cross the network unencrypted, readable on the way; use etcd+https://, or give --store-allow-cleartext-credentials where that is fine" \
	--state-dir "$tmp/no-state" --store etcd://127.0.0.1:9 --store-user weft --store-password-file "$tmp/pw"
[ ! -e "$tmp/no-state" ]
report $? "... each before it made anything (no state directory)"
# allowed, weftd goes on and reads the files
case_ "a token over plain HTTP, allowed" "<3>--store-token-file '$tmp/empty-token': expected one line holding the token" \
	--state-dir "$tmp/state" --socket "$sock" --store consul://127.0.0.1:9 --store-token-file "$tmp/empty-token" \
	--store-allow-cleartext-credentials
case_ "a password over plain HTTP, allowed" "<3>--store-password-file '$tmp/no-password': No such file or directory" \
	--state-dir "$tmp/state" --socket "$sock" --store etcd://127.0.0.1:9 --store-user weft \
	--store-password-file "$tmp/no-password" --store-allow-cleartext-credentials
printf 'store-allow-cleartext-credentials = yes\n' >"$tmp/cleartext.conf"
case_ "... also allowed in the configuration file" \
	"<3>--store-password-file '$tmp/no-password': No such file or directory" \
	--config "$tmp/cleartext.conf" --state-dir "$tmp/state" --socket "$sock" --store etcd://127.0.0.1:9 \
	--store-user weft --store-password-file "$tmp/no-password"
(umask 022 && printf '\n' >"$tmp/open-password")
case_ "a password file others can read (a warning), without a password" \
	"<4>--store-password-file '$tmp/open-password' is readable by others than its owner
<3>--store-password-file '$tmp/open-password': expected one line holding the password" \
	--state-dir "$tmp/state" --socket "$sock" --store etcd+https://127.0.0.1:9 --store-user weft \
	--store-password-file "$tmp/open-password"
(umask 077 && printf 'one\ntwo\n' >"$tmp/two-lines")
case_ "a password file of two lines" "<3>--store-password-file '$tmp/two-lines': expected one line holding the password" \
	--state-dir "$tmp/state" --socket "$sock" --store etcd+https://127.0.0.1:9 --store-user weft \
	--store-password-file "$tmp/two-lines"
case_ "a client certificate that cannot be read" "<3>--store-cert '$tmp/no-cert.pem': No such file or directory" \
	--state-dir "$tmp/state" --socket "$sock" --store etcd+https://127.0.0.1:9 --store-cert "$tmp/no-cert.pem" \
	--store-key "$tmp/no-key.pem"

# From here weftd gets to the kernel: in a network namespace of its own.
if unshare -n true 2>/dev/null; then
	netns="unshare -n"
elif unshare -rn true 2>/dev/null; then
	netns="unshare -rn"
else
	echo "# no network namespace (unshare -n, unshare -rn): the cases of a serving weftd are skipped"
	echo "1..$n"
	exit "$fail"
fi

# answers SOCK: weftd answers Docker's handshake on SOCK
answers() {
	curl -sf --max-time 5 --unix-socket "$1" -X POST http://weft/Plugin.Activate 2>&1 | grep -q NetworkDriver
}

# The first weftd, under strace when there is one (LeakSanitizer cannot run under a tracer).
trace=
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
	trace="strace -f -qq -e trace=close -o $tmp/strace"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
fi
# shellcheck disable=SC2086,SC2016 # netns and trace are words; $$ and $@ are the inner sh's
$trace $netns sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/first.pid" "$weftd" --config "$tmp/empty.conf" \
	--docker-socket none --host-id h1 --control-socket "$tmp/run/control.sock" \
	--state-dir "$tmp/state1" --socket "$sock" 2>"$tmp/first.log" &
runner=$!
i=0
until answers "$sock" || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
first=$(cat "$tmp/first.pid" 2>/dev/null)
answers "$sock"
report $? "a first weftd serves $sock" "$(cat "$tmp/first.log")"

# The second weftd runs where the first does, as on one host, when this script can enter the
# first's namespace (root): there a second weftd that got as far as restoring its (empty) state
# would replace the first's firewall with its own. Else in a namespace of its own.
nft_weft=
if nsenter --net="/proc/$first/ns/net" true 2>/dev/null; then
	second="nsenter --net=/proc/$first/ns/net"
	if command -v nft >/dev/null; then
		# a network of the first weftd, as Docker creates it: its nftables table appears
		for req in 02-IpamDriver.RequestPool 03-IpamDriver.RequestAddress 05-NetworkDriver.CreateNetwork; do
			curl -sf --max-time 5 --unix-socket "$sock" -X POST -d "@${srcdir:-.}/tests/data/$req.json" \
				"http://weft/${req#*-}" >/dev/null || break
		done
		nft_weft="$second nft list table inet weft"
		$nft_weft >/dev/null 2>&1
		report $? "the first weftd has a network, and its nftables table"
	fi
else
	second=$netns
fi
# shellcheck disable=SC2086
out=$($second "$weftd" --config "$tmp/empty.conf" --docker-socket none --host-id h2 --control-socket none \
	--state-dir "$tmp/state2" --socket "$sock" 2>&1)
rc=$?
want="<3>$sock is served by another process (is weftd already running?)"
[ "$rc" = 1 ] && [ "$out" = "$want" ]
report $? "a second weftd on the same socket is refused" "exit $rc, said: $out" "expected exit 1 and: $want"
[ ! -e "$tmp/state2" ]
report $? "... before it made anything (no state directory)"
if [ -n "$nft_weft" ]; then
	$nft_weft >/dev/null 2>&1
	report $? "... nor changed the firewall of the first (its nftables table is there)"
else
	echo "# cannot enter the first weftd's network namespace, or no nft: its firewall is not checked"
fi
answers "$sock"
report $? "... and the first weftd still answers" "$(cat "$tmp/first.log")"
# shellcheck disable=SC2086
out=$($netns "$weftd" --config "$tmp/empty.conf" --docker-socket none --host-id h2 --control-socket none \
	--state-dir "$tmp/state2" --socket "$tmp/file" 2>&1)
rc=$?
want="<3>$tmp/file exists and is not a socket"
[ "$rc" = 1 ] && [ "$out" = "$want" ] && [ -f "$tmp/file" ]
report $? "a plugin socket path that is a file is refused, and left alone" "exit $rc, said: $out" \
	"expected exit 1 and: $want"

kill -TERM "$first"
wait "$runner"
rc=$?
first=
[ "$rc" = 0 ] && [ ! -e "$sock" ]
report $? "SIGTERM stops the first weftd: exit 0, its socket removed" "exit $rc" "$(cat "$tmp/first.log")"
if [ -n "$trace" ]; then
	# "close(7) = -1 EBADF": a descriptor closed twice, which another thread may have had meanwhile
	bad=$(grep 'close(.*EBADF' "$tmp/strace")
	[ -z "$bad" ]
	report $? "... and closes each of its descriptors once" "$bad"
else
	echo "# no strace: the check that weftd closes its descriptors once is skipped"
fi

echo "1..$n"
exit "$fail"
