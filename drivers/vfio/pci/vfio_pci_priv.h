/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-groups PCI driver internals.
 *
 * One struct vfg_pci_device per device bound to the driver (probe to the
 * last reference).  It embeds the bus-agnostic struct vfg_device, whose core
 * (device.c) decides everything about its life: the first open calls our
 * open_device (enable the device), the last close our close_device (reset it
 * and return it to the state it was bound in), a removal that times out our
 * revoke; the structure is freed from our release callback when the core's
 * last reference goes.
 *
 * Locks, outermost first:
 *   core.open_lock   (device.c) held by the core across open_device,
 *                    close_device and revoke; we take it around resets and
 *                    power state changes with vfg_device_lock_live()
 *   vdev->lock       config space, BAR maps, interrupt setup, @revoked;
 *                    never held while touching user memory, resetting or
 *                    changing the power state: a config write that asks for
 *                    a reset (FLR) or a power state drops it first, takes
 *                    open_lock and memory_lock as VFIO_DEVICE_RESET does,
 *                    and takes it again for the rest of the write (config.c)
 *   VGA arbiter      a VGA region access owns its legacy resource
 *                    (vga_get()) around memory_lock (vga.c)
 *   vdev->memory_lock (rwsem) the gate to the BARs: every BAR and ROM
 *                    access (pread/pwrite, and page faults, which take it
 *                    under mmap_lock) holds it for reading and checks that
 *                    the device decodes the BAR; whoever changes that holds
 *                    it for writing: command register writes, resets (core
 *                    open_lock -> memory_lock), the revoke, and every MSI
 *                    and MSI-X vector setup and teardown (vdev->lock ->
 *                    memory_lock: a reset's state restore walks the MSI
 *                    descriptors, and the MSI-X setup may turn memory
 *                    decoding on briefly).  It also
 *                    guards the low power state (power.c), which the
 *                    runtime resume callback changes: nothing waits for a
 *                    resume of the device with it held.  Taken under it:
 *                    irqlock, the mm's i_mmap lock (zapping), the wakeup
 *                    eventfd's wait queue lock, and the IRQ core's and
 *                    irqbypass's locks (vector setup); user memory is never
 *                    touched under it
 *   vdev->irqlock    (spinlock) INTx mask state, taken from hard IRQ context
 *                    and under an eventfd's wait queue lock (intr.c)
 */
#ifndef VFG_PCI_PRIV_H
#define VFG_PCI_PRIV_H

#include <linux/completion.h>
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/irqbypass.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/uuid.h>
#include <linux/workqueue.h>
#include <uapi/linux/vfio.h>

#include "../vfio.h"

/* Region offsets in the device fd: index << 40, as DPDK hard-codes. */
#define VFG_PCI_OFFSET_SHIFT	40
#define VFG_PCI_INDEX(off)	((off) >> VFG_PCI_OFFSET_SHIFT)
#define VFG_PCI_OFFSET(index)	((u64)(index) << VFG_PCI_OFFSET_SHIFT)
#define VFG_PCI_OFFSET_MASK	(VFG_PCI_OFFSET(1) - 1)

/* pread/pwrite of up to this many bytes bounce through the stack. */
#define VFG_PCI_SMALL_IO	64

/**
 * struct vfg_virqfd - an eventfd that calls back when userspace signals it
 * @eventfd: the eventfd
 * @wait: our entry on its wait queue
 * @pt: poll table used to get on the wait queue
 * @shutdown: work that unhooks and frees this, when the eventfd closes or
 *            the owner replaces it
 * @handler: called (in atomic context) each time the eventfd is signalled
 * @data: passed to @handler
 * @slot: the owner's pointer to this, cleared on shutdown under @lock
 * @lock: the owner's spinlock protecting @slot
 */
struct vfg_virqfd {
	struct eventfd_ctx *eventfd;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct shutdown;
	void (*handler)(void *data);
	void *data;
	struct vfg_virqfd **slot;
	spinlock_t *lock;		/* the owner's, guarding @slot */
};

/**
 * struct vfg_pci_irq_ctx - one interrupt vector given to userspace
 * @trigger: eventfd signalled when the vector fires, or NULL
 * @irq: Linux IRQ number while requested, else 0
 * @name: name given to request_irq()
 * @producer: MSI/MSI-X: the vector as an irq-bypass producer (intr.c)
 * @bypass: @producer is registered
 */
struct vfg_pci_irq_ctx {
	struct eventfd_ctx *trigger;
	int irq;
	char *name;
	struct irq_bypass_producer producer;
	bool bypass;
};

