// SPDX-License-Identifier: GPL-2.0
/*
 * Real, unmodified VFIO clients from Debian on the stack under test: QEMU
 * (qemu-system-x86_64 -device vfio-pci) and DPDK (dpdk-testpmd).  They run
 * from the "clients" guest image (build/vm/initramfs-clients.cpio), which
 * carries their binaries, libraries and data files at their host paths;
 * without them every test skips.
 *
 * QEMU assigns the lone edu to a nested q35 machine that never runs (-S:
 * nested TCG would be slow, and realizing the device is what exercises
 * VFIO): QMP must show the device realized with the edu's IDs, all of the
 * machine's RAM must have been mapped for DMA, and quitting must release
 * everything.  An unbind while QEMU holds the device must wait, and QEMU
 * must be told (REQ eventfd): on a bus that cannot hot-unplug, it says so
 * and keeps the device until it quits.
 *
 * testpmd drives the e1000e with DPDK's net_e1000_em PMD, transmits a burst
 * (the NIC reads descriptors and packets through the IOMMU) and quits.  In
 * a guest without an IOMMU (run-checks.sh's default:none), the QEMU tests
 * skip and testpmd runs in VFIO's no-IOMMU mode with --iova-mode=pa
 * instead, as DPDK does in most cloud VMs.
 *
 * On the "vga" topology, QEMU also assigns its standard VGA with x-vga=on,
 * which needs the VGA region (elsewhere that test skips).
 *
 * VFG_USE_KERNEL_VFIO=1 runs the same against the kernel's own vfio-pci.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

#define QEMU		"/usr/bin/qemu-system-x86_64"
#define TESTPMD		"/usr/bin/dpdk-testpmd"
#define QEMU_ERR	"/tmp/clients-qemu.err"
#define TESTPMD_OUT	"/tmp/clients-testpmd.out"
#define HOSTDEV		"hostdev0"
#define QMP_TIMEOUT_MS	120000
#define PARAM		"/sys/module/vfio/parameters/"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A whole (small) file into a malloc'ed string; "" when unreadable. */
static char *slurp(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* How many lines of @text contain @s. */
static int count_lines_with(const char *text, const char *s)
{
	const char *p = text, *nl;
	int n = 0;

	while (p && *p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (memmem(p, nl - p, s, strlen(s)))
			n++;
		p = *nl ? nl + 1 : nl;
	}
	return n;
}

/* Does @pid have @path open? */
static bool has_open(pid_t pid, const char *path)
{
	char dir[64], fd[PATH_MAX], target[PATH_MAX];
	bool found = false;
	struct dirent *de;
	ssize_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		snprintf(fd, sizeof(fd), "%s/%s", dir, de->d_name);
		n = readlink(fd, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, path);
	}
	closedir(d);
	return found;
}

/* ---- QEMU and its QMP monitor on stdio ------------------------------- */

struct qemu {
	pid_t pid;
	int in;			/* QMP requests */
	int out;		/* QMP replies and events */
	char buf[1 << 16];	/* unread output */
	size_t len;
	char events[1 << 14];	/* every event line seen, in order */
	size_t elen;
};

/*
 * Start QEMU with a paused q35 machine, QMP on stdin/stdout, its standard
 * error in QEMU_ERR, and @ndev -device arguments.  0 or -errno.
 */
