// SPDX-License-Identifier: GPL-2.0-only
/*
 * Containers: /dev/vfio/vfio, one IOMMU address space shared by the groups
 * attached to it.
 *
 * Attaching a group takes DMA ownership of its IOMMU group
 * (iommu_group_claim_dma_owner()): from then on no driver that uses the
 * kernel DMA API can bind to any of its devices, and the group's devices are
 * kept out of the kernel's default domain (in the blocking domain until the
 * container has an IOMMU backend).  Detaching gives it back.
 *
 * VFIO_SET_IOMMU, once at least one group is attached, creates the type1
 * backend (type1.c): the groups share one IOMMU domain where the IOMMU
 * driver lets them, and a group that cannot join it (nor any other of the
 * container's) gets a domain of its own, into which every mapping is
 * replayed, as upstream VFIO does.  When the last group leaves, the backend
 * and all its mappings go, and the container must be set up again.
 *
 * No-IOMMU groups (group.c) have no IOMMU to own or program: their DMA
 * ownership is not claimed, and a container holds either no-IOMMU groups
 * only or IOMMU groups only (-EPERM for the other kind, as upstream).  Its
 * "backend" is then VFIO_NOIOMMU_IOMMU, which has no ioctls (-ENOTTY for
 * the DMA mapping ones) and only lets device fds be got.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <uapi/linux/vfio.h>

#include "vfio.h"

/**
 * enum vfg_container_kind - which groups a container holds
 * @VFG_CONTAINER_EMPTY: none
 * @VFG_CONTAINER_IOMMU: IOMMU groups only
 * @VFG_CONTAINER_NOIOMMU: no-IOMMU groups only
 */
enum vfg_container_kind {
	VFG_CONTAINER_EMPTY,
	VFG_CONTAINER_IOMMU,
	VFG_CONTAINER_NOIOMMU,
};

/**
 * struct vfg_container - an address space shared by groups
 * @kref: one reference for the fd, one for each attached group
 * @lock: protects @groups and @iommu, and all of the backend's state
 * @groups: attached groups, through vfg_group.container_node
 * @iommu: the type1 backend, once VFIO_SET_IOMMU has succeeded
 * @kind: enum vfg_container_kind of @groups; written under @lock with
 *        WRITE_ONCE(), read without it by VFIO_CHECK_EXTENSION, which must
 *        not wait behind a MAP_DMA that faults in user memory
 * @noiommu_set: VFIO_SET_IOMMU chose VFIO_NOIOMMU_IOMMU (then @iommu is
 *               NULL)
 * @coherent: every IOMMU domain of @iommu enforces cache coherency; written
 *            under @lock whenever a group joins or leaves, read without it
 *            (KVM asks while it holds its own locks)
 */
struct vfg_container {
	struct kref kref;
	struct mutex lock;		/* protects groups to noiommu_set */
	struct list_head groups;
	struct vfg_iommu *iommu;
	enum vfg_container_kind kind;
	bool noiommu_set;
	bool coherent;
};

static const struct file_operations vfg_container_fops;

static void vfg_container_free(struct kref *kref)
{
	struct vfg_container *c = container_of(kref, struct vfg_container,
					       kref);

	WARN_ON(!list_empty(&c->groups) || c->iommu);
	mutex_destroy(&c->lock);
	kfree(c);
}

/**
 * vfg_container_attach() - attach a viable group to the container behind @fd
 * @group: the group, not attached anywhere, with its attach_lock held (not
 *         its lock: this waits for the container's lock, which may be held
 *         across a fault of user memory)
 * @fd: userspace file descriptor that should be a container
 *
 * The caller publishes the result in group->container.
 *
 * Return: the container, with the reference the group holds on it;
 * ERR_PTR(-EBADF) if @fd is not open; ERR_PTR(-EINVAL) if it is not a
 * container or the backend refuses the group (vfg_type1_attach_group());
 * ERR_PTR(-EPERM) or ERR_PTR(-EBUSY) if the IOMMU core refuses us DMA
 * ownership of the group; ERR_PTR(-EPERM) for a no-IOMMU group without
 * CAP_SYS_RAWIO, and when the container holds groups of the other kind.
 */
