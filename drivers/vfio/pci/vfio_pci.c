// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI bus driver: userspace gets a PCI device by binding it here.
 *
 * It matches nothing by itself; an administrator binds a device with
 * driver_override and "bind" or "drivers_probe", as libvirt, driverctl and
 * dpdk-devbind do.  It declares driver_managed_dma: binding a device here
 * does not put it in the kernel's DMA domain, so a group whose members are
 * all bound here can be handed to userspace.
 *
 * Device fds (VFIO_GROUP_GET_DEVICE_FD) come from here.  The first open
 * enables the device with bus mastering off, resets it where a reset method
 * exists and builds its virtual config space; the last close disables its
 * interrupts, resets it and restores the config state it was bound with.
 *
 * Removal
 * -------
 * remove() (unbind, "remove" in sysfs, hot-unplug) cannot fail, and must not
 * tear a device out from under its user.  It waits until every device fd is
 * closed, and while it waits it asks for the device back: it signals the REQ
 * eventfd (QEMU unplugs the device from its guest on it), sends a
 * RELEASE_REQUESTED netlink event naming the holder, and logs it, again every
 * release_retry_ms.  The wait is interruptible until a signal arrives; then,
 * since remove() cannot be abandoned, it goes on waiting uninterruptibly.
 * With release_timeout_ms set, when the time is up the device is revoked:
 * every userspace mapping of its BARs is zapped (later accesses get SIGBUS),
 * its interrupts and bus mastering are turned off, every operation on its fds
 * fails with -ENODEV, a REVOKED event goes out, and remove() completes.  The
 * stale fds stay safe to use and to close: they keep the structure alive.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio_groups.h>

#include "vfio_pci_priv.h"

static unsigned int release_timeout_ms;
module_param(release_timeout_ms, uint, 0644);
MODULE_PARM_DESC(release_timeout_ms,
		 "Revoke a device its holder does not release within this many ms of removal (0: wait forever, default)");

static unsigned int release_retry_ms = 1000;
module_param(release_retry_ms, uint, 0644);
MODULE_PARM_DESC(release_retry_ms,
		 "Interval between release requests while removal waits (default 1000 ms)");

/*
 * Devices bound to us.  vfg_pci_lock protects the list and vdev->removing,
 * and is held across the opening of a device fd, so that remove() sees
 * either no fd or an fully opened one.  Lock order: vfg_pci_lock ->
 * group->lock is never taken; vfg_pci_lock -> vdev->lock.
 */
static LIST_HEAD(vfg_pci_devices);
static DEFINE_MUTEX(vfg_pci_lock);

static struct pci_driver vfg_pci_driver;
static const struct file_operations vfg_pci_fops;

static void vfg_pci_free(struct kref *kref)
{
	struct vfg_pci_device *vdev = container_of(kref, struct vfg_pci_device,
						   kref);

	pci_dev_put(vdev->pdev);
	mutex_destroy(&vdev->lock);
	mutex_destroy(&vdev->open_mutex);
	kfree(vdev);
}

static void vfg_pci_put(struct vfg_pci_device *vdev)
{
	kref_put(&vdev->kref, vfg_pci_free);
}

/* ---- open and close ---------------------------------------------------- */

/*
 * Make the device ready for userspace: the first open.  Under open_mutex
 * only: the reset may wait for PCI hotplug locks, so vdev->lock (which
 * remove() takes) is held only for the state it protects.
 */
