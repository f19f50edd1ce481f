// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtualised PCI config space.
 *
 * Userspace sees the device's config space through a filter.  Each byte has
 * two masks: the bits that are virtual (read from our image instead of the
 * device) and the bits userspace may write (into the image).  What is not
 * virtual is read from the device; what is not writable is dropped.  A few
 * registers are written through to the device, each by its own rule:
 *
 *   command   memory, I/O, bus master, parity and SERR enables pass through
 *             (under memory_lock for writing: see rdwr.c); INTx disable is
 *             virtual, and masks INTx while set, as the mask ioctl does
 *             (the kernel owns the device's DisINTx bit)
 *   status    only the write-one-to-clear error bits pass through
 *   0x0c/0x0d cache line size and latency timer pass through
 *
 * The identity registers (vendor and device ID, revision and class,
 * header type, subsystem IDs, capability pointer) are read-only copies
 * taken at open, so reading them costs no device access; a VF gets its
 * IDs from the PCI core, as the VF itself reads all ones there.  A read
 * touches the device only for the dwords that have bits that are not
 * virtual.  A function without a memory enable of its own (a VF) keeps
 * that bit of the command register virtual.
 *
 * BARs and the ROM BAR are virtual: they read back what was written, masked
 * by the region size, so the sizing write of all ones (0xfffff800 for the
 * ROM, as QEMU writes it) returns the size pattern and the device's real BARs
 * never move.  The MSI and MSI-X capabilities are virtual where they enable
 * or program interrupts: the kernel programs the device's real ones when
 * userspace asks with VFIO_DEVICE_SET_IRQS.  Other capabilities, and extended
 * config space, are read-only.  Accesses may be of any length and alignment;
 * they are split at dword boundaries.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>

#include "vfio_pci_priv.h"

#define CMD_PASSTHRU	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | \
			 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
			 PCI_COMMAND_SERR)
#define STATUS_RW1C	(PCI_STATUS_DETECTED_PARITY | \
			 PCI_STATUS_SIG_SYSTEM_ERROR | \
			 PCI_STATUS_REC_MASTER_ABORT | \
			 PCI_STATUS_REC_TARGET_ABORT | \
			 PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_PARITY)

static void cfg_mark(struct vfg_pci_device *vdev, int pos, int len, u8 virt,
		     u8 wr)
{
	int i;

	for (i = pos; i < pos + len && i < vdev->cfg_size; i++) {
		vdev->vconfig_virt[i] = virt;
		vdev->vconfig_wr[i] = wr;
	}
}

static u32 cfg_get32(struct vfg_pci_device *vdev, int pos)
{
	return le32_to_cpu(*(__le32 *)(vdev->vconfig + pos));
}

static void cfg_put32(struct vfg_pci_device *vdev, int pos, u32 val)
{
	*(__le32 *)(vdev->vconfig + pos) = cpu_to_le32(val);
}

