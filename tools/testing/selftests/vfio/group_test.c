// SPDX-License-Identifier: GPL-2.0
/*
 * Groups and containers.
 *
 * Loading creates /dev/vfio/$ID and /sys/class/vfio/$ID for every IOMMU group
 * that holds a PCI device.  A group is viable while each member is unbound,
 * bound to our vfio-pci, or bound to a driver that does no DMA through the
 * kernel's DMA API (pci-stub, pcieport); until it is viable the group fd
 * refuses SET_CONTAINER and GET_DEVICE_FD with EPERM and the kernel log names
 * the blocker.  While a group is attached to a container, no DMA-capable host
 * driver may bind to any member.  Open fds pin the module; a removed device
 * takes its group's node with it.
 *
 * Guest topology (default): the lone edu alone in its group; a conventional
 * PCI bridge (bound to shpchp at boot, which blocks) with two edus behind it,
 * all three in one group.  Every fixture puts that state back in teardown:
 * edus unbound without driver_override, shpchp on the bridge, no vfio module.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/major.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"

#define SHPCHP		"shpchp"
#define VFIO_PCI	"vfio-pci"
#define UIO		"uio_pci_generic"
#define STUB		"pci-stub"
#define CONTAINER	"/dev/vfio/vfio"
#define WAIT_MS		2000

struct env {
	struct vfg_ctx *ctx;
	char lone[13];		/* the edu alone in its group */
	char bridge[13];	/* the conventional PCI bridge */
	char bedu[2][13];	/* the two edus behind it */
	int lone_grp;
	int bridge_grp;
	int gfd;		/* open fds, closed in teardown; -1 if none */
	int gfd2;
	int cfd;
	int cfd2;
	int kmsg;		/* /dev/kmsg, read from the last mark */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Put the guest back as it booted.  No assertion here: teardown calls it
 * too.  Returns the number of steps that failed.
 */
static int env_restore(struct env *e)
{
	static const char * const mods[] = { "uio_pci_generic", "uio",
					     "pci_stub" };
	const char *edus[3];
	unsigned int i;
	int bad = 0;

	edus[0] = e->lone;
	edus[1] = e->bedu[0];
	edus[2] = e->bedu[1];
	close_fd(&e->gfd);
	close_fd(&e->gfd2);
	close_fd(&e->cfd);
	close_fd(&e->cfd2);
	/* A hotplug test may have stopped with a device removed. */
	for (i = 0; i < 3; i++)
		if (edus[i][0] && !vfg_pci_exists(edus[i]))
			break;
	if (i < 3 && vfg_pci_rescan())
		bad++;
	for (i = 0; i < 3; i++)
		if (edus[i][0] && !vfg_pci_exists(edus[i]))
			bad++;
	for (i = 0; i < 3; i++)
		if (edus[i][0])
			bad += vfg_pci_release(edus[i]);
	if (e->bridge[0])
		bad += vfg_bridge_restore(e->bridge);
	if (vfg_vfio_unload_all())
		bad++;
	for (i = 0; i < ARRAY_SIZE(mods); i++)
		if (vfg_kmod_loaded(mods[i]) && vfg_modprobe_remove(mods[i]))
			bad++;
	return bad;
}

#define ASSERT_DRIVER(bdf, name) do {					\
	char __drv[64];							\
	ASSERT_EQ(0, vfg_pci_driver(bdf, __drv, sizeof(__drv)));	\
	ASSERT_STREQ(name, __drv);					\
} while (0)

static void env_setup(struct __test_metadata *_metadata, struct env *e,
		      bool load)
{
	struct vfg_topo topo;

	memset(e, 0, sizeof(*e));
	e->gfd = -1;
	e->gfd2 = -1;
	e->cfd = -1;
	e->cfd2 = -1;
	e->kmsg = -1;
	e->lone_grp = -1;
	e->bridge_grp = -1;
	e->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, e->ctx);

	if (vfg_topo_find(&topo)) {
		/* A failed hotplug test may have left one removed. */
		vfg_pci_rescan();
	}
	ASSERT_EQ(0, vfg_topo_find(&topo));
	strcpy(e->lone, topo.lone);
	strcpy(e->bridge, topo.bridge);
	strcpy(e->bedu[0], topo.bedu[0]);
	strcpy(e->bedu[1], topo.bedu[1]);

	e->lone_grp = vfg_device_get_group(e->ctx, e->lone);
	ASSERT_LE(0, e->lone_grp);
	e->bridge_grp = vfg_device_get_group(e->ctx, e->bridge);
	ASSERT_LE(0, e->bridge_grp);
	ASSERT_EQ(e->bridge_grp, vfg_device_get_group(e->ctx, e->bedu[0]));
	ASSERT_EQ(e->bridge_grp, vfg_device_get_group(e->ctx, e->bedu[1]));
	ASSERT_NE(e->lone_grp, e->bridge_grp);

	/* Whatever an earlier test left behind, start from boot state. */
	env_restore(e);
	ASSERT_FALSE(vfg_module_loaded());
	ASSERT_DRIVER(e->lone, "");
	ASSERT_DRIVER(e->bedu[0], "");
	ASSERT_DRIVER(e->bedu[1], "");
	ASSERT_DRIVER(e->bridge, SHPCHP);

	e->kmsg = vfg_kmsg_open();
	ASSERT_LE(0, e->kmsg);
	if (load)
		ASSERT_EQ(0, vfg_module_load(NULL));
}

