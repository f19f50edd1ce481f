// SPDX-License-Identifier: GPL-2.0-only
/*
 * Groups: /dev/vfio/$GROUP for every IOMMU group that has a device on a bus
 * we serve (main.c).
 *
 * A group exists from the moment its first PCI device appears (module load or
 * hotplug) until its last one leaves.  It can be opened in any state, by one
 * opener at a time, but grants nothing (container attach, device fds) until it
 * is viable: every member unbound, registered by one of our bus drivers as a
 * struct vfg_device (device.c), or bound to a driver that does no DMA through
 * the kernel DMA API (driver_managed_dma, as pci-stub and pcieport are).
 * Non-viability is explained: the kernel log and the group's "blockers"
 * attribute name each device in the way and its driver.
 *
 * Viability is computed from the IOMMU core's own list of the group's
 * devices, so a device that we have not seen yet still counts.  Our member
 * list serves only the group's lifetime and the "members" attribute; the
 * device list (group->devices) holds the devices userspace can open.
 *
 * The group fd cannot be opened again while device fds of the group are
 * open, even with the first group fd closed: those fds live in the first
 * holder's address space (upstream VFIO refuses it the same way).
 *
 * No-IOMMU groups
 * ---------------
 * With the vfio module's enable_unsafe_noiommu_mode set, a device that a bus
 * driver of ours registers without being in an IOMMU group gets a group of
 * its own all the same, as upstream's: the core makes an IOMMU group named
 * "vfio-noiommu" for it alone, and the group's node is
 * /dev/vfio/noiommu-$N.  It lives from the registration of its device to the
 * end of the device's unregistration (vfg_group_unregister_noiommu()), not
 * from bus notifiers: no bus knows of it.  Such a group protects nothing, so
 * it taints the kernel when it is made, needs CAP_SYS_RAWIO to be opened, to
 * join a container and to give device fds, and never shares a container with
 * IOMMU groups (container.c).  Clearing the parameter keeps existing
 * no-IOMMU groups; it only stops new ones.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/genetlink.h>
#include <uapi/linux/vfio.h>
#include <uapi/linux/vfio_groups.h>

#include "vfio.h"

static const struct file_operations vfg_group_fops;

/* Is @dev registered as a struct vfg_device of @group? */
static bool vfg_group_has_device_locked(struct vfg_group *group,
					struct device *dev)
{
	struct vfg_device *vdev;

	lockdep_assert_held(&group->lock);
	list_for_each_entry(vdev, &group->devices, group_node)
		if (vdev->dev == dev)
			return true;
	return false;
}

/*
 * Why @dev keeps @group from being viable, or NULL if it does not.  Under
 * group->lock.
 */
static const char *vfg_dev_blocks(struct vfg_group *group, struct device *dev,
				  const char **drv_name)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	*drv_name = drv ? drv->name : "-";
	if (!drv)
		return NULL;
	if (vfg_group_has_device_locked(group, dev))
		return NULL;
	if (vfg_bus_driver_managed_dma(dev))
		return NULL;
	return "bound to a driver that does DMA through the kernel DMA API";
}

struct vfg_viability {
	struct vfg_group *group;
	bool explain;
	int blockers;
	char *buf;		/* sysfs page for the "blockers" attribute */
	int len;
};

static int vfg_viability_one(struct device *dev, void *data)
{
	struct vfg_viability *v = data;
	const char *why, *drv;

	why = vfg_dev_blocks(v->group, dev, &drv);
	if (!why)
		return 0;
	v->blockers++;
	if (v->explain)
		pr_warn_ratelimited("group %d is not viable: %s is %s (%s); unbind it or bind it to a VFIO driver (vfio-pci)\n",
				    v->group->id, dev_name(dev), why, drv);
	if (v->buf)
		v->len += sysfs_emit_at(v->buf, v->len, "%s %s: %s\n",
					dev_name(dev), drv, why);
	return 0;
}

/**
 * vfg_group_viable_locked() - whether a group may be used by userspace
 * @group: the group, with its lock held
 * @explain: log each device that prevents it
 *
 * Return: true if every device of the group is unbound, ours, or bound to a
 * driver that does not use the kernel DMA API.
 */
bool vfg_group_viable_locked(struct vfg_group *group, bool explain)
{
	struct vfg_viability v = { .group = group, .explain = explain };

	lockdep_assert_held(&group->lock);
	iommu_group_for_each_dev(group->iommu_group, &v, vfg_viability_one);
	return !v.blockers;
}

