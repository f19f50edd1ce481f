// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The safety check: which disks, interfaces and consoles hang off a PCI
 * device, and which of them the host is using.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

#define PORT	"0000:00:1c.0"
#define NVME	"0000:02:00.0"
#define NIC	"0000:00:06.0"
#define SERIAL	"0000:00:07.0"
#define VGA	"0000:00:02.0"

static struct fakesys *fs;
static struct vfg_ctx *ctx;

static void blk(const char *sub, const char *name, const char *dev)
{
	char rel[128], val[32];

	fakesys_child(fs, NVME, sub, "block", name);
	snprintf(rel, sizeof(rel), "sys/class/block/%s/dev", name);
	snprintf(val, sizeof(val), "%s\n", dev);
	fakesys_file(fs, rel, val);
}

static void setup(void)
{
	fs = fakesys_new();
	fakesys_device(fs, PORT, 2);
	fakesys_root_port(fs, PORT, 0x1d);
	fakesys_device_below(fs, NVME, PORT, 3);
	blk("nvme/nvme0/nvme0n1", "nvme0n1", "259:0");
	blk("nvme/nvme0/nvme0n1/nvme0n1p1", "nvme0n1p1", "259:1");
	blk("nvme/nvme0/nvme0n1/nvme0n1p2", "nvme0n1p2", "259:2");
	blk("nvme/nvme0/nvme0n1/nvme0n1p3", "nvme0n1p3", "259:3");
	fakesys_device(fs, NIC, 4);
	fakesys_child(fs, NIC, "net/eth0", "net", "eth0");
	fakesys_device(fs, SERIAL, 5);
	fakesys_child(fs, SERIAL, "tty/ttyS4", "tty", "ttyS4");
	fakesys_device(fs, VGA, 6);
	fakesys_child(fs, VGA, "graphics/fb0", "graphics", "fb0");
	fakesys_file(fs, "sys/class/tty/console/active", "ttyS0\n");
	fakesys_file(fs, "proc/self/mountinfo",
		     "40 22 0:5 / /proc rw - proc proc rw\n");
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
}

static void teardown(void)
{
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}

/* The use of @kind by @name among @u, which must be there. */
static const struct vfg_use *find(const struct vfg_use *u, int n,
				  enum vfg_use_kind kind, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (u[i].kind == kind && !strcmp(u[i].name, name))
			return &u[i];
	ck_abort_msg("no use of kind %d named %s", kind, name);
	return NULL;
}

/* The uses of @dev, which must be one, of @kind; to free(). */
static struct vfg_use *one_use(const char *dev, enum vfg_use_kind kind)
{
	struct vfg_use *u;

	ck_assert_int_eq(vfg_device_get_uses(ctx, dev, &u), 1);
	ck_assert_int_eq(u[0].kind, kind);
	return u;
}

