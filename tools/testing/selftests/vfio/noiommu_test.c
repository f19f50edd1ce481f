// SPDX-License-Identifier: GPL-2.0
/*
 * No-IOMMU mode (issue 13, item 4), in a guest booted without a virtual
 * IOMMU (run-checks.sh runs it under default:none): devices have no IOMMU
 * group there.  Without the vfio module's enable_unsafe_noiommu_mode,
 * vfio-pci refuses them; with it, binding one makes /dev/vfio/noiommu-$N,
 * taints the kernel (U), and the group works only in a container set to
 * VFIO_NOIOMMU_IOMMU, without DMA mapping ioctls: the device is driven with
 * physical addresses, here the edu's DMA engine with the physical address
 * of a locked page from /proc/self/pagemap.  Everything needs
 * CAP_SYS_RAWIO.  libvfiogroup and the vfio-group command list the group,
 * marked no-IOMMU.  With VFG_USE_KERNEL_VFIO=1 it runs against the kernel's
 * VFIO, or is skipped when that kernel has no CONFIG_VFIO_NOIOMMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"
#include "edu.h"

#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define TAINT_USER_BIT	(1UL << 6)
#define DMA_POOL	(64UL << 20)

/* Run @fn in a child without CAP_SYS_RAWIO; its errno, or -1. */
static int errno_without_rawio(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (vfg_drop_cap(CAP_SYS_RAWIO))
			_exit(255);
		_exit(fn(arg) < 0 ? errno : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static unsigned long taint_flags(void)
{
	unsigned long v = 0;

	vfg_sysfs_read_hex("/proc/sys/kernel/tainted", &v);
	return v;
}

/* The physical address of @p, locked, from /proc/self/pagemap; 0 if none. */
static uint64_t phys_addr(void *p)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, 8, (uintptr_t)p / psz * 8) != 8)
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * psz + (uintptr_t)p % psz;
}

FIXTURE(noiommu) {
	struct vfg_topo t;
	char path[64];
	int id;
	int group, container;
	const char *skip;	/* why each test skips, or NULL */
};

FIXTURE_SETUP(noiommu)
{
	self->group = -1;
	self->container = -1;
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	if (vfg_pci_group(self->t.lone) >= 0) {
		self->skip = "devices have IOMMU groups: boot with --iommu none";
		return;		/* each test skips */
	}
	ASSERT_EQ(0, vfg_vfio_load());
	/* Ours must have it; the kernel's only with CONFIG_VFIO_NOIOMMU. */
	if (vfg_ours())
		ASSERT_EQ(0, access(NOIOMMU_PARAM, F_OK));
	if (access(NOIOMMU_PARAM, F_OK)) {
		self->skip = "no enable_unsafe_noiommu_mode: "
			     "the kernel's VFIO lacks CONFIG_VFIO_NOIOMMU";
		return;
	}
	ASSERT_EQ(0, vfg_sysfs_write(NOIOMMU_PARAM, "0"));
}

FIXTURE_TEARDOWN(noiommu)
{
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	vfg_pci_unbind(self->t.lone);
	vfg_pci_set_override(self->t.lone, "");
	if (!access(NOIOMMU_PARAM, F_OK))
		vfg_sysfs_write(NOIOMMU_PARAM, "0");
}

/* Bind the lone edu in no-IOMMU mode; fill in its group's ID and node. */
static int bind_noiommu(FIXTURE_DATA(noiommu) *self)
{
	int ret = vfg_sysfs_write(NOIOMMU_PARAM, "1");

	if (ret)
		return ret;
	ret = vfg_pci_bind(self->t.lone, "vfio-pci");
	if (ret)
		return ret;
	self->id = vfg_pci_group(self->t.lone);
	if (self->id < 0)
		return self->id;
	snprintf(self->path, sizeof(self->path), "/dev/vfio/noiommu-%d",
		 self->id);
	return vfg_wait_path(self->path, true, 2000) ? 0 : -ENOENT;
}

/* Open the group and a container and put the group in it. */
static int open_noiommu(FIXTURE_DATA(noiommu) *self)
{
	self->group = open(self->path, O_RDWR);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	if (self->group < 0 || self->container < 0)
		return -1;
	return ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &self->container);
}