/* Recompute viability; tell sysfs pollers when it changed. */
static void vfg_group_update_locked(struct vfg_group *group)
{
	bool viable = vfg_group_viable_locked(group, false);

	struct vfg_nl_event ev = VFG_NL_EVENT(VFIO_GROUPS_EVENT_VIABILITY_CHANGED,
					      group->id);

	if (viable == group->viable)
		return;
	group->viable = viable;
	if (!group->registered)
		return;
	sysfs_notify(&group->dev.kobj, NULL, "viable");
	ev.viable = viable;
	vfg_nl_event(&ev);
}

/* Under vfg.lock: the group holding @dev, and its member entry. */
static struct vfg_group *vfg_group_find_member(struct device *dev,
					       struct vfg_member **out)
{
	struct vfg_group *group;
	struct vfg_member *m;

	lockdep_assert_held(&vfg.lock);
	list_for_each_entry(group, &vfg.groups, node) {
		list_for_each_entry(m, &group->members, node) {
			if (m->dev == dev) {
				if (out)
					*out = m;
				return group;
			}
		}
	}
	return NULL;
}

static struct vfg_group *vfg_group_find(struct iommu_group *iommu_group)
{
	struct vfg_group *group;

	lockdep_assert_held(&vfg.lock);
	list_for_each_entry(group, &vfg.groups, node)
		if (group->iommu_group == iommu_group)
			return group;
	return NULL;
}

static void vfg_group_release(struct device *dev)
{
	struct vfg_group *group = container_of(dev, struct vfg_group, dev);

	WARN_ON(!list_empty(&group->members) || !list_empty(&group->devices));
	iommu_group_put(group->iommu_group);
	ida_free(&vfg.minors, MINOR(dev->devt));
	mutex_destroy(&group->lock);
	mutex_destroy(&group->attach_lock);
	kfree(group);
}

/*
 * Create and publish a group whose first member is @m, a no-IOMMU group
 * (see "No-IOMMU groups" above) if @noiommu.  Consumes the reference on
 * @iommu_group in every case.
 */
static int vfg_group_create(struct iommu_group *iommu_group,
			    struct vfg_member *m, bool noiommu)
{
	struct vfg_group *group;
	int minor, ret;

	lockdep_assert_held(&vfg.lock);
	group = kzalloc(sizeof(*group), GFP_KERNEL);
	if (!group) {
		iommu_group_put(iommu_group);
		return -ENOMEM;
	}
	minor = ida_alloc_max(&vfg.minors, MINORMASK, GFP_KERNEL);
	if (minor < 0) {
		iommu_group_put(iommu_group);
		kfree(group);
		return minor;
	}
	/* From here on, the release callback undoes everything. */
	group->iommu_group = iommu_group;
	group->id = iommu_group_id(iommu_group);
	group->noiommu = noiommu;
	mutex_init(&group->attach_lock);
	mutex_init(&group->lock);
	INIT_LIST_HEAD(&group->members);
	INIT_LIST_HEAD(&group->devices);
	INIT_LIST_HEAD(&group->container_node);
	device_initialize(&group->dev);
	group->dev.class = vfg.class;
	group->dev.devt = MKDEV(MAJOR(vfg.devt), minor);
	group->dev.groups = vfg_group_attr_groups;
	group->dev.release = vfg_group_release;
	ret = dev_set_name(&group->dev, "%s%d", noiommu ? "noiommu-" : "",
			   group->id);
	if (ret)
		goto err_put;
	cdev_init(&group->cdev, &vfg_group_fops);
	group->cdev.owner = THIS_MODULE;

	mutex_lock(&group->lock);
	list_add(&m->node, &group->members);
	group->viable = vfg_group_viable_locked(group, false);
	group->registered = true;
	mutex_unlock(&group->lock);

	/* Publish: the node may be opened as soon as this returns. */
	ret = cdev_device_add(&group->cdev, &group->dev);
	if (ret) {
		mutex_lock(&group->lock);
		list_del_init(&m->node);
		group->registered = false;
		mutex_unlock(&group->lock);
		goto err_put;
	}
	list_add_tail(&group->node, &vfg.groups);
	vfg_nl_event(&(struct vfg_nl_event)
		     VFG_NL_EVENT(VFIO_GROUPS_EVENT_GROUP_CREATED, group->id));
	return 0;

err_put:
	pr_err("cannot create group %d: %d\n", group->id, ret);
	put_device(&group->dev);
	return ret;
}

