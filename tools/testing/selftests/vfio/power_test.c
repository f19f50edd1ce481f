// SPDX-License-Identifier: GPL-2.0
/*
 * Idle power: a device bound to vfio-pci and not open sits in D3hot (runtime
 * PM), is in D0 with its state restored while a device fd has it, and goes
 * back to D3hot after the last close; vfio-pci.disable_idle_d3 keeps it in
 * D0.  The e1000e of the test topology has a PM capability (the edu has
 * none).  Runs against the kernel's vfio-pci too, which does the same.
 *
 * Low power while open: VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY (and _WITH_WAKEUP,
 * _EXIT) as 6.1's uapi has them: the device goes to D3hot with its fd open,
 * an access through the fd (config, BAR pread, any ioctl) wakes it first,
 * mmaps fault with SIGBUS until the exit, the wakeup eventfd is signalled
 * when it wakes; the last close, a kill, a removal or a revoke leave no
 * runtime PM reference behind (power/runtime_usage, CONFIG_PM_ADVANCED_DEBUG).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
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
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

/* Wait up to @ms for @bdf's power_state to be @want; the last one read. */
static void wait_power(const char *bdf, const char *want, int ms,
		       char *state, size_t len)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/power_state",
		 bdf);
	for (;;) {
		if (vfg_sysfs_read(path, state, len))
			snprintf(state, len, "?");
		if (!strcmp(state, want) || ms <= 0)
			return;
		nanosleep(&ts, NULL);
		ms -= 10;
	}
}

/* @bdf's runtime PM usage count, or -1 if unreadable. */
static long pm_usage(const char *bdf)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path),
		 "/sys/bus/pci/devices/%s/power/runtime_usage", bdf);
	if (vfg_sysfs_read(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * The usage count of @bdf is @want, where the kernel shows it (the debug
 * kernel has no CONFIG_PM_ADVANCED_DEBUG: there only the power states,
 * which every test checks as well, are asserted).
 */
#define EXPECT_USAGE(want, bdf) do {					\
	long __u = pm_usage(bdf);					\
									\
	if (__u >= 0) {							\
		EXPECT_EQ((long)(want), __u);				\
	} else {							\
		TH_LOG("no power/runtime_usage: usage count not checked"); \
	}								\
} while (0)

/* VFIO_DEVICE_FEATURE with @len bytes of @data after the header. */
static int feature(int fd, uint32_t argsz, uint32_t flags, const void *data,
		   size_t len)
{
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[16];
	} f;

	memset(&f, 0, sizeof(f));
	f.hdr.argsz = argsz;
	f.hdr.flags = flags;
	if (len > sizeof(f.data))
		len = sizeof(f.data);
	if (len)
		memcpy(f.data, data, len);
	return ioctl(fd, VFIO_DEVICE_FEATURE, &f);
}

#define HDR sizeof(struct vfio_device_feature)
#define SET VFIO_DEVICE_FEATURE_SET

static int lp_entry(int fd)
{
	return feature(fd, HDR, SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
		       NULL, 0);
}

static int lp_entry_wakeup(int fd, int efd)
{
	struct vfio_device_low_power_entry_with_wakeup w = {
		.wakeup_eventfd = efd,
	};

	return feature(fd, HDR + sizeof(w),
		       SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
		       &w, sizeof(w));
}

