// SPDX-License-Identifier: GPL-2.0-only
/*
 * Power: runtime PM of a device bound to vfio-pci.
 *
 * Idle: while no fd has the device open it may be runtime-suspended, which
 * puts it in D3hot (the PCI core saves its state before and restores it
 * after), unless disable_idle_d3.  The first open takes a usage count and
 * the last close drops it (vfio_pci.c).
 *
 * Open: userspace may let it suspend with VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
 * (or _WITH_WAKEUP), which drops the open's usage count, and take it back
 * with _LOW_POWER_EXIT.  Every access through the device fd (config and BAR
 * pread/pwrite, every ioctl) finds the device in D0: while no entry is
 * engaged the open's usage count keeps it there, and config and BAR
 * accesses rely on that, testing @pm_engaged under the lock the entry holds
 * (vdev->lock for config space, memory_lock for BARs); everything else, and
 * those in low power, hold a usage count of their own across the access,
 * which wakes the device and lets it suspend again after.  A
 * BAR mapping cannot do that: the entry zaps every mapping and faults get
 * SIGBUS while the feature is engaged, as upstream does.  With a wakeup
 * eventfd the first resume, whatever its cause (an access, the host, the
 * exit itself), signals it and ends the low power state for good.  The last
 * close and a revoke end it too, before anything else (vfg_pci_pm_close()).
 *
 * @pm_engaged and @pm_wake are under vdev->memory_lock: changed with it held
 * for writing (the entry, the exit, the resume callback), tested by the
 * fault handler and BAR accesses with it held for reading.  The entry, the
 * only change that takes a usage count away, also holds vdev->lock, under
 * which config accesses test it.  So no runtime resume of the
 * device may be waited for with memory_lock held: every path that wakes it
 * does so before taking the lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pci.h>
#include <linux/pm_runtime.h>

#include "vfio_pci_priv.h"

/* Give the usage count the entry dropped back; under memory_lock. */
static void vfg_pci_pm_disengage(struct vfg_pci_device *vdev)
{
	lockdep_assert_held_write(&vdev->memory_lock);
	if (!vdev->pm_engaged)
		return;
	vdev->pm_engaged = false;
	pm_runtime_get_noresume(&vdev->pdev->dev);
	if (vdev->pm_wake) {
		eventfd_ctx_put(vdev->pm_wake);
		vdev->pm_wake = NULL;
	}
}

/*
 * The entry: called with the ioctl's own usage count held (the device is in
 * D0), it drops the open's, so that the device suspends when the ioctl's
 * goes.  Takes @wake's reference on success.
 */
static int vfg_pci_pm_entry(struct vfg_pci_device *vdev,
			    struct eventfd_ctx *wake)
{
	int ret = 0;

	mutex_lock(&vdev->lock);
	down_write(&vdev->memory_lock);
	if (vdev->revoked) {
		ret = -ENODEV;
	} else if (vdev->pm_engaged) {
		ret = -EINVAL;
	} else {
		vfg_device_zap_mappings(&vdev->core);
		vdev->pm_engaged = true;
		vdev->pm_wake = wake;
		pm_runtime_put_noidle(&vdev->pdev->dev);
	}
	up_write(&vdev->memory_lock);
	mutex_unlock(&vdev->lock);
	return ret;
}

static int vfg_pci_feature_pm_entry(struct vfg_pci_device *vdev, u32 flags,
				    void __user *arg, size_t argsz)
{
	int ret = vfg_device_check_feature(flags, argsz,
					   VFIO_DEVICE_FEATURE_SET, 0);

	return ret == 1 ? vfg_pci_pm_entry(vdev, NULL) : ret;
}

static int vfg_pci_feature_pm_entry_wakeup(struct vfg_pci_device *vdev,
					   u32 flags, void __user *arg,
					   size_t argsz)
{
	struct vfio_device_low_power_entry_with_wakeup entry;
	struct eventfd_ctx *wake;
	int ret;

	ret = vfg_device_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET,
				       sizeof(entry));
	if (ret != 1)
		return ret;
	if (copy_from_user(&entry, arg, sizeof(entry)))
		return -EFAULT;
	if (entry.wakeup_eventfd < 0)
		return -EINVAL;
	wake = eventfd_ctx_fdget(entry.wakeup_eventfd);
	if (IS_ERR(wake))
		return PTR_ERR(wake);
	ret = vfg_pci_pm_entry(vdev, wake);
	if (ret)
		eventfd_ctx_put(wake);
	return ret;
}

/*
 * The exit: the ioctl's usage count has woken the device already, which
 * ended a wakeup entry (and signalled its eventfd) in the resume callback;
 * a plain one ends here.  Not engaged: nothing to do, as upstream.
 */
static int vfg_pci_feature_pm_exit(struct vfg_pci_device *vdev, u32 flags,
				   void __user *arg, size_t argsz)
{
	int ret = vfg_device_check_feature(flags, argsz,
					   VFIO_DEVICE_FEATURE_SET, 0);

	if (ret != 1)
		return ret;
	down_write(&vdev->memory_lock);
	if (vdev->revoked)
		ret = -ENODEV;
	else
		vfg_pci_pm_disengage(vdev);
	up_write(&vdev->memory_lock);
	return ret == 1 ? 0 : ret;
}

