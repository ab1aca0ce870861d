# shellcheck shell=bash
# tests/e2e/lib.sh - lab harness for weft end-to-end tests (sourced, bash, set -u safe).
#
# A "lab" is a set of network namespaces on one machine:
#   $LAB-wan   underlay: bridge br0, nothing else (never in the root namespace)
#   $LAB-hN    simulated host N: eth0 192.0.2.N/24 and 2001:db8:2::N/64 on the wan bridge, its own dockerd
#              (and weftd) in a private, persistent mount namespace ($LABDIR/hN/mnt)
#   $LAB-out   "outside world" 192.0.2.254/24 and 2001:db8:2::254/64 on the wan bridge, no other routes
#
# Usage in a test:
#   . "$(dirname "$0")/lib.sh"
#   lab_init mytest; lab_host 1; lab_image 1
#   expect_ok "runs" dk 1 run --rm weft-test:local true
#   lab_summary
#
# Functions:
#   lab_init NAME          LAB, LABDIR=/run/$LAB, DATADIR=/var/lib/$LAB, teardown traps
#   lab_host N             netns $LAB-hN (192.0.2.N) + dockerd (pid in DOCKERD_PID_N)
#   lab_outside            netns $LAB-out (192.0.2.254)
#   lab_image N            import busybox image weft-test:local into host N
#   dk N ARGS...           docker CLI of host N (exported function)
#   lab_exec N CMD...      run CMD in host N's net + mount namespaces
#   lab_start_weftd N [ARGS]  weftd in host N (pid in WEFTD_PID_N, log $LABDIR/hN/weftd.log),
#                          its control socket $LABDIR/hN/control.sock (never the machine's
#                          /run/weft: labs run side by side)
#   wctl N ARGS...         weftctl of host N's weftd
#   lab_stop_weftd N [SIG]    lab_stop_dockerd N [SIG]    lab_start_dockerd N
#   lab_store KIND [ARGS]  a cluster store in $LAB-out, at 192.0.2.254: KIND etcd (real etcd,
#                          port 2379) or consul (tests/consul-emu, port 8500; ARGS go to it);
#                          sets LAB_STORE_URL, STORE_PID; needs lab_outside
#   lab_store_down, lab_store_up  the store stopped (etcd) or frozen (consul), and back
#   lab_store_exec CMD...  run CMD in $LAB-out (etcdctl, curl against the store)
#   lab_store_value KEY    a key's value in the lab store, empty if absent (LAB_STORE_TOKEN if set)
#   lab_store_keys PREFIX  the keys under PREFIX, one per line; fails if there is none
#   lab_store_put KEY VALUE, lab_store_del KEY  write or delete a key by hand (a hostile or
#                          stale record, an earlier weftd's)
#   lab_wait_for FN SECS   call FN until it succeeds, for up to SECS seconds
#   lab_weft_devices N     the names of weft's devices on host N, sorted; fails if none
#   lab_no_weft_devices N  succeeds if host N has none
#   lab_weft_state N       what weft owns on host N (devices, their addresses, rules, records
#                          in its embedded store but the host's lease), sorted: compare it
#                          before and after; lab_weft_cluster_state N adds its keys in the
#                          cluster store (LAB_STORE_URL), if any
#   lab_down               teardown (automatic on exit)    lab_adopt LAB  take over a leftover lab
#   ok/fail DESC, expect_ok DESC CMD..., expect_fail_msg DESC ERE CMD...,
#   expect_same DESC WANT GOT, lab_summary
#   lab_log MSG, lab_skip MSG (exit 77), lab_bail MSG (exit 99)
# Logs: $LABDIR/hN/dockerd.log, weftd.log (gone after lab_down; use LAB_KEEP=1 to look).
#
# Everything the lab creates is removed by lab_down, which lab_init installs as an
# EXIT/INT/TERM/HUP trap. Processes are only ever killed by recorded pid, or because they
# live in a namespace / cgroup that this lab created.
#
# Exit codes follow automake: 77 = skip (not root, no docker...), 99 = harness error.
#
# Environment knobs:
#   DOCKER   docker CLI (default: docker)          DOCKERD  daemon (default: dockerd)
#   WEFTD    weftd binary (default: $abs_top_builddir/src/weftd or <top>/src/weftd)
#   WEFTCTL  weftctl binary (default: weftctl next to WEFTD)
#   LAB_DOCKERD_ARGS  extra dockerd arguments (word-split)
#   LAB_WEFTD_WRAPPER command put before weftd (word-split), e.g. "valgrind -q"
#   LAB_DEFAULT_ROUTE=0  do not give hosts a default route via 192.0.2.254
#   LAB_KEEP=1           lab_down leaves everything in place (debugging; clean up by hand)
#   LAB_IPTABLES=legacy  the hosts' iptables (dockerd's and weftd's) is the legacy backend:
#                        xtables-legacy-multi is bind-mounted over xtables-nft-multi in
#                        each host's mount namespace only
#   LAB_DOCKERD_ROOT=DIR dockerd (and its containerd, runc, iptables) run in a mount namespace
#                        whose root is DIR, a Debian root with another engine (trixie's 26.1):
#                        tests/e2e/engine-root.sh DIR makes it (debootstrap); weftd and
#                        the CLI stay the machine's; no such root: the suite is skipped

