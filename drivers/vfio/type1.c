// SPDX-License-Identifier: GPL-2.0-only
/*
 * The type1 IOMMU backend: DMA mappings of pinned user memory in the IOMMU
 * domains of a container's groups.
 *
 * Domains
 * -------
 * A container has one address space but may need several IOMMU domains to
 * hold it: a group joins an existing domain when the IOMMU driver accepts
 * it there, and otherwise gets a domain of its own, as upstream's type1
 * does.  To find out, the group is first attached to a new domain and
 * asked enforce_cache_coherency(), before anything is mapped in it; then it
 * is moved to the first existing domain of the same IOMMU ops that gave the
 * same answer and takes it.  If none does, the new domain stays and every
 * existing mapping is replayed into it: the physical pages are those the
 * mapping recorded (or, without that record, read from a domain that has
 * them with iommu_iova_to_phys()), never pinned or charged a second time.
 * vfio_iommu_type1.separate_domains skips the search, so that the
 * many-domain paths can be tested on a machine with one IOMMU.  Every
 * mapping is in every domain; the container offers the page sizes and IOVA
 * ranges all of them have, and is cache coherent only if all of them are.
 * When the last group of a domain leaves and others remain, the domain is
 * emptied and freed; the pages stay pinned for the others.
 *
 * Pinning and accounting
 * ----------------------
 * VFIO_IOMMU_MAP_DMA pins the user pages behind [vaddr, vaddr + size) with
 * pin_user_pages_fast(FOLL_LONGTERM), a page of page pointers at a time, and
 * maps each physically contiguous run of them with one iommu_map() call per
 * domain.  Every pinned page is charged to the mapping process's locked_vm
 * against RLIMIT_MEMLOCK, unless it has CAP_IPC_LOCK; the charge is checked
 * for the whole request before anything is pinned, so a request over the
 * limit fails cleanly with -ENOMEM and a log line giving the figures.  Each
 * mapping remembers the mm it charged (mmgrab()) and how much, so the charge
 * is given back to the right mm when the mapping goes, whoever unmaps it,
 * even after that process has exited.  A page is pinned and charged once,
 * however many domains map it.
 *
 * Each mapping keeps the list of the physically contiguous runs it mapped
 * (struct vfg_run: 16 bytes a run, one per 4 KiB page at worst, charged to
 * the memory cgroup; one for a contiguous hugetlb or THP range).  Unmapping
 * first takes the range out of every domain but the first with
 * iommu_unmap(), which flushes their IOTLBs before it returns.  Then the
 * first domain is unmapped with iommu_unmap_fast() in pieces of up to
 * 256 MiB into one iotlb gather, with no lookup in its page tables, and the
 * runs are unpinned only after the IOTLB flush that covers them: a page is
 * never returned to the system while a device could still reach it through
 * any domain.  A mapping whose runs could not be recorded (no memory for the
 * list), or one that failed half way, is walked instead: physically
 * contiguous runs are found with iommu_iova_to_phys() and unpinned a batch
 * at a time after the flush that covers them.  A domain that joins later is
 * given the runs too, with no walk of another domain.
 *
 * Peer-to-peer mappings of VM_IO/VM_PFNMAP memory (another device's BAR)
 * pin and charge nothing: see vfg_dma_map_pfnmap().
 *
 * Mappings live in an rb-tree keyed by IOVA; they never overlap, so finding
 * any mapping that intersects a range is one O(log n) descent.  Ranges are
 * [iova, last], last inclusive, so a mapping may end at the top of the
 * address space.
 *
 * Locking: every function here runs under the container's lock (see
 * container.c), except vfg_type1_ioctl(), which copies the ioctls'
 * arguments in and out without it and takes it for the work; the backend
 * has no lock of its own.  The domains a
 * peer-to-peer mapping of one of our devices is in (vfg_p2p.domains) are
 * also read by that device when it takes its memory away, under its
 * p2p_lock only: they are changed with both locks held, so either suffices
 * to read them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio.h>

#include "vfio.h"

/* Shown and set as vfio_iommu_type1's parameters (type1_params.c). */
struct vfg_type1_params vfg_type1_params = {
	.dma_entry_limit = U16_MAX,
};
EXPORT_SYMBOL_GPL(vfg_type1_params);

/**
 * struct vfg_run - pinned pages that are physically contiguous
 * @phys: physical address of the first
 * @len: bytes
 */
struct vfg_run {
	phys_addr_t phys;
	size_t len;
};

/**
 * struct vfg_dma - one VFIO_IOMMU_MAP_DMA mapping
 * @node: in vfg_iommu.dmas
 * @iova: first IOVA
 * @last: last IOVA (inclusive)
 * @vaddr: user address it maps
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 * @mm: the mm charged for it, mmgrab()ed
 * @locked: pages charged to @mm's locked_vm
 * @pfnmap: it maps VM_IO/VM_PFNMAP memory (peer-to-peer): nothing pinned
 *          or charged
 * @runs: with pinned RAM, the physically contiguous runs it maps, in IOVA
 *        order from @iova, so that its unmap and its replay into a new
 *        domain need no walk of the IOMMU page tables; NULL if they could
 *        not be recorded (no memory), and then the tables are walked
 * @nr_runs: entries of @runs in use
 * @max_runs: entries allocated
 * @one_run: where @runs points while there is one run (the common case: a
 *           4 KiB page, a contiguous range), so that it costs no allocation
 * @exporter: with @pfnmap, the device of ours whose memory it maps (a
 *            reference held through @p2p), or NULL
 * @p2p: with @exporter, the mapping as the exporter knows it
 */
struct vfg_dma {
	struct rb_node node;
	dma_addr_t iova;
	dma_addr_t last;
	unsigned long vaddr;
	int prot;
	struct mm_struct *mm;
	unsigned long locked;
	bool pfnmap;
	struct vfg_run *runs;
	unsigned long nr_runs;
	unsigned long max_runs;
	struct vfg_run one_run;
	struct vfg_device *exporter;
	struct vfg_p2p p2p;
};

/**
 * struct vfg_iova_range - a usable IOVA range
 * @node: in vfg_iommu.ranges, sorted
 * @start: first IOVA
 * @last: last IOVA (inclusive)
 */
struct vfg_iova_range {
	struct list_head node;
	dma_addr_t start;
	dma_addr_t last;
};

/**
 * struct vfg_domain - one IOMMU domain of a container
 * @node: in vfg_iommu.domains
 * @domain: the IOMMU domain; every mapping of the container is in it
 * @groups: the groups attached to it, through vfg_domain_group.node
 * @coherent: it enforces cache coherency (PCIe no-snoop is ignored), as
 *            enforce_cache_coherency() answered before anything was mapped
 */
struct vfg_domain {
	struct list_head node;
	struct iommu_domain *domain;
	struct list_head groups;
	bool coherent;
};

/**
 * struct vfg_domain_group - a group attached to a vfg_domain
 * @node: in vfg_domain.groups
 * @group: the group
 */
struct vfg_domain_group {
	struct list_head node;
	struct vfg_group *group;
};

/*
 * Runs of pages unmapped from the IOMMU, to unpin after the IOTLB flush.
 * Each full batch costs one flush: 512 runs, as many as a 2 MiB range of
 * scattered 4 KiB pages has, so that unmapping one takes a single flush
 * (at 32 it took 16, and the invalidations were most of its cost).
 */
#define VFG_UNPIN_BATCH 512

struct vfg_unpin {
	struct iommu_iotlb_gather gather;
	unsigned int nr;
	bool dirty;
	struct {
		phys_addr_t phys;
		size_t len;
	} runs[VFG_UNPIN_BATCH];
};

