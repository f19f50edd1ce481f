// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-bench: the guest half of "make bench" (the host half is bench.py).
 *
 * One run measures both stacks, our module and the kernel's own VFIO (the
 * selftests' switch: VFG_USE_KERNEL_VFIO), on the same booted guest.  It
 * runs --rounds rounds; each round loads one stack, runs every case, unloads
 * it and does the same with the other, the first stack alternating from
 * round to round so that neither always runs on a "fresh" or a "used" guest.
 * Samples of every round are pooled per case and stack, and each figure is
 * reported as its distribution (min, quartiles, median, max, 5% steps of its
 * CDF), never as one number.
 *
 * Output, on stdout, one JSON object a line, for bench.py to gather:
 *   bench-meta: {...}      the guest: kernel, memory, clock source, settings
 *   bench-skip: {...}      a case or size not run, and why
 *   bench-case: {...}      one case on one stack, with its statistics
 * and "# ..." progress lines.  Cases and their units are described in
 * Documentation/dev-tools/testing.rst, "Benchmarks".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio_test_util.h"
#include "nl_util.h"
#include "edu.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#define KiB		1024UL
#define MiB		(1024UL * KiB)
#define GiB		(1024UL * MiB)
#define SZ_4K		(4 * KiB)
#define SZ_2M		(2 * MiB)
#define IOVA_BASE	(1ULL << 32)
#define PARAMS		"/sys/module/vfio_iommu_type1/parameters/"
#define HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
/* Mappings the small-map case may hold; both stacks default to 65535. */
#define ENTRY_LIMIT	"131072"
/* Headroom left free beside a buffer of anonymous memory. */
#define ANON_SLACK	(192 * MiB)

enum { OURS, KERNEL, NR_STACKS };
static const char * const stack_name[NR_STACKS] = { "ours", "kernel" };
static int cur;			/* the stack being measured */
static int cur_round;

/* ---- settings ----------------------------------------------------------- */

static const unsigned long full_sizes[] = {
	4 * KiB, 64 * KiB, 2 * MiB, 16 * MiB, 128 * MiB, 1 * GiB,
};
static const unsigned long quick_sizes[] = { 4 * KiB, 64 * KiB, 2 * MiB };
static const unsigned int full_counts[] = { 1024, 4096, 16384, 65536 };
static const unsigned int quick_counts[] = { 1024 };

static struct {
	int rounds;
	double scale;		/* multiplies every sample count */
	bool quick;
	unsigned long max_size;
	const unsigned long *sizes;
	unsigned int nr_sizes;
	const unsigned int *counts;
	unsigned int nr_counts;
} cfg = { .rounds = 6, .scale = 2.0, .max_size = 1 * GiB };

/* Samples per round: @n scaled, at least 1 (at least 3 unscaled). */
static int nsamples(double n)
{
	n *= cfg.scale;
	if (cfg.quick && n > 5)
		n = 5;
	return n < 1 ? 1 : (int)n;
}

/* ---- series of samples -------------------------------------------------- */

struct series {
	char name[48];
	char group[12];		/* dma, small, unmap-all, open, access, irq, ... */
	char op[16];
	char backing[12];
	unsigned long size;	/* bytes per op, or 0 */
	unsigned int count;	/* mappings, or 0 */
	char unit[8];
	bool higher;		/* higher is better (throughput) */
	double *v[NR_STACKS];
	unsigned char *round[NR_STACKS];	/* the round of each sample */
	int n[NR_STACKS], cap[NR_STACKS];
};

#define MAX_SERIES	160
static struct series series[MAX_SERIES];
static int nr_series;

static struct series *get_series(const char *name, const char *group,
				 const char *op, const char *backing,
				 unsigned long size, unsigned int count,
				 const char *unit, bool higher)
{
	struct series *s;
	int i;

	for (i = 0; i < nr_series; i++)
		if (!strcmp(series[i].name, name))
			return &series[i];
	if (nr_series == MAX_SERIES) {
		fprintf(stderr, "vfio-bench: too many series\n");
		exit(1);
	}
	s = &series[nr_series++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->group, sizeof(s->group), "%s", group);
	snprintf(s->op, sizeof(s->op), "%s", op);
	snprintf(s->backing, sizeof(s->backing), "%s", backing);
	snprintf(s->unit, sizeof(s->unit), "%s", unit);
	s->size = size;
	s->count = count;
	s->higher = higher;
	return s;
}