/* Low flag bits of a BAR as the device reports them. */
static u32 bar_flags(struct pci_dev *pdev, int bar)
{
	unsigned long flags = pci_resource_flags(pdev, bar);

	if (flags & IORESOURCE_IO)
		return PCI_BASE_ADDRESS_SPACE_IO;
	return PCI_BASE_ADDRESS_SPACE_MEMORY |
	       (flags & IORESOURCE_MEM_64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
	       (flags & IORESOURCE_PREFETCH ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
}

/* Re-apply the size masks to the virtual BARs after a write. */
static void cfg_fixup_bars(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	resource_size_t size;
	u32 v, mask;
	int i, pos;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		pos = PCI_BASE_ADDRESS_0 + 4 * i;
		size = vdev->bar_size[i];
		if (!size) {
			cfg_put32(vdev, pos, 0);
			continue;
		}
		v = cfg_get32(vdev, pos);
		if (pci_resource_flags(pdev, i) & IORESOURCE_IO)
			mask = (u32)PCI_BASE_ADDRESS_IO_MASK;
		else
			mask = (u32)PCI_BASE_ADDRESS_MEM_MASK;
		v &= mask & ~(u32)(size - 1);
		cfg_put32(vdev, pos, v | bar_flags(pdev, i));
		if (pci_resource_flags(pdev, i) & IORESOURCE_MEM_64 &&
		    i + 1 < PCI_STD_NUM_BARS) {
			/* The upper half of a 64-bit BAR. */
			i++;
			pos += 4;
			v = cfg_get32(vdev, pos);
			cfg_put32(vdev, pos, v & ~upper_32_bits(size - 1));
		}
	}

	size = vdev->bar_size[PCI_ROM_RESOURCE];
	v = cfg_get32(vdev, PCI_ROM_ADDRESS);
	if (size)
		v &= (PCI_ROM_ADDRESS_MASK & ~(u32)(size - 1)) |
		     PCI_ROM_ADDRESS_ENABLE;
	else
		v = 0;
	cfg_put32(vdev, PCI_ROM_ADDRESS, v);
}

static int cfg_msi_len(struct vfg_pci_device *vdev, u16 flags)
{
	int len = flags & PCI_MSI_FLAGS_64BIT ? 14 : 10;

	if (flags & PCI_MSI_FLAGS_MASKBIT)
		len += 10;
	return len;
}

/**
 * vfg_pci_config_init() - build the virtual config space of an opened device
 * @vdev: the device, with its lock held
 *
 * Return: 0 or -ENOMEM.
 */
int vfg_pci_config_init(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 flags;
	int i, ret;
	u32 v;

	lockdep_assert_held(&vdev->lock);
	vdev->cfg_size = pdev->cfg_size;
	vdev->vconfig = kzalloc(vdev->cfg_size, GFP_KERNEL);
	vdev->vconfig_virt = kzalloc(vdev->cfg_size, GFP_KERNEL);
	vdev->vconfig_wr = kzalloc(vdev->cfg_size, GFP_KERNEL);
	if (!vdev->vconfig || !vdev->vconfig_virt || !vdev->vconfig_wr) {
		vfg_pci_config_free(vdev);
		return -ENOMEM;
	}
	for (i = 0; i < vdev->cfg_size; i += 4) {
		ret = pci_read_config_dword(pdev, i, &v);
		cfg_put32(vdev, i, ret ? ~0U : v);
	}

	/*
	 * The identity registers never change: read them from the image,
	 * without a device access.  A VF reads all ones for its vendor and
	 * device IDs (the SR-IOV spec); the PCI core knows the real ones.
	 */
	cfg_mark(vdev, PCI_VENDOR_ID, 4, 0xff, 0);
	cfg_mark(vdev, PCI_CLASS_REVISION, 4, 0xff, 0);
	cfg_mark(vdev, PCI_HEADER_TYPE, 1, 0xff, 0);
	cfg_mark(vdev, PCI_SUBSYSTEM_VENDOR_ID, 4, 0xff, 0);
	cfg_mark(vdev, PCI_CAPABILITY_LIST, 1, 0xff, 0);
	if (pdev->is_virtfn) {
		put_unaligned_le16(pdev->vendor, vdev->vconfig + PCI_VENDOR_ID);
		put_unaligned_le16(pdev->device, vdev->vconfig + PCI_DEVICE_ID);
	}

	/* Command: INTx disable is ours, and masks INTx (intr.c). */
	vdev->vconfig[PCI_COMMAND + 1] &= ~(PCI_COMMAND_INTX_DISABLE >> 8);
	vdev->intx_virq_disabled = false;
	vdev->vconfig_virt[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	vdev->vconfig_wr[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	/*
	 * A function without a memory enable of its own (a VF: its PF's
	 * SR-IOV control enables its BARs) keeps the bit in the image, so
	 * userspace reads back what it wrote; BAR access does not depend on
	 * it (rdwr.c).
	 */
	if (pdev->no_command_memory) {
		vdev->vconfig_virt[PCI_COMMAND] = PCI_COMMAND_MEMORY;
		vdev->vconfig_wr[PCI_COMMAND] = PCI_COMMAND_MEMORY;
	}

	cfg_mark(vdev, PCI_BASE_ADDRESS_0, 4 * PCI_STD_NUM_BARS, 0xff, 0xff);
	cfg_mark(vdev, PCI_CARDBUS_CIS, 4, 0xff, 0);
	cfg_put32(vdev, PCI_CARDBUS_CIS, 0);
	cfg_mark(vdev, PCI_ROM_ADDRESS, 4, 0xff, 0xff);
	cfg_mark(vdev, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
	cfg_mark(vdev, PCI_INTERRUPT_PIN, 1, 0xff, 0);
	if (!pdev->irq)
		vdev->vconfig[PCI_INTERRUPT_PIN] = 0;
	cfg_fixup_bars(vdev);

	if (vdev->msi_cap) {
		i = vdev->msi_cap;
		pci_read_config_word(pdev, i + PCI_MSI_FLAGS, &flags);
		cfg_mark(vdev, i, cfg_msi_len(vdev, flags), 0xff, 0xff);
		cfg_mark(vdev, i, 2, 0xff, 0);		/* ID, next */
		/* Flags: enable and multiple-message enable are writable. */
		vdev->vconfig_wr[i + PCI_MSI_FLAGS] =
			PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE;
		vdev->vconfig_wr[i + PCI_MSI_FLAGS + 1] = 0;
		vdev->vconfig[i + PCI_MSI_FLAGS] &=
			~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
		if (flags & PCI_MSI_FLAGS_MASKBIT)	/* pending: read-only */
			cfg_mark(vdev, i + (flags & PCI_MSI_FLAGS_64BIT ?
					    PCI_MSI_PENDING_64 :
					    PCI_MSI_PENDING_32), 4, 0xff, 0);
	}
	if (vdev->msix_cap) {
		/* Enable and function mask are virtual; the rest read-only. */
		i = vdev->msix_cap + PCI_MSIX_FLAGS + 1;
		vdev->vconfig_virt[i] = (PCI_MSIX_FLAGS_ENABLE |
					 PCI_MSIX_FLAGS_MASKALL) >> 8;
		vdev->vconfig_wr[i] = vdev->vconfig_virt[i];
		vdev->vconfig[i] &= ~vdev->vconfig_virt[i];
	}
	return 0;
}

/**
 * vfg_pci_config_free() - drop the virtual config space
 * @vdev: the device
 */
void vfg_pci_config_free(struct vfg_pci_device *vdev)
{
	kfree(vdev->vconfig);
	kfree(vdev->vconfig_virt);
	kfree(vdev->vconfig_wr);
	vdev->vconfig = NULL;
	vdev->vconfig_virt = NULL;
	vdev->vconfig_wr = NULL;
}

/* Read the bytes [pos, pos + len) of one dword, filtered. */
static int cfg_read_chunk(struct vfg_pci_device *vdev, int pos, int len,
			  u8 *out)
{
	int base = pos & ~3, i, ret;
	u8 hw[4];
	u32 v = 0;

	/* Bytes that are wholly virtual need no device access. */
	for (i = 0; i < len; i++)
		if (vdev->vconfig_virt[pos + i] != 0xff)
			break;
	if (i < len) {
		ret = pci_user_read_config_dword(vdev->pdev, base, &v);
		if (ret)
			return pcibios_err_to_errno(ret);
	}
	put_unaligned_le32(v, hw);
	for (i = 0; i < len; i++) {
		u8 m = vdev->vconfig_virt[pos + i];

		out[i] = (hw[pos + i - base] & ~m) | (vdev->vconfig[pos + i] & m);
	}
	return 0;
}

/*
 * One byte of the command register, written through where CMD_PASSTHRU
 * allows.  Decoding may change: under memory_lock for writing, so that no
 * BAR access or fault runs meanwhile, and with every user mapping zapped
 * when memory decoding goes off (later faults get SIGBUS until it is back).
 * Return: 0 or a PCIBIOS error.
 */
static int cfg_write_command(struct vfg_pci_device *vdev, int pos, u8 val)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 pass = CMD_PASSTHRU & ~(u16)(vdev->pdev->no_command_memory ?
					 PCI_COMMAND_MEMORY : 0);
	u16 mask = pos == PCI_COMMAND ? pass & 0xff : pass & 0xff00;
	u16 user = pos == PCI_COMMAND ? val : val << 8;
	u16 cmd, new;
	int ret;

	lockdep_assert_held(&vdev->lock);
	down_write(&vdev->memory_lock);
	ret = pci_user_read_config_word(pdev, PCI_COMMAND, &cmd);
	if (ret)
		goto out;
	new = (cmd & ~mask) | (user & mask);
	if ((cmd & PCI_COMMAND_MEMORY) && !(new & PCI_COMMAND_MEMORY))
		vfg_device_zap_mappings(&vdev->core);
	ret = pci_user_write_config_word(pdev, PCI_COMMAND, new);
out:
	vfg_pci_memory_write_unlock(vdev);
	return ret;
}

/* Registers written through to the device, each by its own rule. */
static int cfg_write_hw(struct vfg_pci_device *vdev, int pos, int len,
			const u8 *in)
{
	struct pci_dev *pdev = vdev->pdev;
	int i, ret = 0;

	for (i = 0; i < len; i++) {
		switch (pos + i) {
		case PCI_CACHE_LINE_SIZE:
		case PCI_LATENCY_TIMER:
			ret = pci_user_write_config_byte(pdev, pos + i, in[i]);
			break;
		case PCI_STATUS + 1:
			/* Error bits are write-one-to-clear; clear only those. */
			ret = pci_user_write_config_word(pdev, PCI_STATUS,
							 (in[i] << 8) &
							 STATUS_RW1C);
			break;
		case PCI_STATUS:
			ret = pci_user_write_config_word(pdev, PCI_STATUS,
							 in[i] & STATUS_RW1C);
			break;
		case PCI_COMMAND:
		case PCI_COMMAND + 1:
			ret = cfg_write_command(vdev, pos + i, in[i]);
			vfg_pci_intx_command_written(vdev);
			break;
		}
		if (ret)
			return pcibios_err_to_errno(ret);
	}
	return 0;
}

static int cfg_write_chunk(struct vfg_pci_device *vdev, int pos, int len,
			   const u8 *in)
{
	bool bars = false;
	int i;

	for (i = 0; i < len; i++) {
		u8 m = vdev->vconfig_wr[pos + i] & vdev->vconfig_virt[pos + i];

		vdev->vconfig[pos + i] = (vdev->vconfig[pos + i] & ~m) |
					 (in[i] & m);
		if ((pos + i >= PCI_BASE_ADDRESS_0 &&
		     pos + i < PCI_BASE_ADDRESS_0 + 4 * PCI_STD_NUM_BARS) ||
		    (pos + i >= PCI_ROM_ADDRESS && pos + i < PCI_ROM_ADDRESS + 4))
			bars = true;
	}
	if (bars)
		cfg_fixup_bars(vdev);
	if (pos < PCI_LATENCY_TIMER + 1)
		return cfg_write_hw(vdev, pos, len, in);
	return 0;
}

/**
 * vfg_pci_config_rw() - pread/pwrite of the config region
 * @vdev: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in config space
 * @write: direction
 *
 * User memory is only touched outside vdev->lock, which mmap() takes under
 * mmap_lock: a fault under it could deadlock against mmap().
 *
 * Return: bytes transferred, or a negative errno (-EINVAL beyond the end).
 */
ssize_t vfg_pci_config_rw(struct vfg_pci_device *vdev, char __user *buf,
			  size_t count, loff_t pos, bool write)
{
	u8 small[VFG_PCI_SMALL_IO], *tmp = small;
	size_t done = 0;
	int len, ret = 0;

	if (pos < 0 || pos >= vdev->cfg_size)
		return -EINVAL;
	count = min_t(size_t, count, vdev->cfg_size - pos);
	if (count > sizeof(small)) {
		tmp = kmalloc(count, GFP_KERNEL);
		if (!tmp)
			return -ENOMEM;
	}
	if (write && copy_from_user(tmp, buf, count)) {
		ret = -EFAULT;
		goto out;
	}

	mutex_lock(&vdev->lock);
	if (vdev->revoked)
		ret = -ENODEV;
	while (!ret && done < count) {
		len = min_t(size_t, 4 - ((pos + done) & 3), count - done);
		if (write)
			ret = cfg_write_chunk(vdev, pos + done, len, tmp + done);
		else
			ret = cfg_read_chunk(vdev, pos + done, len, tmp + done);
		if (!ret)
			done += len;
	}
	mutex_unlock(&vdev->lock);

	if (!write && done && copy_to_user(buf, tmp, done)) {
		done = 0;
		ret = -EFAULT;
	}
out:
	if (tmp != small)
		kfree(tmp);
	return done ? done : ret;
}