static int vfg_pci_enable(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	int bars = pci_select_bars(pdev, IORESOURCE_MEM | IORESOURCE_IO);
	u32 table;
	u16 flags;
	int ret, i;

	lockdep_assert_held(&vdev->open_mutex);
	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	/* Userspace turns bus mastering on when it is ready for DMA. */
	pci_clear_master(pdev);
	if (vdev->reset_works && pci_try_reset_function(pdev))
		pci_info(pdev, "reset on open failed; continuing\n");
	pci_save_state(pdev);
	vdev->saved_state = pci_store_saved_state(pdev);
	ret = pci_request_selected_regions(pdev, bars, vfg.pci_driver_name);
	if (ret) {
		pci_warn(pdev, "cannot claim its BARs: %d\n", ret);
		goto err_disable;
	}

	mutex_lock(&vdev->lock);
	for (i = 0; i <= PCI_ROM_RESOURCE; i++)
		vdev->bar_size[i] = pci_resource_len(pdev, i);
	vdev->msi_cap = pdev->msi_cap;
	vdev->msix_cap = pdev->msix_cap;
	vdev->msix_bar = -1;
	if (vdev->msix_cap) {
		pci_read_config_word(pdev, vdev->msix_cap + PCI_MSIX_FLAGS,
				     &flags);
		pci_read_config_dword(pdev, vdev->msix_cap + PCI_MSIX_TABLE,
				      &table);
		vdev->msix_bar = table & PCI_MSIX_TABLE_BIR;
		vdev->msix_offset = table & PCI_MSIX_TABLE_OFFSET;
		vdev->msix_size = ((flags & PCI_MSIX_FLAGS_QSIZE) + 1) * 16;
	}
	vdev->irq_type = -1;
	ret = vfg_pci_config_init(vdev);
	mutex_unlock(&vdev->lock);
	if (ret)
		goto err_regions;
	return 0;

err_regions:
	pci_release_selected_regions(pdev, bars);
err_disable:
	pci_load_and_free_saved_state(pdev, &vdev->saved_state);
	pci_disable_device(pdev);
	return ret;
}

/*
 * Give the device back as it was bound: the last close, or a revoke.  Under
 * open_mutex; @reset is false when remove() holds the device lock.
 */
static void vfg_pci_disable(struct vfg_pci_device *vdev, bool reset)
{
	struct pci_dev *pdev = vdev->pdev;

	lockdep_assert_held(&vdev->open_mutex);
	mutex_lock(&vdev->lock);
	vfg_pci_irq_disable_all(vdev);
	pci_clear_master(pdev);
	vfg_pci_unmap_bars(vdev);
	pci_release_selected_regions(pdev, pci_select_bars(pdev,
							   IORESOURCE_MEM |
							   IORESOURCE_IO));
	vfg_pci_config_free(vdev);
	mutex_unlock(&vdev->lock);

	if (reset && vdev->reset_works && pci_try_reset_function(pdev))
		pci_dbg(pdev, "reset on last close skipped\n");
	if (pci_load_and_free_saved_state(pdev, &vdev->saved_state))
		pci_warn(pdev, "no saved config state to restore\n");
	else
		pci_restore_state(pdev);
	pci_disable_device(pdev);
}

/* Drop one device fd (or an open that failed half way). */
static void vfg_pci_close(struct vfg_pci_device *vdev)
{
	struct vfg_group *group;
	struct pid *holder = NULL;
	bool last;

	mutex_lock(&vdev->open_mutex);
	mutex_lock(&vdev->lock);
	last = vdev->open_count == 1;
	group = vdev->group;
	mutex_unlock(&vdev->lock);
	if (last && vdev->enabled) {
		vfg_pci_disable(vdev, true);
		vdev->enabled = false;
	}
	mutex_lock(&vdev->lock);
	vdev->open_count--;
	if (last) {
		vdev->group = NULL;
		holder = vdev->holder;
		vdev->holder = NULL;
	}
	mutex_unlock(&vdev->lock);
	mutex_unlock(&vdev->open_mutex);

	wake_up_all(&vdev->wq);
	vfg_group_device_closed(group);
	if (last) {
		put_device(&group->dev);
		put_pid(holder);
	}
	vfg_pci_put(vdev);
}

/**
 * vfg_pci_open_device() - a new device fd for a device of a group
 * @group: the group, viable and attached to a container with an IOMMU; the
 *         caller has counted the fd in group->dev_fds and holds no lock
 * @pdev: a member of @group
 *
 * Return: the fd; -ENODEV if @pdev is not bound to us or is going away;
 * another negative errno if the device cannot be enabled.
 */
