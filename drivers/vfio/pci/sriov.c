// SPDX-License-Identifier: GPL-2.0-only
/*
 * SR-IOV: virtual functions of a PF that userspace drives, and the VF token.
 *
 * With enable_sriov set, writing sriov_numvfs on a PF bound to us creates
 * its VFs (our sriov_configure); they are captured for this driver (their
 * driver_override is set as they are added, so they bind here, not to the
 * PF's kernel driver).  Without it the write fails with -ENOENT, as the
 * kernel's vfio-pci does.  A PF that already has VFs is not bound: we could
 * not track their users.
 *
 * A VF shares its PF's hardware, and userspace driving the PF can disturb
 * (or watch) its VFs.  So the PF's user and the VFs' users must trust each
 * other, and prove it with a shared secret, the VF token (a UUID), which the
 * PF's user sets with VFIO_DEVICE_FEATURE_PCI_VF_TOKEN and passes to the
 * VFs' users.  They open a device with "BDF vf_token=UUID" in
 * VFIO_GROUP_GET_DEVICE_FD (vfg_pci_match()).  The rules are upstream's:
 *   - a VF whose PF is bound here (and created it) needs the PF's token:
 *     missing or wrong is -EACCES;
 *   - a VF whose PF is not bound here takes no token: one is -EINVAL;
 *   - a PF (a function with the SR-IOV capability) needs the token while any
 *     of its VFs is open (-EACCES if missing or wrong); while none is, a
 *     token given with it sets the token;
 *   - a token for anything else is -EINVAL.
 * The token is checked when the fd is looked up and the VF counted as a
 * user when it opens, as upstream does: a token changed in between does not
 * undo an open.
 *
 * VF users: a VF counts on its PF from its first open (open_device) until
 * its last close or its revoke (vfg_pci_disable()).
 *
 * Lifetimes: a VF is linked to its PF (@sriov_pf) when it binds, if the PF
 * is bound here and has SR-IOV enabled by us.  The PF cannot go while the
 * link exists: its SR-IOV is disabled (which removes the VFs, each removal
 * waiting for the VF's fds as any removal does) before the PF itself is
 * unregistered, both in remove() and when userspace writes 0 to
 * sriov_numvfs.  Like upstream, we do not refuse that write while VFs are in
 * use: it waits for their users to release them (the REQ eventfd asks), or
 * revokes them after release_timeout_ms.
 *
 * Locking: vfg_pci_sriov_lock protects the list of PFs with SR-IOV enabled
 * by us and, in every device, @vf_token, @vf_users and @vf_user.  It is
 * innermost: taken under group->lock (vfg_pci_match()) and under the core's
 * open_lock (VF open and close), and nothing is taken under it.  It is never
 * held across pci_enable_sriov() or pci_disable_sriov(), which bind and
 * unbind the VFs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/uuid.h>

#include "vfio_pci_priv.h"

static bool enable_sriov;
module_param(enable_sriov, bool, 0644);
MODULE_PARM_DESC(enable_sriov,
		 "Enable support for SR-IOV configuration.  Enabling SR-IOV on a PF typically requires support of the userspace PF driver, enabling VFs without such support may result in non-functional VFs or PF.");

static DEFINE_MUTEX(vfg_pci_sriov_lock);	/* see above */
static LIST_HEAD(vfg_pci_sriov_pfs);

/* The PF of @pdev, a VF being added or bound, if we enabled its SR-IOV. */
static struct vfg_pci_device *vfg_pci_sriov_find_pf(struct pci_dev *pdev)
{
	struct pci_dev *physfn = pci_physfn(pdev);
	struct vfg_pci_device *pf;

	lockdep_assert_held(&vfg_pci_sriov_lock);
	list_for_each_entry(pf, &vfg_pci_sriov_pfs, sriov_node)
		if (pf->pdev == physfn)
			return pf;
	return NULL;
}

/**
 * vfg_pci_sriov_probe() - SR-IOV state of a device being bound
 * @vdev: the device, not registered yet
 *
 * Refuses a PF with VFs (their users could not be tracked), links a VF to
 * its PF if that is ours, gives a PF a random token.
 *
 * Return: 0, or -EBUSY for a PF with VFs.
 */
int vfg_pci_sriov_probe(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;

	INIT_LIST_HEAD(&vdev->sriov_node);
	if (pci_num_vf(pdev)) {
		pci_warn(pdev, "not binding: a PF with SR-IOV enabled (its VFs may be in use); disable it first\n");
		return -EBUSY;
	}
	mutex_lock(&vfg_pci_sriov_lock);
	if (pdev->is_virtfn)
		vdev->sriov_pf = vfg_pci_sriov_find_pf(pdev);
	else if (pdev->is_physfn)
		uuid_gen(&vdev->vf_token);
	mutex_unlock(&vfg_pci_sriov_lock);
	return 0;
}

/**
 * vfg_pci_sriov_configure() - sriov_configure of the driver
 * @pdev: a PF bound to us; the PCI core holds its device lock
 * @nr_virtfn: VFs to create, or 0 to remove them all
 *
 * Return: @nr_virtfn on success, -ENOENT without enable_sriov, -EINVAL if
 * VFs exist already, or the PCI core's error.
 */
