// SPDX-License-Identifier: LGPL-2.1-or-later
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakesys.h"

struct fakesys {
	char root[PATH_MAX];
};

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

struct fakesys *fakesys_new(void)
{
	struct fakesys *fs = calloc(1, sizeof(*fs));
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX];

	ck_assert_ptr_nonnull(fs);
	snprintf(fs->root, sizeof(fs->root), "%s/fakesys.XXXXXX",
		 tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(fs->root));
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", fs->root);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups", fs->root);
	mkdirs(p);
	return fs;
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

void fakesys_free(struct fakesys *fs)
{
	if (!fs)
		return;
	nftw(fs->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fs);
}

const char *fakesys_root(struct fakesys *fs)
{
	return fs->root;
}

void fakesys_device(struct fakesys *fs, const char *bdf, int group)
{
	char dev[PATH_MAX], p[PATH_MAX], t[PATH_MAX];

	/* The real device directory, linked from the bus like sysfs does. */
	snprintf(dev, sizeof(dev), "%s/sys/devices/pci0000:00/%s",
		 fs->root, bdf);
	mkdirs(dev);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", fs->root, bdf);
	snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", bdf);
	ck_assert_int_eq(symlink(t, p), 0);
	if (group == FAKESYS_NO_GROUP)
		return;
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d/devices",
		 fs->root, group);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/sys/kernel/iommu_groups/%d/devices/%s",
		 fs->root, group, bdf);
	snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", bdf);
	ck_assert_int_eq(symlink(t, p), 0);
	snprintf(p, sizeof(p), "%s/iommu_group", dev);
	snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", group);
	ck_assert_int_eq(symlink(t, p), 0);
}

void fakesys_attr(struct fakesys *fs, const char *bdf, const char *attr,
		  const char *val)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/%s/%s",
		 fs->root, bdf, attr);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(val, f);
	fclose(f);
}
