/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfg_kvm_test: the ioctls of /dev/vfg_kvm_test, shared by the module and
 * the guest selftests (kvm_test.c).
 */
#ifndef VFG_KVM_TEST_H
#define VFG_KVM_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct vfg_kvm_test_probe - what KVM's VFIO device asks of a file
 * @fd: in: the file
 * @is_group: out: vfio_file_is_group()
 * @coherent: out: vfio_file_enforced_coherent()
 * @has_iommu_group: out: vfio_file_iommu_group() returned a group
 * @found: out: bit 0 is_group, 1 enforced_coherent, 2 set_kvm, 3
 *         iommu_group: which of the functions symbol_get() found
 */
struct vfg_kvm_test_probe {
	__s32 fd;
	__u32 is_group;
	__u32 coherent;
	__u32 has_iommu_group;
	__u32 found;
};

#define VFG_KVM_TEST_TYPE	0xf6
/* Ask as KVM_DEV_VFIO_GROUP_ADD does, keep nothing. */
#define VFG_KVM_TEST_PROBE	_IOWR(VFG_KVM_TEST_TYPE, 0, struct vfg_kvm_test_probe)
/* KVM_DEV_VFIO_GROUP_ADD: keep the file, link it to this fd's VM. */
#define VFG_KVM_TEST_ADD	_IOW(VFG_KVM_TEST_TYPE, 1, __s32)
/* KVM_DEV_VFIO_GROUP_DEL: unlink it and drop it. */
#define VFG_KVM_TEST_DEL	_IOW(VFG_KVM_TEST_TYPE, 2, __s32)

#endif /* VFG_KVM_TEST_H */
