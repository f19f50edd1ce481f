// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side partner of the host-side hotplug tests
 * (tools/testing/vm/hosttests/hotplug.py).  Not a test by itself.
 *
 *   vfg_helper hold BDF       open BDF's group, container and device, map
 *                             BAR0, arm the REQ eventfd; print HOLD-READY;
 *                             on the request print HOLD-REQ, release
 *                             everything and print HOLD-RELEASED
 *   vfg_helper wait EVENT S   print "EVENT <name> group <N> <device>" for the
 *                             first netlink event named EVENT within S
 *                             seconds, after printing WAIT-READY
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio_test_util.h"
#include "vfiogroup/vfiogroup.h"
#include "nl_util.h"
#include "edu.h"

static int die(const char *what)
{
	printf("HELPER-ERROR %s: %s\n", what, strerror(errno));
	return 1;
}

static int hold(const char *bdf)
{
	struct vfg_ctx *ctx = vfg_ctx_new(NULL);
	int group, container, dev, efd, id;
	struct pollfd p;
	void *bar;

	id = vfg_device_get_group(ctx, bdf);
	if (id < 0)
		return die("group");
	group = vfg_group_open(id);
	container = open("/dev/vfio/vfio", O_RDWR);
	if (group < 0 || container < 0)
		return die("open");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return die("container");
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		return die("device");
	bar = mmap(NULL, EDU_BAR0_SIZE, PROT_READ, MAP_SHARED, dev, 0);
	if (bar == MAP_FAILED)
		return die("mmap");
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0 || vfg_irq_set_eventfds(dev, VFIO_PCI_REQ_IRQ_INDEX, 0, 1,
					    &efd))
		return die("req");
	printf("HOLD-READY group %d id 0x%08x\n", id, edu_read32(bar, 0));
	fflush(stdout);

	p.fd = efd;
	p.events = POLLIN;
	if (poll(&p, 1, 120000) != 1)
		return die("no release request");
	printf("HOLD-REQ\n");
	fflush(stdout);
	munmap(bar, EDU_BAR0_SIZE);
	close(dev);
	close(group);
	close(container);
	close(efd);
	vfg_ctx_free(ctx);
	printf("HOLD-RELEASED\n");
	return 0;
}

static int wait_event(const char *name, int seconds)
{
	struct vfg_nl_ev ev;
	struct vfg_nl nl;
	int ret = vfg_nl_open(&nl, true);

	if (ret) {
		errno = -ret;
		return die("netlink");
	}
	printf("WAIT-READY\n");
	fflush(stdout);
	for (;;) {
		ret = vfg_nl_next(&nl, seconds * 1000, &ev);
		if (ret != 1) {
			printf("HELPER-ERROR no %s event\n", name);
			return 1;
		}
		if (!strcmp(vfg_nl_event_name(ev.event), name))
			break;
	}
	printf("EVENT %s group %d %s\n", name, ev.group, ev.device);
	vfg_nl_close(&nl);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "wait"))
		return wait_event(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: vfg_helper hold BDF | wait EVENT SECONDS\n");
	return 2;
}
