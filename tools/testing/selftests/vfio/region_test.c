// SPDX-License-Identifier: GPL-2.0
/*
 * Device regions: VFIO_DEVICE_GET_REGION_INFO, pread/pwrite at
 * (index << 40) + offset, mmap of BARs, and the virtualised config space.
 *
 * Regions of a PCI device: BARs 0-5 (indexes 0-5), the ROM (6, read-only),
 * config space (7, read/write, never mmap), VGA (8).  The edu has one 1 MiB
 * MMIO BAR, no ROM, and 256 bytes of config space; the e1000e has MMIO
 * BARs 0, 1 and 3 (the MSI-X table and PBA are in BAR3), an I/O BAR 2, a
 * ROM and 4 KiB of config space.
 *
 * Config space is virtualised: BAR registers answer the sizing protocol
 * without moving the real BAR, read-only registers drop writes, and
 * interrupt line writes stay virtual.  Accesses of any size and alignment
 * inside config space are split as the hardware needs them.
 *
 * Where ours documents a different answer from the kernel's vfio-pci the
 * test asserts each one's (vfg_ours()).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define SZ_4K		0x1000UL
#define SZ_1M		0x100000UL
#define PCI_COMMAND	0x04
#define PCI_BAR0	0x10
#define PCI_ROM		0x30
#define PCI_INT_LINE	0x3c
#define PCI_CAP_MSIX	0x11
#define CMD_MASTER	0x4
#define RW		(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)
#define NO_REGION	9	/* first index past VFIO_PCI_NUM_REGIONS */

FIXTURE(region) {
	struct vfg_topo t;
	struct vfg_dev edu;
	struct vfg_dev nic;
	long pins_before;
};

FIXTURE_SETUP(region)
{
	vfg_dev_init(&self->edu);
	vfg_dev_init(&self->nic);
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ASSERT_EQ(0, vfg_dev_open(&self->edu, self->t.lone));
	ASSERT_EQ(0, vfg_dev_open(&self->nic, self->t.nic));
}

FIXTURE_TEARDOWN(region)
{
	vfg_dev_close(&self->edu);
	vfg_dev_close(&self->nic);
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* ---- helpers ------------------------------------------------------------ */

/* Size and flags of resource @i of @bdf, from sysfs "resource". */
static int host_resource(const char *bdf, int i, uint64_t *size,
			 uint64_t *flags)
{
	unsigned long long start, end, fl;
	char path[PATH_MAX], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < i)
		n++;
	fclose(f);
	if (n != i || sscanf(line, "%llx %llx %llx", &start, &end, &fl) != 3)
		return -1;
	*size = end ? end - start + 1 : 0;
	*flags = fl;
	return 0;
}

static uint32_t host_cfg32(const char *bdf, unsigned int off)
{
	uint32_t v = 0;

	vfg_pci_cfg_read(bdf, off, &v, 4);
	return v;
}

/* The MSI-X table of a device (BAR, offset, bytes) and its PBA. */
struct msix_table {
	int bar;
	uint32_t offset;
	uint32_t size;
	int pba_bar;
	uint32_t pba_offset;
};

static int find_msix(int fd, struct msix_table *m)
{
	uint8_t cfg[256];
	unsigned int pos;
	uint32_t table, pba;
	uint16_t flags;

	if (vfg_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
			    sizeof(cfg)) != sizeof(cfg))
		return -1;
	pos = vfg_pci_find_cap(cfg, PCI_CAP_MSIX);
	if (!pos)
		return -1;
	memcpy(&flags, cfg + pos + 2, 2);
	memcpy(&table, cfg + pos + 4, 4);
	memcpy(&pba, cfg + pos + 8, 4);
	m->bar = table & 7;
	m->offset = table & ~7u;
	m->pba_bar = pba & 7;
	m->pba_offset = pba & ~7u;
	m->size = ((flags & 0x7ff) + 1) * 16;
	return 0;
}

static uint32_t pread32(int fd, uint32_t index, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	if (vfg_region_read(fd, index, off, &v, 4) != 4)
		return 0xdeadbeef;
	return v;
}

static int pwrite32(int fd, uint32_t index, uint64_t off, uint32_t v)
{
	return vfg_region_write(fd, index, off, &v, 4) == 4 ? 0 : -1;
}

