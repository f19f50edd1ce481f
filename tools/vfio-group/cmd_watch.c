// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch: follow group events.
 *
 * TODO(netlink): this needs the vfio generic netlink family (events for
 * viability and holder changes, device arrival and removal, blocked removal,
 * and a state dump to start from), which the kernel module does not provide
 * yet.  When it does, the library gains the event API (see the "Events and
 * state dump" section of vfiogroup.h) and this command prints one line (or
 * one JSON object with --json) per event until interrupted.  Until then it
 * fails with EXIT_UNAVAILABLE so that scripts can tell "not yet" from an
 * error.
 */
#include "vfio-group.h"

int cmd_watch(struct vfg_ctx *ctx, const struct opts *o)
{
	(void)ctx;
	(void)o;
	err("watch is not available yet: it needs the vfio generic netlink family, which this version of the vfio module does not provide");
	hint("poll /sys/class/vfio/GROUP/viable (it supports poll(2)), or run '%s list' again",
	     prog);
	return EXIT_UNAVAILABLE;
}
