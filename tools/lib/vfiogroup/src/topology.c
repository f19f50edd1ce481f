// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Why a group has the members it has, rebuilt from PCI config space.
 *
 * The kernel (pci_device_group() in drivers/iommu/iommu.c) puts a PCI device
 * into a group in three steps, and this file follows them:
 *
 *  1. DMA aliases.  Behind a PCIe-to-PCI bridge, or a conventional PCI
 *     bridge, the IOMMU sees DMA with the bridge's requester ID: the device
 *     is "aliased" to the bridge and shares its group.  Nothing in software
 *     can split that.
 *  2. ACS on the path.  Going up from the (aliased) device, every bridge
 *     whose path to the root does not enable ACS source validation, request
 *     and completion redirect and upstream forwarding lets the devices below
 *     it reach each other without the IOMMU; the device joins that bridge's
 *     group.
 *  3. Multifunction.  A function of a multifunction device without ACS
 *     joins the other functions of its slot that lack ACS too.
 *
 * ACS is an extended capability, past the first 256 bytes of config space,
 * which sysfs shows only to root: without root the reason is "unknown".
 * Device-specific kernel quirks (ACS quirks, DMA alias quirks) are not
 * visible from userspace at all.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_HEADER_TYPE		0x0e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_EXP		0x10
#define PCI_EXP_FLAGS		2
#define PCI_EXT_CAP_ID_ACS	0x0d
#define PCI_ACS_CAP		4
#define PCI_ACS_CTRL		6
#define PCI_ACS_SV		0x01
#define PCI_ACS_RR		0x04
#define PCI_ACS_CR		0x08
#define PCI_ACS_UF		0x10
#define REQ_ACS_FLAGS	(PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)

enum {
	EXP_ROOT_PORT = 4,
	EXP_UPSTREAM = 5,
	EXP_DOWNSTREAM = 6,
	EXP_PCI_BRIDGE = 7,	/* PCIe-to-PCI/PCI-X bridge */
	EXP_PCIE_BRIDGE = 8,	/* PCI/PCI-X-to-PCIe bridge */
};

int vfg_config_read(struct vfg_ctx *ctx, const char *bdf, struct vfg_config *cfg)
{
	char path[PATH_MAX];
	ssize_t n;

	cfg->len = 0;
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s/config",
		     bdf))
		return -1;
	n = vfg_read_raw(path, cfg->b, sizeof(cfg->b));
	if (n < 0)
		return -1;
	cfg->len = n;
	return 0;
}

uint16_t vfg_config_word(const struct vfg_config *cfg, size_t off)
{
	if (off + 2 > cfg->len)
		return 0xffff;
	return cfg->b[off] | cfg->b[off + 1] << 8;
}

static uint32_t config_dword(const struct vfg_config *cfg, size_t off)
{
	if (off + 4 > cfg->len)
		return 0xffffffff;
	return vfg_config_word(cfg, off) |
	       (uint32_t)vfg_config_word(cfg, off + 2) << 16;
}