/**
 * struct vfg_pci_device - a PCI device bound to our driver
 * @core: the bus-agnostic device (device.c)
 * @pdev: the device
 * @lock: protects everything below but the IRQ fields noted
 * @memory_lock: see above
 * @revoked: access was taken away at removal: our paths fail with -ENODEV
 *           (set under @lock and @memory_lock)
 * @decodes: PCI_COMMAND_MEMORY and PCI_COMMAND_IO as the device's command
 *           register had them when @memory_lock was last released from
 *           writing (vfg_pci_memory_write_unlock()); read under it
 * @reset_works: a function reset method exists
 * @idle_d3: runtime PM may put the device in D3hot while no fd has it open
 *           (vfio-pci's disable_idle_d3 when it was bound)
 * @pm_engaged: a low power entry holds the open's runtime PM usage count
 *              (power.c); changed under @memory_lock held for writing,
 *              tested (the fault handler, BAR accesses) with it held for
 *              reading; set with @lock held too, under which config
 *              accesses test it
 * @pm_wake: the entry's wakeup eventfd, or NULL; as @pm_engaged
 * @claim_lock: serialises writers of @claimed and @barmap; a leaf, taken
 *              under @lock, memory_lock and mmap_lock (rdwr.c)
 * @claimed: BARs requested from the PCI core since the first open, by
 *           their first use (rdwr.c); bits are set under @claim_lock
 *           (release) and may be tested without it (acquire), since they
 *           are cleared only when no access can run: at the last close or
 *           after a revoke
 * @saved_state: config state as the device was bound, restored at last close
 * @vconfig: virtual config space image (see config.c)
 * @vconfig_virt: per byte, the bits read from @vconfig instead of the device
 * @vconfig_wr: per byte, the bits userspace may write to @vconfig
 * @cfg_size: config space size (256 or 4096)
 * @bar_size: size of each BAR and of the ROM (index 6)
 * @barmap: ioremapped BARs, mapped on first use; as @claimed, published
 *          under @claim_lock and read without it under memory_lock
 * @bar_mmap: BARs userspace may mmap, decided at open (rdwr.c); read
 *            without a lock
 * @bar_pad: for a mappable sub-page BAR, the reservation of the rest of its
 *           page, from open to the last close or revoke; under @lock
 * @ioeventfds: VFIO_DEVICE_IOEVENTFD writes (ioeventfd.c); under @lock
 * @num_ioeventfds: entries on @ioeventfds; under @lock
 * @msix_bar: BAR holding the MSI-X table, or -1
 * @msix_offset: offset of the table in that BAR
 * @msix_size: size of the table in bytes
 * @msi_cap: offset of the MSI capability, or 0
 * @msix_cap: offset of the MSI-X capability, or 0
 * @pm_cap: offset of the power management capability, or 0
 * @exp_cap: offset of the PCI Express capability, or 0
 * @af_cap: offset of the Advanced Features capability, or 0
 * @vpd_cap: offset of the VPD capability, or 0
 * @aer_cap: offset of the AER extended capability, or 0
 * @cfg_action: VFG_CFG_* work a config write asked for, under @lock; the
 *              writer takes it and does it once it has dropped @lock
 *              (config.c)
 * @cfg_power: the power state asked for with VFG_CFG_POWER, under @lock
 * @rbar: the device's real BARs and ROM BAR at open, put back when a reset
 *        the kernel did not see cleared them; constant while open
 * @user_cmd: the command register bits userspace wrote through (memory,
 *            I/O, bus master...), under @memory_lock
 * @needs_pm_restore: D3hot -> D0 resets the device (No_Soft_Reset clear);
 *                    set at open
 * @pm_save: config state saved on the way to D3hot, for D0; under
 *           @memory_lock for writing (and the core's open_lock)
 * @irq_type: VFIO_PCI_{INTX,MSI,MSIX}_IRQ_INDEX in use, or -1 for none
 * @ctx: vectors, @num_ctx of them (INTx uses one)
 * @num_ctx: number of entries in @ctx
 * @irqlock: protects @intx_masked, @intx_virq_disabled and @intx_unmask;
 *           taken in IRQ context
 * @intx_masked: INTx is masked (by the handler or by userspace)
 * @intx_virq_disabled: the virtual INTx disable bit of the command register
 *                      is set: INTx stays masked, whatever unmasks it
 * @intx_unmask: eventfd that unmasks INTx when signalled
 * @intx_rearm: work that finishes an unmask from the eventfd in process
 *              context (intr.c); cancelled before INTx goes
 * @err_trigger: eventfd for the ERR index; RCU: read under rcu_read_lock(),
 *               replaced under @lock, put after synchronize_rcu()
 * @req_trigger: eventfd for the REQ index; as @err_trigger
 * @sriov_node: a PF we enabled SR-IOV on: in the list of those (sriov.c);
 *              these four fields are under vfg_pci_sriov_lock, see there
 * @vf_token: a PF's VF token (a function with the SR-IOV capability)
 * @vf_users: a PF's VFs opened by userspace
 * @vf_user: a VF counted in its PF's @vf_users
 * @sriov_pf: a VF's PF if that is bound here and created it, else NULL;
 *            set at probe, stable while the VF is bound (sriov.c)
 * @vga: the device has a VGA region (VGA-class, disable_vga off); set at
 *       probe, stable while bound (vga.c)
 */
