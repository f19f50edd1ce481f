// SPDX-License-Identifier: GPL-2.0
/*
 * A fuzzer of the container, group and device fds.
 *
 * FUZZ_THREADS threads share a table of fds (containers, the groups of the
 * lone edu and of the resettable edu, device fds, eventfds) and of BAR
 * mmaps, and make random calls on them: every ioctl of the three fd kinds
 * with random argsz, flags, indexes, offsets, counts and eventfds (mostly
 * near the valid values, sometimes anywhere), MAP_DMA and UNMAP_DMA of a
 * shared memory pool, pread/pwrite of regions, mmap/munmap and access of
 * regions, resets, edu DMA to random IOVAs, and closes of any fd at any
 * time.  An extra thread unbinds the lone edu from vfio-pci and binds it
 * again (ours only, with release_timeout_ms so that a removal revokes;
 * the kernel's vfio-pci would wait for the fuzzing threads to let go).
 *
 * Calls run on a dup() of the table's fd, so another thread's close of the
 * same slot races the call, as a close racing an ioctl does in a real
 * client.  BAR writes leave out the edu's DMA registers, which can abort
 * QEMU with a bad device address; DMA is programmed by one structured
 * operation under a lock instead.  Accesses to mmaps catch SIGBUS and
 * SIGSEGV (a revoked or reset device, a mapping another thread unmapped).
 *
 * VFG_FUZZ_SEED (printed; default fixed) seeds the threads; a thread
 * interleaving still varies run to run.  VFG_FUZZ_SECONDS (default 20)
 * sets the length: make check runs the short run, soaks set it longer.
 * Afterwards: every pin released, locked_vm 0, no interrupt line left, and
 * the lone edu opens and maps again.  The number of calls made is printed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "vfio_test_util.h"
#include "edu.h"

#define FUZZ_THREADS	4
#define SLOTS		24
#define MAPS		8
#define POOL_SIZE	(4UL << 20)
#define PAGE		4096UL
#define RELEASE_TIMEOUT	"/sys/module/vfio/parameters/release_timeout_ms"
#define JOIN_TIMEOUT	90	/* s, for the threads to finish once stopped */

enum kind { FREE, CONTAINER, GROUP, DEVICE, EVENTFD };

struct slot {
	enum kind kind;
	int fd;
};

struct bar_map {
	volatile uint8_t *addr;
	size_t len;
};

static struct fuzz {
	pthread_mutex_t lock;		/* slots and maps */
	pthread_mutex_t dma_lock;	/* edu DMA programming */
	struct slot slot[SLOTS];
	struct bar_map map[MAPS];
	char bdf[2][13];		/* lone edu, resettable edu */
	int group_id[2];
	uint8_t *pool;
	atomic_bool stop;
	atomic_long calls;
	atomic_long ok;
	atomic_long faults;		/* SIGBUS/SIGSEGV caught */
	atomic_long unbinds;
	unsigned int seed;
} fz;

static __thread sigjmp_buf fault_jmp;
static __thread volatile sig_atomic_t in_access;

static void on_fault(int sig)
{
	if (!in_access) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	siglongjmp(fault_jmp, 1);
}

static uint64_t rnd64(unsigned int *s)
{
	return (uint64_t)rand_r(s) << 33 ^ (uint64_t)rand_r(s) << 11 ^
	       rand_r(s);
}

static unsigned int rnd(unsigned int *s, unsigned int n)
{
	return n ? (unsigned int)rand_r(s) % n : 0;
}

/* An argsz: usually right, sometimes short, long or anything. */
static uint32_t fuzz_argsz(unsigned int *s, uint32_t right, uint32_t max)
{
	switch (rnd(s, 8)) {
	case 0:
		return rnd(s, right);
	case 1:
		return right + rnd(s, max - right + 1);
	case 2:
		return rand_r(s);
	default:
		return right;
	}
}

