// SPDX-License-Identifier: GPL-2.0
/*
 * The security boundary (issue 11): what a hostile owner of a device must not
 * be able to do, each check a regression test of a hole that was fixed.
 *
 * - BAR access while the device does not decode it (memory or I/O enable
 *   off in the command register), the CVE-2020-12888 class: pread/pwrite
 *   fail with EIO, mapped accesses get SIGBUS, clearing the memory enable
 *   zaps every mapping, and a reset zaps them too (the next access faults).
 * - INTx as a guest drives it: the virtual INTx disable bit of the command
 *   register masks the line; an unmask eventfd that is also the trigger does
 *   not turn a still-asserted line into an interrupt storm.
 * - VFIO_IOMMU_GET_INFO writes no more than argsz.
 *
 * The edu on the root bus (t.lone) is the device; the edu behind the root
 * port (t.pedu) is the one that can be reset.  Every check holds for the
 * kernel's own VFIO too (VFG_USE_KERNEL_VFIO=1).
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define CONFIG		VFIO_PCI_CONFIG_REGION_INDEX
#define BAR0		VFIO_PCI_BAR0_REGION_INDEX
#define INTX		VFIO_PCI_INTX_IRQ_INDEX

#define PCI_COMMAND		0x04
#define CMD_MEMORY		0x0002
#define CMD_INTX_DISABLE	0x0400

#ifndef offsetofend
#define offsetofend(t, m)	(offsetof(t, m) + sizeof(((t *)0)->m))
#endif

#define YES_MS		3000	/* wait for an interrupt that must come */
#define NO_MS		300	/* and for one that must not */

FIXTURE(sec) {
	struct vfg_topo t;
	struct vfg_dev edu;
	volatile void *bar;	/* edu BAR0, mapped */
	int efd;
};

FIXTURE_SETUP(sec)
{
	vfg_dev_init(&self->edu);
	self->efd = -1;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_EQ(0, vfg_dev_open(&self->edu, self->t.lone));
	self->bar = vfg_region_mmap(self->edu.fd, BAR0, 0, EDU_BAR0_SIZE,
				    PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->bar);
	ASSERT_EQ(EDU_ID, edu_read32(self->bar, EDU_REG_ID));
	self->efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(sec)
{
	uint16_t cmd;

	if (self->edu.fd >= 0) {
		/* Decoding back on, and no interrupt left pending. */
		cmd = vfg_cfg_read16(self->edu.fd, PCI_COMMAND);
		vfg_cfg_write16(self->edu.fd, PCI_COMMAND, cmd | CMD_MEMORY);
		if (self->bar)
			edu_write32(self->bar, EDU_REG_IRQ_ACK, 0xffffffff);
	}
	if (self->bar)
		munmap((void *)self->bar, EDU_BAR0_SIZE);
	vfg_dev_close(&self->edu);
	if (self->efd >= 0)
		close(self->efd);
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* ---- helpers ------------------------------------------------------------ */

static int set_cmd_bits(int fd, uint16_t bits, bool on)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	if (cmd == UINT16_MAX)
		return -1;
	cmd = on ? cmd | bits : cmd & ~bits;
	return vfg_cfg_write16(fd, PCI_COMMAND, cmd);
}

static int set_efd(int fd, uint32_t action, int32_t efd)
{
	return vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD | action, INTX, 0, 1,
			    &efd, sizeof(efd));
}

/*
 * Read @reg of a mapped BAR in a child: its exit status is 0 if the read
 * returned @expect, 1 if it returned something else, 128 + signal if the
 * access killed it.
 */
static int child_read32(volatile void *bar, unsigned int reg, uint32_t expect)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(edu_read32(bar, reg) == expect ? 0 : 1);
	return pid < 0 ? -1 : vfg_reap(pid, 10000);
}

/* Minor faults of the calling thread so far. */
static long minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return -1;
	return ru.ru_minflt;
}

/* The count of interrupts of the line named @name, all CPUs; -1 if none. */
static long irq_count(const char *name)
{
	char line[1024], *p, *end;
	long total = -1, n;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, name))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		total = 0;
		for (p++;; p = end) {
			n = strtol(p, &end, 10);
			if (end == p)
				break;
			total += n;
		}
		break;
	}
	fclose(f);
	return total;
}

/* The Linux IRQ number of the line named @name, -1 if none. */
static int irq_number(const char *name)
{
	char line[1024];
	int irq = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name) && sscanf(line, " %d:", &irq) == 1)
			break;
	fclose(f);
	return irq;
}

