// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Binding and unbinding whole groups, all or nothing.
 *
 * A plan lists, for every member, the driver and driver_override it has and
 * the ones it should have.  Applying a plan moves the members one at a time,
 * in address order, with the same sysfs writes that driverctl and libvirt
 * use:
 *
 *   driver_override <- DRIVER          (so that DRIVER matches the device)
 *   driver/unbind   <- BDF             (if bound to another driver)
 *   drivers/DRIVER/bind <- BDF
 *   driver_override <- OVERRIDE or "\n" (if it differs from DRIVER)
 *   drivers_probe   <- BDF             (release: let the kernel choose)
 *
 * If any write fails, every member already moved, and the one that failed,
 * is moved back the same way to the driver and override it had, in reverse
 * order.  The kernel's bind file reports a failed probe as a failed write,
 * so a member that refuses the driver is seen at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *const action_names[] = {
	[VFG_ACTION_NONE] = "none",
	[VFG_ACTION_BIND] = "bind",
	[VFG_ACTION_UNBIND] = "unbind",
	[VFG_ACTION_RESTORE] = "restore",
	[VFG_ACTION_RELEASE] = "release",
};

const char *vfg_action_name(enum vfg_action action)
{
	if ((unsigned int)action >= ARRAY_SIZE(action_names))
		return "?";
	return action_names[action];
}

struct vfg_plan *vfg_plan_new(int group)
{
	struct vfg_plan *p = calloc(1, sizeof(*p));

	if (p) {
		p->group = group;
		p->failed = -1;
	}
	return p;
}

void vfg_plan_free(struct vfg_plan *plan)
{
	if (!plan)
		return;
	free(plan->changes);
	free(plan);
}

int vfg_plan_is_empty(const struct vfg_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n_changes; i++)
		if (plan->changes[i].action != VFG_ACTION_NONE)
			return 0;
	return 1;
}

/* A new, zeroed change at the end of @p. */
static struct vfg_change *plan_grow(struct vfg_plan *p)
{
	struct vfg_change *c;

	c = vfg_array_add(p->changes, &p->n_changes, sizeof(*c));
	if (!c)
		return NULL;
	p->changes = c;
	return c + p->n_changes - 1;
}

static struct vfg_change *plan_add(struct vfg_plan *p,
				   const struct vfg_device_info *d)
{
	struct vfg_change *c = plan_grow(p);

	if (!c)
		return NULL;
	vfg_strlcpy(c->device, d->name, sizeof(c->device));
	vfg_strlcpy(c->old_driver, d->driver, sizeof(c->old_driver));
	vfg_strlcpy(c->old_override, d->override, sizeof(c->old_override));
	vfg_strlcpy(c->new_driver, d->driver, sizeof(c->new_driver));
	vfg_strlcpy(c->new_override, d->override, sizeof(c->new_override));
	return c;
}

/* What to do with one member; @c starts as "none", from @d's state. */
typedef void (*plan_decide_fn)(const char *ours, const struct vfg_device_info *d,
			       struct vfg_change *c, const void *arg);

/* A plan with one change for each member of @group, as @decide says. */
static int plan_walk(struct vfg_ctx *ctx, int group, plan_decide_fn decide,
		     const void *arg, struct vfg_plan **plan)
{
	const char *ours = vfg_ctx_get_driver_name(ctx);
	struct vfg_group_status *st;
	struct vfg_change *c;
	struct vfg_plan *p;
	size_t i;

	*plan = NULL;
	if (vfg_group_get_status(ctx, group, &st))
		return -1;
	p = vfg_plan_new(group);
	if (!p)
		goto nomem;
	for (i = 0; i < st->n_devices; i++) {
		c = plan_add(p, &st->devices[i]);
		if (!c)
			goto nomem;
		if (!st->devices[i].is_pci)
			snprintf(c->note, sizeof(c->note),
				 "not a PCI device; left alone");
		else
			decide(ours, &st->devices[i], c, arg);
	}
	vfg_group_status_free(st);
	*plan = p;
	return 0;
nomem:
	vfg_group_status_free(st);
	vfg_plan_free(p);
	errno = ENOMEM;
	return -1;
}

