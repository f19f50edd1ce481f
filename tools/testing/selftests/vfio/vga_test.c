// SPDX-License-Identifier: GPL-2.0
/*
 * The VGA region (index 8, issue 14 item 2), on the "vga" topology: QEMU's
 * standard VGA (1234:1111, class 0x0300), the guest's only VGA device.
 *
 * The region is 0xc0000 bytes, read/write, never mmap; offsets are legacy
 * addresses and only three windows answer: video memory 0xa0000-0xbffff,
 * I/O ports 0x3b0-0x3bb and 0x3c0-0x3df.  Other offsets are -EINVAL, an
 * access running past its window is shortened to it, and any length is
 * split into naturally aligned accesses.  With vfio-pci's disable_vga the
 * region is refused (-EINVAL), as for a device that is not VGA-class.
 *
 * The registers used: the sequencer's index (0x3c4, 3 bits in QEMU) and
 * its map mask register (index 2, 4 bits at 0x3c5), which read back what
 * was written; the text buffer at 0xb8000 (SeaBIOS's VGA BIOS leaves the
 * device in text mode 3, where it is plain memory).
 *
 * Everything is upstream's behaviour and runs against the kernel's own
 * VFIO too (VFG_USE_KERNEL_VFIO=1), except where noted: ours refuses an
 * access while the command register disables the space (-EIO), as for
 * BARs; upstream does not look (Documentation/driver-api/vfio-groups.rst).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

#define VGA_VENDOR	0x1234
#define VGA_DEVICE	0x1111
#define VGA		VFIO_PCI_VGA_REGION_INDEX
#define VGA_SIZE	0xc0000
#define SEQ_INDEX	0x3c4
#define SEQ_DATA	0x3c5
#define SEQ_MAP_MASK	2
#define TEXT		0xb8000
#define RELEASE_TIMEOUT	"/sys/module/vfio/parameters/release_timeout_ms"
#define CIRRUS_VENDOR	0x1013
#define CIRRUS_DEVICE	0x00b8
#define ARBITER		"/dev/vga_arbiter"
#define VGA_PARAM	"/sys/module/vfio_pci/parameters/disable_vga"

/* Each vga test starts with this: see FIXTURE_SETUP(vga). */
#define NEED_VGA_REGION() do {						\
	if (self->skip)							\
		SKIP(return, "%s", self->skip);				\
} while (0)

/* The VGA-class device of the topology; 0 or -ENODEV. */
static int find_vga(char bdf[13])
{
	char bdfs[4][13], path[256];
	unsigned long class;
	int n, i;

	n = vfg_find_pci(VGA_VENDOR, VGA_DEVICE, bdfs, 4);
	for (i = 0; i < n && i < 4; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class",
			 bdfs[i]);
		if (!vfg_sysfs_read_hex(path, &class) && class >> 8 == 0x0300) {
			memcpy(bdf, bdfs[i], 13);
			return 0;
		}
	}
	return -ENODEV;
}

/* modprobe vfio-pci with @param (the kernel's stack); its exit status. */
static int modprobe_param(const char *mod, const char *param)
{
	int status;
	pid_t pid = vfg_fork();

	if (pid < 0)
		return pid;
	if (!pid) {
		execlp("modprobe", "modprobe", mod, param, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/* Load the stack under test with vfio-pci's disable_vga=1; 0 or -errno. */
static int load_disable_vga(void)
{
	int ret = vfg_vfio_unload_all();

	if (ret)
		return ret;
	if (vfg_ours())
		return vfg_module_load(vfg_irq_remapping() ? "disable_vga=1" :
			"disable_vga=1 allow_unsafe_interrupts=1");
	ret = vfg_modprobe("vfio_iommu_type1");
	if (!ret && !vfg_irq_remapping())
		ret = vfg_sysfs_write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
				      "1");
	if (!ret)
		ret = modprobe_param("vfio-pci", "disable_vga=1");
	return ret > 0 ? -ENOENT : ret;
}

static uint8_t rd8(int fd, uint64_t off)
{
	uint8_t v = 0xee;

	if (vfg_region_read(fd, VGA, off, &v, 1) != 1)
		return 0xee;
	return v;
}

static int wr8(int fd, uint64_t off, uint8_t v)
{
	return vfg_region_write(fd, VGA, off, &v, 1) == 1 ? 0 : -1;
}

FIXTURE(vga) {
	char bdf[13];
	struct vfg_dev d;
	char timeout[32];	/* release_timeout_ms to restore, or "" */
	int arb;		/* /dev/vga_arbiter, or -1 */
	const char *skip;	/* why the tests skip, or NULL */
};

FIXTURE_SETUP(vga)
{
	vfg_dev_init(&self->d);
	self->arb = -1;
	ASSERT_EQ(0, find_vga(self->bdf))
		TH_LOG("no VGA-class 1234:1111: run under --topology vga");
	vfg_pci_release(self->bdf);
	ASSERT_EQ(0, vfg_vfio_load());
	/* Without CONFIG_VFIO_PCI_VGA, the kernel's has neither. */
	if (!vfg_ours() && access(VGA_PARAM, F_OK)) {
		self->skip = "the kernel's vfio-pci is built without CONFIG_VFIO_PCI_VGA";
		return;
	}
	ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->bdf));
}

