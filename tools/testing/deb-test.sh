#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages, end to end: "make deb", lintian at its default level,
# then a fresh Debian 12 chroot (mmdebstrap, with linux-headers-amd64) in
# which the packages are installed with apt, DKMS must have built vfio.ko,
# vfio-pci.ko and vfio_iommu_type1.ko for the chroot's kernel headers,
# vfio-group-restore.service must be enabled, "vfio-group --help" must run and
# a program must build with pkg-config; then they are purged, and nothing of
# theirs may be left.  TAP on stdout, the time each step took as comments.  About 1.5 to 3
# minutes on 2 cores, most of it mmdebstrap; "make deb-check" runs it, "make
# check" does not.
#
#   tools/testing/deb-test.sh
#
# Needs root (chroot, mounts) and the Debian mirror of /etc/apt/sources.list.d/
# debian.sources (or MIRROR=URL); installs its tools with apt.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
: "${BUILD:=$top/build}"
DEB_OUT=$BUILD/deb
SUITE=bookworm
TOOLS=(devscripts debhelper dh-dkms dkms lintian mmdebstrap fakeroot
       libnl-genl-3-dev libpci-dev pkgconf check)
# shellcheck source=tools/testing/tap.sh
. "$top/tools/testing/tap.sh"

t0=$SECONDS
lap() { echo "# $1: $((SECONDS - t0)) s"; t0=$SECONDS; }

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP deb-test needs root (chroot)"
	exit 0
fi
missing=()
for p in "${TOOLS[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

tmp=$(mktemp -d /var/tmp/vfg-deb-test.XXXXXX)
R=$tmp/root
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[i]}" 2>/dev/null
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

# 1. Build.
check "deb: make deb builds the four packages" \
	bash -c "make -s deb BUILD='$BUILD' >'$tmp/build.log' 2>&1 ||
		 { tail -n 40 '$tmp/build.log'; false; }"