/**
 * struct vfg_iommu - the type1 state of a container
 * @domains: struct vfg_domain, through its node; never empty once created.
 *           The first is the one unmapping walks to find the pinned pages.
 * @nr_domains: length of @domains
 * @coherent: every domain enforces cache coherency
 * @v2: type1v2 unmap semantics
 * @pgsize_bitmap: page sizes offered to userspace (PAGE_SIZE and up) that
 *                 every domain has
 * @dmas: mappings, by IOVA
 * @dma_count: number of mappings
 * @ranges: usable IOVA ranges: what is inside every domain's aperture less
 *          every group's reserved regions
 * @unpin: the runs an unmap has taken out of the IOMMU and will unpin after
 *         the IOTLB flush: one batch, reused by every unmap
 * @pages: a page of page pointers that MAP_DMA pins into, reused by every
 *         map
 *
 * @unpin and @pages are scratch space, kept so that no map or unmap
 * allocates any; like everything here they are used under the container's
 * lock only.
 */
struct vfg_iommu {
	struct vfg_unpin unpin;
	struct page **pages;
	struct list_head domains;
	unsigned int nr_domains;
	bool coherent;
	bool v2;
	unsigned long pgsize_bitmap;
	struct rb_root dmas;
	unsigned int dma_count;
	struct list_head ranges;
};

/* ---- locked memory accounting ----------------------------------------- */

static int vfg_charge(struct mm_struct *mm, unsigned long npages)
{
	int ret;

	mmap_write_lock(mm);
	ret = __account_locked_vm(mm, npages, true, current,
				  capable(CAP_IPC_LOCK));
	mmap_write_unlock(mm);
	return ret;
}

static void vfg_uncharge(struct mm_struct *mm, unsigned long npages)
{
	/* The caller's own mm (the common case) needs no reference. */
	bool own = mm == current->mm;

	if (!npages || (!own && !mmget_not_zero(mm)))
		return;		/* an mm that is gone has nothing to give back */
	mmap_write_lock(mm);
	__account_locked_vm(mm, npages, false, current, true);
	mmap_write_unlock(mm);
	if (!own)
		mmput(mm);
}

/* Refuse up front a request that cannot fit under RLIMIT_MEMLOCK. */
static int vfg_charge_check(unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long locked = READ_ONCE(current->mm->locked_vm);

	if (capable(CAP_IPC_LOCK) || locked + npages <= limit)
		return 0;
	pr_warn_ratelimited("%s[%d]: DMA map of %lu pages refused: %lu pages already locked, RLIMIT_MEMLOCK is %lu pages; raise the limit or grant CAP_IPC_LOCK\n",
			    current->comm, task_tgid_nr(current), npages,
			    locked, limit);
	return -ENOMEM;
}

/* ---- the mapping tree -------------------------------------------------- */

/* Any mapping that intersects [iova, last]. */
static struct vfg_dma *vfg_dma_find(struct vfg_iommu *iommu, dma_addr_t iova,
				    dma_addr_t last)
{
	struct rb_node *n = iommu->dmas.rb_node;
	struct vfg_dma *dma;

	while (n) {
		dma = rb_entry(n, struct vfg_dma, node);
		if (last < dma->iova)
			n = n->rb_left;
		else if (iova > dma->last)
			n = n->rb_right;
		else
			return dma;
	}
	return NULL;
}

/* The first mapping that intersects [iova, last], by IOVA. */
static struct vfg_dma *vfg_dma_first(struct vfg_iommu *iommu, dma_addr_t iova,
				     dma_addr_t last)
{
	struct rb_node *n = iommu->dmas.rb_node;
	struct vfg_dma *dma, *found = NULL;

	while (n) {
		dma = rb_entry(n, struct vfg_dma, node);
		if (dma->last < iova) {
			n = n->rb_right;
		} else {
			if (dma->iova <= last)
				found = dma;
			n = n->rb_left;
		}
	}
	return found;
}

static void vfg_dma_insert(struct vfg_iommu *iommu, struct vfg_dma *new)
{
	struct rb_node **link = &iommu->dmas.rb_node, *parent = NULL;
	struct vfg_dma *dma;

	while (*link) {
		parent = *link;
		dma = rb_entry(parent, struct vfg_dma, node);
		link = new->iova < dma->iova ? &parent->rb_left :
					       &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &iommu->dmas);
	iommu->dma_count++;
}

/* ---- the domains: what every mapping is done to ------------------------ */

static struct vfg_domain *vfg_first_domain(struct vfg_iommu *iommu)
{
	return list_first_entry(&iommu->domains, struct vfg_domain, node);
}

/*
 * Map [iova, iova + len) to @phys in every domain.  Return: 0, or the
 * errno of the domain that failed, with the range unmapped from the others.
 */
static int vfg_map_all(struct vfg_iommu *iommu, dma_addr_t iova,
		       phys_addr_t phys, size_t len, int prot)
{
	struct vfg_domain *d;
	int ret;

	list_for_each_entry(d, &iommu->domains, node) {
		ret = iommu_map(d->domain, iova, phys, len, prot);
		if (ret)
			goto unwind;
	}
	return 0;
unwind:
	list_for_each_entry_continue_reverse(d, &iommu->domains, node)
		iommu_unmap(d->domain, iova, len);
	return ret;
}

/*
 * Unmap whatever is mapped in [iova, iova + size) of @domain, holes
 * included; iommu_unmap() flushes the IOTLB before it returns.
 */
static void vfg_domain_unmap(struct iommu_domain *domain, dma_addr_t iova,
			     size_t size)
{
	size_t done = 0, n;

	while (done < size) {
		n = iommu_unmap(domain, iova + done, size - done);
		done += n ? n : PAGE_SIZE;	/* a hole: skip a page */
		cond_resched();
	}
}

/* Unmap [iova, iova + size) from every domain but the first. */
static void vfg_unmap_others(struct vfg_iommu *iommu, dma_addr_t iova,
			     size_t size)
{
	struct vfg_domain *d = vfg_first_domain(iommu);

	list_for_each_entry_continue(d, &iommu->domains, node)
		vfg_domain_unmap(d->domain, iova, size);
}

/* ---- pinning and IOMMU mapping ----------------------------------------- */

static void vfg_unpin_flush(struct iommu_domain *domain, struct vfg_unpin *u)
{
	unsigned int i;

	iommu_iotlb_sync(domain, &u->gather);
	for (i = 0; i < u->nr; i++)
		unpin_user_page_range_dirty_lock(pfn_to_page(PHYS_PFN(u->runs[i].phys)),
						 u->runs[i].len >> PAGE_SHIFT,
						 u->dirty);
	u->nr = 0;
	iommu_iotlb_gather_init(&u->gather);
}

/*
 * Unmap from every domain and unpin what is mapped in [iova, iova + size),
 * walking the first domain's page tables for the pages (a mapping whose
 * runs are not known, or one that failed half way); holes are skipped.  The
 * other domains are unmapped and flushed first, so that the first one's
 * flush before each unpin is the last.  Return: pages unpinned.
 */
