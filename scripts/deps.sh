#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install and cache everything the build and the tests need, on Debian 12 as
# root.  Idempotent and silent when everything is already present.
#
#   scripts/deps.sh            install what is missing
#   scripts/deps.sh --print    print KVER/KDIR/KIMG/KSRC as make variables
#
# Environment:
#   VFG_CACHE   where unpacked kernel images and kernel-source extracts are kept
#               (default /var/cache/vfio-groups); never inside the repository.
#   KVER        kernel version to use (default: the one linux-headers-amd64
#               depends on).
set -euo pipefail

CACHE=${VFG_CACHE:-/var/cache/vfio-groups}
PKGS=(linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static cpio
      check pkg-config libnl-genl-3-dev libnl-3-dev libpci-dev pci.ids python3 gcc make kmod xz-utils
      # The clients image (tools/testing/vm/clients.mk): dpdk-testpmd and
      # the PMD that drives the guest's e1000e.
      dpdk-dev librte-net-e1000-23)

log() { echo "deps: $*" >&2; }

missing_pkgs() {
	local p st
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || echo "$p"
	done
}

apt_install() {
	if [ "$(id -u)" != 0 ]; then
		log "missing packages: $*; run 'sudo scripts/deps.sh' (Debian 12)"
		exit 1
	fi
	log "installing: $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

headers_kver() {
	# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> 6.1.0-56-amd64
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p'
}

# The guest kernel: the image matching the headers, unpacked with dpkg-deb -x
# (no maintainer scripts, no initramfs trigger on the host).
ensure_kernel_image() {
	local dir=$CACHE/kernel-$KVER deb tmp
	[ -f "$dir/.done" ] && return 0
	[ "$(id -u)" = 0 ] || { log "kernel image for $KVER missing; run as root"; exit 1; }
	log "fetching linux-image-$KVER"
	tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -qq "linux-image-$KVER" >/dev/null 2>&1) ||
		(apt-get update -qq >/dev/null &&
		 cd "$tmp" && apt-get download -qq "linux-image-$KVER" >/dev/null 2>&1)
	deb=$(ls "$tmp"/linux-image-*.deb)
	rm -rf "$dir"
	dpkg-deb -x "$deb" "$dir"
	rm -rf "$tmp"
	# The package's postinst would run depmod; do it on the unpacked tree.
	depmod -b "$dir" "$KVER"
	touch "$dir/.done"
}

# A few files out of Debian's linux-source-6.1: checkpatch and the kselftest
# harness.  Kernel sources are cached here, never committed.
ensure_ksrc() {
	local dir=$CACHE/linux-source-6.1 tarball=/usr/src/linux-source-6.1.tar.xz
	# .done2: kernel-doc joined the list; older extracts are redone.
	[ -f "$dir/.done2" ] && return 0
	log "extracting checkpatch, kernel-doc and kselftest harness from $tarball"
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/scripts/kernel-doc \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h
	touch "$dir/.done" "$dir/.done2"
}

mkdir -p "$CACHE"
mapfile -t miss < <(missing_pkgs)
[ ${#miss[@]} -eq 0 ] || apt_install "${miss[@]}"

KVER=${KVER:-$(headers_kver)}
[ -n "$KVER" ] || { log "cannot tell the kernel version of linux-headers-amd64"; exit 1; }
if [ ! -d "/usr/src/linux-headers-$KVER" ]; then
	apt_install "linux-headers-$KVER"
fi
ensure_kernel_image
ensure_ksrc

if [ "${1:-}" = --print ]; then
	echo "KVER := $KVER"
	echo "KDIR := /usr/src/linux-headers-$KVER"
	echo "KIMG := $CACHE/kernel-$KVER"
	echo "KSRC := $CACHE/linux-source-6.1"
fi
