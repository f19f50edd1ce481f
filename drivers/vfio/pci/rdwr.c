// SPDX-License-Identifier: GPL-2.0-only
/*
 * BAR and ROM access: pread/pwrite and mmap.
 *
 * pread/pwrite split an access into naturally aligned 4, 2 and 1 byte device
 * accesses, so any length and alignment works.  The MSI-X table is the
 * kernel's: reads of it return all ones and writes are dropped.
 *
 * No access reaches a BAR the device does not decode (CVE-2020-12888: on
 * some platforms an access to a disabled BAR is an Unsupported Request that
 * ends in a machine check).  vdev->memory_lock is the gate: every access
 * checks, under it for reading, that the device was not revoked and that its
 * command register enables the BAR's space (memory, or I/O for I/O BARs;
 * memory for the ROM), and fails with -EIO (pread/pwrite) or SIGBUS (a
 * fault) if not.  Whoever takes decoding away holds it for writing: a
 * userspace config write that changes the command register (which zaps the
 * mappings when it clears the memory enable), a reset (which zaps them
 * first), a revoke.  The check reads a copy of the command register that
 * vfg_pci_memory_write_unlock() takes from the device at the end of each
 * such change, not the device itself: a config access per BAR access
 * would cost more than the access.  A function without a memory enable of
 * its own (pdev->no_command_memory: a VF) decodes its memory BARs whenever
 * its PF's SR-IOV control does.
 *
 * mmap maps memory BARs uncached (those of a page or more, and smaller ones
 * that start a page whose rest we could reserve: vfg_pci_mmap_setup()),
 * a page at a time as they are touched: the
 * fault handler inserts the page under vdev->memory_lock (read), taken under
 * mmap_lock.  Every device fd of a device shares the device's own
 * address_space, so vfg_device_zap_mappings() takes every userspace mapping
 * away at once; a later access faults again, into the same checks.  Neither
 * mmap nor the fault handler takes vdev->lock, which is held across
 * operations that may wait for PCI hotplug.  The pages that
 * hold the MSI-X table may be mapped only when the IOMMU remaps interrupts;
 * otherwise a device could be made to send arbitrary MSIs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_pci_priv.h"

/*
 * Claim @bar on its first use (pread, pwrite, mmap), not at open, as the
 * kernel's vfio-pci does: a device whose BAR a firmware framebuffer or
 * another driver still holds can be opened, and only a use of that BAR
 * fails, with -EBUSY and a log line.  Claims are given
 * back at the last close (vfg_pci_release_bars()).
 */
static int vfg_pci_bar_claim(struct vfg_pci_device *vdev, int bar)
{
	struct pci_dev *pdev = vdev->pdev;
	struct resource *r = &pdev->resource[bar];
	int ret = 0;

	/* Claimed bits are only cleared once no access can run (see @claimed). */
	if (smp_load_acquire(&vdev->claimed) & BIT(bar))
		return 0;
	mutex_lock(&vdev->claim_lock);
	if (vdev->claimed & BIT(bar))
		goto out;
	ret = pci_request_selected_regions(pdev, BIT(bar),
					   vfg_pci_driver_name());
	if (ret) {
		/*
		 * The holder's name is in /proc/iomem (or /proc/ioports); the
		 * resource tree's lock that would let us read it is private.
		 */
		pci_warn(pdev, "BAR %d %pR is claimed by another driver or a firmware framebuffer (see /proc/%s): %d\n",
			 bar, r, r->flags & IORESOURCE_IO ? "ioports" : "iomem",
			 ret);
		ret = -EBUSY;
		goto out;
	}
	/* Pairs with the lockless test above: the claim is done. */
	smp_store_release(&vdev->claimed, vdev->claimed | BIT(bar));
out:
	mutex_unlock(&vdev->claim_lock);
	return ret;
}

/**
 * vfg_pci_release_bars() - give back the BARs claimed since the first open
 * @vdev: the device, being disabled
 */
void vfg_pci_release_bars(struct vfg_pci_device *vdev)
{
	mutex_lock(&vdev->claim_lock);
	pci_release_selected_regions(vdev->pdev, vdev->claimed);
	vdev->claimed = 0;
	mutex_unlock(&vdev->claim_lock);
}

