// SPDX-License-Identifier: GPL-2.0
/*
 * vfg_test: kernel-side helpers for the vfio-groups guest selftests.
 *
 * The selftests need a few things userspace cannot do by itself: take a
 * resource away from the driver under test, later play the part of an
 * in-kernel user such as KVM.  Each helper is a module parameter, set when
 * the module is loaded and undone when it is unloaded, so a test sets up a
 * condition with finit_module() and takes it down with delete_module().
 * The module is loaded only in the test guest
 * (/opt/vfg/test-modules/vfg_test.ko); it never binds to a device.
 *
 * Helpers:
 *
 * hold_bar=DDDD:BB:DD.F, hold_bar_index=N (default 0)
 *   Claim BAR N of that PCI device, as a driver would with
 *   pci_request_region(), so that the next pci_request_regions() of the
 *   BAR (by vfio-pci when it first opens the device) fails with -EBUSY.
 *   The BAR is released on unload.  Loading fails with -ENODEV if there is
 *   no such device or BAR, -EBUSY if the BAR is claimed already.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/pci.h>

static char *hold_bar;
module_param(hold_bar, charp, 0444);
MODULE_PARM_DESC(hold_bar,
		 "PCI device (DDDD:BB:DD.F) one of whose BARs to claim while loaded");

static unsigned int hold_bar_index;
module_param(hold_bar_index, uint, 0444);
MODULE_PARM_DESC(hold_bar_index, "The BAR hold_bar claims (default 0)");

/* The BAR held for hold_bar: its device (a reference) and its range. */
static struct pci_dev *held_pdev;
static resource_size_t held_start, held_len;
static bool held_io;

static int vfg_test_hold_bar(const char *name, unsigned int bar)
{
	unsigned int domain, bus, slot, fn;
	struct pci_dev *pdev;
	resource_size_t start, len;
	unsigned long flags;
	struct resource *res;
	char c;

	if (sscanf(name, "%x:%x:%x.%x%c", &domain, &bus, &slot, &fn, &c) != 4 ||
	    slot > 0x1f || fn > 7) {
		pr_err("hold_bar: '%s' is not a PCI address DDDD:BB:DD.F\n",
		       name);
		return -EINVAL;
	}
	if (bar > PCI_STD_RESOURCE_END)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, fn));
	if (!pdev) {
		pr_err("hold_bar: no PCI device %s\n", name);
		return -ENODEV;
	}
	start = pci_resource_start(pdev, bar);
	len = pci_resource_len(pdev, bar);
	flags = pci_resource_flags(pdev, bar);
	if (!len || !(flags & (IORESOURCE_MEM | IORESOURCE_IO))) {
		pci_err(pdev, "hold_bar: no BAR %u\n", bar);
		pci_dev_put(pdev);
		return -ENODEV;
	}
	if (flags & IORESOURCE_MEM)
		res = request_mem_region(start, len, KBUILD_MODNAME);
	else
		res = request_region(start, len, KBUILD_MODNAME);
	if (!res) {
		pci_err(pdev, "hold_bar: BAR %u is claimed already\n", bar);
		pci_dev_put(pdev);
		return -EBUSY;
	}
	held_pdev = pdev;
	held_start = start;
	held_len = len;
	held_io = !(flags & IORESOURCE_MEM);
	pci_info(pdev, "hold_bar: holding BAR %u %pR\n", bar,
		 &pdev->resource[bar]);
	return 0;
}

static void vfg_test_release_bar(void)
{
	if (!held_pdev)
		return;
	if (held_io)
		release_region(held_start, held_len);
	else
		release_mem_region(held_start, held_len);
	pci_info(held_pdev, "hold_bar: released BAR %u\n", hold_bar_index);
	pci_dev_put(held_pdev);
	held_pdev = NULL;
}

static int __init vfg_test_init(void)
{
	int ret;

	if (hold_bar && *hold_bar) {
		ret = vfg_test_hold_bar(hold_bar, hold_bar_index);
		if (ret)
			return ret;
	}
	return 0;
}

static void __exit vfg_test_exit(void)
{
	vfg_test_release_bar();
}

module_init(vfg_test_init);
module_exit(vfg_test_exit);
MODULE_DESCRIPTION("Kernel-side helpers for the vfio-groups selftests");
MODULE_LICENSE("GPL");
