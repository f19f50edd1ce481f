// SPDX-License-Identifier: GPL-2.0
/*
 * Device interrupts: VFIO_DEVICE_GET_IRQ_INFO and VFIO_DEVICE_SET_IRQS.
 *
 * Indexes: INTx (maskable, automasked: each interrupt masks the line until
 * userspace unmasks it), MSI, MSI-X (fixed size once enabled: NORESIZE),
 * ERR (PCIe devices only) and REQ.  One of INTx, MSI and MSI-X at a time.
 * The edu raises real interrupts (INTx, or MSI once enabled: register 0x60
 * raises, 0x64 acknowledges, and a finished factorial raises when status
 * bit 7 is set).  The e1000e does not raise any without a driver, so its
 * MSI-X vectors are checked by loopback: SET_IRQS with DATA_NONE or
 * DATA_BOOL signals the eventfds as an interrupt would.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define INTX		VFIO_PCI_INTX_IRQ_INDEX
#define MSI		VFIO_PCI_MSI_IRQ_INDEX
#define MSIX		VFIO_PCI_MSIX_IRQ_INDEX
#define ERR		VFIO_PCI_ERR_IRQ_INDEX
#define REQ		VFIO_PCI_REQ_IRQ_INDEX

#define NONE		VFIO_IRQ_SET_DATA_NONE
#define BOOL		VFIO_IRQ_SET_DATA_BOOL
#define EVENTFD		VFIO_IRQ_SET_DATA_EVENTFD
#define MASK		VFIO_IRQ_SET_ACTION_MASK
#define UNMASK		VFIO_IRQ_SET_ACTION_UNMASK
#define TRIGGER		VFIO_IRQ_SET_ACTION_TRIGGER

#define YES_MS		3000	/* wait for an interrupt that must come */
#define NO_MS		300	/* and for one that must not */
#define PCI_CAP_MSI	0x05
#define PCI_CAP_MSIX	0x11
#define NVEC		8
#define PCI_COMMAND	0x04
#define CMD_MASTER	0x4

FIXTURE(irq) {
	struct vfg_topo t;
	struct vfg_dev edu;
	struct vfg_dev nic;
	volatile void *bar;	/* edu BAR0 */
	int efd[NVEC];
};

