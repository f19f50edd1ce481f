// SPDX-License-Identifier: GPL-2.0
/*
 * What KVM sees: the vfio_file_* functions, called through vfg_kvm_test.ko
 * as 6.1's virt/kvm/vfio.c calls them (KVM itself cannot run in a TCG
 * guest).  Runs against the kernel's own VFIO too, which exports the same
 * functions.
 *
 * The coherency answer is checked against the IOMMU: VT-d enforces it when
 * its extended capabilities have Snoop Control (ECAP bit 7; QEMU's
 * intel-iommu,snoop-control=on), AMD-Vi always does.
 *
 * Interrupt bypass is checked with vfg_bypass_test.ko, an irq-bypass
 * consumer whose token is an eventfd, as KVM's irqfd is: it must be
 * connected to the MSI vector whose trigger is that eventfd exactly while
 * the vector is enabled.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "modules/vfg_bypass_test.h"
#include "modules/vfg_kvm_test.h"

#define ALL_FOUND 0xf

/* 1 if this IOMMU enforces cache coherency, 0 if not, -1 if unknown. */
static int iommu_coherent(void)
{
	unsigned long ecap;

	if (!vfg_sysfs_read_hex("/sys/class/iommu/dmar0/intel-iommu/ecap",
				&ecap))
		return (ecap >> 7) & 1;
	if (!access("/sys/class/iommu/ivhd0", F_OK))
		return 1;
	return -1;
}

static int probe(int kfd, int fd, struct vfg_kvm_test_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	return ioctl(kfd, VFG_KVM_TEST_PROBE, p);
}

FIXTURE(kvm) {
	struct vfg_topo t;
	struct vfg_dev d;
	int kfd;
};

FIXTURE_SETUP(kvm)
{
	int ret;

	vfg_dev_init(&self->d);
	self->kfd = -1;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	ret = vfg_test_module_load("vfg_kvm_test", NULL);
	ASSERT_TRUE(!ret || ret == -EEXIST);
	self->kfd = open("/dev/vfg_kvm_test", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->kfd);
}