/* How many bytes of @buf from @argsz on lost their 0xa5 filling. */
static size_t written_beyond(const uint8_t *buf, size_t len, size_t argsz)
{
	size_t i, n = 0;

	for (i = argsz; i < len; i++)
		n += buf[i] != 0xa5;
	return n;
}

/* VFIO_DEVICE_PCI_HOT_RESET of @fd's bus, with one group fd. */
static int hot_reset(int fd, int group)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[1];
	} r = {
		.hdr.argsz = sizeof(r),
		.hdr.count = 1,
		.fds = { group },
	};

	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &r);
}

/* ---- BARs while the device does not decode them ------------------------- */

/* pread/pwrite of a BAR fail with EIO while memory decoding is off. */
TEST_F(sec, bar_rw_memory_off)
{
	int fd = self->edu.fd;
	uint32_t v = 0;

	ASSERT_EQ(4, vfg_region_read(fd, BAR0, EDU_REG_ID, &v, 4));
	ASSERT_EQ(EDU_ID, v);

	ASSERT_EQ(0, set_cmd_bits(fd, CMD_MEMORY, false));
	EXPECT_ERRNO(EIO, vfg_region_read(fd, BAR0, EDU_REG_ID, &v, 4));
	v = 0x12345678;
	EXPECT_ERRNO(EIO, vfg_region_write(fd, BAR0, EDU_REG_LIVENESS, &v, 4));

	ASSERT_EQ(0, set_cmd_bits(fd, CMD_MEMORY, true));
	v = 0;
	EXPECT_EQ(4, vfg_region_read(fd, BAR0, EDU_REG_ID, &v, 4));
	EXPECT_EQ(EDU_ID, v);
}

/*
 * Clearing the memory enable takes the mapping away: an access then gets
 * SIGBUS, even to a page that was mapped before; setting it again lets the
 * next access fault the page back in.
 */
TEST_F(sec, mmap_memory_off_sigbus)
{
	int fd = self->edu.fd;

	EXPECT_EQ(0, child_read32(self->bar, EDU_REG_ID, EDU_ID));
	ASSERT_EQ(0, set_cmd_bits(fd, CMD_MEMORY, false));
	EXPECT_EQ(128 + SIGBUS, child_read32(self->bar, EDU_REG_ID, EDU_ID));
	/* A page never touched before, too. */
	EXPECT_EQ(128 + SIGBUS, child_read32(self->bar, 0x1000, 0));
	ASSERT_EQ(0, set_cmd_bits(fd, CMD_MEMORY, true));
	EXPECT_EQ(0, child_read32(self->bar, EDU_REG_ID, EDU_ID));
	EXPECT_EQ(EDU_ID, edu_read32(self->bar, EDU_REG_ID));
}

/*
 * A reset takes the mappings away for its duration: the next access after
 * VFIO_DEVICE_RESET, or VFIO_DEVICE_PCI_HOT_RESET, faults again (and finds
 * the device).
 */
TEST_F(sec, reset_zaps_mappings)
{
	struct vfg_dev pedu;
	volatile void *bar;
	long before, after;

	vfg_dev_init(&pedu);
	ASSERT_EQ(0, vfg_dev_open(&pedu, self->t.pedu));
	bar = vfg_region_mmap(pedu.fd, BAR0, 0, EDU_BAR0_SIZE,
			      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar);
	ASSERT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));

	/* Mapped: a second access does not fault. */
	before = minflt();
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	EXPECT_EQ(before, minflt());

	ASSERT_EQ(0, ioctl(pedu.fd, VFIO_DEVICE_RESET));
	before = minflt();
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	after = minflt();
	EXPECT_LT(before, after) {
		TH_LOG("no fault after VFIO_DEVICE_RESET: the mapping survived the reset");
	}

	/* The same for a hot reset, of the root port's bus: pedu alone. */
	before = minflt();
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	EXPECT_EQ(before, minflt());
	ASSERT_EQ(0, hot_reset(pedu.fd, pedu.group));
	before = minflt();
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	after = minflt();
	EXPECT_LT(before, after) {
		TH_LOG("no fault after VFIO_DEVICE_PCI_HOT_RESET: the mapping survived the reset");
	}
	munmap((void *)bar, EDU_BAR0_SIZE);
	vfg_dev_close(&pedu);
}

/* ---- INTx as a guest drives it ----------------------------------------- */

/*
 * The virtual INTx disable bit masks the line: while it is set, an edu
 * interrupt stays quiet and an unmask does not let it through; clearing it
 * delivers the pending one.
 */
