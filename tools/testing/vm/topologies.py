# SPDX-License-Identifier: GPL-2.0
"""Named guest device topologies.

Each topology is a list of QEMU -device arguments, placed after the IOMMU.
Addresses are fixed so that tests and people can name devices; tests still
find devices by vendor:device and assert the structure they rely on.

  edu        1234:11e8   QEMU's educational device (DMA engine, INTx, MSI)

default:
  0000:00:04.0  edu alone in its group (no reset method)
  0000:00:05.0  pci-bridge (conventional PCI), secondary bus 01
  0000:01:01.0  edu  } one group with the bridge: conventional PCI
  0000:01:02.0  edu  } cannot tell their requester IDs apart
  0000:00:06.0  e1000e (MSI-X, table in BAR3)
  0000:00:07.0  pcie-root-port rp1, slot 1
  0000:02:00.0  edu behind rp1 (resettable with a bus reset; hot-pluggable)
  0000:00:08.0  pcie-root-port rp2, slot 2, empty (for hot-add)

hotreset: default, plus a bus whose reset spans several IOMMU groups:
  0000:00:09.0  pcie-root-port rp3, slot 3
  0000:04:00.0  x3130-upstream sw0 (switch upstream port), secondary bus 05
  0000:05:00.0  edu  } each in its own group: an upstream port is a
  0000:05:01.0  edu  } single-function port that isolates (Linux counts it
  0000:05:02.0  edu  } as ACS-capable), and the root port has ACS
  A hot reset of any of them is a secondary bus reset of sw0 and resets all
  three.

sriov: default, plus an SR-IOV PF with room for two VFs:
  0000:00:09.0  pcie-root-port rp3, slot 3 (ACS: its bus is its own)
  0000:04:00.0  nvme (1b36:0010) in nvme-subsys subsys0, sriov_max_vfs=2;
                writing sriov_numvfs adds its VFs at 04:00.1 and 04:00.2,
                each with its own requester ID and so its own group (the PF
                has no ACS but is single-function, and so are its VFs)

vga: default, plus a VGA-class device for the VGA region (issue 14, item 2):
  0000:00:09.0  QEMU's standard VGA (1234:1111, class 0x0300): legacy VGA
                memory and I/O ports; SeaBIOS runs its VGA BIOS, which
                leaves it in text mode; it is the VGA arbiter's default
                device and owns the legacy ranges
  0000:00:0a.0  pcie-root-port rp3, slot 3, bus 04
  0000:04:00.0  cirrus-vga (1013:00b8, class 0x0300): a second VGA device,
                behind a port whose VGA routing is off, so that the arbiter
                has something to switch the legacy ranges to

smallbar: default, plus a device with a BAR smaller than a page:
  0000:00:0a.0  ivshmem-plain (1af4:1110) on a 1 MiB RAM backend: BAR0 is
                256 bytes of registers (MMIO), BAR2 the shared memory
                (64-bit prefetchable); no interrupts, no MSI-X

An entry "-object ARGS" is passed as a QEMU -object, not a -device.
"""

EDU_VENDOR = 0x1234
EDU_DEVICE = 0x11E8

_BASE = [
    "edu,id=edu0,bus=pcie.0,addr=0x4",
    "pci-bridge,id=br0,bus=pcie.0,addr=0x5,chassis_nr=1",
    "edu,id=edu1,bus=br0,addr=0x1",
    "edu,id=edu2,bus=br0,addr=0x2",
    "e1000e,id=nic0,bus=pcie.0,addr=0x6,netdev=nd0",
    "pcie-root-port,id=rp1,bus=pcie.0,addr=0x7,chassis=2,slot=1",
    "edu,id=edu3,bus=rp1",
    "pcie-root-port,id=rp2,bus=pcie.0,addr=0x8,chassis=3,slot=2",
]

_HOTRESET = _BASE + [
    "pcie-root-port,id=rp3,bus=pcie.0,addr=0x9,chassis=4,slot=3",
    "x3130-upstream,id=sw0,bus=rp3",
    "edu,id=edu5,bus=sw0,addr=0x0",
    "edu,id=edu6,bus=sw0,addr=0x1",
    "edu,id=edu7,bus=sw0,addr=0x2",
]

# QEMU 7.2 docs/system/devices/nvme.rst: each VF needs two flexible queues
# (admin and I/O) and one flexible interrupt.
_SRIOV = _BASE + [
    "pcie-root-port,id=rp3,bus=pcie.0,addr=0x9,chassis=4,slot=3",
    "nvme-subsys,id=subsys0",
    "nvme,id=nvme0,bus=rp3,serial=deadbeef,subsys=subsys0,sriov_max_vfs=2,"
    "sriov_vq_flexible=4,sriov_vi_flexible=2",
]

_VGA = _BASE + [
    "VGA,id=vga0,bus=pcie.0,addr=0x9",
    "pcie-root-port,id=rp3,bus=pcie.0,addr=0xa,chassis=4,slot=3",
    "cirrus-vga,id=vga1,bus=rp3",
]

_SMALLBAR = _BASE + [
    "-object memory-backend-ram,id=shm0,size=1M",
    "ivshmem-plain,id=shm0dev,bus=pcie.0,addr=0xa,memdev=shm0",
]

TOPOLOGIES = {
    "default": _BASE,
    "hotreset": _HOTRESET,
    "sriov": _SRIOV,
    "vga": _VGA,
    "smallbar": _SMALLBAR,
}


def devices(name):
    """QEMU -device values for topology NAME (KeyError if unknown)."""
    return list(TOPOLOGIES[name])
