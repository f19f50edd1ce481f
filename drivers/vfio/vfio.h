/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-groups internal interfaces.
 *
 * Objects and their owners
 * ------------------------
 * vfg_group      one per IOMMU group that has a PCI device, and one per
 *                device registered without an IOMMU group in no-IOMMU
 *                mode (group.c, "No-IOMMU groups").  Its
 *                lifetime is that of its embedded struct device: a reference
 *                is held by the registry while the group has members, and by
 *                every open group fd (through the cdev).  When the last member
 *                leaves, the group is unregistered (node and sysfs go away);
 *                a stale open fd keeps the memory until it is closed and gets
 *                -ENODEV from every ioctl.
 * vfg_device     one per device a bus driver of ours has bound (device.c):
 *                the bus-agnostic object behind device fds.  Its lifetime
 *                protocol is written at the top of device.c.
 * vfg_container  one per open /dev/vfio/vfio (container.c), refcounted: the
 *                container fd holds one reference and every attached group
 *                holds one.
 *
 * Lock order
 * ----------
 *   group->attach_lock -> container->lock -> vfg.domain_rwsem (read)
 *                                         -> iommu_group internal mutex
 *   group->attach_lock -> container->lock -> group->lock
 *   vfg.lock -> group->lock -> iommu_group internal mutex
 *   vfg_device.open_lock -> vfg_device.state_lock; neither is ever held
 *            together with group->lock
 *
 * vfg.lock (main.c) protects the list of groups and the creation and
 * destruction of groups.  Bus notifier callbacks run with the device lock
 * held; nothing in this driver takes a device lock while holding one of ours.
 *
 * User memory: container->lock is held across VFIO_IOMMU_MAP_DMA, which
 * pins (and so faults in) user pages, and a fault may take as long as the
 * backing store likes (a FUSE or network file).  Therefore no thread holding
 * vfg.lock or a group->lock ever waits for a container->lock: vfg.lock and
 * group->lock are taken by the PCI bus notifiers (every bind, unbind and
 * hotplug on the machine), by netlink state queries and by sysfs, and none
 * of those may wait behind user memory.  Attaching a group to its container
 * and detaching it are serialised by the group's own attach_lock instead,
 * which only the group's holder waits for (its group fd ioctls and close,
 * and the close of its device fds).  group->container is written under both
 * attach_lock and group->lock, so it can be read under either.
 *
 * vfg.domain_rwsem keeps every change of an IOMMU group's domain that we make
 * (claiming and releasing DMA ownership, attaching and detaching a type1
 * domain) out of the IOMMU core's iommu_release_device(), which in 6.1 calls
 * the IOMMU driver's release_device() without the group's mutex while the
 * device is still on the group's list.  main.c takes it for writing around
 * the IOMMU core's BUS_NOTIFY_REMOVED_DEVICE handler.
 */
#ifndef VFG_VFIO_H
#define VFG_VFIO_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rwsem.h>
#include <linux/wait.h>

/* The version of the three modules (MODULE_VERSION); dkms.conf's too. */
#define VFG_VERSION "1.0"

struct vfg_container;
struct kvm;

/**
 * struct vfg_member - one device of a group, as we track it
 * @node: in vfg_group.members
 * @dev: the device; a reference is held while it is a member
 * @driver: the driver it was last bound to, for the unbound event
 */
struct vfg_member {
	struct list_head node;
	struct device *dev;
	char driver[32];
};

