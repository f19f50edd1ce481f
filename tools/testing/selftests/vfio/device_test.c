// SPDX-License-Identifier: GPL-2.0
/*
 * Device fds: getting one from a group, what it keeps alive, device info,
 * reset and hot reset, the state the last close leaves behind, DMA driven
 * through it, and the edu sample driver.  Regions are in region_test.c,
 * interrupts in irq_test.c.
 *
 * VFIO_GROUP_GET_DEVICE_FD names a device by PCI address.  It is granted
 * only for a viable group attached to a container whose IOMMU is set: a
 * group that is not viable gets EPERM (the kernel's vfio: EINVAL, as such a
 * group can never be attached), one without a usable container EINVAL, and
 * a name that is not a member bound to vfio-pci ENODEV.
 *
 * Every fixture starts from boot state, loads the stack under test (ours,
 * or the kernel's with VFG_USE_KERNEL_VFIO=1) and binds the lone edu, the
 * edu behind the root port and the e1000e to vfio-pci.  Teardown checks
 * that nothing stays pinned and no interrupt stays requested, then puts
 * boot state back.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

#define SZ_4K		0x1000UL
#define SZ_64K		0x10000UL
#define IOVA_A		0x1000000UL	/* inside edu's 28-bit DMA reach */
#define PCI_COMMAND	0x04
#define CMD_MEMORY	0x2
#define CMD_MASTER	0x4
#define SAMPLE		"/opt/vfg/bin/vfio-edu-sample"

FIXTURE(dev) {
	struct vfg_topo t;
	struct vfg_dev d;	/* the device under test */
	struct vfg_dev d2;	/* a second one, where a test needs it */
	long pins_before;
};

FIXTURE_SETUP(dev)
{
	vfg_dev_init(&self->d);
	vfg_dev_init(&self->d2);
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
}

FIXTURE_TEARDOWN(dev)
{
	vfg_dev_close(&self->d);
	vfg_dev_close(&self->d2);
	/* EXPECT, not ASSERT: an assertion here would re-enter teardown. */
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* ---- helpers ------------------------------------------------------------ */

static int get_device_fd(int group, const char *name)
{
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
}

static void *alloc_buf(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The command register as the host sees it, through sysfs. */
static uint16_t host_command(const char *bdf)
{
	uint16_t cmd = 0xffff;

	vfg_pci_cfg_read(bdf, PCI_COMMAND, &cmd, 2);
	return cmd;
}

/* Set or clear bits of the command register through the device fd. */
static int set_command(int fd, uint16_t set, uint16_t clear)
{
	uint16_t cmd = vfg_cfg_read16(fd, PCI_COMMAND);

	if (cmd == 0xffff)
		return -1;
	return vfg_cfg_write16(fd, PCI_COMMAND, (cmd | set) & ~clear);
}

/* edu's BAR0, mapped through the device fd. */
static volatile void *map_bar0(int fd)
{
	return vfg_region_mmap(fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			       EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
}

/* edu's ID register read with pread on the device fd (0 on error). */
static uint32_t pread_id(int fd)
{
	uint32_t v = 0;

	if (vfg_region_read(fd, VFIO_PCI_BAR0_REGION_INDEX, EDU_REG_ID, &v,
			    4) != 4)
		return 0;
	return v;
}

/* The edu still works: config, pread and (when given) the mapping. */
static bool edu_alive(int fd, volatile void *bar)
{
	if ((vfg_cfg_read32(fd, 0) & 0xffff) != EDU_VENDOR)
		return false;
	if (pread_id(fd) != EDU_ID)
		return false;
	if (!bar)
		return true;
	edu_write32(bar, EDU_REG_LIVENESS, 0x1234abcd);
	return edu_read32(bar, EDU_REG_ID) == EDU_ID &&
	       edu_read32(bar, EDU_REG_LIVENESS) == ~0x1234abcdu;
}

/* Unbind the bridge from shpchp and give both edus behind it to vfio-pci. */
static int bridge_group_to_vfio(const struct vfg_topo *t)
{
	if (vfg_pci_unbind(t->bridge) ||
	    vfg_pci_bind(t->bedu[0], "vfio-pci") ||
	    vfg_pci_bind(t->bedu[1], "vfio-pci"))
		return -1;
	return 0;
}

/* ---- VFIO_GROUP_GET_DEVICE_FD -------------------------------------------- */

TEST_F(dev, get_fd_by_name)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	self->d.fd = get_device_fd(self->d.group, self->t.lone);
	ASSERT_LE(0, self->d.fd);
	/* A new fd, close-on-exec like every fd vfio hands out. */
	EXPECT_NE(self->d.group, self->d.fd);
	EXPECT_NE(self->d.container, self->d.fd);
	EXPECT_TRUE(fcntl(self->d.fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_TRUE(edu_alive(self->d.fd, NULL));
	/* A device fd answers device ioctls only. */
	EXPECT_ERRNO(ENOTTY, ioctl(self->d.fd, VFIO_GET_API_VERSION));
	EXPECT_ERRNO(ENOTTY, ioctl(self->d.fd, _IO(VFIO_TYPE, VFIO_BASE + 99)));
}

/* Names that are not a member of the group: ENODEV. */
TEST_F(dev, get_fd_unknown_name)
{
	char other[PATH_MAX];

	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, "nonsense"));
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, ""));
	/* Bound to vfio-pci, but in another group. */
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, self->t.pedu));
	/* The right name with a character missing or added. */
	snprintf(other, sizeof(other), "%.11s", self->t.lone);
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, other));
	snprintf(other, sizeof(other), "%sx", self->t.lone);
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, other));
	/* Still usable after all that. */
	self->d.fd = get_device_fd(self->d.group, self->t.lone);
	EXPECT_LE(0, self->d.fd);
}