FIXTURE_TEARDOWN(vga)
{
	if (self->arb >= 0)
		close(self->arb);	/* drops its locks */
	vfg_dev_close(&self->d);
	if (self->timeout[0])
		vfg_sysfs_write(RELEASE_TIMEOUT, self->timeout);
	vfg_pci_release(self->bdf);
	vfg_vfio_unload_all();
}

/* Size, flags and offset; no capabilities; counted in num_regions. */
TEST_F(vga, region_info)
{
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info info;

	NEED_VGA_REGION();

	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &dinfo));
	EXPECT_LT(VGA, dinfo.num_regions);
	ASSERT_EQ(0, vfg_region_info(self->d.fd, VGA, &info));
	EXPECT_EQ(VGA, info.index);
	EXPECT_EQ(VGA_SIZE, info.size);
	EXPECT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  info.flags);
	EXPECT_EQ(VFG_REGION_OFFSET(VGA), info.offset);
	EXPECT_EQ(0, info.cap_offset);
}

/* The sequencer index and map mask read back what was written. */
TEST_F(vga, io_ports)
{
	uint8_t idx, mask;
	uint16_t w;

	NEED_VGA_REGION();

	idx = rd8(self->d.fd, SEQ_INDEX);
	ASSERT_NE(0xee, idx);
	ASSERT_EQ(0, wr8(self->d.fd, SEQ_INDEX, SEQ_MAP_MASK));
	EXPECT_EQ(SEQ_MAP_MASK, rd8(self->d.fd, SEQ_INDEX));
	mask = rd8(self->d.fd, SEQ_DATA);
	ASSERT_EQ(0, wr8(self->d.fd, SEQ_DATA, 0x05));
	EXPECT_EQ(0x05, rd8(self->d.fd, SEQ_DATA));
	ASSERT_EQ(0, wr8(self->d.fd, SEQ_DATA, 0x0a));
	EXPECT_EQ(0x0a, rd8(self->d.fd, SEQ_DATA));

	/* A 16-bit write at 0x3c4 is index and data at once. */
	w = SEQ_MAP_MASK | 0x03 << 8;
	ASSERT_EQ(2, vfg_region_write(self->d.fd, VGA, SEQ_INDEX, &w, 2));
	EXPECT_EQ(0x03, rd8(self->d.fd, SEQ_DATA));
	w = 0;
	ASSERT_EQ(2, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &w, 2));
	EXPECT_EQ(SEQ_MAP_MASK | 0x03 << 8, w);

	/* Put them back. */
	EXPECT_EQ(0, wr8(self->d.fd, SEQ_DATA, mask));
	EXPECT_EQ(0, wr8(self->d.fd, SEQ_INDEX, idx));
	/* The monochrome window answers too. */
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, 0x3b0, &idx, 1));
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, 0x3bb, &idx, 1));
}

