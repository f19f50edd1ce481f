// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Persistent bindings: the groups to bind again at every boot.
 *
 * A group number is only a name the kernel gives at boot, in the order it
 * finds devices; the same hardware can come back as another number.  So a
 * binding records the members' PCI addresses and vendor:device IDs, and at
 * boot vfg_binding_find_group() looks for the group that holds exactly those
 * devices.  A member that is gone, or whose ID changed (a card swapped into
 * the slot), makes the binding stale: binding whatever is there now could
 * take a disk or NIC from the host.
 *
 * One file per binding, named after the first member's address, so that
 * adding or forgetting one never rewrites another:
 *
 *   vfio-group-binding 1
 *   group 2                          (its number when recorded)
 *   member DEVICE VENDOR:DEVICE_ID
 *   change <a change line of the bind's record, see bind.c>
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define BINDING_MAGIC "vfio-group-binding 1"

void vfg_binding_free(struct vfg_binding *binding)
{
	if (!binding)
		return;
	free(binding->members);
	vfg_plan_free(binding->record);
	free(binding);
}

void vfg_binding_free_all(struct vfg_binding **bindings, int n)
{
	int i;

	if (!bindings)
		return;
	for (i = 0; i < n; i++)
		vfg_binding_free(bindings[i]);
	free(bindings);
}

static struct vfg_binding_member *member_add(struct vfg_binding *b)
{
	struct vfg_binding_member *m;

	m = vfg_array_add(b->members, &b->n_members, sizeof(*m));
	if (!m)
		return NULL;
	b->members = m;
	return m + b->n_members - 1;
}

static struct vfg_plan *plan_copy(const struct vfg_plan *p)
{
	struct vfg_plan *q = vfg_plan_new(p->group);

	if (!q)
		return NULL;
	if (p->n_changes) {
		q->changes = calloc(p->n_changes, sizeof(*q->changes));
		if (!q->changes) {
			vfg_plan_free(q);
			return NULL;
		}
		memcpy(q->changes, p->changes,
		       p->n_changes * sizeof(*q->changes));
		q->n_changes = p->n_changes;
	}
	return q;
}

int vfg_group_get_binding(struct vfg_ctx *ctx, int group,
			  const struct vfg_plan *record,
			  struct vfg_binding **binding)
{
	struct vfg_group_status *st;
	struct vfg_binding_member *m;
	struct vfg_binding *b;
	size_t i;

	*binding = NULL;
	if (vfg_group_get_status(ctx, group, &st))
		return -1;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto nomem;
	b->group = group;
	for (i = 0; i < st->n_devices; i++) {
		if (!st->devices[i].is_pci)
			continue;
		m = member_add(b);
		if (!m)
			goto nomem;
		vfg_strlcpy(m->device, st->devices[i].name, sizeof(m->device));
		m->vendor = st->devices[i].vendor;
		m->device_id = st->devices[i].device;
	}
	vfg_group_status_free(st);
	if (!b->n_members) {
		vfg_binding_free(b);
		errno = ENODEV;
		return -1;
	}
	vfg_strlcpy(b->name, b->members[0].device, sizeof(b->name));
	if (record) {
		b->record = plan_copy(record);
		if (!b->record) {
			vfg_binding_free(b);
			errno = ENOMEM;
			return -1;
		}
	}
	*binding = b;
	return 0;
nomem:
	vfg_group_status_free(st);
	vfg_binding_free(b);
	errno = ENOMEM;
	return -1;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

static int binding_path(const struct vfg_binding *b, const char *dir,
			char *buf, size_t len)
{
	if (!vfg_is_bdf(b->name)) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(buf, len, "%s/%s.conf", dir, b->name) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int vfg_binding_save(const struct vfg_binding *binding, const char *dir)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	const struct vfg_binding_member *m;
	size_t i;
	FILE *f;
	int fd, err;

	if (binding_path(binding, dir, path, sizeof(path)) || mkdir_p(dir))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	fprintf(f, "%s\ngroup %d\n", BINDING_MAGIC, binding->group);
	for (i = 0; i < binding->n_members; i++) {
		m = &binding->members[i];
		fprintf(f, "member %s %04x:%04x\n", m->device, m->vendor,
			m->device_id);
	}
	for (i = 0; binding->record && i < binding->record->n_changes; i++)
		vfg_change_print(f, "change ", &binding->record->changes[i]);
	return vfg_file_replace(f, tmp, path);
fail:
	unlink(tmp);
	errno = err;
	return -1;
}

int vfg_binding_load(const char *path, struct vfg_binding **binding)
{
	char line[512], dev[64];
	struct vfg_binding_member *m;
	struct vfg_binding *b = NULL;
	unsigned int ven, did;
	int group, err = EINVAL;
	FILE *f;

	*binding = NULL;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) ||
	    strncmp(line, BINDING_MAGIC "\n", sizeof(BINDING_MAGIC)))
		goto fail;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "group %d", &group) != 1 || group < 0)
		goto fail;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto nomem;
	b->group = group;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "member ", 7)) {
			if (sscanf(line + 7, "%63s %x:%x", dev, &ven, &did) != 3 ||
			    !vfg_is_bdf(dev) || ven > 0xffff || did > 0xffff)
				goto fail;
			m = member_add(b);
			if (!m)
				goto nomem;
			vfg_strlcpy(m->device, dev, sizeof(m->device));
			m->vendor = ven;
			m->device_id = did;
		} else if (!strncmp(line, "change ", 7)) {
			if (!b->record) {
				b->record = vfg_plan_new(group);
				if (!b->record)
					goto nomem;
			}
			if (vfg_plan_parse_change(b->record, line + 7)) {
				err = errno;
				goto fail;
			}
		} else if (line[0] != '#' && line[0] != '\n') {
			goto fail;
		}
	}
	if (!b->n_members)
		goto fail;
	vfg_strlcpy(b->name, b->members[0].device, sizeof(b->name));
	fclose(f);
	*binding = b;
	return 0;
