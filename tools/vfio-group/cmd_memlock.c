// SPDX-License-Identifier: GPL-2.0-only
/*
 * memlock-check: is RLIMIT_MEMLOCK high enough for a guest of a given size?
 * With an assigned device all guest RAM is pinned and charged to the QEMU
 * process's locked memory, and MAP_DMA fails with ENOMEM past the limit
 * unless the process has CAP_IPC_LOCK.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "vfio-group.h"

/* "4G", "4096M", "512MiB", "1.5GB", "1073741824": bytes; -1 if malformed. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	double v;
	char *end;
	const char *u;
	int shift = 0;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -1;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
		if (*end)
			return -1;
	}
	v *= (double)(1ULL << shift);
	if (v >= 18446744073709551615.0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int cmd_memlock_check(struct vfg_ctx *ctx, const struct opts *o)
{
	char need_s[32], soft_s[32], hard_s[32], lck_s[32], guest_s[32];
	struct vfg_memlock ml;
	uint64_t guest, need;
	bool ok, hard_ok;
	const char *verdict;
	struct json j;

	if (o->nargs != 1) {
		err("memlock-check wants the guest's memory size, as in 4G or 4096M");
		return EXIT_USAGE;
	}
	if (parse_size(o->args[0], &guest)) {
		err("\"%s\" is not a size; try 4G, 4096M or 8GiB", o->args[0]);
		return EXIT_USAGE;
	}
	if (vfg_process_get_memlock(ctx, (int)o->pid, &ml)) {
		if (errno == ENOENT)
			err("there is no process %ld", o->pid);
		else
			err("cannot read the limits of %s: %s",
			    o->pid ? "that process" : "this process",
			    strerror(errno));
		return errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL;
	}
	need = vfg_memlock_needed(guest);
	ok = ml.cap_ipc_lock || ml.soft >= need;
	hard_ok = ml.hard >= need;
	fmt_bytes(guest, guest_s, sizeof(guest_s));
	fmt_bytes(need, need_s, sizeof(need_s));
	fmt_bytes(ml.soft, soft_s, sizeof(soft_s));
	fmt_bytes(ml.hard, hard_s, sizeof(hard_s));
	fmt_bytes(ml.locked, lck_s, sizeof(lck_s));
	if (ml.cap_ipc_lock)
		verdict = "enough: the process has CAP_IPC_LOCK, the limit does not apply";
	else if (ok)
		verdict = "enough";
	else if (hard_ok)
		verdict = "too low, but the hard limit allows it";
	else
		verdict = "too low";

	if (o->json) {
		json_doc_begin(&j);
		if (o->pid)
			json_int(&j, "pid", o->pid);
		else
			json_null(&j, "pid");
		json_u64(&j, "guest_bytes", guest);
		json_u64(&j, "needed_bytes", need);
		if (ml.soft == VFG_MEMLOCK_UNLIMITED)
			json_null(&j, "soft_limit_bytes");
		else
			json_u64(&j, "soft_limit_bytes", ml.soft);
		if (ml.hard == VFG_MEMLOCK_UNLIMITED)
			json_null(&j, "hard_limit_bytes");
		else
			json_u64(&j, "hard_limit_bytes", ml.hard);
		json_u64(&j, "locked_bytes", ml.locked);
		json_bool(&j, "cap_ipc_lock", ml.cap_ipc_lock);
		json_bool(&j, "enough", ok);
		json_obj_end(&j);
		json_end(&j);
		return ok ? EXIT_OK : EXIT_CHECK;
	}
	printf("guest memory:    %s\n", guest_s);
	printf("needed:          %s (guest RAM, all pinned for DMA, + 1 GiB for ROMs and I/O buffers)\n",
	       need_s);
	if (o->pid)
		printf("limit of %-6ld  soft %s, hard %s\n", o->pid, soft_s, hard_s);
	else
		printf("limit here:      soft %s, hard %s\n", soft_s, hard_s);
	printf("already locked:  %s\n", lck_s);
	printf("CAP_IPC_LOCK:    %s\n", ml.cap_ipc_lock ? "yes" : "no");
	printf("verdict:         %s\n", verdict);
	if (!ok) {
		hint("raise RLIMIT_MEMLOCK of the process that starts the guest to %llu KiB: 'ulimit -l %llu' in its shell, LimitMEMLOCK=%llu in its systemd unit, or a memlock line in /etc/security/limits.conf (libvirt raises it by itself)",
		     (unsigned long long)(need >> 10),
		     (unsigned long long)(need >> 10),
		     (unsigned long long)need);
		if (!hard_ok)
			hint("the hard limit is lower too: only root (or limits.conf) can raise it");
		return EXIT_CHECK;
	}
	return EXIT_OK;
}