FIXTURE_SETUP(irq)
{
	int i;

	vfg_dev_init(&self->edu);
	vfg_dev_init(&self->nic);
	for (i = 0; i < NVEC; i++)
		self->efd[i] = -1;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_EQ(0, vfg_dev_open(&self->edu, self->t.lone));
	ASSERT_EQ(0, vfg_dev_open(&self->nic, self->t.nic));
	self->bar = vfg_region_mmap(self->edu.fd, VFIO_PCI_BAR0_REGION_INDEX,
				    0, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->bar);
	ASSERT_EQ(EDU_ID, edu_read32(self->bar, EDU_REG_ID));
	for (i = 0; i < NVEC; i++) {
		self->efd[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(irq)
{
	int i;

	if (self->bar) {
		/* Leave no interrupt pending in the device. */
		edu_write32(self->bar, EDU_REG_IRQ_ACK, 0xffffffff);
		munmap((void *)self->bar, EDU_BAR0_SIZE);
	}
	vfg_dev_close(&self->edu);
	vfg_dev_close(&self->nic);
	for (i = 0; i < NVEC; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* ---- helpers ------------------------------------------------------------ */

static int set_irqs(int fd, uint32_t flags, uint32_t index, uint32_t start,
		    uint32_t count, const void *data, size_t size)
{
	return vfg_set_irqs(fd, flags, index, start, count, data, size);
}

/* One eventfd for one vector (or the unmask eventfd with UNMASK). */
static int set_efd(int fd, uint32_t action, uint32_t index, uint32_t start,
		   int32_t efd)
{
	return set_irqs(fd, EVENTFD | action, index, start, 1, &efd,
			sizeof(efd));
}

static int loopback(int fd, uint32_t index, uint32_t start, uint32_t count)
{
	return set_irqs(fd, NONE | TRIGGER, index, start, count, NULL, 0);
}

static int set_bools(int fd, uint32_t action, uint32_t index, uint32_t start,
		     uint32_t count, const uint8_t *b)
{
	return set_irqs(fd, BOOL | action, index, start, count, b, count);
}

static int unmask(int fd)
{
	return set_irqs(fd, NONE | UNMASK, INTX, 0, 1, NULL, 0);
}

static int mask(int fd)
{
	return set_irqs(fd, NONE | MASK, INTX, 0, 1, NULL, 0);
}

/* Turn bus mastering on or off through the device fd. */
static int bus_master(int fd, bool on)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	if (cmd == UINT16_MAX)
		return -1;
	cmd = on ? cmd | CMD_MASTER : cmd & ~CMD_MASTER;
	return vfg_cfg_write16(fd, PCI_COMMAND, cmd);
}

#define SIGNALLED(efd)		(vfg_eventfd_wait(efd, YES_MS) > 0)
#define QUIET(efd)		(vfg_eventfd_wait(efd, NO_MS) == 0)

/* Capability @id in @fd's config space (0 if absent). */
static unsigned int cap_pos(int fd, unsigned int id, uint16_t *flags)
{
	uint8_t cfg[256];
	unsigned int pos;

	if (vfg_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
			    sizeof(cfg)) != sizeof(cfg))
		return 0;
	pos = vfg_pci_find_cap(cfg, id);
	if (pos && flags)
		memcpy(flags, cfg + pos + 2, 2);
	return pos;
}

/* ---- VFIO_DEVICE_GET_IRQ_INFO --------------------------------------------- */

TEST_F(irq, info_edu)
{
	struct vfio_irq_info info;
	int fd = self->edu.fd;

	ASSERT_EQ(0, vfg_irq_info(fd, INTX, &info));
	EXPECT_EQ(INTX, info.index);
	EXPECT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		  VFIO_IRQ_INFO_AUTOMASKED, info.flags);
	EXPECT_EQ(1, info.count);

	ASSERT_EQ(0, vfg_irq_info(fd, MSI, &info));
	EXPECT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	EXPECT_EQ(1, info.count);

	ASSERT_EQ(0, vfg_irq_info(fd, MSIX, &info));
	EXPECT_TRUE(info.flags & VFIO_IRQ_INFO_EVENTFD);
	EXPECT_EQ(0, info.count);

	/* Conventional PCI: no error reporting, so no ERR index at all. */
	EXPECT_ERRNO(EINVAL, vfg_irq_info(fd, ERR, &info));

	ASSERT_EQ(0, vfg_irq_info(fd, REQ, &info));
	EXPECT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	EXPECT_EQ(1, info.count);

	EXPECT_ERRNO(EINVAL, vfg_irq_info(fd, VFIO_PCI_NUM_IRQS, &info));
	EXPECT_ERRNO(EINVAL, vfg_irq_info(fd, UINT32_MAX, &info));
}

TEST_F(irq, info_argsz)
{
	struct vfio_irq_info info = { .index = INTX };

	info.argsz = sizeof(info) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->edu.fd, VFIO_DEVICE_GET_IRQ_INFO,
				   &info));
	info.argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->edu.fd, VFIO_DEVICE_GET_IRQ_INFO,
				   &info));
	EXPECT_ERRNO(EFAULT, ioctl(self->edu.fd, VFIO_DEVICE_GET_IRQ_INFO,
				   NULL));
	info.argsz = sizeof(info) + 16;
	ASSERT_EQ(0, ioctl(self->edu.fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(1, info.count);
}

/* The e1000e is PCIe, and its MSI/MSI-X counts are its capabilities'. */
TEST_F(irq, info_nic)
{
	struct vfio_irq_info info;
	int fd = self->nic.fd;
	uint16_t flags;

	ASSERT_NE(0, cap_pos(fd, PCI_CAP_MSIX, &flags));
	ASSERT_EQ(0, vfg_irq_info(fd, MSIX, &info));
	EXPECT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	EXPECT_EQ((flags & 0x7ff) + 1, info.count);
	EXPECT_LE(2, info.count);

	ASSERT_NE(0, cap_pos(fd, PCI_CAP_MSI, &flags));
	ASSERT_EQ(0, vfg_irq_info(fd, MSI, &info));
	EXPECT_EQ(1 << ((flags >> 1) & 7), info.count);

	ASSERT_EQ(0, vfg_irq_info(fd, ERR, &info));
	EXPECT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	EXPECT_EQ(1, info.count);
}

/* ---- VFIO_DEVICE_SET_IRQS: validation -------------------------------------- */

TEST_F(irq, set_irqs_validation)
{
	int fd = self->edu.fd, p[2], bad;
	struct vfio_irq_set hdr = { .argsz = sizeof(hdr) - 1 };
	int32_t efd = self->efd[0];
	uint8_t one = 1;

	hdr.flags = NONE | TRIGGER;
	hdr.index = INTX;
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_DEVICE_SET_IRQS, &hdr));
	EXPECT_ERRNO(EFAULT, ioctl(fd, VFIO_DEVICE_SET_IRQS, NULL));

	/* Two data types; an unknown flag. */
	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | BOOL | TRIGGER, INTX, 0, 1,
				      &one, 1));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, BOOL | EVENTFD | TRIGGER, INTX, 0, 1,
				      &efd, 4));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | TRIGGER | (1u << 6), INTX, 0,
				      1, NULL, 0));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | TRIGGER | (1u << 31), INTX,
				      0, 1, NULL, 0));
	/* Two actions: the kernel finds no handler and says ENOTTY. */
	EXPECT_ERRNO(vfg_ours() ? EINVAL : ENOTTY,
		     set_irqs(fd, NONE | MASK | UNMASK, INTX, 0, 1, NULL, 0));
	EXPECT_ERRNO(vfg_ours() ? EINVAL : ENOTTY,
		     set_irqs(fd, NONE | UNMASK | TRIGGER, INTX, 0, 1, NULL,
			      0));

	/* Index out of range; start and count past the index's count. */
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, VFIO_PCI_NUM_IRQS, 0, efd));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, UINT32_MAX, 0, efd));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, INTX, 1, efd));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | TRIGGER, INTX, 0, 2, NULL, 0));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | TRIGGER, INTX, 1,
				      UINT32_MAX, NULL, 0));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSI, 1, efd));
	/* The edu has no MSI-X and, not being PCIe, no ERR. */
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSIX, 0, efd));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, ERR, 0, efd));

	/* argsz too small for the data it announces. */
	EXPECT_ERRNO(EINVAL, set_irqs(fd, EVENTFD | TRIGGER, INTX, 0, 1, NULL,
				      0));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, BOOL | TRIGGER, INTX, 0, 1, NULL,
				      0));
	EXPECT_ERRNO(EINVAL, set_irqs(fd, EVENTFD | TRIGGER, INTX, 0, 1, &efd,
				      3));

	/* Not an eventfd; not an fd. */
	ASSERT_EQ(0, pipe(p));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, INTX, 0, p[0]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSI, 0, p[1]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, REQ, 0, p[0]));
	bad = dup(p[0]);
	close(bad);
	EXPECT_ERRNO(EBADF, set_efd(fd, TRIGGER, INTX, 0, bad));
	EXPECT_ERRNO(EBADF, set_efd(fd, TRIGGER, MSI, 0, bad));
	close(p[0]);
	close(p[1]);

	/* Only INTx can be masked (MSI masking is not offered, as upstream). */
	EXPECT_ERRNO(ENOTTY, set_irqs(fd, NONE | MASK, MSI, 0, 1, NULL, 0));
	EXPECT_ERRNO(ENOTTY, set_irqs(fd, NONE | UNMASK, MSI, 0, 1, NULL, 0));
	EXPECT_ERRNO(ENOTTY, set_irqs(fd, NONE | MASK, REQ, 0, 1, NULL, 0));

	/* Nothing enabled: nothing to disable, mask or trigger. */
	EXPECT_ERRNO(EINVAL, loopback(fd, MSI, 0, 1));
	EXPECT_ERRNO(EINVAL, unmask(fd));

	/* After all that, the index still works. */
	EXPECT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	EXPECT_EQ(0, vfg_irq_disable(fd, INTX));
}