TEST_F(noiommu, refused_without_param)
{
	char drv[64] = "";

	if (self->skip)
		SKIP(return, "%s", self->skip);

	EXPECT_EQ(0, access("/dev/vfio/vfio", F_OK));
	EXPECT_NE(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
	vfg_pci_driver(self->t.lone, drv, sizeof(drv));
	EXPECT_STRNE("vfio-pci", drv);
	EXPECT_GT(0, vfg_pci_group(self->t.lone));
}

TEST_F(noiommu, group_and_taint)
{
	char name[64] = "", p[128];

	if (self->skip)
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bind_noiommu(self));
	snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%d/name", self->id);
	ASSERT_EQ(0, vfg_sysfs_read(p, name, sizeof(name)));
	EXPECT_STREQ("vfio-noiommu", name);
	snprintf(p, sizeof(p), "/dev/vfio/%d", self->id);
	EXPECT_NE(0, access(p, F_OK));
	EXPECT_TRUE(taint_flags() & TAINT_USER_BIT);

	/* Clearing the parameter keeps the group; unbinding removes it. */
	ASSERT_EQ(0, vfg_sysfs_write(NOIOMMU_PARAM, "0"));
	EXPECT_EQ(0, access(self->path, F_OK));
	ASSERT_EQ(0, vfg_pci_unbind(self->t.lone));
	EXPECT_TRUE(vfg_wait_path(self->path, false, 2000));
	EXPECT_GT(0, vfg_pci_group(self->t.lone));
}

TEST_F(noiommu, container)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = 4096,
	};
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int c2;

	if (self->skip)
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bind_noiommu(self));
	ASSERT_EQ(0, open_noiommu(self));
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_GET_STATUS, &st));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  st.flags);
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	/* No device before the container's IOMMU is set. */
	EXPECT_EQ(-1, ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD,
			    self->t.lone));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->container, VFIO_SET_IOMMU,
			    VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	map.vaddr = (uintptr_t)&map;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(ENOTTY, errno);

	/* The parameter off: no new no-IOMMU container. */
	ASSERT_EQ(0, vfg_sysfs_write(NOIOMMU_PARAM, "0"));
	c2 = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, c2);
	EXPECT_EQ(0, ioctl(c2, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	close(c2);
}

static int open_group_path(void *arg)
{
	return open(arg, O_RDWR);
}

struct get_fd {
	int group;
	const char *bdf;
};

static int get_device_fd(void *arg)
{
	struct get_fd *g = arg;

	return ioctl(g->group, VFIO_GROUP_GET_DEVICE_FD, g->bdf);
}

static int set_noiommu(void *arg)
{
	return ioctl(*(int *)arg, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU);
}

static int set_container(void *arg)
{
	int *fds = arg;

	return ioctl(fds[0], VFIO_GROUP_SET_CONTAINER, &fds[1]);
}

TEST_F(noiommu, needs_rawio)
{
	struct get_fd g;
	int fds[2];

	if (self->skip)
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bind_noiommu(self));
	EXPECT_EQ(EPERM, errno_without_rawio(open_group_path, self->path));
	self->group = open(self->path, O_RDWR);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->group);
	ASSERT_LE(0, self->container);
	fds[0] = self->group;
	fds[1] = self->container;
	EXPECT_EQ(EPERM, errno_without_rawio(set_container, fds));
	ASSERT_EQ(0, set_container(fds));
	EXPECT_EQ(EPERM, errno_without_rawio(set_noiommu, &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	g.group = self->group;
	g.bdf = self->t.lone;
	EXPECT_EQ(EPERM, errno_without_rawio(get_device_fd, &g));
}

/* The output of "vfio-group ARGS" (its stdout and stderr) in @buf. */
static int vfio_group_cmd(const char *args, char *buf, size_t len)
{
	const char *bin = getenv("VFG_CLI");
	char cmd[256];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1",
		 bin ? bin : "/opt/vfg/bin/vfio-group", args);
	fflush(stdout);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	return pclose(f);
}