static void add(struct series *s, double v)
{
	if (!isfinite(v) || v <= 0)
		return;
	if (s->n[cur] == s->cap[cur]) {
		s->cap[cur] = s->cap[cur] ? 2 * s->cap[cur] : 64;
		s->v[cur] = realloc(s->v[cur], s->cap[cur] * sizeof(double));
		s->round[cur] = realloc(s->round[cur], s->cap[cur]);
		if (!s->v[cur] || !s->round[cur]) {
			fprintf(stderr, "vfio-bench: out of memory\n");
			exit(1);
		}
	}
	s->round[cur][s->n[cur]] = cur_round;
	s->v[cur][s->n[cur]++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile @p of sorted @v: linear interpolation between closest ranks. */
static double quantile(const double *v, int n, double p)
{
	double h = (n - 1) * p;
	int lo = (int)floor(h);

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/* The median of the samples of each round, in round order, as JSON. */
static void print_round_medians(const struct series *s, int st)
{
	double *tmp = malloc(s->n[st] * sizeof(double));
	int r, i, m;

	printf("\"round_medians\":[");
	for (r = 0; tmp && r < cfg.rounds; r++) {
		for (i = m = 0; i < s->n[st]; i++)
			if (s->round[st][i] == r)
				tmp[m++] = s->v[st][i];
		qsort(tmp, m, sizeof(*tmp), cmp_double);
		printf("%s", r ? "," : "");
		if (m)
			printf("%.6g", quantile(tmp, m, 0.5));
		else
			printf("null");
	}
	printf("],");
	free(tmp);
}

static void print_series(const struct series *s, int st)
{
	double *v = s->v[st], sum = 0;
	int n = s->n[st], i;

	if (!n)
		return;
	printf("bench-case: {");
	print_round_medians(s, st);
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	printf("\"name\":\"%s\",\"group\":\"%s\",\"op\":\"%s\","
	       "\"backing\":\"%s\",\"size\":%lu,\"count\":%u,\"unit\":\"%s\","
	       "\"better\":\"%s\",\"stack\":\"%s\",\"samples\":%d,"
	       "\"min\":%.6g,\"q1\":%.6g,\"median\":%.6g,\"q3\":%.6g,"
	       "\"max\":%.6g,\"mean\":%.6g,\"cdf\":[",
	       s->name, s->group, s->op, s->backing, s->size, s->count,
	       s->unit, s->higher ? "higher" : "lower", stack_name[st], n,
	       v[0], quantile(v, n, 0.25), quantile(v, n, 0.5),
	       quantile(v, n, 0.75), v[n - 1], sum / n);
	for (i = 0; i <= 20; i++)
		printf("%s%.6g", i ? "," : "", quantile(v, n, i / 20.0));
	printf("]}\n");
}

static void skip(const char *what, const char *why)
{
	printf("bench-skip: {\"case\":\"%s\",\"reason\":\"%s\"}\n", what, why);
	fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# vfio-bench: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---- time --------------------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Median cost of one now_us() call: what a single-op sample includes. */
static double clock_overhead_us(void)
{
	double v[201], t;
	int i;

	for (i = 0; i < 201; i++) {
		t = now_us();
		v[i] = now_us() - t;
	}
	qsort(v, 201, sizeof(*v), cmp_double);
	return v[100];
}

static const char *size_name(unsigned long size, char *buf, size_t len)
{
	if (size >= GiB && !(size % GiB))
		snprintf(buf, len, "%luG", size / GiB);
	else if (size >= MiB && !(size % MiB))
		snprintf(buf, len, "%luM", size / MiB);
	else if (size >= KiB && !(size % KiB))
		snprintf(buf, len, "%luK", size / KiB);
	else
		snprintf(buf, len, "%luB", size);
	return buf;
}

static unsigned long meminfo(const char *key)
{
	char line[128];
	unsigned long v = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoul(line + klen + 1, NULL, 10) * KiB;
			break;
		}
	fclose(f);
	return v;
}

/* ---- DMA ---------------------------------------------------------------- */

static int map(int c, void *va, uint64_t iova, uint64_t size)
{
	return vfg_dma_map(c, va, iova, size, VFG_DMA_RW);
}

static int unmap(int c, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};

	return ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

enum backing { B_4K, B_THP, B_HUGETLB, NR_BACKINGS };
static const char * const backing_name[NR_BACKINGS] = {
	"4k", "thp", "hugetlb",
};

/* The largest size each backing can hold, fixed before the first round. */
static unsigned long backing_max[NR_BACKINGS];

/*
 * @size bytes of populated memory: 4 KiB pages (THP off for the range), THP
 * (2 MiB aligned, MADV_HUGEPAGE) or hugetlbfs pages.  *@mlen: what to munmap.
 */
static void *alloc_backing(enum backing b, unsigned long size, void **base,
			   size_t *mlen)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	unsigned long len = size, i;
	char *p, *a;

	if (b == B_HUGETLB) {
		len = (size + SZ_2M - 1) & ~(SZ_2M - 1);
		flags |= MAP_HUGETLB;
	} else if (b == B_THP) {
		len = size + SZ_2M;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (b == B_THP) {
		a = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
		madvise(a, size, MADV_HUGEPAGE);
	} else if (b == B_4K) {
		madvise(a, size, MADV_NOHUGEPAGE);
	}
	for (i = 0; i < size; i += SZ_4K)
		a[i] = 1;
	*base = p;
	*mlen = len;
	return a;
}

/* Fraction of this process's anonymous memory in transparent huge pages. */
static double thp_fraction(void)
{
	unsigned long anon = 0, huge = 0, v;
	char line[128];
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Anonymous: %lu kB", &v) == 1)
			anon = v;
		else if (sscanf(line, "AnonHugePages: %lu kB", &v) == 1)
			huge = v;
	}
	fclose(f);
	return anon ? (double)huge / anon : 0;
}

/*
 * MAP_DMA and UNMAP_DMA of one range of @size bytes, each op timed alone:
 * MiB/s.  Samples per round: fewer for larger sizes (about 256 MiB of
 * mapping in all, at least 3).
 */
static void bench_dma_tput(struct vfg_dev *d)
{
	char name[48], sz[24];
	struct series *sm, *su;
	unsigned int b, i;
	size_t mlen;
	void *base;
	double t, t1;
	char *a;
	int k, n;

	for (b = 0; b < NR_BACKINGS; b++) {
		unsigned long top = 0;

		for (i = 0; i < cfg.nr_sizes; i++)
			if (cfg.sizes[i] <= backing_max[b])
				top = cfg.sizes[i];
		if (!top)
			continue;
		a = alloc_backing(b, top, &base, &mlen);
		if (!a) {
			note("%s: cannot allocate %lu bytes: %s", backing_name[b],
			     top, strerror(errno));
			continue;
		}
		if (b == B_THP && cur == OURS)
			note("thp: %.0f%% of anonymous memory in huge pages",
			     100 * thp_fraction());
		for (i = 0; i < cfg.nr_sizes && cfg.sizes[i] <= top; i++) {
			unsigned long size = cfg.sizes[i];

			size_name(size, sz, sizeof(sz));
			snprintf(name, sizeof(name), "map %s %s",
				 backing_name[b], sz);
			sm = get_series(name, "dma", "map", backing_name[b],
					size, 0, "MiB/s", true);
			snprintf(name, sizeof(name), "unmap %s %s",
				 backing_name[b], sz);
			su = get_series(name, "dma", "unmap", backing_name[b],
					size, 0, "MiB/s", true);
			n = nsamples(fmin(40, fmax(3, 256.0 * MiB / size)));
			for (k = -1; k < n; k++) {	/* k == -1: warm-up */
				t = now_us();
				if (map(d->container, a, IOVA_BASE, size)) {
					note("map %s: %s", name, strerror(errno));
					break;
				}
				t1 = now_us();
				if (k >= 0)
					add(sm, (double)size / MiB / ((t1 - t) / 1e6));
				t = now_us();
				if (unmap(d->container, IOVA_BASE, size, 0) < 0) {
					note("unmap %s: %s", name,
					     strerror(errno));
					break;
				}
				t1 = now_us();
				if (k >= 0)
					add(su, (double)size / MiB / ((t1 - t) / 1e6));
			}
		}
		munmap(base, mlen);
	}
}

/*
 * Many 4 KiB mappings, count from 1k to 64k, 8 KiB apart in IOVA (so no
 * stack can merge neighbours): map them all, unmap them one by one, map
 * them all again, then one UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL.  Map and
 * unmap samples are the mean per-op time of one pass (us/op); unmap-all the
 * time of the one call (ms).
 */
static void bench_small(struct vfg_dev *d)
{
	unsigned int max = 0, c, i, j;
	struct series *sm, *su, *sa;
	char name[48];
	size_t mlen;
	void *base;
	char *a;
	double t;
	int k, n;

	for (i = 0; i < cfg.nr_counts; i++)
		if (cfg.counts[i] > max)
			max = cfg.counts[i];
	a = alloc_backing(B_4K, (unsigned long)max * SZ_4K, &base, &mlen);
	if (!a) {
		note("small maps: no memory: %s", strerror(errno));
		return;
	}
	for (i = 0; i < cfg.nr_counts; i++) {
		c = cfg.counts[i];
		snprintf(name, sizeof(name), "map small x%u", c);
		sm = get_series(name, "small", "map", "4k", SZ_4K, c, "us", false);
		snprintf(name, sizeof(name), "unmap small x%u", c);
		su = get_series(name, "small", "unmap", "4k", SZ_4K, c, "us",
				false);
		snprintf(name, sizeof(name), "unmap-all x%u", c);
		sa = get_series(name, "unmap-all", "unmap-all", "4k", SZ_4K, c,
				"ms", false);
		n = nsamples(fmax(2, 8192.0 / c));
		for (k = -(c < 16384); k < n; k++) {	/* warm-up below 16k */
			int pass;

			for (pass = 0; pass < 2; pass++) {
				t = now_us();
				for (j = 0; j < c; j++)
					if (map(d->container, a + (size_t)j * SZ_4K,
						IOVA_BASE + (uint64_t)j * 2 * SZ_4K,
						SZ_4K))
						break;
				if (j < c) {
					note("%s: map %u: %s", name, j,
					     strerror(errno));
					unmap(d->container, 0, 0,
					      VFIO_DMA_UNMAP_FLAG_ALL);
					goto out;
				}
				if (k >= 0)
					add(sm, (now_us() - t) / c);
				t = now_us();
				if (pass) {
					if (unmap(d->container, 0, 0,
						  VFIO_DMA_UNMAP_FLAG_ALL) < 0)
						goto out;
					if (k >= 0)
						add(sa, (now_us() - t) / 1e3);
					continue;
				}
				for (j = 0; j < c; j++)
					if (unmap(d->container,
						  IOVA_BASE + (uint64_t)j * 2 * SZ_4K,
						  SZ_4K, 0) < 0)
						break;
				if (j < c) {
					note("unmap small %u: %s", j,
					     strerror(errno));
					unmap(d->container, 0, 0,
					      VFIO_DMA_UNMAP_FLAG_ALL);
					goto out;
				}
				if (k >= 0)
					add(su, (now_us() - t) / c);
			}
		}
	}
out:
	munmap(base, mlen);
}

/* ---- open/close --------------------------------------------------------- */

/*
 * Open the group, a container, attach, set type1v2, get the device fd, and
 * close them all again: us per cycle.
 */
static void bench_open_close(const char *bdf)
{
	struct series *s = get_series("open-close cycle", "open", "cycle", "",
				      0, 0, "us", false);
	struct vfg_dev d;
	int k, n = nsamples(20);
	double t;

	for (k = -1; k < n; k++) {
		t = now_us();
		if (vfg_dev_open(&d, bdf)) {
			note("open-close: cannot open %s", bdf);
			return;
		}
		vfg_dev_close(&d);
		if (k >= 0)
			add(s, now_us() - t);
	}
}

/* ---- config and BAR access ---------------------------------------------- */

/*
 * pread/pwrite of the device fd, @len bytes at @off of region @index, in
 * batches of @batch ops timed together: us/op.  Writes write back what was
 * read, to registers that have no side effect (see the callers).
 */
static void bench_rw(int fd, const char *name, uint32_t index, uint64_t off,
		     size_t len, bool write, int nbatch, int batch)
{
	struct series *s = get_series(name, "access", write ? "write" : "read",
				      index == VFIO_PCI_CONFIG_REGION_INDEX ?
				      "config" : "bar0", len, 0, "us", false);
	uint64_t pos = VFG_REGION_OFFSET(index) + off;
	static char buf[SZ_4K];
	int k, j, n = nsamples(nbatch);
	double t;

	if (pread(fd, buf, len, pos) != (ssize_t)len) {
		note("%s: pread: %s", name, strerror(errno));
		return;
	}
	for (k = -1; k < n; k++) {
		t = now_us();
		for (j = 0; j < batch; j++)
			if ((write ? pwrite(fd, buf, len, pos) :
			     pread(fd, buf, len, pos)) != (ssize_t)len)
				break;
		if (j < batch) {
			note("%s: %s", name, strerror(errno));
			return;
		}
		if (k >= 0)
			add(s, (now_us() - t) / batch);
	}
}

static void bench_access(struct vfg_dev *d)
{
	struct vfio_region_info ri;
	size_t cfgsz = 256;
	char name[48];

	if (!vfg_region_info(d->fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri) &&
	    ri.size >= 256)
		cfgsz = ri.size > SZ_4K ? SZ_4K : ri.size;
	/* Config: the vendor ID dword; interrupt line/pin/grant/latency. */
	bench_rw(d->fd, "config read 4B", VFIO_PCI_CONFIG_REGION_INDEX, 0, 4,
		 false, 200, 8);
	bench_rw(d->fd, "config write 4B", VFIO_PCI_CONFIG_REGION_INDEX, 0x3c,
		 4, true, 200, 8);
	/* The whole space: 256 bytes on the edu, a conventional PCI device. */
	snprintf(name, sizeof(name), "config read %zuB", cfgsz);
	bench_rw(d->fd, name, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfgsz, false,
		 100, 2);
	/* BAR0: the ID register; liveness (write: no side effect to speak of) */
	bench_rw(d->fd, "bar0 read 4B", VFIO_PCI_BAR0_REGION_INDEX,
		 EDU_REG_ID, 4, false, 200, 8);
	bench_rw(d->fd, "bar0 write 4B", VFIO_PCI_BAR0_REGION_INDEX,
		 EDU_REG_LIVENESS, 4, true, 200, 8);
	/* 4 KiB from 0x1000: no edu register there (reads ~0, writes ignored). */
	bench_rw(d->fd, "bar0 read 4K", VFIO_PCI_BAR0_REGION_INDEX, 0x1000,
		 SZ_4K, false, 60, 1);
	bench_rw(d->fd, "bar0 write 4K", VFIO_PCI_BAR0_REGION_INDEX, 0x1000,
		 SZ_4K, true, 60, 1);
}

/*
 * 4 KiB of config space: the edu has 256 bytes, the e1000e (PCIe) 4 KiB.
 * The write writes back what the read returned.
 */
static void bench_config_4k(const char *bdf)
{
	struct vfio_region_info ri;
	struct vfg_dev d;

	vfg_dev_init(&d);
	if (vfg_pci_bind(bdf, "vfio-pci") || vfg_dev_open(&d, bdf)) {
		note("config 4K: cannot open %s", bdf);
		goto out;
	}
	if (vfg_region_info(d.fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri) ||
	    ri.size < SZ_4K) {
		note("config 4K: %s has no 4 KiB config space", bdf);
		goto out;
	}
	bench_rw(d.fd, "config read 4K", VFIO_PCI_CONFIG_REGION_INDEX, 0,
		 SZ_4K, false, 60, 1);
	bench_rw(d.fd, "config write 4K", VFIO_PCI_CONFIG_REGION_INDEX, 0,
		 SZ_4K, true, 60, 1);
out:
	vfg_dev_close(&d);
	vfg_pci_unbind(bdf);
	vfg_pci_set_override(bdf, NULL);
}

/* ---- interrupts --------------------------------------------------------- */

static int set_efd(int fd, uint32_t index, int32_t efd)
{
	return vfg_set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD |
			    VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 1, &efd,
			    sizeof(efd));
}

/*
 * Steer the interrupts of @bdf that are set up now (vfio-intx(BDF),
 * vfio-msi[N](BDF) in /proc/interrupts, the same names on both stacks) to
 * CPU 0, where vfio-bench runs: otherwise the latency depends on the CPU
 * the kernel happened to pick when the handler was requested (a wake-up
 * across CPUs costs some 15 us more under TCG), which changes from round
 * to round.  Returns how many were steered.
 */
static int irq_to_cpu0(const char *bdf)
{
	char line[1024], path[64];
	FILE *f = fopen("/proc/interrupts", "r");
	int n = 0, irq;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "vfio-") || !strstr(line, bdf) ||
		    sscanf(line, " %d:", &irq) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity", irq);
		if (!vfg_sysfs_write(path, "1"))
			n++;
	}
	fclose(f);
	return n;
}

