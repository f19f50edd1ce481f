// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The module's "vfio_groups" generic netlink family: events on the "events"
 * multicast group, and the state of groups (VFIO_GROUPS_CMD_GET_GROUP).  The
 * ABI is include/uapi/linux/vfio_groups.h; libnl-genl-3 does the sockets,
 * the family lookup and the request plumbing.
 *
 * Every message is checked before it is believed: fixed-size attributes must
 * have their exact size, strings their NUL, and nothing may be left over
 * after the last attribute.  Attributes newer than this library are skipped,
 * so that a newer module still talks to an older library.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/vfio_groups.h>

#include "internal.h"

/* The public header copies the event numbers; they must be the kernel's. */
#define SAME_EVENT(name) \
	_Static_assert((int)VFG_EVENT_##name == (int)VFIO_GROUPS_EVENT_##name, \
		       "VFG_EVENT_" #name " differs from the kernel's")
SAME_EVENT(GROUP_CREATED);
SAME_EVENT(GROUP_DESTROYED);
SAME_EVENT(DEVICE_BOUND);
SAME_EVENT(DEVICE_UNBOUND);
SAME_EVENT(VIABILITY_CHANGED);
SAME_EVENT(RELEASE_REQUESTED);
SAME_EVENT(RELEASED);
SAME_EVENT(REVOKED);
_Static_assert((int)VFIO_GROUPS_EVENT_MAX == (int)VFG_EVENT_REVOKED,
	       "a new kernel event: add it to enum vfg_event_type");

/* Receive buffer: one event is ~100 bytes; a datagram is at most a page. */
#define MON_BUFSZ 32768

/* ---- parsing ------------------------------------------------------------ */

enum attr_kind { K_ANY, K_U8, K_U32, K_U64, K_STR, K_NEST };

static const struct {
	unsigned char kind;
	unsigned short max;	/* K_STR: longest payload with the NUL, 0: any */
} attr_kinds[VFIO_GROUPS_A_MAX + 1] = {
	[VFIO_GROUPS_A_EVENT] = { K_U32, 0 },
	[VFIO_GROUPS_A_GROUP_ID] = { K_U32, 0 },
	[VFIO_GROUPS_A_DEVICE] = { K_STR, VFG_NAME_MAX },
	[VFIO_GROUPS_A_DRIVER] = { K_STR, VFG_NAME_MAX },
	[VFIO_GROUPS_A_VIABLE] = { K_U8, 0 },
	[VFIO_GROUPS_A_HOLDER_PID] = { K_U32, 0 },
	[VFIO_GROUPS_A_ATTEMPT] = { K_U32, 0 },
	[VFIO_GROUPS_A_DEADLINE_MS] = { K_U64, 0 },
	[VFIO_GROUPS_A_MEMBER] = { K_NEST, 0 },
	[VFIO_GROUPS_A_BLOCKS] = { K_U8, 0 },
	[VFIO_GROUPS_A_REASON] = { K_STR, 0 },	/* cut to its buffer */
	[VFIO_GROUPS_A_PAD] = { K_ANY, 0 },
};

static bool attr_ok(const struct nlattr *a, int type)
{
	const char *s = nla_data(a);
	int len = nla_len(a);

	switch (attr_kinds[type].kind) {
	case K_U8:
		return len == 1;
	case K_U32:
		return len == 4;
	case K_U64:
		return len == 8;
	case K_STR:
		return len >= 1 && !s[len - 1] &&
		       (!attr_kinds[type].max || len <= attr_kinds[type].max);
	default:
		return true;
	}
}

/*
 * Check the attributes in @len bytes at @head and index the last one of
 * each known type in @tb.  0, or -1/EBADMSG.
 */
static int parse_attrs(struct nlattr *head, int len,
		       struct nlattr *tb[VFIO_GROUPS_A_MAX + 1])
{
	struct nlattr *a;
	int rem, type;

	memset(tb, 0, sizeof(*tb) * (VFIO_GROUPS_A_MAX + 1));
	nla_for_each_attr(a, head, len, rem) {
		type = nla_type(a);	/* without NLA_F_NESTED */
		if (type > VFIO_GROUPS_A_MAX)
			continue;	/* newer than us */
		if (!attr_ok(a, type))
			goto bad;
		tb[type] = a;
	}
	/* A truncated attribute, or garbage after the last one. */
	if (rem > 0)
		goto bad;
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

/*
 * The attributes of a message of @family with command @cmd: 1 and @tb
 * filled in, 0 if the message is something else, -1/EBADMSG.
 */
static int parse_msg(struct nlmsghdr *nlh, int family, int cmd,
		     struct nlattr *tb[VFIO_GROUPS_A_MAX + 1])
{
	struct genlmsghdr *g;

	if (nlh->nlmsg_type != family)
		return 0;
	if (!genlmsg_valid_hdr(nlh, 0)) {
		errno = EBADMSG;
		return -1;
	}
	g = genlmsg_hdr(nlh);
	if (g->cmd != cmd)
		return 0;
	if (parse_attrs(genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), tb))
		return -1;
	return 1;
}

static void str_attr(char *dst, size_t len, const struct nlattr *a)
{
	vfg_strlcpy(dst, a ? nla_data(a) : "", len);
}

int vfg_nl_parse_event(struct nlmsghdr *nlh, int family, struct vfg_event *ev)
{
	struct nlattr *tb[VFIO_GROUPS_A_MAX + 1];
	int ret = parse_msg(nlh, family, VFIO_GROUPS_CMD_EVENT, tb);

	if (ret <= 0)
		return ret;
	if (!tb[VFIO_GROUPS_A_EVENT] || !tb[VFIO_GROUPS_A_GROUP_ID]) {
		errno = EBADMSG;
		return -1;
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = (int)nla_get_u32(tb[VFIO_GROUPS_A_EVENT]);
	/* The kernel sends -1 as u32 for "group unknown". */
	ev->group = (int)nla_get_u32(tb[VFIO_GROUPS_A_GROUP_ID]);
	str_attr(ev->device, sizeof(ev->device), tb[VFIO_GROUPS_A_DEVICE]);
	str_attr(ev->driver, sizeof(ev->driver), tb[VFIO_GROUPS_A_DRIVER]);
	ev->viable = tb[VFIO_GROUPS_A_VIABLE] ?
		     !!nla_get_u8(tb[VFIO_GROUPS_A_VIABLE]) : -1;
	ev->holder_pid = tb[VFIO_GROUPS_A_HOLDER_PID] ?
			 (int)nla_get_u32(tb[VFIO_GROUPS_A_HOLDER_PID]) : 0;
	ev->attempt = tb[VFIO_GROUPS_A_ATTEMPT] ?
		      nla_get_u32(tb[VFIO_GROUPS_A_ATTEMPT]) : 0;
	ev->deadline_ms = tb[VFIO_GROUPS_A_DEADLINE_MS] ?
			  (int64_t)nla_get_u64(tb[VFIO_GROUPS_A_DEADLINE_MS]) :
			  -1;
	return 1;
}

static void state_clear(struct vfg_group_state *st)
{
	free(st->members);
	st->members = NULL;
	st->n_members = 0;
}

/* One nested VFIO_GROUPS_A_MEMBER into a new entry of @st->members. */
static int parse_member(struct vfg_group_state *st, struct nlattr *nest)
{
	struct nlattr *tb[VFIO_GROUPS_A_MAX + 1];
	struct vfg_member_state *m, *v;

	if (parse_attrs(nla_data(nest), nla_len(nest), tb))
		return -1;
	if (!tb[VFIO_GROUPS_A_DEVICE]) {
		errno = EBADMSG;
		return -1;
	}
	v = vfg_array_add(st->members, &st->n_members, sizeof(*v));
	if (!v)
		return -1;
	st->members = v;
	m = &v[st->n_members - 1];
	str_attr(m->device, sizeof(m->device), tb[VFIO_GROUPS_A_DEVICE]);
	str_attr(m->driver, sizeof(m->driver), tb[VFIO_GROUPS_A_DRIVER]);
	m->blocks = tb[VFIO_GROUPS_A_BLOCKS] ?
		    !!nla_get_u8(tb[VFIO_GROUPS_A_BLOCKS]) : 0;
	str_attr(m->reason, sizeof(m->reason), tb[VFIO_GROUPS_A_REASON]);
	return 0;
}

int vfg_nl_parse_state(struct nlmsghdr *nlh, int family,
		       struct vfg_group_state *st)
{
	struct nlattr *tb[VFIO_GROUPS_A_MAX + 1], *a;
	struct genlmsghdr *g;
	int ret, rem;

	memset(st, 0, sizeof(*st));
	ret = parse_msg(nlh, family, VFIO_GROUPS_CMD_GET_GROUP, tb);
	if (ret <= 0)
		return ret;
	if (!tb[VFIO_GROUPS_A_GROUP_ID] || !tb[VFIO_GROUPS_A_VIABLE]) {
		errno = EBADMSG;
		return -1;
	}
	st->group = (int)nla_get_u32(tb[VFIO_GROUPS_A_GROUP_ID]);
	st->viable = !!nla_get_u8(tb[VFIO_GROUPS_A_VIABLE]);
	st->holder_pid = tb[VFIO_GROUPS_A_HOLDER_PID] ?
			 (int)nla_get_u32(tb[VFIO_GROUPS_A_HOLDER_PID]) : 0;
	/* tb[] keeps one per type; members repeat. */
	g = genlmsg_hdr(nlh);
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0),
			  rem) {
		if (nla_type(a) != VFIO_GROUPS_A_MEMBER)
			continue;
		if (parse_member(st, a)) {
			ret = errno;
			state_clear(st);
			errno = ret;
			return -1;
		}
	}
	return 1;
}