static void env_teardown(struct __test_metadata *_metadata, struct env *e)
{
	/* EXPECT, not ASSERT: an assertion here would re-enter teardown. */
	EXPECT_EQ(0, env_restore(e));
	EXPECT_FALSE(vfg_module_loaded());
	close_fd(&e->kmsg);
	vfg_ctx_free(e->ctx);
}

/* Forget the kernel log so far: vfg_kmsg_find() sees only what follows. */
static int kmsg_mark(struct env *e)
{
	close_fd(&e->kmsg);
	e->kmsg = vfg_kmsg_open();
	return e->kmsg;
}

/* Is @line, exactly, one of the lines of @text? */
static bool has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = vfg_find_line(p, line))) {
		if (p[n] == '\n' || p[n] == '\0')
			return true;
		p += n;
	}
	return false;
}

/* Does @text have "BDF DRIVER: reason", with some reason? */
static bool has_blocker(const char *text, const char *bdf, const char *drv)
{
	char prefix[128];
	const char *p;

	snprintf(prefix, sizeof(prefix), "%s %s: ", bdf, drv);
	p = vfg_find_line(text, prefix);
	if (!p)
		return false;
	p += strlen(prefix);
	return *p && *p != '\n' && *p != ' ';
}

static bool has_member(const char *text, const char *bdf, const char *drv)
{
	char line[128];

	snprintf(line, sizeof(line), "%s %s", bdf, drv);
	return has_line(text, line);
}

#define ASSERT_ATTR(grp, attr, want) do {				\
	char __buf[4096];						\
	ASSERT_EQ(0, vfg_group_attr(grp, attr, __buf, sizeof(__buf)));	\
	ASSERT_STREQ(want, __buf);					\
} while (0)

#define READ_ATTR(grp, attr, buf)					\
	ASSERT_EQ(0, vfg_group_attr(grp, attr, buf, sizeof(buf)))

#define BIND(bdf, drv) do {						\
	ASSERT_EQ(0, vfg_pci_bind(bdf, drv));				\
	ASSERT_DRIVER(bdf, drv);					\
} while (0)

#define UNBIND(bdf) do {						\
	ASSERT_EQ(0, vfg_pci_unbind(bdf));				\
	ASSERT_DRIVER(bdf, "");						\
} while (0)

#define MODPROBE(name) do {						\
	ASSERT_EQ(0, vfg_modprobe(name));				\
	ASSERT_TRUE(vfg_kmod_loaded(name));				\
} while (0)

/* VFIO_GROUP_GET_STATUS flags, or -errno. */
static long group_flags(int fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st))
		return -errno;
	return st.flags;
}

static int set_container(int gfd, int cfd)
{
	return ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd);
}

static int get_device_fd(int gfd, const char *bdf)
{
	return ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
}

static bool unload_refused(int ret)
{
	return ret == -EWOULDBLOCK || ret == -EBUSY;
}

/*
 * Check the node and class device of group @id: a 0600 root char device
 * whose numbers are the ones /sys/class/vfio/$ID/dev reports.
 */
static void check_group_node(struct __test_metadata *_metadata, int id)
{
	char path[PATH_MAX], buf[64];
	struct stat st;

	vfg_group_dev_path(id, path);
	ASSERT_TRUE(vfg_wait_path(path, true, WAIT_MS))
		TH_LOG("no %s", path);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777)
		TH_LOG("%s has mode %o", path, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	ASSERT_EQ(0, vfg_group_attr(id, "dev", buf, sizeof(buf)));
	snprintf(path, sizeof(path), "%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	EXPECT_STREQ(path, buf);
}

/* ------------------------------------------------------------------ */
/* Loading and unloading, with the module not loaded at setup.         */
/* ------------------------------------------------------------------ */

FIXTURE(load) {
	struct env e;
};

FIXTURE_SETUP(load)
{
	env_setup(_metadata, &self->e, false);
}

FIXTURE_TEARDOWN(load)
{
	env_teardown(_metadata, &self->e);
}

/* A node and a class device for every group that holds a PCI device. */
TEST_F(load, nodes_for_every_group)
{
	struct env *e = &self->e;
	int g, groups = 0, seen_lone = 0, seen_bridge = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	ASSERT_FALSE(vfg_wait_path(CONTAINER, true, 0));
	ASSERT_EQ(0, vfg_module_load(NULL));
	ASSERT_TRUE(vfg_wait_path(CONTAINER, true, WAIT_MS));
	ASSERT_EQ(0, stat(CONTAINER, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));

	d = opendir("/sys/bus/pci/devices");
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		g = vfg_device_get_group(e->ctx, de->d_name);
		if (g == VFG_NO_GROUP)
			continue;
		ASSERT_LE(0, g);
		check_group_node(_metadata, g);
		groups++;
		seen_lone += g == e->lone_grp;
		seen_bridge += g == e->bridge_grp;
	}
	closedir(d);
	EXPECT_LE(2, groups);
	EXPECT_EQ(1, seen_lone);
	EXPECT_EQ(3, seen_bridge);
}

