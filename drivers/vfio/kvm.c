// SPDX-License-Identifier: GPL-2.0-only
/*
 * What KVM needs: the vfio_file_* functions of <linux/vfio.h>.
 *
 * KVM's VFIO pseudo-device (virt/kvm/vfio.c) is given group fds by the VMM
 * (KVM_DEV_VFIO_GROUP_ADD) and finds these functions by name with
 * symbol_get(), which holds our module while it calls them.  The group
 * file KVM keeps a reference to holds our module too, as its fops' owner.
 * They take the file of a group fd and answer as the kernel's own VFIO of
 * 6.1 does: whether it is one of our group files, whether DMA through it is
 * always cache coherent (if not, KVM lets the guest flush caches with
 * WBINVD and honours its memory types), and they link the group to the VM
 * for the devices opened from then on.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio.h"

/**
 * vfio_file_is_group() - whether a file is a group fd of ours
 * @file: any file
 *
 * Return: true for a group file.
 */
bool vfio_file_is_group(struct file *file)
{
	return vfg_group_from_file(file);
}
EXPORT_SYMBOL_GPL(vfio_file_is_group);

/**
 * vfio_file_iommu_group() - the IOMMU group behind a group file
 * @file: a file
 *
 * Only the SPAPR TCE IOMMU (POWER) needs this from KVM, as upstream says.
 *
 * Return: NULL on every other platform, as upstream answers; else the IOMMU
 * group with a reference held, or NULL for a file that is not ours.
 */
struct iommu_group *vfio_file_iommu_group(struct file *file)
{
	struct vfg_group *group = vfg_group_from_file(file);

	if (!IS_ENABLED(CONFIG_SPAPR_TCE_IOMMU) || !group)
		return NULL;
	iommu_group_ref_get(group->iommu_group);
	return group->iommu_group;
}
EXPORT_SYMBOL_GPL(vfio_file_iommu_group);

/**
 * vfio_file_enforced_coherent() - whether DMA through a group is coherent
 * @file: a file
 *
 * Return: false only for a group in a container of which some IOMMU domain
 * does not enforce cache coherency (a device in it could then do non-coherent
 * DMA to memory of the VM, which may need to flush caches itself); true
 * otherwise, as upstream answers.  A group that later gets a domain of its
 * own in the container can change the answer; KVM asks again when a group
 * is added to or removed from its VFIO device, as with upstream.
 */
bool vfio_file_enforced_coherent(struct file *file)
{
	struct vfg_group *group = vfg_group_from_file(file);

	return group ? vfg_group_coherent(group) : true;
}
EXPORT_SYMBOL_GPL(vfio_file_enforced_coherent);

/**
 * vfio_file_set_kvm() - link a group to a VM, or unlink it
 * @file: a file; nothing happens unless it is a group file
 * @kvm: the VM, or NULL
 *
 * Devices of the group first opened while it is linked see the VM.
 */
void vfio_file_set_kvm(struct file *file, struct kvm *kvm)
{
	struct vfg_group *group = vfg_group_from_file(file);

	if (group)
		vfg_group_set_kvm(group, kvm);
}
EXPORT_SYMBOL_GPL(vfio_file_set_kvm);