static int qemu_start(struct qemu *q, const char *const *devs, int ndev)
{
	const char *argv[32] = {
		"qemu-system-x86_64", "-machine", "q35",
		/* 16 MiB of translation cache, not the default 1 GiB */
		"-accel", "tcg,tb-size=16", "-m", "64", "-nodefaults",
		"-no-user-config", "-display", "none", "-S", "-qmp", "stdio",
	};
	int in[2], out[2], argc = 14, i, fd;

	for (i = 0; i < ndev && argc < 30; i++) {
		argv[argc++] = "-device";
		argv[argc++] = devs[i];
	}
	argv[argc] = NULL;
	memset(q, 0, sizeof(*q));
	q->pid = -1;
	q->in = -1;
	q->out = -1;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	q->pid = vfg_fork();
	if (q->pid < 0)
		return q->pid;
	if (!q->pid) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		fd = open(QEMU_ERR, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(QEMU, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	q->in = in[1];
	q->out = out[0];
	return 0;
}

/* The next line from QEMU into @line (NUL-terminated); 0 or -errno. */
static int qemu_line(struct qemu *q, char *line, size_t size, int ms)
{
	long long end = now_ms() + ms;
	struct pollfd p = { .fd = q->out, .events = POLLIN };
	char *nl;
	ssize_t n;
	size_t l;

	for (;;) {
		nl = memchr(q->buf, '\n', q->len);
		if (nl) {
			l = nl - q->buf;
			if (l >= size)
				l = size - 1;
			memcpy(line, q->buf, l);
			line[l] = '\0';
			l = nl + 1 - q->buf;
			memmove(q->buf, nl + 1, q->len - l);
			q->len -= l;
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return -E2BIG;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(end - now_ms())) < 0 && errno != EINTR)
			return -errno;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(q->out, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (!n)
			return -EPIPE;
		if (n > 0)
			q->len += n;
	}
}

/* Remember an event line (they arrive between replies). */
static void qemu_event(struct qemu *q, const char *line)
{
	size_t l = strlen(line);

	if (q->elen + l + 2 < sizeof(q->events)) {
		memcpy(q->events + q->elen, line, l);
		q->events[q->elen + l] = '\n';
		q->elen += l + 1;
		q->events[q->elen] = '\0';
	}
}

/*
 * Send one QMP command line and wait for its reply, keeping the events
 * that come before it.  0 for {"return": ...}, -EIO for {"error": ...},
 * another -errno when QEMU does not answer; the reply is left in @reply.
 */
static int qmp(struct qemu *q, const char *cmd, char *reply, size_t size)
{
	size_t l = strlen(cmd);
	int ret;

	reply[0] = '\0';
	if (write(q->in, cmd, l) != (ssize_t)l || write(q->in, "\n", 1) != 1)
		return -errno;
	for (;;) {
		ret = qemu_line(q, reply, size, QMP_TIMEOUT_MS);
		if (ret)
			return ret;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8))
			return -EIO;
		if (!strncmp(reply, "{\"event\"", 8))
			qemu_event(q, reply);
	}
}

/* Greeting and capabilities negotiation; 0 or -errno. */
static int qmp_handshake(struct qemu *q)
{
	char line[4096];
	int ret = qemu_line(q, line, sizeof(line), QMP_TIMEOUT_MS);

	if (ret)
		return ret;
	if (!strstr(line, "\"QMP\""))
		return -EPROTO;
	return qmp(q, "{\"execute\": \"qmp_capabilities\"}", line,
		   sizeof(line));
}

/* Wait up to @ms for QEMU to exit; its status, or -1 (then it is killed). */
static int qemu_wait(struct qemu *q, int ms)
{
	int ret;

	if (q->pid <= 0)
		return -1;
	ret = vfg_reap(q->pid, ms);
	if (ret < 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
	}
	q->pid = -1;
	return ret;
}

static void qemu_close(struct qemu *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = -1;
	}
	if (q->in >= 0)
		close(q->in);
	if (q->out >= 0)
		close(q->out);
	q->in = -1;
	q->out = -1;
}

/* The value of the number after "@key": in [@p, @end), or -1. */
static long json_num(const char *p, const char *end, const char *key)
{
	char k[64];
	const char *s;

	snprintf(k, sizeof(k), "\"%s\":", key);
	s = memmem(p, end - p, k, strlen(k));
	if (!s)
		return -1;
	return strtol(s + strlen(k), NULL, 10);
}

/*
 * In a query-pci reply, find the device whose qdev_id is @id and read its
 * vendor and device IDs.  0, or -ENOENT.
 */
static int qmp_pci_ids(const char *reply, const char *id, long *vendor,
		       long *device)
{
	char key[64];
	const char *at, *start, *end, *ids;
	int depth = 0;

	snprintf(key, sizeof(key), "\"qdev_id\": \"%s\"", id);
	at = strstr(reply, key);
	if (!at)
		return -ENOENT;
	/* The device's own object: the brace that encloses the key. */
	for (start = at; start > reply; start--) {
		if (*start == '}')
			depth++;
		else if (*start == '{' && !depth--)
			break;
	}
	for (end = start + 1, depth = 0; *end; end++) {
		if (*end == '{')
			depth++;
		else if (*end == '}' && !depth--)
			break;
	}
	ids = memmem(start, end - start, "\"id\": {", 7);
	if (*start != '{' || !*end || !ids)
		return -ENOENT;
	*vendor = json_num(ids, end, "vendor");
	*device = json_num(ids, end, "device");
	return 0;
}

