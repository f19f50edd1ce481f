// SPDX-License-Identifier: GPL-2.0
/*
 * SR-IOV and the VF token (issue 13, item 2), on the "sriov" topology: a
 * QEMU nvme PF behind its own root port, with room for two VFs.  The PF is
 * bound to vfio-pci and held by the test; VFs are created through
 * sriov_numvfs (only with vfio-pci's enable_sriov) and bound to vfio-pci.
 * The token rules are upstream's, and so the tests pass against the
 * kernel's own VFIO too (VFG_USE_KERNEL_VFIO=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

#define NVME_VENDOR 0x1b36
#define NVME_DEVICE 0x0010
#define SRIOV_PARAM "/sys/module/vfio_pci/parameters/enable_sriov"

static const char token_a[] = "6f6e7dd4-0b85-4fd2-8c1b-7e3e1b5e0a01";
static const char token_b[] = "0b5a4f35-9d1e-4a7c-9b63-2f1d8e6c4b02";

/* VFIO_DEVICE_FEATURE with @len bytes of data after the header. */
static int feature(int fd, uint32_t argsz, uint32_t flags, const void *data,
		   size_t len)
{
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[32];
	} f;

	memset(&f, 0, sizeof(f));
	f.hdr.argsz = argsz;
	f.hdr.flags = flags;
	if (len > sizeof(f.data))
		len = sizeof(f.data);
	memcpy(f.data, data, len);
	return ioctl(fd, VFIO_DEVICE_FEATURE, &f);
}

/* The 16 bytes of a UUID string, as uuid_parse() reads it. */
static void uuid_bytes(const char *s, uint8_t out[16])
{
	int i;

	for (i = 0; i < 16; i++) {
		while (*s == '-')
			s++;
		sscanf(s, "%2hhx", &out[i]);
		s += 2;
	}
}

static int set_token(int fd, const char *token)
{
	uint8_t uuid[16];

	uuid_bytes(token, uuid);
	return feature(fd, sizeof(struct vfio_device_feature) + 16,
		       VFIO_DEVICE_FEATURE_SET |
		       VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, uuid, 16);
}

/* VFIO_GROUP_GET_DEVICE_FD on @group: "BDF", or "BDF vf_token=TOKEN". */
static int get_fd(int group, const char *bdf, const char *token)
{
	char s[128];

	if (token)
		snprintf(s, sizeof(s), "%s vf_token=%s", bdf, token);
	else
		snprintf(s, sizeof(s), "%s", bdf);
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, s);
}

static int pf_attr(const char *pf, const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", pf, attr);
	return vfg_sysfs_write(path, val);
}

/* The BDF of VF @n (from 0) of @pf, from its virtfn link. */
static int vf_bdf(const char *pf, int n, char out[13])
{
	char path[256], link[256], *base;
	ssize_t len;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/virtfn%d", pf,
		 n);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) != 12)
		return -EINVAL;
	memcpy(out, base, 13);
	return 0;
}

FIXTURE(sriov) {
	struct vfg_topo t;
	char pf[13];
	char vf[2][13];
	struct vfg_dev dpf;	/* the PF, opened by the test */
	struct vfg_dev dvf[2];	/* VF groups, attached */
	struct vfg_dev dlone;	/* the lone edu: no SR-IOV */
};

/* The nvme with an SR-IOV capability; 0, or -ENODEV. */
static int find_pf(char pf[13])
{
	char bdfs[4][13], path[256];
	int n, i;

	n = vfg_find_pci(NVME_VENDOR, NVME_DEVICE, bdfs, 4);
	for (i = 0; i < n && i < 4; i++) {
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/sriov_totalvfs", bdfs[i]);
		if (!access(path, F_OK)) {
			memcpy(pf, bdfs[i], 13);
			return 0;
		}
	}
	return -ENODEV;
}

/* PF with no VFs, unbound, no override; vfio unloaded. */
static void pf_restore(const char *pf)
{
	char drv[64] = "";

	vfg_pci_driver(pf, drv, sizeof(drv));
	if (drv[0])
		pf_attr(pf, "sriov_numvfs", "0");
	vfg_pci_unbind(pf);
	vfg_pci_set_override(pf, NULL);
}

