// SPDX-License-Identifier: GPL-2.0
/*
 * The vfio-group command (/opt/vfg/bin/vfio-group) on the guest's real
 * topology and the real driver: list and explain of the bridge group, a
 * whole-group bind and unbind with the bridge unbound from shpchp and given
 * back, a rollback when a previous driver has gone, the refusal to unbind a
 * held group, the safety refusal for a NIC with an address, memlock-check,
 * watch following binds, unbinds and a release request as they happen, and
 * persistent bindings restored after a simulated reboot.
 *
 * Every test starts from, and teardown puts back, the boot state: edus
 * unbound without driver_override, shpchp on the bridge, no vfio module, no
 * bind records, no persistent bindings.  VFG_CLI overrides the path of the command.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

#define SHPCHP	"shpchp"
#define UIO	"uio_pci_generic"
#define RECORDS	"/run/vfio-group"
#define BINDINGS "/etc/vfio-groups/persistent.d"

struct run {
	int status;		/* exit status, or -1 if it did not exit */
	char out[32768];
	char err[8192];
};

static const char *cli_path(void)
{
	const char *p = getenv("VFG_CLI");

	return p ? p : "/opt/vfg/bin/vfio-group";
}

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run vfio-group with the NULL-terminated arguments; 0, or -errno. */
static int vg(struct run *r, ...)
{
	const char *argv[16];
	FILE *fo = tmpfile(), *fe = tmpfile();
	int argc = 0, st;
	va_list ap;
	pid_t pid;

	if (!fo || !fe)
		return -errno;
	argv[argc++] = "vfio-group";
	va_start(ap, r);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(fileno(fo), 1);
		dup2(fileno(fe), 2);
		execv(cli_path(), (char **)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(fo, r->out, sizeof(r->out));
	slurp(fe, r->err, sizeof(r->err));
	return 0;
}

#define VG(r, ...) ASSERT_EQ(0, vg(r, __VA_ARGS__, NULL))

/*
 * Start vfio-group with the NULL-terminated arguments, its stdout on a pipe
 * (*@fd, non-blocking) and its stderr on ours; the pid, or -errno.
 */
static pid_t vg_start(int *fd, ...)
{
	const char *argv[24];
	int argc = 0, p[2];
	va_list ap;
	pid_t pid;

	argv[argc++] = "vfio-group";
	va_start(ap, fd);
	while (argc < 23 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = vfg_fork();
	if (pid < 0)
		return pid;
	if (!pid) {
		dup2(p[1], 1);
		execv(cli_path(), (char **)argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*fd = p[0];
	return pid;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Append what @fd gives to @buf (@len bytes, NUL-terminated, *@used so far)
 * until @s appears in it (NULL: until end of file) or @ms pass.  0 when it
 * did, -ETIMEDOUT, or -errno.
 */
static int read_until(int fd, char *buf, size_t len, size_t *used,
		      const char *s, int ms)
{
	long long end = mono_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[*used] = '\0';
	for (;;) {
		if (s && strstr(buf, s))
			return 0;
		if (mono_ms() >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(end - mono_ms())) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, buf + *used, len - 1 - *used);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (!n && !s)
			return 0;	/* end of file */
		if (!n)
			return -EPIPE;
		if (n > 0) {
			*used += n;
			buf[*used] = '\0';
		}
		if (*used == len - 1)
			return -ENOSPC;
	}
}

/*
 * The value of "key" in a one-line JSON object @line (up to the next ','
 * or '}', strings with their quotes); "" when absent.
 */
static const char *json_field(const char *line, const char *key, char *buf,
			      size_t len)
{
	char k[64];
	const char *p, *e;

	snprintf(k, sizeof(k), "\"%s\":", key);
	buf[0] = '\0';
	p = strstr(line, k);
	if (!p)
		return buf;
	p += strlen(k);
	e = *p == '"' ? strchr(p + 1, '"') + 1 : p + strcspn(p, ",}\n");
	snprintf(buf, len, "%.*s", (int)(e - p), p);
	return buf;
}

/* The line of @text that contains @s, copied to @buf; "" if none. */
static const char *line_with(const char *text, const char *s, char *buf,
			     size_t len)
{
	const char *p = strstr(text, s), *b, *e;

	buf[0] = '\0';
	if (!p)
		return buf;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(e ? e - b : (long)strlen(b)), b);
	return buf;
}

#define ASSERT_HAS(buf, s) \
	ASSERT_NE(NULL, strstr(buf, s)) TH_LOG("\"%s\" not in:\n%s", s, buf)
#define EXPECT_HAS(buf, s) \
	EXPECT_NE(NULL, strstr(buf, s)) TH_LOG("\"%s\" not in:\n%s", s, buf)

#define ASSERT_DRIVER(bdf, name) do {					\
	char __drv[64];							\
	ASSERT_EQ(0, vfg_pci_driver(bdf, __drv, sizeof(__drv)));	\
	ASSERT_STREQ(name, __drv);					\
} while (0)

#define ASSERT_OVERRIDE(bdf, val) do {					\
	char __p[PATH_MAX], __v[64];					\
	snprintf(__p, sizeof(__p),					\
		 "/sys/bus/pci/devices/%s/driver_override", bdf);	\
	ASSERT_EQ(0, vfg_sysfs_read(__p, __v, sizeof(__v)));		\
	ASSERT_STREQ(val, __v);						\
} while (0)

static int group_of(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

FIXTURE(cli) {
	struct vfg_topo t;
	int bgrp;		/* the bridge's group */
	int lgrp;		/* the lone edu's group */
	char bgs[16], lgs[16];
	char nic_drv[64];	/* the NIC's driver at start */
	int fd;			/* an open group, closed in teardown */
	pid_t watcher;		/* a running "vfio-group watch", or 0 */
	int wfd;		/* its stdout */
	struct vfg_dev dev;	/* a device held open */
	pid_t unbinder;		/* a blocked unbind, or 0 */
	bool forget_bindings;	/* restore() removes persistent bindings */
};

static void rm_records(void)
{
	char path[PATH_MAX];
	int g;

	for (g = 0; g < 64; g++) {
		snprintf(path, sizeof(path), RECORDS "/group-%d", g);
		unlink(path);
	}
}

/* Back to boot state; the number of steps that failed (no assertions). */
static int restore(FIXTURE_DATA(cli) *self)
{
	const char *edus[4] = { self->t.lone, self->t.bedu[0], self->t.bedu[1],
				self->t.pedu };
	char drv[64];
	int i, bad = 0;

	if (self->watcher > 0) {
		kill(self->watcher, SIGKILL);
		waitpid(self->watcher, NULL, 0);
		close(self->wfd);
	}
	self->watcher = 0;
	vfg_dev_close(&self->dev);
	if (self->unbinder > 0 && vfg_reap(self->unbinder, 10000))
		bad++;
	self->unbinder = 0;
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	for (i = 0; i < 4; i++)
		if (edus[i][0])
			bad += vfg_pci_release(edus[i]);
	if (self->t.bridge[0])
		bad += vfg_bridge_restore(self->t.bridge);
	if (self->t.nic[0] && !vfg_pci_driver(self->t.nic, drv, sizeof(drv)) &&
	    strcmp(drv, self->nic_drv)) {
		if (drv[0])
			vfg_pci_unbind(self->t.nic);
		vfg_pci_set_override(self->t.nic, NULL);
		if (self->nic_drv[0] &&
		    vfg_pci_bind(self->t.nic, self->nic_drv))
			bad++;
		vfg_pci_set_override(self->t.nic, NULL);
	}
	rm_records();
	if (self->forget_bindings) {
		const char *all[5] = { edus[0], edus[1], edus[2], edus[3],
				       self->t.bridge };
		char path[PATH_MAX];

		for (i = 0; i < 5; i++) {
			if (!all[i][0])
				continue;
			snprintf(path, sizeof(path), BINDINGS "/%s.conf", all[i]);
			unlink(path);
		}
	}
	if (vfg_vfio_unload_all())
		bad++;
	if (vfg_kmod_loaded(UIO) && vfg_modprobe_remove(UIO))
		bad++;
	return bad;
}

FIXTURE_SETUP(cli)
{
	self->fd = -1;
	self->watcher = 0;
	self->unbinder = 0;
	self->forget_bindings = true;
	vfg_dev_init(&self->dev);
	ASSERT_EQ(0, access(cli_path(), X_OK)) TH_LOG("no %s", cli_path());
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	if (self->t.nic[0])
		ASSERT_EQ(0, vfg_pci_driver(self->t.nic, self->nic_drv,
					    sizeof(self->nic_drv)));
	self->bgrp = group_of(self->t.bridge);
	self->lgrp = group_of(self->t.lone);
	ASSERT_LE(0, self->bgrp);
	ASSERT_LE(0, self->lgrp);
	snprintf(self->bgs, sizeof(self->bgs), "%d", self->bgrp);
	snprintf(self->lgs, sizeof(self->lgs), "%d", self->lgrp);
	restore(self);
	ASSERT_FALSE(vfg_module_loaded());
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
	ASSERT_DRIVER(self->t.bedu[1], "");
}

FIXTURE_TEARDOWN(cli)
{
	EXPECT_EQ(0, restore(self));
}

/* Without the module: the tool's own rule sees shpchp blocking. */
TEST_F(cli, list_without_module)
{
	char line[128];
	struct run r;

	VG(&r, "list");
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	snprintf(line, sizeof(line), "group %d: not viable\n", self->bgrp);
	ASSERT_HAS(r.out, line);
	snprintf(line, sizeof(line), "group %d: viable\n", self->lgrp);
	ASSERT_HAS(r.out, line);
	snprintf(line, sizeof(line), "    %s  ", self->t.bridge);
	ASSERT_HAS(r.out, line);
	/* The guest's static vfio-group has no libpci: lspci's numeric names. */
	ASSERT_HAS(r.out, "Class 0604");
	ASSERT_HAS(r.out, "shpchp            Device 1b36:0001  blocks: ");
	ASSERT_HAS(r.out, "note: the vfio module is not loaded");
}

/* With the module: the kernel's view, as JSON. */
TEST_F(cli, list_json_with_module)
{
	char s[256];
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "--json", "list", self->t.bedu[0]);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	ASSERT_HAS(r.out, "{\"module_loaded\":true,\"driver\":\"vfio-pci\",\"groups\":[{");
	snprintf(s, sizeof(s), "{\"group\":%d,\"viable\":false,\"source\":\"kernel\"",
		 self->bgrp);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "\"blockers\":[{\"device\":\"%s\",\"driver\":\"shpchp\"",
		 self->t.bridge);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "{\"address\":\"%s\",\"pci\":true,\"vendor\":\"1234\",\"device\":\"11e8\"",
		 self->t.bedu[1]);
	ASSERT_HAS(r.out, s);
	ASSERT_HAS(r.out, "\"holder\":null,\"holders\":[]");
	/* One group only. */
	snprintf(s, sizeof(s), "{\"group\":%d,", self->lgrp);
	ASSERT_EQ(NULL, strstr(r.out, s));
}