TEST_F(load, nodes_removed_on_unload)
{
	struct env *e = &self->e;
	char node[PATH_MAX], dir[PATH_MAX];

	ASSERT_EQ(0, vfg_module_load(NULL));
	vfg_group_dev_path(e->lone_grp, node);
	vfg_group_sysfs_path(e->lone_grp, NULL, dir);
	ASSERT_TRUE(vfg_wait_path(node, true, WAIT_MS));
	ASSERT_TRUE(vfg_wait_path(dir, true, 0));

	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
	EXPECT_TRUE(vfg_wait_path(node, false, WAIT_MS));
	EXPECT_TRUE(vfg_wait_path(dir, false, 0));
	EXPECT_TRUE(vfg_wait_path(CONTAINER, false, WAIT_MS));
	vfg_group_dev_path(e->bridge_grp, node);
	EXPECT_TRUE(vfg_wait_path(node, false, WAIT_MS));
	EXPECT_TRUE(vfg_wait_path("/sys/bus/pci/drivers/" VFIO_PCI, false, 0));
}

/* vfio-pci claims only what driver_override hands it. */
TEST_F(load, binds_nothing_by_itself)
{
	struct env *e = &self->e;
	struct dirent *de;
	int bound = 0;
	DIR *d;

	ASSERT_EQ(0, vfg_module_load(NULL));
	d = opendir("/sys/bus/pci/drivers/" VFIO_PCI);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)))
		bound += strlen(de->d_name) == 12 && de->d_name[4] == ':';
	closedir(d);
	EXPECT_EQ(0, bound);
	ASSERT_DRIVER(e->lone, "");
	ASSERT_DRIVER(e->bedu[0], "");
	ASSERT_DRIVER(e->bedu[1], "");
	ASSERT_DRIVER(e->bridge, SHPCHP);

	/* Not even when asked by name, without the override. */
	EXPECT_NE(0, vfg_sysfs_write("/sys/bus/pci/drivers/" VFIO_PCI "/bind",
				     e->lone));
	ASSERT_DRIVER(e->lone, "");
}

TEST_F(load, driver_name_param)
{
	struct env *e = &self->e;
	char buf[4096];

	ASSERT_EQ(0, vfg_module_load("driver_name=vfg-test"));
	ASSERT_TRUE(vfg_wait_path("/sys/bus/pci/drivers/vfg-test", true, 0));
	ASSERT_FALSE(vfg_wait_path("/sys/bus/pci/drivers/" VFIO_PCI, true,
				   0));
	BIND(e->lone, "vfg-test");
	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->lone, "vfg-test")) TH_LOG("%s", buf);
	ASSERT_ATTR(e->lone_grp, "viable", "1");
}

/* A PCI driver of that name exists already: EEXIST, and a log line. */
TEST_F(load, driver_name_taken)
{
	struct env *e = &self->e;
	char node[PATH_MAX];

	MODPROBE(STUB);
	ASSERT_LE(0, kmsg_mark(e));
	ASSERT_EQ(-EEXIST, vfg_module_load("driver_name=" STUB));
	EXPECT_TRUE(vfg_kmsg_find(e->kmsg, STUB, NULL));
	ASSERT_FALSE(vfg_module_loaded());
	/* The failed load undid itself and left pci-stub alone. */
	vfg_group_dev_path(e->lone_grp, node);
	EXPECT_FALSE(vfg_wait_path(node, true, 0));
	EXPECT_FALSE(vfg_wait_path(CONTAINER, true, 0));
	EXPECT_TRUE(vfg_wait_path("/sys/bus/pci/drivers/" STUB, true, 0));
	BIND(e->lone, STUB);
	UNBIND(e->lone);

	ASSERT_EQ(0, vfg_module_load(NULL));
	EXPECT_TRUE(vfg_wait_path(node, true, WAIT_MS));
}

/* The kernel's own vfio holds the name; once it is gone, ours loads. */
TEST_F(load, kernel_vfio_excludes)
{
	struct env *e = &self->e;
	char node[PATH_MAX];

	MODPROBE("vfio-pci");
	ASSERT_TRUE(vfg_module_loaded());
	EXPECT_EQ(-EEXIST, vfg_module_load(NULL));
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_FALSE(vfg_kmod_loaded("vfio_pci"));
	ASSERT_FALSE(vfg_module_loaded());
	ASSERT_EQ(0, vfg_module_load(NULL));
	vfg_group_dev_path(e->lone_grp, node);
	EXPECT_TRUE(vfg_wait_path(node, true, WAIT_MS));
}

