// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-edu-sample: a userspace driver for QEMU's "edu" device.
 *
 * It uses nothing but <linux/vfio.h> and libc, and goes through the steps
 * every VFIO userspace driver takes:
 *
 *   1. find the device's IOMMU group in sysfs;
 *   2. open a container (/dev/vfio/vfio) and the group (/dev/vfio/$GROUP),
 *      put the group in the container and choose the type1 IOMMU;
 *   3. get a device fd from the group and ask it about its regions;
 *   4. map BAR0 and talk to the device's registers;
 *   5. map a buffer for DMA and let the device copy data both ways;
 *   6. enable MSI with an eventfd and wait for the interrupt of a factorial.
 *
 * The device must be bound to vfio-pci first, for instance:
 *
 *   echo vfio-pci > /sys/bus/pci/devices/0000:00:04.0/driver_override
 *   echo 0000:00:04.0 > /sys/bus/pci/drivers_probe
 *   vfio-edu-sample 0000:00:04.0
 *
 * edu's BAR0 registers (QEMU's docs/specs/edu.txt): 0x00 identification,
 * 0x04 liveness (reads back inverted), 0x08 factorial, 0x20 status (bit 0
 * computing, bit 7 raise an interrupt when done), 0x24 interrupt status,
 * 0x64 interrupt acknowledge, 0x80/0x88/0x90/0x98 DMA source, destination,
 * count and command.  The device's DMA buffer is at device address 0x40000
 * and its DMA engine reaches 28 bits of address.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define EDU_ID			0x00
#define EDU_LIVENESS		0x04
#define EDU_FACT		0x08
#define EDU_STATUS		0x20
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98

#define EDU_STATUS_COMPUTING	0x01
#define EDU_STATUS_IRQFACT	0x80
#define EDU_DMA_START		0x01
#define EDU_DMA_TO_RAM		0x02
#define EDU_DEV_BUF		0x40000

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x02
#define PCI_COMMAND_MASTER	0x04

#define BUF_SIZE		0x2000
#define BUF_IOVA		0x1000000	/* 16 MiB: inside 28 bits */
#define DMA_LEN			64