/**
 * struct vfg_group - an IOMMU group, the unit userspace owns
 * @dev: /sys/class/vfio/$id; its refcount is the group's
 * @cdev: /dev/vfio/$id
 * @iommu_group: the kernel's group; a reference is held for our lifetime
 * @id: iommu_group_id()
 * @node: in vfg.groups, under vfg.lock
 * @attach_lock: serialises changes of @container (attach and detach) and
 *               the decisions that lead to them; held while waiting for the
 *               container's lock, so never taken under vfg.lock or @lock
 *               (see "User memory" above)
 * @lock: protects every field below it; never held while waiting for a
 *        container's lock
 * @members: list of struct vfg_member
 * @registered: node and sysfs are live; false once the last member has left
 * @opened: the group fd is open (one opener at a time)
 * @holder: thread group of the opener, while @opened
 * @container: the container this group is attached to, or NULL; written
 *             under both @attach_lock and @lock
 * @container_node: in the container's list of groups, under its lock
 * @viable: last computed viability, to report changes
 * @devices: registered struct vfg_device of this group (device.c), through
 *           vfg_device.group_node
 * @dev_fds: device fds of this group's devices, counted from the moment
 *           VFIO_GROUP_GET_DEVICE_FD has checked the group until the fd's
 *           release has finished; while there are any the group stays
 *           attached to its container, even with the group fd closed, and
 *           the group cannot be opened again; a hot reset in progress
 *           counts here too (vfg_group_hold_owned())
 * @kvm: the VM KVM's VFIO device linked this group to (kvm.c), or NULL; a
 *       device's first open takes it over (vfg_device.kvm)
 * @noiommu: a no-IOMMU group (group.c), set at creation and never changed
 */
struct vfg_group {
	struct device dev;
	struct cdev cdev;
	struct iommu_group *iommu_group;
	int id;
	struct list_head node;

	struct mutex attach_lock;	/* see above and "User memory" */
	struct mutex lock;		/* protects the fields below */
	struct list_head members;
	bool registered;
	bool opened;
	struct pid *holder;
	struct vfg_container *container;
	struct list_head container_node;	/* under container->lock */
	bool viable;
	struct list_head devices;
	unsigned int dev_fds;
	struct kvm *kvm;
	bool noiommu;
};

/**
 * struct vfg_state - module-wide state
 * @lock: protects @groups and group creation/destruction
 * @groups: every registered group
 * @class: the "vfio" class of group devices
 * @devt: first of our char device numbers
 * @minors: allocator of group minors
 * @domain_rwsem: see "Lock order" above
 */
struct vfg_state {
	struct mutex lock;		/* protects groups, see above */
	struct list_head groups;
	struct rw_semaphore domain_rwsem;	/* see above */
	struct class *class;
	dev_t devt;
	struct ida minors;
};

extern struct vfg_state vfg;

/* main.c: enable_unsafe_noiommu_mode; read with READ_ONCE() */
extern bool vfg_noiommu;

/**
 * struct vfg_caps - a capability chain being built
 * @buf: the records
 * @size: bytes used
 * @last: offset of the last record
 */
struct vfg_caps {
	void *buf;
	size_t size;
	size_t last;
};

void *vfg_caps_add(struct vfg_caps *caps, size_t size, u16 id, u16 version);
int vfg_caps_place(struct vfg_caps *caps, u32 *argsz, size_t info_size,
		   u32 *cap_offset, void __user *uinfo);
void vfg_caps_free(struct vfg_caps *caps);

/**
 * struct vfg_nl_event - one netlink event (include/uapi/linux/vfio_groups.h)
 * @event: enum vfio_groups_event
 * @group_id: the group
 * @device: device name, or NULL
 * @driver: driver name, or NULL
 * @viable: 0 or 1, or -1 to leave out
 * @holder: holder, or NULL
 * @attempt: release attempt, or 0 to leave out
 * @deadline_ms: milliseconds before revocation, or -1 to leave out
 */
struct vfg_nl_event {
	u32 event;
	int group_id;
	const char *device;
	const char *driver;
	int viable;
	struct pid *holder;
	u32 attempt;
	s64 deadline_ms;
};

#define VFG_NL_EVENT(ev, id) \
	{ .event = (ev), .group_id = (id), .viable = -1, .deadline_ms = -1 }

struct sk_buff;
struct netlink_ext_ack;

struct vfg_device;
struct vm_area_struct;