/* Flags: usually few low bits, sometimes anything. */
static uint32_t fuzz_flags(unsigned int *s)
{
	return rnd(s, 4) ? rnd(s, 16) : (uint32_t)rand_r(s);
}

static uint64_t fuzz_iova(unsigned int *s)
{
	switch (rnd(s, 6)) {
	case 0:
		return rnd64(s);
	case 1:
		return rnd64(s) & ~(PAGE - 1);
	default:
		return (uint64_t)rnd(s, 64) * 0x40000;	/* within 16 MiB */
	}
}

static uint64_t fuzz_size(unsigned int *s)
{
	switch (rnd(s, 6)) {
	case 0:
		return rnd64(s);
	case 1:
		return rnd(s, 3 * PAGE);
	default:
		return (uint64_t)(1 + rnd(s, 64)) * PAGE;
	}
}

/* A dup of a random slot's fd of @kind (any kind if FREE); -1 if none. */
static int pick(unsigned int *s, enum kind kind)
{
	int i, n = rnd(s, SLOTS), fd = -1;

	pthread_mutex_lock(&fz.lock);
	for (i = 0; i < SLOTS; i++) {
		struct slot *sl = &fz.slot[(n + i) % SLOTS];

		if (sl->kind != FREE && (kind == FREE || sl->kind == kind)) {
			fd = dup(sl->fd);
			break;
		}
	}
	pthread_mutex_unlock(&fz.lock);
	return fd;
}

/* Put @fd in a free slot, or close it if the table is full. */
static void put(enum kind kind, int fd)
{
	int i;

	if (fd < 0)
		return;
	pthread_mutex_lock(&fz.lock);
	for (i = 0; i < SLOTS; i++) {
		if (fz.slot[i].kind == FREE) {
			fz.slot[i] = (struct slot){ kind, fd };
			fd = -1;
			break;
		}
	}
	pthread_mutex_unlock(&fz.lock);
	if (fd >= 0)
		close(fd);
}

static void close_random(unsigned int *s)
{
	struct slot *sl = &fz.slot[rnd(s, SLOTS)];
	int fd = -1;

	pthread_mutex_lock(&fz.lock);
	if (sl->kind != FREE) {
		fd = sl->fd;
		sl->kind = FREE;
	}
	pthread_mutex_unlock(&fz.lock);
	if (fd >= 0)
		close(fd);
}

/* Count a call and its success. */
static long note(long ret)
{
	atomic_fetch_add(&fz.calls, 1);
	if (ret >= 0)
		atomic_fetch_add(&fz.ok, 1);
	return ret;
}

static void op_container(unsigned int *s, int fd)
{
	union {
		struct vfio_iommu_type1_info info;
		struct vfio_iommu_type1_dma_map map;
		struct vfio_iommu_type1_dma_unmap unmap;
		uint8_t raw[4096];
	} u;
	uint64_t off;

	memset(&u, 0, sizeof(u));
	switch (rnd(s, 7)) {
	case 0:
		note(ioctl(fd, VFIO_SET_IOMMU, rnd(s, 4) ? 1 + 2 * rnd(s, 2) :
					       rnd(s, 16)));
		break;
	case 1:
		note(ioctl(fd, VFIO_CHECK_EXTENSION, rnd(s, 16)));
		note(ioctl(fd, VFIO_GET_API_VERSION));
		break;
	case 2:
		u.info.argsz = fuzz_argsz(s, sizeof(u.info), sizeof(u));
		u.info.flags = fuzz_flags(s);
		note(ioctl(fd, VFIO_IOMMU_GET_INFO, &u));
		break;
	case 3:
	case 4:
		off = (uint64_t)rnd(s, POOL_SIZE / PAGE) * PAGE;
		u.map.argsz = fuzz_argsz(s, sizeof(u.map), sizeof(u));
		u.map.flags = rnd(s, 4) ? 1 + rnd(s, 3) : fuzz_flags(s);
		u.map.vaddr = rnd(s, 8) ? (uintptr_t)fz.pool + off :
					  rnd64(s);
		u.map.iova = fuzz_iova(s);
		u.map.size = fuzz_size(s);
		if (rnd(s, 4) && off + u.map.size > POOL_SIZE)
			u.map.size = POOL_SIZE - off;
		note(ioctl(fd, VFIO_IOMMU_MAP_DMA, &u));
		break;
	case 5:
		u.unmap.argsz = fuzz_argsz(s, sizeof(u.unmap), sizeof(u));
		u.unmap.flags = rnd(s, 3) ? 0 : rnd(s, 2) ?
				VFIO_DMA_UNMAP_FLAG_ALL : fuzz_flags(s);
		if (!(u.unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL)) {
			u.unmap.iova = fuzz_iova(s);
			u.unmap.size = fuzz_size(s);
		}
		note(ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u));
		break;
	case 6:
		/* Any ioctl number of the VFIO range, on a zeroed buffer. */
		u.info.argsz = rand_r(s);
		note(ioctl(fd, _IO(VFIO_TYPE, VFIO_BASE + rnd(s, 32)), &u));
		break;
	}
}

