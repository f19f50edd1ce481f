// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-groups: the IOMMU group as the unit of userspace device ownership.
 *
 * main.c holds module load and unload only; each object lives in its own
 * file (group.c, container.c, ...).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#define VFG_VERSION "0.1"

static int __init vfg_init(void)
{
	pr_info("vfio-groups " VFG_VERSION " loaded\n");
	return 0;
}

static void __exit vfg_exit(void)
{
	pr_info("vfio-groups unloaded\n");
}

module_init(vfg_init);
module_exit(vfg_exit);

MODULE_VERSION(VFG_VERSION);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO with the IOMMU group as the unit of ownership");