/* mmap with explicit flags; MAP_FAILED on failure. */
static void *map(int fd, uint32_t index, uint64_t off, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd,
		    VFG_REGION_OFFSET(index) + off);
}

/* ---- VFIO_DEVICE_GET_REGION_INFO ------------------------------------------- */

TEST_F(region, info_edu)
{
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info info;
	uint32_t i;

	ASSERT_EQ(0, ioctl(self->edu.fd, VFIO_DEVICE_GET_INFO, &dinfo));
	ASSERT_LE(VFIO_PCI_NUM_REGIONS, dinfo.num_regions);
	for (i = 0; i < VFIO_PCI_VGA_REGION_INDEX; i++) {
		ASSERT_EQ(0, vfg_region_info(self->edu.fd, i, &info));
		EXPECT_EQ(i, info.index);
		EXPECT_EQ(VFG_REGION_OFFSET(i), info.offset);
		EXPECT_FALSE(info.flags & VFIO_REGION_INFO_FLAG_CAPS);
	}

	ASSERT_EQ(0, vfg_region_info(self->edu.fd,
				     VFIO_PCI_CONFIG_REGION_INDEX, &info));
	EXPECT_EQ(256, info.size);
	EXPECT_EQ(RW, info.flags);

	ASSERT_EQ(0, vfg_region_info(self->edu.fd,
				     VFIO_PCI_BAR0_REGION_INDEX, &info));
	EXPECT_EQ(EDU_BAR0_SIZE, info.size);
	EXPECT_EQ(RW | VFIO_REGION_INFO_FLAG_MMAP, info.flags);

	/* Unimplemented BARs and the absent ROM: empty, no access. */
	for (i = VFIO_PCI_BAR1_REGION_INDEX; i <= VFIO_PCI_ROM_REGION_INDEX;
	     i++) {
		ASSERT_EQ(0, vfg_region_info(self->edu.fd, i, &info));
		EXPECT_EQ(0, info.size);
		EXPECT_EQ(0, info.flags);
	}

	/* Not a VGA device: no VGA region (vga_test has one). */
	EXPECT_ERRNO(EINVAL, vfg_region_info(self->edu.fd,
					     VFIO_PCI_VGA_REGION_INDEX, &info));
	EXPECT_ERRNO(EINVAL, vfg_region_info(self->edu.fd, dinfo.num_regions,
					     &info));
	EXPECT_ERRNO(EINVAL, vfg_region_info(self->edu.fd, UINT32_MAX, &info));
}

