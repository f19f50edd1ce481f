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
 * Device fds (VFIO_GROUP_GET_DEVICE_FD) come from here, through the device
 * core (device.c), which decides when a device is opened, closed, removed
 * or revoked; this file does the PCI work in its callbacks.  The first open
 * enables the device with bus mastering off, resets it where a reset method
 * exists and builds its virtual config space; the last close disables its
 * interrupts, resets it and restores the config state it was bound with.
 * remove() unregisters the device from the core, which waits for its fds to
 * be closed (asking for them back) or revokes them: a revoke zaps every
 * userspace mapping of the BARs (later accesses get SIGBUS) and turns
 * interrupts and bus mastering off, without a reset, since remove() holds
 * the device lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/aperture.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio_groups.h>

#include "vfio_pci_priv.h"

static struct pci_driver vfg_pci_driver;

/*
 * Module parameters, with the kernel's vfio-pci's names and meanings (see
 * Documentation/driver-api/vfio-groups.rst, "Modules").
 */
bool vfg_pci_nointxmask;
module_param_named(nointxmask, vfg_pci_nointxmask, bool, 0644);
MODULE_PARM_DESC(nointxmask,
		 "Disable support for PCI 2.3 style INTx masking.  If this resolves problems for specific devices, report lspci -vvvxxx to linux-pci@vger.kernel.org so the device can be fixed automatically via the broken_intx_masking flag.");

bool vfg_pci_disable_vga;
module_param_named(disable_vga, vfg_pci_disable_vga, bool, 0444);
MODULE_PARM_DESC(disable_vga,
		 "Disable VGA resource access through vfio-pci");

static bool disable_idle_d3;
module_param(disable_idle_d3, bool, 0644);
MODULE_PARM_DESC(disable_idle_d3,
		 "Disable using the PCI D3 low power state for idle, unused devices");

static bool disable_denylist;
module_param(disable_denylist, bool, 0444);
MODULE_PARM_DESC(disable_denylist,
		 "Disable use of device denylist. Disabling the denylist allows binding to devices with known errata that may lead to exploitable stability or security issues when accessed by untrusted users.");

static char *driver_name = "vfio-pci";
module_param(driver_name, charp, 0444);
MODULE_PARM_DESC(driver_name,
		 "Name of the PCI driver userspace binds devices to (default vfio-pci)");

/**
 * vfg_pci_driver_name() - the name of our PCI driver
 *
 * Return: the driver_name parameter, "vfio-pci" by default.
 */
const char *vfg_pci_driver_name(void)
{
	return driver_name;
}

static void vfg_pci_release(struct vfg_device *core)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);

	pci_dev_put(vdev->pdev);
	mutex_destroy(&vdev->lock);
	mutex_destroy(&vdev->claim_lock);
	kfree(vdev);
}

/* ---- open and close ---------------------------------------------------- */

/*
 * Make the device ready for userspace: the first open, under the core's
 * open_lock.  vdev->lock is held only for the state it protects, not across
 * the reset.
 */
static int vfg_pci_open_device(struct vfg_device *core)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);
	struct pci_dev *pdev = vdev->pdev;
	u32 table;
	u16 flags;
	int ret, i;

	lockdep_assert_held(&core->open_lock);
	/* Out of idle D3 (state restored) for as long as it is open. */
	ret = pm_runtime_resume_and_get(&pdev->dev);
	if (ret)
		return ret;
	ret = pci_enable_device(pdev);
	if (ret)
		goto err_pm;
	/* Userspace turns bus mastering on when it is ready for DMA. */
	pci_clear_master(pdev);
	if (vdev->reset_works && pci_try_reset_function(pdev))
		pci_info(pdev, "reset on open failed; continuing\n");
	pci_save_state(pdev);
	vdev->saved_state = pci_store_saved_state(pdev);

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
	vfg_pci_mmap_setup(vdev);
	ret = vfg_pci_config_init(vdev);
	if (ret)
		vfg_pci_mmap_release(vdev);
	mutex_unlock(&vdev->lock);
	/* What the device decodes now, for the first accesses (rdwr.c). */
	down_write(&vdev->memory_lock);
	vfg_pci_memory_write_unlock(vdev);
	if (ret)
		goto err_disable;
	vfg_pci_sriov_open(vdev);
	return 0;