START_TEST(test_unused_devices)
{
	struct vfg_use *u;

	ck_assert_int_eq(vfg_device_get_uses(ctx, NVME, &u), 0);
	free(u);
	ck_assert_int_eq(vfg_device_get_uses(ctx, NIC, &u), 0);
	free(u);
	ck_assert_int_eq(vfg_device_get_uses(ctx, SERIAL, &u), 0);
	free(u);
	ck_assert_int_eq(vfg_device_get_uses(ctx, VGA, &u), 0);
	free(u);
	errno = 0;
	ck_assert_int_eq(vfg_device_get_uses(ctx, "0000:09:00.0", &u), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_root_and_mounts)
{
	const struct vfg_use *x;
	struct vfg_use *u;
	int n;

	fakesys_file(fs, "proc/self/mountinfo",
		     "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw\n"
		     "40 22 0:5 / /proc rw - proc proc rw\n"
		     "41 22 259:2 / /mnt/my\\040disk rw - ext4 /dev/nvme0n1p2 rw\n");
	n = vfg_device_get_uses(ctx, NVME, &u);
	ck_assert_int_eq(n, 2);
	x = find(u, n, VFG_USE_ROOT, "nvme0n1p1");
	ck_assert_str_eq(x->detail, "mounted on /");
	ck_assert_str_eq(x->device, NVME);
	x = find(u, n, VFG_USE_MOUNT, "nvme0n1p2");
	ck_assert_str_eq(x->detail, "mounted on /mnt/my disk");
	free(u);
	/* The root port above it owns none of that. */
	ck_assert_int_eq(vfg_device_get_uses(ctx, PORT, &u), 0);
	free(u);
	/* A group's uses are its members'. */
	ck_assert_int_eq(vfg_group_get_uses(ctx, 3, &u), 2);
	free(u);
}
END_TEST

/* btrfs shows an anonymous device number: the source names the disk. */
START_TEST(test_mount_by_source)
{
	struct vfg_use *u;

	fakesys_file(fs, "proc/self/mountinfo",
		     "22 1 0:31 / /data rw - btrfs /dev/nvme0n1p2 rw\n");
	u = one_use(NVME, VFG_USE_MOUNT);
	ck_assert_str_eq(u[0].detail, "mounted on /data");
	free(u);
}
END_TEST

/* Stacked: dm-0 on nvme0n1p3 is mounted; nvme0n1p2 is swap. */
START_TEST(test_stacked_and_swap)
{
	const struct vfg_use *x;
	struct vfg_use *u;
	int n;

	fakesys_file(fs, "sys/devices/virtual/block/dm-0/dev", "254:0\n");
	fakesys_link(fs, "sys/class/block/dm-0",
		     "../../devices/virtual/block/dm-0");
	fakesys_link(fs, "sys/class/block/nvme0n1p3/holders/dm-0",
		     "../../../../../../../../virtual/block/dm-0");
	fakesys_file(fs, "proc/self/mountinfo",
		     "50 22 254:0 / /srv rw - xfs /dev/mapper/vg-srv rw\n");
	fakesys_file(fs, "proc/swaps",
		     "Filename\tType\tSize\tUsed\tPriority\n"
		     "/dev/nvme0n1p2 partition 1048572 0 -2\n");
	n = vfg_device_get_uses(ctx, NVME, &u);
	ck_assert_int_eq(n, 2);
	x = find(u, n, VFG_USE_MOUNT, "dm-0");
	ck_assert_str_eq(x->detail, "mounted on /srv");
	find(u, n, VFG_USE_SWAP, "nvme0n1p2");
	free(u);
}
END_TEST

/* An interface that is only up (link-local) is not in use. */
START_TEST(test_net_link_local_only)
{
	struct vfg_use *u;

	fakesys_file(fs, "proc/net/if_inet6",
		     "fe800000000000000000000000000001 02 40 20 80     eth0\n"
		     "00000000000000000000000000000001 01 80 10 80       lo\n");
	fakesys_file(fs, "proc/net/ipv6_route",
		     "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
		     "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
		     "fe800000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0\n");
	ck_assert_int_eq(vfg_device_get_uses(ctx, NIC, &u), 0);
	free(u);
}
END_TEST

START_TEST(test_net_address_and_routes)
{
	const struct vfg_use *x;
	struct vfg_use *u;
	int n;

	fakesys_file(fs, "proc/net/if_inet6",
		     "20010db8000000000000000000000001 02 40 00 80     eth0\n");
	fakesys_file(fs, "proc/net/route",
		     "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		     "eth0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
		     "eth0\t0002000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
	fakesys_file(fs, "proc/net/ipv6_route",
		     "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n");
	n = vfg_device_get_uses(ctx, NIC, &u);
	ck_assert_int_eq(n, 4);
	x = find(u, n, VFG_USE_NET_ADDR, "eth0");
	ck_assert_str_eq(x->detail, "2001:db8::1/64");
	ck_assert_str_eq(u[1].detail, "default via 10.0.2.2");
	ck_assert_str_eq(u[2].detail, "10.0.2.0/24");
	ck_assert_str_eq(u[3].detail, "2001:db8::/64");
	ck_assert_int_eq(u[3].kind, VFG_USE_NET_ROUTE);
	free(u);
}
END_TEST

START_TEST(test_serial_console)
{
	struct vfg_use *u;

	fakesys_file(fs, "sys/class/tty/console/active", "tty0 ttyS4\n");
	u = one_use(SERIAL, VFG_USE_CONSOLE);
	ck_assert_str_eq(u[0].name, "ttyS4");
	free(u);
}
END_TEST

/* A VT console shows on the boot VGA and on framebuffers. */
START_TEST(test_vga_console)
{
	struct vfg_use *u;
	int n;

	ck_assert_int_eq(vfg_device_get_uses(ctx, VGA, &u), 0);
	free(u);
	fakesys_file(fs, "sys/class/tty/console/active", "tty0\n");
	fakesys_attr(fs, VGA, "boot_vga", "1\n");
	n = vfg_device_get_uses(ctx, VGA, &u);
	ck_assert_int_eq(n, 2);
	find(u, n, VFG_USE_CONSOLE, "vga");
	find(u, n, VFG_USE_CONSOLE, "fb0");
	free(u);
	ck_assert_str_eq(vfg_use_kind_name(VFG_USE_CONSOLE), "console");
	ck_assert_str_eq(vfg_use_kind_name(VFG_USE_ROOT), "root");
}
END_TEST

Suite *uses_suite(void)
{
	Suite *s = suite_create("uses");
	TCase *tc = tcase_create("uses");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unused_devices);
	tcase_add_test(tc, test_root_and_mounts);
	tcase_add_test(tc, test_mount_by_source);
	tcase_add_test(tc, test_stacked_and_swap);
	tcase_add_test(tc, test_net_link_local_only);
	tcase_add_test(tc, test_net_address_and_routes);
	tcase_add_test(tc, test_serial_console);
	tcase_add_test(tc, test_vga_console);
	suite_add_tcase(s, tc);
	return s;
}