/* Track @dev in its group, which is a no-IOMMU group if @noiommu. */
static int vfg_group_add(struct device *dev, bool noiommu)
{
	struct iommu_group *iommu_group;
	struct vfg_group *group;
	struct vfg_member *m;
	int ret = 0;

	/*
	 * Look the IOMMU group up under vfg.lock.  The load-time scan races
	 * with removal: the IOMMU core leaves the group (dev->iommu_group goes
	 * NULL) before our BUS_NOTIFY_REMOVED_DEVICE runs, and that takes
	 * vfg.lock.  So either we see the group and the removal, later, sees
	 * our member; or the removal has begun and we see no group: never a
	 * member added after its removal was handled.
	 */
	mutex_lock(&vfg.lock);
	iommu_group = iommu_group_get(dev);
	if (!iommu_group)
		goto out;
	if (vfg_group_find_member(dev, NULL)) {
		iommu_group_put(iommu_group);
		goto out;
	}
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m) {
		iommu_group_put(iommu_group);
		ret = -ENOMEM;
		goto out;
	}
	m->dev = get_device(dev);
	if (dev->driver)
		strscpy(m->driver, dev->driver->name, sizeof(m->driver));

	group = vfg_group_find(iommu_group);
	if (!group) {
		ret = vfg_group_create(iommu_group, m, noiommu);
		if (ret) {
			put_device(m->dev);
			kfree(m);
		}
		goto out;
	}
	iommu_group_put(iommu_group);
	mutex_lock(&group->lock);
	list_add_tail(&m->node, &group->members);
	vfg_group_update_locked(group);
	mutex_unlock(&group->lock);
out:
	mutex_unlock(&vfg.lock);
	return ret;
}

/**
 * vfg_group_add_device() - track a device in its group
 * @dev: the device, just added to its bus or found at load
 *
 * Creates the group if this is its first device.  Devices without an IOMMU
 * group are not ours to offer and are ignored.  Calling it twice for one
 * device is harmless.
 *
 * Return: 0 or a negative errno.
 */
int vfg_group_add_device(struct device *dev)
{
	return vfg_group_add(dev, false);
}

/* Under vfg.lock: take @group out of sight; open fds keep its memory. */
static void vfg_group_unregister(struct vfg_group *group)
{
	lockdep_assert_held(&vfg.lock);
	list_del(&group->node);
	cdev_device_del(&group->cdev, &group->dev);
	vfg_nl_event(&(struct vfg_nl_event)
		     VFG_NL_EVENT(VFIO_GROUPS_EVENT_GROUP_DESTROYED, group->id));
	put_device(&group->dev);
}

/**
 * vfg_group_del_device() - forget a device that left its bus
 * @dev: the device
 *
 * The group goes away with its last device.
 */
void vfg_group_del_device(struct device *dev)
{
	struct vfg_group *group;
	struct vfg_member *m;
	bool empty;

	mutex_lock(&vfg.lock);
	group = vfg_group_find_member(dev, &m);
	if (!group) {
		mutex_unlock(&vfg.lock);
		return;
	}
	mutex_lock(&group->lock);
	list_del(&m->node);
	empty = list_empty(&group->members);
	if (empty)
		group->registered = false;
	else
		vfg_group_update_locked(group);
	mutex_unlock(&group->lock);
	if (empty)
		vfg_group_unregister(group);
	mutex_unlock(&vfg.lock);

	put_device(m->dev);
	kfree(m);
}

/**
 * vfg_group_driver_changed() - a member was bound or unbound
 * @dev: the device
 * @bound: bound (true) or unbound
 */
void vfg_group_driver_changed(struct device *dev, bool bound)
{
	struct vfg_nl_event ev = VFG_NL_EVENT(bound ?
					      VFIO_GROUPS_EVENT_DEVICE_BOUND :
					      VFIO_GROUPS_EVENT_DEVICE_UNBOUND, 0);
	struct device_driver *drv;
	struct vfg_group *group;
	struct vfg_member *m;

	mutex_lock(&vfg.lock);
	group = vfg_group_find_member(dev, &m);
	if (group) {
		mutex_lock(&group->lock);
		drv = READ_ONCE(dev->driver);
		if (bound && drv)
			strscpy(m->driver, drv->name, sizeof(m->driver));
		ev.group_id = group->id;
		ev.device = dev_name(dev);
		ev.driver = m->driver;
		vfg_nl_event(&ev);
		if (!bound)
			m->driver[0] = '\0';
		vfg_group_update_locked(group);
		mutex_unlock(&group->lock);
	}
	mutex_unlock(&vfg.lock);
}

/**
 * vfg_group_next_id() - walk the registered groups by ID
 * @after: the last ID seen, or -1 to start
 *
 * Return: the smallest registered group ID above @after, or -1.
 */