TEST_F(cli, explain_bridge_group)
{
	char s[256];
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "explain", self->t.bedu[1]);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	snprintf(s, sizeof(s), "group %d: 3 devices\n", self->bgrp);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "  - %s is behind ", self->t.bedu[0]);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "PCI bridge %s: the IOMMU sees its DMA with the bridge's requester ID",
		 self->t.bridge);
	ASSERT_HAS(r.out, s);
	ASSERT_HAS(r.out, "Viable: no.\n");
	snprintf(s, sizeof(s), "  - unbind bridge %s from shpchp", self->t.bridge);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "'vfio-group bind %d' does all of it", self->bgrp);
	ASSERT_HAS(r.out, s);

	VG(&r, "--json", "explain", self->bgs);
	ASSERT_EQ(0, r.status);
	snprintf(s, sizeof(s), "{\"kind\":\"alias\",\"device\":\"%s\",\"at\":\"%s\"",
		 self->t.bedu[0], self->t.bridge);
	ASSERT_HAS(r.out, s);
}

TEST_F(cli, bind_dry_run_changes_nothing)
{
	char s[256];
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", "--dry-run", self->bgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	snprintf(s, sizeof(s), "    %s  unbind   shpchp -> (none)", self->t.bridge);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "    %s  bind     (none) -> vfio-pci", self->t.bedu[0]);
	ASSERT_HAS(r.out, s);
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
	ASSERT_OVERRIDE(self->t.bedu[0], "(null)");
	ASSERT_NE(0, access(RECORDS "/group-0", F_OK));
}

