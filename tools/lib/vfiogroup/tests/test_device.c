// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Devices, drivers and viability on fake sysfs trees: the library's own rule
 * without the module, the kernel's word with it, members that vanish while
 * they are read.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

START_TEST(test_info_identity)
{
	struct vfg_device_info d;

	ck_assert_int_eq(vfg_device_get_info(guest_ctx, "1:1.0", &d), 0);
	ck_assert_str_eq(d.name, EDU1);
	ck_assert_int_eq(d.is_pci, 1);
	ck_assert_uint_eq(d.vendor, 0x1234);
	ck_assert_uint_eq(d.device, 0x11e8);
	ck_assert_uint_eq(d.pci_class, 0x00ff00);
	ck_assert_int_eq(d.is_bridge, 0);
	ck_assert_int_eq(d.group, 2);
	ck_assert_str_eq(d.driver, "");
	ck_assert_str_eq(d.override, "");	/* the kernel's "(null)" */
	ck_assert_int_eq(d.blocks, 0);

	ck_assert_int_eq(vfg_device_get_info(guest_ctx, BRIDGE, &d), 0);
	ck_assert_uint_eq(d.pci_class, 0x060400);
	ck_assert_int_eq(d.is_bridge, 1);
	ck_assert_str_eq(d.driver, "shpchp");
}
END_TEST

START_TEST(test_info_no_group)
{
	struct vfg_device_info d;

	ck_assert_int_eq(vfg_device_get_info(guest_ctx, NOGRP, &d), 0);
	ck_assert_int_eq(d.group, VFG_NO_GROUP);
	errno = 0;
	ck_assert_int_eq(vfg_device_get_info(guest_ctx, "0000:00:09.0", &d),
			 -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(vfg_device_get_info(guest_ctx, "junk", &d), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_info_bridge_without_config)
{
	struct vfg_device_info d;
	struct fakesys_pci id = {
		.vendor = 0x8086, .device = 0x244e, .class = 0x060401,
		.header_type = 1, .pcie_type = FAKESYS_NO_PCIE,
		.acs_ctrl = FAKESYS_NO_ACS, .short_config = 1,
	};

	/* config readable: the header type decides */
	fakesys_pci(guest_fs, LONE, &id);
	ck_assert_int_eq(vfg_device_get_info(guest_ctx, LONE, &d), 0);
	ck_assert_int_eq(d.is_bridge, 1);
	/* config unreadable: the class decides */
	fakesys_attr(guest_fs, LONE, "config", "");
	ck_assert_int_eq(vfg_device_get_info(guest_ctx, LONE, &d), 0);
	ck_assert_int_eq(d.is_bridge, 1);
}
END_TEST

START_TEST(test_driver_bound_unbound)
{
	char drv[64] = "x";

	ck_assert_int_eq(vfg_device_get_driver(guest_ctx, EDU1, drv,
			 sizeof(drv)), 0);
	ck_assert_str_eq(drv, "");
	fakesys_bind(guest_fs, EDU1, "vfio-pci");
	ck_assert_int_eq(vfg_device_get_driver(guest_ctx, EDU1, drv,
			 sizeof(drv)), 0);
	ck_assert_str_eq(drv, "vfio-pci");
	errno = 0;
	ck_assert_int_eq(vfg_device_get_driver(guest_ctx, "0000:07:00.0", drv,
					       sizeof(drv)), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_dma_managed_rule)
{
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, ""), 1);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, "vfio-pci"), 1);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, "pci-stub"), 1);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, "pcieport"), 1);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, "shpchp"), 0);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx, "e1000e"), 0);
	ck_assert_int_eq(vfg_driver_is_dma_managed(guest_ctx,
			 "uio_pci_generic"), 0);
}
END_TEST

START_TEST(test_driver_name_param)
{
	struct vfg_ctx *c2;

	ck_assert_str_eq(vfg_ctx_get_driver_name(guest_ctx), "vfio-pci");
	fakesys_file(guest_fs, "sys/module/vfio_pci/parameters/driver_name",
		     "vfg-pci\n");
	c2 = vfg_ctx_new(fakesys_root(guest_fs));
	ck_assert_str_eq(vfg_ctx_get_driver_name(c2), "vfg-pci");
	ck_assert_int_eq(vfg_driver_is_dma_managed(c2, "vfg-pci"), 1);
	vfg_ctx_free(c2);
}
END_TEST

