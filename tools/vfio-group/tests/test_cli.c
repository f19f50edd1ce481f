// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vfio-group command on fake sysfs trees, with the fake kernel making
 * binds take effect: output, exit codes, the safety refusal, records and
 * rollback.  Built into libvfiogroup's Check binary (one summary line for
 * tools/testing/run-checks.sh); vfio_group_main() is the whole program.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-group.h"
#include "fakesys.h"
#include "suites.h"

static char out[65536], errout[65536];

/* Unbind by hand, as an admin would with echo. */
static int vfg_write_file_for_test(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run "vfio-group --root ROOT ARGS..."; its stdout and stderr in out[], errout[]. */
static int run(const char *first, ...)
{
	char *argv[32], tmpl_o[] = "/tmp/cliout.XXXXXX",
	     tmpl_e[] = "/tmp/clierr.XXXXXX";
	int argc = 0, fo, fe, so, se, ret;
	const char *a;
	va_list ap;

	argv[argc++] = "vfio-group";
	argv[argc++] = "--root";
	argv[argc++] = (char *)fakesys_root(guest_fs);
	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	fo = mkstemp(tmpl_o);
	fe = mkstemp(tmpl_e);
	ck_assert_int_ge(fo, 0);
	ck_assert_int_ge(fe, 0);
	unlink(tmpl_o);
	unlink(tmpl_e);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	ret = vfio_group_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, out, sizeof(out));
	slurp(fe, errout, sizeof(errout));
	/* VFG_CLI_SHOW=1: see what the command printed. */
	if (getenv("VFG_CLI_SHOW")) {
		fprintf(stderr, "$ vfio-group");
		for (argc = 3; argv[argc]; argc++)
			fprintf(stderr, " %s", argv[argc]);
		fprintf(stderr, "\n%s%s[exit %d]\n\n", out, errout, ret);
	}
	return ret;
}

#define ASSERT_HAS(buf, s) \
	ck_assert_msg(strstr(buf, s), "\"%s\" not in:\n%s", s, buf)

#define ASSERT_STATE(bdf, drv, ovr) \
	FAKESYS_ASSERT_STATE(guest_fs, bdf, drv, ovr)

START_TEST(test_list)
{
	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 1: viable\n");
	ASSERT_HAS(out, "group 2: not viable\n");
	ASSERT_HAS(out, BRIDGE "  1b36:0001  PCI bridge [0604]");
	ASSERT_HAS(out, "shpchp            Red Hat, Inc. QEMU PCI-PCI bridge  blocks: bound to a driver that does DMA through the kernel DMA API");
	ASSERT_HAS(out, EDU2 "  1234:11e8  Unclassified device [00ff]          " UIO "   Technical Corp.");
	ASSERT_HAS(out, EDU1 "  1234:11e8  Unclassified device [00ff]          -                 Technical Corp. QEMU PCI Test Device\n");
	ASSERT_HAS(out, "next: 'vfio-group explain 2' says why; 'vfio-group bind 2' makes it viable");
	ASSERT_HAS(out, "note: the vfio module is not loaded");
	ck_assert_ptr_null(strstr(out, NOGRP));

	/* One group, named by a member. */
	ck_assert_int_eq(run("list", "1:2.0", NULL), EXIT_OK);
	ck_assert_ptr_null(strstr(out, "group 1"));
	ASSERT_HAS(out, "group 2");
}
END_TEST