/* The whole bridge group in one command, and back. */
TEST_F(cli, bind_unbind_bridge_group)
{
	char s[256], path[PATH_MAX], v[8];
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", self->t.bedu[0]);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), "group %d: bound 2 devices to vfio-pci, unbound 1 bridge\n",
		 self->bgrp);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "group %d is viable: /dev/vfio/%d\n", self->bgrp,
		 self->bgrp);
	ASSERT_HAS(r.out, s);
	ASSERT_DRIVER(self->t.bridge, "");
	ASSERT_DRIVER(self->t.bedu[0], "vfio-pci");
	ASSERT_DRIVER(self->t.bedu[1], "vfio-pci");
	ASSERT_OVERRIDE(self->t.bedu[1], "vfio-pci");
	ASSERT_EQ(0, vfg_group_attr(self->bgrp, "viable", v, sizeof(v)));
	ASSERT_STREQ("1", v);
	snprintf(path, sizeof(path), RECORDS "/group-%d", self->bgrp);
	ASSERT_EQ(0, access(path, F_OK));

	VG(&r, "list", self->bgs);
	snprintf(s, sizeof(s), "group %d: viable\n", self->bgrp);
	ASSERT_HAS(r.out, s);

	VG(&r, "unbind", self->bgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.out, "previous drivers restored");
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
	ASSERT_DRIVER(self->t.bedu[1], "");
	ASSERT_OVERRIDE(self->t.bedu[0], "(null)");
	ASSERT_OVERRIDE(self->t.bridge, "(null)");
	ASSERT_NE(0, access(path, F_OK));
	ASSERT_EQ(0, vfg_group_attr(self->bgrp, "viable", v, sizeof(v)));
	ASSERT_STREQ("0", v);
}

