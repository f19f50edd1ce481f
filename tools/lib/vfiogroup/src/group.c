// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * IOMMU groups as sysfs shows them: /sys/bus/pci/devices/$BDF/iommu_group is
 * a link to /sys/kernel/iommu_groups/$N, whose devices/ holds the members.
 * A no-IOMMU group (VFIO's enable_unsafe_noiommu_mode) is one too, named
 * "vfio-noiommu", but VFIO calls it noiommu-$N: /dev/vfio/noiommu-$N and
 * /sys/class/vfio/noiommu-$N.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int vfg_device_get_group(struct vfg_ctx *ctx, const char *bdf)
{
	char addr[13], path[PATH_MAX], link[PATH_MAX], *base, *end;
	ssize_t n;
	long id;

	if (vfg_bdf_normalize(bdf, addr))
		return -1;
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s", addr))
		return -1;
	if (access(path, F_OK))
		return -1;	/* errno from access(): ENOENT for no device */
	if (vfg_path(ctx, path, sizeof(path),
		     "/sys/bus/pci/devices/%s/iommu_group", addr))
		return -1;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? VFG_NO_GROUP : -1;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	errno = 0;
	id = strtol(base, &end, 10);
	if (errno || end == base || *end || id < 0 || id > INT_MAX) {
		errno = EINVAL;	/* a link that does not end in a number */
		return -1;
	}
	return (int)id;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vfg_group_get_members(struct vfg_ctx *ctx, int group, char ***members)
{
	char path[PATH_MAX], **v = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	*members = NULL;
	if (group < 0) {
		errno = EINVAL;
		return -1;
	}
	if (vfg_path(ctx, path, sizeof(path),
		     "/sys/kernel/iommu_groups/%d/devices", group))
		return -1;
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (vfg_strv_push(&v, &n, de->d_name)) {
			closedir(d);
			vfg_strv_free(v);
			errno = ENOMEM;
			return -1;
		}
	}
	closedir(d);
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return -1;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*members = v;
	return (int)n;
}

int vfg_group_for_each_device(struct vfg_ctx *ctx, int group,
			      vfg_device_fn fn, void *opaque)
{
	char **members, **p, path[PATH_MAX];
	int ret = 0;

	if (vfg_group_get_members(ctx, group, &members) < 0)
		return -1;
	for (p = members; *p && !ret; p++) {
		/* Gone since the listing (hot removal): not a member now. */
		if (vfg_path(ctx, path, sizeof(path),
			     "/sys/kernel/iommu_groups/%d/devices/%s",
			     group, *p) || access(path, F_OK))
			continue;
		ret = fn(*p, opaque);
	}
	vfg_strv_free(members);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int vfg_ctx_get_groups(struct vfg_ctx *ctx, int **groups)
{
	char path[PATH_MAX], *end;
	struct dirent *de;
	int *v = NULL, *slot;
	size_t n = 0;
	long id;
	DIR *d;

	*groups = NULL;
	if (vfg_path(ctx, path, sizeof(path), "/sys/kernel/iommu_groups"))
		return -1;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -1;	/* no IOMMU: no groups */
	while ((de = readdir(d))) {
		errno = 0;
		id = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end ||
		    errno || id > INT_MAX)
			continue;
		slot = vfg_array_add(v, &n, sizeof(*v));
		if (!slot) {
			free(v);
			closedir(d);
			errno = ENOMEM;
			return -1;
		}
		v = slot;
		v[n - 1] = (int)id;
	}
	closedir(d);
	if (v)
		qsort(v, n, sizeof(*v), cmp_int);
	*groups = v;
	return (int)n;
}

int vfg_group_is_noiommu(struct vfg_ctx *ctx, int group)
{
	char path[PATH_MAX], name[64];

	if (group < 0) {
		errno = EINVAL;
		return -1;
	}
	if (vfg_path(ctx, path, sizeof(path), "/sys/kernel/iommu_groups/%d",
		     group))
		return -1;
	if (access(path, F_OK))
		return -1;
	/* The module's class device says it; without it, the group's name. */
	if (!vfg_path(ctx, path, sizeof(path), "/sys/class/vfio/noiommu-%d",
		      group) && !access(path, F_OK))
		return 1;
	if (vfg_path(ctx, path, sizeof(path),
		     "/sys/kernel/iommu_groups/%d/name", group))
		return -1;
	if (vfg_read_file(path, name, sizeof(name)) < 0)
		return 0;	/* unnamed: an IOMMU driver's group */
	return !strcmp(name, "vfio-noiommu");
}

int vfg_group_get_node(struct vfg_ctx *ctx, int group, char *buf, size_t len)
{
	int noiommu = vfg_group_is_noiommu(ctx, group);

	if (noiommu < 0)
		return -1;
	if ((size_t)snprintf(buf, len, "/dev/vfio/%s%d",
			     noiommu ? "noiommu-" : "", group) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vfg_group_class_path(struct vfg_ctx *ctx, int group, const char *attr,
			 char *buf, size_t len)
{
	if (vfg_path(ctx, buf, len, "/sys/class/vfio/%d", group))
		return -1;
	if (access(buf, F_OK) &&
	    !vfg_path(ctx, buf, len, "/sys/class/vfio/noiommu-%d", group) &&
	    !access(buf, F_OK))
		return vfg_path(ctx, buf, len, "/sys/class/vfio/noiommu-%d/%s",
				group, attr);
	return vfg_path(ctx, buf, len, "/sys/class/vfio/%d/%s", group, attr);
}