TEST_F(dev, get_fd_bad_name_pointer)
{
	char *big;

	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	EXPECT_ERRNO(EFAULT, get_device_fd(self->d.group, NULL));
	/* Longer than a page without a NUL: refused, not read past. */
	big = malloc(3 * SZ_4K);
	ASSERT_NE(NULL, big);
	memset(big, 'a', 3 * SZ_4K - 1);
	big[3 * SZ_4K - 1] = '\0';
	EXPECT_ERRNO(EINVAL, get_device_fd(self->d.group, big));
	free(big);
}

/* Without a container, or with one whose IOMMU is not set: EINVAL. */
TEST_F(dev, get_fd_needs_container_with_iommu)
{
	int group_id = vfg_pci_group(self->t.lone);
	int group, container, fd;

	ASSERT_LE(0, group_id);
	group = vfg_group_open(group_id);
	ASSERT_LE(0, group);
	EXPECT_ERRNO(EINVAL, get_device_fd(group, self->t.lone));
	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_ERRNO(EINVAL, get_device_fd(group, self->t.lone));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	fd = get_device_fd(group, self->t.lone);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	close(group);
	close(container);
}

/*
 * The bridge group with the bridge still on shpchp is not viable: it cannot
 * be attached, and a device fd is refused.  Ours says EPERM, as for
 * everything a non-viable group asks for; the kernel checks for a container
 * first and says EINVAL.
 */
TEST_F(dev, get_fd_not_viable)
{
	int group, container;

	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[0], "vfio-pci"));
	group = vfg_group_open(vfg_pci_group(self->t.bedu[0]));
	ASSERT_LE(0, group);
	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	EXPECT_ERRNO(EPERM, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_ERRNO(vfg_ours() ? EPERM : EINVAL,
		     get_device_fd(group, self->t.bedu[0]));
	close(container);
	close(group);
}

