// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "vfio_test_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

const char *vfg_module_path(void)
{
	const char *p = getenv("VFG_MODULE");

	return p && *p ? p : "/opt/vfg/vfio.ko";
}

/* Our modules, in load order, and the parameters each one takes. */
static const struct {
	const char *file;	/* beside vfg_module_path() */
	const char *name;	/* in /sys/module */
	const char *const params[12];
} vfg_modules[] = {
	{ "vfio.ko", "vfio", { NULL } },
	{ "vfio_iommu_type1.ko", "vfio_iommu_type1",
	  { "allow_unsafe_interrupts", "dma_entry_limit", "disable_hugepages",
	    NULL } },
	{ "vfio-pci.ko", "vfio_pci",
	  { "driver_name", "ids", "nointxmask", "disable_vga", "disable_idle_d3",
	    "disable_denylist", "enable_sriov", NULL } },
};

/* Which of vfg_modules takes parameter @p ("name=value"); vfio by default. */
static unsigned int vfg_param_module(const char *p)
{
	size_t len = strcspn(p, "=");
	unsigned int i, j;

	for (i = 1; i < ARRAY_SIZE(vfg_modules); i++)
		for (j = 0; vfg_modules[i].params[j]; j++)
			if (strlen(vfg_modules[i].params[j]) == len &&
			    !strncmp(vfg_modules[i].params[j], p, len))
				return i;
	return 0;
}

static int load_ko(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int vfg_module_insert(unsigned int i, const char *params)
{
	char path[PATH_MAX], *dir = strdup(vfg_module_path());

	if (!dir)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dirname(dir),
		 vfg_modules[i].file);
	free(dir);
	return load_ko(path, params);
}

/*
 * Load vfio.ko, vfio_iommu_type1.ko and vfio-pci.ko, handing each the
 * parameters of @params that are its own.  On failure, whatever was loaded
 * here is unloaded again.
 */
int vfg_module_load(const char *params)
{
	char per[ARRAY_SIZE(vfg_modules)][512] = { { 0 } };
	char *copy = strdup(params ? params : ""), *save = NULL, *tok;
	unsigned int i, m;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		m = vfg_param_module(tok);
		snprintf(per[m] + strlen(per[m]), sizeof(per[m]) - strlen(per[m]),
			 "%s%s", per[m][0] ? " " : "", tok);
	}
	free(copy);
	for (i = 0; i < ARRAY_SIZE(vfg_modules); i++) {
		ret = vfg_module_insert(i, per[i]);
		if (ret)
			break;
	}
	while (ret && i--)
		syscall(SYS_delete_module, vfg_modules[i].name, O_NONBLOCK);
	return ret;
}

/* Unload the three, vfio-pci first; the first error stops it. */
int vfg_module_unload(void)
{
	char path[PATH_MAX];
	unsigned int i;

	for (i = ARRAY_SIZE(vfg_modules); i--;) {
		snprintf(path, sizeof(path), "/sys/module/%s",
			 vfg_modules[i].name);
		if (i && access(path, F_OK))
			continue;
		if (syscall(SYS_delete_module, vfg_modules[i].name,
			    O_NONBLOCK))
			return -errno;
	}
	return 0;
}

bool vfg_module_loaded(void)
{
	return access("/sys/module/vfio/initstate", F_OK) == 0;
}

int vfg_module_ensure(void)
{
	int ret;

	if (vfg_module_loaded())
		return 0;
	ret = vfg_module_load(NULL);
	return ret == -EEXIST ? 0 : ret;
}

int vfg_test_module_load(const char *name, const char *params)
{
	const char *dir = getenv("VFG_TEST_MODULES");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.ko",
		 dir && *dir ? dir : "/opt/vfg/test-modules", name);
	return load_ko(path, params);
}

int vfg_test_module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

int vfg_sysfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

int vfg_sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	if (n < 0)
		return -errno;
	return 0;
}

int vfg_sysfs_read_hex(const char *path, unsigned long *val)
{
	char buf[64];
	int ret = vfg_sysfs_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	*val = strtoul(buf, NULL, 16);
	return 0;
}

