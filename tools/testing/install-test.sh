#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make install" into a temporary DESTDIR, then check what it installed: the
# module under lib/modules/KVER/extra and the depmod.d file that makes it win
# over the kernel's vfio.ko, the library (soname links), its header and
# pkg-config file (a program compiles and links against them, shared and
# static), the command, its manual page, bash completion and the systemd
# unit that restores persistent bindings at boot; and that
# dkms.conf builds the module and names its version.  TAP on stdout.
#
#   tools/testing/install-test.sh [KVER]
#
# KVER defaults to $KVER, then to the one in $BUILD/deps.mk (made by "make
# deps" if missing); KDIR likewise.
# Runs the top-level make, so the module is built first if it is not.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
: "${BUILD:=$top/build}"
deps_var() { sed -n "s/^$1 := //p" "$BUILD/deps.mk" 2>/dev/null; }
[ -n "${1:-${KVER:-}}" ] || [ -f "$BUILD/deps.mk" ] ||
	make -s deps BUILD="$BUILD" >/dev/null
KVER=${1:-${KVER:-$(deps_var KVER)}}
KDIR=${KDIR:-$(deps_var KDIR)}
KDIR=${KDIR:-/lib/modules/$KVER/build}
PREFIX=/usr/local

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/dest
# shellcheck source=tools/testing/tap.sh
. "$top/tools/testing/tap.sh"

if [ -z "$KVER" ]; then
	echo "1..1"
	not_ok "install: no KVER (give it, or fix \"make deps\")"
	exit 1
fi

host_dep=/lib/modules/$KVER/modules.dep
host_before=$(stat -c %Y "$host_dep" 2>/dev/null || echo none)

# 1. The install itself.
if make -s install DESTDIR="$D" KVER="$KVER" KDIR="$KDIR" \
	BUILD="$BUILD" >"$tmp/install.log" 2>&1; then
	ok "install: make install DESTDIR=... KVER=$KVER"
else
	not_ok "install: make install DESTDIR=... KVER=$KVER" \
		"$(tail -n 30 "$tmp/install.log")"
fi

# 2. Files, each where it belongs.
mod=$D/lib/modules/$KVER/extra/vfio.ko
lib=$D$PREFIX/lib
check "install: vfio.ko, vfio-pci.ko, vfio_iommu_type1.ko in lib/modules/$KVER/extra" \
	bash -c "for m in vfio vfio-pci vfio_iommu_type1; do
			 test -f '$D/lib/modules/$KVER/extra/'\$m.ko || exit 1; done"
check "install: its vermagic is $KVER" \
	bash -c "modinfo -F vermagic '$mod' | grep -q '^$KVER '"
check "install: depmod.d file overrides the three module names" \
	bash -c "for m in vfio vfio_pci vfio_iommu_type1; do
			 grep -qx \"override \$m \\* extra\" '$D/etc/depmod.d/vfio-groups.conf' || exit 1; done"
check "install: modprobe.d file sends vfio_pci_core to our vfio-pci" \
	grep -q '^install vfio_pci_core /sbin/modprobe --ignore-install vfio-pci' \
	"$D/etc/modprobe.d/vfio-groups.conf"