: "${DOCKER:=docker}"
: "${DOCKERD:=dockerd}"
: "${LAB_DOCKERD_ARGS:=}"
: "${LAB_WEFTD_WRAPPER:=}"
: "${LAB_DEFAULT_ROUTE:=1}"
: "${LAB_KEEP:=0}"
: "${LAB_IPTABLES:=nft}"
: "${LAB_DOCKERD_ROOT:=}"

LAB_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TOP=$(cd "$LAB_LIBDIR/../.." && pwd)
if [ -z "${WEFTD:-}" ]; then
	if [ -n "${abs_top_builddir:-}" ]; then
		WEFTD=$abs_top_builddir/src/weftd
	else
		WEFTD=$LAB_TOP/src/weftd
	fi
fi
: "${WEFTCTL:=$(dirname "$WEFTD")/weftctl}"

LAB=${LAB:-}
LAB_T_N=0
LAB_T_FAIL=0
LAB_IS_DOWN=1

# ---------------------------------------------------------------- messages, TAP

lab_log() { printf '# %s\n' "$*"; }

# lab_skip MSG: skip the whole test (automake exit 77).
lab_skip() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 77
}

# lab_bail MSG: harness/infrastructure failure (automake hard error 99).
lab_bail() {
	printf 'Bail out! %s\n' "$*"
	exit 99
}

ok() {
	LAB_T_N=$((LAB_T_N + 1))
	printf 'ok %d - %s\n' "$LAB_T_N" "$*"
}

fail() {
	LAB_T_N=$((LAB_T_N + 1))
	LAB_T_FAIL=$((LAB_T_FAIL + 1))
	printf 'not ok %d - %s\n' "$LAB_T_N" "$*"
}

# print command output as TAP diagnostics
lab__diag() { printf '%s\n' "$1" | sed 's/^/#   /'; }

# expect_ok DESC CMD...: CMD must succeed.
expect_ok() {
	local desc=$1 out rc
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		rc=$?
		fail "$desc"
		lab_log "command: $*"
		lab_log "exit $rc, output:"
		lab__diag "$out"
	fi
}

# expect_fail_msg DESC REGEX CMD...: CMD must fail and its stdout+stderr match REGEX (ERE).
expect_fail_msg() {
	local desc=$1 re=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -Eq -- "$re"; then
		ok "$desc"
	else
		fail "$desc"
		lab_log "command: $*"
		lab_log "expected failure matching /$re/, got exit $rc, output:"
		lab__diag "$out"
	fi
}

# expect_same DESC WANT GOT: GOT is exactly WANT (say, two looks at weft's state); else the diff
expect_same() {
	if [ "$3" = "$2" ]; then
		ok "$1"
	else
		fail "$1"
		lab__diag "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"
	fi
}

# lab__tail_logs: what every host's weftd logged last, and dockerd's errors, so that a run
# that failed in CI says what the daemons saw
lab__tail_logs() {
	local f
	for f in "$LABDIR"/h*/weftd.log; do
		[ -s "$f" ] || continue
		lab_log "----- ${f#"$LABDIR"/}, the last 30 lines"
		tail -n 30 "$f" | sed 's/^/#   /'
	done
	for f in "$LABDIR"/h*/dockerd.log; do
		grep -q 'level=\(error\|fatal\)' "$f" 2>/dev/null || continue
		lab_log "----- ${f#"$LABDIR"/}, the last 20 errors"
		grep 'level=\(error\|fatal\)' "$f" | tail -n 20 | sed 's/^/#   /'
	done
}