/*
 * From the write to the edu's raise register (through the BAR mmap) to the
 * return of the read of the eventfd the interrupt signals: us.  INTx is
 * acknowledged in the device and unmasked between samples; MSI needs bus
 * mastering on.
 */
static void bench_irq(struct vfg_dev *d, uint32_t index)
{
	const char *name = index == VFIO_PCI_INTX_IRQ_INDEX ? "intx latency" :
		"msi latency";
	struct series *s = get_series(name, "irq", index ==
				      VFIO_PCI_INTX_IRQ_INDEX ? "intx" : "msi",
				      "", 0, 0, "us", false);
	struct pollfd p = { .events = POLLIN };
	volatile void *bar;
	int efd, k, n = nsamples(100), miss = 0;
	uint16_t cmd;
	uint64_t v;
	double t;

	bar = vfg_region_mmap(d->fd, VFIO_PCI_BAR0_REGION_INDEX, 0,
			      EDU_BAR0_SIZE, PROT_READ | PROT_WRITE);
	efd = eventfd(0, EFD_CLOEXEC);
	if (!bar || efd < 0) {
		note("%s: no BAR mmap or eventfd", name);
		goto out;
	}
	if (index == VFIO_PCI_MSI_IRQ_INDEX) {
		cmd = vfg_cfg_read16(d->fd, 0x04);
		vfg_cfg_write16(d->fd, 0x04, cmd | 0x4);	/* bus master */
	}
	if (set_efd(d->fd, index, efd)) {
		note("%s: SET_IRQS: %s", name, strerror(errno));
		goto out;
	}
	if (!irq_to_cpu0(d->bdf))
		note("%s: cannot steer the interrupt to CPU 0", name);
	p.fd = efd;
	for (k = -1; k < n && miss < 3; k++) {
		t = now_us();
		edu_write32(bar, EDU_REG_IRQ_RAISE, 0x1);
		if (poll(&p, 1, 2000) != 1 || read(efd, &v, sizeof(v)) != 8) {
			miss++;
			k--;
		} else if (k >= 0) {
			add(s, now_us() - t);
		}
		edu_write32(bar, EDU_REG_IRQ_ACK, 0x1);
		if (index == VFIO_PCI_INTX_IRQ_INDEX)
			vfg_set_irqs(d->fd, VFIO_IRQ_SET_DATA_NONE |
				     VFIO_IRQ_SET_ACTION_UNMASK, index, 0, 1,
				     NULL, 0);
	}
	if (miss)
		note("%s: %d interrupts did not arrive within 2 s", name, miss);
	vfg_irq_disable(d->fd, index);
out:
	if (efd >= 0)
		close(efd);
	if (bar) {
		edu_write32(bar, EDU_REG_IRQ_ACK, 0xffffffff);
		munmap((void *)bar, EDU_BAR0_SIZE);
	}
}