/**
 * struct vfg_p2p - an IOMMU mapping of a device's memory (type1.c), known
 *                  to the device so that it can take it away
 * @node: in the exporting vfg_device's @p2p list, under its @p2p_lock
 * @domains: the IOMMU domains it is mapped in (all those of its container);
 *           the array is type1's.  @domains and @nr_domains are changed
 *           with both the container's lock and @p2p_lock held, so either
 *           suffices to read them
 * @nr_domains: entries in @domains, at least one
 * @iova: its first IOVA
 * @size: its size
 * @live: it is mapped in every one of @domains; cleared when the exporting
 *        device takes it away from all of them (under @p2p_lock)
 */
struct vfg_p2p {
	struct list_head node;
	struct iommu_domain **domains;
	unsigned int nr_domains;
	dma_addr_t iova;
	size_t size;
	bool live;
};

/**
 * struct vfg_device_ops - what a bus driver provides for its devices
 * @owner: the bus driver's module (THIS_MODULE): held while the device has
 *         users, so it cannot be unloaded under an open fd
 * @open_device: the first device fd is being opened: make the device ready
 *               for userspace.  Called with vfg_device.open_lock held.
 * @close_device: the last device fd was closed: give the device back as it
 *                was bound (reset it, restore its state).  open_lock held.
 *                Not called for a revoked device.
 * @revoke: removal timed out with fds still open: take the device from them
 *          (every mapping zapped, interrupts and DMA off) without a reset, as
 *          remove() holds the device lock.  open_lock held; the device is
 *          open.  The provider's own paths must then fail with -ENODEV.
 * @request: ask userspace to release the device (the REQ eventfd); @count is
 *           the attempt, from 1.  Must not take locks an ioctl may hold.
 * @ioctl: a device fd ioctl (not for a revoked device)
 * @read: pread of the device fd (likewise)
 * @write: pwrite of the device fd (likewise)
 * @mmap: mmap of the device fd (likewise); the file's mapping is the
 *        device's, see vfg_device_zap_mappings()
 * @match: does the VFIO_GROUP_GET_DEVICE_FD string @buf name this device?
 *         1 if it does, 0 if not, a negative errno to fail the lookup
 *         (the string names the device but is not acceptable: a bad option,
 *         a missing or wrong credential).  The provider owns the string's
 *         syntax past the name ("0000:01:00.1 vf_token=UUID" for PCI).
 *         Called under group->lock, which it must not take; any lock it
 *         takes nests inside it.  Optional: without it, the string must be
 *         dev_name() exactly.
 * @device_feature: VFIO_DEVICE_FEATURE, after the core's generic checks
 *                  (argsz, unknown flags, GET and SET together without
 *                  PROBE): @flags as passed, @arg the data after the header,
 *                  @argsz its size.  -ENOTTY for a feature it does not
 *                  have; see vfg_device_check_feature().  Optional: without
 *                  it, every feature is -ENOTTY.  Not for a revoked device.
 * @release: the last reference is gone: free the provider's structure
 */
struct vfg_device_ops {
	struct module *owner;
	int (*open_device)(struct vfg_device *vdev);
	void (*close_device)(struct vfg_device *vdev);
	void (*revoke)(struct vfg_device *vdev);
	void (*request)(struct vfg_device *vdev, unsigned int count);
	long (*ioctl)(struct vfg_device *vdev, unsigned int cmd,
		      unsigned long arg);
	ssize_t (*read)(struct vfg_device *vdev, char __user *buf,
			size_t count, loff_t *ppos);
	ssize_t (*write)(struct vfg_device *vdev, const char __user *buf,
			 size_t count, loff_t *ppos);
	int (*mmap)(struct vfg_device *vdev, struct vm_area_struct *vma);
	int (*match)(struct vfg_device *vdev, const char *buf);
	int (*device_feature)(struct vfg_device *vdev, u32 flags,
			      void __user *arg, size_t argsz);
	void (*release)(struct vfg_device *vdev);
};

