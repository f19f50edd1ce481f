// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the commands share: messages, group resolution, records, device
 * names, device lines.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "vfio-group.h"

/* "vfio-group: " @kind, then the message, on stderr. */
static void say(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", prog, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("hint: ", fmt, ap);
	va_end(ap);
}

/* Does directory @path have no entries (or not exist)? */
static bool dir_empty(const char *path)
{
	struct dirent *de;
	bool empty = true;
	DIR *d = opendir(path);

	if (!d)
		return true;
	while (empty && (de = readdir(d)))
		empty = de->d_name[0] == '.';
	closedir(d);
	return empty;
}

/* Is the vfio module's enable_unsafe_noiommu_mode set? */
bool noiommu_mode(struct vfg_ctx *ctx)
{
	char path[4096], buf[8] = "";
	FILE *f;

	snprintf(path, sizeof(path),
		 "%s/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		 vfg_ctx_get_root(ctx));
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] == 'Y' || buf[0] == '1';
}

int resolve_group(struct vfg_ctx *ctx, const char *arg, int *group)
{
	char path[4096], **m;
	const char *p;
	long id;
	int g, n;

	for (p = arg; *p && isdigit((unsigned char)*p); p++)
		;
	if (*arg && !*p && strlen(arg) < 10) {
		id = strtol(arg, NULL, 10);
		n = vfg_group_get_members(ctx, (int)id, &m);
		if (n < 0) {
			err("there is no IOMMU group %ld", id);
			hint("'%s list' shows the groups", prog);
			return EXIT_NOTFOUND;
		}
		vfg_strv_free(m);
		*group = (int)id;
		return EXIT_OK;
	}
	g = vfg_device_get_group(ctx, arg);
	if (g >= 0) {
		*group = g;
		return EXIT_OK;
	}
	if (g == VFG_NO_GROUP) {
		snprintf(path, sizeof(path), "%s/sys/class/iommu",
			 vfg_ctx_get_root(ctx));
		if (dir_empty(path)) {
			err("%s has no IOMMU group: the IOMMU is off", arg);
			hint("enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on");
			if (noiommu_mode(ctx))
				hint("no-IOMMU mode is on: binding %s to %s (driver_override, then drivers_probe) gives it a no-IOMMU group, which nothing isolates",
				     arg, vfg_ctx_get_driver_name(ctx));
		} else {
			err("%s has no IOMMU group: the IOMMU is on, but does not translate this device",
			    arg);
			hint("check the kernel log (dmesg | grep -i -e DMAR -e AMD-Vi) for this device");
		}
		return EXIT_NOTFOUND;
	}
	if (errno == EINVAL) {
		err("\"%s\" is neither a group number nor a PCI address", arg);
		hint("give a group (2) or a device (0000:01:00.0 or 01:00.0)");
		return EXIT_USAGE;
	}
	if (errno == ENOENT) {
		err("there is no PCI device %s", arg);
		hint("'%s list' shows the devices of every group", prog);
		return EXIT_NOTFOUND;
	}
	err("%s: %s", arg, strerror(errno));
	return EXIT_FAIL;
}

/* The groups named on the command line (deduplicated), or all of them. */
int resolve_groups(struct vfg_ctx *ctx, const struct opts *o, int **out,
		       int *n)
{
	int *v, g, i, j, ret;

	*out = NULL;
	*n = 0;
	if (!o->nargs) {
		*n = vfg_ctx_get_groups(ctx, out);
		if (*n < 0) {
			err("cannot list the IOMMU groups: %s", strerror(errno));
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	v = calloc(o->nargs, sizeof(*v));
	if (!v) {
		err("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < o->nargs; i++) {
		ret = resolve_group(ctx, o->args[i], &g);
		if (ret) {
			free(v);
			return ret;
		}
		for (j = 0; j < *n && v[j] != g; j++)
			;
		if (j == *n)
			v[(*n)++] = g;
	}
	*out = v;
	return EXIT_OK;
}

void record_path(const struct opts *o, int group, char *buf, size_t len)
{
	if (o->state_dir)
		snprintf(buf, len, "%s/group-%d", o->state_dir, group);
	else
		snprintf(buf, len, "%s/run/vfio-group/group-%d",
			 o->root ? o->root : "", group);
}

void binding_dir(const struct opts *o, char *buf, size_t len)
{
	if (o->config_dir)
		snprintf(buf, len, "%s", o->config_dir);
	else
		snprintf(buf, len, "%s" VFG_BINDING_DIR, o->root ? o->root : "");
}

void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double d = (double)v;
	int u = 0;

	if (v == VFG_MEMLOCK_UNLIMITED) {
		snprintf(buf, len, "unlimited");
		return;
	}
	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	else if (d == (uint64_t)d)
		snprintf(buf, len, "%.0f %s", d, units[u]);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

void print_device(const struct vfg_device_info *d, const char *indent)
{
	char id[16], cls[160], line[1024];
	struct pci_names nm;
	int n;

	if (!d->is_pci) {
		n = snprintf(line, sizeof(line), "%s%-12s  %-9s  %-34s  %-16s",
			     indent, d->name, "-", "(not PCI)",
			     d->driver[0] ? d->driver : "-");
	} else {
		pci_names_get(d, &nm);
		snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->device);
		if (strchr(nm.cls, '['))	/* libpci: "Bridge [06ff]" */
			snprintf(cls, sizeof(cls), "%s", nm.cls);
		else if (nm.cls[0])
			snprintf(cls, sizeof(cls), "%s [%04x]", nm.cls,
				 d->pci_class >> 8);
		else
			snprintf(cls, sizeof(cls), "Class %04x",
				 d->pci_class >> 8);
		n = snprintf(line, sizeof(line), "%s%-12s  %-9s  %-34s  %-16s  %s",
			     indent, d->name, id, cls,
			     d->driver[0] ? d->driver : "-", nm.both);
	}
	if (d->blocks)
		snprintf(line + n, sizeof(line) - n, "  blocks: %s", d->why);
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

void json_device(struct json *j, const struct vfg_device_info *d)
{
	struct pci_names nm;
	char buf[16];

	json_obj_begin(j, NULL);
	json_str(j, "address", d->name);
	json_bool(j, "pci", d->is_pci);
	if (d->is_pci) {
		snprintf(buf, sizeof(buf), "%04x", d->vendor);
		json_str(j, "vendor", buf);
		snprintf(buf, sizeof(buf), "%04x", d->device);
		json_str(j, "device", buf);
		snprintf(buf, sizeof(buf), "%06x", d->pci_class);
		json_str(j, "class", buf);
		pci_names_get(d, &nm);
		json_str_or_null(j, "class_name", nm.cls);
		json_str_or_null(j, "vendor_name", nm.vendor);
		json_str_or_null(j, "device_name", nm.device);
		json_str(j, "name", nm.both);
		json_bool(j, "bridge", d->is_bridge);
	}
	json_str_or_null(j, "driver", d->driver);
	json_str_or_null(j, "driver_override", d->override);
	json_bool(j, "blocks", d->blocks);
	json_str_or_null(j, "reason", d->blocks ? d->why : NULL);
	json_obj_end(j);
}

void json_holders(struct json *j, const struct vfg_holder *h, int n)
{
	int i;

	json_arr_begin(j, "holders");
	for (i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_int(j, "pid", h[i].pid);
		json_str_or_null(j, "comm", h[i].comm);
		json_bool(j, "via_sysfs", h[i].how & VFG_HOLDER_SYSFS);
		json_bool(j, "via_fd", h[i].how & VFG_HOLDER_FD);
		json_obj_end(j);
	}
	json_arr_end(j);
}
