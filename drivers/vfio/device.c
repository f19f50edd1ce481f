// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices: the bus-agnostic object behind device fds.
 *
 * A bus driver of ours (pci/vfio_pci.c is one) embeds a struct vfg_device in
 * its per-device structure, fills a struct vfg_device_ops and registers the
 * device in probe().  Everything about the device's life is decided here; the
 * bus driver does its bus's work in the callbacks and never decides when
 * anything opens, closes or goes away.
 *
 * Lifetime protocol
 * -----------------
 * References (@kref):
 *   - the registration holds one, from vfg_device_init() to the end of
 *     vfg_device_unregister() (the bus driver drops it with vfg_device_put());
 *   - VFIO_GROUP_GET_DEVICE_FD takes one when it finds the device in its
 *     group, together with a count in group->dev_fds; from then on
 *     vfg_device_open_fd() owns both, and vfg_device_fd_closed() gives both
 *     back exactly once: when the open fails, or when the fd is released.
 *   - an IOMMU mapping of the device's memory (peer-to-peer, type1.c) holds
 *     one while it is linked to the device.
 *   Every reference but the registration's also holds the bus driver's
 *   module (vfg_device_get_user()), as upstream's open devices do.
 *   - the last put calls ops->release, which frees the bus driver's memory.
 *   The device holds a reference on its group and on its struct device for
 *   its whole life.
 *
 * States (@state, under @state_lock), one way only:
 *   NEW -> LIVE       vfg_device_register(): linked into its group, where
 *                     GET_DEVICE_FD finds it
 *   LIVE -> REMOVING  vfg_device_unregister(): unlinked; opens fail with
 *                     -ENODEV from here on, as they check the state under
 *                     @state_lock and count themselves in @fds at once
 *   REMOVING -> REVOKED  the release timeout expired with fds open:
 *                     ops->revoke took the device from them, and their
 *                     operations fail with -ENODEV until they are closed
 * A device stays in REMOVING or REVOKED once unregistration has returned;
 * only references remain then.
 *
 * Holds (@holds): an operation on several devices at once (a PCI hot
 * reset) keeps each of them LIVE, and so bound to its driver, with
 * vfg_device_hold() for as long as it runs; unregistration waits for the
 * holds to end before it waits for the fds.  Remove() runs under the device
 * lock, so a hold must not be kept across a wait for a device lock, only
 * across trylocks (as pci_reset_bus() does them).
 *
 * Open and close: @fds counts fds from the moment an open has checked the
 * state until the fd has finished closing, so unregistration waits for opens
 * in progress too.  @open_count counts opened fds.  The first open calls
 * ops->open_device and the last close ops->close_device, each decided under
 * @open_lock, which is held from reading the count to writing it, so a last
 * close and a new open cannot both believe they are first or last.  A
 * closing fd then tells its group (which may detach from its container and
 * so give DMA ownership back), and only after that drops @fds and wakes
 * unregistration: remove() never returns while a detach it caused is still
 * running.
 *
 * Removal: vfg_device_unregister() cannot fail.  It waits for @fds to reach
 * zero; meanwhile it asks for the device back every release_retry_ms
 * (ops->request, which signals the REQ eventfd; a RELEASE_REQUESTED netlink
 * event naming the holder; a log line).  The wait is interruptible until a
 * signal arrives, then uninterruptible.  With release_timeout_ms set, the
 * device is revoked when the time is up: ops->revoke under @open_lock, a
 * REVOKED event, and unregistration completes.  Revoked fds stay open and
 * safe: every operation fails with -ENODEV and mappings get SIGBUS.
 *
 * Locks: @open_lock is held across the provider's open, close and revoke
 * callbacks and its resets; @state_lock, inside it, only for the fields it
 * protects.  Neither is held together with group->lock.  A reset can wait
 * for PCI hotplug (pciehp's reset_lock), and pciehp removes devices, so
 * remove() must not wait for @open_lock behind it: removal takes only
 * @state_lock, and @open_lock by trylock for the revoke.  That wait always
 * ends: remove() holds the device lock, and every reset we run takes the
 * device lock by trylock first, so a reset that holds @open_lock then is
 * never one that waits for anything remove()'s caller holds.  See vfio.h
 * for the order of the other locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <uapi/linux/vfio.h>
#include <uapi/linux/vfio_groups.h>

#include "vfio.h"

static unsigned int release_timeout_ms;
module_param(release_timeout_ms, uint, 0644);
MODULE_PARM_DESC(release_timeout_ms,
		 "Revoke a device its holder does not release within this many ms of removal (0: wait forever, default)");

static unsigned int release_retry_ms = 1000;
module_param(release_retry_ms, uint, 0644);
MODULE_PARM_DESC(release_retry_ms,
		 "Interval between release requests while removal waits (default 1000 ms)");

static const struct file_operations vfg_device_fops;

/**
 * vfg_device_init() - prepare a device for registration
 * @vdev: the bus driver's embedded device, zeroed
 * @dev: the bus device
 * @ops: the bus driver's callbacks; @ops->release is required
 *
 * From here on the bus driver frees its structure only through
 * vfg_device_put().
 */
void vfg_device_init(struct vfg_device *vdev, struct device *dev,
		     const struct vfg_device_ops *ops)
{
	vdev->dev = get_device(dev);
	vdev->ops = ops;
	kref_init(&vdev->kref);
	INIT_LIST_HEAD(&vdev->group_node);
	mutex_init(&vdev->open_lock);
	mutex_init(&vdev->state_lock);
	vdev->state = VFG_DEV_NEW;
	init_waitqueue_head(&vdev->wq);
	address_space_init_once(&vdev->mapping);
	mutex_init(&vdev->p2p_lock);
	INIT_LIST_HEAD(&vdev->p2p);
}
EXPORT_SYMBOL_GPL(vfg_device_init);

static void vfg_device_release(struct kref *kref)
{
	struct vfg_device *vdev = container_of(kref, struct vfg_device, kref);
	struct device *dev = vdev->dev;

	WARN_ON(vdev->open_count || vdev->fds || vdev->holder ||
		!list_empty(&vdev->p2p));
	if (vdev->group)
		vfg_group_put(vdev->group);
	mutex_destroy(&vdev->p2p_lock);
	mutex_destroy(&vdev->state_lock);
	mutex_destroy(&vdev->open_lock);
	vdev->ops->release(vdev);
	put_device(dev);
}

/**
 * vfg_device_put() - drop a reference
 * @vdev: the device
 */
void vfg_device_put(struct vfg_device *vdev)
{
	kref_put(&vdev->kref, vfg_device_release);
}
EXPORT_SYMBOL_GPL(vfg_device_put);

/**
 * vfg_device_get_user() - a reference for a user of the device (an fd, an
 * IOMMU mapping of its memory), which also holds the bus driver's module
 * @vdev: the device, known to be registered or otherwise referenced
 *
 * As upstream, an open device keeps its driver's module: "rmmod vfio-pci"
 * then fails instead of waiting in remove() for fds that its caller may
 * hold.  And the last reference runs the bus driver's release callback,
 * whose code must still be there.
 *
 * Return: true with both taken, false when the module is going away.
 */
bool vfg_device_get_user(struct vfg_device *vdev)
{
	if (!try_module_get(vdev->ops->owner))
		return false;
	kref_get(&vdev->kref);
	return true;
}

/* Drop what vfg_device_get_user() took; the module last. */
static void vfg_device_put_user(struct vfg_device *vdev)
{
	struct module *owner = vdev->ops->owner;

	kref_put(&vdev->kref, vfg_device_release);
	module_put(owner);
}

/* Every state change: one way only (see the top of this file). */
static void vfg_device_set_state(struct vfg_device *vdev,
				 enum vfg_device_state state)
{
	lockdep_assert_held(&vdev->state_lock);
	WARN_ON(state <= vdev->state);
	WRITE_ONCE(vdev->state, state);
}

/**
 * vfg_device_register() - offer a device to userspace
 * @vdev: the device, initialised
 *
 * Links it into its group, where VFIO_GROUP_GET_DEVICE_FD finds it; a
 * device without an IOMMU group gets a no-IOMMU group in no-IOMMU mode
 * (group.c), which vfg_device_unregister() removes.
 *
 * Return: 0; -EINVAL if the device has no IOMMU group and no-IOMMU mode is
 * off; -ENOMEM.
 */
int vfg_device_register(struct vfg_device *vdev)
{
	int ret = vfg_group_link_device(vdev);

	if (ret)
		return ret;
	mutex_lock(&vdev->state_lock);
	vfg_device_set_state(vdev, VFG_DEV_LIVE);
	mutex_unlock(&vdev->state_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(vfg_device_register);

/* A netlink event about the device's release; @state_lock held. */
static void vfg_device_event(struct vfg_device *vdev, u32 event, u32 attempt,
			     s64 deadline_ms)
{
	struct vfg_nl_event ev = VFG_NL_EVENT(event, vfg_group_id(vdev->group));

	lockdep_assert_held(&vdev->state_lock);
	ev.device = dev_name(vdev->dev);
	ev.holder = vdev->holder;
	ev.attempt = attempt;
	ev.deadline_ms = deadline_ms;
	vfg_nl_event(&ev);
}

/* Ask the holder for the device: REQ, netlink, log.  @state_lock held. */
static void vfg_device_request(struct vfg_device *vdev, u32 attempt,
			       s64 left_ms)
{
	char comm[TASK_COMM_LEN] = "?";
	struct task_struct *task;

	lockdep_assert_held(&vdev->state_lock);
	if (vdev->ops->request)
		vdev->ops->request(vdev, attempt);
	vfg_device_event(vdev, VFIO_GROUPS_EVENT_RELEASE_REQUESTED, attempt,
			 left_ms);
	rcu_read_lock();
	task = pid_task(vdev->holder, PIDTYPE_PID);
	if (task)
		get_task_comm(comm, task);
	rcu_read_unlock();
	if (left_ms >= 0)
		dev_notice_ratelimited(vdev->dev, "removal waits for %s[%d] to release the device (request %u; revoked in %lld ms)\n",
				       comm, pid_nr(vdev->holder), attempt,
				       left_ms);
	else
		dev_notice_ratelimited(vdev->dev, "removal waits for %s[%d] to release the device (request %u)\n",
				       comm, pid_nr(vdev->holder), attempt);
}

/*
 * Wait until every fd has finished closing, asking for them at intervals.
 * Return: true if they did, false if the release timeout expired first.
 */
static bool vfg_device_wait_release(struct vfg_device *vdev)
{
	unsigned long timeout_ms = READ_ONCE(release_timeout_ms);
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	bool interruptible = true;
	u32 attempt = 0;
	long wait, ret;
	s64 left_ms;

	for (;;) {
		mutex_lock(&vdev->state_lock);
		if (!vdev->fds) {
			if (attempt)
				vfg_device_event(vdev,
						 VFIO_GROUPS_EVENT_RELEASED,
						 0, -1);
			mutex_unlock(&vdev->state_lock);
			return true;
		}
		if (timeout_ms && time_after_eq(jiffies, deadline)) {
			mutex_unlock(&vdev->state_lock);
			return false;
		}
		left_ms = -1;
		if (timeout_ms)
			left_ms = jiffies_to_msecs(deadline - jiffies);
		vfg_device_request(vdev, ++attempt, left_ms);
		mutex_unlock(&vdev->state_lock);

		wait = msecs_to_jiffies(max(READ_ONCE(release_retry_ms), 10U));
		if (timeout_ms)
			wait = min_t(long, wait,
				     max_t(long, deadline - jiffies, 1));
		if (interruptible) {
			ret = wait_event_interruptible_timeout(vdev->wq,
							       !READ_ONCE(vdev->fds),
							       wait);
			if (ret == -ERESTARTSYS) {
				/* remove() cannot be abandoned: keep waiting. */
				dev_info(vdev->dev, "signal ignored: removal must wait for the device to be released\n");
				interruptible = false;
			}
		} else {
			wait_event_timeout(vdev->wq, !READ_ONCE(vdev->fds),
					   wait);
		}
	}
}

/*
 * Take the device from its open fds (the release timeout expired).  The
 * open lock by trylock: see "Locks" above.  Return: whether it was revoked
 * (false when no fd had it open any more).
 */
static bool vfg_device_revoke(struct vfg_device *vdev)
{
	bool revoke;

	while (!mutex_trylock(&vdev->open_lock))
		usleep_range(500, 1000);
	mutex_lock(&vdev->state_lock);
	revoke = vdev->open_count && vdev->state == VFG_DEV_REMOVING;
	if (revoke) {
		dev_warn(vdev->dev, "release timeout: revoking the device from pid %d\n",
			 pid_nr(vdev->holder));
		vfg_device_set_state(vdev, VFG_DEV_REVOKED);
	}
	mutex_unlock(&vdev->state_lock);
	if (revoke)
		vdev->ops->revoke(vdev);
	mutex_unlock(&vdev->open_lock);
	if (revoke) {
		mutex_lock(&vdev->state_lock);
		vfg_device_event(vdev, VFIO_GROUPS_EVENT_REVOKED, 0, -1);
		mutex_unlock(&vdev->state_lock);
	}
	return revoke;
}

/**
 * vfg_device_unregister() - take a device away from userspace
 * @vdev: the device, registered
 *
 * No new fd can be opened once this begins.  Waits until every open fd has
 * been closed, asking for them meanwhile, or revokes them after the release
 * timeout; see the top of this file.  The registration's reference is still
 * the caller's to put.
 *
 * Context: may sleep for as long as userspace keeps the device.
 */
void vfg_device_unregister(struct vfg_device *vdev)
{
	vfg_group_unlink_device(vdev);
	mutex_lock(&vdev->state_lock);
	vfg_device_set_state(vdev, VFG_DEV_REMOVING);
	mutex_unlock(&vdev->state_lock);

	/* No new hold from here on; the ones taken end soon. */
	wait_event(vdev->wq, !READ_ONCE(vdev->holds));
	/*
	 * Not revoked with the time up: the fds left are closing (detaching
	 * their group) or opens giving up; neither takes long, and removal
	 * must not return before a detach it caused has finished.
	 */
	if (!vfg_device_wait_release(vdev) && !vfg_device_revoke(vdev))
		wait_event(vdev->wq, !READ_ONCE(vdev->fds));
	vfg_group_unregister_noiommu(vdev);
}
EXPORT_SYMBOL_GPL(vfg_device_unregister);

/*
 * The end of every fd, opened or not: give back what GET_DEVICE_FD and
 * vfg_device_open_fd() counted, in the order removal relies on.
 */
static void vfg_device_fd_done(struct vfg_device *vdev)
{
	/* May detach the group: before removal may go on (see above). */
	vfg_group_device_closed(vdev->group);

	mutex_lock(&vdev->state_lock);
	if (!--vdev->fds)
		wake_up_all(&vdev->wq);
	mutex_unlock(&vdev->state_lock);
	vfg_device_put_user(vdev);
}

/*
 * The inverse of a successful open in vfg_device_open_fd(): one opened fd
 * (installed, or failing after it was opened) is done.
 */
static void vfg_device_fd_closed(struct vfg_device *vdev)
{
	struct pid *holder = NULL;
	bool last, revoked;

	mutex_lock(&vdev->open_lock);
	mutex_lock(&vdev->state_lock);
	last = !--vdev->open_count;
	revoked = vdev->state == VFG_DEV_REVOKED;
	if (last) {
		holder = vdev->holder;
		vdev->holder = NULL;
	}
	mutex_unlock(&vdev->state_lock);
	if (last) {
		/* Nobody may DMA to it once it is given back. */
		vfg_device_zap_mappings(vdev);
		if (!revoked && vdev->ops->close_device)
			vdev->ops->close_device(vdev);
		vdev->kvm = NULL;
	}
	mutex_unlock(&vdev->open_lock);

	vfg_device_fd_done(vdev);
	put_pid(holder);
}

/**
 * vfg_device_open_fd() - a new device fd
 * @vdev: the device; the caller has taken a reference and counted the fd in
 *        its group (VFIO_GROUP_GET_DEVICE_FD), and gives both to this
 *        function, which returns them on failure or at the fd's release
 *
 * Return: the fd; -ENODEV if the device is being removed; -EMFILE, -ENFILE,
 * -ENOMEM; or the error of ops->open_device.
 */
int vfg_device_open_fd(struct vfg_device *vdev)
{
	struct kvm *kvm = vfg_group_kvm(vdev->group);
	struct file *file;
	int fd, ret = 0;

	/* From here on, removal waits for this fd (see the top). */
	mutex_lock(&vdev->state_lock);
	if (vdev->state == VFG_DEV_LIVE)
		vdev->fds++;
	else
		ret = -ENODEV;
	mutex_unlock(&vdev->state_lock);
	if (ret) {
		vfg_group_device_closed(vdev->group);
		vfg_device_put_user(vdev);
		return ret;
	}

	mutex_lock(&vdev->open_lock);
	/*
	 * Again under the open lock, which the revoke takes: an open that
	 * counted itself before removal began but comes here after it must
	 * not enable a device that removal may already have given up on.
	 */
	mutex_lock(&vdev->state_lock);
	if (vdev->state != VFG_DEV_LIVE)
		ret = -ENODEV;
	mutex_unlock(&vdev->state_lock);
	if (!ret && !vdev->open_count) {
		vdev->kvm = kvm;
		if (vdev->ops->open_device)
			ret = vdev->ops->open_device(vdev);
		if (ret)
			vdev->kvm = NULL;
	}
	if (!ret) {
		mutex_lock(&vdev->state_lock);
		if (!vdev->open_count++)
			vdev->holder = get_pid(task_tgid(current));
		mutex_unlock(&vdev->state_lock);
	}
	mutex_unlock(&vdev->open_lock);
	if (ret) {
		vfg_device_fd_done(vdev);
		return ret;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_close;
	}
	file = anon_inode_getfile("[vfio-device]", &vfg_device_fops, vdev,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		put_unused_fd(fd);
		goto err_close;
	}
	/*
	 * One address space per device: see vfg_device_zap_mappings().  Its
	 * host is the anon inode every such file shares, which is never freed.
	 */
	vdev->mapping.host = file_inode(file);
	file->f_mapping = &vdev->mapping;
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	fd_install(fd, file);
	return fd;

err_close:
	vfg_device_fd_closed(vdev);
	return ret;
}

/**
 * vfg_device_lock_live() - exclude first open, last close and revoke
 * @vdev: the device, with an open fd
 *
 * For provider operations that must not run concurrently with its own
 * open_device, close_device or revoke callbacks (a reset, for one).
 *
 * Return: true with the open lock held (vfg_device_unlock()), or false,
 * without it, when the device has been revoked.
 */
bool vfg_device_lock_live(struct vfg_device *vdev)
{
	mutex_lock(&vdev->open_lock);
	if (READ_ONCE(vdev->state) == VFG_DEV_REVOKED) {
		mutex_unlock(&vdev->open_lock);
		return false;
	}
	return true;
}
EXPORT_SYMBOL_GPL(vfg_device_lock_live);

/**
 * vfg_device_unlock() - the end of vfg_device_lock_live()
 * @vdev: the device
 */
void vfg_device_unlock(struct vfg_device *vdev)
{
	mutex_unlock(&vdev->open_lock);
}
EXPORT_SYMBOL_GPL(vfg_device_unlock);

/* Take a live peer-to-peer mapping of @vdev out of every domain it is in. */
static void vfg_p2p_unmap(struct vfg_device *vdev, struct vfg_p2p *p2p)
{
	unsigned int i;

	lockdep_assert_held(&vdev->p2p_lock);
	if (!p2p->live)
		return;
	for (i = 0; i < p2p->nr_domains; i++)
		iommu_unmap(p2p->domains[i], p2p->iova, p2p->size);
	p2p->live = false;
}

/**
 * vfg_device_zap_mappings() - take away every mapping of the device's memory
 * @vdev: the device
 *
 * Every device fd of @vdev shares its address space: its userspace mappings
 * go at once, and later accesses fault again, into the provider's fault
 * handler.  Then every IOMMU mapping of the device's memory, in any
 * container and every IOMMU domain of it (peer-to-peer DMA, type1.c), is
 * unmapped too, so that no DMA reaches memory that is gone or disabled;
 * those stay unmapped until their owner unmaps and maps them again.
 *
 * Context: may sleep; the provider may hold its memory lock.
 */
void vfg_device_zap_mappings(struct vfg_device *vdev)
{
	struct vfg_p2p *p2p;

	unmap_mapping_range(&vdev->mapping, 0, 0, true);
	mutex_lock(&vdev->p2p_lock);
	list_for_each_entry(p2p, &vdev->p2p, node)
		vfg_p2p_unmap(vdev, p2p);
	mutex_unlock(&vdev->p2p_lock);
}
EXPORT_SYMBOL_GPL(vfg_device_zap_mappings);

/**
 * vfg_device_get_from_vma() - the device whose memory a mapping maps
 * @vma: a mapping, with its mm's mmap_lock held
 *
 * Return: the device, with a user's reference (vfg_device_get_user()),
 * dropped by vfg_device_p2p_unlink() or vfg_device_p2p_put(), if @vma is a
 * mapping of one of our device fds; else NULL.  The caller takes
 * @p2p_lock before it looks at the mapping's page table entries, so that a
 * zap either comes before (and it finds none) or after (and finds its entry
 * to take away).
 */
struct vfg_device *vfg_device_get_from_vma(struct vm_area_struct *vma)
{
	struct vfg_device *vdev;

	if (!vma->vm_file || vma->vm_file->f_op != &vfg_device_fops)
		return NULL;
	vdev = vma->vm_file->private_data;
	return vfg_device_get_user(vdev) ? vdev : NULL;
}

/**
 * vfg_device_p2p_put() - drop the reference of vfg_device_get_from_vma()
 * when no mapping was linked
 * @vdev: the device
 */
void vfg_device_p2p_put(struct vfg_device *vdev)
{
	vfg_device_put_user(vdev);
}

/**
 * vfg_device_p2p_link() - record an IOMMU mapping of a device's memory
 * @vdev: the device, from vfg_device_get_from_vma(); the reference becomes
 *        @p2p's
 * @p2p: the mapping, just made live with @vdev->p2p_lock held
 */
void vfg_device_p2p_link(struct vfg_device *vdev, struct vfg_p2p *p2p)
{
	lockdep_assert_held(&vdev->p2p_lock);
	list_add_tail(&p2p->node, &vdev->p2p);
}

/**
 * vfg_device_p2p_unlink() - remove an IOMMU mapping of a device's memory
 * @vdev: the device
 * @p2p: the mapping, linked; unmapped here from all its domains if still
 *       live (its array of domains stays the caller's to free)
 *
 * Drops the reference the mapping held.
 */
void vfg_device_p2p_unlink(struct vfg_device *vdev, struct vfg_p2p *p2p)
{
	mutex_lock(&vdev->p2p_lock);
	list_del(&p2p->node);
	vfg_p2p_unmap(vdev, p2p);
	mutex_unlock(&vdev->p2p_lock);
	vfg_device_put_user(vdev);
}

/**
 * vfg_device_hold() - keep a live device registered for a short operation
 * @vdev: the device, with a reference held
 *
 * Until vfg_device_unhold(), unregistration (and so the driver's remove())
 * waits.  See "Holds" at the top of this file.
 *
 * Return: true if held; false if the device is not live.
 */
bool vfg_device_hold(struct vfg_device *vdev)
{
	bool live;

	mutex_lock(&vdev->state_lock);
	live = vdev->state == VFG_DEV_LIVE;
	if (live)
		vdev->holds++;
	mutex_unlock(&vdev->state_lock);
	return live;
}
EXPORT_SYMBOL_GPL(vfg_device_hold);

/**
 * vfg_device_unhold() - the end of vfg_device_hold()
 * @vdev: the device
 */
void vfg_device_unhold(struct vfg_device *vdev)
{
	mutex_lock(&vdev->state_lock);
	if (!WARN_ON(!vdev->holds) && !--vdev->holds)
		wake_up_all(&vdev->wq);
	mutex_unlock(&vdev->state_lock);
}
EXPORT_SYMBOL_GPL(vfg_device_unhold);

/* ---- the device fd ------------------------------------------------------ */

static bool vfg_device_revoked(struct vfg_device *vdev)
{
	return READ_ONCE(vdev->state) == VFG_DEV_REVOKED;
}

static int vfg_device_fop_release(struct inode *inode, struct file *file)
{
	vfg_device_fd_closed(file->private_data);
	return 0;
}

/**
 * vfg_device_match() - does a VFIO_GROUP_GET_DEVICE_FD string name a device
 * @vdev: a registered device
 * @buf: the string userspace passed
 *
 * The provider's @match when it has one, else an exact dev_name() match.
 * Called under the group's lock.
 *
 * Return: 1 if @buf names @vdev, 0 if not, or a negative errno that fails
 * the lookup.
 */
int vfg_device_match(struct vfg_device *vdev, const char *buf)
{
	lockdep_assert_held(&vdev->group->lock);
	if (vdev->ops->match)
		return vdev->ops->match(vdev, buf);
	return !strcmp(dev_name(vdev->dev), buf);
}

/**
 * vfg_device_check_feature() - the common checks of one device feature
 * @flags: VFIO_DEVICE_FEATURE flags, as passed
 * @argsz: size of the data after the header
 * @supported: which of VFIO_DEVICE_FEATURE_GET and _SET the feature has
 * @minsz: the data a GET or SET needs
 *
 * For a provider's @device_feature, as upstream's vfio_check_feature():
 * asking for an operation the feature lacks, or for none without PROBE, or
 * passing less than @minsz is -EINVAL; PROBE of supported operations
 * succeeds without touching the data.
 *
 * Return: 1 to go on with the GET or SET, 0 when a PROBE is answered, or
 * -EINVAL.
 */
int vfg_device_check_feature(u32 flags, size_t argsz, u32 supported,
			     size_t minsz)
{
	u32 ops = flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);

	if (ops & ~supported)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	if (!ops || argsz < minsz)
		return -EINVAL;
	return 1;
}
EXPORT_SYMBOL_GPL(vfg_device_check_feature);

/*
 * VFIO_DEVICE_FEATURE: the header's checks are the core's, as upstream's
 * are vfio_main.c's; the features themselves are the provider's.
 */
static long vfg_device_feature(struct vfg_device *vdev,
			       struct vfio_device_feature __user *arg)
{
	size_t minsz = offsetofend(struct vfio_device_feature, flags);
	struct vfio_device_feature feature;

	if (copy_from_user(&feature, arg, minsz))
		return -EFAULT;
	if (feature.argsz < minsz)
		return -EINVAL;
	if (feature.flags & ~(VFIO_DEVICE_FEATURE_MASK |
			      VFIO_DEVICE_FEATURE_GET |
			      VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_GET) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_SET))
		return -EINVAL;
	if (!vdev->ops->device_feature)
		return -ENOTTY;
	return vdev->ops->device_feature(vdev, feature.flags, arg->data,
					 feature.argsz - minsz);
}

static long vfg_device_fop_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct vfg_device *vdev = file->private_data;

	if (vfg_device_revoked(vdev))
		return -ENODEV;
	if (cmd == VFIO_DEVICE_FEATURE)
		return vfg_device_feature(vdev, (void __user *)arg);
	return vdev->ops->ioctl ? vdev->ops->ioctl(vdev, cmd, arg) : -ENOTTY;
}

static ssize_t vfg_device_fop_read(struct file *file, char __user *buf,
				   size_t count, loff_t *ppos)
{
	struct vfg_device *vdev = file->private_data;

	if (vfg_device_revoked(vdev))
		return -ENODEV;
	return vdev->ops->read ? vdev->ops->read(vdev, buf, count, ppos) :
				 -EINVAL;
}

static ssize_t vfg_device_fop_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	struct vfg_device *vdev = file->private_data;

	if (vfg_device_revoked(vdev))
		return -ENODEV;
	return vdev->ops->write ? vdev->ops->write(vdev, buf, count, ppos) :
				  -EINVAL;
}

static int vfg_device_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vfg_device *vdev = file->private_data;

	if (vfg_device_revoked(vdev))
		return -ENODEV;
	return vdev->ops->mmap ? vdev->ops->mmap(vdev, vma) : -EINVAL;
}

static const struct file_operations vfg_device_fops = {
	.owner = THIS_MODULE,
	.release = vfg_device_fop_release,
	.read = vfg_device_fop_read,
	.write = vfg_device_fop_write,
	.unlocked_ioctl = vfg_device_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vfg_device_fop_mmap,
	.llseek = default_llseek,
};
