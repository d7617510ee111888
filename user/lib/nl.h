/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place in user/ that speaks the "ferry" generic netlink family
 * (libmnl). Errors come back as -errno with the kernel's extended-ack
 * message, if any, in nl->errmsg.
 */
#ifndef FERRY_NL_H
#define FERRY_NL_H

#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/ferry.h>

#define FERRY_NL_BUFSZ (64 * 1024)

struct ferry_nl {
	struct mnl_socket *sock;
	uint16_t family_id;
	uint32_t family_version;
	uint32_t portid;
	uint32_t seq;
	char errmsg[256];	/* extack text of the last failed request */
	char *buf;		/* FERRY_NL_BUFSZ bytes, requests and replies */
};

/* Open a socket and resolve the family. -ENOENT: ferry.ko not loaded. */
int ferry_nl_open(struct ferry_nl *nl);
void ferry_nl_close(struct ferry_nl *nl);

/* Start a request for cmd in nl->buf; dump adds NLM_F_DUMP. */
struct nlmsghdr *ferry_nl_request(struct ferry_nl *nl, uint8_t cmd, int dump);

/*
 * Send req and feed every reply message to cb (payload attributes start
 * at mnl_nlmsg_get_payload_offset(nlh, sizeof(struct genlmsghdr))).
 * cb returns MNL_CB_OK to go on, MNL_CB_STOP to stop, MNL_CB_ERROR (with
 * errno set) to fail. Returns 0 or -errno.
 */
int ferry_nl_run(struct ferry_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* Attribute table helper: parse the genl payload of nlh into tb[0..max]. */
int ferry_nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb, int max);
int ferry_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max);

/* INFO reply */
struct ferry_info {
	char version[32];
	char kernel[96];
	uint32_t abi;
	uint64_t features;
};
int ferry_nl_info(struct ferry_nl *nl, struct ferry_info *info);

#endif