/* ------------------------------------------------------------------ */
/* Groups: sysfs, viability, the group fd.  Module loaded at setup.    */
/* ------------------------------------------------------------------ */

FIXTURE(group) {
	struct env e;
};

FIXTURE_SETUP(group)
{
	env_setup(_metadata, &self->e, true);
}

FIXTURE_TEARDOWN(group)
{
	env_teardown(_metadata, &self->e);
}

TEST_F(group, members_at_boot)
{
	struct env *e = &self->e;
	char buf[4096];

	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_EQ(1, vfg_count_lines(buf));
	EXPECT_TRUE(has_member(buf, e->lone, "-")) TH_LOG("%s", buf);

	READ_ATTR(e->bridge_grp, "members", buf);
	EXPECT_EQ(3, vfg_count_lines(buf));
	EXPECT_TRUE(has_member(buf, e->bridge, SHPCHP)) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[0], "-")) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[1], "-")) TH_LOG("%s", buf);
}

TEST_F(group, members_follow_binding)
{
	struct env *e = &self->e;
	char buf[4096];

	/* Through drivers_probe... */
	ASSERT_EQ(0, vfg_pci_probe(e->lone, VFIO_PCI));
	ASSERT_DRIVER(e->lone, VFIO_PCI);
	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->lone, VFIO_PCI)) TH_LOG("%s", buf);

	UNBIND(e->lone);
	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->lone, "-")) TH_LOG("%s", buf);

	/* ...and through the driver's bind file. */
	BIND(e->lone, VFIO_PCI);
	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->lone, VFIO_PCI)) TH_LOG("%s", buf);
	UNBIND(e->lone);

	MODPROBE(STUB);
	BIND(e->lone, STUB);
	READ_ATTR(e->lone_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->lone, STUB)) TH_LOG("%s", buf);
	EXPECT_EQ(1, vfg_count_lines(buf));
}

TEST_F(group, lone_unbound_viable)
{
	struct env *e = &self->e;

	ASSERT_ATTR(e->lone_grp, "viable", "1");
	ASSERT_ATTR(e->lone_grp, "blockers", "");
	ASSERT_ATTR(e->lone_grp, "holder", "");
}

TEST_F(group, bridge_shpchp_blocks)
{
	struct env *e = &self->e;
	char buf[4096];

	ASSERT_ATTR(e->bridge_grp, "viable", "0");
	READ_ATTR(e->bridge_grp, "blockers", buf);
	EXPECT_EQ(1, vfg_count_lines(buf)) TH_LOG("%s", buf);
	EXPECT_TRUE(has_blocker(buf, e->bridge, SHPCHP)) TH_LOG("%s", buf);
}

TEST_F(group, bridge_unbound_viable)
{
	struct env *e = &self->e;
	char buf[4096];

	UNBIND(e->bridge);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_ATTR(e->bridge_grp, "blockers", "");
	READ_ATTR(e->bridge_grp, "members", buf);
	EXPECT_TRUE(has_member(buf, e->bridge, "-")) TH_LOG("%s", buf);

	/* And back: viability follows binding both ways. */
	ASSERT_EQ(0, vfg_sysfs_write("/sys/bus/pci/drivers/" SHPCHP "/bind",
				     e->bridge));
	ASSERT_DRIVER(e->bridge, SHPCHP);
	ASSERT_ATTR(e->bridge_grp, "viable", "0");
	READ_ATTR(e->bridge_grp, "blockers", buf);
	EXPECT_TRUE(has_blocker(buf, e->bridge, SHPCHP)) TH_LOG("%s", buf);
}

TEST_F(group, uio_member_blocks)
{
	struct env *e = &self->e;
	char buf[4096];

	UNBIND(e->bridge);
	BIND(e->bedu[0], VFIO_PCI);
	MODPROBE(UIO);
	BIND(e->bedu[1], UIO);
	ASSERT_ATTR(e->bridge_grp, "viable", "0");
	READ_ATTR(e->bridge_grp, "blockers", buf);
	EXPECT_EQ(1, vfg_count_lines(buf)) TH_LOG("%s", buf);
	EXPECT_TRUE(has_blocker(buf, e->bedu[1], UIO)) TH_LOG("%s", buf);

	UNBIND(e->bedu[1]);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_ATTR(e->bridge_grp, "blockers", "");
}