static int cmp_bdf(const void *a, const void *b)
{
	return strcmp(a, b);
}

int vfg_find_pci(unsigned int vendor, unsigned int device,
		 char bdfs[][13], int max)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	char path[PATH_MAX];
	unsigned long v, dv;
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 12)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		if (vfg_sysfs_read_hex(path, &v) || v != vendor)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		if (vfg_sysfs_read_hex(path, &dv) || dv != device)
			continue;
		if (n < max)
			memcpy(bdfs[n], de->d_name, 13);
		n++;
	}
	closedir(d);
	qsort(bdfs, n < max ? n : max, 13, cmp_bdf);
	return n;
}

int vfg_pci_parent(const char *bdf, char parent[13])
{
	char path[PATH_MAX], real[PATH_MAX], *slash, *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	/* A root bus directory is "pci0000:00"; a bridge is a PCI address. */
	if (!strncmp(base, "pci", 3))
		parent[0] = '\0';
	else
		snprintf(parent, 13, "%.12s", base);
	return 0;
}

bool vfg_kmod_loaded(const char *name)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	for (p = path + strlen("/sys/module/"); *p; p++)
		if (*p == '-')
			*p = '_';
	return access(path, F_OK) == 0;
}

pid_t vfg_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	return pid < 0 ? -errno : pid;
}

static int run_modprobe(const char *opt, const char *name)
{
	int status, fd;
	pid_t pid;

	pid = vfg_fork();
	if (pid < 0)
		return pid;
	if (!pid) {
		/* Keep modprobe's complaints off the TAP channel. */
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (opt)
			execlp("modprobe", "modprobe", opt, name, (char *)NULL);
		else
			execlp("modprobe", "modprobe", name, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -EINTR;
	return WEXITSTATUS(status);
}

int vfg_modprobe(const char *name)
{
	return run_modprobe(NULL, name);
}

int vfg_modprobe_remove(const char *name)
{
	return run_modprobe("-r", name);
}

int vfg_vfio_unload_all(void)
{
	static const char * const users[] = {
		"vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio_virqfd",
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(users); i++)
		if (vfg_kmod_loaded(users[i]))
			vfg_modprobe_remove(users[i]);
	if (!vfg_module_loaded())
		return 0;
	/* delete_module("vfio") unloads either the kernel's or ours. */
	ret = vfg_module_unload();
	if (ret)
		return ret;
	return vfg_module_loaded() ? -EBUSY : 0;
}

static void pci_path(char *buf, const char *bdf, const char *attr)
{
	snprintf(buf, PATH_MAX, "/sys/bus/pci/devices/%s%s%s", bdf,
		 attr ? "/" : "", attr ? attr : "");
}

bool vfg_pci_exists(const char *bdf)
{
	char path[PATH_MAX];

	pci_path(path, bdf, NULL);
	return access(path, F_OK) == 0;
}

int vfg_pci_driver(const char *bdf, char *drv, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	pci_path(path, bdf, "driver");
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		if (!vfg_pci_exists(bdf))
			return -ENODEV;
		drv[0] = '\0';
		return 0;
	}
	link[n] = '\0';
	base = strrchr(link, '/');
	snprintf(drv, len, "%s", base ? base + 1 : link);
	return 0;
}

int vfg_pci_set_override(const char *bdf, const char *drv)
{
	char path[PATH_MAX];

	pci_path(path, bdf, "driver_override");
	return vfg_sysfs_write(path, drv && *drv ? drv : "\n");
}

int vfg_pci_bind(const char *bdf, const char *drv)
{
	char path[PATH_MAX];
	int ret = vfg_pci_set_override(bdf, drv);

	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", drv);
	return vfg_sysfs_write(path, bdf);
}

int vfg_pci_probe(const char *bdf, const char *drv)
{
	int ret = vfg_pci_set_override(bdf, drv);

	if (ret)
		return ret;
	return vfg_sysfs_write("/sys/bus/pci/drivers_probe", bdf);
}

int vfg_pci_unbind(const char *bdf)
{
	char path[PATH_MAX];
	int ret;

	pci_path(path, bdf, "driver/unbind");
	ret = vfg_sysfs_write(path, bdf);
	if (ret == -ENOENT && vfg_pci_exists(bdf))
		return 0;
	return ret;
}

int vfg_pci_remove(const char *bdf)
{
	char path[PATH_MAX];

	pci_path(path, bdf, "remove");
	return vfg_sysfs_write(path, "1");
}

int vfg_pci_rescan(void)
{
	return vfg_sysfs_write("/sys/bus/pci/rescan", "1");
}

void vfg_group_dev_path(int id, char *buf)
{
	snprintf(buf, PATH_MAX, "/dev/vfio/%d", id);
}

void vfg_group_sysfs_path(int id, const char *attr, char *buf)
{
	snprintf(buf, PATH_MAX, "/sys/class/vfio/%d%s%s", id,
		 attr ? "/" : "", attr ? attr : "");
}

int vfg_group_open(int id)
{
	char path[PATH_MAX];

	vfg_group_dev_path(id, path);
	return open(path, O_RDWR | O_CLOEXEC);
}

int vfg_group_attr(int id, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	vfg_group_sysfs_path(id, attr, path);
	return vfg_sysfs_read(path, buf, len);
}

const char *vfg_find_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, prefix, n))
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

