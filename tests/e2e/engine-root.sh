#!/bin/bash
# engine-root.sh ENGINE DIR - a Debian root with that release's docker.io in DIR, for
# LAB_DOCKERD_ROOT=DIR (lib.sh): the e2e suites then drive another Docker engine than
# bookworm's 20.10. ENGINE is trixie (Docker 26.1) or sid (Docker 28.5). Does nothing if DIR
# has a dockerd already. Needs debootstrap and the Debian mirror this machine's apt uses
# (ENGINE_MIRROR=URL to give another); exits 77 (skip) when it cannot make the root.
set -eu
engine=${1:?usage: engine-root.sh trixie|sid DIR}
dir=${2:?usage: engine-root.sh trixie|sid DIR}
case $engine in
trixie | sid) ;;
*) echo "engine-root.sh: unknown engine '$engine' (trixie: Docker 26.1, sid: Docker 28.5)" >&2; exit 2 ;;
esac
[ -x "$dir/usr/sbin/dockerd" ] && exit 0
command -v debootstrap >/dev/null || { echo "engine-root.sh: debootstrap not installed" >&2; exit 77; }

# The mirror of Debian's main archive that apt uses here: the source of a release whose
# label is "Debian" (not "Debian-Security"), as apt-cache policy shows it.
mirror=${ENGINE_MIRROR:-$(apt-cache policy 2>/dev/null | awk '
	$2 ~ /^(https?|file|ftp):/ { url = $2 }
	/ release .*o=Debian,.*l=Debian,/ && url != "" { print url; exit }')}
[ -n "$mirror" ] || { echo "engine-root.sh: apt has no Debian mirror (give ENGINE_MIRROR=URL)" >&2; exit 77; }

rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
if ! debootstrap --variant=minbase --include=docker.io,iproute2,iptables "$engine" "$dir.tmp" "$mirror" \
	>"$dir.log" 2>&1; then
	tail -n 5 "$dir.log" >&2
	echo "engine-root.sh: debootstrap of $engine from $mirror failed (log: $dir.log)" >&2
	rm -rf "$dir.tmp"
	exit 77
fi
mv "$dir.tmp" "$dir"
chroot "$dir" dockerd --version