struct vfg_pci_device {
	struct vfg_device core;
	struct pci_dev *pdev;

	struct rw_semaphore memory_lock;	/* see above */
	struct mutex lock;		/* see above */
	bool revoked;
	u16 decodes;
	bool reset_works;
	bool idle_d3;
	bool pm_engaged;		/* under memory_lock */
	struct eventfd_ctx *pm_wake;	/* under memory_lock */
	struct mutex claim_lock;	/* see above */
	u32 claimed;
	struct pci_saved_state *saved_state;

	u8 *vconfig;
	u8 *vconfig_virt;
	u8 *vconfig_wr;
	int cfg_size;
	resource_size_t bar_size[PCI_ROM_RESOURCE + 1];
	void __iomem *barmap[PCI_STD_NUM_BARS];
	u8 bar_mmap;
	struct resource *bar_pad[PCI_STD_NUM_BARS];
	struct list_head ioeventfds;
	unsigned int num_ioeventfds;
	int msix_bar;
	u32 msix_offset;
	u32 msix_size;
	u8 msi_cap;
	u8 msix_cap;
	u8 pm_cap;
	u8 exp_cap;
	u8 af_cap;
	u8 vpd_cap;
	u16 aer_cap;
	unsigned int cfg_action;
	pci_power_t cfg_power;
	u32 rbar[PCI_STD_NUM_BARS + 1];
	u16 user_cmd;
	bool needs_pm_restore;
	struct pci_saved_state *pm_save;

	int irq_type;
	struct vfg_pci_irq_ctx *ctx;
	int num_ctx;
	spinlock_t irqlock;		/* see above */
	bool intx_masked;
	bool intx_virq_disabled;
	struct vfg_virqfd *intx_unmask;
	struct work_struct intx_rearm;
	struct eventfd_ctx __rcu *err_trigger;
	struct eventfd_ctx __rcu *req_trigger;

	struct list_head sriov_node;
	uuid_t vf_token;
	unsigned int vf_users;
	bool vf_user;
	struct vfg_pci_device *sriov_pf;
	bool vga;
};

/*
 * The end of the MSI-X table in its BAR.  Offset and size are both u32, from
 * the device: add them in 64 bits, or a table near 4 GiB wraps to 0.
 */
static inline u64 vfg_pci_msix_end(struct vfg_pci_device *vdev)
{
	return (u64)vdev->msix_offset + vdev->msix_size;
}

static inline struct vfg_pci_device *to_vfg_pci(struct vfg_device *core)
{
	return container_of(core, struct vfg_pci_device, core);
}

/* vfio_pci.c */
extern bool vfg_pci_nointxmask;
extern bool vfg_pci_disable_vga;
const char *vfg_pci_driver_name(void);
int vfg_pci_function_reset(struct vfg_pci_device *vdev);

/* config.c: what a config write leaves for after vdev->lock (cfg_action) */
#define VFG_CFG_FLR	BIT(0)
#define VFG_CFG_POWER	BIT(1)

int vfg_pci_config_init(struct vfg_pci_device *vdev);
void vfg_pci_config_free(struct vfg_pci_device *vdev);
void vfg_pci_config_restore(struct vfg_pci_device *vdev);
int vfg_pci_set_power_state(struct vfg_pci_device *vdev, pci_power_t state);
ssize_t vfg_pci_config_rw(struct vfg_pci_device *vdev, char __user *buf,
			  size_t count, loff_t pos, bool write, bool awake);

/*
 * What vfg_pci_config_rw() and vfg_pci_bar_rw() return when called without
 * a runtime PM usage count of their own (@awake false) and they find a low
 * power entry engaged: the caller takes one, waking the device, and calls
 * again.  Only vfg_pci_rw() sees it.
 */
