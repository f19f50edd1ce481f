// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "vfio_groups" generic netlink family: events about groups and devices
 * on the "events" multicast group, and the state of groups on request.  The
 * ABI is include/uapi/linux/vfio_groups.h.
 *
 * Events are built only when someone listens.  Nothing here takes a lock of
 * its own; callers may hold vfg.lock or a group's lock (GFP_KERNEL: they all
 * sleep).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/vfio_groups.h>

#include "vfio.h"

static const struct nla_policy vfg_nl_policy[VFIO_GROUPS_A_MAX + 1] = {
	[VFIO_GROUPS_A_GROUP_ID] = { .type = NLA_U32 },
};

static int vfg_nl_get_group(struct sk_buff *skb, struct genl_info *info);
static int vfg_nl_dump_groups(struct sk_buff *skb,
			      struct netlink_callback *cb);

static const struct genl_small_ops vfg_nl_ops[] = {
	{
		.cmd = VFIO_GROUPS_CMD_GET_GROUP,
		.doit = vfg_nl_get_group,
		.dumpit = vfg_nl_dump_groups,
	},
};

static const struct genl_multicast_group vfg_nl_mcgrps[] = {
	{ .name = VFIO_GROUPS_GENL_MCGRP_EVENTS },
};

static struct genl_family vfg_nl_family __ro_after_init = {
	.name = VFIO_GROUPS_GENL_NAME,
	.version = VFIO_GROUPS_GENL_VERSION,
	.maxattr = VFIO_GROUPS_A_MAX,
	.policy = vfg_nl_policy,
	.module = THIS_MODULE,
	.small_ops = vfg_nl_ops,
	.n_small_ops = ARRAY_SIZE(vfg_nl_ops),
	.resv_start_op = VFIO_GROUPS_CMD_GET_GROUP,
	.mcgrps = vfg_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vfg_nl_mcgrps),
};

static int vfg_nl_get_group(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VFIO_GROUPS_A_GROUP_ID))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vfg_nl_family, 0,
				VFIO_GROUPS_CMD_GET_GROUP);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err;
	}
	ret = vfg_group_fill_state(msg, nla_get_u32(info->attrs[VFIO_GROUPS_A_GROUP_ID]),
				   info->extack);
	if (ret)
		goto err;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: how many groups the dump has already returned. */
static int vfg_nl_dump_groups(struct sk_buff *skb, struct netlink_callback *cb)
{
	int id, idx = 0, ret;
	void *hdr;

	for (id = vfg_group_next_id(-1); id >= 0; id = vfg_group_next_id(id)) {
		if (idx++ < cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vfg_nl_family,
				  NLM_F_MULTI, VFIO_GROUPS_CMD_GET_GROUP);
		if (!hdr)
			break;
		ret = vfg_group_fill_state(skb, id, NULL);
		if (ret == -ENODEV) {	/* went away meanwhile */
			genlmsg_cancel(skb, hdr);
			cb->args[0]++;
			continue;
		}
		if (ret) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0]++;
	}
	return skb->len;
}

/**
 * vfg_nl_event() - multicast one event
 * @ev: the event and its attributes; unset fields are left out
 *
 * Does nothing when nobody listens.
 */
void vfg_nl_event(const struct vfg_nl_event *ev)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&vfg_nl_family, &init_net, 0))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &vfg_nl_family, 0, VFIO_GROUPS_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, VFIO_GROUPS_A_EVENT, ev->event) ||
	    nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, ev->group_id) ||
	    (ev->device && nla_put_string(msg, VFIO_GROUPS_A_DEVICE,
					  ev->device)) ||
	    (ev->driver && nla_put_string(msg, VFIO_GROUPS_A_DRIVER,
					  ev->driver)) ||
	    (ev->viable >= 0 && nla_put_u8(msg, VFIO_GROUPS_A_VIABLE,
					   ev->viable)) ||
	    (ev->holder && nla_put_u32(msg, VFIO_GROUPS_A_HOLDER_PID,
				       pid_nr(ev->holder))) ||
	    (ev->attempt && nla_put_u32(msg, VFIO_GROUPS_A_ATTEMPT,
					ev->attempt)) ||
	    (ev->deadline_ms >= 0 &&
	     nla_put_u64_64bit(msg, VFIO_GROUPS_A_DEADLINE_MS,
			       ev->deadline_ms, VFIO_GROUPS_A_PAD)))
		goto err;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vfg_nl_family, msg, 0, 0, GFP_KERNEL);
	return;
err:
	nlmsg_free(msg);
}

/**
 * vfg_nl_put_member() - one nested member of a group state message
 * @msg: the message
 * @dev: the member
 * @driver: its driver's name ("" for none)
 * @reason: why it blocks viability, or NULL
 *
 * Return: 0 or -EMSGSIZE.
 */
int vfg_nl_put_member(struct sk_buff *msg, const char *dev, const char *driver,
		      const char *reason)
{
	struct nlattr *nest = nla_nest_start(msg, VFIO_GROUPS_A_MEMBER);

	if (!nest ||
	    nla_put_string(msg, VFIO_GROUPS_A_DEVICE, dev) ||
	    nla_put_string(msg, VFIO_GROUPS_A_DRIVER, driver) ||
	    nla_put_u8(msg, VFIO_GROUPS_A_BLOCKS, !!reason) ||
	    (reason && nla_put_string(msg, VFIO_GROUPS_A_REASON, reason))) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/**
 * vfg_nl_init() - register the family
 *
 * Return: 0 or a negative errno.
 */
int vfg_nl_init(void)
{
	return genl_register_family(&vfg_nl_family);
}

/**
 * vfg_nl_exit() - unregister the family
 */
void vfg_nl_exit(void)
{
	genl_unregister_family(&vfg_nl_family);
}
