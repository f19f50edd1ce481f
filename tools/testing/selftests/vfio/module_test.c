// SPDX-License-Identifier: GPL-2.0
/*
 * The module loads and unloads cleanly and shows itself as "vfio", which
 * DPDK and others look for.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

FIXTURE(module) {
	int unused;
};

FIXTURE_SETUP(module)
{
	/* Start every test from an unloaded module. */
	if (vfg_module_loaded())
		ASSERT_EQ(0, vfg_module_unload());
}

FIXTURE_TEARDOWN(module)
{
	if (vfg_module_loaded())
		vfg_module_unload();
}

TEST_F(module, load_unload)
{
	char buf[64];

	ASSERT_EQ(0, vfg_module_load(NULL));
	ASSERT_TRUE(vfg_module_loaded());
	ASSERT_EQ(0, vfg_sysfs_read("/sys/module/vfio/initstate", buf,
				    sizeof(buf)));
	EXPECT_STREQ("live", buf);
	ASSERT_EQ(0, vfg_sysfs_read("/sys/module/vfio/refcnt", buf,
				    sizeof(buf)));
	EXPECT_STREQ("0", buf);
	ASSERT_EQ(0, vfg_module_unload());
	ASSERT_FALSE(vfg_module_loaded());
}

TEST_F(module, load_twice)
{
	ASSERT_EQ(0, vfg_module_load(NULL));
	EXPECT_EQ(-EEXIST, vfg_module_load(NULL));
	EXPECT_EQ(0, vfg_module_unload());
}

TEST_F(module, unload_when_not_loaded)
{
	EXPECT_EQ(-ENOENT, vfg_module_unload());
}

TEST_F(module, reload_cycles)
{
	int i;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, vfg_module_load(NULL));
		ASSERT_EQ(0, vfg_module_unload());
	}
	ASSERT_FALSE(vfg_module_loaded());
}

TEST_F(module, version_reported)
{
	char buf[64];

	ASSERT_EQ(0, vfg_module_load(NULL));
	ASSERT_EQ(0, vfg_sysfs_read("/sys/module/vfio/version", buf,
				    sizeof(buf)));
	EXPECT_GT(strlen(buf), 0);
}

/*
 * DPDK and dpdk-devbind look for /sys/module/vfio_pci before using the
 * vfio-pci driver; it stands in for the kernel's module while our driver
 * has that name.
 */
TEST_F(module, vfio_pci_module_dir)
{
	ASSERT_EQ(0, vfg_module_load(NULL));
	EXPECT_EQ(0, access("/sys/module/vfio_pci", F_OK));
	ASSERT_EQ(0, vfg_module_unload());
	EXPECT_NE(0, access("/sys/module/vfio_pci", F_OK));

	ASSERT_EQ(0, vfg_module_load("driver_name=vfg-other"));
	EXPECT_NE(0, access("/sys/module/vfio_pci", F_OK));
	ASSERT_EQ(0, vfg_module_unload());
}

TEST_HARNESS_MAIN
