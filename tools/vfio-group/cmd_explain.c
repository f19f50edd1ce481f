// SPDX-License-Identifier: GPL-2.0-only
/*
 * explain: why a group has the members it has (DMA aliasing behind PCI
 * bridges, missing ACS, multifunction devices), what would split it, and
 * what would make it viable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vfio-group.h"

static const char *why_kind(enum vfg_why_kind k)
{
	switch (k) {
	case VFG_WHY_ALIAS:
		return "alias";
	case VFG_WHY_NO_ACS:
		return "no-acs";
	case VFG_WHY_MULTIFUNCTION:
		return "multifunction";
	default:
		return "unknown";
	}
}

/* What would give the member a group of its own. */
static void why_advice(const struct vfg_why *w, char *buf, size_t len)
{
	switch (w->kind) {
	case VFG_WHY_ALIAS:
		snprintf(buf, len,
			 "nothing in software splits it: move the device to a PCIe slot, or assign the whole group");
		break;
	case VFG_WHY_NO_ACS:
		snprintf(buf, len,
			 "enable ACS on %s if the firmware offers it, or move the device below a port that has ACS; otherwise assign the whole group",
			 w->at);
		break;
	case VFG_WHY_MULTIFUNCTION:
		snprintf(buf, len,
			 "assign all functions of %.10s together; a kernel ACS quirk for this device would split them",
			 w->at);
		break;
	default:
		if (strstr(w->text, "root"))
			snprintf(buf, len, "run %s as root to read PCI config space",
				 prog);
		else
			snprintf(buf, len, "assign the whole group");
	}
}

/* The actions that make the group viable, one sentence each. */
static int viability_actions(struct vfg_ctx *ctx,
			     const struct vfg_group_status *st, char ***out)
{
	const char *ours = vfg_ctx_get_driver_name(ctx);
	char **v = NULL, line[512], **nv;
	size_t i, d, n = 0, to_bind = 0;
	const struct vfg_device_info *dev;

	for (i = 0; i < st->n_blockers; i++) {
		dev = NULL;
		for (d = 0; d < st->n_devices; d++)
			if (!strcmp(st->devices[d].name, st->blockers[i].device))
				dev = &st->devices[d];
		if (dev && dev->is_bridge)
			snprintf(line, sizeof(line),
				 "unbind bridge %s from %s (%s cannot take bridges; pcieport or pci-stub would not block)",
				 dev->name, dev->driver, ours);
		else if (dev && dev->is_pci)
			snprintf(line, sizeof(line),
				 "bind %s to %s instead of %s (or unbind it)",
				 dev->name, ours, st->blockers[i].driver);
		else
			snprintf(line, sizeof(line),
				 "unbind %s from %s (not a PCI device: %s cannot do it)",
				 st->blockers[i].device, st->blockers[i].driver,
				 prog);
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(line);
		v[n] = NULL;
	}
	for (d = 0; d < st->n_devices; d++)
		if (st->devices[d].is_pci && !st->devices[d].is_bridge &&
		    strcmp(st->devices[d].driver, ours))
			to_bind++;
	if (st->n_blockers || to_bind) {
		snprintf(line, sizeof(line),
			 "'%s bind %d' does all of it: %s, bridges that block unbound, all or nothing",
			 prog, st->group,
			 to_bind ? "members bound to vfio-pci" : "no member to bind");
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (nv) {
			v = nv;
			v[n++] = strdup(line);
			v[n] = NULL;
		}
	}
	*out = v;
	return (int)n;
}

