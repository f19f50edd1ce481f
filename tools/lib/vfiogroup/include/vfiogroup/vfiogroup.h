/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfiogroup: IOMMU groups made usable.
 *
 * Every call that takes a struct vfg_ctx reads sysfs (and /proc) below the
 * context's root ("/" normally; a fake tree in tests).  Functions return 0 (or
 * a count) on success, -1 on error with errno set, unless documented
 * otherwise.  Arrays returned through a pointer argument are allocated by the
 * library; free them as each function says.
 *
 * Names are object-action: vfg_<object>_<action>(), the object being the
 * context, a device (by PCI address), a group (by number), a plan or a
 * process.
 */
#ifndef VFIOGROUP_H
#define VFIOGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Returned by vfg_device_get_group() when the device has no IOMMU group. */
#define VFG_NO_GROUP (-2)

/** Size of the name buffers in this API (drivers, devices), with the NUL. */
#define VFG_NAME_MAX 64

/** Size of a canonical PCI address buffer, "DDDD:BB:DD.F" and the NUL. */
#define VFG_BDF_MAX 13

struct vfg_ctx;

/* ------------------------------------------------------------------------
 * Context
 */

/**
 * vfg_ctx_new() - open a library context
 * @sysfs_root: directory that holds "sys/" (and "proc/", "run/"), or NULL for
 *              "/"
 *
 * Return: a context to free with vfg_ctx_free(), or NULL with errno set.
 */
struct vfg_ctx *vfg_ctx_new(const char *sysfs_root);

/**
 * vfg_ctx_free() - release a context
 * @ctx: context from vfg_ctx_new(), or NULL
 */
void vfg_ctx_free(struct vfg_ctx *ctx);

/**
 * vfg_ctx_get_root() - the root prefix of a context
 * @ctx: library context
 *
 * Return: the prefix put before every absolute path, "" for the real system.
 */
const char *vfg_ctx_get_root(struct vfg_ctx *ctx);

/**
 * vfg_ctx_get_driver_name() - the name of the vfio-groups PCI driver
 * @ctx: library context
 *
 * Read from /sys/module/vfio_pci/parameters/driver_name when the module is
 * loaded with that parameter, "vfio-pci" otherwise.  Read once per context.
 *
 * Return: the name; never NULL.
 */
const char *vfg_ctx_get_driver_name(struct vfg_ctx *ctx);

/**
 * vfg_ctx_has_module() - whether the vfio-groups module is loaded
 * @ctx: library context
 *
 * True when /sys/class/vfio exists: then each group's members, viable,
 * blockers and holder attributes are the kernel's (authoritative) view.
 *
 * Return: 1 if loaded, 0 if not.
 */
int vfg_ctx_has_module(struct vfg_ctx *ctx);

/**
 * vfg_ctx_get_groups() - every IOMMU group of the system
 * @ctx: library context
 * @groups: set to an array of group numbers in increasing order; free()
 *
 * Return: the number of groups (0 when the IOMMU is off), or -1 with errno
 * set.
 */
int vfg_ctx_get_groups(struct vfg_ctx *ctx, int **groups);

/* ------------------------------------------------------------------------
 * Devices and groups
 */

/**
 * vfg_device_get_group() - the IOMMU group number of a PCI device
 * @ctx: library context
 * @bdf: PCI address, "DDDD:BB:DD.F" (the domain may be omitted)
 *
 * Return: the group number (>= 0); VFG_NO_GROUP when the device exists but
 * has no IOMMU group; -1 with errno set on error (ENOENT: no such device,
 * EINVAL: malformed address).
 */
int vfg_device_get_group(struct vfg_ctx *ctx, const char *bdf);

/**
 * typedef vfg_device_fn - callback of vfg_group_for_each_device()
 * @bdf: PCI address of one member
 * @opaque: caller's pointer
 *
 * Return: 0 to continue, anything else to stop the walk and return it.
 */
typedef int (*vfg_device_fn)(const char *bdf, void *opaque);

/**
 * vfg_group_for_each_device() - call @fn for each member of a group
 * @ctx: library context
 * @group: IOMMU group number
 * @fn: callback, called in address order
 * @opaque: passed to @fn
 *
 * A member that goes away during the walk (hot removal, or a callback that
 * removes it) is skipped, not reported.
 *
 * Return: 0 when every member was visited, the callback's non-zero value if it
 * stopped the walk, -1 with errno set on error (ENOENT: no such group).
 */
int vfg_group_for_each_device(struct vfg_ctx *ctx, int group,
			      vfg_device_fn fn, void *opaque);

/**
 * vfg_group_get_members() - the PCI addresses of a group's members
 * @ctx: library context
 * @group: IOMMU group number
 * @members: set to a NULL-terminated array; free with vfg_strv_free()
 *
 * Return: the number of members, or -1 with errno set.
 */
int vfg_group_get_members(struct vfg_ctx *ctx, int group, char ***members);

