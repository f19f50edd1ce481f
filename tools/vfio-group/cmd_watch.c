// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch: follow group events.
 *
 * TODO(netlink): to be written on the "vfio_groups" generic netlink
 * family (include/uapi/linux/vfio_groups.h): subscribe to the "events"
 * multicast group, start from a VFIO_GROUPS_CMD_GET_GROUP dump, and print
 * one line (one JSON object with --json) per event until interrupted.  The
 * library's event API goes in the "Events and state dump" section of
 * vfiogroup.h.  Until then this fails with EXIT_UNAVAILABLE, so that
 * scripts can tell "not yet" from an error.
 */
#include "vfio-group.h"

int cmd_watch(struct vfg_ctx *ctx, const struct opts *o)
{
	(void)ctx;
	(void)o;
	err("watch is not available yet: this version of %s does not read the vfio_groups netlink events",
	    prog);
	hint("poll /sys/class/vfio/GROUP/viable (it supports poll(2)), or run '%s list' again",
	     prog);
	return EXIT_UNAVAILABLE;
}