static void decide_bind(const char *ours, const struct vfg_device_info *d,
			struct vfg_change *c, const void *arg)
{
	(void)arg;
	if (d->is_bridge) {
		if (!d->blocks) {
			snprintf(c->note, sizeof(c->note),
				 "bridge, %s%s: does not block the group; left alone",
				 d->driver[0] ? "bound to " : "unbound",
				 d->driver);
			return;
		}
		c->action = VFG_ACTION_UNBIND;
		c->new_driver[0] = '\0';
		snprintf(c->note, sizeof(c->note),
			 "bridge: %s cannot take it, and %s blocks the group",
			 ours, d->driver);
	} else if (!strcmp(d->driver, ours)) {
		snprintf(c->note, sizeof(c->note),
			 "already bound to %s", ours);
	} else {
		c->action = VFG_ACTION_BIND;
		vfg_strlcpy(c->new_driver, ours, sizeof(c->new_driver));
		vfg_strlcpy(c->new_override, ours,
			    sizeof(c->new_override));
		snprintf(c->note, sizeof(c->note), "%s%s",
			 d->driver[0] ? "now bound to " : "now unbound",
			 d->driver);
	}
}

int vfg_group_plan_bind(struct vfg_ctx *ctx, int group, struct vfg_plan **plan)
{
	return plan_walk(ctx, group, decide_bind, NULL, plan);
}

static const struct vfg_change *record_find(const struct vfg_plan *record,
					    const char *dev)
{
	size_t i;

	for (i = 0; record && i < record->n_changes; i++)
		if (!strcmp(record->changes[i].device, dev))
			return &record->changes[i];
	return NULL;
}

/* @arg: the record of the bind, or NULL. */
static void decide_unbind(const char *ours, const struct vfg_device_info *d,
			  struct vfg_change *c, const void *arg)
{
	const struct vfg_change *r = record_find(arg, d->name);

	if (r && r->action == VFG_ACTION_NONE) {
		snprintf(c->note, sizeof(c->note),
			 "not changed by the bind; left alone");
	} else if (r) {
		if (strcmp(d->driver, r->new_driver) ||
		    strcmp(d->override, r->new_override)) {
			snprintf(c->note, sizeof(c->note),
				 "changed since the bind (now %s%s); left alone",
				 d->driver[0] ? "bound to " : "unbound",
				 d->driver);
			return;
		}
		c->action = VFG_ACTION_RESTORE;
		vfg_strlcpy(c->new_driver, r->old_driver,
			    sizeof(c->new_driver));
		vfg_strlcpy(c->new_override, r->old_override,
			    sizeof(c->new_override));
		snprintf(c->note, sizeof(c->note), "back to %s%s",
			 r->old_driver[0] ? "" : "unbound",
			 r->old_driver);
	} else if (!strcmp(d->driver, ours) ||
		   (!d->driver[0] && !strcmp(d->override, ours))) {
		c->action = VFG_ACTION_RELEASE;
		c->new_driver[0] = '\0';
		c->new_override[0] = '\0';
		c->probe = 1;
		snprintf(c->note, sizeof(c->note),
			 "no record of its previous driver: the kernel picks one");
	} else {
		snprintf(c->note, sizeof(c->note),
			 "not bound to %s; left alone", ours);
	}
}

int vfg_group_plan_unbind(struct vfg_ctx *ctx, int group,
			  const struct vfg_plan *record, struct vfg_plan **plan)
{
	*plan = NULL;
	if (record && record->group != group) {
		errno = EINVAL;
		return -1;
	}
	return plan_walk(ctx, group, decide_unbind, record, plan);
}

/* ------------------------------------------------------------------------
 * Applying
 */

/* One sysfs write, described in @plan->step when it fails. */
static int do_write(struct vfg_ctx *ctx, struct vfg_plan *plan,
		    const char *val, const char *fmt, const char *a,
		    const char *b)
{
	char rel[PATH_MAX], path[PATH_MAX];
	int err;

	snprintf(rel, sizeof(rel), fmt, a, b);
	if (vfg_path(ctx, path, sizeof(path), "%s", rel))
		return -1;
	if (!vfg_write_file(path, val))
		return 0;
	err = errno;
	if (plan && plan->step[0] == '\0')
		snprintf(plan->step, sizeof(plan->step), "writing \"%.60s\" to %.180s",
			 strcmp(val, "\n") ? val : "\\n", rel);
	errno = err;
	return -1;
}

