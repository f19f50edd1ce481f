// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes of device fds against their group, container and device.
 *
 * A device fd keeps its group in its container: VFIO_GROUP_UNSET_CONTAINER
 * gets EBUSY while one is open, and the group cannot be opened again until
 * the last is closed.  These tests check that this holds across the edges
 * of a device fd's life:
 *
 * failed_open.*
 *   A VFIO_GROUP_GET_DEVICE_FD that fails after the driver has begun to
 *   open the device leaves no trace: the fds of the group's other devices
 *   stay counted, and with none the group leaves its container at once.
 *   It fails late with ENFILE from the system's file table
 *   (anon_inode_getfile()) in a process without CAP_SYS_ADMIN.  (A BAR
 *   claimed by someone else no longer fails the open: BARs are claimed at
 *   first use; see lifetime.bar_claimed_elsewhere.)  On the bridge's group:
 *   two edus, so that one can be open while the other fails.
 * lifetime.close_races_open
 *   The last close of a device fd racing a new VFIO_GROUP_GET_DEVICE_FD of
 *   the same device, on the resettable edu (its reset on last close and
 *   first open makes the window wide).
 * lifetime.open_races_revoke
 *   Opens racing a removal that revokes the device (release_timeout_ms):
 *   once remove() has returned, no open may succeed or leave the device
 *   enabled for userspace.
 * lifetime.group_busy_while_device_open
 *   A group whose fd is closed but whose device fd is open cannot be opened
 *   again (EBUSY) until the device fd is closed.
 *
 * Every fixture starts from boot state, loads the stack under test (ours,
 * or the kernel's with VFG_USE_KERNEL_VFIO=1) and binds the lone edu, the
 * root-port edu, the NIC and both edus behind the bridge (the bridge left
 * without a driver) to vfio-pci.  Teardown puts back the file table limit,
 * release_timeout_ms and boot state even after a failed assertion.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

#define FILE_MAX	"/proc/sys/fs/file-max"
#define FILE_NR		"/proc/sys/fs/file-nr"
#define RELEASE_TIMEOUT	"/sys/module/vfio/parameters/release_timeout_ms"
#define TEST_MODULE	"vfg_test"
#define PCI_COMMAND	0x04
#define CMD_MEMORY	0x2
#define CMD_MASTER	0x4

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int get_device_fd(int group, const char *bdf)
{
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
}

static int unset_container(int group)
{
	return ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
}

static int device_info(int fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	return ioctl(fd, VFIO_DEVICE_GET_INFO, &info);
}

/* Attach @d's group to its container again (and its IOMMU: it had none). */
static int reattach(struct vfg_dev *d)
{
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container))
		return -1;
	return ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A decimal sysctl or sysfs value; -1 when unreadable. */
