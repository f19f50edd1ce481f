// SPDX-License-Identifier: GPL-2.0
/*
 * Removal: unbinding a device whose fd is open blocks until the fd is closed,
 * while the driver asks for it back (REQ eventfd, netlink, log); with a
 * release timeout the device is revoked instead.  Also the netlink family's
 * events and state queries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"
#include "nl_util.h"
#include "edu.h"

#define PARAM "/sys/module/vfio/parameters/"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool still_running(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* ---- one device held open ---------------------------------------------- */

FIXTURE(removal) {
	struct vfg_ctx *ctx;
	struct vfg_topo t;
	int group_id;
	int group, container, dev;
	volatile void *bar;
	struct vfg_nl nl;
	pid_t unbinder;
};

FIXTURE_SETUP(removal)
{
	struct vfg_dev d;

	self->group = self->container = self->dev = -1;
	self->unbinder = 0;
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load("release_retry_ms=200"));
	self->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, self->ctx);
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	ASSERT_EQ(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&d, self->t.lone));
	self->group_id = d.group_id;
	self->group = d.group;
	self->container = d.container;
	self->dev = d.fd;
	self->bar = mmap(NULL, EDU_BAR0_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->dev, 0);
	ASSERT_NE(MAP_FAILED, self->bar);
	ASSERT_EQ(0x010000ed, edu_read32(self->bar, EDU_REG_ID));
	ASSERT_EQ(0, vfg_nl_open(&self->nl, true));
}

FIXTURE_TEARDOWN(removal)
{
	if (self->bar && self->bar != MAP_FAILED)
		munmap((void *)self->bar, EDU_BAR0_SIZE);
	if (self->dev >= 0)
		close(self->dev);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	if (self->unbinder > 0)
		EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	vfg_nl_close(&self->nl);
	vfg_pci_unbind(self->t.lone);
	vfg_pci_set_override(self->t.lone, NULL);
	vfg_ctx_free(self->ctx);
	vfg_module_unload();
}

static void close_all(struct _test_data_removal *self)
{
	munmap((void *)self->bar, EDU_BAR0_SIZE);
	self->bar = NULL;
	close(self->dev);
	close(self->group);
	close(self->container);
	self->dev = self->group = self->container = -1;
}

/*
 * Unbind blocks while the device fd is open and completes soon after it is
 * closed; meanwhile the holder is asked, again and again, by netlink.
 */
TEST_F(removal, unbind_waits_for_close)
{
	struct vfg_nl_ev ev;
	long long t0, t1;
	char drv[64];

	t0 = now_ms();
	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	ASSERT_LT(0, self->unbinder);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
				 self->t.lone, 10000, &ev));
	t1 = now_ms();
	/* A figure, not a bound: the guest is emulated. */
	printf("# unbind-to-event latency: %lld ms\n", t1 - t0);
	EXPECT_EQ(self->group_id, ev.group);
	EXPECT_EQ(getpid(), ev.holder);
	EXPECT_EQ(1, ev.attempt);
	EXPECT_EQ(-1, ev.deadline_ms);

	/* The request is repeated while the fd stays open. */
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
				 self->t.lone, 5000, &ev));
	EXPECT_LE(2, ev.attempt);
	sleep(1);
	EXPECT_TRUE(still_running(self->unbinder));
	/* The device is still ours to use. */
	EXPECT_EQ(0x010000ed, edu_read32(self->bar, EDU_REG_ID));

	close_all(self);
	EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;
	EXPECT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASED,
				 self->t.lone, 5000, NULL));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_DEVICE_UNBOUND,
				 self->t.lone, 5000, &ev));
	EXPECT_STREQ("vfio-pci", ev.driver);
	ASSERT_EQ(0, vfg_pci_driver(self->t.lone, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
}

/* The REQ eventfd fires when the kernel wants the device back. */
TEST_F(removal, req_eventfd_fires)
{
	struct pollfd p;
	uint64_t n = 0;
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vfg_irq_set_eventfds(self->dev, VFIO_PCI_REQ_IRQ_INDEX, 0,
					  1, &efd));

	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	p.fd = efd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 10000));
	ASSERT_EQ(8, read(efd, &n, 8));
	EXPECT_LE(1, n);
	EXPECT_TRUE(still_running(self->unbinder));
	close_all(self);
	EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;
	close(efd);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* In a child: touch @bar; exit 0 on SIGBUS, 1 if the access worked. */
static int touch_in_child(volatile void *bar)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		signal(SIGBUS, on_sigbus);
		if (sigsetjmp(bus_jmp, 1))
			_exit(0);
		(void)edu_read32(bar, EDU_REG_ID);
		_exit(1);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/*
 * With a release timeout the device is revoked: mappings gone (SIGBUS),
 * every operation on the fd -ENODEV, and the unbind completes while the fd
 * is still open; the stale fd closes cleanly later.
 */
