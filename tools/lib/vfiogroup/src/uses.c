// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the host needs a PCI device for: the safety check before a bind.
 *
 * A block device, network interface or tty belongs to the PCI device that is
 * its nearest PCI ancestor in /sys/devices.  Taking that PCI device away from
 * its driver takes the disk, interface or console with it, so we look for:
 *
 *  - block devices (and what is stacked on them: dm, md) that hold the root
 *    filesystem, another mounted filesystem (/proc/self/mountinfo) or active
 *    swap (/proc/swaps);
 *  - network interfaces with an address (/proc/net/if_inet6, and IPv4 with
 *    getifaddrs() on the real system) or a route (/proc/net/route,
 *    /proc/net/ipv6_route); an IPv6 link-local address alone does not count,
 *    every interface that is up has one;
 *  - active consoles (/sys/class/tty/console/active): a serial port on the
 *    device, or a VT console while the device is the boot VGA or drives a
 *    framebuffer.
 *
 * Bridges own only what is directly theirs: whatever sits on a device below
 * a bridge belongs to that device.
 */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define RTF_ANYCAST6	0x00100000
#define RTF_LOCAL6	0x80000000

struct uses {
	struct vfg_use *v;
	size_t n;
	const char *bdf;
};

static int use_add(struct uses *u, enum vfg_use_kind kind, const char *name,
		   const char *detail)
{
	struct vfg_use *x;
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->v[i].kind == kind && !strcmp(u->v[i].device, u->bdf) &&
		    !strcmp(u->v[i].name, name) &&
		    !strcmp(u->v[i].detail, detail))
			return 0;
	x = vfg_array_add(u->v, &u->n, sizeof(*x));
	if (!x)
		return -1;
	u->v = x;
	x += u->n - 1;
	vfg_strlcpy(x->device, u->bdf, sizeof(x->device));
	x->kind = kind;
	vfg_strlcpy(x->name, name, sizeof(x->name));
	vfg_strlcpy(x->detail, detail, sizeof(x->detail));
	return 0;
}

/* Is @bdf the nearest PCI ancestor of the sysfs object at @path? */
static bool owned_by(const char *path, const char *bdf)
{
	char real[PATH_MAX], *p;

	if (!realpath(path, real))
		return false;
	while ((p = strrchr(real, '/'))) {
		if (vfg_is_bdf(p + 1))
			return !strcmp(p + 1, bdf);
		*p = '\0';
	}
	return false;
}

/* Call @fn for each entry of the directory @rel (below the root). */
static int for_each_entry(struct vfg_ctx *ctx, const char *rel,
			  int (*fn)(struct vfg_ctx *, const char *dir,
				    const char *name, void *),
			  void *opaque)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	if (vfg_path(ctx, dir, sizeof(dir), "%s", rel))
		return -1;
	d = opendir(dir);
	if (!d)
		return 0;	/* no such class: nothing of that kind */
	while (!ret && (de = readdir(d)))
		if (de->d_name[0] != '.')
			ret = fn(ctx, dir, de->d_name, opaque);
	closedir(d);
	return ret;
}

/* ------------------------------------------------------------------------
 * Block devices
 */

struct blk {
	char name[VFG_NAME_MAX];
	char dev[16];		/* "MAJ:MIN" */
};

struct blks {
	struct uses *u;
	struct blk *v;
	size_t n;
};

static int blk_add(struct vfg_ctx *ctx, struct blks *b, const char *name)
{
	char path[PATH_MAX];
	struct blk *x;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].name, name))
			return 0;
	x = vfg_array_add(b->v, &b->n, sizeof(*x));
	if (!x)
		return -1;
	b->v = x;
	x += b->n - 1;
	vfg_strlcpy(x->name, name, sizeof(x->name));
	if (!vfg_path(ctx, path, sizeof(path), "/sys/class/block/%s/dev", name))
		vfg_read_file(path, x->dev, sizeof(x->dev));
	return 0;
}

static int blk_holder_cb(struct vfg_ctx *ctx, const char *dir,
			 const char *name, void *opaque)
{
	(void)dir;
	return blk_add(ctx, opaque, name);
}

