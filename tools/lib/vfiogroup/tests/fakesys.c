// SPDX-License-Identifier: LGPL-2.1-or-later
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"

#define MAX_DEVS 64
#define MAX_HOOKS 8

struct fakesys {
	char root[PATH_MAX];		/* as made (and resolved) */
	struct {
		char bdf[16];
		char sub[PATH_MAX / 2];	/* "pci0000:00/0000:00:05.0/..." */
	} devs[MAX_DEVS];
	int ndevs;
	char *log;
	size_t loglen;
	struct {
		char suffix[128];
		void (*fn)(struct fakesys *, const char *);
		char arg[64];
	} hooks[MAX_HOOKS];
	int nhooks;
};

static struct fakesys *kernel;	/* the tree the fake kernel runs on */

static void mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

static void mkparent(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	p = strrchr(buf, '/');
	if (p) {
		*p = '\0';
		mkdirs(buf);
	}
}

ssize_t __real_write(int fd, const void *buf, size_t n);

/* Set up the tree behind the fake kernel's back. */
static void put(const char *path, const void *data, size_t len)
{
	int fd;

	mkparent(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(__real_write(fd, data, len), (ssize_t)len);
	close(fd);
}

struct fakesys *fakesys_new(void)
{
	struct fakesys *fs = calloc(1, sizeof(*fs));
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX], real[PATH_MAX];

	ck_assert_ptr_nonnull(fs);
	snprintf(fs->root, sizeof(fs->root), "%s/fakesys.XXXXXX",
		 tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(fs->root));
	ck_assert_ptr_nonnull(realpath(fs->root, real));
	snprintf(fs->root, sizeof(fs->root), "%s", real);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", fs->root);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers", fs->root);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups", fs->root);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers_probe", fs->root);
	put(p, "", 0);
	fs->log = calloc(1, 1);
	return fs;
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb; (void)ftw;
	/*
	 * A test may have made a directory unreadable; make it removable.  Not
	 * through a symlink: chmod() follows it, and the fake /proc has fd
	 * links to the host's /dev/null and /dev/console.
	 */
	if (flag != FTW_SL)
		chmod(path, 0755);
	return remove(path);
}

void fakesys_free(struct fakesys *fs)
{
	if (!fs)
		return;
	if (kernel == fs)
		kernel = NULL;
	nftw(fs->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fs->log);
	free(fs);
}

const char *fakesys_root(struct fakesys *fs)
{
	return fs->root;
}

static const char *dev_sub(struct fakesys *fs, const char *bdf)
{
	int i;

	for (i = 0; i < fs->ndevs; i++)
		if (!strcmp(fs->devs[i].bdf, bdf))
			return fs->devs[i].sub;
	return NULL;
}

/* Absolute path of device @bdf's directory. */
static void dev_dir(struct fakesys *fs, const char *bdf, char *buf, size_t len)
{
	const char *sub = dev_sub(fs, bdf);

	ck_assert_msg(sub != NULL, "no fake device %s", bdf);
	snprintf(buf, len, "%s/sys/devices/%s", fs->root, sub);
}

static void add_device(struct fakesys *fs, const char *bdf, const char *sub,
		       int group)
{
	char dev[PATH_MAX], p[PATH_MAX], t[PATH_MAX];
	struct fakesys_pci id = {
		.vendor = 0x1234, .device = 0x11e8, .class = 0x00ff00,
		.pcie_type = FAKESYS_NO_PCIE, .acs_ctrl = FAKESYS_NO_ACS,
	};

	ck_assert_int_lt(fs->ndevs, MAX_DEVS);
	snprintf(fs->devs[fs->ndevs].bdf, sizeof(fs->devs[0].bdf), "%s", bdf);
	snprintf(fs->devs[fs->ndevs].sub, sizeof(fs->devs[0].sub), "%s", sub);
	fs->ndevs++;

	/* The real device directory, linked from the bus like sysfs does. */
	snprintf(dev, sizeof(dev), "%s/sys/devices/%s", fs->root, sub);
	mkdirs(dev);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", fs->root, bdf);
	snprintf(t, sizeof(t), "../../../devices/%s", sub);
	ck_assert_int_eq(symlink(t, p), 0);
	fakesys_pci(fs, bdf, &id);
	fakesys_attr(fs, bdf, "driver_override", "(null)\n");
	if (group == FAKESYS_NO_GROUP)
		return;
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d/devices",
		 fs->root, group);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d/devices/%s",
		 fs->root, group, bdf);
	snprintf(t, sizeof(t), "../../../../devices/%s", sub);
	ck_assert_int_eq(symlink(t, p), 0);
	snprintf(p, sizeof(p), "%s/iommu_group", dev);
	snprintf(t, sizeof(t), "%s/sys/kernel/iommu_groups/%d", fs->root,
		 group);
	ck_assert_int_eq(symlink(t, p), 0);
}

