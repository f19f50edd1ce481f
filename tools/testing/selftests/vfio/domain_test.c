// SPDX-License-Identifier: GPL-2.0
/*
 * Containers of several IOMMU domains.
 *
 * A group that cannot join its container's IOMMU domain gets one of its own
 * in the same container, with every mapping replayed into it.  The test
 * guest has one vIOMMU, whose domains take every group, so the fixture sets
 * vfio_iommu_type1.separate_domains, which gives each group its own domain;
 * that the second group got one is read from the kernel log.  Two edus of
 * different groups share a container: A (the edu on the root bus) is
 * attached first, B (an edu behind the PCI bridge, whose group holds both
 * edus there) second.  Not the edu behind the PCIe root port: QEMU 7.2's
 * AMD-Vi translates its DMA with the wrong device ID (it takes the bus
 * number before the firmware has numbered the buses), so it reaches
 * nothing under AMD-Vi whatever the VFIO (the kernel's fails the same);
 * behind the conventional bridge, the bridge's alias covers it.  Each moves
 * data with its DMA engine from one mapping to another, so each transfer
 * proves a read and a write through that device's domain.  A transfer that
 * must not land is proven by memory that does not change (QEMU's edu ignores
 * failed DMA), after the same transfer was shown to work.
 *
 * domain.replay_map_unmap
 *   A mapping made before B joined and one made after work through both
 *   domains; the pages are pinned and charged once, not once per domain;
 *   after unmap neither device reaches them, and every pin is released.
 * domain.p2p_revoke
 *   C (the edu behind the PCIe root port, in a container of its own; only
 *   its BAR is used) has its BAR mapped peer-to-peer in A and B's container, once before B joined and
 *   once after: both devices reach C's register through both mappings.
 *   When C is revoked, every one of them is gone from both domains.
 * domain.coherency
 *   VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU), and what KVM is told for each
 *   group (vfio_file_enforced_coherent(), through vfg_kvm_test.ko as in
 *   kvm_test), say with two domains what the IOMMU enforces (VT-d with
 *   Snoop Control, the intel-sc configuration, and AMD-Vi: coherent).
 * domain.detach_first
 *   A leaves (its domain, the first, is freed): B keeps working with the
 *   pages still pinned; A comes back, in a new domain the mappings are
 *   replayed into, and works again.
 * domain.kill_during_replay
 *   A child maps 256 MiB in A's container and attaches B, whose new domain
 *   gets them replayed, and is SIGKILLed at points spread over that attach:
 *   every pin is released each time, and both groups can be opened again.
 *   VFG_KILL_ROUNDS (default 12, at least 2) sets the rounds, as for
 *   kill_test.
 *
 * With VFIO_USE_KERNEL_VFIO=1 the kernel's VFIO puts both groups in one
 * domain (it has no separate_domains): the same DMA must work there too,
 * which validates the test; its revoke part is ours only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"
#include "modules/vfg_kvm_test.h"

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define IOVA_1		0x1000000UL	/* mapped before B joins */
#define IOVA_2		0x2000000UL	/* mapped after */
#define IOVA_P2P_1	0x3000000UL	/* C's BAR, before B joins */
#define IOVA_P2P_2	0x4000000UL	/* C's BAR, after */
#define IOVA_WORD	0x5000000UL	/* a word to send to C */
#define LEN		1024
#define CANARY		0x11
#define SEPARATE	"/sys/module/vfio_iommu_type1/parameters/separate_domains"
#define RELEASE_TIMEOUT	"/sys/module/vfio/parameters/release_timeout_ms"

static uint64_t dma_unmap(int container, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = iova, .size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return 0;
	return unmap.size;
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

/* Memory decode and bus mastering on, then BAR0 mmapped from the fd. */
static volatile void *bar0(int fd)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	if (cmd == UINT16_MAX ||
	    vfg_cfg_write16(fd, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY |
			    PCI_COMMAND_MASTER))
		return NULL;
	return vfg_region_mmap(fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			       EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
}

/* The device reads @len bytes at @from and writes them at @to. */
static bool xfer(volatile void *bar, uint64_t from, uint64_t to, uint32_t len)
{
	return edu_dma(bar, from, len, false, 5000) &&
	       edu_dma(bar, to, len, true, 5000);
}

/* VFIO_IOMMU_GET_INFO's page sizes, 0 on failure. */
static uint64_t pgsizes(int container)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	if (ioctl(container, VFIO_IOMMU_GET_INFO, &info))
		return 0;
	return info.iova_pgsizes;
}

