# SPDX-License-Identifier: GPL-2.0
#
# vfio-groups top-level Makefile.
#
#   make              module, library, tools, selftests, guest image
#   make check        everything, then host and guest tests; last line is
#                     "N passed, N failed"
#   make run          boot the guest and show the driver at work
#   make bench        benchmarks
#   make KDIR=...     build against another kernel tree (default: Debian's
#                     installed 6.1 headers); VM_KERNEL= boots another image

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD ?= $(TOP)/build
export VFG_CACHE ?= /var/cache/vfio-groups

# Resolved after scripts/deps.sh has run (deps is a prerequisite of every
# target that needs them), so a fresh machine gets its packages first.
DEPS_VARS = $(BUILD)/deps.mk
KVER ?= $(shell sed -n 's/^KVER := //p' $(DEPS_VARS) 2>/dev/null)
KDIR ?= $(shell sed -n 's/^KDIR := //p' $(DEPS_VARS) 2>/dev/null)
KIMG ?= $(shell sed -n 's/^KIMG := //p' $(DEPS_VARS) 2>/dev/null)
KSRC ?= $(shell sed -n 's/^KSRC := //p' $(DEPS_VARS) 2>/dev/null)
VM_KERNEL ?= $(KIMG)/boot/vmlinuz-$(KVER)
INITRD := $(BUILD)/vm/initramfs.cpio
MODULE := drivers/vfio/vfio.ko

VMRUN = python3 tools/testing/vm/vmrun.py --kernel $(VM_KERNEL) --initrd $(INITRD)

all: modules tools initramfs

deps:
	@mkdir -p $(BUILD)
	@scripts/deps.sh --print >$(DEPS_VARS).tmp && mv $(DEPS_VARS).tmp $(DEPS_VARS)

modules: deps
	$(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio modules

tools: deps
	$(MAKE) -C tools/lib/vfiogroup O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C tools/vfio-group O=$(BUILD)/tools/vfio-group \
		GUEST_BIN=$(BUILD)/guest-bin LIBVFG_O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C tools/testing/selftests/vfio KSRC=$(KSRC) O=$(BUILD)/tests \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C samples/vfio-groups O=$(BUILD)/guest-bin
	$(MAKE) -C tools/testing/bench KSRC=$(KSRC) O=$(BUILD)/guest-bin \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup

initramfs: modules tools
	@mkdir -p $(BUILD)/vm
	python3 tools/testing/vm/mkinitramfs.py --kimg $(KIMG) --kver $(KVER) \
		--module $(MODULE) --tests $(BUILD)/tests --bin $(BUILD)/guest-bin \
		-o $(INITRD)

check: all
	@KSRC=$(KSRC) BUILD=$(BUILD) VM_KERNEL=$(VM_KERNEL) INITRD=$(INITRD) \
		tools/testing/run-checks.sh

checkpatch: deps
	@KSRC=$(KSRC) BUILD=$(BUILD) tools/testing/run-checks.sh checkpatch

run: all
	$(VMRUN) --script tools/testing/vm/demo.sh --timeout 300

# Figures, not pass/fail: ours and the kernel's own VFIO on the same guest.
bench: all
	@for iommu in intel amd; do \
		echo "== bench: $$iommu IOMMU"; \
		$(VMRUN) -q --timeout 600 --iommu $$iommu --cmd vfio-bench \
			--cmd 'VFG_USE_KERNEL_VFIO=1 vfio-bench' | grep '^bench:'; \
	done

modules_install: modules
	$(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KVER)

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio clean
	rm -rf $(BUILD)

.PHONY: all deps modules tools initramfs check checkpatch run bench \
	modules_install clean