TEST_F(group, all_vfio_viable)
{
	struct env *e = &self->e;
	char buf[4096];

	UNBIND(e->bridge);
	BIND(e->bedu[0], VFIO_PCI);
	BIND(e->bedu[1], VFIO_PCI);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_ATTR(e->bridge_grp, "blockers", "");
	READ_ATTR(e->bridge_grp, "members", buf);
	EXPECT_EQ(3, vfg_count_lines(buf));
	EXPECT_TRUE(has_member(buf, e->bridge, "-")) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[0], VFIO_PCI)) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[1], VFIO_PCI)) TH_LOG("%s", buf);
}

/* pci-stub does no DMA (driver_managed_dma): it does not block. */
TEST_F(group, pci_stub_viable)
{
	struct env *e = &self->e;

	MODPROBE(STUB);
	BIND(e->lone, STUB);
	ASSERT_ATTR(e->lone_grp, "viable", "1");
	ASSERT_ATTR(e->lone_grp, "blockers", "");

	UNBIND(e->bridge);
	BIND(e->bridge, STUB);
	BIND(e->bedu[0], STUB);
	BIND(e->bedu[1], VFIO_PCI);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_ATTR(e->bridge_grp, "blockers", "");
}

/* "viable" wakes poll(2) waiters when it changes. */
TEST_F(group, viable_poll)
{
	struct env *e = &self->e;
	char path[PATH_MAX], buf[8];
	struct pollfd pfd;
	int fd;

	vfg_group_sysfs_path(e->bridge_grp, "viable", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(2, read(fd, buf, sizeof(buf)));
	ASSERT_EQ('0', buf[0]);
	pfd.fd = fd;
	pfd.events = POLLPRI;
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	UNBIND(e->bridge);
	EXPECT_EQ(1, poll(&pfd, 1, WAIT_MS));
	EXPECT_TRUE(pfd.revents & POLLPRI);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(2, read(fd, buf, sizeof(buf)));
	EXPECT_EQ('1', buf[0]);
	close(fd);
}

/* vfio-pci takes normal functions only, not bridges. */
TEST_F(group, vfio_pci_refuses_bridge)
{
	struct env *e = &self->e;

	UNBIND(e->bridge);
	EXPECT_NE(0, vfg_pci_bind(e->bridge, VFIO_PCI));
	ASSERT_DRIVER(e->bridge, "");
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
}

TEST_F(group, holder)
{
	struct env *e = &self->e;
	char pid[32];

	ASSERT_ATTR(e->lone_grp, "holder", "");
	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_ATTR(e->lone_grp, "holder", pid);
	ASSERT_ATTR(e->bridge_grp, "holder", "");
	close_fd(&e->gfd);
	ASSERT_ATTR(e->lone_grp, "holder", "");
}

/* Opening needs no viability; the status follows binding while open. */
TEST_F(group, open_when_not_viable)
{
	struct env *e = &self->e;

	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	ASSERT_EQ(0, group_flags(e->gfd));
	UNBIND(e->bridge);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
	ASSERT_EQ(0, vfg_sysfs_write("/sys/bus/pci/drivers/" SHPCHP "/bind",
				     e->bridge));
	ASSERT_EQ(0, group_flags(e->gfd));
}

TEST_F(group, open_twice_busy)
{
	struct env *e = &self->e;
	int status;
	pid_t pid;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	ASSERT_ERRNO(EBUSY, e->gfd2 = vfg_group_open(e->lone_grp));

	/* Nor from another process. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(vfg_group_open(e->lone_grp) < 0 ? errno : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EBUSY, WEXITSTATUS(status));

	/* The other group is independent. */
	e->gfd2 = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd2);
	close_fd(&e->gfd2);

	close_fd(&e->gfd);
	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
}

TEST_F(group, status_argsz)
{
	struct env *e = &self->e;
	struct {
		struct vfio_group_status st;
		__u32 pad[4];
	} big;
	struct vfio_group_status st;
	__u32 sizes[] = { 0, 4, 7 };
	unsigned int i;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		st.argsz = sizes[i];
		st.flags = 0;
		EXPECT_ERRNO(EINVAL, ioctl(e->gfd, VFIO_GROUP_GET_STATUS,
					   &st));
	}
	st.argsz = sizeof(st);
	st.flags = 0;
	ASSERT_EQ(0, ioctl(e->gfd, VFIO_GROUP_GET_STATUS, &st));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, st.flags);

	/* A larger argsz is how the ABI grows; it is accepted. */
	memset(&big, 0, sizeof(big));
	big.st.argsz = sizeof(big);
	ASSERT_EQ(0, ioctl(e->gfd, VFIO_GROUP_GET_STATUS, &big));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, big.st.flags);

	/* A bad pointer is EFAULT, not a crash. */
	EXPECT_ERRNO(EFAULT, ioctl(e->gfd, VFIO_GROUP_GET_STATUS, NULL));
}

TEST_F(group, unknown_ioctl)
{
	struct env *e = &self->e;
	struct termios tio;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	EXPECT_ERRNO(ENOTTY, ioctl(e->gfd, _IO(VFIO_TYPE, VFIO_BASE + 99)));
	EXPECT_ERRNO(ENOTTY, ioctl(e->gfd, TCGETS, &tio));
}

