// SPDX-License-Identifier: GPL-2.0
/*
 * Containers and type1 DMA mapping, checked with the edu device's DMA engine
 * through the emulated IOMMU.
 *
 * Every test runs over the variants: type1v2 on anonymous memory, type1v2 on
 * hugetlbfs, and type1 (v1 unmap semantics) on anonymous memory.  Teardown
 * checks that every page pinned was unpinned and locked_vm is back to zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"
#include "edu.h"

#define SZ_4K	0x1000UL
#define SZ_64K	0x10000UL
#define SZ_1M	0x100000UL
#define SZ_2M	0x200000UL

#define IOVA_A	0x1000000UL	/* 16 MiB, inside edu's 28-bit reach */
#define IOVA_B	0x2000000UL

enum backing { ANON, HUGETLB };

/* ---- helpers ---------------------------------------------------------- */

static void *alloc_buf(enum backing b, size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	if (b == HUGETLB) {
		flags |= MAP_HUGETLB;
		size = (size + SZ_2M - 1) & ~(SZ_2M - 1);
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* Unmap; returns the ioctl's result and stores the size unmapped. */
static int dma_unmap(int container, uint64_t iova, uint64_t size,
		     uint32_t flags, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	int ret = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (unmapped)
		*unmapped = unmap.size;
	return ret;
}

/* Map BAR0 of @bdf through sysfs and turn on memory decode and mastering. */
static volatile void *edu_bar0(const char *bdf)
{
	char path[PATH_MAX];
	uint16_t cmd;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return NULL;
	if (pread(fd, &cmd, 2, 4) != 2)
		goto err;
	cmd |= 0x6;		/* memory space, bus master */
	if (pwrite(fd, &cmd, 2, 4) != 2)
		goto err;
	close(fd);
	return vfg_pci_map_bar0(bdf, EDU_BAR0_SIZE);
err:
	close(fd);
	return NULL;
}

/* The edu on the root bus, alone in its group. */
static int lone_edu(char bdf[13])
{
	struct vfg_topo t;
	int ret = vfg_topo_find(&t);

	if (!ret)
		memcpy(bdf, t.lone, 13);
	return ret;
}

/* ---- fixture ---------------------------------------------------------- */

FIXTURE(dma) {
	struct vfg_ctx *ctx;
	char bdf[13];
	int group_id;
	int group;
	int container;
	volatile void *bar;
	long pins_before;
};

FIXTURE_VARIANT(dma) {
	int iommu_type;
	enum backing backing;
};

FIXTURE_VARIANT_ADD(dma, v2_anon) {
	.iommu_type = VFIO_TYPE1v2_IOMMU,
	.backing = ANON,
};

FIXTURE_VARIANT_ADD(dma, v2_hugetlb) {
	.iommu_type = VFIO_TYPE1v2_IOMMU,
	.backing = HUGETLB,
};

FIXTURE_VARIANT_ADD(dma, v1_anon) {
	.iommu_type = VFIO_TYPE1_IOMMU,
	.backing = ANON,
};

FIXTURE_SETUP(dma)
{
	struct vfg_dev d;

	self->group = self->container = -1;
	self->pins_before = vfg_pins_outstanding();
	if (variant->backing == HUGETLB)
		ASSERT_EQ(0, vfg_sysfs_write("/proc/sys/vm/nr_hugepages", "16"));
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load(NULL));
	self->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, self->ctx);
	ASSERT_EQ(0, lone_edu(self->bdf));
	ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_attach_type(&d, self->bdf, variant->iommu_type));
	self->group_id = d.group_id;
	self->group = d.group;
	self->container = d.container;
	self->bar = edu_bar0(self->bdf);
	ASSERT_NE(NULL, self->bar);
	ASSERT_EQ(0x010000ed, edu_read32(self->bar, EDU_REG_ID));
}

FIXTURE_TEARDOWN(dma)
{
	if (self->bar)
		munmap((void *)self->bar, EDU_BAR0_SIZE);
	if (self->container >= 0)
		close(self->container);
	if (self->group >= 0)
		close(self->group);
	/* Everything pinned is unpinned once the fds are gone. */
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	vfg_pci_unbind(self->bdf);
	vfg_pci_set_override(self->bdf, NULL);
	vfg_ctx_free(self->ctx);
	vfg_module_unload();
}