/* ---- unbind to release request (ours) ----------------------------------- */

/* From the unbind write to the RELEASE_REQUESTED event: ms. */
static void bench_unbind_event(const char *bdf)
{
	struct series *s = get_series("unbind release-request", "event",
				      "unbind", "", 0, 0, "ms", false);
	int k, n = nsamples(4);
	struct vfg_nl nl;
	struct vfg_dev d;
	double t;
	pid_t pid;

	if (vfg_nl_open(&nl, true)) {
		note("unbind: no netlink");
		return;
	}
	for (k = 0; k < n; k++) {
		vfg_dev_init(&d);
		if (vfg_pci_bind(bdf, "vfio-pci") || vfg_dev_open(&d, bdf))
			break;
		t = now_us();
		pid = vfg_fork();
		if (!pid) {
			int fd;

			for (fd = 3; fd < 1024; fd++)
				close(fd);
			_exit(vfg_pci_unbind(bdf) ? 1 : 0);
		}
		if (!vfg_nl_wait(&nl, VFIO_GROUPS_EVENT_RELEASE_REQUESTED, bdf,
				 10000, NULL))
			add(s, (now_us() - t) / 1e3);
		vfg_dev_close(&d);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		vfg_pci_set_override(bdf, NULL);
	}
	vfg_nl_close(&nl);
}

