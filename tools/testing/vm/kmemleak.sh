# SPDX-License-Identifier: GPL-2.0
# Guest side of "make check-debug", run last (vmrun.py --final-script): unload
# every VFIO module, ours or the kernel's, then have kmemleak scan twice a few
# seconds apart (an object is only reported once it is older than kmemleak's
# minimum age, 5 s) and print what it found.  One TAP result; the console
# line "kmemleak: N new suspected memory leaks" also fails the run.
# Needs a kernel with CONFIG_DEBUG_KMEMLEAK and debugfs (mounted by /init).
echo "TAP version 13"
echo "1..1"
kml=/sys/kernel/debug/kmemleak
for m in vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd vfio; do
	[ -e "/sys/module/$m" ] && rmmod "$m"
done
if [ -e /sys/module/vfio ]; then
	echo "not ok 1 kmemleak: vfio would not unload"
elif [ ! -e "$kml" ]; then
	echo "ok 1 kmemleak # SKIP no $kml (CONFIG_DEBUG_KMEMLEAK)"
elif ! echo scan >"$kml" 2>/dev/null; then
	echo "not ok 1 kmemleak: scan refused (kmemleak disabled at run time?)"
	dmesg | grep -i kmemleak | sed 's/^/# /'
else
	sleep 6
	echo scan >"$kml"
	n=$(grep -c '^unreferenced object' "$kml")
	if [ "$n" -eq 0 ]; then
		echo "ok 1 kmemleak: no unreferenced object"
	else
		sed 's/^/# kmemleak: /' "$kml"
		echo "not ok 1 kmemleak: $n unreferenced object(s)"
	fi
fi