/* ---- container ioctls -------------------------------------------------- */

TEST_F(dma, extensions)
{
	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->container,
					  VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_UNMAP_ALL));
	/* Only what is implemented is advertised. */
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_UPDATE_VADDR));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION, 0x7fff));
	EXPECT_ERRNO(ENOTTY, ioctl(self->container, _IO(VFIO_TYPE, 99)));
}

TEST_F(dma, set_iommu_rules)
{
	int c2 = open("/dev/vfio/vfio", O_RDWR);

	ASSERT_LE(0, c2);
	/* Already set; no groups; unknown type. */
	EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_SET_IOMMU,
				   variant->iommu_type));
	EXPECT_ERRNO(EINVAL, ioctl(c2, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	/* Without a backend, IOMMU ioctls are not there. */
	EXPECT_ERRNO(ENOTTY, vfg_dma_map(c2, NULL, IOVA_A, SZ_4K, RW));
	close(c2);
	EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_SET_IOMMU, 42));
}

/* Detaching the last group tears the backend down, mappings and all. */
TEST_F(dma, last_group_detach_tears_down)
{
	void *buf = alloc_buf(variant->backing, SZ_64K);
	long pins = vfg_pins_outstanding();

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_64K, RW));
	EXPECT_LT(pins, vfg_pins_outstanding());
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(pins, vfg_pins_outstanding());
	EXPECT_ERRNO(ENOTTY, vfg_dma_map(self->container, buf, IOVA_A, SZ_4K,
					 RW));
	/* Attach again: the container must be set up again. */
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   variant->iommu_type));
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_64K, RW));
}

TEST_F(dma, get_info)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *iova = NULL;
	struct vfio_iommu_type1_info_dma_avail *avail = NULL;
	struct vfio_info_cap_header *hdr;
	size_t minsz = offsetof(struct vfio_iommu_type1_info, cap_offset);
	char buf[4096];
	uint32_t i;

	info = (void *)buf;
	memset(buf, 0, sizeof(buf));
	info->argsz = minsz - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));

	/* An old caller (no cap_offset) gets page sizes only. */
	info->argsz = minsz;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_TRUE(info->iova_pgsizes & SZ_4K);
	EXPECT_EQ(0, info->iova_pgsizes & (SZ_4K - 1));

	/* Room for the fixed part only: told how much to ask for. */
	info->argsz = sizeof(*info);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_CAPS);
	EXPECT_EQ(0, info->cap_offset);
	ASSERT_GT(info->argsz, sizeof(*info));
	ASSERT_LE(info->argsz, sizeof(buf));

	info->argsz = sizeof(buf);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	for (hdr = (void *)(buf + info->cap_offset); ;
	     hdr = (void *)(buf + hdr->next)) {
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			iova = (void *)hdr;
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			avail = (void *)hdr;
		if (!hdr->next)
			break;
		ASSERT_LT(hdr->next, sizeof(buf));
	}
	ASSERT_NE(NULL, iova);
	ASSERT_NE(NULL, avail);
	EXPECT_EQ(65535, avail->avail);
	ASSERT_LE(1, iova->nr_iovas);
	/* Sorted, disjoint, and the x86 MSI window is never usable. */
	for (i = 0; i < iova->nr_iovas; i++) {
		EXPECT_LE(iova->iova_ranges[i].start, iova->iova_ranges[i].end);
		if (i)
			EXPECT_LT(iova->iova_ranges[i - 1].end,
				  iova->iova_ranges[i].start);
		EXPECT_FALSE(iova->iova_ranges[i].start <= 0xfee00000 &&
			     iova->iova_ranges[i].end >= 0xfee00000);
	}
	EXPECT_EQ(0, iova->iova_ranges[0].start);
	EXPECT_LE(0xfedfffff, iova->iova_ranges[0].end);

	/* The ranges are what map enforces. */
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container,
					 alloc_buf(ANON, SZ_4K), 0xfee00000,
					 SZ_4K, RW));
	i = iova->nr_iovas - 1;
	if (iova->iova_ranges[i].end != UINT64_MAX)
		EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container,
						 alloc_buf(ANON, SZ_4K),
						 iova->iova_ranges[i].end + 1,
						 SZ_4K, RW));
}

/* ---- map and unmap: argument checks ----------------------------------- */