int vfg_count_lines(const char *text)
{
	int n = 0;

	if (!*text)
		return 0;
	for (; *text; text++)
		if (*text == '\n')
			n++;
	/* The last line may lack its newline. */
	return text[-1] == '\n' ? n : n + 1;
}

bool vfg_wait_path(const char *path, bool present, int ms)
{
	int waited;

	for (waited = 0;; waited += 10) {
		if ((access(path, F_OK) == 0) == present)
			return true;
		if (waited >= ms)
			return false;
		usleep(10000);
	}
}

int vfg_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool vfg_kmsg_find(int fd, const char *s1, const char *s2)
{
	char rec[8192], *msg, *nl;
	bool found = false;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			/* EPIPE: records were overwritten; keep reading. */
			if (errno == EPIPE || errno == EINTR)
				continue;
			break;
		}
		if (!n)
			break;
		rec[n] = '\0';
		/* "prio,seq,ts,flags;message\n" then " KEY=value" lines. */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (strstr(msg, s1) && (!s2 || strstr(msg, s2)))
			found = true;
	}
	return found;
}

bool vfg_pci_is_pcie(const char *bdf)
{
	unsigned char cfg[256];
	char path[PATH_MAX];
	int fd, guard = 48;
	unsigned int pos;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n < 64 || !(cfg[6] & 0x10))		/* no capability list */
		return false;
	for (pos = cfg[0x34] & ~3u; pos >= 0x40 && pos < (unsigned int)n &&
	     guard--; pos = cfg[pos + 1] & ~3u)
		if (cfg[pos] == 0x10)		/* PCI_CAP_ID_EXP */
			return true;
	return false;
}

int vfg_topo_find(struct vfg_topo *t)
{
	char edus[8][13], parents[8][13], nic[1][13];
	int i, j, n, nb = 0, siblings;

	memset(t, 0, sizeof(*t));
	n = vfg_find_pci(EDU_VENDOR, EDU_DEVICE, edus, 8);
	if (n > 8)
		return -ENODEV;
	for (i = 0; i < n; i++)
		if (vfg_pci_parent(edus[i], parents[i]))
			return -ENODEV;
	for (i = 0; i < n; i++) {
		siblings = 0;
		for (j = 0; j < n; j++)
			siblings += !strcmp(parents[i], parents[j]);
		if (!parents[i][0]) {
			memcpy(t->lone, edus[i], 13);
		} else if (vfg_pci_is_pcie(parents[i]) && siblings == 1) {
			memcpy(t->port, parents[i], 13);
			memcpy(t->pedu, edus[i], 13);
		} else if (vfg_pci_is_pcie(parents[i])) {
			/* Several edus behind one PCIe port: a switch's bus. */
			if (t->nr_sedu == 3)
				return -ENODEV;
			memcpy(t->sw, parents[i], 13);
			memcpy(t->sedu[t->nr_sedu++], edus[i], 13);
		} else if (nb < 2) {
			memcpy(t->bridge, parents[i], 13);
			memcpy(t->bedu[nb++], edus[i], 13);
		} else {
			return -ENODEV;
		}
	}
	if (vfg_find_pci(E1000E_VENDOR, E1000E_DEVICE, nic, 1) == 1)
		memcpy(t->nic, nic[0], 13);
	return t->lone[0] && nb == 2 ? 0 : -ENODEV;
}