static void op_group(unsigned int *s, int fd)
{
	struct vfio_group_status st;
	int other, picked, i = rnd(s, 2);

	switch (rnd(s, 5)) {
	case 0:
		/* A container, or any fd number (another thread's, perhaps). */
		picked = rnd(s, 8) ? pick(s, CONTAINER) : -1;
		other = picked >= 0 ? picked : rand_r(s) % 64;
		note(ioctl(fd, VFIO_GROUP_SET_CONTAINER, &other));
		if (picked >= 0)
			close(picked);
		break;
	case 1:
		note(ioctl(fd, VFIO_GROUP_UNSET_CONTAINER));
		break;
	case 2:
		st.argsz = fuzz_argsz(s, sizeof(st), sizeof(st));
		st.flags = fuzz_flags(s);
		note(ioctl(fd, VFIO_GROUP_GET_STATUS, &st));
		break;
	case 3:
	case 4:
		put(DEVICE, note(ioctl(fd, VFIO_GROUP_GET_DEVICE_FD,
				       rnd(s, 8) ? fz.bdf[i] : "0000:00:00.0")));
		break;
	}
}

/* BAR0 writes that are safe for QEMU's edu: not its DMA registers. */
static unsigned int safe_bar_reg(unsigned int *s)
{
	static const unsigned int regs[] = { 0x04, 0x08, 0x20, 0x60, 0x64,
					     0x100, 0x1000 };

	return regs[rnd(s, sizeof(regs) / sizeof(regs[0]))];
}

/* A value for a safe register: small factorials only (QEMU computes them). */
static uint32_t safe_bar_val(unsigned int *s, unsigned int reg)
{
	return reg == EDU_REG_FACT ? rnd(s, 13) : (uint32_t)rand_r(s);
}

static void op_region(unsigned int *s, int fd)
{
	uint8_t buf[256];
	uint32_t index = rnd(s, 8) ? rnd(s, 9) : rand_r(s);
	uint64_t off = rnd(s, 4) ? rnd(s, 512) : rnd64(s) & ((1ULL << 42) - 1);
	size_t len = rnd(s, 4) ? 1 << rnd(s, 4) : rnd(s, sizeof(buf));
	uint64_t pos = VFG_REGION_OFFSET(index) + off;

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = rand_r(s);
	if (rnd(s, 2)) {
		note(pread(fd, buf, len, pos));
		return;
	}
	/* Writes: config space anywhere, BAR0 only to safe registers. */
	if (index == VFIO_PCI_BAR0_REGION_INDEX) {
		uint32_t reg = safe_bar_reg(s), val = safe_bar_val(s, reg);

		pos = VFG_REGION_OFFSET(index) + reg;
		memcpy(buf, &val, 4);
		len = 4;
	} else if (index != VFIO_PCI_CONFIG_REGION_INDEX) {
		/* No other BAR; ROM is read-only; no index that wraps. */
		pos = VFG_REGION_OFFSET(9 + rnd(s, 0xffff)) + off;
	}
	note(pwrite(fd, buf, len, pos));
}

