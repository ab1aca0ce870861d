#!/bin/sh
# tests/conffile.sh - weftd's configuration file (--config): every kind of bad line stops
# weftd before it does anything, with a message naming the file, the line and the key; the
# file's settings apply and the command line wins over them. Needs no privileges: each case
# ends before weftd touches the state directory, which must not exist afterwards.
# Run by make check from the build directory.
set -u
weftd=./src/weftd
[ -x "$weftd" ] || { echo "FAIL: $weftd not built"; exit 1; }
tmp=$(mktemp -d /tmp/weft-conf.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT
state=$tmp/state # must never be created
conf=$tmp/weftd.conf
fail=0
n=0

# case DESC WANT [ARGS...]: with the file $conf, weftd exits 1 and says exactly WANT
case_() {
	desc=$1 want=$2
	shift 2
	n=$((n + 1))
	out=$("$weftd" --config "$conf" --state-dir "$state" --docker-socket none "$@" 2>&1)
	rc=$?
	if [ "$rc" = 1 ] && [ "$out" = "$want" ] && [ ! -e "$state" ]; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		echo "#   exit $rc, said: $out"
		echo "#   expected: $want"
		[ ! -e "$state" ] || echo "#   and it created $state"
		fail=1
	fi
}

printf '# weftd.conf\n\nstroe = etcd://10.0.0.5:2379\n' >"$conf"
case_ "an unknown key" "weftd: $conf:3: unknown key 'stroe' (see weftd --help)"

printf 'lease-ttl = 2\n' >"$conf"
case_ "a number out of range" "weftd: $conf:1: lease-ttl '2': expected seconds, 10..3600"

printf 'gc-grace = ten\n' >"$conf"
case_ "not a number" "weftd: $conf:1: gc-grace 'ten': expected seconds, 0..2592000"

printf 'default-pool-size = 31\n' >"$conf"
case_ "a prefix length out of range" "weftd: $conf:1: default-pool-size '31': expected a prefix length, 8..30"

printf 'store etcd://10.0.0.5:2379\n' >"$conf"
case_ "a line without '='" "weftd: $conf:1: expected 'key = value' (the keys are weftd's long options)"

printf 'store = etcd://a:2379\nstore = etcd://b:2379\n' >"$conf"
case_ "a key given twice" "weftd: $conf:2: key 'store' given twice"

printf 'store =   # nothing\n' >"$conf"
case_ "an empty value" "weftd: $conf:1: store: expected a value"

printf 'debug = maybe\n' >"$conf"
case_ "a bad yes/no" "weftd: $conf:1: debug 'maybe': expected yes or no"

printf 'config = /etc/other.conf\n' >"$conf"
case_ "config is not a key of the file" "weftd: $conf:1: unknown key 'config' (see weftd --help)"

printf 'help = yes\n' >"$conf"
case_ "nor is help" "weftd: $conf:1: unknown key 'help' (see weftd --help)"

printf -- '--store = etcd://a:2379\n' >"$conf"
case_ "keys have no dashes in front" "weftd: $conf:1: unknown key '--store' (see weftd --help)"

printf 'store = a\0b\n' >"$conf"
case_ "a NUL byte" "weftd: $conf: not a text file of at most 1 MiB"

conf=$tmp/missing.conf
case_ "a --config file that does not exist" "weftd: $conf: No such file or directory"
conf=$tmp
case_ "a directory" "weftd: $conf: Is a directory"
conf=$tmp/weftd.conf

# The file applies: its default-pool-size 8 is too short for the default pool's /16.
printf '# comments, blank lines and blanks around keys are fine\n\n  debug=no  \ndefault-pool-size = 8 # short\n' >"$conf"
case_ "the file's settings apply" \
	"<3>--default-pool '10.200.0.0/16': expected an IPv4 CIDR of /8 or shorter (see --default-pool-size)"

printf 'advertise = 10.0.0.300\n' >"$conf"
case_ "an advertise that is neither an address nor an interface" \
	"<3>--advertise '10.0.0.300': expected an IPv4 or IPv6 address or an interface of this host"
printf 'advertise = fe80::1\n' >"$conf"
case_ "an advertised IPv6 address that is not global" \
	"<3>--advertise 'fe80::1': expected a global IPv6 address (other hosts send to it)"
# an interface is taken (lo: 127.0.0.1): weftd gets as far as the pool
printf 'advertise = lo\ndefault-pool-size = 8\n' >"$conf"
case_ "an advertise naming an interface" \
	"<3>--default-pool '10.200.0.0/16': expected an IPv4 CIDR of /8 or shorter (see --default-pool-size)"

# The command line wins: the file's host-id is bad, the flag's is good; the file's pool size
# still applies (the same message as above shows that weftd got past the host ID).
printf 'host-id = not valid!\ndefault-pool-size = 8\n' >"$conf"
case_ "the file's host-id alone is refused" \
	"<3>host id 'not valid!' is not valid: 1-64 characters of A-Z a-z 0-9 _ . - (set --host-id)"
case_ "a flag wins over the file" \
	"<3>--default-pool '10.200.0.0/16': expected an IPv4 CIDR of /8 or shorter (see --default-pool-size)" \
	--host-id good
case_ "of a flag given twice, the last wins" \
	"<3>--default-pool '10.9.0.0/16': expected an IPv4 CIDR of /8 or shorter (see --default-pool-size)" \
	--default-pool-size 24 --default-pool 10.9.0.0/16 --default-pool-size 8 --host-id good
# and a bad flag is named as a flag, after the file was read fine
printf 'lease-ttl = 20\n' >"$conf"
case_ "a bad flag is named as a flag" "weftd: --lease-ttl '5': expected seconds, 10..3600" --lease-ttl 5

# etc/weftd.conf, every key with a value uncommented, is a file weftd reads: it gets as far
# as the host ID (given bad on purpose).
sed -n 's/^#\([a-z-]* = [^ #][^ #]*\).*/\1/p' "${srcdir:-.}/etc/weftd.conf" >"$conf"
[ "$(wc -l <"$conf")" -ge 10 ] || { echo "not ok: too few keys taken from etc/weftd.conf"; fail=1; }
case_ "etc/weftd.conf's defaults, uncommented, are read" \
	"<3>host id 'bad!' is not valid: 1-64 characters of A-Z a-z 0-9 _ . - (set --host-id)" --host-id 'bad!'

echo "1..$n"
exit "$fail"
