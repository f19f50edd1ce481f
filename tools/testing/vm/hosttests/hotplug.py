# SPDX-License-Identifier: GPL-2.0
"""Hot-unplug and hot-add for real, through QEMU's monitor.

Unplug: a guest process holds the edu behind the PCIe root port rp1 (device,
BAR mapping, REQ eventfd).  The host asks QEMU to unplug it (device_del);
the guest's pciehp removes the device, our remove() blocks and signals the
REQ eventfd, the holder releases the device, the removal completes and QEMU
reports DEVICE_DELETED.  Nothing may be lost on the way: the runner fails
the run on any oops, WARN or taint.

Add: the host plugs a new edu into the empty root port rp2 (device_add); the
guest sees a GROUP_CREATED netlink event and the group's /dev/vfio node.
"""

import time

HOLDER_DEV = "edu3"         # behind rp1, see topologies.py

GUEST = r"""
cd /opt/vfg/tests
vfg-modules load 2>/dev/null
pedu=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] || continue
	case "$(readlink -f $d)" in
	*/0000:00:07.0/*) pedu=${d##*/} ;;
	esac
done
echo "HOTPLUG-DEVICE $pedu"
echo vfio-pci > /sys/bus/pci/devices/$pedu/driver_override
echo $pedu > /sys/bus/pci/drivers/vfio-pci/bind
./vfg_helper hold $pedu
rc=$?
for i in $(seq 1 100); do
	[ -e /sys/bus/pci/devices/$pedu ] || break
	sleep 0.1
done
if [ -e /sys/bus/pci/devices/$pedu ]; then
	echo "HOTPLUG-STILL-THERE"
else
	echo "HOTPLUG-GONE"
fi
./vfg_helper wait group-created 120 | while read -r line; do
	echo "$line"
	case "$line" in
	EVENT*)
		set -- $line
		for i in $(seq 1 50); do
			[ -e /dev/vfio/$4 ] && break
			sleep 0.1
		done
		[ -c /dev/vfio/$4 ] && echo "HOTADD-NODE /dev/vfio/$4"
		;;
	esac
done
vfg-modules unload 2>/dev/null
true
"""


def run(vm):
    i = vm.wait_output(r"^HOLD-READY", timeout=600)
    t0 = time.time()
    vm.qmp.command("device_del", id=HOLDER_DEV)
    vm.ok("hot-unplug: device_del accepted while the device is held")

    j = vm.wait_output(r"^HOLD-REQ", timeout=120, start=i)
    vm.ok("hot-unplug: the holder's REQ eventfd fired (%.1fs after "
          "device_del)" % (time.time() - t0))
    vm.wait_output(r"^HOLD-RELEASED", timeout=60, start=j)
    ev = vm.qmp.wait_event("DEVICE_DELETED", timeout=120,
                           match={"device": HOLDER_DEV})
    if ev:
        vm.ok("hot-unplug: QEMU reports DEVICE_DELETED once released")
    k = vm.wait_output(r"^HOTPLUG-(GONE|STILL-THERE)", timeout=60, start=j)
    if vm.output[k].startswith("HOTPLUG-GONE"):
        vm.ok("hot-unplug: the guest no longer has the device")
    else:
        vm.fail("hot-unplug: device gone", "still present in the guest")

    m = vm.wait_output(r"^WAIT-READY", timeout=60, start=k)
    vm.qmp.command("device_add", driver="edu", id="edu-hotadd", bus="rp2")
    n = vm.wait_output(r"^EVENT group-created group \d+", timeout=120,
                       start=m)
    vm.ok("hot-add: netlink group-created event (%s)" % vm.output[n])
    vm.wait_output(r"^HOTADD-NODE /dev/vfio/\d+", timeout=60, start=n)
    vm.ok("hot-add: the new group's node appeared")
