// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VGA region (index 8) of a VGA-class device: its legacy ranges, for
 * a guest's VGA BIOS and text console (QEMU's x-vga=on).
 *
 * The region is 0xc0000 bytes long and offsets in it are the legacy
 * addresses themselves; only three windows of it exist:
 *
 *   0xa0000 - 0xbffff   legacy video memory
 *   0x003b0 - 0x003bb   I/O ports: monochrome CRTC, status, ...
 *   0x003c0 - 0x003df   I/O ports: attribute, sequencer, DAC, graphics, ...
 *
 * pread/pwrite at any other offset fail with -EINVAL; one that runs past
 * the end of its window is shortened to it.  Accesses are split into
 * naturally aligned 4, 2 and 1 byte ones, as for BARs.  There is no mmap:
 * the ranges are shared with every other VGA device, and each access must
 * own them.
 *
 * Legacy VGA decoding belongs to one device (and the bridges routing to it)
 * at a time, arbitrated by the VGA arbiter: every access is done between
 * vga_get_interruptible() and vga_put() for the legacy resource it touches,
 * which may route the range away from another VGA device first.  The
 * arbiter's lock is taken and dropped around each bounce buffer's worth of
 * accesses, never held while touching user memory.  vdev->memory_lock
 * (read) is taken inside it, as for a BAR access: no access while the
 * device is revoked (-ENODEV) or being reset, nor while its command
 * register disables the space (memory for video memory, I/O for the ports:
 * -EIO).  Not the other way round: the wait for the arbiter can be long
 * (another user may hold the ranges through /dev/vga_arbiter), and a reset
 * or a revoke must not wait behind it.  Nothing that holds memory_lock for
 * writing asks the arbiter for anything.
 *
 * The region exists only for VGA-class devices (class 0x0300) and only
 * while vfio-pci's disable_vga is off; otherwise its index is refused with
 * -EINVAL, as upstream.  Either way the device is an arbiter client
 * (vga_client_register()), so that the arbiter knows what it decodes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vgaarb.h>

#include "vfio_pci_priv.h"

#define VFG_VGA_REGION_SIZE	0xc0000

/**
 * struct vfg_vga_window - one legacy range of the VGA region
 * @start: first offset (the legacy address)
 * @size: bytes
 * @io: I/O ports (else memory)
 */
struct vfg_vga_window {
	u32 start;
	u32 size;
	bool io;
};

static const struct vfg_vga_window vfg_vga_windows[] = {
	{ .start = 0xa0000, .size = 0x20000, .io = false },
	{ .start = 0x3b0, .size = 0xc, .io = true },
	{ .start = 0x3c0, .size = 0x20, .io = true },
};

static bool vfg_pci_is_vga(struct pci_dev *pdev)
{
	return (pdev->class >> 8) == PCI_CLASS_DISPLAY_VGA;
}

/*
 * The arbiter's question: which legacy resources does @pdev decode?  It
 * asks at registration and whenever a VGA device comes or goes, under its
 * own spinlock (so nothing here sleeps).  @single_vga: it is the only VGA
 * device.  While the region is offered, userspace may use the legacy
 * ranges at any time, so the device decodes them.  With disable_vga,
 * userspace cannot reach them, and the device may be counted as decoding
 * none if its legacy decoding can be switched off at a bridge: not on a
 * root bus, and with no other VGA device behind the same bridge (which
 * would lose its routing too).
 */
static unsigned int vfg_pci_vga_decode(struct pci_dev *pdev, bool single_vga)
{
	unsigned int all = VGA_RSRC_NORMAL_IO | VGA_RSRC_NORMAL_MEM |
			   VGA_RSRC_LEGACY_IO | VGA_RSRC_LEGACY_MEM;
	struct pci_dev *other = NULL;
	unsigned char last;

	if (single_vga || !vfg_pci_disable_vga || pci_is_root_bus(pdev->bus))
		return all;
	last = pci_bus_max_busnr(pdev->bus);
	while ((other = pci_get_class(PCI_CLASS_DISPLAY_VGA << 8, other))) {
		if (other == pdev || pci_is_root_bus(other->bus) ||
		    pci_domain_nr(other->bus) != pci_domain_nr(pdev->bus))
			continue;
		if (other->bus->number >= pdev->bus->number &&
		    other->bus->number <= last) {
			pci_dev_put(other);
			return all;
		}
	}
	return VGA_RSRC_NORMAL_IO | VGA_RSRC_NORMAL_MEM;
}

/**
 * vfg_pci_vga_probe() - make a VGA-class device an arbiter client
 * @vdev: the device, being probed
 *
 * Decides whether the device has a VGA region (not with disable_vga) and
 * tells the arbiter what it decodes.  Nothing for other devices.
 *
 * Return: 0, or the arbiter's error (-ENODEV if it does not know the
 * device).
 */
int vfg_pci_vga_probe(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	int ret;

	if (!vfg_pci_is_vga(pdev))
		return 0;
	ret = vga_client_register(pdev, vfg_pci_vga_decode);
	if (ret)
		return ret;
	vga_set_legacy_decoding(pdev, vfg_pci_vga_decode(pdev, false));
	vdev->vga = !vfg_pci_disable_vga;
	return 0;
}