/**
 * vfg_strv_free() - free a NULL-terminated array of strings
 * @strv: array from this library, or NULL
 */
void vfg_strv_free(char **strv);

/**
 * vfg_bdf_normalize() - canonical "DDDD:BB:DD.F" form of a PCI address
 * @in: address, with or without the domain, any case
 * @out: buffer of at least 13 bytes
 *
 * Return: 0, or -1 with errno EINVAL if @in is not a PCI address.
 */
int vfg_bdf_normalize(const char *in, char out[13]);

/**
 * struct vfg_device_info - one device as sysfs shows it
 * @name: PCI address, or the device name of a non-PCI group member
 * @is_pci: 1 for a PCI device
 * @vendor: PCI vendor ID
 * @device: PCI device ID
 * @pci_class: 24-bit PCI class code (0x060400 for a PCI-to-PCI bridge)
 * @is_bridge: 1 when the function is not a normal (type 0) function: a
 *             bridge, which vfio-pci cannot take
 * @group: IOMMU group number, or VFG_NO_GROUP
 * @driver: bound driver, "" when unbound
 * @override: driver_override, "" when not set
 * @blocks: 1 when the device keeps its group from being viable
 * @why: when @blocks, the reason (the kernel's words when it is loaded)
 */
struct vfg_device_info {
	char name[VFG_NAME_MAX];
	int is_pci;
	unsigned int vendor;
	unsigned int device;
	unsigned int pci_class;
	int is_bridge;
	int group;
	char driver[VFG_NAME_MAX];
	char override[VFG_NAME_MAX];
	int blocks;
	char why[160];
};

/**
 * vfg_device_get_info() - identity, driver and viability of a PCI device
 * @ctx: library context
 * @bdf: PCI address
 * @info: filled in
 *
 * @info->blocks comes from the group's "blockers" attribute when the
 * vfio-groups module is loaded, from vfg_driver_is_dma_managed() otherwise.
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such device).
 */
int vfg_device_get_info(struct vfg_ctx *ctx, const char *bdf,
			struct vfg_device_info *info);

/**
 * vfg_device_get_driver() - the driver bound to a PCI device
 * @ctx: library context
 * @bdf: PCI address
 * @buf: set to the driver's name, "" when unbound
 * @len: size of @buf
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such device).
 */
int vfg_device_get_driver(struct vfg_ctx *ctx, const char *bdf, char *buf,
			  size_t len);

/**
 * vfg_driver_is_dma_managed() - whether a driver leaves a group viable
 * @ctx: library context
 * @driver: driver name, "" for none
 *
 * The library's own rule, used when the module is not loaded: no driver, our
 * PCI driver (vfg_ctx_get_driver_name()), or a driver known to set
 * driver_managed_dma (pci-stub, pcieport, vfio-pci).
 *
 * Return: 1 if a device bound to @driver does not block its group, else 0.
 */
int vfg_driver_is_dma_managed(struct vfg_ctx *ctx, const char *driver);

/**
 * struct vfg_blocker - one device that keeps a group from being viable
 * @device: device name (PCI address for PCI devices)
 * @driver: the driver it is bound to
 * @why: the reason
 */
struct vfg_blocker {
	char device[VFG_NAME_MAX];
	char driver[VFG_NAME_MAX];
	char why[160];
};

/**
 * struct vfg_group_status - a group and its members
 * @group: IOMMU group number
 * @viable: 1 when userspace may use the group
 * @from_kernel: 1 when @viable, @blockers and @holder come from
 *               /sys/class/vfio/GROUP (the module is loaded); 0 when the
 *               library computed them
 * @holder: PID of the process that has /dev/vfio/GROUP open, 0 for none, -1
 *          when unknown (module not loaded; see vfg_group_get_holders())
 * @n_devices: number of entries in @devices
 * @devices: the members in address order
 * @n_blockers: number of entries in @blockers
 * @blockers: the members that keep the group from being viable
 * @noiommu: 1 for a no-IOMMU group (see vfg_group_is_noiommu()): nothing
 *           isolates its device's DMA
 * @node: the group's character device, "/dev/vfio/GROUP" or, for a no-IOMMU
 *        group, "/dev/vfio/noiommu-GROUP" (without the context's root)
 */
struct vfg_group_status {
	int group;
	int viable;
	int from_kernel;
	int holder;
	size_t n_devices;
	struct vfg_device_info *devices;
	size_t n_blockers;
	struct vfg_blocker *blockers;
	int noiommu;
	char node[VFG_NAME_MAX];
};

/**
 * vfg_group_get_status() - viability, members and holder of a group
 * @ctx: library context
 * @group: IOMMU group number
 * @status: set to the status; free with vfg_group_status_free()
 *
 * Members that vanish while they are read are left out.
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such group).
 */
int vfg_group_get_status(struct vfg_ctx *ctx, int group,
			 struct vfg_group_status **status);

