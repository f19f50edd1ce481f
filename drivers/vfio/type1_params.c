// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_iommu_type1: the type1 backend's parameters under the module name
 * admins configure.
 *
 * The backend itself is built into vfio.ko (type1.c).  This module only
 * carries its settings, so that "options vfio_iommu_type1 ..." in
 * modprobe.d, "vfio_iommu_type1.allow_unsafe_interrupts=1" on the kernel
 * command line, modprobe with arguments and
 * /sys/module/vfio_iommu_type1/parameters/ all work as they do with the
 * kernel's VFIO.  vfio.ko loads it after itself (a soft dependency); while
 * it is not loaded the defaults apply, and a value set stays set in vfio.ko
 * until it is changed again.
 */
#include <linux/module.h>

#include "vfio.h"

module_param_named(allow_unsafe_interrupts,
		   vfg_type1_params.allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Let groups without interrupt remapping into a container (unsafe: their devices can raise arbitrary MSIs)");

module_param_named(dma_entry_limit, vfg_type1_params.dma_entry_limit, uint,
		   0644);
MODULE_PARM_DESC(dma_entry_limit,
		 "Maximum number of DMA mappings per container (default 65535)");

module_param_named(disable_hugepages, vfg_type1_params.disable_hugepages,
		   bool, 0644);
MODULE_PARM_DESC(disable_hugepages,
		 "Map every page on its own, never physically contiguous runs as larger IOMMU pages");

module_param_named(separate_domains, vfg_type1_params.separate_domains, bool,
		   0644);
MODULE_PARM_DESC(separate_domains,
		 "Give each group its own IOMMU domain, as if none could share one (debugging and testing aid; default 0)");

MODULE_VERSION(VFG_VERSION);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Parameters of the vfio-groups type1 IOMMU backend, under the upstream module name");
