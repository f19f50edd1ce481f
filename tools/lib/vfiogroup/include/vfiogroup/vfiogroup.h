/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfiogroup: IOMMU groups made usable.
 *
 * Every call that takes a struct vfg_ctx reads sysfs below the context's root
 * ("/" normally; a fake tree in tests).  Functions return 0 (or a count) on
 * success, -1 on error with errno set, unless documented otherwise.
 */
#ifndef VFIOGROUP_H
#define VFIOGROUP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Returned by vfg_device_get_group() when the device has no IOMMU group. */
#define VFG_NO_GROUP (-2)

struct vfg_ctx;

/**
 * vfg_ctx_new() - open a library context
 * @sysfs_root: directory that holds "sys/", or NULL for "/"
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

#ifdef __cplusplus
}
#endif

#endif /* VFIOGROUP_H */