/* Video memory: the text buffer keeps what is written, any alignment. */
TEST_F(vga, memory)
{
	uint8_t save[16], pat[16], back[16];
	unsigned int i;

	NEED_VGA_REGION();

	for (i = 0; i < sizeof(pat); i++)
		pat[i] = 0x41 + i;
	ASSERT_EQ(16, vfg_region_read(self->d.fd, VGA, TEXT, save, 16));
	ASSERT_EQ(16, vfg_region_write(self->d.fd, VGA, TEXT, pat, 16));
	memset(back, 0, sizeof(back));
	ASSERT_EQ(16, vfg_region_read(self->d.fd, VGA, TEXT, back, 16));
	EXPECT_EQ(0, memcmp(pat, back, 16));
	/* Odd offsets and lengths: split, the same bytes. */
	memset(back, 0, sizeof(back));
	ASSERT_EQ(7, vfg_region_read(self->d.fd, VGA, TEXT + 3, back, 7));
	EXPECT_EQ(0, memcmp(pat + 3, back, 7));
	ASSERT_EQ(3, vfg_region_write(self->d.fd, VGA, TEXT + 1, "xyz", 3));
	memset(back, 0, sizeof(back));
	ASSERT_EQ(5, vfg_region_read(self->d.fd, VGA, TEXT, back, 5));
	EXPECT_EQ(0, memcmp("Axyz", back, 4));
	EXPECT_EQ(pat[4], back[4]);
	EXPECT_EQ(16, vfg_region_write(self->d.fd, VGA, TEXT, save, 16));
	/* The first and last bytes of the window. */
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, 0xa0000, back, 1));
	EXPECT_EQ(4, vfg_region_read(self->d.fd, VGA, 0xbfffc, back, 4));
}

/* A large read is done in pieces and returns all of it. */
TEST_F(vga, memory_large)
{
	size_t len = 0x8000;
	uint8_t *buf;

	NEED_VGA_REGION();

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	EXPECT_EQ((ssize_t)len, vfg_region_read(self->d.fd, VGA, TEXT, buf,
						len));
	free(buf);
}

/* An access past the end of its window is shortened to it. */
TEST_F(vga, shortened_at_window_end)
{
	uint8_t buf[64];

	NEED_VGA_REGION();

	EXPECT_EQ(4, vfg_region_read(self->d.fd, VGA, 0x3dc, buf, 8));
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, 0x3df, buf, 4));
	EXPECT_EQ(2, vfg_region_read(self->d.fd, VGA, 0x3ba, buf, 8));
	EXPECT_EQ(0x20, vfg_region_read(self->d.fd, VGA, 0x3c0, buf, 64));
	EXPECT_EQ(2, vfg_region_read(self->d.fd, VGA, 0xbfffe, buf, 64));
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, 0xbffff, buf, 4));
	/* Writes too: 0x3dc-0x3df are unused ports of QEMU's VGA. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, vfg_region_write(self->d.fd, VGA, 0x3dc, buf, 8));
}

/* Offsets outside the three windows, and past the region. */
TEST_F(vga, bad_offsets)
{
	static const uint64_t bad[] = {
		0, 0x3af, 0x3bc, 0x3bf, 0x3e0, 0x400, 0x9ffff, VGA_SIZE,
		VGA_SIZE + 0x3c0, 0x1000000, (1ULL << 40) - 1,
	};
	unsigned int i;
	uint32_t v = 0;

	NEED_VGA_REGION();

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, vfg_region_read(self->d.fd, VGA, bad[i], &v, 1))
			TH_LOG("read at %#llx", (unsigned long long)bad[i]);
		EXPECT_EQ(EINVAL, errno);
		errno = 0;
		EXPECT_EQ(-1, vfg_region_write(self->d.fd, VGA, bad[i], &v, 1))
			TH_LOG("write at %#llx", (unsigned long long)bad[i]);
		EXPECT_EQ(EINVAL, errno);
	}
	/* Zero bytes: nothing to do. */
	EXPECT_EQ(0, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v, 0));
}

/* Read and write only: no mmap of any part. */
TEST_F(vga, no_mmap)
{
	void *p;

	NEED_VGA_REGION();

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->d.fd,
		 VFG_REGION_OFFSET(VGA) + 0xa0000);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->d.fd,
		 VFG_REGION_OFFSET(VGA));
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* A user buffer that faults: -EFAULT, nothing else happens. */
TEST_F(vga, bad_buffer)
{
	void *p;

	NEED_VGA_REGION();

	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_ERRNO(EFAULT, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, p,
					     1));
	EXPECT_ERRNO(EFAULT, vfg_region_write(self->d.fd, VGA, SEQ_INDEX, p,
					      1));
	EXPECT_ERRNO(EFAULT, vfg_region_read(self->d.fd, VGA, TEXT, p, 64));
	munmap(p, 4096);
	EXPECT_NE(0xee, rd8(self->d.fd, SEQ_INDEX));
}

/*
 * Decoding off in the command register: ours refuses the space it turns
 * off (-EIO), as for BARs; upstream passes the access through.
 */