TEST_F(cli, bind_without_driver_fails_cleanly)
{
	struct run r;

	VG(&r, "bind", self->bgs);
	ASSERT_EQ(1, r.status);
	ASSERT_HAS(r.err, "the vfio-pci driver is not loaded");
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
}

/*
 * A real rollback: the record says a member came from uio_pci_generic,
 * which is unloaded before the unbind.  The restore of that member fails,
 * and every member goes back on vfio-pci.
 */
TEST_F(cli, unbind_rolls_back_when_old_driver_is_gone)
{
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	ASSERT_EQ(0, vfg_modprobe(UIO));
	ASSERT_EQ(0, vfg_pci_bind(self->t.bedu[1], UIO));
	ASSERT_EQ(0, vfg_pci_set_override(self->t.bedu[1], NULL));
	VG(&r, "bind", self->bgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_DRIVER(self->t.bedu[1], "vfio-pci");
	ASSERT_EQ(0, vfg_modprobe_remove(UIO));

	VG(&r, "unbind", self->bgs);
	ASSERT_EQ(1, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.err, "driver uio_pci_generic is not loaded");
	ASSERT_HAS(r.err, "rolled back");
	ASSERT_DRIVER(self->t.bridge, "");
	ASSERT_DRIVER(self->t.bedu[0], "vfio-pci");
	ASSERT_DRIVER(self->t.bedu[1], "vfio-pci");
	ASSERT_OVERRIDE(self->t.bedu[1], "vfio-pci");

	ASSERT_EQ(0, vfg_modprobe(UIO));
	VG(&r, "unbind", self->bgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[1], UIO);
	ASSERT_OVERRIDE(self->t.bedu[1], "(null)");
}

/* A held group: holders names us, unbind refuses until we let go. */
TEST_F(cli, holders_and_held_unbind)
{
	char s[256];
	struct run r;

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", self->lgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	self->fd = vfg_group_open(self->lgrp);
	ASSERT_LE(0, self->fd);

	VG(&r, "holders", self->lgs);
	ASSERT_EQ(0, r.status);
	snprintf(s, sizeof(s), "group %d: %d cli_test (opened the group)\n",
		 self->lgrp, getpid());
	ASSERT_HAS(r.out, s);
	VG(&r, "list", self->t.lone);
	snprintf(s, sizeof(s), "held by %d (cli_test)", getpid());
	ASSERT_HAS(r.out, s);

	VG(&r, "unbind", self->lgs);
	ASSERT_EQ(3, r.status);
	snprintf(s, sizeof(s), "group %d is held by %d (cli_test)", self->lgrp,
		 getpid());
	ASSERT_HAS(r.err, s);
	ASSERT_DRIVER(self->t.lone, "vfio-pci");

	close(self->fd);
	self->fd = -1;
	VG(&r, "unbind", self->lgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_DRIVER(self->t.lone, "");
}

/* Give the NIC an IPv4 address; 0 or -errno. */
static int set_addr(const char *ifname, const char *addr)
{
	struct sockaddr_in *sin;
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

static int nic_ifname(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", bdf);
	d = opendir(path);
	if (!d)
		return -errno;
	name[0] = '\0';
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			snprintf(name, len, "%.*s", IFNAMSIZ - 1, de->d_name);
	closedir(d);
	return name[0] ? 0 : -ENOENT;
}

/* The host uses the NIC (it has an address): bind refuses, --force not. */
TEST_F(cli, refuses_nic_with_address)
{
	char ifname[IFNAMSIZ], s[256], drv[64];
	struct run r;
	int i;

	if (!self->t.nic[0])
		SKIP(return, "no e1000e in this topology");
	if (!vfg_kmod_loaded("e1000e"))
		ASSERT_EQ(0, vfg_modprobe("e1000e"));	/* may bind it */
	ASSERT_EQ(0, vfg_pci_driver(self->t.nic, drv, sizeof(drv)));
	if (strcmp(drv, "e1000e")) {
		if (drv[0])
			ASSERT_EQ(0, vfg_pci_unbind(self->t.nic));
		ASSERT_EQ(0, vfg_pci_bind(self->t.nic, "e1000e"));
		ASSERT_EQ(0, vfg_pci_set_override(self->t.nic, NULL));
	}
	for (i = 0; i < 50 && nic_ifname(self->t.nic, ifname, sizeof(ifname)); i++)
		usleep(20000);
	ASSERT_EQ(0, nic_ifname(self->t.nic, ifname, sizeof(ifname)));
	ASSERT_EQ(0, set_addr(ifname, "192.0.2.7"));

	VG(&r, "bind", self->t.nic);
	ASSERT_EQ(3, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), "%s has interface %s with address 192.0.2.7",
		 self->t.nic, ifname);
	ASSERT_HAS(r.err, s);
	ASSERT_HAS(r.err, "add --force");
	ASSERT_DRIVER(self->t.nic, "e1000e");

	VG(&r, "bind", "--dry-run", self->t.nic);
	ASSERT_EQ(3, r.status);
	ASSERT_HAS(r.out, "would refuse without --force");

	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", "--force", self->t.nic);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_DRIVER(self->t.nic, "vfio-pci");
	VG(&r, "unbind", self->t.nic);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_DRIVER(self->t.nic, "e1000e");
}

/* The AMD IOMMU is a PCI function (class 0806) without a group of its own. */
TEST_F(cli, device_without_group)
{
	char (*bdfs)[13], iommu[13] = "";
	struct run r;
	int i, n = vfg_pci_list(&bdfs);

	ASSERT_LE(0, n);
	for (i = 0; i < n; i++)
		if (vfg_pci_is_iommu(bdfs[i]) && group_of(bdfs[i]) < 0)
			snprintf(iommu, sizeof(iommu), "%s", bdfs[i]);
	free(bdfs);
	if (!iommu[0])
		SKIP(return, "no IOMMU PCI function without a group (VT-d)");
	VG(&r, "explain", iommu);
	ASSERT_EQ(4, r.status);
	ASSERT_HAS(r.err, "has no IOMMU group: the IOMMU is on, but does not translate this device");
	VG(&r, "bind", iommu);
	ASSERT_EQ(4, r.status);
}

TEST_F(cli, memlock_check)
{
	struct run r;

	VG(&r, "memlock-check", "1G");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.out, "needed:          2 GiB");
	ASSERT_HAS(r.out, "CAP_IPC_LOCK:    yes");
	VG(&r, "--json", "memlock-check", "--pid", "1", "512M");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.out, "\"pid\":1,\"guest_bytes\":536870912,\"needed_bytes\":1610612736,");
	ASSERT_HAS(r.out, "\"enough\":true}");
}