/* ---- device fds --------------------------------------------------------- */

#define TYPE1_PARAMS "/sys/module/vfio_iommu_type1/parameters/"

bool vfg_kernel_vfio(void)
{
	const char *v = getenv("VFG_USE_KERNEL_VFIO");

	return v && *v && strcmp(v, "0");
}

bool vfg_irq_remapping(void)
{
	return vfg_irq_lines("IR-") > 0;
}

int vfg_vfio_load(void)
{
	int ret = vfg_vfio_unload_all();

	if (ret)
		return ret;
	if (!vfg_kernel_vfio())
		return vfg_module_load(vfg_irq_remapping() ? NULL :
				       "allow_unsafe_interrupts=1");
	ret = vfg_modprobe("vfio_iommu_type1");
	if (ret)
		return ret < 0 ? ret : -ENOENT;
	if (!vfg_irq_remapping()) {
		ret = vfg_sysfs_write(TYPE1_PARAMS "allow_unsafe_interrupts",
				      "1");
		if (ret)
			return ret;
	}
	ret = vfg_modprobe("vfio-pci");
	if (ret)
		return ret < 0 ? ret : -ENOENT;
	return vfg_kmod_loaded("vfio_pci") ? 0 : -ENOENT;
}

int vfg_pci_group(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	pci_path(path, bdf, "iommu_group");
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

static int pci_cfg_rw(const char *bdf, unsigned int off, void *buf,
		      size_t len, bool write)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	pci_path(path, bdf, "config");
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int vfg_pci_cfg_read(const char *bdf, unsigned int off, void *buf, size_t len)
{
	return pci_cfg_rw(bdf, off, buf, len, false);
}

int vfg_pci_cfg_write(const char *bdf, unsigned int off, const void *buf,
		      size_t len)
{
	return pci_cfg_rw(bdf, off, (void *)buf, len, true);
}

unsigned int vfg_pci_find_cap(const uint8_t *cfg, unsigned int id)
{
	unsigned int pos, guard = 48;

	if (!(cfg[6] & 0x10))			/* PCI_STATUS_CAP_LIST */
		return 0;
	for (pos = cfg[0x34] & ~3u; pos >= 0x40 && pos < 0x100 && guard--;
	     pos = cfg[pos + 1] & ~3u)
		if (cfg[pos] == id)
			return pos;
	return 0;
}

int vfg_irq_lines(const char *s)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[1024];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

int vfg_bridge_restore(const char *bridge)
{
	char drv[64];
	int bad = 0;

	if (vfg_pci_driver(bridge, drv, sizeof(drv)))
		return 1;
	if (strcmp(drv, "shpchp")) {
		if (drv[0] && vfg_pci_unbind(bridge))
			bad++;
		/* An override naming another driver would stop it. */
		if (vfg_pci_set_override(bridge, NULL))
			bad++;
		if (vfg_sysfs_write("/sys/bus/pci/drivers/shpchp/bind", bridge))
			bad++;
	}
	return bad + !!vfg_pci_set_override(bridge, NULL);
}

int vfg_topo_restore(const struct vfg_topo *t)
{
	const char *devs[] = { t->lone, t->bedu[0], t->bedu[1], t->pedu,
			       t->nic, t->sedu[0], t->sedu[1], t->sedu[2] };
	unsigned int i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(devs); i++)
		if (devs[i][0] && vfg_pci_exists(devs[i]))
			bad += vfg_pci_release(devs[i]);
	if (t->bridge[0])
		bad += vfg_bridge_restore(t->bridge);
	if (vfg_vfio_unload_all())
		bad++;
	return bad;
}