err_disable:
	pci_load_and_free_saved_state(pdev, &vdev->saved_state);
	pci_disable_device(pdev);
err_pm:
	pm_runtime_put(&pdev->dev);
	return ret;
}

/*
 * Give the device back as it was bound: the last close, or a revoke.  Under
 * the core's open_lock; @reset is false when remove() holds the device lock.
 */
static void vfg_pci_disable(struct vfg_pci_device *vdev, bool reset)
{
	struct pci_dev *pdev = vdev->pdev;

	lockdep_assert_held(&vdev->core.open_lock);
	vfg_pci_pm_close(vdev);
	vfg_pci_sriov_close(vdev);
	mutex_lock(&vdev->lock);
	vfg_pci_irq_disable_all(vdev);
	/* Before the BAR mappings they write through go. */
	vfg_pci_ioeventfd_release_all(vdev);
	pci_clear_master(pdev);
	vfg_pci_unmap_bars(vdev);
	vfg_pci_mmap_release(vdev);
	vfg_pci_release_bars(vdev);
	vfg_pci_config_free(vdev);
	mutex_unlock(&vdev->lock);

	/* Back to D0 (config state restored) from what userspace left. */
	down_write(&vdev->memory_lock);
	vfg_pci_set_power_state(vdev, PCI_D0);
	kfree(vdev->pm_save);
	vdev->pm_save = NULL;
	vfg_pci_memory_write_unlock(vdev);

	if (reset && vdev->reset_works && pci_try_reset_function(pdev))
		pci_dbg(pdev, "reset on last close skipped\n");
	if (pci_load_and_free_saved_state(pdev, &vdev->saved_state))
		pci_warn(pdev, "no saved config state to restore\n");
	else
		pci_restore_state(pdev);
	pci_disable_device(pdev);
	pm_runtime_put(&pdev->dev);
}

static void vfg_pci_close_device(struct vfg_device *core)
{
	vfg_pci_disable(to_vfg_pci(core), true);
}

/*
 * Take the device away from its fds, which stay open but dead: faults see
 * @revoked (under memory_lock) and get SIGBUS, every mapping is zapped, the
 * hardware is given back.  remove() holds the device lock, so no reset.
 */
static void vfg_pci_revoke(struct vfg_device *core)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);

	mutex_lock(&vdev->lock);
	down_write(&vdev->memory_lock);
	vdev->revoked = true;
	vfg_pci_memory_write_unlock(vdev);
	mutex_unlock(&vdev->lock);
	vfg_device_zap_mappings(core);
	vfg_pci_disable(vdev, false);
}