void fakesys_device(struct fakesys *fs, const char *bdf, int group)
{
	char sub[64];

	snprintf(sub, sizeof(sub), "pci0000:00/%s", bdf);
	add_device(fs, bdf, sub, group);
}

void fakesys_device_below(struct fakesys *fs, const char *bdf,
			  const char *parent, int group)
{
	char sub[PATH_MAX / 2];
	const char *ps = dev_sub(fs, parent);

	ck_assert_ptr_nonnull(ps);
	snprintf(sub, sizeof(sub), "%s/%s", ps, bdf);
	add_device(fs, bdf, sub, group);
}

void fakesys_remove(struct fakesys *fs, const char *bdf)
{
	char dev[PATH_MAX], p[PATH_MAX], l[PATH_MAX], grp[64];
	ssize_t n;

	dev_dir(fs, bdf, dev, sizeof(dev));
	snprintf(p, sizeof(p), "%s/iommu_group", dev);
	n = readlink(p, l, sizeof(l) - 1);
	if (n > 0) {
		l[n] = '\0';
		snprintf(grp, sizeof(grp), "%s", strrchr(l, '/') + 1);
		snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%s/devices/%s",
			 fs->root, grp, bdf);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", fs->root, bdf);
	unlink(p);
	nftw(dev, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void fakesys_attr(struct fakesys *fs, const char *bdf, const char *attr,
		  const char *val)
{
	char p[PATH_MAX];

	dev_dir(fs, bdf, p, sizeof(p));
	strncat(p, "/", sizeof(p) - strlen(p) - 1);
	strncat(p, attr, sizeof(p) - strlen(p) - 1);
	put(p, val, strlen(val));
}

static void le16(uint8_t *b, unsigned int v)
{
	b[0] = v & 0xff;
	b[1] = (v >> 8) & 0xff;
}

void fakesys_pci(struct fakesys *fs, const char *bdf,
		 const struct fakesys_pci *id)
{
	uint8_t cfg[4096] = { 0 };
	char buf[32], p[PATH_MAX];
	size_t len = 256;

	snprintf(buf, sizeof(buf), "0x%04x\n", id->vendor);
	fakesys_attr(fs, bdf, "vendor", buf);
	snprintf(buf, sizeof(buf), "0x%04x\n", id->device);
	fakesys_attr(fs, bdf, "device", buf);
	snprintf(buf, sizeof(buf), "0x%06x\n", id->class);
	fakesys_attr(fs, bdf, "class", buf);

	le16(cfg, id->vendor);
	le16(cfg + 2, id->device);
	cfg[0x09] = id->class & 0xff;
	cfg[0x0a] = (id->class >> 8) & 0xff;
	cfg[0x0b] = (id->class >> 16) & 0xff;
	cfg[0x0e] = (id->header_type & 0x7f) | (id->multifunction ? 0x80 : 0);
	if (id->pcie_type != FAKESYS_NO_PCIE) {
		len = sizeof(cfg);
		cfg[0x06] = 0x10;		/* capability list */
		cfg[0x34] = 0x40;
		cfg[0x40] = 0x10;		/* PCI Express */
		cfg[0x41] = 0x00;
		le16(cfg + 0x42, 0x2 | (id->pcie_type << 4));
		if (id->acs_ctrl != FAKESYS_NO_ACS) {
			le16(cfg + 0x100, 0x000d);	/* ACS, last */
			le16(cfg + 0x102, 0x0001);
			le16(cfg + 0x104, 0x001f);	/* SV TB RR CR UF */
			le16(cfg + 0x106, id->acs_ctrl);
		}
	}
	if (id->short_config)
		len = 64;
	dev_dir(fs, bdf, p, sizeof(p));
	strncat(p, "/config", sizeof(p) - strlen(p) - 1);
	put(p, cfg, len);
}

void fakesys_pci_bridge(struct fakesys *fs, const char *bdf)
{
	struct fakesys_pci id = {
		.vendor = 0x1b36, .device = 0x0001, .class = 0x060400,
		.header_type = 1, .pcie_type = FAKESYS_NO_PCIE,
		.acs_ctrl = FAKESYS_NO_ACS,
	};

	fakesys_pci(fs, bdf, &id);
}

void fakesys_root_port(struct fakesys *fs, const char *bdf, int acs_ctrl)
{
	struct fakesys_pci id = {
		.vendor = 0x1b36, .device = 0x000c, .class = 0x060400,
		.header_type = 1, .pcie_type = 4, .acs_ctrl = acs_ctrl,
	};

	fakesys_pci(fs, bdf, &id);
}

void fakesys_file(struct fakesys *fs, const char *rel, const char *content)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", fs->root, rel);
	put(p, content, strlen(content));
}

void fakesys_link(struct fakesys *fs, const char *rel, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", fs->root, rel);
	mkparent(p);
	unlink(p);
	ck_assert_int_eq(symlink(target, p), 0);
}

void fakesys_child(struct fakesys *fs, const char *bdf, const char *sub,
		   const char *cls, const char *name)
{
	char d[PATH_MAX], l[PATH_MAX];

	dev_dir(fs, bdf, d, sizeof(d));
	strncat(d, "/", sizeof(d) - strlen(d) - 1);
	strncat(d, sub, sizeof(d) - strlen(d) - 1);
	mkdirs(d);
	snprintf(l, sizeof(l), "sys/class/%s/%s", cls, name);
	fakesys_link(fs, l, d);
}

/* File @path into @buf ("" if missing). */
static const char *read_into(const char *path, char *buf, size_t len)
{
	ssize_t n = -1;
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

const char *fakesys_read(struct fakesys *fs, const char *rel)
{
	static char buf[8192];
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", fs->root, rel);
	return read_into(p, buf, sizeof(buf));
}

void fakesys_driver(struct fakesys *fs, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s/bind", name);
	fakesys_file(fs, p, "");
	snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s/unbind", name);
	fakesys_file(fs, p, "");
}

static void link_driver(struct fakesys *fs, const char *bdf, const char *drv)
{
	char dev[PATH_MAX], p[PATH_MAX], t[PATH_MAX];

	dev_dir(fs, bdf, dev, sizeof(dev));
	snprintf(p, sizeof(p), "%s/driver", dev);
	snprintf(t, sizeof(t), "%s/sys/bus/pci/drivers/%s", fs->root, drv);
	ck_assert_int_eq(symlink(t, p), 0);
	snprintf(p, sizeof(p), "sys/bus/pci/drivers/%s/%s", drv, bdf);
	fakesys_link(fs, p, dev);
}

void fakesys_bind(struct fakesys *fs, const char *bdf, const char *drv)
{
	fakesys_driver(fs, drv);
	link_driver(fs, bdf, drv);
}

void fakesys_match(struct fakesys *fs, const char *bdf, const char *drv)
{
	fakesys_attr(fs, bdf, "fake_match", drv);
}

void fakesys_refuse(struct fakesys *fs, const char *bdf, const char *drv,
		    int err)
{
	char attr[128], val[16];

	snprintf(attr, sizeof(attr), "fake_refuse_%s", drv);
	snprintf(val, sizeof(val), "%d", err);
	fakesys_attr(fs, bdf, attr, val);
}

const char *fakesys_driver_of(struct fakesys *fs, const char *bdf)
{
	static char buf[128];
	char p[PATH_MAX], l[PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	dev_dir(fs, bdf, p, sizeof(p));
	strncat(p, "/driver", sizeof(p) - strlen(p) - 1);
	n = readlink(p, l, sizeof(l) - 1);
	if (n > 0) {
		l[n] = '\0';
		snprintf(buf, sizeof(buf), "%s", strrchr(l, '/') + 1);
	}
	return buf;
}

const char *fakesys_override_of(struct fakesys *fs, const char *bdf)
{
	static char buf[128];
	char p[PATH_MAX];

	dev_dir(fs, bdf, p, sizeof(p));
	strncat(p, "/driver_override", sizeof(p) - strlen(p) - 1);
	read_into(p, buf, sizeof(buf));
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

void fakesys_vfio_group(struct fakesys *fs, int group, int viable,
			const char *blockers, int holder)
{
	char p[128], v[32];

	snprintf(p, sizeof(p), "sys/class/vfio/%d/viable", group);
	snprintf(v, sizeof(v), "%d\n", viable);
	fakesys_file(fs, p, v);
	snprintf(p, sizeof(p), "sys/class/vfio/%d/blockers", group);
	fakesys_file(fs, p, blockers);
	snprintf(p, sizeof(p), "sys/class/vfio/%d/holder", group);
	if (holder > 0)
		snprintf(v, sizeof(v), "%d\n", holder);
	else
		v[0] = '\0';
	fakesys_file(fs, p, v);
}

void fakesys_proc(struct fakesys *fs, int pid, const char *comm)
{
	char p[128], c[64];

	snprintf(p, sizeof(p), "proc/%d/comm", pid);
	snprintf(c, sizeof(c), "%s\n", comm);
	fakesys_file(fs, p, c);
	snprintf(p, sizeof(p), "%s/proc/%d/fd", fs->root, pid);
	mkdirs(p);
}

void fakesys_proc_fd(struct fakesys *fs, int pid, int fd, const char *target)
{
	char p[128];

	snprintf(p, sizeof(p), "proc/%d/fd/%d", pid, fd);
	fakesys_link(fs, p, target);
}

/* ------------------------------------------------------------------------
 * The fake kernel: the driver model behind the sysfs files the library
 * writes.  It follows drivers/base/bus.c and drivers/pci/pci-driver.c.
 */

void fakesys_kernel_start(struct fakesys *fs)
{
	kernel = fs;
}

const char *fakesys_log(struct fakesys *fs)
{
	return fs->log;
}

void fakesys_on_open(struct fakesys *fs, const char *suffix,
		     void (*fn)(struct fakesys *, const char *),
		     const char *arg)
{
	ck_assert_int_lt(fs->nhooks, MAX_HOOKS);
	snprintf(fs->hooks[fs->nhooks].suffix, sizeof(fs->hooks[0].suffix),
		 "%s", suffix);
	fs->hooks[fs->nhooks].fn = fn;
	snprintf(fs->hooks[fs->nhooks].arg, sizeof(fs->hooks[0].arg), "%s",
		 arg ? arg : "");
	fs->nhooks++;
}

static void logf_(struct fakesys *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct fakesys *fs, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fs->log = realloc(fs->log, fs->loglen + n + 1);
	memcpy(fs->log + fs->loglen, line, n + 1);
	fs->loglen += n;
}

static const char *bdf_of_dir(struct fakesys *fs, const char *dir)
{
	char p[PATH_MAX];
	int i;

	for (i = 0; i < fs->ndevs; i++) {
		snprintf(p, sizeof(p), "%s/sys/devices/%s", fs->root,
			 fs->devs[i].sub);
		if (!strcmp(p, dir))
			return fs->devs[i].bdf;
	}
	return NULL;
}

static bool dev_exists(struct fakesys *fs, const char *bdf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", fs->root, bdf);
	return dev_sub(fs, bdf) && access(p, F_OK) == 0;
}

static const char *dev_attr(struct fakesys *fs, const char *bdf,
			    const char *attr)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s", bdf, attr);
	return fakesys_read(fs, rel);
}

/* pci_match_device(): driver_override first, then the ID table. */
static bool drv_matches(struct fakesys *fs, const char *bdf, const char *drv)
{
	char ovr[128];

	snprintf(ovr, sizeof(ovr), "%s", dev_attr(fs, bdf, "driver_override"));
	ovr[strcspn(ovr, "\n")] = '\0';
	if (strcmp(ovr, "(null)") && ovr[0])
		return !strcmp(ovr, drv);
	return !strcmp(dev_attr(fs, bdf, "fake_match"), drv);
}

/* really_probe(): 0, or the probe's error. */
static int drv_probe(struct fakesys *fs, const char *bdf, const char *drv)
{
	char attr[128];
	const char *r;

	snprintf(attr, sizeof(attr), "fake_refuse_%s", drv);
	r = dev_attr(fs, bdf, attr);
	if (r[0])
		return atoi(r);
	/* Our vfio-pci takes normal functions only. */
	if (!strcmp(drv, "vfio-pci") &&
	    !strncmp(dev_attr(fs, bdf, "class"), "0x0604", 6))
		return EINVAL;
	link_driver(fs, bdf, drv);
	return 0;
}

static int k_bind(struct fakesys *fs, const char *drv, const char *bdf)
{
	logf_(fs, "bind %s %s\n", drv, bdf);
	if (!dev_exists(fs, bdf) || !drv_matches(fs, bdf, drv))
		return ENODEV;
	if (fakesys_driver_of(fs, bdf)[0])
		return EBUSY;
	return drv_probe(fs, bdf, drv);
}

static int k_unbind(struct fakesys *fs, const char *drv, const char *bdf)
{
	char p[PATH_MAX];

	logf_(fs, "unbind %s %s\n", drv, bdf);
	if (!dev_exists(fs, bdf) || strcmp(fakesys_driver_of(fs, bdf), drv))
		return ENODEV;
	dev_dir(fs, bdf, p, sizeof(p));
	strncat(p, "/driver", sizeof(p) - strlen(p) - 1);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/%s/%s", fs->root, drv,
		 bdf);
	unlink(p);
	return 0;
}

static int k_probe(struct fakesys *fs, const char *bdf)
{
	char ovr[128], drv[128], p[PATH_MAX];

	logf_(fs, "probe %s\n", bdf);
	if (!dev_exists(fs, bdf))
		return ENODEV;
	if (fakesys_driver_of(fs, bdf)[0])
		return 0;
	snprintf(ovr, sizeof(ovr), "%s", dev_attr(fs, bdf, "driver_override"));
	ovr[strcspn(ovr, "\n")] = '\0';
	if (ovr[0] && strcmp(ovr, "(null)"))
		snprintf(drv, sizeof(drv), "%s", ovr);
	else
		snprintf(drv, sizeof(drv), "%s", dev_attr(fs, bdf, "fake_match"));
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/%s", fs->root, drv);
	if (drv[0] && !access(p, F_OK))
		drv_probe(fs, bdf, drv);	/* probe errors are not reported */
	return 0;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	char self[64], path[PATH_MAX], val[256], drv[128], *rel, *slash;
	struct fakesys *fs = kernel;
	const char *bdf;
	size_t rootlen;
	ssize_t len;
	int err = 0;

	if (!fs)
		return __real_write(fd, buf, n);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	len = readlink(self, path, sizeof(path) - 1);
	if (len <= 0)
		return __real_write(fd, buf, n);
	path[len] = '\0';
	rootlen = strlen(fs->root);
	if (strncmp(path, fs->root, rootlen) || path[rootlen] != '/')
		return __real_write(fd, buf, n);
	rel = path + rootlen;
	snprintf(val, sizeof(val), "%.*s", (int)(n < 255 ? n : 255),
		 (const char *)buf);
	val[strcspn(val, "\n")] = '\0';

	if (!strcmp(rel, "/sys/bus/pci/drivers_probe")) {
		err = k_probe(fs, val);
	} else if (!strncmp(rel, "/sys/bus/pci/drivers/", 21) &&
		   (slash = strchr(rel + 21, '/'))) {
		snprintf(drv, sizeof(drv), "%.*s", (int)(slash - rel - 21),
			 rel + 21);
		if (!strcmp(slash, "/bind"))
			err = k_bind(fs, drv, val);
		else if (!strcmp(slash, "/unbind"))
			err = k_unbind(fs, drv, val);
	} else if ((slash = strrchr(rel, '/')) &&
		   !strcmp(slash, "/driver_override")) {
		*slash = '\0';
		bdf = bdf_of_dir(fs, path);
		*slash = '/';
		logf_(fs, "override %s %s\n", bdf ? bdf : "?",
		      val[0] ? val : "-");
		if (!val[0])
			snprintf(val, sizeof(val), "(null)");
		strncat(val, "\n", sizeof(val) - strlen(val) - 1);
		if (__real_write(fd, val, strlen(val)) < 0)
			return -1;
		return n;
	} else {
		logf_(fs, "write %s %s\n", rel, val);
	}
	if (err) {
		errno = err;
		return -1;
	}
	return __real_write(fd, buf, n);
}

int __wrap_open(const char *path, int flags, ...)
{
	struct fakesys *fs = kernel;
	size_t len = strlen(path), sl;
	mode_t mode = 0;
	va_list ap;
	int i;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	for (i = 0; fs && i < fs->nhooks; i++) {
		sl = strlen(fs->hooks[i].suffix);
		if (!fs->hooks[i].fn || len < sl ||
		    strcmp(path + len - sl, fs->hooks[i].suffix))
			continue;
		fs->hooks[i].fn(fs, fs->hooks[i].arg);
		fs->hooks[i].fn = NULL;
	}
	return __real_open(path, flags, mode);
}

struct fakesys *fakesys_guest_grouped(int lone_group, int bridge_group)
{
	struct fakesys *fs = fakesys_new();

	fakesys_device(fs, LONE, lone_group);
	fakesys_device(fs, BRIDGE, bridge_group);
	fakesys_pci_bridge(fs, BRIDGE);
	fakesys_bind(fs, BRIDGE, "shpchp");
	fakesys_match(fs, BRIDGE, "shpchp");
	fakesys_device_below(fs, EDU1, BRIDGE, bridge_group);
	fakesys_device_below(fs, EDU2, BRIDGE, bridge_group);
	fakesys_bind(fs, EDU2, UIO);
	fakesys_match(fs, EDU2, UIO);
	fakesys_device(fs, NOGRP, FAKESYS_NO_GROUP);
	fakesys_driver(fs, "vfio-pci");
	fakesys_file(fs, "usr/share/misc/pci.ids", FAKESYS_PCI_IDS);
	return fs;
}

struct fakesys *fakesys_guest(void)
{
	return fakesys_guest_grouped(1, 2);
}

struct fakesys *guest_fs;
struct vfg_ctx *guest_ctx;

void guest_setup(void)
{
	guest_fs = fakesys_guest();
	guest_ctx = vfg_ctx_new(fakesys_root(guest_fs));
	ck_assert_ptr_nonnull(guest_ctx);
}

void guest_kernel_setup(void)
{
	guest_setup();
	fakesys_kernel_start(guest_fs);
}

void guest_teardown(void)
{
	vfg_ctx_free(guest_ctx);
	fakesys_free(guest_fs);
}

void fakesys_assert_guest_state(struct fakesys *fs)
{
	FAKESYS_ASSERT_STATE(fs, BRIDGE, "shpchp", "(null)");
	FAKESYS_ASSERT_STATE(fs, EDU1, "", "(null)");
	FAKESYS_ASSERT_STATE(fs, EDU2, UIO, "(null)");
}
