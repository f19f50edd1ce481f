/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio-groups guest selftests.
 */
#ifndef VFIO_TEST_UTIL_H
#define VFIO_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* EXPECT_ERRNO(EINVAL, ioctl(...)): the call fails with exactly that errno. */
#define ASSERT_ERRNO(err, call) do {					\
	errno = 0;							\
	ASSERT_EQ(-1, (long)(call));					\
	ASSERT_EQ(err, errno);						\
} while (0)
#define EXPECT_ERRNO(err, call) do {					\
	errno = 0;							\
	EXPECT_EQ(-1, (long)(call));					\
	EXPECT_EQ(err, errno);						\
} while (0)

/* Path of our module in the guest (VFG_MODULE, default /opt/vfg/vfio.ko). */
const char *vfg_module_path(void);
/* finit_module() with @params; 0 or -errno. */
int vfg_module_load(const char *params);
/* delete_module("vfio"); 0 or -errno. */
int vfg_module_unload(void);
bool vfg_module_loaded(void);
/* Make sure our module is loaded (loading it if needed); 0 or -errno. */
int vfg_module_ensure(void);

/* Read a sysfs attribute into @buf without the trailing newline. */
int vfg_sysfs_read(const char *path, char *buf, size_t len);
/* Write @val to a sysfs attribute; 0 or -errno. */
int vfg_sysfs_write(const char *path, const char *val);
int vfg_sysfs_read_hex(const char *path, unsigned long *val);

/*
 * Find PCI devices by vendor:device, in address order.  Fills up to @max
 * addresses in @bdfs and returns how many exist.
 */
int vfg_find_pci(unsigned int vendor, unsigned int device,
		 char bdfs[][13], int max);
/* The address of the upstream bridge of @bdf ("" on a root bus). */
int vfg_pci_parent(const char *bdf, char parent[13]);

#endif