static void vfg_pci_request(struct vfg_device *core, unsigned int count)
{
	vfg_pci_signal_req(to_vfg_pci(core));
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
	u64 end = PAGE_ALIGN(vfg_pci_msix_end(vdev));
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
		if (vfg_pci_bar_mmappable(vdev, info.index)) {
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
	case VFIO_PCI_VGA_REGION_INDEX:
		ret = vfg_pci_vga_region_info(vdev, &info.size, &info.flags);
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

/*
 * Close the BARs for a reset: every user mapping goes, and memory_lock held
 * for writing keeps pread/pwrite and faults out (-EIO, SIGBUS) until
 * vfg_pci_reset_end().  The caller holds the core's open_lock, so the
 * reset is also ordered against enable, disable and revoke.
 */
static void vfg_pci_reset_begin(struct vfg_pci_device *vdev)
{
	lockdep_assert_held(&vdev->core.open_lock);
	down_write(&vdev->memory_lock);
	vfg_device_zap_mappings(&vdev->core);
}

static void vfg_pci_reset_end(struct vfg_pci_device *vdev)
{
	vfg_pci_memory_write_unlock(vdev);
}

/**
 * vfg_pci_function_reset() - reset the function, as VFIO_DEVICE_RESET does
 * @vdev: the device, open
 *
 * The ioctl and an FLR written to config space (config.c) both come here.
 * Locks: the core's open_lock, then memory_lock for writing with every
 * mapping zapped; the caller holds neither, nor vdev->lock.  The device is
 * brought to D0 first (restoring what its D3hot lost): the PCI core would
 * otherwise do it behind our back.  The PCI core saves and restores the
 * config state around the reset; whatever it did not put back (a BAR, the
 * command register) is put back by vfg_pci_config_restore().
 *
 * Return: 0, -EINVAL without a reset method, -ENODEV once revoked, or the
 * error of pci_try_reset_function() (-EAGAIN when the device lock is busy).
 */
int vfg_pci_function_reset(struct vfg_pci_device *vdev)
{
	int ret;

	if (!vdev->reset_works)
		return -EINVAL;
	if (!vfg_device_lock_live(&vdev->core))
		return -ENODEV;
	vfg_pci_reset_begin(vdev);
	vfg_pci_set_power_state(vdev, PCI_D0);
	ret = pci_try_reset_function(vdev->pdev);
	vfg_pci_config_restore(vdev);
	vfg_pci_reset_end(vdev);
	vfg_device_unlock(&vdev->core);
	return ret;
}

static long vfg_pci_reset(struct vfg_pci_device *vdev)
{
	return vfg_pci_function_reset(vdev);
}

/*
 * The devices a bus (or slot) reset of @pdev would reset too, each with a
 * reference: pci_walk_bus() holds the bus lock only while it walks, and a
 * device may be hot-unplugged as soon as it returns.
 */
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
		w->devs[w->nr] = pci_dev_get(pdev);
	w->nr++;
	return 0;
}

static void vfg_reset_walk_free(struct vfg_reset_walk *w)
{
	int i;

	for (i = 0; i < w->nr; i++)
		pci_dev_put(w->devs[i]);
	kfree(w->devs);
	w->devs = NULL;
	w->nr = 0;
}

/* Fill @w; on success, vfg_reset_walk_free() gives it back. */
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
	/* Room for devices added between the two walks. */
	w->max = w->nr + 8;
	w->devs = kcalloc(w->max, sizeof(*w->devs), GFP_KERNEL);
	if (!w->devs)
		return -ENOMEM;
	w->nr = 0;
	pci_walk_bus(pdev->bus, vfg_reset_walk_one, w);
	if (w->nr > w->max) {
		w->nr = w->max;
		vfg_reset_walk_free(w);
		return -EAGAIN;
	}
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
	vfg_reset_walk_free(&w);
	return ret;
}

#define VFG_HOT_RESET_MAX_GROUPS 64

/*
 * What a hot reset holds while it runs: each device it resets, kept bound
 * to us (vfg_device_hold()), and each group those are in, kept owned by the
 * caller (vfg_group_hold_owned()).
 */
struct vfg_hot_reset {
	struct vfg_group *groups[VFG_HOT_RESET_MAX_GROUPS];
	bool held[VFG_HOT_RESET_MAX_GROUPS];
	int nr_groups;
	struct vfg_device **vdevs;
	int nr_vdevs;
};

/*
 * Serialises the hot resets that quiesce several devices at once, so that
 * two of them never take the same memory_locks in different orders; the
 * lockdep nesting annotation of those memory_locks names it.
 */
static DEFINE_MUTEX(vfg_hot_reset_lock);

/*
 * Close the BARs of every device the reset hits, the caller's and its
 * siblings' alike, as vfg_pci_reset_begin() does for one: their mappings
 * are zapped and their accesses wait until vfg_hot_reset_resume(), so no
 * access reaches a device while the reset has its decoding off.  Each
 * device in @hr is bound to vfio-pci (vfg_hot_reset_hold_device()).
 */
