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

/*
 * An entry of either family, as the messages carry it: addresses as they
 * are on the network (IPv4: the first 4 bytes), ports in network order.
 * The wire's entries (struct wire_ct, wire_ct6) become one and back at the
 * edges, so that one code builds and reads the messages of both.
 */
struct ct_entry {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t src[WIRE_CT6_ADDR_LEN], dst[WIRE_CT6_ADDR_LEN];
	uint16_t sport, dport;
	uint8_t tcp_state;
	uint32_t status, timeout;
};

static size_t addr_len(int family)
{
	return family == AF_INET6 ? WIRE_CT6_ADDR_LEN : 4;
}

static void from_ct(struct ct_entry *a, const struct wire_ct *e)
{
	*a = (struct ct_entry){ .family = AF_INET, .sport = e->sport, .dport = e->dport,
				.tcp_state = e->tcp_state, .status = e->status,
				.timeout = e->timeout };
	memcpy(a->src, &e->src, 4);
	memcpy(a->dst, &e->dst, 4);
}

static void to_ct(struct wire_ct *e, const struct ct_entry *a)
{
	*e = (struct wire_ct){ .sport = a->sport, .dport = a->dport, .tcp_state = a->tcp_state,
			       .status = a->status, .timeout = a->timeout };
	memcpy(&e->src, a->src, 4);
	memcpy(&e->dst, a->dst, 4);
}

static void from_ct6(struct ct_entry *a, const struct wire_ct6 *e)
{
	*a = (struct ct_entry){ .family = AF_INET6, .sport = e->sport, .dport = e->dport,
				.tcp_state = e->tcp_state, .status = e->status,
				.timeout = e->timeout };
	memcpy(a->src, e->src, WIRE_CT6_ADDR_LEN);
	memcpy(a->dst, e->dst, WIRE_CT6_ADDR_LEN);
}

static void to_ct6(struct wire_ct6 *e, const struct ct_entry *a)
{
	*e = (struct wire_ct6){ .sport = a->sport, .dport = a->dport, .tcp_state = a->tcp_state,
				.status = a->status, .timeout = a->timeout };
	memcpy(e->src, a->src, WIRE_CT6_ADDR_LEN);
	memcpy(e->dst, a->dst, WIRE_CT6_ADDR_LEN);
}

/* Entry i of v, an array of struct wire_ct or wire_ct6 by family */
static void entry_at(int family, const void *v, size_t i, struct ct_entry *a)
{
	if (family == AF_INET6)
		from_ct6(a, (const struct wire_ct6 *)v + i);
	else
		from_ct(a, (const struct wire_ct *)v + i);
}

/* ---- messages ---------------------------------------------------------------- */

static struct nlmsghdr *ct_header(void *buf, int family, uint16_t type, uint16_t flags,
				  uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = CT_MSG(type);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, int family, const uint8_t *src,
		      const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type), *n;
	bool v6 = family == AF_INET6;

	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, addr_len(family), src);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, addr_len(family), dst);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, dport);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

static struct nlmsghdr *build_new(void *buf, const struct ct_entry *e, uint32_t seq)
{
	/* window tracking starts liberal both ways: the new host never saw
	 * the windows, and must not take the next segment for out-of-window */
	struct nf_ct_tcp_flags liberal = {
		.flags = IP_CT_TCP_FLAG_BE_LIBERAL, .mask = IP_CT_TCP_FLAG_BE_LIBERAL,
	};
	struct nlmsghdr *nlh = ct_header(buf, e->family, IPCTNL_MSG_CT_NEW,
					 NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq);
	struct nlattr *p, *t;

	put_tuple(nlh, CTA_TUPLE_ORIG, e->family, e->src, e->dst, e->sport, e->dport);
	put_tuple(nlh, CTA_TUPLE_REPLY, e->family, e->dst, e->src, e->dport, e->sport);
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

struct nlmsghdr *ctr_ct_build_new(void *buf, const struct wire_ct *e, uint32_t seq)
{
	struct ct_entry a;

	from_ct(&a, e);
	return build_new(buf, &a, seq);
}

struct nlmsghdr *ctr_ct6_build_new(void *buf, const struct wire_ct6 *e, uint32_t seq)
{
	struct ct_entry a;