int vfg_config_find_cap(const struct vfg_config *cfg, uint8_t id)
{
	unsigned int pos, ttl = 48;

	if (cfg->len < 0x40)
		return -1;
	if (!(vfg_config_word(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg->b[PCI_CAPABILITY_LIST] & 0xfc;
	while (pos >= 0x40 && ttl--) {
		if (pos + 2 > cfg->len)
			return -1;
		if (cfg->b[pos] == id)
			return pos;
		pos = cfg->b[pos + 1] & 0xfc;
	}
	return 0;
}

int vfg_config_find_ext_cap(const struct vfg_config *cfg, uint16_t id)
{
	unsigned int pos = 0x100, ttl = (4096 - 0x100) / 8;
	uint32_t hdr;

	if (cfg->len < 0x104)
		return -1;
	while (ttl--) {
		hdr = config_dword(cfg, pos);
		if (hdr == 0 || hdr == 0xffffffff)
			return 0;
		if ((hdr & 0xffff) == id)
			return pos;
		pos = (hdr >> 20) & 0xffc;
		if (pos < 0x100)
			return 0;
	}
	return 0;
}

/* What explain needs of one device. */
struct node {
	char bdf[VFG_BDF_MAX];
	char parent[VFG_BDF_MAX];	/* upstream bridge, "" on a root bus */
	int pcie_type;			/* -1: conventional PCI; -2: unknown */
	int multifunction;		/* -1: unknown */
	struct vfg_config cfg;
};

static int node_read(struct vfg_ctx *ctx, const char *bdf, struct node *n)
{
	char path[PATH_MAX], real[PATH_MAX], *dir, *base;
	int pos;

	memset(n, 0, sizeof(*n));
	vfg_strlcpy(n->bdf, bdf, sizeof(n->bdf));
	if (vfg_path(ctx, path, sizeof(path), "/sys/bus/pci/devices/%s", bdf))
		return -1;
	if (!realpath(path, real))
		return -1;
	dir = dirname(real);
	base = basename(dir);
	if (vfg_is_bdf(base))
		vfg_strlcpy(n->parent, base, sizeof(n->parent));
	if (vfg_config_read(ctx, bdf, &n->cfg))
		n->cfg.len = 0;	/* unreadable: every answer is "unknown" */
	n->multifunction = n->cfg.len > PCI_HEADER_TYPE ?
			   !!(n->cfg.b[PCI_HEADER_TYPE] & 0x80) : -1;
	pos = vfg_config_find_cap(&n->cfg, PCI_CAP_ID_EXP);
	if (pos < 0)
		n->pcie_type = -2;
	else if (!pos)
		n->pcie_type = -1;
	else if (pos + PCI_EXP_FLAGS + 2 > (int)n->cfg.len)
		n->pcie_type = -2;
	else
		n->pcie_type = (vfg_config_word(&n->cfg, pos + PCI_EXP_FLAGS)
				>> 4) & 0xf;
	return 0;
}

/* pci_acs_flags_enabled(): 1, 0, or -1 when unknown. */
static int acs_flags_enabled(const struct node *n, uint16_t flags)
{
	int pos = vfg_config_find_ext_cap(&n->cfg, PCI_EXT_CAP_ID_ACS);
	uint16_t cap, ctrl;

	if (pos < 0)
		return -1;
	if (!pos)
		return 0;
	cap = vfg_config_word(&n->cfg, pos + PCI_ACS_CAP);
	ctrl = vfg_config_word(&n->cfg, pos + PCI_ACS_CTRL);
	/* Features the port does not implement count as hard-wired on. */
	flags &= cap;
	return (ctrl & flags) == flags;
}

/* pci_acs_enabled() without the quirks: 1, 0, or -1 when unknown. */
static int acs_enabled(const struct node *n)
{
	if (n->pcie_type == -2)
		return -1;
	if (n->pcie_type == -1)
		return 0;	/* conventional PCI never has ACS */
	switch (n->pcie_type) {
	case EXP_PCIE_BRIDGE:
		return 0;
	case EXP_DOWNSTREAM:
	case EXP_ROOT_PORT:
		return acs_flags_enabled(n, REQ_ACS_FLAGS);
	}
	if (n->multifunction == 1)
		return acs_flags_enabled(n, REQ_ACS_FLAGS);
	if (n->multifunction < 0)
		return -1;
	return 1;
}

/* Does this bridge alias the devices behind it to itself? */
static int bridge_aliases(const struct node *b)
{
	switch (b->pcie_type) {
	case -2:
		return -1;
	case EXP_ROOT_PORT:
	case EXP_UPSTREAM:
	case EXP_DOWNSTREAM:
		return 0;
	}
	return 1;
}

static const char *bridge_kind(const struct node *b)
{
	if (b->pcie_type == -1)
		return "conventional PCI bridge";
	if (b->pcie_type == EXP_PCI_BRIDGE)
		return "PCIe-to-PCI bridge";
	if (b->pcie_type == EXP_PCIE_BRIDGE)
		return "PCI-to-PCIe bridge";
	return "bridge";
}

struct why_list {
	struct vfg_why *v;
	size_t n;
};

static int why_add(struct why_list *l, enum vfg_why_kind kind,
		   const char *dev, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int why_add(struct why_list *l, enum vfg_why_kind kind,
		   const char *dev, const char *at, const char *fmt, ...)
{
	struct vfg_why *w = vfg_array_add(l->v, &l->n, sizeof(*w));
	va_list ap;

	if (!w)
		return -1;
	l->v = w;
	w += l->n - 1;
	w->kind = kind;
	vfg_strlcpy(w->device, dev, sizeof(w->device));
	vfg_strlcpy(w->at, at, sizeof(w->at));
	va_start(ap, fmt);
	vsnprintf(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
	return 0;
}

/* For find_topmost(): a bridge without ACS, 1, 0, or -1 when unknown. */
static int lacks_acs(const struct node *n)
{
	int r = acs_enabled(n);

	return r < 0 ? r : !r;
}

/*
 * Walk up from @x to the root; *@top becomes a copy of the topmost bridge for
 * which @pick says 1 (NULL when none).  @b is scratch space.  Returns 0, -1
 * on error, or 1 when @pick cannot tell for the bridge it leaves in @b.
 */
static int find_topmost(struct vfg_ctx *ctx, const struct node *x,
			int (*pick)(const struct node *), struct node *b,
			struct node **top)
{
	char up[VFG_BDF_MAX];
	int r;

	*top = NULL;
	vfg_strlcpy(up, x->parent, sizeof(up));
	while (up[0]) {
		if (node_read(ctx, up, b))
			return -1;
		r = pick(b);
		if (r < 0)
			return 1;
		if (r) {
			if (!*top)
				*top = malloc(sizeof(**top));
			if (!*top)
				return -1;
			**top = *b;
		}
		vfg_strlcpy(up, b->parent, sizeof(up));
	}
	return 0;
}

/* The reasons of one member, following pci_device_group(). */
static int explain_one(struct vfg_ctx *ctx, const char *bdf,
		       struct why_list *l)
{
	struct node *x, *b, *top = NULL;
	int r, ret = -1, before = l->n;

	x = malloc(sizeof(*x));
	b = malloc(sizeof(*b));
	if (!x || !b)
		goto out;
	if (node_read(ctx, bdf, x))
		goto out;
	if (!x->cfg.len) {
		ret = why_add(l, VFG_WHY_UNKNOWN, bdf, bdf,
			      "%s: its PCI config space cannot be read", bdf);
		goto out;
	}

	/* 1. The topmost bridge that aliases it. */
	r = find_topmost(ctx, x, bridge_aliases, b, &top);
	if (r > 0)
		ret = why_add(l, VFG_WHY_UNKNOWN, bdf, b->bdf,
			      "%s: the type of bridge %s cannot be read (run as root)",
			      bdf, b->bdf);
	if (r)
		goto out;
	if (top) {
		if (why_add(l, VFG_WHY_ALIAS, bdf, top->bdf,
			    "%s is behind %s %s: the IOMMU sees its DMA with the bridge's requester ID, so it cannot be isolated from the bridge and the other devices behind it",
			    bdf, bridge_kind(top), top->bdf))
			goto out;
		*x = *top;
		free(top);
	}

	/* 2. The topmost bridge above it that lacks ACS. */
	r = find_topmost(ctx, x, lacks_acs, b, &top);
	if (r > 0)
		ret = why_add(l, VFG_WHY_UNKNOWN, bdf, b->bdf,
			      "%s: whether %s enables ACS cannot be read (run as root)",
			      bdf, b->bdf);
	if (r)
		goto out;
	if (top) {
		if (why_add(l, VFG_WHY_NO_ACS, bdf, top->bdf,
			    "%s is below %s, which does not enable ACS (source validation, request and completion redirect, upstream forwarding): devices below it can reach each other without going through the IOMMU",
			    bdf, top->bdf))
			goto out;
		*x = *top;
	}

	/* 3. A multifunction device without ACS. */
	if (x->multifunction == 1) {
		r = acs_enabled(x);
		if (r < 0 &&
		    why_add(l, VFG_WHY_UNKNOWN, bdf, x->bdf,
			    "%s: whether multifunction device %s enables ACS cannot be read (run as root)",
			    bdf, x->bdf))
			goto out;
		if (!r &&
		    why_add(l, VFG_WHY_MULTIFUNCTION, bdf, x->bdf,
			    "%s is a function of multifunction device %.10s without ACS: its functions may reach each other without going through the IOMMU",
			    bdf, x->bdf))
			goto out;
	}
	ret = (int)l->n - before;
out:
	free(top);
	free(b);
	free(x);
	return ret;
}

int vfg_group_explain(struct vfg_ctx *ctx, int group, struct vfg_why **why)
{
	struct why_list l = { 0 };
	char **m = NULL;
	int n, i, j, err;
	size_t k;
	bool cited;

	*why = NULL;
	n = vfg_group_get_members(ctx, group, &m);
	if (n < 0)
		return -1;
	for (i = 0; n > 1 && i < n; i++) {
		if (!vfg_is_bdf(m[i]))
			continue;	/* not PCI: no config space to read */
		if (explain_one(ctx, m[i], &l) < 0) {
			if (errno == ENOENT)
				continue;	/* vanished mid-walk */
			goto fail;
		}
	}
	/* A member that is neither explained nor cited by another reason. */
	for (i = 0; n > 1 && i < n; i++) {
		cited = false;
		for (k = 0; k < l.n && !cited; k++)
			cited = !strcmp(l.v[k].device, m[i]) ||
				!strcmp(l.v[k].at, m[i]);
		/* Functions of one slot explain each other. */
		for (k = 0; k < l.n && !cited; k++)
			cited = l.v[k].kind == VFG_WHY_MULTIFUNCTION &&
				!strncmp(l.v[k].at, m[i], 10);
		if (cited)
			continue;
		for (j = 0; j < n; j++)
			if (j != i)
				break;
		if (why_add(&l, VFG_WHY_UNKNOWN, m[i], m[i],
			    "%s: nothing in PCI config space separates it from %s; a kernel quirk (DMA alias or ACS) may join them",
			    m[i], m[j]))
			goto fail;
	}
	vfg_strv_free(m);
	*why = l.v;
	return (int)l.n;
fail:
	err = errno;
	vfg_strv_free(m);
	free(l.v);
	errno = err;
	return -1;
}