# lab_summary: print the TAP plan; non-zero if any test failed.
lab_summary() {
	printf '1..%d\n' "$LAB_T_N"
	if [ "$LAB_T_FAIL" -ne 0 ]; then
		lab_log "failed $LAB_T_FAIL of $LAB_T_N"
		lab__tail_logs
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------- pids

# start time of a pid (field 22 of /proc/PID/stat), empty if gone or a zombie
lab__starttime() {
	local s rest
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	rest=${s##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" = Z ] && return 0
	printf '%s\n' "${20}"
}

# lab__record KIND PID [HOST]: remember a pid (with its start time, to never hit a reused pid)
lab__record() {
	printf '%s %s %s %s\n' "$1" "$2" "$(lab__starttime "$2")" "${3:-0}" >>"$LABDIR/pids"
}

# lab__alive PID START: the recorded process still exists
lab__alive() {
	[ -n "$2" ] && [ "$(lab__starttime "$1")" = "$2" ]
}

# lab__recorded KIND: "pid start" of live recorded processes of that kind ("*" = any)
lab__recorded() {
	local kind pid start host
	[ -f "${LABDIR:-/nonexistent}/pids" ] || return 0
	while read -r kind pid start host; do
		# shellcheck disable=SC2053
		[[ $kind == $1 ]] || continue
		lab__alive "$pid" "$start" && printf '%s %s\n' "$pid" "$start"
	done <"$LABDIR/pids"
	return 0
}

# lab__stop_pids SIGNAL TIMEOUT_DECISECONDS ["PID START"]...: signal, wait, then KILL.
# Runs in the calling shell so that its own children are reaped (no zombies left).
lab__stop_pids() {
	local sig=$1 t=$2 e i alive
	shift 2
	[ "$#" -eq 0 ] && return 0
	for e in "$@"; do
		kill "-$sig" "${e%% *}" 2>/dev/null
	done
	for ((i = 0; i < t; i++)); do
		alive=0
		for e in "$@"; do
			# shellcheck disable=SC2086
			lab__alive $e && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for e in "$@"; do
		# shellcheck disable=SC2086
		if lab__alive $e; then
			lab_log "pid ${e%% *} ignored SIG$sig, killing"
			kill -KILL "${e%% *}" 2>/dev/null
		fi
		wait "${e%% *}" 2>/dev/null
	done
	return 0
}

# lab__spawn KIND HOST LOG CMD...: start CMD in the background in its own session (so a
# Ctrl-C on the terminal reaches only the test, whose trap tears down in order), record its
# pid in LAB_SPAWNED. The pid is written by the process itself before exec, so it is right
# even where setsid has to fork. Not to be called in $(...): the daemon stays our child.
lab__spawn() {
	local kind=$1 host=$2 log=$3 pf i
	shift 3
	LAB_SPAWNED=
	pf=$(mktemp "$LABDIR/spawn.XXXXXX")
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" </dev/null >>"$log" 2>&1 &
	disown "$!" 2>/dev/null # no "Killed" job notices at teardown (bash still reaps it)
	for ((i = 0; i < 50; i++)); do
		LAB_SPAWNED=$(cat "$pf" 2>/dev/null)
		[ -n "$LAB_SPAWNED" ] && break
		sleep 0.1
	done
	rm -f "$pf"
	[ -n "$LAB_SPAWNED" ] || return 1
	lab__record "$kind" "$LAB_SPAWNED" "$host"
}

# pids of processes whose namespace of TYPE (mnt, net) is the one bound at FILE
lab__ns_pids() {
	local p
	for p in /proc/[0-9]*; do
		[[ $p/ns/$1 -ef $2 ]] && printf '%s\n' "${p#/proc/}"
	done
	return 0
}

# cgroup directories of the lab's dockerds (--cgroup-parent /$LAB-hN), v1 and v2 layouts
lab__cg_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$LAB"-h* /sys/fs/cgroup/"$LAB"-h*; do
		[ -d "$d" ] && printf '%s\n' "$d"
	done
	return 0
}

# pids in the lab's cgroups (containers of the lab's dockerds)
lab__cg_pids() {
	local d
	for d in $(lab__cg_dirs); do
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
	return 0
}

# kill -SIG every process in the lab's cgroups
lab__cg_kill() {
	local pid
	for pid in $(lab__cg_pids); do
		kill "-$1" "$pid" 2>/dev/null
	done
	return 0
}

# ---------------------------------------------------------------- lab

# lab_require: skip unless root and the tools exist
lab_require() {
	local c
	[ "$(id -u)" = 0 ] || lab_skip "e2e tests need root"
	for c in "$DOCKER" "$DOCKERD" ip nsenter unshare setsid mount umount; do
		command -v "$c" >/dev/null 2>&1 || lab_skip "$c not found"
	done
	if [ -n "$LAB_DOCKERD_ROOT" ]; then
		[ -x "$LAB_DOCKERD_ROOT/usr/sbin/dockerd" ] ||
			lab_skip "LAB_DOCKERD_ROOT: no $LAB_DOCKERD_ROOT/usr/sbin/dockerd (tests/e2e/engine-root.sh makes it)"
		[ "$LAB_IPTABLES" = nft ] || lab_bail "LAB_DOCKERD_ROOT: the root's own iptables is used (nft)"
	fi
}

# lab_init NAME: name the lab, create its dirs, install the teardown trap
lab_init() {
	local name
	lab_require
	name=$(printf '%s' "${1:-t}" | tr -c 'a-zA-Z0-9' '-' | cut -c1-10)
	LAB="we2e-$name-$$"
	LABDIR=/run/$LAB
	DATADIR=/var/lib/$LAB
	export LAB LABDIR DATADIR DOCKER WEFTD WEFTCTL
	[ -e "$LABDIR" ] && lab_bail "$LABDIR exists already (leftover? see lab_adopt)"
	lab__traps
	mkdir -p "$LABDIR" "$DATADIR" || lab_bail "cannot create $LABDIR / $DATADIR"
	# Private bind of the run dir: mount namespaces are bound to files in it, which must
	# not sit on a shared mount.
	{ mount --bind "$LABDIR" "$LABDIR" && mount --make-private "$LABDIR"; } ||
		lab_bail "cannot bind-mount $LABDIR"
	: >"$LABDIR/pids"
	lab_log "lab $LAB (run dir $LABDIR, data $DATADIR)"
}

# teardown on any exit. A test that needs its own EXIT trap must call lab_down from it.
lab__traps() {
	LAB_IS_DOWN=0
	trap 'lab_down' EXIT
	trap 'lab_down; trap - EXIT; exit 130' INT
	trap 'lab_down; trap - EXIT; exit 143' TERM
	trap 'lab_down; trap - EXIT; exit 129' HUP
	# output pipe closed (./test | head): still tear down
	trap 'trap "" PIPE; lab_down; trap - EXIT; exit 141' PIPE
}

# lab_adopt LAB: take over an existing lab (kept with LAB_KEEP=1, or left by a crashed run)
# so that lab_down removes it:  bash -c '. tests/e2e/lib.sh; lab_adopt we2e-x-123; lab_down'
lab_adopt() {
	case ${1:-} in we2e-?*) ;; *) lab_bail "lab_adopt: not a lab name: ${1:-}" ;; esac
	lab_require
	LAB=$1
	LABDIR=/run/$LAB
	DATADIR=/var/lib/$LAB
	export LAB LABDIR DATADIR DOCKER WEFTD WEFTCTL
	lab__traps
}