static void op_irqs(unsigned int *s, int fd)
{
	union {
		struct vfio_irq_set set;
		uint8_t raw[512];
	} u;
	struct vfio_irq_info info;
	int32_t *efds = (int32_t *)u.set.data;
	uint32_t count = rnd(s, 4) ? rnd(s, 3) : rand_r(s);
	unsigned int i, n = count < 32 ? count : 32;
	int picked[32];

	if (rnd(s, 3) == 0) {
		info.argsz = fuzz_argsz(s, sizeof(info), sizeof(info));
		info.index = rnd(s, 8);
		info.flags = fuzz_flags(s);
		note(ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
		return;
	}
	memset(&u, 0, sizeof(u));
	u.set.flags = (1 << rnd(s, 3)) | (1 << (5 + rnd(s, 3)));
	if (!rnd(s, 8))
		u.set.flags = fuzz_flags(s);
	u.set.index = rnd(s, 8) ? rnd(s, 5) : rand_r(s);
	u.set.start = rnd(s, 8) ? rnd(s, 2) : rand_r(s);
	u.set.count = count;
	for (i = 0; i < n; i++) {
		picked[i] = rnd(s, 6) ? pick(s, EVENTFD) : -1 - rnd(s, 2);
		efds[i] = picked[i] < 0 ? -1 : picked[i];
		if (!rnd(s, 16))
			efds[i] = rnd(s, 1024);	/* any fd */
	}
	if (u.set.flags & VFIO_IRQ_SET_DATA_BOOL)
		for (i = 0; i < n; i++)
			u.set.data[i] = rnd(s, 3);
	u.set.argsz = sizeof(u.set) + (u.set.flags & VFIO_IRQ_SET_DATA_BOOL ?
				       n : u.set.flags & VFIO_IRQ_SET_DATA_EVENTFD ?
				       4 * n : 0);
	if (!rnd(s, 6))
		u.set.argsz = fuzz_argsz(s, u.set.argsz, sizeof(u));
	note(ioctl(fd, VFIO_DEVICE_SET_IRQS, &u));
	for (i = 0; i < n; i++)
		if (picked[i] >= 0)
			close(picked[i]);
}

static void op_mmap(unsigned int *s, int fd)
{
	struct bar_map *m = &fz.map[rnd(s, MAPS)];
	size_t len = rnd(s, 4) ? EDU_BAR0_SIZE : PAGE * (1 + rnd(s, 512));
	uint32_t index = rnd(s, 6) ? 0 : rnd(s, 9);
	uint64_t off = rnd(s, 4) ? 0 : PAGE * rnd(s, 300);
	void *p;

	p = mmap(NULL, len, rnd(s, 4) ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, VFG_REGION_OFFSET(index) + off);
	note(p == MAP_FAILED ? -1 : 0);
	if (p == MAP_FAILED)
		return;
	if (index || off) {	/* only BAR0 from 0 is kept for access */
		munmap(p, len);
		return;
	}
	pthread_mutex_lock(&fz.lock);
	if (m->addr)
		munmap((void *)m->addr, m->len);
	m->addr = p;
	m->len = len;
	pthread_mutex_unlock(&fz.lock);
}

/* Access a kept BAR0 mmap: reads anywhere, writes to safe registers. */
static void op_access(unsigned int *s)
{
	struct bar_map *m = &fz.map[rnd(s, MAPS)];
	volatile uint8_t *addr;
	unsigned int reg;
	size_t len;

	pthread_mutex_lock(&fz.lock);
	addr = m->addr;
	len = m->len;
	if (addr && !rnd(s, 8)) {
		munmap((void *)addr, len);
		m->addr = NULL;
		addr = NULL;
	}
	pthread_mutex_unlock(&fz.lock);
	if (!addr)
		return;
	reg = rnd(s, len / 4) * 4;
	in_access = 1;
	if (!sigsetjmp(fault_jmp, 1)) {
		if (rnd(s, 2)) {
			reg = safe_bar_reg(s);
			edu_write32(addr, reg, safe_bar_val(s, reg));
		} else {
			(void)edu_read32(addr, reg);
		}
	} else {
		atomic_fetch_add(&fz.faults, 1);
	}
	in_access = 0;
	note(0);
}

/*
 * One edu DMA between its buffer and a random IOVA, on the lone edu only
 * (nothing resets it: a reset between programming and start would leave a
 * device address QEMU aborts on).  The registers are read back before the
 * start, under a lock that every DMA programming takes.
 */
static void op_dma(unsigned int *s, int fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t len = 1 + rnd(s, EDU_BUF_MAX);
	uint64_t dev = EDU_BUF_ADDR + rnd(s, EDU_BUF_MAX);
	uint64_t iova = fuzz_iova(s) & ((1ULL << EDU_DMA_BITS) - 1);
	bool to_ram = rnd(s, 2);
	uint64_t regs[4], back[3];
	int tries;

	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info) ||
	    (info.flags & VFIO_DEVICE_FLAGS_RESET))
		return;
	regs[0] = to_ram ? dev : iova;
	regs[1] = to_ram ? iova : dev;
	regs[2] = len;
	regs[3] = EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0);
	pthread_mutex_lock(&fz.dma_lock);
	/* Program only an idle engine: registers of a running one are kept. */
	for (tries = 0; tries < 300; tries++) {
		uint64_t cmd = 0;

		if (pread(fd, &cmd, 8, VFG_REGION_OFFSET(0) + EDU_REG_DMA_CMD)
		    != 8)
			goto out;
		if (!(cmd & EDU_DMA_START))
			break;
		usleep(1000);
	}
	if (tries == 300)
		goto out;
	if (note(pwrite(fd, regs, 24, VFG_REGION_OFFSET(0) +
			EDU_REG_DMA_SRC)) != 24 ||
	    pread(fd, back, 24, VFG_REGION_OFFSET(0) + EDU_REG_DMA_SRC) != 24 ||
	    memcmp(regs, back, 24))
		goto out;
	note(pwrite(fd, &regs[3], 8, VFG_REGION_OFFSET(0) + EDU_REG_DMA_CMD));