/* GET_DEVICE_FD waits for viability; the log names the blocker. */
TEST_F(group, get_device_fd_refused)
{
	struct env *e = &self->e;

	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	ASSERT_LE(0, kmsg_mark(e));
	EXPECT_ERRNO(EPERM, get_device_fd(e->gfd, e->bedu[0]));
	EXPECT_TRUE(vfg_kmsg_find(e->kmsg, e->bridge, SHPCHP));
}

/* SET_CONTAINER waits for viability, and works once it comes. */
TEST_F(group, set_container_refused)
{
	struct env *e = &self->e;

	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_LE(0, kmsg_mark(e));
	ASSERT_ERRNO(EPERM, set_container(e->gfd, e->cfd));
	EXPECT_TRUE(vfg_kmsg_find(e->kmsg, e->bridge, SHPCHP));
	ASSERT_EQ(0, group_flags(e->gfd));

	UNBIND(e->bridge);
	ASSERT_EQ(0, set_container(e->gfd, e->cfd));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));
}

/* A DMA-capable member blocks both calls, and the log names it. */
TEST_F(group, uio_member_refused)
{
	struct env *e = &self->e;

	UNBIND(e->bridge);
	BIND(e->bedu[0], VFIO_PCI);
	MODPROBE(UIO);
	BIND(e->bedu[1], UIO);
	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);

	ASSERT_LE(0, kmsg_mark(e));
	EXPECT_ERRNO(EPERM, set_container(e->gfd, e->cfd));
	EXPECT_TRUE(vfg_kmsg_find(e->kmsg, e->bedu[1], UIO));
	ASSERT_LE(0, kmsg_mark(e));
	EXPECT_ERRNO(EPERM, get_device_fd(e->gfd, e->bedu[0]));
	EXPECT_TRUE(vfg_kmsg_find(e->kmsg, e->bedu[1], UIO));
	EXPECT_EQ(0, group_flags(e->gfd));
}

TEST_F(group, unload_refused_group_open)
{
	struct env *e = &self->e;
	char node[PATH_MAX];
	int ret;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	ret = vfg_module_unload();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("unload: %d", ret);
	ASSERT_TRUE(vfg_module_loaded());
	/* Still working. */
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));

	close_fd(&e->gfd);
	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
	vfg_group_dev_path(e->lone_grp, node);
	EXPECT_TRUE(vfg_wait_path(node, false, WAIT_MS));
}

TEST_F(group, unload_refused_container_open)
{
	struct env *e = &self->e;
	int ret;

	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ret = vfg_module_unload();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("unload: %d", ret);
	ASSERT_TRUE(vfg_module_loaded());
	ASSERT_EQ(VFIO_API_VERSION, ioctl(e->cfd, VFIO_GET_API_VERSION));

	close_fd(&e->cfd);
	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
}

/* Attached: each of the two fds alone still pins the module. */
TEST_F(group, unload_refused_while_attached)
{
	struct env *e = &self->e;
	int ret;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_EQ(0, set_container(e->gfd, e->cfd));

	ret = vfg_module_unload();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("unload: %d", ret);
	ASSERT_TRUE(vfg_module_loaded());
	close_fd(&e->gfd);
	ret = vfg_module_unload();
	EXPECT_TRUE(unload_refused(ret)) TH_LOG("unload: %d", ret);
	ASSERT_TRUE(vfg_module_loaded());
	close_fd(&e->cfd);
	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
}

TEST_F(group, unload_unbinds_devices)
{
	struct env *e = &self->e;

	UNBIND(e->bridge);
	BIND(e->lone, VFIO_PCI);
	BIND(e->bedu[0], VFIO_PCI);
	BIND(e->bedu[1], VFIO_PCI);
	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
	EXPECT_FALSE(vfg_wait_path("/sys/bus/pci/drivers/" VFIO_PCI, true, 0));
	ASSERT_DRIVER(e->lone, "");
	ASSERT_DRIVER(e->bedu[0], "");
	ASSERT_DRIVER(e->bedu[1], "");
}

/* ------------------------------------------------------------------ */
/* Containers.                                                          */
/* ------------------------------------------------------------------ */

FIXTURE(container) {
	struct env e;
};

FIXTURE_SETUP(container)
{
	env_setup(_metadata, &self->e, true);
}

FIXTURE_TEARDOWN(container)
{
	env_teardown(_metadata, &self->e);
}

TEST_F(container, api_version)
{
	struct env *e = &self->e;

	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(e->cfd, VFIO_GET_API_VERSION));
}