int vfg_pci_open_device(struct vfg_group *group, struct pci_dev *pdev)
{
	struct vfg_pci_device *vdev = NULL, *v;
	struct file *file;
	int fd, ret = 0;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;

	/* Register the open first: from here on remove() waits for it. */
	mutex_lock(&vfg_pci_lock);
	list_for_each_entry(v, &vfg_pci_devices, node)
		if (v->pdev == pdev && !v->removing)
			vdev = v;
	if (vdev) {
		kref_get(&vdev->kref);
		mutex_lock(&vdev->lock);
		if (!vdev->open_count++) {
			get_device(&group->dev);
			vdev->group = group;
			vdev->holder = get_pid(task_tgid(current));
		}
		mutex_unlock(&vdev->lock);
	}
	mutex_unlock(&vfg_pci_lock);
	if (!vdev) {
		put_unused_fd(fd);
		return -ENODEV;
	}

	file = anon_inode_getfile("[vfio-device]", &vfg_pci_fops, vdev,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_close;
	}
	/*
	 * One address space per device: see vfg_pci_zap_mmaps().  Its host is
	 * the anon inode every such file shares, which is never freed.
	 */
	vdev->mapping.host = file_inode(file);
	file->f_mapping = &vdev->mapping;
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;

	mutex_lock(&vdev->open_mutex);
	if (!vdev->enabled) {
		ret = vfg_pci_enable(vdev);
		vdev->enabled = !ret;
	}
	mutex_unlock(&vdev->open_mutex);
	if (ret) {
		/* Its release must not close what vfg_pci_close() will. */
		file->private_data = NULL;
		fput(file);
		goto err_close;
	}
	fd_install(fd, file);
	return fd;

err_close:
	put_unused_fd(fd);
	vfg_pci_close(vdev);
	return ret;
}

