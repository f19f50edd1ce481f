// SPDX-License-Identifier: GPL-2.0
/*
 * The modules load and unload cleanly and show themselves under the
 * kernel's names, which DPDK, modprobe and admins look for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
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
	/* Held by vfio_pci and vfio_iommu_type1 alone. */
	ASSERT_EQ(0, vfg_sysfs_read("/sys/module/vfio/refcnt", buf,
				    sizeof(buf)));
	EXPECT_STREQ("2", buf);
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
 * The modules have the kernel's names: vfio, vfio_iommu_type1 and vfio_pci
 * (DPDK and dpdk-devbind look for /sys/module/vfio_pci before they use the
 * vfio-pci driver), the last two using the first; the PCI driver is named
 * vfio-pci unless driver_name says otherwise.
 */
TEST_F(module, upstream_module_names)
{
	static const char *const dirs[] = {
		"/sys/module/vfio_pci", "/sys/module/vfio_iommu_type1",
		"/sys/module/vfio/holders/vfio_pci",
		"/sys/module/vfio/holders/vfio_iommu_type1",
		"/sys/bus/pci/drivers/vfio-pci",
	};
	unsigned int i;

	ASSERT_EQ(0, vfg_module_load(NULL));
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		errno = 0;
		access(dirs[i], F_OK);
		EXPECT_EQ(0, errno) TH_LOG("%u: %s", i, strerror(errno));
	}
	/* vfio cannot go while the others use it. */
	EXPECT_NE(0, syscall(SYS_delete_module, "vfio", O_NONBLOCK));
	ASSERT_EQ(0, vfg_module_unload());
	EXPECT_NE(0, access("/sys/module/vfio_pci", F_OK));
	EXPECT_NE(0, access("/sys/bus/pci/drivers/vfio-pci", F_OK));

	ASSERT_EQ(0, vfg_module_load("driver_name=vfg-other"));
	EXPECT_EQ(0, access("/sys/bus/pci/drivers/vfg-other", F_OK));
	EXPECT_NE(0, access("/sys/bus/pci/drivers/vfio-pci", F_OK));
	ASSERT_EQ(0, vfg_module_unload());
}

/* vfio_iommu_type1's parameters, under their upstream names. */
TEST_F(module, type1_parameters)
{
	static const char *const p = "/sys/module/vfio_iommu_type1/parameters/";
	char path[256], buf[32];

	ASSERT_EQ(0, vfg_module_load("allow_unsafe_interrupts=1 "
				     "dma_entry_limit=77 disable_hugepages=1"));
	snprintf(path, sizeof(path), "%sallow_unsafe_interrupts", p);
	ASSERT_EQ(0, vfg_sysfs_read(path, buf, sizeof(buf)));
	EXPECT_STREQ("Y", buf);
	snprintf(path, sizeof(path), "%sdma_entry_limit", p);
	ASSERT_EQ(0, vfg_sysfs_read(path, buf, sizeof(buf)));
	EXPECT_STREQ("77", buf);
	snprintf(path, sizeof(path), "%sdisable_hugepages", p);
	ASSERT_EQ(0, vfg_sysfs_read(path, buf, sizeof(buf)));
	EXPECT_STREQ("Y", buf);
	ASSERT_EQ(0, vfg_module_unload());
}

/*
 * vfio-pci's ids= binds every matching device that has no driver, as the
 * kernel's does; unloading gives them back.
 */
TEST_F(module, pci_ids_bind_unbound_devices)
{
	char bdfs[8][13], drv[64];
	int n, i;

	n = vfg_find_pci(EDU_VENDOR, EDU_DEVICE, bdfs, 8);
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vfg_pci_driver(bdfs[i], drv, sizeof(drv)));
		ASSERT_STREQ("", drv);
	}
	ASSERT_EQ(0, vfg_module_load("ids=1234:11e8,nonsense"));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vfg_pci_driver(bdfs[i], drv, sizeof(drv)));
		EXPECT_STREQ("vfio-pci", drv) TH_LOG("%s", bdfs[i]);
	}
	ASSERT_EQ(0, vfg_module_unload());
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vfg_pci_driver(bdfs[i], drv, sizeof(drv)));
		EXPECT_STREQ("", drv);
	}
}

TEST_HARNESS_MAIN
