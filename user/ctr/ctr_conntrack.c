// SPDX-License-Identifier: GPL-2.0
/* A container's conntrack entries across hosts (ctr_conntrack.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include "ctr_conntrack.h"
#include "rtnl.h"
#include "proc_tcp.h"
#include "util.h"

#define CT_MSG(type)	((NFNL_SUBSYS_CTNETLINK << 8) | (type))

/* ---- messages ---------------------------------------------------------------- */

static struct nlmsghdr *ct_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = CT_MSG(type);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, uint32_t src, uint32_t dst,
		      uint16_t sport, uint16_t dport)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type), *n;

	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, src);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, dst);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dport);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

struct nlmsghdr *ctr_ct_build_new(void *buf, const struct wire_ct *e, uint32_t seq)
{
	/* window tracking starts liberal both ways: the new host never saw
	 * the windows, and must not take the next segment for out-of-window */
	struct nf_ct_tcp_flags liberal = {
		.flags = IP_CT_TCP_FLAG_BE_LIBERAL, .mask = IP_CT_TCP_FLAG_BE_LIBERAL,
	};
	struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_NEW,
					 NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq);
	struct nlattr *p, *t;

	put_tuple(nlh, CTA_TUPLE_ORIG, e->src, e->dst, e->sport, e->dport);
	put_tuple(nlh, CTA_TUPLE_REPLY, e->dst, e->src, e->dport, e->sport);
	/* the kernel marks an entry it makes confirmed before it applies the
	 * status, and refuses (EBUSY) a status that would clear that bit */
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(e->status | IPS_CONFIRMED));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(e->timeout));
	p = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	t = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, e->tcp_state);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(liberal), &liberal);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(liberal), &liberal);
	mnl_attr_nest_end(nlh, t);
	mnl_attr_nest_end(nlh, p);
	return nlh;
}

/* Attributes of one nest into tb[0..max], by type; each seen at most once
 * counts, the last wins (the kernel sends each once). */
struct tb { const struct nlattr **tb; int max; };

static int tb_cb(const struct nlattr *a, void *data)
{
	struct tb *t = data;
	int type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static int nest(const struct nlattr *a, const struct nlattr **tb, int max)
{
	struct tb t = { tb, max };

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	if (!a || mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return -EINVAL;
	return mnl_attr_parse_nested(a, tb_cb, &t) < 0 ? -EINVAL : 0;
}

static bool u32_ok(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U32) >= 0;
}

static bool u16_ok(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U16) >= 0;
}

static bool u8_ok(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U8) >= 0;
}

/* A tuple: 1 TCP/IPv4 (filled), 0 another protocol, -EINVAL malformed. */
static int get_tuple(const struct nlattr *a, uint32_t *src, uint32_t *dst, uint16_t *sport,
		     uint16_t *dport)
{
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];

	if (nest(a, t, CTA_TUPLE_MAX) || nest(t[CTA_TUPLE_IP], ip, CTA_IP_MAX) ||
	    nest(t[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX) || !u8_ok(pr[CTA_PROTO_NUM]))
		return -EINVAL;
	if (mnl_attr_get_u8(pr[CTA_PROTO_NUM]) != IPPROTO_TCP || !ip[CTA_IP_V4_SRC])
		return 0;
	if (!u32_ok(ip[CTA_IP_V4_SRC]) || !u32_ok(ip[CTA_IP_V4_DST]) ||
	    !u16_ok(pr[CTA_PROTO_SRC_PORT]) || !u16_ok(pr[CTA_PROTO_DST_PORT]))
		return -EINVAL;
	*src = mnl_attr_get_u32(ip[CTA_IP_V4_SRC]);
	*dst = mnl_attr_get_u32(ip[CTA_IP_V4_DST]);
	*sport = mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]);
	*dport = mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]);
	return 1;
}

int ctr_ct_parse(const struct nlmsghdr *nlh, struct wire_ct *e)
{
	const struct nlattr *tb[CTA_MAX + 1], *pi[CTA_PROTOINFO_MAX + 1];
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1];
	struct tb t = { tb, CTA_MAX };
	uint32_t rs, rd, status;
	uint16_t rsp, rdp;
	int ret;

	memset(tb, 0, sizeof(tb));
	memset(e, 0, sizeof(*e));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), tb_cb, &t) < 0)
		return -EINVAL;
	ret = get_tuple(tb[CTA_TUPLE_ORIG], &e->src, &e->dst, &e->sport, &e->dport);
	if (ret <= 0)
		return ret;
	ret = get_tuple(tb[CTA_TUPLE_REPLY], &rs, &rd, &rsp, &rdp);
	if (ret <= 0)
		return ret ? ret : -EINVAL;
	if (!u32_ok(tb[CTA_STATUS]) || !u32_ok(tb[CTA_TIMEOUT]))
		return -EINVAL;
	status = ntohl(mnl_attr_get_u32(tb[CTA_STATUS]));
	/* NATed here: its reply is not the original turned around */
	if ((status & IPS_NAT_MASK) || rs != e->dst || rd != e->src || rsp != e->dport ||
	    rdp != e->sport)
		return 0;
	if (tb[CTA_ZONE] && (!u16_ok(tb[CTA_ZONE]) || mnl_attr_get_u16(tb[CTA_ZONE])))
		return 0;	/* another conntrack zone: not the host's table */
	if (nest(tb[CTA_PROTOINFO], pi, CTA_PROTOINFO_MAX) ||
	    nest(pi[CTA_PROTOINFO_TCP], tcp, CTA_PROTOINFO_TCP_MAX) ||
	    !u8_ok(tcp[CTA_PROTOINFO_TCP_STATE]))
		return -EINVAL;
	e->tcp_state = mnl_attr_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
	e->status = status & WIRE_CT_STATUS_KEPT;
	e->timeout = ntohl(mnl_attr_get_u32(tb[CTA_TIMEOUT]));
	if (e->timeout < 1)
		e->timeout = 1;
	if (e->timeout > WIRE_CT_MAX_TIMEOUT)
		e->timeout = WIRE_CT_MAX_TIMEOUT;
	return 1;
}