/* Log QEMU's standard error, one "# " line at a time. */
static void log_file(struct __test_metadata *_metadata, const char *path)
{
	char *text = slurp(path), *line, *save = NULL;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		TH_LOG("%s: %s", path, line);
	free(text);
}

/* ---- QEMU: the lone edu assigned to a paused nested machine ---------- */

/* Does the guest have an IOMMU (booted with one, --iommu intel or amd)? */
static bool have_iommu(void)
{
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/sys/class/iommu");

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = e->d_name[0] != '.';
	closedir(d);
	return found;
}

/* Why the QEMU tests cannot run here, or NULL. */
static const char *qemu_skip_why(void)
{
	if (access(QEMU, X_OK))
		return "no " QEMU ": boot the clients image";
	if (!have_iommu())
		return "no IOMMU: QEMU assigns devices only with one";
	return NULL;
}

FIXTURE(qemu) {
	struct vfg_topo t;
	int group_id;
	char group_dev[PATH_MAX];
	char devarg[128];
	long pins_before;
	struct qemu q;
	pid_t unbinder;
};

FIXTURE_SETUP(qemu)
{
	self->q.pid = -1;
	self->q.in = -1;
	self->q.out = -1;
	self->unbinder = -1;
	if (qemu_skip_why())
		return;		/* each test skips */
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	ASSERT_EQ(0, vfg_topo_restore(&self->t));
	ASSERT_EQ(0, vfg_vfio_load());
	ASSERT_EQ(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
	self->group_id = vfg_pci_group(self->t.lone);
	ASSERT_LE(0, self->group_id);
	vfg_group_dev_path(self->group_id, self->group_dev);
	ASSERT_TRUE(vfg_wait_path(self->group_dev, true, 5000));
	snprintf(self->devarg, sizeof(self->devarg), "vfio-pci,host=%s,id=%s",
		 self->t.lone, HOSTDEV);
}

FIXTURE_TEARDOWN(qemu)
{
	qemu_close(&self->q);
	if (self->unbinder > 0)
		EXPECT_LE(0, vfg_reap(self->unbinder, 30000));
	vfg_topo_restore(&self->t);
}

/* Start QEMU with the edu, finish QMP's handshake, check the device. */
static void qemu_up(struct __test_metadata *_metadata,
		    FIXTURE_DATA(qemu) *self)
{
	const char *devs[] = { self->devarg };
	char reply[1 << 15], holder[32];
	long vendor = -1, device = -1;
	long long t0 = now_ms();
	int ret;

	ASSERT_EQ(0, qemu_start(&self->q, devs, 1));
	ret = qmp_handshake(&self->q);
	if (ret)
		log_file(_metadata, QEMU_ERR);
	ASSERT_EQ(0, ret);
	TH_LOG("QEMU %d answers QMP after %lld ms", self->q.pid,
	       now_ms() - t0);

	/* Realized on the nested machine with the edu's IDs. */
	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"query-pci\"}", reply,
			 sizeof(reply)));
	ASSERT_EQ(0, qmp_pci_ids(reply, HOSTDEV, &vendor, &device))
		TH_LOG("no %s in query-pci: %s", HOSTDEV, reply);
	EXPECT_EQ(EDU_VENDOR, vendor);
	EXPECT_EQ(EDU_DEVICE, device);

	/* QEMU holds the group... */
	EXPECT_TRUE(has_open(self->q.pid, self->group_dev));
	EXPECT_TRUE(has_open(self->q.pid, "/dev/vfio/vfio"));
	if (vfg_ours()) {
		ASSERT_EQ(0, vfg_group_attr(self->group_id, "holder", holder,
					    sizeof(holder)));
		EXPECT_EQ(self->q.pid, atoi(holder));
	}
	/*
	 * ...and has the machine's RAM mapped for the device: all of its
	 * 64 MiB but the legacy VGA window and BIOS areas below 1 MiB.
	 */
	EXPECT_GE(vfg_pins_outstanding() - self->pins_before, 63L << 8);
}