/* A member that is not bound to vfio-pci gets no device fd. */
TEST_F(dev, get_fd_member_not_vfio)
{
	int fd;

	/* Viable: bridge and bedu[1] unbound, bedu[0] on vfio-pci. */
	ASSERT_EQ(0, vfg_pci_unbind(self->t.bridge));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[0], "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.bedu[0]));
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, self->t.bedu[1]));
	EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group, self->t.bridge));
	fd = get_device_fd(self->d.group, self->t.bedu[0]);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/*
 * Two fds on one device share it: closing one is not the last close, so
 * the device keeps its state (bus mastering stays on) until the other goes.
 */
TEST_F(dev, get_fd_twice)
{
	int fd2;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	fd2 = get_device_fd(self->d.group, self->t.lone);
	ASSERT_LE(0, fd2);
	ASSERT_NE(self->d.fd, fd2);
	ASSERT_EQ(0, set_command(self->d.fd, CMD_MASTER, 0));
	EXPECT_TRUE(vfg_cfg_read16(fd2, PCI_COMMAND) & CMD_MASTER);
	close(self->d.fd);
	self->d.fd = -1;
	EXPECT_TRUE(edu_alive(fd2, NULL));
	EXPECT_TRUE(vfg_cfg_read16(fd2, PCI_COMMAND) & CMD_MASTER);
	EXPECT_TRUE(host_command(self->t.lone) & CMD_MASTER);
	close(fd2);
	EXPECT_FALSE(host_command(self->t.lone) & CMD_MASTER);
}

/*
 * A device fd keeps what it needs: with the group and container fds closed
 * it still reads and writes the device, and the container's mappings stay
 * in place for its DMA.  The group stays attached while the device fd is
 * open, so UNSET_CONTAINER is refused (EBUSY), and nobody may reopen the
 * group (EBUSY) while the device fd lives in our address space; ours shows
 * no holder of the group fd meanwhile.  The last close of the device fd
 * detaches the group, which then opens again.
 */
TEST_F(dev, device_fd_keeps_group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	uint8_t *buf = alloc_buf(SZ_64K);
	volatile void *bar;
	char holder[64];
	int g;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_ERRNO(EBUSY, ioctl(self->d.group, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, vfg_dma_map(self->d.container, buf, IOVA_A, SZ_64K,
				 VFG_DMA_RW));
	bar = map_bar0(self->d.fd);
	ASSERT_NE(NULL, bar);
	ASSERT_EQ(0, set_command(self->d.fd, CMD_MEMORY | CMD_MASTER, 0));

	close(self->d.group);
	close(self->d.container);
	self->d.group = self->d.container = -1;
	EXPECT_TRUE(edu_alive(self->d.fd, bar));
	memset(buf, 0x5a, SZ_4K);
	ASSERT_TRUE(edu_dma(bar, IOVA_A, 256, false, 5000));
	ASSERT_TRUE(edu_dma(bar, IOVA_A + SZ_4K, 256, true, 5000));
	EXPECT_EQ(0, memcmp(buf, buf + SZ_4K, 256));

	if (vfg_ours()) {
		ASSERT_EQ(0, vfg_group_attr(self->d.group_id, "holder", holder,
					    sizeof(holder)));
		EXPECT_STREQ("", holder);
	}
	/* Device fds keep the group theirs: nobody else may open it. */
	g = vfg_group_open(self->d.group_id);
	EXPECT_EQ(-1, g);
	EXPECT_EQ(EBUSY, errno);
	if (g >= 0)
		close(g);
	EXPECT_TRUE(edu_alive(self->d.fd, bar));

	munmap((void *)bar, EDU_BAR0_SIZE);
	close(self->d.fd);
	self->d.fd = -1;
	/* Now the group is free and detached. */
	g = vfg_group_open(self->d.group_id);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, ioctl(g, VFIO_GROUP_GET_STATUS, &st));
	EXPECT_FALSE(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	close(g);
}

/* With the group fd open, its holder is us; the device fd does not change that. */
TEST_F(dev, holder_with_device_fd)
{
	char holder[64], pid[32];

	if (!vfg_ours())
		SKIP(return, "holder is a vfio-groups attribute");
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, vfg_group_attr(self->d.group_id, "holder", holder,
				    sizeof(holder)));
	EXPECT_STREQ(pid, holder);
}