START_TEST(test_groups_sorted_numerically)
{
	int *g, n;

	fakesys_device(guest_fs, "0000:00:0a.0", 10);
	n = vfg_ctx_get_groups(guest_ctx, &g);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(g[0], 1);
	ck_assert_int_eq(g[1], 2);
	ck_assert_int_eq(g[2], 10);
	free(g);
}
END_TEST

START_TEST(test_groups_without_iommu)
{
	struct fakesys *empty = fakesys_new();
	struct vfg_ctx *c2;
	int *g = (int *)1;
	char p[4200];

	snprintf(p, sizeof(p), "%s/nothing", fakesys_root(empty));
	c2 = vfg_ctx_new(p);
	ck_assert_int_eq(vfg_ctx_get_groups(c2, &g), 0);
	ck_assert_ptr_null(g);
	vfg_ctx_free(c2);
	fakesys_free(empty);
}
END_TEST

/*
 * Without the module: the library's rule, shpchp on the bridge blocks, and
 * so does uio_pci_generic on EDU2.
 */
START_TEST(test_status_by_rule)
{
	struct vfg_group_status *st;

	ck_assert_int_eq(vfg_ctx_has_module(guest_ctx), 0);
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 2, &st), 0);
	ck_assert_int_eq(st->from_kernel, 0);
	ck_assert_int_eq(st->viable, 0);
	ck_assert_int_eq(st->holder, -1);
	ck_assert_uint_eq(st->n_devices, 3);
	ck_assert_str_eq(st->devices[0].name, BRIDGE);
	ck_assert_int_eq(st->devices[0].blocks, 1);
	ck_assert_ptr_nonnull(strstr(st->devices[0].why, "kernel DMA API"));
	ck_assert_int_eq(st->devices[1].blocks, 0);
	ck_assert_int_eq(st->devices[2].blocks, 1);
	ck_assert_uint_eq(st->n_blockers, 2);
	ck_assert_str_eq(st->blockers[0].device, BRIDGE);
	ck_assert_str_eq(st->blockers[0].driver, "shpchp");
	ck_assert_str_eq(st->blockers[1].device, EDU2);
	ck_assert_str_eq(st->blockers[1].driver, UIO);
	vfg_group_status_free(st);
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 2), 0);
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 1), 1);
}
END_TEST

/* Bound members: pcieport on the bridge is fine, e1000e on an edu is not. */
START_TEST(test_status_bound_members)
{
	struct vfg_group_status *st;
	char p[256];

	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/%s/driver",
		 fakesys_root(guest_fs), BRIDGE);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/%s/%s/driver",
		 fakesys_root(guest_fs), BRIDGE, EDU2);
	ck_assert_int_eq(unlink(p), 0);
	fakesys_bind(guest_fs, BRIDGE, "pcieport");
	fakesys_bind(guest_fs, EDU1, "vfio-pci");
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 2), 1);
	fakesys_bind(guest_fs, EDU2, "e1000e");
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 2, &st), 0);
	ck_assert_int_eq(st->viable, 0);
	ck_assert_uint_eq(st->n_blockers, 1);
	ck_assert_str_eq(st->blockers[0].device, EDU2);
	ck_assert_str_eq(st->devices[1].driver, "vfio-pci");
	vfg_group_status_free(st);
}
END_TEST

/* With the module, its blockers, viable and holder are authoritative. */
START_TEST(test_status_from_kernel)
{
	struct vfg_group_status *st;
	struct vfg_device_info d;

	/* The kernel knows a driver the library's list does not. */
	fakesys_bind(guest_fs, EDU1, "some_dma_managed_driver");
	fakesys_vfio_group(guest_fs, 2, 0,
			   BRIDGE " shpchp: bound to a driver that does DMA "
			   "through the kernel DMA API\n", 4242);
	ck_assert_int_eq(vfg_ctx_has_module(guest_ctx), 1);
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 2, &st), 0);
	ck_assert_int_eq(st->from_kernel, 1);
	ck_assert_int_eq(st->viable, 0);
	ck_assert_int_eq(st->holder, 4242);
	ck_assert_uint_eq(st->n_blockers, 1);
	ck_assert_str_eq(st->blockers[0].device, BRIDGE);
	ck_assert_str_eq(st->blockers[0].driver, "shpchp");
	ck_assert_str_eq(st->blockers[0].why,
			 "bound to a driver that does DMA through the kernel DMA API");
	ck_assert_int_eq(st->devices[1].blocks, 0);
	vfg_group_status_free(st);

	ck_assert_int_eq(vfg_device_get_info(guest_ctx, EDU1, &d), 0);
	ck_assert_int_eq(d.blocks, 0);

	/* And the other way round: the kernel says it blocks. */
	fakesys_vfio_group(guest_fs, 1, 0,
			   LONE " weird: a reason only the kernel knows\n", 0);
	ck_assert_int_eq(vfg_device_get_info(guest_ctx, LONE, &d), 0);
	ck_assert_int_eq(d.blocks, 1);
	ck_assert_str_eq(d.why, "a reason only the kernel knows");
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 1), 0);
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 1, &st), 0);
	ck_assert_int_eq(st->holder, 0);
	vfg_group_status_free(st);
}
END_TEST

