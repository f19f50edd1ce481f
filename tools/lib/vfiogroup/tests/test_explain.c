// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Why groups have their members: config spaces laid out like real
 * topologies, and the reasons the kernel's grouping rules give.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

#define ACS_ALL		0x1d	/* SV RR CR UF */

static struct fakesys *fs;
static struct vfg_ctx *ctx;

static void setup(void)
{
	fs = fakesys_new();
}

static void teardown(void)
{
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}

static struct vfg_ctx *open_ctx(void)
{
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
	return ctx;
}

static void pcie_dev(const char *bdf, int type, int mf, int acs)
{
	struct fakesys_pci id = {
		.vendor = 0x8086, .device = 0x1234, .class = 0x020000,
		.multifunction = mf, .pcie_type = type, .acs_ctrl = acs,
	};

	fakesys_pci(fs, bdf, &id);
}

#define PORT	"0000:00:1c.0"

/*
 * Root port PORT in group @pg with ACS control @acs, and behind it PCIe
 * function @dev, of port type @type, in group @g.
 */
static void port_and_dev(int pg, int acs, const char *dev, int type, int g)
{
	fakesys_device(fs, PORT, pg);
	fakesys_root_port(fs, PORT, acs);
	fakesys_device_below(fs, dev, PORT, g);
	pcie_dev(dev, type, 0, FAKESYS_NO_ACS);
}

START_TEST(test_conventional_bridge_aliases)
{
	struct vfg_why *w;

	fakesys_device(fs, "0000:00:05.0", 2);
	fakesys_pci_bridge(fs, "0000:00:05.0");
	fakesys_device_below(fs, "0000:01:01.0", "0000:00:05.0", 2);
	fakesys_device_below(fs, "0000:01:02.0", "0000:00:05.0", 2);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 2, &w), 2);
	ck_assert_int_eq(w[0].kind, VFG_WHY_ALIAS);
	ck_assert_str_eq(w[0].device, "0000:01:01.0");
	ck_assert_str_eq(w[0].at, "0000:00:05.0");
	ck_assert_ptr_nonnull(strstr(w[0].text, "conventional PCI bridge"));
	ck_assert_ptr_nonnull(strstr(w[0].text, "requester ID"));
	ck_assert_int_eq(w[1].kind, VFG_WHY_ALIAS);
	ck_assert_str_eq(w[1].device, "0000:01:02.0");
	free(w);
}
END_TEST

START_TEST(test_pcie_to_pci_bridge_aliases)
{
	struct vfg_why *w;

	port_and_dev(3, ACS_ALL, "0000:01:00.0", 7, 4);
	fakesys_attr(fs, "0000:01:00.0", "class", "0x060400\n");
	fakesys_device_below(fs, "0000:02:01.0", "0000:01:00.0", 4);
	fakesys_device_below(fs, "0000:02:02.0", "0000:01:00.0", 4);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 4, &w), 2);
	ck_assert_int_eq(w[0].kind, VFG_WHY_ALIAS);
	ck_assert_str_eq(w[0].at, "0000:01:00.0");
	ck_assert_ptr_nonnull(strstr(w[0].text, "PCIe-to-PCI bridge"));
	free(w);
	/* The root port isolates (ACS): it is alone. */
	ck_assert_int_eq(vfg_group_explain(ctx, 3, &w), 0);
	free(w);
}
END_TEST

START_TEST(test_root_port_without_acs)
{
	struct vfg_why *w;

	port_and_dev(5, FAKESYS_NO_ACS, "0000:01:00.0", 0, 5);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 5, &w), 1);
	ck_assert_int_eq(w[0].kind, VFG_WHY_NO_ACS);
	ck_assert_str_eq(w[0].device, "0000:01:00.0");
	ck_assert_str_eq(w[0].at, PORT);
	ck_assert_ptr_nonnull(strstr(w[0].text, "does not enable ACS"));
	free(w);
}
END_TEST

/* ACS present but request redirect not enabled: still not isolated. */
START_TEST(test_root_port_acs_partly_enabled)
{
	struct vfg_why *w;

	port_and_dev(5, 0x01, "0000:01:00.0", 0, 5);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 5, &w), 1);
	ck_assert_int_eq(w[0].kind, VFG_WHY_NO_ACS);
	free(w);
}
END_TEST