	from_ct6(&a, e);
	return build_new(buf, &a, seq);
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

/* an address attribute of exactly len bytes (4 for IPv4, 16 for IPv6) */
static bool addr_ok(const struct nlattr *a, size_t len)
{
	return a && mnl_attr_get_payload_len(a) == len;
}

/* A tuple: 1 TCP of family (filled), 0 another protocol or family,
 * -EINVAL malformed. */
static int get_tuple(const struct nlattr *a, int family, uint8_t *src, uint8_t *dst,
		     uint16_t *sport, uint16_t *dport)
{
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
	int src_type = family == AF_INET6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC;
	int dst_type = family == AF_INET6 ? CTA_IP_V6_DST : CTA_IP_V4_DST;
	size_t len = addr_len(family);

	if (nest(a, t, CTA_TUPLE_MAX) || nest(t[CTA_TUPLE_IP], ip, CTA_IP_MAX) ||
	    nest(t[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX) || !u8_ok(pr[CTA_PROTO_NUM]))
		return -EINVAL;
	if (mnl_attr_get_u8(pr[CTA_PROTO_NUM]) != IPPROTO_TCP || !ip[src_type])
		return 0;
	if (!addr_ok(ip[src_type], len) || !addr_ok(ip[dst_type], len) ||
	    !u16_ok(pr[CTA_PROTO_SRC_PORT]) || !u16_ok(pr[CTA_PROTO_DST_PORT]))
		return -EINVAL;
	memcpy(src, mnl_attr_get_payload(ip[src_type]), len);
	memcpy(dst, mnl_attr_get_payload(ip[dst_type]), len);
	*sport = mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]);
	*dport = mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]);
	return 1;
}

/* A dump message of family into e: 1 kept, 0 not TCP of family or NATed,
 * -EINVAL malformed. */
static int parse(const struct nlmsghdr *nlh, int family, struct ct_entry *e)
{
	const struct nlattr *tb[CTA_MAX + 1], *pi[CTA_PROTOINFO_MAX + 1];
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1];
	struct tb t = { tb, CTA_MAX };
	uint8_t rs[WIRE_CT6_ADDR_LEN], rd[WIRE_CT6_ADDR_LEN];
	size_t len = addr_len(family);
	uint32_t status;
	uint16_t rsp, rdp;
	int ret;

	memset(tb, 0, sizeof(tb));
	memset(e, 0, sizeof(*e));
	e->family = family;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), tb_cb, &t) < 0)
		return -EINVAL;
	ret = get_tuple(tb[CTA_TUPLE_ORIG], family, e->src, e->dst, &e->sport, &e->dport);
	if (ret <= 0)
		return ret;
	ret = get_tuple(tb[CTA_TUPLE_REPLY], family, rs, rd, &rsp, &rdp);
	if (ret <= 0)
		return ret ? ret : -EINVAL;
	if (!u32_ok(tb[CTA_STATUS]) || !u32_ok(tb[CTA_TIMEOUT]))
		return -EINVAL;
	status = ntohl(mnl_attr_get_u32(tb[CTA_STATUS]));
	/* NATed here: its reply is not the original turned around */
	if ((status & IPS_NAT_MASK) || memcmp(rs, e->dst, len) || memcmp(rd, e->src, len) ||
	    rsp != e->dport || rdp != e->sport)
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

int ctr_ct_parse(const struct nlmsghdr *nlh, struct wire_ct *e)
{
	struct ct_entry a;
	int ret = parse(nlh, AF_INET, &a);

	to_ct(e, &a);
	return ret;
}

int ctr_ct6_parse(const struct nlmsghdr *nlh, struct wire_ct6 *e)
{
	struct ct_entry a;
	int ret = parse(nlh, AF_INET6, &a);

	to_ct6(e, &a);
	return ret;
}

/* ---- talking to the kernel --------------------------------------------------- */

struct dump {
	int family;
	const uint8_t *addr;	/* the container's: addr_len(family) bytes */
	void *v;		/* struct wire_ct or wire_ct6, by family */
	size_t n, cap, skipped;
	int err;
};

static bool has_addr(const struct dump *d, const uint8_t *src, const uint8_t *dst)
{
	size_t len = addr_len(d->family);

	return !memcmp(src, d->addr, len) || !memcmp(dst, d->addr, len);
}

