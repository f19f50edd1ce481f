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
EXPORT_SYMBOL_GPL(vfg_caps_add);

/*
 * Shift every "next" offset by @base, the chain's offset from the start of
 * the user's info structure, and copy the chain out to @uptr.
 */
static int vfg_caps_copy_out(struct vfg_caps *caps, size_t base, void __user *uptr)
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
 * vfg_caps_place() - put a chain after the user's info structure, if it fits
 * @caps: the chain, not empty
 * @argsz: the user's argsz; raised to what is needed when it is too small
 * @info_size: size of the info structure the chain follows
 * @cap_offset: set to @info_size when the chain was copied out, else 0
 * @uinfo: user address of the info structure
 *
 * The VFIO rule: a caller whose buffer is too small gets the size it needs in
 * argsz and no chain (cap_offset 0), and asks again.
 *
 * Return: 0 or -EFAULT.
 */
int vfg_caps_place(struct vfg_caps *caps, u32 *argsz, size_t info_size,
		   u32 *cap_offset, void __user *uinfo)
{
	int ret;

	*cap_offset = 0;
	if (*argsz < info_size + caps->size) {
		*argsz = info_size + caps->size;
		return 0;
	}
	ret = vfg_caps_copy_out(caps, info_size, uinfo + info_size);
	if (!ret)
		*cap_offset = info_size;
	return ret;
}
EXPORT_SYMBOL_GPL(vfg_caps_place);

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
EXPORT_SYMBOL_GPL(vfg_caps_free);