TEST_F(container, set_unset)
{
	struct env *e = &self->e;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));

	ASSERT_EQ(0, set_container(e->gfd, e->cfd));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));

	/* Once attached, no second container, not even the same one. */
	EXPECT_ERRNO(EINVAL, set_container(e->gfd, e->cfd));
	e->cfd2 = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd2);
	EXPECT_ERRNO(EINVAL, set_container(e->gfd, e->cfd2));

	ASSERT_EQ(0, ioctl(e->gfd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
	EXPECT_ERRNO(EINVAL, ioctl(e->gfd, VFIO_GROUP_UNSET_CONTAINER));

	/* And it can be attached again, to another container. */
	ASSERT_EQ(0, set_container(e->gfd, e->cfd2));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));
}

TEST_F(container, set_bad_fd)
{
	struct env *e = &self->e;
	int null;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	EXPECT_ERRNO(EBADF, set_container(e->gfd, -1));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null);
	EXPECT_ERRNO(EINVAL, set_container(e->gfd, null));
	close(null);
	/* A group fd is not a container either. */
	EXPECT_ERRNO(EINVAL, set_container(e->gfd, e->gfd));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
}

TEST_F(container, unset_not_attached)
{
	struct env *e = &self->e;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	ASSERT_ERRNO(EINVAL, ioctl(e->gfd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
}

/*
 * Attach the bridge group (bridge unbound, bedu[0] on vfio-pci, bedu[1]
 * unbound) to a new container.
 */
static void attach_bridge_group(struct __test_metadata *_metadata,
				struct env *e)
{
	UNBIND(e->bridge);
	BIND(e->bedu[0], VFIO_PCI);
	ASSERT_DRIVER(e->bedu[1], "");
	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_EQ(0, set_container(e->gfd, e->cfd));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));
}

/* A group in use keeps DMA-capable host drivers off its members. */
TEST_F(container, in_use_blocks_dma_driver)
{
	struct env *e = &self->e;
	int ret;

	MODPROBE(UIO);
	attach_bridge_group(_metadata, e);
	ret = vfg_pci_bind(e->bedu[1], UIO);
	ASSERT_NE(0, ret);
	EXPECT_EQ(-EBUSY, ret);
	ASSERT_DRIVER(e->bedu[1], "");
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));

	/* Detached, the same bind works (and breaks viability). */
	ASSERT_EQ(0, ioctl(e->gfd, VFIO_GROUP_UNSET_CONTAINER));
	BIND(e->bedu[1], UIO);
	ASSERT_ATTR(e->bridge_grp, "viable", "0");
	ASSERT_EQ(0, group_flags(e->gfd));
}

