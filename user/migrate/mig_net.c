// SPDX-License-Identifier: GPL-2.0
/* TCP endpoints of a migration: HOST:PORT parsing, connect, listen. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include "mig_net.h"
#include "util.h"

int mig_split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;
	size_t hl;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;	/* bare IPv6 needs brackets */
		hl = (size_t)(colon - s);
	}
	if (hl >= hsize || strlen(colon + 1) >= psize || !colon[1])
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	strcpy(port, colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (atoi(port) <= 0 || atoi(port) > 65535)
		return -EINVAL;
	return 0;
}

void mig_net_tune(int fd)
{
	int one = 1, buf = 4 << 20;
	int idle = MIG_KEEPIDLE_S, intvl = MIG_KEEPINTVL_S, cnt = MIG_KEEPCNT;
	unsigned int utimeout = MIG_USER_TIMEOUT_MS;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* A cut link must end the migration (and resume a frozen source)
	 * within seconds, not after TCP's ~15 minutes of retransmissions:
	 * unacknowledged data gives up after MIG_USER_TIMEOUT_MS, and an idle
	 * wait (the peer dumping or restoring) is probed by keepalives, which
	 * a live peer's kernel answers however busy its ferry is. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &utimeout, sizeof(utimeout));
}

void mig_net_user_timeout(int fd, unsigned int ms)
{
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

/* connect() within ms: a cut link must not hold a caller for the ~2
 * minutes of SYN retries. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
	int fl = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

	if (ms <= 0)
		return connect(fd, sa, len);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	r = connect(fd, sa, len);
	if (r && errno == EINPROGRESS) {
		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR && !ferry_interrupted);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r > 0 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
			errno = soerr;
		r = r > 0 && !soerr ? 0 : -1;
	}
	fcntl(fd, F_SETFL, fl);
	return r;
}

int mig_connect(const char *hostport, char *err, size_t errlen)
{
	return mig_connect_timeout(hostport, 0, err, errlen);
}

int mig_connect_timeout(const char *hostport, int ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[16];
	int fd = -1, r, saved = 0;

	if (mig_split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "bad address '%s' (want HOST:PORT or [V6ADDR]:PORT)", hostport);
		return -EINVAL;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		mig_net_tune(fd);
		if (!connect_within(fd, ai->ai_addr, ai->ai_addrlen, ms))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "connect to %s: %s", hostport, strerror(saved));
		return -saved;
	}
	return fd;
}

int mig_listen(const char *addrport, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	char host[256], port[16];
	int fd, r, one = 1;

	if (mig_split_hostport(addrport, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "bad address '%s' (want ADDR:PORT or [V6ADDR]:PORT)", addrport);
		return -EINVAL;
	}
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0) {
		r = -errno;
		freeaddrinfo(res);
		snprintf(err, errlen, "socket: %s", strerror(-r));
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	mig_net_tune(fd);
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4)) {
		r = -errno;
		snprintf(err, errlen, "listen on %s: %s", addrport, strerror(-r));
		close(fd);
		freeaddrinfo(res);
		return r;
	}
	freeaddrinfo(res);
	return fd;
}

void mig_peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	snprintf(buf, size, "an unknown peer");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	} else {
		snprintf(buf, size, "a local peer");
		return;
	}
	snprintf(buf, size, "%s:%d", host, port);
}
