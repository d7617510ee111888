// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include "rtnl.h"
#include "tcp_diag.h"

struct recovering {
	bool (*has)(unsigned long inode, void *arg);
	void *arg;
	int n;
};

static int one_socket(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct recovering *r = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m) || !r->has(m->idiag_inode, r->arg))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*m)) {
		const struct tcp_info *ti = mnl_attr_get_payload(a);

		if (mnl_attr_get_type(a) != INET_DIAG_INFO ||
		    mnl_attr_get_payload_len(a) < offsetof(struct tcp_info, tcpi_retrans) +
						  sizeof(ti->tcpi_retrans))
			continue;
		if (ti->tcpi_retrans)
			r->n++;
	}
	return MNL_CB_OK;
}

/* A sock_diag socket of pid's network namespace, or NULL with errno set. */
static struct mnl_socket *diag_open(pid_t pid)
{
	struct mnl_socket *nl;
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	nl = nl_open_bus_in_ns(NETLINK_SOCK_DIAG, fd);
	err = errno;
	close(fd);
	errno = err;
	return nl;
}

int tcp_diag_recovering(pid_t netns_pid, bool (*has)(unsigned long inode, void *arg), void *arg)
{
	struct recovering r = { .has = has, .arg = arg };
	static const int families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl = diag_open(netns_pid);
	int ret = 0;

	if (!nl)
		return -errno;
	for (size_t i = 0; !ret && i < sizeof(families) / sizeof(families[0]); i++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct inet_diag_req_v2 *q;

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		q = mnl_nlmsg_put_extra_header(nlh, sizeof(*q));
		q->sdiag_family = (unsigned char)families[i];
		q->sdiag_protocol = IPPROTO_TCP;
		q->idiag_states = ~0u;
		q->idiag_ext = 1 << (INET_DIAG_INFO - 1);
		ret = rtnl_request(nl, nlh, one_socket, &r);
	}
	mnl_socket_close(nl);
	return ret ? ret : r.n;
}