static int vfg_pci_release(struct inode *inode, struct file *file)
{
	struct vfg_pci_device *vdev = file->private_data;

	if (vdev)
		vfg_pci_close(vdev);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------ */

static long vfg_pci_get_info(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (vdev->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/* Capabilities of the BAR holding the MSI-X table. */
static int vfg_pci_msix_caps(struct vfg_pci_device *vdev, struct vfg_caps *caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	u64 size = PAGE_ALIGN(vdev->bar_size[vdev->msix_bar]);
	u64 start = vdev->msix_offset & PAGE_MASK;
	u64 end = PAGE_ALIGN(vdev->msix_offset + vdev->msix_size);
	int nr = (start > 0) + (end < size), i = 0;
	void *hdr;

	if (device_iommu_capable(&vdev->pdev->dev, IOMMU_CAP_INTR_REMAP)) {
		hdr = vfg_caps_add(caps, sizeof(struct vfio_info_cap_header),
				   VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1);
		return PTR_ERR_OR_ZERO(hdr);
	}
	/* Without interrupt remapping the table's pages stay unmapped. */
	sparse = vfg_caps_add(caps, struct_size(sparse, areas, nr),
			      VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1);
	if (IS_ERR(sparse))
		return PTR_ERR(sparse);
	sparse->nr_areas = nr;
	if (start > 0) {
		sparse->areas[i].offset = 0;
		sparse->areas[i++].size = start;
	}
	if (end < size) {
		sparse->areas[i].offset = end;
		sparse->areas[i].size = size - end;
	}
	return 0;
}

static long vfg_pci_get_region_info(struct vfg_pci_device *vdev,
				    void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct pci_dev *pdev = vdev->pdev;
	struct vfio_region_info info;
	struct vfg_caps caps = { };
	long ret = 0;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	info.offset = VFG_PCI_OFFSET(info.index);
	info.flags = 0;
	info.cap_offset = 0;
	info.size = 0;

	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = vdev->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		info.size = vdev->bar_size[info.index];
		if (!info.size)
			break;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		if (pci_resource_flags(pdev, info.index) & IORESOURCE_MEM &&
		    info.size >= PAGE_SIZE) {
			info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
			if ((int)info.index == vdev->msix_bar)
				ret = vfg_pci_msix_caps(vdev, &caps);
		}
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		info.size = vdev->bar_size[PCI_ROM_RESOURCE];
		if (info.size)
			info.flags = VFIO_REGION_INFO_FLAG_READ;
		break;
	default:	/* VGA: not offered */
		break;
	}
	if (ret)
		goto out;

	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		ret = vfg_caps_place(&caps, &info.argsz, sizeof(info),
				     &info.cap_offset, arg);
		if (ret)
			goto out;
	}
	ret = copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
out:
	vfg_caps_free(&caps);
	return ret;
}

static long vfg_pci_reset(struct vfg_pci_device *vdev)
{
	int ret;

	if (!vdev->reset_works)
		return -EINVAL;
	/* open_mutex orders resets against enable, disable and revoke. */
	mutex_lock(&vdev->open_mutex);
	ret = vdev->revoked ? -ENODEV : pci_try_reset_function(vdev->pdev);
	mutex_unlock(&vdev->open_mutex);
	return ret;
}

/* The devices a bus (or slot) reset of @pdev would reset too. */
struct vfg_reset_walk {
	struct pci_slot *slot;
	struct pci_dev **devs;
	int nr;
	int max;
};

static int vfg_reset_walk_one(struct pci_dev *pdev, void *data)
{
	struct vfg_reset_walk *w = data;

	if (w->slot && pdev->slot != w->slot)
		return 0;
	if (w->devs && w->nr < w->max)
		w->devs[w->nr] = pdev;
	w->nr++;
	return 0;
}

static int vfg_reset_scope(struct pci_dev *pdev, struct vfg_reset_walk *w)
{
	memset(w, 0, sizeof(*w));
	if (pdev->slot && !pci_probe_reset_slot(pdev->slot))
		w->slot = pdev->slot;
	else if (pci_probe_reset_bus(pdev->bus))
		return -ENODEV;
	pci_walk_bus(pdev->bus, vfg_reset_walk_one, w);
	if (!w->nr)
		return -ENODEV;
	w->devs = kcalloc(w->nr, sizeof(*w->devs), GFP_KERNEL);
	if (!w->devs)
		return -ENOMEM;
	w->max = w->nr;
	w->nr = 0;
	pci_walk_bus(pdev->bus, vfg_reset_walk_one, w);
	w->nr = min(w->nr, w->max);
	return 0;
}

static long vfg_pci_hot_reset_info(struct vfg_pci_device *vdev,
				   void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_dependent_device *out;
	struct vfio_pci_hot_reset_info hdr;
	struct iommu_group *iommu_group;
	struct vfg_reset_walk w;
	long ret;
	int i;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	ret = vfg_reset_scope(vdev->pdev, &w);
	if (ret)
		return ret;
	if (hdr.argsz < minsz + w.nr * sizeof(*out)) {
		hdr.count = w.nr;
		ret = copy_to_user(arg, &hdr, minsz) ? -EFAULT : -ENOSPC;
		goto out;
	}
	out = kcalloc(w.nr, sizeof(*out), GFP_KERNEL);
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < w.nr; i++) {
		iommu_group = iommu_group_get(&w.devs[i]->dev);
		out[i].group_id = iommu_group ? iommu_group_id(iommu_group) : -1;
		iommu_group_put(iommu_group);
		out[i].segment = pci_domain_nr(w.devs[i]->bus);
		out[i].bus = w.devs[i]->bus->number;
		out[i].devfn = w.devs[i]->devfn;
	}
	hdr.count = w.nr;
	if (copy_to_user(arg, &hdr, minsz) ||
	    copy_to_user(arg + minsz, out, w.nr * sizeof(*out)))
		ret = -EFAULT;
	kfree(out);
out:
	kfree(w.devs);
	return ret;
}

#define VFG_HOT_RESET_MAX_GROUPS 64

