// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfio_test_util.h"

const char *vfg_module_path(void)
{
	const char *p = getenv("VFG_MODULE");

	return p && *p ? p : "/opt/vfg/vfio.ko";
}

int vfg_module_load(const char *params)
{
	int fd = open(vfg_module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

int vfg_module_unload(void)
{
	return syscall(SYS_delete_module, "vfio", O_NONBLOCK) ? -errno : 0;
}

bool vfg_module_loaded(void)
{
	return access("/sys/module/vfio/initstate", F_OK) == 0;
}

int vfg_module_ensure(void)
{
	int ret;

	if (vfg_module_loaded())
		return 0;
	ret = vfg_module_load(NULL);
	return ret == -EEXIST ? 0 : ret;
}

int vfg_sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

int vfg_sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	if (n < 0)
		return -errno;
	return 0;
}

int vfg_sysfs_read_hex(const char *path, unsigned long *val)
{
	char buf[64];
	int ret = vfg_sysfs_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	*val = strtoul(buf, NULL, 16);
	return 0;
}

static int cmp_bdf(const void *a, const void *b)
{
	return strcmp(a, b);
}

int vfg_find_pci(unsigned int vendor, unsigned int device,
		 char bdfs[][13], int max)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	char path[PATH_MAX];
	unsigned long v, dv;
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 12)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		if (vfg_sysfs_read_hex(path, &v) || v != vendor)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		if (vfg_sysfs_read_hex(path, &dv) || dv != device)
			continue;
		if (n < max)
			memcpy(bdfs[n], de->d_name, 13);
		n++;
	}
	closedir(d);
	qsort(bdfs, n < max ? n : max, 13, cmp_bdf);
	return n;
}

int vfg_pci_parent(const char *bdf, char parent[13])
{
	char path[PATH_MAX], real[PATH_MAX], *slash, *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	/* A root bus directory is "pci0000:00"; a bridge is a PCI address. */
	if (!strncmp(base, "pci", 3))
		parent[0] = '\0';
	else
		snprintf(parent, 13, "%.12s", base);
	return 0;
}