/* An open device fd, even alone, keeps our module loaded. */
TEST_F(dev, device_fd_pins_module)
{
	if (!vfg_ours())
		SKIP(return, "the kernel's vfio is held by vfio-pci anyway");
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	close(self->d.group);
	close(self->d.container);
	self->d.group = self->d.container = -1;
	EXPECT_NE(0, vfg_module_unload());
	EXPECT_TRUE(vfg_module_loaded());
	close(self->d.fd);
	self->d.fd = -1;
	/* Unbinding happens at unload, so it must now succeed. */
	EXPECT_EQ(0, vfg_module_unload());
}

/* ---- VFIO_DEVICE_GET_INFO -------------------------------------------------- */

TEST_F(dev, info_argsz)
{
	struct vfio_device_info info;
	size_t minsz = offsetof(struct vfio_device_info, num_irqs) +
		       sizeof(info.num_irqs);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	memset(&info, 0, sizeof(info));
	info.argsz = minsz - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	info.argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_ERRNO(EFAULT, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, NULL));

	/* An old caller: exactly the fields up to num_irqs. */
	info.argsz = minsz;
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);

	/* A new one: no capabilities here. */
	memset(&info, 0xa5, sizeof(info));
	info.argsz = sizeof(info);
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_FALSE(info.flags & VFIO_DEVICE_FLAGS_CAPS);
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);
	EXPECT_EQ(sizeof(info), info.argsz);
}

static void check_info(struct __test_metadata *_metadata, int fd, bool reset)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(VFIO_DEVICE_FLAGS_PCI | (reset ? VFIO_DEVICE_FLAGS_RESET : 0),
		  info.flags & ~VFIO_DEVICE_FLAGS_CAPS);
	EXPECT_LE(VFIO_PCI_NUM_REGIONS, info.num_regions);
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);
}

/* The edu on the root bus has no reset method at all. */
TEST_F(dev, info_lone_no_reset)
{
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	check_info(_metadata, self->d.fd, false);
}

/* Behind a root port the edu has a bus reset. */
TEST_F(dev, info_pedu_reset)
{
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.pedu));
	check_info(_metadata, self->d.fd, true);
}

/* The e1000e has a PM reset. */
TEST_F(dev, info_nic_reset)
{
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	check_info(_metadata, self->d.fd, true);
}

/* ---- VFIO_DEVICE_RESET ----------------------------------------------------- */

/* A reset keeps the device usable: config, pread and the old mapping. */
TEST_F(dev, reset_pedu)
{
	volatile void *bar;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.pedu));
	bar = map_bar0(self->d.fd);
	ASSERT_NE(NULL, bar);
	ASSERT_TRUE(edu_alive(self->d.fd, bar));
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_RESET));
	EXPECT_TRUE(edu_alive(self->d.fd, bar));
	EXPECT_EQ(120, edu_fact(bar, 5, false, 5000));
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_RESET));
	EXPECT_TRUE(edu_alive(self->d.fd, bar));
	munmap((void *)bar, EDU_BAR0_SIZE);
}

TEST_F(dev, reset_lone_refused)
{
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_ERRNO(EINVAL, ioctl(self->d.fd, VFIO_DEVICE_RESET));
	EXPECT_TRUE(edu_alive(self->d.fd, NULL));
}

/* ---- hot reset -------------------------------------------------------------- */

#define HOT_RESET_INFO_MAX 8

struct hot_reset_info {
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device devs[HOT_RESET_INFO_MAX];
};

/* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO with room for every device. */
static int hot_reset_info(int fd, struct hot_reset_info *info)
{
	memset(info, 0, sizeof(*info));
	info->hdr.argsz = sizeof(*info);
	return ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
}