int vfg_dev_env_setup(struct vfg_topo *t)
{
	const char *devs[3];
	unsigned int i;
	int ret;

	if (vfg_topo_find(t))
		vfg_pci_rescan();
	ret = vfg_topo_find(t);
	if (ret)
		return ret;
	if (!t->pedu[0] || !t->nic[0])
		return -ENODEV;
	if (vfg_topo_restore(t))
		return -EIO;
	ret = vfg_vfio_load();
	if (ret)
		return ret;
	devs[0] = t->lone;
	devs[1] = t->pedu;
	devs[2] = t->nic;
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		ret = vfg_pci_bind(devs[i], "vfio-pci");
		if (ret)
			return ret;
	}
	return 0;
}

int vfg_dev_irq_lines(const struct vfg_topo *t)
{
	const char *devs[] = { t->lone, t->bedu[0], t->bedu[1], t->pedu,
			       t->nic, t->sedu[0], t->sedu[1], t->sedu[2] };
	unsigned int i;
	int n = vfg_irq_lines("vfio");

	for (i = 0; i < ARRAY_SIZE(devs); i++)
		if (devs[i][0])
			n += vfg_irq_lines(devs[i]);
	return n;
}

static unsigned long vmstat(const char *key)
{
	size_t n = strlen(key);
	unsigned long v = 0;
	char line[128];
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ')
			v = strtoul(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

long vfg_pins_outstanding(void)
{
	vfg_sysfs_write("/proc/sys/vm/stat_refresh", "1");
	return (long)(vmstat("nr_foll_pin_acquired") -
		      vmstat("nr_foll_pin_released"));
}

long vfg_vmlck_kb(pid_t pid)
{
	char path[64], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmLck:", 6))
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

void vfg_dev_init(struct vfg_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->group_id = -1;
	d->group = d->container = d->fd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vfg_dev_close(struct vfg_dev *d)
{
	close_fd(&d->fd);
	close_fd(&d->group);
	close_fd(&d->container);
}

int vfg_dev_attach(struct vfg_dev *d, const char *bdf)
{
	return vfg_dev_attach_type(d, bdf, VFIO_TYPE1v2_IOMMU);
}

int vfg_dev_attach_type(struct vfg_dev *d, const char *bdf, int iommu_type)
{
	int ret;

	vfg_dev_init(d);
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->group_id = vfg_pci_group(bdf);
	if (d->group_id < 0)
		return d->group_id;
	d->group = vfg_group_open(d->group_id);
	if (d->group < 0)
		goto err;
	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0)
		goto err;
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container))
		goto err;
	if (ioctl(d->container, VFIO_SET_IOMMU, iommu_type))
		goto err;
	return 0;
err:
	ret = -errno;
	vfg_dev_close(d);
	return ret;
}

int vfg_dev_open(struct vfg_dev *d, const char *bdf)
{
	int ret = vfg_dev_attach(d, bdf);

	if (ret)
		return ret;
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->fd < 0) {
		ret = -errno;
		vfg_dev_close(d);
		return ret;
	}
	return 0;
}

int vfg_region_info(int fd, uint32_t index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

int vfg_irq_info(int fd, uint32_t index, struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, info);
}

ssize_t vfg_region_read(int fd, uint32_t index, uint64_t off, void *buf,
			size_t len)
{
	return pread(fd, buf, len, VFG_REGION_OFFSET(index) + off);
}

ssize_t vfg_region_write(int fd, uint32_t index, uint64_t off,
			 const void *buf, size_t len)
{
	return pwrite(fd, buf, len, VFG_REGION_OFFSET(index) + off);
}

uint32_t vfg_cfg_read32(int fd, unsigned int off)
{
	uint32_t v;

	if (vfg_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 4) != 4)
		return UINT32_MAX;
	return v;
}

uint16_t vfg_cfg_read16(int fd, unsigned int off)
{
	uint16_t v;

	if (vfg_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, off, &v, 2) != 2)
		return UINT16_MAX;
	return v;
}

int vfg_cfg_write32(int fd, unsigned int off, uint32_t val)
{
	return vfg_region_write(fd, VFIO_PCI_CONFIG_REGION_INDEX, off, &val,
				4) == 4 ? 0 : -1;
}

