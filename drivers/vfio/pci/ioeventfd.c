// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_DEVICE_IOEVENTFD: a fixed write to a BAR each time an eventfd is
 * signalled.
 *
 * A VMM hands us an eventfd that KVM signals when the guest writes a given
 * value to a given address (a KVM ioeventfd); we then write that value to
 * the device without a trip through userspace.  Each ioeventfd is a virqfd
 * (virqfd.c) whose handler performs the write.
 *
 * The handler runs in the signaller's context, under the eventfd's wait
 * queue lock: atomic, and for a signal from an interrupt handler (an MSI
 * trigger of another device, AIO completion) in hard or soft IRQ context.
 * The write must pass the BAR gate of rdwr.c: vdev->memory_lock held for
 * reading and the device decoding the BAR.  So, in the handler:
 *
 * - from task context, down_read_trylock(&memory_lock): if it is free the
 *   write is done on the spot, the fast path KVM's signals take;
 * - otherwise (contended: a reset or a command register write holds it for
 *   writing; or not task context, where a rwsem has no business) the write
 *   goes to a work item, which sleeps on memory_lock and checks the gate.
 *   Signals that come while the work is pending make one write: eventfd
 *   counts coalesce anyway, and every write is the same value.
 *
 * With decoding off (or after a revoke) the write is dropped, as pwrite()
 * would fail.
 *
 * Lifetime: ioeventfds are on vdev->ioeventfds under vdev->lock, and live
 * until removed (fd -1), or until the last close or a revoke
 * (vfg_pci_ioeventfd_release_all()).  An eventfd closed by userspace
 * detaches its virqfd (virqfd.c) but leaves the entry, which still counts
 * and can still be removed, as upstream.  Teardown first disables the
 * virqfd, after which the handler cannot run or be running, then cancels
 * the work, then frees: no write can come after, and the eventfd reference
 * is dropped by the virqfd's shutdown.  The BAR mapping the entries write
 * through is dropped only after them (vfg_pci_disable()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "vfio_pci_priv.h"

/* As upstream: enough for every quirk QEMU installs. */
#define VFG_PCI_IOEVENTFD_MAX	1000

/**
 * struct vfg_pci_ioeventfd - one BAR write bound to an eventfd
 * @node: in vdev->ioeventfds, under vdev->lock
 * @vdev: the device
 * @virqfd: the eventfd's virqfd, under @slot_lock (virqfd.c)
 * @slot_lock: protects @virqfd
 * @work: the write, when the handler cannot do it (see above)
 * @addr: where, in the kernel's mapping of the BAR
 * @data: what
 * @pos: offset in the BAR
 * @bar: BAR index
 * @count: bytes: 1, 2, 4 or 8
 */
struct vfg_pci_ioeventfd {
	struct list_head node;
	struct vfg_pci_device *vdev;
	struct vfg_virqfd *virqfd;
	spinlock_t slot_lock;		/* protects virqfd */
	struct work_struct work;
	void __iomem *addr;
	u64 data;
	u64 pos;
	int bar;
	int count;
};

/* The write itself; memory_lock held, however it was taken. */
static void vfg_pci_ioeventfd_write(struct vfg_pci_ioeventfd *ioe)
{
	if (!vfg_pci_bar_decoded(ioe->vdev, ioe->bar))
		return;

	switch (ioe->count) {
	case 1:
		iowrite8(ioe->data, ioe->addr);
		break;
	case 2:
		iowrite16(ioe->data, ioe->addr);
		break;
	case 4:
		iowrite32(ioe->data, ioe->addr);
		break;
	case 8:
		/* Memory BARs only (checked at setup). */
		writeq(ioe->data, ioe->addr);
		break;
	}
}

static void vfg_pci_ioeventfd_work(struct work_struct *work)
{
	struct vfg_pci_ioeventfd *ioe = container_of(work,
						     struct vfg_pci_ioeventfd,
						     work);

	down_read(&ioe->vdev->memory_lock);
	vfg_pci_ioeventfd_write(ioe);
	up_read(&ioe->vdev->memory_lock);
}

/* virqfd handler: atomic, maybe IRQ context; see the top of the file. */
static void vfg_pci_ioeventfd_signalled(void *data)
{
	struct vfg_pci_ioeventfd *ioe = data;
	struct vfg_pci_device *vdev = ioe->vdev;

	if (in_task() && down_read_trylock(&vdev->memory_lock)) {
		vfg_pci_ioeventfd_write(ioe);
		up_read(&vdev->memory_lock);
		return;
	}
	queue_work(system_wq, &ioe->work);
}

/* Stop @ioe and free it; no write of it comes after.  It is off the list. */
static void vfg_pci_ioeventfd_free(struct vfg_pci_ioeventfd *ioe)
{
	vfg_virqfd_disable(&ioe->virqfd, &ioe->slot_lock);
	cancel_work_sync(&ioe->work);
	kfree(ioe);
}

/**
 * vfg_pci_ioeventfd_release_all() - remove every ioeventfd of the device
 * @vdev: the device, with its lock held: the last close or a revoke
 *
 * On return no ioeventfd write is running or will run, and every eventfd
 * reference they held is dropped.
 */
void vfg_pci_ioeventfd_release_all(struct vfg_pci_device *vdev)
{
	struct vfg_pci_ioeventfd *ioe, *tmp;

	lockdep_assert_held(&vdev->lock);
	list_for_each_entry_safe(ioe, tmp, &vdev->ioeventfds, node) {
		list_del(&ioe->node);
		vfg_pci_ioeventfd_free(ioe);
	}
	vdev->num_ioeventfds = 0;
}

/*
 * Check what a request names, before any lock.  Upstream's rules, plus
 * natural alignment and data that fits the size (see "Differences").
 */
static int vfg_pci_ioeventfd_check(struct vfg_pci_device *vdev, int bar,
				   u64 pos, u64 data, int count)
{
	struct pci_dev *pdev = vdev->pdev;
	u64 end;

	/* BARs only: not config space, not the ROM, not VGA. */
	if (bar > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	if (check_add_overflow(pos, (u64)count, &end) ||
	    end > vdev->bar_size[bar])
		return -EINVAL;
	if (pos & (count - 1))
		return -EINVAL;
	if (count < 8 && data >> (count * BITS_PER_BYTE))
		return -EINVAL;
	/* No I/O port access is 8 bytes wide. */
	if (count == 8 && !(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
		return -EINVAL;
	/* The MSI-X table is the kernel's, as for pwrite(). */
	if (bar == vdev->msix_bar && pos < vfg_pci_msix_end(vdev) &&
	    end > vdev->msix_offset)
		return -EINVAL;
	return 0;
}

static struct vfg_pci_ioeventfd *
vfg_pci_ioeventfd_find(struct vfg_pci_device *vdev, int bar, u64 pos,
		       u64 data, int count)
{
	struct vfg_pci_ioeventfd *ioe;

	lockdep_assert_held(&vdev->lock);
	list_for_each_entry(ioe, &vdev->ioeventfds, node)
		if (ioe->bar == bar && ioe->pos == pos &&
		    ioe->data == data && ioe->count == count)
			return ioe;
	return NULL;
}

/*
 * Add an ioeventfd, or with @fd -1 remove the one that matches @bar, @pos,
 * @data and @count.  Under vdev->lock, which orders us against the revoke
 * and against the last close's release_all().
 */
static int vfg_pci_ioeventfd_set(struct vfg_pci_device *vdev, int bar,
				 u64 pos, u64 data, int count, int fd)
{
	struct vfg_pci_ioeventfd *ioe;
	void __iomem *io;
	int ret;

	mutex_lock(&vdev->lock);
	if (vdev->revoked) {
		ret = -ENODEV;
		goto out;
	}
	ioe = vfg_pci_ioeventfd_find(vdev, bar, pos, data, count);
	if (ioe) {
		if (fd >= 0) {
			ret = -EEXIST;
			goto out;
		}
		list_del(&ioe->node);
		vdev->num_ioeventfds--;
		vfg_pci_ioeventfd_free(ioe);
		ret = 0;
		goto out;
	}
	if (fd < 0) {
		ret = -ENODEV;
		goto out;
	}
	if (vdev->num_ioeventfds >= VFG_PCI_IOEVENTFD_MAX) {
		ret = -ENOSPC;
		goto out;
	}

	io = vfg_pci_bar_setup(vdev, bar);
	if (IS_ERR(io)) {
		ret = PTR_ERR(io);
		goto out;
	}
	ioe = kzalloc(sizeof(*ioe), GFP_KERNEL_ACCOUNT);
	if (!ioe) {
		ret = -ENOMEM;
		goto out;
	}
	ioe->vdev = vdev;
	ioe->addr = io + pos;
	ioe->data = data;
	ioe->pos = pos;
	ioe->bar = bar;
	ioe->count = count;
	spin_lock_init(&ioe->slot_lock);
	INIT_WORK(&ioe->work, vfg_pci_ioeventfd_work);

	/* Armed from here on: the handler may run before we return. */
	ret = vfg_virqfd_enable(&ioe->virqfd, &ioe->slot_lock, fd,
				vfg_pci_ioeventfd_signalled, ioe);
	if (ret) {
		/* Never armed, so nothing queued the work. */
		kfree(ioe);
		goto out;
	}
	list_add_tail(&ioe->node, &vdev->ioeventfds);
	vdev->num_ioeventfds++;
out:
	mutex_unlock(&vdev->lock);
	return ret;
}

/**
 * vfg_pci_ioeventfd() - VFIO_DEVICE_IOEVENTFD
 * @vdev: the device, open
 * @arg: struct vfio_device_ioeventfd from userspace
 *
 * Return: 0; -EFAULT; -EINVAL for a short argsz, unknown flags, not exactly
 * one size, an fd below -1, an offset outside a BAR (or in the MSI-X
 * table, or misaligned) or data wider than the size; -EEXIST if the same
 * write is bound already; -ENODEV removing one that is not, or after a
 * revoke; -ENOSPC at the per-device limit; -EBUSY if the BAR cannot be
 * claimed; -EBADF or -EINVAL for a bad eventfd; -ENOMEM.
 */
long vfg_pci_ioeventfd(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_ioeventfd, fd);
	struct vfio_device_ioeventfd req;
	u32 count;

	if (copy_from_user(&req, arg, minsz))
		return -EFAULT;
	if (req.argsz < minsz)
		return -EINVAL;
	if (req.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK)
		return -EINVAL;
	count = req.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
	if (hweight32(count) != 1 || req.fd < -1)
		return -EINVAL;
	/* The flag is the size in bytes: 1, 2, 4, 8. */
	if (vfg_pci_ioeventfd_check(vdev, VFG_PCI_INDEX(req.offset),
				    req.offset & VFG_PCI_OFFSET_MASK, req.data,
				    count))
		return -EINVAL;
	return vfg_pci_ioeventfd_set(vdev, VFG_PCI_INDEX(req.offset),
				     req.offset & VFG_PCI_OFFSET_MASK,
				     req.data, count, req.fd);
}