out:
	pthread_mutex_unlock(&fz.dma_lock);
}

static void op_device(unsigned int *s, int fd)
{
	union {
		struct vfio_device_info info;
		struct vfio_region_info region;
		uint8_t raw[1024];
	} u;

	memset(&u, 0, sizeof(u));
	switch (rnd(s, 9)) {
	case 0:
		u.info.argsz = fuzz_argsz(s, sizeof(u.info), sizeof(u));
		note(ioctl(fd, VFIO_DEVICE_GET_INFO, &u));
		break;
	case 1:
		u.region.argsz = fuzz_argsz(s, sizeof(u.region), sizeof(u));
		u.region.index = rnd(s, 8) ? rnd(s, 10) : rand_r(s);
		note(ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &u));
		break;
	case 2:
	case 3:
		op_irqs(s, fd);
		break;
	case 4:
		op_region(s, fd);
		break;
	case 5:
		op_mmap(s, fd);
		break;
	case 6:
		if (!rnd(s, 4))
			note(ioctl(fd, VFIO_DEVICE_RESET));
		else
			op_region(s, fd);
		break;
	case 7:
		op_dma(s, fd);
		break;
	case 8:
		/* Bus mastering and decoding on, as a driver would. */
		u.raw[0] = 0x6 | rnd(s, 2);
		u.raw[1] = rnd(s, 8) ? 0 : 4;	/* sometimes INTx off */
		note(pwrite(fd, u.raw, 2, VFG_REGION_OFFSET(7) + 4));
		break;
	}
}

