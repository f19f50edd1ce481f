/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal generic netlink client for the vfio_groups family, written
 * against the raw socket API so that the kernel's netlink ABI is tested
 * without libvfiogroup in the way.
 */
#ifndef NL_UTIL_H
#define NL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/vfio_groups.h>

struct vfg_nl {
	int fd;
	int family;
	int mcgrp;
	unsigned int seq;
};

struct vfg_nl_ev {
	int event;
	int group;
	char device[32];
	char driver[64];
	int viable;		/* -1: absent */
	int holder;		/* 0: absent */
	unsigned int attempt;
	long long deadline_ms;	/* -1: absent */
};

struct vfg_nl_member {
	char device[32];
	char driver[64];
	int blocks;
	char reason[128];
};

struct vfg_nl_state {
	int group;
	int viable;
	int holder;
	int nr_members;
	struct vfg_nl_member members[8];
};

/* Resolve the family; with @subscribe, join its "events" group.  0/-errno. */
int vfg_nl_open(struct vfg_nl *nl, bool subscribe);
void vfg_nl_close(struct vfg_nl *nl);
/* Next event within @ms: 1 got one, 0 timed out, -errno on error. */
int vfg_nl_next(struct vfg_nl *nl, int ms, struct vfg_nl_ev *ev);
/*
 * Wait up to @ms for an event of @type (and for @device, unless NULL),
 * skipping others.  0 when found, -ETIMEDOUT otherwise.
 */
int vfg_nl_wait(struct vfg_nl *nl, int type, const char *device, int ms,
		struct vfg_nl_ev *ev);
/*
 * GET_GROUP with the raw attributes @attrs (@len bytes, already in netlink
 * attribute format); fills @st.  0, or the kernel's -errno.
 */
int vfg_nl_get_raw(struct vfg_nl *nl, const void *attrs, int len,
		   struct vfg_nl_state *st);
int vfg_nl_get_group(struct vfg_nl *nl, int group, struct vfg_nl_state *st);
/* Dump every group into @st (up to @max); the count, or -errno. */
int vfg_nl_dump(struct vfg_nl *nl, struct vfg_nl_state *st, int max);
const char *vfg_nl_event_name(int event);
/*
 * The raw bytes received for the last GET_GROUP or dump (up to 64 KiB of
 * them), for tests that scan what the kernel returned.
 */
const void *vfg_nl_last_reply(size_t *len);

#endif