FIXTURE(domain) {
	struct vfg_topo t;
	struct vfg_dev a, b, c;
	volatile void *bar_a, *bar_b, *bar_c;
	uint8_t *buf1, *buf2;	/* 64K each, at IOVA_1 and IOVA_2 */
	long pins_before;
	char timeout[32];
	int kmsg;
	int kfd;	/* /dev/vfg_kvm_test, once loaded */
};

/* B's group joins A's container; its device is opened and mmapped. */
static int join_b(FIXTURE_DATA(domain) *self)
{
	struct vfg_dev *b = &self->b;

	snprintf(b->bdf, sizeof(b->bdf), "%s", self->t.bedu[0]);
	b->group_id = vfg_pci_group(b->bdf);
	b->group = vfg_group_open(b->group_id);
	if (b->group < 0 ||
	    ioctl(b->group, VFIO_GROUP_SET_CONTAINER, &self->a.container))
		return -1;
	b->fd = ioctl(b->group, VFIO_GROUP_GET_DEVICE_FD, b->bdf);
	if (b->fd < 0)
		return -1;
	self->bar_b = bar0(b->fd);
	return self->bar_b ? 0 : -1;
}

/* The same for A, into B's container, after A has left. */
static int rejoin_a(FIXTURE_DATA(domain) *self)
{
	struct vfg_dev *a = &self->a;

	a->group = vfg_group_open(a->group_id);
	if (a->group < 0 ||
	    ioctl(a->group, VFIO_GROUP_SET_CONTAINER, &self->b.container))
		return -1;
	a->fd = ioctl(a->group, VFIO_GROUP_GET_DEVICE_FD, a->bdf);
	if (a->fd < 0)
		return -1;
	self->bar_a = bar0(a->fd);
	return self->bar_a ? 0 : -1;
}

/* Close A's device and group: A's group leaves the container. */
static void leave_a(FIXTURE_DATA(domain) *self)
{
	munmap((void *)self->bar_a, EDU_BAR0_SIZE);
	self->bar_a = NULL;
	close(self->a.fd);
	close(self->a.group);
	self->a.fd = self->a.group = -1;
	/* The container fd stays B's. */
	self->b.container = self->a.container;
	self->a.container = -1;
}

FIXTURE_SETUP(domain)
{
	vfg_dev_init(&self->a);
	vfg_dev_init(&self->b);
	vfg_dev_init(&self->c);
	self->timeout[0] = '\0';
	self->kmsg = -1;
	self->kfd = -1;
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_NE(0, self->t.pedu[0]);
	ASSERT_NE(vfg_pci_group(self->t.lone), vfg_pci_group(self->t.bedu[0]));
	/* B's group: both edus behind the bridge, on vfio-pci. */
	ASSERT_EQ(0, vfg_pci_unbind(self->t.bridge));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[0], "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[1], "vfio-pci"));
	if (vfg_ours())
		ASSERT_EQ(0, vfg_sysfs_write(SEPARATE, "1"));
	self->kmsg = vfg_kmsg_open();
	ASSERT_LE(0, self->kmsg);

	ASSERT_EQ(0, vfg_dev_open(&self->a, self->t.lone));
	self->bar_a = bar0(self->a.fd);
	ASSERT_NE(NULL, self->bar_a);
	self->buf1 = anon(SZ_64K);
	self->buf2 = anon(SZ_64K);
	ASSERT_NE(NULL, self->buf1);
	ASSERT_NE(NULL, self->buf2);
	memset(self->buf1, CANARY, SZ_64K);
	memset(self->buf2, CANARY, SZ_64K);
	memset(self->buf1, 0x51, LEN);	/* what the devices read */
	memset(self->buf2, 0x52, LEN);
}