/* ---- INTx ------------------------------------------------------------------ */

/*
 * QEMU enables INTx with an eventfd as soon as it realizes the device.  An
 * edu interrupt signals it and masks the line; further interrupts wait for
 * an unmask (after the device has been acknowledged).
 */
TEST_F(irq, intx_automask)
{
	int fd = self->edu.fd, efd = self->efd[0];
	volatile void *bar = self->bar;

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	EXPECT_TRUE(QUIET(efd));

	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
	ASSERT_TRUE(SIGNALLED(efd));
	EXPECT_EQ(0x1, edu_read32(bar, EDU_REG_IRQ_STATUS));
	/* Masked now: another interrupt stays quiet. */
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x2);
	EXPECT_TRUE(QUIET(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x3);
	EXPECT_EQ(0, edu_read32(bar, EDU_REG_IRQ_STATUS));
	ASSERT_EQ(0, unmask(fd));
	EXPECT_TRUE(QUIET(efd));

	/* Unmasked: the next one comes through, and masks again. */
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x4);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x4);
	ASSERT_EQ(0, unmask(fd));
	/* A factorial that asks for an interrupt. */
	EXPECT_EQ(24, edu_fact(bar, 4, true, 5000));
	ASSERT_TRUE(SIGNALLED(efd));
	EXPECT_EQ(EDU_IRQ_FACT, edu_read32(bar, EDU_REG_IRQ_STATUS));
	edu_write32(bar, EDU_REG_IRQ_ACK, EDU_IRQ_FACT);
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
}

