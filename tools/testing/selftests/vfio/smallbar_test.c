// SPDX-License-Identifier: GPL-2.0
/*
 * A BAR smaller than a page (topology "smallbar"): QEMU's ivshmem-plain has
 * 256 bytes of registers in BAR0 (0x00 interrupt mask, read/write; 0x04
 * status; 0x08 position; 0x0c doorbell) and its shared RAM in BAR2.
 *
 * A sub-page memory BAR that starts a page is mmappable, as upstream: the
 * region info says MMAP with the BAR's own size, a mapping of the whole
 * page is allowed, and while the device is open the rest of the page is
 * reserved in /proc/iomem so that nothing else can be placed there.  The
 * reservation goes with the last close.
 *
 * BAR2 being RAM, it also takes VFIO_DEVICE_IOEVENTFD writes of every size
 * (the edu accepts only 4 and 8; see ioeventfd_test).
 */
#include <fcntl.h>
#include <limits.h>
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

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define IVSHMEM_REGS	0x100		/* BAR0 */
#define IVSHMEM_MASK	0x00		/* interrupt mask register */
#define SHM_BAR		2
#define SHM_SIZE	0x100000	/* the topology's memory backend */
#define PAGE		0x1000UL

FIXTURE(smallbar) {
	char bdf[13];
	struct vfg_dev d;
	unsigned long long start;	/* BAR0's address */
};

static int bar_start(const char *bdf, int bar, unsigned long long *start,
		     unsigned long long *end)
{
	char path[PATH_MAX], line[256];
	unsigned long long fl;
	FILE *f;
	int n = 0, ret = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (n++ == bar) {
			if (sscanf(line, "%llx %llx %llx", start, end, &fl) == 3)
				ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

FIXTURE_SETUP(smallbar)
{
	char bdfs[4][13];
	unsigned long long end;

	vfg_dev_init(&self->d);
	ASSERT_EQ(1, vfg_find_pci(IVSHMEM_VENDOR, IVSHMEM_DEVICE, bdfs, 4))
		TH_LOG("no ivshmem-plain: run under --topology smallbar");
	snprintf(self->bdf, sizeof(self->bdf), "%s", bdfs[0]);
	ASSERT_EQ(0, bar_start(self->bdf, 0, &self->start, &end));
	ASSERT_EQ(IVSHMEM_REGS - 1, end - self->start);
	/* What the test is about: the firmware put it at a page start. */
	ASSERT_EQ(0, self->start & (PAGE - 1))
		TH_LOG("BAR0 at %#llx is not page-aligned", self->start);
	ASSERT_EQ(0, vfg_vfio_load());
	ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->bdf));
}

FIXTURE_TEARDOWN(smallbar)
{
	vfg_dev_close(&self->d);
	vfg_pci_unbind(self->bdf);
	vfg_pci_set_override(self->bdf, NULL);
	vfg_vfio_unload_all();
}

/*
 * The name of the /proc/iomem entry that spans exactly [@start, @end], or
 * NULL.  Needs root (otherwise the addresses read as 0).
 */
static char *iomem_entry(unsigned long long start, unsigned long long end,
			 char *name, size_t len)
{
	unsigned long long s, e;
	char line[256], *p;
	FILE *f = fopen("/proc/iomem", "r");
	char *found = NULL;

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %llx-%llx", &s, &e) != 2 || s != start ||
		    e != end)
			continue;
		p = strstr(line, " : ");
		snprintf(name, len, "%s", p ? p + 3 : "");
		name[strcspn(name, "\n")] = 0;
		found = name;
	}
	fclose(f);
	return found;
}

/* Region info: BAR0 says MMAP, and its size is the BAR's, not a page. */
TEST_F(smallbar, region_info)
{
	struct vfio_region_info info;

	ASSERT_EQ(0, vfg_region_info(self->d.fd, 0, &info));
	EXPECT_EQ(IVSHMEM_REGS, info.size);
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_READ);
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_WRITE);
	ASSERT_EQ(0, vfg_region_info(self->d.fd, SHM_BAR, &info));
	EXPECT_EQ(SHM_SIZE, info.size);
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
}

/*
 * A mapping of the whole page reaches the registers: the mask register
 * written through it reads back through it and through pread().  Past
 * the page is refused.
 */
