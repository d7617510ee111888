// SPDX-License-Identifier: GPL-2.0
/* FERRY_CMD_TCP_DUMP: placeholder until TCP export lands. */
#include "ferry.h"

const struct nla_policy ferry_tcp_policy[FERRY_TCP_A_MAX + 1] = {
	[FERRY_TCP_A_PID]	= { .type = NLA_U32 },
	[FERRY_TCP_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, FERRY_TCP_F_ALL),
};

int ferry_tcp_start(struct netlink_callback *cb)
{
	int ret = ferry_check_perm(cb->skb, cb->extack);

	if (ret)
		return ret;
	NL_SET_ERR_MSG(cb->extack, "TCP export is not built into this module");
	return -EOPNOTSUPP;
}

int ferry_tcp_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return -EOPNOTSUPP;
}

int ferry_tcp_done(struct netlink_callback *cb)
{
	return 0;
}

u64 ferry_tcp_features(void)
{
	return 0;
}
