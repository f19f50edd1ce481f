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
 * userspace asks with VFIO_DEVICE_SET_IRQS.
 *
 * Bits that are writable but not virtual are written through to the device,
 * a byte at a time: read-modify-write, or for the write-one-to-clear status
 * registers of AER just the ones written, so that no other status bit is
 * cleared by accident.  That is how these capabilities behave:
 *
 *   PCI Express  Device Control passes through but for Phantom Functions
 *                (read-only), Max Payload Size (virtual: it must match the
 *                link partner), Max Read Request Size (virtual, and set on
 *                the device no lower than its MPS) and Initiate FLR, which
 *                reads as zero and resets the function if it has FLR;
 *                Device Control 2 passes through but for ARI Forwarding;
 *                the rest, Link Control included, is read-only
 *   AF           Initiate FLR as in PCI Express, if the function has AF FLR
 *   PM           a write of PMCSR changes the power state with
 *                pci_set_power_state() (saving and restoring config state
 *                around D3hot for a function without No_Soft_Reset); PME
 *                support, PME enable and PME status read as zero; Data
 *                Select passes through
 *   VPD          address and data are virtual: writing the address's upper
 *                byte reads or writes a dword with pci_read_vpd() or
 *                pci_write_vpd() and flips the F flag when done
 *   AER          status registers write-one-to-clear to the device, mask,
 *                severity and the ECRC enables pass through, the rest is
 *                read-only
 *
 * Other capabilities, and the rest of extended config space, are read-only.
 *
 * A reset or a power state change cannot run under vdev->lock, which comes
 * after the core's open_lock (taken by resets) in the lock order.  The
 * write that asks for one records it in cfg_action; vfg_pci_config_rw()
 * does it once it has dropped vdev->lock, with open_lock and memory_lock as
 * VFIO_DEVICE_RESET takes them, then takes vdev->lock again for the rest of
 * the write.
 *
 * After every reset we issue, and whenever a command register write finds
 * that the device lost its BARs or its decoding behind our back (a reset by
 * some device-specific means), the real BARs from open and the command bits
 * userspace wrote are put back: vfg_pci_config_restore().  The virtual BARs
 * are never touched by a reset.  Accesses may be of any length and
 * alignment; they are split at dword boundaries.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pci.h>
#include <linux/pm_runtime.h>
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

/*
 * The virtual and writable masks of the @size-byte register at @pos, from
 * little-endian values: a writable bit that is not virtual is written
 * through to the device.
 */
static void cfg_perm(struct vfg_pci_device *vdev, int pos, int size, u32 virt,
		     u32 wr)
{
	int i;

	for (i = 0; i < size && pos + i < vdev->cfg_size; i++) {
		vdev->vconfig_virt[pos + i] = virt >> (8 * i);
		vdev->vconfig_wr[pos + i] = wr >> (8 * i);
	}
}

/* Clear the bits @clr of the image's @size-byte register at @pos. */
static void cfg_clear(struct vfg_pci_device *vdev, int pos, int size, u32 clr)
{
	int i;

	for (i = 0; i < size && pos + i < vdev->cfg_size; i++)
		vdev->vconfig[pos + i] &= ~(u8)(clr >> (8 * i));
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

/* AER bits userspace may clear, mask and make fatal or not. */
#define AER_UNCOR_BITS	(PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | \
			 PCI_ERR_UNC_SURPDN | PCI_ERR_UNC_POISON_TLP | \
			 PCI_ERR_UNC_FCP | PCI_ERR_UNC_COMP_TIME | \
			 PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP | \
			 PCI_ERR_UNC_RX_OVER | PCI_ERR_UNC_MALF_TLP | \
			 PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP | \
			 PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN | \
			 PCI_ERR_UNC_MCBTLP | PCI_ERR_UNC_ATOMEG | \
			 PCI_ERR_UNC_TLPPRE)
#define AER_COR_BITS	(PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | \
			 PCI_ERR_COR_BAD_DLLP | PCI_ERR_COR_REP_ROLL | \
			 PCI_ERR_COR_REP_TIMER | PCI_ERR_COR_ADV_NFAT | \
			 PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER)
#define DEVCTL_VIRT	(PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | \
			 PCI_EXP_DEVCTL_READRQ)
#define PMCSR_PME	(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS)