static unsigned long vfg_unmap_range(struct vfg_iommu *iommu, dma_addr_t iova,
				     size_t size, bool dirty)
{
	struct iommu_domain *domain = vfg_first_domain(iommu)->domain;
	struct vfg_unpin *u = &iommu->unpin;
	unsigned long unpinned = 0;
	size_t done = 0, len, unmapped;
	phys_addr_t phys;

	vfg_unmap_others(iommu, iova, size);
	u->nr = 0;
	u->dirty = dirty;
	iommu_iotlb_gather_init(&u->gather);
	while (done < size) {
		phys = iommu_iova_to_phys(domain, iova + done);
		if (!phys) {
			done += PAGE_SIZE;
			continue;
		}
		len = PAGE_SIZE;
		while (done + len < size &&
		       iommu_iova_to_phys(domain, iova + done + len) ==
		       phys + len)
			len += PAGE_SIZE;
		unmapped = iommu_unmap_fast(domain, iova + done, len,
					    &u->gather);
		if (WARN_ON_ONCE(unmapped != len))
			len = unmapped ? unmapped : PAGE_SIZE;
		if (unmapped) {
			u->runs[u->nr].phys = phys;
			u->runs[u->nr].len = unmapped;
			unpinned += unmapped >> PAGE_SHIFT;
			if (++u->nr == VFG_UNPIN_BATCH)
				vfg_unpin_flush(domain, u);
		}
		done += len;
		cond_resched();
	}
	vfg_unpin_flush(domain, u);
	return unpinned;
}

/* The most one iommu_unmap_fast() call of vfg_unmap_runs() takes out. */
#define VFG_UNMAP_CHUNK SZ_256M

/*
 * Unmap from every domain and unpin @dma, pinned RAM whose runs are known:
 * the first domain is unmapped a large piece at a time, with no lookup in
 * its page tables, into one IOTLB gather; after its flush the runs are
 * unpinned.  Should the IOMMU unmap less than the mapping (it never
 * should), what it left is walked.  Return: pages unpinned.
 */
static unsigned long vfg_unmap_runs(struct vfg_iommu *iommu,
				    struct vfg_dma *dma, bool dirty)
{
	struct iommu_domain *domain = vfg_first_domain(iommu)->domain;
	size_t size = dma->last - dma->iova + 1, done = 0, left, len, n;
	struct iommu_iotlb_gather *gather = &iommu->unpin.gather;
	unsigned long unpinned = 0, i;

	vfg_unmap_others(iommu, dma->iova, size);
	iommu_iotlb_gather_init(gather);
	while (done < size) {
		n = iommu_unmap_fast(domain, dma->iova + done,
				     min_t(size_t, size - done, VFG_UNMAP_CHUNK),
				     gather);
		if (!n)
			break;
		done += n;
		cond_resched();
	}
	iommu_iotlb_sync(domain, gather);
	for (i = 0, left = done; i < dma->nr_runs && left; i++) {
		len = min(dma->runs[i].len, left);
		unpin_user_page_range_dirty_lock(pfn_to_page(PHYS_PFN(dma->runs[i].phys)),
						 len >> PAGE_SHIFT, dirty);
		unpinned += len >> PAGE_SHIFT;
		left -= len;
		if ((i & (VFG_UNPIN_BATCH - 1)) == VFG_UNPIN_BATCH - 1)
			cond_resched();
	}
	if (WARN_ON_ONCE(done < size))
		unpinned += vfg_unmap_range(iommu, dma->iova + done,
					    size - done, dirty);
	return unpinned;
}

static void vfg_dma_free_runs(struct vfg_dma *dma)
{
	if (dma->runs != &dma->one_run)
		kvfree(dma->runs);
	dma->runs = NULL;
	dma->nr_runs = 0;
	dma->max_runs = 0;
}

static void vfg_dma_remove(struct vfg_iommu *iommu, struct vfg_dma *dma)
{
	size_t size = dma->last - dma->iova + 1;
	struct vfg_domain *d;

	if (dma->exporter) {
		vfg_device_p2p_unlink(dma->exporter, &dma->p2p);
		kfree(dma->p2p.domains);
	} else if (dma->pfnmap) {
		list_for_each_entry(d, &iommu->domains, node)
			vfg_domain_unmap(d->domain, dma->iova, size);
	} else if (dma->runs) {
		vfg_unmap_runs(iommu, dma, dma->prot & IOMMU_WRITE);
	} else {
		vfg_unmap_range(iommu, dma->iova, size,
				dma->prot & IOMMU_WRITE);
	}
	vfg_uncharge(dma->mm, dma->locked);
	mmdrop(dma->mm);
	rb_erase(&dma->node, &iommu->dmas);
	iommu->dma_count--;
	vfg_dma_free_runs(dma);
	kfree(dma);
}

/*
 * Record that [phys, phys + len) is what @dma maps next; a run that goes on
 * from the last one extends it.  Return: false if there was no memory for
 * it, and then @dma has no runs at all (its unmap walks the page tables).
 */
static bool vfg_dma_add_run(struct vfg_dma *dma, phys_addr_t phys, size_t len)
{
	struct vfg_run *r;
	unsigned long max;

	if (dma->nr_runs) {
		r = &dma->runs[dma->nr_runs - 1];
		if (r->phys + r->len == phys) {
			r->len += len;
			return true;
		}
	}
	if (!dma->max_runs) {
		dma->runs = &dma->one_run;
		dma->max_runs = 1;
	} else if (dma->nr_runs == dma->max_runs) {
		/*
		 * There are never more runs than pages: the first list holds
		 * as many as the mapping has pages, up to a page of runs.
		 */
		max = dma->max_runs > 1 ? 2 * dma->max_runs :
		      clamp_t(unsigned long,
			      (dma->last - dma->iova + 1) >> PAGE_SHIFT,
			      2, PAGE_SIZE / sizeof(*r));
		r = kvmalloc_array(max, sizeof(*r),
				   GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!r) {
			vfg_dma_free_runs(dma);
			return false;
		}
		memcpy(r, dma->runs, dma->nr_runs * sizeof(*r));
		if (dma->runs != &dma->one_run)
			kvfree(dma->runs);
		dma->runs = r;
		dma->max_runs = max;
	}
	dma->runs[dma->nr_runs].phys = phys;
	dma->runs[dma->nr_runs].len = len;
	dma->nr_runs++;
	return true;
}