TEST_F(removal, timeout_revokes)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfg_nl_ev ev;
	uint32_t v;
	void *p;

	ASSERT_EQ(0, vfg_sysfs_write(PARAM "release_timeout_ms", "1500"));
	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
				 self->t.lone, 10000, &ev));
	EXPECT_LT(0, ev.deadline_ms);
	EXPECT_GE(1500, ev.deadline_ms);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_REVOKED,
				 self->t.lone, 10000, &ev));
	EXPECT_EQ(getpid(), ev.holder);
	EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;

	EXPECT_EQ(0, touch_in_child(self->bar));
	EXPECT_ERRNO(ENODEV, ioctl(self->dev, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_ERRNO(ENODEV, pread(self->dev, &v, 4, 0));
	EXPECT_ERRNO(ENODEV, pread(self->dev, &v, 4, 7ULL << 40));
	EXPECT_ERRNO(ENODEV, pwrite(self->dev, &v, 4, 7ULL << 40));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->dev, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_ERRNO(ENODEV, ioctl(self->dev, VFIO_DEVICE_RESET));
	EXPECT_EQ(0, vfg_sysfs_write(PARAM "release_timeout_ms", "0"));
	close_all(self);
}

/* Killing the holder releases the device, and the unbind completes. */
TEST_F(removal, killing_holder_unblocks)
{
	pid_t holder;

	holder = fork();
	ASSERT_LE(0, holder);
	if (!holder) {
		pause();
		_exit(0);
	}
	/* The child has the only copies of the fds now. */
	close_all(self);

	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
				 self->t.lone, 10000, NULL));
	usleep(500000);
	EXPECT_TRUE(still_running(self->unbinder));
	ASSERT_EQ(0, kill(holder, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, vfg_reap(holder, 5000));
	EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;
}

/* A signal to the unbinding process does not abandon the removal. */
TEST_F(removal, signal_does_not_abandon)
{
	char drv[64];

	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED,
				 self->t.lone, 10000, NULL));
	ASSERT_EQ(0, kill(self->unbinder, SIGUSR1));
	usleep(500000);
	/* SIGUSR1 would have killed it had the write returned. */
	EXPECT_TRUE(still_running(self->unbinder));
	EXPECT_EQ(0x010000ed, edu_read32(self->bar, EDU_REG_ID));
	close_all(self);
	EXPECT_NE(-1, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;
	ASSERT_EQ(0, vfg_pci_driver(self->t.lone, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
}

/* ---- netlink: events and state ----------------------------------------- */

FIXTURE(nl) {
	struct vfg_ctx *ctx;
	struct vfg_topo t;
	struct vfg_nl nl;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load(NULL));
	self->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, self->ctx);
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	ASSERT_EQ(0, vfg_nl_open(&self->nl, true));
}

FIXTURE_TEARDOWN(nl)
{
	vfg_nl_close(&self->nl);
	vfg_pci_unbind(self->t.pedu);
	vfg_pci_set_override(self->t.pedu, NULL);
	if (!vfg_pci_exists(self->t.pedu))
		vfg_pci_rescan();
	vfg_sysfs_write("/sys/bus/pci/drivers/shpchp/bind", self->t.bridge);
	vfg_ctx_free(self->ctx);
	vfg_module_unload();
}

TEST_F(nl, bound_unbound_events)
{
	int g = vfg_device_get_group(self->ctx, self->t.pedu);
	struct vfg_nl_ev ev;

	ASSERT_LE(0, g);
	ASSERT_EQ(0, vfg_pci_bind(self->t.pedu, "vfio-pci"));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_DEVICE_BOUND,
				 self->t.pedu, 5000, &ev));
	EXPECT_EQ(g, ev.group);
	EXPECT_STREQ("vfio-pci", ev.driver);
	ASSERT_EQ(0, vfg_pci_unbind(self->t.pedu));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_DEVICE_UNBOUND,
				 self->t.pedu, 5000, &ev));
	EXPECT_EQ(g, ev.group);
	EXPECT_STREQ("vfio-pci", ev.driver);
}

TEST_F(nl, viability_events)
{
	int g = vfg_device_get_group(self->ctx, self->t.bridge);
	struct vfg_nl_ev ev;

	ASSERT_LE(0, g);
	ASSERT_EQ(0, vfg_pci_unbind(self->t.bridge));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl,
				 VFIO_GROUPS_EVENT_VIABILITY_CHANGED, NULL,
				 5000, &ev));
	EXPECT_EQ(g, ev.group);
	EXPECT_EQ(1, ev.viable);
	ASSERT_EQ(0, vfg_sysfs_write("/sys/bus/pci/drivers/shpchp/bind",
				     self->t.bridge));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl,
				 VFIO_GROUPS_EVENT_VIABILITY_CHANGED, NULL,
				 5000, &ev));
	EXPECT_EQ(g, ev.group);
	EXPECT_EQ(0, ev.viable);
}