int vfg_group_next_id(int after)
{
	struct vfg_group *group;
	int next = -1;

	mutex_lock(&vfg.lock);
	list_for_each_entry(group, &vfg.groups, node)
		if (group->id > after && (next < 0 || group->id < next))
			next = group->id;
	mutex_unlock(&vfg.lock);
	return next;
}

/**
 * vfg_group_fill_state() - a group's state as netlink attributes
 * @msg: the message, with its header in place
 * @id: the group ID
 * @extack: where to say what went wrong, or NULL
 *
 * Return: 0; -ENODEV for no such group; -EMSGSIZE when @msg is full.
 */
int vfg_group_fill_state(struct sk_buff *msg, int id,
			 struct netlink_ext_ack *extack)
{
	struct vfg_group *group;
	struct vfg_member *m;
	const char *why, *drv;
	int ret = -ENODEV;

	mutex_lock(&vfg.lock);
	list_for_each_entry(group, &vfg.groups, node)
		if (group->id == id)
			break;
	if (list_entry_is_head(group, &vfg.groups, node)) {
		NL_SET_ERR_MSG(extack, "no such group");
		goto out;
	}
	mutex_lock(&group->lock);
	ret = -EMSGSIZE;
	if (nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, group->id) ||
	    nla_put_u8(msg, VFIO_GROUPS_A_VIABLE,
		       vfg_group_viable_locked(group, false)) ||
	    (group->holder && nla_put_u32(msg, VFIO_GROUPS_A_HOLDER_PID,
					  pid_vnr(group->holder))))
		goto out_group;
	list_for_each_entry(m, &group->members, node) {
		why = vfg_dev_blocks(group, m->dev, &drv);
		if (vfg_nl_put_member(msg, dev_name(m->dev),
				      strcmp(drv, "-") ? drv : "", why))
			goto out_group;
	}
	ret = 0;
out_group:
	mutex_unlock(&group->lock);
out:
	mutex_unlock(&vfg.lock);
	return ret;
}

/**
 * vfg_group_remove_all() - unregister every group, at module unload
 *
 * No group or container fd can be open here: each holds a module reference.
 */
void vfg_group_remove_all(void)
{
	struct vfg_group *group, *tmp;
	struct vfg_member *m, *mt;

	mutex_lock(&vfg.lock);
	list_for_each_entry_safe(group, tmp, &vfg.groups, node) {
		mutex_lock(&group->lock);
		list_for_each_entry_safe(m, mt, &group->members, node) {
			list_del(&m->node);
			put_device(m->dev);
			kfree(m);
		}
		group->registered = false;
		mutex_unlock(&group->lock);
		vfg_group_unregister(group);
	}
	mutex_unlock(&vfg.lock);
}

/* ---- the group fd ---------------------------------------------------- */

static int vfg_group_open(struct inode *inode, struct file *file)
{
	struct vfg_group *group = container_of(inode->i_cdev,
					       struct vfg_group, cdev);
	int ret = 0;

	mutex_lock(&group->lock);
	if (!group->registered) {
		ret = -ENODEV;
	} else if (group->noiommu && !capable(CAP_SYS_RAWIO)) {
		ret = -EPERM;
	} else if (group->opened || group->dev_fds) {
		/* Device fds of the group keep it theirs (see above). */
		ret = -EBUSY;
	} else {
		group->opened = true;
		group->holder = get_pid(task_tgid(current));
		get_device(&group->dev);
		file->private_data = group;
	}
	mutex_unlock(&group->lock);
	return ret;
}

/*
 * Detach @group from its container, if @detach, and clear group->container.
 * Under attach_lock only: the detach waits for the container's lock.
 */
static void vfg_group_detach(struct vfg_group *group, bool detach)
{
	lockdep_assert_held(&group->attach_lock);
	if (!detach)
		return;
	vfg_container_detach(group);
	mutex_lock(&group->lock);
	group->container = NULL;
	mutex_unlock(&group->lock);
}

static int vfg_group_release_fd(struct inode *inode, struct file *file)
{
	struct vfg_group *group = file->private_data;
	bool detach;

	mutex_lock(&group->attach_lock);
	mutex_lock(&group->lock);
	/* Open device fds keep the group attached until the last closes. */
	detach = group->container && !group->dev_fds;
	mutex_unlock(&group->lock);
	vfg_group_detach(group, detach);
	mutex_lock(&group->lock);
	group->opened = false;
	put_pid(group->holder);
	group->holder = NULL;
	mutex_unlock(&group->lock);
	mutex_unlock(&group->attach_lock);
	put_device(&group->dev);
	return 0;
}

