// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One device: identity (vendor, device, class, bridge or not), its driver
 * and driver_override, and whether it keeps its group from being viable.
 *
 * The viability rule is the kernel's: a device blocks its group when it is
 * bound to a driver that does DMA through the kernel DMA API, that is one
 * without driver_managed_dma.  Userspace cannot read that flag, so without
 * the module the library knows the drivers that set it by name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PCI_HEADER_TYPE		0x0e
#define PCI_CLASS_BRIDGE_PCI	0x0604
#define PCI_CLASS_BRIDGE_CARDBUS 0x0607

/* Drivers known to set driver_managed_dma (besides ours). */
static const char *const dma_managed_drivers[] = {
	"pci-stub", "pcieport", "vfio-pci",
};

static const char why_dma[] =
	"bound to a driver that does DMA through the kernel DMA API";
static const char why_non_pci[] = "a non-PCI device bound to a driver";

int vfg_driver_is_dma_managed(struct vfg_ctx *ctx, const char *driver)
{
	size_t i;

	if (!driver || !driver[0])
		return 1;
	if (!strcmp(driver, vfg_ctx_get_driver_name(ctx)))
		return 1;
	for (i = 0; i < ARRAY_SIZE(dma_managed_drivers); i++)
		if (!strcmp(driver, dma_managed_drivers[i]))
			return 1;
	return 0;
}

static int read_hex(const char *dir, const char *attr, unsigned int *val)
{
	char path[PATH_MAX], buf[32];
	unsigned long v;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, attr) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (vfg_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	if (vfg_parse_ulong(buf, &v))
		return -1;
	*val = (unsigned int)v;
	return 0;
}

