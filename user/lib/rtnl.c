// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include "rtnl.h"
#include "util.h"

struct mnl_socket *rtnl_open(void)
{
	return nl_open_bus(NETLINK_ROUTE);
}

struct mnl_socket *nl_open_bus(int bus)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int err;

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno;
		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int netns_is_own(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) || stat("/proc/thread-self/ns/net", &b))
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct mnl_socket *nl_open_bus_in_ns(int bus, int ns_fd)
{
	struct mnl_socket *nl = NULL;
	int here, own = netns_is_own(ns_fd), err;

	if (own < 0) {
		errno = -own;
		return NULL;
	}
	if (own)	/* no visit: setns() needs CAP_SYS_ADMIN even to stay */
		return nl_open_bus(bus);
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0 || setns(ns_fd, CLONE_NEWNET)) {
		err = errno;
		goto out;
	}
	nl = nl_open_bus(bus);
	err = errno;
	/* this thread must not stay in the other namespace */
	if (setns(here, CLONE_NEWNET)) {
		ferry_err("cannot return to this host's network namespace: %s", strerror(errno));
		abort();
	}
out:
	if (here >= 0)
		close(here);
	errno = err;
	return nl;
}

int rtnl_request(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static unsigned int calls;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq, portid = mnl_socket_get_portid(nl);
	int ret;

	nlh->nlmsg_seq = seq = (unsigned int)time(NULL) + ++calls;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = rtnl_open();
	int ret;

	if (!nl)
		return -errno;
	ret = rtnl_request(nl, nlh, cb, data);
	mnl_socket_close(nl);
	return ret;
}
