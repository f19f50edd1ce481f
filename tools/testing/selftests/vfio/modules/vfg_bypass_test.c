// SPDX-License-Identifier: GPL-2.0
/*
 * vfg_bypass_test: an irq-bypass consumer, as KVM's irqfd registers one,
 * for the vfio-groups guest selftests.
 *
 * Each consumer's token is an eventfd's context, as KVM's is.  The
 * irqbypass manager connects it with the producer of the same token (an
 * MSI/MSI-X vector whose trigger is that eventfd) whenever both exist, and
 * disconnects them when either goes; this module counts those calls and
 * remembers the producer's IRQ, which the tests read back.  Consumers live
 * as long as the fd of /dev/vfg_bypass_test that registered them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/irqbypass.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfg_bypass_test.h"

/**
 * struct vfg_bypass_cons - one consumer
 * @node: in its open's list
 * @cons: registered with the manager; its token is @ctx
 * @ctx: the eventfd's context (a reference is held)
 * @irq: the connected producer's IRQ, or 0; under the manager's lock
 * @adds: connections made
 * @dels: connections broken
 */
struct vfg_bypass_cons {
	struct list_head node;
	struct irq_bypass_consumer cons;
	struct eventfd_ctx *ctx;
	int irq;
	unsigned int adds;
	unsigned int dels;
};

/**
 * struct vfg_bypass_open - one open of the device
 * @lock: protects @list
 * @list: its consumers
 */
struct vfg_bypass_open {
	struct mutex lock;	/* protects list */
	struct list_head list;
};

static int vfg_bypass_add_producer(struct irq_bypass_consumer *cons,
				   struct irq_bypass_producer *prod)
{
	struct vfg_bypass_cons *c = container_of(cons, struct vfg_bypass_cons,
						 cons);

	WRITE_ONCE(c->irq, prod->irq);
	WRITE_ONCE(c->adds, c->adds + 1);
	return 0;
}

static void vfg_bypass_del_producer(struct irq_bypass_consumer *cons,
				    struct irq_bypass_producer *prod)
{
	struct vfg_bypass_cons *c = container_of(cons, struct vfg_bypass_cons,
						 cons);

	WRITE_ONCE(c->irq, 0);
	WRITE_ONCE(c->dels, c->dels + 1);
}

static struct vfg_bypass_cons *vfg_bypass_find(struct vfg_bypass_open *o,
					       struct eventfd_ctx *ctx)
{
	struct vfg_bypass_cons *c;

	lockdep_assert_held(&o->lock);
	list_for_each_entry(c, &o->list, node)
		if (c->ctx == ctx)
			return c;
	return NULL;
}

static long vfg_bypass_add(struct vfg_bypass_open *o, int fd)
{
	struct vfg_bypass_cons *c;
	struct eventfd_ctx *ctx;
	long ret;

	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	mutex_lock(&o->lock);
	ret = -EEXIST;
	if (vfg_bypass_find(o, ctx))
		goto err;
	ret = -ENOMEM;
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		goto err;
	c->ctx = ctx;
	c->cons.token = ctx;
	c->cons.add_producer = vfg_bypass_add_producer;
	c->cons.del_producer = vfg_bypass_del_producer;
	ret = irq_bypass_register_consumer(&c->cons);
	if (ret) {
		kfree(c);
		goto err;
	}
	list_add_tail(&c->node, &o->list);
	mutex_unlock(&o->lock);
	return 0;
err:
	mutex_unlock(&o->lock);
	eventfd_ctx_put(ctx);
	return ret;
}

static long vfg_bypass_state(struct vfg_bypass_open *o, void __user *arg)
{
	struct vfg_bypass_test_state st;
	struct vfg_bypass_cons *c;
	struct eventfd_ctx *ctx;
	long ret = 0;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	ctx = eventfd_ctx_fdget(st.eventfd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	mutex_lock(&o->lock);
	c = vfg_bypass_find(o, ctx);
	if (c) {
		st.irq = READ_ONCE(c->irq);
		st.connected = st.irq != 0;
		st.adds = READ_ONCE(c->adds);
		st.dels = READ_ONCE(c->dels);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&o->lock);
	eventfd_ctx_put(ctx);
	if (!ret && copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
	return ret;
}

static long vfg_bypass_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct vfg_bypass_open *o = file->private_data;
	int fd;

	switch (cmd) {
	case VFG_BYPASS_TEST_ADD:
		if (get_user(fd, (int __user *)arg))
			return -EFAULT;
		return vfg_bypass_add(o, fd);
	case VFG_BYPASS_TEST_STATE:
		return vfg_bypass_state(o, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static int vfg_bypass_open(struct inode *inode, struct file *file)
{
	struct vfg_bypass_open *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	mutex_init(&o->lock);
	INIT_LIST_HEAD(&o->list);
	file->private_data = o;
	return 0;
}

static int vfg_bypass_release(struct inode *inode, struct file *file)
{
	struct vfg_bypass_open *o = file->private_data;
	struct vfg_bypass_cons *c, *tmp;

	list_for_each_entry_safe(c, tmp, &o->list, node) {
		irq_bypass_unregister_consumer(&c->cons);
		eventfd_ctx_put(c->ctx);
		kfree(c);
	}
	mutex_destroy(&o->lock);
	kfree(o);
	return 0;
}

static const struct file_operations vfg_bypass_fops = {
	.owner = THIS_MODULE,
	.open = vfg_bypass_open,
	.release = vfg_bypass_release,
	.unlocked_ioctl = vfg_bypass_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vfg_bypass_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vfg_bypass_test",
	.fops = &vfg_bypass_fops,
};

module_misc_device(vfg_bypass_misc);
MODULE_DESCRIPTION("An irq-bypass consumer for the vfio-groups selftests");
MODULE_LICENSE("GPL");
