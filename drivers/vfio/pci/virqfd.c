// SPDX-License-Identifier: GPL-2.0-only
/*
 * virqfd: call a function each time userspace signals an eventfd.
 *
 * This is the consumer side of an eventfd, the way KVM's irqfd is: we put our
 * own entry on the eventfd's wait queue, so that eventfd_signal() (from
 * userspace's write(), from KVM, from another driver) calls our wakeup
 * function directly, in whatever context the signaller runs.  The PCI driver
 * uses it for the INTx unmask eventfd (VFIO_IRQ_SET_ACTION_UNMASK with
 * DATA_EVENTFD), which KVM signals when the guest EOIs the interrupt.
 *
 * Ownership
 * ---------
 * The owner keeps one pointer, *@slot, protected by the owner's spinlock
 * *@lock.  A virqfd is live exactly while *@slot points to it.  Whoever
 * clears *@slot (or overwrites it) under *@lock takes the duty to queue the
 * virqfd's shutdown work, so that work is queued exactly once:
 *
 * - vfg_virqfd_disable(), the owner letting it go;
 * - vfg_virqfd_enable() installing a new one over an old one;
 * - the wakeup function on EPOLLHUP, when the eventfd file is released.  It
 *   only acts if *@slot still points to this virqfd; if not, the owner has
 *   already detached it and queued the work.
 *
 * The shutdown work takes the entry off the eventfd's wait queue, under the
 * wait queue's lock, which the wakeup function runs under: once off, the
 * wakeup function is neither running nor can it run again, so the work can
 * drop the eventfd reference and free the virqfd.
 *
 * vfg_virqfd_disable() flushes the workqueue after detaching, so when it
 * returns the handler will not be called again and every virqfd that pointed
 * at the slot (including one detached by EPOLLHUP, whose work may still have
 * been pending) is gone.  The owner must therefore call vfg_virqfd_disable()
 * before the memory of @slot, @lock or @data goes away, even if it believes
 * the slot to be empty.
 *
 * Lock order: eventfd wait queue lock -> *@lock (the wakeup function takes
 * *@lock on EPOLLHUP, and the handler may take it).  Neither we nor the owner
 * may therefore signal an eventfd while holding *@lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vfio_pci_priv.h"

/* Runs the shutdown work of every virqfd; see the comment at the top. */
static struct workqueue_struct *vfg_virqfd_wq;

static void vfg_virqfd_shutdown(struct work_struct *work)
{
	struct vfg_virqfd *virqfd = container_of(work, struct vfg_virqfd,
						 shutdown);
	u64 cnt;

	/* Takes the wait queue lock: our wakeup function has finished. */
	eventfd_ctx_remove_wait_queue(virqfd->eventfd, &virqfd->wait, &cnt);
	eventfd_ctx_put(virqfd->eventfd);
	kfree(virqfd);
}

static int vfg_virqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			     int sync, void *key)
{
	struct vfg_virqfd *virqfd = container_of(wait, struct vfg_virqfd, wait);
	__poll_t events = key_to_poll(key);
	unsigned long flags;

	if (events & EPOLLIN) {
		u64 cnt;

		/* We are the reader: consume the count, then act on it. */
		eventfd_ctx_do_read(virqfd->eventfd, &cnt);
		virqfd->handler(virqfd->data);
	}

	if (events & EPOLLHUP) {
		/*
		 * The eventfd file is being released.  The virqfd, and so
		 * the owner's slot and lock, are still valid: the owner
		 * cannot free them before our shutdown work has taken us
		 * off this wait queue, and that waits for us to return.
		 */
		spin_lock_irqsave(virqfd->lock, flags);
		if (*virqfd->slot == virqfd) {
			*virqfd->slot = NULL;
			queue_work(vfg_virqfd_wq, &virqfd->shutdown);
		}
		spin_unlock_irqrestore(virqfd->lock, flags);
	}

	return 0;
}

static void vfg_virqfd_queue_proc(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct vfg_virqfd *virqfd = container_of(pt, struct vfg_virqfd, pt);

	add_wait_queue(wqh, &virqfd->wait);
}