TEST_F(dma, map_errors)
{
	char *buf = alloc_buf(variant->backing, SZ_2M);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = RW,
		.vaddr = (uintptr_t)buf, .iova = IOVA_A, .size = SZ_4K,
	};
	void *unmapped_va;

	ASSERT_NE(NULL, buf);
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf, IOVA_A, 0, RW));
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf, IOVA_A + 1,
					 SZ_4K, RW));
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf + 1, IOVA_A,
					 SZ_4K, RW));
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf, IOVA_A,
					 SZ_4K + 1, RW));
	EXPECT_ERRNO(EOVERFLOW, vfg_dma_map(self->container, buf,
					    UINT64_MAX & ~(SZ_4K - 1),
					    2 * SZ_4K, RW));
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf, IOVA_A, SZ_4K,
					 0));
	EXPECT_ERRNO(EINVAL, vfg_dma_map(self->container, buf, IOVA_A, SZ_4K,
					 RW | 0x100));
	map.argsz = offsetof(struct vfio_iommu_type1_dma_map, size);
	EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_ERRNO(EFAULT, ioctl(self->container, VFIO_IOMMU_MAP_DMA, NULL));

	/* User memory that is not there. */
	unmapped_va = mmap(NULL, SZ_64K, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, unmapped_va);
	munmap(unmapped_va, SZ_64K);
	EXPECT_ERRNO(EFAULT, vfg_dma_map(self->container, unmapped_va, IOVA_A,
					 SZ_64K, RW));

	/* Overlaps: the same range, inside, straddling either end. */
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_64K, RW));
	EXPECT_ERRNO(EEXIST, vfg_dma_map(self->container, buf, IOVA_A, SZ_64K,
					 RW));
	EXPECT_ERRNO(EEXIST, vfg_dma_map(self->container, buf, IOVA_A + SZ_4K,
					 SZ_4K, RW));
	EXPECT_ERRNO(EEXIST, vfg_dma_map(self->container, buf, IOVA_A - SZ_4K,
					 2 * SZ_4K, RW));
	EXPECT_ERRNO(EEXIST, vfg_dma_map(self->container, buf,
					 IOVA_A + SZ_64K - SZ_4K, 2 * SZ_4K,
					 RW));
	/* Adjacent is fine. */
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A + SZ_64K, SZ_4K,
				 RW));
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A - SZ_4K, SZ_4K,
				 VFIO_DMA_MAP_FLAG_READ));
}

TEST_F(dma, unmap_errors)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = 8 };

	EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A, 0, 0, NULL));
	EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A + 1, SZ_4K, 0,
				       NULL));
	EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A, SZ_4K - 1, 0,
				       NULL));
	EXPECT_ERRNO(EOVERFLOW, dma_unmap(self->container,
					  UINT64_MAX & ~(SZ_4K - 1),
					  2 * SZ_4K, 0, NULL));
	EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A, SZ_4K, 0x80,
				       NULL));
	EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A, SZ_4K,
				       VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	EXPECT_ERRNO(EINVAL, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA,
				   &unmap));
}

