/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFG_INTERNAL_H
#define VFG_INTERNAL_H

#include <limits.h>
#include "vfiogroup/vfiogroup.h"

struct vfg_ctx {
	char root[PATH_MAX];	/* prefix of every sysfs path; "" for "/" */
};

int vfg_path(struct vfg_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int vfg_strv_push(char ***strv, size_t *n, const char *s);

#endif
