/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio-groups guest selftests.
 */
#ifndef VFIO_TEST_UTIL_H
#define VFIO_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

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

/*
 * The selftests' helper modules (modules/, e.g. vfg_test.ko), in
 * $VFG_TEST_MODULES (default /opt/vfg/test-modules) in the guest.
 * finit_module() of NAME.ko with @params, delete_module(NAME); 0 or -errno.
 */
int vfg_test_module_load(const char *name, const char *params);
int vfg_test_module_unload(const char *name);

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

/* Give up capability @cap (effective, permitted, inheritable); 0 or -1. */
int vfg_drop_cap(int cap);

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
/* Unbind @bdf and clear its driver_override: how many of the two failed. */
int vfg_pci_release(const char *bdf);
/* Every PCI function's address, in *@bdfs to free(); the count or -errno. */
int vfg_pci_list(char (**bdfs)[13]);
/* An IOMMU that is itself a PCI function (class 0806: AMD-Vi). */
bool vfg_pci_is_iommu(const char *bdf);
/* The bridge back on shpchp without an override: how many steps failed. */
int vfg_bridge_restore(const char *bridge);
/*
 * Unbind @bdf from its driver in a child, whose write blocks while the
 * device is held.  The child holds nothing of ours: it closes every
 * inherited fd and execs (dropping inherited mappings).  Its pid.
 */
pid_t vfg_pci_unbind_async(const char *bdf);
/* @pid's exit status within @ms (128 + signal if killed), -1 if running. */
int vfg_reap(pid_t pid, int ms);
/* fork() with stdout and stderr flushed first: the pid, 0, or -errno. */
pid_t vfg_fork(void);
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
	/* Topology "hotreset": edus on a switch's internal bus, one group each */
	char sw[13];		/* their upstream port; "" if absent */
	char sedu[3][13];
	int nr_sedu;
};

#define E1000E_VENDOR 0x8086
#define E1000E_DEVICE 0x10d3

/* Does @bdf have a PCI Express capability? */
bool vfg_pci_is_pcie(const char *bdf);
/* Fill @t; 0, or -ENODEV if the topology is not the expected one. */
int vfg_topo_find(struct vfg_topo *t);

/*
 * ---- Device fds -----------------------------------------------------------
 *
 * The device tests run against our module by default.  With
 * VFG_USE_KERNEL_VFIO=1 in the environment they load the kernel's own stack
 * (vfio, vfio_iommu_type1, vfio-pci) instead: that validates the tests against
 * the reference implementation.  Where our documented behaviour differs from
 * the kernel's, a test asserts each side's own behaviour (see vfg_ours()).
 */

/* VFG_USE_KERNEL_VFIO=1: drive the kernel's vfio-pci, not our module. */
bool vfg_kernel_vfio(void);
/* The stack under test is ours. */
static inline bool vfg_ours(void)
{
	return !vfg_kernel_vfio();
}
/*
 * Unload any vfio, then load the stack under test.  Both get
 * allow_unsafe_interrupts when interrupts are not remapped (a guest booted
 * with intremap=off), as they refuse to attach groups otherwise.  0 or
 * -errno.
 */
int vfg_vfio_load(void);
/* Does the host remap interrupts ("IR-" chips in /proc/interrupts)? */
bool vfg_irq_remapping(void);

/* The IOMMU group number of @bdf, from its iommu_group link; or -errno. */
int vfg_pci_group(const char *bdf);
/* @len bytes of @bdf's config space at @off through sysfs; 0 or -errno. */
int vfg_pci_cfg_read(const char *bdf, unsigned int off, void *buf, size_t len);
int vfg_pci_cfg_write(const char *bdf, unsigned int off, const void *buf,
		      size_t len);
/* Offset of capability @id in a 256-byte config image, 0 if absent. */
unsigned int vfg_pci_find_cap(const uint8_t *cfg, unsigned int id);
/* How many lines of /proc/interrupts contain @s. */
int vfg_irq_lines(const char *s);

/*
 * Put the topology's devices back as the guest booted: every edu and the
 * NIC unbound with no driver_override, the bridge on shpchp, no vfio
 * module.  No assertion; returns the number of steps that failed.
 */
int vfg_topo_restore(const struct vfg_topo *t);

/*
 * The device tests' starting point: find the topology (rescanning once if a
 * device is missing), put it back to boot state, load the stack under test
 * and bind the lone edu, the root-port edu and the NIC to vfio-pci.
 * 0 or -errno.
 */