/* VFIO_DEVICE_PCI_HOT_RESET with @n group fds. */
static int hot_reset(int fd, const int *groups, int n, uint32_t flags)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		int32_t fds[8];
	} r;
	int i;

	memset(&r, 0, sizeof(r));
	r.hdr.argsz = sizeof(r.hdr) + n * sizeof(int32_t);
	r.hdr.flags = flags;
	r.hdr.count = n;
	for (i = 0; i < n && i < 8; i++)
		r.fds[i] = groups[i];
	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &r);
}

static bool dep_is(const struct vfio_pci_dependent_device *dep,
		   const char *bdf)
{
	char name[32];

	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", dep->segment,
		 dep->bus, dep->devfn >> 3, dep->devfn & 7);
	return !strcmp(name, bdf);
}

TEST_F(dev, hot_reset_info_pedu)
{
	struct vfio_pci_hot_reset_info hdr;
	struct hot_reset_info info;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.pedu));
	memset(&hdr, 0, sizeof(hdr));
	hdr.argsz = offsetof(struct vfio_pci_hot_reset_info, count);
	EXPECT_ERRNO(EINVAL, ioctl(self->d.fd,
				   VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr));
	/* No room for the devices: ENOSPC, and how many there are. */
	hdr.argsz = sizeof(hdr);
	hdr.count = 0;
	EXPECT_ERRNO(ENOSPC, ioctl(self->d.fd,
				   VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr));
	EXPECT_EQ(1, hdr.count);

	ASSERT_EQ(0, hot_reset_info(self->d.fd, &info));
	EXPECT_EQ(0, info.hdr.flags);
	ASSERT_EQ(1, info.hdr.count);
	EXPECT_TRUE(dep_is(&info.devs[0], self->t.pedu));
	EXPECT_EQ(self->d.group_id, info.devs[0].group_id);
}

/* A bus reset behind the conventional bridge hits both edus: one group. */
TEST_F(dev, hot_reset_info_bridge)
{
	struct hot_reset_info info;
	int group_id = vfg_pci_group(self->t.bridge);
	uint32_t i;

	ASSERT_EQ(0, bridge_group_to_vfio(&self->t));
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.bedu[0]));
	ASSERT_EQ(group_id, self->d.group_id);
	ASSERT_EQ(0, hot_reset_info(self->d.fd, &info));
	ASSERT_EQ(2, info.hdr.count);
	for (i = 0; i < 2; i++) {
		EXPECT_TRUE(dep_is(&info.devs[i], self->t.bedu[0]) ||
			    dep_is(&info.devs[i], self->t.bedu[1]));
		EXPECT_EQ(group_id, info.devs[i].group_id);
	}
	EXPECT_FALSE(dep_is(&info.devs[0], self->t.bedu[0]) &&
		     dep_is(&info.devs[1], self->t.bedu[0]));
}

/* On the root bus there is no bus to reset. */
TEST_F(dev, hot_reset_lone_nodev)
{
	struct hot_reset_info info;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_ERRNO(ENODEV, hot_reset_info(self->d.fd, &info));
	EXPECT_ERRNO(ENODEV, hot_reset(self->d.fd, &self->d.group, 1, 0));
}