/*
 * The kernel mapping of @bar, made on first use.  Called with the device
 * not revoked and memory_lock held (an access) or vdev->lock held (the
 * ioeventfd setup): the mapping is taken down only at the last close or
 * after a revoke, by vfg_pci_unmap_bars() under vdev->lock once the revoke
 * has taken memory_lock, so either lock keeps it valid for the caller.
 */
static void __iomem *vfg_pci_bar_map(struct vfg_pci_device *vdev, int bar)
{
	void __iomem *io;

	lockdep_assert(lockdep_is_held(&vdev->memory_lock) ||
		       lockdep_is_held(&vdev->lock));
	/* Pairs with the release below: a mapping seen is a mapping made. */
	io = smp_load_acquire(&vdev->barmap[bar]);
	if (io)
		return io;
	mutex_lock(&vdev->claim_lock);
	io = vdev->barmap[bar];
	if (!io) {
		io = pci_iomap(vdev->pdev, bar, 0);
		/* Publish it whole to the lockless readers above. */
		smp_store_release(&vdev->barmap[bar], io);
	}
	mutex_unlock(&vdev->claim_lock);
	return io;
}

/**
 * vfg_pci_bar_setup() - claim a BAR and map it for the kernel
 * @vdev: the device, open, with its lock held
 * @bar: BAR index
 *
 * For those that write to the BAR later, from contexts that cannot claim
 * or map it (ioeventfd.c).  The mapping lasts until the last close or a
 * revoke (vfg_pci_disable()).
 *
 * Return: the mapping, or ERR_PTR(-EBUSY) if the BAR is held by another
 * driver, ERR_PTR(-ENOMEM).
 */
void __iomem *vfg_pci_bar_setup(struct vfg_pci_device *vdev, int bar)
{
	void __iomem *io;
	int ret;

	lockdep_assert_held(&vdev->lock);
	ret = vfg_pci_bar_claim(vdev, bar);
	if (ret)
		return ERR_PTR(ret);
	io = vfg_pci_bar_map(vdev, bar);
	return io ? io : ERR_PTR(-ENOMEM);
}

/**
 * vfg_pci_unmap_bars() - drop the kernel mappings of the BARs
 * @vdev: the device, at its last close or revoked: no access runs
 */
void vfg_pci_unmap_bars(struct vfg_pci_device *vdev)
{
	int i;

	mutex_lock(&vdev->claim_lock);
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (vdev->barmap[i])
			pci_iounmap(vdev->pdev, vdev->barmap[i]);
		vdev->barmap[i] = NULL;
	}
	mutex_unlock(&vdev->claim_lock);
}

/**
 * vfg_pci_memory_write_unlock() - end a change of what the device decodes
 * @vdev: the device, with memory_lock held for writing
 *
 * Whoever may change the device's decoding (a command register write, a
 * reset, a power state change, the MSI-X setup) holds memory_lock for
 * writing and releases it here: the command register is read back once,
 * and every access until the next change checks that copy instead of
 * reading the device's config space each time.
 */
void vfg_pci_memory_write_unlock(struct vfg_pci_device *vdev)
{
	u16 cmd;

	lockdep_assert_held_write(&vdev->memory_lock);
	if (pci_read_config_word(vdev->pdev, PCI_COMMAND, &cmd) ||
	    cmd == 0xffff)
		cmd = 0;
	vdev->decodes = cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	up_write(&vdev->memory_lock);
}

/**
 * vfg_pci_bar_decoded() - does the device decode a BAR now?
 * @vdev: the device, with memory_lock held (read or write)
 * @bar: BAR index, or PCI_ROM_RESOURCE
 *
 * Return: true if the command register enables the BAR's space (I/O for an
 * I/O BAR, memory otherwise), the device is not in D3hot or lower (config
 * space can put it there) and was not revoked.
 */
bool vfg_pci_bar_decoded(struct vfg_pci_device *vdev, int bar)
{
	u16 need = PCI_COMMAND_MEMORY;

	lockdep_assert_held(&vdev->memory_lock);
	if (vdev->revoked || vdev->pdev->current_state >= PCI_D3hot)
		return false;
	if (bar < PCI_STD_NUM_BARS &&
	    pci_resource_flags(vdev->pdev, bar) & IORESOURCE_IO)
		need = PCI_COMMAND_IO;
	else if (vdev->pdev->no_command_memory)
		return true;	/* a VF: its PF's SR-IOV control decides */
	return vdev->decodes & need;
}