/* A switch: the downstream port lacks ACS, the root port has it. */
START_TEST(test_switch_downstream_port_without_acs)
{
	struct vfg_why *w;

	port_and_dev(1, ACS_ALL, "0000:01:00.0", 5, 2);
	fakesys_device_below(fs, "0000:02:01.0", "0000:01:00.0", 3);
	pcie_dev("0000:02:01.0", 6, 0, FAKESYS_NO_ACS);
	fakesys_device_below(fs, "0000:03:00.0", "0000:02:01.0", 3);
	pcie_dev("0000:03:00.0", 0, 0, FAKESYS_NO_ACS);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 3, &w), 1);
	ck_assert_int_eq(w[0].kind, VFG_WHY_NO_ACS);
	ck_assert_str_eq(w[0].device, "0000:03:00.0");
	ck_assert_str_eq(w[0].at, "0000:02:01.0");
	free(w);
}
END_TEST

START_TEST(test_multifunction_without_acs)
{
	static const char *const fn[] = {
		"0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3",
	};
	struct vfg_why *w;
	int i;

	for (i = 0; i < 3; i++) {
		fakesys_device(fs, fn[i], 8);
		pcie_dev(fn[i], 9, 1, FAKESYS_NO_ACS);
	}
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 8, &w), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(w[i].kind, VFG_WHY_MULTIFUNCTION);
		ck_assert_str_eq(w[i].device, fn[i]);
		ck_assert_ptr_nonnull(strstr(w[i].text, "0000:00:1f without ACS"));
	}
	free(w);
}
END_TEST

/* Multifunction with ACS on every function: no reason to group them. */
START_TEST(test_multifunction_with_acs_unexplained)
{
	struct vfg_why *w;

	fakesys_device(fs, "0000:00:1f.0", 8);
	pcie_dev("0000:00:1f.0", 9, 1, ACS_ALL);
	fakesys_device(fs, "0000:00:1f.1", 8);
	pcie_dev("0000:00:1f.1", 9, 1, ACS_ALL);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 8, &w), 2);
	ck_assert_int_eq(w[0].kind, VFG_WHY_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(w[0].text, "quirk"));
	free(w);
}
END_TEST

/* Without root, sysfs shows 64 bytes of config space: unknown. */
START_TEST(test_unreadable_config)
{
	struct fakesys_pci id = {
		.vendor = 0x1b36, .device = 0x000c, .class = 0x060400,
		.header_type = 1, .pcie_type = 4, .acs_ctrl = FAKESYS_NO_ACS,
		.short_config = 1,
	};
	struct vfg_why *w;

	fakesys_device(fs, PORT, 5);
	fakesys_pci(fs, PORT, &id);
	fakesys_device_below(fs, "0000:01:00.0", PORT, 5);
	pcie_dev("0000:01:00.0", 0, 0, FAKESYS_NO_ACS);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 5, &w), 1);
	ck_assert_int_eq(w[0].kind, VFG_WHY_UNKNOWN);
	ck_assert_str_eq(w[0].at, PORT);
	ck_assert_ptr_nonnull(strstr(w[0].text, "run as root"));
	free(w);
}
END_TEST

START_TEST(test_group_of_one_and_missing)
{
	struct vfg_why *w = (void *)1;

	fakesys_device(fs, "0000:00:04.0", 1);
	ck_assert_int_eq(vfg_group_explain(open_ctx(), 1, &w), 0);
	ck_assert_ptr_null(w);
	errno = 0;
	ck_assert_int_eq(vfg_group_explain(ctx, 6, &w), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *explain_suite(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("explain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_conventional_bridge_aliases);
	tcase_add_test(tc, test_pcie_to_pci_bridge_aliases);
	tcase_add_test(tc, test_root_port_without_acs);
	tcase_add_test(tc, test_root_port_acs_partly_enabled);
	tcase_add_test(tc, test_switch_downstream_port_without_acs);
	tcase_add_test(tc, test_multifunction_without_acs);
	tcase_add_test(tc, test_multifunction_with_acs_unexplained);
	tcase_add_test(tc, test_unreadable_config);
	tcase_add_test(tc, test_group_of_one_and_missing);
	suite_add_tcase(s, tc);
	return s;
}