int vfg_pci_sriov_configure(struct pci_dev *pdev, int nr_virtfn)
{
	struct vfg_pci_device *vdev = dev_get_drvdata(&pdev->dev);
	int ret;

	device_lock_assert(&pdev->dev);
	if (!nr_virtfn) {
		vfg_pci_sriov_disable(vdev);
		return 0;
	}
	if (!READ_ONCE(enable_sriov))
		return -ENOENT;

	mutex_lock(&vfg_pci_sriov_lock);
	/* Only the thread that lists the PF enables SR-IOV on it. */
	ret = list_empty(&vdev->sriov_node) ? 0 : -EINVAL;
	if (!ret)
		list_add_tail(&vdev->sriov_node, &vfg_pci_sriov_pfs);
	mutex_unlock(&vfg_pci_sriov_lock);
	if (ret)
		return ret;

	/* The PF stays in D0 while it has VFs. */
	ret = pm_runtime_resume_and_get(&pdev->dev);
	if (ret)
		goto err_unlist;
	ret = pci_enable_sriov(pdev, nr_virtfn);
	if (ret)
		goto err_pm;
	return nr_virtfn;

err_pm:
	pm_runtime_put(&pdev->dev);
err_unlist:
	mutex_lock(&vfg_pci_sriov_lock);
	list_del_init(&vdev->sriov_node);
	mutex_unlock(&vfg_pci_sriov_lock);
	return ret;
}

/**
 * vfg_pci_sriov_disable() - remove the VFs we created on a PF
 * @vdev: the PF; its device lock is held (sriov_numvfs or remove())
 *
 * Each VF's removal waits for its fds, or revokes them (device.c).  A no-op
 * if we did not enable SR-IOV.
 */
void vfg_pci_sriov_disable(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	bool listed;

	device_lock_assert(&pdev->dev);
	mutex_lock(&vfg_pci_sriov_lock);
	listed = !list_empty(&vdev->sriov_node);
	mutex_unlock(&vfg_pci_sriov_lock);
	if (!listed)
		return;
	pci_disable_sriov(pdev);
	pm_runtime_put(&pdev->dev);
	mutex_lock(&vfg_pci_sriov_lock);
	list_del_init(&vdev->sriov_node);
	WARN_ON(vdev->vf_users);
	mutex_unlock(&vfg_pci_sriov_lock);
}

/**
 * vfg_pci_sriov_open() - a VF's first open: count it on its PF
 * @vdev: the device; the core's open_lock is held
 */
void vfg_pci_sriov_open(struct vfg_pci_device *vdev)
{
	lockdep_assert_held(&vdev->core.open_lock);
	if (!vdev->sriov_pf)
		return;
	mutex_lock(&vfg_pci_sriov_lock);
	vdev->sriov_pf->vf_users++;
	vdev->vf_user = true;
	mutex_unlock(&vfg_pci_sriov_lock);
}

/**
 * vfg_pci_sriov_close() - a VF's last close or revoke: no longer a user
 * @vdev: the device; the core's open_lock is held
 */
void vfg_pci_sriov_close(struct vfg_pci_device *vdev)
{
	lockdep_assert_held(&vdev->core.open_lock);
	mutex_lock(&vfg_pci_sriov_lock);
	if (vdev->vf_user && !WARN_ON(!vdev->sriov_pf->vf_users))
		vdev->sriov_pf->vf_users--;
	vdev->vf_user = false;
	mutex_unlock(&vfg_pci_sriov_lock);
}

/*
 * Upstream's rules (see the top of this file) for @vdev opened with a token
 * (@uuid) or without (@uuid NULL).
 */
static int vfg_pci_check_vf_token(struct vfg_pci_device *vdev,
				  const uuid_t *uuid)
{
	struct pci_dev *pdev = vdev->pdev;
	int ret = 0;

	mutex_lock(&vfg_pci_sriov_lock);
	if (pdev->is_virtfn && vdev->sriov_pf) {
		if (!uuid) {
			pci_info_ratelimited(pdev, "VF token required to access device\n");
			ret = -EACCES;
		} else if (!uuid_equal(uuid, &vdev->sriov_pf->vf_token)) {
			pci_info_ratelimited(pdev, "Incorrect VF token provided for device\n");
			ret = -EACCES;
		}
	} else if (pdev->is_virtfn) {
		if (uuid) {
			pci_info_ratelimited(pdev, "VF token incorrectly provided, PF not bound to vfio-pci\n");
			ret = -EINVAL;
		}
	} else if (pdev->is_physfn) {
		if (vdev->vf_users && !uuid) {
			pci_info_ratelimited(pdev, "VF token required to access device\n");
			ret = -EACCES;
		} else if (vdev->vf_users &&
			   !uuid_equal(uuid, &vdev->vf_token)) {
			pci_info_ratelimited(pdev, "Incorrect VF token provided for device\n");
			ret = -EACCES;
		} else if (uuid) {
			/* No VF in use: the PF's user sets the token. */
			uuid_copy(&vdev->vf_token, uuid);
		}
	} else if (uuid) {
		pci_info_ratelimited(pdev, "VF token incorrectly provided, not a PF or VF\n");
		ret = -EINVAL;
	}
	mutex_unlock(&vfg_pci_sriov_lock);
	return ret;
}