/*
 * Bind and unbind the root port's edu while the watcher runs: its two
 * events follow the state line already in @out, and it exits by itself.
 */
static void watched_bind_unbind(struct __test_metadata *_metadata,
				FIXTURE_DATA(cli) *self, char *out, size_t len,
				size_t *used)
{
	ASSERT_EQ(0, vfg_pci_bind(self->t.pedu, "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_unbind(self->t.pedu));
	ASSERT_EQ(0, vfg_pci_set_override(self->t.pedu, NULL));
	ASSERT_EQ(0, read_until(self->wfd, out, len, used, NULL, 20000))
		TH_LOG("%s", out);
	ASSERT_EQ(0, vfg_reap(self->watcher, 5000)) TH_LOG("%s", out);
	self->watcher = 0;
	close(self->wfd);
	ASSERT_EQ(3, vfg_count_lines(out)) TH_LOG("%s", out);
}

/*
 * watch sees a bind and an unbind of the edu behind the root port as they
 * happen.  --state prints the group once subscribed: after that line, no
 * event can be missed.
 */
TEST_F(cli, watch_bind_unbind)
{
	char out[8192], s[256], line[512], gs[16];
	size_t used = 0;
	int g;

	ASSERT_NE(0, self->t.pedu[0]);
	ASSERT_EQ(0, vfg_module_load(NULL));
	g = group_of(self->t.pedu);
	ASSERT_LE(0, g);
	snprintf(gs, sizeof(gs), "%d", g);
	self->watcher = vg_start(&self->wfd, "watch", "--count", "2",
				 "--timeout", "20", "--state", "--group", gs,
				 NULL);
	ASSERT_LT(0, self->watcher);
	/* The root port may share the group (no ACS); the edu is unbound. */
	snprintf(s, sizeof(s), " state group %d viable members ", g);
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);
	snprintf(s, sizeof(s), " %s (-)", self->t.pedu);
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);

	watched_bind_unbind(_metadata, self, out, sizeof(out), &used);
	snprintf(s, sizeof(s), " device-bound group %d %s driver vfio-pci\n", g,
		 self->t.pedu);
	ASSERT_HAS(out, s);
	/* "HH:MM:SS.mmm " first. */
	line_with(out, s, line, sizeof(line));
	ASSERT_EQ(12, strcspn(line, " ")) TH_LOG("%s", line);
	ASSERT_EQ(':', line[2]);
	ASSERT_EQ('.', line[8]);
	snprintf(s, sizeof(s), " device-unbound group %d %s driver vfio-pci\n",
		 g, self->t.pedu);
	ASSERT_HAS(out, s);
	ASSERT_LT(strstr(out, " device-bound "), strstr(out, " device-unbound "));
}

