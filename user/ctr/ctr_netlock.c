// SPDX-License-Identifier: GPL-2.0
/*
 * The network lock of a container on the move (ctr.h): the host's end of
 * each of its veth pairs goes down.
 *
 * CRIU locks a container's network namespace only while it dumps: with
 * --leave-running it unlocks it again before Podman returns. The container
 * stays frozen after that (its cgroup), but its kernel does not: it would
 * acknowledge what the peers send and answer them, from sockets whose
 * state already travels to the destination. Bytes acknowledged here after
 * the dump are lost there. So ferry holds its own lock from before the
 * checkpoint until the destination answers: with the host end of the veth
 * down, the container's interface has no carrier, and nothing goes in or
 * out (its routes and addresses stay, so that thawing it needs only the
 * link up again). One link per interface, whatever the number of
 * connections: the frozen time does not grow with them.
 *
 * The lock is not in the container's namespace (an nftables table there
 * would work as well), so nothing of it is in Podman's archive or could
 * follow the container to the destination.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include "ctr.h"
#include "rtnl.h"
#include "util.h"

struct link_seen {
	int ifindex;		/* in the namespace that was dumped */
	int peer;		/* IFLA_LINK: the peer's ifindex, -1 if none */
	bool other_ns;		/* the peer lives in another namespace, */
	int32_t link_nsid;	/* which the dumped one calls this */
	bool loopback, veth;
	char name[IFNAMSIZ];
};

struct link_dump {
	struct link_seen *v;
	int n, max;
	bool overflow;
};

static int cb_linkinfo(const struct nlattr *a, void *data)
{
	bool *veth = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
	    !strcmp(mnl_attr_get_str(a), "veth"))
		*veth = true;
	return MNL_CB_OK;
}

static int cb_link_attr(const struct nlattr *a, void *data)
{
	struct link_seen *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->peer = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			l->link_nsid = (int32_t)mnl_attr_get_u32(a);
			l->other_ns = l->link_nsid >= 0;
		}
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, cb_linkinfo, &l->veth);
		break;
	}
	return MNL_CB_OK;
}

static int cb_link(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump *d = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_seen l = { .peer = -1 };

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	l.ifindex = ifi->ifi_index;
	l.loopback = ifi->ifi_flags & IFF_LOOPBACK;
	mnl_attr_parse(nlh, sizeof(*ifi), cb_link_attr, &l);
	if (d->n == d->max) {
		d->overflow = true;
		return MNL_CB_OK;
	}
	d->v[d->n++] = l;
	return MNL_CB_OK;
}

/* RTM_GETLINK on nl (a dump, or the one link ifindex > 0) into d: 0 or
 * -errno */
static int get_links(struct mnl_socket *nl, int ifindex, struct link_dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | (ifindex > 0 ? NLM_F_ACK : NLM_F_DUMP);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex > 0 ? ifindex : 0;
	return rtnl_request(nl, nlh, cb_link, d);
}

static int cb_nsid_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*(int32_t *)data = (int32_t)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int cb_nsid(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNSID)
		mnl_attr_parse(nlh, sizeof(struct rtgenmsg), cb_nsid_attr, data);
	return MNL_CB_OK;
}

/* The ID that nl's namespace gives the namespace of ns_fd (RTM_GETNSID),
 * negative if it has none */
static int32_t get_nsid(struct mnl_socket *nl, int ns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	int32_t nsid = -1;

	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)ns_fd);
	return rtnl_request(nl, nlh, cb_nsid, &nsid) ? -1 : nsid;
}

int ctr_net_find(struct ctr_info *ci, char *err, size_t errlen)
{
	struct link_seen seen[CTR_MAX_LINKS + 8], host;
	struct link_dump d = { .v = seen, .max = (int)(sizeof(seen) / sizeof(seen[0])) };
	struct mnl_socket *nl;
	char ns[64];
	int ret, ns_fd;

	ci->nlinks = 0;
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)ci->pid);
	ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", ns, strerror(errno));
	nl = NULL;
	ret = netns_is_own(ns_fd);
	if (ret) {
		if (ret < 0)
			ferry_errf(err, errlen, ret, "%s: %s", ns, strerror(-ret));
		else
			ret = ferry_errf(err, errlen, -ENOTSUP, "it shares this host's network "
					 "namespace (--network host): its connections cannot move");
		goto out;
	}
	nl = nl_open_bus_in_ns(NETLINK_ROUTE, ns_fd);
	if (!nl) {
		ret = -errno;
		ferry_errf(err, errlen, ret, "its network namespace: %s", strerror(-ret));
		goto out;
	}
	ret = get_links(nl, 0, &d);
	mnl_socket_close(nl);
	nl = NULL;
	if (ret) {
		ferry_errf(err, errlen, ret, "its links: %s", strerror(-ret));
		goto out;
	}
	if (d.overflow) {
		ret = ferry_errf(err, errlen, -E2BIG, "more than %d interfaces", CTR_MAX_LINKS);
		goto out;
	}
	nl = rtnl_open();
	if (!nl) {
		ret = ferry_errf(err, errlen, -errno, "route netlink: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < d.n && !ret; i++) {
		struct link_dump h = { .v = &host, .max = 1 };
		const struct link_seen *c = &seen[i];

		if (c->loopback)
			continue;
		if (!c->veth || c->peer <= 0 || !c->other_ns) {
			ret = ferry_errf(err, errlen, -ENOTSUP, "its interface %s is not one end of a "
					 "veth pair", c->name);
			break;
		}
		if (ci->nlinks == CTR_MAX_LINKS) {
			ret = ferry_errf(err, errlen, -E2BIG, "more than %d interfaces", CTR_MAX_LINKS);
			break;
		}
		/* the peer's index is only meaningful in the peer's namespace,
		 * and indexes repeat between namespaces: the link here with
		 * that index is the peer if it is a veth whose other end has
		 * this one's index in the container's namespace (its ID here,
		 * asked after the link, which assigns it) */
		ret = get_links(nl, c->peer, &h);
		if (ret || h.n != 1 || !host.veth || host.peer != c->ifindex || !host.other_ns ||
		    host.link_nsid != get_nsid(nl, ns_fd)) {
			ret = ferry_errf(err, errlen, -ENOTSUP, "the other end of its interface %s "
					 "is not in this host's network namespace", c->name);
			break;
		}
		ci->links[ci->nlinks].ifindex = host.ifindex;
		snprintf(ci->links[ci->nlinks].name, sizeof(ci->links[0].name), "%s", host.name);
		ci->nlinks++;
	}
out:
	if (nl)
		mnl_socket_close(nl);
	close(ns_fd);
	if (ret)
		ci->nlinks = 0;
	return ret;
}

int ctr_net_lock(const struct ctr_info *ci, bool locked, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	int ret = 0;

	if (!ci->nlinks)
		return 0;
	nl = rtnl_open();
	if (!nl)
		return ferry_errf(err, errlen, -errno, "route netlink: %s", strerror(errno));
	/* every link, even after one failed: a half lock is undone the same way */
	for (int i = 0; i < ci->nlinks; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ifinfomsg *ifi;
		int r;

		nlh->nlmsg_type = RTM_NEWLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ci->links[i].ifindex;
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = locked ? 0 : IFF_UP;
		r = rtnl_request(nl, nlh, NULL, NULL);
		if (r && !ret)
			ret = ferry_errf(err, errlen, r, "setting %s %s: %s", ci->links[i].name,
					 locked ? "down" : "up", strerror(-r));
	}
	mnl_socket_close(nl);
	return ret;
}