nomem:
	err = ENOMEM;
fail:
	fclose(f);
	vfg_binding_free(b);
	errno = err;
	return -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct vfg_binding *const *)a)->name,
		      (*(struct vfg_binding *const *)b)->name);
}

int vfg_binding_load_all(const char *dir, struct vfg_binding ***bindings)
{
	struct vfg_binding **v = NULL, *b, **slot;
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0, len;
	int err;
	DIR *d;

	*bindings = NULL;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".conf"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path)) {
			err = ENAMETOOLONG;
			goto fail;
		}
		if (vfg_binding_load(path, &b)) {
			err = errno;
			goto fail;
		}
		slot = vfg_array_add(v, &n, sizeof(*slot));
		if (!slot) {
			vfg_binding_free(b);
			err = ENOMEM;
			goto fail;
		}
		v = slot;
		v[n - 1] = b;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), by_name);
	*bindings = v;
	return (int)n;
fail:
	closedir(d);
	vfg_binding_free_all(v, (int)n);
	errno = err;
	return -1;
}

int vfg_binding_has_device(const struct vfg_binding *binding, const char *bdf)
{
	size_t i;

	for (i = 0; i < binding->n_members; i++)
		if (!strcmp(binding->members[i].device, bdf))
			return 1;
	return 0;
}

int vfg_binding_find_group(struct vfg_ctx *ctx,
			   const struct vfg_binding *binding, char *why,
			   size_t len)
{
	const struct vfg_binding_member *m;
	struct vfg_group_status *st;
	struct vfg_device_info info;
	int group = -1, err;
	size_t i;

	why[0] = '\0';
	for (i = 0; i < binding->n_members; i++) {
		m = &binding->members[i];
		if (vfg_device_get_info(ctx, m->device, &info)) {
			err = errno;
			if (err == ENOENT) {
				snprintf(why, len, "%s (%04x:%04x) is gone",
					 m->device, m->vendor, m->device_id);
				err = ENODEV;
			} else {
				snprintf(why, len, "%s: %s", m->device,
					 strerror(err));
			}
			errno = err;
			return -1;
		}
		if (info.vendor != m->vendor || info.device != m->device_id) {
			snprintf(why, len,
				 "%s changed: it is %04x:%04x now, %04x:%04x was recorded",
				 m->device, info.vendor, info.device, m->vendor,
				 m->device_id);
			errno = ESTALE;
			return -1;
		}
		if (info.group < 0) {
			snprintf(why, len, "%s has no IOMMU group (is the IOMMU on?)",
				 m->device);
			errno = ENODEV;
			return -1;
		}
		if (group >= 0 && info.group != group) {
			snprintf(why, len,
				 "the members are no longer one group: %s is in group %d, %s in group %d",
				 binding->members[0].device, group, m->device,
				 info.group);
			errno = ESTALE;
			return -1;
		}
		group = info.group;
	}
	if (group < 0) {
		snprintf(why, len, "no member recorded");
		errno = EINVAL;
		return -1;
	}
	if (vfg_group_get_status(ctx, group, &st)) {
		err = errno;
		snprintf(why, len, "group %d: %s", group, strerror(err));
		errno = err;
		return -1;
	}
	for (i = 0; i < st->n_devices; i++) {
		if (!st->devices[i].is_pci ||
		    vfg_binding_has_device(binding, st->devices[i].name))
			continue;
		snprintf(why, len,
			 "group %d has a member that was not recorded: %s (%04x:%04x)",
			 group, st->devices[i].name, st->devices[i].vendor,
			 st->devices[i].device);
		vfg_group_status_free(st);
		errno = ESTALE;
		return -1;
	}
	vfg_group_status_free(st);
	return group;
}

int vfg_binding_remove(const struct vfg_binding *binding, const char *dir)
{
	char path[PATH_MAX];

	if (binding_path(binding, dir, path, sizeof(path)))
		return -1;
	return unlink(path);
}