/* The size unmapped is written back exactly (DPDK checks it). */
TEST_F(dma, unmap_sizes)
{
	char *buf = alloc_buf(variant->backing, SZ_2M);
	uint64_t done = 1;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, 2 * SZ_64K, RW));
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_B, SZ_64K, RW));

	/* Nothing mapped there: success, zero unmapped. */
	EXPECT_EQ(0, dma_unmap(self->container, 0x100000, SZ_4K, 0, &done));
	EXPECT_EQ(0, done);

	if (variant->iommu_type == VFIO_TYPE1v2_IOMMU) {
		/* v2 never splits a mapping, at either end. */
		EXPECT_ERRNO(EINVAL, dma_unmap(self->container, IOVA_A, SZ_4K,
					       0, NULL));
		EXPECT_ERRNO(EINVAL, dma_unmap(self->container,
					       IOVA_A + SZ_4K,
					       2 * SZ_64K - SZ_4K, 0, NULL));
		/* A range covering the whole mapping and more. */
		EXPECT_EQ(0, dma_unmap(self->container, IOVA_A - SZ_64K,
				       4 * SZ_64K, 0, &done));
		EXPECT_EQ(2 * SZ_64K, done);
	} else {
		/*
		 * v1, as upstream: a range that starts inside a mapping
		 * unmaps nothing and reports 0, even if it reaches further
		 * mappings; one that covers a mapping's first page takes the
		 * whole mapping.
		 */
		EXPECT_EQ(0, dma_unmap(self->container, IOVA_A + SZ_4K, SZ_4K,
				       0, &done));
		EXPECT_EQ(0, done);
		EXPECT_EQ(0, dma_unmap(self->container, IOVA_A + SZ_4K,
				       IOVA_B + SZ_64K - IOVA_A - SZ_4K, 0,
				       &done));
		EXPECT_EQ(0, done);
		EXPECT_ERRNO(EEXIST, vfg_dma_map(self->container, buf,
					     IOVA_A + SZ_4K, SZ_4K, RW));
		EXPECT_EQ(0, dma_unmap(self->container, IOVA_A, SZ_4K, 0,
				       &done));
		EXPECT_EQ(2 * SZ_64K, done);
	}
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_4K, RW));
	EXPECT_EQ(0, dma_unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &done));
	EXPECT_EQ(SZ_64K + SZ_4K, done);
	EXPECT_EQ(0, dma_unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &done));
	EXPECT_EQ(0, done);
}

/* ---- accounting and limits -------------------------------------------- */

/*
 * An unprivileged process (no CAP_IPC_LOCK) is held to RLIMIT_MEMLOCK:
 * ENOMEM past it, VmLck counting what it pinned.
 */
TEST_F(dma, memlock_limit)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 128 * 1024, 128 * 1024 };
		char *buf = alloc_buf(ANON, SZ_1M);

		if (!buf || setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		if (vfg_dma_map(self->container, buf, IOVA_A, SZ_1M,
				RW) != -1 || errno != ENOMEM)
			_exit(11);
		if (vfg_dma_map(self->container, buf, IOVA_A, SZ_64K, RW))
			_exit(12);
		if (vfg_vmlck_kb(getpid()) != 64)
			_exit(13);
		if (vfg_dma_map(self->container, buf, IOVA_B, 2 * SZ_64K,
				RW) != -1 || errno != ENOMEM)
			_exit(14);
		if (vfg_dma_map(self->container, buf, IOVA_B, SZ_64K, RW))
			_exit(15);
		if (dma_unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			      NULL) || vfg_vmlck_kb(getpid()) != 0)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(dma, root_locked_vm_accounted)
{
	char *buf = alloc_buf(variant->backing, SZ_2M);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_1M, RW));
	EXPECT_EQ(1024, vfg_vmlck_kb(getpid()));
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_A, SZ_1M, 0, NULL));
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
}

TEST_F(dma, entry_limit)
{
	const char *param = "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit";
	char *buf = alloc_buf(ANON, SZ_64K);
	int i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_sysfs_write(param, "4"));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, vfg_dma_map(self->container, buf + i * SZ_4K,
					 IOVA_A + i * SZ_4K, SZ_4K, RW));
	EXPECT_ERRNO(ENOSPC, vfg_dma_map(self->container, buf, IOVA_B, SZ_4K,
					 RW));
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_A, SZ_4K, 0, NULL));
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_B, SZ_4K, RW));
	ASSERT_EQ(0, vfg_sysfs_write(param, "65535"));
}

/* ---- real DMA ---------------------------------------------------------- */

/* Data goes RAM -> device from one mapping and device -> RAM to another. */
TEST_F(dma, device_dma_round_trip)
{
	uint8_t *src = alloc_buf(variant->backing, SZ_64K);
	uint8_t *dst = alloc_buf(variant->backing, SZ_64K);
	const size_t len = EDU_BUF_MAX;
	size_t i;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(dst, 0, SZ_64K);
	ASSERT_EQ(0, vfg_dma_map(self->container, src, IOVA_A, SZ_64K,
				 VFIO_DMA_MAP_FLAG_READ));
	ASSERT_EQ(0, vfg_dma_map(self->container, dst, IOVA_B, SZ_64K, RW));
	ASSERT_TRUE(edu_dma(self->bar, IOVA_A, len, false, 5000));
	ASSERT_TRUE(edu_dma(self->bar, IOVA_B + 0x800, len, true, 5000));
	EXPECT_EQ(0, memcmp(src, dst + 0x800, len));
	for (i = 0; i < 0x800; i++)
		ASSERT_EQ(0, dst[i]);
}

