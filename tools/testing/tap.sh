# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the shell tests (install-test.sh, deb-test.sh); sourced.
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $1"
	[ -z "${2:-}" ] || while IFS= read -r l; do echo "# $l"; done <<<"$2"
}

# check NAME CMD...: one result, the command's output shown on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "$(tail -n 40 <<<"$out")"
	fi
}