/**
 * enum vfg_device_state - where a device is in its life (device.c)
 * @VFG_DEV_NEW: initialised, not registered yet
 * @VFG_DEV_LIVE: registered: device fds may be opened
 * @VFG_DEV_REMOVING: unregistration has begun: no new fd; the open ones
 *                    are asked back
 * @VFG_DEV_REVOKED: taken from its fds, which stay open but fail
 */
enum vfg_device_state {
	VFG_DEV_NEW,
	VFG_DEV_LIVE,
	VFG_DEV_REMOVING,
	VFG_DEV_REVOKED,
};

/**
 * struct vfg_device - a device userspace can own, embedded by a bus driver
 * @dev: the bus device; a reference is held for our lifetime
 * @ops: the bus driver's callbacks
 * @kref: one reference for the registration (probe to the end of
 *        vfg_device_unregister()), one for each device fd from the moment
 *        VFIO_GROUP_GET_DEVICE_FD finds the device until its release ends
 * @group: the device's group, from registration (a reference is held)
 * @group_node: in group->devices while registered, under group->lock
 * @open_lock: serialises the provider's open_device, close_device and
 *             revoke callbacks with each other and with what the provider
 *             runs under vfg_device_lock_live() (resets); held from reading
 *             @open_count to writing it in opens and closes; protects @kvm
 * @state_lock: protects @state, @open_count, @fds, @holds and @holder; taken inside
 *              @open_lock, never held across a callback
 * @state: enum vfg_device_state; read without the lock only as a hint
 * @open_count: opened device fds: the first open calls open_device, the
 *              last close close_device (written under both locks)
 * @fds: fds from the moment an open has checked @state until the fd has
 *       finished with its group (detached it from its container if it was
 *       the last): unregistration waits for it to reach zero
 * @holds: short holds of a live device by an operation on several devices
 *         at once (a PCI hot reset, vfg_device_hold()): unregistration
 *         waits for them to end before it waits for @fds
 * @holder: the thread group that opened the first fd
 * @kvm: the group's KVM at the first open, for the provider's open_device
 *       (which must not keep it past close_device); NULL when not opened
 *       from a VM
 * @wq: woken when @fds or @holds reaches zero
 * @mapping: the address space of every device fd of this device, so that
 *           all userspace mappings can be zapped at once
 * @p2p_lock: protects @p2p and each entry's @live, and with the
 *            container's lock each entry's @domains; innermost: taken under
 *            the container's lock, mmap_lock and the provider's memory
 *            lock, never the other way
 * @p2p: IOMMU mappings of this device's memory in any container, through
 *       vfg_p2p.node; each holds a reference to the device
 */
struct vfg_device {
	struct device *dev;
	const struct vfg_device_ops *ops;
	struct kref kref;
	struct vfg_group *group;
	struct list_head group_node;

	struct mutex open_lock;		/* see above */
	struct mutex state_lock;	/* protects the fields below */
	enum vfg_device_state state;
	unsigned int open_count;
	unsigned int fds;
	unsigned int holds;
	struct pid *holder;
	struct kvm *kvm;
	wait_queue_head_t wq;
	struct address_space mapping;

	struct mutex p2p_lock;		/* protects p2p */
	struct list_head p2p;
};

/* device.c */
void vfg_device_init(struct vfg_device *vdev, struct device *dev,
		     const struct vfg_device_ops *ops);
int vfg_device_register(struct vfg_device *vdev);
void vfg_device_unregister(struct vfg_device *vdev);
void vfg_device_put(struct vfg_device *vdev);
int vfg_device_open_fd(struct vfg_device *vdev);
bool vfg_device_lock_live(struct vfg_device *vdev);
void vfg_device_unlock(struct vfg_device *vdev);
void vfg_device_zap_mappings(struct vfg_device *vdev);
struct vfg_device *vfg_device_get_from_vma(struct vm_area_struct *vma);
void vfg_device_p2p_link(struct vfg_device *vdev, struct vfg_p2p *p2p);
void vfg_device_p2p_unlink(struct vfg_device *vdev, struct vfg_p2p *p2p);
void vfg_device_p2p_put(struct vfg_device *vdev);
bool vfg_device_get_user(struct vfg_device *vdev);
bool vfg_device_hold(struct vfg_device *vdev);
int vfg_device_match(struct vfg_device *vdev, const char *buf);
int vfg_device_check_feature(u32 flags, size_t argsz, u32 supported,
			     size_t minsz);