static int group_of_dir(const char *dir)
{
	char path[PATH_MAX], base[32], *end;
	long id;

	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	if (vfg_readlink_base(path, base, sizeof(base)))
		return -1;
	if (!base[0])
		return VFG_NO_GROUP;
	errno = 0;
	id = strtol(base, &end, 10);
	if (errno || *end || end == base || id < 0 || id > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	return (int)id;
}

/* The rule, for when the kernel's "blockers" is not there to ask. */
static void apply_rule(struct vfg_ctx *ctx, struct vfg_device_info *info)
{
	info->blocks = 0;
	info->why[0] = '\0';
	if (!info->driver[0])
		return;
	if (!info->is_pci) {
		info->blocks = 1;
		vfg_strlcpy(info->why, why_non_pci, sizeof(info->why));
	} else if (!vfg_driver_is_dma_managed(ctx, info->driver)) {
		info->blocks = 1;
		vfg_strlcpy(info->why, why_dma, sizeof(info->why));
	}
}

int vfg_device_info_at(struct vfg_ctx *ctx, const char *dir, const char *name,
		       struct vfg_device_info *info)
{
	char path[PATH_MAX], buf[VFG_NAME_MAX];
	unsigned char hdr;
	unsigned int cls;

	memset(info, 0, sizeof(*info));
	vfg_strlcpy(info->name, name, sizeof(info->name));
	if (access(dir, F_OK))
		return -1;
	info->is_pci = vfg_is_bdf(name);
	if (info->is_pci) {
		if (read_hex(dir, "vendor", &info->vendor) ||
		    read_hex(dir, "device", &info->device) ||
		    read_hex(dir, "class", &info->pci_class)) {
			/* ENOENT means the device went away, nothing else */
			if (errno == ENOENT && !access(dir, F_OK))
				errno = EIO;
			return -1;
		}
		cls = info->pci_class >> 8;
		snprintf(path, sizeof(path), "%s/config", dir);
		if (vfg_read_raw(path, buf, PCI_HEADER_TYPE + 1) ==
		    PCI_HEADER_TYPE + 1) {
			hdr = (unsigned char)buf[PCI_HEADER_TYPE];
			info->is_bridge = (hdr & 0x7f) != 0;
		} else {
			info->is_bridge = cls == PCI_CLASS_BRIDGE_PCI ||
					  cls == PCI_CLASS_BRIDGE_CARDBUS;
		}
	}
	info->group = group_of_dir(dir);
	if (info->group == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/driver", dir);
	if (vfg_readlink_base(path, info->driver, sizeof(info->driver)))
		return -1;
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	if (vfg_read_file(path, buf, sizeof(buf)) >= 0 &&
	    strcmp(buf, "(null)"))
		vfg_strlcpy(info->override, buf, sizeof(info->override));
	apply_rule(ctx, info);
	/* Gone while we read it?  Then nothing we read is worth trusting. */
	if (access(dir, F_OK))
		return -1;
	return 0;
}

/*
 * Parse one line of the kernel's "blockers": "<device> <driver>: <reason>".
 * Return: 0, or -1 if the line is not in that form.
 */
static int parse_blocker(const char *line, struct vfg_blocker *b)
{
	const char *sp = strchr(line, ' '), *colon;

	memset(b, 0, sizeof(*b));
	if (!sp)
		return -1;
	colon = strstr(sp + 1, ": ");
	if (!colon)
		return -1;
	snprintf(b->device, sizeof(b->device), "%.*s", (int)(sp - line), line);
	snprintf(b->driver, sizeof(b->driver), "%.*s",
		 (int)(colon - sp - 1), sp + 1);
	vfg_strlcpy(b->why, colon + 2, sizeof(b->why));
	return 0;
}

/*
 * The kernel's blockers of @group, or -1 (errno ENOENT) when the module does
 * not publish them.
 */
static int kernel_blockers(struct vfg_ctx *ctx, int group,
			   struct vfg_blocker **out, size_t *n)
{
	char path[PATH_MAX], *buf, *line, *save = NULL;
	struct vfg_blocker b, *v = NULL, *nv;
	ssize_t len;

	*out = NULL;
	*n = 0;
	if (vfg_group_class_path(ctx, group, "blockers", path,
				 sizeof(path)))
		return -1;
	buf = malloc(8192);
	if (!buf)
		return -1;
	len = vfg_read_file(path, buf, 8192);
	if (len < 0) {
		free(buf);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (parse_blocker(line, &b))
			continue;
		nv = vfg_array_add(v, n, sizeof(*v));
		if (!nv) {
			free(v);
			free(buf);
			errno = ENOMEM;
			return -1;
		}
		v = nv;
		v[*n - 1] = b;
	}
	free(buf);
	*out = v;
	return 0;
}

/* Replace the rule's verdict with the kernel's, when the kernel gives one. */
static void apply_kernel(struct vfg_device_info *info,
			 const struct vfg_blocker *b, size_t n)
{
	size_t i;

	info->blocks = 0;
	info->why[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(b[i].device, info->name))
			continue;
		info->blocks = 1;
		vfg_strlcpy(info->why, b[i].why, sizeof(info->why));
	}
}

int vfg_device_get_info(struct vfg_ctx *ctx, const char *bdf,
			struct vfg_device_info *info)
{
	char addr[VFG_BDF_MAX], dir[PATH_MAX];
	struct vfg_blocker *b;
	size_t n;

	if (vfg_bdf_normalize(bdf, addr))
		return -1;
	if (vfg_path(ctx, dir, sizeof(dir), "/sys/bus/pci/devices/%s", addr))
		return -1;
	if (vfg_device_info_at(ctx, dir, addr, info))
		return -1;
	if (info->group >= 0 && !kernel_blockers(ctx, info->group, &b, &n)) {
		apply_kernel(info, b, n);
		free(b);
	}
	return 0;
}

int vfg_device_get_driver(struct vfg_ctx *ctx, const char *bdf, char *buf,
			  size_t len)
{
	char addr[VFG_BDF_MAX], path[PATH_MAX];

	buf[0] = '\0';
	if (vfg_bdf_normalize(bdf, addr))
		return -1;
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s", addr))
		return -1;
	if (access(path, F_OK))
		return -1;
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
		     addr))
		return -1;
	return vfg_readlink_base(path, buf, len);
}

/* ------------------------------------------------------------------------
 * Group status
 */

