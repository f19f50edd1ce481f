// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-bench: figures for the driver, run in the test guest by "make bench".
 *
 * The same measurements run against our module and, with
 * VFG_USE_KERNEL_VFIO=1, against the kernel's own VFIO, so the two can be
 * compared on the same emulated machine.  Figures only: under TCG absolute
 * numbers mean little, ratios between the two stacks mean more.
 *
 * Output: one line per figure, "bench: STACK NAME VALUE UNIT".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio_test_util.h"
#include "nl_util.h"

#define SZ_4K		4096UL
#define SZ_2M		(2UL << 20)
#define BIG		(64UL << 20)
#define NR_SMALL	4096
#define NR_ACCESS	20000
#define NR_UNBIND	5

static const char *stack;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void figure(const char *name, double value, const char *unit)
{
	printf("bench: %-6s %-28s %12.2f %s\n", stack, name, value, unit);
	fflush(stdout);
}

static int map(int c, void *va, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(int c, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};

	return ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

static void bench_dma(struct vfg_dev *d)
{
	char *buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	double t;
	int i;

	if (buf == MAP_FAILED)
		return;
	t = now_us();
	for (i = 0; i < NR_SMALL; i++)
		if (map(d->container, buf + i * SZ_4K, (1UL << 30) + i * SZ_4K,
			SZ_4K))
			break;
	figure("map 4K", (now_us() - t) / i, "us/op");
	t = now_us();
	for (i = 0; i < NR_SMALL; i++)
		if (unmap(d->container, (1UL << 30) + i * SZ_4K, SZ_4K, 0))
			break;
	figure("unmap 4K", (now_us() - t) / i, "us/op");

	for (i = 0; i < NR_SMALL; i++)
		map(d->container, buf + i * SZ_4K, (1UL << 30) + i * SZ_4K,
		    SZ_4K);
	t = now_us();
	unmap(d->container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	figure("unmap-all 4096 x 4K", (now_us() - t) / 1000, "ms");

	t = now_us();
	if (!map(d->container, buf, 1UL << 30, BIG)) {
		figure("map 64M anon", BIG / (now_us() - t), "MB/s");
		t = now_us();
		unmap(d->container, 1UL << 30, BIG, 0);
		figure("unmap 64M anon", BIG / (now_us() - t), "MB/s");
	}
	munmap(buf, BIG);

	vfg_sysfs_write("/proc/sys/vm/nr_hugepages", "40");
	buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		   -1, 0);
	if (buf == MAP_FAILED)
		return;
	t = now_us();
	if (!map(d->container, buf, 1UL << 30, BIG)) {
		figure("map 64M hugetlb", BIG / (now_us() - t), "MB/s");
		t = now_us();
		unmap(d->container, 1UL << 30, BIG, 0);
		figure("unmap 64M hugetlb", BIG / (now_us() - t), "MB/s");
	}
	munmap(buf, BIG);
}

static void bench_access(struct vfg_dev *d)
{
	uint32_t v;
	double t;
	int i;

	t = now_us();
	for (i = 0; i < NR_ACCESS; i++)
		if (pread(d->fd, &v, 4, VFG_REGION_OFFSET(7)) != 4)
			break;
	figure("config pread 4B", (now_us() - t) / i, "us/op");
	t = now_us();
	for (i = 0; i < NR_ACCESS; i++)
		if (pread(d->fd, &v, 4, VFG_REGION_OFFSET(0)) != 4)
			break;
	figure("BAR0 pread 4B", (now_us() - t) / i, "us/op");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Ours only: from the unbind write to the RELEASE_REQUESTED event. */
static void bench_unbind_event(const char *bdf)
{
	double lat[NR_UNBIND], t;
	struct vfg_nl nl;
	struct vfg_dev d;
	int i, n = 0;
	pid_t pid;

	if (vfg_nl_open(&nl, true))
		return;
	for (i = 0; i < NR_UNBIND; i++) {
		vfg_dev_init(&d);
		if (vfg_pci_bind(bdf, "vfio-pci") || vfg_dev_open(&d, bdf))
			break;
		t = now_us();
		pid = fork();
		if (!pid) {
			int fd;

			for (fd = 3; fd < 1024; fd++)
				close(fd);
			_exit(vfg_pci_unbind(bdf) ? 1 : 0);
		}
		if (!vfg_nl_wait(&nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED, bdf,
				 10000, NULL))
			lat[n++] = (now_us() - t) / 1000;
		vfg_dev_close(&d);
		waitpid(pid, NULL, 0);
		vfg_pci_set_override(bdf, NULL);
	}
	vfg_nl_close(&nl);
	if (!n)
		return;
	qsort(lat, n, sizeof(*lat), cmp_double);
	figure("unbind -> release event", lat[n / 2], "ms (median)");
}

int main(void)
{
	struct vfg_topo t;
	struct vfg_dev d;

	stack = vfg_ours() ? "ours" : "kernel";
	if (vfg_topo_find(&t) || vfg_vfio_load()) {
		fprintf(stderr, "vfio-bench: no test topology or no VFIO\n");
		return 1;
	}
	vfg_dev_init(&d);
	if (vfg_pci_bind(t.lone, "vfio-pci") || vfg_dev_open(&d, t.lone)) {
		fprintf(stderr, "vfio-bench: cannot open %s\n", t.lone);
		return 1;
	}
	bench_dma(&d);
	bench_access(&d);
	vfg_dev_close(&d);
	vfg_pci_unbind(t.lone);
	vfg_pci_set_override(t.lone, NULL);
	if (vfg_ours())
		bench_unbind_event(t.pedu);
	return 0;
}