static long vfg_pci_hot_reset(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct vfg_group *groups[VFG_HOT_RESET_MAX_GROUPS];
	struct vfio_pci_hot_reset hdr;
	struct iommu_group *iommu_group;
	struct vfg_reset_walk w;
	int i, j, nr = 0, fd;
	long ret;
	bool found;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags ||
	    hdr.count > VFG_HOT_RESET_MAX_GROUPS ||
	    hdr.argsz < minsz + hdr.count * sizeof(s32))
		return -EINVAL;
	ret = vfg_reset_scope(vdev->pdev, &w);
	if (ret)
		return ret;

	for (i = 0; i < hdr.count; i++) {
		if (get_user(fd, (s32 __user *)(arg + minsz) + i)) {
			ret = -EFAULT;
			goto out;
		}
		groups[nr] = vfg_group_get_from_fd(fd);
		if (IS_ERR(groups[nr])) {
			ret = PTR_ERR(groups[nr]);
			goto out;
		}
		nr++;
		/*
		 * Only a group in a container is the caller's: its DMA is
		 * owned, so none of its devices has a host driver that a
		 * reset would pull the rug from under.
		 */
		if (!vfg_group_in_container(groups[nr - 1])) {
			pci_info(vdev->pdev, "hot reset refused: group %d is not in a container\n",
				 groups[nr - 1]->id);
			ret = -EINVAL;
			goto out;
		}
	}
	/* The caller must own the group of every device the reset hits. */
	for (i = 0; i < w.nr; i++) {
		iommu_group = iommu_group_get(&w.devs[i]->dev);
		found = false;
		for (j = 0; j < nr && iommu_group; j++)
			found |= groups[j]->iommu_group == iommu_group;
		iommu_group_put(iommu_group);
		if (!found) {
			pci_info(vdev->pdev, "hot reset refused: the caller does not own the group of %s\n",
				 pci_name(w.devs[i]));
			ret = -EINVAL;
			goto out;
		}
	}
	mutex_lock(&vdev->open_mutex);
	ret = vdev->revoked ? -ENODEV : pci_reset_bus(vdev->pdev);
	mutex_unlock(&vdev->open_mutex);
out:
	while (nr--)
		put_device(&groups[nr]->dev);
	kfree(w.devs);
	return ret;
}

static long vfg_pci_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct vfg_pci_device *vdev = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (READ_ONCE(vdev->revoked))
		return -ENODEV;
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vfg_pci_get_info(vdev, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vfg_pci_get_region_info(vdev, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vfg_pci_get_irq_info(vdev, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return vfg_pci_set_irqs(vdev, uarg);
	case VFIO_DEVICE_RESET:
		return vfg_pci_reset(vdev);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return vfg_pci_hot_reset_info(vdev, uarg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return vfg_pci_hot_reset(vdev, uarg);
	default:
		return -ENOTTY;
	}
}

static ssize_t vfg_pci_rw(struct file *file, char __user *buf, size_t count,
			  loff_t *ppos, bool write)
{
	struct vfg_pci_device *vdev = file->private_data;
	u64 index = VFG_PCI_INDEX((u64)*ppos);
	loff_t pos = *ppos & VFG_PCI_OFFSET_MASK;
	ssize_t ret;

	if (READ_ONCE(vdev->revoked))
		return -ENODEV;
	if (*ppos < 0 || !count)
		return *ppos < 0 ? -EINVAL : 0;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = vfg_pci_config_rw(vdev, buf, count, pos, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		ret = vfg_pci_bar_rw(vdev, index, buf, count, pos, write);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		ret = write ? -EINVAL : vfg_pci_rom_read(vdev, buf, count, pos);
		break;
	default:
		ret = -EINVAL;
	}
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t vfg_pci_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	return vfg_pci_rw(file, buf, count, ppos, false);
}

static ssize_t vfg_pci_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	return vfg_pci_rw(file, (char __user *)buf, count, ppos, true);
}

static int vfg_pci_mmap_fd(struct file *file, struct vm_area_struct *vma)
{
	return vfg_pci_mmap(file->private_data, vma);
}

static const struct file_operations vfg_pci_fops = {
	.owner = THIS_MODULE,
	.release = vfg_pci_release,
	.read = vfg_pci_read,
	.write = vfg_pci_write,
	.unlocked_ioctl = vfg_pci_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vfg_pci_mmap_fd,
	.llseek = default_llseek,
};

/* ---- the driver -------------------------------------------------------- */

static int vfg_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct iommu_group *iommu_group;
	struct vfg_pci_device *vdev;

	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) {
		pci_info(pdev, "not binding: only normal (type 0) functions can be assigned, this is a bridge\n");
		return -EINVAL;
	}
	iommu_group = iommu_group_get(&pdev->dev);
	if (!iommu_group) {
		pci_warn(pdev, "not binding: no IOMMU group, so userspace DMA could not be confined\n");
		return -EINVAL;
	}
	iommu_group_put(iommu_group);

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return -ENOMEM;
	vdev->pdev = pci_dev_get(pdev);
	kref_init(&vdev->kref);
	init_waitqueue_head(&vdev->wq);
	mutex_init(&vdev->open_mutex);
	init_rwsem(&vdev->memory_lock);
	mutex_init(&vdev->lock);
	spin_lock_init(&vdev->irqlock);
	address_space_init_once(&vdev->mapping);
	vdev->irq_type = -1;
	vdev->msix_bar = -1;
	vdev->cfg_size = pdev->cfg_size;
	vdev->reset_works = pdev->reset_methods[0] != 0;
	dev_set_drvdata(&pdev->dev, vdev);

	mutex_lock(&vfg_pci_lock);
	list_add_tail(&vdev->node, &vfg_pci_devices);
	mutex_unlock(&vfg_pci_lock);
	return 0;
}

