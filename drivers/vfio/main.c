// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-groups: the IOMMU group as the unit of userspace device ownership.
 *
 * main.c holds module load and unload, the group device class and what we
 * need to know of the buses we serve (their notifiers, which drivers do no
 * DMA of their own); each object lives in its own file: group.c, device.c,
 * container.c, type1.c, netlink.c, and pci/ for the PCI bus driver.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vfio.h"

struct vfg_state vfg = {
	.lock = __MUTEX_INITIALIZER(vfg.lock),
	.groups = LIST_HEAD_INIT(vfg.groups),
	.minors = IDA_INIT(vfg.minors),
	.domain_rwsem = __RWSEM_INITIALIZER(vfg.domain_rwsem),
};

/*
 * Upstream's name and meaning (group.c, "No-IOMMU groups"); it may be
 * changed at any time and applies to devices registered from then on.
 */
bool vfg_noiommu;
module_param_named(enable_unsafe_noiommu_mode, vfg_noiommu, bool, 0644);
MODULE_PARM_DESC(enable_unsafe_noiommu_mode,
		 "Give devices without an IOMMU group to userspace anyway (UNSAFE: no isolation, no DMA translation, no protection of the host; not for VMs; needs CAP_SYS_RAWIO; taints the kernel) (default: false)");

static char *vfg_devnode(struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/%s", dev_name(dev));
}

/**
 * vfg_bus_driver_managed_dma() - whether @dev's driver does no kernel DMA
 * @dev: a bound device
 *
 * Return: true if the driver bound to @dev said it manages DMA itself
 * (driver_managed_dma: pci-stub, pcieport, our own), so that binding it does
 * not put the device in the kernel's DMA domain.
 */
bool vfg_bus_driver_managed_dma(struct device *dev)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	if (drv && dev_is_pci(dev))
		return to_pci_driver(drv)->driver_managed_dma;
	return false;
}

/*
 * The IOMMU core releases a device from its BUS_NOTIFY_REMOVED_DEVICE
 * notifier, of priority 0, in a way that must not overlap a change of its
 * group's domain (see vfg.domain_rwsem in vfio.h).  Our first notifier runs
 * before it and takes the rwsem for writing; our main notifier runs after it
 * and gives it back, then forgets the device.  @vfg_domain_dev says which
 * removal holds it, so that a chain call that saw only one of the two (they
 * are registered one after the other) does nothing wrong.
 */
static struct device *vfg_domain_dev;

static int vfg_bus_notify_first(struct notifier_block *nb,
				unsigned long action, void *data)
{
	if (action == BUS_NOTIFY_REMOVED_DEVICE) {
		down_write(&vfg.domain_rwsem);
		WRITE_ONCE(vfg_domain_dev, data);
	}
	return NOTIFY_DONE;
}

static int vfg_bus_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct device *dev = data;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		if (vfg_group_add_device(dev))
			dev_warn(dev, "cannot track in its IOMMU group\n");
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		if (READ_ONCE(vfg_domain_dev) == dev) {
			WRITE_ONCE(vfg_domain_dev, NULL);
			up_write(&vfg.domain_rwsem);
		}
		vfg_group_del_device(dev);
		break;
	case BUS_NOTIFY_BOUND_DRIVER:
		vfg_group_driver_changed(dev, true);
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		vfg_group_driver_changed(dev, false);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block vfg_bus_nb_first = {
	.notifier_call = vfg_bus_notify_first,
	.priority = INT_MAX,
};

static struct notifier_block vfg_bus_nb = {
	.notifier_call = vfg_bus_notify,
	.priority = INT_MIN,
};

static int vfg_scan_one(struct device *dev, void *data)
{
	if (vfg_group_add_device(dev))
		dev_warn(dev, "cannot track in its IOMMU group\n");
	return 0;
}

static int __init vfg_init(void)
{
	int ret;

	vfg.class = class_create(THIS_MODULE, "vfio");
	if (IS_ERR(vfg.class))
		return PTR_ERR(vfg.class);
	vfg.class->devnode = vfg_devnode;

	ret = alloc_chrdev_region(&vfg.devt, 0, MINORMASK + 1, "vfio");
	if (ret)
		goto err_class;
	ret = vfg_nl_init();
	if (ret)
		goto err_chrdev;
	ret = vfg_container_init();
	if (ret)
		goto err_nl;
	/* The main notifier first: see vfg_domain_dev. */
	ret = bus_register_notifier(&pci_bus_type, &vfg_bus_nb);
	if (ret)
		goto err_container;
	ret = bus_register_notifier(&pci_bus_type, &vfg_bus_nb_first);
	if (ret)
		goto err_notifier;
	/* Devices added between these two lines are seen twice: harmless. */
	bus_for_each_dev(&pci_bus_type, NULL, NULL, vfg_scan_one);

	pr_info("vfio-groups " VFG_VERSION "\n");
	return 0;

err_notifier:
	bus_unregister_notifier(&pci_bus_type, &vfg_bus_nb);
	vfg_group_remove_all();
err_container:
	vfg_container_exit();
err_nl:
	vfg_nl_exit();
err_chrdev:
	unregister_chrdev_region(vfg.devt, MINORMASK + 1);
err_class:
	class_destroy(vfg.class);
	return ret;
}

static void __exit vfg_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &vfg_bus_nb_first);
	bus_unregister_notifier(&pci_bus_type, &vfg_bus_nb);
	vfg_group_remove_all();
	vfg_container_exit();
	vfg_nl_exit();
	unregister_chrdev_region(vfg.devt, MINORMASK + 1);
	class_destroy(vfg.class);
	ida_destroy(&vfg.minors);
	pr_info("vfio-groups unloaded\n");
}

module_init(vfg_init);
module_exit(vfg_exit);

MODULE_VERSION(VFG_VERSION);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO with the IOMMU group as the unit of ownership");
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
/* modprobe vfio brings the type1 backend's parameters, as upstream's does. */
MODULE_SOFTDEP("post: vfio_iommu_type1");