/* the wire's rules (wire_ct_ok, wire_ct6_ok): what may be made on a host */
static bool entry_ok(const struct ct_entry *e)
{
	struct wire_ct6 e6;
	struct wire_ct e4;

	if (e->family == AF_INET6) {
		to_ct6(&e6, e);
		return wire_ct6_ok(&e6);
	}
	to_ct(&e4, e);
	return wire_ct_ok(&e4);
}

/* A message parse() did not keep: TCP of the container's that this host
 * NATs (or another zone's)? */
static bool nated_here(const struct dump *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[CTA_MAX + 1];
	struct tb t = { tb, CTA_MAX };
	uint8_t s[WIRE_CT6_ADDR_LEN], dd[WIRE_CT6_ADDR_LEN];
	uint16_t sp, dp;

	memset(tb, 0, sizeof(tb));
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), tb_cb, &t) >= 0 &&
	       get_tuple(tb[CTA_TUPLE_ORIG], d->family, s, dd, &sp, &dp) == 1 &&
	       has_addr(d, s, dd);
}

static int keep(struct dump *d, const struct ct_entry *e)
{
	size_t size = d->family == AF_INET6 ? sizeof(struct wire_ct6) : sizeof(struct wire_ct);

	if (d->n >= WIRE_CT_MAX) {
		d->err = -E2BIG;
		return MNL_CB_ERROR;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		void *v = realloc(d->v, cap * size);

		if (!v) {
			d->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		d->v = v;
		d->cap = cap;
	}
	if (d->family == AF_INET6)
		to_ct6((struct wire_ct6 *)d->v + d->n, e);
	else
		to_ct((struct wire_ct *)d->v + d->n, e);
	d->n++;
	return MNL_CB_OK;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct ct_entry e;
	int ret = parse(nlh, d->family, &e);

	if (ret < 0 || (ret == 1 && !has_addr(d, e.src, e.dst)))
		return MNL_CB_OK;	/* not the container's, or not parsable */
	if (ret == 1 && !entry_ok(&e))
		return MNL_CB_OK;	/* a state that does not move (LISTEN, NONE) */
	if (!ret) {
		/* TCP of the container's that is NATed: lost with this host */
		if (nated_here(d, nlh))
			d->skipped++;
		return MNL_CB_OK;
	}
	return keep(d, &e);
}

/* This host's entries of family with addr at one end (ctr_ct_dump) */
static int dump_family(int family, const uint8_t *addr, void **v, size_t *n, size_t *skipped,
		char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump d = { .family = family, .addr = addr };
	struct mnl_socket *nl = nl_open_bus(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	int ret;

	*v = NULL;
	*n = *skipped = 0;
	if (!nl)
		return ferry_errf(err, errlen, -errno, "conntrack netlink: %s", strerror(errno));
	nlh = ct_header(buf, family, IPCTNL_MSG_CT_GET, NLM_F_DUMP, (uint32_t)time(NULL));
	ret = rtnl_request(nl, nlh, dump_cb, &d);
	mnl_socket_close(nl);
	if (d.err)
		ret = d.err;
	if (ret) {
		free(d.v);
		return ferry_errf(err, errlen, ret, "reading the %sconntrack table: %s%s",
				  family == AF_INET6 ? "IPv6 " : "", strerror(-ret),
				  ret == -E2BIG ? " (too many entries)" : "");
	}
	*v = d.v;
	*n = d.n;
	*skipped = d.skipped;
	return 0;
}

int ctr_ct_dump(uint32_t addr, struct wire_ct **v, size_t *n, size_t *skipped, char *err,
		size_t errlen)
{
	void *got;
	int ret = dump_family(AF_INET, (const uint8_t *)&addr, &got, n, skipped, err, errlen);

	*v = got;
	return ret;
}

int ctr_ct6_dump(const uint8_t addr[WIRE_CT6_ADDR_LEN], struct wire_ct6 **v, size_t *n,
		 size_t *skipped, char *err, size_t errlen)
{
	void *got;
	int ret = dump_family(AF_INET6, addr, &got, n, skipped, err, errlen);

	*v = got;
	return ret;
}

/* "a:port" (IPv4) or "[a]:port" (IPv6), for messages */
static void endpoint(int family, const uint8_t *addr, uint16_t port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(port));
}

/* Make v[0..n) (struct wire_ct or wire_ct6 by family) on this host */
static int create_all(int family, const void *v, size_t n, size_t *made, char *err, size_t errlen)
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
		char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];
		struct ct_entry e;

		entry_at(family, v, i, &e);
		ret = rtnl_request(nl, build_new(buf, &e, ++seq), NULL, NULL);
		if (ret == -EEXIST) {
			ret = 0;	/* the host knows it already */
			continue;
		}
		if (!ret) {
			(*made)++;
			continue;
		}
		endpoint(family, e.src, e.sport, a, sizeof(a));
		endpoint(family, e.dst, e.dport, b, sizeof(b));
		ferry_errf(err, errlen, ret, "conntrack entry %s -> %s: %s", a, b, strerror(-ret));
	}
	mnl_socket_close(nl);
	return ret;
}