/**
 * vfg_pci_io_rw() - a bounce buffer's worth of device accesses
 * @io: the kernel mapping of a BAR or a VGA window
 * @off: offset in @io
 * @tmp: the bounce buffer
 * @n: bytes
 * @write: direction
 * @hole: [@hole, @hole_end) of @io is never touched: reads of it give all
 *        ones and writes to it are dropped (the MSI-X table, the kernel's);
 *        @hole == @hole_end for none
 * @hole_end: see @hole
 *
 * Splits the access into naturally aligned 4, 2 and 1 byte device
 * accesses, so that any length and alignment works.  The caller has
 * checked that the device decodes the space.
 */
void vfg_pci_io_rw(void __iomem *io, u64 off, u8 *tmp, size_t n, bool write,
		   u64 hole, u64 hole_end)
{
	size_t done = 0;
	bool skip;
	int len;
	u32 v;

	while (done < n) {
		u64 at = off + done;

		if (!(at & 3) && n - done >= 4)
			len = 4;
		else if (!(at & 1) && n - done >= 2)
			len = 2;
		else
			len = 1;
		skip = at < hole_end && at + len > hole;
		if (write) {
			v = 0;
			memcpy(&v, tmp + done, len);
			if (skip)
				;	/* dropped */
			else if (len == 4)
				iowrite32(v, io + at);
			else if (len == 2)
				iowrite16(v, io + at);
			else
				iowrite8(v, io + at);
		} else {
			if (skip)
				v = ~0U;
			else if (len == 4)
				v = ioread32(io + at);
			else if (len == 2)
				v = ioread16(io + at);
			else
				v = ioread8(io + at);
			memcpy(tmp + done, &v, len);
		}
		done += len;
	}
}

/* One bounce buffer's worth of BAR accesses; the BAR decoded. */
static void vfg_pci_bar_io(struct vfg_pci_device *vdev, int bar,
			   void __iomem *io, loff_t pos, u8 *tmp, size_t n,
			   bool write)
{
	u64 hole = 0, hole_end = 0;

	if (bar == vdev->msix_bar) {
		hole = vdev->msix_offset;
		hole_end = vfg_pci_msix_end(vdev);
	}
	vfg_pci_io_rw(io, pos, tmp, n, write, hole, hole_end);
}

/**
 * vfg_pci_bar_rw() - pread/pwrite of a BAR region
 * @vdev: the device, open
 * @bar: BAR index
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the BAR
 * @write: direction
 * @awake: the caller holds a runtime PM usage count for the access
 *
 * Goes through a bounce buffer, a page at a time (on the stack for small
 * accesses): user memory is touched only outside memory_lock (see
 * vfg_pci_config_rw()).  vdev->lock is not taken: the claim and the kernel
 * mapping of the BAR have their own lock (claim_lock), and memory_lock
 * keeps out the revoke and every change of decoding.  Without @awake the
 * access relies on the open's usage count, which only a low power entry
 * takes away, with memory_lock held for writing (power.c): @pm_engaged is
 * tested under the same hold as the device accesses, as by the fault
 * handler.
 *
 * Return: bytes transferred, or a negative errno: -EINVAL outside the BAR,
 * -EIO while the device does not decode it (or is being reset), -ENODEV
 * after a revoke, VFG_PCI_ASLEEP without @awake in low power (nothing
 * transferred yet).
 */
