// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The netlink side without a kernel: messages built with libnl as the
 * module builds them (and broken in the ways a parser must survive) go to
 * the library's parsers, and through a socketpair to a monitor.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>
#include <linux/vfio_groups.h>

#include "internal.h"
#include "fakesys.h"
#include "suites.h"

#define FAMILY 0x1d	/* any ID: the parsers take it as given */

static struct nl_msg *msg;

static void setup(void)
{
	msg = nlmsg_alloc();
	ck_assert_ptr_nonnull(msg);
}

static void teardown(void)
{
	nlmsg_free(msg);
}

static struct nl_msg *start(int family, int cmd)
{
	ck_assert_ptr_nonnull(genlmsg_put(msg, 0, 0, family, 0, 0, cmd,
					  VFIO_GROUPS_GENL_VERSION));
	return msg;
}

static struct nlmsghdr *hdr(void)
{
	return nlmsg_hdr(msg);
}

/* The event vfg_nl_event() sends for a device bound to vfio-pci. */
static void put_bound(struct nl_msg *m)
{
	ck_assert_int_eq(nla_put_u32(m, VFIO_GROUPS_A_EVENT,
				     VFIO_GROUPS_EVENT_DEVICE_BOUND), 0);
	ck_assert_int_eq(nla_put_u32(m, VFIO_GROUPS_A_GROUP_ID, 7), 0);
	ck_assert_int_eq(nla_put_string(m, VFIO_GROUPS_A_DEVICE,
					"0000:02:00.0"), 0);
	ck_assert_int_eq(nla_put_string(m, VFIO_GROUPS_A_DRIVER, "vfio-pci"),
			 0);
}

/* Parse the current message as an event: the return value, errno on -1. */
static int parse_ev(struct vfg_event *ev)
{
	errno = 0;
	return vfg_nl_parse_event(hdr(), FAMILY, ev);
}

START_TEST(test_event_bound)
{
	struct vfg_event ev;

	put_bound(start(FAMILY, VFIO_GROUPS_CMD_EVENT));
	ck_assert_int_eq(parse_ev(&ev), 1);
	ck_assert_int_eq(ev.type, VFG_EVENT_DEVICE_BOUND);
	ck_assert_int_eq(ev.group, 7);
	ck_assert_str_eq(ev.device, "0000:02:00.0");
	ck_assert_str_eq(ev.driver, "vfio-pci");
	ck_assert_int_eq(ev.viable, -1);
	ck_assert_int_eq(ev.holder_pid, 0);
	ck_assert_uint_eq(ev.attempt, 0);
	ck_assert_int_eq(ev.deadline_ms, -1);
	ck_assert_str_eq(vfg_event_type_name(ev.type), "device-bound");
}
END_TEST

/* Every optional attribute, as a release request with a timeout has them. */
START_TEST(test_event_release_requested)
{
	struct vfg_event ev;

	start(FAMILY, VFIO_GROUPS_CMD_EVENT);
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_EVENT,
				     VFIO_GROUPS_EVENT_RELEASE_REQUESTED), 0);
	/* The kernel puts -1 when it does not know the group. */
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, -1), 0);
	ck_assert_int_eq(nla_put_string(msg, VFIO_GROUPS_A_DEVICE,
					"0000:00:04.0"), 0);
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_HOLDER_PID, 4242), 0);
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_ATTEMPT, 3), 0);
	ck_assert_int_eq(nla_put_u64(msg, VFIO_GROUPS_A_DEADLINE_MS,
				     5000000000ULL), 0);
	ck_assert_int_eq(nla_put_u8(msg, VFIO_GROUPS_A_VIABLE, 1), 0);
	ck_assert_int_eq(parse_ev(&ev), 1);
	ck_assert_int_eq(ev.type, VFG_EVENT_RELEASE_REQUESTED);
	ck_assert_int_eq(ev.group, -1);
	ck_assert_str_eq(ev.device, "0000:00:04.0");
	ck_assert_str_eq(ev.driver, "");
	ck_assert_int_eq(ev.viable, 1);
	ck_assert_int_eq(ev.holder_pid, 4242);
	ck_assert_uint_eq(ev.attempt, 3);
	ck_assert_int_eq(ev.deadline_ms, 5000000000LL);
}
END_TEST

