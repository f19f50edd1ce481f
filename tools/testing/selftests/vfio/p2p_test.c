// SPDX-License-Identifier: GPL-2.0
/*
 * Peer-to-peer DMA: VFIO_IOMMU_MAP_DMA of another device's BAR mapping.
 *
 * Two edus of different groups in one container: A (the edu on the root
 * bus) is the DMA engine, B (the edu behind the PCIe root port) the peer.
 * B's BAR0, mmapped through its device fd, is mapped at an IOVA; A's DMA
 * engine writes to IOVA + 4, B's liveness register, which reads back the
 * inverse of what was written.  Nothing is pinned or charged for it.  Then
 * B is taken away (revoked at removal, with release_timeout_ms): its P2P
 * mapping goes with it, and the same DMA changes nothing (ours only: the
 * kernel's VFIO neither revokes nor tears down P2P mappings).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define IOVA_RAM	0x100000UL
#define IOVA_P2P	0x200000UL
#define RELEASE_TIMEOUT	"/sys/module/vfio/parameters/release_timeout_ms"

static uint64_t dma_unmap(int container, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return 0;
	return unmap.size;
}

/* Set memory space and bus master through the device fd. */
static int enable(int fd)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	return vfg_cfg_write16(fd, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY |
			       PCI_COMMAND_MASTER);
}

/* Through A: RAM -> A's buffer -> @iova, 4 bytes of @val. */
static bool dma_word(volatile void *bar, uint32_t *ram, uint64_t iova,
		     uint32_t val)
{
	*(volatile uint32_t *)ram = val;
	return edu_dma(bar, IOVA_RAM, 4, false, 5000) &&
	       edu_dma(bar, iova, 4, true, 5000);
}

FIXTURE(p2p) {
	struct vfg_topo t;
	struct vfg_dev a, b;
	uint32_t *ram;
	volatile void *bar_a, *bar_b;
	long pins_before;
	char timeout[32];
};

FIXTURE_SETUP(p2p)
{
	vfg_dev_init(&self->a);
	vfg_dev_init(&self->b);
	self->timeout[0] = '\0';
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_NE(0, self->t.pedu[0]);
	ASSERT_NE(vfg_pci_group(self->t.lone), vfg_pci_group(self->t.pedu));

	ASSERT_EQ(0, vfg_dev_open(&self->a, self->t.lone));
	/* B joins A's container. */
	snprintf(self->b.bdf, sizeof(self->b.bdf), "%s", self->t.pedu);
	self->b.group_id = vfg_pci_group(self->t.pedu);
	self->b.group = vfg_group_open(self->b.group_id);
	ASSERT_LE(0, self->b.group);
	ASSERT_EQ(0, ioctl(self->b.group, VFIO_GROUP_SET_CONTAINER,
			   &self->a.container));
	self->b.fd = ioctl(self->b.group, VFIO_GROUP_GET_DEVICE_FD,
			   self->b.bdf);
	ASSERT_LE(0, self->b.fd);

	ASSERT_EQ(0, enable(self->a.fd));
	ASSERT_EQ(0, enable(self->b.fd));
	self->bar_a = vfg_region_mmap(self->a.fd, VFIO_PCI_BAR0_REGION_INDEX,
				      0, EDU_BAR0_SIZE,
				      PROT_READ | PROT_WRITE);
	self->bar_b = vfg_region_mmap(self->b.fd, VFIO_PCI_BAR0_REGION_INDEX,
				      0, EDU_BAR0_SIZE,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->bar_a);
	ASSERT_NE(NULL, self->bar_b);
	self->ram = mmap(NULL, SZ_64K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->ram, IOVA_RAM, SZ_64K,
				 VFG_DMA_RW));
}

FIXTURE_TEARDOWN(p2p)
{
	if (self->bar_a)
		munmap((void *)self->bar_a, EDU_BAR0_SIZE);
	if (self->bar_b)
		munmap((void *)self->bar_b, EDU_BAR0_SIZE);
	vfg_dev_close(&self->b);
	vfg_dev_close(&self->a);
	if (self->ram && self->ram != MAP_FAILED)
		munmap(self->ram, SZ_64K);
	if (self->timeout[0])
		EXPECT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, self->timeout));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* A's DMA reaches B's register through the IOMMU; nothing is pinned. */
