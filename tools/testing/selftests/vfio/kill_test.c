// SPDX-License-Identifier: GPL-2.0
/*
 * SIGKILL a client at random points of its work.
 *
 * Each round forks a client that opens an edu through its group and a
 * type1v2 container and then repeats one kind of work (the variants):
 *
 * map      MAP_DMA of growing ranges of anonymous memory, UNMAP_ALL when
 *          full;
 * unmap    4 MiB mapped in 64 KiB pieces and unmapped again and again,
 *          piece by piece and in one call;
 * irq      BAR0 mmapped, MSI on an eventfd, the edu raising and the client
 *          acknowledging interrupts, with a DMA mapping in place;
 * unbind   like irq, while the parent unbinds the device from vfio-pci
 *          (the removal waits for the client, then completes);
 * reset    VFIO_DEVICE_RESET of the resettable edu behind the root port,
 *          with BAR0 mmapped and read between resets.
 *
 * Once the client is ready the parent waits a random 0-50 ms (seeded by
 * VFG_KILL_SEED plus the variant, printed) and kills it.  After each kill: the unbind (if
 * any) completes, every pin is released, no interrupt line of ours or the
 * device's is left in /proc/interrupts, and the group opens again, with a
 * container, a 64 KiB mapping accounted as 64 kB of locked_vm and back to 0
 * after its unmap.  VFG_KILL_ROUNDS (default 20) sets the rounds per
 * variant; the number of kills survived is printed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define SZ_64K		0x10000UL
#define SZ_1M		0x100000UL
#define SZ_4M		0x400000UL
#define IOVA_BASE	0x1000000UL
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define PCI_COMMAND	0x04
#define CMD_MEM_MASTER	0x6
#define MSI		VFIO_PCI_MSI_IRQ_INDEX

enum work { MAP, UNMAP, IRQ, UNBIND, RESET };

static unsigned int seed;

static int dma_map(int container, void *vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = RW,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

static int dma_unmap(int container, uint64_t iova, uint64_t size,
		     uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags,
		.iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

static void *anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* BAR0 of an open device, decode and bus mastering on. */
static volatile void *bar0(int fd)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	if (cmd == UINT16_MAX ||
	    vfg_cfg_write16(fd, PCI_COMMAND, cmd | CMD_MEM_MASTER))
		return NULL;
	return vfg_region_mmap(fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			       EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
}