/*
 * Pages that are not physically contiguous: each IOVA page reaches its own
 * page, before and after another mapping comes and goes, and the unmap
 * gives every pin back.  Their pages are faulted in backwards, from a
 * region with THP off, so that they are many runs, not one.
 */
TEST_F(dma, scattered_pages)
{
	const size_t n = 64, size = n * SZ_4K;
	uint8_t *buf = alloc_buf(ANON, size), *other = alloc_buf(ANON, SZ_64K);
	uint8_t *dst = alloc_buf(ANON, SZ_64K);
	uint64_t done;
	size_t i, j;
	int round;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, other);
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(0, madvise(buf, size, MADV_NOHUGEPAGE));
	for (i = n; i-- > 0;)
		memset(buf + i * SZ_4K, (int)(0x40 + i), SZ_4K);
	memset(other, 0, SZ_64K);
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, size, RW));
	ASSERT_EQ(0, vfg_dma_map(self->container, dst, IOVA_B, SZ_64K, RW));
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i += 7) {
			memset(dst, 0, 64);
			ASSERT_TRUE(edu_dma(self->bar, IOVA_A + i * SZ_4K + 8, 64,
					    false, 5000));
			ASSERT_TRUE(edu_dma(self->bar, IOVA_B, 64, true, 5000));
			for (j = 0; j < 64; j++)
				ASSERT_EQ(0x40 + i, dst[j])
					TH_LOG("page %zu byte %zu", i, j);
		}
		/* Another mapping in between, mapped and unmapped. */
		ASSERT_EQ(0, vfg_dma_map(self->container, other,
					 IOVA_A + size, SZ_64K, RW));
		ASSERT_EQ(0, dma_unmap(self->container, IOVA_A + size, SZ_64K,
				       0, &done));
		ASSERT_EQ(SZ_64K, done);
	}
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_A, size, 0, &done));
	ASSERT_EQ(size, done);
	/* Gone: a device write there reaches nothing. */
	memset(dst, 0x5a, 64);
	ASSERT_TRUE(edu_dma(self->bar, IOVA_B, 64, false, 5000));
	ASSERT_TRUE(edu_dma(self->bar, IOVA_A, 64, true, 5000));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0x40 + i, buf[i * SZ_4K]);
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, SZ_64K, 0, &done));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
}

/*
 * A map whose user range ends in a hole fails with EFAULT and leaves
 * nothing pinned, charged or mapped: the pages before the hole were pinned
 * and mapped, and are taken back.
 */
TEST_F(dma, map_fails_half_way)
{
	const size_t size = 1024 * SZ_4K;
	uint8_t *buf = alloc_buf(ANON, size);
	uint64_t done;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, size);
	ASSERT_EQ(0, munmap(buf + size - 16 * SZ_4K, 16 * SZ_4K));
	EXPECT_ERRNO(EFAULT, vfg_dma_map(self->container, buf, IOVA_A, size,
					 RW));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	/* Nothing of it stayed mapped: the same IOVAs map again. */
	EXPECT_EQ(0, vfg_dma_map(self->container, buf, IOVA_A, SZ_2M, RW));
	EXPECT_EQ(0, dma_unmap(self->container, IOVA_A, SZ_2M, 0, &done));
	EXPECT_EQ(SZ_2M, done);
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
}

/* After unmap, the device's writes reach nothing (the IOMMU faults them). */
TEST_F(dma, unmapped_iova_blocked)
{
	uint8_t *src = alloc_buf(variant->backing, SZ_64K);
	uint8_t *dst = alloc_buf(variant->backing, SZ_64K);
	uint64_t done;
	size_t i;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	memset(src, 0xa5, SZ_4K);
	memset(dst, 0x11, SZ_64K);
	ASSERT_EQ(0, vfg_dma_map(self->container, src, IOVA_A, SZ_64K, RW));
	ASSERT_EQ(0, vfg_dma_map(self->container, dst, IOVA_B, SZ_64K, RW));
	ASSERT_TRUE(edu_dma(self->bar, IOVA_A, 1024, false, 5000));
	/* Prove the path works, then take the mapping away and retry. */
	ASSERT_TRUE(edu_dma(self->bar, IOVA_B, 16, true, 5000));
	ASSERT_EQ(0xa5, dst[0]);
	memset(dst, 0x11, 16);
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, SZ_64K, 0, &done));
	ASSERT_EQ(SZ_64K, done);
	ASSERT_TRUE(edu_dma(self->bar, IOVA_B, 1024, true, 5000));
	for (i = 0; i < SZ_64K; i++)
		ASSERT_EQ(0x11, dst[i]);
	/* Never mapped at all. */
	ASSERT_TRUE(edu_dma(self->bar, 0x3000000, 1024, true, 5000));
}