/**
 * vfg_group_status_free() - free a status from vfg_group_get_status()
 * @status: the status, or NULL
 */
void vfg_group_status_free(struct vfg_group_status *status);

/**
 * vfg_group_is_viable() - whether a group may be used from userspace
 * @ctx: library context
 * @group: IOMMU group number
 *
 * Return: 1 if viable, 0 if not, -1 on error with errno set.
 */
int vfg_group_is_viable(struct vfg_ctx *ctx, int group);

/**
 * vfg_group_is_noiommu() - whether a group is a VFIO no-IOMMU group
 * @ctx: library context
 * @group: IOMMU group number
 *
 * With the vfio module's enable_unsafe_noiommu_mode, binding a device that
 * has no IOMMU group to vfio-pci makes one for it alone, named
 * "vfio-noiommu" (/sys/kernel/iommu_groups/GROUP/name), whose node is
 * /dev/vfio/noiommu-GROUP and whose vfio attributes are in
 * /sys/class/vfio/noiommu-GROUP.  Nothing isolates the device's DMA: using
 * it needs CAP_SYS_RAWIO and taints the kernel.
 *
 * Return: 1 for a no-IOMMU group, 0 for another, -1 with errno set
 * (ENOENT: no such group).
 */
int vfg_group_is_noiommu(struct vfg_ctx *ctx, int group);

/**
 * vfg_group_get_node() - the character device of a group
 * @ctx: library context
 * @group: IOMMU group number
 * @buf: set to "/dev/vfio/GROUP", or "/dev/vfio/noiommu-GROUP" for a
 *       no-IOMMU group (without the context's root)
 * @len: size of @buf
 *
 * Return: 0, or -1 with errno set (ENOENT: no such group, ENAMETOOLONG).
 */