/* Attributes and event numbers from a newer module pass through. */
START_TEST(test_event_newer_kernel)
{
	struct vfg_event ev;

	start(FAMILY, VFIO_GROUPS_CMD_EVENT);
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_EVENT, 42), 0);
	ck_assert_int_eq(nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, 1), 0);
	ck_assert_int_eq(nla_put(msg, VFIO_GROUPS_A_MAX + 3, 3, "xyz"), 0);
	ck_assert_int_eq(nla_put_u8(msg, VFIO_GROUPS_A_VIABLE, 0), 0);
	ck_assert_int_eq(parse_ev(&ev), 1);
	ck_assert_int_eq(ev.type, 42);
	ck_assert_int_eq(ev.viable, 0);
	ck_assert_str_eq(vfg_event_type_name(ev.type), "unknown");
}
END_TEST

START_TEST(test_event_not_ours)
{
	struct vfg_event ev;

	put_bound(start(FAMILY + 1, VFIO_GROUPS_CMD_EVENT));
	ck_assert_int_eq(parse_ev(&ev), 0);
	nlmsg_free(msg);
	msg = nlmsg_alloc();
	/* A state reply is not an event, and an event is not a state. */
	put_bound(start(FAMILY, VFIO_GROUPS_CMD_GET_GROUP));
	ck_assert_int_eq(parse_ev(&ev), 0);
}
END_TEST

/*
 * One table of broken events: what is wrong, and how to break it.  Each
 * must be refused with EBADMSG and never half-parsed.
 */
enum breakage {
	NO_EVENT, NO_GROUP, U32_SHORT, U32_LONG, U8_LONG, U64_SHORT,
	STR_NO_NUL, STR_EMPTY, STR_TOO_LONG, TRUNCATED_ATTR, TRAILING_BYTES,
	SHORT_GENL_HDR,
};

static void put_broken(enum breakage b)
{
	uint64_t big = 0;
	char long_name[VFG_NAME_MAX + 8];

	start(FAMILY, VFIO_GROUPS_CMD_EVENT);
	if (b != NO_EVENT && b != U32_SHORT && b != U32_LONG)
		nla_put_u32(msg, VFIO_GROUPS_A_EVENT,
			    VFIO_GROUPS_EVENT_DEVICE_BOUND);
	if (b != NO_GROUP)
		nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, 3);
	switch (b) {
	case U32_SHORT:
		nla_put_u16(msg, VFIO_GROUPS_A_EVENT, 3);
		break;
	case U32_LONG:
		nla_put_u64(msg, VFIO_GROUPS_A_EVENT, 3);
		break;
	case U8_LONG:
		nla_put_u32(msg, VFIO_GROUPS_A_VIABLE, 1);
		break;
	case U64_SHORT:
		nla_put(msg, VFIO_GROUPS_A_DEADLINE_MS, 4, &big);
		break;
	case STR_NO_NUL:
		nla_put(msg, VFIO_GROUPS_A_DEVICE, 12, "0000:02:00.0");
		break;
	case STR_EMPTY:
		nla_put(msg, VFIO_GROUPS_A_DRIVER, 0, NULL);
		break;
	case STR_TOO_LONG:
		memset(long_name, 'x', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		nla_put_string(msg, VFIO_GROUPS_A_DRIVER, long_name);
		break;
	case TRUNCATED_ATTR:
		nla_put_string(msg, VFIO_GROUPS_A_DEVICE, "0000:02:00.0");
		hdr()->nlmsg_len -= 8;	/* the message ends inside it */
		break;
	case TRAILING_BYTES:
		nla_put_string(msg, VFIO_GROUPS_A_DEVICE, "0000:02:00.0");
		/* Zeroes: too short for an attribute header's length. */
		memset(nlmsg_reserve(msg, 4, 4), 0, 4);
		break;
	case SHORT_GENL_HDR:
		hdr()->nlmsg_len = NLMSG_HDRLEN + 2;
		break;
	default:
		break;
	}
}

