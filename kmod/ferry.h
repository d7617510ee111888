/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces between the files of ferry.ko. */
#ifndef FERRY_H
#define FERRY_H

#include <linux/ferry.h>
#include <net/genetlink.h>

extern struct genl_family ferry_genl_family;

/* netlink.c */
int ferry_check_perm(struct sk_buff *skb, struct netlink_ext_ack *extack, bool net);
void *ferry_dump_msg_start(struct sk_buff *skb, struct netlink_callback *cb);

/* dirty.c: FERRY_CMD_DIRTY_SCAN */
extern const struct nla_policy ferry_dirty_policy[FERRY_DIRTY_A_MAX + 1];
int ferry_dirty_start(struct netlink_callback *cb);
int ferry_dirty_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ferry_dirty_done(struct netlink_callback *cb);
u64 ferry_dirty_features(void);

/* tcp.c: FERRY_CMD_TCP_DUMP */
extern const struct nla_policy ferry_tcp_policy[FERRY_TCP_A_MAX + 1];
int ferry_tcp_start(struct netlink_callback *cb);
int ferry_tcp_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ferry_tcp_done(struct netlink_callback *cb);
u64 ferry_tcp_features(void);

#endif /* FERRY_H */