int cmd_explain(struct vfg_ctx *ctx, const struct opts *o)
{
	struct vfg_group_status *st;
	struct vfg_holder *h = NULL;
	struct vfg_why *w = NULL;
	char **act = NULL, advice[512];
	int group, ret, nw, na, nh, i;
	struct json j;
	size_t d;

	if (o->nargs != 1) {
		err("explain wants one GROUP or BDF");
		return EXIT_USAGE;
	}
	ret = resolve_group(ctx, o->args[0], &group);
	if (ret)
		return ret;
	if (vfg_group_get_status(ctx, group, &st)) {
		err("group %d: %s", group, strerror(errno));
		return errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL;
	}
	nw = vfg_group_explain(ctx, group, &w);
	if (nw < 0) {
		err("group %d: cannot read its topology: %s", group,
		    strerror(errno));
		vfg_group_status_free(st);
		return EXIT_FAIL;
	}
	na = viability_actions(ctx, st, &act);
	nh = vfg_group_get_holders(ctx, group, &h);
	if (nh < 0)
		nh = 0;

	if (o->json) {
		json_doc_begin(&j);
		json_int(&j, "group", group);
		json_arr_begin(&j, "devices");
		for (d = 0; d < st->n_devices; d++)
			json_device(&j, &st->devices[d]);
		json_arr_end(&j);
		json_arr_begin(&j, "reasons");
		for (i = 0; i < nw; i++) {
			why_advice(&w[i], advice, sizeof(advice));
			json_obj_begin(&j, NULL);
			json_str(&j, "kind", why_kind(w[i].kind));
			json_str(&j, "device", w[i].device);
			json_str(&j, "at", w[i].at);
			json_str(&j, "text", w[i].text);
			json_str(&j, "advice", advice);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_bool(&j, "viable", st->viable);
		json_str(&j, "source", st->from_kernel ? "kernel" : "library");
		json_arr_begin(&j, "blockers");
		for (d = 0; d < st->n_blockers; d++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "device", st->blockers[d].device);
			json_str(&j, "driver", st->blockers[d].driver);
			json_str(&j, "reason", st->blockers[d].why);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr_begin(&j, "actions");
		for (i = 0; i < na; i++)
			json_str(&j, NULL, act[i]);
		json_arr_end(&j);
		json_holders(&j, h, nh);
		json_bool(&j, "noiommu", st->noiommu);
		json_str(&j, "node", st->node);
		json_obj_end(&j);
		json_end(&j);
		goto out;
	}

	printf("group %d%s: %zu device%s\n", group,
	       st->noiommu ? " (no-IOMMU, unsafe)" : "", st->n_devices,
	       st->n_devices == 1 ? "" : "s");
	for (d = 0; d < st->n_devices; d++)
		print_device(&st->devices[d], "    ");
	putchar('\n');
	if (st->noiommu) {
		printf("No IOMMU: VFIO's no-IOMMU mode (enable_unsafe_noiommu_mode) made this group, %s, for one device that no IOMMU translates.\n"
		       "Nothing isolates its DMA: it reaches all of memory, and the user programs it with physical addresses.\n"
		       "Using it needs CAP_SYS_RAWIO and taints the kernel; only a machine whose one user owns the device should do it.\n",
		       st->node);
	} else if (st->n_devices <= 1) {
		printf("Alone in its group: the IOMMU isolates it.\n");
	} else {
		printf("Why these devices share a group:\n");
		for (i = 0; i < nw; i++) {
			why_advice(&w[i], advice, sizeof(advice));
			printf("  - %s\n    to split: %s\n", w[i].text, advice);
		}
	}
	putchar('\n');
	if (st->viable) {
		printf("Viable: yes%s.\n",
		       st->from_kernel ? "" : " (by vfio-group's rule; the vfio module is not loaded)");
	} else {
		printf("Viable: no%s.\n",
		       st->from_kernel ? "" : " (by vfio-group's rule; the vfio module is not loaded)");
		for (d = 0; d < st->n_blockers; d++)
			printf("  - %s (%s): %s\n", st->blockers[d].device,
			       st->blockers[d].driver, st->blockers[d].why);
	}
	if (na) {
		printf("%s:\n", st->viable ? "To use it" : "What would make it viable");
		for (i = 0; i < na; i++)
			printf("  - %s\n", act[i]);
	}
	for (i = 0; i < nh; i++)
		printf("Held by %d (%s).\n", h[i].pid,
		       h[i].comm[0] ? h[i].comm : "?");
out:
	for (i = 0; i < na; i++)
		free(act[i]);
	free(act);
	free(h);
	free(w);
	vfg_group_status_free(st);
	return EXIT_OK;
}
