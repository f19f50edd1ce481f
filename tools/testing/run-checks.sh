#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every test suite and sum the results.  Called by "make check" after the
# build; run one suite with "run-checks.sh SUITE" (checkpatch, unit, install, vmrun, guest,
# kvm, topo, bench, clients).
#
# Each suite leaves "passed failed skipped" in $BUILD/results/SUITE; the last
# line printed is "N passed, N failed" (", N skipped" when any were skipped),
# and the exit status is non-zero if anything failed.
#
# Guest configurations (topology:iommu) come from VFG_GUEST_CONFIGS (those of
# the clients suite from VFG_CLIENTS_CONFIGS); more
# vmrun.py arguments for every guest run from VFG_VMRUN_ARGS (split on
# blanks; "make check-debug" uses it).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
: "${BUILD:=$top/build}" "${KSRC:?}"
RES=$BUILD/results
LOGS=$BUILD/logs
mkdir -p "$RES" "$LOGS"
VFG_GUEST_CONFIGS=${VFG_GUEST_CONFIGS:-"default:intel default:amd"}
# A config may end in /TAINTS, the taint flags its run may gain (vmrun.py
# --allow-taint): default:none/U runs DPDK in no-IOMMU mode, which taints.
VFG_CLIENTS_CONFIGS=${VFG_CLIENTS_CONFIGS:-"default:intel default:amd default:none/U vga:intel"}
# The guest suite runs on one vCPU (VFG_GUEST_SMP): with two, QEMU 7.2's
# multi-threaded TCG now and then loses a guest whose tests reset the edu
# behind the root port many times (a local APIC EOI or an HPET read goes
# astray, and every timer on that CPU stops; see "Guests on one vCPU" in
# Documentation/dev-tools/testing.rst).
VFG_GUEST_SMP=${VFG_GUEST_SMP:-1}
# Tests that need a guest of their own: TEST@topology:iommu[/TAINTS][^CPUS],
# TAINTS the taint flags that run may gain (vmrun.py --allow-taint), CPUS
# its number of vCPUs (vmrun.py --smp, default 2).  security_test steers an
# interrupt to a second CPU; fuzz_test runs on one vCPU, as the suite does.
VFG_TOPO_TESTS=${VFG_TOPO_TESTS:-"hotreset_test@hotreset:intel sriov_test@sriov:intel config_test@sriov:intel config_test@sriov:amd noiommu_test@default:none/U vga_test@vga:intel smallbar_test@smallbar:intel security_test@default:intel security_test@default:amd fuzz_test@default:intel^1 fuzz_test@default:amd^1"}

record() { echo "$2 $3 ${4:-0}" >"$RES/$1"; }

# Every driver source must be checkpatch --strict clean; one result a file.
suite_checkpatch() {
	local f p=0 fl=0 out
	while IFS= read -r f; do
		out=$(perl "$KSRC/scripts/checkpatch.pl" --strict --no-tree \
			--show-types -q -f "$f" 2>&1)
		if [ -z "$out" ]; then
			p=$((p + 1))
		else
			fl=$((fl + 1))
			echo "checkpatch: $f"
			echo "$out" | sed 's/^/  /'
		fi
	done < <(git ls-files -co --exclude-standard 'drivers/*.[ch]' \
		'include/uapi/*.h' | sort -u)
	echo "checkpatch: $p clean, $fl with findings"
	# kernel-doc comments must match what they document.
	out=$(git ls-files -co --exclude-standard 'drivers/*.[ch]' \
		'include/uapi/*.h' | sort -u |
		xargs perl "$KSRC/scripts/kernel-doc" -none 2>&1)
	if [ -z "$out" ]; then
		p=$((p + 1))
		echo "kernel-doc: clean"
	else
		fl=$((fl + 1))
		echo "kernel-doc:"
		echo "$out" | sed 's/^/  /'
	fi
	record checkpatch $p $fl
}

# Host unit tests (Check).  "NN%: Checks: N, Failures: N, Errors: N"
suite_unit() {
	local log=$LOGS/unit.log line n f e
	make -s -C tools/lib/vfiogroup O="$BUILD/tools/lib/vfiogroup" check \
		2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "unit: no Check summary"
		record unit 0 1
		return
	fi
	n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
	e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
	record unit $((n - f - e)) $((f + e))
}