static int blk_cb(struct vfg_ctx *ctx, const char *dir, const char *name,
		  void *opaque)
{
	struct blks *b = opaque;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!owned_by(path, b->u->bdf))
		return 0;
	return blk_add(ctx, b, name);
}

/* Undo the octal escapes of /proc/self/mountinfo ("\040" for a space). */
static void unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

static int check_mounts(struct vfg_ctx *ctx, struct blks *b)
{
	char path[PATH_MAX], line[4096], dev[32], mnt[2048], src[1024], *sep;
	char want[VFG_NAME_MAX + 8], detail[192];
	size_t i;
	FILE *f;

	if (vfg_path(ctx, path, sizeof(path), "/proc/self/mountinfo"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %31s %*s %2047s", dev, mnt) != 2)
			continue;
		src[0] = '\0';
		sep = strstr(line, " - ");
		if (sep)
			sscanf(sep, " - %*s %1023s", src);
		unescape(mnt);
		for (i = 0; i < b->n; i++) {
			snprintf(want, sizeof(want), "/dev/%s", b->v[i].name);
			if (strcmp(dev, b->v[i].dev) && strcmp(src, want))
				continue;
			snprintf(detail, sizeof(detail), "mounted on %s", mnt);
			if (use_add(b->u, strcmp(mnt, "/") ? VFG_USE_MOUNT :
				    VFG_USE_ROOT, b->v[i].name, detail)) {
				fclose(f);
				return -1;
			}
		}
	}
	fclose(f);
	return 0;
}

static int check_swaps(struct vfg_ctx *ctx, struct blks *b)
{
	char path[PATH_MAX], line[1024], file[512], want[VFG_NAME_MAX + 8];
	size_t i;
	FILE *f;

	if (vfg_path(ctx, path, sizeof(path), "/proc/swaps"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%511s", file) != 1)
			continue;
		for (i = 0; i < b->n; i++) {
			snprintf(want, sizeof(want), "/dev/%s", b->v[i].name);
			if (strcmp(file, want))
				continue;
			if (use_add(b->u, VFG_USE_SWAP, b->v[i].name,
				    "active swap")) {
				fclose(f);
				return -1;
			}
		}
	}
	fclose(f);
	return 0;
}

static int check_block(struct vfg_ctx *ctx, struct uses *u)
{
	struct blks b = { .u = u };
	char rel[PATH_MAX];
	size_t i;
	int ret;

	ret = for_each_entry(ctx, "/sys/class/block", blk_cb, &b);
	/* What is stacked on them (dm, md) grows the list as we go. */
	for (i = 0; !ret && i < b.n; i++) {
		snprintf(rel, sizeof(rel), "/sys/class/block/%s/holders",
			 b.v[i].name);
		ret = for_each_entry(ctx, rel, blk_holder_cb, &b);
	}
	if (!ret && b.n)
		ret = check_mounts(ctx, &b);
	if (!ret && b.n)
		ret = check_swaps(ctx, &b);
	free(b.v);
	return ret;
}

/* ------------------------------------------------------------------------
 * Network interfaces
 */

static int net_v6_addrs(struct vfg_ctx *ctx, struct uses *u, const char *ifn)
{
	char path[PATH_MAX], line[256], hex[33], name[64], detail[192];
	char txt[INET6_ADDRSTRLEN];
	unsigned int idx, plen, scope, flags, i, x;
	struct in6_addr a;
	FILE *f;

	if (vfg_path(ctx, path, sizeof(path), "/proc/net/if_inet6"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %x %x %x %63s", hex, &idx, &plen,
			   &scope, &flags, name) != 6 || strcmp(name, ifn))
			continue;
		if (scope == 0x20)	/* link-local */
			continue;
		for (i = 0; i < 16; i++) {
			sscanf(hex + 2 * i, "%2x", &x);
			a.s6_addr[i] = (uint8_t)x;
		}
		inet_ntop(AF_INET6, &a, txt, sizeof(txt));
		snprintf(detail, sizeof(detail), "%s/%u", txt, plen);
		if (use_add(u, VFG_USE_NET_ADDR, ifn, detail)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int net_v4_addrs(struct vfg_ctx *ctx, struct uses *u, const char *ifn)
{
	struct ifaddrs *ifa, *i;
	char txt[INET_ADDRSTRLEN], detail[192];
	int ret = 0;

	/* getifaddrs() sees the real system only. */
	if (!vfg_ctx_is_real(ctx) || getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && !ret; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, ifn))
			continue;
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
			  txt, sizeof(txt));
		snprintf(detail, sizeof(detail), "%s", txt);
		ret = use_add(u, VFG_USE_NET_ADDR, ifn, detail);
	}
	freeifaddrs(ifa);
	return ret;
}

static int net_v4_routes(struct vfg_ctx *ctx, struct uses *u, const char *ifn)
{
	char path[PATH_MAX], line[512], name[64], detail[192];
	char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	unsigned int dst, gw, flags, mask;
	struct in_addr a;
	FILE *f;

	if (vfg_path(ctx, path, sizeof(path), "/proc/net/route"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", name, &dst,
			   &gw, &flags, &mask) != 5 || strcmp(name, ifn))
			continue;
		a.s_addr = dst;
		inet_ntop(AF_INET, &a, d, sizeof(d));
		a.s_addr = gw;
		inet_ntop(AF_INET, &a, g, sizeof(g));
		if (!dst && !mask)
			snprintf(detail, sizeof(detail), "default via %s", g);
		else if (gw)
			snprintf(detail, sizeof(detail), "%s/%d via %s", d,
				 __builtin_popcount(mask), g);
		else
			snprintf(detail, sizeof(detail), "%s/%d", d,
				 __builtin_popcount(mask));
		if (use_add(u, VFG_USE_NET_ROUTE, ifn, detail)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int net_v6_routes(struct vfg_ctx *ctx, struct uses *u, const char *ifn)
{
	char path[PATH_MAX], line[512], dst[33], gw[33], name[64];
	char txt[INET6_ADDRSTRLEN], detail[192];
	unsigned int plen, flags, i, x;
	struct in6_addr a;
	FILE *f;

	if (vfg_path(ctx, path, sizeof(path), "/proc/net/ipv6_route"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %*s %*s %32s %*s %*s %*s %x %63s",
			   dst, &plen, gw, &flags, name) != 5 ||
		    strcmp(name, ifn))
			continue;
		if (flags & (RTF_LOCAL6 | RTF_ANYCAST6))
			continue;
		for (i = 0; i < 16; i++) {
			sscanf(dst + 2 * i, "%2x", &x);
			a.s6_addr[i] = (uint8_t)x;
		}
		/* link-local and multicast routes exist on every interface */
		if ((a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80) ||
		    a.s6_addr[0] == 0xff)
			continue;
		inet_ntop(AF_INET6, &a, txt, sizeof(txt));
		if (plen == 0)
			snprintf(detail, sizeof(detail), "default (IPv6)");
		else
			snprintf(detail, sizeof(detail), "%s/%u", txt, plen);
		if (use_add(u, VFG_USE_NET_ROUTE, ifn, detail)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int net_cb(struct vfg_ctx *ctx, const char *dir, const char *name,
		  void *opaque)
{
	struct uses *u = opaque;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!owned_by(path, u->bdf))
		return 0;
	if (net_v6_addrs(ctx, u, name) || net_v4_addrs(ctx, u, name) ||
	    net_v4_routes(ctx, u, name) || net_v6_routes(ctx, u, name))
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Consoles
 */

static bool is_vt(const char *tty)
{
	const char *p;

	if (strncmp(tty, "tty", 3) || !tty[3])
		return false;
	for (p = tty + 3; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

struct fbs {
	struct uses *u;
	const char *consoles;
};

static int fb_cb(struct vfg_ctx *ctx, const char *dir, const char *name,
		 void *opaque)
{
	struct fbs *f = opaque;
	char path[PATH_MAX], detail[192];

	(void)ctx;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!owned_by(path, f->u->bdf))
		return 0;
	snprintf(detail, sizeof(detail), "framebuffer of the active console (%s)",
		 f->consoles);
	return use_add(f->u, VFG_USE_CONSOLE, name, detail);
}

static int check_console(struct vfg_ctx *ctx, struct uses *u)
{
	char path[PATH_MAX], active[256], list[256], detail[192], buf[8];
	char *tok, *save = NULL;
	bool vt = false;
	struct fbs fb;

	if (vfg_path(ctx, path, sizeof(path), "/sys/class/tty/console/active"))
		return -1;
	if (vfg_read_file(path, active, sizeof(active)) <= 0)
		return 0;
	vfg_strlcpy(list, active, sizeof(list));
	for (tok = strtok_r(active, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		if (is_vt(tok)) {
			vt = true;
			continue;
		}
		if (vfg_path(ctx, path, sizeof(path), "/sys/class/tty/%s", tok))
			continue;
		if (!owned_by(path, u->bdf))
			continue;
		snprintf(detail, sizeof(detail), "active console (%s)", list);
		if (use_add(u, VFG_USE_CONSOLE, tok, detail))
			return -1;
	}
	if (!vt)
		return 0;
	if (!vfg_path(ctx, path, sizeof(path),
		      "/sys/bus/pci/devices/%s/boot_vga", u->bdf) &&
	    vfg_read_file(path, buf, sizeof(buf)) > 0 && !strcmp(buf, "1")) {
		snprintf(detail, sizeof(detail),
			 "boot VGA, showing the active console (%s)", list);
		if (use_add(u, VFG_USE_CONSOLE, "vga", detail))
			return -1;
	}
	fb.u = u;
	fb.consoles = list;
	return for_each_entry(ctx, "/sys/class/graphics", fb_cb, &fb);
}

/* ------------------------------------------------------------------------ */

static const char *const use_names[] = {
	[VFG_USE_ROOT] = "root",
	[VFG_USE_MOUNT] = "mount",
	[VFG_USE_SWAP] = "swap",
	[VFG_USE_NET_ADDR] = "address",
	[VFG_USE_NET_ROUTE] = "route",
	[VFG_USE_CONSOLE] = "console",
};

const char *vfg_use_kind_name(enum vfg_use_kind kind)
{
	if ((unsigned int)kind >= ARRAY_SIZE(use_names))
		return "?";
	return use_names[kind];
}

static int device_uses(struct vfg_ctx *ctx, const char *bdf, struct uses *u)
{
	char path[PATH_MAX];

	u->bdf = bdf;
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s", bdf))
		return -1;
	if (access(path, F_OK))
		return -1;
	if (check_block(ctx, u) ||
	    for_each_entry(ctx, "/sys/class/net", net_cb, u) ||
	    check_console(ctx, u))
		return -1;
	return 0;
}

int vfg_device_get_uses(struct vfg_ctx *ctx, const char *bdf,
			struct vfg_use **uses)
{
	char addr[VFG_BDF_MAX];
	struct uses u = { 0 };
	int err;

	*uses = NULL;
	if (vfg_bdf_normalize(bdf, addr))
		return -1;
	if (device_uses(ctx, addr, &u)) {
		err = errno;
		free(u.v);
		errno = err;
		return -1;
	}
	*uses = u.v;
	return (int)u.n;
}

int vfg_group_get_uses(struct vfg_ctx *ctx, int group, struct vfg_use **uses)
{
	struct uses u = { 0 };
	char **m, **p;
	int err;

	*uses = NULL;
	if (vfg_group_get_members(ctx, group, &m) < 0)
		return -1;
	for (p = m; *p; p++) {
		if (!vfg_is_bdf(*p))
			continue;
		if (device_uses(ctx, *p, &u)) {
			if (errno == ENOENT)
				continue;	/* vanished */
			err = errno;
			vfg_strv_free(m);
			free(u.v);
			errno = err;
			return -1;
		}
	}
	vfg_strv_free(m);
	*uses = u.v;
	return (int)u.n;
}