/* ---- teardown paths ---------------------------------------------------- */

/* A process killed with mappings in place leaves nothing pinned. */
TEST_F(dma, sigkill_releases_everything)
{
	long pins = vfg_pins_outstanding();
	int pipefd[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *buf = alloc_buf(ANON, SZ_1M);

		close(pipefd[0]);
		if (!buf || vfg_dma_map(self->container, buf, IOVA_A, SZ_1M,
					RW))
			_exit(1);
		/* The parent's copies are closed: the child holds the last. */
		if (write(pipefd[1], "m", 1) != 1)
			_exit(2);
		pause();
		_exit(3);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	close(pipefd[0]);
	EXPECT_LE(pins + 256, vfg_pins_outstanding());
	close(self->container);
	close(self->group);
	self->container = self->group = -1;
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(pins, vfg_pins_outstanding());
}

struct worker {
	int container;
	int index;
	char *buf;
	int errors;
};

static void *map_unmap_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t iova = IOVA_A + (uint64_t)w->index * SZ_1M, done;
	int i;

	for (i = 0; i < 200; i++) {
		if (vfg_dma_map(w->container, w->buf, iova, SZ_64K, RW))
			w->errors++;
		/* Everyone also races for one shared IOVA. */
		if (!vfg_dma_map(w->container, w->buf, IOVA_B, SZ_4K, RW))
			dma_unmap(w->container, IOVA_B, SZ_4K, 0, NULL);
		if (dma_unmap(w->container, iova, SZ_64K, 0, &done) ||
		    done != SZ_64K)
			w->errors++;
	}
	return NULL;
}

TEST_F(dma, concurrent_map_unmap)
{
	struct worker w[4];
	pthread_t t[4];
	uint64_t done;
	int i;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ self->container, i,
					alloc_buf(variant->backing, SZ_64K),
					0 };
		ASSERT_NE(NULL, w[i].buf);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, map_unmap_worker,
					    &w[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].errors);
	}
	EXPECT_EQ(0, dma_unmap(self->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &done));
	EXPECT_EQ(0, done);
}

struct stalled {
	int container;
	void *arg;
	unsigned long cmd;
	int ret, err;
};

static void *stalled_ioctl(void *p)
{
	struct stalled *st = p;

	st->ret = ioctl(st->container, st->cmd, st->arg);
	st->err = errno;
	return NULL;
}

/* Milliseconds that GET_INFO on @container takes. */
static long get_info_ms(int container)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (ioctl(container, VFIO_IOMMU_GET_INFO, &info))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

/*
 * No lock is held while user memory is touched: a MAP_DMA or UNMAP_DMA
 * whose argument sits on a page a userfaultfd keeps missing stalls in its
 * copy, and meanwhile the container's other ioctls (GET_INFO, a MAP_DMA)
 * go on.  Resolving the fault lets the stalled one finish.
 */
