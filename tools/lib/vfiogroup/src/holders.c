// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who has a group open: the module's "holder" attribute names the process
 * that opened /dev/vfio/GROUP; /proc/PID/fd shows every process with an fd on
 * it (one may have passed it to another).  Device fds are anonymous inodes
 * ("anon_inode:[vfio-device]") that cannot be tied to a group from their
 * link alone; whoever holds them got them from the group holder.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int holder_add(struct vfg_holder **v, size_t *n, int pid,
		      unsigned int how)
{
	struct vfg_holder *h;
	size_t i;

	for (i = 0; i < *n; i++) {
		if ((*v)[i].pid == pid) {
			(*v)[i].how |= how;
			return 0;
		}
	}
	h = vfg_array_add(*v, n, sizeof(*h));
	if (!h)
		return -1;
	*v = h;
	h[*n - 1].pid = pid;
	h[*n - 1].how = how;
	return 0;
}

/* Does process @pid have an fd on @node ("/dev/vfio/N")? */
static bool proc_holds(struct vfg_ctx *ctx, const char *pid, const char *node)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], link[PATH_MAX];
	struct dirent *de;
	bool found = false;
	ssize_t n;
	DIR *d;

	if (vfg_path(ctx, dir, sizeof(dir), "/proc/%s/fd", pid))
		return false;
	d = opendir(dir);
	if (!d)
		return false;	/* gone, or not ours to look at */
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		found = !strcmp(link, node);
	}
	closedir(d);
	return found;
}

int vfg_process_get_comm(struct vfg_ctx *ctx, int pid, char *buf, size_t len)
{
	char path[PATH_MAX];

	buf[0] = '\0';
	if (pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (vfg_path(ctx, path, sizeof(path), "/proc/%d/comm", pid))
		return -1;
	return vfg_read_file(path, buf, len) < 0 ? -1 : 0;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct vfg_holder *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int vfg_group_get_holders(struct vfg_ctx *ctx, int group,
			  struct vfg_holder **holders)
{
	char path[PATH_MAX], buf[32], node[32];
	struct vfg_holder *v = NULL;
	unsigned long pid;
	struct dirent *de;
	size_t n = 0, i;
	DIR *d;

	*holders = NULL;
	if (group < 0) {
		errno = EINVAL;
		return -1;
	}
	if (vfg_path(ctx, path, sizeof(path), "/sys/kernel/iommu_groups/%d",
		     group))
		return -1;
	if (access(path, F_OK))
		return -1;

	if (!vfg_group_class_path(ctx, group, "holder", path, sizeof(path)) &&
	    vfg_read_file(path, buf, sizeof(buf)) > 0 &&
	    !vfg_parse_ulong(buf, &pid) && pid > 0 && pid <= INT_MAX &&
	    holder_add(&v, &n, (int)pid, VFG_HOLDER_SYSFS))
		goto nomem;

	if (vfg_group_get_node(ctx, group, node, sizeof(node)))
		return -1;
	if (vfg_path(ctx, path, sizeof(path), "/proc"))
		goto fail;
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (vfg_parse_ulong(de->d_name, &pid) || pid == 0 ||
			    pid > INT_MAX || de->d_name[0] == '0')
				continue;
			if (proc_holds(ctx, de->d_name, node) &&
			    holder_add(&v, &n, (int)pid, VFG_HOLDER_FD)) {
				closedir(d);
				goto nomem;
			}
		}
		closedir(d);
	}

	for (i = 0; i < n; i++)
		vfg_process_get_comm(ctx, v[i].pid, v[i].comm,
				     sizeof(v[i].comm));
	if (v)
		qsort(v, n, sizeof(*v), cmp_pid);
	*holders = v;
	return (int)n;
nomem:
	errno = ENOMEM;
fail:
	free(v);
	return -1;
}