static int read_override(struct vfg_ctx *ctx, const char *bdf, char *buf,
			 size_t len)
{
	char path[PATH_MAX];

	buf[0] = '\0';
	if (vfg_path(ctx, path, sizeof(path),
		     "/sys/bus/pci/devices/%s/driver_override", bdf))
		return -1;
	if (vfg_read_file(path, buf, len) < 0)
		return -1;
	if (!strcmp(buf, "(null)"))
		buf[0] = '\0';
	return 0;
}

/*
 * Move @bdf to driver @drv ("" for none) and override @ovr ("" for none).
 * With @plan, the first failing write is described in @plan->step.
 */
static int set_state(struct vfg_ctx *ctx, const char *bdf, const char *drv,
		     const char *ovr, int probe, struct vfg_plan *plan)
{
	char cur_drv[VFG_NAME_MAX], cur_ovr[VFG_NAME_MAX];
	int err;

	if (vfg_device_get_driver(ctx, bdf, cur_drv, sizeof(cur_drv)) ||
	    read_override(ctx, bdf, cur_ovr, sizeof(cur_ovr))) {
		err = errno;
		if (plan && !plan->step[0])
			snprintf(plan->step, sizeof(plan->step),
				 "reading the driver of %s", bdf);
		errno = err;
		return -1;
	}
	if (strcmp(cur_drv, drv)) {
		if (drv[0] && strcmp(cur_ovr, drv)) {
			if (do_write(ctx, plan, drv,
				     "/sys/bus/pci/devices/%s/driver_override",
				     bdf, NULL))
				return -1;
			vfg_strlcpy(cur_ovr, drv, sizeof(cur_ovr));
		}
		if (cur_drv[0] &&
		    do_write(ctx, plan, bdf, "/sys/bus/pci/devices/%s/driver/unbind",
			     bdf, NULL))
			return -1;
		if (drv[0] &&
		    do_write(ctx, plan, bdf, "/sys/bus/pci/drivers/%s/bind", drv,
			     NULL)) {
			err = errno;
			if (plan && err == ENOENT)
				snprintf(plan->step, sizeof(plan->step),
					 "binding %s: driver %s is not loaded (no /sys/bus/pci/drivers/%s)",
					 bdf, drv, drv);
			errno = err;
			return -1;
		}
	}
	if (strcmp(cur_ovr, ovr) &&
	    do_write(ctx, plan, ovr[0] ? ovr : "\n",
		     "/sys/bus/pci/devices/%s/driver_override", bdf, NULL))
		return -1;
	if (probe && !drv[0] &&
	    do_write(ctx, plan, bdf, "/sys/bus/pci/drivers_probe%s", "", NULL))
		return -1;
	return 0;
}

int vfg_plan_apply(struct vfg_ctx *ctx, struct vfg_plan *plan)
{
	struct vfg_change *c;
	size_t i, j;

	plan->failed = -1;
	plan->error = 0;
	plan->step[0] = '\0';
	plan->rollback_failures = 0;
	for (i = 0; i < plan->n_changes; i++) {
		c = &plan->changes[i];
		c->done = 0;
		c->undo_error = 0;
		if (c->action == VFG_ACTION_NONE)
			continue;
		if (!set_state(ctx, c->device, c->new_driver, c->new_override,
			       c->probe, plan)) {
			c->done = 1;
			continue;
		}
		plan->failed = (int)i;
		plan->error = errno;
		/* Put back everything moved so far, this one included. */
		for (j = i + 1; j-- > 0;) {
			c = &plan->changes[j];
			if (c->action == VFG_ACTION_NONE)
				continue;
			c->undo_error = 0;
			if (set_state(ctx, c->device, c->old_driver,
				      c->old_override, 0, NULL)) {
				c->undo_error = errno ? errno : EIO;
				plan->rollback_failures++;
			}
			c->done = 0;
		}
		errno = plan->error;
		return -1;
	}
	return 0;
}