TEST_F(dma, user_copy_outside_lock)
{
	static const unsigned long cmds[] = { VFIO_IOMMU_MAP_DMA,
					      VFIO_IOMMU_UNMAP_DMA };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct uffdio_copy copy = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	struct uffd_msg msg;
	struct stalled st;
	pthread_t th;
	void *src, *buf;
	char *page;
	long ms;
	int uffd, k;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 && errno == ENOSYS)
		SKIP(return, "no userfaultfd in this kernel (CONFIG_USERFAULTFD)");
	if (uffd >= 0)
		close(uffd);
	buf = alloc_buf(variant->backing, SZ_4K);
	ASSERT_NE(NULL, buf);
	src = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	for (k = 0; k < 2; k++) {
		uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, uffd);
		/* No features: the API call returns them all, SIGBUS too. */
		api.features = 0;
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
		page = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, page);
		reg.range.start = (unsigned long)page;
		reg.range.len = SZ_4K;
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

		st = (struct stalled){ self->container, page, cmds[k], 0, 0 };
		ASSERT_EQ(0, pthread_create(&th, NULL, stalled_ioctl, &st));
		pfd.fd = uffd;
		if (poll(&pfd, 1, 5000) != 1) {
			pthread_join(th, NULL);
			TH_LOG("no fault: the ioctl returned %d (errno %d)",
			       st.ret, st.err);
			ASSERT_TRUE(0);
		}
		ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
		EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

		/* Stalled in its copy: the container answers others. */
		ms = get_info_ms(self->container);
		EXPECT_LE(0, ms);
		EXPECT_GT(1000, ms);
		map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		map.vaddr = (unsigned long)buf;
		map.iova = IOVA_A;
		map.size = SZ_4K;
		EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));

		/* The argument arrives: a MAP_DMA that exists, or an UNMAP. */
		if (cmds[k] == VFIO_IOMMU_MAP_DMA)
			memcpy(src, &map, sizeof(map));
		else
			memcpy(src, &(struct vfio_iommu_type1_dma_unmap){
				.argsz = sizeof(struct vfio_iommu_type1_dma_unmap),
				.iova = IOVA_A, .size = SZ_4K },
			       sizeof(struct vfio_iommu_type1_dma_unmap));
		copy.dst = (unsigned long)page;
		copy.src = (unsigned long)src;
		copy.len = SZ_4K;
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
		pthread_join(th, NULL);
		if (cmds[k] == VFIO_IOMMU_MAP_DMA) {
			EXPECT_EQ(-1, st.ret);
			EXPECT_EQ(EEXIST, st.err);
			EXPECT_EQ(0, dma_unmap(self->container, IOVA_A, SZ_4K,
					       0, NULL));
		} else {
			EXPECT_EQ(0, st.ret);
			EXPECT_EQ(SZ_4K,
				  ((struct vfio_iommu_type1_dma_unmap *)page)->size);
		}
		munmap(page, SZ_4K);
		close(uffd);
	}
	munmap(src, SZ_4K);
	munmap(buf, variant->backing == HUGETLB ? SZ_2M : SZ_4K);
}

/* ---- two groups in one container -------------------------------------- */

/*
 * The lone edu's group and the bridge group (the bridge unbound from shpchp,
 * both its edus bound to vfio-pci) share one container, so one IOMMU domain:
 * what one device writes through a mapping, the other reads through it.
 */
FIXTURE(multi) {
	struct vfg_ctx *ctx;
	char lone[13], bridge[13], behind[2][13];
	int group[2];
	int container;
	volatile void *bar[2];
	long pins_before;
};

FIXTURE_SETUP(multi)
{
	struct vfg_topo t;

	self->group[0] = self->group[1] = self->container = -1;
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load(NULL));
	self->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, self->ctx);
	ASSERT_EQ(0, vfg_topo_find(&t));
	memcpy(self->lone, t.lone, 13);
	memcpy(self->bridge, t.bridge, 13);
	memcpy(self->behind[0], t.bedu[0], 13);
	memcpy(self->behind[1], t.bedu[1], 13);
	ASSERT_EQ(0, vfg_pci_unbind(self->bridge));
	ASSERT_EQ(0, vfg_pci_bind(self->lone, "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_bind(self->behind[0], "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_bind(self->behind[1], "vfio-pci"));
	self->group[0] = vfg_group_open(vfg_device_get_group(self->ctx,
							     self->lone));
	ASSERT_LE(0, self->group[0]);
	self->group[1] = vfg_group_open(vfg_device_get_group(self->ctx,
							     self->bridge));
	ASSERT_LE(0, self->group[1]);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	self->bar[0] = edu_bar0(self->lone);
	self->bar[1] = edu_bar0(self->behind[1]);
	ASSERT_NE(NULL, self->bar[0]);
	ASSERT_NE(NULL, self->bar[1]);
}