struct vfg_container *vfg_container_attach(struct vfg_group *group, int fd)
{
	enum vfg_container_kind kind;
	struct vfg_container *c;
	struct fd f;
	int ret;

	lockdep_assert_held(&group->attach_lock);
	f = fdget(fd);
	if (!f.file)
		return ERR_PTR(-EBADF);
	if (f.file->f_op != &vfg_container_fops) {
		ret = -EINVAL;
		goto out;
	}
	c = f.file->private_data;
	if (group->noiommu && !capable(CAP_SYS_RAWIO)) {
		ret = -EPERM;
		goto out;
	}

	mutex_lock(&c->lock);
	down_read(&vfg.domain_rwsem);
	kind = group->noiommu ? VFG_CONTAINER_NOIOMMU : VFG_CONTAINER_IOMMU;
	if (c->kind != VFG_CONTAINER_EMPTY && c->kind != kind) {
		ret = -EPERM;
		goto out_unlock;
	}
	if (group->noiommu)
		goto out_add;
	ret = iommu_group_claim_dma_owner(group->iommu_group, c);
	if (ret) {
		pr_warn_ratelimited("group %d: DMA ownership refused (%d): a device of the group is in use by the kernel\n",
				    group->id, ret);
		goto out_unlock;
	}
	if (c->iommu) {
		ret = vfg_type1_attach_group(c->iommu, group);
		if (ret) {
			iommu_group_release_dma_owner(group->iommu_group);
			goto out_unlock;
		}
		WRITE_ONCE(c->coherent, vfg_type1_coherent(c->iommu));
	}
out_add:
	kref_get(&c->kref);
	WRITE_ONCE(c->kind, kind);
	list_add_tail(&group->container_node, &c->groups);
out_unlock:
	up_read(&vfg.domain_rwsem);
	mutex_unlock(&c->lock);
out:
	fdput(f);
	return ret ? ERR_PTR(ret) : c;
}

/**
 * vfg_container_detach() - detach a group from its container
 * @group: the group, attached to a container, with its attach_lock held (not
 *         its lock, see vfg_container_attach())
 *
 * The caller clears group->container afterwards.
 */
void vfg_container_detach(struct vfg_group *group)
{
	struct vfg_container *c = group->container;

	lockdep_assert_held(&group->attach_lock);
	mutex_lock(&c->lock);
	down_read(&vfg.domain_rwsem);
	list_del_init(&group->container_node);
	if (c->iommu) {
		vfg_type1_detach_group(c->iommu, group);
		if (list_empty(&c->groups)) {
			vfg_type1_destroy(c->iommu);
			WRITE_ONCE(c->iommu, NULL);
			WRITE_ONCE(c->coherent, false);
		} else {
			WRITE_ONCE(c->coherent, vfg_type1_coherent(c->iommu));
		}
	}
	if (list_empty(&c->groups)) {
		WRITE_ONCE(c->kind, VFG_CONTAINER_EMPTY);
		c->noiommu_set = false;
	}
	if (!group->noiommu)
		iommu_group_release_dma_owner(group->iommu_group);
	up_read(&vfg.domain_rwsem);
	mutex_unlock(&c->lock);
	kref_put(&c->kref, vfg_container_free);
}

/**
 * vfg_container_has_iommu() - whether VFIO_SET_IOMMU has been done
 * @c: the container
 *
 * Return: true once the container has an IOMMU backend (type1 or
 * VFIO_NOIOMMU_IOMMU).
 */
bool vfg_container_has_iommu(struct vfg_container *c)
{
	bool ret;

	mutex_lock(&c->lock);
	ret = c->iommu || c->noiommu_set;
	mutex_unlock(&c->lock);
	return ret;
}

static int vfg_container_open(struct inode *inode, struct file *file)
{
	struct vfg_container *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	kref_init(&c->kref);
	mutex_init(&c->lock);
	INIT_LIST_HEAD(&c->groups);
	file->private_data = c;
	return 0;
}

static int vfg_container_release(struct inode *inode, struct file *file)
{
	struct vfg_container *c = file->private_data;

	kref_put(&c->kref, vfg_container_free);
	return 0;
}