static void vfg_hot_reset_quiesce(struct vfg_hot_reset *hr)
{
	struct vfg_pci_device *sib;
	int i;

	mutex_lock(&vfg_hot_reset_lock);
	for (i = 0; i < hr->nr_vdevs; i++) {
		sib = to_vfg_pci(hr->vdevs[i]);
		down_write_nest_lock(&sib->memory_lock, &vfg_hot_reset_lock);
		vfg_device_zap_mappings(&sib->core);
	}
}

static void vfg_hot_reset_resume(struct vfg_hot_reset *hr)
{
	int i;

	for (i = 0; i < hr->nr_vdevs; i++)
		vfg_pci_memory_write_unlock(to_vfg_pci(hr->vdevs[i]));
	mutex_unlock(&vfg_hot_reset_lock);
}

static void vfg_hot_reset_release_devices(struct vfg_hot_reset *hr)
{
	int i;

	for (i = 0; i < hr->nr_vdevs; i++) {
		pm_runtime_put(hr->vdevs[i]->dev);
		vfg_device_unhold(hr->vdevs[i]);
		vfg_device_put(hr->vdevs[i]);
	}
	kfree(hr->vdevs);
	hr->vdevs = NULL;
	hr->nr_vdevs = 0;
}

static void vfg_hot_reset_release_groups(struct vfg_hot_reset *hr)
{
	int i;

	for (i = 0; i < hr->nr_groups; i++) {
		if (hr->held[i])
			vfg_group_unhold(hr->groups[i]);
		vfg_group_put(hr->groups[i]);
	}
}

/* The index in @hr of the passed group of @pdev, or -1. */
static int vfg_hot_reset_group_of(struct vfg_hot_reset *hr,
				  struct pci_dev *pdev)
{
	struct iommu_group *iommu_group = iommu_group_get(&pdev->dev);
	int i;

	for (i = 0; i < hr->nr_groups; i++)
		if (vfg_group_is(hr->groups[i], iommu_group))
			break;
	iommu_group_put(iommu_group);
	return i < hr->nr_groups ? i : -1;
}

/*
 * Hold the group of @pdev, which the reset would hit, or say why not: it
 * must be one the caller passed, attached to a container (upstream's rule;
 * anything else is -EINVAL).  May wait for the group's container, so never
 * under a global lock.
 */
static int vfg_hot_reset_hold_group(struct vfg_pci_device *vdev,
				    struct vfg_hot_reset *hr,
				    struct pci_dev *pdev)
{
	int i = vfg_hot_reset_group_of(hr, pdev);

	if (i < 0) {
		pci_info(vdev->pdev, "hot reset refused: the group of %s was not passed\n",
			 pci_name(pdev));
		return -EINVAL;
	}
	if (hr->held[i])
		return 0;
	if (!vfg_group_hold_owned(hr->groups[i])) {
		pci_info(vdev->pdev, "hot reset refused: the group of %s is not in a container\n",
			 pci_name(pdev));
		return -EINVAL;
	}
	hr->held[i] = true;
	return 0;
}

/*
 * Hold @pdev, whose group must be held already: it must be bound to us and
 * live.
 */
static int vfg_hot_reset_hold_device(struct vfg_pci_device *vdev,
				     struct vfg_hot_reset *hr,
				     struct pci_dev *pdev)
{
	int i = vfg_hot_reset_group_of(hr, pdev);
	struct vfg_device *found = NULL;

	if (i >= 0 && hr->held[i])
		found = vfg_group_get_device(hr->groups[i], &pdev->dev);
	if (found && !vfg_device_hold(found)) {
		vfg_device_put(found);
		found = NULL;
	}
	/* Awake for the reset, which would put it in D0 behind PM's back. */
	if (found && pm_runtime_resume_and_get(found->dev)) {
		vfg_device_unhold(found);
		vfg_device_put(found);
		return -EIO;
	}
	if (!found) {
		pci_info(vdev->pdev, "hot reset refused: %s is not bound to %s in an owned group\n",
			 pci_name(pdev), driver_name);
		return -EINVAL;
	}
	hr->vdevs[hr->nr_vdevs++] = found;
	return 0;
}

