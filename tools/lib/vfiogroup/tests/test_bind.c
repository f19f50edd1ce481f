// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Binding whole groups on a fake tree whose fake kernel makes the writes
 * take effect: the exact sysfs writes, the drivers afterwards, and rollback
 * when a member refuses.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

#define ASSERT_STATE(bdf, drv, ovr) \
	FAKESYS_ASSERT_STATE(guest_fs, bdf, drv, ovr)

START_TEST(test_plan_bridge_group)
{
	struct vfg_plan *p;

	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(p->group, 2);
	ck_assert_uint_eq(p->n_changes, 3);
	ck_assert_str_eq(p->changes[0].device, BRIDGE);
	ck_assert_int_eq(p->changes[0].action, VFG_ACTION_UNBIND);
	ck_assert_str_eq(p->changes[0].old_driver, "shpchp");
	ck_assert_str_eq(p->changes[0].new_driver, "");
	ck_assert_int_eq(p->changes[1].action, VFG_ACTION_BIND);
	ck_assert_str_eq(p->changes[1].new_driver, "vfio-pci");
	ck_assert_str_eq(p->changes[1].new_override, "vfio-pci");
	ck_assert_int_eq(p->changes[2].action, VFG_ACTION_BIND);
	ck_assert_str_eq(p->changes[2].old_driver, UIO);
	ck_assert_int_eq(vfg_plan_is_empty(p), 0);
	vfg_plan_free(p);
	/* A plan is a dry run: nothing written, nothing changed. */
	ck_assert_str_eq(fakesys_log(guest_fs), "");
	fakesys_assert_guest_state(guest_fs);
}
END_TEST

START_TEST(test_bind_bridge_group)
{
	struct vfg_plan *p;

	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), 0);
	ck_assert_int_eq(p->failed, -1);
	ck_assert_int_eq(p->changes[0].done, 1);
	ck_assert_int_eq(p->changes[2].done, 1);
	vfg_plan_free(p);
	ck_assert_str_eq(fakesys_log(guest_fs),
			 "unbind shpchp " BRIDGE "\n"
			 "override " EDU1 " vfio-pci\n"
			 "bind vfio-pci " EDU1 "\n"
			 "override " EDU2 " vfio-pci\n"
			 "unbind " UIO " " EDU2 "\n"
			 "bind vfio-pci " EDU2 "\n");
	ASSERT_STATE(BRIDGE, "", "(null)");
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
	ASSERT_STATE(EDU2, "vfio-pci", "vfio-pci");
	/* The bind file got the address, as the kernel's would. */
	ck_assert_str_eq(fakesys_read(guest_fs,
			 "sys/bus/pci/drivers/vfio-pci/bind"),
			 EDU2);
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 2), 1);
}
END_TEST

/* EDU2 refuses vfio-pci: everything goes back, in reverse order. */
START_TEST(test_rollback_member_refuses)
{
	struct vfg_plan *p;
	const char *log, *fail;

	fakesys_refuse(guest_fs, EDU2, "vfio-pci", EIO);
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	errno = 0;
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(p->failed, 2);
	ck_assert_int_eq(p->error, EIO);
	ck_assert_str_eq(p->step, "writing \"" EDU2
			 "\" to /sys/bus/pci/drivers/vfio-pci/bind");
	ck_assert_int_eq(p->rollback_failures, 0);
	ck_assert_int_eq(p->changes[0].done, 0);
	ck_assert_int_eq(p->changes[1].done, 0);
	vfg_plan_free(p);
	fakesys_assert_guest_state(guest_fs);
	/* The rollback, after the failed bind, went EDU2, EDU1, bridge. */
	log = fakesys_log(guest_fs);
	fail = strstr(log, "bind vfio-pci " EDU2 "\n");
	ck_assert_ptr_nonnull(fail);
	ck_assert_str_eq(fail,
			 "bind vfio-pci " EDU2 "\n"
			 "override " EDU2 " " UIO "\n"
			 "bind " UIO " " EDU2 "\n"
			 "override " EDU2 " -\n"
			 "unbind vfio-pci " EDU1 "\n"
			 "override " EDU1 " -\n"
			 "override " BRIDGE " shpchp\n"
			 "bind shpchp " BRIDGE "\n"
			 "override " BRIDGE " -\n");
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 2), 0);
}
END_TEST