TEST_F(vga, decoding_off)
{
	uint16_t cmd;
	uint8_t v;

	NEED_VGA_REGION();

	cmd = vfg_cfg_read16(self->d.fd, PCI_COMMAND);
	ASSERT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND,
				     cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	ASSERT_EQ(1, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v, 1));
	ASSERT_EQ(1, vfg_region_read(self->d.fd, VGA, TEXT, &v, 1));

	ASSERT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND,
				     (cmd | PCI_COMMAND_MEMORY) &
				     ~PCI_COMMAND_IO));
	if (vfg_ours()) {
		EXPECT_ERRNO(EIO, vfg_region_read(self->d.fd, VGA, SEQ_INDEX,
						  &v, 1));
		EXPECT_ERRNO(EIO, vfg_region_write(self->d.fd, VGA, 0x3b4,
						   &v, 1));
	} else {
		EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v,
					     1));
	}
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, TEXT, &v, 1));

	ASSERT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND,
				     (cmd | PCI_COMMAND_IO) &
				     ~PCI_COMMAND_MEMORY));
	if (vfg_ours())
		EXPECT_ERRNO(EIO, vfg_region_read(self->d.fd, VGA, TEXT, &v,
						  1));
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v, 1));
	EXPECT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND, cmd));
}

/* disable_vga=1: the device has no VGA region; its other regions stay. */
TEST_F(vga, disable_vga)
{
	struct vfio_region_info info;
	char param[8] = "";
	uint8_t v;

	NEED_VGA_REGION();

	vfg_dev_close(&self->d);
	ASSERT_EQ(0, vfg_pci_release(self->bdf));
	ASSERT_EQ(0, load_disable_vga());
	ASSERT_EQ(0, vfg_sysfs_read("/sys/module/vfio_pci/parameters/disable_vga",
				    param, sizeof(param)));
	EXPECT_STREQ("Y", param);
	ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->bdf));
	EXPECT_ERRNO(EINVAL, vfg_region_info(self->d.fd, VGA, &info));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v,
					     1));
	EXPECT_ERRNO(EINVAL, vfg_region_write(self->d.fd, VGA, SEQ_INDEX, &v,
					      1));
	EXPECT_ERRNO(EINVAL, vfg_region_read(self->d.fd, VGA, TEXT, &v, 1));
	ASSERT_EQ(0, vfg_region_info(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX,
				     &info));
	EXPECT_LT(0, info.size);
}

/* A revoked device: the VGA region is gone with the rest (ours). */
TEST_F(vga, revoked)
{
	pid_t unbinder;
	uint8_t v;

	NEED_VGA_REGION();

	if (!vfg_ours())
		SKIP(return, "revoke is a vfio-groups feature");
	ASSERT_EQ(0, vfg_sysfs_read(RELEASE_TIMEOUT, self->timeout,
				    sizeof(self->timeout)));
	ASSERT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, "300"));
	ASSERT_EQ(1, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v, 1));
	unbinder = vfg_pci_unbind_async(self->bdf);
	ASSERT_LT(0, unbinder);
	ASSERT_EQ(0, vfg_reap(unbinder, 20000));
	EXPECT_ERRNO(ENODEV, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v,
					     1));
	EXPECT_ERRNO(ENODEV, vfg_region_write(self->d.fd, VGA, TEXT, &v, 1));
}

/* A read of the sequencer index in a thread of its own. */
struct pending {
	int fd;
	ssize_t ret;
	int err;
	uint8_t v;
	bool done;
};