static long read_long(const char *path)
{
	char buf[128];

	if (vfg_sysfs_read(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static int write_long(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return vfg_sysfs_write(path, buf);
}

/*
 * Boot state, the stack under test, and vfio-pci on the lone edu, the
 * root-port edu, the NIC and the bridge's two edus (the bridge unbound).
 * On failure the topology is put back before returning.
 */
static int lifetime_env_setup(struct vfg_topo *t)
{
	int ret = vfg_dev_env_setup(t);

	if (!ret)
		ret = vfg_pci_unbind(t->bridge);
	if (!ret)
		ret = vfg_pci_bind(t->bedu[0], "vfio-pci");
	if (!ret)
		ret = vfg_pci_bind(t->bedu[1], "vfio-pci");
	if (ret && t->lone[0])
		vfg_topo_restore(t);
	return ret;
}

/* ---- a GET_DEVICE_FD that fails late ------------------------------------ */

FIXTURE(failed_open) {
	struct vfg_topo t;
	struct vfg_dev d;
	long file_max;		/* to put back, or -1 */
	bool test_module;	/* vfg_test.ko is loaded */
};

FIXTURE_VARIANT(failed_open) {
	int err;		/* how GET_DEVICE_FD fails */
};

/* The system's file table is full: anon_inode_getfile() fails. */
FIXTURE_VARIANT_ADD(failed_open, enfile) {
	.err = ENFILE,
};

FIXTURE_SETUP(failed_open)
{
	vfg_dev_init(&self->d);
	self->file_max = -1;
	ASSERT_EQ(0, lifetime_env_setup(&self->t));
}

FIXTURE_TEARDOWN(failed_open)
{
	vfg_dev_close(&self->d);
	/* EXPECT, not ASSERT: an assertion here would re-enter teardown. */
	if (self->file_max >= 0)
		EXPECT_EQ(0, write_long(FILE_MAX, self->file_max));
	if (self->test_module)
		EXPECT_EQ(0, vfg_test_module_unload(TEST_MODULE));
	if (self->t.lone[0])
		EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* What the child of get_device_fd_enfile() saw. */
struct enfile_result {
	int setup_err;		/* errno of raising RLIMIT_NOFILE or capset */
	int filled;		/* files opened to fill the table */
	int fill_err;		/* errno of the open that failed */
	int ret, err;		/* GET_DEVICE_FD */
};

/* At most this many files to fill the table; the child needs the fds. */
#define FILL_MAX	8192

static void enfile_child(int group, const char *bdf, int wfd)
{
	struct rlimit rl = { FILL_MAX + 64, FILL_MAX + 64 };
	struct enfile_result r = { 0 };
	int fd;

	if (setrlimit(RLIMIT_NOFILE, &rl) || vfg_drop_cap(CAP_SYS_ADMIN)) {
		r.setup_err = errno;
		goto out;
	}
	/*
	 * Without CAP_SYS_ADMIN, a new struct file fails with ENFILE once
	 * the count reaches file-max (dup() would make none).
	 */
	while (r.filled < FILL_MAX) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			r.fill_err = errno;
			break;
		}
		r.filled++;
	}
	errno = 0;
	r.ret = get_device_fd(group, bdf);
	r.err = errno;
out:
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

/*
 * GET_DEVICE_FD of @bdf with the file table full, in a child without
 * CAP_SYS_ADMIN: only the file of the device fd itself can fail, after the
 * driver has registered the open.  file-max is lowered to a little above
 * the current count for the child's lifetime and put back before this
 * returns (and by teardown, should this not return).  The ioctl's result,
 * errno set; any device fd got is closed with the child.
 */
static int get_device_fd_enfile(struct __test_metadata *_metadata,
				FIXTURE_DATA(failed_open) *self, int group,
				const char *bdf)
{
	struct enfile_result r = { .ret = 0 };
	long nr = read_long(FILE_NR);
	int p[2], status, restored;
	ssize_t n;
	pid_t pid;

	self->file_max = read_long(FILE_MAX);
	ASSERT_LT(0, self->file_max);
	ASSERT_LE(0, nr);
	ASSERT_EQ(0, pipe(p));
	/*
	 * The count is per-cpu and approximate (0 is common): the child
	 * fills whatever is left.
	 */
	ASSERT_EQ(0, write_long(FILE_MAX, nr + 256));
	pid = vfg_fork();
	if (!pid) {
		close(p[0]);
		enfile_child(group, bdf, p[1]);
	}
	close(p[1]);
	status = pid > 0 ? vfg_reap(pid, 30000) : -1;
	if (pid > 0 && status == -1) {
		kill(pid, SIGKILL);
		vfg_reap(pid, 5000);
	}
	restored = write_long(FILE_MAX, self->file_max);
	if (!restored)
		self->file_max = -1;
	n = read(p[0], &r, sizeof(r));
	close(p[0]);
	ASSERT_EQ(0, restored);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, status);
	ASSERT_EQ(sizeof(r), n);
	ASSERT_EQ(0, r.setup_err);
	/* The table was full before the ioctl ran... */
	ASSERT_EQ(ENFILE, r.fill_err) TH_LOG("%d files opened", r.filled);
	errno = r.err;
	return r.ret;
}

/* GET_DEVICE_FD of @bdf, made to fail as @variant says. */
static int get_device_fd_failing(struct __test_metadata *_metadata,
				 FIXTURE_DATA(failed_open) *self,
				 const FIXTURE_VARIANT(failed_open) *variant,
				 int group, const char *bdf)
{
	return get_device_fd_enfile(_metadata, self, group, bdf);
}

/*
 * The device fd of one edu stays counted when the open of the other fails:
 * the group cannot leave its container until it is closed.
 */
TEST_F(failed_open, other_fd_stays_counted)
{
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.bedu[0]));
	ASSERT_ERRNO(variant->err,
		     get_device_fd_failing(_metadata, self, variant,
					   self->d.group, self->t.bedu[1]));
	ASSERT_ERRNO(EBUSY, unset_container(self->d.group));
	EXPECT_EQ(0, device_info(self->d.fd));
	close_fd(&self->d.fd);
	EXPECT_EQ(0, unset_container(self->d.group));
}

