// SPDX-License-Identifier: GPL-2.0
/*
 * DMA isolation: a device reaches only what its own container mapped.
 *
 * The edu's DMA engine is driven through its BAR0, mmapped from the device
 * fd.  The edu does not report failed transfers (QEMU ignores the result of
 * its DMA), so a blocked write is proven by memory that does not change,
 * after the same transfer to a mapped IOVA was shown to work.  The IOMMU
 * faults it; whether the guest kernel logged a fault is printed.
 *
 * isolation.unmapped_iova
 *   Never-mapped IOVAs, and an IOVA whose unmap has just returned.
 * isolation.dma_in_flight_at_unmap
 *   A transfer started while its IOVA is mapped, which the edu runs 100 ms
 *   later: the unmap returns first, and the transfer must not land.
 * isolation.other_container
 *   The lone edu in container A, an edu behind the bridge in container B:
 *   A's device aims at an IOVA mapped only in B, and B's buffer stays
 *   untouched (while B's own device reaches it).
 *
 * Fixtures start from boot state with the stack under test
 * (VFG_USE_KERNEL_VFIO=1: the kernel's), and teardown checks that every pin
 * was released and locked_vm is zero, then puts boot state back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define IOVA_A		0x1000000UL	/* inside the edu's 28-bit reach */
#define IOVA_B		0x2000000UL
#define IOVA_NEVER	0x3000000UL
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define PCI_COMMAND	0x04
#define CMD_MEM_MASTER	0x6
#define LEN		1024
#define PATTERN		0xa5
#define CANARY		0x11

static int dma_map(int container, void *vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = RW,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

static int dma_unmap(int container, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = iova, .size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -1;
	return unmap.size == size ? 0 : -1;
}

static void *anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Every byte of @p is @val. */
static bool all(const uint8_t *p, size_t len, uint8_t val)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != val)
			return false;
	return true;
}

/* BAR0 of an open device, with memory decode and bus mastering on. */
static volatile void *bar0(struct vfg_dev *d)
{
	uint16_t cmd = vfg_cfg_read16(d->fd, PCI_COMMAND);

	if (cmd == UINT16_MAX ||
	    vfg_cfg_write16(d->fd, PCI_COMMAND, cmd | CMD_MEM_MASTER))
		return NULL;
	return vfg_region_mmap(d->fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			       EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
}

/* Did the guest kernel log an IOMMU fault since the last look? */
static const char *fault_logged(int kmsg)
{
	return vfg_kmsg_find(kmsg, "fault", NULL) ? "yes" : "no";
}

FIXTURE(isolation) {
	struct vfg_topo t;
	struct vfg_dev a;	/* the lone edu, container A */
	struct vfg_dev b;	/* an edu behind the bridge, container B */
	volatile void *bar_a;
	volatile void *bar_b;
	uint8_t *buf;		/* 64K: the buffer under attack */
	uint8_t *src;		/* 4K: what the device first reads */
	long pins_before;
	int kmsg;
};

FIXTURE_SETUP(isolation)
{
	vfg_dev_init(&self->a);
	vfg_dev_init(&self->b);
	self->kmsg = -1;
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_EQ(0, vfg_pci_unbind(self->t.bridge));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[0], "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[1], "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&self->a, self->t.lone));
	self->bar_a = bar0(&self->a);
	ASSERT_NE(NULL, self->bar_a);
	ASSERT_EQ(EDU_ID, edu_read32(self->bar_a, EDU_REG_ID));
	self->buf = anon(SZ_64K);
	self->src = anon(SZ_4K);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->src);
	memset(self->src, PATTERN, SZ_4K);
	memset(self->buf, CANARY, SZ_64K);
	/* The edu's own buffer now holds PATTERN, from IOVA_A. */
	ASSERT_EQ(0, dma_map(self->a.container, self->src, IOVA_A, SZ_4K));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_A, LEN, false, 5000));
	self->kmsg = vfg_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(isolation)
{
	if (self->bar_a)
		munmap((void *)self->bar_a, EDU_BAR0_SIZE);
	if (self->bar_b)
		munmap((void *)self->bar_b, EDU_BAR0_SIZE);
	vfg_dev_close(&self->a);
	vfg_dev_close(&self->b);
	if (self->kmsg >= 0)
		close(self->kmsg);
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

TEST_F(isolation, unmapped_iova)
{
	int round;

	/* The path works: a mapped IOVA gets the data. */
	ASSERT_EQ(0, dma_map(self->a.container, self->buf, IOVA_B, SZ_64K));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_B, LEN, true, 5000));
	ASSERT_TRUE(all(self->buf, LEN, PATTERN));
	ASSERT_TRUE(all(self->buf + LEN, SZ_64K - LEN, CANARY));
	memset(self->buf, CANARY, SZ_64K);
	/* Unmapped just now, then at every offset of what was mapped. */
	for (round = 0; round < 4; round++) {
		if (round)
			ASSERT_EQ(0, dma_map(self->a.container, self->buf,
					     IOVA_B, SZ_64K));
		ASSERT_EQ(0, dma_unmap(self->a.container, IOVA_B, SZ_64K));
		ASSERT_TRUE(edu_dma(self->bar_a, IOVA_B + round * 0x4000, LEN,
				    true, 5000));
		ASSERT_TRUE(all(self->buf, SZ_64K, CANARY))
			TH_LOG("round %d: an unmapped IOVA was written", round);
	}
	/* Never mapped: below, between and above the mappings. */
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_NEVER, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_a, 0, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_A + SZ_4K, LEN, true, 5000));
	ASSERT_TRUE(all(self->buf, SZ_64K, CANARY));
	/* The source mapping is unharmed: a read of it still works. */
	ASSERT_TRUE(all(self->src, SZ_4K, PATTERN));
	TH_LOG("IOMMU fault logged: %s", fault_logged(self->kmsg));
}