/* INTx is level-triggered: unmasking with the device still asserting fires again. */
TEST_F(irq, intx_unmask_refires)
{
	int fd = self->edu.fd, efd = self->efd[0];

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x8);
	ASSERT_TRUE(SIGNALLED(efd));
	ASSERT_EQ(0, unmask(fd));
	EXPECT_TRUE(SIGNALLED(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x8);
	ASSERT_EQ(0, unmask(fd));
	EXPECT_TRUE(QUIET(efd));
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
}

/* Unmasking through an eventfd (as KVM's resampler does), and by DATA_BOOL. */
TEST_F(irq, intx_unmask_eventfd)
{
	int fd = self->edu.fd, efd = self->efd[0], ufd = self->efd[1];
	uint64_t one = 1;
	uint8_t yes = 1, no = 0;

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	ASSERT_EQ(0, set_efd(fd, UNMASK, INTX, 0, ufd));

	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x1);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x1);
	ASSERT_EQ(8, write(ufd, &one, 8));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x2);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x2);

	/* BOOL false leaves it masked, true unmasks. */
	ASSERT_EQ(0, set_bools(fd, UNMASK, INTX, 0, 1, &no));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x4);
	EXPECT_TRUE(QUIET(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x4);
	ASSERT_EQ(0, set_bools(fd, UNMASK, INTX, 0, 1, &yes));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x8);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x8);

	/* Take the unmask eventfd away: writing it does nothing now. */
	ASSERT_EQ(0, set_efd(fd, UNMASK, INTX, 0, -1));
	ASSERT_EQ(8, write(ufd, &one, 8));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x10);
	EXPECT_TRUE(QUIET(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x10);
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
}