/* The client: set up, say so on @ready, then work until killed. */
static void __attribute__((noreturn)) client(enum work w, const char *bdf,
					     int ready)
{
	volatile void *bar = NULL;
	struct vfg_dev d;
	uint64_t iova = IOVA_BASE;
	char *mem = anon(SZ_4M);
	unsigned int n = 0;
	int efd = -1, i;

	if (!mem || vfg_dev_open(&d, bdf))
		_exit(10);
	if (w == IRQ || w == UNBIND || w == RESET) {
		bar = bar0(d.fd);
		if (!bar || edu_read32(bar, EDU_REG_ID) != EDU_ID)
			_exit(11);
	}
	if (w == IRQ || w == UNBIND) {
		efd = eventfd(0, EFD_NONBLOCK);
		if (efd < 0 || vfg_irq_set_eventfds(d.fd, MSI, 0, 1, &efd) ||
		    dma_map(d.container, mem, IOVA_BASE, SZ_1M))
			_exit(12);
	}
	if (write(ready, "r", 1) != 1)
		_exit(13);
	for (;;) {
		uint64_t cnt;

		switch (w) {
		case MAP:
			if (dma_map(d.container, mem, iova, SZ_64K << (n % 4)))
				_exit(20);
			iova += SZ_1M;
			if (++n % 64 == 0) {
				dma_unmap(d.container, 0, 0,
					  VFIO_DMA_UNMAP_FLAG_ALL);
				iova = IOVA_BASE;
			}
			break;
		case UNMAP:
			for (i = 0; i < SZ_4M / SZ_64K; i++)
				if (dma_map(d.container, mem + i * SZ_64K,
					    IOVA_BASE + i * SZ_64K, SZ_64K))
					_exit(21);
			if (n++ & 1) {
				dma_unmap(d.container, IOVA_BASE, SZ_4M, 0);
				break;
			}
			for (i = 0; i < SZ_4M / SZ_64K; i++)
				dma_unmap(d.container, IOVA_BASE + i * SZ_64K,
					  SZ_64K, 0);
			break;
		case IRQ:
		case UNBIND:
			edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
			sleep_us(200);
			edu_write32(bar, EDU_REG_IRQ_ACK, 0x1);
			if (read(efd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			break;
		case RESET:
			ioctl(d.fd, VFIO_DEVICE_RESET);
			(void)edu_read32(bar, EDU_REG_LIVENESS);
			break;
		}
	}
}

FIXTURE(kill) {
	struct vfg_topo t;
	const char *bdf;
	int group_id;
	long pins_before;
};

FIXTURE_VARIANT(kill) {
	enum work work;
};

FIXTURE_VARIANT_ADD(kill, map) { .work = MAP };
FIXTURE_VARIANT_ADD(kill, unmap) { .work = UNMAP };
FIXTURE_VARIANT_ADD(kill, irq) { .work = IRQ };
FIXTURE_VARIANT_ADD(kill, unbind) { .work = UNBIND };
FIXTURE_VARIANT_ADD(kill, reset) { .work = RESET };

FIXTURE_SETUP(kill)
{
	const char *s = getenv("VFG_KILL_SEED");

	seed = s ? strtoul(s, NULL, 0) : 0x5eed0c11;
	srand(seed + variant->work);
	TH_LOG("seed %#x (VFG_KILL_SEED)", seed);
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	self->bdf = variant->work == RESET ? self->t.pedu : self->t.lone;
	self->group_id = vfg_pci_group(self->bdf);
	ASSERT_LE(0, self->group_id);
}

FIXTURE_TEARDOWN(kill)
{
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* After a kill the device is whole: open it, map, account, unmap. */
static int check_reusable(const char *bdf)
{
	char *mem = anon(SZ_64K);
	struct vfg_dev d;
	int ret = -1, tries;

	if (!mem)
		return -1;
	for (tries = 0; tries < 200; tries++) {
		ret = vfg_dev_open(&d, bdf);
		if (ret != -EBUSY)
			break;
		sleep_us(10000);
	}
	if (ret)
		goto out;
	ret = -2;
	if (dma_map(d.container, mem, IOVA_BASE, SZ_64K) ||
	    vfg_vmlck_kb(getpid()) != 64)
		goto close;
	if (dma_unmap(d.container, IOVA_BASE, SZ_64K, 0) ||
	    vfg_vmlck_kb(getpid()) != 0)
		goto close;
	ret = 0;
close:
	vfg_dev_close(&d);
out:
	munmap(mem, SZ_64K);
	return ret;
}

/* Bounded by its rounds; a debug kernel under TCG is slow. */
TEST_F_TIMEOUT(kill, random_points, 900)
{
	const char *s = getenv("VFG_KILL_ROUNDS");
	int rounds = s ? atoi(s) : 20, round, status, p[2];
	pid_t pid, unbinder;
	long pins = self->pins_before;
	int survived = 0;
	char c;

	for (round = 0; round < rounds; round++) {
		long delay = rand() % 50000;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(p[0]);
			client(variant->work, self->bdf, p[1]);
		}
		close(p[1]);
		ASSERT_EQ(1, read(p[0], &c, 1))
			TH_LOG("round %d: client failed to set up", round);
		close(p[0]);
		unbinder = -1;
		if (variant->work == UNBIND) {
			unbinder = vfg_pci_unbind_async(self->bdf);
			ASSERT_LT(0, unbinder);
		}
		sleep_us(delay);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("round %d: client exited on its own (%#x)",
			       round, status);
		if (unbinder > 0) {
			ASSERT_EQ(0, vfg_reap(unbinder, 20000))
				TH_LOG("round %d: unbind did not finish",
				       round);
			ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
		}
		ASSERT_EQ(pins, vfg_pins_outstanding())
			TH_LOG("round %d (%ld us): pins left", round, delay);
		ASSERT_EQ(0, vfg_dev_irq_lines(&self->t))
			TH_LOG("round %d (%ld us): IRQ line left", round,
			       delay);
		ASSERT_EQ(0, check_reusable(self->bdf))
			TH_LOG("round %d (%ld us): not reusable", round, delay);
		ASSERT_EQ(pins, vfg_pins_outstanding());
		survived++;
	}
	TH_LOG("kills survived: %d", survived);
}

TEST_HARNESS_MAIN
