// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI bus driver: userspace gets a PCI device by binding it here.
 *
 * It matches nothing by itself; an administrator binds a device with
 * driver_override and "bind" or "drivers_probe", as libvirt, driverctl and
 * dpdk-devbind do.  It declares driver_managed_dma: binding a device here
 * does not put it in the kernel's DMA domain, so a group whose members are
 * all bound here can be handed to userspace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>

#include "../vfio.h"

static int vfg_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct iommu_group *iommu_group;

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
	return 0;
}

static void vfg_pci_remove(struct pci_dev *pdev)
{
}

static struct pci_driver vfg_pci_driver = {
	.probe = vfg_pci_probe,
	.remove = vfg_pci_remove,
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

int vfg_pci_init(void)
{
	vfg_pci_driver.name = vfg.pci_driver_name;
	return pci_register_driver(&vfg_pci_driver);
}

void vfg_pci_exit(void)
{
	pci_unregister_driver(&vfg_pci_driver);
}