/* The bind file itself cannot be written: the first bind fails. */
START_TEST(test_rollback_bind_file_unwritable)
{
	char path[PATH_MAX];
	struct vfg_plan *p;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci/bind",
		 fakesys_root(guest_fs));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	errno = 0;
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(p->failed, 1);
	ck_assert_int_eq(p->rollback_failures, 0);
	vfg_plan_free(p);
	fakesys_assert_guest_state(guest_fs);
}
END_TEST

/* A member that cannot even be put back is counted, the others restored. */
START_TEST(test_rollback_failure_counted)
{
	struct vfg_plan *p;

	fakesys_refuse(guest_fs, EDU2, "vfio-pci", EIO);
	fakesys_refuse(guest_fs, EDU2, UIO, ENOMEM);
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), -1);
	ck_assert_int_eq(p->error, EIO);
	ck_assert_int_eq(p->rollback_failures, 1);
	ck_assert_int_eq(p->changes[2].undo_error, ENOMEM);
	ck_assert_int_eq(p->changes[1].undo_error, 0);
	vfg_plan_free(p);
	ASSERT_STATE(BRIDGE, "shpchp", "(null)");
	ASSERT_STATE(EDU1, "", "(null)");
	ck_assert_str_eq(fakesys_driver_of(guest_fs, EDU2), "");
}
END_TEST

START_TEST(test_driver_not_loaded)
{
	struct vfg_plan *p;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci/bind",
		 fakesys_root(guest_fs));
	unlink(path);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci/unbind",
		 fakesys_root(guest_fs));
	unlink(path);
	path[strlen(path) - 7] = '\0';
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 1, &p), 0);
	errno = 0;
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(p->step, "driver vfio-pci is not loaded"));
	vfg_plan_free(p);
	ASSERT_STATE(LONE, "", "(null)");
}
END_TEST

START_TEST(test_bridge_left_alone_when_harmless)
{
	struct vfg_plan *p;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/%s/driver",
		 fakesys_root(guest_fs), BRIDGE);
	ck_assert_int_eq(unlink(path), 0);
	fakesys_bind(guest_fs, BRIDGE, "pcieport");
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(p->changes[0].action, VFG_ACTION_NONE);
	ck_assert_ptr_nonnull(strstr(p->changes[0].note, "left alone"));
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), 0);
	vfg_plan_free(p);
	ck_assert_ptr_null(strstr(fakesys_log(guest_fs), BRIDGE));
	ASSERT_STATE(BRIDGE, "pcieport", "(null)");
	ck_assert_int_eq(vfg_group_is_viable(guest_ctx, 2), 1);
}
END_TEST

START_TEST(test_already_bound)
{
	struct vfg_plan *p;

	ck_assert_int_eq(vfg_group_bind(guest_ctx, 1), 0);
	ASSERT_STATE(LONE, "vfio-pci", "vfio-pci");
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 1, &p), 0);
	ck_assert_int_eq(vfg_plan_is_empty(p), 1);
	ck_assert_ptr_nonnull(strstr(p->changes[0].note, "already bound"));
	vfg_plan_free(p);
}
END_TEST

START_TEST(test_driver_name_from_module)
{
	struct vfg_ctx *c2;

	fakesys_file(guest_fs, "sys/module/vfio_pci/parameters/driver_name",
		     "vfg-pci\n");
	fakesys_driver(guest_fs, "vfg-pci");
	c2 = vfg_ctx_new(fakesys_root(guest_fs));
	ck_assert_int_eq(vfg_group_bind(c2, 1), 0);
	ASSERT_STATE(LONE, "vfg-pci", "vfg-pci");
	vfg_ctx_free(c2);
}
END_TEST