static int lp_exit(int fd)
{
	return feature(fd, HDR, SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
		       NULL, 0);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* In a child: read @bar; 0 on SIGBUS, 1 if the access worked. */
static int touch_in_child(volatile uint32_t *bar)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		signal(SIGBUS, on_sigbus);
		if (sigsetjmp(bus_jmp, 1))
			_exit(0);
		(void)bar[2];
		_exit(1);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* The NIC answers: its vendor ID in config space, a sane STATUS in BAR 0. */
static int nic_works(int fd)
{
	uint32_t v = 0xffffffff;

	if (vfg_cfg_read16(fd, 0) != 0x8086)
		return 0;
	if (vfg_region_read(fd, VFIO_PCI_BAR0_REGION_INDEX, 8, &v, 4) != 4)
		return 0;
	return v != 0xffffffffu;
}

FIXTURE(power) {
	struct vfg_topo t;
	struct vfg_dev d;
	void *bar;	/* BAR 0 mapped: it holds the device fd too */
};

FIXTURE_SETUP(power)
{
	vfg_dev_init(&self->d);
	self->bar = NULL;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
}

FIXTURE_TEARDOWN(power)
{
	if (self->bar)
		munmap(self->bar, 4096);
	vfg_dev_close(&self->d);
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

TEST_F(power, idle_device_in_d3hot)
{
	char state[32];
	uint32_t v = 0;

	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	/* Awake and restored: its IDs, and a BAR that answers. */
	EXPECT_EQ(0x8086, vfg_cfg_read16(self->d.fd, 0));
	ASSERT_EQ(4, vfg_region_read(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX, 8,
				     &v, 4));
	EXPECT_NE(0xffffffffu, v);

	vfg_dev_close(&self->d);
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
}

TEST_F(power, disable_idle_d3_keeps_d0)
{
	char state[32];

	if (!vfg_ours())
		SKIP(return, "reloads our modules");
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load(vfg_irq_remapping() ?
				     "disable_idle_d3=1" :
				     "disable_idle_d3=1 allow_unsafe_interrupts=1"));
	/* Its driver_override binds it as the driver registers. */
	ASSERT_EQ(0, vfg_pci_driver(self->t.nic, state, sizeof(state)));
	if (strcmp(state, "vfio-pci"))
		ASSERT_EQ(0, vfg_pci_bind(self->t.nic, "vfio-pci"));
	wait_power(self->t.nic, "D3hot", 1000, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	EXPECT_EQ(0x8086, vfg_cfg_read16(self->d.fd, 0));
	vfg_dev_close(&self->d);
	wait_power(self->t.nic, "D3hot", 1000, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	/* Back to the defaults for the next test. */
	EXPECT_EQ(0, vfg_vfio_unload_all());
}

/* PROBE, and the errnos of VFIO_DEVICE_FEATURE's checks for the three. */
TEST_F(power, low_power_probe_and_errnos)
{
	const uint32_t feats[] = {
		VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
		VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
		VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
	};
	const uint32_t probe = VFIO_DEVICE_FEATURE_PROBE;
	const uint32_t get = VFIO_DEVICE_FEATURE_GET;
	struct vfio_device_low_power_entry_with_wakeup w = { };
	int fd, i, nul, efd;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	fd = self->d.fd;
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, feature(fd, HDR, probe | SET | feats[i], NULL, 0))
			TH_LOG("feature %u", feats[i]);
		/* SET only: GET, probed or not, is -EINVAL. */
		EXPECT_ERRNO(EINVAL, feature(fd, HDR, probe | get | feats[i],
					     NULL, 0));
		EXPECT_ERRNO(EINVAL, feature(fd, HDR, get | feats[i], NULL, 0));
		/* Neither GET nor SET without PROBE. */
		EXPECT_ERRNO(EINVAL, feature(fd, HDR, feats[i], NULL, 0));
		/* The header's checks. */
		EXPECT_ERRNO(EINVAL, feature(fd, HDR - 1, SET | feats[i],
					     NULL, 0));
		EXPECT_ERRNO(EINVAL, feature(fd, HDR, SET | feats[i] | 1u << 20,
					     NULL, 0));
		EXPECT_ERRNO(EINVAL, feature(fd, HDR, SET | get | feats[i],
					     NULL, 0));
	}
	/* WITH_WAKEUP: its data must be there, and name an eventfd. */
	EXPECT_ERRNO(EINVAL, feature(fd, HDR + sizeof(w) - 1,
				     SET | feats[1], &w, sizeof(w)));
	EXPECT_ERRNO(EINVAL, lp_entry_wakeup(fd, -1));
	nul = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, nul);
	EXPECT_ERRNO(EINVAL, lp_entry_wakeup(fd, nul));
	close(nul);
	EXPECT_ERRNO(EBADF, lp_entry_wakeup(fd, nul));
	/* Exit without entry is fine; a second entry is -EINVAL. */
	EXPECT_EQ(0, lp_exit(fd));
	ASSERT_EQ(0, lp_entry(fd));
	EXPECT_ERRNO(EINVAL, lp_entry(fd));
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	EXPECT_ERRNO(EINVAL, lp_entry_wakeup(fd, efd));
	EXPECT_EQ(0, lp_exit(fd));
	EXPECT_EQ(0, lp_exit(fd));
	EXPECT_EQ(0, vfg_eventfd_wait(efd, 0));
	close(efd);
	EXPECT_TRUE(nic_works(fd));
}