int vfg_dev_env_setup(struct vfg_topo *t);
/* Lines of /proc/interrupts that name vfio or one of @t's devices. */
int vfg_dev_irq_lines(const struct vfg_topo *t);

/* Pages pinned and not yet unpinned (nr_foll_pin_*), folded now. */
long vfg_pins_outstanding(void);
/* VmLck of @pid in kB, -1 if unreadable. */
long vfg_vmlck_kb(pid_t pid);

/* A device opened as QEMU opens one.  Unused fds are -1. */
struct vfg_dev {
	char bdf[13];
	int group_id;
	int group;	/* /dev/vfio/$GROUP */
	int container;	/* /dev/vfio/vfio, attached, type1v2 set */
	int fd;		/* the device fd */
};

/* Mark every fd of @d unused. */
void vfg_dev_init(struct vfg_dev *d);
/*
 * Open @bdf's group and a container, attach the group and set a type1v2
 * IOMMU; d->fd stays -1.  0, or -errno with nothing left open.
 */
int vfg_dev_attach(struct vfg_dev *d, const char *bdf);
/* The same with another IOMMU type (VFIO_TYPE1_IOMMU, ...). */
int vfg_dev_attach_type(struct vfg_dev *d, const char *bdf, int iommu_type);
/* vfg_dev_attach(), then VFIO_GROUP_GET_DEVICE_FD; 0 or -errno. */
int vfg_dev_open(struct vfg_dev *d, const char *bdf);
/* VFIO_IOMMU_MAP_DMA of @size bytes at @vaddr to @iova; ioctl's return. */
int vfg_dma_map(int container, void *vaddr, uint64_t iova, uint64_t size,
		uint32_t flags);
#define VFG_DMA_RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
/* @bdf's BAR 0 through sysfs (resource0), @size bytes; NULL on failure. */
void *vfg_pci_map_bar0(const char *bdf, size_t size);
/* Close whatever of @d is open, device fd first. */
void vfg_dev_close(struct vfg_dev *d);

/* File offset of a region: index << 40, as DPDK hard-codes it. */
#define VFG_REGION_OFFSET(index)	((uint64_t)(index) << 40)

/* VFIO_DEVICE_GET_REGION_INFO with argsz = sizeof(*info); ioctl result. */
int vfg_region_info(int fd, uint32_t index, struct vfio_region_info *info);
/* VFIO_DEVICE_GET_IRQ_INFO with argsz = sizeof(*info); ioctl result. */
int vfg_irq_info(int fd, uint32_t index, struct vfio_irq_info *info);
/* pread/pwrite of region @index at @off. */
ssize_t vfg_region_read(int fd, uint32_t index, uint64_t off, void *buf,
			size_t len);
ssize_t vfg_region_write(int fd, uint32_t index, uint64_t off,
			 const void *buf, size_t len);
/* Config space through the device fd (all of @len or -1). */
uint32_t vfg_cfg_read32(int fd, unsigned int off);
uint16_t vfg_cfg_read16(int fd, unsigned int off);
int vfg_cfg_write32(int fd, unsigned int off, uint32_t val);
int vfg_cfg_write16(int fd, unsigned int off, uint16_t val);
/* mmap(MAP_SHARED) of region @index at @off; NULL (errno set) on failure. */
void *vfg_region_mmap(int fd, uint32_t index, uint64_t off, size_t len,
		      int prot);

/*
 * VFIO_DEVICE_SET_IRQS with @size bytes of @data after the header (argsz
 * covers them exactly); the ioctl's result.
 */
int vfg_set_irqs(int fd, uint32_t flags, uint32_t index, uint32_t start,
		 uint32_t count, const void *data, size_t size);
/* Set @count trigger eventfds from @start (-1 entries unset one). */
int vfg_irq_set_eventfds(int fd, uint32_t index, uint32_t start,
			 uint32_t count, const int *efds);
/* DATA_NONE | ACTION_TRIGGER, count 0: disable index @index. */
int vfg_irq_disable(int fd, uint32_t index);
/* Wait up to @ms ms for @efd; returns the counter read, 0 on timeout. */
uint64_t vfg_eventfd_wait(int efd, int ms);

/*
 * For a test whose threads do not finish: print every thread of this
 * process (state, wait channel, kernel stack) on stdout, and have the
 * kernel log its blocked tasks (SysRq w).
 */
void vfg_dump_threads(void);

#endif
