// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interrupts of a vfio-pci device: VFIO_DEVICE_GET_IRQ_INFO and
 * VFIO_DEVICE_SET_IRQS.
 *
 * Userspace sees five interrupt indexes.  INTx, MSI and MSI-X are real
 * interrupts and exclusive: vdev->irq_type says which one is enabled, or -1
 * for none.  An index is enabled by giving it a trigger eventfd and disabled
 * by DATA_NONE|ACTION_TRIGGER with count 0.  ERR and REQ are just eventfds
 * the driver signals (on an AER error, and when the kernel wants the device
 * back); they do not depend on irq_type.
 *
 * INTx is level-triggered and may be shared, so it is "automasked": the
 * handler masks it and signals the trigger, and it stays masked until
 * userspace unmasks it, by ioctl or through the unmask eventfd (a virqfd,
 * see virqfd.c), which KVM signals when the guest EOIs.  A device that
 * supports DisINTx (pci_intx_mask_supported(), decided once at enumeration,
 * unless vfio-pci's nointxmask says not to use it) is masked there, on a
 * shared line; any other gets the line to itself and
 * is masked at the interrupt controller.  When an unmask by ioctl finds the
 * device still asserting, the line fires again and the handler masks and
 * signals again.
 *
 * The unmask eventfd is signalled in whatever context the signaller runs,
 * and its handler runs under the eventfd's wait queue lock; if the trigger
 * is the same eventfd, the INTx handler's own signal calls it, in hard-IRQ
 * context.  A plain unmask there of a line that still asserts would fire it
 * again at once, and so on forever: a livelock in hard-IRQ context.  So the
 * eventfd path checks and unmasks (pci_check_and_unmask_intx(): a device
 * that still asserts stays masked) and re-arms from process context: the
 * @intx_rearm work signals the trigger again, as if the line had fired.  An
 * exclusive line cannot be checked; its unmask is left to the work.
 *
 * The virtual INTx disable bit of the command register (config.c) masks
 * INTx while it is set, as a guest expects: no unmask opens the line until
 * it is cleared, and clearing it unmasks.
 *
 * MSI and MSI-X vectors each get a trigger eventfd; their handler only
 * signals it.  Masking them is not supported (-ENOTTY, as upstream).
 *
 * Locking
 * -------
 *   vdev->lock (mutex)       irq_type, ctx, num_ctx and every trigger change.
 *                            vfg_pci_set_irqs() takes it; every static
 *                            function below that changes state, and
 *                            vfg_pci_irq_disable_all(), expect it held.
 *   vdev->irqlock (spinlock) intx_masked, intx_virq_disabled and the
 *                            intx_unmask slot.  Taken by
 *                            the INTx handler (hard IRQ) and by the unmask
 *                            virqfd under the eventfd's wait queue lock, so:
 *                            eventfd wait queue lock -> irqlock, and no
 *                            eventfd is ever signalled under irqlock.
 *   RCU                      err_trigger and req_trigger: read under
 *                            rcu_read_lock() by vfg_pci_signal_{err,req}(),
 *                            which may run concurrently with an ioctl holding
 *                            vdev->lock (remove() calls signal_req while the
 *                            device is open); replaced under vdev->lock and
 *                            put only after synchronize_rcu().
 *
 * The INTx handler reads ctx[0].trigger with READ_ONCE(); replacing it is
 * followed by synchronize_irq() before the old one is put.  MSI handlers get
 * their trigger as dev_id; free_irq() comes before the put.  free_irq() and
 * synchronize_irq() may sleep and are never called under a spinlock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/lockdep.h>
#include <linux/msi.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_pci_priv.h"

/* vdev->irq_type when no interrupt index is enabled. */
#define VFG_IRQ_NONE	(-1)

/* Largest Multiple Message Capable encoding defined: 32 vectors. */
#define VFG_MSI_MMC_MAX	5

/* Is INTx masked at the device (DisINTx), on a line it may share? */
static bool vfg_pci_intx_maskable(struct vfg_pci_device *vdev)
{
	return !vfg_pci_nointxmask && pci_intx_mask_supported(vdev->pdev);
}

static bool vfg_intx_irq_valid(struct pci_dev *pdev)
{
	return pdev->irq && pdev->irq != IRQ_NOTCONNECTED;
}

/*
 * Whether the action applies to element @i of the request: always for
 * DATA_NONE, when the byte is non-zero for DATA_BOOL.
 */
static bool vfg_irq_data_true(const struct vfio_irq_set *hdr, const u8 *data,
			      unsigned int i)
{
	if (hdr->flags & VFIO_IRQ_SET_DATA_NONE)
		return true;
	return data[i];
}

/*
 * INTx
 */

/* Mask INTx if it is not masked already.  INTx must be enabled. */
static void vfg_intx_mask(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	unsigned long flags;

	spin_lock_irqsave(&vdev->irqlock, flags);
	if (!vdev->intx_masked) {
		if (vfg_pci_intx_maskable(vdev))
			pci_intx(pdev, 0);
		else
			disable_irq_nosync(pdev->irq);
		vdev->intx_masked = true;
	}
	spin_unlock_irqrestore(&vdev->irqlock, flags);
}

/*
 * Unmask INTx if it is masked and the virtual INTx disable bit is clear.
 * INTx must be enabled.  Process context: the ioctl, a config write, the
 * re-arm work.
 */
static void vfg_intx_unmask(struct vfg_pci_device *vdev)
{
	struct pci_dev *pdev = vdev->pdev;
	unsigned long flags;

	spin_lock_irqsave(&vdev->irqlock, flags);
	if (vdev->intx_masked && !vdev->intx_virq_disabled) {
		/* pci_intx(pdev, 1) clears DisINTx: the device may assert. */
		if (vfg_pci_intx_maskable(vdev))
			pci_intx(pdev, 1);
		else
			enable_irq(pdev->irq);
		vdev->intx_masked = false;
	}
	spin_unlock_irqrestore(&vdev->irqlock, flags);
}

/**
 * vfg_pci_intx_command_written() - apply the command register userspace
 *	wrote to INTx
 * @vdev: the device, with vdev->lock held
 *
 * The virtual INTx disable bit (in vdev->vconfig) masks INTx while set, and
 * clearing it unmasks, as the mask and unmask ioctls do.  It is recorded
 * even while INTx is not enabled, so that enabling it starts masked.
 *
 * The config code writes the device's command register by read-modify-write
 * and keeps DisINTx as it read it; the INTx handler may have set it in
 * between.  A masked line must stay masked, so set it again.
 */
void vfg_pci_intx_command_written(struct vfg_pci_device *vdev)
{
	bool virq_disabled = vdev->vconfig[PCI_COMMAND + 1] &
			     (PCI_COMMAND_INTX_DISABLE >> 8);
	bool intx = vdev->irq_type == VFIO_PCI_INTX_IRQ_INDEX;
	unsigned long flags;
	bool changed;

	lockdep_assert_held(&vdev->lock);
	spin_lock_irqsave(&vdev->irqlock, flags);
	changed = vdev->intx_virq_disabled != virq_disabled;
	vdev->intx_virq_disabled = virq_disabled;
	if (intx && vdev->intx_masked && vfg_pci_intx_maskable(vdev))
		pci_intx(vdev->pdev, 0);
	spin_unlock_irqrestore(&vdev->irqlock, flags);

	if (!intx || !changed)
		return;
	if (virq_disabled)
		vfg_intx_mask(vdev);
	else
		vfg_intx_unmask(vdev);
}

/*
 * The unmask eventfd was signalled: atomic, under its wait queue lock, maybe
 * from our own INTx handler (see the top of this file).  Unmask a DisINTx
 * device only if it no longer asserts; otherwise leave it masked and let the
 * work signal the trigger again.  An exclusive line is unmasked by the work.
 */
static void vfg_intx_unmask_virqfd(void *data)
{
	struct vfg_pci_device *vdev = data;
	struct pci_dev *pdev = vdev->pdev;
	unsigned long flags;
	bool rearm = false;

	if (!vfg_pci_intx_maskable(vdev)) {
		schedule_work(&vdev->intx_rearm);
		return;
	}
	spin_lock_irqsave(&vdev->irqlock, flags);
	if (vdev->intx_masked && !vdev->intx_virq_disabled) {
		if (pci_check_and_unmask_intx(pdev))
			vdev->intx_masked = false;
		else
			rearm = true;
	}
	spin_unlock_irqrestore(&vdev->irqlock, flags);
	if (rearm)
		schedule_work(&vdev->intx_rearm);
}

/*
 * Process context, for vfg_intx_unmask_virqfd(): tell userspace again that
 * the device asserts INTx, or unmask an exclusive line.  INTx is enabled:
 * vfg_intx_disable() cancels this after the virqfd is gone, before ctx goes.
 */
static void vfg_intx_rearm(struct work_struct *work)
{
	struct vfg_pci_device *vdev = container_of(work, struct vfg_pci_device,
						   intx_rearm);
	struct eventfd_ctx *trigger;

	if (!vfg_pci_intx_maskable(vdev)) {
		vfg_intx_unmask(vdev);
		return;
	}
	trigger = READ_ONCE(vdev->ctx[0].trigger);
	if (trigger)
		eventfd_signal(trigger, 1);
}

/**
 * vfg_pci_intx_init() - set up a device's INTx state at probe
 * @vdev: the device, not yet registered
 */
void vfg_pci_intx_init(struct vfg_pci_device *vdev)
{
	INIT_WORK(&vdev->intx_rearm, vfg_intx_rearm);
}

static irqreturn_t vfg_intx_handler(int irq, void *dev_id)
{
	struct vfg_pci_device *vdev = dev_id;
	struct pci_dev *pdev = vdev->pdev;
	irqreturn_t ret = IRQ_NONE;
	struct eventfd_ctx *trigger;
	unsigned long flags;

	spin_lock_irqsave(&vdev->irqlock, flags);
	if (!vfg_pci_intx_maskable(vdev)) {
		/* Exclusive line: it is ours whatever the state. */
		if (!vdev->intx_masked) {
			disable_irq_nosync(irq);
			vdev->intx_masked = true;
		}
		ret = IRQ_HANDLED;
	} else if (!vdev->intx_masked && pci_check_and_mask_intx(pdev)) {
		/* Shared line: ours only if the device says it asserts. */
		vdev->intx_masked = true;
		ret = IRQ_HANDLED;
	}
	spin_unlock_irqrestore(&vdev->irqlock, flags);

	if (ret == IRQ_HANDLED) {
		trigger = READ_ONCE(vdev->ctx[0].trigger);
		if (trigger)
			eventfd_signal(trigger, 1);
	}
	return ret;
}

/* Enable INTx with @trigger, whose reference passes to us on success. */
static int vfg_intx_enable(struct vfg_pci_device *vdev,
			   struct eventfd_ctx *trigger)
{
	struct pci_dev *pdev = vdev->pdev;
	bool maskable = vfg_pci_intx_maskable(vdev);
	struct vfg_pci_irq_ctx *ctx;
	unsigned long flags;
	int ret;

	lockdep_assert_held(&vdev->lock);

	if (vdev->irq_type != VFG_IRQ_NONE)
		return -EINVAL;
	if (!vfg_intx_irq_valid(pdev))
		return -ENODEV;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->name = kasprintf(GFP_KERNEL_ACCOUNT, "vfio-intx(%s)",
			      pci_name(pdev));
	if (!ctx->name) {
		kfree(ctx);
		return -ENOMEM;
	}
	ctx->trigger = trigger;
	ctx->irq = pdev->irq;

	/*
	 * A DisINTx device is kept masked at the device until our handler is
	 * in, then unmasked: on a shared line nobody else would claim it.  An
	 * exclusive line starts enabled, with the handler.
	 */
	spin_lock_irqsave(&vdev->irqlock, flags);
	if (maskable)
		pci_intx(pdev, 0);
	vdev->intx_masked = maskable;
	spin_unlock_irqrestore(&vdev->irqlock, flags);

	/* The handler uses ctx[0]: set it up before request_irq(). */
	vdev->ctx = ctx;
	vdev->num_ctx = 1;
	vdev->irq_type = VFIO_PCI_INTX_IRQ_INDEX;

	ret = request_irq(ctx->irq, vfg_intx_handler,
			  maskable ? IRQF_SHARED : 0, ctx->name, vdev);
	if (ret) {
		vdev->irq_type = VFG_IRQ_NONE;
		vdev->num_ctx = 0;
		vdev->ctx = NULL;
		vdev->intx_masked = false;
		kfree(ctx->name);
		kfree(ctx);
		return ret;
	}

	/* Unmasked unless the virtual INTx disable bit is set. */
	if (maskable)
		vfg_intx_unmask(vdev);
	else if (vdev->intx_virq_disabled)
		vfg_intx_mask(vdev);
	return 0;
}

/* Replace the trigger of enabled INTx; takes the reference to @trigger. */
static void vfg_intx_set_trigger(struct vfg_pci_device *vdev,
				 struct eventfd_ctx *trigger)
{
	struct eventfd_ctx *old = vdev->ctx[0].trigger;

	lockdep_assert_held(&vdev->lock);

	WRITE_ONCE(vdev->ctx[0].trigger, trigger);
	/* A handler or re-arm that read the old one has finished after this. */
	synchronize_irq(vdev->ctx[0].irq);
	flush_work(&vdev->intx_rearm);
	eventfd_ctx_put(old);
}

static void vfg_intx_disable(struct vfg_pci_device *vdev)
{
	struct vfg_pci_irq_ctx *ctx = vdev->ctx;
	unsigned long flags;

	lockdep_assert_held(&vdev->lock);

	/* First: after this nothing unmasks behind our back. */
	vfg_virqfd_disable(&vdev->intx_unmask, &vdev->irqlock);
	cancel_work_sync(&vdev->intx_rearm);

	/* Leave a device on a shared line unable to assert unhandled. */
	if (vfg_pci_intx_maskable(vdev))
		vfg_intx_mask(vdev);

	/* Also balances a disable_irq_nosync() of an exclusive line. */
	free_irq(ctx->irq, vdev);

	spin_lock_irqsave(&vdev->irqlock, flags);
	vdev->intx_masked = false;
	spin_unlock_irqrestore(&vdev->irqlock, flags);

	vdev->irq_type = VFG_IRQ_NONE;
	vdev->num_ctx = 0;
	vdev->ctx = NULL;
	eventfd_ctx_put(ctx->trigger);
	kfree(ctx->name);
	kfree(ctx);
}

static int vfg_intx_set_irqs_trigger(struct vfg_pci_device *vdev,
				     const struct vfio_irq_set *hdr,
				     const u8 *data)
{
	bool intx = vdev->irq_type == VFIO_PCI_INTX_IRQ_INDEX;
	struct eventfd_ctx *trigger;
	int ret;
	s32 fd;

	if (!hdr->count || (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD)) {
		fd = hdr->count ? *(const s32 *)data : -1;
		if (fd < 0) {
			/* Disable; nothing to do if nothing is enabled. */
			if (intx)
				vfg_intx_disable(vdev);
			else if (vdev->irq_type != VFG_IRQ_NONE)
				return -EINVAL;
			return 0;
		}

		if (!intx && vdev->irq_type != VFG_IRQ_NONE)
			return -EINVAL;
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
		if (intx) {
			vfg_intx_set_trigger(vdev, trigger);
			return 0;
		}
		ret = vfg_intx_enable(vdev, trigger);
		if (ret)
			eventfd_ctx_put(trigger);
		return ret;
	}

	/* Loopback: signal the trigger as if the device had. */
	if (!intx)
		return -EINVAL;
	if (vfg_irq_data_true(hdr, data, 0))
		eventfd_signal(vdev->ctx[0].trigger, 1);
	return 0;
}

static int vfg_intx_set_irqs_mask(struct vfg_pci_device *vdev,
				  const struct vfio_irq_set *hdr,
				  const u8 *data, bool mask)
{
	s32 fd;

	if (vdev->irq_type != VFIO_PCI_INTX_IRQ_INDEX)
		return -EINVAL;

	if (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		/* An eventfd that masks is not implemented, as upstream. */
		if (mask)
			return -ENOTTY;
		fd = *(const s32 *)data;
		if (fd < 0) {
			vfg_virqfd_disable(&vdev->intx_unmask, &vdev->irqlock);
			return 0;
		}
		return vfg_virqfd_enable(&vdev->intx_unmask, &vdev->irqlock,
					 fd, vfg_intx_unmask_virqfd, vdev);
	}

	if (!vfg_irq_data_true(hdr, data, 0))
		return 0;
	if (mask)
		vfg_intx_mask(vdev);
	else
		vfg_intx_unmask(vdev);
	return 0;
}

/*
 * MSI and MSI-X
 */

static irqreturn_t vfg_msi_handler(int irq, void *dev_id)
{
	struct eventfd_ctx *trigger = dev_id;

	eventfd_signal(trigger, 1);
	return IRQ_HANDLED;
}

/*
 * Allocating, starting, stopping and freeing MSI and MSI-X vectors runs
 * with memory_lock held for writing, for two reasons:
 *
 * - a reset (VFIO_DEVICE_RESET, FLR, hot reset, PM) holds it for writing
 *   across pci_try_reset_function(), whose state restore walks the
 *   device's MSI descriptors: they must not be allocated or freed under it
 *   (the debug kernel's fuzz_test found the restore writing through a
 *   descriptor being freed);
 * - the MSI-X table is in a BAR, and writes to it are ignored while memory
 *   decode is off: decode is turned on around them if userspace has it off,
 *   and back off afterwards without undoing what the MSI core changed
 *   meanwhile (DisINTx), with no user access or fault able to see decoding
 *   on (a page mapped in that window would outlive it).
 *
 * Return: whether memory decode was turned on, for vfg_msi_unlock().
 */
static bool vfg_msi_lock(struct vfg_pci_device *vdev, bool msix)
{
	u16 cmd;

	lockdep_assert_held(&vdev->lock);
	down_write(&vdev->memory_lock);
	if (!msix)
		return false;
	pci_read_config_word(vdev->pdev, PCI_COMMAND, &cmd);
	if (cmd & PCI_COMMAND_MEMORY)
		return false;
	pci_write_config_word(vdev->pdev, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	return true;
}

static void vfg_msi_unlock(struct vfg_pci_device *vdev, bool enabled)
{
	u16 cmd;

	if (enabled) {
		pci_read_config_word(vdev->pdev, PCI_COMMAND, &cmd);
		pci_write_config_word(vdev->pdev, PCI_COMMAND,
				      cmd & ~PCI_COMMAND_MEMORY);
	}
	vfg_pci_memory_write_unlock(vdev);
}

/*
 * Enable MSI or MSI-X with @nvec vectors, none of them with a trigger yet.
 * Return: 0; a positive number of vectors the platform could give, if fewer
 * than @nvec (upstream's ABI: QEMU retries with that many); or -errno.
 */
static int vfg_msi_enable(struct vfg_pci_device *vdev, unsigned int index,
			  unsigned int nvec)
{
	bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;
	struct vfg_pci_irq_ctx *ctx;
	bool mem;
	int ret;

	lockdep_assert_held(&vdev->lock);

	if (vdev->irq_type != VFG_IRQ_NONE)
		return -EINVAL;

	ctx = kcalloc(nvec, sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;

	mem = vfg_msi_lock(vdev, msix);
	ret = pci_alloc_irq_vectors(vdev->pdev, 1, nvec,
				    msix ? PCI_IRQ_MSIX : PCI_IRQ_MSI);
	if (ret > 0 && ret < (int)nvec)
		pci_free_irq_vectors(vdev->pdev);
	vfg_msi_unlock(vdev, mem);
	if (ret < (int)nvec) {
		kfree(ctx);
		return ret;
	}

	vdev->ctx = ctx;
	vdev->num_ctx = nvec;
	vdev->irq_type = index;
	return 0;
}

/*
 * Interrupt bypass.  Each MSI/MSI-X vector with a trigger is offered to the
 * irqbypass manager as a producer whose token is the trigger eventfd: the
 * token KVM's irqfd for that eventfd registers its consumer with, so that
 * KVM can post the interrupt straight to a vCPU.  The manager is a module
 * of its own that kvm.ko needs; we find it with symbol_get() rather than
 * depend on it, so nothing loads it for userspace drivers that have no VM,
 * and hold it (the reference symbol_get() takes) while a producer of ours
 * is registered with it.
 */
static void vfg_msi_bypass_register(struct vfg_pci_device *vdev,
				    struct vfg_pci_irq_ctx *ctx)
{
	int (*reg)(struct irq_bypass_producer *producer);
	int ret;

	reg = symbol_get(irq_bypass_register_producer);
	if (!reg)
		return;
	ctx->producer.token = ctx->trigger;
	ctx->producer.irq = ctx->irq;
	ret = reg(&ctx->producer);
	if (ret) {
		symbol_put(irq_bypass_register_producer);
		pci_info_ratelimited(vdev->pdev, "IRQ %d: no interrupt bypass (%d): its eventfd is another vector's trigger\n",
				     ctx->irq, ret);
		return;
	}
	ctx->bypass = true;
}

static void vfg_msi_bypass_unregister(struct vfg_pci_irq_ctx *ctx)
{
	void (*unreg)(struct irq_bypass_producer *producer);

	if (!ctx->bypass)
		return;
	/* Cannot fail: our reference keeps the manager loaded. */
	unreg = symbol_get(irq_bypass_unregister_producer);
	if (!WARN_ON(!unreg)) {
		unreg(&ctx->producer);
		symbol_put(irq_bypass_unregister_producer);
	}
	symbol_put(irq_bypass_register_producer);
	ctx->bypass = false;
}

/* Stop vector @i and drop its trigger, if it has one. */
static void vfg_msi_vector_release(struct vfg_pci_device *vdev,
				   unsigned int i)
{
	struct vfg_pci_irq_ctx *ctx = &vdev->ctx[i];

	if (!ctx->trigger)
		return;
	vfg_msi_bypass_unregister(ctx);
	free_irq(ctx->irq, ctx->trigger);
	eventfd_ctx_put(ctx->trigger);
	kfree(ctx->name);
	ctx->trigger = NULL;
	ctx->name = NULL;
	ctx->irq = 0;
}

/*
 * Start vector @i, which has no trigger, with @trigger.  On success the
 * reference to @trigger belongs to the vector; on failure, to the caller.
 */
static int vfg_msi_vector_attach(struct vfg_pci_device *vdev, unsigned int i,
				 struct eventfd_ctx *trigger)
{
	bool msix = vdev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX;
	struct vfg_pci_irq_ctx *ctx = &vdev->ctx[i];
	struct msi_msg msg;
	char *name;
	int irq, ret;

	irq = pci_irq_vector(vdev->pdev, i);
	if (irq < 0)
		return irq;

	name = kasprintf(GFP_KERNEL_ACCOUNT, "vfio-msi%s[%u](%s)",
			 msix ? "x" : "", i, pci_name(vdev->pdev));
	if (!name)
		return -ENOMEM;

	/*
	 * A reset behind our back (FLR through config space) clears the
	 * MSI-X table; write the message the kernel composed back first.
	 */
	if (msix) {
		get_cached_msi_msg(irq, &msg);
		pci_write_msi_msg(irq, &msg);
	}

	ret = request_irq(irq, vfg_msi_handler, 0, name, trigger);
	if (ret) {
		kfree(name);
		return ret;
	}

	ctx->trigger = trigger;
	ctx->name = name;
	ctx->irq = irq;
	vfg_msi_bypass_register(vdev, ctx);
	return 0;
}

static void vfg_msi_disable(struct vfg_pci_device *vdev)
{
	bool msix = vdev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX;
	unsigned int i;
	bool mem;

	lockdep_assert_held(&vdev->lock);

	mem = vfg_msi_lock(vdev, msix);
	for (i = 0; i < vdev->num_ctx; i++)
		vfg_msi_vector_release(vdev, i);
	pci_free_irq_vectors(vdev->pdev);
	vfg_msi_unlock(vdev, mem);

	kfree(vdev->ctx);
	vdev->ctx = NULL;
	vdev->num_ctx = 0;
	vdev->irq_type = VFG_IRQ_NONE;
}

/*
 * Set the triggers of vectors [start, end) from @fds (-1: none).  Every fd
 * is resolved first, so a bad one changes nothing.  If starting a vector
 * fails after that (request_irq(), memory), every vector of the range is
 * left without a trigger and the error is returned.
 */
static int vfg_msi_set_block(struct vfg_pci_device *vdev, unsigned int start,
			     unsigned int count, const s32 *fds)
{
	bool msix = vdev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX;
	struct eventfd_ctx **triggers;
	unsigned int i;
	int ret = 0;
	bool mem;

	lockdep_assert_held(&vdev->lock);

	triggers = kcalloc(count, sizeof(*triggers), GFP_KERNEL);
	if (!triggers)
		return -ENOMEM;

	for (i = 0; i < count; i++) {
		if (fds[i] < 0)
			continue;
		triggers[i] = eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(triggers[i])) {
			ret = PTR_ERR(triggers[i]);
			triggers[i] = NULL;
			goto out_put;
		}
	}

	mem = vfg_msi_lock(vdev, msix);
	for (i = 0; i < count; i++) {
		vfg_msi_vector_release(vdev, start + i);
		if (!triggers[i])
			continue;
		ret = vfg_msi_vector_attach(vdev, start + i, triggers[i]);
		if (ret)
			break;
		triggers[i] = NULL;
	}
	if (ret) {
		for (i = 0; i < count; i++)
			vfg_msi_vector_release(vdev, start + i);
	}
	vfg_msi_unlock(vdev, mem);

out_put:
	for (i = 0; i < count; i++) {
		if (triggers[i])
			eventfd_ctx_put(triggers[i]);
	}
	kfree(triggers);
	return ret;
}

static int vfg_msi_set_irqs_trigger(struct vfg_pci_device *vdev,
				    const struct vfio_irq_set *hdr,
				    const u8 *data)
{
	bool enabled = vdev->irq_type == (int)hdr->index;
	unsigned int end = hdr->start + hdr->count;	/* checked by caller */
	unsigned int i;
	int ret;

	if (!hdr->count) {
		if (enabled)
			vfg_msi_disable(vdev);
		else if (vdev->irq_type != VFG_IRQ_NONE)
			return -EINVAL;
		return 0;
	}

	if (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		if (enabled) {
			/* No resizing: disable, then enable with more. */
			if (end > vdev->num_ctx)
				return -EINVAL;
			return vfg_msi_set_block(vdev, hdr->start, hdr->count,
						 (const s32 *)data);
		}

		ret = vfg_msi_enable(vdev, hdr->index, end);
		if (ret)
			return ret;
		ret = vfg_msi_set_block(vdev, hdr->start, hdr->count,
					(const s32 *)data);
		if (ret)
			vfg_msi_disable(vdev);
		return ret;
	}

	/* Loopback. */
	if (!enabled || end > vdev->num_ctx)
		return -EINVAL;
	for (i = hdr->start; i < end; i++) {
		if (vdev->ctx[i].trigger &&
		    vfg_irq_data_true(hdr, data, i - hdr->start))
			eventfd_signal(vdev->ctx[i].trigger, 1);
	}
	return 0;
}

/*
 * ERR and REQ
 */

/* Install @trigger (may be NULL) in @slot and put the old one. */
static void vfg_trigger_replace(struct vfg_pci_device *vdev,
				struct eventfd_ctx __rcu **slot,
				struct eventfd_ctx *trigger)
{
	struct eventfd_ctx *old;

	lockdep_assert_held(&vdev->lock);

	old = rcu_replace_pointer(*slot, trigger, lockdep_is_held(&vdev->lock));
	if (old) {
		/* vfg_pci_signal_{err,req}() may still be using it. */
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
}

static int vfg_ctx_set_irqs_trigger(struct vfg_pci_device *vdev,
				    const struct vfio_irq_set *hdr,
				    const u8 *data)
{
	struct eventfd_ctx __rcu **slot;
	struct eventfd_ctx *trigger;
	s32 fd;

	slot = hdr->index == VFIO_PCI_ERR_IRQ_INDEX ? &vdev->err_trigger :
						      &vdev->req_trigger;

	if (!hdr->count) {
		vfg_trigger_replace(vdev, slot, NULL);
		return 0;
	}

	if (hdr->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		fd = *(const s32 *)data;
		trigger = NULL;
		if (fd >= 0) {
			trigger = eventfd_ctx_fdget(fd);
			if (IS_ERR(trigger))
				return PTR_ERR(trigger);
		}
		vfg_trigger_replace(vdev, slot, trigger);
		return 0;
	}

	/* Loopback. */
	trigger = rcu_dereference_protected(*slot,
					    lockdep_is_held(&vdev->lock));
	if (trigger && vfg_irq_data_true(hdr, data, 0))
		eventfd_signal(trigger, 1);
	return 0;
}

static int vfg_set_irqs_locked(struct vfg_pci_device *vdev,
			       const struct vfio_irq_set *hdr, const u8 *data)
{
	u32 action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	lockdep_assert_held(&vdev->lock);

	switch (hdr->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return vfg_intx_set_irqs_trigger(vdev, hdr, data);
		return vfg_intx_set_irqs_mask(vdev, hdr, data,
					      action == VFIO_IRQ_SET_ACTION_MASK);
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -ENOTTY;
		return vfg_msi_set_irqs_trigger(vdev, hdr, data);
	case VFIO_PCI_ERR_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -ENOTTY;
		return vfg_ctx_set_irqs_trigger(vdev, hdr, data);
	}
	return -EINVAL;
}

/*
 * ioctls
 */

/**
 * vfg_pci_irq_count() - number of interrupts of one index
 * @vdev: the device
 * @index: a VFIO_PCI_*_IRQ_INDEX
 *
 * INTx: 1 if the device has an interrupt pin routed to an IRQ.  MSI: the
 * vectors the capability advertises.  MSI-X: the table size.  ERR: 1 on PCI
 * Express.  REQ: always 1.  Reads the device's own capabilities, not the
 * virtual config space.
 *
 * Context: process context; no lock needed.
 * Return: the count; 0 for an index the device lacks or an unknown index.
 */
int vfg_pci_irq_count(struct vfg_pci_device *vdev, unsigned int index)
{
	struct pci_dev *pdev = vdev->pdev;
	u16 flags;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return pdev->pin && vfg_intx_irq_valid(pdev) ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!vdev->msi_cap)
			return 0;
		pci_read_config_word(pdev, vdev->msi_cap + PCI_MSI_FLAGS,
				     &flags);
		return 1 << min_t(u16, (flags & PCI_MSI_FLAGS_QMASK) >> 1,
				  VFG_MSI_MMC_MAX);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (!vdev->msix_cap)
			return 0;
		pci_read_config_word(pdev, vdev->msix_cap + PCI_MSIX_FLAGS,
				     &flags);
		return (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return pci_is_pcie(pdev) ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	}
	return 0;
}

/**
 * vfg_pci_get_irq_info() - VFIO_DEVICE_GET_IRQ_INFO
 * @vdev: the device
 * @arg: struct vfio_irq_info in userspace
 *
 * Every index signals through an eventfd.  INTx is also maskable and
 * automasked; every other index is NORESIZE, as upstream reports it (for
 * MSI and MSI-X: not resizable while enabled; ERR and REQ have one).
 * As upstream, the ERR index of a device that is not PCI Express does not
 * exist (-EINVAL) rather than having a count of 0.
 *
 * Context: process context; no lock needed.
 * Return: 0; -EFAULT; -EINVAL for a short argsz or an index that does not
 * exist.
 */
long vfg_pci_get_irq_info(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !pci_is_pcie(vdev->pdev))
		return -EINVAL;

	info.flags = VFIO_IRQ_INFO_EVENTFD;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	info.count = vfg_pci_irq_count(vdev, info.index);

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/**
 * vfg_pci_set_irqs() - VFIO_DEVICE_SET_IRQS
 * @vdev: the device
 * @arg: struct vfio_irq_set in userspace, followed by its data
 *
 * Validates the header (argsz, exactly one DATA and one ACTION flag and no
 * other, index, the range [start, start + count) within the index's count,
 * argsz covering count elements of data), copies the data, then acts under
 * vdev->lock.  count 0 is only valid with DATA_NONE|ACTION_TRIGGER, which
 * disables the index (a no-op if it is not enabled).  An eventfd of -1 (any
 * negative value) de-assigns.
 *
 * Context: process context; takes vdev->lock, so the caller must not hold it.
 * Return: 0; a positive count of MSI/MSI-X vectors the platform can provide
 * when fewer than requested could be allocated (upstream's ABI, on which
 * QEMU relies to retry); or -errno: -EINVAL for a malformed request or one
 * that conflicts with the enabled index, -ENOTTY for masking MSI, MSI-X,
 * ERR or REQ, -EBADF for an fd that is not open (-EINVAL if not an eventfd),
 * -ENODEV once the device has been revoked, -EFAULT, -ENOMEM, or the error
 * of request_irq() or of vector allocation.
 */
long vfg_pci_set_irqs(struct vfg_pci_device *vdev, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t elem, data_size;
	u32 data_type, action;
	u8 *data = NULL;
	u32 end;
	long ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;

	data_type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK |
			  VFIO_IRQ_SET_ACTION_TYPE_MASK))
		return -EINVAL;
	if (hweight32(data_type) != 1 || hweight32(action) != 1)
		return -EINVAL;
	if (hdr.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;

	/* [start, end) inside the index; count 0 only to disable. */
	if (check_add_overflow(hdr.start, hdr.count, &end) ||
	    end > vfg_pci_irq_count(vdev, hdr.index))
		return -EINVAL;
	if (!hdr.count && (data_type != VFIO_IRQ_SET_DATA_NONE ||
			   action != VFIO_IRQ_SET_ACTION_TRIGGER))
		return -EINVAL;

	switch (data_type) {
	case VFIO_IRQ_SET_DATA_BOOL:
		elem = sizeof(u8);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		elem = sizeof(s32);
		break;
	default:
		elem = 0;
		break;
	}
	/* count <= end <= 2048 here: no overflow. */
	data_size = (size_t)hdr.count * elem;
	if (hdr.argsz - minsz < data_size)
		return -EINVAL;
	if (data_size) {
		data = memdup_user((u8 __user *)arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	mutex_lock(&vdev->lock);
	/*
	 * The ioctl's unlocked check of revoked can race with revocation,
	 * which disables everything under this lock: enable nothing after.
	 */
	if (vdev->revoked)
		ret = -ENODEV;
	else
		ret = vfg_set_irqs_locked(vdev, &hdr, data);
	mutex_unlock(&vdev->lock);

	kfree(data);
	return ret;
}

/**
 * vfg_pci_irq_disable_all() - disable every interrupt and drop every eventfd
 * @vdev: the device
 *
 * Disables INTx, MSI or MSI-X, whichever is enabled, drops the INTx unmask
 * eventfd and the ERR and REQ eventfds.  Used at last close, before a reset
 * and on revoke.  Afterwards irq_type is -1 and no handler of ours is
 * running for this device.
 *
 * Context: process context; vdev->lock held.  Sleeps (free_irq(),
 * synchronize_rcu()).
 */
void vfg_pci_irq_disable_all(struct vfg_pci_device *vdev)
{
	lockdep_assert_held(&vdev->lock);

	switch (vdev->irq_type) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		vfg_intx_disable(vdev);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		vfg_msi_disable(vdev);
		break;
	}

	/* Normally gone with INTx; this also waits for a pending shutdown. */
	vfg_virqfd_disable(&vdev->intx_unmask, &vdev->irqlock);

	vfg_trigger_replace(vdev, &vdev->err_trigger, NULL);
	vfg_trigger_replace(vdev, &vdev->req_trigger, NULL);
}

static void vfg_pci_signal(struct eventfd_ctx __rcu **slot)
{
	struct eventfd_ctx *trigger;

	rcu_read_lock();
	trigger = rcu_dereference(*slot);
	if (trigger)
		eventfd_signal(trigger, 1);
	rcu_read_unlock();
}

/**
 * vfg_pci_signal_req() - ask userspace to release the device
 * @vdev: the device
 *
 * Signals the REQ eventfd, if userspace set one.  Does not take vdev->lock,
 * so remove() may call it while an ioctl holds that lock.
 *
 * Context: any context that may take a spinlock with interrupts off, but not
 * from an eventfd wakeup callback.
 */
void vfg_pci_signal_req(struct vfg_pci_device *vdev)
{
	vfg_pci_signal(&vdev->req_trigger);
}

/**
 * vfg_pci_signal_err() - tell userspace of an uncorrectable device error
 * @vdev: the device
 *
 * Signals the ERR eventfd, if userspace set one.  Does not take vdev->lock.
 *
 * Context: as vfg_pci_signal_req().
 */
void vfg_pci_signal_err(struct vfg_pci_device *vdev)
{
	vfg_pci_signal(&vdev->err_trigger);
}