/*
 * Entry: D3hot with the fd open, mmaps fault with SIGBUS; an access through
 * the fd wakes it for the access only; exit: D0, mmaps work again.
 */
TEST_F(power, entry_d3hot_access_exit_d0)
{
	volatile uint32_t *bar;
	char state[32];
	long usage;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	bar = vfg_region_mmap(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX, 0, 4096,
			      PROT_READ);
	ASSERT_NE(NULL, bar);
	self->bar = (void *)bar;
	EXPECT_EQ(1, touch_in_child(bar));
	usage = pm_usage(self->t.nic);
	if (usage >= 0) {
		EXPECT_LE(1, usage);
	}

	ASSERT_EQ(0, lp_entry(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	if (usage >= 0) {
		EXPECT_USAGE(usage - 1, self->t.nic);
	}
	/* No access through a mapping while the feature is engaged. */
	EXPECT_EQ(0, touch_in_child(bar));

	/* Config and BAR accesses wake it first, then it sleeps again. */
	EXPECT_TRUE(nic_works(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_EQ(0, touch_in_child(bar));

	ASSERT_EQ(0, lp_exit(self->d.fd));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	if (usage >= 0) {
		EXPECT_USAGE(usage, self->t.nic);
	}
	wait_power(self->t.nic, "D3hot", 500, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	EXPECT_EQ(1, touch_in_child(bar));
	EXPECT_NE(0xffffffffu, bar[2]);
	EXPECT_TRUE(nic_works(self->d.fd));
}

/*
 * WITH_WAKEUP: no signal while it sleeps; an access wakes it for good,
 * signals the eventfd once and lets mmaps work again without an exit.
 * An exit of a sleeping device signals too.
 */
TEST_F(power, wakeup_eventfd)
{
	volatile uint32_t *bar;
	char state[32];
	int efd;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	bar = vfg_region_mmap(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX, 0, 4096,
			      PROT_READ);
	ASSERT_NE(NULL, bar);
	self->bar = (void *)bar;
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);

	ASSERT_EQ(0, lp_entry_wakeup(self->d.fd, efd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	EXPECT_EQ(0, vfg_eventfd_wait(efd, 200));
	EXPECT_EQ(0, touch_in_child(bar));
	EXPECT_EQ(0, vfg_eventfd_wait(efd, 0));

	EXPECT_EQ(0x8086, vfg_cfg_read16(self->d.fd, 0));
	EXPECT_EQ(1, vfg_eventfd_wait(efd, 1000));
	wait_power(self->t.nic, "D3hot", 500, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	EXPECT_EQ(1, touch_in_child(bar));
	EXPECT_TRUE(nic_works(self->d.fd));
	/* Out already: the exit is a no-op and signals nothing. */
	EXPECT_EQ(0, lp_exit(self->d.fd));
	EXPECT_EQ(0, vfg_eventfd_wait(efd, 100));

	/* Again, woken by the exit itself. */
	ASSERT_EQ(0, lp_entry_wakeup(self->d.fd, efd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	EXPECT_EQ(0, lp_exit(self->d.fd));
	EXPECT_EQ(1, vfg_eventfd_wait(efd, 1000));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	EXPECT_TRUE(nic_works(self->d.fd));

	/* The eventfd closed by userspace while engaged: still fine. */
	ASSERT_EQ(0, lp_entry_wakeup(self->d.fd, efd));
	close(efd);
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_TRUE(nic_works(self->d.fd));
	wait_power(self->t.nic, "D3hot", 500, state, sizeof(state));
	EXPECT_STREQ("D0", state);
}

/* A reset (an ioctl: it wakes the device) in low power, then the exit. */
TEST_F(power, reset_in_low_power)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char state[32];

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	ASSERT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_GET_INFO, &info));
	if (!(info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "the NIC has no function reset");
	ASSERT_EQ(0, lp_entry(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	EXPECT_EQ(0, ioctl(self->d.fd, VFIO_DEVICE_RESET));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_EQ(0, lp_exit(self->d.fd));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	EXPECT_TRUE(nic_works(self->d.fd));
}

/* The last close of a device in low power: idle D3hot, then a good open. */
TEST_F(power, close_in_low_power)
{
	char state[32];

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	ASSERT_EQ(0, lp_entry(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	vfg_dev_close(&self->d);
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_USAGE(0, self->t.nic);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	EXPECT_USAGE(1, self->t.nic);
	EXPECT_TRUE(nic_works(self->d.fd));
}

/* Rebind @bdf to vfio-pci, check it idles with no usage count, open it. */
static void rebind_idles(struct __test_metadata *_metadata,
			 struct vfg_dev *d, const char *bdf)
{
	char state[32];

	ASSERT_EQ(0, vfg_pci_bind(bdf, "vfio-pci"));
	wait_power(bdf, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_USAGE(0, bdf);
	ASSERT_EQ(0, vfg_dev_open(d, bdf));
	EXPECT_TRUE(nic_works(d->fd));
	vfg_dev_close(d);
}

/* SIGKILL of the holder in low power; then a removal and a rebind. */
TEST_F(power, kill_in_low_power)
{
	char state[32];
	int p[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(p));
	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vfg_dev d;

		vfg_dev_init(&d);
		c = vfg_dev_open(&d, self->t.nic) || lp_entry(d.fd) ? 'n' : 'y';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	EXPECT_EQ('y', c);
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
	EXPECT_USAGE(0, self->t.nic);
	ASSERT_EQ(0, vfg_pci_unbind(self->t.nic));
	rebind_idles(_metadata, &self->d, self->t.nic);
}

/* A removal waiting for the fd of a device in low power; then a rebind. */
TEST_F(power, remove_in_low_power)
{
	char state[32];
	pid_t unbinder;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	ASSERT_EQ(0, lp_entry(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	unbinder = vfg_pci_unbind_async(self->t.nic);
	ASSERT_LT(0, unbinder);
	usleep(500 * 1000);
	EXPECT_EQ(-1, vfg_reap(unbinder, 0));
	vfg_dev_close(&self->d);
	EXPECT_EQ(0, vfg_reap(unbinder, 10000));
	ASSERT_EQ(0, vfg_pci_driver(self->t.nic, state, sizeof(state)));
	EXPECT_STREQ("", state);
	rebind_idles(_metadata, &self->d, self->t.nic);
}

/* Ours: a removal that times out revokes the device in low power. */
TEST_F(power, revoke_in_low_power)
{
	const char *param = "/sys/module/vfio/parameters/release_timeout_ms";
	char state[32];
	pid_t unbinder;
	uint32_t v;

	if (!vfg_ours())
		SKIP(return, "the kernel's VFIO has no revoke");
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	ASSERT_EQ(0, lp_entry(self->d.fd));
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);
	ASSERT_EQ(0, vfg_sysfs_write(param, "500"));
	unbinder = vfg_pci_unbind_async(self->t.nic);
	ASSERT_LT(0, unbinder);
	EXPECT_EQ(0, vfg_reap(unbinder, 10000));
	EXPECT_EQ(0, vfg_sysfs_write(param, "0"));
	EXPECT_ERRNO(ENODEV, pread(self->d.fd, &v, 4, 0));
	EXPECT_ERRNO(ENODEV, lp_exit(self->d.fd));
	vfg_dev_close(&self->d);
	rebind_idles(_metadata, &self->d, self->t.nic);
}

/* ---- races: threads entering, leaving and accessing at once ----------- */

struct cycler {
	int fd;
	int efd;
	volatile int stop;
	long cycles;
};

/* Enter low power (with and without a wakeup eventfd) and leave, again. */
static void *lp_cycler(void *arg)
{
	struct cycler *c = arg;
	uint64_t n;

	while (!c->stop) {
		if (c->cycles & 1) {
			lp_entry_wakeup(c->fd, c->efd);
			usleep(30000);
			(void)read(c->efd, &n, sizeof(n));
		} else {
			lp_entry(c->fd);
			usleep(30000);
		}
		lp_exit(c->fd);
		c->cycles++;
	}
	return NULL;
}

/*
 * Config and BAR accesses while another thread enters and leaves low power:
 * every one finds the device awake (an access racing the entry either
 * comes before it or wakes the device), none fails or reads all ones, and
 * the device sleeps between them.  A BAR read that reached the device in
 * D3hot would fail with EIO, a config read of it could see all ones.
 */
TEST_F(power, accesses_race_entry)
{
	struct cycler c = { .stop = 0, .cycles = 0 };
	long reads = 0, bad_cfg = 0, bad_bar = 0, bad_wr = 0, d3 = 0;
	char state[32], path[128];
	struct timespec t0, t;
	uint8_t cfg[256];
	unsigned int pm;
	pthread_t th;
	uint16_t cmd;
	uint32_t v;
	ssize_t n;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	ASSERT_EQ(256, vfg_region_read(self->d.fd,
				       VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
				       256));
	pm = vfg_pci_find_cap(cfg, PCI_CAP_ID_PM);
	ASSERT_NE(0, pm);
	cmd = cfg[PCI_COMMAND] | cfg[PCI_COMMAND + 1] << 8;
	c.fd = self->d.fd;
	c.efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, c.efd);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/power_state",
		 self->t.nic);
	ASSERT_EQ(0, pthread_create(&th, NULL, lp_cycler, &c));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/* PCI_STATUS: read from the device, not the virtual image. */
		if (vfg_cfg_read16(self->d.fd, PCI_STATUS) == 0xffff ||
		    vfg_cfg_read16(self->d.fd, 0) != 0x8086)
			bad_cfg++;
		v = 0xffffffff;
		n = vfg_region_read(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX, 8,
				    &v, 4);
		if (n != 4 || v == 0xffffffffu) {
			if (bad_bar++ < 3)
				TH_LOG("BAR read %zd (errno %d): %#x", n,
				       errno, v);
		}
		/* Writes: the command register as it is; D0 (a power action). */
		if (vfg_cfg_write16(self->d.fd, PCI_COMMAND, cmd) ||
		    vfg_cfg_write16(self->d.fd, pm + PCI_PM_CTRL, 0))
			bad_wr++;
		/* Now and then, leave it time to suspend, and look. */
		if ((++reads & 15) == 0) {
			usleep(20000);	/* a D3hot transition takes 10 ms */
			if (!vfg_sysfs_read(path, state, sizeof(state)) &&
			    !strcmp(state, "D3hot"))
				d3++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
		 (t.tv_nsec - t0.tv_nsec) / 1000000 < 3000);
	c.stop = 1;
	pthread_join(th, NULL);
	close(c.efd);
	TH_LOG("%ld reads, %ld entries, D3hot seen %ld times", reads,
	       c.cycles, d3);
	EXPECT_EQ(0, bad_cfg);
	EXPECT_EQ(0, bad_bar);
	EXPECT_EQ(0, bad_wr);
	EXPECT_LT(20, c.cycles);
	EXPECT_LT(0, d3);
	EXPECT_TRUE(nic_works(self->d.fd));
}

struct racer {
	int fd;
	int efd;
	volatile uint32_t *bar;
	volatile int stop;
	int kind;
};

static __thread sigjmp_buf race_jmp;

static void on_race_sigbus(int sig)
{
	siglongjmp(race_jmp, 1);
}

static void *race_worker(void *arg)
{
	struct racer *r = arg;
	uint32_t v;

	while (!r->stop) {
		switch (r->kind) {
		case 0:
			lp_entry(r->fd);
			lp_exit(r->fd);
			break;
		case 1:
			lp_entry_wakeup(r->fd, r->efd);
			usleep(1000);
			lp_exit(r->fd);
			break;
		case 2:
			(void)vfg_cfg_read16(r->fd, 0);
			(void)vfg_region_read(r->fd, VFIO_PCI_BAR0_REGION_INDEX,
					      8, &v, 4);
			break;
		case 3:
			if (!sigsetjmp(race_jmp, 1))
				(void)r->bar[2];
			break;
		default:
			ioctl(r->fd, VFIO_DEVICE_RESET);
			usleep(5000);
		}
	}
	return NULL;
}

/* In a child: hammer the device for @ms, then (if @clean) exit cleanly. */
static void race_child(const char *bdf, int ms, bool clean)
{
	struct racer r[5];
	pthread_t t[5];
	struct vfg_dev d;
	void *bar;
	int i, efd;

	vfg_dev_init(&d);
	if (vfg_dev_open(&d, bdf))
		_exit(2);
	bar = vfg_region_mmap(d.fd, VFIO_PCI_BAR0_REGION_INDEX, 0, 4096,
			      PROT_READ);
	efd = eventfd(0, EFD_NONBLOCK);
	if (!bar || efd < 0)
		_exit(3);
	signal(SIGBUS, on_race_sigbus);
	for (i = 0; i < 5; i++) {
		r[i] = (struct racer){ .fd = d.fd, .efd = efd, .bar = bar,
				       .kind = i };
		if (pthread_create(&t[i], NULL, race_worker, &r[i]))
			_exit(4);
	}
	usleep(ms * 1000);
	if (!clean)
		pause();	/* killed with everything in flight */
	for (i = 0; i < 5; i++)
		r[i].stop = 1;
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	if (lp_exit(d.fd) || !nic_works(d.fd))
		_exit(5);
	_exit(0);
}

/*
 * Entries, exits, wakeups, accesses, faults and resets from five threads;
 * once to the end, once killed in the middle: no usage count is left, the
 * device idles, rebinds and works.
 */
TEST_F(power, threads_race_and_kill)
{
	char state[32];
	int status, round;
	pid_t pid;

	for (round = 0; round < 2; round++) {
		fflush(stdout);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			race_child(self->t.nic, 2000, round == 0);
		if (round == 1) {
			usleep(1500 * 1000);
			kill(pid, SIGKILL);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (round == 0) {
			ASSERT_TRUE(WIFEXITED(status));
			EXPECT_EQ(0, WEXITSTATUS(status));
		} else {
			EXPECT_TRUE(WIFSIGNALED(status));
		}
		wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
		EXPECT_STREQ("D3hot", state);
		EXPECT_USAGE(0, self->t.nic);
	}
	ASSERT_EQ(0, vfg_pci_unbind(self->t.nic));
	rebind_idles(_metadata, &self->d, self->t.nic);
}

TEST_HARNESS_MAIN