/* Names from pci.ids as lspci prints them; numeric ones without it. */
START_TEST(test_list_names)
{
	char p[4096];

	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	ASSERT_HAS(out, BRIDGE "  1b36:0001  PCI bridge [0604]                   shpchp            Red Hat, Inc. QEMU PCI-PCI bridge  blocks:");
	ASSERT_HAS(out, EDU1 "  1234:11e8  Unclassified device [00ff]          -                 Technical Corp. QEMU PCI Test Device\n");
	ck_assert_int_eq(run("--json", "list", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"class_name\":\"Unclassified device [00ff]\",\"vendor_name\":\"Technical Corp.\",\"device_name\":\"QEMU PCI Test Device\",\"name\":\"Technical Corp. QEMU PCI Test Device\"");
	snprintf(p, sizeof(p), "%s/usr/share/misc/pci.ids",
		 fakesys_root(guest_fs));
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(run("list", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, BRIDGE "  1b36:0001  Class 0604                          shpchp            Device 1b36:0001  blocks:");
	ck_assert_int_eq(run("--json", "explain", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"class_name\":null,\"vendor_name\":null,\"device_name\":null,\"name\":\"Device 1234:11e8\"");
}
END_TEST

START_TEST(test_list_json_and_holder)
{
	fakesys_vfio_group(guest_fs, 2, 0,
			   BRIDGE " shpchp: bound to a driver that "
			   "does DMA through the kernel DMA API\n", 300);
	fakesys_proc(guest_fs, 300, "qemu-system-x86");
	fakesys_proc_fd(guest_fs, 300, 9, "/dev/vfio/2");
	ck_assert_int_eq(run("--json", "list", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "{\"module_loaded\":true,\"driver\":\"vfio-pci\",\"groups\":[{\"group\":2,\"viable\":false,\"source\":\"kernel\",\"devices\":[");
	ASSERT_HAS(out, "{\"address\":\"" BRIDGE "\",\"pci\":true,\"vendor\":\"1b36\",\"device\":\"0001\",\"class\":\"060400\",\"class_name\":\"PCI bridge\",\"vendor_name\":\"Red Hat, Inc.\",\"device_name\":\"QEMU PCI-PCI bridge\",\"name\":\"Red Hat, Inc. QEMU PCI-PCI bridge\",\"bridge\":true,\"driver\":\"shpchp\",\"driver_override\":null,\"blocks\":true,");
	ASSERT_HAS(out, "\"driver\":null");
	ASSERT_HAS(out, "\"holder\":300,\"holders\":[{\"pid\":300,\"comm\":\"qemu-system-x86\",\"via_sysfs\":true,\"via_fd\":false}]");
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	/* A fake tree with the module: its events cannot be faked. */
	ck_assert_int_eq(run("watch", "--group", "2", NULL), EXIT_USAGE);
	ASSERT_HAS(errout, "cannot watch a --root tree");

	ck_assert_int_eq(run("list", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "held by 300 (qemu-system-x86)");

	ck_assert_int_eq(run("holders", NULL), EXIT_OK);
	ck_assert_str_eq(out, "group 2: 300 qemu-system-x86 (opened the group)\n");
	ck_assert_int_eq(run("holders", "1", NULL), EXIT_OK);
	ck_assert_str_eq(out, "group 1: not held\n");
	ck_assert_int_eq(run("--json", "holders", NULL), EXIT_OK);
	ck_assert_str_eq(out, "{\"groups\":[{\"group\":2,\"holders\":[{\"pid\":300,\"comm\":\"qemu-system-x86\",\"via_sysfs\":true,\"via_fd\":true}]}]}\n");
}
END_TEST

/* Without the module, a node of the kernel's own vfio: /proc tells. */
START_TEST(test_list_holder_without_module)
{
	fakesys_file(guest_fs, "dev/vfio/1", "");
	fakesys_proc(guest_fs, 42, "qemu-kvm");
	fakesys_proc_fd(guest_fs, 42, 12, "/dev/vfio/1");
	ck_assert_int_eq(run("list", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "held by 42 (qemu-kvm)\n");
	ck_assert_int_eq(run("list", "2", NULL), EXIT_OK);
	ck_assert_ptr_null(strstr(out, "held by"));
}
END_TEST

START_TEST(test_explain)
{
	ck_assert_int_eq(run("explain", EDU1, NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: 3 devices\n");
	ASSERT_HAS(out, EDU1 " is behind conventional PCI bridge " BRIDGE);
	ASSERT_HAS(out, "to split: nothing in software splits it");
	ASSERT_HAS(out, "Viable: no (by vfio-group's rule; the vfio module is not loaded).\n");
	ASSERT_HAS(out, "unbind bridge " BRIDGE " from shpchp");
	ASSERT_HAS(out, "'vfio-group bind 2' does all of it");

	ck_assert_int_eq(run("explain", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "Alone in its group");
	ASSERT_HAS(out, "Viable: yes");
	ASSERT_HAS(out, "To use it:\n  - 'vfio-group bind 1'");

	ck_assert_int_eq(run("--json", "explain", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"reasons\":[{\"kind\":\"alias\",\"device\":\"" EDU1 "\",\"at\":\"" BRIDGE "\"");
	ASSERT_HAS(out, "\"viable\":false,\"source\":\"library\",\"blockers\":[{\"device\":\"" BRIDGE "\",\"driver\":\"shpchp\"");
}
END_TEST

/*
 * A no-IOMMU group, as VFIO's enable_unsafe_noiommu_mode makes one when a
 * device without an IOMMU group is bound to vfio-pci: group 3, named
 * vfio-noiommu, node /dev/vfio/noiommu-3.
 */
#define NOIOMMU	"0000:00:06.0"

static void add_noiommu_group(void)
{
	fakesys_device(guest_fs, NOIOMMU, 3);
	fakesys_file(guest_fs, "sys/kernel/iommu_groups/3/name",
		     "vfio-noiommu\n");
	fakesys_bind(guest_fs, NOIOMMU, "vfio-pci");
	fakesys_file(guest_fs, "dev/vfio/noiommu-3", "");
	fakesys_proc(guest_fs, 300, "dpdk-testpmd");
	fakesys_proc_fd(guest_fs, 300, 9, "/dev/vfio/noiommu-3");
}

START_TEST(test_list_noiommu)
{
	add_noiommu_group();
	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 1: viable\n");
	ASSERT_HAS(out, "group 3 (no-IOMMU, unsafe): viable\n    " NOIOMMU);
	ASSERT_HAS(out, "    no IOMMU: /dev/vfio/noiommu-3; nothing isolates the device's DMA");
	/* Its holder found through the noiommu node. */
	ASSERT_HAS(out, "    held by 300 (dpdk-testpmd)\n");
	ck_assert_ptr_null(strstr(out, "group 1 (no-IOMMU"));

	ck_assert_int_eq(run("--json", "list", "3", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"group\":3,\"viable\":true,\"source\":\"library\"");
	ASSERT_HAS(out, "\"holders\":[{\"pid\":300,\"comm\":\"dpdk-testpmd\",\"via_sysfs\":false,\"via_fd\":true}]");
	ASSERT_HAS(out, "\"noiommu\":true,\"node\":\"/dev/vfio/noiommu-3\"}]}");
	ck_assert_int_eq(run("--json", "list", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"noiommu\":false,\"node\":\"/dev/vfio/1\"}]}");

	/* A member names it too. */
	ck_assert_int_eq(run("list", NOIOMMU, NULL), EXIT_OK);
	ASSERT_HAS(out, "group 3 (no-IOMMU, unsafe): viable\n");
	ck_assert_ptr_null(strstr(out, "group 1"));
}
END_TEST

/* With the module: its attributes, in /sys/class/vfio/noiommu-3. */
START_TEST(test_list_noiommu_module)
{
	add_noiommu_group();
	fakesys_vfio_group(guest_fs, 1, 1, "", 0);
	fakesys_file(guest_fs, "sys/class/vfio/noiommu-3/viable", "1\n");
	fakesys_file(guest_fs, "sys/class/vfio/noiommu-3/blockers", "");
	fakesys_file(guest_fs, "sys/class/vfio/noiommu-3/holder", "300\n");
	ck_assert_int_eq(run("--json", "list", "3", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"group\":3,\"viable\":true,\"source\":\"kernel\"");
	ASSERT_HAS(out, "\"holder\":300,\"holders\":[{\"pid\":300,\"comm\":\"dpdk-testpmd\",\"via_sysfs\":true");
	ASSERT_HAS(out, "\"noiommu\":true,\"node\":\"/dev/vfio/noiommu-3\"}]}");
	fakesys_file(guest_fs, "sys/class/vfio/noiommu-3/viable", "0\n");
	ck_assert_int_eq(run("list", "3", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 3 (no-IOMMU, unsafe): not viable\n");
}
END_TEST

/* No group at all (no IOMMU, nothing bound): the hint names the mode. */
START_TEST(test_list_empty_noiommu_mode)
{
	struct fakesys *saved = guest_fs, *empty = fakesys_new();

	ck_assert_ptr_nonnull(empty);
	guest_fs = empty;
	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	ASSERT_HAS(out, "no IOMMU groups\n");
	ck_assert_ptr_null(strstr(errout, "no-IOMMU mode is on"));
	fakesys_file(empty,
		     "sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		     "Y\n");
	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	ASSERT_HAS(errout, "no-IOMMU mode is on: a device bound to vfio-pci gets a no-IOMMU group (unsafe)");
	guest_fs = saved;
	fakesys_free(empty);
}
END_TEST

START_TEST(test_explain_noiommu)
{
	add_noiommu_group();
	ck_assert_int_eq(run("explain", "3", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 3 (no-IOMMU, unsafe): 1 device\n");
	ASSERT_HAS(out, "No IOMMU: VFIO's no-IOMMU mode (enable_unsafe_noiommu_mode) made this group, /dev/vfio/noiommu-3,");
	ASSERT_HAS(out, "Nothing isolates its DMA");
	ck_assert_ptr_null(strstr(out, "Alone in its group: the IOMMU isolates it"));
	ASSERT_HAS(out, "Held by 300 (dpdk-testpmd).\n");
	ck_assert_int_eq(run("--json", "explain", NOIOMMU, NULL), EXIT_OK);
	ASSERT_HAS(out, "\"group\":3,");
	ASSERT_HAS(out, "\"noiommu\":true,\"node\":\"/dev/vfio/noiommu-3\"}");
	ck_assert_int_eq(run("explain", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "Alone in its group: the IOMMU isolates it.\n");

	/* A device without a group, in no-IOMMU mode: how it gets one. */
	ck_assert_int_eq(run("explain", NOGRP, NULL), EXIT_NOTFOUND);
	ck_assert_ptr_null(strstr(errout, "no-IOMMU mode is on"));
	fakesys_file(guest_fs,
		     "sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		     "Y\n");
	ck_assert_int_eq(run("explain", NOGRP, NULL), EXIT_NOTFOUND);
	ASSERT_HAS(errout, NOGRP " has no IOMMU group: the IOMMU is off");
	ASSERT_HAS(errout, "no-IOMMU mode is on: binding " NOGRP " to vfio-pci (driver_override, then drivers_probe) gives it a no-IOMMU group");
}
END_TEST

START_TEST(test_bind_dry_run)
{
	ck_assert_int_eq(run("bind", "--dry-run", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: would do (dry run)\n");
	ASSERT_HAS(out, BRIDGE "  unbind   shpchp -> (none)");
	ASSERT_HAS(out, EDU1 "  bind     (none) -> vfio-pci");
	ASSERT_HAS(out, EDU2 "  bind     " UIO " -> vfio-pci");
	ck_assert_str_eq(fakesys_log(guest_fs), "");
	fakesys_assert_guest_state(guest_fs);

	ck_assert_int_eq(run("--json", "bind", "-n", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "{\"group\":2,\"dry_run\":true,\"changes\":[{\"device\":\"" BRIDGE "\",\"action\":\"unbind\",\"old_driver\":\"shpchp\",\"old_override\":null,\"new_driver\":null");
	ASSERT_HAS(out, "\"uses\":[],\"refused\":false}");
	ck_assert_str_eq(fakesys_log(guest_fs), "");
}
END_TEST

START_TEST(test_bind_unbind_roundtrip)
{
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: bound 2 devices to vfio-pci, unbound 1 bridge\n");
	ASSERT_HAS(out, "group 2 is viable: /dev/vfio/2\n");
	ASSERT_STATE(BRIDGE, "", "(null)");
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
	ASSERT_STATE(EDU2, "vfio-pci", "vfio-pci");
	ASSERT_HAS(fakesys_read(guest_fs, "run/vfio-group/group-2"),
		   "vfio-group-record 1\ngroup 2\n" BRIDGE " unbind shpchp - - - 0\n");

	/* Again: nothing to do, and the record stays. */
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "nothing to do");
	ASSERT_HAS(fakesys_read(guest_fs, "run/vfio-group/group-2"),
		   "unbind shpchp");

	ck_assert_int_eq(run("unbind", "--dry-run", BRIDGE, NULL), EXIT_OK);
	ASSERT_HAS(out, BRIDGE "  restore  (none) -> shpchp");

	ck_assert_int_eq(run("unbind", BRIDGE, NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: previous drivers restored\n");
	ASSERT_HAS(out, EDU2 "  vfio-pci -> " UIO "\n");
	fakesys_assert_guest_state(guest_fs);
	ck_assert_str_eq(fakesys_read(guest_fs, "run/vfio-group/group-2"), "");

	ck_assert_int_eq(run("unbind", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "nothing to do");
}
END_TEST

/*
 * Bound, then one member moved back by hand, then bound again: the record
 * keeps what every member had before the first bind.
 */
START_TEST(test_bind_record_merges)
{
	char p[4096];

	ck_assert_int_eq(run("bind", "2", NULL), EXIT_OK);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver/unbind",
		 fakesys_root(guest_fs), EDU2);
	ck_assert_int_eq(vfg_write_file_for_test(p, EDU2), 0);
	fakesys_attr(guest_fs, EDU2, "driver_override", "(null)\n");
	fakesys_bind(guest_fs, EDU2, UIO);
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "bound 1 device to vfio-pci\n");
	ck_assert_int_eq(run("unbind", "2", NULL), EXIT_OK);
	fakesys_assert_guest_state(guest_fs);
}
END_TEST

START_TEST(test_bind_refuses_mounted)
{
	fakesys_child(guest_fs, EDU1, "block/sdb", "block", "sdb");
	fakesys_file(guest_fs, "sys/class/block/sdb/dev", "8:16\n");
	fakesys_file(guest_fs, "proc/self/mountinfo",
		     "30 22 8:16 / /var/lib/data rw - ext4 /dev/sdb rw\n");
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_REFUSED);
	ASSERT_HAS(errout, EDU1 " holds a mounted filesystem (sdb mounted on /var/lib/data)");
	ASSERT_HAS(errout, "refusing to bind group 2");
	ASSERT_HAS(errout, "add --force");
	ck_assert_str_eq(fakesys_log(guest_fs), "");
	fakesys_assert_guest_state(guest_fs);

	ck_assert_int_eq(run("bind", "--dry-run", "2", NULL), EXIT_REFUSED);
	ASSERT_HAS(out, "warning: " EDU1 " holds a mounted filesystem");
	ASSERT_HAS(out, "would refuse without --force");

	ck_assert_int_eq(run("bind", "--force", "2", NULL), EXIT_OK);
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
}
END_TEST

START_TEST(test_bind_refuses_root_and_route)
{
	fakesys_child(guest_fs, LONE, "net/eth0", "net", "eth0");
	fakesys_file(guest_fs, "proc/net/route",
		     "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		     "eth0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
	ck_assert_int_eq(run("bind", LONE, NULL), EXIT_REFUSED);
	ASSERT_HAS(errout, LONE " has interface eth0 with route default via 10.0.2.2");
	ASSERT_STATE(LONE, "", "(null)");
}
END_TEST

START_TEST(test_bind_rollback)
{
	fakesys_refuse(guest_fs, EDU2, "vfio-pci", EIO);
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_FAIL);
	ASSERT_HAS(errout, "binding group 2 failed at " EDU2 ": Input/output error");
	ASSERT_HAS(errout, "the failing step was writing \"" EDU2 "\" to /sys/bus/pci/drivers/vfio-pci/bind");
	ASSERT_HAS(errout, "rolled back: every member is on the driver it had before");
	ASSERT_HAS(errout, "dmesg");
	fakesys_assert_guest_state(guest_fs);
	ck_assert_str_eq(fakesys_read(guest_fs, "run/vfio-group/group-2"), "");

	fakesys_refuse(guest_fs, EDU2, UIO, ENOMEM);
	ck_assert_int_eq(run("bind", "2", NULL), EXIT_PARTIAL);
	ASSERT_HAS(errout, "rollback incomplete: 1 member could not be put back");
	ASSERT_HAS(errout, EDU2 " could not go back to " UIO ": Cannot allocate memory");
}
END_TEST

START_TEST(test_bind_driver_not_loaded)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci/bind",
		 fakesys_root(guest_fs));
	unlink(p);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci/unbind",
		 fakesys_root(guest_fs));
	unlink(p);
	p[strlen(p) - 7] = '\0';
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(run("bind", "1", NULL), EXIT_FAIL);
	ASSERT_HAS(errout, "the vfio-pci driver is not loaded");
	ASSERT_HAS(errout, "modprobe vfio");
	ck_assert_str_eq(fakesys_log(guest_fs), "");
}
END_TEST

START_TEST(test_unbind_refuses_held)
{
	ck_assert_int_eq(run("bind", "1", NULL), EXIT_OK);
	fakesys_proc(guest_fs, 4321, "dpdk-testpmd");
	fakesys_proc_fd(guest_fs, 4321, 5, "/dev/vfio/1");
	ck_assert_int_eq(run("unbind", "1", NULL), EXIT_REFUSED);
	ASSERT_HAS(errout, "group 1 is held by 4321 (dpdk-testpmd)");
	ASSERT_STATE(LONE, "vfio-pci", "vfio-pci");
}
END_TEST

START_TEST(test_usage_and_lookup_errors)
{
	ck_assert_int_eq(run("frobnicate", NULL), EXIT_USAGE);
	ASSERT_HAS(errout, "unknown command \"frobnicate\"");
	ck_assert_int_eq(run(NULL), EXIT_USAGE);
	ck_assert_int_eq(run("bind", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("--json", "bind", "2", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("list", "--force", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("list", "banana", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("list", "99", NULL), EXIT_NOTFOUND);
	ASSERT_HAS(errout, "there is no IOMMU group 99");
	ck_assert_int_eq(run("explain", "0000:07:00.0", NULL), EXIT_NOTFOUND);
	ASSERT_HAS(errout, "there is no PCI device 0000:07:00.0");
	ck_assert_int_eq(run("bind", NOGRP, NULL), EXIT_NOTFOUND);
	ASSERT_HAS(errout, NOGRP " has no IOMMU group: the IOMMU is off");
	ck_assert_int_eq(run("watch", NULL), EXIT_UNAVAILABLE);
	ASSERT_HAS(errout, "the vfio module is not loaded: there are no events to watch");
	ck_assert_int_eq(run("watch", "--count", "0", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("watch", "--group", "x", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("watch", "--timeout", "-1", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("list", "--state", NULL), EXIT_USAGE);
	ASSERT_HAS(errout, "are for watch only");
	ck_assert_int_eq(run("watch", "99", NULL), EXIT_NOTFOUND);
	ck_assert_int_eq(run("--help", NULL), EXIT_OK);
	ASSERT_HAS(out, "memlock-check");
	ck_assert_int_eq(run("--version", NULL), EXIT_OK);
	ASSERT_HAS(out, "vfio-group ");
}
END_TEST

START_TEST(test_memlock_check)
{
	fakesys_file(guest_fs, "proc/self/limits",
		     "Max locked memory         8388608              8388608              bytes     \n");
	fakesys_file(guest_fs, "proc/self/status",
		     "VmLck:\t       0 kB\nCapEff:\t0000000000000000\n");
	ck_assert_int_eq(run("memlock-check", "4G", NULL), EXIT_CHECK);
	ASSERT_HAS(out, "needed:          5 GiB");
	ASSERT_HAS(out, "limit here:      soft 8 MiB, hard 8 MiB");
	ASSERT_HAS(out, "verdict:         too low\n");
	ASSERT_HAS(errout, "ulimit -l 5242880");
	ASSERT_HAS(errout, "the hard limit is lower too");

	ck_assert_int_eq(run("--json", "memlock-check", "512MiB", NULL), EXIT_CHECK);
	ck_assert_str_eq(out, "{\"pid\":null,\"guest_bytes\":536870912,\"needed_bytes\":1610612736,\"soft_limit_bytes\":8388608,\"hard_limit_bytes\":8388608,\"locked_bytes\":0,\"cap_ipc_lock\":false,\"enough\":false}\n");

	fakesys_file(guest_fs, "proc/77/limits",
		     "Max locked memory         unlimited            unlimited            bytes     \n");
	fakesys_file(guest_fs, "proc/77/status",
		     "VmLck:\t 1048576 kB\nCapEff:\t0000000000000000\n");
	ck_assert_int_eq(run("memlock-check", "--pid", "77", "16G", NULL), EXIT_OK);
	ASSERT_HAS(out, "limit of 77      soft unlimited, hard unlimited");
	ASSERT_HAS(out, "already locked:  1 GiB");
	ASSERT_HAS(out, "verdict:         enough\n");

	ck_assert_int_eq(run("memlock-check", "lots", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("memlock-check", "--pid", "78", "1G", NULL), EXIT_NOTFOUND);
}
END_TEST

/*
 * bind --persistent, a "reboot" (every member back on its boot driver, the
 * records in /run gone), restore, and unbind --persistent.
 */
#define CONF "etc/vfio-groups/persistent.d/" BRIDGE ".conf"

START_TEST(test_persistent_bind_restore)
{
	char s[4096];

	ck_assert_int_eq(run("bind", "--persistent", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: bound 2 devices to vfio-pci, unbound 1 bridge\n");
	snprintf(s, sizeof(s), "group 2: persistent: 'vfio-group restore' binds it at boot (%s/" CONF ")\n",
		 fakesys_root(guest_fs));
	ASSERT_HAS(out, s);
	ASSERT_HAS(fakesys_read(guest_fs, CONF),
		   "vfio-group-binding 1\ngroup 2\n"
		   "member " BRIDGE " 1b36:0001\n"
		   "member " EDU1 " 1234:11e8\n"
		   "member " EDU2 " 1234:11e8\n"
		   "change " BRIDGE " unbind shpchp - - - 0\n");
	ASSERT_HAS(fakesys_read(guest_fs, CONF), "change " EDU2 " bind " UIO " - vfio-pci vfio-pci 0\n");

	ck_assert_int_eq(run("list", NULL), EXIT_OK);
	snprintf(s, sizeof(s), "    persistent: bound at boot (%s/" CONF ")\n",
		 fakesys_root(guest_fs));
	ASSERT_HAS(out, s);
	ck_assert_int_eq(run("--json", "list", NULL), EXIT_OK);
	ASSERT_HAS(out, "\"holders\":[],\"persistent\":false,\"persistent_file\":null,\"persistent_stale\":null,\"noiommu\":false,\"node\":\"/dev/vfio/1\"}");
	ASSERT_HAS(out, "\"persistent\":true,\"persistent_file\":\"");
	ASSERT_HAS(out, CONF "\",\"persistent_stale\":null,\"noiommu\":false,\"node\":\"/dev/vfio/2\"}]}");

	/* Reboot: the boot drivers, no records in /run. */
	ck_assert_int_eq(run("unbind", "2", NULL), EXIT_OK);
	fakesys_assert_guest_state(guest_fs);
	ck_assert_str_eq(fakesys_read(guest_fs, "run/vfio-group/group-2"), "");
	ASSERT_HAS(fakesys_read(guest_fs, CONF), "vfio-group-binding 1\n");

	ck_assert_int_eq(run("restore", "--dry-run", NULL), EXIT_OK);
	ASSERT_HAS(out, BRIDGE ": group 2\ngroup 2: would do (dry run)\n");
	fakesys_assert_guest_state(guest_fs);

	ck_assert_int_eq(run("restore", NULL), EXIT_OK);
	ASSERT_HAS(out, BRIDGE ": group 2\ngroup 2: bound 2 devices to vfio-pci, unbound 1 bridge\n");
	ASSERT_HAS(out, "group 2 is viable: /dev/vfio/2\n");
	ASSERT_STATE(BRIDGE, "", "(null)");
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
	ASSERT_STATE(EDU2, "vfio-pci", "vfio-pci");
	/* ... and recorded in /run, so that a plain unbind puts them back. */
	ASSERT_HAS(fakesys_read(guest_fs, "run/vfio-group/group-2"), BRIDGE " unbind shpchp");

	/* Again: nothing to do. */
	ck_assert_int_eq(run("restore", NULL), EXIT_OK);
	ASSERT_HAS(out, "nothing to do");

	ck_assert_int_eq(run("unbind", "--dry-run", "--persistent", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "would forget ");
	ASSERT_HAS(fakesys_read(guest_fs, CONF), "vfio-group-binding 1\n");

	ck_assert_int_eq(run("unbind", "--persistent", EDU1, NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2: previous drivers restored\n");
	snprintf(s, sizeof(s), "forgot %s/" CONF ": group 2 is no longer bound at boot\n",
		 fakesys_root(guest_fs));
	ASSERT_HAS(out, s);
	fakesys_assert_guest_state(guest_fs);
	ck_assert_str_eq(fakesys_read(guest_fs, CONF), "");
	ck_assert_int_eq(run("list", "2", NULL), EXIT_OK);
	ck_assert_ptr_null(strstr(out, "persistent"));

	ck_assert_int_eq(run("restore", NULL), EXIT_OK);
	ASSERT_HAS(out, "no persistent bindings in ");
	ck_assert_int_eq(run("unbind", "--persistent", "2", NULL), EXIT_OK);
	ASSERT_HAS(out, "group 2 was not persistent\n");
}
END_TEST

/* A card swapped in one recorded slot: that binding is skipped, loudly. */
START_TEST(test_restore_skips_changed)
{
	struct fakesys_pci nic = {
		.vendor = 0x8086, .device = 0x10d3, .class = 0x020000,
		.pcie_type = FAKESYS_NO_PCIE, .acs_ctrl = FAKESYS_NO_ACS,
	};
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/conf", fakesys_root(guest_fs));
	ck_assert_int_eq(run("--config-dir", dir, "bind", "--persistent", "1", NULL), EXIT_OK);
	ck_assert_int_eq(run("--config-dir", dir, "bind", "--persistent", "2", NULL), EXIT_OK);
	ASSERT_HAS(fakesys_read(guest_fs, "conf/" LONE ".conf"), "member " LONE " 1234:11e8\n");
	ck_assert_int_eq(run("unbind", "1", NULL), EXIT_OK);
	ck_assert_int_eq(run("unbind", "2", NULL), EXIT_OK);
	fakesys_assert_guest_state(guest_fs);
	fakesys_pci(guest_fs, LONE, &nic);

	ck_assert_int_eq(run("--config-dir", dir, "restore", NULL), EXIT_NOTFOUND);
	ASSERT_HAS(errout, "skipping ");
	ASSERT_HAS(errout, "/conf/" LONE ".conf (group 1 when recorded): " LONE
		   " changed: it is 8086:10d3 now, 1234:11e8 was recorded\n");
	ASSERT_HAS(errout, "hint: if the hardware changed on purpose");
	ASSERT_STATE(LONE, "", "(null)");
	/* The other one is bound all the same. */
	ASSERT_STATE(EDU1, "vfio-pci", "vfio-pci");
	ASSERT_STATE(EDU2, "vfio-pci", "vfio-pci");

	ck_assert_int_eq(run("--config-dir", dir, "list", "1", NULL), EXIT_OK);
	ASSERT_HAS(out, "    persistent, but stale: " LONE " changed: it is 8086:10d3 now");

	/* A file that is not a binding: nothing is bound, nothing guessed. */
	fakesys_file(guest_fs, "conf/junk.conf", "hello\n");
	ck_assert_int_eq(run("--config-dir", dir, "restore", NULL), EXIT_FAIL);
	ASSERT_HAS(errout, "cannot read the persistent bindings in ");
	ASSERT_HAS(errout, "a .conf file there is not a binding");

	ck_assert_int_eq(run("list", "--persistent", NULL), EXIT_USAGE);
	ASSERT_HAS(errout, "--persistent is for bind and unbind only");
	ck_assert_int_eq(run("restore", "2", NULL), EXIT_USAGE);
	ck_assert_int_eq(run("--json", "restore", "-n", NULL), EXIT_USAGE);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, guest_kernel_setup, guest_teardown);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_names);
	tcase_add_test(tc, test_list_json_and_holder);
	tcase_add_test(tc, test_list_holder_without_module);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_list_noiommu);
	tcase_add_test(tc, test_list_noiommu_module);
	tcase_add_test(tc, test_explain_noiommu);
	tcase_add_test(tc, test_list_empty_noiommu_mode);
	tcase_add_test(tc, test_bind_dry_run);
	tcase_add_test(tc, test_bind_unbind_roundtrip);
	tcase_add_test(tc, test_bind_record_merges);
	tcase_add_test(tc, test_bind_refuses_mounted);
	tcase_add_test(tc, test_bind_refuses_root_and_route);
	tcase_add_test(tc, test_bind_rollback);
	tcase_add_test(tc, test_bind_driver_not_loaded);
	tcase_add_test(tc, test_unbind_refuses_held);
	tcase_add_test(tc, test_usage_and_lookup_errors);
	tcase_add_test(tc, test_memlock_check);
	tcase_add_test(tc, test_persistent_bind_restore);
	tcase_add_test(tc, test_restore_skips_changed);
	suite_add_tcase(s, tc);
	return s;
}