/*
 * With no other device fd, the failed open leaves none counted: the group
 * leaves its container at once, and the device opens afterwards.
 */
TEST_F(failed_open, nothing_left_counted)
{
	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.bedu[1]));
	ASSERT_ERRNO(variant->err,
		     get_device_fd_failing(_metadata, self, variant,
					   self->d.group, self->t.bedu[1]));
	ASSERT_EQ(0, unset_container(self->d.group))
		TH_LOG("UNSET_CONTAINER: %s", strerror(errno));
	ASSERT_EQ(0, reattach(&self->d));
	self->d.fd = get_device_fd(self->d.group, self->t.bedu[1]);
	ASSERT_LE(0, self->d.fd);
	EXPECT_EQ(0, device_info(self->d.fd));
	close_fd(&self->d.fd);
	EXPECT_EQ(0, unset_container(self->d.group));
}

/* ---- races and reopening ------------------------------------------------ */

/* Claim BAR 0 of @bdf with vfg_test.ko, as a firmware framebuffer would. */
static int hold_bar0(const char *bdf)
{
	char params[64];

	snprintf(params, sizeof(params), "hold_bar=%s", bdf);
	return vfg_test_module_load(TEST_MODULE, params);
}

FIXTURE(lifetime) {
	struct vfg_topo t;
	struct vfg_dev d;
	char timeout_ms[32];	/* release_timeout_ms to put back, or "" */
};

FIXTURE_SETUP(lifetime)
{
	vfg_dev_init(&self->d);
	ASSERT_EQ(0, lifetime_env_setup(&self->t));
}

FIXTURE_TEARDOWN(lifetime)
{
	vfg_dev_close(&self->d);
	if (self->timeout_ms[0])
		EXPECT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, self->timeout_ms));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/*
 * A BAR another driver holds (vfg_test.ko here; a firmware framebuffer on a
 * boot GPU) is claimed at its first use, not at open: the device opens, its
 * config space works, and only a use of that BAR fails with EBUSY, with a
 * log line (ours); once it is given back, the BAR works.
 * The kernel's vfio-pci claims BARs lazily too.
 */
TEST_F(lifetime, bar_claimed_elsewhere)
{
	uint32_t v;
	void *map;
	int kmsg;

	ASSERT_EQ(0, hold_bar0(self->t.lone));
	kmsg = vfg_kmsg_open();
	self->d.fd = -1;
	EXPECT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	if (self->d.fd < 0) {
		vfg_test_module_unload(TEST_MODULE);
		ASSERT_LE(0, self->d.fd);
	}
	EXPECT_EQ(0x1234, vfg_cfg_read16(self->d.fd, 0));
	EXPECT_ERRNO(EBUSY, vfg_region_read(self->d.fd,
					    VFIO_PCI_BAR0_REGION_INDEX, 0,
					    &v, 4));
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->d.fd,
		   (off_t)VFIO_PCI_BAR0_REGION_INDEX << 40);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EBUSY, errno);
	if (vfg_ours())
		EXPECT_TRUE(vfg_kmsg_find(kmsg, "BAR 0",
					  "is claimed by another driver"));
	close(kmsg);
	vfg_dev_close(&self->d);
	ASSERT_EQ(0, vfg_test_module_unload(TEST_MODULE));

	/* Given back: the next open's first use claims it. */
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	ASSERT_EQ(4, vfg_region_read(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX,
				     0, &v, 4));
	EXPECT_EQ(0x010000ed, v);
}

/*
 * The group cannot be opened again while a device fd opened through it is
 * open, even with the group fd itself closed; it can once that is closed.
 */
TEST_F(lifetime, group_busy_while_device_open)
{
	int fd, err;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	close_fd(&self->d.group);
	errno = 0;
	fd = vfg_group_open(self->d.group_id);
	err = errno;
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, err);
	EXPECT_EQ(0, device_info(self->d.fd));

	close_fd(&self->d.fd);
	fd = vfg_group_open(self->d.group_id);
	ASSERT_LE(0, fd);
	close(fd);
}

