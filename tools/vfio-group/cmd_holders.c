// SPDX-License-Identifier: GPL-2.0-only
/*
 * holders: which processes have groups open, by the module's holder
 * attribute and by their fds on /dev/vfio/GROUP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vfio-group.h"

int cmd_holders(struct vfg_ctx *ctx, const struct opts *o)
{
	struct vfg_holder *h;
	int *groups, n, i, k, nh, ret, shown = 0;
	struct json j;

	ret = resolve_groups(ctx, o, &groups, &n);
	if (ret)
		return ret;
	if (o->json) {
		json_doc_begin(&j);
		json_arr_begin(&j, "groups");
	}
	for (i = 0; i < n; i++) {
		nh = vfg_group_get_holders(ctx, groups[i], &h);
		if (nh < 0) {
			if (errno == ENOENT)
				continue;
			err("group %d: %s", groups[i], strerror(errno));
			ret = EXIT_FAIL;
			continue;
		}
		/* With no group named, show only the held ones. */
		if (!nh && !o->nargs) {
			free(h);
			continue;
		}
		if (o->json) {
			json_obj_begin(&j, NULL);
			json_int(&j, "group", groups[i]);
			json_holders(&j, h, nh);
			json_obj_end(&j);
		} else if (!nh) {
			printf("group %d: not held\n", groups[i]);
		} else {
			for (k = 0; k < nh; k++)
				printf("group %d: %d %s%s\n", groups[i], h[k].pid,
				       h[k].comm[0] ? h[k].comm : "?",
				       h[k].how & VFG_HOLDER_SYSFS ?
				       " (opened the group)" : "");
		}
		shown++;
		free(h);
	}
	if (o->json) {
		json_end(&j);
	} else if (!shown) {
		printf("no group is held\n");
	}
	free(groups);
	return ret;
}