/* Quit over QMP: exit status 0, everything released. */
static void qemu_quit(struct __test_metadata *_metadata,
		      FIXTURE_DATA(qemu) *self)
{
	char reply[4096], *err;

	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"quit\"}", reply,
			 sizeof(reply)));
	EXPECT_EQ(0, qemu_wait(&self->q, 60000));
	err = slurp(QEMU_ERR);
	ASSERT_NE(NULL, err);
	/* Every DMA mapping of the nested machine's memory worked. */
	EXPECT_EQ(0, count_lines_with(err, "vfio_dma_map"))
		log_file(_metadata, QEMU_ERR);
	EXPECT_EQ(0, count_lines_with(err, "error"))
		log_file(_metadata, QEMU_ERR);
	free(err);
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
}

TEST_F_TIMEOUT(qemu, realize_and_quit, 300)
{
	char holder[32], drv[64];
	long long t0;

	if (qemu_skip_why())
		SKIP(return, "%s", qemu_skip_why());
	qemu_up(_metadata, self);
	qemu_quit(_metadata, self);
	if (vfg_ours()) {
		ASSERT_EQ(0, vfg_group_attr(self->group_id, "holder", holder,
					    sizeof(holder)));
		EXPECT_STREQ("", holder);
	}
	/* Released: the unbind does not wait. */
	t0 = now_ms();
	ASSERT_EQ(0, vfg_pci_unbind(self->t.lone));
	EXPECT_LT(now_ms() - t0, 2000);
	ASSERT_EQ(0, vfg_pci_driver(self->t.lone, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
}

/*
 * Two assigned devices of two groups: QEMU puts both groups in one container
 * and maps the machine's memory once for both; both realize with their IDs.
 */
TEST_F_TIMEOUT(qemu, two_devices, 300)
{
	char reply[1 << 15], devarg2[128], group2_dev[PATH_MAX];
	const char *devs[] = { self->devarg, devarg2 };
	long vendor = -1, device = -1, pins;
	int group2, ret;

	if (qemu_skip_why())
		SKIP(return, "%s", qemu_skip_why());
	ASSERT_NE(0, self->t.pedu[0]);
	ASSERT_EQ(0, vfg_pci_bind(self->t.pedu, "vfio-pci"));
	group2 = vfg_pci_group(self->t.pedu);
	ASSERT_LE(0, group2);
	ASSERT_NE(self->group_id, group2);
	vfg_group_dev_path(group2, group2_dev);
	ASSERT_TRUE(vfg_wait_path(group2_dev, true, 5000));
	snprintf(devarg2, sizeof(devarg2), "vfio-pci,host=%s,id=%s2",
		 self->t.pedu, HOSTDEV);

	ASSERT_EQ(0, qemu_start(&self->q, devs, 2));
	ret = qmp_handshake(&self->q);
	if (ret)
		log_file(_metadata, QEMU_ERR);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"query-pci\"}", reply,
			 sizeof(reply)));
	ASSERT_EQ(0, qmp_pci_ids(reply, HOSTDEV, &vendor, &device));
	EXPECT_EQ(EDU_DEVICE, device);
	vendor = device = -1;
	ASSERT_EQ(0, qmp_pci_ids(reply, HOSTDEV "2", &vendor, &device));
	EXPECT_EQ(EDU_VENDOR, vendor);
	EXPECT_EQ(EDU_DEVICE, device);
	EXPECT_TRUE(has_open(self->q.pid, self->group_dev));
	EXPECT_TRUE(has_open(self->q.pid, group2_dev));
	/* One container: the 64 MiB machine is pinned once, not twice. */
	pins = vfg_pins_outstanding() - self->pins_before;
	EXPECT_GE(pins, 63L << 8);
	EXPECT_LT(pins, 96L << 8);
	qemu_quit(_metadata, self);
}

/*
 * Unbind while QEMU holds the device.  The removal waits and signals the
 * REQ eventfd; QEMU asks to unplug the device from its machine, which the
 * root bus of q35 refuses ("does not support hotplugging"), so QEMU keeps
 * it.  Quitting QEMU lets the unbind finish.
 */