/* ---- one stack, one round ----------------------------------------------- */

static int run_stack(int st, const struct vfg_topo *topo)
{
	struct vfg_dev d;
	double t = now_us();

	cur = st;
	if (st == KERNEL)
		setenv("VFG_USE_KERNEL_VFIO", "1", 1);
	else
		unsetenv("VFG_USE_KERNEL_VFIO");
	if (vfg_vfio_load()) {
		fprintf(stderr, "vfio-bench: cannot load %s VFIO\n",
			stack_name[st]);
		return -1;
	}
	if (vfg_sysfs_write(PARAMS "dma_entry_limit", ENTRY_LIMIT))
		note("%s: cannot set dma_entry_limit", stack_name[st]);
	vfg_dev_init(&d);
	if (vfg_pci_bind(topo->lone, "vfio-pci") || vfg_dev_open(&d, topo->lone)) {
		fprintf(stderr, "vfio-bench: cannot open %s\n", topo->lone);
		return -1;
	}
	bench_dma_tput(&d);
	bench_small(&d);
	bench_access(&d);
	bench_irq(&d, VFIO_PCI_INTX_IRQ_INDEX);
	bench_irq(&d, VFIO_PCI_MSI_IRQ_INDEX);
	vfg_dev_close(&d);
	bench_open_close(topo->lone);
	if (topo->nic[0])
		bench_config_4k(topo->nic);
	vfg_pci_unbind(topo->lone);
	vfg_pci_set_override(topo->lone, NULL);
	if (st == OURS && topo->pedu[0])
		bench_unbind_event(topo->pedu);
	note("%s: %.1f s", stack_name[st], (now_us() - t) / 1e6);
	return 0;
}

