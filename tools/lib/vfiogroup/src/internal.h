/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFG_INTERNAL_H
#define VFG_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "vfiogroup/vfiogroup.h"

/* Nothing declared here is part of the shared library's ABI. */
#pragma GCC visibility push(hidden)

struct vfg_ctx {
	char root[PATH_MAX];	/* prefix of every sysfs path; "" for "/" */
	char driver_name[VFG_NAME_MAX];	/* our PCI driver; "" until read */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int vfg_path(struct vfg_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * @attr of @group in the module's /sys/class/vfio: GROUP/@attr, or
 * noiommu-GROUP/@attr for a no-IOMMU group.  0 or -1 (errno).
 */
int vfg_group_class_path(struct vfg_ctx *ctx, int group, const char *attr,
			 char *buf, size_t len);
int vfg_strv_push(char ***strv, size_t *n, const char *s);

/* Grow *@arr of @size-byte elements to hold *@n + 1; return the new slot. */
void *vfg_array_add(void *arr, size_t *n, size_t size);

/* Copy @src into @dst of @len bytes, always terminated. */
void vfg_strlcpy(char *dst, const char *src, size_t len);

/*
 * Read a whole (small) file into @buf, NUL-terminated, trailing newlines
 * removed.  Return: bytes kept, or -1 with errno set.
 */
ssize_t vfg_read_file(const char *path, char *buf, size_t len);
/* Read a file into @buf without any change; bytes read or -1. */
ssize_t vfg_read_raw(const char *path, void *buf, size_t len);
/*
 * Write @val to a sysfs attribute with one write(), as "echo val >path" does.
 * Return: 0, or -1 with errno set.
 */
int vfg_write_file(const char *path, const char *val);
/*
 * Finish the new file @f, written at @tmp, and put it in @path's place at
 * once (fsync, then rename); on failure @tmp is removed.
 * Return: 0, or -1 with errno set.
 */
int vfg_file_replace(FILE *f, const char *tmp, const char *path);
/* Parse a sysfs number ("0x1234", "42"); 0 or -1/EINVAL. */
int vfg_parse_ulong(const char *s, unsigned long *val);
/* The last component of the symlink @path into @buf; "" (and 0) if none. */
int vfg_readlink_base(const char *path, char *buf, size_t len);

/* The PCI config space of a device, as much of it as sysfs let us read. */
struct vfg_config {
	uint8_t b[4096];
	size_t len;
};

int vfg_config_read(struct vfg_ctx *ctx, const char *bdf, struct vfg_config *cfg);
/* Offset of standard capability @id, 0 if absent, -1 if unreadable. */
int vfg_config_find_cap(const struct vfg_config *cfg, uint8_t id);
/* Offset of extended capability @id, 0 if absent, -1 if unreadable. */
int vfg_config_find_ext_cap(const struct vfg_config *cfg, uint16_t id);
uint16_t vfg_config_word(const struct vfg_config *cfg, size_t off);

/* Is @name a PCI address ("DDDD:BB:DD.F", canonical)? */
bool vfg_is_bdf(const char *name);

/* Fill @info for the device whose sysfs directory is @dir, named @name. */
int vfg_device_info_at(struct vfg_ctx *ctx, const char *dir, const char *name,
		       struct vfg_device_info *info);

/* Is @ctx's view of the system the real one (no root prefix)? */
static inline bool vfg_ctx_is_real(struct vfg_ctx *ctx)
{
	return !ctx->root[0];
}

/*
 * bind.c: plans and their record lines, shared with the persistent
 * bindings (binding.c).  A change line is
 * "DEVICE ACTION OLD_DRIVER OLD_OVERRIDE NEW_DRIVER NEW_OVERRIDE PROBE",
 * "-" for an empty name.
 */
struct vfg_plan *vfg_plan_new(int group);
void vfg_change_print(FILE *f, const char *prefix, const struct vfg_change *c);
/* Parse one change line into a new change of @p; 0, or -1 (EINVAL, ENOMEM). */
int vfg_plan_parse_change(struct vfg_plan *p, const char *line);

/*
 * netlink.c: the "vfio_groups" generic netlink family.  The parsers take one
 * message (header and payload, nlmsg_len bytes) of the family whose ID is
 * @family, and are separate from the sockets so that the unit tests can feed
 * them crafted messages.
 *
 * Return: 1 when @nlh was parsed into @ev (or @st); 0 when it is not a
 * message of that kind (another family or command: skip it); -1 with errno
 * EBADMSG when it is malformed (a required attribute missing, a wrong size,
 * a string without its NUL, bytes left after the attributes), or ENOMEM.
 * On -1, @st holds nothing to free.
 */
struct nlmsghdr;
int vfg_nl_parse_event(struct nlmsghdr *nlh, int family, struct vfg_event *ev);
int vfg_nl_parse_state(struct nlmsghdr *nlh, int family,
		       struct vfg_group_state *st);
/*
 * A monitor that reads datagrams of netlink messages from @fd (a socketpair
 * in the tests) for family @family; the caller keeps @fd.  NULL on ENOMEM.
 */
struct vfg_monitor *vfg_monitor_new_fd(int fd, int family);

#pragma GCC visibility pop

#endif