/*
 * The group ioctls copy from and to userspace outside group->lock: a fault
 * takes mmap_lock, and group->lock is taken on the way of device removal
 * (bus notifier), which must not wait for either.  For the same reason,
 * whatever waits for a container's lock holds the group's attach_lock, never
 * its lock (vfio.h, "User memory").
 */
static long vfg_group_get_status(struct vfg_group *group, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_group_status, flags);
	struct vfio_group_status st;
	long ret = 0;

	if (copy_from_user(&st, arg, minsz))
		return -EFAULT;
	if (st.argsz < minsz)
		return -EINVAL;
	st.flags = 0;
	mutex_lock(&group->lock);
	if (!group->registered)
		ret = -ENODEV;
	else if (vfg_group_viable_locked(group, false))
		st.flags |= VFIO_GROUP_FLAGS_VIABLE;
	if (group->container)
		st.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
	mutex_unlock(&group->lock);
	if (ret)
		return ret;
	return copy_to_user(arg, &st, minsz) ? -EFAULT : 0;
}

static long vfg_group_set_container(struct vfg_group *group, int __user *arg)
{
	struct vfg_container *c;
	long ret = 0;
	int fd;

	if (get_user(fd, arg))
		return -EFAULT;
	mutex_lock(&group->attach_lock);
	mutex_lock(&group->lock);
	if (!group->registered)
		ret = -ENODEV;
	else if (!vfg_group_viable_locked(group, true))
		ret = -EPERM;
	else if (group->container)
		ret = -EINVAL;
	mutex_unlock(&group->lock);
	if (ret)
		goto out;
	/*
	 * Viability may change before DMA ownership is claimed; the claim
	 * itself fails while a driver that does kernel DMA is bound.
	 */
	c = vfg_container_attach(group, fd);
	if (IS_ERR(c)) {
		ret = PTR_ERR(c);
		goto out;
	}
	mutex_lock(&group->lock);
	group->container = c;
	mutex_unlock(&group->lock);
out:
	mutex_unlock(&group->attach_lock);
	return ret;
}

static long vfg_group_unset_container(struct vfg_group *group)
{
	long ret = 0;

	mutex_lock(&group->attach_lock);
	mutex_lock(&group->lock);
	if (!group->registered)
		ret = -ENODEV;
	else if (!group->container)
		ret = -EINVAL;
	else if (group->dev_fds)
		ret = -EBUSY;
	mutex_unlock(&group->lock);
	vfg_group_detach(group, !ret);
	mutex_unlock(&group->attach_lock);
	return ret;
}

/*
 * The device is looked up, referenced and counted in dev_fds (which keeps
 * the group in its container) under group->lock, with attach_lock held so
 * that the container cannot change meanwhile; device.c takes both over and
 * opens it without the locks, since its first open may reset it and so wait
 * for PCI hotplug.  Which device the string names is the bus provider's
 * call (vfg_device_match()): it may carry options ("BDF vf_token=UUID") and
 * refuse one with its own errno, which ends the lookup.
 */
static long vfg_group_get_device_fd(struct vfg_group *group,
				    char __user *arg)
{
	struct vfg_device *vdev, *found = NULL;
	struct vfg_container *c;
	struct vfg_member *m;
	bool has_iommu;
	char *name;
	size_t len;
	long ret;

	name = strndup_user(arg, PAGE_SIZE);
	if (IS_ERR(name))
		return PTR_ERR(name);
	mutex_lock(&group->attach_lock);
	/* group->container is stable under attach_lock. */
	c = group->container;
	has_iommu = c && vfg_container_has_iommu(c);
	mutex_lock(&group->lock);
	ret = -ENODEV;
	if (!group->registered)
		goto out_unlock;
	ret = -EPERM;
	if (!vfg_group_viable_locked(group, true))
		goto out_unlock;
	ret = -EINVAL;
	if (!has_iommu)
		goto out_unlock;
	ret = -EPERM;
	if (group->noiommu && !capable(CAP_SYS_RAWIO))
		goto out_unlock;
	/* The bus provider reads the string: a name, maybe options. */
	list_for_each_entry(vdev, &group->devices, group_node) {
		ret = vfg_device_match(vdev, name);
		if (ret < 0)
			goto out_unlock;
		if (ret) {
			found = vdev;
			break;
		}
	}
	ret = -ENODEV;
	if (!found) {
		len = strcspn(name, " ");
		list_for_each_entry(m, &group->members, node)
			if (strlen(dev_name(m->dev)) == len &&
			    !strncmp(dev_name(m->dev), name, len))
				pr_info_ratelimited("group %d: %.*s is not bound to a VFIO driver (vfio-pci), or is being removed\n",
						    group->id, (int)len, name);
		goto out_unlock;
	}
	ret = -ENODEV;
	if (!vfg_device_get_user(found))
		goto out_unlock;
	group->dev_fds++;
	mutex_unlock(&group->lock);
	mutex_unlock(&group->attach_lock);
	kfree(name);
	if (group->noiommu)
		dev_warn(found->dev, "vfio-noiommu device opened by user (%s:%d)\n",
			 current->comm, task_pid_nr(current));
	return vfg_device_open_fd(found);

out_unlock:
	mutex_unlock(&group->lock);
	mutex_unlock(&group->attach_lock);
	kfree(name);
	return ret;
}