static int read_holder(struct vfg_ctx *ctx, int group)
{
	char path[PATH_MAX], buf[32];
	unsigned long pid;

	if (vfg_group_class_path(ctx, group, "holder", path,
				 sizeof(path)))
		return -1;
	if (vfg_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	if (!buf[0])
		return 0;
	if (vfg_parse_ulong(buf, &pid) || pid > INT_MAX)
		return -1;
	return (int)pid;
}

static int add_blocker(struct vfg_group_status *st,
		       const struct vfg_device_info *info)
{
	struct vfg_blocker *b;

	b = vfg_array_add(st->blockers, &st->n_blockers, sizeof(*b));
	if (!b)
		return -1;
	st->blockers = b;
	b += st->n_blockers - 1;
	vfg_strlcpy(b->device, info->name, sizeof(b->device));
	vfg_strlcpy(b->driver, info->driver, sizeof(b->driver));
	vfg_strlcpy(b->why, info->why, sizeof(b->why));
	return 0;
}

int vfg_group_get_status(struct vfg_ctx *ctx, int group,
			 struct vfg_group_status **status)
{
	struct vfg_group_status *st;
	struct vfg_device_info *info;
	char **members = NULL, **p, dir[PATH_MAX], buf[8];
	int n, err;
	size_t i;

	*status = NULL;
	n = vfg_group_get_members(ctx, group, &members);
	if (n < 0)
		return -1;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	st->group = group;
	st->holder = -1;
	if (n) {
		st->devices = calloc(n, sizeof(*st->devices));
		if (!st->devices)
			goto fail;
	}
	for (p = members; *p; p++) {
		if (vfg_path(ctx, dir, sizeof(dir),
			     "/sys/kernel/iommu_groups/%d/devices/%s", group,
			     *p))
			goto fail;
		info = &st->devices[st->n_devices];
		if (vfg_device_info_at(ctx, dir, *p, info)) {
			if (errno == ENOENT)
				continue;	/* vanished mid-walk */
			goto fail;
		}
		st->n_devices++;
	}
	vfg_strv_free(members);
	members = NULL;

	st->viable = -1;
	if (!kernel_blockers(ctx, group, &st->blockers, &st->n_blockers)) {
		st->from_kernel = 1;
		for (i = 0; i < st->n_devices; i++)
			apply_kernel(&st->devices[i], st->blockers,
				     st->n_blockers);
		st->holder = read_holder(ctx, group);
		if (st->holder < 0)
			st->holder = -1;
		if (!vfg_group_class_path(ctx, group, "viable", dir,
					  sizeof(dir)) &&
		    vfg_read_file(dir, buf, sizeof(buf)) > 0 &&
		    (!strcmp(buf, "0") || !strcmp(buf, "1")))
			st->viable = buf[0] == '1';
	} else {
		for (i = 0; i < st->n_devices; i++)
			if (st->devices[i].blocks &&
			    add_blocker(st, &st->devices[i]))
				goto fail;
	}
	if (st->viable < 0)
		st->viable = st->n_blockers == 0;
	st->noiommu = vfg_group_is_noiommu(ctx, group);
	if (st->noiommu < 0 ||
	    vfg_group_get_node(ctx, group, st->node, sizeof(st->node)))
		goto fail;
	*status = st;
	return 0;
fail:
	err = errno ? errno : ENOMEM;
	vfg_strv_free(members);
	vfg_group_status_free(st);
	errno = err;
	return -1;
}

void vfg_group_status_free(struct vfg_group_status *status)
{
	if (!status)
		return;
	free(status->devices);
	free(status->blockers);
	free(status);
}

int vfg_group_is_viable(struct vfg_ctx *ctx, int group)
{
	struct vfg_group_status *st;
	char path[PATH_MAX], buf[8];
	int viable;

	/* The kernel's own answer, when it gives one. */
	if (!vfg_group_class_path(ctx, group, "viable", path, sizeof(path)) &&
	    vfg_read_file(path, buf, sizeof(buf)) > 0 &&
	    (!strcmp(buf, "0") || !strcmp(buf, "1")))
		return buf[0] == '1';
	if (vfg_group_get_status(ctx, group, &st))
		return -1;
	viable = st->viable;
	vfg_group_status_free(st);
	return viable;
}
