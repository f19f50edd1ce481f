/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fake sysfs trees for unit tests: a temporary directory laid out like the
 * parts of /sys (and /proc) the library reads.
 *
 * A fake tree is inert: writes to its files just land in them.  Once
 * fakesys_kernel_start() is called it also behaves like the kernel for the
 * PCI driver-model files, as the test binary is linked with
 * -Wl,--wrap=write,--wrap=open: writes to driver_override, drivers/D/bind,
 * drivers/D/unbind and drivers_probe take effect (driver links appear and
 * go), fail as the kernel's would (EBUSY, ENODEV, a driver that refuses to
 * probe), and are logged so that tests can assert the exact sequence.
 */
#ifndef FAKESYS_H
#define FAKESYS_H

#define FAKESYS_NO_GROUP (-1)

struct fakesys;

struct fakesys *fakesys_new(void);
void fakesys_free(struct fakesys *fs);
const char *fakesys_root(struct fakesys *fs);

/*
 * Add PCI device @bdf in IOMMU group @group (FAKESYS_NO_GROUP: none), on a
 * root bus, as a normal conventional PCI function 1234:11e8 (QEMU's edu).
 */
void fakesys_device(struct fakesys *fs, const char *bdf, int group);
/* The same, below the bridge @parent (added before). */
void fakesys_device_below(struct fakesys *fs, const char *bdf,
			  const char *parent, int group);
/* Hot removal: the device, its links and everything below it go. */
void fakesys_remove(struct fakesys *fs, const char *bdf);
/* Write @val to the device attribute @attr (creating it). */
void fakesys_attr(struct fakesys *fs, const char *bdf, const char *attr,
		  const char *val);

#define FAKESYS_NO_PCIE	(-1)
#define FAKESYS_NO_ACS	(-1)

/* What a device's config space (and vendor, device, class files) say. */
struct fakesys_pci {
	unsigned int vendor;
	unsigned int device;
	unsigned int class;	/* 24 bits */
	int header_type;	/* 0 normal, 1 PCI-to-PCI bridge */
	int multifunction;
	int pcie_type;		/* PCIe port type, or FAKESYS_NO_PCIE */
	int acs_ctrl;		/* ACS control bits, or FAKESYS_NO_ACS */
	int short_config;	/* only 64 bytes readable, as for non-root */
};

void fakesys_pci(struct fakesys *fs, const char *bdf,
		 const struct fakesys_pci *p);
/* Shorthands: a conventional PCI bridge; a PCIe root port with ACS control. */
void fakesys_pci_bridge(struct fakesys *fs, const char *bdf);
void fakesys_root_port(struct fakesys *fs, const char *bdf, int acs_ctrl);

/* Register PCI driver @name (sys/bus/pci/drivers/NAME with bind, unbind). */
void fakesys_driver(struct fakesys *fs, const char *name);
/* Bind @bdf to @drv (registering it) as the kernel would have at boot. */
void fakesys_bind(struct fakesys *fs, const char *bdf, const char *drv);
/* The driver that matches @bdf by ID, for drivers_probe and bind. */
void fakesys_match(struct fakesys *fs, const char *bdf, const char *drv);
/* Make @drv refuse to probe @bdf with @err (the bind write fails). */
void fakesys_refuse(struct fakesys *fs, const char *bdf, const char *drv,
		    int err);
/* The driver @bdf is bound to now, "" if none (a static buffer). */
const char *fakesys_driver_of(struct fakesys *fs, const char *bdf);
/* driver_override of @bdf as the kernel shows it ("(null)" if none). */
const char *fakesys_override_of(struct fakesys *fs, const char *bdf);

/* Create file @rel (below the root) with @content, making directories. */
void fakesys_file(struct fakesys *fs, const char *rel, const char *content);
/* Create symlink @rel -> @target, making directories. */
void fakesys_link(struct fakesys *fs, const char *rel, const char *target);
/* A directory @sub below device @bdf, linked from sys/class/@cls/@name. */
void fakesys_child(struct fakesys *fs, const char *bdf, const char *sub,
		   const char *cls, const char *name);
/* Read file @rel into a static buffer ("" if missing). */
const char *fakesys_read(struct fakesys *fs, const char *rel);

/* The module's /sys/class/vfio/GROUP: viable, blockers, members, holder. */
void fakesys_vfio_group(struct fakesys *fs, int group, int viable,
			const char *blockers, int holder);
/* A process with command @comm; an fd of it that links to @target. */
void fakesys_proc(struct fakesys *fs, int pid, const char *comm);
void fakesys_proc_fd(struct fakesys *fs, int pid, int fd, const char *target);

/* Start the fake kernel on @fs (see above). */
void fakesys_kernel_start(struct fakesys *fs);
/* The driver-model writes so far, one a line ("" if none). */
const char *fakesys_log(struct fakesys *fs);
/*
 * Just before the library opens a path ending in @suffix (once), call
 * @fn(@fs, @arg): hot removal in the middle of a walk.
 */
void fakesys_on_open(struct fakesys *fs, const char *suffix,
		     void (*fn)(struct fakesys *, const char *),
		     const char *arg);

/*
 * The fixture the suites share, the test guest's default topology.  Group 1:
 * LONE, an edu, unbound.  Group 2: BRIDGE, a conventional PCI bridge bound to
 * shpchp (which matches it); EDU1 behind it, unbound; EDU2 behind it, on
 * uio_pci_generic (which matches it by ID).  NOGRP: a device in no group.
 * vfio-pci is registered.  The fake kernel is not started.
 */
#define LONE	"0000:00:04.0"
#define BRIDGE	"0000:00:05.0"
#define EDU1	"0000:01:01.0"
#define EDU2	"0000:01:02.0"
#define NOGRP	"0000:00:1f.0"
#define UIO	"uio_pci_generic"

struct fakesys *fakesys_guest(void);
/* The same topology with other group numbers, as after a reboot. */
struct fakesys *fakesys_guest_grouped(int lone_group, int bridge_group);
/*
 * Its usr/share/misc/pci.ids, which vfio-group --root reads: the guest's
 * devices, and class 00 without the subclass ff they have (lspci then
 * names the class).
 */
#define FAKESYS_PCI_IDS							\
	"# pci.ids for the fake guest\n"					\
	"1234  Technical Corp.\n"					\
	"\t11e8  QEMU PCI Test Device\n"					\
	"1b36  Red Hat, Inc.\n"						\
	"\t0001  QEMU PCI-PCI bridge\n"					\
	"C 00  Unclassified device\n"					\
	"\t00  Non-VGA unclassified device\n"				\
	"C 06  Bridge\n"							\
	"\t04  PCI bridge\n"

/*
 * Check fixtures on it: guest_setup() makes guest_fs and a library context
 * on it, guest_ctx; guest_kernel_setup() also starts the fake kernel.
 */
struct vfg_ctx;
extern struct fakesys *guest_fs;
extern struct vfg_ctx *guest_ctx;
void guest_setup(void);
void guest_kernel_setup(void);
void guest_teardown(void);

/* Driver and driver_override ("(null)" if none) of @bdf in @fs. */
#define FAKESYS_ASSERT_STATE(fs, bdf, drv, ovr) do {			\
	ck_assert_str_eq(fakesys_driver_of(fs, bdf), drv);		\
	ck_assert_str_eq(fakesys_override_of(fs, bdf), ovr);		\
} while (0)

/* The drivers fakesys_guest() set: what every rollback must bring back. */
void fakesys_assert_guest_state(struct fakesys *fs);

#endif
