#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a debug guest kernel (KASAN, lockdep, kmemleak, list and object
# debugging) from Debian's linux-source-6.1, for "make check-debug".
#
#   scripts/debug-kernel.sh            build if needed; print the kernel version
#   scripts/debug-kernel.sh --print    build if needed; print make variables:
#                                      DKVER (version), DKDIR (tree for M=
#                                      builds), DKIMG (staging root for
#                                      mkinitramfs.py --kimg), DKERNEL (bzImage)
#
# Everything lives in $VFG_CACHE/debug-kernel (default
# /var/cache/vfio-groups/debug-kernel):
#   src/                       the extracted source tree, built in place
#   root/boot/vmlinuz-KVER     the image
#   root/lib/modules/KVER/     modules_install + depmod: what mkinitramfs reads
#   build.log                  the last build's output
#   stamp                      hash of the inputs of the last good build
#
# The configuration is x86_64_defconfig, trimmed (no sound, DRM, wireless, USB,
# storage...) and extended with what the guest and the tests need, and the
# debug options below.  A second run with the same inputs (this script's
# configuration, the source package, the compiler) does nothing.  Progress
# goes to stderr; only the result goes to stdout.
set -euo pipefail
# A standalone build: nothing from a calling make (jobserver, -w, -n).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

CACHE=${VFG_CACHE:-/var/cache/vfio-groups}
D=$CACHE/debug-kernel
SRC=$D/src
ROOT=$D/root
TARBALL=${DEBUG_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-$(nproc)}
PKGS=(linux-source-6.1 gcc make bc flex bison libelf-dev libssl-dev kmod rsync
      xz-utils python3)