/**
 * vfg_group_device_closed() - a device fd of the group is done
 * @group: the group
 *
 * The inverse of the count VFIO_GROUP_GET_DEVICE_FD takes.  The last device
 * fd of a group whose own fd is already closed detaches it from its
 * container.
 */
void vfg_group_device_closed(struct vfg_group *group)
{
	bool detach;

	mutex_lock(&group->attach_lock);
	mutex_lock(&group->lock);
	detach = !WARN_ON(!group->dev_fds) && !--group->dev_fds &&
		 !group->opened && group->container;
	mutex_unlock(&group->lock);
	vfg_group_detach(group, detach);
	mutex_unlock(&group->attach_lock);
}

/*
 * A no-IOMMU group for @dev, which has no IOMMU group: a new IOMMU group of
 * its own, named as upstream's, with @dev in it.  Returns it with a
 * reference, or an ERR_PTR.
 */
static struct iommu_group *vfg_group_noiommu_alloc(struct device *dev)
{
	struct iommu_group *iommu_group;
	int ret;

	iommu_group = iommu_group_alloc();
	if (IS_ERR(iommu_group))
		return iommu_group;
	ret = iommu_group_set_name(iommu_group, "vfio-noiommu");
	if (ret)
		goto err_put;
	ret = iommu_group_add_device(iommu_group, dev);
	if (ret)
		goto err_put;
	return iommu_group;

err_put:
	iommu_group_put(iommu_group);
	return ERR_PTR(ret);
}

/**
 * vfg_group_link_device() - make a registered device reachable from its group
 * @vdev: the device (device.c), not linked yet
 *
 * Creates the group if it does not exist yet, sets @vdev->group with a
 * reference and recomputes viability.  A device without an IOMMU group gets
 * a no-IOMMU group of its own if enable_unsafe_noiommu_mode is set (the
 * kernel is tainted then), and is refused otherwise.
 *
 * Return: 0; -EINVAL if the device has no IOMMU group and no-IOMMU mode is
 * off; -ENOMEM; -ENODEV if the device left meanwhile.
 */
int vfg_group_link_device(struct vfg_device *vdev)
{
	struct iommu_group *iommu_group;
	struct vfg_group *group;
	bool noiommu = false;
	int ret;

	iommu_group = iommu_group_get(vdev->dev);
	if (!iommu_group) {
		if (!READ_ONCE(vfg_noiommu)) {
			dev_warn(vdev->dev, "not binding: no IOMMU group, so userspace DMA could not be confined\n");
			return -EINVAL;
		}
		iommu_group = vfg_group_noiommu_alloc(vdev->dev);
		if (IS_ERR(iommu_group))
			return PTR_ERR(iommu_group);
		noiommu = true;
	}
	ret = vfg_group_add(vdev->dev, noiommu);
	if (ret)
		goto err_put;
	mutex_lock(&vfg.lock);
	group = vfg_group_find(iommu_group);
	if (group) {
		get_device(&group->dev);
		mutex_lock(&group->lock);
		vdev->group = group;
		list_add_tail(&vdev->group_node, &group->devices);
		vfg_group_update_locked(group);
		mutex_unlock(&group->lock);
	}
	mutex_unlock(&vfg.lock);
	if (!group) {
		ret = -ENODEV;
		goto err_del;
	}
	if (noiommu) {
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		dev_warn(vdev->dev, "Adding kernel taint for vfio-noiommu group on device\n");
	}
	iommu_group_put(iommu_group);
	return 0;

err_del:
	if (noiommu)
		vfg_group_del_device(vdev->dev);
err_put:
	if (noiommu)
		iommu_group_remove_device(vdev->dev);
	iommu_group_put(iommu_group);
	return ret;
}

/**
 * vfg_group_unlink_device() - a device is being unregistered
 * @vdev: the device, linked
 *
 * GET_DEVICE_FD finds it no more.  @vdev->group and its reference stay until
 * the device is freed.
 */