int vfg_cfg_write16(int fd, unsigned int off, uint16_t val)
{
	return vfg_region_write(fd, VFIO_PCI_CONFIG_REGION_INDEX, off, &val,
				2) == 2 ? 0 : -1;
}

void *vfg_region_mmap(int fd, uint32_t index, uint64_t off, size_t len,
		      int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd,
		       VFG_REGION_OFFSET(index) + off);

	return p == MAP_FAILED ? NULL : p;
}

int vfg_set_irqs(int fd, uint32_t flags, uint32_t index, uint32_t start,
		 uint32_t count, const void *data, size_t size)
{
	struct vfio_irq_set *set;
	int ret, err;

	set = calloc(1, sizeof(*set) + size);
	if (!set)
		return -1;
	set->argsz = sizeof(*set) + size;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (size)
		memcpy(set->data, data, size);
	ret = ioctl(fd, VFIO_DEVICE_SET_IRQS, set);
	err = errno;
	free(set);
	errno = err;
	return ret;
}

int vfg_irq_set_eventfds(int fd, uint32_t index, uint32_t start,
			 uint32_t count, const int *efds)
{
	int32_t fds[64];
	uint32_t i;

	if (count > ARRAY_SIZE(fds)) {
		errno = E2BIG;
		return -1;
	}
	for (i = 0; i < count; i++)
		fds[i] = efds[i];
	return vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD |
			    VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count,
			    fds, count * sizeof(int32_t));
}

int vfg_irq_disable(int fd, uint32_t index)
{
	return vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_NONE |
			    VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0, NULL, 0);
}

uint64_t vfg_eventfd_wait(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) != 1 || !(p.revents & POLLIN))
		return 0;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

pid_t vfg_pci_unbind_async(const char *bdf)
{
	char path[PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 bdf);
	fflush(stdout);
	pid = fork();
	if (!pid) {
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/bin/sh", "sh", "-c", "echo \"$1\" >\"$2\"", "sh", bdf,
		      path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int vfg_reap(pid_t pid, int ms)
{
	int status;

	for (; ms >= 0; ms -= 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		usleep(10000);
	}
	return -1;
}

int vfg_dma_map(int container, void *vaddr, uint64_t iova, uint64_t size,
		uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

void *vfg_pci_map_bar0(const char *bdf, size_t size)
{
	char path[128];
	void *bar;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	bar = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return bar == MAP_FAILED ? NULL : bar;
}

int vfg_pci_release(const char *bdf)
{
	return !!vfg_pci_unbind(bdf) + !!vfg_pci_set_override(bdf, NULL);
}

int vfg_pci_list(char (**bdfs)[13])
{
	char (*v)[13] = NULL, (*nv)[13];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	int n = 0;

	*bdfs = NULL;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		snprintf(v[n++], sizeof(*v), "%.12s", de->d_name);
	}
	closedir(d);
	*bdfs = v;
	return n;
}

bool vfg_pci_is_iommu(const char *bdf)
{
	char path[PATH_MAX];
	unsigned long cls;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", bdf);
	return !vfg_sysfs_read_hex(path, &cls) && (cls >> 8) == 0x0806;
}

int vfg_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	return syscall(SYS_capset, &hdr, data);
}

static void vfg_dump_file(const char *path, const char *prefix)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("%s%s", prefix, line);
	fclose(f);
}

void vfg_dump_threads(void)
{
	char path[PATH_MAX], buf[256];
	struct dirent *e;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/wchan",
			 e->d_name);
		buf[0] = 0;
		vfg_sysfs_read(path, buf, sizeof(buf));
		printf("# thread %s: wchan %s\n", e->d_name, buf);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 e->d_name);
		vfg_dump_file(path, "#   ");
		snprintf(path, sizeof(path), "/proc/self/task/%s/stack",
			 e->d_name);
		vfg_dump_file(path, "#   ");
	}
	closedir(d);
	fflush(stdout);
	vfg_sysfs_write("/proc/sysrq-trigger", "w");
}
