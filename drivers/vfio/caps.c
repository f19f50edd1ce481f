// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO capability chains: a list of struct vfio_info_cap_header records that
 * follow an info structure in the user's buffer, each "next" field holding
 * the offset of the next record from the start of the info structure.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio.h>

#include "vfio.h"

/**
 * vfg_caps_add() - append a capability record
 * @caps: the chain being built (zeroed to start)
 * @size: size of the record, header included
 * @id: capability ID
 * @version: capability version
 *
 * Return: the new record, zeroed but for its header, or an ERR_PTR.  The
 * pointer is valid until the next call.
 */
void *vfg_caps_add(struct vfg_caps *caps, size_t size, u16 id, u16 version)
{
	struct vfio_info_cap_header *hdr;
	size_t off = ALIGN(caps->size, sizeof(u64));
	void *buf;

	if (size < sizeof(*hdr))
		return ERR_PTR(-EINVAL);
	buf = krealloc(caps->buf, off + size, GFP_KERNEL | __GFP_ZERO);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	if (caps->size) {
		/* Link the previous record to this one (relative for now). */
		hdr = buf + caps->last;
		hdr->next = off;
	}
	memset(buf + caps->size, 0, off + size - caps->size);
	caps->buf = buf;
	caps->last = off;
	caps->size = off + size;
	hdr = buf + off;
	hdr->id = id;
	hdr->version = version;
	return hdr;
}

/**
 * vfg_caps_copy_out() - place the chain after an info structure
 * @caps: the chain
 * @base: offset of the chain from the start of the user's info structure
 * @uptr: user address of the chain (info structure + @base)
 *
 * Shifts every "next" offset by @base and copies the chain out.
 *
 * Return: 0 or -EFAULT.
 */
int vfg_caps_copy_out(struct vfg_caps *caps, size_t base, void __user *uptr)
{
	struct vfio_info_cap_header *hdr;
	size_t off = 0;

	while (caps->size) {
		hdr = caps->buf + off;
		if (!hdr->next)
			break;
		off = hdr->next;
		hdr->next += base;
	}
	return copy_to_user(uptr, caps->buf, caps->size) ? -EFAULT : 0;
}

/**
 * vfg_caps_free() - release a chain
 * @caps: the chain
 */
void vfg_caps_free(struct vfg_caps *caps)
{
	kfree(caps->buf);
	caps->buf = NULL;
	caps->size = 0;
}