TEST_F(region, info_argsz)
{
	struct vfio_region_info info;
	size_t minsz = offsetof(struct vfio_region_info, offset) +
		       sizeof(info.offset);

	memset(&info, 0, sizeof(info));
	info.index = VFIO_PCI_BAR0_REGION_INDEX;
	info.argsz = minsz - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->edu.fd, VFIO_DEVICE_GET_REGION_INFO,
				   &info));
	info.argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->edu.fd, VFIO_DEVICE_GET_REGION_INFO,
				   &info));
	EXPECT_ERRNO(EFAULT, ioctl(self->edu.fd, VFIO_DEVICE_GET_REGION_INFO,
				   NULL));
	/* A longer argsz is fine and is not changed without capabilities. */
	info.argsz = minsz + 64;
	ASSERT_EQ(0, ioctl(self->edu.fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	EXPECT_EQ(minsz + 64, info.argsz);
	EXPECT_EQ(EDU_BAR0_SIZE, info.size);
}

/* Every e1000e region against what the host sees in sysfs. */
TEST_F(region, info_nic)
{
	struct vfio_region_info info;
	struct msix_table m;
	uint64_t size, flags;
	uint32_t i;

	ASSERT_EQ(0, find_msix(self->nic.fd, &m));
	ASSERT_EQ(0, vfg_region_info(self->nic.fd,
				     VFIO_PCI_CONFIG_REGION_INDEX, &info));
	EXPECT_EQ(4096, info.size);
	EXPECT_EQ(RW, info.flags);

	for (i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		ASSERT_EQ(0, host_resource(self->t.nic, i, &size, &flags));
		ASSERT_EQ(0, vfg_region_info(self->nic.fd, i, &info));
		EXPECT_EQ(VFG_REGION_OFFSET(i), info.offset);
		EXPECT_EQ(size, info.size) TH_LOG("BAR%u", i);
		if (!size) {
			EXPECT_EQ(0, info.flags);
			continue;
		}
		/* MMIO BARs of a page or more are mappable; I/O ones not. */
		if (flags & 0x200) {
			EXPECT_EQ(RW | VFIO_REGION_INFO_FLAG_MMAP,
				  info.flags & ~VFIO_REGION_INFO_FLAG_CAPS)
				TH_LOG("BAR%u", i);
		} else {
			EXPECT_EQ(RW, info.flags) TH_LOG("BAR%u", i);
		}
		/* Only the MSI-X BAR has capabilities. */
		EXPECT_EQ((int)i == m.bar,
			  !!(info.flags & VFIO_REGION_INFO_FLAG_CAPS))
			TH_LOG("BAR%u", i);
	}

	ASSERT_EQ(0, host_resource(self->t.nic, 6, &size, &flags));
	ASSERT_LT(0, size);
	ASSERT_EQ(0, vfg_region_info(self->nic.fd, VFIO_PCI_ROM_REGION_INDEX,
				     &info));
	EXPECT_EQ(size, info.size);
	EXPECT_EQ(VFIO_REGION_INFO_FLAG_READ, info.flags);
}

/*
 * The MSI-X BAR carries capabilities.  Too small an argsz gets the size
 * needed back and cap_offset 0; enough gets a well-formed chain right
 * after the structure.  With MSIX_MAPPABLE the table may be mapped; with
 * SPARSE_MMAP the areas must leave the table's pages out.  The kernel's
 * vfio-pci offers MSIX_MAPPABLE; ours does where interrupts are remapped,
 * and SPARSE_MMAP around the table where they are not.
 */
TEST_F(region, msix_bar_caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse = NULL;
	struct vfio_info_cap_header *hdr;
	bool mappable = false;
	uint64_t tstart, tend, bar_end;
	struct vfio_region_info *info;
	struct msix_table m;
	char buf[4096];
	uint32_t off, i, hops = 0;
	void *p;

	ASSERT_EQ(0, find_msix(self->nic.fd, &m));
	info = (void *)buf;
	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(*info);
	info->index = m.bar;
	info->cap_offset = 0xdead;
	ASSERT_EQ(0, ioctl(self->nic.fd, VFIO_DEVICE_GET_REGION_INFO, info));
	ASSERT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_CAPS);
	EXPECT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_MMAP);
	EXPECT_EQ(0, info->cap_offset);
	ASSERT_LT(sizeof(*info), info->argsz);
	ASSERT_GE(sizeof(buf), info->argsz);

	info->argsz = sizeof(buf);
	ASSERT_EQ(0, ioctl(self->nic.fd, VFIO_DEVICE_GET_REGION_INFO, info));
	ASSERT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_CAPS);
	ASSERT_LE(sizeof(*info), info->cap_offset);
	for (off = info->cap_offset; off; off = hdr->next) {
		ASSERT_LE(off + sizeof(*hdr), sizeof(buf));
		ASSERT_EQ(0, off % 4);
		ASSERT_GT(16, ++hops);
		hdr = (void *)(buf + off);
		if (hdr->id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE)
			mappable = true;
		if (hdr->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			sparse = (void *)hdr;
		if (hdr->next) {
			ASSERT_LT(off, hdr->next);
		}
	}

	if (vfg_ours()) {
		EXPECT_EQ(vfg_irq_remapping(), mappable);
	} else {
		EXPECT_TRUE(mappable);
	}
	if (!mappable)
		ASSERT_NE(NULL, sparse);

	/* Mappable or not, the whole BAR maps only if the table may. */
	p = vfg_region_mmap(self->nic.fd, m.bar, 0, info->size, PROT_READ);
	if (mappable) {
		EXPECT_NE(NULL, p);
	} else {
		EXPECT_EQ(NULL, p);
		EXPECT_EQ(EINVAL, errno);
	}
	if (p)
		munmap(p, info->size);
	if (!sparse)
		return;

	/* The areas: page-aligned, inside the BAR, clear of the table. */
	tstart = m.offset & ~(SZ_4K - 1);
	tend = (m.offset + m.size + SZ_4K - 1) & ~(SZ_4K - 1);
	bar_end = (info->size + SZ_4K - 1) & ~(SZ_4K - 1);
	ASSERT_LE((char *)&sparse->areas[sparse->nr_areas] - buf, sizeof(buf));
	for (i = 0; i < sparse->nr_areas; i++) {
		uint64_t s = sparse->areas[i].offset;
		uint64_t e = s + sparse->areas[i].size;

		EXPECT_EQ(0, s % SZ_4K);
		EXPECT_LT(s, e);
		EXPECT_LE(e, bar_end);
		EXPECT_TRUE(e <= tstart || s >= tend)
			TH_LOG("area %#llx-%#llx covers the table",
			       (unsigned long long)s, (unsigned long long)e);
		if (i) {
			EXPECT_LE(sparse->areas[i - 1].offset +
				  sparse->areas[i - 1].size, s);
		}
		/* Each area can really be mapped. */
		p = vfg_region_mmap(self->nic.fd, m.bar, s, e - s, PROT_READ);
		EXPECT_NE(NULL, p);
		if (p)
			munmap(p, e - s);
	}
}

