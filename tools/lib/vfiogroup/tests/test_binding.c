// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Persistent bindings on a fake tree: the identity recorded, the file round
 * trip, and finding the group again after a "reboot" that renumbered it,
 * removed a member, swapped a card or regrouped the devices.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

static struct fakesys *fs;
static struct vfg_ctx *ctx;
static char dir[PATH_MAX];

/* The shared guest topology (fakesys.h), with the group numbers given. */
static void build(int lone_group, int bridge_group)
{
	fs = fakesys_guest_grouped(lone_group, bridge_group);
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
	fakesys_kernel_start(fs);
	snprintf(dir, sizeof(dir), "%s" VFG_BINDING_DIR, fakesys_root(fs));
}

static void setup(void)
{
	build(1, 2);
}

static void teardown(void)
{
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}

/* Boot again: the same hardware, group numbers as given. */
static void reboot(int lone_group, int bridge_group)
{
	char cmd[PATH_MAX + 32], keep[PATH_MAX];
	char tmpl[] = "/tmp/vfgbind.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(keep, sizeof(keep), "%s/d", tmpl);
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", dir, keep);
	ck_assert_int_eq(system(cmd), 0);
	teardown();
	build(lone_group, bridge_group);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp -r '%s'/. '%s' && rm -rf '%s'",
		 dir, keep, dir, tmpl);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_binding_of_group)
{
	struct vfg_binding *b;
	struct vfg_plan *p;

	ck_assert_int_eq(vfg_group_plan_bind(ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_group_get_binding(ctx, 2, p, &b), 0);
	vfg_plan_free(p);
	ck_assert_str_eq(b->name, BRIDGE);
	ck_assert_int_eq(b->group, 2);
	ck_assert_uint_eq(b->n_members, 3);
	ck_assert_str_eq(b->members[0].device, BRIDGE);
	ck_assert_uint_eq(b->members[0].vendor, 0x1b36);
	ck_assert_uint_eq(b->members[0].device_id, 0x0001);
	ck_assert_str_eq(b->members[2].device, EDU2);
	ck_assert_uint_eq(b->members[2].vendor, 0x1234);
	ck_assert_uint_eq(b->members[2].device_id, 0x11e8);
	ck_assert_ptr_nonnull(b->record);
	ck_assert_uint_eq(b->record->n_changes, 3);
	ck_assert_int_eq(vfg_binding_has_device(b, EDU1), 1);
	ck_assert_int_eq(vfg_binding_has_device(b, LONE), 0);
	vfg_binding_free(b);

	errno = 0;
	ck_assert_int_eq(vfg_group_get_binding(ctx, 9, NULL, &b), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_binding_save_load)
{
	struct vfg_binding *b, *c, **all;
	struct vfg_plan *p;
	char path[PATH_MAX];

	ck_assert_int_eq(vfg_group_plan_bind(ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_group_get_binding(ctx, 2, p, &b), 0);
	vfg_plan_free(p);
	/* The directory is made, with its parents. */
	ck_assert_int_eq(vfg_binding_save(b, dir), 0);
	ck_assert_str_eq(fakesys_read(fs, "etc/vfio-groups/persistent.d/" BRIDGE ".conf"),
			 "vfio-group-binding 1\n"
			 "group 2\n"
			 "member " BRIDGE " 1b36:0001\n"
			 "member " EDU1 " 1234:11e8\n"
			 "member " EDU2 " 1234:11e8\n"
			 "change " BRIDGE " unbind shpchp - - - 0\n"
			 "change " EDU1 " bind - - vfio-pci vfio-pci 0\n"
			 "change " EDU2 " bind " UIO " - vfio-pci vfio-pci 0\n");
	snprintf(path, sizeof(path), "%s/%s.conf", dir, BRIDGE);
	ck_assert_int_eq(vfg_binding_load(path, &c), 0);
	ck_assert_str_eq(c->name, BRIDGE);
	ck_assert_int_eq(c->group, 2);
	ck_assert_uint_eq(c->n_members, 3);
	ck_assert_uint_eq(c->members[1].vendor, 0x1234);
	ck_assert_uint_eq(c->record->n_changes, 3);
	ck_assert_str_eq(c->record->changes[0].old_driver, "shpchp");
	ck_assert_int_eq(c->record->changes[1].action, VFG_ACTION_BIND);
	vfg_binding_free(c);

	/* A second one, and a file that is not a binding's. */
	ck_assert_int_eq(vfg_group_get_binding(ctx, 1, NULL, &c), 0);
	ck_assert_ptr_null(c->record);
	ck_assert_int_eq(vfg_binding_save(c, dir), 0);
	fakesys_file(fs, "etc/vfio-groups/persistent.d/README", "not .conf\n");
	ck_assert_int_eq(vfg_binding_load_all(dir, &all), 2);
	ck_assert_str_eq(all[0]->name, LONE);
	ck_assert_str_eq(all[1]->name, BRIDGE);
	vfg_binding_free_all(all, 2);

	ck_assert_int_eq(vfg_binding_remove(c, dir), 0);
	vfg_binding_free(c);
	ck_assert_int_eq(vfg_binding_load_all(dir, &all), 1);
	vfg_binding_free_all(all, 1);
	vfg_binding_free(b);

	/* A broken one fails the whole directory: restore must not guess. */
	fakesys_file(fs, "etc/vfio-groups/persistent.d/x.conf", "garbage\n");
	errno = 0;
	ck_assert_int_eq(vfg_binding_load_all(dir, &all), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(all);

	/* No directory: no bindings. */
	ck_assert_int_eq(vfg_binding_load_all("/nonexistent/vfg", &all), 0);
}
END_TEST

static struct vfg_binding *load_bridge_binding(void)
{
	struct vfg_binding *b;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.conf", dir, BRIDGE);
	ck_assert_int_eq(vfg_binding_load(path, &b), 0);
	return b;
}

static void save_bridge_binding(void)
{
	struct vfg_binding *b;

	ck_assert_int_eq(vfg_group_get_binding(ctx, 2, NULL, &b), 0);
	ck_assert_int_eq(vfg_binding_save(b, dir), 0);
	vfg_binding_free(b);
}

/* The group comes back as number 7: found by its members. */
START_TEST(test_find_group_renumbered)
{
	struct vfg_binding *b;
	char why[256];

	save_bridge_binding();
	reboot(3, 7);
	b = load_bridge_binding();
	ck_assert_int_eq(b->group, 2);
	ck_assert_int_eq(vfg_binding_find_group(ctx, b, why, sizeof(why)), 7);
	ck_assert_str_eq(why, "");
	vfg_binding_free(b);
}
END_TEST

START_TEST(test_find_group_member_gone)
{
	struct vfg_binding *b;
	char why[256];

	save_bridge_binding();
	fakesys_remove(fs, EDU2);
	b = load_bridge_binding();
	errno = 0;
	ck_assert_int_eq(vfg_binding_find_group(ctx, b, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, ENODEV);
	ck_assert_str_eq(why, EDU2 " (1234:11e8) is gone");
	vfg_binding_free(b);
}
END_TEST

/* Another card in the slot: same address, another ID. */
START_TEST(test_find_group_id_changed)
{
	struct fakesys_pci nic = {
		.vendor = 0x8086, .device = 0x10d3, .class = 0x020000,
		.pcie_type = FAKESYS_NO_PCIE, .acs_ctrl = FAKESYS_NO_ACS,
	};
	struct vfg_binding *b;
	char why[256];

	save_bridge_binding();
	fakesys_pci(fs, EDU1, &nic);
	b = load_bridge_binding();
	errno = 0;
	ck_assert_int_eq(vfg_binding_find_group(ctx, b, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, ESTALE);
	ck_assert_str_eq(why, EDU1 " changed: it is 8086:10d3 now, 1234:11e8 was recorded");
	vfg_binding_free(b);
}
END_TEST

/* The lone edu now shares the group: it was not recorded. */
START_TEST(test_find_group_extra_member)
{
	struct vfg_binding *b;
	char why[256];

	save_bridge_binding();
	reboot(2, 2);
	b = load_bridge_binding();
	errno = 0;
	ck_assert_int_eq(vfg_binding_find_group(ctx, b, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, ESTALE);
	ck_assert_str_eq(why, "group 2 has a member that was not recorded: " LONE " (1234:11e8)");
	vfg_binding_free(b);
}
END_TEST

Suite *binding_suite(void)
{
	Suite *s = suite_create("binding");
	TCase *tc = tcase_create("binding");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_binding_of_group);
	tcase_add_test(tc, test_binding_save_load);
	tcase_add_test(tc, test_find_group_renumbered);
	tcase_add_test(tc, test_find_group_member_gone);
	tcase_add_test(tc, test_find_group_id_changed);
	tcase_add_test(tc, test_find_group_extra_member);
	suite_add_tcase(s, tc);
	return s;
}
