// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_DEVICE_PCI_HOT_RESET across IOMMU groups (issue 11, item 2), on the
 * "hotreset" topology: three edus on the internal bus of a PCIe switch,
 * each in its own group, so that a bus reset of any of them resets all
 * three.  The reset is allowed only when every device it hits is bound to
 * vfio-pci and its group was passed and is owned (in a container) by the
 * caller; anything else is EINVAL, as upstream says.  The last test races
 * resets against the removal and rescan of one of the devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

struct reset_req {
	struct vfio_pci_hot_reset hdr;
	int32_t fds[8];
};

/* VFIO_DEVICE_PCI_HOT_RESET with @n group fds. */
static int hot_reset(int fd, const int *groups, int n)
{
	struct reset_req r;
	int i;

	memset(&r, 0, sizeof(r));
	r.hdr.argsz = sizeof(r.hdr) + n * sizeof(int32_t);
	r.hdr.count = n;
	for (i = 0; i < n && i < 8; i++)
		r.fds[i] = groups[i];
	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &r);
}

/* The edu's ID register through the device fd: it answers after a reset. */
static uint32_t edu_id(int fd)
{
	uint32_t v = 0;

	if (pread(fd, &v, 4, (off_t)VFIO_PCI_BAR0_REGION_INDEX << 40 |
		  EDU_REG_ID) != 4)
		return 0;
	return v;
}

FIXTURE(hr) {
	struct vfg_topo t;
	struct vfg_dev d[3];	/* the three edus; d[0] has a device fd */
};

FIXTURE_SETUP(hr)
{
	int i;

	for (i = 0; i < 3; i++)
		vfg_dev_init(&self->d[i]);
	if (!vfg_ours())
		SKIP(return, "vfio-groups only");
	if (vfg_topo_find(&self->t) || self->t.nr_sedu != 3)
		SKIP(return, "needs the hotreset topology (--topology hotreset)");
	ASSERT_EQ(0, vfg_topo_restore(&self->t));
	ASSERT_EQ(0, vfg_vfio_load());
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, vfg_pci_bind(self->t.sedu[i], "vfio-pci"));
}

FIXTURE_TEARDOWN(hr)
{
	int i;

	for (i = 0; i < 3; i++)
		vfg_dev_close(&self->d[i]);
	if (self->t.nr_sedu)
		EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

static bool dep_is(const struct vfio_pci_dependent_device *dep,
		   const char *bdf)
{
	char name[32];

	snprintf(name, sizeof(name), "%04x:%02x:%02x.%x", dep->segment,
		 dep->bus, dep->devfn >> 3, dep->devfn & 7);
	return !strcmp(name, bdf);
}

/* The reset would hit all three, each in its own group. */
TEST_F(hr, info_spans_three_groups)
{
	struct {
		struct vfio_pci_hot_reset_info hdr;
		struct vfio_pci_dependent_device devs[8];
	} info;
	int i, j, found;

	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	memset(&info, 0, sizeof(info));
	info.hdr.argsz = sizeof(info);
	ASSERT_EQ(0, ioctl(self->d[0].fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
			   &info));
	ASSERT_EQ(3, info.hdr.count);
	for (i = 0; i < 3; i++) {
		found = 0;
		for (j = 0; j < 3; j++)
			if (dep_is(&info.devs[j], self->t.sedu[i])) {
				found++;
				EXPECT_EQ(vfg_pci_group(self->t.sedu[i]),
					  info.devs[j].group_id);
			}
		EXPECT_EQ(1, found);
	}
	EXPECT_NE(info.devs[0].group_id, info.devs[1].group_id);
	EXPECT_NE(info.devs[1].group_id, info.devs[2].group_id);
	EXPECT_NE(info.devs[0].group_id, info.devs[2].group_id);
}

/* Every group passed and owned: the reset happens, the edus answer. */
TEST_F(hr, all_groups_owned)
{
	int fds[3], i;

	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, vfg_dev_attach(&self->d[i], self->t.sedu[i]));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;
	ASSERT_EQ(0, hot_reset(self->d[0].fd, fds, 3));
	EXPECT_EQ(EDU_ID, edu_id(self->d[0].fd));
	/* Order does not matter, and a group may come twice. */
	fds[0] = self->d[2].group;
	fds[2] = self->d[0].group;
	fds[1] = self->d[2].group;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 3));
	fds[1] = self->d[1].group;
	ASSERT_EQ(0, hot_reset(self->d[0].fd, fds, 3));
	EXPECT_EQ(EDU_ID, edu_id(self->d[0].fd));
}

