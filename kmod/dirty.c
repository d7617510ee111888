// SPDX-License-Identifier: GPL-2.0
/* FERRY_CMD_DIRTY_SCAN: placeholder until dirty tracking lands. */
#include "ferry.h"

const struct nla_policy ferry_dirty_policy[FERRY_DIRTY_A_MAX + 1] = {
	[FERRY_DIRTY_A_PID]	= { .type = NLA_U32 },
	[FERRY_DIRTY_A_START]	= { .type = NLA_U64 },
	[FERRY_DIRTY_A_END]	= { .type = NLA_U64 },
	[FERRY_DIRTY_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, FERRY_DIRTY_F_ALL),
};

int ferry_dirty_start(struct netlink_callback *cb)
{
	int ret = ferry_check_perm(cb->skb, cb->extack);

	if (ret)
		return ret;
	NL_SET_ERR_MSG(cb->extack, "dirty tracking is not built into this module");
	return -EOPNOTSUPP;
}

int ferry_dirty_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return -EOPNOTSUPP;
}

int ferry_dirty_done(struct netlink_callback *cb)
{
	return 0;
}

u64 ferry_dirty_features(void)
{
	return 0;
}