TEST_F_TIMEOUT(qemu, unbind_while_held, 300)
{
	const char *refusal = "does not support hotplugging";
	long vendor = -1, device = -1;
	char reply[1 << 15], drv[64], *err = NULL;
	long long t0;
	int seen = 0;

	if (qemu_skip_why())
		SKIP(return, "%s", qemu_skip_why());
	if (vfg_ours())
		ASSERT_EQ(0, vfg_sysfs_write(PARAM "release_retry_ms", "200"));
	qemu_up(_metadata, self);

	self->unbinder = vfg_pci_unbind_async(self->t.lone);
	ASSERT_LT(0, self->unbinder);
	for (t0 = now_ms(); now_ms() - t0 < 30000 && !seen; usleep(50000)) {
		free(err);
		err = slurp(QEMU_ERR);
		ASSERT_NE(NULL, err);
		seen = count_lines_with(err, refusal);
	}
	free(err);
	EXPECT_LT(0, seen) {
		TH_LOG("QEMU never reported the release request");
		log_file(_metadata, QEMU_ERR);
	}
	TH_LOG("QEMU: \"%s\" %d time(s) after %lld ms", refusal, seen,
	       now_ms() - t0);
	/* The removal still waits, and QEMU still has the device. */
	EXPECT_EQ(-1, vfg_reap(self->unbinder, 500));
	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"query-pci\"}", reply,
			 sizeof(reply)));
	ASSERT_EQ(0, qmp_pci_ids(reply, HOSTDEV, &vendor, &device));
	EXPECT_EQ(EDU_VENDOR, vendor);
	EXPECT_EQ(-1, vfg_reap(self->unbinder, 0));

	qemu_quit(_metadata, self);
	t0 = now_ms();
	EXPECT_EQ(0, vfg_reap(self->unbinder, 10000));
	self->unbinder = -1;
	TH_LOG("unbind finished %lld ms after QEMU exited", now_ms() - t0);
	ASSERT_EQ(0, vfg_pci_driver(self->t.lone, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
}

/* ---- QEMU: a VGA device with x-vga=on ------------------------------- */

#define VGA_VENDOR	0x1234
#define VGA_DEVICE	0x1111
#define HOSTVGA		"hostvga0"
#define NESTED_SLOT	5	/* its address on the nested machine's bus 0 */
#define PCI_CMD		0x04

/* The VGA-class device of the "vga" topology; 0 or -ENODEV. */
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

/* An HMP command through QMP; its output (JSON-escaped) is left in @reply. */
static int hmp(struct qemu *q, const char *cmd, char *reply, size_t size)
{
	char line[256];

	snprintf(line, sizeof(line),
		 "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"%s\"}}",
		 cmd);
	return qmp(q, line, reply, size);
}

/* HMP "i /b PORT": the byte the nested machine reads there, or -1. */
static int port_in(struct qemu *q, unsigned int port)
{
	char cmd[32], reply[256], *eq;

	snprintf(cmd, sizeof(cmd), "i /b 0x%x", port);
	if (hmp(q, cmd, reply, sizeof(reply)))
		return -1;
	eq = strstr(reply, "] = 0x");
	return eq ? (int)strtol(eq + 6, NULL, 16) : -1;
}

/*
 * HMP "o /FMT PORT VAL": an I/O write by the nested machine, of a byte
 * (b), 16 bits (h) or 32 bits (w); 0 or -errno.
 */
static int port_out(struct qemu *q, char fmt, unsigned int port,
		    unsigned int val)
{
	char cmd[64], reply[256];
	int ret;

	snprintf(cmd, sizeof(cmd), "o /%c 0x%x 0x%x", fmt, port, val);
	ret = hmp(q, cmd, reply, sizeof(reply));
	/* A bad command is a "return" too, with HMP's complaint in it. */
	return ret ? ret : strstr(reply, "help") ? -EINVAL : 0;
}

FIXTURE(qemu_vga) {
	char bdf[13];
	const char *skip;	/* why the test skips, or NULL */
	struct qemu q;
};

FIXTURE_SETUP(qemu_vga)
{
	self->q.pid = -1;
	self->q.in = -1;
	self->q.out = -1;
	self->skip = qemu_skip_why();
	if (!self->skip && find_vga(self->bdf))
		self->skip = "no VGA-class device: run under the vga topology";
	if (self->skip)
		return;
	vfg_pci_release(self->bdf);
	ASSERT_EQ(0, vfg_vfio_load());
	if (!vfg_ours() &&
	    access("/sys/module/vfio_pci/parameters/disable_vga", F_OK)) {
		self->skip = "the kernel's vfio-pci is built without CONFIG_VFIO_PCI_VGA";
		return;
	}
	ASSERT_EQ(0, vfg_pci_bind(self->bdf, "vfio-pci"));
}

FIXTURE_TEARDOWN(qemu_vga)
{
	qemu_close(&self->q);
	if (!self->skip)
		vfg_pci_release(self->bdf);
}

/*
 * QEMU's x-vga=on: the VGA region must be there, read/write and at least
 * 0xc0000 bytes ("unexpected VGA info" otherwise, and the device does not
 * realize).  QEMU then routes the nested machine's legacy VGA memory and
 * ports to it: the device realizes as a VGA controller with the host
 * device's IDs, and QEMU reports no error.
 *
 * Then the nested machine's own view, through the monitor's port commands
 * (the machine stays paused): a config write through 0xcf8/0xcfc turns on
 * the device's I/O and memory decoding, and the sequencer's index and map
 * mask (0x3c4, 0x3c5), written and read by the nested machine, reach the
 * real device through QEMU's VGA handlers and the VGA region.
 */
TEST_F_TIMEOUT(qemu_vga, x_vga_realizes, 300)
{
	char devarg[128], reply[1 << 15], *err;
	const char *devs[] = { devarg };
	long vendor = -1, device = -1;
	int ret, mask;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	snprintf(devarg, sizeof(devarg),
		 "vfio-pci,host=%s,id=%s,x-vga=on,addr=0x%x", self->bdf,
		 HOSTVGA, NESTED_SLOT);
	ASSERT_EQ(0, qemu_start(&self->q, devs, 1));
	ret = qmp_handshake(&self->q);
	if (ret)
		log_file(_metadata, QEMU_ERR);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"query-pci\"}", reply,
			 sizeof(reply)));
	ASSERT_EQ(0, qmp_pci_ids(reply, HOSTVGA, &vendor, &device))
		TH_LOG("no %s in query-pci: %s", HOSTVGA, reply);
	EXPECT_EQ(VGA_VENDOR, vendor);
	EXPECT_EQ(VGA_DEVICE, device);
	EXPECT_NE(NULL, strstr(reply, "\"desc\": \"VGA controller\""));

	/* Command register of 00:NESTED_SLOT.0: I/O and memory on. */
	ASSERT_EQ(0, port_out(&self->q, 'w', 0xcf8,
			      0x80000000u | NESTED_SLOT << 11 | PCI_CMD));
	ASSERT_EQ(0, port_out(&self->q, 'h', 0xcfc, 0x3));
	ASSERT_EQ(0, port_out(&self->q, 'b', 0x3c4, 0x2));
	EXPECT_EQ(0x2, port_in(&self->q, 0x3c4));
	mask = port_in(&self->q, 0x3c5);
	ASSERT_LE(0, mask);
	ASSERT_EQ(0, port_out(&self->q, 'b', 0x3c5, 0x5));
	EXPECT_EQ(0x5, port_in(&self->q, 0x3c5));
	ASSERT_EQ(0, port_out(&self->q, 'b', 0x3c5, 0xa));
	EXPECT_EQ(0xa, port_in(&self->q, 0x3c5));
	EXPECT_EQ(0, port_out(&self->q, 'b', 0x3c5, mask));

	ASSERT_EQ(0, qmp(&self->q, "{\"execute\": \"quit\"}", reply,
			 sizeof(reply)));
	EXPECT_EQ(0, qemu_wait(&self->q, 60000));
	err = slurp(QEMU_ERR);
	ASSERT_NE(NULL, err);
	EXPECT_EQ(0, count_lines_with(err, "VGA"))
		log_file(_metadata, QEMU_ERR);
	EXPECT_EQ(0, count_lines_with(err, "error"))
		log_file(_metadata, QEMU_ERR);
	free(err);
}

