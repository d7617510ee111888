/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel's sock_diag says of a process's TCP sockets that the
 * other views (ferry.ko's export, /proc/net/tcp) do not: here, whether a
 * connection has retransmitted data not yet acknowledged (tcp_info's
 * tcpi_retrans, the kernel's retrans_out), i.e. it is still recovering
 * from losses. Read-only (NETLINK_SOCK_DIAG, INET_DIAG_INFO), in the
 * network namespace of the process given.
 */
#ifndef FERRY_TCP_DIAG_H
#define FERRY_TCP_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How many TCP sockets (IPv4 and IPv6) of netns_pid's network namespace
 * that has(inode, arg) selects have retransmitted data unacknowledged;
 * -errno if sock_diag cannot be asked there. */
int tcp_diag_recovering(pid_t netns_pid, bool (*has)(unsigned long inode, void *arg), void *arg);

#endif