TEST_F(sec, intx_disable_bit_masks)
{
	int fd = self->edu.fd, efd = self->efd;

	ASSERT_EQ(0, set_efd(fd, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	ASSERT_EQ(0, set_cmd_bits(fd, CMD_INTX_DISABLE, true));
	EXPECT_EQ(CMD_INTX_DISABLE,
		  vfg_cfg_read16(fd, PCI_COMMAND) & CMD_INTX_DISABLE);

	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x1);
	EXPECT_EQ(0, vfg_eventfd_wait(efd, NO_MS));
	ASSERT_EQ(0, vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				  NULL, 0));
	EXPECT_EQ(0, vfg_eventfd_wait(efd, NO_MS));

	ASSERT_EQ(0, set_cmd_bits(fd, CMD_INTX_DISABLE, false));
	EXPECT_NE(0, vfg_eventfd_wait(efd, YES_MS));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x1);

	/* Set while the handler has it masked: the unmask must not open it. */
	ASSERT_EQ(0, vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				  NULL, 0));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x2);
	EXPECT_NE(0, vfg_eventfd_wait(efd, YES_MS));
	ASSERT_EQ(0, set_cmd_bits(fd, CMD_INTX_DISABLE, true));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x2);
	ASSERT_EQ(0, vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				  NULL, 0));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x4);
	EXPECT_EQ(0, vfg_eventfd_wait(efd, NO_MS));
	ASSERT_EQ(0, set_cmd_bits(fd, CMD_INTX_DISABLE, false));
	EXPECT_NE(0, vfg_eventfd_wait(efd, YES_MS));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x4);
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
}

/*
 * One eventfd as trigger and unmask, the device still asserting: each
 * unmask finds the line asserted.  That must not become an interrupt storm
 * in hard-IRQ context; the line stays masked until the device stops.  The
 * interrupt is steered to CPU 1 and the test runs on CPU 0, so that a storm
 * is measured rather than hanging the test.
 */
TEST_F(sec, intx_unmask_same_eventfd)
{
	int fd = self->edu.fd, efd = self->efd, irq;
	char name[64], path[64];
	cpu_set_t cpus;
	long before, after;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, set_efd(fd, VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	snprintf(name, sizeof(name), "(%s)", self->t.lone);
	irq = irq_number(name);
	ASSERT_LE(0, irq);
	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	if (vfg_sysfs_write(path, "1"))
		TH_LOG("cannot steer IRQ %d to CPU 1", irq);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));

	ASSERT_EQ(0, set_efd(fd, VFIO_IRQ_SET_ACTION_UNMASK, efd));
	before = irq_count(name);
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x1);
	usleep(1000 * 1000);
	after = irq_count(name);
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x1);
	TH_LOG("%ld interrupts in 1 s with the line asserted", after - before);
	EXPECT_GE(10, after - before);

	/* Acknowledged: the line is unmasked again and works. */
	usleep(100 * 1000);
	ASSERT_EQ(0, set_efd(fd, VFIO_IRQ_SET_ACTION_UNMASK, -1));
	vfg_eventfd_wait(efd, NO_MS);
	ASSERT_EQ(0, vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				  NULL, 0));
	edu_write32(self->bar, EDU_REG_IRQ_RAISE, 0x2);
	EXPECT_NE(0, vfg_eventfd_wait(efd, YES_MS));
	edu_write32(self->bar, EDU_REG_IRQ_ACK, 0x2);
	ASSERT_EQ(0, vfg_irq_disable(fd, INTX));
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	CPU_SET(1, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
}

/* ---- the container ------------------------------------------------------ */

/*
 * VFIO_IOMMU_GET_INFO writes no more than argsz: a caller that knows
 * cap_offset but not the padding after it keeps the bytes beyond.
 */
TEST_F(sec, iommu_info_argsz)
{
	size_t argsz = offsetofend(struct vfio_iommu_type1_info, cap_offset);
	uint8_t buf[sizeof(struct vfio_iommu_type1_info) + 16];
	struct vfio_iommu_type1_info *info = (void *)buf;

	memset(buf, 0xa5, sizeof(buf));
	info->argsz = argsz;
	info->flags = 0;
	ASSERT_EQ(0, ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_EQ(0, written_beyond(buf, sizeof(buf), argsz));

	/* The fixed part only: nothing past iova_pgsizes. */
	argsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	memset(buf, 0xa5, sizeof(buf));
	info->argsz = argsz;
	info->flags = 0;
	ASSERT_EQ(0, ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(0, written_beyond(buf, sizeof(buf), argsz));
}

TEST_HARNESS_MAIN