/**
 * vfg_container_coherent() - whether the container's DMA is cache coherent
 * @c: the container
 *
 * Return: true once its IOMMU backend enforces cache coherency for every
 * group in it (VFIO_DMA_CC_IOMMU); false before VFIO_SET_IOMMU.
 */
bool vfg_container_coherent(struct vfg_container *c)
{
	return READ_ONCE(c->coherent);
}

/*
 * As upstream: a container of no-IOMMU groups knows only
 * VFIO_NOIOMMU_IOMMU, one of IOMMU groups only the type1 extensions, an
 * empty one both; VFIO_NOIOMMU_IOMMU only while enable_unsafe_noiommu_mode
 * is set.
 */
static long vfg_container_check_extension(struct vfg_container *c,
					  unsigned long ext)
{
	enum vfg_container_kind kind = READ_ONCE(c->kind);

	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return kind != VFG_CONTAINER_NOIOMMU;
	case VFIO_DMA_CC_IOMMU:
		return kind != VFG_CONTAINER_NOIOMMU &&
		       vfg_container_coherent(c);
	case VFIO_NOIOMMU_IOMMU:
		return kind != VFG_CONTAINER_IOMMU && READ_ONCE(vfg_noiommu);
	default:
		return 0;
	}
}

/* VFIO_SET_IOMMU to VFIO_NOIOMMU_IOMMU; errnos as upstream's. */
static long vfg_container_set_noiommu(struct vfg_container *c)
{
	lockdep_assert_held(&c->lock);
	if (c->kind != VFG_CONTAINER_NOIOMMU || !READ_ONCE(vfg_noiommu))
		return -ENODEV;
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	c->noiommu_set = true;
	return 0;
}

static long vfg_container_set_iommu(struct vfg_container *c,
				    unsigned long type)
{
	struct vfg_iommu *iommu;

	lockdep_assert_held(&c->lock);
	if (list_empty(&c->groups) || c->iommu || c->noiommu_set)
		return -EINVAL;
	if (type == VFIO_NOIOMMU_IOMMU)
		return vfg_container_set_noiommu(c);
	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	/* No type1 for no-IOMMU groups: no driver would take it upstream. */
	if (c->kind == VFG_CONTAINER_NOIOMMU)
		return -ENODEV;
	down_read(&vfg.domain_rwsem);
	iommu = vfg_type1_create(&c->groups, type == VFIO_TYPE1v2_IOMMU);
	up_read(&vfg.domain_rwsem);
	if (IS_ERR(iommu))
		return PTR_ERR(iommu);
	WRITE_ONCE(c->iommu, iommu);
	WRITE_ONCE(c->coherent, vfg_type1_coherent(iommu));
	return 0;
}

static long vfg_container_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct vfg_container *c = file->private_data;
	long ret;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfg_container_check_extension(c, arg);
	}

	if (cmd != VFIO_SET_IOMMU)	/* takes c->lock itself */
		return vfg_type1_ioctl(&c->lock, &c->iommu, cmd, arg);
	mutex_lock(&c->lock);
	ret = vfg_container_set_iommu(c, arg);
	mutex_unlock(&c->lock);
	return ret;
}

static const struct file_operations vfg_container_fops = {
	.owner = THIS_MODULE,
	.open = vfg_container_open,
	.release = vfg_container_release,
	.unlocked_ioctl = vfg_container_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vfg_container_misc = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.nodename = "vfio/vfio",
	.mode = 0666,
	.fops = &vfg_container_fops,
};

/**
 * vfg_container_init() - register /dev/vfio/vfio
 *
 * Return: 0, or -EBUSY when its minor is taken (the kernel's VFIO).
 */
int vfg_container_init(void)
{
	int ret = misc_register(&vfg_container_misc);

	if (ret)
		pr_err("cannot register /dev/vfio/vfio (minor %d): %d; is the kernel's own VFIO built in?\n",
		       VFIO_MINOR, ret);
	return ret;
}

/**
 * vfg_container_exit() - unregister /dev/vfio/vfio
 */
void vfg_container_exit(void)
{
	misc_deregister(&vfg_container_misc);
}