START_TEST(test_record_roundtrip)
{
	struct vfg_plan *p, *q;
	char path[PATH_MAX];
	size_t i;

	snprintf(path, sizeof(path), "%s/record", fakesys_root(guest_fs));
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_plan_save(p, path), 0);
	ck_assert_int_eq(vfg_plan_load(path, &q), 0);
	ck_assert_int_eq(q->group, 2);
	ck_assert_uint_eq(q->n_changes, p->n_changes);
	for (i = 0; i < p->n_changes; i++) {
		ck_assert_str_eq(q->changes[i].device, p->changes[i].device);
		ck_assert_int_eq(q->changes[i].action, p->changes[i].action);
		ck_assert_str_eq(q->changes[i].old_driver,
				 p->changes[i].old_driver);
		ck_assert_str_eq(q->changes[i].old_override,
				 p->changes[i].old_override);
		ck_assert_str_eq(q->changes[i].new_driver,
				 p->changes[i].new_driver);
		ck_assert_str_eq(q->changes[i].new_override,
				 p->changes[i].new_override);
	}
	vfg_plan_free(p);
	vfg_plan_free(q);

	fakesys_file(guest_fs, "garbage", "not a record\n");
	snprintf(path, sizeof(path), "%s/garbage", fakesys_root(guest_fs));
	errno = 0;
	ck_assert_int_eq(vfg_plan_load(path, &q), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(q);
}
END_TEST

/* bind, record, unbind from the record: every member as it was. */
START_TEST(test_unbind_restores_record)
{
	struct vfg_plan *p, *u;

	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), 0);
	ck_assert_int_eq(vfg_group_plan_unbind(guest_ctx, 2, p, &u), 0);
	ck_assert_int_eq(u->changes[0].action, VFG_ACTION_RESTORE);
	ck_assert_str_eq(u->changes[0].new_driver, "shpchp");
	ck_assert_int_eq(u->changes[1].action, VFG_ACTION_RESTORE);
	ck_assert_str_eq(u->changes[1].new_driver, "");
	ck_assert_int_eq(u->changes[2].action, VFG_ACTION_RESTORE);
	ck_assert_str_eq(u->changes[2].new_driver, UIO);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, u), 0);
	vfg_plan_free(u);
	vfg_plan_free(p);
	fakesys_assert_guest_state(guest_fs);

	/* A record of another group is refused. */
	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	errno = 0;
	ck_assert_int_eq(vfg_group_plan_unbind(guest_ctx, 1, p, &u), -1);
	ck_assert_int_eq(errno, EINVAL);
	vfg_plan_free(p);
}
END_TEST

/* A member someone moved since the bind is left where it is. */
START_TEST(test_unbind_record_changed_since)
{
	struct vfg_plan *p, *u;
	char path[PATH_MAX];

	ck_assert_int_eq(vfg_group_plan_bind(guest_ctx, 2, &p), 0);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), 0);
	snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/%s/%s/driver",
		 fakesys_root(guest_fs), BRIDGE, EDU1);
	ck_assert_int_eq(unlink(path), 0);
	fakesys_bind(guest_fs, EDU1, "pci-stub");
	ck_assert_int_eq(vfg_group_plan_unbind(guest_ctx, 2, p, &u), 0);
	ck_assert_int_eq(u->changes[1].action, VFG_ACTION_NONE);
	ck_assert_ptr_nonnull(strstr(u->changes[1].note, "changed since"));
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, u), 0);
	vfg_plan_free(u);
	vfg_plan_free(p);
	ASSERT_STATE(BRIDGE, "shpchp", "(null)");
	ck_assert_str_eq(fakesys_driver_of(guest_fs, EDU1), "pci-stub");
	ASSERT_STATE(EDU2, UIO, "(null)");
}
END_TEST