TEST_F(dev, hot_reset_pedu)
{
	struct vfio_pci_hot_reset short_r = { .argsz = 8, .count = 1 };
	struct vfg_dev *d = &self->d;
	volatile void *bar;
	int bad;

	ASSERT_EQ(0, vfg_dev_open(d, self->t.pedu));
	/* Another group we own, to offer instead of the right one. */
	ASSERT_EQ(0, vfg_dev_attach(&self->d2, self->t.lone));
	bar = map_bar0(d->fd);
	ASSERT_NE(NULL, bar);

	EXPECT_ERRNO(EINVAL, hot_reset(d->fd, &d->group, 1, 1));
	EXPECT_ERRNO(EINVAL, hot_reset(d->fd, &d->group, 0, 0));
	EXPECT_ERRNO(EINVAL, hot_reset(d->fd, &self->d2.group, 1, 0));
	EXPECT_ERRNO(EINVAL, hot_reset(d->fd, &d->container, 1, 0));
	EXPECT_ERRNO(EINVAL, hot_reset(d->fd, &d->fd, 1, 0));
	bad = dup(d->group);
	close(bad);
	EXPECT_ERRNO(EBADF, hot_reset(d->fd, &bad, 1, 0));
	EXPECT_ERRNO(EINVAL, ioctl(d->fd, VFIO_DEVICE_PCI_HOT_RESET, &short_r));
	EXPECT_TRUE(edu_alive(d->fd, bar));

	ASSERT_EQ(0, hot_reset(d->fd, &d->group, 1, 0));
	EXPECT_TRUE(edu_alive(d->fd, bar));
	ASSERT_EQ(0, hot_reset(d->fd, &d->group, 1, 0));
	EXPECT_TRUE(edu_alive(d->fd, bar));
	munmap((void *)bar, EDU_BAR0_SIZE);
}

/* Both edus behind the bridge are reset with their one group's fd. */
TEST_F(dev, hot_reset_bridge)
{
	volatile void *bar;
	int fd2;

	ASSERT_EQ(0, bridge_group_to_vfio(&self->t));
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.bedu[0]));
	fd2 = get_device_fd(self->d.group, self->t.bedu[1]);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vfg_dev_attach(&self->d2, self->t.lone));
	bar = map_bar0(fd2);
	ASSERT_NE(NULL, bar);
	EXPECT_ERRNO(EINVAL, hot_reset(self->d.fd, &self->d2.group, 1, 0));
	EXPECT_EQ(0, hot_reset(self->d.fd, &self->d.group, 1, 0));
	EXPECT_TRUE(edu_alive(self->d.fd, NULL));
	EXPECT_TRUE(edu_alive(fd2, bar));
	munmap((void *)bar, EDU_BAR0_SIZE);
	close(fd2);
}

/* ---- size rules, every device ioctl in one table ----------------------- */

struct argsz_case {
	const char *name;
	unsigned long cmd;
	size_t minsz;		/* argsz up to the last mandatory field */
	/* Fill the fields the call needs; the rest stays garbage. */
	void (*prepare)(uint32_t *buf, int group);
};

static void prep_none(uint32_t *buf, int group)
{
}

static void prep_index0(uint32_t *buf, int group)
{
	buf[2] = 0;				/* index */
}

static void prep_set_irqs(uint32_t *buf, int group)
{
	buf[1] = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	buf[2] = VFIO_PCI_REQ_IRQ_INDEX;
	buf[3] = 0;				/* start */
	buf[4] = 1;				/* count */
	buf[5] = (uint32_t)-1;			/* data[0]: no eventfd */
}

static void prep_hot_reset(uint32_t *buf, int group)
{
	buf[1] = 0;				/* flags */
	buf[2] = 1;				/* count */
	buf[3] = group;				/* group_fds[0] */
}