void vfg_group_unlink_device(struct vfg_device *vdev)
{
	struct vfg_group *group = vdev->group;

	mutex_lock(&group->lock);
	list_del_init(&vdev->group_node);
	vfg_group_update_locked(group);
	mutex_unlock(&group->lock);
}

/**
 * vfg_group_unregister_noiommu() - a device of a no-IOMMU group is gone
 * @vdev: the device, unlinked and no longer used by any fd
 *
 * The end of what vfg_group_link_device() created for a device without an
 * IOMMU group: its group goes away (/dev/vfio/noiommu-$N with it) and the
 * device leaves the IOMMU group made for it.  Nothing for other devices.
 */
void vfg_group_unregister_noiommu(struct vfg_device *vdev)
{
	if (!vdev->group->noiommu)
		return;
	vfg_group_del_device(vdev->dev);
	iommu_group_remove_device(vdev->dev);
}

/**
 * vfg_group_id() - a group's ID
 * @group: the group
 *
 * Return: the IOMMU group's ID.
 */
int vfg_group_id(struct vfg_group *group)
{
	return group->id;
}

/**
 * vfg_group_put() - drop a reference taken by vfg_group_get_from_fd() or
 * held by a device
 * @group: the group
 */
void vfg_group_put(struct vfg_group *group)
{
	put_device(&group->dev);
}
EXPORT_SYMBOL_GPL(vfg_group_put);

/**
 * vfg_group_is() - whether @group is the group of @iommu_group
 * @group: a group
 * @iommu_group: an IOMMU group, or NULL
 *
 * Return: true if @iommu_group is @group's.
 */
bool vfg_group_is(struct vfg_group *group, struct iommu_group *iommu_group)
{
	return iommu_group && group->iommu_group == iommu_group;
}
EXPORT_SYMBOL_GPL(vfg_group_is);

/**
 * vfg_group_hold_owned() - keep a group owned by its holder for a while
 * @group: a group whose fd the caller was given
 *
 * Userspace owns a group while it is attached to a container: its DMA is
 * owned, so no driver that does kernel DMA is bound to any of its devices.
 * A held group stays attached, and cannot be opened by anyone else, until
 * vfg_group_unhold(), as if a device fd of it were open.  May wait for the
 * group's container (attach_lock).
 *
 * Return: true if the group is registered and attached to a container, and
 * is now held; false otherwise.
 */
bool vfg_group_hold_owned(struct vfg_group *group)
{
	bool owned;

	mutex_lock(&group->attach_lock);
	mutex_lock(&group->lock);
	owned = group->registered && group->container;
	if (owned)
		group->dev_fds++;
	mutex_unlock(&group->lock);
	mutex_unlock(&group->attach_lock);
	return owned;
}
EXPORT_SYMBOL_GPL(vfg_group_hold_owned);

/**
 * vfg_group_unhold() - the end of vfg_group_hold_owned()
 * @group: the group
 *
 * If the group fd was closed meanwhile and no device fd is open, the group
 * is detached from its container now.
 */
void vfg_group_unhold(struct vfg_group *group)
{
	vfg_group_device_closed(group);
}
EXPORT_SYMBOL_GPL(vfg_group_unhold);

/**
 * vfg_group_get_device() - a registered device of a group
 * @group: the group
 * @dev: the bus device
 *
 * Return: the struct vfg_device registered for @dev in @group, with a
 * reference (vfg_device_put()); NULL if @dev is not one (it is not bound to
 * a bus driver of ours, or is being removed).
 */
struct vfg_device *vfg_group_get_device(struct vfg_group *group,
					struct device *dev)
{
	struct vfg_device *vdev, *found = NULL;

	mutex_lock(&group->lock);
	list_for_each_entry(vdev, &group->devices, group_node) {
		if (vdev->dev == dev) {
			kref_get(&vdev->kref);
			found = vdev;
			break;
		}
	}
	mutex_unlock(&group->lock);
	return found;
}
EXPORT_SYMBOL_GPL(vfg_group_get_device);

/**
 * vfg_group_from_file() - the group behind a group file
 * @file: any file
 *
 * Return: the group, or NULL if @file is not a group fd.  The file's
 * reference keeps the group.
 */
struct vfg_group *vfg_group_from_file(struct file *file)
{
	return file->f_op == &vfg_group_fops ? file->private_data : NULL;
}

/**
 * vfg_group_set_kvm() - link a group to a VM, or unlink it (NULL)
 * @group: the group
 * @kvm: the VM
 */
void vfg_group_set_kvm(struct vfg_group *group, struct kvm *kvm)
{
	mutex_lock(&group->lock);
	group->kvm = kvm;
	mutex_unlock(&group->lock);
}