#define VFG_VF_TOKEN_ARG "vf_token="

/**
 * vfg_pci_match() - the match callback: "BDF" or "BDF vf_token=UUID"
 * @core: a device of ours; its group's lock is held
 * @buf: the VFIO_GROUP_GET_DEVICE_FD string
 *
 * After the name, blanks separate options; the only one is a single
 * vf_token=, whose UUID is checked by upstream's rules.
 *
 * Return: 1 if @buf names the device and may open it, 0 if it names
 * another, -EINVAL for a malformed, unknown or repeated option or a token
 * the device takes none of, -EACCES for a missing or wrong token.
 */
int vfg_pci_match(struct vfg_device *core, const char *buf)
{
	struct vfg_pci_device *vdev = to_vfg_pci(core);
	const char *name = pci_name(vdev->pdev);
	size_t len = strlen(name);
	uuid_t uuid, *token = NULL;

	if (strncmp(buf, name, len))
		return 0;
	buf += len;
	if (*buf && *buf != ' ')
		return 0;	/* a longer name */
	while (*buf) {
		if (*buf == ' ') {
			buf++;
			continue;
		}
		if (token || strncmp(buf, VFG_VF_TOKEN_ARG,
				     strlen(VFG_VF_TOKEN_ARG)))
			return -EINVAL;
		buf += strlen(VFG_VF_TOKEN_ARG);
		if (strnlen(buf, UUID_STRING_LEN) < UUID_STRING_LEN ||
		    uuid_parse(buf, &uuid))
			return -EINVAL;
		buf += UUID_STRING_LEN;
		token = &uuid;
	}
	return vfg_pci_check_vf_token(vdev, token) ?: 1;
}

/**
 * vfg_pci_feature_vf_token() - VFIO_DEVICE_FEATURE_PCI_VF_TOKEN
 * @vdev: the device
 * @flags: the feature's flags
 * @arg: the UUID
 * @argsz: its size
 *
 * SET only: a GET would show the token of the PF's previous user.
 *
 * Return: 0, -ENOTTY on a device without the SR-IOV capability, -EINVAL
 * for a GET or a short argument, -EFAULT.
 */
int vfg_pci_feature_vf_token(struct vfg_pci_device *vdev, u32 flags,
			     void __user *arg, size_t argsz)
{
	uuid_t uuid;
	int ret;

	if (!vdev->pdev->is_physfn)
		return -ENOTTY;
	ret = vfg_device_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET,
				       sizeof(uuid));
	if (ret != 1)
		return ret;
	if (copy_from_user(&uuid, arg, sizeof(uuid)))
		return -EFAULT;
	mutex_lock(&vfg_pci_sriov_lock);
	uuid_copy(&vdev->vf_token, &uuid);
	mutex_unlock(&vfg_pci_sriov_lock);
	return 0;
}

/*
 * VFs of a PF we enabled SR-IOV on bind here: their driver_override is set
 * as they are added, before any driver is probed.  One bound elsewhere
 * anyway (by an administrator) is worth a warning, as upstream gives.
 */
static int vfg_pci_sriov_notify(struct notifier_block *nb,
				unsigned long action, void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct pci_driver *drv, *ours;
	struct vfg_pci_device *pf;

	if (!pdev->is_virtfn || (action != BUS_NOTIFY_ADD_DEVICE &&
				 action != BUS_NOTIFY_BOUND_DRIVER))
		return NOTIFY_DONE;
	mutex_lock(&vfg_pci_sriov_lock);
	pf = vfg_pci_sriov_find_pf(pdev);
	ours = pf ? pci_dev_driver(pf->pdev) : NULL;
	if (pf && action == BUS_NOTIFY_ADD_DEVICE) {
		kfree(pdev->driver_override);
		pdev->driver_override = kstrdup(ours->name, GFP_KERNEL);
		pci_info(pf->pdev, "captured SR-IOV VF %s for %s\n",
			 pci_name(pdev), ours->name);
	} else if (pf) {
		drv = pci_dev_driver(pdev);
		if (drv && drv != ours)
			pci_warn(pf->pdev, "VF %s bound to driver %s while PF bound to driver %s\n",
				 pci_name(pdev), drv->name, ours->name);
	}
	mutex_unlock(&vfg_pci_sriov_lock);
	return NOTIFY_DONE;
}

static struct notifier_block vfg_pci_sriov_nb = {
	.notifier_call = vfg_pci_sriov_notify,
};

/**
 * vfg_pci_sriov_init() - watch for VFs being added
 *
 * Return: 0 or the bus notifier's error.
 */
int vfg_pci_sriov_init(void)
{
	return bus_register_notifier(&pci_bus_type, &vfg_pci_sriov_nb);
}

/**
 * vfg_pci_sriov_exit() - the inverse of vfg_pci_sriov_init()
 */
void vfg_pci_sriov_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &vfg_pci_sriov_nb);
}