FIXTURE_SETUP(sriov)
{
	int i;

	vfg_dev_init(&self->dpf);
	vfg_dev_init(&self->dlone);
	for (i = 0; i < 2; i++)
		vfg_dev_init(&self->dvf[i]);
	self->pf[0] = '\0';
	if (find_pf(self->pf))
		SKIP(return, "needs the sriov topology (--topology sriov)");
	ASSERT_EQ(0, vfg_topo_find(&self->t));
	pf_restore(self->pf);
	ASSERT_EQ(0, vfg_topo_restore(&self->t));
	ASSERT_EQ(0, vfg_vfio_load());
	ASSERT_EQ(0, vfg_pci_bind(self->pf, "vfio-pci"));
	ASSERT_EQ(0, vfg_pci_bind(self->t.lone, "vfio-pci"));
}

FIXTURE_TEARDOWN(sriov)
{
	int i;

	for (i = 0; i < 2; i++)
		vfg_dev_close(&self->dvf[i]);
	vfg_dev_close(&self->dlone);
	vfg_dev_close(&self->dpf);
	if (!self->pf[0])
		return;
	pf_restore(self->pf);
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/*
 * Allow SR-IOV, hold the PF (open it unless it is), create two VFs, attach
 * their groups; fill self->vf.
 */
static int make_vfs(struct __test_metadata *_metadata,
		    FIXTURE_DATA(sriov) *self)
{
	char drv[64];
	int i;

	EXPECT_EQ(0, vfg_sysfs_write(SRIOV_PARAM, "1"));
	if (self->dpf.fd < 0)
		EXPECT_EQ(0, vfg_dev_open(&self->dpf, self->pf));
	EXPECT_EQ(0, pf_attr(self->pf, "sriov_numvfs", "2"));
	for (i = 0; i < 2; i++) {
		if (vf_bdf(self->pf, i, self->vf[i]))
			return -1;
		/* Captured for vfio-pci, each VF in a group of its own. */
		drv[0] = '\0';
		vfg_pci_driver(self->vf[i], drv, sizeof(drv));
		EXPECT_STREQ("vfio-pci", drv);
		EXPECT_NE(vfg_pci_group(self->pf), vfg_pci_group(self->vf[i]));
		EXPECT_EQ(0, vfg_dev_attach(&self->dvf[i], self->vf[i]));
	}
	EXPECT_NE(vfg_pci_group(self->vf[0]), vfg_pci_group(self->vf[1]));
	return _metadata->passed ? 0 : -1;
}

/* Without enable_sriov, sriov_numvfs cannot be written; with it, it can. */
TEST_F(sriov, enable_sriov_gates_numvfs)
{
	char path[256], buf[16];

	ASSERT_EQ(0, vfg_sysfs_write(SRIOV_PARAM, "0"));
	ASSERT_EQ(0, vfg_dev_open(&self->dpf, self->pf));
	EXPECT_EQ(-ENOENT, pf_attr(self->pf, "sriov_numvfs", "2"));
	ASSERT_EQ(0, make_vfs(_metadata, self));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs",
		 self->pf);
	ASSERT_EQ(0, vfg_sysfs_read(path, buf, sizeof(buf)));
	EXPECT_EQ(2, atoi(buf));
	/* Once only, as upstream: changing the count goes through 0. */
	EXPECT_NE(0, pf_attr(self->pf, "sriov_numvfs", "1"));
}

/* The parameter goes to vfio-pci from the module loader too. */
TEST_F(sriov, enable_sriov_module_param)
{
	char buf[8];

	if (!vfg_ours())
		SKIP(return, "vfio-groups' module loader");
	vfg_pci_unbind(self->pf);
	vfg_pci_unbind(self->t.lone);
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load("enable_sriov=1"));
	ASSERT_EQ(0, vfg_sysfs_read(SRIOV_PARAM, buf, sizeof(buf)));
	EXPECT_EQ('Y', buf[0]);
}