/* ---- DPDK: testpmd on the e1000e ------------------------------------- */

#define HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define NOIOMMU_PARAM	"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"

/*
 * Without an IOMMU (a guest booted with --iommu none, as most cloud VMs
 * are) DPDK uses VFIO's no-IOMMU mode with physical addresses: the e1000e
 * gets a no-IOMMU group, which the kernel's VFIO in Debian cannot give.
 */
FIXTURE(dpdk) {
	struct vfg_topo t;
	long pins_before;
	char hugepages[32];
	bool noiommu;		/* no IOMMU: the test in no-IOMMU mode */
	const char *skip;	/* why the test skips, or NULL */
};

FIXTURE_SETUP(dpdk)
{
	char buf[32];

	if (access(TESTPMD, X_OK)) {
		self->skip = "no " TESTPMD ": boot the clients image";
		return;
	}
	self->noiommu = !have_iommu();
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	ASSERT_NE(0, self->t.nic[0]);
	ASSERT_EQ(0, vfg_topo_restore(&self->t));
	ASSERT_EQ(0, vfg_vfio_load());
	if (self->noiommu) {
		if (vfg_ours())
			ASSERT_EQ(0, access(NOIOMMU_PARAM, F_OK));
		if (access(NOIOMMU_PARAM, F_OK)) {
			self->skip = "no IOMMU, and the kernel's VFIO lacks CONFIG_VFIO_NOIOMMU";
			return;
		}
		ASSERT_EQ(0, vfg_sysfs_write(NOIOMMU_PARAM, "1"));
	}
	ASSERT_EQ(0, vfg_pci_bind(self->t.nic, "vfio-pci"));
	/* 128 MiB of 2 MiB pages; DPDK's runtime directory. */
	ASSERT_EQ(0, vfg_sysfs_read(HUGEPAGES, self->hugepages,
				    sizeof(self->hugepages)));
	ASSERT_EQ(0, vfg_sysfs_write(HUGEPAGES, "64"));
	ASSERT_EQ(0, vfg_sysfs_read(HUGEPAGES, buf, sizeof(buf)));
	ASSERT_EQ(64, atoi(buf));
	if (mkdir("/var", 0755))
		ASSERT_EQ(EEXIST, errno);
	if (mkdir("/var/run", 0755))
		ASSERT_EQ(EEXIST, errno);
}