/* libvfiogroup and vfio-group see the group, and say it is no-IOMMU. */
TEST_F(noiommu, listed_by_vfio_group)
{
	struct vfg_group_status *st = NULL;
	struct vfg_ctx *ctx;
	char node[64], want[128], args[64];
	static char out[16384];

	if (self->skip)
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bind_noiommu(self));
	ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, ctx);
	EXPECT_EQ(1, vfg_group_is_noiommu(ctx, self->id));
	ASSERT_EQ(0, vfg_group_get_node(ctx, self->id, node, sizeof(node)));
	EXPECT_STREQ(self->path, node);
	ASSERT_EQ(0, vfg_group_get_status(ctx, self->id, &st));
	EXPECT_EQ(1, st->noiommu);
	EXPECT_STREQ(self->path, st->node);
	EXPECT_EQ(1, st->viable);
	/* Ours publishes the group's attributes, under noiommu-N. */
	if (vfg_ours())
		EXPECT_EQ(1, st->from_kernel);
	vfg_group_status_free(st);

	/* Held (by us alone: not inherited by vfio-group). */
	self->group = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->group);
	ASSERT_EQ(0, vfio_group_cmd("list", out, sizeof(out)));
	snprintf(want, sizeof(want), "group %d (no-IOMMU, unsafe): viable\n",
		 self->id);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "    no IOMMU: %s;", self->path);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "    held by %d (", getpid());
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);

	snprintf(args, sizeof(args), "--json list %s", self->t.lone);
	ASSERT_EQ(0, vfio_group_cmd(args, out, sizeof(out)));
	snprintf(want, sizeof(want), "\"noiommu\":true,\"node\":\"%s\"}",
		 self->path);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);

	snprintf(args, sizeof(args), "explain %d", self->id);
	ASSERT_EQ(0, vfio_group_cmd(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "No IOMMU: VFIO's no-IOMMU mode"))
		TH_LOG("%s", out);
	vfg_ctx_free(ctx);
}

TEST_F(noiommu, device)
{
	struct vfio_region_info ri;
	uint16_t vendor = 0, cmd = 0;
	volatile void *bar;
	uint8_t *buf;
	size_t off;
	uint64_t pa;
	int fd;

	if (self->skip)
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bind_noiommu(self));
	ASSERT_EQ(0, open_noiommu(self));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	fd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->t.lone);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, vfg_region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri));
	ASSERT_EQ(2, pread(fd, &vendor, 2, ri.offset + PCI_VENDOR_ID));
	EXPECT_EQ(EDU_VENDOR, vendor);

	ASSERT_EQ(0, vfg_region_info(fd, VFIO_PCI_BAR0_REGION_INDEX, &ri));
	ASSERT_TRUE(ri.flags & VFIO_REGION_INFO_FLAG_MMAP);
	bar = mmap(NULL, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, ri.offset);
	ASSERT_NE(MAP_FAILED, bar);
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	EXPECT_EQ(120, edu_fact(bar, 5, false, 2000));

	/* Enable bus mastering, then DMA to a locked page by its address. */
	ASSERT_EQ(0, vfg_region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri));
	ASSERT_EQ(2, pread(fd, &cmd, 2, ri.offset + PCI_COMMAND));
	cmd |= PCI_COMMAND_MASTER;
	ASSERT_EQ(2, pwrite(fd, &cmd, 2, ri.offset + PCI_COMMAND));
	/* The edu masks addresses to 28 bits: find a page below 256 MiB. */
	buf = mmap(NULL, DMA_POOL, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	for (off = 0, pa = 0; off < DMA_POOL; off += 4096) {
		pa = phys_addr(buf + off);
		if (pa && !(pa >> EDU_DMA_BITS))
			break;
	}
	ASSERT_GT(DMA_POOL, off) TH_LOG("no locked page below 256 MiB");
	memset(buf + off, 0x5a, 64);
	ASSERT_TRUE(edu_dma(bar, pa, 64, false, 2000));
	memset(buf + off, 0, 64);
	ASSERT_TRUE(edu_dma(bar, pa, 64, true, 2000));
	EXPECT_EQ(0x5a, buf[off]);
	EXPECT_EQ(0x5a, buf[off + 63]);
	munmap(buf, DMA_POOL);
	munmap((void *)bar, EDU_BAR0_SIZE);
	close(fd);
	EXPECT_TRUE(taint_flags() & TAINT_USER_BIT);
}

TEST_HARNESS_MAIN