int vfg_group_get_node(struct vfg_ctx *ctx, int group, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Why a group has the members it has
 */

/**
 * enum vfg_why_kind - what joins devices into one group
 * @VFG_WHY_ALIAS: the device is behind a PCIe-to-PCI or conventional PCI
 *                 bridge; the IOMMU sees its DMA with the bridge's requester
 *                 ID, so it cannot be told apart from its neighbours
 * @VFG_WHY_NO_ACS: an upstream port lacks ACS (source validation, request and
 *                  completion redirect, upstream forwarding), so devices below
 *                  it can reach each other without the IOMMU
 * @VFG_WHY_MULTIFUNCTION: a function of a multifunction device without ACS;
 *                         the functions may talk to each other internally
 * @VFG_WHY_UNKNOWN: the reason cannot be read (config space unreadable
 *                   without root, or a kernel quirk)
 */
enum vfg_why_kind {
	VFG_WHY_ALIAS,
	VFG_WHY_NO_ACS,
	VFG_WHY_MULTIFUNCTION,
	VFG_WHY_UNKNOWN,
};

/**
 * struct vfg_why - one reason why a member shares its group
 * @kind: what kind of reason
 * @device: the member it applies to
 * @at: the bridge, port or function where isolation stops
 * @text: one sentence for people
 */
struct vfg_why {
	enum vfg_why_kind kind;
	char device[VFG_BDF_MAX];
	char at[VFG_BDF_MAX];
	char text[256];
};

/**
 * vfg_group_explain() - why a group holds more than one device
 * @ctx: library context
 * @group: IOMMU group number
 * @why: set to the reasons (none for a group of one); free()
 *
 * Rebuilds the kernel's grouping rules (DMA aliases through PCI bridges, ACS
 * on the path to the root, ACS on multifunction devices) from PCI config
 * space.  Device-specific kernel quirks are not visible from userspace.
 *
 * Return: the number of reasons, or -1 on error with errno set.
 */
int vfg_group_explain(struct vfg_ctx *ctx, int group, struct vfg_why **why);

/* ------------------------------------------------------------------------
 * Binding a whole group: plans, applied all or nothing
 */

/**
 * enum vfg_action - what a plan does to one member
 * @VFG_ACTION_NONE: nothing (already in place, or left alone: see @note)
 * @VFG_ACTION_BIND: set driver_override to our driver and bind it
 * @VFG_ACTION_UNBIND: unbind from a driver that blocks (bridges)
 * @VFG_ACTION_RESTORE: go back to the driver and override of a record
 * @VFG_ACTION_RELEASE: unbind from our driver, clear the override, and let
 *                      the kernel probe a driver
 */
enum vfg_action {
	VFG_ACTION_NONE,
	VFG_ACTION_BIND,
	VFG_ACTION_UNBIND,
	VFG_ACTION_RESTORE,
	VFG_ACTION_RELEASE,
};

/**
 * struct vfg_change - one member in a plan
 * @device: PCI address
 * @action: what to do
 * @old_driver: driver before ("" for none)
 * @old_override: driver_override before ("" for none)
 * @new_driver: driver after ("" for none)
 * @new_override: driver_override after ("" for none)
 * @probe: after reaching the new state, ask the kernel to probe a driver
 * @note: why this action, for people
 * @done: set by vfg_plan_apply() once the change is made
 * @undo_error: set by vfg_plan_apply() when the change could not be undone
 *              during a rollback: the errno of that failure, else 0
 */
struct vfg_change {
	char device[VFG_BDF_MAX];
	enum vfg_action action;
	char old_driver[VFG_NAME_MAX];
	char old_override[VFG_NAME_MAX];
	char new_driver[VFG_NAME_MAX];
	char new_override[VFG_NAME_MAX];
	int probe;
	char note[160];
	int done;
	int undo_error;
};

/**
 * struct vfg_plan - changes to a group's drivers, made all or nothing
 * @group: IOMMU group number
 * @n_changes: number of entries in @changes
 * @changes: one per member, in address order
 * @failed: index of the change that failed, -1 if none
 * @error: errno of the failure
 * @step: the sysfs write that failed, for people
 * @rollback_failures: members that could not be put back after the failure
 *                     (0: the system is as it was before)
 */
struct vfg_plan {
	int group;
	size_t n_changes;
	struct vfg_change *changes;
	int failed;
	int error;
	char step[256];
	int rollback_failures;
};

/**
 * vfg_group_plan_bind() - plan to hand a whole group to our PCI driver
 * @ctx: library context
 * @group: IOMMU group number
 * @plan: set to the plan; free with vfg_plan_free()
 *
 * Normal functions are bound to vfg_ctx_get_driver_name() with
 * driver_override.  Bridges are left alone unless their driver blocks the
 * group (shpchp does), in which case they are unbound.
 *
 * Return: 0 on success, -1 on error with errno set.
 */
int vfg_group_plan_bind(struct vfg_ctx *ctx, int group, struct vfg_plan **plan);

/**
 * vfg_group_plan_unbind() - plan to give a group back to the host
 * @ctx: library context
 * @group: IOMMU group number
 * @record: the plan that bound the group (vfg_plan_load()), or NULL
 * @plan: set to the plan; free with vfg_plan_free()
 *
 * With @record, each member that is still as the record left it goes back to
 * its previous driver and override; members changed since are left alone.
 * Without, members bound to our driver are released: unbound, override
 * cleared, and probed so that the kernel picks their usual driver.
 *
 * Return: 0 on success, -1 on error with errno set.
 */
int vfg_group_plan_unbind(struct vfg_ctx *ctx, int group,
			  const struct vfg_plan *record, struct vfg_plan **plan);

/**
 * vfg_plan_apply() - make the changes of a plan, all or nothing
 * @ctx: library context
 * @plan: plan from vfg_group_plan_bind() or vfg_group_plan_unbind()
 *
 * On failure, every member already changed (and the one that failed) is put
 * back to its previous driver and override, in reverse order; @plan->failed,
 * @plan->error, @plan->step and @plan->rollback_failures say what happened.
 *
 * Return: 0 on success, -1 on error with errno set (that of the failed step).
 */
int vfg_plan_apply(struct vfg_ctx *ctx, struct vfg_plan *plan);

/**
 * vfg_plan_is_empty() - whether a plan changes nothing
 * @plan: the plan
 *
 * Return: 1 when every change is VFG_ACTION_NONE, else 0.
 */
int vfg_plan_is_empty(const struct vfg_plan *plan);

/**
 * vfg_plan_save() - record a plan in a file
 * @plan: the plan
 * @path: file to write (replaced atomically)
 *
 * Return: 0 on success, -1 on error with errno set.
 */
int vfg_plan_save(const struct vfg_plan *plan, const char *path);

/**
 * vfg_plan_load() - read a plan recorded by vfg_plan_save()
 * @path: the file
 * @plan: set to the plan; free with vfg_plan_free()
 *
 * Return: 0 on success, -1 on error with errno set (EINVAL: not a record).
 */
int vfg_plan_load(const char *path, struct vfg_plan **plan);

/**
 * vfg_plan_free() - free a plan
 * @plan: the plan, or NULL
 */
void vfg_plan_free(struct vfg_plan *plan);

/**
 * vfg_action_name() - a short name for an action
 * @action: the action
 *
 * Return: "none", "bind", "unbind", "restore" or "release".
 */
const char *vfg_action_name(enum vfg_action action);

/**
 * vfg_group_bind() - bind a whole group to our PCI driver
 * @ctx: library context
 * @group: IOMMU group number
 *
 * vfg_group_plan_bind() then vfg_plan_apply(); no safety checks.
 *
 * Return: 0 on success, -1 on error with errno set (nothing changed).
 */
int vfg_group_bind(struct vfg_ctx *ctx, int group);

/**
 * vfg_group_unbind() - release a whole group from our PCI driver
 * @ctx: library context
 * @group: IOMMU group number
 *
 * vfg_group_plan_unbind() without a record, then vfg_plan_apply().
 *
 * Return: 0 on success, -1 on error with errno set (nothing changed).
 */
int vfg_group_unbind(struct vfg_ctx *ctx, int group);

/* ------------------------------------------------------------------------
 * Persistent bindings: groups bound again at every boot
 *
 * IOMMU group numbers can change from one boot to the next (a device added,
 * a firmware setting, a kernel with other quirks), so a persistent binding
 * names its group by identity: the PCI address and vendor:device ID of each
 * member.  It also keeps what the bind changed (the plan, as in the record of
 * vfg_plan_save()).  Each binding is one file, named after its first
 * member's address, in a directory (/etc/vfio-groups/persistent.d for the
 * vfio-group command):
 *
 *   vfio-group-binding 1
 *   group 2
 *   member 0000:01:01.0 1234:11e8
 *   change 0000:01:01.0 bind - - vfio-pci vfio-pci 0
 */

/** The directory of persistent bindings, below the context's root. */
#define VFG_BINDING_DIR "/etc/vfio-groups/persistent.d"

/**
 * struct vfg_binding_member - one member of a persistently bound group
 * @device: PCI address
 * @vendor: PCI vendor ID
 * @device_id: PCI device ID
 */
struct vfg_binding_member {
	char device[VFG_BDF_MAX];
	unsigned int vendor;
	unsigned int device_id;
};

/**
 * struct vfg_binding - a group to bind at every boot
 * @name: the file's name without ".conf": the first member's address
 * @group: the group's number when it was recorded (for people: the number
 *         at boot is found by vfg_binding_find_group())
 * @n_members: number of entries in @members
 * @members: the PCI members in address order
 * @record: what the bind changed, or NULL (members that were bound already)
 */
struct vfg_binding {
	char name[VFG_BDF_MAX];
	int group;
	size_t n_members;
	struct vfg_binding_member *members;
	struct vfg_plan *record;
};

/**
 * vfg_group_get_binding() - the persistent binding of a group as it is now
 * @ctx: library context
 * @group: IOMMU group number
 * @record: what the bind changed (vfg_plan_load()), or NULL; copied
 * @binding: set to the binding; free with vfg_binding_free()
 *
 * Non-PCI members are left out: binding leaves them alone.
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such group;
 * ENODEV: the group has no PCI member).
 */
int vfg_group_get_binding(struct vfg_ctx *ctx, int group,
			  const struct vfg_plan *record,
			  struct vfg_binding **binding);

/**
 * vfg_binding_save() - write a binding to its file in a directory
 * @binding: the binding
 * @dir: the directory (created, with its parents, if missing)
 *
 * The file is "@dir/NAME.conf", replaced atomically.
 *
 * Return: 0 on success, -1 on error with errno set.
 */
int vfg_binding_save(const struct vfg_binding *binding, const char *dir);

/**
 * vfg_binding_load() - read a binding file
 * @path: the file
 * @binding: set to the binding; free with vfg_binding_free()
 *
 * Return: 0 on success, -1 on error with errno set (EINVAL: not a binding).
 */
int vfg_binding_load(const char *path, struct vfg_binding **binding);

/**
 * vfg_binding_free() - free a binding
 * @binding: the binding, or NULL
 */
void vfg_binding_free(struct vfg_binding *binding);

/**
 * vfg_binding_load_all() - read every binding of a directory
 * @dir: the directory
 * @bindings: set to an array of bindings in name order; free with
 *            vfg_binding_free_all()
 *
 * Files whose names do not end in ".conf" are ignored; a missing directory
 * has no bindings.
 *
 * Return: the number of bindings, or -1 with errno set (EINVAL: a ".conf"
 * file is not a binding; nothing is returned then).
 */
int vfg_binding_load_all(const char *dir, struct vfg_binding ***bindings);

/**
 * vfg_binding_free_all() - free the array from vfg_binding_load_all()
 * @bindings: the array, or NULL
 * @n: its number of entries
 */
void vfg_binding_free_all(struct vfg_binding **bindings, int n);

/**
 * vfg_binding_find_group() - the group a binding names, on this boot
 * @ctx: library context
 * @binding: the binding
 * @why: set to the reason, for people, when the group is not found
 * @len: size of @why
 *
 * Every recorded member must be present with the same vendor:device ID, all
 * in one IOMMU group, and that group must have no other PCI member.
 *
 * Return: the group number (>= 0), or -1 with errno set: ENODEV when a
 * member is gone or has no IOMMU group, ESTALE when a member's ID changed
 * or the members' grouping changed; other values on errors.
 */
int vfg_binding_find_group(struct vfg_ctx *ctx,
			   const struct vfg_binding *binding, char *why,
			   size_t len);

/**
 * vfg_binding_has_device() - whether a binding records a member
 * @binding: the binding
 * @bdf: canonical PCI address
 *
 * Return: 1 if @bdf is one of its members, else 0.
 */
int vfg_binding_has_device(const struct vfg_binding *binding, const char *bdf);

/**
 * vfg_binding_remove() - delete a binding's file
 * @binding: the binding
 * @dir: the directory it was loaded from
 *
 * Return: 0 on success, -1 on error with errno set.
 */
int vfg_binding_remove(const struct vfg_binding *binding, const char *dir);

/* ------------------------------------------------------------------------
 * What the host uses a device for (the safety check before a bind)
 */

/**
 * enum vfg_use_kind - how the host depends on a device
 * @VFG_USE_ROOT: it holds the root filesystem
 * @VFG_USE_MOUNT: it holds a mounted filesystem
 * @VFG_USE_SWAP: it holds active swap
 * @VFG_USE_NET_ADDR: it has a network interface with an address (other than
 *                    IPv6 link-local)
 * @VFG_USE_NET_ROUTE: it has a network interface that routes go through
 * @VFG_USE_CONSOLE: it drives an active console
 */
enum vfg_use_kind {
	VFG_USE_ROOT,
	VFG_USE_MOUNT,
	VFG_USE_SWAP,
	VFG_USE_NET_ADDR,
	VFG_USE_NET_ROUTE,
	VFG_USE_CONSOLE,
};

/**
 * struct vfg_use - one way the host uses a device
 * @device: the PCI device
 * @kind: how
 * @name: the block device, interface or console ("nvme0n1p2", "eth0")
 * @detail: the mount point, address, route or console list
 */
struct vfg_use {
	char device[VFG_BDF_MAX];
	enum vfg_use_kind kind;
	char name[VFG_NAME_MAX];
	char detail[192];
};

/**
 * vfg_device_get_uses() - how the host depends on a PCI device
 * @ctx: library context
 * @bdf: PCI address
 * @uses: set to the uses found; free()
 *
 * Looks at the block devices (and what is stacked on them), network
 * interfaces and consoles whose nearest PCI ancestor is @bdf, against
 * /proc/self/mountinfo, /proc/swaps, /proc/net/{if_inet6,route,ipv6_route}
 * (and IPv4 addresses with getifaddrs() on the real system) and
 * /sys/class/tty/console/active.
 *
 * Return: the number of uses, or -1 on error with errno set.
 */
int vfg_device_get_uses(struct vfg_ctx *ctx, const char *bdf,
			struct vfg_use **uses);

/**
 * vfg_group_get_uses() - how the host depends on the members of a group
 * @ctx: library context
 * @group: IOMMU group number
 * @uses: set to the uses found; free()
 *
 * Return: the number of uses, or -1 on error with errno set.
 */
int vfg_group_get_uses(struct vfg_ctx *ctx, int group, struct vfg_use **uses);

/**
 * vfg_use_kind_name() - a short name for a kind of use
 * @kind: the kind
 *
 * Return: "root", "mount", "swap", "address", "route" or "console".
 */
const char *vfg_use_kind_name(enum vfg_use_kind kind);

/* ------------------------------------------------------------------------
 * Holders
 */

/** Holder found through /sys/class/vfio/GROUP/holder. */
#define VFG_HOLDER_SYSFS 0x1
/** Holder found through a /proc/PID/fd link to /dev/vfio/GROUP. */
#define VFG_HOLDER_FD 0x2

/**
 * struct vfg_holder - a process that has a group open
 * @pid: process ID
 * @comm: command name (/proc/PID/comm), "" if it could not be read
 * @how: VFG_HOLDER_SYSFS and/or VFG_HOLDER_FD
 */
struct vfg_holder {
	int pid;
	char comm[32];
	unsigned int how;
};

/**
 * vfg_group_get_holders() - the processes that have a group open
 * @ctx: library context
 * @group: IOMMU group number
 * @holders: set to the holders in PID order; free()
 *
 * Reads the group's "holder" attribute and scans /proc/PID/fd for links to
 * /dev/vfio/GROUP (processes whose fds cannot be read are skipped).
 *
 * Return: the number of holders, or -1 on error with errno set.
 */
int vfg_group_get_holders(struct vfg_ctx *ctx, int group,
			  struct vfg_holder **holders);

/**
 * vfg_process_get_comm() - the command name of a process
 * @ctx: library context
 * @pid: process ID
 * @buf: set to /proc/PID/comm without the newline
 * @len: size of @buf
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such process).
 */
int vfg_process_get_comm(struct vfg_ctx *ctx, int pid, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * Locked memory
 */

/** An RLIMIT_MEMLOCK of "unlimited". */
#define VFG_MEMLOCK_UNLIMITED UINT64_MAX

/**
 * struct vfg_memlock - a process's locked-memory limit and use
 * @soft: soft RLIMIT_MEMLOCK in bytes (VFG_MEMLOCK_UNLIMITED)
 * @hard: hard RLIMIT_MEMLOCK in bytes (VFG_MEMLOCK_UNLIMITED)
 * @locked: bytes already charged (VmLck: mlock and VFIO pins)
 * @cap_ipc_lock: 1 when the process has CAP_IPC_LOCK, which lifts the limit
 */
struct vfg_memlock {
	uint64_t soft;
	uint64_t hard;
	uint64_t locked;
	int cap_ipc_lock;
};

/**
 * vfg_process_get_memlock() - read a process's locked-memory limit and use
 * @ctx: library context
 * @pid: process ID, 0 for the caller
 * @ml: filled in from /proc/PID/limits and /proc/PID/status
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: no such process).
 */
int vfg_process_get_memlock(struct vfg_ctx *ctx, int pid,
			    struct vfg_memlock *ml);

/**
 * vfg_memlock_needed() - RLIMIT_MEMLOCK a guest with assigned devices needs
 * @guest_bytes: guest RAM in bytes
 *
 * Every page of guest RAM is pinned for device DMA; add 1 GiB for the ROMs,
 * video memory and I/O buffers QEMU maps as well (libvirt's rule).
 *
 * Return: the number of bytes, saturating at VFG_MEMLOCK_UNLIMITED.
 */
uint64_t vfg_memlock_needed(uint64_t guest_bytes);

/* ------------------------------------------------------------------------
 * Events and state from the kernel (the "vfio_groups" generic netlink family)
 *
 * The vfio-groups module reports what happens to groups and devices as
 * events, and answers questions about the state of groups; the kernel's side
 * of it is include/uapi/linux/vfio_groups.h in the vfio-groups sources.  This
 * header does not need that one: the event numbers are copied here as
 * enum vfg_event_type (the library checks at build time that they are the
 * same), so programs can compare vfg_event.type with either name.
 *
 * These calls talk to the running kernel, whatever the context's root: with
 * a root prefix (a fake tree) they fail with ENOENT when the tree has no
 * vfio module and EOPNOTSUPP when it has one.  ENOENT always means "the vfio
 * module is not loaded" (its netlink family is missing).
 */

/**
 * enum vfg_event_type - what an event reports (enum vfio_groups_event)
 * @VFG_EVENT_GROUP_CREATED: a group appeared (its first device arrived, or
 *                           the module loaded)
 * @VFG_EVENT_GROUP_DESTROYED: a group went away with its last device
 * @VFG_EVENT_DEVICE_BOUND: a member was bound to a driver; device, driver
 * @VFG_EVENT_DEVICE_UNBOUND: a member was unbound; device, driver (the one it
 *                            left)
 * @VFG_EVENT_VIABILITY_CHANGED: the group became viable or stopped being
 *                               viable; viable
 * @VFG_EVENT_RELEASE_REQUESTED: the kernel wants a device back (unbind,
 *                               removal, hot-unplug) while a process holds
 *                               it; sent again at each retry.  device,
 *                               holder_pid, attempt, and deadline_ms when a
 *                               release timeout is set
 * @VFG_EVENT_RELEASED: the holder gave the device back; device
 * @VFG_EVENT_REVOKED: the release timeout expired and the device was taken
 *                     from its holder; device, holder_pid
 */
enum vfg_event_type {
	VFG_EVENT_GROUP_CREATED = 1,
	VFG_EVENT_GROUP_DESTROYED = 2,
	VFG_EVENT_DEVICE_BOUND = 3,
	VFG_EVENT_DEVICE_UNBOUND = 4,
	VFG_EVENT_VIABILITY_CHANGED = 5,
	VFG_EVENT_RELEASE_REQUESTED = 6,
	VFG_EVENT_RELEASED = 7,
	VFG_EVENT_REVOKED = 8,
};

/**
 * struct vfg_event - one event, as received
 * @type: enum vfg_event_type; a newer kernel may send numbers this library
 *        does not know (vfg_event_type_name() says "unknown")
 * @group: IOMMU group number, -1 when the kernel did not know it
 * @device: the device's name (PCI address), "" when the event has none
 * @driver: a driver name, "" when the event has none
 * @viable: 1 or 0, -1 when the event does not say
 * @holder_pid: the process that holds the device, in the initial PID
 *              namespace (the kernel multicasts one message to every
 *              listener); 0 when the event does not say
 * @attempt: how many times the release was requested (1, 2, ...); 0 when
 *           the event does not say
 * @deadline_ms: milliseconds left before the device is revoked; -1 when the
 *               event does not say (no release timeout)
 * @time: when the library received it (CLOCK_REALTIME)
 */
struct vfg_event {
	int type;
	int group;
	char device[VFG_NAME_MAX];
	char driver[VFG_NAME_MAX];
	int viable;
	int holder_pid;
	unsigned int attempt;
	int64_t deadline_ms;
	struct timespec time;
};

struct vfg_monitor;

/**
 * vfg_monitor_new() - subscribe to the module's events
 * @ctx: library context
 *
 * Opens a generic netlink socket, resolves the "vfio_groups" family and joins
 * its "events" multicast group.  Events that happen from then on are queued
 * in the socket until vfg_monitor_next() reads them.  Subscribing needs no
 * privilege.
 *
 * Return: a monitor to free with vfg_monitor_free(), or NULL with errno set
 * (ENOENT: the vfio module is not loaded).
 */
struct vfg_monitor *vfg_monitor_new(struct vfg_ctx *ctx);

/**
 * vfg_monitor_free() - unsubscribe and free a monitor
 * @mon: monitor from vfg_monitor_new(), or NULL
 */
void vfg_monitor_free(struct vfg_monitor *mon);

/**
 * vfg_monitor_get_fd() - the file descriptor to poll for events
 * @mon: the monitor
 *
 * It becomes readable when an event arrives.  Once it is, call
 * vfg_monitor_next() with a timeout of 0 until it returns 0.  Do not read
 * from it or close it.
 *
 * Return: the descriptor.
 */
int vfg_monitor_get_fd(struct vfg_monitor *mon);

/**
 * vfg_monitor_next() - the next event
 * @mon: the monitor
 * @ev: filled in with the event
 * @timeout_ms: how long to wait: 0 not at all, -1 for ever
 *
 * Messages that are not events of the family are skipped.  After a failure
 * the monitor can still be used: ENOBUFS means that the socket overflowed
 * and events were lost (re-read the state with vfg_ctx_get_group_states());
 * EBADMSG that a malformed message was dropped.
 *
 * Return: 1 with @ev filled in; 0 when @timeout_ms passed without an event;
 * -1 on error with errno set (EINTR: a signal came first; ENOBUFS; EBADMSG).
 */
int vfg_monitor_next(struct vfg_monitor *mon, struct vfg_event *ev,
		     int timeout_ms);

/**
 * vfg_event_type_name() - a short name for an event type
 * @type: enum vfg_event_type
 *
 * Return: "group-created", "group-destroyed", "device-bound",
 * "device-unbound", "viability-changed", "release-requested", "released",
 * "revoked", or "unknown".
 */
const char *vfg_event_type_name(int type);

/**
 * struct vfg_member_state - one member of a group, as the kernel sees it
 * @device: the device's name (PCI address)
 * @driver: its driver, "" when unbound
 * @blocks: 1 when it keeps the group from being viable
 * @reason: when @blocks, why (the kernel's words); else ""
 */
struct vfg_member_state {
	char device[VFG_NAME_MAX];
	char driver[VFG_NAME_MAX];
	int blocks;
	char reason[160];
};

/**
 * struct vfg_group_state - a group, as the kernel sees it
 * @group: IOMMU group number
 * @viable: 1 when the group is viable
 * @holder_pid: the process that has the group open, in the caller's PID
 *              namespace; 0 when none
 * @n_members: number of entries in @members
 * @members: the members, in the kernel's order
 *
 * Unlike struct vfg_group_status (read from sysfs, or computed by the library
 * when the module is not loaded), this is the module's own answer, taken
 * under its locks: one consistent snapshot of the group.
 */
struct vfg_group_state {
	int group;
	int viable;
	int holder_pid;
	size_t n_members;
	struct vfg_member_state *members;
};

/**
 * vfg_group_get_state() - the kernel's state of one group
 * @ctx: library context
 * @group: IOMMU group number
 * @state: set to the state; free with vfg_group_state_free()
 *
 * Return: 0 on success, -1 on error with errno set (ENOENT: the vfio module
 * is not loaded; ENODEV: the module has no such group).
 */
int vfg_group_get_state(struct vfg_ctx *ctx, int group,
			struct vfg_group_state **state);

/**
 * vfg_group_state_free() - free a state from vfg_group_get_state()
 * @state: the state, or NULL
 */
void vfg_group_state_free(struct vfg_group_state *state);

/**
 * vfg_ctx_get_group_states() - the kernel's state of every group
 * @ctx: library context
 * @states: set to an array of states in the kernel's order; free with
 *          vfg_group_states_free()
 *
 * A dump: the groups are read one at a time, so the array is not one
 * snapshot of the whole system.  Subscribe with vfg_monitor_new() first to
 * learn what changes after.
 *
 * Return: the number of groups, or -1 on error with errno set (ENOENT: the
 * vfio module is not loaded).
 */
int vfg_ctx_get_group_states(struct vfg_ctx *ctx,
			     struct vfg_group_state **states);

/**
 * vfg_group_states_free() - free the array from vfg_ctx_get_group_states()
 * @states: the array, or NULL
 * @n: its number of entries
 */
void vfg_group_states_free(struct vfg_group_state *states, int n);

#ifdef __cplusplus
}
#endif

#endif /* VFIOGROUP_H */