FIXTURE_TEARDOWN(dpdk)
{
	vfg_topo_restore(&self->t);
	if (self->noiommu && !access(NOIOMMU_PARAM, F_OK))
		vfg_sysfs_write(NOIOMMU_PARAM, "0");
	if (self->hugepages[0])
		vfg_sysfs_write(HUGEPAGES, self->hugepages);
}

/*
 * testpmd, interactive, its commands on standard input: the port's details,
 * one burst of 32 packets sent by the NIC, its counters, quit.  Its output
 * goes to TESTPMD_OUT; returns its exit status.
 */
static int run_testpmd(const char *bdf, bool noiommu)
{
	const char *argv[16];
	int argc = 0;
	static const char cmds[] = "show port info 0\nstart tx_first\n"
				   "show port stats 0\nstop\nquit\n";
	int in[2], fd, ret;
	ssize_t n;
	pid_t pid;

	if (pipe(in))
		return -errno;
	pid = vfg_fork();
	if (pid < 0)
		return pid;
	if (!pid) {
		dup2(in[0], STDIN_FILENO);
		close(in[0]);
		close(in[1]);
		fd = open(TESTPMD_OUT, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* Two lcores: the main one and one to forward. */
		argv[argc++] = "dpdk-testpmd";
		argv[argc++] = "-l";
		argv[argc++] = "0-1";
		argv[argc++] = "-n";
		argv[argc++] = "1";
		argv[argc++] = "-a";
		argv[argc++] = bdf;
		/* No IOMMU: physical addresses, as DPDK's guide says. */
		if (noiommu)
			argv[argc++] = "--iova-mode=pa";
		argv[argc++] = "--";
		argv[argc++] = "-i";
		argv[argc++] = "--total-num-mbufs=2048";
		argv[argc] = NULL;
		execv(TESTPMD, (char **)argv);
		_exit(127);
	}
	close(in[0]);
	n = write(in[1], cmds, sizeof(cmds) - 1);
	close(in[1]);
	if (n != sizeof(cmds) - 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -EPIPE;
	}
	ret = vfg_reap(pid, 120000);
	if (ret < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ret;
}

/* Run testpmd on the e1000e and check what it did and left behind. */
static void check_testpmd(struct __test_metadata *_metadata,
			  FIXTURE_DATA(dpdk) *self)
{
	char probe[128], holder[32], drv[64], path[PATH_MAX], *out;
	int status, gid;
	long long t0;

	/*
	 * DPDK uses a device bound to vfio-pci only if
	 * rte_vfio_is_enabled("vfio_pci") finds /sys/module/vfio_pci.
	 */
	EXPECT_EQ(0, access("/sys/module/vfio_pci", F_OK))
		TH_LOG("no /sys/module/vfio_pci: DPDK will not use %s",
		       self->t.nic);

	t0 = now_ms();
	status = run_testpmd(self->t.nic, self->noiommu);
	TH_LOG("testpmd exited %d after %lld ms", status, now_ms() - t0);
	out = slurp(TESTPMD_OUT);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, status)
		log_file(_metadata, TESTPMD_OUT);

	EXPECT_NE(NULL, strstr(out, "EAL: VFIO support initialized"));
	EXPECT_NE(NULL, strstr(out, self->noiommu ?
			       "EAL: Using IOMMU type 8 (No-IOMMU)" :
			       "EAL: Using IOMMU type 1 (Type 1)"));
	snprintf(probe, sizeof(probe),
		 "EAL: Probe PCI driver: net_e1000_em (8086:10d3) device: %s",
		 self->t.nic);
	EXPECT_NE(NULL, strstr(out, probe)) TH_LOG("no \"%s\"", probe);
	EXPECT_NE(NULL, strstr(out, "Port 0: 52:54:00:12:34:56"));
	EXPECT_NE(NULL, strstr(out, "Driver name: net_e1000_em"));
	/* The NIC fetched the burst from DMA memory and sent it. */
	EXPECT_LE(2, count_lines_with(out, "TX-packets: 32 "));
	EXPECT_NE(NULL, strstr(out, "Bye..."));
	free(out);

	/* Everything released: no pins, no holder, an unbind that returns. */
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	gid = vfg_pci_group(self->t.nic);
	ASSERT_LE(0, gid);
	if (vfg_ours()) {
		snprintf(path, sizeof(path), "/sys/class/vfio/%s%d/holder",
			 self->noiommu ? "noiommu-" : "", gid);
		ASSERT_EQ(0, vfg_sysfs_read(path, holder, sizeof(holder)));
		EXPECT_STREQ("", holder);
	}
	t0 = now_ms();
	ASSERT_EQ(0, vfg_pci_unbind(self->t.nic));
	EXPECT_LT(now_ms() - t0, 2000);
	ASSERT_EQ(0, vfg_pci_driver(self->t.nic, drv, sizeof(drv)));
	EXPECT_STREQ("", drv);
	/* A no-IOMMU group goes with the unbind. */
	if (self->noiommu)
		EXPECT_GT(0, vfg_pci_group(self->t.nic));
}

TEST_F_TIMEOUT(dpdk, testpmd, 300)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	if (self->noiommu)
		SKIP(return, "no IOMMU: testpmd_noiommu runs instead");
	check_testpmd(_metadata, self);
}

/* In a VM without an IOMMU, with --iova-mode=pa, unmodified. */
TEST_F_TIMEOUT(dpdk, testpmd_noiommu, 300)
{
	char taint[32];

	if (self->skip)
		SKIP(return, "%s", self->skip);
	if (!self->noiommu)
		SKIP(return, "the guest has an IOMMU: testpmd runs instead");
	check_testpmd(_metadata, self);
	ASSERT_EQ(0, vfg_sysfs_read("/proc/sys/kernel/tainted", taint,
				    sizeof(taint)));
	EXPECT_TRUE(atol(taint) & (1L << 6)) TH_LOG("no taint U: %s", taint);
}

TEST_HARNESS_MAIN
