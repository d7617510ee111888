// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include "rtnl.h"

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
