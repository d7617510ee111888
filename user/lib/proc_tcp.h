/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TCP sockets of a process's network namespace, as /proc/PID/net/tcp
 * and tcp6 list them: one reader for the callers that count or pick
 * connections (a container's connections, its local address).
 */
#ifndef FERRY_PROC_TCP_H
#define FERRY_PROC_TCP_H

#include <stdint.h>
#include <sys/types.h>

/* One line: addresses as the kernel prints them (its u32 words in hex,
 * i.e. the bytes in network order read as this host's integers), ports in
 * host order, the TCP state (TCP_ESTABLISHED 0x01 ... TCP_CLOSING 0x0B). */
struct proc_tcp_sock {
	int family;		/* AF_INET or AF_INET6 */
	uint32_t laddr[4], raddr[4];	/* IPv4: [0] only */
	uint16_t lport, rport;
	unsigned int state;
};

/*
 * fn for each socket of pid's network namespace: IPv4 (tcp), then IPv6
 * (tcp6) when v6 (a kernel without IPv6 has no tcp6: skipped). fn returns
 * 0 to go on, anything else to stop with that value. 0, fn's value, or
 * -errno.
 */
int proc_tcp_each(pid_t pid, int v6, int (*fn)(const struct proc_tcp_sock *s, void *arg),
		  void *arg);

#endif