/* Pin and map the pages of @dma; on failure nothing stays pinned. */
static int vfg_dma_populate(struct vfg_iommu *iommu, struct vfg_dma *dma)
{
	unsigned long npages = (dma->last - dma->iova + 1) >> PAGE_SHIFT;
	bool hugepages_off = READ_ONCE(vfg_type1_params.disable_hugepages);
	unsigned int gup = FOLL_LONGTERM;
	struct page **pages = iommu->pages;
	unsigned long done = 0, i, j;
	bool runs = true;
	phys_addr_t phys;
	long n, got;
	int ret = 0;

	if (dma->prot & IOMMU_WRITE)
		gup |= FOLL_WRITE;

	while (done < npages) {
		n = min_t(unsigned long, npages - done,
			  PAGE_SIZE / sizeof(*pages));
		ret = vfg_charge(dma->mm, n);
		if (ret) {
			vfg_charge_check(n);	/* logs the figures */
			break;
		}
		got = pin_user_pages_fast(dma->vaddr + (done << PAGE_SHIFT), n,
					  gup, pages);
		if (got <= 0) {
			vfg_uncharge(dma->mm, n);
			ret = got ? got : -EFAULT;
			break;
		}
		if (got < n)
			vfg_uncharge(dma->mm, n - got);
		dma->locked += got;

		for (i = 0; i < got; i = j) {
			for (j = i + 1; j < got && !hugepages_off; j++)
				if (page_to_pfn(pages[j]) !=
				    page_to_pfn(pages[j - 1]) + 1)
					break;
			phys = page_to_phys(pages[i]);
			ret = vfg_map_all(iommu,
					  dma->iova + ((done + i) << PAGE_SHIFT),
					  phys, (j - i) << PAGE_SHIFT,
					  dma->prot | IOMMU_CACHE);
			if (ret)
				break;
			if (runs)
				runs = vfg_dma_add_run(dma, phys,
						       (j - i) << PAGE_SHIFT);
		}
		if (ret) {
			/* pages[i..got) were pinned but not mapped. */
			unpin_user_pages(pages + i, got - i);
			vfg_uncharge(dma->mm, got - i);
			dma->locked -= got - i;
			done += i;
			break;
		}
		done += got;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	if (ret && done) {
		vfg_unmap_range(iommu, dma->iova, done << PAGE_SHIFT, false);
		vfg_uncharge(dma->mm, dma->locked);
		dma->locked = 0;
	}
	if (ret)
		vfg_dma_free_runs(dma);
	return ret;
}

/*
 * Peer-to-peer DMA: @dma maps memory that is no RAM of the process but the
 * pages of a VM_IO/VM_PFNMAP mapping (another device's BAR, mmapped from
 * its device fd or by another driver).  Such pages cannot be pinned and are
 * not charged: the PFNs are taken from the mapping's page tables, the whole
 * range must lie in that one mapping with the access asked for, and a PFN
 * that is ordinary RAM is refused (it could be freed and reused under the
 * device).  When the memory is one of our devices', the mapping is linked to
 * that device with the list of domains it is in, and the device unmaps it
 * from all of them whenever it takes its memory away
 * (vfg_device_zap_mappings()).  Every page is faulted in first, without the
 * device's p2p_lock (the fault handler takes the provider's memory lock);
 * then, under it, the PFNs are read again and mapped, so a zap in between is
 * either seen here (no PFN: -EFAULT) or finds the mapping to take away.
 */
static int vfg_dma_map_pfnmap(struct vfg_iommu *iommu, struct vfg_dma *dma)
{
	struct mm_struct *mm = current->mm;
	size_t size = dma->last - dma->iova + 1;
	unsigned long addr, end = dma->vaddr + size, pfn, next;
	bool write = dma->prot & IOMMU_WRITE;
	struct iommu_domain **domains = NULL;
	struct vfg_device *exporter = NULL;
	struct vm_area_struct *vma;
	struct vfg_domain *d;
	unsigned int i = 0;
	size_t len;
	int ret = -EFAULT;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, dma->vaddr);
	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
	    end > vma->vm_end || (write && !(vma->vm_flags & VM_WRITE)) ||
	    ((dma->prot & IOMMU_READ) && !(vma->vm_flags & VM_READ)))
		goto out;
	for (addr = dma->vaddr; addr < end; addr += PAGE_SIZE) {
		if (!follow_pfn(vma, addr, &pfn))
			continue;
		ret = fixup_user_fault(mm, addr, write ? FAULT_FLAG_WRITE : 0,
				       NULL);
		if (ret)
			goto out;
	}

	exporter = vfg_device_get_from_vma(vma);
	if (exporter) {
		domains = kmalloc_array(iommu->nr_domains, sizeof(*domains),
					GFP_KERNEL);
		if (!domains) {
			vfg_device_p2p_put(exporter);
			ret = -ENOMEM;
			goto out;
		}
		list_for_each_entry(d, &iommu->domains, node)
			domains[i++] = d->domain;
		mutex_lock(&exporter->p2p_lock);
	}
	ret = 0;
	for (addr = dma->vaddr; addr < end; addr += len) {
		if (follow_pfn(vma, addr, &pfn) ||
		    (pfn_valid(pfn) && !PageReserved(pfn_to_page(pfn)))) {
			ret = -EFAULT;
			break;
		}
		for (len = PAGE_SIZE; addr + len < end; len += PAGE_SIZE)
			if (follow_pfn(vma, addr + len, &next) ||
			    next != pfn + (len >> PAGE_SHIFT))
				break;
		ret = vfg_map_all(iommu, dma->iova + (addr - dma->vaddr),
				  PFN_PHYS(pfn), len, dma->prot | IOMMU_CACHE);
		if (ret)
			break;
	}
	if (ret && addr > dma->vaddr)
		list_for_each_entry(d, &iommu->domains, node)
			iommu_unmap(d->domain, dma->iova, addr - dma->vaddr);
	if (!ret) {
		dma->pfnmap = true;
		if (exporter) {
			dma->p2p.domains = domains;
			dma->p2p.nr_domains = iommu->nr_domains;
			domains = NULL;
			dma->p2p.iova = dma->iova;
			dma->p2p.size = size;
			dma->p2p.live = true;
			vfg_device_p2p_link(exporter, &dma->p2p);
			dma->exporter = exporter;
		}
	}
	if (exporter) {
		mutex_unlock(&exporter->p2p_lock);
		if (ret)
			vfg_device_p2p_put(exporter);
	}
	kfree(domains);
out:
	mmap_read_unlock(mm);
	return ret;
}

/* Does [vaddr, ...) start in a VM_IO/VM_PFNMAP mapping of the caller? */
static bool vfg_vaddr_is_pfnmap(unsigned long vaddr)
{
	struct vm_area_struct *vma;
	bool ret;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, vaddr);
	ret = vma && (vma->vm_flags & (VM_IO | VM_PFNMAP));
	mmap_read_unlock(current->mm);
	return ret;
}

/* ---- usable IOVA ranges ------------------------------------------------ */

static void vfg_ranges_free(struct list_head *ranges)
{
	struct vfg_iova_range *r, *tmp;

	list_for_each_entry_safe(r, tmp, ranges, node) {
		list_del(&r->node);
		kfree(r);
	}
}

/* Remove [start, last] from the sorted list @ranges. */
static int vfg_ranges_exclude(struct list_head *ranges, dma_addr_t start,
			      dma_addr_t last)
{
	struct vfg_iova_range *r, *tmp, *split;

	list_for_each_entry_safe(r, tmp, ranges, node) {
		if (last < r->start || start > r->last)
			continue;
		if (start > r->start && last < r->last) {
			split = kzalloc(sizeof(*split), GFP_KERNEL);
			if (!split)
				return -ENOMEM;
			split->start = last + 1;
			split->last = r->last;
			r->last = start - 1;
			list_add(&split->node, &r->node);
			return 0;
		}
		if (start <= r->start && last >= r->last) {
			list_del(&r->node);
			kfree(r);
		} else if (start <= r->start) {
			r->start = last + 1;
		} else {
			r->last = start - 1;
		}
	}
	return 0;
}

/* Keep of @ranges only what lies inside @domain's aperture. */
static int vfg_ranges_aperture(struct list_head *ranges,
			       struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *g = &domain->geometry;
	int ret = 0;

	if (!g->force_aperture)
		return 0;
	if (g->aperture_start)
		ret = vfg_ranges_exclude(ranges, 0, g->aperture_start - 1);
	if (!ret && g->aperture_end < DMA_BIT_MASK(64))
		ret = vfg_ranges_exclude(ranges, g->aperture_end + 1,
					 DMA_BIT_MASK(64));
	return ret;
}

/*
 * The usable IOVA ranges of the container: inside the aperture of every
 * domain (and of @extra_domain, which is not in the list yet), less the
 * reserved regions (the MSI window among them) of every group (and of
 * @extra, not attached yet).
 */
static int vfg_ranges_build(struct vfg_iommu *iommu,
			    struct vfg_domain *extra_domain,
			    struct vfg_group *extra, struct list_head *ranges)
{
	struct iommu_resv_region *resv, *rtmp;
	struct vfg_domain_group *dg;
	struct vfg_iova_range *r;
	struct vfg_domain *d;
	LIST_HEAD(resv_list);
	int ret = 0;

	INIT_LIST_HEAD(ranges);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->start = 0;
	r->last = DMA_BIT_MASK(64);
	list_add(&r->node, ranges);