/* The capabilities with bits of their own (see the top of this file). */
static void cfg_init_caps(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 pmcsr;
	int c;

	vdev->pm_cap = pdev->pm_cap;
	c = vdev->pm_cap;
	vdev->needs_pm_restore = false;
	if (c) {
		cfg_perm(vdev, c + PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK, 0);
		cfg_clear(vdev, c + PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK);
		cfg_perm(vdev, c + PCI_PM_CTRL, 2, PMCSR_PME,
			 PCI_PM_CTRL_DATA_SEL_MASK);
		cfg_clear(vdev, c + PCI_PM_CTRL, 2, PMCSR_PME);
		pci_read_config_word(pdev, c + PCI_PM_CTRL, &pmcsr);
		vdev->needs_pm_restore = !(pmcsr & PCI_PM_CTRL_NO_SOFT_RESET);
	}

	vdev->exp_cap = pci_pcie_cap(pdev);
	c = vdev->exp_cap;
	if (c) {
		cfg_perm(vdev, c + PCI_EXP_DEVCTL, 2, DEVCTL_VIRT,
			 (u16)~PCI_EXP_DEVCTL_PHANTOM);
		/* The virtual MPS and MRRS start as the device's. */
		cfg_clear(vdev, c + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
		if ((pcie_caps_reg(pdev) & PCI_EXP_FLAGS_VERS) > 1)
			cfg_perm(vdev, c + PCI_EXP_DEVCTL2, 2, 0,
				 (u16)~PCI_EXP_DEVCTL2_ARI);
	}

	vdev->af_cap = pci_find_capability(pdev, PCI_CAP_ID_AF);
	c = vdev->af_cap;
	if (c) {
		cfg_perm(vdev, c + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR,
			 PCI_AF_CTRL_FLR);
		cfg_clear(vdev, c + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
	}

	vdev->vpd_cap = pci_find_capability(pdev, PCI_CAP_ID_VPD);
	c = vdev->vpd_cap;
	if (c) {
		cfg_perm(vdev, c + PCI_VPD_ADDR, 2, 0xffff, 0xffff);
		cfg_perm(vdev, c + PCI_VPD_DATA, 4, ~0U, ~0U);
		cfg_clear(vdev, c + PCI_VPD_ADDR, 2, 0xffff);
		cfg_clear(vdev, c + PCI_VPD_DATA, 4, ~0U);
	}

	vdev->aer_cap = 0;
	if (vdev->cfg_size > PCI_CFG_SPACE_SIZE)
		vdev->aer_cap = pci_find_ext_capability(pdev,
							PCI_EXT_CAP_ID_ERR);
	c = vdev->aer_cap;
	if (c) {
		cfg_perm(vdev, c + PCI_ERR_UNCOR_STATUS, 4, 0, AER_UNCOR_BITS);
		cfg_perm(vdev, c + PCI_ERR_UNCOR_MASK, 4, 0, AER_UNCOR_BITS);
		cfg_perm(vdev, c + PCI_ERR_UNCOR_SEVER, 4, 0, AER_UNCOR_BITS);
		cfg_perm(vdev, c + PCI_ERR_COR_STATUS, 4, 0, AER_COR_BITS);
		cfg_perm(vdev, c + PCI_ERR_COR_MASK, 4, 0, AER_COR_BITS);
		cfg_perm(vdev, c + PCI_ERR_CAP, 4, 0,
			 PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);
	}
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

	/* What a reset the kernel does not see must not take away. */
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		pci_read_config_dword(pdev, PCI_BASE_ADDRESS_0 + 4 * i,
				      &vdev->rbar[i]);
	pci_read_config_dword(pdev, PCI_ROM_ADDRESS,
			      &vdev->rbar[PCI_STD_NUM_BARS]);
	/* No other user yet: memory_lock is not needed for @user_cmd. */
	pci_read_config_word(pdev, PCI_COMMAND, &flags);
	vdev->user_cmd = flags & CMD_PASSTHRU;
	vdev->cfg_action = 0;
	cfg_init_caps(vdev);

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

/* Did the device lose a BAR, by a reset we did not issue? */
static bool cfg_bars_lost(struct vfg_pci_device *vdev)
{
	u32 v;
	int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (!vdev->rbar[i])
			continue;
		if (pci_user_read_config_dword(vdev->pdev,
					       PCI_BASE_ADDRESS_0 + 4 * i, &v) ||
		    v != vdev->rbar[i])
			return true;
	}
	return false;
}

static void cfg_put_bars_back(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	int i;

	pci_info(pdev, "restoring the BARs after a reset\n");
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		pci_user_write_config_dword(pdev, PCI_BASE_ADDRESS_0 + 4 * i,
					    vdev->rbar[i]);
	pci_user_write_config_dword(pdev, PCI_ROM_ADDRESS,
				    vdev->rbar[PCI_STD_NUM_BARS]);
}

/**
 * vfg_pci_config_restore() - put back what a reset took from an open device
 * @vdev: the device, open, with memory_lock held for writing
 *
 * The real BARs as they were at open, if any of them changed, and the
 * command register bits userspace wrote through (decoding, bus mastering),
 * if the device lost them.  The virtual config space is not touched: it
 * already reads as userspace wrote it.
 */
void vfg_pci_config_restore(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 cmd, want;

	lockdep_assert_held_write(&vdev->memory_lock);
	if (pdev->is_virtfn)
		return;
	if (cfg_bars_lost(vdev))
		cfg_put_bars_back(vdev);
	if (pci_user_read_config_word(pdev, PCI_COMMAND, &cmd))
		return;
	want = (cmd & ~CMD_PASSTHRU) | vdev->user_cmd;
	if (cmd != want)
		pci_user_write_config_word(pdev, PCI_COMMAND, want);
}

/**
 * vfg_pci_set_power_state() - change the power state of an open device
 * @vdev: the device, with memory_lock held for writing
 * @state: the new state
 *
 * pci_set_power_state(), with the config state of a function that resets
 * itself on D3hot -> D0 (No_Soft_Reset clear) saved on the way down and
 * restored on the way up.  A PF with VFs stays in D0.
 *
 * Return: 0 or the error of pci_set_power_state(); -EBUSY for a PF with VFs.
 */
int vfg_pci_set_power_state(struct vfg_pci_device *vdev, pci_power_t state)
{
	struct pci_dev *pdev = vdev->pdev;
	bool save = false, restore = false;
	int ret;

	lockdep_assert_held_write(&vdev->memory_lock);
	if (state > PCI_D0 && pci_num_vf(pdev))
		return -EBUSY;
	if (vdev->needs_pm_restore) {
		save = pdev->current_state < PCI_D3hot && state >= PCI_D3hot;
		restore = pdev->current_state >= PCI_D3hot && state == PCI_D0;
	}
	if (save)
		pci_save_state(pdev);
	ret = pci_set_power_state(pdev, state);
	if (ret)
		return ret;
	if (save && pdev->current_state >= PCI_D3hot) {
		/* A D0 we did not see may have left an old one. */
		kfree(vdev->pm_save);
		vdev->pm_save = pci_store_saved_state(pdev);
	} else if (restore && vdev->pm_save &&
		   !pci_load_and_free_saved_state(pdev, &vdev->pm_save)) {
		pci_restore_state(pdev);
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
	/*
	 * Decoding userspace turned on and the device turned off, or BARs
	 * gone: a reset we did not issue.  The BARs go back before decoding.
	 */
	if (!pdev->is_virtfn &&
	    ((user & vdev->user_cmd & ~cmd &
	      (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)) || cfg_bars_lost(vdev)))
		cfg_put_bars_back(vdev);
	vdev->user_cmd = (vdev->user_cmd & ~mask) | (user & mask);
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

/*
 * Does [pos, pos + len) touch the @size-byte register at @off in the
 * capability at @cap (0: absent)?
 */
static bool cfg_touches(int pos, int len, int cap, int off, int size)
{
	return cap && pos < cap + off + size && cap + off < pos + len;
}

/* The AER status registers: write-one-to-clear. */
static bool cfg_is_w1c(struct vfg_pci_device *vdev, int pos)
{
	int c = vdev->aer_cap;

	return cfg_touches(pos, 1, c, PCI_ERR_UNCOR_STATUS, 4) ||
	       cfg_touches(pos, 1, c, PCI_ERR_COR_STATUS, 4);
}

/* Writable bits that are not virtual go to the device, byte by byte. */
static int cfg_write_through(struct vfg_pci_device *vdev, int pos, int len,
			     const u8 *in)
{
	struct pci_dev *pdev = vdev->pdev;
	int i, ret;
	u8 m, v;

	for (i = 0; i < len; i++) {
		m = vdev->vconfig_wr[pos + i] & ~vdev->vconfig_virt[pos + i];
		if (!m)
			continue;
		if (cfg_is_w1c(vdev, pos + i)) {
			v = in[i] & m;
		} else {
			ret = pci_user_read_config_byte(pdev, pos + i, &v);
			if (ret)
				return pcibios_err_to_errno(ret);
			v = (v & ~m) | (in[i] & m);
			/* PME status shares its byte with Data Select. */
			if (cfg_touches(pos + i, 1, vdev->pm_cap,
					PCI_PM_CTRL + 1, 1))
				v &= ~(PCI_PM_CTRL_PME_STATUS >> 8);
		}
		ret = pci_user_write_config_byte(pdev, pos + i, v);
		if (ret)
			return pcibios_err_to_errno(ret);
	}
	return 0;
}

/* Device Control: Initiate FLR and Max Read Request Size. */
static void cfg_write_devctl(struct vfg_pci_device *vdev, u16 old)
{
	struct pci_dev *pdev = vdev->pdev;
	u8 *reg = vdev->vconfig + vdev->exp_cap + PCI_EXP_DEVCTL;
	u16 ctl = get_unaligned_le16(reg);
	u32 cap;
	int rq;

	if (ctl & PCI_EXP_DEVCTL_BCR_FLR) {
		ctl &= ~PCI_EXP_DEVCTL_BCR_FLR;	/* it always reads as 0 */
		put_unaligned_le16(ctl, reg);
		if (!pci_user_read_config_dword(pdev, vdev->exp_cap +
						PCI_EXP_DEVCAP, &cap) &&
		    (cap & PCI_EXP_DEVCAP_FLR))
			vdev->cfg_action |= VFG_CFG_FLR;
	}
	if ((ctl ^ old) & PCI_EXP_DEVCTL_READRQ) {
		/* No lower than the MPS, so that full TLPs stay possible. */
		rq = 128 << ((ctl & PCI_EXP_DEVCTL_READRQ) >> 12);
		pcie_set_readrq(pdev, max(rq, pcie_get_mps(pdev)));
	}
}

static void cfg_write_af(struct vfg_pci_device *vdev)
{
	u8 *ctrl = vdev->vconfig + vdev->af_cap + PCI_AF_CTRL;
	u8 cap;

	if (!(*ctrl & PCI_AF_CTRL_FLR))
		return;
	*ctrl &= ~PCI_AF_CTRL_FLR;
	if (!pci_user_read_config_byte(vdev->pdev, vdev->af_cap + PCI_AF_CAP,
				       &cap) &&
	    (cap & PCI_AF_CAP_FLR) && (cap & PCI_AF_CAP_TP))
		vdev->cfg_action |= VFG_CFG_FLR;
}

/*
 * The upper byte of the VPD address was written: read or write (the F flag
 * set) the dword at the address, and flip F to say it is done.  Left as it
 * is on failure, which the driver sees as a timeout.
 */
static void cfg_write_vpd(struct vfg_pci_device *vdev)
{
	u8 *addr = vdev->vconfig + vdev->vpd_cap + PCI_VPD_ADDR;
	u8 *data = vdev->vconfig + vdev->vpd_cap + PCI_VPD_DATA;
	u16 a = get_unaligned_le16(addr);
	u8 buf[4];

	if (a & PCI_VPD_ADDR_F) {
		memcpy(buf, data, sizeof(buf));
		if (pci_write_vpd(vdev->pdev, a & PCI_VPD_ADDR_MASK, 4,
				  buf) != 4)
			return;
	} else {
		if (pci_read_vpd(vdev->pdev, a, 4, buf) < 0)
			return;
		memcpy(data, buf, sizeof(buf));
	}
	put_unaligned_le16(a ^ PCI_VPD_ADDR_F, addr);
}

/* What a write of the capabilities with rules of their own does. */
static void cfg_write_caps(struct vfg_pci_device *vdev, int pos, int len,
			   const u8 *in, u16 devctl)
{
	int c;

	if (cfg_touches(pos, len, vdev->exp_cap, PCI_EXP_DEVCTL, 2))
		cfg_write_devctl(vdev, devctl);
	if (cfg_touches(pos, len, vdev->af_cap, PCI_AF_CTRL, 1))
		cfg_write_af(vdev);
	if (cfg_touches(pos, len, vdev->vpd_cap, PCI_VPD_ADDR + 1, 1))
		cfg_write_vpd(vdev);
	if (cfg_touches(pos, len, vdev->pm_cap, PCI_PM_CTRL, 1)) {
		c = vdev->pm_cap + PCI_PM_CTRL;
		/* PCI_D0 .. PCI_D3hot are the PMCSR encodings. */
		vdev->cfg_power = (__force pci_power_t)(in[c - pos] &
							 PCI_PM_CTRL_STATE_MASK);
		vdev->cfg_action |= VFG_CFG_POWER;
	}
}

static int cfg_write_chunk(struct vfg_pci_device *vdev, int pos, int len,
			   const u8 *in)
{
	bool bars = false;
	u16 devctl = 0;
	int i, ret;

	if (cfg_touches(pos, len, vdev->exp_cap, PCI_EXP_DEVCTL, 2))
		devctl = get_unaligned_le16(vdev->vconfig + vdev->exp_cap +
					    PCI_EXP_DEVCTL);
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
	ret = cfg_write_through(vdev, pos, len, in);
	if (ret)
		return ret;
	cfg_write_caps(vdev, pos, len, in, devctl);
	return 0;
}

/*
 * A power state written to PMCSR, as a reset is done: open_lock, then
 * memory_lock for writing, the mappings zapped on the way to D3hot (the BARs
 * do not decode there; accesses fail until D0).
 */
static int cfg_set_power(struct vfg_pci_device *vdev, pci_power_t state)
{
	struct pci_dev *pdev = vdev->pdev;
	int ret;

	if (!vfg_device_lock_live(&vdev->core))
		return -ENODEV;
	down_write(&vdev->memory_lock);
	if (state >= PCI_D3hot)
		vfg_device_zap_mappings(&vdev->core);
	ret = vfg_pci_set_power_state(vdev, state);
	if (!ret && pdev->current_state == PCI_D0)
		vfg_pci_config_restore(vdev);
	vfg_pci_memory_write_unlock(vdev);
	vfg_device_unlock(&vdev->core);
	if (ret)
		pci_dbg(pdev, "power state D%d from config space: %d\n",
			(__force int)state, ret);
	return 0;
}

/*
 * Do what a write asked for in cfg_action, without vdev->lock.  A reset or
 * power state change that fails is not the write's failure, as on real
 * hardware; only a revoked device fails the write.
 */
static int cfg_do_actions(struct vfg_pci_device *vdev, unsigned int act,
			  pci_power_t state)
{
	int ret;

	if (act & VFG_CFG_FLR) {
		ret = vfg_pci_function_reset(vdev);
		if (ret == -ENODEV)
			return ret;
		if (ret)
			pci_dbg(vdev->pdev, "FLR from config space: %d\n", ret);
	}
	if (act & VFG_CFG_POWER)
		return cfg_set_power(vdev, state);
	return 0;
}

/**
 * vfg_pci_config_rw() - pread/pwrite of the config region
 * @vdev: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in config space
 * @write: direction
 * @awake: the caller holds a runtime PM usage count for the access
 *
 * User memory is only touched outside vdev->lock, which mmap() takes under
 * mmap_lock: a fault under it could deadlock against mmap().
 *
 * Without @awake the access relies on the open's usage count, which only a
 * low power entry takes away, with vdev->lock held (power.c): @pm_engaged
 * is tested under the same hold as the device accesses.  A write's reset or
 * power state change runs without vdev->lock, so it takes a count of its
 * own first, while the open's still holds the device awake.
 *
 * Return: bytes transferred, or a negative errno (-EINVAL beyond the end,
 * VFG_PCI_ASLEEP without @awake in low power).
 */
ssize_t vfg_pci_config_rw(struct vfg_pci_device *vdev, char __user *buf,
			  size_t count, loff_t pos, bool write, bool awake)
{
	u8 small[VFG_PCI_SMALL_IO], *tmp = small;
	bool counted = false;
	pci_power_t state;
	unsigned int act;
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
	else if (!awake && vdev->pm_engaged)
		ret = VFG_PCI_ASLEEP;
	while (!ret && done < count) {
		len = min_t(size_t, 4 - ((pos + done) & 3), count - done);
		if (write)
			ret = cfg_write_chunk(vdev, pos + done, len, tmp + done);
		else
			ret = cfg_read_chunk(vdev, pos + done, len, tmp + done);
		if (ret)
			break;
		done += len;
		if (vdev->cfg_action) {
			/* A reset or a power state: not under vdev->lock. */
			act = vdev->cfg_action;
			state = vdev->cfg_power;
			vdev->cfg_action = 0;
			if (!awake) {
				pm_runtime_get_noresume(&vdev->pdev->dev);
				counted = true;
				awake = true;
			}
			mutex_unlock(&vdev->lock);
			ret = cfg_do_actions(vdev, act, state);
			mutex_lock(&vdev->lock);
			if (!ret && vdev->revoked)
				ret = -ENODEV;
		}
	}
	mutex_unlock(&vdev->lock);
	if (counted)
		pm_runtime_put(&vdev->pdev->dev);

	if (!write && done && copy_to_user(buf, tmp, done)) {
		done = 0;
		ret = -EFAULT;
	}
out:
	if (tmp != small)
		kfree(tmp);
	return done ? done : ret;
}
