#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the guest runner: a guest that misbehaves in known ways must be
# reported exactly so.  Prints TAP; exits non-zero on any mismatch.
#   selftest.sh KERNEL INITRD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernel=$1 initrd=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0

check() { # name expected-counts results-file
	n=$((n + 1))
	local got
	got=$(cat "$3" 2>/dev/null)
	if [ "$got" = "$2" ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1: counted '$got', expected '$2'"
		bad=$((bad + 1))
	fi
}

echo "TAP version 13"
echo "1..2"

# One pass, one failure, one skip, one result missing from the plan, a taint
# flag (W) gained, and a BUG line on the console: 1 passed, 4 failed, 1 skipped.
cat >"$tmp/bad.sh" <<'GUEST'
printf 'TAP version 13\n1..4\nok 1 good\nnot ok 2 bad\nok 3 skipped # SKIP no\n'
echo 512 >/proc/sys/kernel/tainted
echo "BUG: vmrun selftest" >/dev/kmsg
exit 0
GUEST
python3 "$here/vmrun.py" --kernel "$kernel" --initrd "$initrd" -q \
	--script "$tmp/bad.sh" --timeout 120 --results "$tmp/r1" >"$tmp/log1" 2>&1
check "misbehaving guest is counted exactly" "1 4 1" "$tmp/r1"

# A guest that panics never finishes its commands: one failure.
python3 "$here/vmrun.py" --kernel "$kernel" --initrd "$initrd" -q \
	--cmd 'echo c >/proc/sysrq-trigger' --timeout 120 \
	--results "$tmp/r2" >"$tmp/log2" 2>&1
check "guest panic is a failure" "0 2 0" "$tmp/r2"
[ $bad -eq 0 ]