# ip in the lab's namespaces
lab__ip() { ip -n "$LAB-$1" "${@:2}"; }

# lab__wan: underlay namespace with bridge br0 (created once)
lab__wan() {
	[ -e "/run/netns/$LAB-wan" ] && return 0
	ip netns add "$LAB-wan" || lab_bail "ip netns add $LAB-wan"
	lab__ip wan link set lo up
	lab__ip wan link add br0 type bridge || lab_bail "cannot create bridge in $LAB-wan"
	lab__ip wan link set br0 up
	# a plain switch: no iptables on bridged frames (harmless if br_netfilter is absent)
	# shellcheck disable=SC2016
	ip netns exec "$LAB-wan" sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do
		[ -w "$f" ] && echo 0 >"$f"; done' 2>/dev/null
	return 0
}

# lab__attach NS PORT ADDR: veth PORT (in wan, on br0) <-> eth0 in NS with ADDR/24
lab__attach() {
	local ns=$1 port=$2 addr=$3 addr6=$4
	lab__wan
	ip netns add "$LAB-$ns" || lab_bail "ip netns add $LAB-$ns"
	lab__ip wan link add "$port" type veth peer name eth0 netns "$LAB-$ns" ||
		lab_bail "cannot create veth for $ns"
	lab__ip wan link set "$port" master br0 up
	lab__ip "$ns" link set lo up
	lab__ip "$ns" addr add "$addr/24" dev eth0
	lab__ip "$ns" addr add "$addr6/64" dev eth0 nodad
	lab__ip "$ns" link set eth0 up
}

# lab_outside: namespace $LAB-out, 192.0.2.254/24 and 2001:db8:2::254/64, no route to anything else
lab_outside() {
	lab__attach out out 192.0.2.254 2001:db8:2::254
}

