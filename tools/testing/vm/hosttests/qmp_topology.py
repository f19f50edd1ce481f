# SPDX-License-Identifier: GPL-2.0
"""Host-side checks of the test bed itself.

The topology QEMU reports over QMP is the one tools/testing/vm/topologies.py
promises, and the host<->guest channel works both ways: the guest announces
itself, the host answers with a token, the guest echoes it back.
"""

import random

# Guest side of the handshake, appended to the guest's /run.sh.
GUEST = """
echo "HANDSHAKE-READY"
read -t 120 -r token || echo "HANDSHAKE-TIMEOUT"
echo "HANDSHAKE-GOT $token"
"""

EDU = (0x1234, 0x11E8)


def _devices(buses):
    for bus in buses:
        for d in bus["devices"]:
            yield bus["bus"], d
            br = d.get("pci_bridge")
            if br and br.get("devices") is not None:
                yield from _devices([{"bus": br["bus"]["secondary"],
                                      "devices": br["devices"]}])


def run(vm):
    # Bus numbers behind bridges are assigned by firmware: ask once booted.
    vm.wait_output(r"^VMRUN-BOOTED", timeout=120)
    buses = vm.qmp.command("query-pci")
    edus = sorted((bus, d["slot"]) for bus, d in _devices(buses)
                  if (d["id"]["vendor"], d["id"]["device"]) == EDU)
    if edus == [(0, 4), (1, 1), (1, 2), (2, 0)]:
        vm.ok("qmp: edu devices at 00:04.0, 01:01.0, 01:02.0, 02:00.0")
    else:
        vm.fail("qmp: edu devices", "found %r" % edus)

    token = "%08x" % random.getrandbits(32)
    i = vm.wait_output(r"^HANDSHAKE-READY", timeout=240)
    vm.send(token)
    vm.wait_output(r"^HANDSHAKE-GOT " + token + "$", timeout=60, start=i)
    vm.ok("host<->guest channel round trip")