START_TEST(test_event_malformed)
{
	struct vfg_event ev;

	put_broken(_i);
	ck_assert_int_eq(parse_ev(&ev), -1);
	ck_assert_int_eq(errno, EBADMSG);
}
END_TEST

/* A group state as vfg_group_fill_state() builds it. */
static void put_member(struct nl_msg *m, const char *dev, const char *drv,
		       const char *reason)
{
	struct nlattr *nest = nla_nest_start(m, VFIO_GROUPS_A_MEMBER);

	ck_assert_ptr_nonnull(nest);
	nla_put_string(m, VFIO_GROUPS_A_DEVICE, dev);
	nla_put_string(m, VFIO_GROUPS_A_DRIVER, drv);
	nla_put_u8(m, VFIO_GROUPS_A_BLOCKS, !!reason);
	if (reason)
		nla_put_string(m, VFIO_GROUPS_A_REASON, reason);
	nla_nest_end(m, nest);
}

static void put_state_head(int group, int viable, int holder)
{
	start(FAMILY, VFIO_GROUPS_CMD_GET_GROUP);
	nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, group);
	nla_put_u8(msg, VFIO_GROUPS_A_VIABLE, viable);
	if (holder)
		nla_put_u32(msg, VFIO_GROUPS_A_HOLDER_PID, holder);
}

START_TEST(test_state_members)
{
	struct vfg_group_state st;
	char reason[300];

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	put_state_head(2, 0, 321);
	put_member(msg, "0000:00:05.0", "shpchp",
		   "bound to a driver that does DMA through the kernel DMA API");
	put_member(msg, "0000:01:01.0", "", NULL);
	put_member(msg, "0000:01:02.0", "uio_pci_generic", reason);
	ck_assert_int_eq(vfg_nl_parse_state(hdr(), FAMILY, &st), 1);
	ck_assert_int_eq(st.group, 2);
	ck_assert_int_eq(st.viable, 0);
	ck_assert_int_eq(st.holder_pid, 321);
	ck_assert_uint_eq(st.n_members, 3);
	ck_assert_str_eq(st.members[0].device, "0000:00:05.0");
	ck_assert_str_eq(st.members[0].driver, "shpchp");
	ck_assert_int_eq(st.members[0].blocks, 1);
	ck_assert_str_eq(st.members[0].reason,
			 "bound to a driver that does DMA through the kernel DMA API");
	ck_assert_str_eq(st.members[1].driver, "");
	ck_assert_int_eq(st.members[1].blocks, 0);
	ck_assert_str_eq(st.members[1].reason, "");
	/* A long reason is cut to its buffer, not refused. */
	ck_assert_uint_eq(strlen(st.members[2].reason),
			  sizeof(st.members[2].reason) - 1);
	free(st.members);
}
END_TEST

/* The same member with and without NLA_F_NESTED (old libnl, old kernels). */
START_TEST(test_state_nested_flag)
{
	struct vfg_group_state st;
	struct nl_msg *inner = nlmsg_alloc();
	int flag;

	ck_assert_ptr_nonnull(inner);
	nla_put_string(inner, VFIO_GROUPS_A_DEVICE, "0000:00:04.0");
	nla_put_string(inner, VFIO_GROUPS_A_DRIVER, "vfio-pci");
	nla_put_u8(inner, VFIO_GROUPS_A_BLOCKS, 0);
	for (flag = 0; flag < 2; flag++) {
		nlmsg_free(msg);
		msg = nlmsg_alloc();
		put_state_head(1, 1, 0);
		ck_assert_int_eq(nla_put(msg, VFIO_GROUPS_A_MEMBER |
					 (flag ? NLA_F_NESTED : 0),
					 nlmsg_datalen(nlmsg_hdr(inner)),
					 nlmsg_data(nlmsg_hdr(inner))), 0);
		ck_assert_int_eq(vfg_nl_parse_state(hdr(), FAMILY, &st), 1);
		ck_assert_int_eq(st.viable, 1);
		ck_assert_int_eq(st.holder_pid, 0);
		ck_assert_uint_eq(st.n_members, 1);
		ck_assert_str_eq(st.members[0].device, "0000:00:04.0");
		ck_assert_str_eq(st.members[0].driver, "vfio-pci");
		free(st.members);
	}
	nlmsg_free(inner);
}
END_TEST