# lab__hd N: run dir of host N
lab_store() {
	local kind=$1 i url
	shift
	case $kind in
	etcd)
		command -v etcd >/dev/null || lab_skip "etcd not installed (etcd-server)"
		mkdir -p "$DATADIR/store"
		url=etcd://192.0.2.254:2379
		lab__spawn store out "$LABDIR/store.log" env -i PATH="$PATH" \
			ip netns exec "$LAB-out" etcd --name lab --data-dir "$DATADIR/store/etcd" \
			--listen-client-urls http://192.0.2.254:2379 --advertise-client-urls http://192.0.2.254:2379 \
			--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
			--initial-cluster lab=http://127.0.0.1:2380 --initial-cluster-state new \
			--heartbeat-interval 10 --election-timeout 100 --logger zap --log-level error \
			--log-outputs stderr "$@" || lab_bail "cannot start etcd"
		;;
	consul)
		command -v python3 >/dev/null || lab_skip "python3 not installed (the Consul emulator needs it)"
		url=consul://192.0.2.254:8500
		lab__spawn store out "$LABDIR/store.log" ip netns exec "$LAB-out" \
			python3 "$LAB_LIBDIR/../consul-emu/consul-emu" --listen 192.0.2.254:8500 "$@" ||
			lab_bail "cannot start the Consul emulator"
		;;
	*) lab_bail "lab_store: unknown kind '$kind' (etcd or consul)" ;;
	esac
	STORE_PID=$LAB_SPAWNED
	LAB_STORE_URL=$url
	LAB_STORE_KIND=$kind
	export STORE_PID LAB_STORE_URL LAB_STORE_KIND
	for ((i = 0; i < 100; i++)); do
		case $kind in
		etcd) lab_store_exec curl -s -m 1 http://192.0.2.254:2379/health | grep -q true && return 0 ;;
		consul) lab_store_exec curl -s -m 1 -o /dev/null -w '%{http_code}' http://192.0.2.254:8500/v1/status/leader |
			grep -q 200 && return 0 ;;
		esac
		sleep 0.1
	done
	tail -n 20 "$LABDIR/store.log" | sed 's/^/#   /'
	lab_bail "the $kind store did not come up"
}
# lab_store_down: the store goes away: etcd is stopped (connections refused, then a store
# that restarted), the Consul emulator frozen with SIGSTOP (connections hang)
lab_store_down() {
	case $LAB_STORE_KIND in
	etcd) lab__stop_pids TERM 100 "$STORE_PID $(lab__starttime "$STORE_PID")" ;;
	consul) kill -STOP "$STORE_PID" ;;
	esac
}
# lab_store_up: it comes back (etcd on the same data directory)
lab_store_up() {
	case $LAB_STORE_KIND in
	etcd) lab_store etcd ;;
	consul) kill -CONT "$STORE_PID" ;;
	esac
}
lab_store_exec() { ip netns exec "$LAB-out" "$@"; }
lab_store_value() {
	local v
	case $LAB_STORE_KIND in
	etcd) lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 get "$1" --print-value-only ;;
	consul) # ?raw has no newline at the end (etcdctl has one): values one per line either way
		v=$(lab_store_exec curl -s -m 3 -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" \
			"http://192.0.2.254:8500/v1/kv/$1?raw") && [ -n "$v" ] && printf '%s\n' "$v" ;;
	esac
}
lab_store_put() {
	case $LAB_STORE_KIND in
	etcd) lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 put "$1" "$2" >/dev/null ;;
	consul) lab_store_exec curl -sf -m 3 -X PUT -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" --data-binary "$2" \
		"http://192.0.2.254:8500/v1/kv/$1" >/dev/null ;;
	esac
}
lab_store_del() {
	case $LAB_STORE_KIND in
	etcd) lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 del "$1" >/dev/null ;;
	consul) lab_store_exec curl -sf -m 3 -X DELETE -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" \
		"http://192.0.2.254:8500/v1/kv/$1" >/dev/null ;;
	esac
}
lab_store_keys() {
	case $LAB_STORE_KIND in
	etcd) lab_store_exec etcdctl --endpoints http://192.0.2.254:2379 get "$1" --prefix --keys-only | grep . ;;
	consul) lab_store_exec curl -s -m 3 -H "X-Consul-Token: ${LAB_STORE_TOKEN:-}" \
		"http://192.0.2.254:8500/v1/kv/$1?keys" | tr ',' '\n' | tr -d '[]"' | grep . ;;
	esac
}
lab_weft_devices() {
	local l
	l=$(ip -n "$LAB-h$1" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(weft|wv|wc|wm)' | sort)
	[ -n "$l" ] && printf '%s\n' "$l"
}
lab_weft_state() {
	local h=$LAB-h$1
	# the host's lease record is its registration, not state of a network: left out
	lab_weft_devices "$1" || true
	ip -n "$h" -o addr show | awk '$2 ~ /^(weft|wm)/ && $4 !~ /^fe80:/ { print $2, $4 }' | sort
	ip netns exec "$h" nft list table inet weft 2>/dev/null | grep -E 'iifname|oifname|saddr|daddr'
	lab_exec "$1" iptables -S 2>/dev/null | grep -e '--comment weft' -e '^-N WEFT-FORWARD'
	lab_exec "$1" ip6tables -S 2>/dev/null | grep -e '--comment weft' -e '^-N WEFT-FORWARD' | sed 's/^/ip6tables /'
	# nor is the cluster's unique local IPv6 prefix, drawn once for good
	mdb_dump -n -p -s data "$DATADIR/h$1/weft/weft.db" 2>/dev/null | sed -n '/^HEADER=END/,/^DATA=END/p' |
		sed '1d;$d' | paste - - | grep '^ weft/' | grep -v -e '^ weft/v1/local/lease' -e '^ weft/v1/ula' |
		sed 's/^ //' | sort
	return 0
}
# lab_no_weft_devices N: host N has no device of weft's (else they are printed)
lab_no_weft_devices() { ! lab_weft_devices "$1"; }
# lab_weft_cluster_state N: lab_weft_state N, and weft's keys in the cluster store if there is one
lab_weft_cluster_state() {
	lab_weft_state "$1"
	[ -z "${LAB_STORE_URL:-}" ] || lab_store_keys weft/v1/pools/ || true
}
# lab_no_loss FILE: a ping's output in FILE says it sent packets and every one was answered
# (busybox rounds 1 lost of 500 down to "0% packet loss", so the counts are compared)
lab_no_loss() {
	local t r
	read -r t r < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' "$1")
	[ -n "$t" ] && [ "$t" -gt 0 ] && [ "$t" = "$r" ] && return 0
	# which ones went unanswered
	grep -o 'seq=[0-9]*' "$1" | cut -d= -f2 | sort -n |
		awk -v t="${t:-0}" '{ while (n < $1) printf "no answer to seq %d\n", n++; n = $1 + 1 }
			END { while (n < t) printf "no answer to seq %d\n", n++ }'
	return 1
}
# lab_loss FILE: "N packets transmitted, M packets received" of a ping's output, for a test's title
lab_loss() { grep -o '[0-9]* packets transmitted, [0-9]* packets received' "$1"; }
lab_wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		"$1" && return 0
		sleep 0.1
	done
	return 1
}
lab__hd() { printf '%s\n' "$LABDIR/h$1"; }

# lab_host N: namespace $LAB-hN with 192.0.2.N on the underlay, private mount namespace,
# and a running dockerd
lab_host() {
	local n=$1 hd
	case $n in [1-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-3]) ;;
	*) lab_bail "lab_host: N must be 1..253, got '$n'" ;; esac
	hd=$(lab__hd "$n")
	lab__attach "h$n" "h$n" "192.0.2.$n" "2001:db8:2::$n"
	# a default route makes hN look like a real host (weftd's default --advertise uses it);
	# it only leads to $LAB-out, which does not forward
	if [ "$LAB_DEFAULT_ROUTE" = 1 ]; then
		lab__ip "h$n" route add default via 192.0.2.254
		lab__ip "h$n" -6 route add default via 2001:db8:2::254
	fi
	mkdir -p "$hd/plugins" "$hd/weft-run" "$hd/exec" "$hd/etc-docker" "$DATADIR/h$n/docker" "$DATADIR/h$n/weft"
	lab__mntns "$n"
	lab_start_dockerd "$n"
}

