// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch: follow the module's events as they happen, one line (or one JSON
 * object) each, until interrupted, --count events or --timeout seconds.
 *
 * The events come from libvfiogroup's monitor on the "vfio_groups" generic
 * netlink family.  --state subscribes first and then prints the state of
 * each watched group from a dump, so that nothing falls between the two: a
 * program reading the output knows that every change after a state line
 * reaches it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "vfio-group.h"

struct watch {
	int *groups;		/* only these; all when n_groups is 0 */
	int n_groups;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool wanted(const struct watch *w, int group)
{
	int i;

	if (!w->n_groups)
		return true;
	for (i = 0; i < w->n_groups; i++)
		if (w->groups[i] == group)
			return true;
	return false;
}

/* "12:00:01.123" in local time, or "2024-05-01T12:00:01.123Z" (--json). */
static void fmt_time(const struct timespec *ts, bool iso, char *buf,
		     size_t len)
{
	struct tm tm;
	size_t n;

	if (iso) {
		gmtime_r(&ts->tv_sec, &tm);
		n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
	} else {
		localtime_r(&ts->tv_sec, &tm);
		n = strftime(buf, len, "%H:%M:%S", &tm);
		snprintf(buf + n, len - n, ".%03ld", ts->tv_nsec / 1000000);
	}
}

static void holder_comm(struct vfg_ctx *ctx, int pid, char *buf, size_t len)
{
	buf[0] = '\0';
	if (pid > 0)
		vfg_process_get_comm(ctx, pid, buf, len);
}

static void json_holder(struct json *j, int pid, const char *comm)
{
	if (pid > 0)
		json_int(j, "holder_pid", pid);
	else
		json_null(j, "holder_pid");
	json_str_or_null(j, "holder_comm", comm);
}

/*
 * 12:00:01.123 release-requested group 1 0000:00:04.0 holder 123 (qemu)
 *     attempt 2 revoke in 1500 ms
 */
static void print_event(struct vfg_ctx *ctx, const struct vfg_event *ev,
			bool json)
{
	char t[40], comm[32];
	struct json j;

	fmt_time(&ev->time, json, t, sizeof(t));
	holder_comm(ctx, ev->holder_pid, comm, sizeof(comm));
	if (json) {
		json_doc_begin(&j);
		json_str(&j, "time", t);
		json_str(&j, "event", vfg_event_type_name(ev->type));
		json_int(&j, "type", ev->type);
		json_int(&j, "group", ev->group);
		json_str_or_null(&j, "device", ev->device);
		json_str_or_null(&j, "driver", ev->driver);
		if (ev->viable >= 0)
			json_bool(&j, "viable", ev->viable);
		else
			json_null(&j, "viable");
		json_holder(&j, ev->holder_pid, comm);
		if (ev->attempt)
			json_int(&j, "attempt", ev->attempt);
		else
			json_null(&j, "attempt");
		if (ev->deadline_ms >= 0)
			json_int(&j, "deadline_ms", ev->deadline_ms);
		else
			json_null(&j, "deadline_ms");
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	printf("%s %s", t, vfg_event_type_name(ev->type));
	if (ev->group >= 0)
		printf(" group %d", ev->group);
	else
		printf(" group ?");
	if (ev->device[0])
		printf(" %s", ev->device);
	if (ev->driver[0])
		printf(" driver %s", ev->driver);
	if (ev->viable >= 0)
		printf(" %s", ev->viable ? "viable" : "not viable");
	if (ev->holder_pid > 0)
		printf(" holder %d (%s)", ev->holder_pid, comm[0] ? comm : "?");
	if (ev->attempt)
		printf(" attempt %u", ev->attempt);
	if (ev->deadline_ms >= 0)
		printf(" revoke in %lld ms", (long long)ev->deadline_ms);
	putchar('\n');
	fflush(stdout);
}

/*
 * 12:00:01.123 state group 2 not viable members 0000:00:05.0 (shpchp,
 *     blocks) 0000:01:01.0 (-)
 */
static void print_state(struct vfg_ctx *ctx, const struct vfg_group_state *st,
			const struct timespec *now, bool json)
{
	const struct vfg_member_state *m;
	char t[40], comm[32];
	struct json j;
	size_t i;

	fmt_time(now, json, t, sizeof(t));
	holder_comm(ctx, st->holder_pid, comm, sizeof(comm));
	if (json) {
		json_doc_begin(&j);
		json_str(&j, "time", t);
		json_str(&j, "event", "state");
		json_int(&j, "group", st->group);
		json_bool(&j, "viable", st->viable);
		json_holder(&j, st->holder_pid, comm);
		json_arr_begin(&j, "members");
		for (i = 0; i < st->n_members; i++) {
			m = &st->members[i];
			json_obj_begin(&j, NULL);
			json_str(&j, "device", m->device);
			json_str_or_null(&j, "driver", m->driver);
			json_bool(&j, "blocks", m->blocks);
			json_str_or_null(&j, "reason", m->blocks ? m->reason : NULL);
			json_obj_end(&j);
		}
		json_end(&j);
		return;
	}
	printf("%s state group %d %s", t, st->group,
	       st->viable ? "viable" : "not viable");
	if (st->holder_pid > 0)
		printf(" holder %d (%s)", st->holder_pid, comm[0] ? comm : "?");
	printf(" members");
	for (i = 0; i < st->n_members; i++) {
		m = &st->members[i];
		printf(" %s (%s%s)", m->device, m->driver[0] ? m->driver : "-",
		       m->blocks ? ", blocks" : "");
	}
	putchar('\n');
	fflush(stdout);
}

/*
 * The watched groups one by one (those the module does not have yet are
 * left out), or every group in one dump.
 */
static int print_states(struct vfg_ctx *ctx, const struct watch *w, bool json)
{
	struct vfg_group_state *st;
	struct timespec now;
	int n, i;

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < w->n_groups; i++) {
		if (!vfg_group_get_state(ctx, w->groups[i], &st)) {
			print_state(ctx, st, &now, json);
			vfg_group_state_free(st);
		} else if (errno != ENODEV) {
			err("cannot read the state of group %d: %s",
			    w->groups[i], strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (w->n_groups)
		return EXIT_OK;
	n = vfg_ctx_get_group_states(ctx, &st);
	if (n < 0) {
		err("cannot read the state of the groups: %s", strerror(errno));
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		print_state(ctx, &st[i], &now, json);
	vfg_group_states_free(st, n);
	return EXIT_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The groups to watch: --group N as given, GROUP|BDF resolved now. */
static int watch_groups(struct vfg_ctx *ctx, const struct opts *o,
			struct watch *w)
{
	int *v = NULL, n = 0, ret, i;

	if (o->nargs) {
		ret = resolve_groups(ctx, o, &v, &n);
		if (ret)
			return ret;
	}
	w->groups = calloc(n + o->n_groups + 1, sizeof(int));
	if (!w->groups) {
		free(v);
		err("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		w->groups[w->n_groups++] = v[i];
	for (i = 0; i < o->n_groups; i++)
		w->groups[w->n_groups++] = o->groups[i];
	free(v);
	return EXIT_OK;
}

int cmd_watch(struct vfg_ctx *ctx, const struct opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	int64_t deadline = 0, left;
	struct vfg_monitor *mon;
	struct watch w = { 0 };
	struct vfg_event ev;
	long seen = 0;
	int ret, r;

	ret = watch_groups(ctx, o, &w);
	if (ret)
		return ret;
	mon = vfg_monitor_new(ctx);
	if (!mon) {
		if (errno == ENOENT) {
			err("the vfio module is not loaded: there are no events to watch");
			hint("load it (modprobe vfio, or insmod vfio.ko) and run '%s watch' again",
			     prog);
			ret = EXIT_UNAVAILABLE;
		} else if (errno == EOPNOTSUPP) {
			err("watch follows the running kernel's events; it cannot watch a --root tree");
			ret = EXIT_USAGE;
		} else {
			err("cannot subscribe to the vfio module's events: %s",
			    strerror(errno));
			ret = EXIT_FAIL;
		}
		free(w.groups);
		return ret;
	}
	/* Subscribed: a state read now misses nothing that follows. */
	if (o->state) {
		ret = print_states(ctx, &w, o->json);
		if (ret)
			goto out;
	}

	stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);	/* no SA_RESTART: poll stops */
	sigaction(SIGTERM, &sa, &old_term);
	if (o->timeout > 0)
		deadline = mono_ms() + (int64_t)(o->timeout * 1000);
	while (!stop && (!o->count || seen < o->count)) {
		left = -1;
		if (deadline) {
			left = deadline - mono_ms();
			if (left <= 0)
				break;
		}
		r = vfg_monitor_next(mon, &ev, left > INT32_MAX ? INT32_MAX :
					       (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				err("events were lost: the kernel sent them faster than they were read");
				continue;
			}
			if (errno == EBADMSG) {
				err("dropped a malformed event from the kernel");
				continue;
			}
			err("reading events: %s", strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		if (!r || !wanted(&w, ev.group))
			continue;
		print_event(ctx, &ev, o->json);
		seen++;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (!ret && !stop && o->count && seen < o->count) {
		err("timed out after %g s with %ld of %ld events", o->timeout,
		    seen, o->count);
		ret = EXIT_TIMEOUT;
	}
out:
	vfg_monitor_free(mon);
	free(w.groups);
	return ret;
}