START_TEST(test_state_no_members)
{
	struct vfg_group_state st;

	put_state_head(9, 1, 0);
	ck_assert_int_eq(vfg_nl_parse_state(hdr(), FAMILY, &st), 1);
	ck_assert_uint_eq(st.n_members, 0);
	ck_assert_ptr_null(st.members);
	nlmsg_free(msg);
	msg = nlmsg_alloc();
	put_bound(start(FAMILY, VFIO_GROUPS_CMD_EVENT));
	ck_assert_int_eq(vfg_nl_parse_state(hdr(), FAMILY, &st), 0);
}
END_TEST

enum state_breakage {
	ST_NO_VIABLE, ST_NO_GROUP, ST_MEMBER_NO_DEVICE, ST_MEMBER_BAD_BLOCKS,
	ST_MEMBER_TRAILING, ST_MEMBER_DEVICE_NO_NUL,
};

START_TEST(test_state_malformed)
{
	struct vfg_group_state st = { .n_members = 99 };
	struct nlattr *nest;

	start(FAMILY, VFIO_GROUPS_CMD_GET_GROUP);
	if (_i != ST_NO_GROUP)
		nla_put_u32(msg, VFIO_GROUPS_A_GROUP_ID, 4);
	if (_i != ST_NO_VIABLE)
		nla_put_u8(msg, VFIO_GROUPS_A_VIABLE, 1);
	/* A good member first: a failure later must free it. */
	put_member(msg, "0000:00:04.0", "vfio-pci", NULL);
	nest = nla_nest_start(msg, VFIO_GROUPS_A_MEMBER);
	switch (_i) {
	case ST_MEMBER_NO_DEVICE:
		nla_put_string(msg, VFIO_GROUPS_A_DRIVER, "e1000e");
		break;
	case ST_MEMBER_BAD_BLOCKS:
		nla_put_string(msg, VFIO_GROUPS_A_DEVICE, "0000:00:06.0");
		nla_put_u16(msg, VFIO_GROUPS_A_BLOCKS, 1);
		break;
	case ST_MEMBER_TRAILING:
		/* Inside the nest, after its last attribute. */
		nla_put_string(msg, VFIO_GROUPS_A_DEVICE, "0000:00:06.0");
		memset(nlmsg_reserve(msg, 4, 4), 0, 4);
		break;
	case ST_MEMBER_DEVICE_NO_NUL:
		nla_put(msg, VFIO_GROUPS_A_DEVICE, 4, "0000");
		break;
	default:
		nla_put_string(msg, VFIO_GROUPS_A_DEVICE, "0000:00:06.0");
		break;
	}
	nla_nest_end(msg, nest);
	errno = 0;
	ck_assert_int_eq(vfg_nl_parse_state(hdr(), FAMILY, &st), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_null(st.members);
	ck_assert_uint_eq(st.n_members, 0);
}
END_TEST

/* ---- the monitor, on a socketpair ---------------------------------------- */

static int sv[2] = { -1, -1 };

static void mon_setup(void)
{
	setup();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
}

static void mon_teardown(void)
{
	teardown();
	close(sv[0]);
	close(sv[1]);
}

/* Send @n messages (full nlmsghdr each) as one datagram. */
static void send_msgs(struct nl_msg **m, int n)
{
	char buf[4096];
	size_t len = 0, l;
	int i;

	for (i = 0; i < n; i++) {
		l = NLMSG_ALIGN(nlmsg_hdr(m[i])->nlmsg_len);
		ck_assert_uint_le(len + l, sizeof(buf));
		memcpy(buf + len, nlmsg_hdr(m[i]), nlmsg_hdr(m[i])->nlmsg_len);
		memset(buf + len + nlmsg_hdr(m[i])->nlmsg_len, 0,
		       l - nlmsg_hdr(m[i])->nlmsg_len);
		len += l;
	}
	ck_assert_int_eq(send(sv[1], buf, len, 0), (ssize_t)len);
}

static struct nl_msg *event_msg(int type, int group, const char *dev)
{
	struct nl_msg *m = nlmsg_alloc();

	ck_assert_ptr_nonnull(m);
	genlmsg_put(m, 0, 0, FAMILY, 0, 0, VFIO_GROUPS_CMD_EVENT, 1);
	nla_put_u32(m, VFIO_GROUPS_A_EVENT, type);
	nla_put_u32(m, VFIO_GROUPS_A_GROUP_ID, group);
	if (dev)
		nla_put_string(m, VFIO_GROUPS_A_DEVICE, dev);
	return m;
}

START_TEST(test_monitor_datagrams)
{
	struct vfg_monitor *mon = vfg_monitor_new_fd(sv[0], FAMILY);
	struct nl_msg *m[3];
	struct timespec t0, t1;
	struct vfg_event ev;
	int i;

	ck_assert_ptr_nonnull(mon);
	ck_assert_int_eq(vfg_monitor_get_fd(mon), sv[0]);
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 0), 0);

	/* Two events and a message of another family in one datagram. */
	m[0] = event_msg(VFIO_GROUPS_EVENT_GROUP_CREATED, 5, NULL);
	m[1] = event_msg(VFIO_GROUPS_EVENT_DEVICE_BOUND, 5, "0000:02:00.0");
	m[2] = event_msg(VFIO_GROUPS_EVENT_DEVICE_UNBOUND, 5, "0000:02:00.0");
	nlmsg_hdr(m[1])->nlmsg_type = FAMILY + 1;
	clock_gettime(CLOCK_REALTIME, &t0);
	send_msgs(m, 3);
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 1000), 1);
	clock_gettime(CLOCK_REALTIME, &t1);
	ck_assert_int_eq(ev.type, VFG_EVENT_GROUP_CREATED);
	ck_assert_int_eq(ev.group, 5);
	ck_assert(ev.time.tv_sec > t0.tv_sec ||
		  (ev.time.tv_sec == t0.tv_sec && ev.time.tv_nsec >= t0.tv_nsec));
	ck_assert(ev.time.tv_sec < t1.tv_sec ||
		  (ev.time.tv_sec == t1.tv_sec && ev.time.tv_nsec <= t1.tv_nsec));
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 0), 1);
	ck_assert_int_eq(ev.type, VFG_EVENT_DEVICE_UNBOUND);
	ck_assert_str_eq(ev.device, "0000:02:00.0");
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 0), 0);

	/* A broken event is reported once; the next one still comes. */
	nla_put_u16(m[0], VFIO_GROUPS_A_VIABLE, 1);
	send_msgs(m, 1);
	send_msgs(&m[2], 1);
	errno = 0;
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 1000), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 1000), 1);
	ck_assert_int_eq(ev.type, VFG_EVENT_DEVICE_UNBOUND);

	/* A message longer than its datagram. */
	nlmsg_hdr(m[2])->nlmsg_len += 64;
	ck_assert_int_eq(send(sv[1], nlmsg_hdr(m[2]),
			      nlmsg_hdr(m[2])->nlmsg_len - 64, 0),
			 (ssize_t)nlmsg_hdr(m[2])->nlmsg_len - 64);
	errno = 0;
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 1000), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(vfg_monitor_next(mon, &ev, 50), 0);

	for (i = 0; i < 3; i++)
		nlmsg_free(m[i]);
	vfg_monitor_free(mon);
	vfg_monitor_free(NULL);
}
END_TEST

