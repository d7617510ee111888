// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* A sock_diag socket of pid's network namespace (the calling thread
 * visits it to open one), or NULL with errno set. */
static struct mnl_socket *diag_open(pid_t pid)
{
	char path[64];
	struct stat a, b;
	struct mnl_socket *nl = NULL;
	int self, there, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	there = open(path, O_RDONLY | O_CLOEXEC);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (there < 0 || self < 0 || fstat(there, &a) || fstat(self, &b)) {
		err = errno;
	} else if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		nl = nl_open_bus(NETLINK_SOCK_DIAG);
		err = errno;
	} else if (setns(there, CLONE_NEWNET)) {
		err = errno;
	} else {
		nl = nl_open_bus(NETLINK_SOCK_DIAG);
		err = errno;
		if (setns(self, CLONE_NEWNET)) {
			/* stranded in the tree's namespace: nothing after
			 * this may run here */
			perror("ferry: cannot return to its own network namespace");
			_exit(70);
		}
	}
	if (there >= 0)
		close(there);
	if (self >= 0)
		close(self);
	errno = err ? err : EIO;
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