/* Closing the group fd detaches it as well. */
TEST_F(container, close_detaches)
{
	struct env *e = &self->e;

	MODPROBE(UIO);
	attach_bridge_group(_metadata, e);
	ASSERT_NE(0, vfg_pci_bind(e->bedu[1], UIO));
	ASSERT_DRIVER(e->bedu[1], "");

	close_fd(&e->gfd);
	BIND(e->bedu[1], UIO);
	UNBIND(e->bedu[1]);
	e->gfd = vfg_group_open(e->bridge_grp);
	ASSERT_LE(0, e->gfd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
}

/* shpchp on the bridge is such a driver too. */
TEST_F(container, in_use_blocks_bridge_driver)
{
	struct env *e = &self->e;
	int ret;

	attach_bridge_group(_metadata, e);
	ret = vfg_sysfs_write("/sys/bus/pci/drivers/" SHPCHP "/bind",
			      e->bridge);
	ASSERT_NE(0, ret);
	EXPECT_EQ(-EBUSY, ret);
	ASSERT_DRIVER(e->bridge, "");
	ASSERT_ATTR(e->bridge_grp, "viable", "1");

	ASSERT_EQ(0, ioctl(e->gfd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, vfg_sysfs_write("/sys/bus/pci/drivers/" SHPCHP "/bind",
				     e->bridge));
	ASSERT_DRIVER(e->bridge, SHPCHP);
}

/* Drivers that keep the group viable may still bind while it is in use. */
TEST_F(container, in_use_allows_safe_drivers)
{
	struct env *e = &self->e;

	MODPROBE(STUB);
	attach_bridge_group(_metadata, e);
	BIND(e->bedu[1], STUB);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	UNBIND(e->bedu[1]);
	BIND(e->bedu[1], VFIO_PCI);
	ASSERT_ATTR(e->bridge_grp, "viable", "1");
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(e->gfd));
}

/* ------------------------------------------------------------------ */
/* Hot removal and rescan.                                              */
/* ------------------------------------------------------------------ */

FIXTURE(hotplug) {
	struct env e;
};

FIXTURE_SETUP(hotplug)
{
	env_setup(_metadata, &self->e, true);
}

FIXTURE_TEARDOWN(hotplug)
{
	env_teardown(_metadata, &self->e);
}

/* Rescan, find the lone edu's (possibly new) group; its node is back. */
static int rescan_lone(struct __test_metadata *_metadata, struct env *e)
{
	char path[PATH_MAX];
	int g;

	ASSERT_EQ(0, vfg_pci_rescan());
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", e->lone);
	ASSERT_TRUE(vfg_wait_path(path, true, WAIT_MS));
	g = vfg_device_get_group(e->ctx, e->lone);
	ASSERT_LE(0, g);
	check_group_node(_metadata, g);
	vfg_group_sysfs_path(g, NULL, path);
	EXPECT_TRUE(vfg_wait_path(path, true, WAIT_MS));
	return g;
}

/* Wait for the node and class device of group @id to go away. */
static void check_group_gone(struct __test_metadata *_metadata, int id)
{
	char path[PATH_MAX];

	vfg_group_dev_path(id, path);
	EXPECT_TRUE(vfg_wait_path(path, false, WAIT_MS)) TH_LOG("%s", path);
	vfg_group_sysfs_path(id, NULL, path);
	EXPECT_TRUE(vfg_wait_path(path, false, WAIT_MS)) TH_LOG("%s", path);
}

TEST_F(hotplug, remove_and_rescan)
{
	struct env *e = &self->e;
	char node[PATH_MAX];
	int g;

	check_group_node(_metadata, e->lone_grp);
	ASSERT_EQ(0, vfg_pci_remove(e->lone));
	check_group_gone(_metadata, e->lone_grp);
	/* Only that group. */
	vfg_group_dev_path(e->bridge_grp, node);
	EXPECT_TRUE(vfg_wait_path(node, true, 0));

	g = rescan_lone(_metadata, e);
	ASSERT_LE(0, g);
	ASSERT_DRIVER(e->lone, "");
	ASSERT_ATTR(g, "viable", "1");
	e->gfd = vfg_group_open(g);
	ASSERT_LE(0, e->gfd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
}

/* The fd of a removed group stays safe to use: ENODEV, then close. */
TEST_F(hotplug, remove_with_group_open)
{
	struct env *e = &self->e;
	int g;

	e->gfd = vfg_group_open(e->lone_grp);
	ASSERT_LE(0, e->gfd);
	e->cfd = open(CONTAINER, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e->cfd);
	ASSERT_EQ(0, vfg_pci_remove(e->lone));
	check_group_gone(_metadata, e->lone_grp);

	ASSERT_EQ(-ENODEV, group_flags(e->gfd));
	EXPECT_ERRNO(ENODEV, set_container(e->gfd, e->cfd));
	EXPECT_ERRNO(ENODEV, get_device_fd(e->gfd, e->lone));
	ASSERT_EQ(0, close(e->gfd));
	e->gfd = -1;

	g = rescan_lone(_metadata, e);
	ASSERT_LE(0, g);
	e->gfd = vfg_group_open(g);
	ASSERT_LE(0, e->gfd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(e->gfd));
	ASSERT_EQ(0, set_container(e->gfd, e->cfd));
}

TEST_F(hotplug, remove_bound_device)
{
	struct env *e = &self->e;
	char path[PATH_MAX];
	int g;

	BIND(e->lone, VFIO_PCI);
	ASSERT_EQ(0, vfg_pci_remove(e->lone));
	check_group_gone(_metadata, e->lone_grp);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/" VFIO_PCI "/%s",
		 e->lone);
	EXPECT_TRUE(vfg_wait_path(path, false, WAIT_MS));

	/* It comes back as a new device: unbound, no override. */
	g = rescan_lone(_metadata, e);
	ASSERT_LE(0, g);
	ASSERT_DRIVER(e->lone, "");
	ASSERT_ATTR(g, "viable", "1");
}

/* A group loses one member of three: it stays, with two. */
TEST_F(hotplug, remove_member_keeps_group)
{
	struct env *e = &self->e;
	char node[PATH_MAX], path[PATH_MAX], buf[4096];

	ASSERT_EQ(0, vfg_pci_remove(e->bedu[1]));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", e->bedu[1]);
	ASSERT_TRUE(vfg_wait_path(path, false, WAIT_MS));
	vfg_group_dev_path(e->bridge_grp, node);
	ASSERT_TRUE(vfg_wait_path(node, true, 0));
	READ_ATTR(e->bridge_grp, "members", buf);
	EXPECT_EQ(2, vfg_count_lines(buf)) TH_LOG("%s", buf);
	EXPECT_EQ(NULL, vfg_find_line(buf, e->bedu[1])) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[0], "-")) TH_LOG("%s", buf);

	ASSERT_EQ(0, vfg_pci_rescan());
	ASSERT_TRUE(vfg_wait_path(path, true, WAIT_MS));
	ASSERT_EQ(e->bridge_grp, vfg_device_get_group(e->ctx, e->bedu[1]));
	READ_ATTR(e->bridge_grp, "members", buf);
	EXPECT_EQ(3, vfg_count_lines(buf)) TH_LOG("%s", buf);
	EXPECT_TRUE(has_member(buf, e->bedu[1], "-")) TH_LOG("%s", buf);
}

TEST_HARNESS_MAIN
