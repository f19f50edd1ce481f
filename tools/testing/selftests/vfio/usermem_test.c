// SPDX-License-Identifier: GPL-2.0
/*
 * No global or group lock waits behind user memory (issue 11, item 3).
 *
 * VFIO_IOMMU_MAP_DMA pins user pages under the container's lock, and a
 * fault can take as long as the backing store likes.  A tiny FUSE server
 * (the protocol spoken directly over /dev/fuse, so the test stays static)
 * serves one file whose reads it holds back.  A child maps that file and
 * calls MAP_DMA on it, which stalls in the fault; another of its threads
 * closes the group fd meanwhile, which detaches the group and so waits for
 * the container.  While both are stuck, everything that does not concern
 * this container must still answer within seconds: binding and unbinding
 * an unrelated device (the PCI bus notifiers), opening another group, a
 * netlink dump and query of every group, and sysfs.  Then the reads are
 * released and everything completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "nl_util.h"

#define MNT		"/tmp/vfg-fuse"
#define FILE_NAME	"stall"
#define FILE_SIZE	(64UL << 10)
#define FILE_INO	2
#define IOVA		0x1000000UL
/* Everything unrelated to the stalled container must answer within this. */
#define PROMPT_MS	3000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- a minimal FUSE server ---------------------------------------------- */

static int fuse_reply(int fd, uint64_t unique, int error, const void *arg,
		      size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 4096];
	struct fuse_out_header *out = (void *)buf;

	if (len > 4096)
		len = 4096;
	out->len = sizeof(*out) + (error ? 0 : len);
	out->error = error;
	out->unique = unique;
	if (!error && len)
		memcpy(buf + sizeof(*out), arg, len);
	return write(fd, buf, out->len) == (ssize_t)out->len ? 0 : -1;
}

static void fuse_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
	} else {
		a->mode = S_IFREG | 0644;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
	a->blksize = 4096;
}

/*
 * Serve @fd until it is unmounted.  The first READ is held back until a byte
 * arrives on @release; @started gets a byte when that READ arrives.
 */