/*
 * VFIO_DEVICE_PCI_HOT_RESET.  Every device the reset hits must be bound to
 * us and in a group the caller passed and owns, and that must stay true
 * until the reset is over:
 *
 * - each group is held first (it stays in its container; this may wait for
 *   the container, so it is done before any global lock is taken);
 * - for a bus reset, the PCI rescan/remove lock is taken, so that no device
 *   is added to or removed from the bus meanwhile (pci_reset_bus() walks
 *   the bus's device list without a lock of its own), and the devices the
 *   reset hits are found again under it; a slot reset is serialised against
 *   its hotplug driver by the driver's own reset lock instead, which is
 *   taken inside its removal path and so cannot nest in the rescan lock;
 * - each device is held (its removal, and so any rebinding, waits);
 *   pci_reset_bus() takes the device locks with trylocks, so a removal
 *   already waiting for a hold makes it fail with -EAGAIN, not deadlock.
 */
static long vfg_pci_hot_reset(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct vfio_pci_hot_reset hdr;
	struct vfg_hot_reset hr = { };
	struct vfg_reset_walk w;
	struct vfg_group *group;
	bool rescan_locked = false;
	int i, fd;
	long ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags ||
	    hdr.count > VFG_HOT_RESET_MAX_GROUPS ||
	    hdr.argsz < minsz + hdr.count * sizeof(s32))
		return -EINVAL;
	for (i = 0; i < hdr.count; i++) {
		if (get_user(fd, (s32 __user *)(arg + minsz) + i)) {
			ret = -EFAULT;
			goto out_groups;
		}
		group = vfg_group_get_from_fd(fd);
		if (IS_ERR(group)) {
			ret = PTR_ERR(group);
			goto out_groups;
		}
		hr.groups[hr.nr_groups++] = group;
	}

	ret = vfg_reset_scope(vdev->pdev, &w);
	if (ret)
		goto out_groups;
	for (i = 0; i < w.nr && !ret; i++)
		ret = vfg_hot_reset_hold_group(vdev, &hr, w.devs[i]);
	if (ret)
		goto out_walk;
	/*
	 * Our open lock orders the reset against our own open, close and
	 * revoke, and comes before the rescan lock: pciehp takes that one
	 * under its reset_lock, which a reset under our open lock may take.
	 */
	if (!vfg_device_lock_live(&vdev->core)) {
		ret = -ENODEV;
		goto out_walk;
	}
	if (!w.slot) {
		vfg_reset_walk_free(&w);
		pci_lock_rescan_remove();
		rescan_locked = true;
		ret = vfg_reset_scope(vdev->pdev, &w);
		if (ret)
			goto out_unlock;
	}
	hr.vdevs = kcalloc(w.nr, sizeof(*hr.vdevs), GFP_KERNEL);
	if (!hr.vdevs) {
		ret = -ENOMEM;
		goto out_walk_unlock;
	}
	for (i = 0; i < w.nr && !ret; i++)
		ret = vfg_hot_reset_hold_device(vdev, &hr, w.devs[i]);
	if (!ret) {
		/* The caller is among the devices: its memory_lock is held. */
		vfg_hot_reset_quiesce(&hr);
		vfg_pci_set_power_state(vdev, PCI_D0);
		ret = pci_reset_bus(vdev->pdev);
		vfg_pci_config_restore(vdev);
		vfg_hot_reset_resume(&hr);
	}
	vfg_hot_reset_release_devices(&hr);
out_walk_unlock:
	vfg_reset_walk_free(&w);
out_unlock:
	if (rescan_locked)
		pci_unlock_rescan_remove();
	vfg_device_unlock(&vdev->core);
	goto out_groups;