/* Groups come and go with their devices, and say so. */
TEST_F(nl, group_created_destroyed_events)
{
	int g = vfg_device_get_group(self->ctx, self->t.pedu), g2;
	struct vfg_nl_ev ev;
	char path[PATH_MAX];

	ASSERT_LE(0, g);
	ASSERT_EQ(0, vfg_pci_remove(self->t.pedu));
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_GROUP_DESTROYED,
				 NULL, 5000, &ev));
	EXPECT_EQ(g, ev.group);
	ASSERT_EQ(0, vfg_pci_rescan());
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", self->t.pedu);
	ASSERT_TRUE(vfg_wait_path(path, true, 5000));
	g2 = vfg_device_get_group(self->ctx, self->t.pedu);
	ASSERT_LE(0, g2);
	ASSERT_EQ(0, vfg_nl_wait(&self->nl, VFIO_GROUPS_EVENT_GROUP_CREATED,
				 NULL, 5000, &ev));
	EXPECT_EQ(g2, ev.group);
}

TEST_F(nl, get_group_state)
{
	int lone = vfg_device_get_group(self->ctx, self->t.lone);
	int bridge = vfg_device_get_group(self->ctx, self->t.bridge);
	struct vfg_nl_state st;
	int fd, i, blocking = 0;

	ASSERT_EQ(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
	fd = vfg_group_open(lone);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfg_nl_get_group(&self->nl, lone, &st));
	EXPECT_EQ(lone, st.group);
	EXPECT_EQ(1, st.viable);
	EXPECT_EQ(getpid(), st.holder);
	ASSERT_EQ(1, st.nr_members);
	EXPECT_STREQ(self->t.lone, st.members[0].device);
	EXPECT_STREQ("vfio-pci", st.members[0].driver);
	EXPECT_EQ(0, st.members[0].blocks);
	close(fd);
	vfg_pci_unbind(self->t.lone);
	vfg_pci_set_override(self->t.lone, NULL);

	ASSERT_EQ(0, vfg_nl_get_group(&self->nl, bridge, &st));
	EXPECT_EQ(0, st.viable);
	EXPECT_EQ(0, st.holder);
	ASSERT_EQ(3, st.nr_members);
	for (i = 0; i < st.nr_members; i++) {
		if (!st.members[i].blocks)
			continue;
		blocking++;
		EXPECT_STREQ(self->t.bridge, st.members[i].device);
		EXPECT_STREQ("shpchp", st.members[i].driver);
		EXPECT_NE(0, strlen(st.members[i].reason));
	}
	EXPECT_EQ(1, blocking);
}

TEST_F(nl, dump_all_groups)
{
	struct vfg_nl_state st[32];
	int n, i, seen = 0, groups = 0;
	DIR *d = opendir("/sys/class/vfio");
	struct dirent *de;

	ASSERT_NE(NULL, d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			groups++;
	closedir(d);
	n = vfg_nl_dump(&self->nl, st, 32);
	ASSERT_EQ(groups, n);
	for (i = 0; i < n; i++) {
		EXPECT_LE(1, st[i].nr_members);
		if (i)
			EXPECT_LT(st[i - 1].group, st[i].group);
		if (st[i].group == vfg_device_get_group(self->ctx,
							 self->t.lone))
			seen++;
	}
	EXPECT_EQ(1, seen);
}

/* The policy is strict: malformed requests get EINVAL, unknown groups ENODEV. */
TEST_F(nl, get_group_validation)
{
	struct vfg_nl_state st;
	struct {
		uint16_t len, type;
		uint32_t val;
	} attr = { 8, VFIO_GROUPS_A_GROUP_ID, 9999 };
	struct {
		uint16_t len, type;
		uint8_t val[4];
	} shortattr = { 5, VFIO_GROUPS_A_GROUP_ID, { 1 } };
	struct {
		uint16_t len, type;
		uint32_t val;
	} unknown = { 8, 200, 1 };

	EXPECT_EQ(-EINVAL, vfg_nl_get_raw(&self->nl, NULL, 0, &st));
	EXPECT_EQ(-ENODEV, vfg_nl_get_raw(&self->nl, &attr, 8, &st));
	EXPECT_EQ(-EINVAL, vfg_nl_get_raw(&self->nl, &shortattr, 8, &st));
	EXPECT_EQ(-EINVAL, vfg_nl_get_raw(&self->nl, &unknown, 8, &st));
}

TEST_HARNESS_MAIN
