// SPDX-License-Identifier: GPL-2.0-only
/*
 * bind, unbind: a whole group at once, all or nothing.
 *
 * bind refuses (unless --force) when a member the plan would take from its
 * driver backs a mounted filesystem, the root disk, swap, an interface with
 * an address or route, or the console.  It records what it changed in the
 * state directory (/run/vfio-group/group-N), and unbind puts exactly that
 * back.  unbind refuses (unless --force) while a process holds the group,
 * because the kernel makes an unbind wait while device fds are open.
 *
 * bind --persistent also records the group by its members' identity in the
 * config directory (/etc/vfio-groups/persistent.d, libvfiogroup's persistent
 * bindings); restore binds every group recorded there, as found on this
 * boot, and unbind --persistent forgets the group once it is unbound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "vfio-group.h"

static const char *or_none(const char *s)
{
	return s[0] ? s : "(none)";
}

static void print_plan(const struct vfg_plan *p, const char *title)
{
	const struct vfg_change *c;
	char from[160], to[160];
	size_t i;

	printf("group %d: %s\n", p->group, title);
	for (i = 0; i < p->n_changes; i++) {
		c = &p->changes[i];
		if (c->action == VFG_ACTION_NONE) {
			printf("    %-12s  %-7s  %s\n", c->device, "keep", c->note);
			continue;
		}
		snprintf(from, sizeof(from), "%s", or_none(c->old_driver));
		snprintf(to, sizeof(to), "%s%s", c->probe ? "kernel's choice" :
			 or_none(c->new_driver), "");
		printf("    %-12s  %-7s  %s -> %s  (%s)\n", c->device,
		       vfg_action_name(c->action), from, to, c->note);
	}
}

static void json_plan(struct json *j, const struct vfg_plan *p)
{
	const struct vfg_change *c;
	size_t i;

	json_arr_begin(j, "changes");
	for (i = 0; i < p->n_changes; i++) {
		c = &p->changes[i];
		json_obj_begin(j, NULL);
		json_str(j, "device", c->device);
		json_str(j, "action", vfg_action_name(c->action));
		json_str_or_null(j, "old_driver", c->old_driver);
		json_str_or_null(j, "old_override", c->old_override);
		if (c->probe)
			json_str(j, "new_driver", "*");
		else
			json_str_or_null(j, "new_driver", c->new_driver);
		json_str_or_null(j, "new_override", c->new_override);
		json_str(j, "note", c->note);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static const char *use_text(const struct vfg_use *u, char *buf, size_t len)
{
	switch (u->kind) {
	case VFG_USE_ROOT:
		snprintf(buf, len, "holds the root filesystem (%s %s)",
			 u->name, u->detail);
		break;
	case VFG_USE_MOUNT:
		snprintf(buf, len, "holds a mounted filesystem (%s %s)",
			 u->name, u->detail);
		break;
	case VFG_USE_SWAP:
		snprintf(buf, len, "holds active swap (%s)", u->name);
		break;
	case VFG_USE_NET_ADDR:
		snprintf(buf, len, "has interface %s with address %s",
			 u->name, u->detail);
		break;
	case VFG_USE_NET_ROUTE:
		snprintf(buf, len, "has interface %s with route %s", u->name,
			 u->detail);
		break;
	case VFG_USE_CONSOLE:
		snprintf(buf, len, "drives the console (%s: %s)", u->name,
			 u->detail);
		break;
	}
	return buf;
}

/* The uses of the members that @p would take from their driver. */
static int risky_uses(struct vfg_ctx *ctx, const struct vfg_plan *p,
		      struct vfg_use **out)
{
	struct vfg_use *u;
	size_t i;
	int n, k, m = 0;

	*out = NULL;
	n = vfg_group_get_uses(ctx, p->group, &u);
	if (n < 0)
		return -1;
	for (k = 0; k < n; k++) {
		for (i = 0; i < p->n_changes; i++)
			if (!strcmp(p->changes[i].device, u[k].device) &&
			    p->changes[i].action != VFG_ACTION_NONE)
				break;
		if (i < p->n_changes)
			u[m++] = u[k];
	}
	*out = u;
	return m;
}