static void *worker(void *arg)
{
	unsigned int s = fz.seed + (unsigned int)(uintptr_t)arg * 7919;
	int fd, i;

	while (!atomic_load(&fz.stop)) {
		switch (rnd(&s, 16)) {
		case 0:
			put(CONTAINER, note(open("/dev/vfio/vfio", O_RDWR)));
			break;
		case 1:
			i = rnd(&s, 2);
			put(GROUP, note(vfg_group_open(fz.group_id[i])));
			break;
		case 2:
			put(EVENTFD, eventfd(0, EFD_NONBLOCK));
			break;
		case 3:
			close_random(&s);
			break;
		case 4:
			op_access(&s);
			break;
		case 5:
		case 6:
		case 7:
			fd = pick(&s, CONTAINER);
			if (fd >= 0) {
				op_container(&s, fd);
				close(fd);
			}
			break;
		case 8:
		case 9:
			fd = pick(&s, GROUP);
			if (fd >= 0) {
				op_group(&s, fd);
				close(fd);
			}
			break;
		case 10:
			/* A wrong kind of fd for the call. */
			fd = pick(&s, FREE);
			if (fd >= 0) {
				if (rnd(&s, 2))
					op_container(&s, fd);
				else
					op_group(&s, fd);
				close(fd);
			}
			break;
		case 11:
			madvise(fz.pool + rnd(&s, POOL_SIZE / PAGE) * PAGE,
				PAGE * (1 + rnd(&s, 16)), MADV_DONTNEED);
			break;
		default:
			fd = pick(&s, DEVICE);
			if (fd >= 0) {
				op_device(&s, fd);
				close(fd);
			}
			break;
		}
	}
	return NULL;
}

/* Unbind the lone edu and bind it again, every second or so. */
static void *unbinder(void *arg)
{
	unsigned int s = fz.seed ^ 0xdead;

	while (!atomic_load(&fz.stop)) {
		pid_t pid;

		usleep(500000 + rnd(&s, 1000000));
		if (atomic_load(&fz.stop))
			break;
		pid = vfg_pci_unbind_async(fz.bdf[0]);
		if (pid < 0 || vfg_reap(pid, 30000) != 0)
			return (void *)1L;
		usleep(rnd(&s, 100000));
		if (vfg_pci_bind(fz.bdf[0], "vfio-pci"))
			return (void *)2L;
		atomic_fetch_add(&fz.unbinds, 1);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct vfg_topo t;
	long pins_before;
	char timeout[32];
};

FIXTURE_SETUP(fuzz)
{
	const char *seed = getenv("VFG_FUZZ_SEED");
	struct sigaction sa = { .sa_handler = on_fault };

	self->timeout[0] = 0;
	memset(&fz, 0, sizeof(fz));
	pthread_mutex_init(&fz.lock, NULL);
	pthread_mutex_init(&fz.dma_lock, NULL);
	fz.seed = seed ? strtoul(seed, NULL, 0) : 0xf022c0de;
	TH_LOG("seed %#x (VFG_FUZZ_SEED)", fz.seed);
	self->pins_before = vfg_pins_outstanding();
	ASSERT_EQ(0, vfg_dev_env_setup(&self->t));
	memcpy(fz.bdf[0], self->t.lone, 13);
	memcpy(fz.bdf[1], self->t.pedu, 13);
	fz.group_id[0] = vfg_pci_group(fz.bdf[0]);
	fz.group_id[1] = vfg_pci_group(fz.bdf[1]);
	ASSERT_LE(0, fz.group_id[0]);
	ASSERT_LE(0, fz.group_id[1]);
	if (vfg_ours()) {
		ASSERT_EQ(0, vfg_sysfs_read(RELEASE_TIMEOUT, self->timeout,
					    sizeof(self->timeout)));
		ASSERT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, "200"));
	}
	fz.pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fz.pool);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
}