FIXTURE_TEARDOWN(multi)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->bar[i])
			munmap((void *)self->bar[i], EDU_BAR0_SIZE);
		if (self->group[i] >= 0)
			close(self->group[i]);
	}
	if (self->container >= 0)
		close(self->container);
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	vfg_pci_unbind(self->lone);
	vfg_pci_set_override(self->lone, NULL);
	for (i = 0; i < 2; i++) {
		vfg_pci_unbind(self->behind[i]);
		vfg_pci_set_override(self->behind[i], NULL);
	}
	vfg_ctx_free(self->ctx);
	vfg_module_unload();
	vfg_sysfs_write("/sys/bus/pci/drivers/shpchp/bind", self->bridge);
}

/* Device @from writes @len bytes of its buffer to @iova; @to reads them. */
static bool relay(volatile void *from, volatile void *to, uint64_t src_iova,
		  uint64_t iova, uint32_t len)
{
	return edu_dma(from, src_iova, len, false, 5000) &&
	       edu_dma(from, iova, len, true, 5000) &&
	       edu_dma(to, iova, len, false, 5000) &&
	       edu_dma(to, iova + SZ_4K, len, true, 5000);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 13);
}

TEST_F(multi, two_groups_share_mappings)
{
	uint8_t *src = alloc_buf(ANON, SZ_4K), *buf = alloc_buf(ANON, SZ_64K);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int i;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ioctl(self->group[i], VFIO_GROUP_SET_CONTAINER,
				   &self->container));
		ASSERT_EQ(0, ioctl(self->group[i], VFIO_GROUP_GET_STATUS,
				   &st));
		EXPECT_TRUE(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	}
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	fill(src, 1024, 0x40);
	memset(buf, 0, SZ_64K);
	ASSERT_EQ(0, vfg_dma_map(self->container, src, IOVA_A, SZ_4K,
				 VFIO_DMA_MAP_FLAG_READ));
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_B, SZ_64K, RW));
	/* lone edu: src -> buf; bridge edu: buf -> buf + 4K. */
	ASSERT_TRUE(relay(self->bar[0], self->bar[1], IOVA_A, IOVA_B, 1024));
	EXPECT_EQ(0, memcmp(src, buf, 1024));
	EXPECT_EQ(0, memcmp(src, buf + SZ_4K, 1024));
}

/* A group attached after SET_IOMMU joins the domain and its mappings. */
TEST_F(multi, late_group_joins_domain)
{
	uint8_t *src = alloc_buf(ANON, SZ_4K), *buf = alloc_buf(ANON, SZ_64K);

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ioctl(self->group[0], VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	fill(src, 512, 0x77);
	memset(buf, 0, SZ_64K);
	ASSERT_EQ(0, vfg_dma_map(self->container, src, IOVA_A, SZ_4K, RW));
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_B, SZ_64K, RW));
	ASSERT_EQ(0, ioctl(self->group[1], VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_TRUE(relay(self->bar[0], self->bar[1], IOVA_A, IOVA_B, 512));
	EXPECT_EQ(0, memcmp(src, buf + SZ_4K, 512));
}

/* The first group leaving keeps the domain alive for the other. */
TEST_F(multi, group_leaves_domain_stays)
{
	uint8_t *buf = alloc_buf(ANON, SZ_64K);
	long pins;
	int i;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, ioctl(self->group[i], VFIO_GROUP_SET_CONTAINER,
				   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	fill(buf, 256, 0x05);
	ASSERT_EQ(0, vfg_dma_map(self->container, buf, IOVA_B, SZ_64K, RW));
	pins = vfg_pins_outstanding();
	ASSERT_EQ(0, ioctl(self->group[0], VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(pins, vfg_pins_outstanding());
	ASSERT_TRUE(edu_dma(self->bar[1], IOVA_B, 256, false, 5000));
	ASSERT_TRUE(edu_dma(self->bar[1], IOVA_B + SZ_4K, 256, true, 5000));
	EXPECT_EQ(0, memcmp(buf, buf + SZ_4K, 256));
	/* The detached group's device can no longer reach the mapping. */
	memset(buf + 2 * SZ_4K, 0x33, 256);
	ASSERT_TRUE(edu_dma(self->bar[0], IOVA_B + 2 * SZ_4K, 256, true,
			    5000));
	EXPECT_EQ(0x33, buf[2 * SZ_4K]);
	ASSERT_EQ(0, ioctl(self->group[1], VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_GT(pins, vfg_pins_outstanding());
}

TEST_HARNESS_MAIN