START_TEST(test_event_names)
{
	static const char *const names[] = {
		"unknown", "group-created", "group-destroyed", "device-bound",
		"device-unbound", "viability-changed", "release-requested",
		"released", "revoked", "unknown",
	};
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(names); i++)
		ck_assert_str_eq(vfg_event_type_name(i), names[i]);
	ck_assert_str_eq(vfg_event_type_name(-1), "unknown");
}
END_TEST

/* A fake tree has no netlink: ENOENT without a module, EOPNOTSUPP with. */
START_TEST(test_fake_root)
{
	struct fakesys *fs = fakesys_new();
	struct vfg_group_state *st = (void *)1;
	struct vfg_ctx *ctx;

	fakesys_device(fs, "0000:00:04.0", 1);
	ctx = vfg_ctx_new(fakesys_root(fs));
	ck_assert_ptr_nonnull(ctx);
	errno = 0;
	ck_assert_ptr_null(vfg_monitor_new(ctx));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(vfg_group_get_state(ctx, 1, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(vfg_ctx_get_group_states(ctx, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	fakesys_vfio_group(fs, 1, 1, "", 0);
	ck_assert_ptr_null(vfg_monitor_new(ctx));
	ck_assert_int_eq(errno, EOPNOTSUPP);
	vfg_ctx_free(ctx);
	fakesys_free(fs);
}
END_TEST

/*
 * The host's kernel: the module is never loaded on the host, so the family
 * is missing and that must read as ENOENT (not a socket error).
 */
START_TEST(test_real_kernel_without_module)
{
	struct vfg_ctx *ctx = vfg_ctx_new(NULL);
	struct vfg_group_state *st;
	struct vfg_monitor *mon;
	int n;

	ck_assert_ptr_nonnull(ctx);
	errno = 0;
	mon = vfg_monitor_new(ctx);
	if (mon) {	/* someone loaded it here after all */
		vfg_monitor_free(mon);
	} else {
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_int_eq(vfg_group_get_state(ctx, 0, &st), -1);
		ck_assert_int_eq(errno, ENOENT);
		n = vfg_ctx_get_group_states(ctx, &st);
		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(errno, ENOENT);
	}
	ck_assert_int_eq(vfg_group_get_state(ctx, -3, &st), -1);
	ck_assert_int_eq(errno, EINVAL);
	vfg_group_state_free(NULL);
	vfg_group_states_free(NULL, 0);
	vfg_ctx_free(ctx);
}
END_TEST

Suite *netlink_suite(void)
{
	Suite *s = suite_create("netlink");
	TCase *tc = tcase_create("parse");
	TCase *tm = tcase_create("monitor");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_event_bound);
	tcase_add_test(tc, test_event_release_requested);
	tcase_add_test(tc, test_event_newer_kernel);
	tcase_add_test(tc, test_event_not_ours);
	tcase_add_loop_test(tc, test_event_malformed, NO_EVENT,
			    SHORT_GENL_HDR + 1);
	tcase_add_test(tc, test_state_members);
	tcase_add_test(tc, test_state_nested_flag);
	tcase_add_test(tc, test_state_no_members);
	tcase_add_loop_test(tc, test_state_malformed, ST_NO_VIABLE,
			    ST_MEMBER_DEVICE_NO_NUL + 1);
	tcase_add_test(tc, test_event_names);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tm, mon_setup, mon_teardown);
	tcase_add_test(tm, test_monitor_datagrams);
	tcase_add_test(tm, test_fake_root);
	tcase_add_test(tm, test_real_kernel_without_module);
	suite_add_tcase(s, tm);
	return s;
}
