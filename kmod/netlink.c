// SPDX-License-Identifier: GPL-2.0
/*
 * The "ferry" generic netlink family: operations table, permission check
 * and the INFO command. Every operation has its own strict policy.
 */
#include <linux/capability.h>
#include <linux/module.h>
#include <generated/utsrelease.h>
#include "ferry.h"

/*
 * DIRTY_SCAN rewrites another process's page tables and TCP_DUMP reads
 * every TCP socket's state: what a checkpointer that may ptrace anything
 * can do. Callers need CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE together
 * with CAP_SYS_PTRACE; reading queued bytes or a whole network namespace
 * (net) needs CAP_NET_ADMIN too, as TCP_REPAIR does. CAP_CHECKPOINT_RESTORE
 * alone is not enough: it was made for restoring one's own processes.
 * Both the opener of the netlink socket and the sender are checked, in the
 * initial user namespace (netlink_capable()).
 */
int ferry_check_perm(struct sk_buff *skb, struct netlink_ext_ack *extack, bool net)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	if (netlink_capable(skb, CAP_CHECKPOINT_RESTORE) &&
	    netlink_capable(skb, CAP_SYS_PTRACE) &&
	    (!net || netlink_capable(skb, CAP_NET_ADMIN)))
		return 0;
	if (net)
		NL_SET_ERR_MSG(extack, "ferry needs CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE with CAP_SYS_PTRACE "
			       "and CAP_NET_ADMIN, in the initial user namespace");
	else
		NL_SET_ERR_MSG(extack, "ferry needs CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE with CAP_SYS_PTRACE, "
			       "in the initial user namespace");
	return -EPERM;
}

/* Start one message of a multi-part dump reply. */
void *ferry_dump_msg_start(struct sk_buff *skb, struct netlink_callback *cb)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &ferry_genl_family, NLM_F_MULTI,
			   ((struct genlmsghdr *)nlmsg_data(cb->nlh))->cmd);
}

static const struct nla_policy ferry_info_policy[FERRY_INFO_A_MAX + 1] = {
	/* INFO takes no attributes: strict validation rejects any. */
	[FERRY_INFO_A_VERSION]	= { .type = NLA_REJECT },
	[FERRY_INFO_A_ABI]	= { .type = NLA_REJECT },
	[FERRY_INFO_A_FEATURES]	= { .type = NLA_REJECT },
	[FERRY_INFO_A_KERNEL]	= { .type = NLA_REJECT },
	[FERRY_INFO_A_PAD]	= { .type = NLA_REJECT },
};

static int ferry_info_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	/* INFO is harmless and lets unprivileged `ferry check` see the
	 * module; it reveals nothing about other processes. */
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ferry_genl_family, 0, FERRY_CMD_INFO);
	if (!hdr)
		goto nospace;
	if (nla_put_string(msg, FERRY_INFO_A_VERSION, FERRY_VERSION) ||
	    nla_put_u32(msg, FERRY_INFO_A_ABI, FERRY_ABI_VERSION) ||
	    nla_put_u64_64bit(msg, FERRY_INFO_A_FEATURES,
			      ferry_dirty_features() | ferry_tcp_features(),
			      FERRY_INFO_A_PAD) ||
	    nla_put_string(msg, FERRY_INFO_A_KERNEL, UTS_RELEASE))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static const struct genl_ops ferry_genl_ops[] = {
	{
		.cmd	= FERRY_CMD_INFO,
		.doit	= ferry_info_doit,
		.policy	= ferry_info_policy,
		.maxattr = FERRY_INFO_A_MAX,
	},
	{
		.cmd	= FERRY_CMD_DIRTY_SCAN,
		.start	= ferry_dirty_start,
		.dumpit	= ferry_dirty_dumpit,
		.done	= ferry_dirty_done,
		.policy	= ferry_dirty_policy,
		.maxattr = FERRY_DIRTY_A_MAX,
	},
	{
		.cmd	= FERRY_CMD_TCP_DUMP,
		.start	= ferry_tcp_start,
		.dumpit	= ferry_tcp_dumpit,
		.done	= ferry_tcp_done,
		.policy	= ferry_tcp_policy,
		.maxattr = FERRY_TCP_A_MAX,
	},
};

struct genl_family ferry_genl_family __ro_after_init = {
	.name		= FERRY_GENL_NAME,
	.version	= FERRY_GENL_VERSION,
	.module		= THIS_MODULE,
	.ops		= ferry_genl_ops,
	.n_ops		= ARRAY_SIZE(ferry_genl_ops),
	/* Strict header and attribute validation for every command. */
	.resv_start_op	= FERRY_CMD_INFO,
	/* Handlers take their own locks; do not serialise all of genetlink
	 * behind a long scan. Unregistering still waits for them. */
	.parallel_ops	= true,
	.netnsok	= true,
};