#define ARGSZ_CASE(cmd, type, last, prep) \
	{ #cmd, cmd, offsetof(type, last) + sizeof(((type *)0)->last), prep }

static const struct argsz_case argsz_cases[] = {
	ARGSZ_CASE(VFIO_DEVICE_GET_INFO, struct vfio_device_info, num_irqs,
		   prep_none),
	ARGSZ_CASE(VFIO_DEVICE_GET_REGION_INFO, struct vfio_region_info,
		   offset, prep_index0),
	ARGSZ_CASE(VFIO_DEVICE_GET_IRQ_INFO, struct vfio_irq_info, count,
		   prep_index0),
	ARGSZ_CASE(VFIO_DEVICE_SET_IRQS, struct vfio_irq_set, count,
		   prep_set_irqs),
	ARGSZ_CASE(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
		   struct vfio_pci_hot_reset_info, count, prep_none),
	ARGSZ_CASE(VFIO_DEVICE_PCI_HOT_RESET, struct vfio_pci_hot_reset, count,
		   prep_hot_reset),
};

/*
 * For each device ioctl: argsz one short of the mandatory fields, or 0, is
 * EINVAL; a larger argsz with garbage after what the call uses works.
 */
TEST_F(dev, argsz_rules)
{
	uint32_t buf[128];
	unsigned int i;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.pedu));
	for (i = 0; i < ARRAY_SIZE(argsz_cases); i++) {
		const struct argsz_case *c = &argsz_cases[i];

		memset(buf, 0xa5, sizeof(buf));
		c->prepare(buf, self->d.group);
		buf[0] = c->minsz - 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->d.fd, c->cmd, buf));
		buf[0] = 0;
		EXPECT_ERRNO(EINVAL, ioctl(self->d.fd, c->cmd, buf));

		memset(buf, 0xa5, sizeof(buf));
		c->prepare(buf, self->d.group);
		buf[0] = sizeof(buf);
		EXPECT_EQ(0, ioctl(self->d.fd, c->cmd, buf))
			TH_LOG("%s with argsz %zu: %m", c->name, sizeof(buf));
	}
}

/* ---- the last close --------------------------------------------------------- */

/*
 * The first open finds bus mastering off even if the host left it on; the
 * last close turns it off again and frees the interrupts, so the next open
 * can pick any interrupt type.
 */
TEST_F(dev, last_close_cleans_up)
{
	uint16_t cmd = host_command(self->t.lone) | CMD_MASTER;
	int efd = eventfd(0, EFD_CLOEXEC);
	int msi_efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	ASSERT_LE(0, msi_efd);
	ASSERT_EQ(0, vfg_pci_cfg_write(self->t.lone, PCI_COMMAND, &cmd, 2));
	ASSERT_TRUE(host_command(self->t.lone) & CMD_MASTER);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_FALSE(vfg_cfg_read16(self->d.fd, PCI_COMMAND) & CMD_MASTER);
	EXPECT_FALSE(host_command(self->t.lone) & CMD_MASTER);
	ASSERT_EQ(0, set_command(self->d.fd, CMD_MASTER, 0));
	EXPECT_TRUE(host_command(self->t.lone) & CMD_MASTER);
	ASSERT_EQ(0, vfg_irq_set_eventfds(self->d.fd,
					  VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
					  &efd));
	EXPECT_LT(0, vfg_dev_irq_lines(&self->t));

	vfg_dev_close(&self->d);
	EXPECT_FALSE(host_command(self->t.lone) & CMD_MASTER);
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));

	/* INTx is gone: MSI can be enabled straight away. */
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_FALSE(vfg_cfg_read16(self->d.fd, PCI_COMMAND) & CMD_MASTER);
	EXPECT_EQ(0, vfg_irq_set_eventfds(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX,
					  0, 1, &msi_efd));
	vfg_dev_close(&self->d);
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	close(efd);
	close(msi_efd);
}

/* A mapping of a BAR keeps the device open after its fd is closed. */
TEST_F(dev, mapping_outlives_fd)
{
	volatile void *bar;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	bar = map_bar0(self->d.fd);
	ASSERT_NE(NULL, bar);
	ASSERT_EQ(0, set_command(self->d.fd, CMD_MEMORY | CMD_MASTER, 0));
	vfg_dev_close(&self->d);
	EXPECT_EQ(EDU_ID, edu_read32(bar, EDU_REG_ID));
	edu_write32(bar, EDU_REG_LIVENESS, 0x0f0f0f0f);
	EXPECT_EQ(0xf0f0f0f0, edu_read32(bar, EDU_REG_LIVENESS));
	EXPECT_TRUE(host_command(self->t.lone) & CMD_MASTER);
	/* Unmapping drops the last reference: that is the last close. */
	munmap((void *)bar, EDU_BAR0_SIZE);
	EXPECT_FALSE(host_command(self->t.lone) & CMD_MASTER);
}