/* VFIO_DEVICE_FEATURE's checks and the token feature's SET-only rule. */
TEST_F(sriov, token_feature)
{
	const uint32_t hdr = sizeof(struct vfio_device_feature);
	const uint32_t tok = VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	uint8_t uuid[16];
	int vf;

	uuid_bytes(token_a, uuid);
	ASSERT_EQ(0, make_vfs(_metadata, self));
	/* The core's checks */
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr - 1,
				     VFIO_DEVICE_FEATURE_SET | tok, uuid, 16));
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr + 16,
				     VFIO_DEVICE_FEATURE_SET | tok | 1u << 20,
				     uuid, 16));
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr + 16,
				     VFIO_DEVICE_FEATURE_SET |
				     VFIO_DEVICE_FEATURE_GET | tok, uuid, 16));
	/* PROBE: SET yes, GET no, both no */
	EXPECT_EQ(0, feature(self->dpf.fd, hdr, VFIO_DEVICE_FEATURE_PROBE |
			     VFIO_DEVICE_FEATURE_SET | tok, NULL, 0));
	EXPECT_EQ(0, feature(self->dpf.fd, hdr, VFIO_DEVICE_FEATURE_PROBE |
			     tok, NULL, 0));
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr,
				     VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_GET | tok, NULL, 0));
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr,
				     VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_GET |
				     VFIO_DEVICE_FEATURE_SET | tok, NULL, 0));
	/* No GET (it would show the previous user's token) */
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr + 16,
				     VFIO_DEVICE_FEATURE_GET | tok, uuid, 16));
	/* Neither GET nor SET, without PROBE */
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr + 16, tok, uuid, 16));
	/* A SET needs the whole UUID; more is fine */
	EXPECT_ERRNO(EINVAL, feature(self->dpf.fd, hdr + 15,
				     VFIO_DEVICE_FEATURE_SET | tok, uuid, 16));
	EXPECT_EQ(0, feature(self->dpf.fd, hdr + 16,
			     VFIO_DEVICE_FEATURE_SET | tok, uuid, 16));
	EXPECT_EQ(0, feature(self->dpf.fd, hdr + 20,
			     VFIO_DEVICE_FEATURE_SET | tok, uuid, 16));
	/* An unknown feature */
	EXPECT_ERRNO(ENOTTY, feature(self->dpf.fd, hdr,
				     VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_SET | 0xffff, NULL, 0));
	/* Only a PF has the token */
	vf = get_fd(self->dvf[0].group, self->vf[0], token_a);
	ASSERT_LE(0, vf);
	EXPECT_ERRNO(ENOTTY, feature(vf, hdr, VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_SET | tok, NULL, 0));
	close(vf);
	ASSERT_EQ(0, vfg_dev_open(&self->dlone, self->t.lone));
	EXPECT_ERRNO(ENOTTY, feature(self->dlone.fd, hdr,
				     VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_SET | tok, NULL, 0));
}

/* A VF of a PF bound to vfio-pci opens with the PF's token only. */
TEST_F(sriov, vf_needs_token)
{
	char s[128];
	int fd, fd2;

	ASSERT_EQ(0, make_vfs(_metadata, self));
	ASSERT_EQ(0, set_token(self->dpf.fd, token_a));
	EXPECT_ERRNO(EACCES, get_fd(self->dvf[0].group, self->vf[0], NULL));
	EXPECT_ERRNO(EACCES, get_fd(self->dvf[0].group, self->vf[0],
				    token_b));
	fd = get_fd(self->dvf[0].group, self->vf[0], token_a);
	ASSERT_LE(0, fd);
	/* Blanks around the option are fine; a second token is not. */
	snprintf(s, sizeof(s), "%s  vf_token=%s ", self->vf[1], token_a);
	fd2 = ioctl(self->dvf[1].group, VFIO_GROUP_GET_DEVICE_FD, s);
	EXPECT_LE(0, fd2);
	if (fd2 >= 0)
		close(fd2);
	snprintf(s, sizeof(s), "%s vf_token=%s vf_token=%s", self->vf[1],
		 token_a, token_a);
	EXPECT_ERRNO(EINVAL, ioctl(self->dvf[1].group,
				   VFIO_GROUP_GET_DEVICE_FD, s));
	/* The token changes: the open VF stays, new opens need the new one. */
	ASSERT_EQ(0, set_token(self->dpf.fd, token_b));
	EXPECT_ERRNO(EACCES, get_fd(self->dvf[1].group, self->vf[1],
				    token_a));
	fd2 = get_fd(self->dvf[1].group, self->vf[1], token_b);
	EXPECT_LE(0, fd2);
	if (fd2 >= 0)
		close(fd2);
	close(fd);
}