/* A group that the reset would hit but was not passed. */
TEST_F(hr, group_not_passed)
{
	int fds[3], i;

	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, vfg_dev_attach(&self->d[i], self->t.sedu[i]));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 2));
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds + 1, 2));
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 1));
	/* A container fd in place of a group fd. */
	fds[2] = self->d[2].container;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 3));
	EXPECT_EQ(EDU_ID, edu_id(self->d[0].fd));
}

/* Passed, but not owned: the group is open but in no container. */
TEST_F(hr, group_not_owned)
{
	int fds[3], i;

	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[1], self->t.sedu[1]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[2], self->t.sedu[2]));
	ASSERT_EQ(0, ioctl(self->d[2].group, VFIO_GROUP_UNSET_CONTAINER));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 3));
}

/*
 * A device bound to another driver: pci-stub keeps the group viable and
 * ownable, but the device is not ours to reset.  Nor is an unbound one.
 */
TEST_F(hr, device_not_ours)
{
	int fds[3], i;

	ASSERT_EQ(0, vfg_modprobe("pci-stub"));
	ASSERT_EQ(0, vfg_pci_unbind(self->t.sedu[2]));
	ASSERT_EQ(0, vfg_pci_bind(self->t.sedu[2], "pci-stub"));
	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[1], self->t.sedu[1]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[2], self->t.sedu[2]));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 3));

	vfg_dev_close(&self->d[2]);
	ASSERT_EQ(0, vfg_pci_unbind(self->t.sedu[2]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[2], self->t.sedu[2]));
	fds[2] = self->d[2].group;
	EXPECT_ERRNO(EINVAL, hot_reset(self->d[0].fd, fds, 3));

	/* Back to vfio-pci: allowed again. */
	ASSERT_EQ(0, vfg_pci_bind(self->t.sedu[2], "vfio-pci"));
	EXPECT_EQ(0, hot_reset(self->d[0].fd, fds, 3));
	EXPECT_EQ(EDU_ID, edu_id(self->d[0].fd));
}

/*
 * Resets race the removal and rescan of a device they hit, and its
 * rebinding to pci-stub.  Each reset either fails or happens while all
 * three are ours; nothing crashes, and afterwards the reset works again.
 */
struct sibling_reader {
	int fd;
	volatile uint32_t *bar;	/* BAR0 mmapped: read it there, not pread */
	volatile int stop;
	long reads, stray;	/* answered, and answered with no edu ID */
	long fails;		/* refused (EIO while not decoding) */
};

static void *sibling_read(void *arg)
{
	struct sibling_reader *r = arg;
	uint32_t v;

	while (!r->stop) {
		if (r->bar) {
			v = r->bar[EDU_REG_ID / 4];	/* a fault waits */
		} else if (pread(r->fd, &v, 4,
				 (off_t)VFIO_PCI_BAR0_REGION_INDEX << 40 |
				 EDU_REG_ID) != 4) {
			r->fails++;	/* EIO: not decoding; never data */
			continue;
		}
		r->reads++;
		if (v != EDU_ID)
			r->stray++;
	}
	return NULL;
}

/*
 * A bus reset takes decoding away from every device on the bus, not only
 * from the caller's: while it runs, an access to a sibling's BAR (another
 * group of the caller's) must wait or fail, never reach a device that does
 * not decode it (it reads back no edu ID then).  Before the siblings were
 * quiesced too, a reader on one saw stray values in every run.
 */