FIXTURE_TEARDOWN(domain)
{
	if (self->bar_a)
		munmap((void *)self->bar_a, EDU_BAR0_SIZE);
	if (self->bar_b)
		munmap((void *)self->bar_b, EDU_BAR0_SIZE);
	if (self->bar_c)
		munmap((void *)self->bar_c, EDU_BAR0_SIZE);
	vfg_dev_close(&self->c);
	vfg_dev_close(&self->b);
	vfg_dev_close(&self->a);
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->kfd >= 0) {
		close(self->kfd);
		EXPECT_EQ(0, vfg_test_module_unload("vfg_kvm_test"));
	}
	if (self->timeout[0])
		EXPECT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, self->timeout));
	if (vfg_ours())
		EXPECT_EQ(0, vfg_sysfs_write(SEPARATE, "0"));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* B joined: ours logs that it got a domain of its own. */
static bool b_has_own_domain(FIXTURE_DATA(domain) *self)
{
	char s[48];

	snprintf(s, sizeof(s), "group %d: an IOMMU domain of its own",
		 vfg_pci_group(self->t.bedu[0]));
	return vfg_kmsg_find(self->kmsg, s, NULL);
}

/*
 * Each device copies the start of buf1 into buf2 and the start of buf2 into
 * buf1, at offset @off: both mappings, read and written, through its domain.
 */
static bool copy_both(FIXTURE_DATA(domain) *self, volatile void *bar,
		      size_t off)
{
	return xfer(bar, IOVA_1, IOVA_2 + off, LEN) &&
	       all(self->buf2 + off, LEN, 0x51) &&
	       xfer(bar, IOVA_2, IOVA_1 + off, LEN) &&
	       all(self->buf1 + off, LEN, 0x52);
}

TEST_F(domain, replay_map_unmap)
{
	long pins, locked;
	uint64_t sizes;
	int cc;

	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf1, IOVA_1, SZ_64K,
				 VFG_DMA_RW));
	sizes = pgsizes(self->a.container);
	cc = ioctl(self->a.container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
	pins = vfg_pins_outstanding();
	locked = vfg_vmlck_kb(getpid());
	EXPECT_EQ(64, locked);

	ASSERT_EQ(0, join_b(self));
	if (vfg_ours())
		ASSERT_TRUE(b_has_own_domain(self))
			TH_LOG("group %d did not get a domain of its own",
			       vfg_pci_group(self->t.bedu[0]));
	/* The replay pinned and charged nothing. */
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_EQ(locked, vfg_vmlck_kb(getpid()));
	/* The same IOMMU: the same page sizes and the same coherency. */
	EXPECT_EQ(sizes, pgsizes(self->a.container));
	EXPECT_EQ(cc, ioctl(self->a.container, VFIO_CHECK_EXTENSION,
			    VFIO_DMA_CC_IOMMU));

	/* A mapping made now is pinned and charged once, for both domains. */
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf2, IOVA_2, SZ_64K,
				 VFG_DMA_RW));
	EXPECT_EQ(pins + 16, vfg_pins_outstanding());
	EXPECT_EQ(locked + 64, vfg_vmlck_kb(getpid()));

	ASSERT_TRUE(copy_both(self, self->bar_a, 0x4000));
	ASSERT_TRUE(copy_both(self, self->bar_b, 0x8000));

	/* Unmapped: neither device reaches either buffer any more. */
	memset(self->buf1 + LEN, CANARY, SZ_64K - LEN);
	memset(self->buf2 + LEN, CANARY, SZ_64K - LEN);
	EXPECT_EQ(SZ_64K, dma_unmap(self->a.container, IOVA_1, SZ_64K));
	EXPECT_EQ(SZ_64K, dma_unmap(self->a.container, IOVA_2, SZ_64K));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_1 + 0x4000, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_a, IOVA_2 + 0x4000, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_b, IOVA_1 + 0x8000, LEN, true, 5000));
	ASSERT_TRUE(edu_dma(self->bar_b, IOVA_2 + 0x8000, LEN, true, 5000));
	EXPECT_TRUE(all(self->buf1 + LEN, SZ_64K - LEN, CANARY))
		TH_LOG("DMA reached buf1 after its unmap");
	EXPECT_TRUE(all(self->buf2 + LEN, SZ_64K - LEN, CANARY))
		TH_LOG("DMA reached buf2 after its unmap");
}

