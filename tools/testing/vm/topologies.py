# SPDX-License-Identifier: GPL-2.0
"""Named guest device topologies.

Each topology is a list of QEMU -device arguments, placed after the IOMMU.
Addresses are fixed so that tests and people can name devices; tests still
find devices by vendor:device and assert the structure they rely on.

  edu        1234:11e8   QEMU's educational device (DMA engine, INTx, MSI)

default:
  0000:00:04.0  edu alone in its group
  0000:00:05.0  pci-bridge (conventional PCI), secondary bus 01
  0000:01:01.0  edu  } one group with the bridge: conventional PCI
  0000:01:02.0  edu  } cannot tell their requester IDs apart
"""

EDU_VENDOR = 0x1234
EDU_DEVICE = 0x11E8

_BASE = [
    "edu,id=edu0,bus=pcie.0,addr=0x4",
    "pci-bridge,id=br0,bus=pcie.0,addr=0x5,chassis_nr=1",
    "edu,id=edu1,bus=br0,addr=0x1",
    "edu,id=edu2,bus=br0,addr=0x2",
]

TOPOLOGIES = {
    "default": _BASE,
}


def devices(name):
    """QEMU -device values for topology NAME (KeyError if unknown)."""
    return list(TOPOLOGIES[name])