/* Masked by userspace, nothing is delivered until it unmasks. */
TEST_F(irq, intx_mask)
{
	int fd = self->edu.fd, efd = self->efd[0];

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	ASSERT_EQ(0, mask(fd));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x1);
	EXPECT_TRUE(QUIET(efd));
	/* Masking twice is fine. */
	ASSERT_EQ(0, mask(fd));
	ASSERT_EQ(0, unmask(fd));
	/* Still asserted: delivered as soon as it is unmasked. */
	EXPECT_TRUE(SIGNALLED(efd));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x1);
	ASSERT_EQ(0, unmask(fd));
	EXPECT_TRUE(QUIET(efd));
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
}

/* Loopback: DATA_NONE and DATA_BOOL signal the trigger as an interrupt would. */
TEST_F(irq, intx_loopback)
{
	int fd = self->edu.fd, efd = self->efd[0];
	uint8_t yes = 1, no = 0;

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, efd));
	ASSERT_EQ(0, loopback(fd, INTX, 0, 1));
	EXPECT_TRUE(SIGNALLED(efd));
	ASSERT_EQ(0, set_bools(fd, TRIGGER, INTX, 0, 1, &no));
	EXPECT_TRUE(QUIET(efd));
	ASSERT_EQ(0, set_bools(fd, TRIGGER, INTX, 0, 1, &yes));
	EXPECT_TRUE(SIGNALLED(efd));
	/* A new eventfd replaces the old one. */
	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, self->efd[1]));
	ASSERT_EQ(0, loopback(fd, INTX, 0, 1));
	EXPECT_TRUE(SIGNALLED(self->efd[1]));
	EXPECT_TRUE(QUIET(efd));
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
	/* Disabled: no loopback. */
	EXPECT_ERRNO(EINVAL, loopback(fd, INTX, 0, 1));
	/* Disabling again: a no-op for ours, EINVAL for the kernel's. */
	if (vfg_ours()) {
		EXPECT_EQ(0, vfg_irq_disable(fd, INTX));
	} else {
		EXPECT_ERRNO(EINVAL, vfg_irq_disable(fd, INTX));
	}
}

/* ---- MSI ------------------------------------------------------------------- */

/*
 * An MSI is a memory write by the device, so it needs bus mastering, which
 * is off after open: nothing arrives until userspace turns it on.
 */
TEST_F(irq, msi_delivery)
{
	int fd = self->edu.fd, efd = self->efd[0];
	volatile void *bar = self->bar;
	uint8_t yes = 1;

	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSI, 0, efd));
	EXPECT_TRUE(QUIET(efd));
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
	EXPECT_TRUE(QUIET(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x1);
	ASSERT_EQ(0, bus_master(fd, true));
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x1);
	/* Edge-triggered: no masking, the next one comes straight away. */
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x2);
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x2);
	EXPECT_EQ(5040, edu_fact(bar, 7, true, 5000));
	ASSERT_TRUE(SIGNALLED(efd));
	edu_write32(bar, EDU_REG_IRQ_ACK, EDU_IRQ_FACT);

	ASSERT_EQ(0, set_bools(fd, TRIGGER, MSI, 0, 1, &yes));
	EXPECT_TRUE(SIGNALLED(efd));
	ASSERT_EQ(0, vfg_irq_disable(fd, MSI));
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	/* And again after a disable. */
	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSI, 0, self->efd[1]));
	edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
	EXPECT_TRUE(SIGNALLED(self->efd[1]));
	edu_write32(bar, EDU_REG_IRQ_ACK, 0x1);
	ASSERT_EQ(0, vfg_irq_disable(fd, MSI));
}