/* ---- set-up ------------------------------------------------------------- */

/*
 * Decide once, before the first round, the largest size each backing gets,
 * so both stacks run the same cases: reserve hugetlb pages for the largest
 * hugetlb size, then see what anonymous memory is left.
 */
static void plan_memory(void)
{
	unsigned long want = 0, got_pages, avail, small;
	char buf[64], sz[24], why[160];
	unsigned int i;

	for (i = 0; i < cfg.nr_sizes; i++)
		if (cfg.sizes[i] <= cfg.max_size && cfg.sizes[i] > want)
			want = cfg.sizes[i];
	/* Hugetlb: as much as the largest size, if MemAvailable allows. */
	avail = meminfo("MemAvailable");
	small = (unsigned long)cfg.counts[cfg.nr_counts - 1] * SZ_4K;
	for (i = cfg.nr_sizes; i-- > 0;) {
		unsigned long s = cfg.sizes[i];

		if (s > cfg.max_size)
			continue;
		if (s + s + small + 2 * ANON_SLACK <= avail || s <= SZ_2M)
			break;
	}
	backing_max[B_HUGETLB] = i < cfg.nr_sizes ? cfg.sizes[i] : 0;
	snprintf(buf, sizeof(buf), "%lu",
		 (backing_max[B_HUGETLB] + SZ_2M - 1) / SZ_2M);
	vfg_sysfs_write(HUGEPAGES, buf);
	got_pages = 0;
	if (!vfg_sysfs_read(HUGEPAGES, buf, sizeof(buf)))
		got_pages = strtoul(buf, NULL, 10);
	while (backing_max[B_HUGETLB] > got_pages * SZ_2M) {
		for (i = cfg.nr_sizes; i-- > 0;)
			if (cfg.sizes[i] < backing_max[B_HUGETLB])
				break;
		backing_max[B_HUGETLB] = i < cfg.nr_sizes ? cfg.sizes[i] : 0;
	}
	avail = meminfo("MemAvailable");
	for (i = cfg.nr_sizes; i-- > 0;) {
		unsigned long s = cfg.sizes[i];

		if (s <= cfg.max_size && s + small + ANON_SLACK <= avail)
			break;
	}
	backing_max[B_4K] = backing_max[B_THP] =
		i < cfg.nr_sizes ? cfg.sizes[i] : 0;
	for (i = 0; i < cfg.nr_sizes; i++) {
		unsigned int b;

		for (b = 0; b < NR_BACKINGS; b++) {
			if (cfg.sizes[i] <= backing_max[b])
				continue;
			snprintf(why, sizeof(why),
				 cfg.sizes[i] > cfg.max_size ?
				 "above --max-size" :
				 "does not fit: %lu MiB available, %lu hugetlb pages",
				 avail / MiB, got_pages);
			snprintf(buf, sizeof(buf), "map/unmap %s %s",
				 backing_name[b],
				 size_name(cfg.sizes[i], sz, sizeof(sz)));
			skip(buf, why);
		}
	}
}

