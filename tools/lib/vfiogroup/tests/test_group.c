// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the group helpers against fake sysfs trees.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

static struct fakesys *fs;
static struct vfg_ctx *ctx;

/*
 * The guest's default topology: a lone device, a conventional PCI bridge
 * whose two devices share its group, and a device with no group at all.
 */
static void setup(void)
{
	fs = fakesys_new();
	ck_assert_ptr_nonnull(fs);
	fakesys_device(fs, "0000:00:04.0", 1);
	fakesys_device(fs, "0000:00:05.0", 2);
	fakesys_device(fs, "0000:01:02.0", 2);
	fakesys_device(fs, "0000:01:01.0", 2);
	fakesys_device(fs, "0000:00:1f.0", FAKESYS_NO_GROUP);
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
}

static void teardown(void)
{
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}

START_TEST(test_group_of_device)
{
	ck_assert_int_eq(vfg_device_get_group(ctx, "0000:00:04.0"), 1);
	ck_assert_int_eq(vfg_device_get_group(ctx, "0000:01:01.0"), 2);
	/* The domain may be left out, and hex may be upper case. */
	ck_assert_int_eq(vfg_device_get_group(ctx, "01:02.0"), 2);
	ck_assert_int_eq(vfg_device_get_group(ctx, "0000:00:1F.0"), VFG_NO_GROUP);
}
END_TEST