/* Through the device of @bar: send the word at IOVA_WORD to @iova. */
static bool send_word(FIXTURE_DATA(domain) *self, volatile void *bar,
		      uint64_t iova, uint32_t val)
{
	*(volatile uint32_t *)self->buf1 = val;
	return xfer(bar, IOVA_WORD, iova, 4);
}

/* Does a word sent from @bar to C's liveness register at @iova get there? */
static bool reaches(FIXTURE_DATA(domain) *self, volatile void *bar,
		    volatile void *c_bar, uint64_t iova)
{
	static uint32_t val = 0x12345600;

	val++;
	edu_write32(c_bar, EDU_REG_LIVENESS, 0);
	if (!send_word(self, bar, iova + EDU_REG_LIVENESS, val))
		return false;
	return edu_read32(c_bar, EDU_REG_LIVENESS) == ~val;
}

TEST_F(domain, p2p_revoke)
{
	volatile void *host;
	long pins, locked;
	pid_t pid;

	/* C: the root-port edu, in a container of its own. */
	ASSERT_EQ(0, vfg_dev_open(&self->c, self->t.pedu));
	self->bar_c = bar0(self->c.fd);
	ASSERT_NE(NULL, self->bar_c);

	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf1, IOVA_WORD,
				 SZ_4K, VFG_DMA_RW));
	pins = vfg_pins_outstanding();
	locked = vfg_vmlck_kb(getpid());
	ASSERT_EQ(0, vfg_dma_map(self->a.container, (void *)self->bar_c,
				 IOVA_P2P_1, SZ_4K, VFG_DMA_RW));
	ASSERT_EQ(0, join_b(self));
	if (vfg_ours())
		ASSERT_TRUE(b_has_own_domain(self));
	ASSERT_EQ(0, vfg_dma_map(self->a.container, (void *)self->bar_c,
				 IOVA_P2P_2, SZ_4K, VFG_DMA_RW));
	/* Peer-to-peer pins and charges nothing, in any domain. */
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_EQ(locked, vfg_vmlck_kb(getpid()));

	ASSERT_TRUE(reaches(self, self->bar_a, self->bar_c, IOVA_P2P_1));
	ASSERT_TRUE(reaches(self, self->bar_a, self->bar_c, IOVA_P2P_2));
	ASSERT_TRUE(reaches(self, self->bar_b, self->bar_c, IOVA_P2P_1));
	ASSERT_TRUE(reaches(self, self->bar_b, self->bar_c, IOVA_P2P_2));

	if (!vfg_ours())
		SKIP(return, "revoke is a vfio-groups feature");
	/* Revoke C: removal with its fd open, after release_timeout_ms. */
	ASSERT_EQ(0, vfg_sysfs_read(RELEASE_TIMEOUT, self->timeout,
				    sizeof(self->timeout)));
	ASSERT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, "200"));
	munmap((void *)self->bar_c, EDU_BAR0_SIZE);
	self->bar_c = NULL;
	pid = vfg_pci_unbind_async(self->c.bdf);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, vfg_reap(pid, 10000));

	/* C's BAR0 through sysfs: nothing reaches it through any domain. */
	host = vfg_pci_map_bar0(self->c.bdf, EDU_BAR0_SIZE);
	ASSERT_NE(NULL, host);
	edu_write32(host, EDU_REG_LIVENESS, 0x55aa55aa);
	send_word(self, self->bar_a, IOVA_P2P_1 + EDU_REG_LIVENESS, 1);
	send_word(self, self->bar_a, IOVA_P2P_2 + EDU_REG_LIVENESS, 2);
	send_word(self, self->bar_b, IOVA_P2P_1 + EDU_REG_LIVENESS, 3);
	send_word(self, self->bar_b, IOVA_P2P_2 + EDU_REG_LIVENESS, 4);
	EXPECT_EQ(~0x55aa55aau, edu_read32(host, EDU_REG_LIVENESS));
	munmap((void *)host, EDU_BAR0_SIZE);
	/* The mappings are still the container's to unmap. */
	EXPECT_EQ(SZ_4K, dma_unmap(self->a.container, IOVA_P2P_1, SZ_4K));
	EXPECT_EQ(SZ_4K, dma_unmap(self->a.container, IOVA_P2P_2, SZ_4K));
	EXPECT_EQ(SZ_4K, dma_unmap(self->a.container, IOVA_WORD, SZ_4K));
}