static void *pending_read(void *arg)
{
	struct pending *p = arg;

	p->ret = vfg_region_read(p->fd, VGA, SEQ_INDEX, &p->v, 1);
	p->err = errno;
	__atomic_store_n(&p->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool pending_done(struct pending *p)
{
	return __atomic_load_n(&p->done, __ATOMIC_SEQ_CST);
}

static void on_signal(int sig)
{
}

static int arb_cmd(int fd, const char *cmd)
{
	ssize_t n = write(fd, cmd, strlen(cmd));

	return n == (ssize_t)strlen(cmd) ? 0 : -errno;
}

/*
 * Accesses go through the VGA arbiter: while /dev/vga_arbiter holds the
 * legacy I/O lock for the other VGA device (the cirrus behind rp3, which
 * the arbiter routes the ranges to), a read waits, a signal interrupts the
 * wait (EINTR: no SA_RESTART), and the unlock lets it through, with the
 * ranges routed back to our device.
 */
TEST_F(vga, arbiter_lock_elsewhere)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pending p = { .fd = self->d.fd };
	char other[1][13], cmd[64];
	pthread_t th;
	int i;

	NEED_VGA_REGION();

	ASSERT_EQ(1, vfg_find_pci(CIRRUS_VENDOR, CIRRUS_DEVICE, other, 1))
		TH_LOG("no second VGA device (cirrus-vga) in the topology");
	ASSERT_EQ(0, wr8(self->d.fd, SEQ_INDEX, SEQ_MAP_MASK));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	self->arb = open(ARBITER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->arb);
	snprintf(cmd, sizeof(cmd), "target PCI:%s", other[0]);
	ASSERT_EQ(0, arb_cmd(self->arb, cmd));
	ASSERT_EQ(0, arb_cmd(self->arb, "lock io"));

	ASSERT_EQ(0, pthread_create(&th, NULL, pending_read, &p));
	usleep(500000);
	EXPECT_FALSE(pending_done(&p));
	/* Until it is in the wait, a signal only runs the handler. */
	for (i = 0; i < 100 && !pending_done(&p); i++) {
		pthread_kill(th, SIGUSR1);
		usleep(50000);
	}
	ASSERT_TRUE(pending_done(&p));
	pthread_join(th, NULL);
	EXPECT_EQ(-1, p.ret);
	EXPECT_EQ(EINTR, p.err);

	memset(&p, 0, sizeof(p));
	p.fd = self->d.fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, pending_read, &p));
	usleep(500000);
	EXPECT_FALSE(pending_done(&p));
	ASSERT_EQ(0, arb_cmd(self->arb, "unlock io"));
	pthread_join(th, NULL);
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(SEQ_MAP_MASK, p.v);
	/* Memory was taken from us too (one routing bit for both). */
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, TEXT, &p.v, 1));
}

/* Several threads at once, while the command register changes. */
struct hammer {
	int fd;
	bool stop;
	int bad;	/* results other than a full count or -EIO */
	int ok;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	uint8_t buf[4096];
	ssize_t n;
	int i;

	for (i = 0; !__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST); i++) {
		if (i & 1)
			n = vfg_region_read(h->fd, VGA, TEXT, buf, sizeof(buf));
		else
			n = vfg_region_read(h->fd, VGA, 0x3c0, buf, 0x20);
		if (n == (i & 1 ? (ssize_t)sizeof(buf) : 0x20))
			__atomic_add_fetch(&h->ok, 1, __ATOMIC_SEQ_CST);
		else if (n != -1 || errno != EIO)
			__atomic_add_fetch(&h->bad, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

TEST_F(vga, concurrent_with_decoding_changes)
{
	struct hammer h = { .fd = self->d.fd };
	pthread_t th[4];
	uint16_t cmd;
	uint8_t v;
	int i;

	NEED_VGA_REGION();

	cmd = vfg_cfg_read16(self->d.fd, PCI_COMMAND);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, hammer_run, &h));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND,
					     i & 1 ? cmd | PCI_COMMAND_IO |
					     PCI_COMMAND_MEMORY :
					     cmd & ~(PCI_COMMAND_IO |
						     PCI_COMMAND_MEMORY)));
		usleep(2000);
	}
	__atomic_store_n(&h.stop, true, __ATOMIC_SEQ_CST);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, h.bad);
	EXPECT_LT(0, h.ok);
	ASSERT_EQ(0, vfg_cfg_write16(self->d.fd, PCI_COMMAND,
				     cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	EXPECT_EQ(1, vfg_region_read(self->d.fd, VGA, SEQ_INDEX, &v, 1));
}

/* A device that is not VGA-class has no VGA region (as upstream). */
TEST(not_vga_class)
{
	struct vfg_topo t;
	struct vfg_dev d;
	struct vfio_region_info info;
	uint8_t v;

	vfg_dev_init(&d);
	ASSERT_EQ(0, vfg_topo_find(&t));
	ASSERT_EQ(0, vfg_topo_restore(&t));
	ASSERT_EQ(0, vfg_vfio_load());
	ASSERT_EQ(0, vfg_pci_bind(t.lone, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&d, t.lone));
	EXPECT_ERRNO(EINVAL, vfg_region_info(d.fd, VGA, &info));
	EXPECT_ERRNO(EINVAL, vfg_region_read(d.fd, VGA, SEQ_INDEX, &v, 1));
	vfg_dev_close(&d);
	vfg_topo_restore(&t);
}

TEST_HARNESS_MAIN