	list_for_each_entry(d, &iommu->domains, node) {
		ret = vfg_ranges_aperture(ranges, d->domain);
		if (ret)
			goto out;
		list_for_each_entry(dg, &d->groups, node) {
			ret = iommu_get_group_resv_regions(dg->group->iommu_group,
							   &resv_list);
			if (ret)
				goto out;
		}
	}
	if (extra_domain) {
		ret = vfg_ranges_aperture(ranges, extra_domain->domain);
		if (ret)
			goto out;
	}
	if (extra) {
		ret = iommu_get_group_resv_regions(extra->iommu_group,
						   &resv_list);
		if (ret)
			goto out;
	}
	list_for_each_entry(resv, &resv_list, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE || !resv->length)
			continue;
		ret = vfg_ranges_exclude(ranges, resv->start,
					 resv->start + resv->length - 1);
		if (ret)
			goto out;
	}
out:
	list_for_each_entry_safe(resv, rtmp, &resv_list, list)
		kfree(resv);
	if (ret)
		vfg_ranges_free(ranges);
	return ret;
}

static bool vfg_ranges_contain(struct list_head *ranges, dma_addr_t iova,
			       dma_addr_t last)
{
	struct vfg_iova_range *r;

	list_for_each_entry(r, ranges, node)
		if (iova >= r->start && last <= r->last)
			return true;
	return false;
}

/* Would every existing mapping lie in @ranges?  -EINVAL if not. */
static int vfg_ranges_check(struct vfg_iommu *iommu, struct list_head *ranges,
			    struct vfg_group *group)
{
	struct vfg_dma *dma;
	struct rb_node *n;