# lab__mntns N: persistent private mount namespace for host N, bound at $LABDIR/hN/mnt.
# Inside it: sysfs of hN's netns, the host's cgroup layout remounted under it, tmpfs on
# /run/docker (plugins dir bound from $LABDIR/hN/plugins), /run/weft, /run/containerd,
# per-host /etc/docker (dockerd's key.json = engine ID) and /etc/machine-id.
lab__mntns() {
	local n=$1 hd cgl d i
	hd=$(lab__hd "$n")
	# mount points that must exist in the shared root filesystem (empty dirs; never removed,
	# other dockerds/labs may use them)
	for d in /run/docker /run/weft /run/containerd /etc/docker; do
		[ -d "$d" ] || mkdir -p "$d"
	done
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$hd/machine-id"
	echo >>"$hd/machine-id"
	# cgroup mounts as this machine has them: "fstype mountpoint superoptions" per line
	cgl=$(awk '{ for (i = 7; $i != "-"; i++); if ($5 ~ "^/sys/fs/cgroup") print $(i+1), $5, $(i+3) }' \
		/proc/self/mountinfo)
	[ -n "$cgl" ] || lab_bail "no cgroup mounts under /sys/fs/cgroup"
	cat >"$hd/mntns.sh" <<'EOF'
set -e
hd=$1 cgl=$2
mount -t sysfs sysfs /sys
printf '%s\n' "$cgl" | while read -r type mp opts; do
	mkdir -p "$mp"
	case $type in
	tmpfs) mount -t tmpfs -o mode=755 cgroup "$mp" ;;
	*) mount -t "$type" -o "$opts" "$type" "$mp" ;;
	esac
done
mount -t tmpfs -o mode=755 docker-run /run/docker
mkdir -p /run/docker/plugins
mount --bind "$hd/plugins" /run/docker/plugins
mount --bind "$hd/weft-run" /run/weft
mount -t tmpfs -o mode=755 containerd-run /run/containerd
# dockerd writes its engine ID key to /etc/docker/key.json: one per host, not on the machine
mount --bind "$hd/etc-docker" /etc/docker
if [ -f /etc/machine-id ]; then mount --bind "$hd/machine-id" /etc/machine-id; fi
if [ "$3" = legacy ]; then mount --bind /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi; fi
# another engine's root: what dockerd needs of this host, at the same paths inside it
if [ -n "$4" ]; then
	root=$4
	mount --bind "$root" "$root"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	for d in /run/docker /run/weft /run/containerd /etc/docker "$hd" "$5"; do
		mkdir -p "$root$d"
		mount --rbind "$d" "$root$d"
	done
	[ -e "$root/etc/machine-id" ] || : >"$root/etc/machine-id"
	mount --bind "$hd/machine-id" "$root/etc/machine-id"
fi
EOF
	: >"$hd/mnt"
	unshare --mount="$hd/mnt" --propagation slave true ||
		lab_bail "cannot create mount namespace for h$n"
	case $LAB_IPTABLES in
	nft) ;;
	legacy) [ -x /usr/sbin/xtables-legacy-multi ] || lab_skip "LAB_IPTABLES=legacy: no xtables-legacy-multi" ;;
	*) lab_bail "LAB_IPTABLES must be nft or legacy" ;;
	esac
	nsenter --mount="$hd/mnt" --net="/run/netns/$LAB-h$n" sh "$hd/mntns.sh" "$hd" "$cgl" "$LAB_IPTABLES" \
		"$LAB_DOCKERD_ROOT" "$DATADIR/h$n" || lab_bail "cannot set up mounts of h$n"
	# another engine: dockerd runs in a mount namespace whose root is LAB_DOCKERD_ROOT (a
	# chroot would not do: runc exec lands in the namespace's real root). A process holds it
	# for as long as the host lives, so that the containers' netns mounts outlive a dockerd
	# restart; dockerd enters it through that process.
	[ -z "$LAB_DOCKERD_ROOT" ] && return 0
	# shellcheck disable=SC2016
	lab__spawn engine "$n" "$hd/engine.log" nsenter --mount="$hd/mnt" --net="/run/netns/$LAB-h$n" -- \
		unshare --mount --propagation private sh -c \
		'cd "$0" && mkdir -p .oldroot && pivot_root . .oldroot && cd / && umount -l /.oldroot && exec sleep 2147483647' \
		"$LAB_DOCKERD_ROOT" || lab_bail "cannot make the engine root of h$n"
	printf -v "ENGINE_PID_$n" '%s' "$LAB_SPAWNED"
	for ((i = 0; i < 50; i++)); do
		# the holder sleeps once its root is the engine's
		[ "$(cat "/proc/$LAB_SPAWNED/comm" 2>/dev/null)" = sleep ] && return 0
		sleep 0.1
	done
	cat "$hd/engine.log"
	lab_bail "cannot make the engine root of h$n"
}

# lab_exec N CMD...: run CMD in host N's network and mount namespaces
lab_exec() {
	local n=$1
	shift
	nsenter --mount="$(lab__hd "$n")/mnt" --net="/run/netns/$LAB-h$n" -- "$@"
}

# dk N ARGS...: docker CLI against host N's dockerd
dk() {
	DOCKER_HOST="unix://$LABDIR/h$1/docker.sock" "$DOCKER" "${@:2}"
}
export -f dk

# lab_api_at_least N VERSION: host N's dockerd speaks Engine API VERSION or later
# (1.48: Docker 28, which asks GwAllocCheck before the IPAM and knows gw-priority)
lab_api_at_least() {
	local v
	v=$(dk "$1" version -f '{{.Server.APIVersion}}') || return 1
	[ "$(printf '%s\n%s\n' "$v" "$2" | sort -V | head -n 1)" = "$2" ]
}
# lab_options_call N: the call of Docker's that carries a network create's -o options first
# (and so meets a refusal of them): GwAllocCheck from Docker 28, CreateNetwork before
lab_options_call() { if lab_api_at_least "$1" 1.48; then echo GwAllocCheck; else echo CreateNetwork; fi; }