check "install: no depmod run with DESTDIR (staged tree, host untouched)" \
	bash -c "[ ! -e '$D/lib/modules/$KVER/modules.dep' ] &&
		 [ \"\$(stat -c %Y '$host_dep' 2>/dev/null || echo none)\" = '$host_before' ]"
check "install: libvfiogroup.so.0 -> libvfiogroup.so.0.1.0" \
	bash -c "[ \"\$(readlink '$lib/libvfiogroup.so.0')\" = libvfiogroup.so.0.1.0 ] &&
		 [ -f '$lib/libvfiogroup.so.0.1.0' ] && [ -L '$lib/libvfiogroup.so' ] &&
		 [ -f '$lib/libvfiogroup.a' ]"
check "install: soname is libvfiogroup.so.0, libnl linked dynamically" \
	bash -c "readelf -d '$lib/libvfiogroup.so.0.1.0' | grep -q 'SONAME.*\[libvfiogroup.so.0\]' &&
		 readelf -d '$lib/libvfiogroup.so.0.1.0' | grep -q 'NEEDED.*libnl-genl-3'"
check "install: vfiogroup.pc" test -f "$lib/pkgconfig/vfiogroup.pc"
check "install: vfiogroup/vfiogroup.h" \
	test -f "$D$PREFIX/include/vfiogroup/vfiogroup.h"
check "install: sbin/vfio-group runs" \
	bash -c "'$D$PREFIX/sbin/vfio-group' --version | grep -q '^vfio-group '"
check "install: man8/vfio-group.8 renders without warnings" \
	bash -c "out=\$(groff -man -Tutf8 -ww -z '$D$PREFIX/share/man/man8/vfio-group.8' 2>&1) &&
		 [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
check "install: bash completion parses and registers" \
	bash -c "[ -f '$D$PREFIX/share/bash-completion/completions/vfio-group' ] &&
		 _init_completion() { :; } &&
		 . '$D$PREFIX/share/bash-completion/completions/vfio-group' &&
		 complete -p vfio-group | grep -q _vfio_group"

unit=$D$PREFIX/lib/systemd/system/vfio-group-restore.service
check "install: vfio-group-restore.service in lib/systemd/system" test -f "$unit"
check "install: ... runs the installed vfio-group restore, once, early" \
	bash -c "grep -qx 'ExecStart=$PREFIX/sbin/vfio-group restore' '$unit' &&
		 grep -qx 'Type=oneshot' '$unit' &&
		 grep -qx 'DefaultDependencies=no' '$unit' &&
		 grep -q '^After=.*systemd-modules-load.service' '$unit' &&
		 grep -q '^Before=.*libvirtd.service' '$unit' &&
		 grep -q '^Before=.*network-pre.target' '$unit' &&
		 grep -qx 'WantedBy=sysinit.target' '$unit'"
check "install: ... and is not enabled in a staged tree" \
	bash -c "! find '$D' -path '*.wants/vfio-group-restore.service' | grep -q ."
if command -v systemd-analyze >/dev/null; then
	# verify wants the binary it names: point it at the staged one.
	sed "s|^ExecStart=$PREFIX|ExecStart=$D$PREFIX|" "$unit" \
		>"$tmp/vfio-group-restore.service"
	check "install: ... systemd-analyze verify finds nothing wrong" \
		bash -c "out=\$(systemd-analyze verify --man=no '$tmp/vfio-group-restore.service' 2>&1 |
			grep -i 'vfio-group-restore') ; [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
fi
check "install: ... and the command it runs restores from an empty directory" \
	bash -c "'$D$PREFIX/sbin/vfio-group' --config-dir '$tmp/none' restore |
		 grep -qx 'no persistent bindings in $tmp/none'"
make -s install-tools DESTDIR="$tmp/usr-dest" PREFIX=/usr BUILD="$BUILD" \
	SYSTEMDUNITDIR=/lib/systemd/system >/dev/null 2>&1
check "install: SYSTEMDUNITDIR=/lib/systemd/system PREFIX=/usr puts the unit there" \
	bash -c "grep -qx 'ExecStart=/usr/sbin/vfio-group restore' \
		'$tmp/usr-dest/lib/systemd/system/vfio-group-restore.service'"

# 3. A program against the installed header and pkg-config file.
cat >"$tmp/prog.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vfiogroup/vfiogroup.h>

int main(void)
{
	struct vfg_ctx *ctx = vfg_ctx_new(NULL);
	struct vfg_monitor *mon;

	if (!ctx)
		return 1;
	printf("%s\n", vfg_event_type_name(VFG_EVENT_DEVICE_BOUND));
	mon = vfg_monitor_new(ctx);	/* no module on a build host */
	if (mon)
		vfg_monitor_free(mon);
	else if (errno != ENOENT)
		printf("monitor: %s\n", strerror(errno));
	vfg_ctx_free(ctx);
	return 0;
}
EOF
pc() {
	PKG_CONFIG_PATH=$lib/pkgconfig pkg-config \
		--define-variable=prefix="$D$PREFIX" "$@" vfiogroup
}
# shellcheck disable=SC2046
check "install: a program builds with pkg-config (shared) and runs" \
	bash -c "gcc -std=c11 -Wall -Wextra -Werror -o '$tmp/prog' '$tmp/prog.c' \
			$(pc --cflags --libs 2>&1) &&
		 [ \"\$(LD_LIBRARY_PATH='$lib' '$tmp/prog')\" = device-bound ]"
check "install: ... and statically (pkg-config --static: libnl too)" \
	bash -c "gcc -static -o '$tmp/prog-static' '$tmp/prog.c' \
			$(pc --cflags --libs --static 2>&1) 2>&1 |
			grep -v 'statically linked applications\|in function' ;
		 [ \"\$('$tmp/prog-static')\" = device-bound ]"
check "install: the header is C++-clean" \
	bash -c "echo '#include <vfiogroup/vfiogroup.h>' |
		 g++ -x c++ -fsyntax-only -Wall -Werror $(pc --cflags 2>&1) -"

# 4. The depmod.d file decides between our vfio.ko and the others.
md=$D/lib/modules/$KVER
if [ -f "$mod" ]; then
	mkdir -p "$md/kernel/drivers/vfio" "$md/updates" "$tmp/nocfg"
	cp "$mod" "$md/kernel/drivers/vfio/vfio.ko"	# stand-ins
	cp "$mod" "$md/updates/vfio.ko"
	cp "$md/extra/vfio-pci.ko" "$md/kernel/drivers/vfio/vfio-pci.ko"
	depmod -b "$D" -C "$D/etc/depmod.d" "$KVER" 2>/dev/null
	check "install: with the depmod.d file, extra/vfio.ko wins" \
		grep -q '^extra/vfio.ko:' "$md/modules.dep"
	check "install: ... extra/vfio-pci.ko too, and it needs extra/vfio.ko" \
		grep -q '^extra/vfio-pci.ko: extra/vfio.ko' "$md/modules.dep"
	depmod -b "$D" -C "$tmp/nocfg" "$KVER" 2>/dev/null
	check "install: ... and without it, it would not" \
		grep -q '^updates/vfio.ko:' "$md/modules.dep"
else
	not_ok "install: depmod.d (no module installed)"
	not_ok "install: depmod.d (no module installed)"
fi

# 5. dkms.conf: its version is the module's; its MAKE builds the module
# where BUILT_MODULE_LOCATION says, in a copy as DKMS would.
modver=$(sed -n 's/^#define VFG_VERSION "\(.*\)"/\1/p' drivers/vfio/vfio.h)
# shellcheck disable=SC1091,SC2034
dkmsver=$(kernelver=$KVER kernel_source_dir=$KDIR
	  . ./dkms.conf && echo "$PACKAGE_VERSION")
check "dkms: PACKAGE_VERSION $dkmsver is MODULE_VERSION $modver" \
	test -n "$modver" -a "$modver" = "$dkmsver"
mkdir -p "$tmp/dkms"
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$tmp/dkms" 2>/dev/null
name="dkms: MAKE[0] builds the three modules for $KVER, CLEAN removes them"
if (
	cd "$tmp/dkms" || exit 1
	# shellcheck disable=SC2034	# dkms.conf uses them
	kernelver=$KVER kernel_source_dir=$KDIR
	# shellcheck disable=SC1091
	. ./dkms.conf
	eval "${MAKE[0]}" >"$tmp/dkms.log" 2>&1 &&
		[ "$PACKAGE_NAME" = vfio-groups ] &&
		[ "${#BUILT_MODULE_NAME[@]}" = 3 ] &&
		[[ $KVER =~ $BUILD_EXCLUSIVE_KERNEL ]] || exit 1
	for i in 0 1 2; do
		[ -f "${BUILT_MODULE_LOCATION[i]}${BUILT_MODULE_NAME[i]}.ko" ] &&
			[ "${DEST_MODULE_LOCATION[i]}" = /extra ] || exit 1
	done
	eval "$CLEAN" >>"$tmp/dkms.log" 2>&1 || exit 1
	for i in 0 1 2; do
		[ ! -e "${BUILT_MODULE_LOCATION[i]}${BUILT_MODULE_NAME[i]}.ko" ] ||
			exit 1
	done
); then
	ok "$name"
else
	not_ok "$name" "$(tail -n 20 "$tmp/dkms.log" 2>/dev/null)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