TEST_F(p2p, dma_reaches_peer_bar)
{
	long locked = vfg_vmlck_kb(getpid());
	long pins = vfg_pins_outstanding();

	ASSERT_EQ(0, vfg_dma_map(self->a.container, (void *)self->bar_b,
				 IOVA_P2P, SZ_4K, VFG_DMA_RW));
	EXPECT_EQ(locked, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(pins, vfg_pins_outstanding());

	edu_write32(self->bar_b, EDU_REG_LIVENESS, 0);
	ASSERT_TRUE(dma_word(self->bar_a, self->ram,
			     IOVA_P2P + EDU_REG_LIVENESS, 0x12345678));
	EXPECT_EQ(~0x12345678u, edu_read32(self->bar_b, EDU_REG_LIVENESS));

	EXPECT_EQ(SZ_4K, dma_unmap(self->a.container, IOVA_P2P, SZ_4K));
	/* Unmapped: the same DMA no longer reaches B. */
	edu_write32(self->bar_b, EDU_REG_LIVENESS, 0);
	dma_word(self->bar_a, self->ram, IOVA_P2P + EDU_REG_LIVENESS,
		 0x0badf00d);
	EXPECT_EQ(~0u, edu_read32(self->bar_b, EDU_REG_LIVENESS));
}

/* The range must lie in one mapping, with the access asked for. */
TEST_F(p2p, map_checks_the_mapping)
{
	void *ro = vfg_region_mmap(self->b.fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
				   SZ_4K, PROT_READ);

	ASSERT_NE(NULL, ro);
	EXPECT_ERRNO(EFAULT, vfg_dma_map(self->a.container, ro, IOVA_P2P, SZ_4K,
					 VFG_DMA_RW));
	munmap(ro, SZ_4K);
	/*
	 * Runs past the end of B's 1 MiB mapping (into whatever follows it):
	 * ours wants one mapping; the kernel's VFIO takes each page's own.
	 */
	if (vfg_ours())
		EXPECT_ERRNO(EFAULT, vfg_dma_map(self->a.container,
						 (char *)self->bar_b + EDU_BAR0_SIZE - SZ_4K,
						 IOVA_P2P, 2 * SZ_4K,
						 VFG_DMA_RW));
}

/* When B is taken away, so is every IOMMU mapping of its BAR. */
TEST_F(p2p, revoke_tears_down_peer_mapping)
{
	volatile void *host;
	pid_t pid;

	if (!vfg_ours())
		SKIP(return, "revoke is a vfio-groups feature");
	ASSERT_EQ(0, vfg_sysfs_read(RELEASE_TIMEOUT, self->timeout,
				    sizeof(self->timeout)));
	ASSERT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, "200"));
	ASSERT_EQ(0, vfg_dma_map(self->a.container, (void *)self->bar_b,
				 IOVA_P2P, SZ_4K, VFG_DMA_RW));
	ASSERT_TRUE(dma_word(self->bar_a, self->ram,
			     IOVA_P2P + EDU_REG_LIVENESS, 0x12345678));
	ASSERT_EQ(~0x12345678u, edu_read32(self->bar_b, EDU_REG_LIVENESS));

	pid = vfg_pci_unbind_async(self->b.bdf);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, vfg_reap(pid, 10000));

	/* B's BAR0 through sysfs: B is no longer ours. */
	host = vfg_pci_map_bar0(self->b.bdf, EDU_BAR0_SIZE);
	ASSERT_NE(NULL, host);
	edu_write32(host, EDU_REG_LIVENESS, 0x55aa55aa);
	dma_word(self->bar_a, self->ram, IOVA_P2P + EDU_REG_LIVENESS,
		 0x0badf00d);
	EXPECT_EQ(~0x55aa55aau, edu_read32(host, EDU_REG_LIVENESS));
	munmap((void *)host, EDU_BAR0_SIZE);
	/* The mapping is still the container's to unmap. */
	EXPECT_EQ(SZ_4K, dma_unmap(self->a.container, IOVA_P2P, SZ_4K));
}

TEST_HARNESS_MAIN