ssize_t vfg_pci_bar_rw(struct vfg_pci_device *vdev, int bar,
		       char __user *buf, size_t count, loff_t pos, bool write,
		       bool awake)
{
	resource_size_t size = vdev->bar_size[bar];
	u8 small[VFG_PCI_SMALL_IO], *tmp = small;
	void __iomem *io;
	size_t done = 0, n, chunk;
	int ret = 0;

	if (!size || pos < 0 || pos >= size)
		return -EINVAL;
	count = min_t(u64, count, size - pos);
	chunk = count <= sizeof(small) ? sizeof(small) : PAGE_SIZE;
	if (count > sizeof(small)) {
		tmp = kmalloc(min_t(size_t, count, PAGE_SIZE), GFP_KERNEL);
		if (!tmp)
			return -ENOMEM;
	}

	while (done < count) {
		n = min_t(size_t, count - done, chunk);
		if (write && copy_from_user(tmp, buf + done, n)) {
			ret = -EFAULT;
			break;
		}
		down_read(&vdev->memory_lock);
		if (vdev->revoked)
			ret = -ENODEV;
		else if (!awake && vdev->pm_engaged)
			ret = VFG_PCI_ASLEEP;
		else if (!vfg_pci_bar_decoded(vdev, bar))
			ret = -EIO;
		else
			ret = vfg_pci_bar_claim(vdev, bar);
		io = ret ? NULL : vfg_pci_bar_map(vdev, bar);
		if (io)
			vfg_pci_bar_io(vdev, bar, io, pos + done, tmp, n, write);
		else if (!ret)
			ret = -ENOMEM;
		up_read(&vdev->memory_lock);
		if (ret)
			break;
		if (!write && copy_to_user(buf + done, tmp, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}
	if (tmp != small)
		kfree(tmp);
	return done ? done : ret;
}

/**
 * vfg_pci_rom_read() - pread of the expansion ROM region
 * @vdev: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the ROM
 *
 * Return: bytes read, or a negative errno: -EINVAL without a ROM, -EIO
 * while the device does not decode memory (or is being reset).
 */
ssize_t vfg_pci_rom_read(struct vfg_pci_device *vdev, char __user *buf,
			 size_t count, loff_t pos)
{
	void __iomem *rom;
	size_t size;
	void *tmp;
	ssize_t ret;

	if (!vdev->bar_size[PCI_ROM_RESOURCE] || pos < 0 ||
	    pos >= vdev->bar_size[PCI_ROM_RESOURCE])
		return -EINVAL;

	count = min_t(size_t, count, vdev->bar_size[PCI_ROM_RESOURCE] - pos);
	count = min_t(size_t, count, SZ_64K);
	tmp = kmalloc(count, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;

	mutex_lock(&vdev->lock);
	down_read(&vdev->memory_lock);
	if (vdev->revoked) {
		ret = -ENODEV;
		goto out;
	}
	if (!vfg_pci_bar_decoded(vdev, PCI_ROM_RESOURCE)) {
		ret = -EIO;
		goto out;
	}
	rom = pci_map_rom(vdev->pdev, &size);
	if (!rom) {
		ret = -EIO;
		goto out;
	}
	ret = 0;
	if (pos < size) {
		ret = min_t(size_t, count, size - pos);
		memcpy_fromio(tmp, rom + pos, ret);
	}
	pci_unmap_rom(vdev->pdev, rom);
out:
	up_read(&vdev->memory_lock);
	mutex_unlock(&vdev->lock);
	/* User memory only outside the lock (see vfg_pci_config_rw()). */
	if (ret > 0 && copy_to_user(buf, tmp, ret))
		ret = -EFAULT;
	kfree(tmp);
	return ret;
}

static vm_fault_t vfg_pci_mmap_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vfg_pci_device *vdev = vma->vm_private_data;
	unsigned long index = vma->vm_pgoff >>
			      (VFG_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long pgoff = (vma->vm_pgoff &
			       (VFG_PCI_OFFSET_MASK >> PAGE_SHIFT)) +
			      ((vmf->address - vma->vm_start) >> PAGE_SHIFT);
	vm_fault_t ret = VM_FAULT_SIGBUS;

	/* Revoked, decoding off, a reset running or low power: SIGBUS. */
	down_read(&vdev->memory_lock);
	if (!vdev->pm_engaged && vfg_pci_bar_decoded(vdev, index))
		ret = vmf_insert_pfn(vma, vmf->address,
				     (pci_resource_start(vdev->pdev, index) >>
				      PAGE_SHIFT) + pgoff);
	up_read(&vdev->memory_lock);
	return ret;
}

static const struct vm_operations_struct vfg_pci_vm_ops = {
	.fault = vfg_pci_mmap_fault,
};

/* May userspace map the pages of @bar that hold the MSI-X table? */
static bool vfg_pci_msix_mappable(struct vfg_pci_device *vdev)
{
	return device_iommu_capable(&vdev->pdev->dev, IOMMU_CAP_INTR_REMAP);
}

/**
 * vfg_pci_mmap_setup() - decide which BARs userspace may mmap
 * @vdev: the device, being opened, with its lock held
 *
 * Memory BARs of a page or more can be mapped.  So can a smaller one that
 * starts a page, once the rest of that page is reserved in the resource
 * tree: mapping a page gives the whole page, and nothing else (another
 * device's BAR after a hotplug or a rebalance, a driver's region) may then
 * be placed where userspace would reach it.  A sub-page BAR that does not
 * start a page, or whose page is not free, cannot be mapped.  The
 * reservations go at the last close or a revoke (vfg_pci_mmap_release()).
 */
void vfg_pci_mmap_setup(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	struct resource *res, *pad;
	u8 mappable = 0;
	int i;

	lockdep_assert_held(&vdev->lock);
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		res = &pdev->resource[i];
		if (!(res->flags & IORESOURCE_MEM) || !resource_size(res))
			continue;
		if (resource_size(res) >= PAGE_SIZE) {
			mappable |= BIT(i);
			continue;
		}
		if (!PAGE_ALIGNED(res->start) || !res->parent)
			continue;
		pad = kzalloc(sizeof(*pad), GFP_KERNEL);
		if (!pad)
			continue;	/* not mappable, as if the page were taken */
		pad->name = "vfio sub-page BAR reserved";
		pad->start = res->start + resource_size(res);
		pad->end = res->start + PAGE_SIZE - 1;
		/* Busy: no request_mem_region() may nest inside either. */
		pad->flags = IORESOURCE_MEM | IORESOURCE_BUSY;
		if (request_resource(res->parent, pad)) {
			pci_info(pdev, "BAR %d %pR: the rest of its page is in use, so it cannot be mmapped\n",
				 i, res);
			kfree(pad);
			continue;
		}
		vdev->bar_pad[i] = pad;
		mappable |= BIT(i);
	}
	WRITE_ONCE(vdev->bar_mmap, mappable);
}

/**
 * vfg_pci_mmap_release() - give back the reservations of vfg_pci_mmap_setup()
 * @vdev: the device, being disabled, with its lock held
 */
void vfg_pci_mmap_release(struct vfg_pci_device *vdev)
{
	int i;

	lockdep_assert_held(&vdev->lock);
	WRITE_ONCE(vdev->bar_mmap, 0);
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (!vdev->bar_pad[i])
			continue;
		release_resource(vdev->bar_pad[i]);
		kfree(vdev->bar_pad[i]);
		vdev->bar_pad[i] = NULL;
	}
}

/**
 * vfg_pci_bar_mmappable() - may userspace mmap a BAR?
 * @vdev: the device, open
 * @bar: region index
 *
 * Return: true for a memory BAR that vfg_pci_mmap_setup() found mappable.
 */
bool vfg_pci_bar_mmappable(struct vfg_pci_device *vdev, unsigned int bar)
{
	return bar < PCI_STD_NUM_BARS && (READ_ONCE(vdev->bar_mmap) & BIT(bar));
}

/**
 * vfg_pci_mmap() - mmap of a BAR region
 * @vdev: the device, open
 * @vma: the mapping; vm_pgoff encodes region index and offset
 *
 * Return: 0; -EINVAL for a region that cannot be mapped, a range outside the
 * BAR, a private mapping, or the MSI-X table without interrupt remapping.
 */
int vfg_pci_mmap(struct vfg_pci_device *vdev, struct vm_area_struct *vma)
{
	unsigned long index = vma->vm_pgoff >> (VFG_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long pgoff = vma->vm_pgoff &
			      (VFG_PCI_OFFSET_MASK >> PAGE_SHIFT);
	unsigned long len = vma->vm_end - vma->vm_start;
	resource_size_t size;
	u64 off = (u64)pgoff << PAGE_SHIFT;
	int ret;

	if (READ_ONCE(vdev->revoked))
		return -ENODEV;
	if (!vfg_pci_bar_mmappable(vdev, index))
		return -EINVAL;
	size = vdev->bar_size[index];
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (off >= size || len > PAGE_ALIGN(size) - off)
		return -EINVAL;
	if (index == vdev->msix_bar && !vfg_pci_msix_mappable(vdev) &&
	    off < PAGE_ALIGN(vfg_pci_msix_end(vdev)) &&
	    off + len > (vdev->msix_offset & PAGE_MASK))
		return -EINVAL;
	ret = vfg_pci_bar_claim(vdev, index);
	if (ret)
		return ret;

	vma->vm_private_data = vdev;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &vfg_pci_vm_ops;
	return 0;
}