out_walk:
	vfg_reset_walk_free(&w);
out_groups:
	vfg_hot_reset_release_groups(&hr);
	return ret;
}

static long vfg_pci_ioctl(struct vfg_device *core, unsigned int cmd,
			  unsigned long arg)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);
	void __user *uarg = (void __user *)arg;

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
	case VFIO_DEVICE_IOEVENTFD:
		return vfg_pci_ioeventfd(vdev, uarg);
	default:
		return -ENOTTY;
	}
}

static int vfg_pci_device_feature(struct vfg_device *core, u32 flags,
				  void __user *arg, size_t argsz)
{
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:
		return vfg_pci_feature_vf_token(to_vfg_pci(core), flags, arg,
						argsz);
	default:
		return vfg_pci_feature_low_power(to_vfg_pci(core), flags, arg,
						 argsz);
	}
}

/*
 * Every ioctl and access through the fd finds the device awake, as
 * upstream's: in low power it is woken for the call (power.c).
 */
static long vfg_pci_ioctl_awake(struct vfg_device *core, unsigned int cmd,
				unsigned long arg)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);
	long ret = vfg_pci_pm_get(vdev);

	if (ret)
		return ret;
	ret = vfg_pci_ioctl(core, cmd, arg);
	vfg_pci_pm_put(vdev);
	return ret;
}

static int vfg_pci_device_feature_awake(struct vfg_device *core, u32 flags,
					void __user *arg, size_t argsz)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);
	int ret = vfg_pci_pm_get(vdev);

	if (ret)
		return ret;
	ret = vfg_pci_device_feature(core, flags, arg, argsz);
	vfg_pci_pm_put(vdev);
	return ret;
}

/*
 * A config or BAR access while the device is open and not in low power is
 * the fast path: the open's runtime PM usage count keeps it in D0, and the
 * access tests @pm_engaged under the lock a low power entry takes
 * (power.c), so it takes no count of its own; in low power it is told
 * VFG_PCI_ASLEEP and goes again with one, which wakes the device.  The ROM
 * and the VGA windows always take one.
 */
static ssize_t vfg_pci_rw(struct vfg_pci_device *vdev, char __user *buf,
			  size_t count, loff_t *ppos, bool write)
{
	u64 index = VFG_PCI_INDEX((u64)*ppos);
	loff_t pos = *ppos & VFG_PCI_OFFSET_MASK;
	bool awake = index > VFIO_PCI_BAR5_REGION_INDEX &&
		     index != VFIO_PCI_CONFIG_REGION_INDEX;
	ssize_t ret;

	if (*ppos < 0 || !count)
		return *ppos < 0 ? -EINVAL : 0;
again:
	if (awake) {
		ret = vfg_pci_pm_get(vdev);
		if (ret)
			return ret;
	}
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = vfg_pci_config_rw(vdev, buf, count, pos, write, awake);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		ret = vfg_pci_bar_rw(vdev, index, buf, count, pos, write,
				     awake);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		ret = write ? -EINVAL : vfg_pci_rom_read(vdev, buf, count, pos);
		break;
	case VFIO_PCI_VGA_REGION_INDEX:
		ret = vfg_pci_vga_rw(vdev, buf, count, pos, write);
		break;
	default:
		ret = -EINVAL;
	}
	if (awake) {
		vfg_pci_pm_put(vdev);
	} else if (ret == VFG_PCI_ASLEEP) {
		awake = true;
		goto again;
	}
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t vfg_pci_read(struct vfg_device *core, char __user *buf,
			    size_t count, loff_t *ppos)
{
	return vfg_pci_rw(to_vfg_pci(core), buf, count, ppos, false);
}

static ssize_t vfg_pci_write(struct vfg_device *core, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	return vfg_pci_rw(to_vfg_pci(core), (char __user *)buf, count, ppos,
			  true);
}