log() { echo "debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

# Options for scripts/config, one per line: "y NAME", "n NAME", "m NAME",
# "s NAME VALUE" (string), "v NAME VALUE" (number).  Order matters only where
# a later line relies on an earlier one's dependency.
config_fragment() {
	cat <<'EOF'
# --- trim x86_64_defconfig: nothing the guest has or the tests use
n SOUND
n DRM
n AGP
n FB
n WLAN
n WIRELESS
n CFG80211
n MAC80211
n RFKILL
n USB_SUPPORT
n HID
n INPUT_MOUSE
n INPUT_JOYSTICK
n INPUT_TABLET
n INPUT_TOUCHSCREEN
n ATA
n SCSI
n BLK_DEV_SD
n MD
n EXT4_FS
n NETWORK_FILESYSTEMS
n NETFILTER
n NET_SCHED
n IP_MULTICAST
n IP_ADVANCED_ROUTER
n IP_PNP
n NETLABEL
n WAN
n E100
n E1000
n TIGON3
n SKY2
n FORCEDETH
n 8139TOO
n R8169
n VIRTIO_NET
n VIRTIO_BLK
n SCSI_VIRTIO
n DRM_VIRTIO_GPU
n VIRTIO_CONSOLE
n VIRTIO_INPUT
n VIRTIO_PCI
n VIRTIO_MENU
n NET_9P
n HAMRADIO
n CPU_FREQ
n HIBERNATION
n AUDIT
n SECURITY
n SECURITY_SELINUX
n KEYS
n EFI
n PCCARD
n MACINTOSH_DRIVERS
n CRYPTO_AES_NI_INTEL
n XEN
n VIRTUALIZATION
n KVM_GUEST
n PARAVIRT
n HYPERVISOR_GUEST
n PROFILING
n KEXEC
n CRASH_DUMP
n BPF_SYSCALL
n CGROUPS
n NAMESPACES
n DEBUG_INFO
n DEBUG_INFO_BTF
y DEBUG_INFO_NONE
n MODULE_SIG
n MODVERSIONS
# --- what the guest needs
s LOCALVERSION -vfg-debug
n LOCALVERSION_AUTO
y SMP
y PCI
y PCIEPORTBUS
y PCI_MSI
y PCI_IOV
y PCI_ATS
y PCI_PRI
y PCI_PASID
y HOTPLUG_PCI
y HOTPLUG_PCI_PCIE
y HOTPLUG_PCI_SHPC
y HOTPLUG_PCI_ACPI
y ACPI
y IOMMU_SUPPORT
y INTEL_IOMMU
y INTEL_IOMMU_DEFAULT_ON
n INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON
y AMD_IOMMU
y IRQ_REMAP
y X86_X2APIC
y SERIAL_8250
y SERIAL_8250_CONSOLE
v SERIAL_8250_NR_UARTS 4
v SERIAL_8250_RUNTIME_UARTS 4
y DEVTMPFS
y DEVTMPFS_MOUNT
y BLK_DEV_INITRD
y BINFMT_ELF
y BINFMT_SCRIPT
y PROC_FS
y SYSFS
y TMPFS
y HUGETLBFS
y TRANSPARENT_HUGEPAGE
y EVENTFD
y NET
y UNIX
y INET
y IPV6
y MODULES
y MODULE_UNLOAD
y DEBUG_FS
# modules the tests modprobe (and the kernel's own VFIO, for the tests that
# check ours against it and that it keeps ours out)
m PCI_STUB
m UIO
m UIO_PCI_GENERIC
y ETHERNET
y NET_VENDOR_INTEL
m E1000E
m VFIO
m VFIO_PCI
m IRQ_BYPASS_MANAGER
# --- debugging
y DEBUG_KERNEL
y KASAN
y KASAN_GENERIC
y KASAN_INLINE
y PROVE_LOCKING
y DEBUG_ATOMIC_SLEEP
y DEBUG_KMEMLEAK
n DEBUG_KMEMLEAK_DEFAULT_OFF
n DEBUG_KMEMLEAK_AUTO_SCAN
v DEBUG_KMEMLEAK_MEM_POOL_SIZE 16000
y DEBUG_LIST
y DEBUG_SG
y DEBUG_OBJECTS
y DEBUG_OBJECTS_FREE
y DEBUG_OBJECTS_TIMERS
y DEBUG_OBJECTS_WORK
y DEBUG_OBJECTS_RCU_HEAD
y DEBUG_OBJECTS_PERCPU_COUNTER
y DETECT_HUNG_TASK
y UNWINDER_ORC
y STACKTRACE
y KALLSYMS
y KALLSYMS_ALL
EOF
}

# Options whose final value is checked after olddefconfig: a dependency that
# silently drops one of them must fail the build, not give a weaker kernel.
REQUIRED=(SMP PCI PCIEPORTBUS PCI_MSI HOTPLUG_PCI_PCIE HOTPLUG_PCI_SHPC
	  IOMMU_SUPPORT INTEL_IOMMU AMD_IOMMU IRQ_REMAP SERIAL_8250_CONSOLE
	  DEVTMPFS BLK_DEV_INITRD BINFMT_ELF TMPFS HUGETLBFS TRANSPARENT_HUGEPAGE
	  EVENTFD NET UNIX MODULES MODULE_UNLOAD DEBUG_FS KASAN KASAN_GENERIC
	  KASAN_INLINE PROVE_LOCKING LOCKDEP DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK
	  DEBUG_LIST DEBUG_OBJECTS)
REQUIRED_M=(PCI_STUB UIO UIO_PCI_GENERIC E1000E VFIO VFIO_PCI)

ensure_pkgs() {
	local p st miss=()
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || miss+=("$p")
	done
	[ ${#miss[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages: ${miss[*]}; install them as root"
	log "installing: ${miss[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${miss[@]}" >/dev/null
}

# The source, extracted once (the tarball's identity is in .done).
ensure_src() {
	local id
	id=$(stat -c '%s %Y' "$TARBALL")
	if [ -f "$SRC/.done" ] && [ "$(cat "$SRC/.done")" = "$id" ]; then
		return 0
	fi
	log "extracting $TARBALL into $SRC"
	rm -rf "$SRC" "$ROOT" "$D/stamp"
	mkdir -p "$SRC"
	tar -xJf "$TARBALL" -C "$SRC" --strip-components=1
	echo "$id" >"$SRC/.done"
}

# Everything the build depends on, hashed.
inputs_hash() {
	{
		config_fragment
		cat "$SRC/.done"
		gcc --version | head -n 1
	} | sha256sum | cut -d' ' -f1
}

configure() {
	local kind name val
	log "configuring (x86_64_defconfig + $(config_fragment | grep -vc '^#') options)"
	make -C "$SRC" -s x86_64_defconfig >/dev/null
	local args=()
	while read -r kind name val; do
		case "$kind" in
		'#'*|'') continue ;;
		y) args+=(--enable "$name") ;;
		n) args+=(--disable "$name") ;;
		m) args+=(--module "$name") ;;
		s) args+=(--set-str "$name" "$val") ;;
		v) args+=(--set-val "$name" "$val") ;;
		*) die "bad fragment line: $kind $name" ;;
		esac
	done < <(config_fragment)
	"$SRC/scripts/config" --file "$SRC/.config" "${args[@]}"
	# Twice: an option whose dependency was enabled later in the same pass
	# (e.g. E1000E under ETHERNET) only sticks the second time.
	make -C "$SRC" -s olddefconfig >/dev/null
	"$SRC/scripts/config" --file "$SRC/.config" "${args[@]}"
	make -C "$SRC" -s olddefconfig >/dev/null
	local o bad=()
	for o in "${REQUIRED[@]}"; do
		grep -q "^CONFIG_$o=y" "$SRC/.config" || bad+=("$o=y")
	done
	for o in "${REQUIRED_M[@]}"; do
		grep -q "^CONFIG_$o=m" "$SRC/.config" || bad+=("$o=m")
	done
	grep -q '^CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=y' "$SRC/.config" &&
		bad+=("DEBUG_KMEMLEAK_AUTO_SCAN=n")
	[ ${#bad[@]} -eq 0 ] || die "configuration lost: ${bad[*]}"
}

build() {
	local kver t0=$SECONDS
	log "building bzImage and modules with -j$JOBS (log: $D/build.log)"
	if ! make -C "$SRC" -j"$JOBS" bzImage modules >"$D/build.log" 2>&1; then
		tail -n 40 "$D/build.log" >&2
		die "build failed; full log: $D/build.log"
	fi
	kver=$(make -C "$SRC" -s --no-print-directory kernelrelease)
	log "installing modules into $ROOT/lib/modules/$kver"
	rm -rf "$ROOT"
	mkdir -p "$ROOT/boot"
	make -C "$SRC" -s INSTALL_MOD_PATH="$ROOT" INSTALL_MOD_STRIP=1 \
		DEPMOD=true modules_install >>"$D/build.log" 2>&1 ||
		die "modules_install failed; full log: $D/build.log"
	depmod -b "$ROOT" "$kver"
	cp "$SRC/arch/x86/boot/bzImage" "$ROOT/boot/vmlinuz-$kver"
	cp "$SRC/.config" "$ROOT/boot/config-$kver"
	cp "$SRC/System.map" "$ROOT/boot/System.map-$kver"
	log "built $kver in $(((SECONDS - t0) / 60))m$(((SECONDS - t0) % 60))s"
}

mkdir -p "$D"
exec 9>"$D/lock"
flock 9
ensure_pkgs
[ -f "$TARBALL" ] || die "no $TARBALL (apt-get install linux-source-6.1)"
ensure_src
hash=$(inputs_hash)
kver=
if [ -f "$D/stamp" ] && [ "$(sed -n 1p "$D/stamp")" = "$hash" ]; then
	kver=$(sed -n 2p "$D/stamp")
	[ -f "$ROOT/boot/vmlinuz-$kver" ] &&
		[ -f "$ROOT/lib/modules/$kver/modules.dep" ] || kver=
fi
if [ -z "$kver" ]; then
	rm -f "$D/stamp"
	configure
	build
	kver=$(make -C "$SRC" -s --no-print-directory kernelrelease)
	printf '%s\n%s\n' "$hash" "$kver" >"$D/stamp"
else
	log "up to date: $kver"
fi

if [ "${1:-}" = --print ]; then
	echo "DKVER := $kver"
	echo "DKDIR := $SRC"
	echo "DKIMG := $ROOT"
	echo "DKERNEL := $ROOT/boot/vmlinuz-$kver"
else
	echo "$kver"
fi