TEST_F(smallbar, mmap_page)
{
	volatile uint32_t *regs;
	uint32_t v = 0;
	void *p;

	regs = vfg_region_mmap(self->d.fd, 0, 0, PAGE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, regs) TH_LOG("mmap: %s", strerror(errno));
	regs[IVSHMEM_MASK / 4] = 0xa5a5;
	EXPECT_EQ(0xa5a5, regs[IVSHMEM_MASK / 4]);
	/* No ASSERT while mapped: the mapping would hold the unbind. */
	EXPECT_EQ(4, vfg_region_read(self->d.fd, 0, IVSHMEM_MASK, &v, 4));
	EXPECT_EQ(0xa5a5, v);
	v = 0x5a;
	EXPECT_EQ(4, vfg_region_write(self->d.fd, 0, IVSHMEM_MASK, &v, 4));
	EXPECT_EQ(0x5a, regs[IVSHMEM_MASK / 4]);
	munmap((void *)regs, PAGE);

	/* Just the BAR's own 256 bytes maps too (a page, rounded up). */
	regs = vfg_region_mmap(self->d.fd, 0, 0, IVSHMEM_REGS, PROT_READ);
	ASSERT_NE(NULL, regs);
	EXPECT_EQ(0x5a, regs[IVSHMEM_MASK / 4]);
	munmap((void *)regs, IVSHMEM_REGS);

	p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, self->d.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, 2 * PAGE);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->d.fd, PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
}

/*
 * The rest of the page is reserved while the device is open, and given
 * back at its last close.
 */
TEST_F(smallbar, rest_of_page_reserved)
{
	unsigned long long s = self->start + IVSHMEM_REGS;
	unsigned long long e = self->start + PAGE - 1;
	char name[128] = "";

	EXPECT_NE(NULL, iomem_entry(s, e, name, sizeof(name)))
		TH_LOG("no /proc/iomem entry %llx-%llx", s, e);
	TH_LOG("reserved as \"%s\"", name);
	close(self->d.fd);
	self->d.fd = -1;
	EXPECT_EQ(NULL, iomem_entry(s, e, name, sizeof(name)));
	/* And again at the next open. */
	self->d.fd = ioctl(self->d.group, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, self->d.fd);
	EXPECT_NE(NULL, iomem_entry(s, e, name, sizeof(name)));
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * VFIO_DEVICE_IOEVENTFD of every size into RAM behind BAR2: each writes
 * exactly its bytes.
 */
TEST_F(smallbar, ioeventfd_sizes)
{
	static const struct { uint32_t flag; int size; uint64_t data; } w[] = {
		{ VFIO_DEVICE_IOEVENTFD_8, 1, 0xa1 },
		{ VFIO_DEVICE_IOEVENTFD_16, 2, 0xb2c3 },
		{ VFIO_DEVICE_IOEVENTFD_32, 4, 0xd4e5f607 },
		{ VFIO_DEVICE_IOEVENTFD_64, 8, 0x0123456789abcdefULL },
	};
	uint8_t zero[32] = { 0 }, buf[32], want[32];
	unsigned int i, j;
	int efd;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		uint64_t off = 0x1000 * (i + 1) + 8, one = 1;
		struct vfio_device_ioeventfd req = {
			.argsz = sizeof(req), .flags = w[i].flag,
			.offset = VFG_REGION_OFFSET(SHM_BAR) + off,
			.data = w[i].data,
		};

		efd = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, efd);
		req.fd = efd;
		/* 8 bytes of zeros on either side. */
		ASSERT_EQ(32, vfg_region_write(self->d.fd, SHM_BAR, off - 8,
					       zero, 32));
		ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_IOEVENTFD, &req))
			TH_LOG("size %d: %s", w[i].size, strerror(errno));
		ASSERT_EQ(8, write(efd, &one, 8));
		memset(want, 0, sizeof(want));
		memcpy(want + 8, &w[i].data, w[i].size);
		for (j = 0; j < 1000; j++) {
			ASSERT_EQ(32, vfg_region_read(self->d.fd, SHM_BAR,
						      off - 8, buf, 32));
			if (!memcmp(buf, want, 32))
				break;
			sleep_ms(1);
		}
		EXPECT_EQ(0, memcmp(buf, want, 32))
			TH_LOG("size %d: wrote %02x%02x%02x%02x%02x%02x%02x%02x",
			       w[i].size, buf[8], buf[9], buf[10], buf[11],
			       buf[12], buf[13], buf[14], buf[15]);
		req.fd = -1;
		EXPECT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_IOEVENTFD, &req));
		close(efd);
	}
}

TEST_HARNESS_MAIN