	for (n = rb_first(&iommu->dmas); n; n = rb_next(n)) {
		dma = rb_entry(n, struct vfg_dma, node);
		if (!vfg_ranges_contain(ranges, dma->iova, dma->last)) {
			pr_warn("group %d: the existing mapping at %pad would be outside the usable IOVA ranges\n",
				group->id, &dma->iova);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- replaying the mappings into a new domain --------------------------- */

/*
 * Map into @to what [iova, iova + size) maps in @from, a physically
 * contiguous run at a time (a page at a time with @single).  Nothing is
 * pinned: the pages are those already pinned for @from.  On failure,
 * nothing of the range stays mapped in @to.
 */
static int vfg_replay_range(struct iommu_domain *from, struct iommu_domain *to,
			    dma_addr_t iova, size_t size, int prot, bool single)
{
	size_t done = 0, len;
	phys_addr_t phys;
	int ret = 0;

	while (done < size) {
		phys = iommu_iova_to_phys(from, iova + done);
		if (!phys) {
			done += PAGE_SIZE;
			continue;
		}
		len = PAGE_SIZE;
		while (!single && done + len < size &&
		       iommu_iova_to_phys(from, iova + done + len) ==
		       phys + len)
			len += PAGE_SIZE;
		ret = iommu_map(to, iova + done, phys, len, prot | IOMMU_CACHE);
		if (ret)
			break;
		done += len;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	if (ret && done)
		vfg_domain_unmap(to, iova, done);
	return ret;
}

/*
 * Map pinned RAM @dma, its runs known, into @to a run at a time (a page at
 * a time with @single), with no lookup in another domain's page tables.  On
 * failure, nothing of it stays mapped in @to.
 */
static int vfg_replay_runs(struct vfg_dma *dma, struct iommu_domain *to,
			   bool single)
{
	size_t done = 0, off, step;
	unsigned long i;
	int ret = 0;

	for (i = 0; i < dma->nr_runs && !ret; i++) {
		for (off = 0; off < dma->runs[i].len; off += step) {
			step = single ? PAGE_SIZE : dma->runs[i].len;
			ret = iommu_map(to, dma->iova + done,
					dma->runs[i].phys + off, step,
					dma->prot | IOMMU_CACHE);
			if (ret)
				break;
			done += step;
		}
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	if (ret && done)
		vfg_domain_unmap(to, dma->iova, done);
	return ret;
}

/*
 * Map @dma into @to, a domain not in the list yet.  A peer-to-peer mapping
 * of one of our devices also records @to among its domains, under the
 * exporter's p2p_lock, so that a zap unmaps it there too; one already
 * zapped is mapped nowhere and stays so.  On failure @dma is as it was.
 */
static int vfg_dma_replay(struct vfg_iommu *iommu, struct vfg_dma *dma,
			  struct iommu_domain *to)
{
	size_t size = dma->last - dma->iova + 1;
	struct vfg_p2p *p2p = &dma->p2p;
	struct iommu_domain **domains;
	bool single;
	int ret = 0;

	if (!dma->exporter) {
		single = !dma->pfnmap &&
			 READ_ONCE(vfg_type1_params.disable_hugepages);
		if (dma->runs)
			return vfg_replay_runs(dma, to, single);
		return vfg_replay_range(vfg_first_domain(iommu)->domain, to,
					dma->iova, size, dma->prot, single);
	}
	domains = kmalloc_array(p2p->nr_domains + 1, sizeof(*domains),
				GFP_KERNEL);
	if (!domains)
		return -ENOMEM;
	mutex_lock(&dma->exporter->p2p_lock);
	if (p2p->live)
		ret = vfg_replay_range(p2p->domains[0], to, dma->iova, size,
				       dma->prot, false);
	if (!ret) {
		memcpy(domains, p2p->domains,
		       p2p->nr_domains * sizeof(*domains));
		domains[p2p->nr_domains] = to;
		swap(domains, p2p->domains);
		p2p->nr_domains++;
	}
	mutex_unlock(&dma->exporter->p2p_lock);
	kfree(domains);
	return ret;
}

/*
 * Take @dma out of @domain, which is leaving the container (or never
 * joined it): unmapped there, nothing unpinned.
 */
static void vfg_dma_drop_domain(struct vfg_dma *dma,
				struct iommu_domain *domain)
{
	size_t size = dma->last - dma->iova + 1;
	struct vfg_p2p *p2p = &dma->p2p;
	unsigned int i;

	if (!dma->exporter) {
		vfg_domain_unmap(domain, dma->iova, size);
		return;
	}
	mutex_lock(&dma->exporter->p2p_lock);
	for (i = 0; i < p2p->nr_domains; i++) {
		if (p2p->domains[i] != domain)
			continue;
		if (p2p->live)
			vfg_domain_unmap(domain, dma->iova, size);
		memmove(&p2p->domains[i], &p2p->domains[i + 1],
			(p2p->nr_domains - i - 1) * sizeof(*p2p->domains));
		p2p->nr_domains--;
		break;
	}
	mutex_unlock(&dma->exporter->p2p_lock);
}

/*
 * Replay every mapping into @to; on failure, take out of it again those
 * already replayed.
 */
static int vfg_replay_all(struct vfg_iommu *iommu, struct iommu_domain *to)
{
	struct rb_node *n, *failed;
	int ret = 0;

	for (n = rb_first(&iommu->dmas); n; n = rb_next(n)) {
		ret = vfg_dma_replay(iommu, rb_entry(n, struct vfg_dma, node),
				     to);
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	failed = n;
	for (n = rb_first(&iommu->dmas); n != failed; n = rb_next(n))
		vfg_dma_drop_domain(rb_entry(n, struct vfg_dma, node), to);
	return ret;
}

/* ---- backend life cycle ------------------------------------------------ */

static int vfg_dev_lacks_intr_remap(struct device *dev, void *data)
{
	return !device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
}

/*
 * Without interrupt remapping, a device can write to the MSI window and raise
 * any interrupt on the host: such groups need allow_unsafe_interrupts.
 */
static int vfg_check_intr_remap(struct vfg_group *group)
{
	if (!iommu_group_for_each_dev(group->iommu_group, NULL,
				      vfg_dev_lacks_intr_remap))
		return 0;
	if (READ_ONCE(vfg_type1_params.allow_unsafe_interrupts)) {
		pr_warn_once("group %d has no interrupt remapping; allowed by allow_unsafe_interrupts\n",
			     group->id);
		return 0;
	}
	pr_warn_ratelimited("group %d: its IOMMU does not remap interrupts, so its devices could raise any MSI; refused (vfio_iommu_type1.allow_unsafe_interrupts=1 accepts that)\n",
			    group->id);
	return -EPERM;
}

/* The bus of a device of @group: 6.1 allocates IOMMU domains per bus. */
static int vfg_first_bus(struct device *dev, void *data)
{
	*(struct bus_type **)data = dev->bus;
	return 1;
}

/* The page sizes of @domain offered to userspace: PAGE_SIZE and up. */
static unsigned long vfg_domain_pgsizes(struct iommu_domain *domain)
{
	unsigned long bitmap = domain->pgsize_bitmap;

	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	return bitmap;
}

/* Recompute what the container offers from its domains. */
static void vfg_iommu_update(struct vfg_iommu *iommu)
{
	unsigned long bitmap = ULONG_MAX;
	struct vfg_domain *d;
	bool coherent = true;

	list_for_each_entry(d, &iommu->domains, node) {
		bitmap &= vfg_domain_pgsizes(d->domain);
		coherent &= d->coherent;
	}
	iommu->pgsize_bitmap = bitmap;
	iommu->coherent = coherent;
}

/*
 * A new domain with @group attached, and its answer to
 * enforce_cache_coherency(), asked while nothing is mapped in it: the IOMMU
 * driver then refuses later groups that could not keep it.
 */
static struct vfg_domain *vfg_domain_new(struct vfg_group *group)
{
	struct bus_type *bus = NULL;
	struct vfg_domain *d;
	int ret;

	iommu_group_for_each_dev(group->iommu_group, &bus, vfg_first_bus);
	if (!bus)
		return ERR_PTR(-ENODEV);
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&d->groups);
	d->domain = iommu_domain_alloc(bus);
	if (!d->domain) {
		ret = -EIO;
		goto err_free;
	}
	ret = iommu_attach_group(d->domain, group->iommu_group);
	if (ret) {
		pr_warn("group %d cannot be attached to an IOMMU domain: %d\n",
			group->id, ret);
		ret = -EINVAL;
		goto err_domain;
	}
	if (d->domain->ops->enforce_cache_coherency)
		d->coherent = d->domain->ops->enforce_cache_coherency(d->domain);
	return d;

err_domain:
	iommu_domain_free(d->domain);
err_free:
	kfree(d);
	return ERR_PTR(ret);
}

static void vfg_domain_free(struct vfg_domain *d)
{
	WARN_ON(!list_empty(&d->groups));
	iommu_domain_free(d->domain);
	kfree(d);
}

/*
 * Move @group from @new, where vfg_domain_new() put it, to the first
 * existing domain of the same IOMMU ops and the same coherency that takes
 * it, unless separate_domains asks for a domain per group.  Return: that
 * domain; NULL if none took it (it is still in @new); an ERR_PTR if it
 * could not be put back into @new (it is in none).
 */
static struct vfg_domain *vfg_domain_join(struct vfg_iommu *iommu,
					  struct vfg_domain *new,
					  struct vfg_group *group)
{
	struct vfg_domain *d;
	int ret;

	if (READ_ONCE(vfg_type1_params.separate_domains))
		return NULL;
	list_for_each_entry(d, &iommu->domains, node) {
		if (d->domain->ops != new->domain->ops ||
		    d->coherent != new->coherent)
			continue;
		iommu_detach_group(new->domain, group->iommu_group);
		if (!iommu_attach_group(d->domain, group->iommu_group))
			return d;
		ret = iommu_attach_group(new->domain, group->iommu_group);
		if (ret) {
			pr_warn("group %d cannot be attached to its IOMMU domain again: %d\n",
				group->id, ret);
			return ERR_PTR(-EINVAL);
		}
	}
	return NULL;
}

/*
 * Give the container @new, with the group it holds, as another domain:
 * check that the container's page sizes and mappings fit it, replay every
 * mapping into it.  @ranges becomes the usable ranges with it.
 */
static int vfg_domain_add(struct vfg_iommu *iommu, struct vfg_domain *new,
			  struct vfg_group *group, struct list_head *ranges)
{
	unsigned long bitmap = vfg_domain_pgsizes(new->domain);
	int ret;

	if (!list_empty(&iommu->domains)) {
		bitmap &= iommu->pgsize_bitmap;
		/* Mappings were checked against the smallest page we offer. */
		if (!bitmap || (iommu->dma_count &&
				__ffs(bitmap) > __ffs(iommu->pgsize_bitmap))) {
			pr_warn("group %d: its IOMMU domain lacks the container's page sizes %#lx\n",
				group->id, iommu->pgsize_bitmap);
			return -EINVAL;
		}
	}
	ret = vfg_ranges_build(iommu, new, group, ranges);
	if (ret)
		return ret;
	ret = vfg_ranges_check(iommu, ranges, group);
	if (!ret)
		ret = vfg_replay_all(iommu, new->domain);
	if (ret) {
		vfg_ranges_free(ranges);
		return ret;
	}
	if (iommu->nr_domains)
		pr_info("group %d: an IOMMU domain of its own in its container (%u domains)\n",
			group->id, iommu->nr_domains + 1);
	list_add_tail(&new->node, &iommu->domains);
	iommu->nr_domains++;
	return 0;
}

/**
 * vfg_type1_attach_group() - attach a group to the backend
 * @iommu: the backend
 * @group: the group, not attached to any of its domains
 *
 * The group joins an existing domain that takes it, or gets one of its own
 * into which every existing mapping is replayed (see "Domains" at the top of
 * this file).
 *
 * Return: 0; -EINVAL if the group cannot be attached to an IOMMU domain,
 * one of its reserved regions (or its new domain's aperture) overlaps an
 * existing mapping, or its new domain lacks the page sizes the container
 * offers; -EPERM if it lacks interrupt remapping; -ENOMEM, or the IOMMU
 * driver's errno, if the mappings cannot be replayed; -EINTR on a fatal
 * signal while they are.
 */
int vfg_type1_attach_group(struct vfg_iommu *iommu, struct vfg_group *group)
{
	struct vfg_domain_group *dg;
	struct vfg_domain *new, *d;
	LIST_HEAD(ranges);
	int ret;

	ret = vfg_check_intr_remap(group);
	if (ret)
		return ret;
	dg = kzalloc(sizeof(*dg), GFP_KERNEL);
	if (!dg)
		return -ENOMEM;
	dg->group = group;
	/* The group's reserved regions, wherever it goes. */
	ret = vfg_ranges_build(iommu, NULL, group, &ranges);
	if (!ret) {
		ret = vfg_ranges_check(iommu, &ranges, group);
		if (ret)
			vfg_ranges_free(&ranges);
	}
	if (ret)
		goto err_free;

	new = vfg_domain_new(group);
	if (IS_ERR(new)) {
		ret = PTR_ERR(new);
		goto err_ranges;
	}
	d = vfg_domain_join(iommu, new, group);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		vfg_domain_free(new);
		goto err_ranges;
	}
	if (d) {
		vfg_domain_free(new);
	} else {
		vfg_ranges_free(&ranges);
		ret = vfg_domain_add(iommu, new, group, &ranges);
		if (ret) {
			iommu_detach_group(new->domain, group->iommu_group);
			vfg_domain_free(new);
			goto err_free;
		}
		d = new;
	}
	list_add_tail(&dg->node, &d->groups);
	vfg_ranges_free(&iommu->ranges);
	list_splice_init(&ranges, &iommu->ranges);
	vfg_iommu_update(iommu);
	return 0;

err_ranges:
	vfg_ranges_free(&ranges);
err_free:
	kfree(dg);
	return ret;
}

/*
 * Free @d, whose last group has left while others remain: every mapping is
 * unmapped from it first; the pages stay pinned for the other domains.
 */
static void vfg_domain_remove(struct vfg_iommu *iommu, struct vfg_domain *d)
{
	struct rb_node *n;

	list_del(&d->node);
	iommu->nr_domains--;
	for (n = rb_first(&iommu->dmas); n; n = rb_next(n))
		vfg_dma_drop_domain(rb_entry(n, struct vfg_dma, node),
				    d->domain);
	vfg_domain_free(d);
}

/**
 * vfg_type1_detach_group() - take a group out of the backend
 * @iommu: the backend
 * @group: the group leaving
 *
 * A domain left without groups is freed, unless it is the last one: that
 * goes with the backend (vfg_type1_destroy()) once the container is empty.
 */
void vfg_type1_detach_group(struct vfg_iommu *iommu, struct vfg_group *group)
{
	struct vfg_domain_group *dg;
	struct vfg_domain *d;
	LIST_HEAD(ranges);

	list_for_each_entry(d, &iommu->domains, node)
		list_for_each_entry(dg, &d->groups, node)
			if (dg->group == group)
				goto found;
	WARN(1, "group %d is in none of its container's domains\n", group->id);
	return;
found:
	iommu_detach_group(d->domain, group->iommu_group);
	list_del(&dg->node);
	kfree(dg);
	if (list_empty(&d->groups) && iommu->nr_domains > 1)
		vfg_domain_remove(iommu, d);
	vfg_iommu_update(iommu);
	/* Fewer reserved regions now: the usable ranges can only grow. */
	if (!vfg_ranges_build(iommu, NULL, NULL, &ranges)) {
		vfg_ranges_free(&iommu->ranges);
		list_splice_init(&ranges, &iommu->ranges);
	}
}

/**
 * vfg_type1_create() - set up type1 for a container with attached groups
 * @groups: the container's groups (vfg_group.container_node), not empty
 * @v2: type1v2 semantics
 *
 * Attaches every group as vfg_type1_attach_group() does: into one IOMMU
 * domain where the IOMMU driver allows.
 *
 * Return: the backend, or an ERR_PTR: as vfg_type1_attach_group() for the
 * first group that fails.
 */
struct vfg_iommu *vfg_type1_create(struct list_head *groups, bool v2)
{
	struct vfg_group *group, *failed = NULL;
	struct vfg_iommu *iommu;
	int ret;

	iommu = kvzalloc(sizeof(*iommu), GFP_KERNEL);	/* the batch: 8 KiB */
	if (!iommu)
		return ERR_PTR(-ENOMEM);
	iommu->pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!iommu->pages) {
		kvfree(iommu);
		return ERR_PTR(-ENOMEM);
	}
	iommu->v2 = v2;
	iommu->dmas = RB_ROOT;
	INIT_LIST_HEAD(&iommu->domains);
	INIT_LIST_HEAD(&iommu->ranges);
	list_for_each_entry(group, groups, container_node) {
		ret = vfg_type1_attach_group(iommu, group);
		if (ret) {
			failed = group;
			break;
		}
	}
	if (!failed)
		return iommu;
	list_for_each_entry(group, groups, container_node) {
		if (group == failed)
			break;
		vfg_type1_detach_group(iommu, group);
	}
	vfg_type1_destroy(iommu);
	return ERR_PTR(ret);
}

/**
 * vfg_type1_coherent() - whether the backend's DMA is always cache coherent
 * @iommu: the backend
 *
 * Return: true if every domain enforces coherency (ignores PCIe no-snoop)
 * for every device attached to it.
 */
bool vfg_type1_coherent(struct vfg_iommu *iommu)
{
	return iommu->coherent;
}

/**
 * vfg_type1_destroy() - unmap everything and free the domains
 * @iommu: the backend; no group is attached to any of its domains any more
 */
void vfg_type1_destroy(struct vfg_iommu *iommu)
{
	struct vfg_domain *d, *tmp;
	struct rb_node *n;

	while ((n = rb_first(&iommu->dmas)))
		vfg_dma_remove(iommu, rb_entry(n, struct vfg_dma, node));
	vfg_ranges_free(&iommu->ranges);
	list_for_each_entry_safe(d, tmp, &iommu->domains, node) {
		list_del(&d->node);
		vfg_domain_free(d);
	}
	free_page((unsigned long)iommu->pages);
	kvfree(iommu);
}

/* ---- ioctls ------------------------------------------------------------ */

/*
 * GET_INFO's fixed part and capabilities, under the container's lock; the
 * caller copies them out after it is released.
 */
static long vfg_type1_get_info(struct vfg_iommu *iommu,
			       struct vfio_iommu_type1_info *info,
			       struct vfg_caps *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap_iova;
	struct vfio_iommu_type1_info_dma_avail *cap_avail;
	struct vfg_iova_range *r;
	unsigned int nr = 0, i = 0, limit;

	info->flags = VFIO_IOMMU_INFO_PGSIZES;
	info->iova_pgsizes = iommu->pgsize_bitmap;

	/* Callers that predate cap_offset get the fixed part only. */
	if (info->argsz < offsetofend(struct vfio_iommu_type1_info, cap_offset))
		return 0;

	list_for_each_entry(r, &iommu->ranges, node)
		nr++;
	cap_iova = vfg_caps_add(caps, struct_size(cap_iova, iova_ranges, nr),
				VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(cap_iova))
		return PTR_ERR(cap_iova);
	cap_iova->nr_iovas = nr;
	list_for_each_entry(r, &iommu->ranges, node) {
		cap_iova->iova_ranges[i].start = r->start;
		cap_iova->iova_ranges[i].end = r->last;
		i++;
	}
	cap_avail = vfg_caps_add(caps, sizeof(*cap_avail),
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
	if (IS_ERR(cap_avail))
		return PTR_ERR(cap_avail);
	limit = READ_ONCE(vfg_type1_params.dma_entry_limit);
	cap_avail->avail = limit > iommu->dma_count ?
			   limit - iommu->dma_count : 0;
	info->flags |= VFIO_IOMMU_INFO_CAPS;
	return 0;
}

/* Common checks of a map or unmap range; the errno says which failed. */
static int vfg_check_range(struct vfg_iommu *iommu, const char *what,
			   u64 iova, u64 size, dma_addr_t *last)
{
	u64 mask = (1ULL << __ffs(iommu->pgsize_bitmap)) - 1;
	u64 end;

	if (!size) {
		pr_debug("%s: zero size\n", what);
		return -EINVAL;
	}
	if (check_add_overflow(iova, size - 1, &end)) {
		pr_info_ratelimited("%s: iova %#llx + size %#llx overflows\n",
				    what, iova, size);
		return -EOVERFLOW;
	}
	if ((iova | size) & mask) {
		pr_info_ratelimited("%s: iova %#llx or size %#llx not aligned to %#llx\n",
				    what, iova, size, mask + 1);
		return -EINVAL;
	}
	*last = end;
	return 0;
}

/* MAP_DMA, its argument copied in (argsz and flags checked). */
static long vfg_type1_map(struct vfg_iommu *iommu,
			  const struct vfio_iommu_type1_dma_map *arg)
{
	struct vfio_iommu_type1_dma_map map = *arg;
	struct vfg_dma *dma;
	dma_addr_t last;
	bool pfnmap;
	u64 vend;
	int prot = 0;
	int ret;

	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (!prot)
		return -EINVAL;
	ret = vfg_check_range(iommu, "map", map.iova, map.size, &last);
	if (ret)
		return ret;
	if (check_add_overflow(map.vaddr, map.size - 1, &vend) ||
	    vend > ULONG_MAX)
		return -EOVERFLOW;
	if (map.vaddr & ~PAGE_MASK)
		return -EINVAL;
	if (!vfg_ranges_contain(&iommu->ranges, map.iova, last)) {
		pr_info_ratelimited("map: [%#llx, %#llx] is outside the usable IOVA ranges (see VFIO_IOMMU_GET_INFO)\n",
				    map.iova, (u64)last);
		return -EINVAL;
	}
	if (vfg_dma_find(iommu, map.iova, last))
		return -EEXIST;
	if (iommu->dma_count >= READ_ONCE(vfg_type1_params.dma_entry_limit)) {
		pr_info_ratelimited("map: %u mappings, the dma_entry_limit of vfio_iommu_type1\n",
				    iommu->dma_count);
		return -ENOSPC;
	}
	if (!current->mm)
		return -ESRCH;
	/*
	 * Memory is taken to be RAM to pin until it proves otherwise: looking
	 * up the mapping first would cost every MAP_DMA an mmap_lock round
	 * trip.  Peer-to-peer memory is charged nothing, so a request over
	 * the limit is refused only once it is known not to be such memory.
	 */
	pfnmap = false;
	ret = vfg_charge_check(map.size >> PAGE_SHIFT);
	if (ret) {
		if (!vfg_vaddr_is_pfnmap(map.vaddr))
			return ret;
		pfnmap = true;
	}

	dma = kzalloc(sizeof(*dma), GFP_KERNEL);
	if (!dma)
		return -ENOMEM;
	dma->iova = map.iova;
	dma->last = last;
	dma->vaddr = map.vaddr;
	dma->prot = prot;
	dma->mm = current->mm;
	mmgrab(dma->mm);
	ret = pfnmap ? vfg_dma_map_pfnmap(iommu, dma) :
		       vfg_dma_populate(iommu, dma);
	/* Pages that cannot be pinned: a VM_IO/VM_PFNMAP mapping, perhaps. */
	if (ret == -EFAULT && !pfnmap && vfg_vaddr_is_pfnmap(map.vaddr))
		ret = vfg_dma_map_pfnmap(iommu, dma);
	if (ret) {
		mmdrop(dma->mm);
		kfree(dma);
		return ret;
	}
	vfg_dma_insert(iommu, dma);
	return 0;
}

/*
 * UNMAP_DMA, its argument copied in (argsz and flags checked); the size
 * unmapped is left in it for the caller to copy out.
 */
static long vfg_type1_unmap(struct vfg_iommu *iommu,
			    struct vfio_iommu_type1_dma_unmap *arg)
{
	struct vfio_iommu_type1_dma_unmap unmap = *arg;
	struct vfg_dma *dma, *next, *tail;
	dma_addr_t last;
	u64 unmapped = 0;
	struct rb_node *n;
	int ret;

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		last = DMA_BIT_MASK(64);
	} else {
		ret = vfg_check_range(iommu, "unmap", unmap.iova, unmap.size,
				      &last);
		if (ret)
			return ret;
	}

	dma = vfg_dma_first(iommu, unmap.iova, last);
	/*
	 * type1v2 never splits a mapping: the range must not cut one.  The
	 * first mapping in it starts before it if one holds its start; it
	 * holds the end too if it reaches that far (the common case, one
	 * mapping unmapped exactly), or another may.
	 */
	if (iommu->v2 && dma && !(unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL)) {
		if (dma->iova < unmap.iova)
			return -EINVAL;
		tail = dma->last >= last ? dma : vfg_dma_find(iommu, last, last);
		if (tail && tail->last != last)
			return -EINVAL;
	}
	/*
	 * type1 (v1), as upstream: the mappings that start in the range go
	 * whole, even past its end; a range that starts inside a mapping
	 * unmaps nothing at all and reports size 0.
	 */
	if (!iommu->v2 && dma && dma->iova < unmap.iova)
		dma = NULL;
	while (dma) {
		n = rb_next(&dma->node);
		next = n ? rb_entry(n, struct vfg_dma, node) : NULL;
		if (next && next->iova > last)
			next = NULL;
		unmapped += dma->last - dma->iova + 1;
		vfg_dma_remove(iommu, dma);
		dma = next;
	}
	arg->size = unmapped;
	return 0;
}

/* GET_INFO: user memory only outside @lock. */
static long vfg_type1_info_ioctl(struct mutex *lock,
				 struct vfg_iommu *const *iommup,
				 void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_iommu_type1_info,
					  iova_pgsizes);
	struct vfio_iommu_type1_info info = { };
	struct vfg_caps caps = { };
	u32 argsz;
	long ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	argsz = info.argsz;
	mutex_lock(lock);
	ret = *iommup ? vfg_type1_get_info(*iommup, &info, &caps) : -ENOTTY;
	mutex_unlock(lock);
	if (ret)
		goto out;
	if (!(info.flags & VFIO_IOMMU_INFO_CAPS)) {
		ret = copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
		goto out;
	}
	ret = vfg_caps_place(&caps, &info.argsz, sizeof(info), &info.cap_offset,
			     arg);
	if (ret)
		goto out;
	/*
	 * The caller's struct may end at cap_offset, before our padding:
	 * never write past the argsz it gave (vfg_caps_place() may have
	 * raised info.argsz to the size it needs).
	 */
	if (copy_to_user(arg, &info, min_t(size_t, argsz, sizeof(info))))
		ret = -EFAULT;
out:
	vfg_caps_free(&caps);
	return ret;
}

/**
 * vfg_type1_ioctl() - VFIO_IOMMU_* ioctls of a container
 * @lock: the container's lock, not held: taken here for the work itself,
 *        with the argument copied in before and out after, so that no user
 *        memory is touched under it (a fault there may be slow, or never
 *        end: a userfaultfd)
 * @iommup: the container's type1 state, NULL until VFIO_SET_IOMMU; read
 *          under @lock
 * @cmd: ioctl number
 * @arg: user argument
 *
 * Return: as each ioctl documents; -ENOTTY for ioctls type1 does not have,
 * and for every one before VFIO_SET_IOMMU.
 */
long vfg_type1_ioctl(struct mutex *lock, struct vfg_iommu *const *iommup,
		     unsigned int cmd, unsigned long arg)
{
	unsigned long mapsz = offsetofend(struct vfio_iommu_type1_dma_map,
					  size);
	unsigned long unmapsz = offsetofend(struct vfio_iommu_type1_dma_unmap,
					    size);
	u32 valid = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_iommu_type1_dma_map map;
	void __user *uarg = (void __user *)arg;
	long ret;

	/* A hint only (it is read again under @lock): no copy for nothing. */
	if (!READ_ONCE(*iommup))
		return -ENOTTY;

	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		return vfg_type1_info_ioctl(lock, iommup, uarg);
	case VFIO_IOMMU_MAP_DMA:
		if (copy_from_user(&map, uarg, mapsz))
			return -EFAULT;
		if (map.argsz < mapsz || map.flags & ~valid)
			return -EINVAL;
		mutex_lock(lock);
		ret = *iommup ? vfg_type1_map(*iommup, &map) : -ENOTTY;
		mutex_unlock(lock);
		return ret;
	case VFIO_IOMMU_UNMAP_DMA:
		if (copy_from_user(&unmap, uarg, unmapsz))
			return -EFAULT;
		if (unmap.argsz < unmapsz ||
		    unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
			return -EINVAL;
		mutex_lock(lock);
		ret = *iommup ? vfg_type1_unmap(*iommup, &unmap) : -ENOTTY;
		mutex_unlock(lock);
		if (!ret && copy_to_user(uarg, &unmap, unmapsz))
			ret = -EFAULT;
		return ret;
	default:
		return -ENOTTY;
	}
}