FIXTURE_TEARDOWN(kvm)
{
	if (self->kfd >= 0)
		close(self->kfd);
	vfg_dev_close(&self->d);
	EXPECT_EQ(0, vfg_test_module_unload("vfg_kvm_test"));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

/* vfio_file_is_group() tells a group file from any other. */
TEST_F(kvm, is_group)
{
	struct vfg_kvm_test_probe p;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
	ASSERT_EQ(0, probe(self->kfd, self->d.group, &p));
	EXPECT_EQ(ALL_FOUND, p.found);
	EXPECT_EQ(1, p.is_group);
	/* Only SPAPR's KVM needs the IOMMU group: NULL on x86. */
	EXPECT_EQ(0, p.has_iommu_group);
	ASSERT_EQ(0, probe(self->kfd, self->d.container, &p));
	EXPECT_EQ(0, p.is_group);
	ASSERT_EQ(0, probe(self->kfd, self->d.fd, &p));
	EXPECT_EQ(0, p.is_group);
	ASSERT_LE(0, null);
	ASSERT_EQ(0, probe(self->kfd, null, &p));
	EXPECT_EQ(0, p.is_group);
	/* Not a group: coherent, as far as KVM is concerned. */
	EXPECT_EQ(1, p.coherent);
	close(null);
}

/*
 * vfio_file_enforced_coherent() is true until the group is in a container
 * with an IOMMU, then says what the IOMMU enforces, as
 * VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) does.
 */
TEST_F(kvm, coherency)
{
	struct vfg_kvm_test_probe p;
	int expect = iommu_coherent();

	ASSERT_NE(-1, expect);
	self->d.group_id = vfg_pci_group(self->t.lone);
	self->d.group = vfg_group_open(self->d.group_id);
	ASSERT_LE(0, self->d.group);
	ASSERT_EQ(0, probe(self->kfd, self->d.group, &p));
	EXPECT_EQ(1, p.coherent);

	self->d.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->d.container);
	EXPECT_EQ(0, ioctl(self->d.container, VFIO_CHECK_EXTENSION,
			   VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, ioctl(self->d.group, VFIO_GROUP_SET_CONTAINER,
			   &self->d.container));
	ASSERT_EQ(0, ioctl(self->d.container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(expect, ioctl(self->d.container, VFIO_CHECK_EXTENSION,
				VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, probe(self->kfd, self->d.group, &p));
	EXPECT_EQ(expect, p.coherent);
	TH_LOG("IOMMU enforces cache coherency: %d", expect);
}

/*
 * KVM_DEV_VFIO_GROUP_ADD keeps the group file: the group stays its
 * holder's (reopening it is EBUSY) until KVM lets go; a device opened
 * meanwhile works.
 */
TEST_F(kvm, add_keeps_group_file)
{
	int fd;
	char *buf;

	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	EXPECT_ERRNO(EINVAL, ioctl(self->kfd, VFG_KVM_TEST_ADD,
				   &self->d.container));
	ASSERT_EQ(0, ioctl(self->kfd, VFG_KVM_TEST_ADD, &self->d.group));
	EXPECT_ERRNO(EEXIST, ioctl(self->kfd, VFG_KVM_TEST_ADD,
				   &self->d.group));

	self->d.fd = ioctl(self->d.group, VFIO_GROUP_GET_DEVICE_FD,
			   self->d.bdf);
	ASSERT_LE(0, self->d.fd);
	buf = malloc(4);
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(4, pread(self->d.fd, buf, 4, VFIO_PCI_CONFIG_REGION_INDEX *
			   (1ULL << 40)));
	free(buf);
	close(self->d.fd);
	self->d.fd = -1;

	close(self->d.group);
	self->d.group = -1;
	fd = vfg_group_open(self->d.group_id);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, errno);
	if (fd >= 0)
		close(fd);

	/* KVM's device goes: the group is free again. */
	close(self->kfd);
	self->kfd = -1;
	fd = vfg_group_open(self->d.group_id);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/* KVM_DEV_VFIO_GROUP_DEL lets the group file go. */
TEST_F(kvm, del_releases_group)
{
	int fd;

	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	EXPECT_ERRNO(ENOENT, ioctl(self->kfd, VFG_KVM_TEST_DEL,
				   &self->d.group));
	ASSERT_EQ(0, ioctl(self->kfd, VFG_KVM_TEST_ADD, &self->d.group));
	ASSERT_EQ(0, ioctl(self->kfd, VFG_KVM_TEST_DEL, &self->d.group));
	vfg_dev_close(&self->d);
	fd = vfg_group_open(self->d.group_id);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/* Group files KVM holds keep the VFIO module loaded. */
TEST_F(kvm, held_group_pins_module)
{
	if (!vfg_ours())
		SKIP(return, "unloads our module");
	ASSERT_EQ(0, vfg_dev_attach(&self->d, self->t.lone));
	ASSERT_EQ(0, ioctl(self->kfd, VFG_KVM_TEST_ADD, &self->d.group));
	vfg_dev_close(&self->d);
	EXPECT_NE(0, vfg_module_unload());
	EXPECT_TRUE(vfg_module_loaded());
	close(self->kfd);
	self->kfd = -1;
	EXPECT_EQ(0, vfg_module_unload());
	ASSERT_EQ(0, vfg_module_ensure());
}

FIXTURE(bypass) {
	struct vfg_topo t;
	struct vfg_dev d;
	int bfd;
	int efd[2];
};

FIXTURE_SETUP(bypass)
{
	int ret;

	vfg_dev_init(&self->d);
	self->bfd = self->efd[0] = self->efd[1] = -1;
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	/* KVM loads the manager; the module below needs it. */
	ASSERT_EQ(0, vfg_modprobe("irqbypass"));
	ret = vfg_test_module_load("vfg_bypass_test", NULL);
	ASSERT_TRUE(!ret || ret == -EEXIST);
	self->bfd = open("/dev/vfg_bypass_test", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->bfd);
	self->efd[0] = eventfd(0, EFD_CLOEXEC);
	self->efd[1] = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->efd[0]);
	ASSERT_LE(0, self->efd[1]);
	ASSERT_EQ(0, vfg_dev_open(&self->d, self->t.lone));
}

FIXTURE_TEARDOWN(bypass)
{
	vfg_dev_close(&self->d);
	if (self->bfd >= 0)
		close(self->bfd);
	if (self->efd[0] >= 0)
		close(self->efd[0]);
	if (self->efd[1] >= 0)
		close(self->efd[1]);
	EXPECT_EQ(0, vfg_test_module_unload("vfg_bypass_test"));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

static struct vfg_bypass_test_state bypass_state(int bfd, int efd)
{
	struct vfg_bypass_test_state st = { .eventfd = efd };

	if (ioctl(bfd, VFG_BYPASS_TEST_STATE, &st))
		st.irq = -errno;
	return st;
}

/* The MSI vector's producer comes and goes with the vector. */
TEST_F(bypass, producer_follows_vector)
{
	struct vfg_bypass_test_state st;

	ASSERT_EQ(0, ioctl(self->bfd, VFG_BYPASS_TEST_ADD, &self->efd[0]));
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(0, st.connected);
	EXPECT_EQ(0, st.adds);

	ASSERT_EQ(0, vfg_irq_set_eventfds(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX,
					  0, 1, &self->efd[0]));
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(1, st.connected);
	EXPECT_LT(0, st.irq);
	EXPECT_EQ(1, st.adds);

	ASSERT_EQ(0, vfg_irq_disable(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX));
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(0, st.connected);
	EXPECT_EQ(1, st.dels);

	/* Again, then the device fd goes: so does the producer. */
	ASSERT_EQ(0, vfg_irq_set_eventfds(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX,
					  0, 1, &self->efd[0]));
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(1, st.connected);
	EXPECT_EQ(2, st.adds);
	vfg_dev_close(&self->d);
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(0, st.connected);
	EXPECT_EQ(2, st.dels);
}

/*
 * A consumer that comes after the vector is connected at once; replacing
 * the vector's trigger moves the producer to the new eventfd.
 */
TEST_F(bypass, consumer_after_vector_and_trigger_swap)
{
	struct vfg_bypass_test_state st;

	ASSERT_EQ(0, vfg_irq_set_eventfds(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX,
					  0, 1, &self->efd[0]));
	ASSERT_EQ(0, ioctl(self->bfd, VFG_BYPASS_TEST_ADD, &self->efd[0]));
	ASSERT_EQ(0, ioctl(self->bfd, VFG_BYPASS_TEST_ADD, &self->efd[1]));
	EXPECT_ERRNO(EEXIST, ioctl(self->bfd, VFG_BYPASS_TEST_ADD,
				   &self->efd[1]));
	st = bypass_state(self->bfd, self->efd[0]);
	EXPECT_EQ(1, st.connected);
	EXPECT_EQ(0, bypass_state(self->bfd, self->efd[1]).connected);

	ASSERT_EQ(0, vfg_irq_set_eventfds(self->d.fd, VFIO_PCI_MSI_IRQ_INDEX,
					  0, 1, &self->efd[1]));
	EXPECT_EQ(0, bypass_state(self->bfd, self->efd[0]).connected);
	st = bypass_state(self->bfd, self->efd[1]);
	EXPECT_EQ(1, st.connected);
	EXPECT_LT(0, st.irq);
}

TEST_HARNESS_MAIN