/*
 * Start a transfer to a mapped IOVA and unmap before the edu runs it (its
 * DMA timer fires 100 ms of virtual time after the command).  A round
 * counts when the command was still pending after the unmap returned.
 */
TEST_F(isolation, dma_in_flight_at_unmap)
{
	volatile void *bar = self->bar_a;
	int round, counted = 0;

	for (round = 0; round < 8; round++) {
		ASSERT_EQ(0, dma_map(self->a.container, self->buf, IOVA_B,
				     SZ_64K));
		edu_write64(bar, EDU_REG_DMA_SRC, EDU_BUF_ADDR);
		edu_write64(bar, EDU_REG_DMA_DST, IOVA_B + round * 0x2000);
		edu_write64(bar, EDU_REG_DMA_COUNT, LEN);
		edu_write64(bar, EDU_REG_DMA_CMD,
			    EDU_DMA_START | EDU_DMA_TO_RAM);
		ASSERT_EQ(0, dma_unmap(self->a.container, IOVA_B, SZ_64K));
		if (edu_read64(bar, EDU_REG_DMA_CMD) & EDU_DMA_START)
			counted++;
		/* Wait for the transfer to have run. */
		ASSERT_TRUE(edu_dma(bar, IOVA_NEVER, 16, true, 5000));
		ASSERT_TRUE(all(self->buf, SZ_64K, CANARY))
			TH_LOG("round %d: DMA landed after its unmap returned",
			       round);
	}
	TH_LOG("%d of 8 rounds had the transfer pending at unmap", counted);
	ASSERT_LT(0, counted);
}

TEST_F(isolation, other_container)
{
	uint8_t *bsrc = anon(SZ_4K);

	ASSERT_NE(NULL, bsrc);
	ASSERT_EQ(0, vfg_dev_open(&self->b, self->t.bedu[1]));
	ASSERT_NE(self->a.group_id, self->b.group_id);
	ASSERT_NE(self->a.container, self->b.container);
	self->bar_b = bar0(&self->b);
	ASSERT_NE(NULL, self->bar_b);
	/* B maps the buffer at IOVA_B; A maps something else elsewhere. */
	ASSERT_EQ(0, dma_map(self->b.container, self->buf, IOVA_B, SZ_64K));
	/* A's device aims at B's IOVA: nothing lands. */
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_B, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_B + 0x8000, LEN, true, 5000));
	ASSERT_TRUE(all(self->buf, SZ_64K, CANARY))
		TH_LOG("device of container A wrote B's mapping");
	/* Nor can A's device read B's mapping into its own. */
	memset(self->buf, 0x5a, LEN);
	ASSERT_EQ(0, dma_map(self->a.container, bsrc, IOVA_A + SZ_64K, SZ_4K));
	memset(bsrc, CANARY, SZ_4K);
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_B, LEN, false, 5000));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_A + SZ_64K, LEN, true, 5000));
	ASSERT_FALSE(all(bsrc, LEN, 0x5a))
		TH_LOG("device of container A read B's mapping");
	/* B's own device reaches its mapping: the IOVA is live in B. */
	memset(self->buf, CANARY, SZ_64K);
	memset(bsrc, 0x77, SZ_4K);
	ASSERT_EQ(0, dma_map(self->b.container, bsrc, IOVA_A, SZ_4K));
	ASSERT_TRUE(edu_dma(self->bar_b, IOVA_A, LEN, false, 5000));
	ASSERT_TRUE(edu_dma(self->bar_b, IOVA_B, LEN, true, 5000));
	ASSERT_TRUE(all(self->buf, LEN, 0x77));
	/* And A's src mapping was not B's to read: B's IOVA_A is bsrc. */
	ASSERT_TRUE(all(self->src, SZ_4K, PATTERN));
	TH_LOG("IOMMU fault logged: %s", fault_logged(self->kmsg));
}

TEST_HARNESS_MAIN