/* 1 if this IOMMU enforces cache coherency, 0 if not, -1 if unknown. */
static int iommu_coherent(void)
{
	unsigned long ecap;

	if (!vfg_sysfs_read_hex("/sys/class/iommu/dmar0/intel-iommu/ecap",
				&ecap))
		return (ecap >> 7) & 1;	/* Snoop Control */
	if (!access("/sys/class/iommu/ivhd0", F_OK))
		return 1;
	return -1;
}

/* What KVM is told about group fd @fd: 1 coherent, 0 not, -1 on error. */
static int kvm_coherent(int kfd, int fd)
{
	struct vfg_kvm_test_probe p = { .fd = fd };

	if (ioctl(kfd, VFG_KVM_TEST_PROBE, &p))
		return -1;
	return p.coherent;
}

TEST_F(domain, coherency)
{
	int expect = iommu_coherent(), ret;

	ASSERT_NE(-1, expect);
	ret = vfg_test_module_load("vfg_kvm_test", NULL);
	ASSERT_TRUE(!ret || ret == -EEXIST);
	self->kfd = open("/dev/vfg_kvm_test", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->kfd);
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf1, IOVA_1, SZ_64K,
				 VFG_DMA_RW));
	EXPECT_EQ(expect, ioctl(self->a.container, VFIO_CHECK_EXTENSION,
				VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(expect, kvm_coherent(self->kfd, self->a.group));

	ASSERT_EQ(0, join_b(self));
	if (vfg_ours())
		ASSERT_TRUE(b_has_own_domain(self));
	EXPECT_EQ(expect, ioctl(self->a.container, VFIO_CHECK_EXTENSION,
				VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(expect, kvm_coherent(self->kfd, self->a.group));
	EXPECT_EQ(expect, kvm_coherent(self->kfd, self->b.group));
	/* Both domains do DMA, to the replayed mapping and a new one. */
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf2, IOVA_2, SZ_64K,
				 VFG_DMA_RW));
	ASSERT_TRUE(copy_both(self, self->bar_a, 0x4000));
	ASSERT_TRUE(copy_both(self, self->bar_b, 0x8000));
	TH_LOG("IOMMU enforces cache coherency: %d", expect);
}

TEST_F(domain, detach_first)
{
	long pins, locked;

	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf1, IOVA_1, SZ_64K,
				 VFG_DMA_RW));
	ASSERT_EQ(0, join_b(self));
	if (vfg_ours())
		ASSERT_TRUE(b_has_own_domain(self));
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf2, IOVA_2, SZ_64K,
				 VFG_DMA_RW));
	pins = vfg_pins_outstanding();
	locked = vfg_vmlck_kb(getpid());
	EXPECT_EQ(128, locked);
	ASSERT_TRUE(copy_both(self, self->bar_a, 0x4000));

	/* A leaves; its domain goes, the pages stay pinned for B's. */
	leave_a(self);
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_EQ(locked, vfg_vmlck_kb(getpid()));
	ASSERT_TRUE(copy_both(self, self->bar_b, 0x8000));

	/* A comes back: a new domain, the mappings replayed into it. */
	ASSERT_EQ(0, rejoin_a(self));
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_EQ(locked, vfg_vmlck_kb(getpid()));
	ASSERT_TRUE(copy_both(self, self->bar_a, 0xc000));
	ASSERT_TRUE(copy_both(self, self->bar_b, 0x2000));

	/* B leaves too: A alone, and everything unpinned at unmap. */
	munmap((void *)self->bar_b, EDU_BAR0_SIZE);
	self->bar_b = NULL;
	close(self->b.fd);
	close(self->b.group);
	self->b.fd = self->b.group = -1;
	self->a.container = self->b.container;
	self->b.container = -1;
	ASSERT_TRUE(copy_both(self, self->bar_a, 0x6000));
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_EQ(SZ_64K, dma_unmap(self->a.container, IOVA_1, SZ_64K));
	EXPECT_EQ(SZ_64K, dma_unmap(self->a.container, IOVA_2, SZ_64K));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
}

