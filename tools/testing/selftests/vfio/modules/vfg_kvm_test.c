// SPDX-License-Identifier: GPL-2.0
/*
 * vfg_kvm_test: plays KVM's VFIO pseudo-device for the guest selftests.
 *
 * KVM cannot run in the test guest (no VMX under TCG), so this module calls
 * the VFIO module the way 6.1's virt/kvm/vfio.c does: it finds the
 * vfio_file_* functions by name with symbol_get() (holding the module that
 * exports them only while it calls them), keeps a reference to each group
 * file it is given, and links it to a "VM" with vfio_file_set_kvm().  Each
 * open of /dev/vfg_kvm_test is one VM; its struct kvm is a token that
 * nothing may dereference, which is all the VFIO side may assume of it
 * before a device opens.  Closing the fd unlinks and drops its files, as
 * destroying KVM's device does.  See vfg_kvm_test.h for the ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfg_kvm_test.h"

/**
 * struct vfg_kvm_test_vm - one open of the device: one "VM"
 * @lock: protects @files
 * @files: the group files added, through vfg_kvm_test_file.node
 * @token: what is passed as the struct kvm pointer (never dereferenced)
 */
struct vfg_kvm_test_vm {
	struct mutex lock;		/* protects files */
	struct list_head files;
	char token;
};

struct vfg_kvm_test_file {
	struct list_head node;
	struct file *file;
};

static bool vfg_kvm_is_group(struct file *file, u32 *found)
{
	bool (*fn)(struct file *file);
	bool ret = false;

	fn = symbol_get(vfio_file_is_group);
	if (fn) {
		*found |= 1;
		ret = fn(file);
		symbol_put(vfio_file_is_group);
	}
	return ret;
}

static bool vfg_kvm_coherent(struct file *file, u32 *found)
{
	bool (*fn)(struct file *file);
	bool ret = false;

	fn = symbol_get(vfio_file_enforced_coherent);
	if (fn) {
		*found |= 2;
		ret = fn(file);
		symbol_put(vfio_file_enforced_coherent);
	}
	return ret;
}

static void vfg_kvm_set_kvm(struct file *file, struct kvm *kvm, u32 *found)
{
	void (*fn)(struct file *file, struct kvm *kvm);

	fn = symbol_get(vfio_file_set_kvm);
	if (fn) {
		*found |= 4;
		fn(file, kvm);
		symbol_put(vfio_file_set_kvm);
	}
}

static bool vfg_kvm_has_iommu_group(struct file *file, u32 *found)
{
	struct iommu_group *(*fn)(struct file *file);
	struct iommu_group *grp = NULL;

	fn = symbol_get(vfio_file_iommu_group);
	if (fn) {
		*found |= 8;
		grp = fn(file);
		symbol_put(vfio_file_iommu_group);
	}
	if (grp)
		iommu_group_put(grp);
	return grp;
}

static long vfg_kvm_probe(void __user *arg)
{
	struct vfg_kvm_test_probe p;
	struct file *file;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	file = fget(p.fd);
	if (!file)
		return -EBADF;
	p.found = 0;
	p.is_group = vfg_kvm_is_group(file, &p.found);
	p.coherent = vfg_kvm_coherent(file, &p.found);
	p.has_iommu_group = vfg_kvm_has_iommu_group(file, &p.found);
	/* Only whether it is there: setting a VM is VFG_KVM_TEST_ADD's. */
	if (symbol_get(vfio_file_set_kvm)) {
		p.found |= 4;
		symbol_put(vfio_file_set_kvm);
	}
	fput(file);
	return copy_to_user(arg, &p, sizeof(p)) ? -EFAULT : 0;
}

/* KVM_DEV_VFIO_GROUP_ADD: -EINVAL for a file that is not a group. */
static long vfg_kvm_add(struct vfg_kvm_test_vm *vm, int fd)
{
	struct vfg_kvm_test_file *f;
	struct file *file;
	u32 found = 0;
	long ret;

	file = fget(fd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (!vfg_kvm_is_group(file, &found))
		goto err_fput;
	mutex_lock(&vm->lock);
	ret = -EEXIST;
	list_for_each_entry(f, &vm->files, node)
		if (f->file == file)
			goto err_unlock;
	ret = -ENOMEM;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		goto err_unlock;
	f->file = file;
	list_add_tail(&f->node, &vm->files);
	vfg_kvm_set_kvm(file, (struct kvm *)&vm->token, &found);
	mutex_unlock(&vm->lock);
	return 0;

err_unlock:
	mutex_unlock(&vm->lock);
err_fput:
	fput(file);
	return ret;
}

static void vfg_kvm_drop(struct vfg_kvm_test_file *f)
{
	u32 found = 0;

	list_del(&f->node);
	vfg_kvm_set_kvm(f->file, NULL, &found);
	fput(f->file);
	kfree(f);
}

/* KVM_DEV_VFIO_GROUP_DEL: -ENOENT for a file never added. */
static long vfg_kvm_del(struct vfg_kvm_test_vm *vm, int fd)
{
	struct vfg_kvm_test_file *f;
	struct file *file;
	long ret = -ENOENT;

	file = fget(fd);
	if (!file)
		return -EBADF;
	mutex_lock(&vm->lock);
	list_for_each_entry(f, &vm->files, node) {
		if (f->file == file) {
			vfg_kvm_drop(f);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&vm->lock);
	fput(file);
	return ret;
}

static long vfg_kvm_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct vfg_kvm_test_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;
	int fd;

	switch (cmd) {
	case VFG_KVM_TEST_PROBE:
		return vfg_kvm_probe(uarg);
	case VFG_KVM_TEST_ADD:
	case VFG_KVM_TEST_DEL:
		if (get_user(fd, (int __user *)uarg))
			return -EFAULT;
		return cmd == VFG_KVM_TEST_ADD ? vfg_kvm_add(vm, fd) :
						 vfg_kvm_del(vm, fd);
	default:
		return -ENOTTY;
	}
}

static int vfg_kvm_open(struct inode *inode, struct file *file)
{
	struct vfg_kvm_test_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);

	if (!vm)
		return -ENOMEM;
	mutex_init(&vm->lock);
	INIT_LIST_HEAD(&vm->files);
	file->private_data = vm;
	return 0;
}

static int vfg_kvm_release(struct inode *inode, struct file *file)
{
	struct vfg_kvm_test_vm *vm = file->private_data;
	struct vfg_kvm_test_file *f, *tmp;

	list_for_each_entry_safe(f, tmp, &vm->files, node)
		vfg_kvm_drop(f);
	mutex_destroy(&vm->lock);
	kfree(vm);
	return 0;
}

static const struct file_operations vfg_kvm_fops = {
	.owner = THIS_MODULE,
	.open = vfg_kvm_open,
	.release = vfg_kvm_release,
	.unlocked_ioctl = vfg_kvm_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vfg_kvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vfg_kvm_test",
	.fops = &vfg_kvm_fops,
};

module_misc_device(vfg_kvm_misc);
MODULE_DESCRIPTION("Calls the VFIO module as KVM's VFIO device does, for the vfio-groups selftests");
MODULE_LICENSE("GPL");
