// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's IOMMU groups are what the test bed's topology promises: the
 * lone edu is alone in its group; the edus behind the conventional PCI bridge
 * share one group with the bridge.  Read through libvfiogroup, so this also
 * checks the library against a real sysfs.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"

FIXTURE(topo) {
	struct vfg_ctx *ctx;
	char edu[8][13];
	int nr_edu;
};

FIXTURE_SETUP(topo)
{
	self->ctx = vfg_ctx_new(NULL);
	ASSERT_NE(NULL, self->ctx);
	self->nr_edu = vfg_find_pci(EDU_VENDOR, EDU_DEVICE, self->edu, 8);
	ASSERT_GE(self->nr_edu, 4);
}

FIXTURE_TEARDOWN(topo)
{
	vfg_ctx_free(self->ctx);
}

/* Every PCI function but the IOMMU itself (AMD-Vi is a PCI function). */
TEST_F(topo, every_device_has_a_group)
{
	char (*bdfs)[13];
	int i, n = vfg_pci_list(&bdfs);

	ASSERT_LE(0, n);
	for (i = 0; i < n; i++)
		if (!vfg_pci_is_iommu(bdfs[i]))
			EXPECT_LE(0, vfg_device_get_group(self->ctx, bdfs[i]))
				TH_LOG("%s has no IOMMU group", bdfs[i]);
	free(bdfs);
}

/* @bdf is alone in its group; the group. */
static int expect_alone(struct __test_metadata *_metadata, struct vfg_ctx *ctx,
			const char *bdf)
{
	char **m = NULL;
	int g = vfg_device_get_group(ctx, bdf);

	EXPECT_LE(0, g);
	EXPECT_EQ(1, vfg_group_get_members(ctx, g, &m));
	if (g >= 0 && m) {
		EXPECT_STREQ(bdf, m[0]);
		vfg_strv_free(m);
	}
	return g;
}

TEST_F(topo, root_bus_edu_alone)
{
	struct vfg_topo t;

	ASSERT_EQ(0, vfg_topo_find(&t));
	expect_alone(_metadata, self->ctx, t.lone);
}

/* Conventional PCI cannot tell the devices behind a bridge apart. */
TEST_F(topo, bridge_edus_share_group_with_bridge)
{
	struct vfg_topo t;
	char **m;
	int g;

	ASSERT_EQ(0, vfg_topo_find(&t));
	EXPECT_FALSE(vfg_pci_is_pcie(t.bridge));
	g = vfg_device_get_group(self->ctx, t.bridge);
	ASSERT_LE(0, g);
	EXPECT_EQ(g, vfg_device_get_group(self->ctx, t.bedu[0]));
	EXPECT_EQ(g, vfg_device_get_group(self->ctx, t.bedu[1]));
	ASSERT_EQ(3, vfg_group_get_members(self->ctx, g, &m));
	EXPECT_STREQ(t.bridge, m[0]);
	vfg_strv_free(m);
}

/* A PCIe root port with ACS isolates the device behind it. */
TEST_F(topo, root_port_edu_alone)
{
	struct vfg_topo t;
	int g;

	ASSERT_EQ(0, vfg_topo_find(&t));
	ASSERT_NE(0, t.pedu[0]);
	EXPECT_TRUE(vfg_pci_is_pcie(t.port));
	g = expect_alone(_metadata, self->ctx, t.pedu);
	EXPECT_NE(g, vfg_device_get_group(self->ctx, t.port));
}

/* Every member listed under a group links back to that group. */
TEST_F(topo, group_links_consistent)
{
	struct dirent *de;
	DIR *d = opendir("/sys/kernel/iommu_groups");
	int g, n, i, groups = 0;
	char **m;

	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		g = atoi(de->d_name);
		n = vfg_group_get_members(self->ctx, g, &m);
		ASSERT_LE(1, n);
		for (i = 0; i < n; i++)
			EXPECT_EQ(g, vfg_device_get_group(self->ctx, m[i]));
		vfg_strv_free(m);
		groups++;
	}
	closedir(d);
	EXPECT_LE(3, groups);
}

TEST_HARNESS_MAIN