static int vfg_pci_mmap_dev(struct vfg_device *core, struct vm_area_struct *vma)
{
	return vfg_pci_mmap(to_vfg_pci(core), vma);
}

static const struct vfg_device_ops vfg_pci_ops = {
	.owner = THIS_MODULE,
	.open_device = vfg_pci_open_device,
	.close_device = vfg_pci_close_device,
	.revoke = vfg_pci_revoke,
	.request = vfg_pci_request,
	.ioctl = vfg_pci_ioctl_awake,
	.read = vfg_pci_read,
	.write = vfg_pci_write,
	.mmap = vfg_pci_mmap_dev,
	.match = vfg_pci_match,
	.device_feature = vfg_pci_device_feature_awake,
	.release = vfg_pci_release,
};

/* ---- the driver -------------------------------------------------------- */

/*
 * Devices whose errata make them unsafe in untrusted hands: the kernel's
 * vfio-pci refuses the same ones unless disable_denylist is set.
 */
static bool vfg_pci_denylisted(struct pci_dev *pdev)
{
	static const struct pci_device_id denylist[] = {
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX_VF) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X_VF) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC_VF) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_DSA_SPR0) },
		{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_IAX_SPR0) },
		{ }
	};

	if (!pci_match_id(denylist, pdev))
		return false;
	if (disable_denylist) {
		pci_warn(pdev, "%04x:%04x is on the vfio-pci denylist; allowed by disable_denylist\n",
			 pdev->vendor, pdev->device);
		return false;
	}
	pci_warn(pdev, "not binding: %04x:%04x is on the vfio-pci denylist (known errata; disable_denylist allows it)\n",
		 pdev->vendor, pdev->device);
	return true;
}

static int vfg_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vfg_pci_device *vdev;
	int ret;

	if (vfg_pci_denylisted(pdev))
		return -EBUSY;
	/*
	 * A boot GPU: firmware framebuffers (efifb, simplefb...) and the
	 * console on them would keep its memory; they go, as for any driver
	 * that takes over a display device.
	 */
	if ((pdev->class >> 8) == PCI_CLASS_DISPLAY_VGA) {
		ret = aperture_remove_conflicting_pci_devices(pdev,
							      driver_name);
		if (ret)
			return ret;
	}
	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) {
		pci_info(pdev, "not binding: only normal (type 0) functions can be assigned, this is a bridge\n");
		return -EINVAL;
	}
	/*
	 * Without an IOMMU group, the core refuses the device or, in no-IOMMU
	 * mode, makes a group for it (vfg_device_register()).
	 */
	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return -ENOMEM;
	vdev->pdev = pci_dev_get(pdev);
	init_rwsem(&vdev->memory_lock);
	mutex_init(&vdev->lock);
	mutex_init(&vdev->claim_lock);
	spin_lock_init(&vdev->irqlock);
	INIT_LIST_HEAD(&vdev->ioeventfds);
	vfg_pci_intx_init(vdev);
	vdev->irq_type = -1;
	vdev->msix_bar = -1;
	vdev->cfg_size = pdev->cfg_size;
	vdev->reset_works = pdev->reset_methods[0] != 0;
	vfg_device_init(&vdev->core, &pdev->dev, &vfg_pci_ops);
	vdev->idle_d3 = !disable_idle_d3;
	ret = vfg_pci_sriov_probe(vdev);
	if (ret)
		goto err_put;
	ret = vfg_pci_vga_probe(vdev);
	if (ret)
		goto err_put;
	dev_set_drvdata(&pdev->dev, vdev);
	vfg_pci_pm_init(vdev);
	ret = vfg_device_register(&vdev->core);
	if (ret)
		goto err_pm;
	return 0;

err_pm:
	vfg_pci_pm_exit(vdev);
	vfg_pci_vga_remove(vdev);
err_put:
	vfg_device_put(&vdev->core);
	return ret;
}

/*
 * The VFs we created go first: their removal waits for their fds, and
 * while they exist they rely on this PF (sriov.c).
 */