/**
 * vfg_pci_feature_low_power() - the three low power device features
 * @vdev: the device, open, with an access usage count (vfg_pci_pm_get())
 * @flags: VFIO_DEVICE_FEATURE flags, the core's checks passed
 * @arg: the feature's data in user memory
 * @argsz: its size
 *
 * VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, _ENTRY_WITH_WAKEUP and _EXIT, SET
 * (and PROBE) only, with upstream's errnos: -EINVAL for a GET, for an entry
 * while one is engaged, for a short WITH_WAKEUP or a negative fd in it; the
 * eventfd lookup's errno (-EBADF, -EINVAL) for a bad fd.
 *
 * Return: 0, or a negative errno; -ENOTTY for another feature.
 */
int vfg_pci_feature_low_power(struct vfg_pci_device *vdev, u32 flags,
			      void __user *arg, size_t argsz)
{
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		return vfg_pci_feature_pm_entry(vdev, flags, arg, argsz);
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
		return vfg_pci_feature_pm_entry_wakeup(vdev, flags, arg, argsz);
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		return vfg_pci_feature_pm_exit(vdev, flags, arg, argsz);
	default:
		return -ENOTTY;
	}
}

/**
 * vfg_pci_pm_get() - wake the device for an access through its fd
 * @vdev: the device
 *
 * Takes a usage count, waking the device if it sleeps (low power entry),
 * which vfg_pci_pm_put() drops when the access is done.  Never with
 * memory_lock held: the resume callback takes it.
 *
 * Return: 0, or -EIO if the device cannot be woken (no count held then).
 */
int vfg_pci_pm_get(struct vfg_pci_device *vdev)
{
	int ret = pm_runtime_resume_and_get(&vdev->pdev->dev);

	if (ret) {
		pci_info_ratelimited(vdev->pdev, "runtime resume failed: %d\n",
				     ret);
		return -EIO;
	}
	return 0;
}

/**
 * vfg_pci_pm_put() - the access is done
 * @vdev: the device, with the count vfg_pci_pm_get() took
 *
 * In low power the device may suspend again now.
 */
void vfg_pci_pm_put(struct vfg_pci_device *vdev)
{
	pm_runtime_put(&vdev->pdev->dev);
}

/**
 * vfg_pci_pm_close() - end a low power entry and wake the device
 * @vdev: the device, at its last close or revoke, under the core's open_lock
 *
 * The usage count the entry dropped is taken back (so the close's own
 * pm_runtime_put() balances the open's), the wakeup eventfd is let go
 * without a signal, and the device is woken for the reset and the state
 * restore that follow.  memory_lock is not held across the resume.
 */
void vfg_pci_pm_close(struct vfg_pci_device *vdev)
{
	lockdep_assert_held(&vdev->core.open_lock);
	down_write(&vdev->memory_lock);
	vfg_pci_pm_disengage(vdev);
	up_write(&vdev->memory_lock);
	pm_runtime_resume(&vdev->pdev->dev);
}

/*
 * The PCI core has put the device back in D0 and restored its state; with
 * a wakeup eventfd engaged, tell userspace and stay awake.
 */
static int vfg_pci_runtime_resume(struct device *dev)
{
	struct vfg_pci_device *vdev = dev_get_drvdata(dev);

	if (!vdev)
		return 0;
	down_write(&vdev->memory_lock);
	if (vdev->pm_engaged && vdev->pm_wake) {
		eventfd_signal(vdev->pm_wake, 1);
		vfg_pci_pm_disengage(vdev);
	}
	vfg_pci_memory_write_unlock(vdev);
	return 0;
}

/*
 * The PCI core runtime-suspends a bound device only if its driver has PM
 * ops.  Without a runtime_suspend of ours it saves the state and puts the
 * device in D3hot itself, which is all we need; on resume it restores the
 * state before calling ours.
 */
const struct dev_pm_ops vfg_pci_pm_ops = {
	SET_RUNTIME_PM_OPS(NULL, vfg_pci_runtime_resume, NULL)
};

/**
 * vfg_pci_pm_init() - runtime PM of a device being bound
 * @vdev: the device, its drvdata set
 *
 * Its power state is unknown after binding, from where the PCI core allows
 * only D0; then runtime PM is allowed, and, unless disable_idle_d3, the
 * usage count the PCI core holds for a bound driver is dropped, so that the
 * device suspends while no fd has it open.
 */
void vfg_pci_pm_init(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;

	pci_set_power_state(pdev, PCI_D0);
	pm_runtime_allow(&pdev->dev);
	if (vdev->idle_d3)
		pm_runtime_put(&pdev->dev);
}

/**
 * vfg_pci_pm_exit() - undo vfg_pci_pm_init() at unbinding
 * @vdev: the device, its fds closed or revoked (no low power entry left)
 */
void vfg_pci_pm_exit(struct vfg_pci_device *vdev)
{
	WARN_ON_ONCE(vdev->pm_engaged);
	if (vdev->idle_d3)
		pm_runtime_get_noresume(&vdev->pdev->dev);
	pm_runtime_forbid(&vdev->pdev->dev);
}