struct reset_racer {
	int fd;
	volatile int stop;
	long resets;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *reset_loop(void *arg)
{
	struct reset_racer *r = arg;

	while (!r->stop)
		if (!ioctl(r->fd, VFIO_DEVICE_RESET))
			r->resets++;
	return NULL;
}

/*
 * A function reset restores the device's MSI state from its descriptors;
 * enabling and disabling MSI at the same time (another thread of the
 * owner) must not free them under the restore.  Before every vector setup
 * and teardown held memory_lock, as the reset does, the debug kernel's
 * fuzz_test caught the restore dereferencing a freed descriptor.
 */
TEST_F_TIMEOUT(irq, msi_setup_races_reset, 60)
{
	struct reset_racer r = { };
	struct vfg_dev pedu;
	pthread_t t;
	long cycles = 0;
	uint32_t id = 0;
	double end;

	vfg_dev_init(&pedu);
	ASSERT_EQ(0, vfg_dev_open(&pedu, self->t.pedu));
	r.fd = pedu.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, reset_loop, &r));
	end = now_ms() + 3000;
	while (now_ms() < end) {
		if (set_efd(pedu.fd, TRIGGER, MSI, 0, self->efd[0]) == 0)
			cycles++;
		vfg_irq_disable(pedu.fd, MSI);
	}
	r.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%ld MSI enable/disable cycles against %ld resets", cycles,
	       r.resets);
	EXPECT_LT(0, cycles);
	EXPECT_LT(0, r.resets);
	EXPECT_EQ(4, vfg_region_read(pedu.fd, VFIO_PCI_BAR0_REGION_INDEX,
				     EDU_REG_ID, &id, 4));
	EXPECT_EQ(EDU_ID, id);
	vfg_dev_close(&pedu);
}

/* One interrupt type at a time. */
TEST_F(irq, one_type_at_a_time)
{
	int fd = self->edu.fd;

	ASSERT_EQ(0, set_efd(fd, TRIGGER, INTX, 0, self->efd[0]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSI, 0, self->efd[1]));
	EXPECT_ERRNO(EINVAL, vfg_irq_disable(fd, MSI));
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSI, 0, self->efd[1]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, INTX, 0, self->efd[0]));
	EXPECT_ERRNO(EINVAL, unmask(fd));
	ASSERT_EQ(0, vfg_irq_disable(fd, MSI));

	fd = self->nic.fd;
	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSIX, 0, self->efd[2]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSI, 0, self->efd[3]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, INTX, 0, self->efd[3]));
	ASSERT_EQ(0, vfg_irq_disable(fd, MSIX));
	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSI, 0, self->efd[3]));
	EXPECT_ERRNO(EINVAL, set_efd(fd, TRIGGER, MSIX, 0, self->efd[2]));
	ASSERT_EQ(0, vfg_irq_disable(fd, MSI));
}

/* ---- MSI-X ----------------------------------------------------------------- */