/* Apply a plan just made, and free it. */
static int plan_apply_free(struct vfg_ctx *ctx, struct vfg_plan *p)
{
	int ret = vfg_plan_apply(ctx, p), err = errno;

	vfg_plan_free(p);
	errno = err;
	return ret;
}

int vfg_group_bind(struct vfg_ctx *ctx, int group)
{
	struct vfg_plan *p;

	if (vfg_group_plan_bind(ctx, group, &p))
		return -1;
	return plan_apply_free(ctx, p);
}

int vfg_group_unbind(struct vfg_ctx *ctx, int group)
{
	struct vfg_plan *p;

	if (vfg_group_plan_unbind(ctx, group, NULL, &p))
		return -1;
	return plan_apply_free(ctx, p);
}

/* ------------------------------------------------------------------------
 * Records: one line per member, "-" for an empty name.
 *
 *   vfio-group-record 1
 *   group 2
 *   DEVICE ACTION OLD_DRIVER OLD_OVERRIDE NEW_DRIVER NEW_OVERRIDE PROBE
 */

#define RECORD_MAGIC "vfio-group-record 1"

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

void vfg_change_print(FILE *f, const char *prefix, const struct vfg_change *c)
{
	fprintf(f, "%s%s %s %s %s %s %s %d\n", prefix, c->device,
		vfg_action_name(c->action), dash(c->old_driver),
		dash(c->old_override), dash(c->new_driver),
		dash(c->new_override), c->probe);
}

int vfg_plan_save(const struct vfg_plan *plan, const char *path)
{
	char tmp[PATH_MAX];
	size_t i;
	FILE *f;
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	fprintf(f, "%s\ngroup %d\n", RECORD_MAGIC, plan->group);
	for (i = 0; i < plan->n_changes; i++)
		vfg_change_print(f, "", &plan->changes[i]);
	return vfg_file_replace(f, tmp, path);
fail:
	unlink(tmp);
	errno = err;
	return -1;
}

static void undash(char *dst, const char *src, size_t len)
{
	vfg_strlcpy(dst, strcmp(src, "-") ? src : "", len);
}

int vfg_plan_parse_change(struct vfg_plan *p, const char *line)
{
	char dev[64], act[16], od[64], oo[64], nd[64], no[64];
	struct vfg_change *c;
	unsigned int a;
	int probe;

	if (sscanf(line, "%63s %15s %63s %63s %63s %63s %d", dev, act, od, oo,
		   nd, no, &probe) != 7 || !vfg_is_bdf(dev))
		goto inval;
	for (a = 0; a < ARRAY_SIZE(action_names); a++)
		if (!strcmp(act, action_names[a]))
			break;
	if (a == ARRAY_SIZE(action_names))
		goto inval;
	c = plan_grow(p);
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	vfg_strlcpy(c->device, dev, sizeof(c->device));
	c->action = a;
	undash(c->old_driver, od, sizeof(c->old_driver));
	undash(c->old_override, oo, sizeof(c->old_override));
	undash(c->new_driver, nd, sizeof(c->new_driver));
	undash(c->new_override, no, sizeof(c->new_override));
	c->probe = !!probe;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

int vfg_plan_load(const char *path, struct vfg_plan **plan)
{
	char line[512];
	struct vfg_plan *p = NULL;
	int group, err = EINVAL;
	FILE *f;

	*plan = NULL;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) ||
	    strncmp(line, RECORD_MAGIC "\n", sizeof(RECORD_MAGIC)))
		goto fail;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "group %d", &group) != 1 || group < 0)
		goto fail;
	p = vfg_plan_new(group);
	if (!p) {
		err = ENOMEM;
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		if (vfg_plan_parse_change(p, line)) {
			err = errno;
			goto fail;
		}
	}
	fclose(f);
	*plan = p;
	return 0;
fail:
	fclose(f);
	vfg_plan_free(p);
	errno = err;
	return -1;
}