/* ---- DMA --------------------------------------------------------------- */

/*
 * Everything through the device fd: bus mastering turned on with a config
 * write, the DMA engine programmed through the mapped BAR, data landing in
 * the container's mapping.  With bus mastering off the device's writes
 * reach nothing.
 */
TEST_F(dev, dma_through_device_fd)
{
	uint8_t *buf = alloc_buf(SZ_64K);
	volatile void *bar;
	size_t i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	ASSERT_EQ(0, vfg_dma_map(self->d.container, buf, IOVA_A, SZ_64K,
				 VFG_DMA_RW));
	bar = map_bar0(self->d.fd);
	ASSERT_NE(NULL, bar);
	for (i = 0; i < EDU_BUF_MAX; i++)
		buf[i] = (uint8_t)(i * 11 + 1);
	memset(buf + SZ_4K, 0, 2 * SZ_4K);

	/* Bus mastering is off after open: the write is lost. */
	ASSERT_EQ(0, set_command(self->d.fd, CMD_MEMORY, CMD_MASTER));
	ASSERT_TRUE(edu_dma(bar, IOVA_A + SZ_4K, 64, true, 5000));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, buf[SZ_4K + i]);

	ASSERT_EQ(0, set_command(self->d.fd, CMD_MASTER, 0));
	EXPECT_TRUE(host_command(self->t.lone) & CMD_MASTER);
	ASSERT_TRUE(edu_dma(bar, IOVA_A, EDU_BUF_MAX, false, 5000));
	ASSERT_TRUE(edu_dma(bar, IOVA_A + 2 * SZ_4K, EDU_BUF_MAX, true,
			    5000));
	EXPECT_EQ(0, memcmp(buf, buf + 2 * SZ_4K, EDU_BUF_MAX));
	munmap((void *)bar, EDU_BAR0_SIZE);
}

/* ---- the sample driver --------------------------------------------------- */

/* Run @argv with stdout and stderr into @out; its wait status, or -1. */
static int run_capture(char *const argv[], char *out, size_t len, int secs)
{
	int pipefd[2], status = -1;
	size_t used = 0;
	time_t end = time(NULL) + secs;
	struct pollfd p;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	p.fd = pipefd[0];
	p.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(pipefd[0], out + used, len - 1 - used);
		if (n <= 0)
			break;
		used += n;
		if (used == len - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (time(NULL) >= end)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

TEST_F(dev, sample_edu)
{
	char *argv[] = { SAMPLE, self->t.lone, NULL };
	char out[8192], want[128];
	int status;

	ASSERT_EQ(0, access(SAMPLE, X_OK));
	status = run_capture(argv, out, sizeof(out), 20);
	TH_LOG("%s", out);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	snprintf(want, sizeof(want), "device %s is in IOMMU group %d",
		 self->t.lone, vfg_pci_group(self->t.lone));
	EXPECT_NE(NULL, strstr(out, want));
	EXPECT_NE(NULL, strstr(out, "edu: identification 0x010000ed"));
	EXPECT_NE(NULL, strstr(out, "dma: device -> RAM: data matches"));
	EXPECT_NE(NULL, strstr(out, "factorial: 10! = 3628800"));
	EXPECT_NE(NULL, strstr(out, "msi: interrupt received"));
	EXPECT_NE(NULL, strstr(out, "done"));

	/* Without an argument: usage and exit status 2. */
	argv[1] = NULL;
	status = run_capture(argv, out, sizeof(out), 10);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(2, WEXITSTATUS(status));
	EXPECT_NE(NULL, strstr(out, "usage"));
}

TEST_HARNESS_MAIN
