# SPDX-License-Identifier: GPL-2.0
#
# vfio-groups top-level Makefile.
#
#   make              module, library, tools, selftests and their helper
#                     module, guest image
#   make check        everything, then host and guest tests; last line is
#                     "N passed, N failed"
#   make run          boot the guest and show the driver at work
#   make initramfs-clients
#                     the guest image with QEMU and DPDK (make check uses it)
#   make bench        benchmarks: ours against the kernel's VFIO (JSON, PNGs)
#   make bench-compare BASE=file.json
#                     a new benchmark run against a saved one
#   make check-debug  the guest tests on a debug kernel (KASAN, lockdep,
#                     kmemleak) built from linux-source-6.1; slow
#   make KDIR=...     build against another kernel tree (default: Debian's
#                     installed 6.1 headers); VM_KERNEL= boots another image
#   make install      module, library, headers, pkg-config file, command,
#                     manual page, bash completion; PREFIX=, DESTDIR=
#   make deb          Debian packages (debian/) in $(BUILD)/deb
#   make deb-check    build them, lintian, install and purge them in a fresh
#                     Debian 12 chroot (slow: tools/testing/deb-test.sh)

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
# The selftests' helper module (vfg_test.c there), built like ours against
# the guest kernel and put in the image at /opt/vfg/test-modules/.
TEST_MODULES := tools/testing/selftests/vfio/modules
TEST_MODULE_KOS := $(TEST_MODULES)/vfg_test.ko $(TEST_MODULES)/vfg_kvm_test.ko \
	$(TEST_MODULES)/vfg_bypass_test.ko

VMRUN = python3 tools/testing/vm/vmrun.py --kernel $(VM_KERNEL) --initrd $(INITRD)

all: modules test-modules tools initramfs

deps:
	@mkdir -p $(BUILD)
	@scripts/deps.sh --print >$(DEPS_VARS).tmp && mv $(DEPS_VARS).tmp $(DEPS_VARS)

