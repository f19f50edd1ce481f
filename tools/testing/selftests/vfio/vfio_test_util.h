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

/* Is a kernel module of this name loaded ('-' and '_' are the same)? */
bool vfg_kmod_loaded(const char *name);
/* "modprobe NAME" / "modprobe -r NAME" (busybox); 0, exit status, -errno. */
int vfg_modprobe(const char *name);
int vfg_modprobe_remove(const char *name);
/*
 * Unload every module named vfio, ours or the kernel's (with the kernel's
 * vfio-pci and vfio_iommu_type1 first); 0 when none is left, else -errno.
 */
int vfg_vfio_unload_all(void);

/* Does the PCI device exist? */
bool vfg_pci_exists(const char *bdf);
/* The name of the driver bound to @bdf, "" when unbound; 0 or -errno. */
int vfg_pci_driver(const char *bdf, char *drv, size_t len);
/* Write @drv to driver_override; NULL or "" clears it.  0 or -errno. */
int vfg_pci_set_override(const char *bdf, const char *drv);
/* Set driver_override to @drv, then write @bdf to its bind file. */
int vfg_pci_bind(const char *bdf, const char *drv);
/* Set driver_override to @drv, then write @bdf to drivers_probe. */
int vfg_pci_probe(const char *bdf, const char *drv);
/* Unbind @bdf from its driver (0 if it had none); 0 or -errno. */
int vfg_pci_unbind(const char *bdf);
/* Write "1" to /sys/bus/pci/devices/BDF/remove, or to /sys/bus/pci/rescan. */
int vfg_pci_remove(const char *bdf);
int vfg_pci_rescan(void);

/* "/dev/vfio/ID" and "/sys/class/vfio/ID[/ATTR]" into @buf (PATH_MAX). */
void vfg_group_dev_path(int id, char *buf);
void vfg_group_sysfs_path(int id, const char *attr, char *buf);
/* open("/dev/vfio/ID", O_RDWR); an fd or -1 with errno set. */
int vfg_group_open(int id);
/* Read /sys/class/vfio/ID/ATTR, trailing newlines dropped; 0 or -errno. */
int vfg_group_attr(int id, const char *attr, char *buf, size_t len);
/* Does @text have a line starting with @prefix?  Returns it, or NULL. */
const char *vfg_find_line(const char *text, const char *prefix);
/* The number of lines of @text (0 when empty). */
int vfg_count_lines(const char *text);

/* Poll until @path exists (@present) or not, up to @ms ms. */
bool vfg_wait_path(const char *path, bool present, int ms);

/* An fd on /dev/kmsg positioned after the last record; -1 on error. */
int vfg_kmsg_open(void);
/*
 * Read the records logged since vfg_kmsg_open() (or the last call) and say
 * whether one's message text contains both @s1 and @s2 (@s2 may be NULL).
 */
bool vfg_kmsg_find(int fd, const char *s1, const char *s2);

/*
 * The devices of the guest topology (tools/testing/vm/topologies.py), found
 * by vendor:device and by what they sit behind, not by address.
 */
struct vfg_topo {
	char lone[13];		/* edu on the root bus, alone in its group */
	char bridge[13];	/* conventional PCI-to-PCI bridge */
	char bedu[2][13];	/* the two edus behind it, in its group */
	char port[13];		/* PCIe root port */
	char pedu[13];		/* edu behind it: resettable, hot-pluggable */
	char nic[13];		/* e1000e: MSI-X; "" if absent */
};

#define E1000E_VENDOR 0x8086
#define E1000E_DEVICE 0x10d3

/* Does @bdf have a PCI Express capability? */
bool vfg_pci_is_pcie(const char *bdf);
/* Fill @t; 0, or -ENODEV if the topology is not the expected one. */
int vfg_topo_find(struct vfg_topo *t);

#endif