/* ---- sockets ------------------------------------------------------------ */

/* libnl's error codes, for the errors these calls can meet. */
static int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_PERM:
		return EPERM;
	case NLE_INTR:
		return EINTR;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
		return EBADMSG;
	case NLE_NODEV:
		return ENODEV;
	case NLE_INVAL:
		return EINVAL;
	case NLE_PROTO_MISMATCH:
	case NLE_AF_NOSUPPORT:
		return EPROTONOSUPPORT;
	default:
		return EIO;
	}
}

/*
 * A connected generic netlink socket and the family's ID.  The family comes
 * from the running kernel, so a context with a fake root gets ENOENT (no
 * module in its tree) or EOPNOTSUPP: a fake tree has no fake netlink.
 */
static struct nl_sock *family_open(struct vfg_ctx *ctx, int *family)
{
	struct nl_sock *sk;
	int ret;

	if (!vfg_ctx_is_real(ctx)) {
		errno = vfg_ctx_has_module(ctx) ? EOPNOTSUPP : ENOENT;
		return NULL;
	}
	sk = nl_socket_alloc();
	if (!sk) {
		errno = ENOMEM;
		return NULL;
	}
	ret = genl_connect(sk);
	if (ret >= 0) {
		ret = genl_ctrl_resolve(sk, VFIO_GROUPS_GENL_NAME);
		if (ret >= 0) {
			*family = ret;
			return sk;
		}
	}
	nl_socket_free(sk);
	errno = nl_errno(ret);
	return NULL;
}