lap "make deb"
debs=()
for p in vfio-groups-dkms vfio-group libvfiogroup0 libvfiogroup-dev; do
	f=$(ls "$DEB_OUT/${p}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] && debs+=("$f")
done
check "deb: ${#debs[@]} of 4 packages in $DEB_OUT" test ${#debs[@]} -eq 4
if [ ${#debs[@]} -ne 4 ]; then
	echo "1..$n"
	exit 1
fi

# 2. lintian, default level: no error, no warning (overrides in debian/).
check "deb: lintian reports no errors or warnings" \
	bash -c "out=\$(lintian '$DEB_OUT'/*.changes 2>&1 | grep -E '^[EW]: ');
		 [ -z \"\$out\" ] || { echo \"\$out\"; false; }"
lap "lintian"

# 3. A fresh Debian 12 with the kernel headers, and a compiler and pkg-config
# for the program built against libvfiogroup-dev.
if [ -n "${MIRROR:-}" ]; then
	sources="deb $MIRROR $SUITE main"
else
	sources=/etc/apt/sources.list.d/debian.sources
	[ -f "$sources" ] || sources=/etc/apt/sources.list
fi
# unshare mode: in root mode mmdebstrap bind-mounts and chmods the host's
# device nodes where it cannot mknod (in a container).
# apt runs as root, not as _apt: /dev/null may be unwritable for others on a
# shared machine (the host's, bind-mounted), and nothing here needs the sandbox.
if ! mmdebstrap --mode=unshare --variant=apt --include=linux-headers-amd64,gcc,pkgconf \
	--aptopt='APT::Sandbox::User "root"' \
	"$SUITE" "$R" "$sources" >"$tmp/mmdebstrap.log" 2>&1; then
	not_ok "chroot: mmdebstrap $SUITE with linux-headers-amd64" \
		"$(tail -n 30 "$tmp/mmdebstrap.log")"
	echo "1..$n"
	exit 1
fi
ok "chroot: mmdebstrap $SUITE with linux-headers-amd64"
lap "mmdebstrap"
mount -t proc proc "$R/proc" && mounted+=("$R/proc")
mount -t sysfs sysfs "$R/sys" && mounted+=("$R/sys")
# The host's /dev, read-only: nothing in the chroot may chmod its nodes.
if ! { mount --bind /dev "$R/dev" && mounted+=("$R/dev") &&
       mount -o remount,bind,ro "$R/dev"; }; then
	not_ok "chroot: /dev bind-mounted read-only"
	echo "1..$n"
	exit 1
fi
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive "$@"; }
kver=$(ls "$R/lib/modules" | head -n 1)

# Every file but the ones that come and go with any apt run.
snapshot() {
	(cd "$R" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev \
		-o -path ./tmp -o -path ./var/cache -o -path ./var/log \
		-o -path ./var/lib/apt -o -path ./var/lib/dpkg \) -prune \
		-o -print) | sort
}
check "chroot: apt-get update (mmdebstrap removed the lists)" \
	in_root apt-get update -q
# The packages' dependencies first (with what they recommend, as apt
# installs them): what their maintainer scripts make is then in the
# snapshot, and what changes after it is ours.
deps=$(for f in "${debs[@]}"; do dpkg-deb -f "$f" Depends; done |
	tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/^ *//; s/ *$//' |
	grep -v -x -e vfio-groups-dkms -e vfio-group -e libvfiogroup0 \
		-e libvfiogroup-dev -e '' | sort -u)
# shellcheck disable=SC2086	# one word a package
check "chroot: apt installs their dependencies ($(echo $deps))" \
	in_root apt-get install -y -q $deps
snapshot >"$tmp/before"

# 4. Install.
mkdir -p "$R/tmp/debs"
cp "${debs[@]}" "$R/tmp/debs/"
check "chroot: apt installs the four packages (DKMS builds the modules)" \
	in_root apt-get install -y -q "${debs[@]/#*\//\/tmp\/debs\/}"
lap "apt-get install (DKMS build included)"
check "chroot: dkms status: vfio-groups installed for $kver" \
	bash -c "out=\$(chroot '$R' dkms status vfio-groups 2>&1); echo \"\$out\";
		 grep -q ', $kver, .*: installed' <<<\"\$out\""
# Each of the three is built for the chroot's kernel and is the one depmod
# picks for its name; vfio.ko carries the version (MODULE_VERSION, which
# dkms.conf's PACKAGE_VERSION must be).
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
for m in vfio vfio-pci vfio_iommu_type1; do
	ko=$(find "$R/lib/modules/$kver" -name "$m.ko*" 2>/dev/null | head -n 1)
	check "chroot: $m.ko for $kver, its vermagic $kver" \
		bash -c "[ -n '$ko' ] && modinfo -F vermagic '$ko' | grep -q '^$kver '"
	check "chroot: depmod picks it for \"modprobe $m\"" \
		bash -c "[ -n '$ko' ] &&
			 grep -q '^${ko#"$R/lib/modules/$kver/"}:' '$R/lib/modules/$kver/modules.dep'"
	[ "$m" = vfio ] &&
		check "chroot: vfio.ko is version $version" \
			bash -c "modinfo -F version '$ko' | grep -qx '$version'"
done
check "chroot: modprobe.d and depmod.d files" \
	test -f "$R/etc/modprobe.d/vfio-groups.conf" -a \
	     -f "$R/etc/depmod.d/vfio-groups.conf"
check "chroot: vfio-group --help runs" \
	bash -c "chroot '$R' vfio-group --help | grep -q -i usage"
check "chroot: man page and bash completion" \
	test -f "$R/usr/share/man/man8/vfio-group.8.gz" -a \
	     -f "$R/usr/share/bash-completion/completions/vfio-group"
unit=vfio-group-restore.service
check "chroot: $unit installed, runs /usr/sbin/vfio-group restore" \
	grep -qx 'ExecStart=/usr/sbin/vfio-group restore' "$R/lib/systemd/system/$unit"
check "chroot: ... and enabled (sysinit.target wants it)" \
	test -L "$R/etc/systemd/system/sysinit.target.wants/$unit"
cat >"$R/tmp/prog.c" <<'EOF'
#include <vfiogroup/vfiogroup.h>

int main(void)
{
	struct vfg_ctx *ctx = vfg_ctx_new(NULL);

	vfg_ctx_free(ctx);
	return !ctx;
}
EOF
check "chroot: a program builds with pkg-config vfiogroup and runs" \
	in_root sh -c 'cc -Wall -Werror -o /tmp/prog /tmp/prog.c \
		$(pkg-config --cflags --libs vfiogroup) && /tmp/prog'
check "chroot: ... and statically (pkg-config --static)" \
	in_root sh -c 'cc -static -o /tmp/prog-static /tmp/prog.c \
		$(pkg-config --cflags --libs --static vfiogroup) 2>&1 |
		grep -v "statically linked applications\|in function";
		/tmp/prog-static'

# 5. Purge.  Nothing of ours may be left: no file our packages shipped, nor
# what DKMS made of them.  And no other new file, but what belongs to the
# dependencies apt pulled in (they stay installed; with merged /usr, dpkg
# knows /lib/x as /usr/lib/x), their alternatives and systemd helper state,
# and the modules.* files of DKMS's depmod for a kernel with no image.
ours=(vfio-groups-dkms vfio-group libvfiogroup0 libvfiogroup-dev)
for p in "${ours[@]}"; do
	in_root dpkg-query -L "$p" 2>/dev/null
done | sort -u >"$tmp/ours"
check "chroot: apt purges the packages" \
	in_root apt-get purge -y -q "${ours[@]}"
lap "apt-get purge"
rm -rf "$R/tmp/debs" "$R/tmp/prog" "$R/tmp/prog-static" "$R/tmp/prog.c"
snapshot >"$tmp/after"
in_root dpkg-query -W -f='${Package}\n' | while read -r p; do
	in_root dpkg-query -L "$p" </dev/null 2>/dev/null
done | sed -E 's#^/(lib|lib64|bin|sbin)/(.*)#/usr/\1/\2\n/\1/\2#' |
	sed 's|^|.|' | sort -u >"$tmp/owned"
# Files of ours (not directories shared with others) still there.
left_ours=$(while read -r f; do
	[ -e "$R$f" ] && [ ! -d "$R$f" ] && echo "$f"
done <"$tmp/ours"
for f in "$R"/var/lib/dkms/vfio-groups "$R"/usr/src/vfio-groups-* \
	 "$R/lib/modules/$kver/updates/dkms/"{vfio,vfio-pci,vfio_iommu_type1}.ko* \
	 "$R/etc/systemd/system/sysinit.target.wants/$unit"; do
	[ -e "$f" ] && echo "${f#"$R"}"
done)
check "chroot: purge leaves no file of ours, nor DKMS's build" \
	bash -c "[ -z \"\$1\" ] || { echo \"\$1\"; false; }" _ "$left_ours"
left=$(comm -13 "$tmp/before" "$tmp/after" | comm -23 - "$tmp/owned" |
	while read -r f; do
		case $(readlink "$R/$f") in /etc/alternatives/*) continue ;; esac
		echo "$f"
	done |
	grep -v -E -e "^\./(usr/)?lib/modules/$kver/modules\." -e '^\./etc/ld\.so\.cache$' \
		-e '^\./var/lib/dkms$' -e '^\./etc/alternatives/' \
		-e '^\./var/lib/systemd/deb-systemd-' -e '^\./usr/local/')
check "chroot: ... and no other new file that no package owns" \
	bash -c "[ -z \"\$1\" ] || { echo \"\$1\"; false; }" _ "$left"
gone=$(comm -23 "$tmp/before" "$tmp/after")
check "chroot: ... and removes none it did not install" \
	bash -c "[ -z \"\$1\" ] || { echo \"\$1\"; false; }" _ "$gone"

echo "1..$n"
[ "$failed" -eq 0 ]