# lab_start_dockerd N: start host N's dockerd (also after lab_stop_dockerd), wait for it
lab_start_dockerd() {
	local n=$1 hd pid i
	hd=$(lab__hd "$n")
	[ -f "$hd/daemon.json" ] || echo '{}' >"$hd/daemon.json"
	local enter=() e="ENGINE_PID_$n"
	[ -z "$LAB_DOCKERD_ROOT" ] || enter=(nsenter --target "${!e}" --mount --)
	# shellcheck disable=SC2086
	lab__spawn dockerd "$n" "$hd/dockerd.log" \
		nsenter --mount="$hd/mnt" --net="/run/netns/$LAB-h$n" -- \
		"${enter[@]}" "$DOCKERD" --config-file "$hd/daemon.json" \
		--data-root "$DATADIR/h$n/docker" --exec-root "$hd/exec" \
		-H "unix://$hd/docker.sock" --pidfile "$hd/docker.pid" \
		--cgroup-parent "/$LAB-h$n" $LAB_DOCKERD_ARGS ||
		lab_bail "cannot start dockerd for h$n"
	pid=$LAB_SPAWNED
	printf -v "DOCKERD_PID_$n" '%s' "$pid"
	export "DOCKERD_PID_$n"
	for ((i = 0; i < 300; i++)); do
		dk "$n" info >/dev/null 2>&1 && return 0
		if [ -z "$(lab__starttime "$pid")" ]; then
			tail -n 30 "$hd/dockerd.log" | sed 's/^/#   /'
			lab_bail "dockerd of h$n exited during start"
		fi
		sleep 0.1
	done
	tail -n 30 "$hd/dockerd.log" | sed 's/^/#   /'
	lab_bail "dockerd of h$n not answering after 30 s"
}

# lab_stop_dockerd N [SIGNAL]: stop host N's dockerd (bounded wait, then KILL)
lab_stop_dockerd() {
	local n=$1 sig=${2:-TERM} v="DOCKERD_PID_$1" cpid i
	[ -n "${!v:-}" ] || return 0
	cpid=$(cat "$(lab__hd "$n")/exec/containerd/containerd.pid" 2>/dev/null)
	# With live-restore, containerd (and the containers) outlive dockerd on purpose.
	grep -Eq '"live-restore": *true' "$(lab__hd "$n")/daemon.json" 2>/dev/null && cpid=
	lab__stop_pids "$sig" 300 "${!v} $(lab__starttime "${!v}")"
	# A killed dockerd's containerd dies with it, but stays a zombie until init reaps it;
	# a dockerd started before that takes it for alive and waits for its socket in vain.
	for ((i = 0; i < 100; i++)); do
		{ [ -n "$cpid" ] && [ -e "/proc/$cpid" ]; } || break
		sleep 0.1
	done
}

# lab_image N: import the busybox test image weft-test:local into host N's dockerd
lab_image() {
	local n=$1 root=$LABDIR/image tar=$LABDIR/image.tar bb p lib
	if [ ! -f "$tar" ]; then
		bb=$(command -v busybox) || lab_skip "busybox not installed (busybox-static)"
		rm -rf "$root"
		mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/run}
		chmod 1777 "$root/tmp"
		cp "$bb" "$root/bin/busybox"
		# one symlink per applet, at the place busybox wants it
		"$bb" --list-full | while read -r p; do
			[ -e "$root/$p" ] || [ -L "$root/$p" ] || ln -s /bin/busybox "$root/$p"
		done
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
			>"$root/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
		: >"$root/etc/hosts"
		: >"$root/etc/resolv.conf"
		# optional: a UDP echo server for the port tests (static, so it needs no libc in the image)
		if command -v cc >/dev/null 2>&1; then
			cc -static -O2 -o "$root/usr/bin/udp-echo" "$LAB_LIBDIR/udp-echo.c" 2>/dev/null ||
				rm -f "$root/usr/bin/udp-echo"
		fi
		# optional: iperf3 and its libraries
		if p=$(command -v iperf3); then
			cp "$p" "$root/usr/bin/iperf3"
			for lib in $(ldd "$p" | grep -o '/[^ ]*'); do
				cp -L --parents "$lib" "$root" 2>/dev/null
			done
		fi
		tar -C "$root" -cf "$tar" . || lab_bail "cannot build image tar"
	fi
	dk "$n" import --change 'CMD ["sh"]' "$tar" weft-test:local >/dev/null ||
		lab_bail "docker import into h$n failed"
}

# lab_start_weftd N [ARGS...]: start $WEFTD in host N's namespaces, wait for its socket
lab_start_weftd() {
	local n=$1 hd pid i sock
	shift
	hd=$(lab__hd "$n")
	sock=$hd/plugins/weft.sock
	[ -x "$WEFTD" ] || lab_bail "weftd not found at $WEFTD (set WEFTD)"
	mkdir -p "$DATADIR/h$n/weft"
	# shellcheck disable=SC2086
	lab__spawn weftd "$n" "$hd/weftd.log" \
		nsenter --mount="$hd/mnt" --net="/run/netns/$LAB-h$n" -- \
		$LAB_WEFTD_WRAPPER "$WEFTD" --socket /run/docker/plugins/weft.sock --state-dir "$DATADIR/h$n/weft" \
		--control-socket "$hd/control.sock" \
		--store "lmdb://$DATADIR/h$n/weft/weft.db" --docker-socket "$hd/docker.sock" "$@" ||
		lab_bail "cannot start weftd for h$n"
	pid=$LAB_SPAWNED
	printf -v "WEFTD_PID_$n" '%s' "$pid"
	export "WEFTD_PID_$n"
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && lab__listening "$pid" /run/docker/plugins/weft.sock && return 0
		if [ -z "$(lab__starttime "$pid")" ]; then
			tail -n 30 "$hd/weftd.log" | sed 's/^/#   /'
			lab_bail "weftd of h$n exited during start"
		fi
		sleep 0.1
	done
	tail -n 30 "$hd/weftd.log" | sed 's/^/#   /'
	lab_bail "weftd of h$n: no socket after 10 s"
}