TEST_F_TIMEOUT(hr, siblings_wait_for_the_reset, 120)
{
	struct sibling_reader r[2] = { };
	pthread_t t[2];
	int fds[3], i;
	void *bar;

	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	ASSERT_EQ(0, vfg_dev_open(&self->d[1], self->t.sedu[1]));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[2], self->t.sedu[2]));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;
	bar = vfg_region_mmap(self->d[1].fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			      EDU_BAR0_SIZE, PROT_READ);
	ASSERT_NE(NULL, bar);
	r[0].fd = self->d[1].fd;
	r[1].bar = bar;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sibling_read, &r[i]));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, hot_reset(self->d[0].fd, fds, 3));
	for (i = 0; i < 2; i++) {
		r[i].stop = 1;
		pthread_join(t[i], NULL);
		TH_LOG("%s: %ld sibling reads during 5 resets, %ld stray, %ld refused",
		       i ? "mmap" : "pread", r[i].reads, r[i].stray,
		       r[i].fails);
		EXPECT_LT(0, r[i].reads);
		EXPECT_EQ(0, r[i].stray);
	}
	munmap(bar, EDU_BAR0_SIZE);
	EXPECT_EQ(EDU_ID, edu_id(self->d[1].fd));
}

TEST_F_TIMEOUT(hr, race_remove_and_rebind, 120)
{
	int fds[3], i, ok = 0, refused = 0, other = 0, st;
	char path[64];
	time_t end;
	pid_t pid;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", self->t.sedu[2]);

	ASSERT_EQ(0, vfg_modprobe("pci-stub"));
	ASSERT_EQ(0, vfg_dev_open(&self->d[0], self->t.sedu[0]));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, vfg_dev_attach(&self->d[i], self->t.sedu[i]));
	for (i = 0; i < 3; i++)
		fds[i] = self->d[i].group;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Device 1: rebound between vfio-pci and pci-stub. */
		end = time(NULL) + 4;
		while (time(NULL) < end) {
			vfg_pci_unbind(self->t.sedu[1]);
			vfg_pci_bind(self->t.sedu[1], "pci-stub");
			vfg_pci_unbind(self->t.sedu[1]);
			vfg_pci_bind(self->t.sedu[1], "vfio-pci");
		}
		_exit(0);
	}
	end = time(NULL) + 5;
	while (time(NULL) < end) {
		if (!hot_reset(self->d[0].fd, fds, 3))
			ok++;
		else if (errno == EINVAL || errno == EAGAIN)
			refused++;
		else
			other++;
	}
	st = vfg_reap(pid, 20000);
	TH_LOG("%d resets, %d refused, %d other errors", ok, refused, other);
	EXPECT_EQ(0, st);
	EXPECT_EQ(0, other);
	EXPECT_LT(0, refused);

	/* Device 2 removed and rescanned while resets run. */
	vfg_dev_close(&self->d[2]);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (i = 0; i < 5; i++) {
			vfg_pci_remove(self->t.sedu[2]);
			usleep(50 * 1000);
			vfg_pci_rescan();
			vfg_wait_path(path, true, 2000);
		}
		_exit(0);
	}
	other = 0;
	end = time(NULL) + 3;
	while (time(NULL) < end) {
		/* Succeeds only while device 2 is away. */
		if (hot_reset(self->d[0].fd, fds, 2) && errno != EINVAL &&
		    errno != EAGAIN && errno != ENODEV)
			other++;
	}
	EXPECT_EQ(0, vfg_reap(pid, 30000));
	EXPECT_EQ(0, other);

	/* All three ours again: the reset works. */
	ASSERT_TRUE(vfg_wait_path(path, true, 5000));
	vfg_pci_unbind(self->t.sedu[1]);
	ASSERT_EQ(0, vfg_pci_bind(self->t.sedu[1], "vfio-pci"));
	vfg_pci_unbind(self->t.sedu[2]);
	ASSERT_EQ(0, vfg_pci_bind(self->t.sedu[2], "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_attach(&self->d[2], self->t.sedu[2]));
	fds[2] = self->d[2].group;
	EXPECT_EQ(0, hot_reset(self->d[0].fd, fds, 3));
	EXPECT_EQ(EDU_ID, edu_id(self->d[0].fd));
}

TEST_HARNESS_MAIN