/* Threads opening and closing the device while it is being revoked. */
struct revoke_race {
	int group;
	const char *bdf;
	atomic_bool stop;
	atomic_bool unbound;	/* the unbind has returned */
};

struct revoke_opener {
	pthread_t th;
	struct revoke_race *r;
	int held;		/* its last device fd, kept open */
	int opens;		/* successful GET_DEVICE_FDs */
	int late_opens;		/* of which begun after the unbind returned */
};

static void *revoke_opener_fn(void *arg)
{
	struct revoke_opener *o = arg;
	struct revoke_race *r = o->r;
	bool late;
	int fd;

	while (!atomic_load(&r->stop)) {
		late = atomic_load(&r->unbound);
		fd = get_device_fd(r->group, r->bdf);
		if (fd < 0) {
			if (late)
				usleep(1000);
			continue;
		}
		o->opens++;
		o->late_opens += late;
		/* Keep one fd open: to be found revoked at the end. */
		close_fd(&o->held);
		o->held = fd;
	}
	return NULL;
}

#define REVOKE_OPENERS	6
#define REVOKE_ROUNDS	50
#define REVOKE_MS	30000

/* A device's enable count and command register, through sysfs. */
static long pci_enable_count(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", bdf);
	return read_long(path);
}

static uint16_t pci_command(const char *bdf)
{
	uint16_t cmd = 0xffff;

	vfg_pci_cfg_read(bdf, PCI_COMMAND, &cmd, 2);
	return cmd;
}

/*
 * Unbinding the lone edu while one of its fds stays open makes removal
 * revoke it once release_timeout_ms has passed, while threads keep opening
 * and closing more.  Once the unbind has returned: every fd still open is
 * dead (ENODEV), no open succeeds any more, and the device is no longer
 * enabled for userspace: its enable count (sysfs "enable") is back to what
 * it was before the first open, bus mastering is off and memory decoding
 * as it was (the firmware leaves it on, and so does the kernel's
 * pci_disable_device(): it is no sign of an enabled device here).
 * Opens that began before the removal and finish after the revocation are
 * the race; it is narrow, so many rounds, each rebinding the device, with
 * the shortest timeout to make it likelier.
 */
TEST_F_TIMEOUT(lifetime, open_races_revoke, 120)
{
	long long deadline = now_ms() + REVOKE_MS;
	struct revoke_opener o[REVOKE_OPENERS];
	struct revoke_race r = { .bdf = self->t.lone };
	uint16_t cmd, cmd_before;
	long enabled_before;
	int round, i, status;
	pid_t pid;

	if (!vfg_ours())
		SKIP(return, "release_timeout_ms is a vfio-groups parameter");
	ASSERT_EQ(0, vfg_sysfs_read(RELEASE_TIMEOUT, self->timeout_ms,
				    sizeof(self->timeout_ms)));
	ASSERT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, "1"));
	enabled_before = pci_enable_count(self->t.lone);
	ASSERT_LE(0, enabled_before);
	cmd_before = pci_command(self->t.lone);
	ASSERT_NE(0xffff, cmd_before);

	for (round = 0; round < REVOKE_ROUNDS && now_ms() < deadline;
	     round++) {
		ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
		r.group = self->d.group;
		atomic_store(&r.stop, false);
		atomic_store(&r.unbound, false);
		for (i = 0; i < REVOKE_OPENERS; i++) {
			o[i] = (struct revoke_opener){ .r = &r, .held = -1 };
			ASSERT_EQ(0, pthread_create(&o[i].th, NULL,
						    revoke_opener_fn, &o[i]));
		}
		usleep((round % 10) * 1000);
		pid = vfg_pci_unbind_async(self->t.lone);
		ASSERT_LT(0, pid);
		status = vfg_reap(pid, 10000);
		atomic_store(&r.unbound, true);
		/* Let opens that were in flight finish, and late ones try. */
		usleep(50000);
		atomic_store(&r.stop, true);
		for (i = 0; i < REVOKE_OPENERS; i++)
			pthread_join(o[i].th, NULL);
		ASSERT_EQ(0, status) TH_LOG("round %d: unbind", round);

		for (i = 0; i < REVOKE_OPENERS; i++) {
			EXPECT_EQ(0, o[i].late_opens)
				TH_LOG("round %d: %d opens after the unbind",
				       round, o[i].late_opens);
			if (o[i].held >= 0)
				EXPECT_ERRNO(ENODEV, device_info(o[i].held));
		}
		EXPECT_ERRNO(ENODEV, device_info(self->d.fd));
		EXPECT_ERRNO(ENODEV, get_device_fd(self->d.group,
						   self->t.lone));
		EXPECT_EQ(enabled_before, pci_enable_count(self->t.lone))
			TH_LOG("round %d: the device was enabled again", round);
		cmd = pci_command(self->t.lone);
		EXPECT_EQ(0, cmd & CMD_MASTER)
			TH_LOG("round %d: command %#x", round, cmd);
		EXPECT_EQ(cmd_before & CMD_MEMORY, cmd & CMD_MEMORY)
			TH_LOG("round %d: command %#x, %#x before", round, cmd,
			       cmd_before);

		for (i = 0; i < REVOKE_OPENERS; i++)
			close_fd(&o[i].held);
		vfg_dev_close(&self->d);
		ASSERT_EQ(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
		if (_metadata->passed != 1)
			break;
	}
	TH_LOG("%d rounds done", round);

	/* Bound again, the device opens as usual. */
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	EXPECT_EQ(0, device_info(self->d.fd));
}