#define KILL_ROUNDS	12	/* default; VFG_KILL_ROUNDS */
#define KILL_MAP	(256UL << 20)

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/*
 * The child: A in a container of its own, KILL_MAP bytes mapped, then B's
 * group attached; a byte on @wfd after the map and one after the attach.
 */
static void __attribute__((noreturn)) replay_child(const char *a_bdf,
						   const char *b_bdf, int wfd)
{
	struct vfg_dev a;
	void *mem;
	int group;

	mem = mmap(NULL, KILL_MAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || vfg_dev_attach(&a, a_bdf) ||
	    vfg_dma_map(a.container, mem, IOVA_1, KILL_MAP, VFG_DMA_RW) ||
	    write(wfd, "m", 1) != 1)
		_exit(1);
	group = vfg_group_open(vfg_pci_group(b_bdf));
	if (group < 0 ||
	    ioctl(group, VFIO_GROUP_SET_CONTAINER, &a.container) ||
	    write(wfd, "j", 1) != 1)
		_exit(2);
	_exit(0);
}

/* Run the child; SIGKILL it @delay_us after its map, or never (< 0). */
static int replay_round(FIXTURE_DATA(domain) *self, long delay_us,
			long *join_us, bool *joined)
{
	int pfd[2], status;
	long t0;
	char c;
	pid_t pid;

	*joined = false;
	if (pipe(pfd))
		return -1;
	pid = vfg_fork();
	if (!pid) {
		close(pfd[0]);
		replay_child(self->t.lone, self->t.bedu[0], pfd[1]);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		return -1;
	}
	t0 = now_us();
	if (delay_us >= 0) {
		usleep(delay_us);
		kill(pid, SIGKILL);
	}
	*joined = read(pfd[0], &c, 1) == 1;
	*join_us = now_us() - t0;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGKILL ? 0 : -1;
	return WEXITSTATUS(status) ? -1 : 0;
}

TEST_F_TIMEOUT(domain, kill_during_replay, 600)
{
	const char *s = getenv("VFG_KILL_ROUNDS");
	int rounds = s ? atoi(s) : KILL_ROUNDS;
	long join_us, took, delay;
	int round, killed = 0, group;
	bool joined;

	if (rounds < 2)
		rounds = 2;

	/* The groups are the child's now. */
	munmap((void *)self->bar_a, EDU_BAR0_SIZE);
	self->bar_a = NULL;
	vfg_dev_close(&self->a);
	/* How long the attach takes, unkilled. */
	ASSERT_EQ(0, replay_round(self, -1, &join_us, &joined));
	ASSERT_TRUE(joined);
	if (vfg_ours())
		ASSERT_TRUE(b_has_own_domain(self));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	for (round = 0; round < rounds; round++) {
		delay = join_us * round / (rounds - 1);
		ASSERT_EQ(0, replay_round(self, delay, &took, &joined));
		killed += !joined;
		ASSERT_EQ(self->pins_before, vfg_pins_outstanding())
			TH_LOG("round %d, killed %ld us into the attach: pins left",
			       round, delay);
		/* Both groups were let go of: they open again. */
		group = vfg_group_open(vfg_pci_group(self->t.lone));
		ASSERT_LE(0, group);
		close(group);
		group = vfg_group_open(vfg_pci_group(self->t.bedu[0]));
		ASSERT_LE(0, group);
		close(group);
	}
	TH_LOG("attach with replay of %lu MiB: %ld us; %d of %d rounds killed before it returned",
	       KILL_MAP >> 20, join_us, killed, rounds);
	/* And they still work together. */
	ASSERT_EQ(0, vfg_dev_open(&self->a, self->t.lone));
	ASSERT_EQ(0, join_b(self));
	self->bar_a = bar0(self->a.fd);
	ASSERT_NE(NULL, self->bar_a);
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf1, IOVA_1, SZ_64K,
				 VFG_DMA_RW));
	ASSERT_EQ(0, vfg_dma_map(self->a.container, self->buf2, IOVA_2, SZ_64K,
				 VFG_DMA_RW));
	ASSERT_TRUE(copy_both(self, self->bar_a, 0x4000));
	ASSERT_TRUE(copy_both(self, self->bar_b, 0x8000));
}

TEST_HARNESS_MAIN
