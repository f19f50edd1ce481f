// SPDX-License-Identifier: GPL-2.0
/*
 * Who may use a group, how far, and what they learn.
 *
 * priv.no_access
 *   /dev/vfio/$GROUP is root's, mode 0600, and /dev/vfio/vfio is 0666.  A
 *   process of another uid (a child after setresuid()) gets EACCES on the
 *   group node.
 * priv.granted_within_memlock
 *   The group node chowned to that uid: it can attach the group, set the
 *   IOMMU and open the device, and map DMA up to RLIMIT_MEMLOCK and no
 *   further (ENOMEM, as type1 documents), without CAP_IPC_LOCK (checked in
 *   CapEff).  A third uid still gets EACCES.
 * priv.no_kernel_pointers
 *   No value that looks like a kernel address (0xffff8... to 0xffffffff...)
 *   in the sysfs attributes of /sys/class/vfio/, in the netlink GET_GROUP
 *   answers (ours only: the family is a vfio-groups feature), nor in the
 *   outputs of the container, group and device info ioctls (but for the
 *   IOMMU's page size bitmap and IOVA ranges, which look like kernel
 *   addresses on AMD-Vi).
 *
 * The fixture starts from boot state with the stack under test
 * (VFG_USE_KERNEL_VFIO=1: the kernel's) and puts back the owner and mode of
 * both nodes in teardown.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "nl_util.h"

#define CONTAINER	"/dev/vfio/vfio"
#define USER		65534	/* nobody */
#define OTHER		65533
#define SZ_64K		0x10000UL
#define LIMIT		(4 * SZ_64K)
#define IOVA		0x1000000UL
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static int dma_map(int container, void *vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = RW,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

static int dma_unmap_all(int container)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

static int become(uid_t uid)
{
	return setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	       setresuid(uid, uid, uid) ? -1 : 0;
}

/* CapEff of this process. */
static unsigned long long cap_eff(void)
{
	char line[128];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			v = strtoull(line + 7, NULL, 16);
	fclose(f);
	return v;
}

/* Run @fn in a child as @uid; its exit status (0 is success). */
static int as_user(uid_t uid, int (*fn)(const char *, void *),
		   const char *path, void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(become(uid) ? 100 : fn(path, arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int open_eacces(const char *path, void *arg)
{
	if (open(path, O_RDWR) != -1)
		return 1;
	return errno == EACCES ? 0 : 2;
}

/* The granted user: attach, open the device, map up to the limit. */
static int use_within_limit(const char *path, void *arg)
{
	const char *bdf = arg;
	char *mem;
	int group, container, dev;

	if (cap_eff())
		return 3;
	mem = mmap(NULL, 2 * LIMIT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 4;
	group = open(path, O_RDWR);
	container = open(CONTAINER, O_RDWR);
	if (group < 0 || container < 0)
		return 5;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return 6;
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		return 7;
	/* More than the limit at once, then the limit, then one page more. */
	if (dma_map(container, mem, IOVA, LIMIT + SZ_64K) != -1 ||
	    errno != ENOMEM)
		return 8;
	if (dma_map(container, mem, IOVA, LIMIT))
		return 9;
	if (vfg_vmlck_kb(getpid()) != LIMIT / 1024)
		return 10;
	if (dma_map(container, mem + LIMIT, IOVA + LIMIT, 0x1000) != -1 ||
	    errno != ENOMEM)
		return 11;
	/* Memory given back can be pinned again. */
	if (dma_unmap_all(container) || vfg_vmlck_kb(getpid()) != 0)
		return 12;
	if (dma_map(container, mem + LIMIT, IOVA, LIMIT))
		return 13;
	close(dev);
	close(group);
	close(container);
	return 0;
}

FIXTURE(priv) {
	struct vfg_topo t;
	int group_id;
	char node[PATH_MAX];
	struct stat node_st;
	struct stat container_st;
	long pins_before;
};

FIXTURE_SETUP(priv)
{
	self->pins_before = vfg_pins_outstanding();
	self->node_st.st_mode = 0;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	self->group_id = vfg_pci_group(self->t.lone);
	ASSERT_LE(0, self->group_id);
	vfg_group_dev_path(self->group_id, self->node);
	ASSERT_EQ(0, stat(CONTAINER, &self->container_st));
	ASSERT_EQ(0, stat(self->node, &self->node_st));
}

FIXTURE_TEARDOWN(priv)
{
	if (self->node_st.st_mode) {
		EXPECT_EQ(0, chown(self->node, self->node_st.st_uid,
				   self->node_st.st_gid));
		EXPECT_EQ(0, chmod(self->node, self->node_st.st_mode & 07777));
	}
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

TEST_F(priv, no_access)
{
	EXPECT_EQ(0, self->node_st.st_uid);
	EXPECT_EQ(0600, self->node_st.st_mode & 07777);
	EXPECT_EQ(0666, self->container_st.st_mode & 07777);
	EXPECT_EQ(0, as_user(USER, open_eacces, self->node, NULL));
}

TEST_F(priv, granted_within_memlock)
{
	struct rlimit old, rl = { LIMIT, LIMIT };

	ASSERT_EQ(0, chown(self->node, USER, USER));
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_EQ(0, as_user(USER, use_within_limit, self->node,
			     self->t.lone));
	EXPECT_EQ(0, as_user(OTHER, open_eacces, self->node, NULL));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
}

/*
 * Does @buf hold, at an offset aligned to @step (4 for netlink attributes,
 * 8 for the ioctl structures, whose 64-bit fields are aligned: at 4, the
 * halves of two IOVA range bounds would look like an address), a
 * little-endian 64-bit value in the kernel's half of the address space from
 * 0xffff800000000000 (all ones excepted)?  Reports it.
 * (Config space is left out: it is the device's data, and a BAR's bytes
 * can look like one.)
 */
static bool binary_pointer(const void *buf, size_t len, size_t step,
			   uint64_t *val)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 8 <= len; i += step) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		if ((v >> 47) == 0x1ffff && v != ~0ULL) {
			*val = v;
			return true;
		}
	}
	return false;
}

/* Does @text hold 16 hex digits from ffff8 up, or such a decimal number? */
static bool text_pointer(const char *text)
{
	const char *s;

	for (s = text; *s; s++) {
		unsigned long long v;
		char *end;

		if (!isxdigit((unsigned char)*s) ||
		    (s > text && isalnum((unsigned char)s[-1])))
			continue;
		v = strtoull(s, &end, 16);
		if (end - s == 16 && (v >> 47) == 0x1ffff && v != ~0ULL)
			return true;
		v = strtoull(s, &end, 10);
		if ((v >> 47) == 0x1ffff && v != ~0ULL)
			return true;
	}
	return false;
}

/* Every regular attribute of every /sys/class/vfio/ entry; how many read. */
static int scan_sysfs(struct __test_metadata *_metadata)
{
	DIR *top = opendir("/sys/class/vfio");
	struct dirent *e, *a;
	int n = 0;

	if (!top)
		return -1;
	while ((e = readdir(top))) {
		char dir[PATH_MAX], path[PATH_MAX + 256], buf[4096];
		DIR *d;

		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "/sys/class/vfio/%s", e->d_name);
		d = opendir(dir);
		if (!d)
			continue;
		while ((a = readdir(d))) {
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s", dir, a->d_name);
			if (lstat(path, &st) || !S_ISREG(st.st_mode) ||
			    !(st.st_mode & 0444))
				continue;
			if (vfg_sysfs_read(path, buf, sizeof(buf)))
				continue;
			n++;
			EXPECT_FALSE(text_pointer(buf))
				TH_LOG("%s: %s", path, buf);
		}
		closedir(d);
	}
	closedir(top);
	return n;
}

/*
 * Zero the page size bitmap and the IOVA ranges of a VFIO_IOMMU_GET_INFO
 * answer: a bitmap and device addresses, that on AMD-Vi look like kernel
 * addresses (its page sizes are 0xffffff7ffffff000).
 */
static void hide_iova_ranges(uint8_t *buf, size_t len)
{
	struct vfio_iommu_type1_info *info = (void *)buf;
	uint32_t off = info->flags & VFIO_IOMMU_INFO_CAPS ? info->cap_offset :
							    0;
	int hops = 0;

	info->iova_pgsizes = 0;
	while (off && off + sizeof(struct vfio_info_cap_header) <= len &&
	       hops++ < 16) {
		struct vfio_info_cap_header *h = (void *)(buf + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r =
				(void *)h;
			size_t n = r->nr_iovas;

			if (off + sizeof(*r) + n * sizeof(r->iova_ranges[0]) <=
			    len)
				memset(r->iova_ranges, 0,
				       n * sizeof(r->iova_ranges[0]));
		}
		off = h->next;
	}
}

#define NO_POINTER(buf, len, step) do {				\
	uint64_t v = 0;							\
	EXPECT_FALSE(binary_pointer(buf, len, step, &v))		\
		TH_LOG("%s: %#llx", #buf, (unsigned long long)v);	\
} while (0)

TEST_F(priv, no_kernel_pointers)
{
	uint8_t big[4096];
	struct vfg_dev d;
	uint32_t i;
	int n = 0;

	EXPECT_LT(0, scan_sysfs(_metadata));
	if (vfg_ours()) {
		struct vfg_nl_state st[16];
		struct vfg_nl nl;
		const void *raw;
		size_t len;

		ASSERT_EQ(0, vfg_nl_open(&nl, false));
		ASSERT_EQ(0, vfg_nl_get_group(&nl, self->group_id, st));
		raw = vfg_nl_last_reply(&len);
		ASSERT_LT(0, len);
		NO_POINTER(raw, len, 4);
		ASSERT_LT(0, vfg_nl_dump(&nl, st, 16));
		raw = vfg_nl_last_reply(&len);
		ASSERT_LT(0, len);
		NO_POINTER(raw, len, 4);
		vfg_nl_close(&nl);
	}
	ASSERT_EQ(0, vfg_dev_open(&d, self->t.lone));
	memset(big, 0, sizeof(big));
	((struct vfio_group_status *)big)->argsz = sizeof(big);
	ASSERT_EQ(0, ioctl(d.group, VFIO_GROUP_GET_STATUS, big));
	NO_POINTER(big, sizeof(big), 8);
	memset(big, 0, sizeof(big));
	((struct vfio_iommu_type1_info *)big)->argsz = sizeof(big);
	ASSERT_EQ(0, ioctl(d.container, VFIO_IOMMU_GET_INFO, big));
	hide_iova_ranges(big, sizeof(big));
	NO_POINTER(big, sizeof(big), 8);
	memset(big, 0, sizeof(big));
	((struct vfio_device_info *)big)->argsz = sizeof(big);
	ASSERT_EQ(0, ioctl(d.fd, VFIO_DEVICE_GET_INFO, big));
	NO_POINTER(big, sizeof(big), 8);
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		struct vfio_region_info *ri = (void *)big;

		memset(big, 0, sizeof(big));
		ri->argsz = sizeof(big);
		ri->index = i;
		/* VGA (and ERR below) only exist on some devices. */
		if (ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, big))
			continue;
		NO_POINTER(big, sizeof(big), 8);
		n++;
	}
	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		struct vfio_irq_info *ii = (void *)big;

		memset(big, 0, sizeof(big));
		ii->argsz = sizeof(struct vfio_irq_info);
		ii->index = i;
		if (ioctl(d.fd, VFIO_DEVICE_GET_IRQ_INFO, big))
			continue;
		NO_POINTER(big, sizeof(big), 8);
		n++;
	}
	/* Config, six BARs, ROM; INTx, MSI, MSI-X, REQ at least. */
	EXPECT_LE(12, n);
	vfg_dev_close(&d);
}

TEST_HARNESS_MAIN