modules: deps
	$(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio modules

test-modules: deps
	$(MAKE) -C $(KDIR) M=$(TOP)/$(TEST_MODULES) modules

tools: deps
	$(MAKE) -C tools/lib/vfiogroup O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C tools/vfio-group O=$(BUILD)/tools/vfio-group \
		GUEST_BIN=$(BUILD)/guest-bin LIBVFG_O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C tools/testing/selftests/vfio KSRC=$(KSRC) O=$(BUILD)/tests \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup
	$(MAKE) -C samples/vfio-groups O=$(BUILD)/guest-bin
	$(MAKE) -C tools/testing/bench KSRC=$(KSRC) O=$(BUILD)/guest-bin \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup

initramfs: modules test-modules tools
	@mkdir -p $(BUILD)/vm
	python3 tools/testing/vm/mkinitramfs.py --kimg $(KIMG) --kver $(KVER) \
		--module $(MODULE) --tests $(BUILD)/tests --bin $(BUILD)/guest-bin \
		$(TEST_MODULE_KOS:%=--test-module %) -o $(INITRD)

# initramfs-clients: the guest image with QEMU and DPDK in it.
include tools/testing/vm/clients.mk

check: all initramfs-clients
	@KSRC=$(KSRC) BUILD=$(BUILD) VM_KERNEL=$(VM_KERNEL) INITRD=$(INITRD) \
		CLIENTS_INITRD=$(CLIENTS_INITRD) tools/testing/run-checks.sh

checkpatch: deps
	@KSRC=$(KSRC) BUILD=$(BUILD) tools/testing/run-checks.sh checkpatch

run: all
	$(VMRUN) --script tools/testing/vm/demo.sh --timeout 300

# Figures, not pass/fail: ours and the kernel's own VFIO in one guest per
# IOMMU, in alternating rounds; JSON, tables and PNGs in $(BUILD)/bench/DATE
# (and $(BUILD)/bench/latest).  BENCH_ARGS= passes more to bench.py run, e.g.
# "--rounds 12 --scale 4" for a longer run, "--iommu intel".  See
# Documentation/dev-tools/testing.rst, "Benchmarks".
BENCH = python3 tools/testing/bench/bench.py
bench: all
	@$(BENCH) run --kernel $(VM_KERNEL) --initrd $(INITRD) \
		--out-root $(BUILD)/bench $(BENCH_ARGS)

# make bench-compare BASE=saved.json [NEW=other.json]: a new run (or NEW)
# against BASE; flags figures that moved beyond the noise.
bench-compare:
	@[ -n "$(BASE)" ] || { echo "usage: make bench-compare BASE=file.json [NEW=file.json]" >&2; exit 2; }
	@new="$(NEW)"; \
	if [ -z "$$new" ]; then \
		$(MAKE) --no-print-directory bench || exit 1; \
		new=$(BUILD)/bench/latest/bench.json; \
	fi; \
	$(BENCH) compare "$(BASE)" "$$new" $(COMPARE_ARGS)

# make check-debug: the guest suite again, on a debug kernel (KASAN, lockdep,
# kmemleak, list and object debugging) that scripts/debug-kernel.sh builds from
# linux-source-6.1 into $(VFG_CACHE)/debug-kernel (10-15 minutes the first
# time, nothing after).  Our module is built against that tree in a copy of
# drivers/ and include/ under $(BUILD)/debug, so drivers/vfio/*.ko stay built
# for Debian's kernel; so is the selftests' helper module (vfg_test.ko).
# The guest suite, the tests that need a topology of their own (hot reset,
# SR-IOV, config space, no-IOMMU, VGA, sub-page BARs: run-checks.sh topo),
# then the clients suite (QEMU, DPDK: tools/testing/vm/clients.mk) on an
# image with the debug kernel's modules.
# After the tests each guest unloads VFIO and prints kmemleak's report
# (tools/testing/vm/kmemleak.sh).  Results and logs go to
# $(BUILD)/debug/{results,logs}; the last line is "N passed, N failed".
DEBUG_BUILD := $(BUILD)/debug
DEBUG_VARS = $(DEBUG_BUILD)/kernel.mk
DKVER = $(shell sed -n 's/^DKVER := //p' $(DEBUG_VARS) 2>/dev/null)
DKDIR = $(shell sed -n 's/^DKDIR := //p' $(DEBUG_VARS) 2>/dev/null)
DKIMG = $(shell sed -n 's/^DKIMG := //p' $(DEBUG_VARS) 2>/dev/null)
DKERNEL = $(shell sed -n 's/^DKERNEL := //p' $(DEBUG_VARS) 2>/dev/null)
DEBUG_MOD := $(DEBUG_BUILD)/src/drivers/vfio
DEBUG_TMOD := $(DEBUG_BUILD)/src/test-modules
DEBUG_INITRD := $(DEBUG_BUILD)/vm/initramfs.cpio
DEBUG_CLIENTS_INITRD := $(DEBUG_BUILD)/vm/initramfs-clients.cpio
DEBUG_CONFIGS ?= default:intel default:amd
DEBUG_TIMEOUT ?= 2400
DEBUG_VMRUN_ARGS ?= --mem 2048 --timeout-scale 4 \
	--env VFG_KILL_ROUNDS=5 --env VFG_FUZZ_SECONDS=10 \
	--final-script tools/testing/vm/kmemleak.sh

debug-kernel:
	@mkdir -p $(DEBUG_BUILD)
	@scripts/debug-kernel.sh --print >$(DEBUG_VARS).tmp && \
		mv $(DEBUG_VARS).tmp $(DEBUG_VARS)

check-debug: tools debug-kernel
	@mkdir -p $(DEBUG_BUILD)/src $(DEBUG_BUILD)/vm
	@rsync -a --delete --include='*/' --include='*.[ch]' --include=Kbuild \
		--include=Makefile --exclude='*' drivers include $(DEBUG_BUILD)/src/
	$(MAKE) -C $(DKDIR) M=$(DEBUG_MOD) modules
	@rm -rf $(DEBUG_TMOD) && mkdir -p $(DEBUG_TMOD) && \
		cp $(TEST_MODULES)/*.c $(TEST_MODULES)/*.h $(TEST_MODULES)/Kbuild \
		$(TEST_MODULES)/Makefile $(DEBUG_TMOD)/
	$(MAKE) -C $(DKDIR) M=$(DEBUG_TMOD) modules
	python3 tools/testing/vm/mkinitramfs.py --kimg $(DKIMG) --kver $(DKVER) \
		--module $(DEBUG_MOD)/vfio.ko --tests $(BUILD)/tests \
		--bin $(BUILD)/guest-bin \
		$(TEST_MODULE_KOS:$(TEST_MODULES)/%=--test-module $(DEBUG_TMOD)/%) \
		-o $(DEBUG_INITRD)
	$(MAKE) -C tools/testing/selftests/vfio KSRC=$(KSRC) O=$(CLIENTS_TESTS) \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup clients
	python3 tools/testing/vm/mkinitramfs.py --kimg $(DKIMG) --kver $(DKVER) \
		--module $(DEBUG_MOD)/vfio.ko --tests $(BUILD)/tests \
		--bin $(BUILD)/guest-bin \
		$(TEST_MODULE_KOS:$(TEST_MODULES)/%=--test-module $(DEBUG_TMOD)/%) \
		$(CLIENTS_OPTS) -o $(DEBUG_CLIENTS_INITRD)
	@export KSRC=$(KSRC) BUILD=$(DEBUG_BUILD) VM_KERNEL=$(DKERNEL) \
		INITRD=$(DEBUG_INITRD) CLIENTS_INITRD=$(DEBUG_CLIENTS_INITRD) \
		VFG_GUEST_CONFIGS="$(DEBUG_CONFIGS)" \
		VFG_CLIENTS_CONFIGS="$(DEBUG_CONFIGS)" \
		VFG_GUEST_TIMEOUT=$(DEBUG_TIMEOUT) \
		VFG_VMRUN_ARGS="$(DEBUG_VMRUN_ARGS)"; \
	tools/testing/run-checks.sh guest; \
	tools/testing/run-checks.sh topo; \
	tools/testing/run-checks.sh clients; \
	p=0 f=0 s=0; \
	for r in $(DEBUG_BUILD)/results/*; do \
		[ -f "$$r" ] || continue; read -r a b c <"$$r"; \
		p=$$((p + a)) f=$$((f + b)) s=$$((s + $${c:-0})); \
	done; \
	echo "=== check-debug ($(DKVER)): logs in $(DEBUG_BUILD)/logs"; \
	echo "$$p passed, $$f failed$$([ $$s -eq 0 ] || echo ", $$s skipped")"; \
	[ $$f -eq 0 ] && [ $$p -gt 0 ]

# make install: the module into lib/modules/$(KVER)/extra, a depmod.d file
# that makes it the "vfio" modprobe loads (over the kernel's own), a
# modprobe.d file that sends "modprobe vfio-pci" (and the kernel's other
# VFIO module names) to it, then
# libvfiogroup, its header and pkg-config file, vfio-group, its manual page
# and bash completion below $(PREFIX).  With DESTDIR everything goes below it
# (no root needed) and depmod is left to whoever installs the staged tree.
PREFIX ?= /usr/local
DESTDIR ?=
DEPMODDIR ?= /etc/depmod.d
MODPROBEDIR ?= /etc/modprobe.d
# The distribution's module signing key is not on this machine: without it,
# kbuild's signing step fails (harmlessly, but with SSL errors); skip it.
MODSIGN = $(if $(wildcard $(KDIR)/certs/signing_key.pem),,CONFIG_MODULE_SIG_ALL=)

install: install-module install-tools

install-module: modules
	@rel=$$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' \
		$(KDIR)/include/generated/utsrelease.h 2>/dev/null); \
	if [ "$$rel" != "$(KVER)" ]; then \
		echo "install: KDIR=$(KDIR) builds for '$$rel', not KVER=$(KVER);" \
		     "give KDIR=/lib/modules/$(KVER)/build too" >&2; exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio INSTALL_MOD_DIR=extra \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) DEPMOD=true \
		$(MODSIGN) modules_install
	install -D -m 644 scripts/depmod.d/vfio-groups.conf \
		$(DESTDIR)$(DEPMODDIR)/vfio-groups.conf
	install -D -m 644 scripts/modprobe.d/vfio-groups.conf \
		$(DESTDIR)$(MODPROBEDIR)/vfio-groups.conf
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
else
	@echo "install: DESTDIR is set: run 'depmod -a $(KVER)' where the tree is installed"
endif

install-tools:
	$(MAKE) -C tools/lib/vfiogroup O=$(BUILD)/tools/lib/vfiogroup \
		PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) install
	$(MAKE) -C tools/vfio-group O=$(BUILD)/tools/vfio-group \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup PREFIX=$(PREFIX) \
		DESTDIR=$(DESTDIR) install
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

modules_install: modules
	$(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio INSTALL_MOD_DIR=extra \
		DEPMOD=true $(MODSIGN) modules_install
	install -D -m 644 scripts/depmod.d/vfio-groups.conf \
		$(DEPMODDIR)/vfio-groups.conf
	install -D -m 644 scripts/modprobe.d/vfio-groups.conf \
		$(MODPROBEDIR)/vfio-groups.conf
	depmod -a $(KVER)

# make deb: dpkg-buildpackage on a copy of the tree (what git tracks, and
# new files it does not ignore) in $(DEB_OUT)/vfio-groups, so the packages,
# .buildinfo and .changes land in $(DEB_OUT) and nothing is written beside
# this worktree or in debian/.
DEB_OUT := $(BUILD)/deb

deb:
	@rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/vfio-groups
	@git ls-files -z -co --exclude-standard | \
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | \
		tar -xf - -C $(DEB_OUT)/vfio-groups
	cd $(DEB_OUT)/vfio-groups && dpkg-buildpackage -b -us -uc
	@ls $(DEB_OUT)/*.deb

deb-check:
	@BUILD=$(BUILD) tools/testing/deb-test.sh

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP)/drivers/vfio clean
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP)/$(TEST_MODULES) clean
	rm -rf $(BUILD)

.PHONY: all deps modules test-modules tools initramfs check checkpatch run bench bench-compare \
	check-debug debug-kernel \
	modules_install install install-module install-tools deb deb-check clean