/* The same as JSON, the group named by its device: one object a line. */
TEST_F(cli, watch_json)
{
	char out[8192], line[1024], v[128], s[128];
	size_t used = 0;
	int g;

	ASSERT_EQ(0, vfg_module_load(NULL));
	g = group_of(self->t.pedu);
	self->watcher = vg_start(&self->wfd, "--json", "watch", "--state",
				 "--count", "2", "--timeout", "20",
				 self->t.pedu, NULL);
	ASSERT_LT(0, self->watcher);
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used,
				"\"event\":\"state\"", 10000)) TH_LOG("%s", out);
	watched_bind_unbind(_metadata, self, out, sizeof(out), &used);

	line_with(out, "\"event\":\"state\"", line, sizeof(line));
	ASSERT_EQ('{', line[0]);
	ASSERT_EQ('}', line[strlen(line) - 1]);
	snprintf(s, sizeof(s), "%d", g);
	ASSERT_STREQ(s, json_field(line, "group", v, sizeof(v)));
	ASSERT_STREQ("true", json_field(line, "viable", v, sizeof(v)));
	ASSERT_STREQ("null", json_field(line, "holder_pid", v, sizeof(v)));
	snprintf(s, sizeof(s), "{\"device\":\"%s\",\"driver\":null,\"blocks\":false,\"reason\":null}",
		 self->t.pedu);
	ASSERT_HAS(line, s);

	line_with(out, "\"event\":\"device-bound\"", line, sizeof(line));
	ASSERT_NE(0, line[0]) TH_LOG("%s", out);
	/* "2024-05-01T12:00:01.123Z" */
	json_field(line, "time", v, sizeof(v));
	ASSERT_EQ(26, strlen(v)) TH_LOG("%s", v);
	ASSERT_EQ('T', v[11]);
	ASSERT_EQ('Z', v[24]);
	ASSERT_STREQ("3", json_field(line, "type", v, sizeof(v)));
	snprintf(s, sizeof(s), "%d", g);
	ASSERT_STREQ(s, json_field(line, "group", v, sizeof(v)));
	snprintf(s, sizeof(s), "\"%s\"", self->t.pedu);
	ASSERT_STREQ(s, json_field(line, "device", v, sizeof(v)));
	ASSERT_STREQ("\"vfio-pci\"", json_field(line, "driver", v, sizeof(v)));
	ASSERT_STREQ("null", json_field(line, "viable", v, sizeof(v)));
	ASSERT_STREQ("null", json_field(line, "holder_pid", v, sizeof(v)));
	ASSERT_STREQ("null", json_field(line, "attempt", v, sizeof(v)));
	ASSERT_STREQ("null", json_field(line, "deadline_ms", v, sizeof(v)));

	line_with(out, "\"event\":\"device-unbound\"", line, sizeof(line));
	ASSERT_NE(0, line[0]) TH_LOG("%s", out);
	ASSERT_STREQ("\"vfio-pci\"", json_field(line, "driver", v, sizeof(v)));
}