/* An event about @vdev's release; the caller holds vdev->lock. */
static void vfg_pci_release_event(struct vfg_pci_device *vdev, u32 event,
				  u32 attempt, s64 deadline_ms)
{
	struct vfg_nl_event ev = VFG_NL_EVENT(event, -1);
	struct iommu_group *iommu_group = iommu_group_get(&vdev->pdev->dev);

	lockdep_assert_held(&vdev->lock);
	if (vdev->group)
		ev.group_id = vdev->group->id;
	else if (iommu_group)
		ev.group_id = iommu_group_id(iommu_group);
	iommu_group_put(iommu_group);
	ev.device = pci_name(vdev->pdev);
	ev.holder = vdev->holder;
	ev.attempt = attempt;
	ev.deadline_ms = deadline_ms;
	vfg_nl_event(&ev);
}

/* Ask for the device back: REQ eventfd, netlink, log.  Under vdev->lock. */
static void vfg_pci_request_release(struct vfg_pci_device *vdev, u32 attempt,
				    s64 left_ms)
{
	struct task_struct *task;
	char comm[TASK_COMM_LEN] = "?";

	lockdep_assert_held(&vdev->lock);
	vfg_pci_signal_req(vdev);
	vfg_pci_release_event(vdev, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
			      attempt, left_ms);
	rcu_read_lock();
	task = pid_task(vdev->holder, PIDTYPE_PID);
	if (task)
		get_task_comm(comm, task);
	rcu_read_unlock();
	if (left_ms >= 0)
		pci_notice_ratelimited(vdev->pdev, "removal waits for %s[%d] to release the device (request %u; revoked in %lld ms)\n",
				       comm, pid_nr(vdev->holder), attempt,
				       left_ms);
	else
		pci_notice_ratelimited(vdev->pdev, "removal waits for %s[%d] to release the device (request %u)\n",
				       comm, pid_nr(vdev->holder), attempt);
}

/*
 * Take the device away from its fds, which stay open but dead: faults see
 * @revoked (under memory_lock) and get SIGBUS, every mapping is zapped, the
 * hardware is given back.  remove() holds the device lock, so no reset.
 */
static void vfg_pci_revoke(struct vfg_pci_device *vdev)
{
	mutex_lock(&vdev->open_mutex);
	mutex_lock(&vdev->lock);
	if (!vdev->open_count || vdev->revoked) {
		mutex_unlock(&vdev->lock);
		goto out;
	}
	pci_warn(vdev->pdev, "release timeout: revoking the device from pid %d\n",
		 pid_nr(vdev->holder));
	down_write(&vdev->memory_lock);
	vdev->revoked = true;
	up_write(&vdev->memory_lock);
	vfg_pci_zap_mmaps(vdev);
	vfg_pci_release_event(vdev, VFIO_GROUPS_EVENT_REVOKED, 0, -1);
	mutex_unlock(&vdev->lock);
	if (vdev->enabled) {
		vfg_pci_disable(vdev, false);
		vdev->enabled = false;
	}
out:
	mutex_unlock(&vdev->open_mutex);
}