/*
 * Through pread/pwrite the MSI-X table is hidden: it reads as all ones and
 * writes to it are dropped (the vectors belong to the host).  The rest of
 * the BAR, the PBA included, reads normally.
 */
TEST_F(region, msix_table_hidden)
{
	struct msix_table m;
	uint32_t v = 0x12345678;
	uint8_t b[6];

	ASSERT_EQ(0, find_msix(self->nic.fd, &m));
	EXPECT_EQ(0xffffffff, pread32(self->nic.fd, m.bar, m.offset));
	EXPECT_EQ(0xffffffff, pread32(self->nic.fd, m.bar,
				      m.offset + m.size - 4));
	EXPECT_EQ(4, vfg_region_write(self->nic.fd, m.bar, m.offset + 4, &v,
				      4));
	EXPECT_EQ(0xffffffff, pread32(self->nic.fd, m.bar, m.offset + 4));
	/* Straddling the end of the table: ones, then the device's bytes. */
	ASSERT_EQ(6, vfg_region_read(self->nic.fd, m.bar,
				     m.offset + m.size - 2, b, 6));
	EXPECT_EQ(0xff, b[0]);
	EXPECT_EQ(0xff, b[1]);
	/* Nothing is pending while MSI-X is off: the PBA reads 0. */
	if (m.pba_bar == m.bar)
		EXPECT_EQ(0, pread32(self->nic.fd, m.bar, m.pba_offset));
}

/* ---- pread and pwrite --------------------------------------------------- */

/* Identity registers read the same through the device fd and sysfs. */
static void check_identity(struct __test_metadata *_metadata, int fd,
			   const char *bdf)
{
	static const unsigned int regs[] = { 0x00, 0x08, 0x2c };
	uint8_t dev[64], host[64];
	unsigned int i;

	ASSERT_EQ(64, vfg_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, 0,
				      dev, 64));
	ASSERT_EQ(0, vfg_pci_cfg_read(bdf, 0, host, 64));
	for (i = 0; i < ARRAY_SIZE(regs); i++)
		EXPECT_EQ(0, memcmp(dev + regs[i], host + regs[i], 4))
			TH_LOG("%s: config %#x", bdf, regs[i]);
	EXPECT_EQ(host[0x0e], dev[0x0e]);	/* header type */
	EXPECT_EQ(host[0x3d], dev[0x3d]);	/* interrupt pin */
}

TEST_F(region, config_identity)
{
	check_identity(_metadata, self->edu.fd, self->t.lone);
	check_identity(_metadata, self->nic.fd, self->t.nic);
	EXPECT_EQ(EDU_VENDOR | EDU_DEVICE << 16,
		  vfg_cfg_read32(self->edu.fd, 0));
}

/*
 * The whole config space reads; past its end nothing does.  The kernel
 * says EFAULT there, ours EINVAL.  A read straddling the end is cut short
 * at the end by ours, refused whole (EFAULT) by the kernel.
 */