static void fuse_serve(int fd, int started, int release)
{
	static char req[FUSE_MIN_READ_BUFFER + 65536];
	static char zero[4096];
	bool held = false;

	for (;;) {
		struct fuse_in_header *in = (void *)req;
		void *arg = req + sizeof(*in);
		ssize_t n = read(fd, req, sizeof(req));

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return;		/* ENODEV: unmounted */
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_in *ii = arg;
			struct fuse_init_out io = {
				.major = FUSE_KERNEL_VERSION,
				.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
					 ii->minor : FUSE_KERNEL_MINOR_VERSION,
				.max_readahead = 4096,
				.max_write = 4096,
			};

			fuse_reply(fd, in->unique, 0, &io, sizeof(io));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out eo = { 0 };

			if (in->nodeid != FUSE_ROOT_ID ||
			    strcmp(arg, FILE_NAME)) {
				fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			eo.nodeid = FILE_INO;
			fuse_attr(&eo.attr, FILE_INO);
			fuse_reply(fd, in->unique, 0, &eo, sizeof(eo));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out ao = { 0 };

			fuse_attr(&ao.attr, in->nodeid);
			fuse_reply(fd, in->unique, 0, &ao, sizeof(ao));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out oo = { .fh = 1 };

			fuse_reply(fd, in->unique, 0, &oo, sizeof(oo));
			break;
		}
		case FUSE_READ: {
			struct fuse_read_in *ri = arg;
			size_t len = ri->size;
			char c;

			if (!held) {
				held = true;
				if (write(started, "r", 1) != 1)
					return;
				if (read(release, &c, 1) != 1)
					return;
			}
			if (ri->offset >= FILE_SIZE)
				len = 0;
			else if (len > FILE_SIZE - ri->offset)
				len = FILE_SIZE - ri->offset;
			if (len > sizeof(zero))
				len = sizeof(zero);
			fuse_reply(fd, in->unique, 0, zero, len);
			break;
		}
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break;		/* no reply */
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FLUSH:
			fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		default:
			fuse_reply(fd, in->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
}

/* ---- the stalled client -------------------------------------------------- */

struct client {
	int group;
	int container;
	void *buf;
	int map_ret;
};

static void *client_map(void *data)
{
	struct client *c = data;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)c->buf,
		.iova = IOVA,
		.size = FILE_SIZE,
	};

	c->map_ret = ioctl(c->container, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
	return NULL;
}

/*
 * The child: group @id into a fresh container, MAP_DMA of the FUSE file in
 * a thread, and once that has stalled (@stalled gets a byte from the
 * server) the group fd closed, after telling the parent on @ready.  Exits 0
 * once MAP_DMA has returned success and the close has finished.
 */
static int client_run(int id, int stalled, int ready)
{
	struct client c = { 0 };
	pthread_t t;
	char ch;
	int fd;

	c.group = vfg_group_open(id);
	c.container = open("/dev/vfio/vfio", O_RDWR);
	if (c.group < 0 || c.container < 0)
		return 10;
	if (ioctl(c.group, VFIO_GROUP_SET_CONTAINER, &c.container) ||
	    ioctl(c.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return 11;
	fd = open(MNT "/" FILE_NAME, O_RDONLY);
	if (fd < 0)
		return 12;
	c.buf = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		     0);
	if (c.buf == MAP_FAILED)
		return 13;
	if (pthread_create(&t, NULL, client_map, &c))
		return 14;
	if (read(stalled, &ch, 1) != 1)
		return 15;
	usleep(200 * 1000);
	if (write(ready, "c", 1) != 1)
		return 16;
	close(c.group);		/* detaches: waits for the container */
	pthread_join(t, NULL);
	if (c.map_ret)
		return 17;
	close(c.container);
	return 0;
}

/*
 * What must answer while the client is stalled, each in a child process so
 * that one that hangs (as they all did before the fix) is a failure, not a
 * hung test.
 */
struct probe {
	const char *what;
	pid_t pid;
	long long t0;
	long long ms;		/* how long it took; -1 if it did not finish */
	int status;
};

static int probe_bind_unbind(const char *bdf)
{
	if (vfg_pci_bind(bdf, "vfio-pci"))
		return 1;
	return vfg_pci_unbind(bdf) ? 2 : 0;
}

static int probe_open(int id)
{
	int fd = vfg_group_open(id);

	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

static int probe_dump(int id)
{
	struct vfg_nl_state st[16];
	struct vfg_nl nl;
	int n;

	if (vfg_nl_open(&nl, false))
		return 1;
	n = vfg_nl_dump(&nl, st, 16);
	if (n < 2)
		return 2;
	if (vfg_nl_get_group(&nl, id, st))
		return 3;
	vfg_nl_close(&nl);
	return 0;
}

static int probe_sysfs(int id)
{
	char buf[64];

	return vfg_group_attr(id, "viable", buf, sizeof(buf)) ? 1 : 0;
}

/* ---- the test -------------------------------------------------------------- */

FIXTURE(usermem) {
	struct vfg_topo t;
	int lone_group;
	int bridge_group;
	pid_t server;
	pid_t client;
	int release;		/* write end: lets the held READ go */
	bool mounted;
};

FIXTURE_SETUP(usermem)
{
	memset(&self->t, 0, sizeof(self->t));
	self->server = self->client = -1;
	self->release = -1;
	if (!vfg_ours())
		SKIP(return, "vfio-groups only");
	if (vfg_modprobe("fuse") && access("/dev/fuse", F_OK))
		SKIP(return, "no FUSE in this kernel");
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	self->lone_group = vfg_pci_group(self->t.lone);
	self->bridge_group = vfg_pci_group(self->t.bridge);
	ASSERT_LE(0, self->lone_group);
	ASSERT_LE(0, self->bridge_group);
	ASSERT_NE(self->lone_group, self->bridge_group);
}

FIXTURE_TEARDOWN(usermem)
{
	int st;

	/* The server's death aborts the FUSE connection: the fault fails. */
	if (self->release >= 0)
		close(self->release);
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, &st, 0);
	}
	if (self->client > 0) {
		kill(self->client, SIGKILL);
		waitpid(self->client, &st, 0);
	}
	if (self->mounted)
		umount2(MNT, MNT_DETACH);
	if (self->t.lone[0])
		vfg_topo_restore(&self->t);
}

TEST_F_TIMEOUT(usermem, map_dma_stall_blocks_nothing_else, 120)
{
	int started[2], release[2], ready[2], fuse_fd, st, i;
	/*
	 * The dump first: before the fix, it took vfg.lock and then waited for
	 * the stalled group's lock, and every bind behind it waited too.
	 */
	struct probe probes[4] = {
		{ .what = "netlink dump and query" },
		{ .what = "sysfs viable of the stalled group" },
		{ .what = "bind and unbind of an unrelated device" },
		{ .what = "open of another group" },
	};
	struct pollfd pfd;
	char opts[128], buf[64];
	char ch;
	int fd;

	/* The harness runs the test even when its setup skipped. */
	if (!vfg_ours())
		SKIP(return, "vfio-groups only");
	if (access("/dev/fuse", F_OK))
		SKIP(return, "no FUSE in this kernel");

	ASSERT_EQ(0, pipe(started));
	ASSERT_EQ(0, pipe(release));
	ASSERT_EQ(0, pipe(ready));
	mkdir(MNT, 0755);
	fuse_fd = open("/dev/fuse", O_RDWR);
	ASSERT_LE(0, fuse_fd);
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse_fd);
	ASSERT_EQ(0, mount("vfg-fuse", MNT, "fuse", MS_NOSUID | MS_NODEV,
			   opts));
	self->mounted = true;

	self->server = fork();
	ASSERT_LE(0, self->server);
	if (!self->server) {
		close(started[0]);
		close(release[1]);
		fuse_serve(fuse_fd, started[1], release[0]);
		_exit(0);
	}
	close(fuse_fd);
	close(started[1]);
	close(release[0]);
	self->release = release[1];

	/* The pedu is the unrelated device the first probe binds. */
	ASSERT_EQ(0, vfg_pci_unbind(self->t.pedu));

	self->client = fork();
	ASSERT_LE(0, self->client);
	if (!self->client)
		_exit(client_run(self->lone_group, started[0], ready[1]));
	close(ready[1]);

	/* MAP_DMA is stalled in the held READ; the group fd is closing. */
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(1, read(ready[0], &ch, 1));
	usleep(500 * 1000);
	ASSERT_EQ(-1, vfg_reap(self->client, 0));
	TH_LOG("MAP_DMA is stalled in a FUSE read; the group fd is closing");

	for (i = 0; i < 4; i++) {
		if (i == 2)
			usleep(300 * 1000);
		probes[i].ms = -1;
		probes[i].t0 = now_ms();
		probes[i].pid = fork();
		ASSERT_LE(0, probes[i].pid);
		if (probes[i].pid)
			continue;
		switch (i) {
		case 0:
			_exit(probe_dump(self->lone_group));
		case 1:
			_exit(probe_sysfs(self->lone_group));
		case 2:
			_exit(probe_bind_unbind(self->t.pedu));
		default:
			_exit(probe_open(self->bridge_group));
		}
	}
	for (i = 0; i < 4; i++) {
		long long left = PROMPT_MS - (now_ms() - probes[i].t0);

		probes[i].status = vfg_reap(probes[i].pid,
					    left > 0 ? left : 0);
		if (probes[i].status >= 0)
			probes[i].ms = now_ms() - probes[i].t0;
	}

	/* Let the read go: MAP_DMA completes, the group detaches. */
	ch = 'g';
	ASSERT_EQ(1, write(self->release, &ch, 1));
	for (i = 0; i < 4; i++) {
		if (probes[i].ms < 0) {
			probes[i].status = vfg_reap(probes[i].pid, 30000);
			TH_LOG("%s: still blocked after %d ms (status after the release: %d)",
			       probes[i].what, PROMPT_MS, probes[i].status);
		} else {
			TH_LOG("%s: %lld ms", probes[i].what, probes[i].ms);
		}
	}
	st = vfg_reap(self->client, 30000);
	self->client = -1;
	EXPECT_EQ(0, st);
	for (i = 0; i < 4; i++) {
		EXPECT_LE(0, probes[i].ms);
		EXPECT_EQ(0, probes[i].status);
	}
	EXPECT_EQ(0, vfg_group_attr(self->lone_group, "holder", buf,
				    sizeof(buf)));
	EXPECT_STREQ("", buf);
	/* The group is free again. */
	fd = vfg_group_open(self->lone_group);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

TEST_HARNESS_MAIN
