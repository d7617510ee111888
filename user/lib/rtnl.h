/* SPDX-License-Identifier: GPL-2.0 */
/* Route netlink requests (libmnl), shared by the address move and the
 * container network lock; the socket and the request loop serve the
 * other buses too (conntrack: ctr_conntrack.c). */
#ifndef FERRY_RTNL_H
#define FERRY_RTNL_H

#include <libmnl/libmnl.h>

/* A bound netlink socket of bus (NETLINK_ROUTE, NETLINK_NETFILTER, ...) in
 * the calling thread's network namespace, or NULL with errno set. */
struct mnl_socket *nl_open_bus(int bus);
/* Is the network namespace of fd the calling thread's? 1 yes, 0 no, -errno */
int netns_is_own(int fd);
/* nl_open_bus(bus) in the network namespace ns_fd: the calling thread goes
 * there to open it (a socket keeps its namespace) and comes back, or aborts
 * the program if it cannot. NULL with errno set. */
struct mnl_socket *nl_open_bus_in_ns(int bus, int ns_fd);
/* nl_open_bus(NETLINK_ROUTE) */
struct mnl_socket *rtnl_open(void);
/* One request on nl, of any bus (its sequence number is set here): cb sees every reply
 * until the kernel's ACK or DONE, so a request that is not a dump must ask
 * NLM_F_ACK. 0, or -errno (a netlink error's too). */
int rtnl_request(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* The same on a fresh socket of this namespace. */
int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