TEST_F(region, config_bounds)
{
	uint8_t cfg[4096];
	ssize_t n;

	EXPECT_EQ(256, vfg_region_read(self->edu.fd,
				       VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
				       256));
	EXPECT_EQ(4096, vfg_region_read(self->nic.fd,
					VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
					4096));
	EXPECT_ERRNO(vfg_ours() ? EINVAL : EFAULT,
		     vfg_region_read(self->edu.fd,
				     VFIO_PCI_CONFIG_REGION_INDEX, 256, cfg,
				     4));
	EXPECT_ERRNO(vfg_ours() ? EINVAL : EFAULT,
		     vfg_region_read(self->nic.fd,
				     VFIO_PCI_CONFIG_REGION_INDEX, 4096, cfg,
				     4));
	n = vfg_region_read(self->edu.fd, VFIO_PCI_CONFIG_REGION_INDEX, 252,
			    cfg, 8);
	if (vfg_ours()) {
		EXPECT_EQ(4, n);
	} else {
		EXPECT_TRUE(n == -1 && errno == EFAULT);
	}
	/* Writes past the end are refused too. */
	EXPECT_EQ(-1, vfg_region_write(self->edu.fd,
				       VFIO_PCI_CONFIG_REGION_INDEX, 256, cfg,
				       4));
	/* Zero bytes is zero bytes. */
	EXPECT_EQ(0, vfg_region_read(self->edu.fd,
				     VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg, 0));
}

/* edu's registers by pread/pwrite. */
TEST_F(region, bar_rw)
{
	uint64_t w = 0x0abcdef0, r = 0;
	int fd = self->edu.fd;
	uint8_t b[8];
	uint32_t v;
	ssize_t n;
	int i;

	EXPECT_EQ(EDU_ID, pread32(fd, 0, EDU_REG_ID));
	ASSERT_EQ(0, pwrite32(fd, 0, EDU_REG_LIVENESS, 0x12345678));
	EXPECT_EQ(~0x12345678u, pread32(fd, 0, EDU_REG_LIVENESS));
	/* Factorial: write n, wait for the computing bit, read n!. */
	ASSERT_EQ(0, pwrite32(fd, 0, EDU_REG_STATUS, 0));
	ASSERT_EQ(0, pwrite32(fd, 0, EDU_REG_FACT, 6));
	for (i = 0; i < 5000 && (pread32(fd, 0, EDU_REG_STATUS) & 1); i++)
		usleep(1000);
	EXPECT_EQ(720, pread32(fd, 0, EDU_REG_FACT));
	/*
	 * 8 bytes at once.  The kernel's vfio-pci (6.1) splits them into two
	 * 4-byte accesses, which edu's 64-bit DMA registers answer only for
	 * their low half, so only that half is compared.
	 */
	ASSERT_EQ(8, vfg_region_write(fd, 0, EDU_REG_DMA_SRC, &w, 8));
	ASSERT_EQ(8, vfg_region_read(fd, 0, EDU_REG_DMA_SRC, &r, 8));
	EXPECT_EQ(w, r & 0xffffffff);
	EXPECT_EQ(w, pread32(fd, 0, EDU_REG_DMA_SRC));
	/* The last dword reads; past the end does not. */
	EXPECT_EQ(4, vfg_region_read(fd, 0, EDU_BAR0_SIZE - 4, &v, 4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(fd, 0, EDU_BAR0_SIZE, &v, 4));
	EXPECT_ERRNO(EINVAL, vfg_region_write(fd, 0, EDU_BAR0_SIZE, &v, 4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(fd, 0, VFG_REGION_OFFSET(1) - 4,
					     &v, 4));
	/* Across the end: cut short at the end. */
	n = vfg_region_read(fd, 0, EDU_BAR0_SIZE - 4, b, 8);
	EXPECT_EQ(4, n);
}

/* Indexes without a region, and regions without content. */
TEST_F(region, rw_bad_index)
{
	uint32_t v;

	EXPECT_ERRNO(EINVAL, vfg_region_read(self->edu.fd, NO_REGION, 0, &v,
					     4));
	EXPECT_ERRNO(EINVAL, vfg_region_write(self->edu.fd, NO_REGION, 0, &v,
					      4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->edu.fd, 0x7fff, 0, &v, 4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->edu.fd,
					     VFIO_PCI_VGA_REGION_INDEX, 0, &v,
					     4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->edu.fd,
					     VFIO_PCI_BAR1_REGION_INDEX, 0, &v,
					     4));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->edu.fd,
					     VFIO_PCI_ROM_REGION_INDEX, 0, &v,
					     4));
	/* A negative file offset. */
	EXPECT_ERRNO(EINVAL, pread(self->edu.fd, &v, 4, -4));
}