/*
 * The kernel asks us for the device back: watch names the holder, the
 * attempt and the deadline, then the release; SIGINT ends it cleanly.
 */
TEST_F(cli, watch_release_request)
{
	char out[16384], s[256], gs[16];
	size_t used = 0;
	int g;

	ASSERT_EQ(0, vfg_module_load("release_retry_ms=300 release_timeout_ms=60000"));
	ASSERT_EQ(0, vfg_pci_bind(self->t.pedu, "vfio-pci"));
	ASSERT_EQ(0, vfg_dev_open(&self->dev, self->t.pedu));
	g = self->dev.group_id;
	snprintf(gs, sizeof(gs), "%d", g);
	self->watcher = vg_start(&self->wfd, "watch", "--state", "--group", gs,
				 "--timeout", "60", NULL);
	ASSERT_LT(0, self->watcher);
	snprintf(s, sizeof(s), " state group %d viable holder %d (cli_test) members ",
		 g, getpid());
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);
	snprintf(s, sizeof(s), " %s (vfio-pci)", self->t.pedu);
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);

	self->unbinder = vfg_pci_unbind_async(self->t.pedu);
	ASSERT_LT(0, self->unbinder);
	snprintf(s, sizeof(s), " release-requested group %d %s holder %d (cli_test) attempt 1 revoke in ",
		 g, self->t.pedu, getpid());
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);
	vfg_dev_close(&self->dev);
	ASSERT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = 0;
	snprintf(s, sizeof(s), " device-unbound group %d %s driver vfio-pci\n",
		 g, self->t.pedu);
	ASSERT_EQ(0, read_until(self->wfd, out, sizeof(out), &used, s, 10000))
		TH_LOG("no \"%s\" in:\n%s", s, out);
	snprintf(s, sizeof(s), " released group %d %s\n", g, self->t.pedu);
	ASSERT_HAS(out, s);

	ASSERT_EQ(0, kill(self->watcher, SIGINT));
	ASSERT_EQ(0, vfg_reap(self->watcher, 5000));
	self->watcher = 0;
	close(self->wfd);
}

TEST_F(cli, usage_and_watch)
{
	char s[256];
	struct run r;

	VG(&r, "watch");
	ASSERT_EQ(7, r.status);
	ASSERT_HAS(r.err, "the vfio module is not loaded");
	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "watch", "--count", "1", "--timeout", "0.5");
	ASSERT_EQ(8, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.err, "timed out after 0.5 s with 0 of 1 events");
	VG(&r, "watch", "--timeout", "0.2");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_STREQ("", r.out);
	/* Every group from the dump, the bridge's blocked by shpchp. */
	VG(&r, "watch", "--state", "--timeout", "0.2");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), " state group %d viable members %s (-)\n",
		 self->lgrp, self->t.lone);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), " state group %d not viable members %s (shpchp, blocks) %s (-) %s (-)\n",
		 self->bgrp, self->t.bridge, self->t.bedu[0], self->t.bedu[1]);
	ASSERT_HAS(r.out, s);
	/* A group the module does not have is left out, not an error. */
	VG(&r, "watch", "--state", "--group", "9999", "--timeout", "0.2");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_STREQ("", r.out);
	VG(&r, "list", "--count", "1");
	ASSERT_EQ(2, r.status);
	VG(&r, "list", "9999");
	ASSERT_EQ(4, r.status);
	VG(&r, "bind");
	ASSERT_EQ(2, r.status);
}

/*
 * bind --persistent, then a reboot as far as the devices can tell: every
 * member back on its boot driver behind the tool's back, the records in
 * /run gone, the module unloaded.  Then what vfio-group-restore.service
 * does at boot (load the module, "vfio-group restore"), and unbind
 * --persistent, after which restore has nothing to do.
 */