START_TEST(test_group_of_missing_device)
{
	errno = 0;
	ck_assert_int_eq(vfg_device_get_group(ctx, "0000:00:09.0"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static const char *const bad_addrs[] = {
	"", "nonsense", "0000:00:04", "0000:00:20.0", "0000:00:04.8",
	"0000:100:04.0", "10000:00:04.0", "0000:00:04.0x", "../../etc",
	"0000:00:04.0/../..", " 0000:00:04.0",
};

START_TEST(test_group_of_bad_address)
{
	errno = 0;
	ck_assert_int_eq(vfg_device_get_group(ctx, bad_addrs[_i]), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_members_sorted)
{
	char **m = NULL;

	ck_assert_int_eq(vfg_group_get_members(ctx, 2, &m), 3);
	ck_assert_str_eq(m[0], "0000:00:05.0");
	ck_assert_str_eq(m[1], "0000:01:01.0");
	ck_assert_str_eq(m[2], "0000:01:02.0");
	ck_assert_ptr_null(m[3]);
	vfg_strv_free(m);

	ck_assert_int_eq(vfg_group_get_members(ctx, 1, &m), 1);
	ck_assert_str_eq(m[0], "0000:00:04.0");
	vfg_strv_free(m);
}
END_TEST

START_TEST(test_members_of_missing_group)
{
	char **m = (char **)1;

	errno = 0;
	ck_assert_int_eq(vfg_group_get_members(ctx, 7, &m), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(vfg_group_get_members(ctx, -1, &m), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

struct walk {
	int calls;
	int stop_at;
	char seen[4][13];
};

static int walk_cb(const char *bdf, void *opaque)
{
	struct walk *w = opaque;

	if (w->calls < 4)
		strcpy(w->seen[w->calls], bdf);
	if (++w->calls == w->stop_at)
		return 42;
	return 0;
}

START_TEST(test_for_each_device)
{
	struct walk w = { 0 };

	ck_assert_int_eq(vfg_group_for_each_device(ctx, 2, walk_cb, &w), 0);
	ck_assert_int_eq(w.calls, 3);
	ck_assert_str_eq(w.seen[1], "0000:01:01.0");

	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	ck_assert_int_eq(vfg_group_for_each_device(ctx, 2, walk_cb, &w), 42);
	ck_assert_int_eq(w.calls, 2);
}
END_TEST

START_TEST(test_bdf_normalize)
{
	char out[13];

	ck_assert_int_eq(vfg_bdf_normalize("1:2.3", out), 0);
	ck_assert_str_eq(out, "0000:01:02.3");
	ck_assert_int_eq(vfg_bdf_normalize("ABCD:EF:1f.7", out), 0);
	ck_assert_str_eq(out, "abcd:ef:1f.7");
	ck_assert_int_eq(vfg_bdf_normalize(NULL, out), -1);
}
END_TEST

/*
 * A no-IOMMU group: made by VFIO for a device no IOMMU translates, named
 * "vfio-noiommu", with its node and vfio attributes under "noiommu-N".
 */
static void add_noiommu(int group, const char *bdf)
{
	char p[128];

	fakesys_device(fs, bdf, group);
	snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/name", group);
	fakesys_file(fs, p, "vfio-noiommu\n");
}

START_TEST(test_noiommu_by_name)
{
	char node[64];

	add_noiommu(7, "0000:00:06.0");
	ck_assert_int_eq(vfg_group_is_noiommu(ctx, 7), 1);
	ck_assert_int_eq(vfg_group_is_noiommu(ctx, 1), 0);
	/* A name of another IOMMU driver's group is not it. */
	fakesys_file(fs, "sys/kernel/iommu_groups/2/name", "other\n");
	ck_assert_int_eq(vfg_group_is_noiommu(ctx, 2), 0);
	errno = 0;
	ck_assert_int_eq(vfg_group_is_noiommu(ctx, 9), -1);
	ck_assert_int_eq(errno, ENOENT);

	ck_assert_int_eq(vfg_group_get_node(ctx, 7, node, sizeof(node)), 0);
	ck_assert_str_eq(node, "/dev/vfio/noiommu-7");
	ck_assert_int_eq(vfg_group_get_node(ctx, 1, node, sizeof(node)), 0);
	ck_assert_str_eq(node, "/dev/vfio/1");
	errno = 0;
	ck_assert_int_eq(vfg_group_get_node(ctx, 7, node, 10), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	errno = 0;
	ck_assert_int_eq(vfg_group_get_node(ctx, 9, node, sizeof(node)), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* Without the module: the library's reading, marked no-IOMMU. */
START_TEST(test_noiommu_status_library)
{
	struct vfg_group_status *st = NULL;

	add_noiommu(7, "0000:00:06.0");
	ck_assert_int_eq(vfg_group_get_status(ctx, 7, &st), 0);
	ck_assert_int_eq(st->noiommu, 1);
	ck_assert_str_eq(st->node, "/dev/vfio/noiommu-7");
	ck_assert_int_eq(st->from_kernel, 0);
	ck_assert_uint_eq(st->n_devices, 1);
	ck_assert_str_eq(st->devices[0].name, "0000:00:06.0");
	vfg_group_status_free(st);

	ck_assert_int_eq(vfg_group_get_status(ctx, 1, &st), 0);
	ck_assert_int_eq(st->noiommu, 0);
	ck_assert_str_eq(st->node, "/dev/vfio/1");
	vfg_group_status_free(st);
}
END_TEST

/* With the module: its attributes are read from noiommu-N. */
START_TEST(test_noiommu_status_kernel)
{
	struct vfg_group_status *st = NULL;

	add_noiommu(7, "0000:00:06.0");
	fakesys_file(fs, "sys/class/vfio/noiommu-7/viable", "1\n");
	fakesys_file(fs, "sys/class/vfio/noiommu-7/blockers", "");
	fakesys_file(fs, "sys/class/vfio/noiommu-7/holder", "4242\n");
	/* The class device says it even without the group's name. */
	fakesys_device(fs, "0000:00:07.0", 8);
	fakesys_file(fs, "sys/class/vfio/noiommu-8/viable", "1\n");
	ck_assert_int_eq(vfg_group_is_noiommu(ctx, 8), 1);
	ck_assert_int_eq(vfg_group_get_status(ctx, 7, &st), 0);
	ck_assert_int_eq(st->noiommu, 1);
	ck_assert_int_eq(st->from_kernel, 1);
	ck_assert_int_eq(st->viable, 1);
	ck_assert_int_eq(st->holder, 4242);
	vfg_group_status_free(st);
	ck_assert_int_eq(vfg_group_is_viable(ctx, 7), 1);
	fakesys_file(fs, "sys/class/vfio/noiommu-7/viable", "0\n");
	ck_assert_int_eq(vfg_group_is_viable(ctx, 7), 0);
}
END_TEST

Suite *group_suite(void)
{
	Suite *s = suite_create("group");
	TCase *tc = tcase_create("sysfs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_group_of_device);
	tcase_add_test(tc, test_group_of_missing_device);
	tcase_add_loop_test(tc, test_group_of_bad_address, 0,
			    sizeof(bad_addrs) / sizeof(bad_addrs[0]));
	tcase_add_test(tc, test_members_sorted);
	tcase_add_test(tc, test_members_of_missing_group);
	tcase_add_test(tc, test_for_each_device);
	tcase_add_test(tc, test_bdf_normalize);
	tcase_add_test(tc, test_noiommu_by_name);
	tcase_add_test(tc, test_noiommu_status_library);
	tcase_add_test(tc, test_noiommu_status_kernel);
	suite_add_tcase(s, tc);
	return s;
}
