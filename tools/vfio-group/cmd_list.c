// SPDX-License-Identifier: GPL-2.0-only
/*
 * list: every group with its members, their IDs, class and driver, whether
 * the group is viable (and which member blocks it), who holds it, and
 * whether it is bound at boot (a persistent binding names one of its members).
 * No-IOMMU groups (/dev/vfio/noiommu-N) are listed too, marked unsafe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "vfio-group.h"

/*
 * The holders to show.  With the module loaded, its holder attribute names
 * the opener, which is cheap; scanning every process's fds for every group
 * is left to the holders command.  Without the module, scan only the groups
 * that have a node (the kernel's own vfio made it).
 */
static int list_holders(struct vfg_ctx *ctx, const struct vfg_group_status *st,
			struct vfg_holder **h)
{
	char path[4096];
	int n;

	*h = NULL;
	if (st->from_kernel) {
		if (st->holder <= 0)
			return 0;
		*h = calloc(1, sizeof(**h));
		if (!*h)
			return 0;
		(*h)->pid = st->holder;
		(*h)->how = VFG_HOLDER_SYSFS;
		vfg_process_get_comm(ctx, st->holder, (*h)->comm,
				     sizeof((*h)->comm));
		return 1;
	}
	snprintf(path, sizeof(path), "%s%s", vfg_ctx_get_root(ctx), st->node);
	if (access(path, F_OK))
		return 0;
	n = vfg_group_get_holders(ctx, st->group, h);
	return n < 0 ? 0 : n;
}

/* What list says about a group's persistent binding. */
struct persist {
	const struct vfg_binding *b;	/* NULL: not persistent */
	char path[4096];
	char why[512];			/* "" unless stale */
};

static void find_persist(struct vfg_ctx *ctx, const struct opts *o,
			 struct vfg_binding **all, int n,
			 const struct vfg_group_status *st, struct persist *ps)
{
	char dir[4096];
	size_t d;
	int i, g;

	ps->b = NULL;
	ps->why[0] = '\0';
	for (i = 0; i < n && !ps->b; i++)
		for (d = 0; d < st->n_devices && !ps->b; d++)
			if (vfg_binding_has_device(all[i], st->devices[d].name))
				ps->b = all[i];
	if (!ps->b)
		return;
	binding_dir(o, dir, sizeof(dir));
	snprintf(ps->path, sizeof(ps->path), "%s/%s.conf", dir, ps->b->name);
	g = vfg_binding_find_group(ctx, ps->b, ps->why, sizeof(ps->why));
	if (g >= 0 && g != st->group)
		snprintf(ps->why, sizeof(ps->why), "it names group %d", g);
}

static void print_group(const struct vfg_group_status *st,
			const struct vfg_holder *h, int nh,
			const struct persist *ps)
{
	size_t i;
	int k;

	printf("group %d%s: %s\n", st->group,
	       st->noiommu ? " (no-IOMMU, unsafe)" : "",
	       st->viable ? "viable" : "not viable");
	for (i = 0; i < st->n_devices; i++)
		print_device(&st->devices[i], "    ");
	if (st->noiommu)
		printf("    no IOMMU: %s; nothing isolates the device's DMA (CAP_SYS_RAWIO, taints the kernel)\n",
		       st->node);
	for (i = 0; i < st->n_blockers; i++) {
		/* A blocker that is not one of the PCI members listed. */
		size_t d;

		for (d = 0; d < st->n_devices; d++)
			if (!strcmp(st->devices[d].name, st->blockers[i].device))
				break;
		if (d == st->n_devices)
			printf("    %s (%s) blocks: %s\n", st->blockers[i].device,
			       st->blockers[i].driver, st->blockers[i].why);
	}
	if (nh) {
		printf("    held by");
		for (k = 0; k < nh; k++)
			printf("%s %d (%s)", k ? "," : "", h[k].pid,
			       h[k].comm[0] ? h[k].comm : "?");
		putchar('\n');
	}
	if (ps->b && ps->why[0])
		printf("    persistent, but stale: %s (%s)\n", ps->why, ps->path);
	else if (ps->b)
		printf("    persistent: bound at boot (%s)\n", ps->path);
	if (!st->viable)
		printf("    next: '%s explain %d' says why; '%s bind %d' makes it viable\n",
		       prog, st->group, prog, st->group);
}

static void json_group(struct json *j, const struct vfg_group_status *st,
		       const struct vfg_holder *h, int nh,
		       const struct persist *ps)
{
	size_t i;

	json_obj_begin(j, NULL);
	json_int(j, "group", st->group);
	json_bool(j, "viable", st->viable);
	json_str(j, "source", st->from_kernel ? "kernel" : "library");
	json_arr_begin(j, "devices");
	for (i = 0; i < st->n_devices; i++)
		json_device(j, &st->devices[i]);
	json_arr_end(j);
	json_arr_begin(j, "blockers");
	for (i = 0; i < st->n_blockers; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "device", st->blockers[i].device);
		json_str(j, "driver", st->blockers[i].driver);
		json_str(j, "reason", st->blockers[i].why);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (st->holder > 0)
		json_int(j, "holder", st->holder);
	else
		json_null(j, "holder");
	json_holders(j, h, nh);
	json_bool(j, "persistent", ps->b != NULL);
	json_str_or_null(j, "persistent_file", ps->b ? ps->path : "");
	json_str_or_null(j, "persistent_stale", ps->b ? ps->why : "");
	json_bool(j, "noiommu", st->noiommu);
	json_str(j, "node", st->node);
	json_obj_end(j);
}

int cmd_list(struct vfg_ctx *ctx, const struct opts *o)
{
	struct vfg_group_status *st;
	struct vfg_binding **all;
	struct vfg_holder *h;
	struct persist ps;
	struct json j;
	int *groups, n, i, nh, nb, ret;
	bool module = vfg_ctx_has_module(ctx);
	char dir[4096];

	ret = resolve_groups(ctx, o, &groups, &n);
	if (ret)
		return ret;
	binding_dir(o, dir, sizeof(dir));
	nb = vfg_binding_load_all(dir, &all);
	if (nb < 0) {
		err("warning: cannot read the persistent bindings in %s: %s",
		    dir, strerror(errno));
		nb = 0;
	}
	if (o->json) {
		json_doc_begin(&j);
		json_bool(&j, "module_loaded", module);
		json_str(&j, "driver", vfg_ctx_get_driver_name(ctx));
		json_arr_begin(&j, "groups");
	}
	for (i = 0; i < n; i++) {
		if (vfg_group_get_status(ctx, groups[i], &st)) {
			if (errno == ENOENT)
				continue;	/* gone while we looked */
			err("group %d: %s", groups[i], strerror(errno));
			ret = EXIT_FAIL;
			continue;
		}
		nh = list_holders(ctx, st, &h);
		find_persist(ctx, o, all, nb, st, &ps);
		if (o->json)
			json_group(&j, st, h, nh, &ps);
		else
			print_group(st, h, nh, &ps);
		free(h);
		vfg_group_status_free(st);
	}
	if (o->json) {
		json_end(&j);
	} else if (!n) {
		printf("no IOMMU groups\n");
		hint("the IOMMU is off: enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on");
		if (noiommu_mode(ctx))
			hint("no-IOMMU mode is on: a device bound to %s gets a no-IOMMU group (unsafe)",
			     vfg_ctx_get_driver_name(ctx));
	} else if (!module) {
		printf("note: the vfio module is not loaded; viability is %s's reading of the drivers\n",
		       prog);
	}
	vfg_binding_free_all(all, nb);
	free(groups);
	return ret;
}