START_TEST(test_status_missing_group)
{
	struct vfg_group_status *st = (void *)1;

	errno = 0;
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 9, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(st);
}
END_TEST

static void vanish(struct fakesys *f, const char *bdf)
{
	fakesys_remove(f, bdf);
}

/*
 * A member is hot-removed while the library reads the group: EDU2 while it
 * reads EDU1, or EDU1 itself.  The status lists the two that are left.
 */
static const struct {
	const char *open;	/* the file being opened when ... */
	const char *gone;	/* ... this device goes */
	const char *left[2];
} vanishing[] = {
	{ EDU1 "/vendor", EDU2, { BRIDGE, EDU1 } },
	{ EDU1 "/device", EDU1, { BRIDGE, EDU2 } },
};

START_TEST(test_status_vanish)
{
	struct vfg_group_status *st;

	fakesys_kernel_start(guest_fs);
	fakesys_on_open(guest_fs, vanishing[_i].open, vanish,
			vanishing[_i].gone);
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 2, &st), 0);
	ck_assert_uint_eq(st->n_devices, 2);
	ck_assert_str_eq(st->devices[0].name, vanishing[_i].left[0]);
	ck_assert_str_eq(st->devices[1].name, vanishing[_i].left[1]);
	vfg_group_status_free(st);
}
END_TEST

/* A broken attribute of a device still present is an error, not a vanish. */
START_TEST(test_status_broken_attr)
{
	struct vfg_group_status *st;
	char p[256];

	snprintf(p, sizeof(p), "%s/sys/devices/pci0000:00/%s/%s/class",
		 fakesys_root(guest_fs), BRIDGE, EDU1);
	ck_assert_int_eq(unlink(p), 0);
	errno = 0;
	ck_assert_int_eq(vfg_group_get_status(guest_ctx, 2, &st), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

struct walk {
	int calls;
	char seen[4][16];
};

static int remove_next_cb(const char *bdf, void *opaque)
{
	struct walk *w = opaque;

	strcpy(w->seen[w->calls++], bdf);
	if (!strcmp(bdf, BRIDGE))
		fakesys_remove(guest_fs, EDU1);	/* takes nothing else with it */
	return 0;
}

START_TEST(test_for_each_vanish_mid_walk)
{
	struct walk w = { 0 };

	ck_assert_int_eq(vfg_group_for_each_device(guest_ctx, 2, remove_next_cb,
						   &w), 0);
	ck_assert_int_eq(w.calls, 2);
	ck_assert_str_eq(w.seen[0], BRIDGE);
	ck_assert_str_eq(w.seen[1], EDU2);
}
END_TEST

Suite *device_suite(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("device");
	TCase *st = tcase_create("status");

	tcase_add_checked_fixture(tc, guest_setup, guest_teardown);
	tcase_add_test(tc, test_info_identity);
	tcase_add_test(tc, test_info_no_group);
	tcase_add_test(tc, test_info_bridge_without_config);
	tcase_add_test(tc, test_driver_bound_unbound);
	tcase_add_test(tc, test_dma_managed_rule);
	tcase_add_test(tc, test_driver_name_param);
	tcase_add_test(tc, test_groups_sorted_numerically);
	tcase_add_test(tc, test_groups_without_iommu);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(st, guest_setup, guest_teardown);
	tcase_add_test(st, test_status_by_rule);
	tcase_add_test(st, test_status_bound_members);
	tcase_add_test(st, test_status_from_kernel);
	tcase_add_test(st, test_status_missing_group);
	tcase_add_loop_test(st, test_status_vanish, 0,
			    sizeof(vanishing) / sizeof(vanishing[0]));
	tcase_add_test(st, test_status_broken_attr);
	tcase_add_test(st, test_for_each_vanish_mid_walk);
	suite_add_tcase(s, st);
	return s;
}
