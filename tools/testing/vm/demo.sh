# SPDX-License-Identifier: GPL-2.0
# "make run": load the driver in the guest and show the IOMMU groups.
# Runs as part of the guest's /run.sh (output on the test channel).
echo "== vfio-groups demo: kernel $(uname -r), IOMMU ${VFG_IOMMU}"
insmod "$VFG_MODULE" || exit 1
echo "== module loaded: /sys/module/vfio ($(cat /sys/module/vfio/version))"
echo "== IOMMU groups"
for g in $(ls /sys/kernel/iommu_groups | sort -n); do
	echo "group $g:"
	for d in /sys/kernel/iommu_groups/$g/devices/*; do
		bdf=${d##*/}
		ven=$(cat "$d/vendor"); dev=$(cat "$d/device")
		cls=$(cat "$d/class")
		drv=-
		[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
		printf '  %s  %s:%s  class %s  driver %s\n' "$bdf" \
			"${ven#0x}" "${dev#0x}" "${cls#0x}" "$drv"
	done
done
rmmod vfio && echo "== module unloaded"
