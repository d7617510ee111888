/* SPDX-License-Identifier: GPL-2.0 */
/* TCP endpoints of a migration. */
#ifndef FERRY_MIG_NET_H
#define FERRY_MIG_NET_H

#include <stddef.h>

/* "host:port", "[v6]:port" (":port" = any address). 0 or -EINVAL. */
int mig_split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize);
/* Connected / listening socket fd, or -errno with a message in err. */
int mig_connect(const char *hostport, char *err, size_t errlen);
/* The same, giving up after ms (0: the kernel's SYN retries). */
int mig_connect_timeout(const char *hostport, int ms, char *err, size_t errlen);
int mig_listen(const char *addrport, char *err, size_t errlen);

/* "10.0.0.1:40312" of a connected socket's peer, for logs. */
void mig_peer_name(int fd, char *buf, size_t size);

/* A dead link ends a migration after at most about this long: data not
 * acknowledged for MIG_USER_TIMEOUT_MS, or an idle connection whose
 * keepalive probes go unanswered (IDLE + INTVL * CNT seconds). */
#define MIG_USER_TIMEOUT_MS	20000
#define MIG_KEEPIDLE_S		5
#define MIG_KEEPINTVL_S		2
#define MIG_KEEPCNT		5
/* Buffers, no Nagle, and those timeouts (also for accepted sockets). */
void mig_net_tune(int fd);
/* Data not acknowledged for ms (a window the peer keeps shut counts too)
 * ends the connection, instead of MIG_USER_TIMEOUT_MS. */
void mig_net_user_timeout(int fd, unsigned int ms);

#endif