/* Two threads meet at each round: one closes, one opens. */
struct close_open_race {
	pthread_barrier_t go, done;
	int group;
	const char *bdf;
	unsigned int delay_us;	/* before the open, this round */
	bool stop;
	int new_fd, new_err;	/* the open's result */
};

static void *race_opener(void *arg)
{
	struct close_open_race *r = arg;

	for (;;) {
		pthread_barrier_wait(&r->go);
		if (r->stop)
			break;
		if (r->delay_us)
			usleep(r->delay_us);
		errno = 0;
		r->new_fd = get_device_fd(r->group, r->bdf);
		r->new_err = errno;
		pthread_barrier_wait(&r->done);
	}
	return NULL;
}

#define RACE_ROUNDS	200
#define RACE_MS		30000

/*
 * The only device fd is closed while another thread opens the device
 * again, with the open a little later each round (the close resets the
 * device, which takes long).  Each new fd is the next round's to close.
 * Every open must succeed, and afterwards the device and the group must be
 * as usable as ever.
 */
TEST_F_TIMEOUT(lifetime, close_races_open, 120)
{
	struct close_open_race r = { .bdf = self->t.pedu };
	long long deadline = now_ms() + RACE_MS;
	int round, failed = 0;
	pthread_t th;

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.pedu));
	r.group = self->d.group;
	ASSERT_EQ(0, pthread_barrier_init(&r.go, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&r.done, NULL, 2));
	ASSERT_EQ(0, pthread_create(&th, NULL, race_opener, &r));
	for (round = 0; round < RACE_ROUNDS && now_ms() < deadline; round++) {
		r.delay_us = (round % 8) * 500;
		pthread_barrier_wait(&r.go);
		close_fd(&self->d.fd);
		pthread_barrier_wait(&r.done);
		if (r.new_fd < 0) {
			failed++;
			TH_LOG("round %d: GET_DEVICE_FD: %s", round,
			       strerror(r.new_err));
			self->d.fd = get_device_fd(self->d.group, self->t.pedu);
			if (self->d.fd < 0)
				break;
		} else {
			self->d.fd = r.new_fd;
		}
		if (device_info(self->d.fd)) {
			failed++;
			TH_LOG("round %d: GET_INFO: %s", round,
			       strerror(errno));
		}
	}
	r.stop = true;
	pthread_barrier_wait(&r.go);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&r.go);
	pthread_barrier_destroy(&r.done);
	TH_LOG("%d rounds done", round);
	EXPECT_EQ(0, failed);
	ASSERT_LE(0, self->d.fd);
	close_fd(&self->d.fd);

	/* Nothing is left counted, and the device opens again. */
	ASSERT_EQ(0, unset_container(self->d.group));
	ASSERT_EQ(0, reattach(&self->d));
	self->d.fd = get_device_fd(self->d.group, self->t.pedu);
	ASSERT_LE(0, self->d.fd);
	EXPECT_EQ(0, device_info(self->d.fd));
}

TEST_HARNESS_MAIN