void vfg_device_unhold(struct vfg_device *vdev);

/* netlink.c */
void vfg_nl_event(const struct vfg_nl_event *ev);
int vfg_nl_put_member(struct sk_buff *msg, const char *dev, const char *driver,
		      const char *reason);
int vfg_nl_init(void);
void vfg_nl_exit(void);

/* group.c */
int vfg_group_fill_state(struct sk_buff *msg, int id,
			 struct netlink_ext_ack *extack);
int vfg_group_next_id(int after);
int vfg_group_add_device(struct device *dev);
void vfg_group_del_device(struct device *dev);
void vfg_group_driver_changed(struct device *dev, bool bound);
void vfg_group_remove_all(void);
bool vfg_group_viable_locked(struct vfg_group *group, bool explain);
int vfg_group_link_device(struct vfg_device *vdev);
void vfg_group_unlink_device(struct vfg_device *vdev);
void vfg_group_unregister_noiommu(struct vfg_device *vdev);
void vfg_group_device_closed(struct vfg_group *group);
struct vfg_group *vfg_group_get_from_fd(int fd);
struct vfg_group *vfg_group_from_file(struct file *file);
void vfg_group_set_kvm(struct vfg_group *group, struct kvm *kvm);
struct kvm *vfg_group_kvm(struct vfg_group *group);
bool vfg_group_coherent(struct vfg_group *group);
void vfg_group_put(struct vfg_group *group);
int vfg_group_id(struct vfg_group *group);
bool vfg_group_is(struct vfg_group *group, struct iommu_group *iommu_group);
bool vfg_group_hold_owned(struct vfg_group *group);
void vfg_group_unhold(struct vfg_group *group);
struct vfg_device *vfg_group_get_device(struct vfg_group *group,
					struct device *dev);
extern const struct attribute_group *vfg_group_attr_groups[];

/* container.c */
int vfg_container_init(void);
void vfg_container_exit(void);
struct vfg_container *vfg_container_attach(struct vfg_group *group, int fd);
void vfg_container_detach(struct vfg_group *group);
bool vfg_container_has_iommu(struct vfg_container *c);
bool vfg_container_coherent(struct vfg_container *c);

/**
 * struct vfg_type1_params - settings of the type1 backend
 * @allow_unsafe_interrupts: let groups without interrupt remapping in
 * @dma_entry_limit: most mappings a container may have
 * @disable_hugepages: map every page on its own, never a larger run
 * @separate_domains: give every group an IOMMU domain of its own, never
 *                    one it could share (a debugging and testing aid)
 *
 * Read with READ_ONCE(); set through the parameters of the
 * vfio_iommu_type1 module (type1_params.c), under their upstream names.
 */
struct vfg_type1_params {
	bool allow_unsafe_interrupts;
	unsigned int dma_entry_limit;
	bool disable_hugepages;
	bool separate_domains;
};

extern struct vfg_type1_params vfg_type1_params;

/* type1.c */
struct vfg_iommu;
struct vfg_iommu *vfg_type1_create(struct list_head *groups, bool v2);
void vfg_type1_destroy(struct vfg_iommu *iommu);
bool vfg_type1_coherent(struct vfg_iommu *iommu);
int vfg_type1_attach_group(struct vfg_iommu *iommu, struct vfg_group *group);
void vfg_type1_detach_group(struct vfg_iommu *iommu, struct vfg_group *group);
long vfg_type1_ioctl(struct mutex *lock, struct vfg_iommu *const *iommup,
		     unsigned int cmd, unsigned long arg);

/* main.c: what the buses we serve tell us */
bool vfg_bus_driver_managed_dma(struct device *dev);

#endif /* VFG_VFIO_H */
