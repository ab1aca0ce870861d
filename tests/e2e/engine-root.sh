#!/bin/bash
# engine-root.sh DIR - a Debian trixie root with its docker.io (dockerd 26.1) in DIR, for
# LAB_DOCKERD_ROOT=DIR (lib.sh): the e2e suites then drive a newer Docker engine than
# bookworm's 20.10. Does nothing if DIR already has a dockerd. Needs debootstrap and the
# Debian mirror (apt's); exits 77 (skip) when it cannot make the root.
set -eu
dir=${1:?usage: engine-root.sh DIR}
mirror=${ENGINE_MIRROR:-http://deb.debian.org/debian}
[ -x "$dir/usr/sbin/dockerd" ] && exit 0
command -v debootstrap >/dev/null || { echo "engine-root.sh: debootstrap not installed" >&2; exit 77; }
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
if ! debootstrap --variant=minbase --include=docker.io,iproute2,iptables trixie "$dir.tmp" "$mirror" \
	>"$dir.log" 2>&1; then
	tail -n 5 "$dir.log" >&2
	echo "engine-root.sh: debootstrap of trixie from $mirror failed (log: $dir.log)" >&2
	rm -rf "$dir.tmp"
	exit 77
fi
mv "$dir.tmp" "$dir"
chroot "$dir" dockerd --version