/* The ROM reads (it starts with 55 aa) and cannot be written. */
TEST_F(region, rom_read_only)
{
	struct vfio_region_info info;
	uint8_t sig[2] = { 0, 0 };

	ASSERT_EQ(0, vfg_region_info(self->nic.fd, VFIO_PCI_ROM_REGION_INDEX,
				     &info));
	ASSERT_LT(0, info.size);
	ASSERT_EQ(2, vfg_region_read(self->nic.fd, VFIO_PCI_ROM_REGION_INDEX,
				     0, sig, 2));
	EXPECT_EQ(0x55, sig[0]);
	EXPECT_EQ(0xaa, sig[1]);
	EXPECT_ERRNO(EINVAL, vfg_region_write(self->nic.fd,
					      VFIO_PCI_ROM_REGION_INDEX, 0,
					      sig, 2));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->nic.fd,
					     VFIO_PCI_ROM_REGION_INDEX,
					     info.size, sig, 2));
}

/* ---- mmap --------------------------------------------------------------- */

TEST_F(region, bar_mmap)
{
	volatile void *bar;
	void *page;

	bar = vfg_region_mmap(self->edu.fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			      EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar);
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	edu_write32(bar, EDU_REG_LIVENESS, 0xcafef00d);
	EXPECT_EQ(~0xcafef00du, edu_read32(bar, EDU_REG_LIVENESS));
	EXPECT_EQ(~0xcafef00du, pread32(self->edu.fd, 0, EDU_REG_LIVENESS));
	EXPECT_EQ(3628800, edu_fact(bar, 10, false, 5000));
	munmap((void *)bar, EDU_BAR0_SIZE);

	/* Part of a BAR, and read-only. */
	page = vfg_region_mmap(self->edu.fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			       SZ_4K, PROT_READ);
	ASSERT_NE(NULL, page);
	EXPECT_EQ(EDU_ID, edu_read32(page, EDU_REG_ID));
	munmap(page, SZ_4K);
	page = vfg_region_mmap(self->edu.fd, VFIO_PCI_BAR0_REGION_INDEX,
			       EDU_BAR0_SIZE - SZ_4K, SZ_4K, PROT_READ);
	EXPECT_NE(NULL, page);
	if (page)
		munmap(page, SZ_4K);
}