# "make install" into a temporary DESTDIR, checked; TAP.
suite_install() {
	local log=$LOGS/install.log
	BUILD=$BUILD tools/testing/install-test.sh 2>&1 | tee "$log"
	tap_count <"$log" >"$RES/install"
}

# TAP on stdin -> "passed failed skipped" (a missing plan entry fails).
tap_count() {
	awk '/^1\.\.[0-9]+/ { plan += substr($1, 4) }
	     /^ok / { if ($0 ~ /# *SKIP/) s++; else p++ }
	     /^not ok / { f++ }
	     END { m = plan - p - f - s; if (m > 0) f += m;
		   printf "%d %d %d\n", p, f, s }'
}

# The guest runner reports misbehaving guests exactly.
suite_vmrun() {
	local log=$LOGS/vmrun-selftest.log
	tools/testing/vm/selftest.sh "$VM_KERNEL" "$INITRD" 2>&1 | tee "$log"
	tap_count <"$log" >"$RES/vmrun"
}

# Guest tests: the selftests, and the host-side tests beside them, in each
# configuration.
suite_guest() {
	local cfg topo iommu ht=() t extra=()
	for t in tools/testing/vm/hosttests/*.py; do
		[ -e "$t" ] && ht+=(--host-test "$t")
	done
	read -r -a extra <<<"${VFG_VMRUN_ARGS:-}"
	for cfg in $VFG_GUEST_CONFIGS; do
		topo=${cfg%%:*}
		iommu=${cfg##*:}
		echo "=== guest: topology $topo, iommu $iommu"
		python3 tools/testing/vm/vmrun.py --kernel "$VM_KERNEL" \
			--initrd "$INITRD" --topology "$topo" --iommu "$iommu" \
			--cmd /opt/vfg/tests/run_tests.sh "${ht[@]}" \
			--smp "$VFG_GUEST_SMP" "${extra[@]}" \
			--timeout "${VFG_GUEST_TIMEOUT:-600}" -q --panic-on-oops \
			--log "$LOGS/guest-$topo-$iommu.log" \
			--results "$RES/guest-$topo-$iommu" ||
			echo "=== guest $cfg failed; full log: $LOGS/guest-$topo-$iommu.log"
		[ -s "$RES/guest-$topo-$iommu" ] || record "guest-$topo-$iommu" 0 1
	done
}

# What KVM sees with an IOMMU that can enforce cache coherency: VT-d with
# Snoop Control (the other configurations run kvm_test with it off, and
# AMD-Vi, which always enforces it).
suite_kvm() {
	local name=kvm-default-intel-sc extra=() t=/opt/vfg/tests/kvm_test
	read -r -a extra <<<"${VFG_VMRUN_ARGS:-}"
	echo "=== kvm: topology default, iommu intel-sc"
	python3 tools/testing/vm/vmrun.py --kernel "$VM_KERNEL" \
		--initrd "$INITRD" --topology default --iommu intel-sc \
		--cmd "$t" --cmd "VFG_USE_KERNEL_VFIO=1 $t" "${extra[@]}" \
		--timeout "${VFG_GUEST_TIMEOUT:-600}" -q --panic-on-oops \
		--log "$LOGS/$name.log" --results "$RES/$name" ||
		echo "=== kvm failed; full log: $LOGS/$name.log"
	[ -s "$RES/$name" ] || record "$name" 0 1
}

# Single test binaries under a topology of their own (a whole guest suite
# per topology would cost minutes for what one binary checks).
suite_topo() {
	local spec t cfg topo iommu name extra=() allow smp
	read -r -a extra <<<"${VFG_VMRUN_ARGS:-}"
	for spec in $VFG_TOPO_TESTS; do
		t=${spec%%@*}
		cfg=${spec##*@}
		allow=()
		smp=()
		if [[ $cfg == *^* ]]; then
			smp=(--smp "${cfg##*^}")
			cfg=${cfg%^*}
		fi
		if [[ $cfg == */* ]]; then
			allow=(--allow-taint "${cfg##*/}")
			cfg=${cfg%/*}
		fi
		topo=${cfg%%:*}
		iommu=${cfg##*:}
		name=topo-$t-$topo-$iommu
		echo "=== $t: topology $topo, iommu $iommu"
		python3 tools/testing/vm/vmrun.py --kernel "$VM_KERNEL" \
			--initrd "$INITRD" --topology "$topo" --iommu "$iommu" \
			--cmd "/opt/vfg/tests/$t" \
			"${allow[@]}" "${smp[@]}" "${extra[@]}" \
			--timeout "${VFG_GUEST_TIMEOUT:-600}" -q --panic-on-oops \
			--log "$LOGS/$name.log" --results "$RES/$name" ||
			echo "=== $t $cfg failed; full log: $LOGS/$name.log"
		[ -s "$RES/$name" ] || record "$name" 0 1
	done
}

# Real clients (QEMU, DPDK's testpmd) on the clients image, against our
# module and then the kernel's vfio-pci.  DPDK needs SSE4.2: a Nehalem CPU.
suite_clients() {
	local cfg topo iommu name extra=() allow t=/opt/vfg/tests/clients_test
	: "${CLIENTS_INITRD:=$BUILD/vm/initramfs-clients.cpio}"
	read -r -a extra <<<"${VFG_VMRUN_ARGS:-}"
	for cfg in $VFG_CLIENTS_CONFIGS; do
		allow=()
		if [[ $cfg == */* ]]; then
			allow=(--allow-taint "${cfg##*/}")
			cfg=${cfg%/*}
		fi
		topo=${cfg%%:*}
		iommu=${cfg##*:}
		name=clients-$topo-$iommu
		echo "=== clients: topology $topo, iommu $iommu"
		if [ ! -f "$CLIENTS_INITRD" ]; then
			echo "=== clients: no $CLIENTS_INITRD (make initramfs-clients)"
			record "$name" 0 1
			continue
		fi
		python3 tools/testing/vm/vmrun.py --kernel "$VM_KERNEL" \
			--initrd "$CLIENTS_INITRD" --topology "$topo" \
			--iommu "$iommu" --cpu Nehalem --cmd "$t" \
			--cmd "VFG_USE_KERNEL_VFIO=1 $t" "${allow[@]}" "${extra[@]}" \
			--timeout "${VFG_GUEST_TIMEOUT:-600}" -q --panic-on-oops \
			--log "$LOGS/$name.log" --results "$RES/$name" ||
			echo "=== clients $cfg failed; full log: $LOGS/$name.log"
		[ -s "$RES/$name" ] || record "$name" 0 1
	done
}

# The benchmark, once, tiny (vfio-bench --quick, two rounds, VT-d): proves
# "make bench" works end to end.  Only the JSON is judged (well-formed, every
# case on both stacks, positive finite figures, the plots drawn), never the
# timings.
suite_bench() {
	local out=$BUILD/bench-check log=$LOGS/bench.log plots=()
	rm -rf "$out"
	echo "=== bench: quick run, iommu intel"
	python3 tools/testing/bench/bench.py run --kernel "$VM_KERNEL" \
		--initrd "$INITRD" --iommu intel --quick --rounds 2 \
		--timeout "${VFG_GUEST_TIMEOUT:-600}" --out "$out" >"$log" 2>&1 ||
		echo "=== bench run failed; log: $log"
	# bench.py installs gnuplot when it can; without it, no plots to check.
	command -v gnuplot >/dev/null && plots=(--plots "$out")
	python3 tools/testing/bench/bench.py validate "$out/bench.json" \
		"${plots[@]}" --results "$RES/bench" ||
		echo "=== bench: see $log and $out"
	[ -s "$RES/bench" ] || record bench 0 1
}

tally() {
	local p=0 f=0 s=0 a b c r
	for r in "$RES"/*; do
		[ -f "$r" ] || continue
		read -r a b c <"$r"
		printf '  %-28s %4d passed, %d failed, %d skipped\n' \
			"$(basename "$r")" "$a" "$b" "${c:-0}"
		p=$((p + a)) f=$((f + b)) s=$((s + ${c:-0}))
	done
	if [ "$s" -gt 0 ]; then
		echo "$p passed, $f failed, $s skipped"
	else
		echo "$p passed, $f failed"
	fi
	[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
}

if [ $# -gt 0 ]; then
	rm -f "$RES/$1"*
	"suite_$1"
	exit $?
fi
rm -rf "$RES"
mkdir -p "$RES"
suite_checkpatch
suite_unit
suite_install
: "${VM_KERNEL:?}" "${INITRD:?}"
suite_vmrun
suite_guest
suite_kvm
suite_topo
suite_bench
suite_clients
echo "=== results"
tally