/* No record: release to the kernel, which probes the usual driver. */
START_TEST(test_unbind_without_record)
{
	struct vfg_plan *p;

	ck_assert_int_eq(vfg_group_bind(guest_ctx, 2), 0);
	ck_assert_int_eq(vfg_group_plan_unbind(guest_ctx, 2, NULL, &p), 0);
	ck_assert_int_eq(p->changes[0].action, VFG_ACTION_NONE);
	ck_assert_int_eq(p->changes[1].action, VFG_ACTION_RELEASE);
	ck_assert_int_eq(p->changes[2].action, VFG_ACTION_RELEASE);
	ck_assert_int_eq(p->changes[2].probe, 1);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), 0);
	vfg_plan_free(p);
	ck_assert_ptr_nonnull(strstr(fakesys_log(guest_fs),
				     "unbind vfio-pci " EDU2 "\n"
				     "override " EDU2 " -\n"
				     "probe " EDU2 "\n"));
	ASSERT_STATE(EDU1, "", "(null)");
	ASSERT_STATE(EDU2, UIO, "(null)");
	/* The bridge was not ours to give back. */
	ASSERT_STATE(BRIDGE, "", "(null)");
}
END_TEST

/* An unbind that fails half-way binds the released members again. */
START_TEST(test_unbind_rollback)
{
	struct vfg_plan *p;
	char path[PATH_MAX];

	ck_assert_int_eq(vfg_group_bind(guest_ctx, 2), 0);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers_probe",
		 fakesys_root(guest_fs));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(vfg_group_plan_unbind(guest_ctx, 2, NULL, &p), 0);
	ck_assert_int_eq(vfg_plan_apply(guest_ctx, p), -1);
	ck_assert_int_eq(p->failed, 1);
	ck_assert_int_eq(p->rollback_failures, 0);
	vfg_plan_free(p);
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
	ASSERT_STATE(EDU2, "vfio-pci", "vfio-pci");
}
END_TEST

START_TEST(test_group_bind_unbind_lone)
{
	ck_assert_int_eq(vfg_group_bind(guest_ctx, 1), 0);
	ASSERT_STATE(LONE, "vfio-pci", "vfio-pci");
	ck_assert_int_eq(vfg_group_unbind(guest_ctx, 1), 0);
	ASSERT_STATE(LONE, "", "(null)");
	errno = 0;
	ck_assert_int_eq(vfg_group_bind(guest_ctx, 7), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(vfg_action_name(VFG_ACTION_BIND), "bind");
	ck_assert_str_eq(vfg_action_name(VFG_ACTION_RELEASE), "release");
	ck_assert_str_eq(vfg_action_name((enum vfg_action)99), "?");
}
END_TEST

Suite *bind_suite(void)
{
	Suite *s = suite_create("bind");
	TCase *tc = tcase_create("bind");

	tcase_add_checked_fixture(tc, guest_kernel_setup, guest_teardown);
	tcase_add_test(tc, test_plan_bridge_group);
	tcase_add_test(tc, test_bind_bridge_group);
	tcase_add_test(tc, test_rollback_member_refuses);
	tcase_add_test(tc, test_rollback_bind_file_unwritable);
	tcase_add_test(tc, test_rollback_failure_counted);
	tcase_add_test(tc, test_driver_not_loaded);
	tcase_add_test(tc, test_bridge_left_alone_when_harmless);
	tcase_add_test(tc, test_already_bound);
	tcase_add_test(tc, test_driver_name_from_module);
	tcase_add_test(tc, test_record_roundtrip);
	tcase_add_test(tc, test_unbind_restores_record);
	tcase_add_test(tc, test_unbind_record_changed_since);
	tcase_add_test(tc, test_unbind_without_record);
	tcase_add_test(tc, test_unbind_rollback);
	tcase_add_test(tc, test_group_bind_unbind_lone);
	tcase_add_test(tc, test_action_names);
	suite_add_tcase(s, tc);
	return s;
}