TEST_F(region, mmap_errors)
{
	int fd = self->edu.fd;

	EXPECT_EQ(MAP_FAILED, map(fd, 0, 0, SZ_4K, MAP_PRIVATE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, 0, 0, 2 * SZ_1M, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, 0, SZ_1M, SZ_4K, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, 0, SZ_1M - SZ_4K, 2 * SZ_4K,
				  MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, VFIO_PCI_CONFIG_REGION_INDEX, 0, SZ_4K,
				  MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, VFIO_PCI_BAR1_REGION_INDEX, 0, SZ_4K,
				  MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, VFIO_PCI_VGA_REGION_INDEX, 0, SZ_4K,
				  MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(fd, NO_REGION, 0, SZ_4K, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	/* The ROM is read with pread only. */
	EXPECT_EQ(MAP_FAILED, map(self->nic.fd, VFIO_PCI_ROM_REGION_INDEX, 0,
				  SZ_4K, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
	/* An I/O BAR cannot be mapped. */
	EXPECT_EQ(MAP_FAILED, map(self->nic.fd, VFIO_PCI_BAR2_REGION_INDEX, 0,
				  SZ_4K, MAP_SHARED));
	EXPECT_EQ(EINVAL, errno);
}

/* ---- virtualised config space ------------------------------------------- */

/*
 * Sizing BAR0: all ones written, the size mask (and the type bits) read
 * back; the host's BAR does not move, so the device keeps answering; the
 * old value written back reads back.  An unimplemented BAR reads 0.
 */
TEST_F(region, bar_sizing)
{
	int fd = self->edu.fd;
	uint32_t host = host_cfg32(self->t.lone, PCI_BAR0);
	uint32_t orig = vfg_cfg_read32(fd, PCI_BAR0);
	volatile void *bar;

	bar = vfg_region_mmap(fd, 0, 0, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar);
	EXPECT_EQ(host, orig);
	ASSERT_EQ(0, vfg_cfg_write32(fd, PCI_BAR0, 0xffffffff));
	EXPECT_EQ(0xfff00000 | (orig & 0xf), vfg_cfg_read32(fd, PCI_BAR0));
	EXPECT_EQ(host, host_cfg32(self->t.lone, PCI_BAR0));
	EXPECT_EQ(EDU_ID, pread32(fd, 0, EDU_REG_ID));
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));

	ASSERT_EQ(0, vfg_cfg_write32(fd, PCI_BAR0, orig));
	EXPECT_EQ(orig, vfg_cfg_read32(fd, PCI_BAR0));
	EXPECT_EQ(host, host_cfg32(self->t.lone, PCI_BAR0));
	EXPECT_EQ(EDU_ID, pread32(fd, 0, EDU_REG_ID));
	edu_write32(bar, EDU_REG_LIVENESS, 7);
	EXPECT_EQ(~7u, edu_read32(bar, EDU_REG_LIVENESS));

	ASSERT_EQ(0, vfg_cfg_write32(fd, PCI_BAR0 + 4, 0xffffffff));
	EXPECT_EQ(0, vfg_cfg_read32(fd, PCI_BAR0 + 4));
	munmap((void *)bar, EDU_BAR0_SIZE);
}

/*
 * Sizing the ROM BAR as QEMU does (0xfffff800): an absent ROM reads 0, a
 * present one its size mask; the host's ROM BAR is untouched.
 */
TEST_F(region, rom_sizing)
{
	uint32_t host = host_cfg32(self->t.nic, PCI_ROM);
	uint64_t size, flags;

	ASSERT_EQ(0, vfg_cfg_write32(self->edu.fd, PCI_ROM, 0xfffff800));
	EXPECT_EQ(0, vfg_cfg_read32(self->edu.fd, PCI_ROM));

	ASSERT_EQ(0, host_resource(self->t.nic, 6, &size, &flags));
	ASSERT_LT(0, size);
	ASSERT_EQ(0, vfg_cfg_write32(self->nic.fd, PCI_ROM, 0xfffff800));
	EXPECT_EQ((uint32_t)~(size - 1) & 0xfffff800,
		  vfg_cfg_read32(self->nic.fd, PCI_ROM));
	EXPECT_EQ(host, host_cfg32(self->t.nic, PCI_ROM));
}

/* Writes to read-only registers are dropped; the interrupt line is virtual. */
TEST_F(region, readonly_registers)
{
	int fd = self->edu.fd;
	uint32_t id = vfg_cfg_read32(fd, 0x00), cls = vfg_cfg_read32(fd, 0x08);
	uint32_t sub = vfg_cfg_read32(fd, 0x2c);
	uint8_t hdr, pin, line, host_line, v;

	ASSERT_EQ(1, vfg_region_read(fd, 7, 0x0e, &hdr, 1));
	ASSERT_EQ(1, vfg_region_read(fd, 7, 0x3d, &pin, 1));
	ASSERT_EQ(0, vfg_pci_cfg_read(self->t.lone, PCI_INT_LINE, &host_line,
				      1));
	EXPECT_EQ(0, vfg_cfg_write32(fd, 0x00, 0xffffffff));
	EXPECT_EQ(0, vfg_cfg_write32(fd, 0x08, 0xffffffff));
	EXPECT_EQ(0, vfg_cfg_write32(fd, 0x2c, 0xffffffff));
	v = 0x7f;
	EXPECT_EQ(1, vfg_region_write(fd, 7, 0x0e, &v, 1));
	EXPECT_EQ(1, vfg_region_write(fd, 7, 0x3d, &v, 1));
	EXPECT_EQ(id, vfg_cfg_read32(fd, 0x00));
	EXPECT_EQ(cls, vfg_cfg_read32(fd, 0x08));
	EXPECT_EQ(sub, vfg_cfg_read32(fd, 0x2c));
	ASSERT_EQ(1, vfg_region_read(fd, 7, 0x0e, &v, 1));
	EXPECT_EQ(hdr, v);
	ASSERT_EQ(1, vfg_region_read(fd, 7, 0x3d, &v, 1));
	EXPECT_EQ(pin, v);
	EXPECT_EQ(id, host_cfg32(self->t.lone, 0x00));
	EXPECT_EQ(cls, host_cfg32(self->t.lone, 0x08));

	/* The guest's interrupt line is its own business. */
	line = host_line ^ 0x5a;
	EXPECT_EQ(1, vfg_region_write(fd, 7, PCI_INT_LINE, &line, 1));
	ASSERT_EQ(1, vfg_region_read(fd, 7, PCI_INT_LINE, &v, 1));
	EXPECT_EQ(line, v);
	ASSERT_EQ(0, vfg_pci_cfg_read(self->t.lone, PCI_INT_LINE, &v, 1));
	EXPECT_EQ(host_line, v);
}

/* Bus mastering starts off and follows userspace's command writes. */
TEST_F(region, command_bus_master)
{
	int fd = self->edu.fd;
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND), host;
	uint8_t lo;

	EXPECT_FALSE(cmd & CMD_MASTER);
	ASSERT_EQ(0, vfg_cfg_write16(fd, PCI_COMMAND, cmd | CMD_MASTER));
	EXPECT_TRUE(vfg_cfg_read16(fd, PCI_COMMAND) & CMD_MASTER);
	ASSERT_EQ(0, vfg_pci_cfg_read(self->t.lone, PCI_COMMAND, &host, 2));
	EXPECT_TRUE(host & CMD_MASTER);
	/* A one-byte write of the low half does the same. */
	lo = cmd & 0xff & ~CMD_MASTER;
	ASSERT_EQ(1, vfg_region_write(fd, 7, PCI_COMMAND, &lo, 1));
	EXPECT_FALSE(vfg_cfg_read16(fd, PCI_COMMAND) & CMD_MASTER);
	ASSERT_EQ(0, vfg_pci_cfg_read(self->t.lone, PCI_COMMAND, &host, 2));
	EXPECT_FALSE(host & CMD_MASTER);
}

/*
 * Accesses of any size and alignment: each returns exactly the bytes that
 * byte-by-byte reads return (3 bytes at 1, 2 across a dword boundary, 8
 * over two BARs, and the whole header at once).
 */
TEST_F(region, config_unaligned)
{
	int fd = self->edu.fd;
	uint8_t bytes[64], buf[64];
	unsigned int i;

	for (i = 0; i < 64; i++)
		ASSERT_EQ(1, vfg_region_read(fd, 7, i, &bytes[i], 1));
	ASSERT_EQ(3, vfg_region_read(fd, 7, 1, buf, 3));
	EXPECT_EQ(0, memcmp(bytes + 1, buf, 3));
	ASSERT_EQ(2, vfg_region_read(fd, 7, 3, buf, 2));
	EXPECT_EQ(0, memcmp(bytes + 3, buf, 2));
	ASSERT_EQ(8, vfg_region_read(fd, 7, PCI_BAR0, buf, 8));
	EXPECT_EQ(0, memcmp(bytes + PCI_BAR0, buf, 8));
	ASSERT_EQ(7, vfg_region_read(fd, 7, 0x29, buf, 7));
	EXPECT_EQ(0, memcmp(bytes + 0x29, buf, 7));
	ASSERT_EQ(64, vfg_region_read(fd, 7, 0, buf, 64));
	EXPECT_EQ(0, memcmp(bytes, buf, 64));
	/* And the vendor ID is what the host reads. */
	EXPECT_EQ(EDU_VENDOR & 0xff, bytes[0]);
	EXPECT_EQ(EDU_VENDOR >> 8, bytes[1]);
}

TEST_HARNESS_MAIN