/**
 * vfg_virqfd_enable() - call @handler whenever eventfd @fd is signalled
 * @slot: the owner's pointer to the virqfd; replaced if already set
 * @lock: the owner's spinlock protecting *@slot
 * @fd: an eventfd
 * @handler: called with @data on every signal.  It runs in the signaller's
 *           context, which may be atomic (hard IRQ included), with the
 *           eventfd's wait queue lock held: it must not sleep and must not
 *           signal an eventfd.  It is also called once from here, in process
 *           context, if @fd is already signalled.
 * @data: passed to @handler
 *
 * A virqfd already in *@slot is replaced and shut down: by the time this
 * returns, its handler will not run again.  The caller serializes enable and
 * disable on one slot (vfio_pci holds vdev->lock); the slot stays consistent
 * even without that, but "disable means no more calls" then holds only for
 * the virqfds that were in the slot when disable ran.
 *
 * Context: process context; may sleep.  Must not hold @lock.
 * Return: 0 on success, -EBADF if @fd is not open, -EINVAL if it is not an
 * eventfd, -ENOMEM.
 */
int vfg_virqfd_enable(struct vfg_virqfd **slot, spinlock_t *lock, int fd,
		      void (*handler)(void *data), void *data)
{
	struct vfg_virqfd *virqfd, *old;
	struct eventfd_ctx *ctx;
	unsigned long flags;
	__poll_t events;
	struct fd f;
	int ret;

	virqfd = kzalloc(sizeof(*virqfd), GFP_KERNEL_ACCOUNT);
	if (!virqfd)
		return -ENOMEM;

	f = fdget(fd);
	if (!f.file) {
		ret = -EBADF;
		goto err_free;
	}

	ctx = eventfd_ctx_fileget(f.file);
	if (IS_ERR(ctx)) {
		ret = PTR_ERR(ctx);
		goto err_fdput;
	}

	virqfd->eventfd = ctx;
	virqfd->handler = handler;
	virqfd->data = data;
	virqfd->slot = slot;
	virqfd->lock = lock;
	INIT_WORK(&virqfd->shutdown, vfg_virqfd_shutdown);
	init_waitqueue_func_entry(&virqfd->wait, vfg_virqfd_wakeup);
	init_poll_funcptr(&virqfd->pt, vfg_virqfd_queue_proc);

	/*
	 * Get on the wait queue first and publish afterwards.  From here on
	 * the wakeup function may call @handler, which is fine.  EPOLLHUP
	 * cannot come before we publish: the file cannot be released while
	 * we hold it from fdget(), so the wakeup function always finds us in
	 * the slot (or finds a later replacement, which then owns our
	 * shutdown).
	 */
	events = vfs_poll(f.file, &virqfd->pt);

	/* A signal that came before we were on the queue: act on it now. */
	if (events & EPOLLIN)
		handler(data);

	spin_lock_irqsave(lock, flags);
	old = *slot;
	*slot = virqfd;
	if (old)
		queue_work(vfg_virqfd_wq, &old->shutdown);
	spin_unlock_irqrestore(lock, flags);

	fdput(f);

	if (old)
		flush_workqueue(vfg_virqfd_wq);
	return 0;

err_fdput:
	fdput(f);
err_free:
	kfree(virqfd);
	return ret;
}

/**
 * vfg_virqfd_disable() - stop and free the virqfd in *@slot, if any
 * @slot: the owner's pointer to the virqfd
 * @lock: the owner's spinlock protecting *@slot
 *
 * On return *@slot is NULL, and no handler of a virqfd that was in *@slot
 * (now or earlier, if the eventfd was closed) is running or will run.
 *
 * Context: process context; may sleep.  Must not hold @lock.
 */
void vfg_virqfd_disable(struct vfg_virqfd **slot, spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	if (*slot) {
		queue_work(vfg_virqfd_wq, &(*slot)->shutdown);
		*slot = NULL;
	}
	spin_unlock_irqrestore(lock, flags);

	/* Also waits for a shutdown queued by EPOLLHUP. */
	flush_workqueue(vfg_virqfd_wq);
}

/**
 * vfg_virqfd_init() - create the workqueue that shuts virqfds down
 *
 * Context: module init, before any device can be opened.
 * Return: 0 or -ENOMEM.
 */
int vfg_virqfd_init(void)
{
	vfg_virqfd_wq = alloc_ordered_workqueue("vfio-virqfd", 0);
	if (!vfg_virqfd_wq)
		return -ENOMEM;
	return 0;
}

/**
 * vfg_virqfd_exit() - destroy the workqueue
 *
 * Called once from module exit, after every device fd is closed (so every
 * virqfd has been disabled).  Waits for outstanding shutdown work.
 */
void vfg_virqfd_exit(void)
{
	destroy_workqueue(vfg_virqfd_wq);
}