/* ---- talking to the kernel --------------------------------------------------- */

struct dump {
	uint32_t addr;
	struct wire_ct *v;
	size_t n, cap, skipped;
	int err;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct wire_ct e;
	int ret = ctr_ct_parse(nlh, &e);

	if (ret < 0 || (ret == 1 && e.src != d->addr && e.dst != d->addr))
		return MNL_CB_OK;	/* not the container's, or not parsable */
	if (ret == 1 && !wire_ct_ok(&e))
		return MNL_CB_OK;	/* a state that does not move (LISTEN, NONE) */
	if (!ret) {
		/* TCP of the container's that is NATed: lost with this host */
		const struct nlattr *tb[CTA_MAX + 1];
		struct tb t = { tb, CTA_MAX };
		uint32_t s = 0, dd = 0;
		uint16_t sp, dp;

		memset(tb, 0, sizeof(tb));
		if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), tb_cb, &t) >= 0 &&
		    get_tuple(tb[CTA_TUPLE_ORIG], &s, &dd, &sp, &dp) == 1 &&
		    (s == d->addr || dd == d->addr))
			d->skipped++;
		return MNL_CB_OK;
	}
	if (d->n >= WIRE_CT_MAX) {
		d->err = -E2BIG;
		return MNL_CB_ERROR;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct wire_ct *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			d->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = e;
	return MNL_CB_OK;
}

int ctr_ct_dump(uint32_t addr, struct wire_ct **v, size_t *n, size_t *skipped, char *err,
		size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump d = { .addr = addr };
	struct mnl_socket *nl = nl_open_bus(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	int ret;

	*v = NULL;
	*n = *skipped = 0;
	if (!nl)
		return ferry_errf(err, errlen, -errno, "conntrack netlink: %s", strerror(errno));
	nlh = ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, (uint32_t)time(NULL));
	ret = rtnl_request(nl, nlh, dump_cb, &d);
	mnl_socket_close(nl);
	if (d.err)
		ret = d.err;
	if (ret) {
		free(d.v);
		return ferry_errf(err, errlen, ret, "reading the conntrack table: %s%s",
				  strerror(-ret), ret == -E2BIG ? " (too many entries)" : "");
	}
	*v = d.v;
	*n = d.n;
	*skipped = d.skipped;
	return 0;
}

int ctr_ct_create(const struct wire_ct *v, size_t n, size_t *made, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int ret = 0;

	*made = 0;
	if (!n)
		return 0;
	nl = nl_open_bus(NETLINK_NETFILTER);
	if (!nl)
		return ferry_errf(err, errlen, -errno, "conntrack netlink: %s", strerror(errno));
	for (size_t i = 0; i < n && !ret; i++) {
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

		ret = rtnl_request(nl, ctr_ct_build_new(buf, &v[i], ++seq), NULL, NULL);
		if (ret == -EEXIST) {
			ret = 0;	/* the host knows it already */
			continue;
		}
		if (!ret) {
			(*made)++;
			continue;
		}
		inet_ntop(AF_INET, &v[i].src, a, sizeof(a));
		inet_ntop(AF_INET, &v[i].dst, b, sizeof(b));
		ferry_errf(err, errlen, ret, "conntrack entry %s:%u -> %s:%u: %s", a,
			   ntohs(v[i].sport), b, ntohs(v[i].dport), strerror(-ret));
	}
	mnl_socket_close(nl);
	return ret;
}

void ctr_ct_delete(const struct wire_ct *v, size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = n ? nl_open_bus(NETLINK_NETFILTER) : NULL;
	uint32_t seq = (uint32_t)time(NULL);

	if (!nl)
		return;
	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, ++seq);

		put_tuple(nlh, CTA_TUPLE_ORIG, v[i].src, v[i].dst, v[i].sport, v[i].dport);
		rtnl_request(nl, nlh, NULL, NULL);	/* gone already: fine */
	}
	mnl_socket_close(nl);
}

/* an ESTABLISHED IPv4 connection's local address, not loopback */
static int local_addr(const struct proc_tcp_sock *s, void *arg)
{
	if (s->state != 0x01 || !s->laddr[0] || (ntohl(s->laddr[0]) >> 24) == 127)
		return 0;
	*(uint32_t *)arg = s->laddr[0];
	return 1;
}

int ctr_ct_local_addr(pid_t pid, uint32_t *addr)
{
	int ret = proc_tcp_each(pid, 0, local_addr, addr);

	return ret < 0 ? ret : ret ? 0 : -ENOENT;
}