TEST_F(cli, persistent_bind_restore)
{
	char s[512], conf[128];
	struct run r;

	snprintf(conf, sizeof(conf), BINDINGS "/%s.conf", self->t.bridge);
	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", "--persistent", self->t.bedu[0]);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), "group %d: persistent: 'vfio-group restore' binds it at boot (%s)\n",
		 self->bgrp, conf);
	ASSERT_HAS(r.out, s);
	ASSERT_EQ(0, access(conf, F_OK));
	VG(&r, "--json", "list", self->bgs);
	ASSERT_HAS(r.out, "\"persistent\":true");
	VG(&r, "--json", "list", self->lgs);
	ASSERT_HAS(r.out, "\"persistent\":false");

	/* Reboot, short of rebooting: restore() keeps the bindings. */
	self->forget_bindings = false;
	ASSERT_EQ(0, restore(self));
	self->forget_bindings = true;
	ASSERT_FALSE(vfg_module_loaded());
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
	ASSERT_OVERRIDE(self->t.bedu[0], "(null)");
	ASSERT_EQ(0, access(conf, F_OK));

	ASSERT_EQ(0, vfg_module_load(NULL));	/* ExecStartPre= */
	VG(&r, "restore");
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), "%s: group %d\n", self->t.bridge, self->bgrp);
	ASSERT_HAS(r.out, s);
	snprintf(s, sizeof(s), "group %d: bound 2 devices to vfio-pci, unbound 1 bridge\n",
		 self->bgrp);
	ASSERT_HAS(r.out, s);
	ASSERT_DRIVER(self->t.bridge, "");
	ASSERT_DRIVER(self->t.bedu[0], "vfio-pci");
	ASSERT_DRIVER(self->t.bedu[1], "vfio-pci");
	ASSERT_OVERRIDE(self->t.bedu[1], "vfio-pci");
	ASSERT_EQ(0, vfg_group_attr(self->bgrp, "viable", s, sizeof(s)));
	ASSERT_STREQ("1", s);

	VG(&r, "unbind", "--persistent", self->bgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	ASSERT_HAS(r.out, "previous drivers restored");
	ASSERT_HAS(r.out, "is no longer bound at boot");
	ASSERT_NE(0, access(conf, F_OK));
	ASSERT_DRIVER(self->t.bridge, SHPCHP);
	ASSERT_DRIVER(self->t.bedu[0], "");
	VG(&r, "--json", "list", self->bgs);
	ASSERT_HAS(r.out, "\"persistent\":false");
	VG(&r, "restore");
	ASSERT_EQ(0, r.status);
	ASSERT_HAS(r.out, "no persistent bindings in " BINDINGS "\n");
	ASSERT_DRIVER(self->t.bedu[0], "");
}

/* A binding whose device changed identity is skipped, with status 4. */
TEST_F(cli, restore_skips_changed_binding)
{
	char s[512], conf[128], txt[4096];
	struct run r;
	FILE *f;
	size_t n;
	char *id;

	snprintf(conf, sizeof(conf), BINDINGS "/%s.conf", self->t.lone);
	ASSERT_EQ(0, vfg_module_load(NULL));
	VG(&r, "bind", "--persistent", self->lgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	VG(&r, "unbind", self->lgs);
	ASSERT_EQ(0, r.status) TH_LOG("%s%s", r.out, r.err);
	/* Another card in the slot, as far as the record can tell. */
	f = fopen(conf, "r");
	ASSERT_NE(NULL, f);
	n = fread(txt, 1, sizeof(txt) - 1, f);
	fclose(f);
	txt[n] = '\0';
	id = strstr(txt, " 1234:11e8");
	ASSERT_NE(NULL, id);
	memcpy(id, " 8086:10d3", 10);
	f = fopen(conf, "w");
	ASSERT_NE(NULL, f);
	fputs(txt, f);
	fclose(f);

	VG(&r, "restore");
	ASSERT_EQ(4, r.status) TH_LOG("%s%s", r.out, r.err);
	snprintf(s, sizeof(s), "skipping %s (group %d when recorded): %s changed: it is 1234:11e8 now, 8086:10d3 was recorded",
		 conf, self->lgrp, self->t.lone);
	ASSERT_HAS(r.err, s);
	ASSERT_DRIVER(self->t.lone, "");
}

TEST_HARNESS_MAIN