int ctr_ct_create(const struct wire_ct *v, size_t n, size_t *made, char *err, size_t errlen)
{
	return create_all(AF_INET, v, n, made, err, errlen);
}

int ctr_ct6_create(const struct wire_ct6 *v, size_t n, size_t *made, char *err, size_t errlen)
{
	return create_all(AF_INET6, v, n, made, err, errlen);
}

static void delete_all(int family, const void *v, size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = n ? nl_open_bus(NETLINK_NETFILTER) : NULL;
	uint32_t seq = (uint32_t)time(NULL);

	if (!nl)
		return;
	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *nlh = ct_header(buf, family, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
						 ++seq);
		struct ct_entry e;

		entry_at(family, v, i, &e);
		put_tuple(nlh, CTA_TUPLE_ORIG, family, e.src, e.dst, e.sport, e.dport);
		rtnl_request(nl, nlh, NULL, NULL);	/* gone already: fine */
	}
	mnl_socket_close(nl);
}

void ctr_ct_delete(const struct wire_ct *v, size_t n)
{
	delete_all(AF_INET, v, n);
}

void ctr_ct6_delete(const struct wire_ct6 *v, size_t n)
{
	delete_all(AF_INET6, v, n);
}

/* ---- the container's address ------------------------------------------------- */

int ctr_ct_sock_addr(const struct proc_tcp_sock *s, int family, uint8_t addr[WIRE_CT6_ADDR_LEN])
{
	struct in6_addr a6;
	uint32_t a4;

	if (s->state != 0x01)		/* TCP_ESTABLISHED */
		return 0;
	memcpy(&a6, s->laddr, sizeof(a6));	/* tcp6's words are its bytes */
	if (family == AF_INET) {
		if (s->family == AF_INET)
			a4 = s->laddr[0];
		else if (IN6_IS_ADDR_V4MAPPED(&a6))
			a4 = s->laddr[3];	/* an IPv6 socket's IPv4 connection */
		else
			return 0;
		if (!a4 || (ntohl(a4) >> 24) == 127)
			return 0;
		memcpy(addr, &a4, 4);
		return 1;
	}
	/* a link-local address never leaves the container's link: nothing
	 * there is routed (nor NATed) by its host */
	if (s->family != AF_INET6 || IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LOOPBACK(&a6) ||
	    IN6_IS_ADDR_V4MAPPED(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6))
		return 0;
	memcpy(addr, &a6, sizeof(a6));
	return 1;
}

struct addr_find {
	int family;
	uint8_t addr[WIRE_CT6_ADDR_LEN];
};

static int addr_cb(const struct proc_tcp_sock *s, void *arg)
{
	struct addr_find *f = arg;

	return ctr_ct_sock_addr(s, f->family, f->addr);
}

/* The first address of family that a socket of pid's namespace shows */
static int local_addr(pid_t pid, int family, uint8_t addr[WIRE_CT6_ADDR_LEN])
{
	struct addr_find f = { .family = family };
	/* tcp first, then tcp6: an IPv4 connection of an IPv6 socket is there */
	int ret = proc_tcp_each(pid, 1, addr_cb, &f);

	if (ret < 0)
		return ret;
	if (!ret)
		return -ENOENT;
	memcpy(addr, f.addr, addr_len(family));
	return 0;
}

int ctr_ct_local_addr(pid_t pid, uint32_t *addr)
{
	uint8_t a[WIRE_CT6_ADDR_LEN];
	int ret = local_addr(pid, AF_INET, a);

	if (!ret)
		memcpy(addr, a, 4);
	return ret;
}

int ctr_ct6_local_addr(pid_t pid, uint8_t addr[WIRE_CT6_ADDR_LEN])
{
	return local_addr(pid, AF_INET6, addr);
}