# wctl N ARGS...: weftctl of host N's weftd
wctl() { "$WEFTCTL" --socket "$LABDIR/h$1/control.sock" "${@:2}"; }
export -f wctl

# lab__listening PID PATH: PID holds a listening unix socket bound at PATH (so a stale
# socket file left by an earlier weftd does not count)
lab__listening() {
	local ino fd
	# /proc/PID/net/unix: Num RefCount Protocol Flags(00010000 = listening) Type St Inode Path
	# shellcheck disable=SC2013
	for ino in $(awk -v p="$2" '$8 == p && $4 == "00010000" { print $7 }' "/proc/$1/net/unix" 2>/dev/null); do
		for fd in /proc/"$1"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "socket:[$ino]" ] && return 0
		done
	done
	return 1
}

# lab_stop_weftd N [SIGNAL]: signal host N's weftd (default TERM) and wait for it (10 s,
# then KILL). With SIGNAL=KILL the socket file stays behind, as after a crash.
lab_stop_weftd() {
	local v="WEFTD_PID_$1" sig=${2:-TERM} st
	[ -n "${!v:-}" ] || return 0
	st=$(lab__starttime "${!v}")
	[ -n "$st" ] || { wait "${!v}" 2>/dev/null; return 0; } # gone already (killed, crashed)
	lab__stop_pids "$sig" 100 "${!v} $st"
}

# lab_down: tear everything down. Idempotent, never fails.
lab_down() {
	trap '' INT TERM HUP PIPE # a closed output pipe (test | head) must not stop the teardown
	local - f p i t l left
	set +eu
	[ -n "${LAB:-}" ] && [ "$LAB_IS_DOWN" = 0 ] || return 0
	if [ "$LAB_KEEP" = 1 ]; then
		lab_log "LAB_KEEP=1: leaving $LAB in place; remove it with:"
		lab_log "  bash -c '. $LAB_LIBDIR/lib.sh; lab_adopt $LAB; lab_down'"
		LAB_IS_DOWN=1
		return 0
	fi
	# 1. containers first (KILL: they are test payloads), so that dockerd's cleanup calls
	#    reach a weftd that is still running
	lab__cg_kill KILL
	# 2. dockerds (they stop containerd and its shims), then weftd and anything else recorded
	mapfile -t l < <(lab__recorded dockerd)
	lab__stop_pids TERM 200 "${l[@]}"
	mapfile -t l < <(lab__recorded '*')
	lab__stop_pids TERM 50 "${l[@]}"
	# 3. whatever still lives in the lab's namespaces (containerd shims reparented to init,
	#    lab_exec leftovers) or cgroups
	for ((i = 0; i < 50; i++)); do
		left=0
		for f in "$LABDIR"/h*/mnt /run/netns/"$LAB"-*; do
			{ [ -e "$f" ] && [ "$(stat -f -c %T "$f" 2>/dev/null)" = nsfs ]; } || continue
			case $f in */mnt) t=mnt ;; *) t=net ;; esac
			for p in $(lab__ns_pids "$t" "$f"); do
				kill -KILL "$p" 2>/dev/null && left=1
			done
		done
		lab__cg_kill KILL
		[ -n "$(lab__cg_pids)" ] && left=1
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	# 4. cgroup dirs (deepest first; retry while killed tasks exit)
	for ((i = 0; i < 30; i++)); do
		lab__cg_dirs | while read -r f; do find "$f" -depth -type d -exec rmdir {} + 2>/dev/null; done
		[ -z "$(lab__cg_dirs)" ] && break
		sleep 0.1
	done
	# 5. mount namespaces, network namespaces
	for f in "$LABDIR"/h*/mnt; do
		[ -e "$f" ] && umount "$f" 2>/dev/null
	done
	for f in /run/netns/"$LAB"-*; do
		[ -e "$f" ] && ip netns del "${f##*/}"
	done
	# 6. any mount left under the lab's dirs (deepest first), then the dirs
	awk -v a="$LABDIR" -v b="$DATADIR" '$5 == a || index($5, a "/") == 1 || $5 == b || index($5, b "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r | while read -r f; do
		umount "$f" 2>/dev/null || umount -l "$f"
	done
	rm -rf "$LABDIR" "$DATADIR"
	# the engine root's mount points for this lab (empty dirs: their mounts died with the lab)
	[ -z "$LAB_DOCKERD_ROOT" ] || find "$LAB_DOCKERD_ROOT$LABDIR" "$LAB_DOCKERD_ROOT$DATADIR" -depth -type d \
		-empty -delete 2>/dev/null
	LAB_IS_DOWN=1
	trap - INT TERM HUP PIPE
	return 0
}
