/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A container's connection-tracking entries, carried from the source host
 * to the destination (ctnetlink through libmnl).
 *
 * The entries are struct wire_ct (IPv4) and wire_ct6 (IPv6) (wire.h), as
 * the source sends them (CONNTRACK, CONNTRACK6).
 *
 * Why: the container's traffic crosses its host's netfilter (Podman's
 * bridge is routed, and Podman masquerades what leaves it). On the
 * destination host, the restored container's first packet of a
 * connection is the first that host's conntrack sees of it: it takes it
 * for a new outgoing connection and masquerades it, so a remote client
 * gets it from the wrong address and the connection dies. Entries made on
 * the destination before the restore, as the source had them, make those
 * packets part of known connections, which are never NATed anew.
 *
 * Only TCP without NAT (the reply tuple is the original one reversed)
 * moves, over IPv4 and IPv6 (a dual-stack Podman network masquerades
 * both): a connection that the source host NATs (a published port, or
 * masqueraded outgoing) is bound to that host's address and cannot survive
 * the move anyway. An IPv6 socket's connection to an IPv4-mapped address
 * (::ffff:a.b.c.d) is IPv4 on the network, and in conntrack: an IPv4
 * connection here too.
 */
#ifndef FERRY_CTR_CONNTRACK_H
#define FERRY_CTR_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "wire.h"

/*
 * This host's entries of TCP connections with addr (network order) at one
 * end, without NAT, into *v (malloc'ed, at most WIRE_CT_MAX); *skipped
 * counts those left out because the host NATs them. 0 or -errno (why in
 * err).
 */
int ctr_ct_dump(uint32_t addr, struct wire_ct **v, size_t *n, size_t *skipped, char *err,
		size_t errlen);

/* The same for IPv6: addr is the container's IPv6 address. */
int ctr_ct6_dump(const uint8_t addr[WIRE_CT6_ADDR_LEN], struct wire_ct6 **v, size_t *n,
		 size_t *skipped, char *err, size_t errlen);

/* The container's address: the local one of its first established IPv4
 * connection (in the network namespace of pid; an IPv6 socket's
 * IPv4-mapped one counts), or -ENOENT. */
int ctr_ct_local_addr(pid_t pid, uint32_t *addr);
/* Its IPv6 address: the local one of its first established IPv6
 * connection (ctr_ct_sock_addr), or -ENOENT. */
int ctr_ct6_local_addr(pid_t pid, uint8_t addr[WIRE_CT6_ADDR_LEN]);
/*
 * Pure, for the unit tests: the container's address of family (AF_INET: 4
 * bytes, AF_INET6: 16, network order) that socket s shows, into addr: 1,
 * or 0 when s is not established or its local address is not one
 * (loopback; for AF_INET6 also link-local, which its host never routes,
 * and IPv4-mapped, an IPv4 connection).
 */
struct proc_tcp_sock;
int ctr_ct_sock_addr(const struct proc_tcp_sock *s, int family, uint8_t addr[WIRE_CT6_ADDR_LEN]);

/*
 * Make each entry on this host (one that exists already is left as it
 * is). *made counts the new ones. 0 or -errno at the first failure (why in
 * err); those made before it stay (ctr_ct_delete them).
 */
int ctr_ct_create(const struct wire_ct *v, size_t n, size_t *made, char *err, size_t errlen);
/* Remove them again (a restore that failed); missing ones are fine. */
void ctr_ct_delete(const struct wire_ct *v, size_t n);
/* The same for IPv6 entries. */
int ctr_ct6_create(const struct wire_ct6 *v, size_t n, size_t *made, char *err, size_t errlen);
void ctr_ct6_delete(const struct wire_ct6 *v, size_t n);

/* Pure, for the unit tests: a CT_NEW request for e into buf (at least
 * MNL_SOCKET_BUFFER_SIZE), and a dump message back into an entry (1 kept,
 * 0 not TCP/IPv4 or NATed, -EINVAL malformed); ct6: the same for IPv6
 * (0 for a message of TCP/IPv4). */
struct nlmsghdr;
struct nlmsghdr *ctr_ct_build_new(void *buf, const struct wire_ct *e, uint32_t seq);
int ctr_ct_parse(const struct nlmsghdr *nlh, struct wire_ct *e);
struct nlmsghdr *ctr_ct6_build_new(void *buf, const struct wire_ct6 *e, uint32_t seq);
int ctr_ct6_parse(const struct nlmsghdr *nlh, struct wire_ct6 *e);

#endif