/* A VF's hardware ID (0x1b36:0x0010 for QEMU's nvme) in sysfs. */
static unsigned long vf_sysfs_id(const char *vf, const char *attr)
{
	char path[256];
	unsigned long v = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", vf, attr);
	if (vfg_sysfs_read_hex(path, &v))
		return ~0UL;
	return v;
}

/* The command register as the device has it (sysfs config, not ours). */
static int hw_command(const char *bdf)
{
	char path[256];
	uint16_t cmd;
	int fd, n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, &cmd, 2, PCI_COMMAND);
	close(fd);
	return n == 2 ? cmd : -1;
}

/*
 * A VF reads all ones as its vendor and device ID (SR-IOV spec; QEMU's
 * nvme VF does so too), and has no memory enable of its own: a VMM reading
 * config space through the device fd must see the real IDs, and a guest
 * clearing and setting the memory bit must neither lose the BARs nor touch
 * the device's command register.
 */
TEST_F(sriov, vf_config_as_a_guest_sees_it)
{
	uint16_t cmd;
	uint32_t cap;
	int fd, hw;

	ASSERT_EQ(0, make_vfs(_metadata, self));
	ASSERT_EQ(0, set_token(self->dpf.fd, token_a));
	fd = get_fd(self->dvf[0].group, self->vf[0], token_a);
	ASSERT_LE(0, fd);
	EXPECT_EQ(vf_sysfs_id(self->vf[0], "vendor"), vfg_cfg_read16(fd, 0));
	EXPECT_EQ(vf_sysfs_id(self->vf[0], "device"), vfg_cfg_read16(fd, 2));

	hw = hw_command(self->vf[0]);
	ASSERT_LE(0, hw);
	cmd = vfg_cfg_read16(fd, PCI_COMMAND);
	ASSERT_EQ(0, vfg_cfg_write16(fd, PCI_COMMAND,
				     cmd & ~PCI_COMMAND_MEMORY));
	EXPECT_EQ(0, vfg_cfg_read16(fd, PCI_COMMAND) & PCI_COMMAND_MEMORY);
	/*
	 * Ours keeps the bit away from the device; the kernel's writes it
	 * through (a real VF ignores it; QEMU's stores it).
	 */
	if (vfg_ours())
		EXPECT_EQ(hw & PCI_COMMAND_MEMORY,
			  hw_command(self->vf[0]) & PCI_COMMAND_MEMORY);
	/* The BAR still answers: the PF's SR-IOV control enables it. */
	EXPECT_EQ(4, vfg_region_read(fd, 0, 0, &cap, 4));
	EXPECT_NE(0xffffffffu, cap);
	ASSERT_EQ(0, vfg_cfg_write16(fd, PCI_COMMAND,
				     cmd | PCI_COMMAND_MEMORY));
	EXPECT_EQ(PCI_COMMAND_MEMORY,
		  vfg_cfg_read16(fd, PCI_COMMAND) & PCI_COMMAND_MEMORY);
	EXPECT_EQ(4, vfg_region_read(fd, 0, 0, &cap, 4));
	close(fd);
}

