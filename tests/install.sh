#!/bin/sh
# tests/install.sh - "make install DESTDIR=..." lays out what weft installs: weftd and weftctl
# in sbindir, the three manual pages, the systemd unit (with the paths filled in, and valid
# for systemd-analyze where it is there) and the example configuration, which a second
# install keeps once an operator changed it; "make uninstall" removes all but that file.
# Run by make check from the build directory (it installs into a temporary DESTDIR).
set -u
MAKE=${MAKE:-make}
tmp=$(mktemp -d /tmp/weft-install.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT
d=$tmp/root
fail=0
n=0
check() {
	n=$((n + 1))
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fail=1; fi
}
# the install dirs, from make check's environment (AM_TESTS_ENVIRONMENT)
if [ -z "${sbindir:-}" ] || [ -z "${unitdir:-}" ] || [ -z "${sysconfdir:-}" ] || [ -z "${mandir:-}" ]; then
	echo "not ok - run by make check (it sets sbindir, sysconfdir, mandir, unitdir)"
	exit 99
fi

$MAKE -s install DESTDIR="$d" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; echo "not ok - make install"; exit 1; }
check "weftd in $sbindir" test -x "$d$sbindir/weftd"
check "weftctl in $sbindir" test -x "$d$sbindir/weftctl"
check "weftctl runs" "$d$sbindir/weftctl" --version
for p in man8/weftd.8 man8/weftctl.8 man7/weft.7; do
	check "$mandir/$p" test -f "$d$mandir/$p"
done
unit=$d$unitdir/weftd.service
check "the unit in $unitdir" test -f "$unit"
check "... runs $sbindir/weftd" grep -qx "ExecStart=$sbindir/weftd" "$unit"
check "... names the configuration file" grep -q "$sysconfdir/weft/weftd.conf" "$unit"
check "... no @placeholder@ left" sh -c "! grep -q '@[a-z]*@' '$unit'"
check "... ordered before docker.service, ready when weftd says so, restarted on failure, a runtime dir for the control socket" \
	sh -c "grep -qx 'Before=docker.service' '$unit' && grep -qx 'Type=notify' '$unit' &&
		grep -qx 'Restart=on-failure' '$unit' && grep -qx 'RuntimeDirectory=weft' '$unit'"
if command -v systemd-analyze >/dev/null; then
	# verify wants the binary where ExecStart says: a copy of the unit pointing into DESTDIR
	sed "s|^ExecStart=.*|ExecStart=$d$sbindir/weftd|" "$unit" >"$tmp/weftd.service"
	# (--man=no: the pages of Documentation= are not installed on this machine)
	check "systemd-analyze verify accepts the unit" systemd-analyze verify --man=no "$tmp/weftd.service"
fi
conf=$d$sysconfdir/weft/weftd.conf
check "the example configuration in $sysconfdir/weft" test -f "$conf"
echo 'store = etcd://10.0.0.5:2379' >>"$conf"
$MAKE -s install DESTDIR="$d" >"$tmp/install.log" 2>&1
check "a second install keeps a changed weftd.conf" grep -qx 'store = etcd://10.0.0.5:2379' "$conf"
$MAKE -s uninstall DESTDIR="$d" >"$tmp/uninstall.log" 2>&1
check "make uninstall removes every file but the changed weftd.conf" \
	sh -c "[ \"\$(find '$d' -type f)\" = '$conf' ]"

echo "1..$n"
exit "$fail"
