// SPDX-License-Identifier: GPL-2.0
/*
 * Idle power: a device bound to vfio-pci and not open sits in D3hot (runtime
 * PM), is in D0 with its state restored while a device fd has it, and goes
 * back to D3hot after the last close; vfio-pci.disable_idle_d3 keeps it in
 * D0.  The e1000e of the test topology has a PM capability (the edu has
 * none).  Runs against the kernel's vfio-pci too, which does the same.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"

/* Wait up to @ms for @bdf's power_state to be @want; the last one read. */
static void wait_power(const char *bdf, const char *want, int ms,
		       char *state, size_t len)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/power_state",
		 bdf);
	for (;;) {
		if (vfg_sysfs_read(path, state, len))
			snprintf(state, len, "?");
		if (!strcmp(state, want) || ms <= 0)
			return;
		nanosleep(&ts, NULL);
		ms -= 10;
	}
}

FIXTURE(power) {
	struct vfg_topo t;
	struct vfg_dev d;
};

FIXTURE_SETUP(power)
{
	vfg_dev_init(&self->d);
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
}

FIXTURE_TEARDOWN(power)
{
	vfg_dev_close(&self->d);
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

TEST_F(power, idle_device_in_d3hot)
{
	char state[32];
	uint32_t v = 0;

	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	ASSERT_STREQ("D3hot", state);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	wait_power(self->t.nic, "D0", 0, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	/* Awake and restored: its IDs, and a BAR that answers. */
	EXPECT_EQ(0x8086, vfg_cfg_read16(self->d.fd, 0));
	ASSERT_EQ(4, vfg_region_read(self->d.fd, VFIO_PCI_BAR0_REGION_INDEX, 8,
				     &v, 4));
	EXPECT_NE(0xffffffffu, v);

	vfg_dev_close(&self->d);
	wait_power(self->t.nic, "D3hot", 5000, state, sizeof(state));
	EXPECT_STREQ("D3hot", state);
}

TEST_F(power, disable_idle_d3_keeps_d0)
{
	char state[32];

	if (!vfg_ours())
		SKIP(return, "reloads our modules");
	ASSERT_EQ(0, vfg_vfio_unload_all());
	ASSERT_EQ(0, vfg_module_load(vfg_irq_remapping() ?
				     "disable_idle_d3=1" :
				     "disable_idle_d3=1 allow_unsafe_interrupts=1"));
	/* Its driver_override binds it as the driver registers. */
	ASSERT_EQ(0, vfg_pci_driver(self->t.nic, state, sizeof(state)));
	if (strcmp(state, "vfio-pci"))
		ASSERT_EQ(0, vfg_pci_bind(self->t.nic, "vfio-pci"));
	wait_power(self->t.nic, "D3hot", 1000, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.nic));
	EXPECT_EQ(0x8086, vfg_cfg_read16(self->d.fd, 0));
	vfg_dev_close(&self->d);
	wait_power(self->t.nic, "D3hot", 1000, state, sizeof(state));
	EXPECT_STREQ("D0", state);
	/* Back to the defaults for the next test. */
	EXPECT_EQ(0, vfg_vfio_unload_all());
}

TEST_HARNESS_MAIN