TEST_F(irq, msix_vectors)
{
	int fd = self->nic.fd, *efd = self->efd;
	struct vfio_irq_info info;
	uint8_t bools[NVEC];
	int32_t none = -1;
	uint32_t i, n;

	ASSERT_EQ(0, vfg_irq_info(fd, MSIX, &info));
	n = info.count;
	ASSERT_LE(3, n);
	ASSERT_GE(NVEC, n);

	/* Two vectors; loopback signals each that is asked for. */
	ASSERT_EQ(0, vfg_irq_set_eventfds(fd, MSIX, 0, 2, efd));
	ASSERT_EQ(0, loopback(fd, MSIX, 0, 2));
	EXPECT_TRUE(SIGNALLED(efd[0]));
	EXPECT_TRUE(SIGNALLED(efd[1]));
	bools[0] = 0;
	bools[1] = 1;
	ASSERT_EQ(0, set_bools(fd, TRIGGER, MSIX, 0, 2, bools));
	EXPECT_TRUE(SIGNALLED(efd[1]));
	EXPECT_TRUE(QUIET(efd[0]));
	ASSERT_EQ(0, loopback(fd, MSIX, 1, 1));
	EXPECT_TRUE(SIGNALLED(efd[1]));
	EXPECT_TRUE(QUIET(efd[0]));

	/* NORESIZE: more vectors only after a disable. */
	EXPECT_ERRNO(EINVAL, vfg_irq_set_eventfds(fd, MSIX, 0, n, efd));
	EXPECT_ERRNO(EINVAL, vfg_irq_set_eventfds(fd, MSIX, 2, 1, efd + 2));
	/* Vectors can be swapped and unset within the size. */
	ASSERT_EQ(0, set_efd(fd, TRIGGER, MSIX, 0, efd[2]));
	ASSERT_EQ(0, loopback(fd, MSIX, 0, 1));
	EXPECT_TRUE(SIGNALLED(efd[2]));
	EXPECT_TRUE(QUIET(efd[0]));
	ASSERT_EQ(0, set_irqs(fd, EVENTFD | TRIGGER, MSIX, 1, 1, &none, 4));
	ASSERT_EQ(0, loopback(fd, MSIX, 0, 2));
	EXPECT_TRUE(SIGNALLED(efd[2]));
	EXPECT_TRUE(QUIET(efd[1]));

	ASSERT_EQ(0, vfg_irq_disable(fd, MSIX));
	ASSERT_EQ(0, vfg_irq_set_eventfds(fd, MSIX, 0, n, efd));
	ASSERT_EQ(0, loopback(fd, MSIX, 0, n));
	for (i = 0; i < n; i++)
		EXPECT_TRUE(SIGNALLED(efd[i])) TH_LOG("vector %u", i);
	EXPECT_ERRNO(EINVAL, loopback(fd, MSIX, 0, n + 1));
	EXPECT_ERRNO(EINVAL, vfg_irq_set_eventfds(fd, MSIX, 0, n + 1, efd));
	ASSERT_EQ(0, vfg_irq_disable(fd, MSIX));
	EXPECT_ERRNO(EINVAL, loopback(fd, MSIX, 0, 1));
}

/* ---- ERR and REQ ------------------------------------------------------------ */

static void check_single(struct __test_metadata *_metadata, int fd,
			 uint32_t index, int efd)
{
	uint8_t yes = 1;
	int32_t none = -1;

	EXPECT_ERRNO(EINVAL, set_irqs(fd, NONE | TRIGGER, index, 0, 2, NULL,
				      0));
	ASSERT_EQ(0, set_efd(fd, TRIGGER, index, 0, efd));
	ASSERT_EQ(0, set_bools(fd, TRIGGER, index, 0, 1, &yes));
	EXPECT_TRUE(SIGNALLED(efd));
	ASSERT_EQ(0, loopback(fd, index, 0, 1));
	EXPECT_TRUE(SIGNALLED(efd));
	/* fd -1 clears it: loopback then signals nothing. */
	ASSERT_EQ(0, set_irqs(fd, EVENTFD | TRIGGER, index, 0, 1, &none, 4));
	ASSERT_EQ(0, set_bools(fd, TRIGGER, index, 0, 1, &yes));
	EXPECT_TRUE(QUIET(efd));
	/* And it can be set again. */
	ASSERT_EQ(0, set_efd(fd, TRIGGER, index, 0, efd));
	ASSERT_EQ(0, loopback(fd, index, 0, 1));
	EXPECT_TRUE(SIGNALLED(efd));
	ASSERT_EQ(0, set_irqs(fd, EVENTFD | TRIGGER, index, 0, 1, &none, 4));
}

TEST_F(irq, err_and_req)
{
	check_single(_metadata, self->nic.fd, ERR, self->efd[0]);
	check_single(_metadata, self->nic.fd, REQ, self->efd[1]);
	check_single(_metadata, self->edu.fd, REQ, self->efd[2]);
	/* The edu has no ERR index to set. */
	EXPECT_ERRNO(EINVAL, set_efd(self->edu.fd, TRIGGER, ERR, 0,
				     self->efd[3]));
}

TEST_HARNESS_MAIN