struct vfg_monitor {
	struct nl_sock *sk;	/* NULL for vfg_monitor_new_fd() */
	int fd;
	int family;
	char *buf;		/* the last datagram ... */
	size_t len;		/* ... its size ... */
	size_t off;		/* ... and the next message in it */
	struct timespec rx;	/* when it came */
};

static struct vfg_monitor *monitor_alloc(int family)
{
	struct vfg_monitor *mon = calloc(1, sizeof(*mon));

	if (!mon)
		return NULL;
	mon->buf = malloc(MON_BUFSZ);
	if (!mon->buf) {
		free(mon);
		return NULL;
	}
	mon->family = family;
	mon->fd = -1;
	return mon;
}

struct vfg_monitor *vfg_monitor_new(struct vfg_ctx *ctx)
{
	struct vfg_monitor *mon;
	struct nl_sock *sk;
	int family, grp, err;

	sk = family_open(ctx, &family);
	if (!sk)
		return NULL;
	grp = genl_ctrl_resolve_grp(sk, VFIO_GROUPS_GENL_NAME,
				    VFIO_GROUPS_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		err = nl_errno(grp);
		goto err_sk;
	}
	err = nl_socket_add_membership(sk, grp);
	if (err < 0) {
		err = nl_errno(err);
		goto err_sk;
	}
	/* Room for bursts (a group of many devices unbound at once). */
	nl_socket_set_buffer_size(sk, 1 << 20, 0);
	mon = monitor_alloc(family);
	if (!mon) {
		err = ENOMEM;
		goto err_sk;
	}
	mon->sk = sk;
	mon->fd = nl_socket_get_fd(sk);
	return mon;
err_sk:
	nl_socket_free(sk);
	errno = err;
	return NULL;
}

