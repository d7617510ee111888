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
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include "ctr.h"
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
	unsigned int portid = mnl_socket_get_portid(nl), seq = (unsigned int)time(NULL);
	ssize_t len;
	int ret;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | (ifindex > 0 ? 0 : NLM_F_DUMP);
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex > 0 ? ifindex : 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, cb_link, d);
	} while (ret == MNL_CB_OK && ifindex <= 0);
	return ret < 0 ? -errno : 0;
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
	unsigned int seq = (unsigned int)time(NULL) ^ 0x5a5a;
	int32_t nsid = -1;
	ssize_t len;

	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)ns_fd);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0 || mnl_cb_run(buf, (size_t)len, seq, mnl_socket_get_portid(nl), cb_nsid,
				  &nsid) < 0)
		return -1;
	return nsid;
}

/* A route netlink socket of the network namespace at ns_path, opened from
 * within it and used from here (a socket keeps its namespace). */
static struct mnl_socket *open_in_ns(const char *ns_path, int *err)
{
	struct mnl_socket *nl = NULL;
	int here, there;

	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	there = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (here < 0 || there < 0 || setns(there, CLONE_NEWNET)) {
		*err = -errno;
		goto out;
	}
	nl = mnl_socket_open(NETLINK_ROUTE);
	*err = nl ? 0 : -errno;
	/* this thread must not stay in the container's namespace */
	if (setns(here, CLONE_NEWNET)) {
		ferry_err("cannot return to this host's network namespace: %s", strerror(errno));
		abort();
	}
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		mnl_socket_close(nl);
		nl = NULL;
	}
out:
	if (here >= 0)
		close(here);
	if (there >= 0)
		close(there);
	return nl;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb))
		return -errno;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
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
	ret = same_file(ns, "/proc/self/ns/net");
	if (ret < 0)
		return ferry_errf(err, errlen, ret, "%s: %s", ns, strerror(-ret));
	if (ret)
		return ferry_errf(err, errlen, -ENOTSUP, "it shares this host's network namespace "
				  "(--network host): its connections cannot move");
	nl = open_in_ns(ns, &ret);
	if (!nl)
		return ferry_errf(err, errlen, ret, "its network namespace: %s", strerror(-ret));
	ret = get_links(nl, 0, &d);
	mnl_socket_close(nl);
	if (ret)
		return ferry_errf(err, errlen, ret, "its links: %s", strerror(-ret));
	if (d.overflow)
		return ferry_errf(err, errlen, -E2BIG, "more than %d interfaces", CTR_MAX_LINKS);
	ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", ns, strerror(errno));
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		if (nl)
			mnl_socket_close(nl);
		close(ns_fd);
		return ferry_errf(err, errlen, ret, "route netlink: %s", strerror(-ret));
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
	unsigned int portid, seq = (unsigned int)time(NULL);
	int ret = 0;

	if (!ci->nlinks)
		return 0;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		if (nl)
			mnl_socket_close(nl);
		return ferry_errf(err, errlen, ret, "route netlink: %s", strerror(-ret));
	}
	portid = mnl_socket_get_portid(nl);
	/* every link, even after one failed: a half lock is undone the same way */
	for (int i = 0; i < ci->nlinks; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ifinfomsg *ifi;
		ssize_t len;
		int r;

		nlh->nlmsg_type = RTM_NEWLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++seq;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ci->links[i].ifindex;
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = locked ? 0 : IFF_UP;
		r = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
		if (!r) {
			len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			r = len < 0 ? -errno :
			    mnl_cb_run(buf, (size_t)len, seq, portid, NULL, NULL) < 0 ? -errno : 0;
		}
		if (r && !ret)
			ret = ferry_errf(err, errlen, r, "setting %s %s: %s", ci->links[i].name,
					 locked ? "down" : "up", strerror(-r));
	}
	mnl_socket_close(nl);
	return ret;
}