/**
 * vfg_pci_vga_remove() - undo vfg_pci_vga_probe()
 * @vdev: the device, being removed (or its probe failing)
 *
 * The device is no longer our client, and is counted as decoding every
 * legacy resource again, as a device without a driver may.
 */
void vfg_pci_vga_remove(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;

	if (!vfg_pci_is_vga(pdev))
		return;
	vga_client_unregister(pdev);
	vga_set_legacy_decoding(pdev, VGA_RSRC_NORMAL_IO | VGA_RSRC_NORMAL_MEM |
				VGA_RSRC_LEGACY_IO | VGA_RSRC_LEGACY_MEM);
	vdev->vga = false;
}

/**
 * vfg_pci_vga_region_info() - size and flags of the VGA region
 * @vdev: the device
 * @size: set to the region's size
 * @flags: set to its VFIO_REGION_INFO_FLAG_* (read and write, never mmap)
 *
 * Return: 0, or -EINVAL when the device has no VGA region (not VGA-class,
 * or disable_vga).
 */
int vfg_pci_vga_region_info(struct vfg_pci_device *vdev, u64 *size,
			    u32 *flags)
{
	if (!vdev->vga)
		return -EINVAL;
	*size = VFG_VGA_REGION_SIZE;
	*flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	return 0;
}

/* Does the device decode @w now?  Under memory_lock, as for a BAR. */
static int vfg_pci_vga_check(struct vfg_pci_device *vdev,
			     const struct vfg_vga_window *w)
{
	u16 cmd;

	lockdep_assert_held(&vdev->memory_lock);
	if (vdev->revoked)
		return -ENODEV;
	if (pci_read_config_word(vdev->pdev, PCI_COMMAND, &cmd) ||
	    cmd == 0xffff)
		return -EIO;
	return cmd & (w->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY) ? 0 : -EIO;
}

/* One bounce buffer's worth, owning the legacy resource. */
static int vfg_pci_vga_chunk(struct vfg_pci_device *vdev,
			     const struct vfg_vga_window *w,
			     void __iomem *io, u32 off, u8 *tmp, size_t n,
			     bool write)
{
	unsigned int rsrc = w->io ? VGA_RSRC_LEGACY_IO : VGA_RSRC_LEGACY_MEM;
	int ret;

	ret = vga_get_interruptible(vdev->pdev, rsrc);
	if (ret)
		return ret;
	down_read(&vdev->memory_lock);
	ret = vfg_pci_vga_check(vdev, w);
	if (!ret)
		vfg_pci_io_rw(io, off, tmp, n, write, 0, 0);
	up_read(&vdev->memory_lock);
	vga_put(vdev->pdev, rsrc);
	return ret;
}

/**
 * vfg_pci_vga_rw() - pread/pwrite of the VGA region
 * @vdev: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the region (the legacy address)
 * @write: direction
 *
 * Return: bytes transferred, or a negative errno: -EINVAL without a VGA
 * region or outside its three windows, -ENODEV after a revoke, -EIO while
 * the device does not decode the space (or is being reset), -ERESTARTSYS
 * when a signal interrupts the wait for the arbiter.
 */
ssize_t vfg_pci_vga_rw(struct vfg_pci_device *vdev, char __user *buf,
		       size_t count, loff_t pos, bool write)
{
	const struct vfg_vga_window *w = NULL;
	size_t done = 0, n;
	void __iomem *io;
	int i, ret = 0;
	u8 *tmp;

	if (!vdev->vga)
		return -EINVAL;
	/* Checked again under memory_lock; no wait for the arbiter first. */
	if (READ_ONCE(vdev->revoked))
		return -ENODEV;
	for (i = 0; i < ARRAY_SIZE(vfg_vga_windows); i++)
		if (pos >= vfg_vga_windows[i].start &&
		    pos < vfg_vga_windows[i].start + vfg_vga_windows[i].size)
			w = &vfg_vga_windows[i];
	if (!w)
		return -EINVAL;
	pos -= w->start;
	count = min_t(u64, count, w->size - pos);

	if (w->io)
		io = ioport_map(w->start, w->size);
	else
		io = ioremap(w->start, w->size);
	if (!io)
		return -ENOMEM;
	tmp = kmalloc(min_t(size_t, count, PAGE_SIZE), GFP_KERNEL);
	if (!tmp) {
		ret = -ENOMEM;
		goto out_unmap;
	}
	while (done < count) {
		n = min_t(size_t, count - done, PAGE_SIZE);
		if (write && copy_from_user(tmp, buf + done, n)) {
			ret = -EFAULT;
			break;
		}
		ret = vfg_pci_vga_chunk(vdev, w, io, pos + done, tmp, n, write);
		if (ret)
			break;
		if (!write && copy_to_user(buf + done, tmp, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}
	kfree(tmp);
out_unmap:
	if (w->io)
		ioport_unmap(io);
	else
		iounmap(io);
	return done ? done : ret;
}