#define VFG_PCI_ASLEEP	(-EAGAIN)

/* rdwr.c */
void vfg_pci_memory_write_unlock(struct vfg_pci_device *vdev);
bool vfg_pci_bar_decoded(struct vfg_pci_device *vdev, int bar);
void vfg_pci_io_rw(void __iomem *io, u64 off, u8 *tmp, size_t n, bool write,
		   u64 hole, u64 hole_end);
ssize_t vfg_pci_bar_rw(struct vfg_pci_device *vdev, int bar,
		       char __user *buf, size_t count, loff_t pos, bool write,
		       bool awake);
ssize_t vfg_pci_rom_read(struct vfg_pci_device *vdev, char __user *buf,
			 size_t count, loff_t pos);
int vfg_pci_mmap(struct vfg_pci_device *vdev, struct vm_area_struct *vma);
void __iomem *vfg_pci_bar_setup(struct vfg_pci_device *vdev, int bar);
void vfg_pci_unmap_bars(struct vfg_pci_device *vdev);
void vfg_pci_mmap_setup(struct vfg_pci_device *vdev);
void vfg_pci_mmap_release(struct vfg_pci_device *vdev);
bool vfg_pci_bar_mmappable(struct vfg_pci_device *vdev, unsigned int bar);
void vfg_pci_release_bars(struct vfg_pci_device *vdev);

/* intr.c */
long vfg_pci_get_irq_info(struct vfg_pci_device *vdev, void __user *arg);
long vfg_pci_set_irqs(struct vfg_pci_device *vdev, void __user *arg);
int vfg_pci_irq_count(struct vfg_pci_device *vdev, unsigned int index);
void vfg_pci_irq_disable_all(struct vfg_pci_device *vdev);
void vfg_pci_signal_req(struct vfg_pci_device *vdev);
void vfg_pci_signal_err(struct vfg_pci_device *vdev);
void vfg_pci_intx_command_written(struct vfg_pci_device *vdev);
void vfg_pci_intx_init(struct vfg_pci_device *vdev);

/* ioeventfd.c */
long vfg_pci_ioeventfd(struct vfg_pci_device *vdev, void __user *arg);
void vfg_pci_ioeventfd_release_all(struct vfg_pci_device *vdev);

/* sriov.c */
int vfg_pci_sriov_probe(struct vfg_pci_device *vdev);
int vfg_pci_sriov_configure(struct pci_dev *pdev, int nr_virtfn);
void vfg_pci_sriov_disable(struct vfg_pci_device *vdev);
void vfg_pci_sriov_open(struct vfg_pci_device *vdev);
void vfg_pci_sriov_close(struct vfg_pci_device *vdev);
int vfg_pci_match(struct vfg_device *core, const char *buf);
int vfg_pci_feature_vf_token(struct vfg_pci_device *vdev, u32 flags,
			     void __user *arg, size_t argsz);
int vfg_pci_sriov_init(void);
void vfg_pci_sriov_exit(void);

/* power.c */
extern const struct dev_pm_ops vfg_pci_pm_ops;
void vfg_pci_pm_init(struct vfg_pci_device *vdev);
void vfg_pci_pm_exit(struct vfg_pci_device *vdev);
int vfg_pci_pm_get(struct vfg_pci_device *vdev);
void vfg_pci_pm_put(struct vfg_pci_device *vdev);
void vfg_pci_pm_close(struct vfg_pci_device *vdev);
int vfg_pci_feature_low_power(struct vfg_pci_device *vdev, u32 flags,
			      void __user *arg, size_t argsz);

/* vga.c */
int vfg_pci_vga_probe(struct vfg_pci_device *vdev);
void vfg_pci_vga_remove(struct vfg_pci_device *vdev);
int vfg_pci_vga_region_info(struct vfg_pci_device *vdev, u64 *size,
			    u32 *flags);
ssize_t vfg_pci_vga_rw(struct vfg_pci_device *vdev, char __user *buf,
		       size_t count, loff_t pos, bool write);

/* virqfd.c */
int vfg_virqfd_enable(struct vfg_virqfd **slot, spinlock_t *lock, int fd,
		      void (*handler)(void *data), void *data);
void vfg_virqfd_disable(struct vfg_virqfd **slot, spinlock_t *lock);
int vfg_virqfd_init(void);
void vfg_virqfd_exit(void);

#endif /* VFG_PCI_PRIV_H */
