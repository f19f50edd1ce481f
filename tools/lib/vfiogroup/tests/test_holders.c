// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who holds a group (the module's holder attribute, fds in /proc), and the
 * locked-memory limits of a process, from a fake /proc.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfiogroup/vfiogroup.h"
#include "fakesys.h"
#include "suites.h"

static struct fakesys *fs;
static struct vfg_ctx *ctx;

static void setup(void)
{
	fs = fakesys_new();
	fakesys_device(fs, "0000:00:04.0", 1);
	fakesys_device(fs, "0000:00:05.0", 2);
	fakesys_proc(fs, 1, "init");
	fakesys_proc_fd(fs, 1, 0, "/dev/console");
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
}

static void teardown(void)
{
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}

START_TEST(test_no_holders)
{
	struct vfg_holder *h = (void *)1;

	ck_assert_int_eq(vfg_group_get_holders(ctx, 1, &h), 0);
	ck_assert_ptr_null(h);
	errno = 0;
	ck_assert_int_eq(vfg_group_get_holders(ctx, 9, &h), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* The module names the opener; /proc finds it and one it passed the fd to. */
START_TEST(test_holders_sysfs_and_fds)
{
	struct vfg_holder *h;

	fakesys_vfio_group(fs, 1, 1, "", 300);
	fakesys_proc(fs, 300, "qemu-system-x86");
	fakesys_proc_fd(fs, 300, 0, "/dev/null");
	fakesys_proc_fd(fs, 300, 17, "/dev/vfio/1");
	fakesys_proc_fd(fs, 300, 18, "anon_inode:[vfio-device]");
	fakesys_proc(fs, 42, "helper");
	fakesys_proc_fd(fs, 42, 3, "/dev/vfio/1");
	fakesys_proc(fs, 77, "other");
	fakesys_proc_fd(fs, 77, 3, "/dev/vfio/2");
	fakesys_proc_fd(fs, 77, 4, "/dev/vfio/vfio");

	ck_assert_int_eq(vfg_group_get_holders(ctx, 1, &h), 2);
	ck_assert_int_eq(h[0].pid, 42);
	ck_assert_str_eq(h[0].comm, "helper");
	ck_assert_uint_eq(h[0].how, VFG_HOLDER_FD);
	ck_assert_int_eq(h[1].pid, 300);
	ck_assert_str_eq(h[1].comm, "qemu-system-x86");
	ck_assert_uint_eq(h[1].how, VFG_HOLDER_SYSFS | VFG_HOLDER_FD);
	free(h);

	ck_assert_int_eq(vfg_group_get_holders(ctx, 2, &h), 1);
	ck_assert_int_eq(h[0].pid, 77);
	free(h);
}
END_TEST

/* A holder whose /proc entry is gone (or hidden) still counts. */
START_TEST(test_holder_without_proc)
{
	struct vfg_holder *h;

	fakesys_vfio_group(fs, 2, 1, "", 555);
	ck_assert_int_eq(vfg_group_get_holders(ctx, 2, &h), 1);
	ck_assert_int_eq(h[0].pid, 555);
	ck_assert_str_eq(h[0].comm, "");
	ck_assert_uint_eq(h[0].how, VFG_HOLDER_SYSFS);
	free(h);
}
END_TEST

START_TEST(test_process_comm)
{
	char comm[32];

	ck_assert_int_eq(vfg_process_get_comm(ctx, 1, comm, sizeof(comm)), 0);
	ck_assert_str_eq(comm, "init");
	errno = 0;
	ck_assert_int_eq(vfg_process_get_comm(ctx, 2, comm, sizeof(comm)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(comm, "");
}
END_TEST

START_TEST(test_memlock_limits)
{
	struct vfg_memlock ml;

	fakesys_file(fs, "proc/300/limits",
		     "Limit                     Soft Limit           Hard Limit           Units     \n"
		     "Max open files            1024                 524288               files     \n"
		     "Max locked memory         8388608              16777216             bytes     \n");
	fakesys_file(fs, "proc/300/status",
		     "Name:\tqemu\nVmLck:\t    2048 kB\nCapEff:\t0000000000000000\n");
	ck_assert_int_eq(vfg_process_get_memlock(ctx, 300, &ml), 0);
	ck_assert_uint_eq(ml.soft, 8388608);
	ck_assert_uint_eq(ml.hard, 16777216);
	ck_assert_uint_eq(ml.locked, 2048 * 1024);
	ck_assert_int_eq(ml.cap_ipc_lock, 0);

	fakesys_file(fs, "proc/self/limits",
		     "Max locked memory         unlimited            unlimited            bytes     \n");
	fakesys_file(fs, "proc/self/status", "CapEff:\t000001ffffffffff\n");
	ck_assert_int_eq(vfg_process_get_memlock(ctx, 0, &ml), 0);
	ck_assert(ml.soft == VFG_MEMLOCK_UNLIMITED);
	ck_assert(ml.hard == VFG_MEMLOCK_UNLIMITED);
	ck_assert_int_eq(ml.cap_ipc_lock, 1);

	errno = 0;
	ck_assert_int_eq(vfg_process_get_memlock(ctx, 999, &ml), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_memlock_needed)
{
	ck_assert(vfg_memlock_needed(4ULL << 30) == 5ULL << 30);
	ck_assert(vfg_memlock_needed(0) == 1ULL << 30);
	ck_assert(vfg_memlock_needed(UINT64_MAX - 5) == VFG_MEMLOCK_UNLIMITED);
}
END_TEST

/* The real system, for the shape of the real /proc files. */
START_TEST(test_memlock_real_self)
{
	struct vfg_ctx *real = vfg_ctx_new(NULL);
	struct vfg_memlock ml;

	ck_assert_int_eq(vfg_process_get_memlock(real, 0, &ml), 0);
	ck_assert(ml.hard >= ml.soft);
	vfg_ctx_free(real);
}
END_TEST

Suite *holders_suite(void)
{
	Suite *s = suite_create("holders");
	TCase *tc = tcase_create("holders");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_holders);
	tcase_add_test(tc, test_holders_sysfs_and_fds);
	tcase_add_test(tc, test_holder_without_proc);
	tcase_add_test(tc, test_process_comm);
	tcase_add_test(tc, test_memlock_limits);
	tcase_add_test(tc, test_memlock_needed);
	tcase_add_test(tc, test_memlock_real_self);
	suite_add_tcase(s, tc);
	return s;
}
