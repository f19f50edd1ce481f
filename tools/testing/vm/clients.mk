# SPDX-License-Identifier: GPL-2.0
#
# The "clients" guest image, build/vm/initramfs-clients.cpio: the default
# image plus unmodified VFIO clients from Debian, QEMU and DPDK's testpmd,
# each with every library ldd reports and the data files it loads, at their
# host paths; and clients_test, which drives them.  The default image stays
# as it is.  Included by the top-level Makefile; "make check" boots this
# image for its clients suite (tools/testing/run-checks.sh).

CLIENTS_INITRD := $(BUILD)/vm/initramfs-clients.cpio
CLIENTS_TESTS := $(BUILD)/clients-tests

# Recursive (=): expanded in the recipe, once deps has installed dpdk.
DPDK_PMDS = $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/dpdk/pmds-*))
DPDK_SO = $(patsubst pmds-%,%,$(notdir $(DPDK_PMDS)))

# QEMU finds its firmware and TCG accelerator relative to its binary
# (/usr/bin/../share/seabios, ../lib/x86_64-linux-gnu/qemu).  testpmd loads
# every .so in its PMD directory at start, so only the PMDs it needs go in:
# the e1000 family (net_e1000_em drives the e1000e) and the ring mempool.
CLIENTS_OPTS = \
	--with-binary /usr/bin/qemu-system-x86_64 \
	--with-binary /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so \
	--with-tree /usr/share/seabios \
	--with-tree /usr/share/qemu/kvmvapic.bin \
	--with-binary /usr/bin/dpdk-testpmd \
	--with-binary $(DPDK_PMDS)/librte_net_e1000.so.$(DPDK_SO) \
	--with-binary $(DPDK_PMDS)/librte_mempool_ring.so.$(DPDK_SO) \
	--with-tree $(CLIENTS_TESTS)/clients_test:/opt/vfg/tests/clients_test

initramfs-clients: modules test-modules tools
	$(MAKE) -C tools/testing/selftests/vfio KSRC=$(KSRC) O=$(CLIENTS_TESTS) \
		LIBVFG_O=$(BUILD)/tools/lib/vfiogroup clients
	@mkdir -p $(BUILD)/vm
	python3 tools/testing/vm/mkinitramfs.py --kimg $(KIMG) --kver $(KVER) \
		--module $(MODULE) --tests $(BUILD)/tests --bin $(BUILD)/guest-bin \
		$(TEST_MODULE_KOS:%=--test-module %) $(CLIENTS_OPTS) \
		-o $(CLIENTS_INITRD)

.PHONY: initramfs-clients
