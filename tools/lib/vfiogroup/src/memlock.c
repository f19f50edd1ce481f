// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Locked memory: a guest with an assigned device has all its RAM pinned, and
 * each pinned page is charged to the process's locked_vm against
 * RLIMIT_MEMLOCK, unless it has CAP_IPC_LOCK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CAP_IPC_LOCK	14
#define GIB		(1ULL << 30)

uint64_t vfg_memlock_needed(uint64_t guest_bytes)
{
	if (guest_bytes > VFG_MEMLOCK_UNLIMITED - GIB)
		return VFG_MEMLOCK_UNLIMITED;
	return guest_bytes + GIB;
}

static int parse_limit(const char *s, uint64_t *val)
{
	unsigned long long v;
	char *end;

	if (!strcmp(s, "unlimited")) {
		*val = VFG_MEMLOCK_UNLIMITED;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		errno = EINVAL;
		return -1;
	}
	*val = v;
	return 0;
}

int vfg_process_get_memlock(struct vfg_ctx *ctx, int pid,
			    struct vfg_memlock *ml)
{
	char path[PATH_MAX], line[256], soft[32], hard[32], who[16];
	unsigned long long kb, caps;
	bool got_limit = false;
	FILE *f;

	memset(ml, 0, sizeof(*ml));
	if (pid < 0) {
		errno = EINVAL;
		return -1;
	}
	if (pid)
		snprintf(who, sizeof(who), "%d", pid);
	else
		snprintf(who, sizeof(who), "self");

	if (vfg_path(ctx, path, sizeof(path), "/proc/%s/limits", who))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Max locked memory", 17))
			continue;
		if (sscanf(line + 17, "%31s %31s", soft, hard) != 2 ||
		    parse_limit(soft, &ml->soft) ||
		    parse_limit(hard, &ml->hard)) {
			fclose(f);
			errno = EINVAL;
			return -1;
		}
		got_limit = true;
	}
	fclose(f);
	if (!got_limit) {
		errno = EINVAL;
		return -1;
	}

	if (vfg_path(ctx, path, sizeof(path), "/proc/%s/status", who))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %llu kB", &kb) == 1)
			ml->locked = kb * 1024;
		else if (sscanf(line, "CapEff: %llx", &caps) == 1)
			ml->cap_ipc_lock = !!(caps & (1ULL << CAP_IPC_LOCK));
	}
	fclose(f);
	return 0;
}