FIXTURE_TEARDOWN(fuzz)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		if (fz.slot[i].kind != FREE)
			close(fz.slot[i].fd);
	for (i = 0; i < MAPS; i++)
		if (fz.map[i].addr)
			munmap((void *)fz.map[i].addr, fz.map[i].len);
	memset(fz.slot, 0, sizeof(fz.slot));
	memset(fz.map, 0, sizeof(fz.map));
	if (self->timeout[0])
		EXPECT_EQ(0, vfg_sysfs_write(RELEASE_TIMEOUT, self->timeout));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	EXPECT_EQ(0, vfg_topo_restore(&self->t));
}

TEST_F_TIMEOUT(fuzz, run, 3600)
{
	const char *secs = getenv("VFG_FUZZ_SECONDS");
	int seconds = secs ? atoi(secs) : 20, i;
	pthread_t t[FUZZ_THREADS], u;
	struct timespec deadline;
	void *uret = NULL;
	struct vfg_dev d;
	uint8_t *mem;

	TH_LOG("%d threads for %d s (VFG_FUZZ_SECONDS)%s", FUZZ_THREADS,
	       seconds, vfg_ours() ? " and an unbinder" : "");
	for (i = 0; i < FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker,
					    (void *)(uintptr_t)i));
	if (vfg_ours())
		ASSERT_EQ(0, pthread_create(&u, NULL, unbinder, NULL));
	sleep(seconds);
	atomic_store(&fz.stop, true);
	/*
	 * Every call returns soon once the threads stop (an unbind within the
	 * unbinder's 30 s reap): a thread that does not is stuck, in the
	 * kernel or on a lock of ours, and is shown rather than waited for.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += JOIN_TIMEOUT;
	for (i = 0; i < FUZZ_THREADS; i++) {
		if (pthread_timedjoin_np(t[i], NULL, &deadline)) {
			vfg_dump_threads();
			ASSERT_TRUE(false) TH_LOG("fuzzing thread %d is stuck", i);
		}
	}
	if (vfg_ours() && pthread_timedjoin_np(u, &uret, &deadline)) {
		vfg_dump_threads();
		ASSERT_TRUE(false) TH_LOG("the unbinder is stuck");
	}
	TH_LOG("calls: %ld (%ld succeeded), mmap faults caught: %ld, unbinds: %ld",
	       atomic_load(&fz.calls), atomic_load(&fz.ok),
	       atomic_load(&fz.faults), atomic_load(&fz.unbinds));
	EXPECT_EQ(NULL, uret) TH_LOG("unbind/rebind failed (%ld)",
				     (long)uret);
	EXPECT_LT(1000, atomic_load(&fz.calls));
	/* Let go of everything, then the device works as new. */
	for (i = 0; i < SLOTS; i++)
		if (fz.slot[i].kind != FREE)
			close(fz.slot[i].fd);
	memset(fz.slot, 0, sizeof(fz.slot));
	for (i = 0; i < MAPS; i++)
		if (fz.map[i].addr)
			munmap((void *)fz.map[i].addr, fz.map[i].len);
	memset(fz.map, 0, sizeof(fz.map));
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
	EXPECT_EQ(0, vfg_vmlck_kb(getpid()));
	EXPECT_EQ(0, vfg_dev_irq_lines(&self->t));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vfg_dev_open(&d, fz.bdf[i]));
		mem = fz.pool;
		memset(mem, 0, PAGE);
		EXPECT_EQ(0, ioctl(d.container, VFIO_IOMMU_MAP_DMA,
				   &(struct vfio_iommu_type1_dma_map){
					.argsz = sizeof(struct vfio_iommu_type1_dma_map),
					.flags = 3, .vaddr = (uintptr_t)mem,
					.iova = 0x100000, .size = PAGE }));
		vfg_dev_close(&d);
	}
	EXPECT_EQ(self->pins_before, vfg_pins_outstanding());
}

TEST_HARNESS_MAIN
