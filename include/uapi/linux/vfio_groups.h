/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio-groups extensions to the VFIO userspace ABI.
 *
 * The VFIO ABI itself is <linux/vfio.h>, unchanged.  This header adds a
 * generic netlink family through which the driver reports what happens to
 * groups and devices, and answers questions about their state.
 *
 * Family "vfio_groups", version 1.  Multicast group "events": one
 * VFIO_GROUPS_CMD_EVENT message per event.  Command VFIO_GROUPS_CMD_GET_GROUP:
 * with VFIO_GROUPS_A_GROUP_ID, the state of that group; as a dump
 * (NLM_F_DUMP), the state of every group.  Attributes are validated
 * strictly; unknown attributes in requests are rejected.
 */
#ifndef _UAPI_LINUX_VFIO_GROUPS_H
#define _UAPI_LINUX_VFIO_GROUPS_H

#define VFIO_GROUPS_GENL_NAME		"vfio_groups"
#define VFIO_GROUPS_GENL_VERSION	1
#define VFIO_GROUPS_GENL_MCGRP_EVENTS	"events"

/**
 * enum vfio_groups_cmd - generic netlink commands
 * @VFIO_GROUPS_CMD_UNSPEC: unused
 * @VFIO_GROUPS_CMD_GET_GROUP: request a group's state (doit, with
 *	%VFIO_GROUPS_A_GROUP_ID) or every group's (dumpit); the reply carries
 *	%VFIO_GROUPS_A_GROUP_ID, %VFIO_GROUPS_A_VIABLE,
 *	%VFIO_GROUPS_A_HOLDER_PID (when open) and one nested
 *	%VFIO_GROUPS_A_MEMBER per device
 * @VFIO_GROUPS_CMD_EVENT: an event, multicast on "events"; carries
 *	%VFIO_GROUPS_A_EVENT and the attributes that event documents
 * @__VFIO_GROUPS_CMD_MAX: one past the last command
 */
enum vfio_groups_cmd {
	VFIO_GROUPS_CMD_UNSPEC,
	VFIO_GROUPS_CMD_GET_GROUP,
	VFIO_GROUPS_CMD_EVENT,
	__VFIO_GROUPS_CMD_MAX,
};

#define VFIO_GROUPS_CMD_MAX (__VFIO_GROUPS_CMD_MAX - 1)

/**
 * enum vfio_groups_event - what a %VFIO_GROUPS_CMD_EVENT reports
 * @VFIO_GROUPS_EVENT_UNSPEC: unused
 * @VFIO_GROUPS_EVENT_GROUP_CREATED: a group appeared (its first device
 *	arrived, or the module loaded); GROUP_ID
 * @VFIO_GROUPS_EVENT_GROUP_DESTROYED: a group went away with its last
 *	device; GROUP_ID
 * @VFIO_GROUPS_EVENT_DEVICE_BOUND: a member was bound to a driver;
 *	GROUP_ID, DEVICE, DRIVER
 * @VFIO_GROUPS_EVENT_DEVICE_UNBOUND: a member was unbound; GROUP_ID, DEVICE,
 *	DRIVER (the driver it left)
 * @VFIO_GROUPS_EVENT_VIABILITY_CHANGED: a group became viable or stopped
 *	being viable; GROUP_ID, VIABLE
 * @VFIO_GROUPS_EVENT_RELEASE_REQUESTED: the kernel wants a device back
 *	(unbind, removal, hot-unplug) while userspace holds it; sent again at
 *	each retry.  GROUP_ID, DEVICE, HOLDER_PID, ATTEMPT (1, 2, ...), and
 *	DEADLINE_MS (milliseconds until access is revoked) when a release
 *	timeout is set
 * @VFIO_GROUPS_EVENT_RELEASED: userspace gave the device back and its
 *	removal went on; GROUP_ID, DEVICE
 * @VFIO_GROUPS_EVENT_REVOKED: the release timeout expired and the device was
 *	taken away from its holder; GROUP_ID, DEVICE, HOLDER_PID
 * @__VFIO_GROUPS_EVENT_MAX: one past the last event
 */
enum vfio_groups_event {
	VFIO_GROUPS_EVENT_UNSPEC,
	VFIO_GROUPS_EVENT_GROUP_CREATED,
	VFIO_GROUPS_EVENT_GROUP_DESTROYED,
	VFIO_GROUPS_EVENT_DEVICE_BOUND,
	VFIO_GROUPS_EVENT_DEVICE_UNBOUND,
	VFIO_GROUPS_EVENT_VIABILITY_CHANGED,
	VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
	VFIO_GROUPS_EVENT_RELEASED,
	VFIO_GROUPS_EVENT_REVOKED,
	__VFIO_GROUPS_EVENT_MAX,
};

#define VFIO_GROUPS_EVENT_MAX (__VFIO_GROUPS_EVENT_MAX - 1)

/**
 * enum vfio_groups_attr - netlink attributes
 * @VFIO_GROUPS_A_UNSPEC: unused
 * @VFIO_GROUPS_A_EVENT: u32, enum vfio_groups_event
 * @VFIO_GROUPS_A_GROUP_ID: u32, the IOMMU group number
 * @VFIO_GROUPS_A_DEVICE: string, the device's name (PCI address)
 * @VFIO_GROUPS_A_DRIVER: string, a driver name ("" for none)
 * @VFIO_GROUPS_A_VIABLE: u8, 1 if the group is viable
 * @VFIO_GROUPS_A_HOLDER_PID: u32, the process that has the group (or the
 *	device) open, in the receiver's PID namespace; absent when none
 * @VFIO_GROUPS_A_ATTEMPT: u32, how many times the release was requested
 * @VFIO_GROUPS_A_DEADLINE_MS: u64, milliseconds left before revocation
 * @VFIO_GROUPS_A_MEMBER: nested, one per member: DEVICE, DRIVER, BLOCKS and,
 *	when it blocks, REASON
 * @VFIO_GROUPS_A_BLOCKS: u8, 1 if this member keeps the group from being
 *	viable
 * @VFIO_GROUPS_A_REASON: string, why it does
 * @VFIO_GROUPS_A_PAD: padding for 64-bit attributes
 * @__VFIO_GROUPS_A_MAX: one past the last attribute
 */
enum vfio_groups_attr {
	VFIO_GROUPS_A_UNSPEC,
	VFIO_GROUPS_A_EVENT,
	VFIO_GROUPS_A_GROUP_ID,
	VFIO_GROUPS_A_DEVICE,
	VFIO_GROUPS_A_DRIVER,
	VFIO_GROUPS_A_VIABLE,
	VFIO_GROUPS_A_HOLDER_PID,
	VFIO_GROUPS_A_ATTEMPT,
	VFIO_GROUPS_A_DEADLINE_MS,
	VFIO_GROUPS_A_MEMBER,
	VFIO_GROUPS_A_BLOCKS,
	VFIO_GROUPS_A_REASON,
	VFIO_GROUPS_A_PAD,
	__VFIO_GROUPS_A_MAX,
};

#define VFIO_GROUPS_A_MAX (__VFIO_GROUPS_A_MAX - 1)

#endif /* _UAPI_LINUX_VFIO_GROUPS_H */
