#!/bin/bash
# scripts/demo.sh - build weft and show it at work: two containers on a weft network ping
# each other by name. Run as root from a clone, on Debian 12:
#
#   scripts/demo.sh
#
# What it does:
#   1. installs the Debian packages weft needs (apt-get, non-interactive);
#   2. builds weft in the clone: autoreconf -fi && ./configure && make;
#   3. starts a private lab with tests/e2e/lib.sh: a network namespace with its own dockerd,
#      own mounts and own data directory, so a dockerd already running on this machine is
#      never touched; imports a busybox image into it (no registry needed);
#   4. starts src/weftd there with the embedded LMDB store, creates a weft network, runs two
#      containers on it that ping each other by name, and shows what weft made (and what
#      weftctl says of it);
#   5. removes the containers and the network; on exit (also on Ctrl-C or an error) the
#      lab's trap stops the lab's dockerd and weftd and deletes the lab.
#
# Environment:
#   WEFT_DEMO_BUILD=0   skip steps 1 and 2 and use the weftd already built at src/weftd
#   LAB_KEEP=1          leave the lab in place at the end (tests/e2e/lib.sh says how to
#                       remove it afterwards)
#
# Exit status: 0 when the containers reached each other, 1 otherwise.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libmicrohttpd-dev libjansson-dev libnl-3-dev libnl-route-3-dev libcurl4-openssl-dev
	check liblmdb-dev libnftables-dev
	docker.io busybox-static iptables nftables iproute2 lmdb-utils mandoc groff-base curl
)
NET=demo
SUBNET=10.230.0.0/24
IMG=weft-test:local

step() { printf '\n==> %s\n' "$*"; }
die() {
	printf 'demo.sh: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root: I install packages and start a private dockerd"

if [ "${WEFT_DEMO_BUILD:-1}" != 0 ]; then
	step "1. installing packages: ${PACKAGES[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

	step "2. building weft: autoreconf -fi && ./configure && make"
	autoreconf -fi
	./configure
	make -j"$(nproc)"
else
	step "1-2. WEFT_DEMO_BUILD=0: using the weftd already built at src/weftd"
fi
[ -x src/weftd ] || die "src/weftd was not built"
src/weftd --version

# From here on every step checks its own result (tests/e2e/lib.sh is written for set -u).
set +e
export WEFTD=$top/src/weftd WEFTCTL=$top/src/weftctl
# shellcheck source-path=SCRIPTDIR/../tests/e2e source=lib.sh
. "$top/tests/e2e/lib.sh"

# docker: print the command, then run it against the lab's dockerd
docker_() {
	printf '  $ docker %s\n' "$*"
	dk 1 "$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

step "3. starting a private lab (network namespace + its own dockerd; the system's is not touched)"
lab_init demo
lab_host 1
lab_image 1
printf '  lab host: network namespace %s, dockerd pid %s, docker socket %s\n' \
	"$LAB-h1" "$DOCKERD_PID_1" "$LABDIR/h1/docker.sock"
printf '  image %s imported from busybox-static\n' "$IMG"

step "4. starting weftd with the embedded store"
lab_start_weftd 1
printf '  weftd pid %s, store lmdb://%s/h1/weft/weft.db, socket /run/docker/plugins/weft.sock\n' \
	"$WEFTD_PID_1" "$DATADIR"
sed 's/^/    weftd: /' "$LABDIR/h1/weftd.log"

step "5. creating the weft network '$NET' and two containers on it"
docker_ network create -d weft --ipam-driver weft --subnet "$SUBNET" "$NET" ||
	die "network create failed (weftd log: $LABDIR/h1/weftd.log)"
docker_ run -d --name alpha --network "$NET" "$IMG" sleep 600 || die "docker run alpha failed"
docker_ run -d --name beta --network "$NET" "$IMG" sleep 600 || die "docker run beta failed"
for c in alpha beta; do
	printf '  %s: %s\n' "$c" "$(dk 1 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}} mac {{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" "$c")"
done

step "6. the containers ping each other by name (Docker's embedded DNS, weft's bridge)"
rc=0
docker_ exec alpha ping -c 3 -W 2 beta || rc=1
docker_ exec beta ping -c 3 -W 2 alpha || rc=1

step "7. what weft made on the lab host"
br=$(ip -n "$LAB-h1" -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep '^weft-b' | head -1)
printf '  bridge and veths:\n'
ip -n "$LAB-h1" -br addr show dev "$br" | sed 's/^/    /'
ip -n "$LAB-h1" -br link show master "$br" | sed 's/^/    /'
printf '  nftables table inet weft:\n'
ip netns exec "$LAB-h1" nft list table inet weft | sed 's/^/    /'
printf '  iptables rules of weft (its chain WEFT-FORWARD and the jumps to it):\n'
ip netns exec "$LAB-h1" iptables -S | grep -- '--comment weft' | sed 's/^/    /'
printf '  store keys (mdb_dump of the LMDB file):\n'
mdb_dump -n -p -s data "$DATADIR/h1/weft/weft.db" | grep '^ weft/' | sed 's/^ /    /'
printf '  weftctl, the client of weftd'"'"'s control socket:\n'
for c in status networks endpoints "ipam $SUBNET"; do
	printf '  $ weftctl %s\n' "$c"
	# shellcheck disable=SC2086 # "ipam CIDR" is two words
	wctl 1 $c 2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
done

step "8. cleaning up: containers, network, then the lab"
docker_ rm -f alpha beta || rc=1
docker_ network rm "$NET" || rc=1
left=$(ip -n "$LAB-h1" -o link show | grep -cE ': (weft-b|wv)')
printf '  weft devices left on the lab host: %s\n' "$left"
[ "$left" = 0 ] || rc=1

if [ "$rc" = 0 ]; then
	step "done: alpha and beta talked over weft; the lab is removed on exit"
else
	step "FAILED (weftd log follows); the lab is removed on exit"
	sed 's/^/    weftd: /' "$LABDIR/h1/weftd.log"
fi
exit "$rc"
