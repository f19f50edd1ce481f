# SPDX-License-Identifier: GPL-2.0
# "make run": the main job in the guest.  Load the driver, look at the IOMMU
# groups, hand the lone edu's group to userspace with the vfio-group CLI, run
# the userspace edu driver (DMA both ways, a factorial, its MSI), give the
# group back.  Runs as part of the guest's /run.sh.
set -e
echo "== vfio-groups demo: kernel $(uname -r), IOMMU ${VFG_IOMMU}"
vfg-modules load
echo "== driver loaded: /sys/module/vfio ($(cat /sys/module/vfio/version))"
echo
echo "== \$ vfio-group list"
vfio-group list
edu=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] || continue
	case "$(readlink -f "$d")" in
	*/pci0000:00/0000:00:??.?) edu=${d##*/}; break ;;
	esac
done
echo
echo "== \$ vfio-group bind $edu"
vfio-group bind "$edu"
echo
echo "== \$ vfio-edu-sample $edu"
vfio-edu-sample "$edu"
echo
echo "== \$ vfio-group unbind $edu"
vfio-group unbind "$edu"
vfg-modules unload
echo "== driver unloaded"