/*
 * Wait until every device fd is closed, asking for them at intervals.
 * Return: true if they were, false if the release timeout expired first.
 */
static bool vfg_pci_wait_release(struct vfg_pci_device *vdev)
{
	unsigned long timeout_ms = READ_ONCE(release_timeout_ms);
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	bool interruptible = true;
	u32 attempt = 0;
	long wait, ret;
	s64 left_ms;

	for (;;) {
		mutex_lock(&vdev->lock);
		if (!vdev->open_count) {
			if (attempt)
				vfg_pci_release_event(vdev,
						      VFIO_GROUPS_EVENT_RELEASED,
						      0, -1);
			mutex_unlock(&vdev->lock);
			return true;
		}
		if (timeout_ms && time_after_eq(jiffies, deadline)) {
			mutex_unlock(&vdev->lock);
			return false;
		}
		left_ms = -1;
		if (timeout_ms)
			left_ms = jiffies_to_msecs(deadline - jiffies);
		vfg_pci_request_release(vdev, ++attempt, left_ms);
		mutex_unlock(&vdev->lock);

		wait = msecs_to_jiffies(max(READ_ONCE(release_retry_ms), 10U));
		if (timeout_ms)
			wait = min_t(long, wait, max_t(long, deadline - jiffies, 1));
		if (interruptible) {
			ret = wait_event_interruptible_timeout(vdev->wq,
							       !READ_ONCE(vdev->open_count),
							       wait);
			if (ret == -ERESTARTSYS) {
				/* remove() cannot be abandoned: keep waiting. */
				pci_info(vdev->pdev, "signal ignored: removal must wait for the device to be released\n");
				interruptible = false;
			}
		} else {
			wait_event_timeout(vdev->wq, !READ_ONCE(vdev->open_count),
					   wait);
		}
	}
}

static void vfg_pci_remove(struct pci_dev *pdev)
{
	struct vfg_pci_device *vdev = dev_get_drvdata(&pdev->dev);

	mutex_lock(&vfg_pci_lock);
	vdev->removing = true;
	list_del(&vdev->node);
	mutex_unlock(&vfg_pci_lock);

	if (!vfg_pci_wait_release(vdev))
		vfg_pci_revoke(vdev);
	vfg_pci_put(vdev);
}

static pci_ers_result_t vfg_pci_error_detected(struct pci_dev *pdev,
					       pci_channel_state_t state)
{
	struct vfg_pci_device *vdev = dev_get_drvdata(&pdev->dev);

	vfg_pci_signal_err(vdev);
	return PCI_ERS_RESULT_CAN_RECOVER;
}

static const struct pci_error_handlers vfg_pci_err_handlers = {
	.error_detected = vfg_pci_error_detected,
};

static struct pci_driver vfg_pci_driver = {
	.probe = vfg_pci_probe,
	.remove = vfg_pci_remove,
	.err_handler = &vfg_pci_err_handlers,
	.driver_managed_dma = true,
};

/**
 * vfg_pci_is_ours() - whether @dev is bound to our PCI driver
 * @dev: any device
 *
 * Return: true if @dev's driver is ours.
 */
bool vfg_pci_is_ours(struct device *dev)
{
	return READ_ONCE(dev->driver) == &vfg_pci_driver.driver;
}

/**
 * vfg_pci_init() - register the PCI driver
 *
 * Return: 0 or a negative errno.
 */
int vfg_pci_init(void)
{
	int ret = vfg_virqfd_init();

	if (ret)
		return ret;
	vfg_pci_driver.name = vfg.pci_driver_name;
	ret = pci_register_driver(&vfg_pci_driver);
	if (ret)
		vfg_virqfd_exit();
	return ret;
}

/**
 * vfg_pci_exit() - unregister the PCI driver (unbinding every device)
 */
void vfg_pci_exit(void)
{
	pci_unregister_driver(&vfg_pci_driver);
	vfg_virqfd_exit();
}
