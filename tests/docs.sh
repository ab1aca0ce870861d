#!/bin/sh
# tests/docs.sh - the manual pages are well-formed and list every option that exists:
# every flag of "weftd --help" in weftd(8), every command and option of "weftctl --help" in
# weftctl(8), every -o key of src/driver-options.c in weft(7).
# Run by make check from the build directory (srcdir is set by automake).
set -u
srcdir=${srcdir:-.}
weftd=./src/weftd
weftctl=./src/weftctl
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc not installed"; exit 77; }
[ -x "$weftd" ] || { echo "FAIL: $weftd not built"; exit 1; }
[ -x "$weftctl" ] || { echo "FAIL: $weftctl not built"; exit 1; }

fail=0
bad() { echo "FAIL: $*"; fail=1; }

for page in weftd.8 weftctl.8 weft.7; do
	lint=$(mandoc -T lint -W warning "$srcdir/man/$page" 2>&1) || bad "mandoc -T lint $page: $lint"
	gw=$(groff -ww -z -man "$srcdir/man/$page" 2>&1)
	[ -z "$gw" ] || bad "groff -ww $page: $gw"
done

text8=$(mandoc -T ascii "$srcdir/man/weftd.8" | col -b)
text7=$(mandoc -T ascii "$srcdir/man/weft.7" | col -b)
textctl=$(mandoc -T ascii "$srcdir/man/weftctl.8" | col -b)

# Flags: the option column of --help, e.g. "  -d, --debug   ..." or "      --store URL   ...".
flags=$("$weftd" --help | sed -n 's/^ \{2,\}\(-[^ ,]*\)\(, \(--[^ ]*\)\)\{0,1\} .*/\1 \3/p')
[ -n "$flags" ] || bad "no flags parsed from weftd --help"
n=0
for f in $flags; do
	n=$((n + 1))
	printf '%s\n' "$text8" | grep -Eq -- "^ *(-[A-Za-z], )?$f([^a-z-]|$)" || bad "weftd.8 does not describe $f"
done

# The example configuration names every setting: "#key =" for each flag but --config,
# --help and --version.
for f in $flags; do
	case $f in --config | --help | --version | -*[!a-z-]*) continue ;; -[a-z]) continue ;; esac
	n=$((n + 1))
	grep -Eq "^#${f#--} =" "$srcdir/etc/weftd.conf" || bad "etc/weftd.conf does not show the key ${f#--}"
done

# weftctl: the commands ("  status   ...") and the options of --help.
cmds=$("$weftctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\).*/\1/p')
[ -n "$cmds" ] || bad "no commands parsed from weftctl --help"
for c in $cmds; do
	n=$((n + 1))
	printf '%s\n' "$textctl" | grep -Eq -- "^ {5,}$c( |$)" || bad "weftctl.8 does not describe the command $c"
done
ctlflags=$("$weftctl" --help | sed -n '/^Options:/,/^$/s/^ \{2,\}\(-[^ ,]*\)\(, \(--[^ ]*\)\)\{0,1\} .*/\1 \3/p')
[ -n "$ctlflags" ] || bad "no options parsed from weftctl --help"
for f in $ctlflags; do
	n=$((n + 1))
	printf '%s\n' "$textctl" | grep -Eq -- "^ *(-[A-Za-z], )?$f([^a-z-]|$)" || bad "weftctl.8 does not describe $f"
done

# -o keys: the first field of each row of the option table in src/driver-options.c.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z_.]*\)", .*/\1/p' "$srcdir/src/driver-options.c")
[ -n "$keys" ] || bad "no option keys parsed from src/driver-options.c"
for k in $keys; do
	n=$((n + 1))
	printf '%s\n' "$text7" | grep -q -- "$k" || bad "weft.7 does not describe the option $k"
done

[ "$fail" = 0 ] && echo "PASS: 3 pages lint clean; $n flags and option keys documented"
exit "$fail"