struct vfg_monitor *vfg_monitor_new_fd(int fd, int family)
{
	struct vfg_monitor *mon = monitor_alloc(family);

	if (mon)
		mon->fd = fd;
	return mon;
}

void vfg_monitor_free(struct vfg_monitor *mon)
{
	if (!mon)
		return;
	if (mon->sk)
		nl_socket_free(mon->sk);
	free(mon->buf);
	free(mon);
}

int vfg_monitor_get_fd(struct vfg_monitor *mon)
{
	return mon->fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait up to @timeout_ms (-1: for ever) for a datagram and read it into the
 * monitor's buffer.  1: got one; 0: timed out; -1 with errno set.
 */
static int monitor_recv(struct vfg_monitor *mon, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	struct pollfd p = { .fd = mon->fd, .events = POLLIN };
	struct sockaddr_nl from;
	socklen_t fromlen;
	ssize_t n;
	int ret, left = timeout_ms;

	for (;;) {
		ret = poll(&p, 1, left);
		if (ret < 0)
			return -1;
		if (!ret)
			return 0;
		fromlen = sizeof(from);
		n = recvfrom(mon->fd, mon->buf, MON_BUFSZ,
			     MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from,
			     &fromlen);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;	/* ENOBUFS: the socket overran */
		if (n > MON_BUFSZ) {
			errno = EBADMSG;	/* cut: cannot be trusted */
			return -1;
		}
		/* Only the kernel multicasts; ignore other senders. */
		if (n > 0 && (!mon->sk || (fromlen == sizeof(from) &&
					   from.nl_family == AF_NETLINK &&
					   from.nl_pid == 0))) {
			clock_gettime(CLOCK_REALTIME, &mon->rx);
			mon->len = n;
			mon->off = 0;
			return 1;
		}
		if (timeout_ms > 0) {
			left = (int)(deadline - now_ms());
			if (left <= 0)
				return 0;
		}
	}
}

int vfg_monitor_next(struct vfg_monitor *mon, struct vfg_event *ev,
		     int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	struct nlmsghdr *nlh;
	size_t rem;
	int ret, left = timeout_ms;

	for (;;) {
		while (mon->off < mon->len) {
			nlh = (struct nlmsghdr *)(mon->buf + mon->off);
			rem = mon->len - mon->off;
			if (!nlmsg_ok(nlh, (int)rem)) {
				mon->off = mon->len;
				errno = EBADMSG;
				return -1;
			}
			mon->off += NLMSG_ALIGN(nlh->nlmsg_len);
			ret = vfg_nl_parse_event(nlh, mon->family, ev);
			if (!ret)
				continue;
			if (ret < 0)
				return -1;
			ev->time = mon->rx;
			return 1;
		}
		ret = monitor_recv(mon, left);
		if (ret <= 0)
			return ret;
		if (timeout_ms > 0) {
			left = (int)(deadline - now_ms());
			if (left < 0)
				left = 0;
		}
	}
}

const char *vfg_event_type_name(int type)
{
	static const char *const names[] = {
		[VFG_EVENT_GROUP_CREATED] = "group-created",
		[VFG_EVENT_GROUP_DESTROYED] = "group-destroyed",
		[VFG_EVENT_DEVICE_BOUND] = "device-bound",
		[VFG_EVENT_DEVICE_UNBOUND] = "device-unbound",
		[VFG_EVENT_VIABILITY_CHANGED] = "viability-changed",
		[VFG_EVENT_RELEASE_REQUESTED] = "release-requested",
		[VFG_EVENT_RELEASED] = "released",
		[VFG_EVENT_REVOKED] = "revoked",
	};

	if (type <= 0 || (size_t)type >= ARRAY_SIZE(names))
		return "unknown";
	return names[type];
}

/* ---- state requests ----------------------------------------------------- */

struct state_req {
	int family;
	struct vfg_group_state *st;
	size_t n;
	int err;		/* errno of the first failure, 0 if none */
	bool done;
};

static int state_valid(struct nl_msg *msg, void *arg)
{
	struct state_req *r = arg;
	struct vfg_group_state *v;
	int ret;

	v = vfg_array_add(r->st, &r->n, sizeof(*v));
	if (!v) {
		r->err = ENOMEM;
		r->done = true;
		return NL_STOP;
	}
	r->st = v;
	ret = vfg_nl_parse_state(nlmsg_hdr(msg), r->family, &v[r->n - 1]);
	if (ret <= 0)
		r->n--;		/* nothing to free in it */
	if (ret < 0) {
		r->err = errno;
		r->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

static int state_done(struct nl_msg *msg, void *arg)
{
	struct state_req *r = arg;

	(void)msg;
	r->done = true;
	return NL_STOP;
}

static int state_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct state_req *r = arg;

	(void)nla;
	if (!r->err)
		r->err = -e->error;
	r->done = true;
	return NL_STOP;
}

/*
 * GET_GROUP for @group, or a dump when @group is -1.  The number of states
 * in *@states, or -1 with errno set.
 */
static int state_request(struct vfg_ctx *ctx, int group,
			 struct vfg_group_state **states)
{
	struct state_req r = { 0 };
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	struct nl_sock *sk;
	int ret;

	*states = NULL;
	sk = family_open(ctx, &r.family);
	if (!sk)
		return -1;
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		r.err = ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, r.family, 0,
			 group < 0 ? NLM_F_DUMP : 0, VFIO_GROUPS_CMD_GET_GROUP,
			 VFIO_GROUPS_GENL_VERSION) ||
	    (group >= 0 && nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, group))) {
		r.err = ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, state_valid, &r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, state_done, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, state_done, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, state_error, &r);
	ret = nl_send_auto(sk, msg);	/* with NLM_F_ACK */
	if (ret < 0) {
		r.err = nl_errno(ret);
		goto out;
	}
	while (!r.done) {
		ret = nl_recvmsgs(sk, cb);
		if (ret < 0 && !r.err) {
			r.err = nl_errno(ret);
			break;
		}
	}
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	nl_socket_free(sk);
	if (r.err) {
		vfg_group_states_free(r.st, (int)r.n);
		errno = r.err;
		return -1;
	}
	*states = r.st;
	return (int)r.n;
}

int vfg_group_get_state(struct vfg_ctx *ctx, int group,
			struct vfg_group_state **state)
{
	struct vfg_group_state *st;
	int n;

	*state = NULL;
	if (group < 0) {
		errno = EINVAL;
		return -1;
	}
	n = state_request(ctx, group, &st);
	if (n < 0)
		return -1;
	if (n != 1) {
		vfg_group_states_free(st, n);
		errno = EBADMSG;	/* an ACK without the state */
		return -1;
	}
	*state = st;
	return 0;
}

void vfg_group_state_free(struct vfg_group_state *state)
{
	vfg_group_states_free(state, state ? 1 : 0);
}

int vfg_ctx_get_group_states(struct vfg_ctx *ctx,
			     struct vfg_group_state **states)
{
	return state_request(ctx, -1, states);
}

void vfg_group_states_free(struct vfg_group_state *states, int n)
{
	int i;

	if (!states)
		return;
	for (i = 0; i < n; i++)
		state_clear(&states[i]);
	free(states);
}
