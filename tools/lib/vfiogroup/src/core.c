// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Context, paths and small helpers shared by the rest of the library.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct vfg_ctx *vfg_ctx_new(const char *sysfs_root)
{
	struct vfg_ctx *ctx = calloc(1, sizeof(*ctx));
	size_t len;

	if (!ctx)
		return NULL;
	if (sysfs_root && strcmp(sysfs_root, "/")) {
		len = strlen(sysfs_root);
		while (len > 1 && sysfs_root[len - 1] == '/')
			len--;
		if (len >= sizeof(ctx->root) - 64) {
			free(ctx);
			errno = ENAMETOOLONG;
			return NULL;
		}
		memcpy(ctx->root, sysfs_root, len);
		ctx->root[len] = '\0';
	}
	return ctx;
}

void vfg_ctx_free(struct vfg_ctx *ctx)
{
	free(ctx);
}

/* Format "<root>/<fmt...>" into buf; -1/ENAMETOOLONG when it does not fit. */
int vfg_path(struct vfg_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s", ctx->root);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vfg_strv_push(char ***strv, size_t *n, const char *s)
{
	char **v = realloc(*strv, (*n + 2) * sizeof(*v));

	if (!v)
		return -1;
	*strv = v;
	v[*n] = strdup(s);
	if (!v[*n])
		return -1;
	v[++*n] = NULL;
	return 0;
}

void vfg_strv_free(char **strv)
{
	char **p;

	if (!strv)
		return;
	for (p = strv; *p; p++)
		free(*p);
	free(strv);
}

int vfg_bdf_normalize(const char *in, char out[13])
{
	unsigned int dom = 0, bus, dev, fn;
	char tail;

	if (!in)
		goto bad;
	/* Only hex digits, ':' and '.' may appear; sscanf alone is too lax. */
	for (const char *p = in; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			goto bad;
	if (sscanf(in, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		dom = 0;
		if (sscanf(in, "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3)
			goto bad;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, 13, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
