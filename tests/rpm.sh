#!/bin/sh
# tests/rpm.sh - etc/weft.spec builds an RPM from the release tarball, as its first lines say
# (rpmbuild -ta weft-VERSION.tar.gz): its %check runs make check, and the package holds what
# make install installs, the configuration file marked %config(noreplace).
#   tests/rpm.sh weft-VERSION.tar.gz
# Run by .ci/run after make distcheck; exits 77 where there is no rpmbuild. On a system that
# is not RPM-based (Debian: apt-get install rpm) the BuildRequires name RPM packages that are
# not in any RPM database, so they are not checked (--nodeps), and systemd's RPM macros are
# missing: %_unitdir then comes from pkg-config, and the scriptlets keep their macro names
# (the package is built and read here, never installed).
set -u
tarball=${1:?usage: tests/rpm.sh weft-VERSION.tar.gz}
command -v rpmbuild >/dev/null || { echo "SKIP: no rpmbuild"; exit 77; }
case $tarball in /*) ;; *) tarball=$PWD/$tarball ;; esac
version=$(basename "$tarball" .tar.gz)
version=${version#weft-}

tmp=$(mktemp -d /tmp/weft-rpm.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
check() {
	n=$((n + 1))
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fail=1; fi
}

set -- --define "_topdir $tmp/top"
unitdir=$(rpm --eval '%{?_unitdir}')
if [ -z "$unitdir" ]; then
	unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
	unitdir=${unitdir:-/usr/lib/systemd/system}
	set -- "$@" --define "_unitdir $unitdir" --nodeps
fi
tar -xzOf "$tarball" "weft-$version/etc/weft.spec" >"$tmp/weft.spec" || { echo "not ok - no etc/weft.spec in $tarball"; exit 1; }
check "the spec's Version is the tarball's ($version)" grep -qx "Version: *$version" "$tmp/weft.spec"

if ! rpmbuild "$@" -ta "$tarball" >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log"
	echo "not ok - rpmbuild -ta $(basename "$tarball")"
	exit 1
fi
echo "ok - rpmbuild -ta $(basename "$tarball") (its %check ran make check)"
grep '^# \(TOTAL\|PASS\|FAIL\):' "$tmp/build.log"

for rpm in "$tmp"/top/RPMS/*/weft-"$version"-*.rpm; do break; done
check "one package: weft-$version" test -f "$rpm"
rpm -qlp "$rpm" >"$tmp/files" 2>/dev/null
for f in /usr/sbin/weftd /usr/sbin/weftctl "$unitdir/weftd.service" /etc/weft/weftd.conf \
	/usr/share/man/man8/weftd.8 /usr/share/man/man8/weftctl.8 /usr/share/man/man7/weft.7; do
	check "... holds $f" sh -c "grep -q '^$f' '$tmp/files'"
done
check "... weftd.conf is a configuration file" sh -c "rpm -qp --configfiles '$rpm' | grep -qx /etc/weft/weftd.conf"
check "... the unit runs /usr/sbin/weftd" sh -c "rpm2cpio '$rpm' | (cd '$tmp' && cpio -idm --quiet) && grep -qx 'ExecStart=/usr/sbin/weftd' '$tmp$unitdir/weftd.service'"
check "... weftd needs iptables" sh -c "rpm -qpR '$rpm' | grep -qx /usr/sbin/iptables"
check "... names the unit in its scriptlets" sh -c "rpm -qp --scripts '$rpm' | grep -q 'weftd.service'"
echo "1..$n"
exit $fail
