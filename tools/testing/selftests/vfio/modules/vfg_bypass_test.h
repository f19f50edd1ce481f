/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfg_bypass_test: the ioctls of /dev/vfg_bypass_test, shared by the module
 * and the guest selftests (kvm_test.c).
 */
#ifndef VFG_BYPASS_TEST_H
#define VFG_BYPASS_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct vfg_bypass_test_state - one consumer, as KVM's irqfd would be
 * @eventfd: in: the eventfd whose context is the consumer's token
 * @connected: out: a producer with that token is connected
 * @irq: out: the connected producer's IRQ, or 0
 * @adds: out: how many times a producer was connected
 * @dels: out: how many times one was disconnected
 */
struct vfg_bypass_test_state {
	__s32 eventfd;
	__u32 connected;
	__s32 irq;
	__u32 adds;
	__u32 dels;
};

#define VFG_BYPASS_TEST_TYPE	0xf7
/* Register a consumer for an eventfd (one per eventfd per open). */
#define VFG_BYPASS_TEST_ADD	_IOW(VFG_BYPASS_TEST_TYPE, 0, __s32)
/* The state of the consumer of an eventfd. */
#define VFG_BYPASS_TEST_STATE	_IOWR(VFG_BYPASS_TEST_TYPE, 1, struct vfg_bypass_test_state)

#endif /* VFG_BYPASS_TEST_H */
