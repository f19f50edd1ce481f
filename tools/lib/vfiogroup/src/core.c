// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Context, paths and small helpers shared by the rest of the library.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

const char *vfg_ctx_get_root(struct vfg_ctx *ctx)
{
	return ctx->root;
}

const char *vfg_ctx_get_driver_name(struct vfg_ctx *ctx)
{
	char path[PATH_MAX], name[VFG_NAME_MAX];

	if (ctx->driver_name[0])
		return ctx->driver_name;
	vfg_strlcpy(ctx->driver_name, "vfio-pci", sizeof(ctx->driver_name));
	if (vfg_path(ctx, path, sizeof(path),
		     "/sys/module/vfio_pci/parameters/driver_name"))
		return ctx->driver_name;
	if (vfg_read_file(path, name, sizeof(name)) > 0 && !strchr(name, '/'))
		vfg_strlcpy(ctx->driver_name, name, sizeof(ctx->driver_name));
	return ctx->driver_name;
}

int vfg_ctx_has_module(struct vfg_ctx *ctx)
{
	char path[PATH_MAX];

	if (vfg_path(ctx, path, sizeof(path), "/sys/class/vfio"))
		return 0;
	return access(path, F_OK) == 0;
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

void *vfg_array_add(void *arr, size_t *n, size_t size)
{
	char *a = realloc(arr, (*n + 1) * size);

	if (!a)
		return NULL;
	memset(a + *n * size, 0, size);
	++*n;
	return a;
}

void vfg_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

ssize_t vfg_read_raw(const char *path, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	return got;
}

ssize_t vfg_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n = vfg_read_raw(path, buf, len - 1);

	if (n < 0) {
		buf[0] = '\0';
		return -1;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

int vfg_file_replace(FILE *f, const char *tmp, const char *path)
{
	int err;

	if (fflush(f) || fsync(fileno(f))) {
		err = errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f)) {
		err = errno;
		goto fail;
	}
	if (!rename(tmp, path))
		return 0;
	err = errno;
fail:
	unlink(tmp);
	errno = err;
	return -1;
}

int vfg_write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, len);
	err = errno;
	if (close(fd) && n >= 0) {
		/* sysfs may report the store's error at close */
		return -1;
	}
	if (n < 0) {
		errno = err;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int vfg_parse_ulong(const char *s, unsigned long *val)
{
	char *end;

	errno = 0;
	*val = strtoul(s, &end, 0);
	if (errno || end == s || (*end && *end != '\n')) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int vfg_readlink_base(const char *path, char *buf, size_t len)
{
	char link[PATH_MAX], *base;
	ssize_t n;

	buf[0] = '\0';
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	link[n] = '\0';
	base = strrchr(link, '/');
	vfg_strlcpy(buf, base ? base + 1 : link, len);
	return 0;
}

bool vfg_is_bdf(const char *name)
{
	char norm[VFG_BDF_MAX];

	return strlen(name) == 12 && !vfg_bdf_normalize(name, norm) &&
	       !strcmp(norm, name);
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