static void print_meta(const struct vfg_topo *topo)
{
	char cs[64] = "", thp[128] = "";
	struct utsname u;

	uname(&u);
	vfg_sysfs_read("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		       cs, sizeof(cs));
	cs[strcspn(cs, "\n")] = '\0';
	vfg_sysfs_read(THP_ENABLED, thp, sizeof(thp));
	thp[strcspn(thp, "\n")] = '\0';
	printf("bench-meta: {\"kernel\":\"%s\",\"machine\":\"%s\","
	       "\"mem_total_mib\":%lu,\"hugepages_2m\":%lu,"
	       "\"clocksource\":\"%s\",\"clock_overhead_us\":%.3f,"
	       "\"thp\":\"%s\",\"rounds\":%d,\"scale\":%g,\"quick\":%s,"
	       "\"device\":\"%s\",\"cpus\":%ld}\n",
	       u.release, u.machine, meminfo("MemTotal") / MiB,
	       meminfo("HugePages_Total") / KiB, cs, clock_overhead_us(), thp,
	       cfg.rounds, cfg.scale, cfg.quick ? "true" : "false", topo->lone,
	       sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vfio-bench [--rounds N] [--scale F] [--max-size MIB] [--quick]\n"
		"  --rounds N      rounds of (ours, kernel), alternating order (6)\n"
		"  --scale F       multiply every sample count by F (2)\n"
		"  --max-size MIB  largest MAP_DMA size (1024)\n"
		"  --quick         tiny sizes, few samples: proves it works\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "scale", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "quick", no_argument, NULL, 'q' },
		{ }
	};
	struct vfg_topo topo;
	unsigned int i;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cfg.rounds = atoi(optarg);
			break;
		case 's':
			cfg.scale = atof(optarg);
			break;
		case 'm':
			cfg.max_size = strtoul(optarg, NULL, 0) * MiB;
			break;
		case 'q':
			cfg.quick = true;
			break;
		default:
			usage();
		}
	}
	if (cfg.rounds < 1 || cfg.rounds > 200 || !(cfg.scale > 0))
		usage();
	if (cfg.quick) {
		cfg.sizes = quick_sizes;
		cfg.nr_sizes = ARRAY_SIZE(quick_sizes);
		cfg.counts = quick_counts;
		cfg.nr_counts = ARRAY_SIZE(quick_counts);
	} else {
		cfg.sizes = full_sizes;
		cfg.nr_sizes = ARRAY_SIZE(full_sizes);
		cfg.counts = full_counts;
		cfg.nr_counts = ARRAY_SIZE(full_counts);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* One CPU for the measuring thread (and, in bench_irq, its interrupts). */
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			note("cannot pin to CPU 0: %s", strerror(errno));
	}
	if (vfg_topo_find(&topo)) {
		fprintf(stderr, "vfio-bench: no test topology\n");
		return 1;
	}
	/* THP must be on for madvised ranges at least. */
	{
		char thp[128] = "";

		vfg_sysfs_read(THP_ENABLED, thp, sizeof(thp));
		if (strstr(thp, "[never]"))
			vfg_sysfs_write(THP_ENABLED, "madvise");
	}
	plan_memory();
	print_meta(&topo);
	for (r = 0; r < cfg.rounds; r++) {
		int first = r % 2 ? KERNEL : OURS;

		cur_round = r;
		note("round %d/%d: %s first", r + 1, cfg.rounds,
		     stack_name[first]);
		if (run_stack(first, &topo) || run_stack(!first, &topo))
			return 1;
	}
	vfg_vfio_unload_all();
	for (i = 0; i < (unsigned int)nr_series; i++)
		for (c = 0; c < NR_STACKS; c++)
			print_series(&series[i], c);
	printf("bench-done: {\"series\":%d}\n", nr_series);
	return 0;
}