static void vfg_pci_remove(struct pci_dev *pdev)
{
	struct vfg_pci_device *vdev = dev_get_drvdata(&pdev->dev);

	vfg_pci_sriov_disable(vdev);
	vfg_device_unregister(&vdev->core);
	vfg_pci_vga_remove(vdev);
	vfg_pci_pm_exit(vdev);
	vfg_device_put(&vdev->core);
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
	.driver.pm = &vfg_pci_pm_ops,
	.probe = vfg_pci_probe,
	.remove = vfg_pci_remove,
	.err_handler = &vfg_pci_err_handlers,
	.sriov_configure = vfg_pci_sriov_configure,
	.driver_managed_dma = true,
};

/* ---- the module -------------------------------------------------------- */

static char ids[1024] __initdata;
module_param_string(ids, ids, sizeof(ids), 0);
MODULE_PARM_DESC(ids,
		 "Initial PCI IDs to add to the driver, format is \"vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]\" and multiple comma separated entries can be specified");

static int __init vfg_pci_check_name(void)
{
	if (!driver_name || !*driver_name || strlen(driver_name) > 64 ||
	    strchr(driver_name, '/')) {
		pr_err("driver_name must be 1 to 64 characters, without '/'\n");
		return -EINVAL;
	}
	if (driver_find(driver_name, &pci_bus_type)) {
		pr_err("a PCI driver named %s is already registered; unload it (for vfio-pci: the kernel's own VFIO modules) or load with another driver_name\n",
		       driver_name);
		return -EEXIST;
	}
	return 0;
}

/*
 * ids=: dynamic IDs, as "new_id" would add them: devices that match and
 * have no driver are bound now, and devices that appear later when they are
 * added.  A malformed entry is skipped with a message, as upstream does.
 */
static void __init vfg_pci_add_ids(void)
{
	unsigned int vendor, device, subvendor = PCI_ANY_ID,
		     subdevice = PCI_ANY_ID, class = 0, class_mask = 0;
	char *p = ids, *id;
	int n, ret;

	while ((id = strsep(&p, ","))) {
		if (!*id)
			continue;
		subvendor = PCI_ANY_ID;
		subdevice = PCI_ANY_ID;
		class = 0;
		class_mask = 0;
		n = sscanf(id, "%x:%x:%x:%x:%x:%x", &vendor, &device,
			   &subvendor, &subdevice, &class, &class_mask);
		if (n < 2) {
			pr_warn("ids: cannot parse \"%s\"\n", id);
			continue;
		}
		ret = pci_add_dynid(&vfg_pci_driver, vendor, device, subvendor,
				    subdevice, class, class_mask, 0);
		if (ret)
			pr_warn("ids: cannot add %04x:%04x: %d\n", vendor,
				device, ret);
		else
			pr_info("ids: binds %04x:%04x[%04x:%04x] class %#08x/%08x\n",
				vendor, device, subvendor, subdevice, class,
				class_mask);
	}
}

static int __init vfg_pci_init(void)
{
	int ret = vfg_pci_check_name();

	if (ret)
		return ret;
	ret = vfg_virqfd_init();
	if (ret)
		return ret;
	ret = vfg_pci_sriov_init();
	if (ret)
		goto err_virqfd;
	vfg_pci_driver.name = driver_name;
	ret = pci_register_driver(&vfg_pci_driver);
	if (ret)
		goto err_sriov;
	vfg_pci_add_ids();
	return 0;

err_sriov:
	vfg_pci_sriov_exit();
err_virqfd:
	vfg_virqfd_exit();
	return ret;
}

static void __exit vfg_pci_exit(void)
{
	pci_unregister_driver(&vfg_pci_driver);
	vfg_pci_sriov_exit();
	vfg_virqfd_exit();
}

module_init(vfg_pci_init);
module_exit(vfg_pci_exit);

MODULE_VERSION(VFG_VERSION);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-groups PCI driver: PCI devices for userspace, by IOMMU group");
