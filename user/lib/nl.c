// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

static struct nlmsghdr *genl_request(struct ferry_nl *nl, uint16_t type,
				     uint8_t cmd, uint8_t version, int dump)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0);
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

struct nlmsghdr *ferry_nl_request(struct ferry_nl *nl, uint8_t cmd, int dump)
{
	return genl_request(nl, nl->family_id, cmd, FERRY_GENL_VERSION, dump);
}

/* NLMSG_ERROR and NLMSG_DONE may carry extended-ack TLVs after the
 * (capped) original message; keep the human reason. */
static int parse_extack(struct ferry_nl *nl, const struct nlmsghdr *nlh,
			const struct nlattr *start)
{
	const struct nlattr *a;
	size_t off = (const char *)start - (const char *)nlh;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= nlh->nlmsg_len)
		return 0;
	for (a = start; mnl_attr_ok(a, (int)((const char *)nlh + nlh->nlmsg_len - (const char *)a));
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(nl->errmsg, sizeof(nl->errmsg), "%s",
				 mnl_attr_get_str(a));
	}
	return 0;
}

static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	struct ferry_nl *nl = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t hlen = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* With NETLINK_CAP_ACK only the header of the request is echoed. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		hlen += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_extack(nl, nlh, (const struct nlattr *)((const char *)e + hlen));
	if (e->error == 0)
		return MNL_CB_STOP;	/* the final ACK */
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int cb_done(const struct nlmsghdr *nlh, void *data)
{
	struct ferry_nl *nl = data;
	int err = 0;

	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int)))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(int));
	parse_extack(nl, nlh, (const struct nlattr *)
		     ((const char *)mnl_nlmsg_get_payload(nlh) + sizeof(int)));
	if (err < 0) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/*
 * ferry.ko unloaded between resolving the family and this request: genetlink
 * answers ENOENT for an unknown family id, and a dump whose module is on its
 * way out fails with EPROTONOSUPPORT (netlink_dump_start cannot pin it). The
 * module never returns either itself, so both mean "not loaded" (-ENOENT).
 */
static int module_gone(struct ferry_nl *nl, int err)
{
	if (err != -ENOENT && err != -EPROTONOSUPPORT)
		return err;
	if (!nl->errmsg[0])
		snprintf(nl->errmsg, sizeof(nl->errmsg), "ferry.ko was unloaded during the request");
	return -ENOENT;
}

int ferry_nl_run(struct ferry_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = cb_noop,
		[NLMSG_ERROR] = cb_error,
		[NLMSG_DONE] = cb_done,
		[NLMSG_OVERRUN] = cb_noop,
	};
	uint32_t seq = req->nlmsg_seq;
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, FERRY_NL_BUFSZ);
		if (n < 0)
			return -errno;
		/*
		 * cb_error and cb_done need nl, user callbacks need data: wrap
		 * by running control messages with nl and data messages with
		 * data. mnl_cb_run2 passes one pointer, so dispatch by hand.
		 */
		ret = MNL_CB_OK;
		{
			const struct nlmsghdr *h = (const struct nlmsghdr *)nl->buf;
			int len = (int)n;

			while (mnl_nlmsg_ok(h, len)) {
				if (h->nlmsg_seq != seq || h->nlmsg_pid != nl->portid) {
					errno = EPROTO;
					return -EPROTO;
				}
				if (h->nlmsg_type < NLMSG_MIN_TYPE)
					ret = ctl[h->nlmsg_type] ? ctl[h->nlmsg_type](h, nl)
								 : MNL_CB_OK;
				else
					ret = cb ? cb(h, data) : MNL_CB_OK;
				if (ret <= MNL_CB_STOP)
					break;
				h = mnl_nlmsg_next(h, &len);
			}
		}
		if (ret == MNL_CB_ERROR)
			return module_gone(nl, errno ? -errno : -EIO);
		if (ret == MNL_CB_STOP) {
			/* A dump ends with DONE and, having asked for NLM_F_ACK,
			 * may be followed by nothing more; a doit ends with its
			 * ACK. Either way we are finished. */
			return 0;
		}
	}
}

int ferry_nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb, int max)
{
	const struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		int type = mnl_attr_get_type(a);

		if (type <= max)
			tb[type] = a;
	}
	return 0;
}

int ferry_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	const struct nlattr *a;

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	mnl_attr_for_each_nested(a, nest) {
		int type = mnl_attr_get_type(a);

		if (type <= max)
			tb[type] = a;
	}
	return 0;
}

struct family_ctx {
	uint16_t id;
	uint32_t version;
};

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_ctx *ctx = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
				ctx->id = mnl_attr_get_u16(a);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				ctx->version = mnl_attr_get_u32(a);
			break;
		}
	}
	return MNL_CB_OK;
}

int ferry_nl_open(struct ferry_nl *nl)
{
	struct family_ctx ctx = { 0 };
	struct nlmsghdr *nlh;
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(FERRY_NL_BUFSZ);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Best effort: older kernels simply give no human reasons. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);

	nlh = genl_request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, FERRY_GENL_NAME);
	ret = ferry_nl_run(nl, nlh, family_cb, &ctx);
	if (ret < 0)
		goto fail;	/* -ENOENT: family not registered */
	if (!ctx.id) {
		ret = -ENOENT;
		goto fail;
	}
	nl->family_id = ctx.id;
	nl->family_version = ctx.version;
	return 0;
fail:
	ferry_nl_close(nl);
	return ret;
}

void ferry_nl_close(struct ferry_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

static int info_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[FERRY_INFO_A_MAX + 1];
	struct ferry_info *info = data;

	ferry_nl_parse(nlh, tb, FERRY_INFO_A_MAX);
	if (tb[FERRY_INFO_A_VERSION] &&
	    mnl_attr_validate(tb[FERRY_INFO_A_VERSION], MNL_TYPE_NUL_STRING) == 0)
		snprintf(info->version, sizeof(info->version), "%s",
			 mnl_attr_get_str(tb[FERRY_INFO_A_VERSION]));
	if (tb[FERRY_INFO_A_KERNEL] &&
	    mnl_attr_validate(tb[FERRY_INFO_A_KERNEL], MNL_TYPE_NUL_STRING) == 0)
		snprintf(info->kernel, sizeof(info->kernel), "%s",
			 mnl_attr_get_str(tb[FERRY_INFO_A_KERNEL]));
	if (tb[FERRY_INFO_A_ABI] &&
	    mnl_attr_validate(tb[FERRY_INFO_A_ABI], MNL_TYPE_U32) == 0)
		info->abi = mnl_attr_get_u32(tb[FERRY_INFO_A_ABI]);
	if (tb[FERRY_INFO_A_FEATURES] &&
	    mnl_attr_validate(tb[FERRY_INFO_A_FEATURES], MNL_TYPE_U64) == 0)
		info->features = mnl_attr_get_u64(tb[FERRY_INFO_A_FEATURES]);
	return MNL_CB_OK;
}

int ferry_nl_info(struct ferry_nl *nl, struct ferry_info *info)
{
	memset(info, 0, sizeof(*info));
	return ferry_nl_run(nl, ferry_nl_request(nl, FERRY_CMD_INFO, 0), info_cb, info);
}