/* While a VF is open, the PF needs the token too; after, it sets it. */
TEST_F(sriov, pf_token_while_vf_open)
{
	int vf, pf;

	ASSERT_EQ(0, make_vfs(_metadata, self));
	ASSERT_EQ(0, set_token(self->dpf.fd, token_a));
	/* No VF open: the PF opens without a token... */
	pf = get_fd(self->dpf.group, self->pf, NULL);
	ASSERT_LE(0, pf);
	close(pf);
	vf = get_fd(self->dvf[0].group, self->vf[0], token_a);
	ASSERT_LE(0, vf);
	EXPECT_ERRNO(EACCES, get_fd(self->dpf.group, self->pf, NULL));
	EXPECT_ERRNO(EACCES, get_fd(self->dpf.group, self->pf, token_b));
	pf = get_fd(self->dpf.group, self->pf, token_a);
	EXPECT_LE(0, pf);
	if (pf >= 0)
		close(pf);
	close(vf);
	/* ...and with one, which sets it, since no VF is in use. */
	pf = get_fd(self->dpf.group, self->pf, NULL);
	EXPECT_LE(0, pf);
	if (pf >= 0)
		close(pf);
	pf = get_fd(self->dpf.group, self->pf, token_b);
	ASSERT_LE(0, pf);
	close(pf);
	EXPECT_ERRNO(EACCES, get_fd(self->dvf[0].group, self->vf[0],
				    token_a));
	vf = get_fd(self->dvf[0].group, self->vf[0], token_b);
	EXPECT_LE(0, vf);
	if (vf >= 0)
		close(vf);
}

/* Write @val to @pf's sriov_numvfs in a child that holds none of our fds. */
static pid_t numvfs_async(const char *pf, const char *val)
{
	char path[256];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs",
		 pf);
	fflush(stdout);
	pid = fork();
	if (!pid) {
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/bin/sh", "sh", "-c", "echo \"$1\" >\"$2\"", "sh", val,
		      path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Removing the VFs is not refused while one is open, as upstream: it waits
 * for the VF's user to close it, and the VF's count on the PF goes with it.
 */
TEST_F(sriov, numvfs_zero_waits_for_open_vf)
{
	pid_t pid;
	int vf, pf;

	ASSERT_EQ(0, make_vfs(_metadata, self));
	ASSERT_EQ(0, set_token(self->dpf.fd, token_a));
	vf = get_fd(self->dvf[0].group, self->vf[0], token_a);
	ASSERT_LE(0, vf);
	vfg_dev_close(&self->dvf[0]);
	vfg_dev_close(&self->dvf[1]);
	pid = numvfs_async(self->pf, "0");
	ASSERT_LT(0, pid);
	EXPECT_EQ(-1, vfg_reap(pid, 1000));
	EXPECT_TRUE(vfg_pci_exists(self->vf[0]));
	close(vf);
	EXPECT_EQ(0, vfg_reap(pid, 20000));
	EXPECT_FALSE(vfg_pci_exists(self->vf[0]));
	/* No VF in use any more: the PF opens without the token. */
	pf = get_fd(self->dpf.group, self->pf, NULL);
	EXPECT_LE(0, pf);
	if (pf >= 0)
		close(pf);
}

/* A token for a device that is neither PF nor VF; malformed options. */
TEST_F(sriov, token_on_plain_device)
{
	char s[128];

	ASSERT_EQ(0, vfg_dev_attach(&self->dlone, self->t.lone));
	EXPECT_ERRNO(EINVAL, get_fd(self->dlone.group, self->t.lone, token_a));
	snprintf(s, sizeof(s), "%s vf_token=not-a-uuid", self->t.lone);
	EXPECT_ERRNO(EINVAL, ioctl(self->dlone.group, VFIO_GROUP_GET_DEVICE_FD,
				   s));
	snprintf(s, sizeof(s), "%s colour=blue", self->t.lone);
	EXPECT_ERRNO(EINVAL, ioctl(self->dlone.group, VFIO_GROUP_GET_DEVICE_FD,
				   s));
	/* A longer name is another device's. */
	snprintf(s, sizeof(s), "%s0 vf_token=%s", self->t.lone, token_a);
	EXPECT_ERRNO(ENODEV, ioctl(self->dlone.group, VFIO_GROUP_GET_DEVICE_FD,
				   s));
	/* A PF takes one (it sets the token) with no VF */
	ASSERT_EQ(0, vfg_dev_attach(&self->dpf, self->pf));
	self->dpf.fd = get_fd(self->dpf.group, self->pf, token_a);
	EXPECT_LE(0, self->dpf.fd);
}

TEST_HARNESS_MAIN
