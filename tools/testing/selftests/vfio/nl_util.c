// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nl_util.h"

#define BUFSZ 16384

static int attr_put(char *buf, int off, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)(buf + off);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy(buf + off + NLA_HDRLEN, data, len);
	return off + NLA_ALIGN(a->nla_len);
}

/* Send one request: genl header + @attrs. */
static int nl_send(struct vfg_nl *nl, int family, int cmd, int flags,
		   const void *attrs, int len)
{
	char buf[512];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	if (len < 0 || (size_t)len > sizeof(buf) - NLMSG_HDRLEN - GENL_HDRLEN)
		return -EINVAL;
	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + len;
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g->cmd = cmd;
	g->version = 1;
	memcpy(buf + NLMSG_HDRLEN + GENL_HDRLEN, attrs, len);
	if (sendto(nl->fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	return 0;
}

static struct nlattr *attr_next(struct nlattr *a, int *rem)
{
	int l = NLA_ALIGN(a->nla_len);

	*rem -= l;
	return (struct nlattr *)((char *)a + l);
}

#define for_each_attr(a, start, len, rem) \
	for (a = (struct nlattr *)(start), rem = (len); \
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && \
	     a->nla_len <= rem; a = attr_next(a, &rem))

static int attr_type(struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

static void *attr_data(struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

static void attr_str(struct nlattr *a, char *out, size_t n)
{
	snprintf(out, n, "%.*s", (int)(a->nla_len - NLA_HDRLEN),
		 (char *)attr_data(a));
}

/*
 * The one receive loop: each message of each datagram goes to @fn until @fn
 * returns something other than NL_MORE, which is returned.  -errno when recv
 * or poll fails; with @ms >= 0, 0 when no datagram comes for @ms.  With
 * @record, the datagrams are kept for vfg_nl_last_reply().
 */
#define NL_MORE INT_MAX
typedef int (*nl_msg_fn)(struct vfg_nl *nl, struct nlmsghdr *nlh, void *arg);

static char reply[4 * BUFSZ];
static size_t reply_len;

static int recv_each(struct vfg_nl *nl, int ms, bool record, nl_msg_fn fn,
		     void *arg)
{
	struct pollfd p = { .fd = nl->fd, .events = POLLIN };
	static char buf[BUFSZ];
	struct nlmsghdr *nlh;
	int len, ret;

	if (record)
		reply_len = 0;
	for (;;) {
		ret = ms < 0 ? 1 : poll(&p, 1, ms);
		if (ret < 0)
			return -errno;
		if (!ret)
			return 0;
		len = recv(nl->fd, buf, sizeof(buf), 0);
		if (len < 0)
			return -errno;
		if (record && reply_len + len <= sizeof(reply)) {
			memcpy(reply + reply_len, buf, len);
			reply_len += len;
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			ret = fn(nl, nlh, arg);
			if (ret != NL_MORE)
				return ret;
		}
	}
}

/* nlctrl's answer: the family ID and the events group. */
static int resolve_msg(struct vfg_nl *nl, struct nlmsghdr *nlh, void *arg)
{
	char name[32];
	struct nlattr *a, *g, *m;
	int rem, rem2, rem3, ret;

	(void)arg;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		ret = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
		if (ret)
			return ret;
		return nl->family ? 0 : -ENOENT;
	}
	for_each_attr(a, (char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
		      nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, rem) {
		if (attr_type(a) == CTRL_ATTR_FAMILY_ID)
			nl->family = *(uint16_t *)attr_data(a);
		if (attr_type(a) != CTRL_ATTR_MCAST_GROUPS)
			continue;
		for_each_attr(g, attr_data(a), a->nla_len - NLA_HDRLEN, rem2) {
			int id = -1;

			name[0] = 0;
			for_each_attr(m, attr_data(g), g->nla_len - NLA_HDRLEN,
				      rem3) {
				if (attr_type(m) == CTRL_ATTR_MCAST_GRP_NAME)
					attr_str(m, name, sizeof(name));
				if (attr_type(m) == CTRL_ATTR_MCAST_GRP_ID)
					id = *(uint32_t *)attr_data(m);
			}
			if (!strcmp(name, VFIO_GROUPS_GENL_MCGRP_EVENTS))
				nl->mcgrp = id;
		}
	}
	return NL_MORE;
}

/* Resolve the family ID and the events group through nlctrl. */
static int resolve(struct vfg_nl *nl)
{
	char req[64];
	int off, ret;

	off = attr_put(req, 0, CTRL_ATTR_FAMILY_NAME, VFIO_GROUPS_GENL_NAME,
		       sizeof(VFIO_GROUPS_GENL_NAME));
	ret = nl_send(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, req, off);
	return ret ? ret : recv_each(nl, -1, false, resolve_msg, NULL);
}

int vfg_nl_open(struct vfg_nl *nl, bool subscribe)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->mcgrp = -1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto err_errno;
	ret = resolve(nl);
	if (ret)
		goto err;
	if (subscribe) {
		if (nl->mcgrp < 0) {
			ret = -ENOENT;
			goto err;
		}
		if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
			       &nl->mcgrp, sizeof(nl->mcgrp)))
			goto err_errno;
	}
	return 0;
err_errno:
	ret = -errno;
err:
	close(nl->fd);
	nl->fd = -1;
	return ret;
}

void vfg_nl_close(struct vfg_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static void parse_event(struct nlmsghdr *nlh, struct vfg_nl_ev *ev)
{
	struct nlattr *a;
	int rem;

	memset(ev, 0, sizeof(*ev));
	ev->viable = -1;
	ev->deadline_ms = -1;
	ev->group = -1;
	for_each_attr(a, (char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
		      nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, rem) {
		switch (attr_type(a)) {
		case VFIO_GROUPS_A_EVENT:
			ev->event = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_GROUP_ID:
			ev->group = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_DEVICE:
			attr_str(a, ev->device, sizeof(ev->device));
			break;
		case VFIO_GROUPS_A_DRIVER:
			attr_str(a, ev->driver, sizeof(ev->driver));
			break;
		case VFIO_GROUPS_A_VIABLE:
			ev->viable = *(uint8_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_HOLDER_PID:
			ev->holder = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_ATTEMPT:
			ev->attempt = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_DEADLINE_MS:
			memcpy(&ev->deadline_ms, attr_data(a), 8);
			break;
		}
	}
}

static int event_msg(struct vfg_nl *nl, struct nlmsghdr *nlh, void *ev)
{
	if (nlh->nlmsg_type != nl->family ||
	    ((struct genlmsghdr *)NLMSG_DATA(nlh))->cmd != VFIO_GROUPS_CMD_EVENT)
		return NL_MORE;
	parse_event(nlh, ev);
	return 1;	/* one event per multicast datagram */
}

int vfg_nl_next(struct vfg_nl *nl, int ms, struct vfg_nl_ev *ev)
{
	return recv_each(nl, ms, false, event_msg, ev);
}

int vfg_nl_wait(struct vfg_nl *nl, int type, const char *device, int ms,
		struct vfg_nl_ev *ev)
{
	struct vfg_nl_ev tmp;

	if (!ev)
		ev = &tmp;
	while (vfg_nl_next(nl, ms, ev) == 1)
		if (ev->event == type && (!device || !strcmp(device, ev->device)))
			return 0;
	return -ETIMEDOUT;
}

static void parse_state(struct nlmsghdr *nlh, struct vfg_nl_state *st)
{
	struct nlattr *a, *m;
	int rem, rem2;

	memset(st, 0, sizeof(*st));
	st->viable = -1;
	for_each_attr(a, (char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
		      nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, rem) {
		struct vfg_nl_member *mem;

		switch (attr_type(a)) {
		case VFIO_GROUPS_A_GROUP_ID:
			st->group = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_VIABLE:
			st->viable = *(uint8_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_HOLDER_PID:
			st->holder = *(uint32_t *)attr_data(a);
			break;
		case VFIO_GROUPS_A_MEMBER:
			if (st->nr_members >= 8)
				break;
			mem = &st->members[st->nr_members++];
			for_each_attr(m, attr_data(a), a->nla_len - NLA_HDRLEN,
				      rem2) {
				if (attr_type(m) == VFIO_GROUPS_A_DEVICE)
					attr_str(m, mem->device,
						 sizeof(mem->device));
				if (attr_type(m) == VFIO_GROUPS_A_DRIVER)
					attr_str(m, mem->driver,
						 sizeof(mem->driver));
				if (attr_type(m) == VFIO_GROUPS_A_BLOCKS)
					mem->blocks = *(uint8_t *)attr_data(m);
				if (attr_type(m) == VFIO_GROUPS_A_REASON)
					attr_str(m, mem->reason,
						 sizeof(mem->reason));
			}
			break;
		}
	}
}

const void *vfg_nl_last_reply(size_t *len)
{
	*len = reply_len;
	return reply;
}

struct collect {
	struct vfg_nl_state *st;
	int max, n;
};

static int collect_msg(struct vfg_nl *nl, struct nlmsghdr *nlh, void *arg)
{
	struct collect *c = arg;
	int err;

	if (nlh->nlmsg_seq != nl->seq)
		return NL_MORE;	/* an event, or stale */
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		err = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
		return err ? err : c->n;
	}
	if (nlh->nlmsg_type == NLMSG_DONE)
		return c->n;
	if (nlh->nlmsg_type == nl->family && c->n < c->max)
		parse_state(nlh, &c->st[c->n++]);
	return NL_MORE;
}

/* Read replies to the last request until its ACK/DONE; -errno or count. */
static int collect(struct vfg_nl *nl, struct vfg_nl_state *st, int max)
{
	struct collect c = { .st = st, .max = max };

	return recv_each(nl, -1, true, collect_msg, &c);
}

int vfg_nl_get_raw(struct vfg_nl *nl, const void *attrs, int len,
		   struct vfg_nl_state *st)
{
	int ret = nl_send(nl, nl->family, VFIO_GROUPS_CMD_GET_GROUP, 0, attrs,
			  len);

	if (ret)
		return ret;
	ret = collect(nl, st, 1);
	return ret < 0 ? ret : ret == 1 ? 0 : -ENODATA;
}

int vfg_nl_get_group(struct vfg_nl *nl, int group, struct vfg_nl_state *st)
{
	char attrs[16];
	uint32_t id = group;
	int len = attr_put(attrs, 0, VFIO_GROUPS_A_GROUP_ID, &id, 4);

	return vfg_nl_get_raw(nl, attrs, len, st);
}

int vfg_nl_dump(struct vfg_nl *nl, struct vfg_nl_state *st, int max)
{
	int ret = nl_send(nl, nl->family, VFIO_GROUPS_CMD_GET_GROUP, NLM_F_DUMP,
			  NULL, 0);

	return ret ? ret : collect(nl, st, max);
}

const char *vfg_nl_event_name(int event)
{
	static const char *const names[] = {
		"unspec", "group-created", "group-destroyed", "device-bound",
		"device-unbound", "viability-changed", "release-requested",
		"released", "revoked",
	};

	return event >= 0 && event <= VFIO_GROUPS_EVENT_MAX ? names[event] :
							      "unknown";
}
