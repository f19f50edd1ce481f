/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-groups internal interfaces.
 *
 * Objects and their owners
 * ------------------------
 * vfg_group      one per IOMMU group that has a PCI device (group.c).  Its
 *                lifetime is that of its embedded struct device: a reference
 *                is held by the registry while the group has members, and by
 *                every open group fd (through the cdev).  When the last member
 *                leaves, the group is unregistered (node and sysfs go away);
 *                a stale open fd keeps the memory until it is closed and gets
 *                -ENODEV from every ioctl.
 * vfg_container  one per open /dev/vfio/vfio (container.c), refcounted: the
 *                container fd holds one reference and every attached group
 *                holds one.
 *
 * Lock order
 * ----------
 *   vfg.lock -> group->lock -> container->lock -> iommu_group internal mutex
 *
 * vfg.lock (main.c) protects the list of groups and the creation and
 * destruction of groups.  Bus notifier callbacks run with the device lock
 * held; nothing in this driver takes a device lock while holding one of ours.
 */
#ifndef VFG_VFIO_H
#define VFG_VFIO_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pid.h>

struct vfg_container;

/**
 * struct vfg_member - one PCI device of a group, as we track it
 * @node: in vfg_group.members
 * @pdev: the device; a reference is held while it is a member
 * @driver: the driver it was last bound to, for the unbound event
 */
struct vfg_member {
	struct list_head node;
	struct pci_dev *pdev;
	char driver[32];
};

/**
 * struct vfg_group - an IOMMU group, the unit userspace owns
 * @dev: /sys/class/vfio/$id; its refcount is the group's
 * @cdev: /dev/vfio/$id
 * @iommu_group: the kernel's group; a reference is held for our lifetime
 * @id: iommu_group_id()
 * @node: in vfg.groups, under vfg.lock
 * @lock: protects every field below it
 * @members: list of struct vfg_member
 * @registered: node and sysfs are live; false once the last member has left
 * @opened: the group fd is open (one opener at a time)
 * @holder: thread group of the opener, while @opened
 * @container: the container this group is attached to, or NULL
 * @viable: last computed viability, to report changes
 * @dev_fds: open device fds of this group's devices; while there are any
 *           the group stays attached to its container, even with the group
 *           fd closed
 */
struct vfg_group {
	struct device dev;
	struct cdev cdev;
	struct iommu_group *iommu_group;
	int id;
	struct list_head node;

	struct mutex lock;		/* protects the fields below */
	struct list_head members;
	bool registered;
	bool opened;
	struct pid *holder;
	struct vfg_container *container;
	struct list_head container_node;	/* under container->lock */
	bool viable;
	unsigned int dev_fds;
};

/**
 * struct vfg_state - module-wide state
 * @lock: protects @groups and group creation/destruction
 * @groups: every registered group
 * @class: the "vfio" class of group devices
 * @devt: first of our char device numbers
 * @minors: allocator of group minors
 * @pci_driver_name: name of our PCI driver
 */
struct vfg_state {
	struct mutex lock;		/* protects groups, see above */
	struct list_head groups;
	struct class *class;
	dev_t devt;
	struct ida minors;
	const char *pci_driver_name;
};

extern struct vfg_state vfg;

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
int vfg_group_add_device(struct pci_dev *pdev);
void vfg_group_del_device(struct pci_dev *pdev);
void vfg_group_driver_changed(struct pci_dev *pdev, bool bound);
void vfg_group_remove_all(void);
bool vfg_group_viable_locked(struct vfg_group *group, bool explain);
void vfg_group_device_closed(struct vfg_group *group);
struct vfg_group *vfg_group_get_from_fd(int fd);
bool vfg_group_in_container(struct vfg_group *group);
extern const struct attribute_group *vfg_group_attr_groups[];

/* container.c */
int vfg_container_init(void);
void vfg_container_exit(void);
int vfg_container_attach(struct vfg_group *group, int fd);
void vfg_container_detach(struct vfg_group *group);
bool vfg_container_has_iommu(struct vfg_container *c);

/* type1.c */
struct vfg_iommu;
struct vfg_iommu *vfg_type1_create(struct list_head *groups, bool v2);
void vfg_type1_destroy(struct vfg_iommu *iommu);
int vfg_type1_attach_group(struct vfg_iommu *iommu, struct list_head *groups,
			   struct vfg_group *group);
void vfg_type1_detach_group(struct vfg_iommu *iommu, struct list_head *groups,
			    struct vfg_group *group);
long vfg_type1_ioctl(struct vfg_iommu *iommu, unsigned int cmd,
		     unsigned long arg);

/* pci/vfio_pci.c */
int vfg_pci_init(void);
void vfg_pci_exit(void);
bool vfg_pci_is_ours(struct device *dev);
int vfg_pci_open_device(struct vfg_group *group, struct pci_dev *pdev);

#endif /* VFG_VFIO_H */