/**
 * vfg_group_kvm() - the VM a group is linked to
 * @group: the group
 *
 * Return: the VM, or NULL.
 */
struct kvm *vfg_group_kvm(struct vfg_group *group)
{
	struct kvm *kvm;

	mutex_lock(&group->lock);
	kvm = group->kvm;
	mutex_unlock(&group->lock);
	return kvm;
}

/**
 * vfg_group_coherent() - whether the group's DMA is always cache coherent
 * @group: the group
 *
 * Return: true if it is attached to a container whose IOMMU enforces
 * coherency, and true too before it is attached to any: coherency is only
 * known once it is, and userspace must attach it before it can prove a
 * right to non-coherent DMA (as upstream answers KVM).
 */
bool vfg_group_coherent(struct vfg_group *group)
{
	bool ret = true;

	mutex_lock(&group->lock);
	if (group->container)
		ret = vfg_container_coherent(group->container);
	mutex_unlock(&group->lock);
	return ret;
}

/**
 * vfg_group_get_from_fd() - the group behind a group fd
 * @fd: userspace file descriptor
 *
 * Return: the group with a reference held (put_device(&group->dev)), or
 * ERR_PTR(-EBADF) for a closed fd, ERR_PTR(-EINVAL) for one that is not a
 * group fd.
 */
struct vfg_group *vfg_group_get_from_fd(int fd)
{
	struct vfg_group *group;
	struct fd f = fdget(fd);

	if (!f.file)
		return ERR_PTR(-EBADF);
	if (f.file->f_op != &vfg_group_fops) {
		fdput(f);
		return ERR_PTR(-EINVAL);
	}
	group = f.file->private_data;
	get_device(&group->dev);
	fdput(f);
	return group;
}
EXPORT_SYMBOL_GPL(vfg_group_get_from_fd);

static long vfg_group_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct vfg_group *group = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GROUP_GET_STATUS:
		return vfg_group_get_status(group, uarg);
	case VFIO_GROUP_SET_CONTAINER:
		return vfg_group_set_container(group, uarg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return vfg_group_unset_container(group);
	case VFIO_GROUP_GET_DEVICE_FD:
		return vfg_group_get_device_fd(group, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vfg_group_fops = {
	.owner = THIS_MODULE,
	.open = vfg_group_open,
	.release = vfg_group_release_fd,
	.unlocked_ioctl = vfg_group_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ---- sysfs: /sys/class/vfio/$GROUP/ -------------------------------------- */

static struct vfg_group *to_vfg_group(struct device *dev)
{
	return container_of(dev, struct vfg_group, dev);
}

static ssize_t members_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vfg_group *group = to_vfg_group(dev);
	struct device_driver *drv;
	struct vfg_member *m;
	int len = 0;

	mutex_lock(&group->lock);
	list_for_each_entry(m, &group->members, node) {
		drv = READ_ONCE(m->dev->driver);
		len += sysfs_emit_at(buf, len, "%s %s\n", dev_name(m->dev),
				     drv ? drv->name : "-");
	}
	mutex_unlock(&group->lock);
	return len;
}
static DEVICE_ATTR_RO(members);

static ssize_t viable_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vfg_group *group = to_vfg_group(dev);
	bool viable;

	mutex_lock(&group->lock);
	viable = vfg_group_viable_locked(group, false);
	mutex_unlock(&group->lock);
	return sysfs_emit(buf, "%d\n", viable);
}
static DEVICE_ATTR_RO(viable);

static ssize_t blockers_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vfg_group *group = to_vfg_group(dev);
	struct vfg_viability v = { .group = group, .buf = buf };

	mutex_lock(&group->lock);
	iommu_group_for_each_dev(group->iommu_group, &v, vfg_viability_one);
	mutex_unlock(&group->lock);
	return v.len;
}
static DEVICE_ATTR_RO(blockers);

static ssize_t holder_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vfg_group *group = to_vfg_group(dev);
	int len = 0;

	mutex_lock(&group->lock);
	if (group->holder)
		len = sysfs_emit(buf, "%d\n", pid_vnr(group->holder));
	mutex_unlock(&group->lock);
	return len;
}
static DEVICE_ATTR_RO(holder);

static struct attribute *vfg_group_attrs[] = {
	&dev_attr_members.attr,
	&dev_attr_viable.attr,
	&dev_attr_blockers.attr,
	&dev_attr_holder.attr,
	NULL,
};

static const struct attribute_group vfg_group_attr_group = {
	.attrs = vfg_group_attrs,
};

const struct attribute_group *vfg_group_attr_groups[] = {
	&vfg_group_attr_group,
	NULL,
};