static bool driver_loaded(struct vfg_ctx *ctx, const char *drv)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/%s",
		 vfg_ctx_get_root(ctx), drv);
	return access(path, F_OK) == 0;
}

static int mkdir_p(const char *dir)
{
	char buf[4096], *p;

	snprintf(buf, sizeof(buf), "%s", dir);
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

/* Report a failed apply; the exit code. */
static int report_failure(const struct vfg_plan *p, const char *what)
{
	const struct vfg_change *c = &p->changes[p->failed];

	err("%s group %d failed at %s: %s", what, p->group, c->device,
	    strerror(p->error));
	err("the failing step was %s", p->step);
	if (p->rollback_failures) {
		err("rollback incomplete: %d member%s could not be put back; the group is in a mixed state",
		    p->rollback_failures, p->rollback_failures == 1 ? "" : "s");
		for (size_t i = 0; i < p->n_changes; i++)
			if (p->changes[i].undo_error)
				err("%s could not go back to %s: %s",
				    p->changes[i].device,
				    p->changes[i].old_driver[0] ?
				    p->changes[i].old_driver : "no driver",
				    strerror(p->changes[i].undo_error));
		hint("'%s list %d' shows each member's driver now; fix them by hand", prog,
		     p->group);
		return EXIT_PARTIAL;
	}
	err("rolled back: every member is on the driver it had before");
	if (p->error == EACCES || p->error == EPERM)
		hint("run as root");
	else if (p->error == EBUSY)
		hint("another driver took the device meanwhile; '%s list %d' shows which",
		     prog, p->group);
	else
		hint("the kernel log (dmesg) says why the driver refused %s",
		     c->device);
	return EXIT_FAIL;
}

static int print_dry_run(const struct opts *o, const struct vfg_plan *p,
			 const struct vfg_use *u, int nu, bool refused)
{
	char buf[512];
	struct json j;
	int i;

	if (o->json) {
		json_doc_begin(&j);
		json_int(&j, "group", p->group);
		json_bool(&j, "dry_run", true);
		json_plan(&j, p);
		json_arr_begin(&j, "uses");
		for (i = 0; i < nu; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "device", u[i].device);
			json_str(&j, "kind", vfg_use_kind_name(u[i].kind));
			json_str(&j, "name", u[i].name);
			json_str(&j, "detail", u[i].detail);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_bool(&j, "refused", refused);
		if (o->persistent)
			json_bool(&j, "persistent", true);
		json_end(&j);
	} else {
		print_plan(p, vfg_plan_is_empty(p) ? "nothing to do (dry run)" :
			   "would do (dry run)");
		for (i = 0; i < nu; i++)
			printf("    warning: %s %s\n", u[i].device,
			       use_text(&u[i], buf, sizeof(buf)));
		if (refused)
			printf("    would refuse without --force\n");
	}
	return refused ? EXIT_REFUSED : EXIT_OK;
}

/* Keep the oldest "before" of members an earlier bind already moved. */
static void merge_record(const struct opts *o, struct vfg_plan *p)
{
	struct vfg_plan *old;
	char path[4096];
	size_t i, k;

	record_path(o, p->group, path, sizeof(path));
	if (vfg_plan_load(path, &old))
		return;
	for (i = 0; i < p->n_changes; i++) {
		if (p->changes[i].action != VFG_ACTION_NONE)
			continue;
		for (k = 0; k < old->n_changes; k++)
			if (!strcmp(old->changes[k].device, p->changes[i].device) &&
			    old->changes[k].action != VFG_ACTION_NONE)
				p->changes[i] = old->changes[k];
	}
	vfg_plan_free(old);
}

/* Bind group @group (bind and restore); an exit code. */
static int bind_group(struct vfg_ctx *ctx, const struct opts *o, int group)
{
	const char *ours = vfg_ctx_get_driver_name(ctx);
	char path[4096], dir[4096], buf[512], *slash;
	struct vfg_plan *p;
	struct vfg_use *u;
	int ret, nu, i, viable;
	size_t k, bound = 0, unbound = 0;

	if (vfg_group_plan_bind(ctx, group, &p)) {
		err("group %d: %s", group, strerror(errno));
		return EXIT_FAIL;
	}
	nu = risky_uses(ctx, p, &u);
	if (nu < 0) {
		err("group %d: cannot check what the host uses it for: %s",
		    group, strerror(errno));
		vfg_plan_free(p);
		return EXIT_FAIL;
	}
	if (o->dry_run) {
		ret = print_dry_run(o, p, u, nu, nu && !o->force);
		goto out;
	}
	if (vfg_plan_is_empty(p)) {
		printf("group %d: nothing to do: its members are bound to %s already (bridges are left alone)\n",
		       group, ours);
		ret = EXIT_OK;
		goto check;
	}
	if (nu && !o->force) {
		for (i = 0; i < nu; i++)
			err("%s %s", u[i].device, use_text(&u[i], buf, sizeof(buf)));
		err("refusing to bind group %d: the host uses %s, and binding takes %s away from the host",
		    group, nu == 1 ? "this device" : "these devices",
		    nu == 1 ? "it" : "them");
		hint("stop using %s first; if you are sure, add --force",
		     nu == 1 ? "it" : "them");
		ret = EXIT_REFUSED;
		goto out;
	}
	for (k = 0; k < p->n_changes; k++)
		if (p->changes[k].action == VFG_ACTION_BIND)
			break;
	if (k < p->n_changes && !driver_loaded(ctx, ours)) {
		err("the %s driver is not loaded", ours);
		hint("load the vfio-groups module first: modprobe vfio (or insmod vfio.ko)");
		ret = EXIT_FAIL;
		goto out;
	}
	if (vfg_plan_apply(ctx, p)) {
		ret = report_failure(p, "binding");
		goto out;
	}

	for (k = 0; k < p->n_changes; k++) {
		if (p->changes[k].action == VFG_ACTION_BIND)
			bound++;
		else if (p->changes[k].action == VFG_ACTION_UNBIND)
			unbound++;
	}
	printf("group %d: bound %zu device%s to %s", group, bound,
	       bound == 1 ? "" : "s", ours);
	if (unbound)
		printf(", unbound %zu bridge%s", unbound, unbound == 1 ? "" : "s");
	printf("\n");
	for (k = 0; k < p->n_changes; k++)
		if (p->changes[k].action != VFG_ACTION_NONE)
			printf("    %-12s  %s -> %s\n", p->changes[k].device,
			       or_none(p->changes[k].old_driver),
			       or_none(p->changes[k].new_driver));
	merge_record(o, p);
	record_path(o, group, path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (mkdir_p(dir) || vfg_plan_save(p, path)) {
		err("warning: could not record the previous drivers in %s: %s",
		    path, strerror(errno));
		hint("'%s unbind %d' will then hand the members to the kernel's choice of driver",
		     prog, group);
	}
	printf("'%s unbind %d' puts the previous drivers back\n", prog, group);
	ret = EXIT_OK;
check:
	viable = vfg_group_is_viable(ctx, group);
	if (viable == 1) {
		char node[64];

		if (vfg_group_get_node(ctx, group, node, sizeof(node)))
			snprintf(node, sizeof(node), "/dev/vfio/%d", group);
		printf("group %d is viable: %s\n", group, node);
	} else if (viable == 0) {
		err("group %d is still not viable", group);
		hint("'%s explain %d' says which member blocks it", prog, group);
		ret = EXIT_CHECK;
	}
out:
	free(u);
	vfg_plan_free(p);
	return ret;
}

/*
 * Remove the persistent bindings that name a member of @group; print each.
 * Return: how many, or -1 (after an error message).
 */
static int forget_group(struct vfg_ctx *ctx, const struct opts *o, int group,
			bool dry_run)
{
	struct vfg_binding **all;
	char dir[4096], **m;
	int n, i, k, forgot = 0;
	bool hit;

	binding_dir(o, dir, sizeof(dir));
	n = vfg_binding_load_all(dir, &all);
	if (n < 0) {
		err("cannot read the persistent bindings in %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (vfg_group_get_members(ctx, group, &m) < 0) {
		err("group %d: %s", group, strerror(errno));
		vfg_binding_free_all(all, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		hit = false;
		for (k = 0; m[k] && !hit; k++)
			hit = vfg_binding_has_device(all[i], m[k]);
		if (!hit)
			continue;
		if (dry_run) {
			printf("would forget %s/%s.conf\n", dir, all[i]->name);
		} else if (vfg_binding_remove(all[i], dir)) {
			err("cannot remove %s/%s.conf: %s", dir, all[i]->name,
			    strerror(errno));
			forgot = -1;
			break;
		} else {
			printf("forgot %s/%s.conf: group %d is no longer bound at boot\n",
			       dir, all[i]->name, group);
		}
		forgot++;
	}
	vfg_strv_free(m);
	vfg_binding_free_all(all, n);
	return forgot;
}

/* Record group @group as persistent, replacing what named its members. */
static int persist_group(struct vfg_ctx *ctx, const struct opts *o, int group)
{
	struct vfg_plan *rec = NULL;
	struct vfg_binding *b;
	char path[4096], dir[4096];

	binding_dir(o, dir, sizeof(dir));
	record_path(o, group, path, sizeof(path));
	vfg_plan_load(path, &rec);	/* none when bound by hand */
	if (vfg_group_get_binding(ctx, group, rec, &b)) {
		err("group %d: cannot record it as persistent: %s", group,
		    strerror(errno));
		vfg_plan_free(rec);
		return EXIT_FAIL;
	}
	vfg_plan_free(rec);
	if (forget_group(ctx, o, group, false) < 0) {
		vfg_binding_free(b);
		return EXIT_FAIL;
	}
	if (vfg_binding_save(b, dir)) {
		err("cannot write %s/%s.conf: %s", dir, b->name,
		    strerror(errno));
		vfg_binding_free(b);
		return EXIT_FAIL;
	}
	printf("group %d: persistent: '%s restore' binds it at boot (%s/%s.conf)\n",
	       group, prog, dir, b->name);
	vfg_binding_free(b);
	return EXIT_OK;
}

int cmd_bind(struct vfg_ctx *ctx, const struct opts *o)
{
	char dir[4096];
	int group, ret, r;

	if (o->nargs != 1) {
		err("bind wants one GROUP or BDF");
		return EXIT_USAGE;
	}
	ret = resolve_group(ctx, o->args[0], &group);
	if (ret)
		return ret;
	ret = bind_group(ctx, o, group);
	if (!o->persistent)
		return ret;
	if (o->dry_run) {
		binding_dir(o, dir, sizeof(dir));
		if (!o->json)
			printf("    would record group %d as persistent in %s\n",
			       group, dir);
		return ret;
	}
	/* Bound (even if still not viable): the admin's intent is recorded. */
	if (ret != EXIT_OK && ret != EXIT_CHECK)
		return ret;
	r = persist_group(ctx, o, group);
	return r ? r : ret;
}

int cmd_restore(struct vfg_ctx *ctx, const struct opts *o)
{
	struct vfg_binding **all;
	char dir[4096], why[512];
	int n, i, group, r, ret = EXIT_OK;

	if (o->nargs) {
		err("restore takes no arguments: it binds every persistent group");
		return EXIT_USAGE;
	}
	binding_dir(o, dir, sizeof(dir));
	n = vfg_binding_load_all(dir, &all);
	if (n < 0) {
		err("cannot read the persistent bindings in %s: %s", dir,
		    strerror(errno));
		if (errno == EINVAL)
			hint("a .conf file there is not a binding; move it away");
		return EXIT_FAIL;
	}
	if (!n) {
		printf("no persistent bindings in %s\n", dir);
		return EXIT_OK;
	}
	for (i = 0; i < n; i++) {
		group = vfg_binding_find_group(ctx, all[i], why, sizeof(why));
		if (group < 0) {
			err("skipping %s/%s.conf (group %d when recorded): %s",
			    dir, all[i]->name, all[i]->group, why);
			hint("if the hardware changed on purpose, '%s unbind --persistent' or removing the file forgets it; '%s bind --persistent' records the group as it is now",
			     prog, prog);
			if (!ret)
				ret = EXIT_NOTFOUND;
			continue;
		}
		printf("%s: group %d", all[i]->name, group);
		if (group != all[i]->group)
			printf(" (group %d when recorded)", all[i]->group);
		printf("\n");
		r = bind_group(ctx, o, group);
		if (r && !ret)
			ret = r;
	}
	vfg_binding_free_all(all, n);
	return ret;
}

int cmd_unbind(struct vfg_ctx *ctx, const struct opts *o)
{
	struct vfg_plan *rec = NULL, *p;
	struct vfg_holder *h = NULL;
	char path[4096];
	int group, ret, nh, i;
	size_t k;

	if (o->nargs != 1) {
		err("unbind wants one GROUP or BDF");
		return EXIT_USAGE;
	}
	ret = resolve_group(ctx, o->args[0], &group);
	if (ret)
		return ret;
	record_path(o, group, path, sizeof(path));
	if (vfg_plan_load(path, &rec) && errno != ENOENT) {
		err("cannot read the record of group %d's bind, %s: %s", group,
		    path, strerror(errno));
		hint("move it away to hand the members to the kernel's choice of driver");
		return EXIT_FAIL;
	}
	if (rec && rec->group != group) {
		err("%s records group %d, not %d", path, rec->group, group);
		vfg_plan_free(rec);
		return EXIT_FAIL;
	}
	if (vfg_group_plan_unbind(ctx, group, rec, &p)) {
		err("group %d: %s", group, strerror(errno));
		vfg_plan_free(rec);
		return EXIT_FAIL;
	}
	if (o->dry_run) {
		ret = print_dry_run(o, p, NULL, 0, false);
		if (o->persistent && !o->json && forget_group(ctx, o, group, true) < 0)
			ret = EXIT_FAIL;
		goto out;
	}
	if (vfg_plan_is_empty(p)) {
		printf("group %d: nothing to do: no member is bound to %s%s\n",
		       group, vfg_ctx_get_driver_name(ctx),
		       rec ? " as the record left it" : "");
		if (rec && unlink(path) == 0)
			printf("removed the stale record %s\n", path);
		ret = EXIT_OK;
		goto forget;
	}
	nh = vfg_group_get_holders(ctx, group, &h);
	if (nh > 0 && !o->force) {
		for (i = 0; i < nh; i++)
			err("group %d is held by %d (%s)", group, h[i].pid,
			    h[i].comm[0] ? h[i].comm : "?");
		err("refusing to unbind: the group is in use, and the kernel makes an unbind wait until %s device fds are closed (or revokes them after the vfio module's release_timeout_ms)",
		    nh == 1 ? "its" : "their");
		hint("stop %s first (or add --force to wait for it)",
		     nh == 1 ? "that process" : "those processes");
		ret = EXIT_REFUSED;
		goto out;
	}
	if (vfg_plan_apply(ctx, p)) {
		ret = report_failure(p, "unbinding");
		goto out;
	}
	if (rec && unlink(path))
		err("warning: could not remove the record %s: %s", path,
		    strerror(errno));
	printf("group %d: %s\n", group,
	       rec ? "previous drivers restored" : "released to the kernel's choice of driver");
	for (k = 0; k < p->n_changes; k++) {
		const struct vfg_change *c = &p->changes[k];
		char now[64];

		if (c->action == VFG_ACTION_NONE) {
			printf("    %-12s  kept: %s\n", c->device, c->note);
			continue;
		}
		if (vfg_device_get_driver(ctx, c->device, now, sizeof(now)))
			snprintf(now, sizeof(now), "?");
		printf("    %-12s  %s -> %s\n", c->device,
		       or_none(c->old_driver), or_none(now));
	}
	ret = EXIT_OK;
forget:
	if (o->persistent) {
		nh = forget_group(ctx, o, group, false);
		if (nh < 0)
			ret = EXIT_FAIL;
		else if (!nh)
			printf("group %d was not persistent\n", group);
	}
out:
	free(h);
	vfg_plan_free(p);
	vfg_plan_free(rec);
	return ret;
}