static void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	fprintf(stderr, "vfio-edu-sample: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

/* BAR0 register access through the mapping. */
static volatile uint8_t *bar0;

static uint32_t rd32(unsigned int reg)
{
	return *(volatile uint32_t *)(bar0 + reg);
}

static void wr32(unsigned int reg, uint32_t val)
{
	*(volatile uint32_t *)(bar0 + reg) = val;
}

static uint64_t rd64(unsigned int reg)
{
	return *(volatile uint64_t *)(bar0 + reg);
}

static void wr64(unsigned int reg, uint64_t val)
{
	*(volatile uint64_t *)(bar0 + reg) = val;
}

/* Step 1: /sys/bus/pci/devices/$BDF/iommu_group -> ../../kernel/iommu_groups/N */
static int iommu_group_of(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX], *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("%s", path);
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

/* Run one DMA transfer and wait for the engine to finish it. */
static void edu_dma(uint64_t src, uint64_t dst, uint32_t len, int to_ram)
{
	struct timespec ms = { 0, 1000000 };
	int waited;

	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr64(EDU_DMA_COUNT, len);
	wr64(EDU_DMA_CMD, EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	for (waited = 0; rd64(EDU_DMA_CMD) & EDU_DMA_START; waited++) {
		if (waited > 5000) {
			errno = ETIMEDOUT;
			die("DMA did not finish");
		}
		nanosleep(&ms, NULL);
	}
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info dev_info = { .argsz = sizeof(dev_info) };
	struct vfio_region_info bar_info = { .argsz = sizeof(bar_info) };
	struct vfio_region_info cfg_info = { .argsz = sizeof(cfg_info) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	char irq_buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *irq_set = (void *)irq_buf;
	int container, group, device, efd, group_id;
	struct pollfd pfd;
	const char *bdf;
	uint32_t id, fact, irq_status;
	uint16_t cmd;
	uint64_t count;
	char path[64];
	char *buf;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DOMAIN:BUS:DEV.FN\n", argv[0]);
		return 2;
	}
	bdf = argv[1];

	/* 1. The group. */
	group_id = iommu_group_of(bdf);
	printf("device %s is in IOMMU group %d\n", bdf, group_id);

	/* 2. Container and group. */
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		errno = EPROTO;
		die("unknown VFIO API version");
	}
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		errno = ENOTSUP;
		die("no type1v2 IOMMU");
	}
	printf("container: VFIO API version %d, type1v2 IOMMU available\n",
	       VFIO_API_VERSION);

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	group = open(path, O_RDWR);
	if (group < 0)
		die("%s", path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EPERM;
		die("group %d is not viable: bind all its devices to vfio-pci",
		    group_id);
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	printf("group %d: viable, in the container, IOMMU type1v2\n",
	       group_id);

	/* 3. The device. */
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s", bdf);
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &dev_info))
		die("VFIO_DEVICE_GET_INFO");
	printf("device: %u regions, %u irq indexes%s%s\n",
	       dev_info.num_regions, dev_info.num_irqs,
	       dev_info.flags & VFIO_DEVICE_FLAGS_PCI ? ", PCI" : "",
	       dev_info.flags & VFIO_DEVICE_FLAGS_RESET ? ", resettable" : "");

	bar_info.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar_info))
		die("VFIO_DEVICE_GET_REGION_INFO BAR0");
	cfg_info.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg_info))
		die("VFIO_DEVICE_GET_REGION_INFO config");
	printf("BAR0: %llu bytes at fd offset %#llx%s\n",
	       (unsigned long long)bar_info.size,
	       (unsigned long long)bar_info.offset,
	       bar_info.flags & VFIO_REGION_INFO_FLAG_MMAP ? ", mappable" : "");
	if (!(bar_info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		errno = ENOTSUP;
		die("BAR0 cannot be mapped");
	}

	/* 4. Registers: decode memory, map BAR0, identify. */
	if (pread(device, &cmd, 2, cfg_info.offset + PCI_COMMAND) != 2)
		die("config read");
	cmd |= PCI_COMMAND_MEMORY;
	if (pwrite(device, &cmd, 2, cfg_info.offset + PCI_COMMAND) != 2)
		die("config write");
	bar0 = mmap(NULL, bar_info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    device, bar_info.offset);
	if (bar0 == MAP_FAILED)
		die("mmap BAR0");
	id = rd32(EDU_ID);
	printf("edu: identification %#010x (version %u.%u)\n", id, id >> 24,
	       (id >> 16) & 0xff);
	wr32(EDU_LIVENESS, 0x12345678);
	printf("edu: liveness: wrote 0x12345678, read back %#010x\n",
	       rd32(EDU_LIVENESS));

	/* 5. DMA: map a buffer, turn on bus mastering, copy both ways. */
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap buffer");
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = BUF_IOVA;
	map.size = BUF_SIZE;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
	printf("dma: %d bytes of memory mapped at IOVA %#x\n", BUF_SIZE,
	       BUF_IOVA);
	cmd |= PCI_COMMAND_MASTER;
	if (pwrite(device, &cmd, 2, cfg_info.offset + PCI_COMMAND) != 2)
		die("config write");
	printf("dma: bus mastering on\n");

	for (i = 0; i < DMA_LEN; i++)
		buf[i] = (char)(i * 3 + 1);
	memset(buf + BUF_SIZE / 2, 0, DMA_LEN);
	edu_dma(BUF_IOVA, EDU_DEV_BUF, DMA_LEN, 0);
	printf("dma: RAM -> device: %d bytes copied\n", DMA_LEN);
	edu_dma(EDU_DEV_BUF, BUF_IOVA + BUF_SIZE / 2, DMA_LEN, 1);
	if (memcmp(buf, buf + BUF_SIZE / 2, DMA_LEN)) {
		errno = EIO;
		die("dma: device -> RAM: data differs");
	}
	printf("dma: device -> RAM: data matches\n");

	/* 6. MSI: one vector, signalled on an eventfd. */
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		die("eventfd");
	irq_set->argsz = sizeof(irq_buf);
	irq_set->flags = VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_TRIGGER;
	irq_set->index = VFIO_PCI_MSI_IRQ_INDEX;
	irq_set->start = 0;
	irq_set->count = 1;
	memcpy(irq_set->data, &efd, sizeof(int32_t));
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, irq_set))
		die("VFIO_DEVICE_SET_IRQS (MSI)");
	printf("msi: vector 0 -> eventfd %d\n", efd);

	wr32(EDU_STATUS, EDU_STATUS_IRQFACT);
	wr32(EDU_FACT, 10);
	printf("factorial: computing 10!, interrupt when done\n");
	pfd.fd = efd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1) {
		errno = ETIMEDOUT;
		die("msi: no interrupt");
	}
	if (read(efd, &count, sizeof(count)) != sizeof(count))
		die("eventfd read");
	irq_status = rd32(EDU_IRQ_STATUS);
	fact = rd32(EDU_FACT);
	wr32(EDU_IRQ_ACK, irq_status);
	printf("msi: interrupt received (irq status %#x)\n", irq_status);
	printf("factorial: 10! = %u\n", fact);
	if (fact != 3628800) {
		errno = EIO;
		die("wrong factorial");
	}

	/* Tear down in reverse order. */
	irq_set->argsz = sizeof(*irq_set);
	irq_set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	irq_set->count = 0;
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, irq_set))
		die("VFIO_DEVICE_SET_IRQS (disable MSI)");
	close(efd);
	unmap.iova = BUF_IOVA;
	unmap.size = BUF_SIZE;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		die("VFIO_IOMMU_UNMAP_DMA");
	munmap((void *)bar0, bar_info.size);
	munmap(buf, BUF_SIZE);
	close(device);
	close(group);
	close(container);
	printf("done\n");
	return 0;
}
