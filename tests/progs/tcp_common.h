/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the TCP test programs: network namespaces set up by the
 * scenario scripts ("fa" holds 10.0.0.1 / fd00::1 on veth "va", "fb" holds
 * 10.0.0.2 / fd00::2 on veth "vb"), a byte pattern that makes every byte of
 * a stream checkable, packet drops with nft, and TCP_REPAIR readers.
 */
#ifndef FERRY_TCP_COMMON_H
#define FERRY_TCP_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* linux/tcp.h (for the full struct tcp_info) has no state names. */
enum {
	TCP_ESTABLISHED = 1, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
	TCP_TIME_WAIT, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING,
};
#ifndef SOL_TCP
#define SOL_TCP 6
#endif

static int tc_failures __attribute__((unused));

#define DIE(...) do { fprintf(stderr, "FATAL: " __VA_ARGS__); fputc('\n', stderr); exit(2); } while (0)
#define CHECK(cond, ...) do {							\
	if (!(cond)) {								\
		tc_failures++;							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);		\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
	}									\
} while (0)
#define CHECK_EQ(a, b, what) do {						\
	unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
	if (_a != _b) {								\
		tc_failures++;							\
		fprintf(stderr, "FAIL %s:%d: %s: export %llu != kernel %llu\n",	\
			__FILE__, __LINE__, what, _a, _b);			\
	}									\
} while (0)

/* Stream byte i of direction dir (0: client->server, 1: server->client). */
static inline uint8_t tc_pat(int dir, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ (dir ? 0xA5A5A5A5ULL : 0x5A5A5A5AULL);

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return (uint8_t)x;
}

static inline void tc_fill(uint8_t *b, int dir, uint64_t start, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = tc_pat(dir, start + i);
}

/* Index of the first byte not matching the pattern, or n. */
static inline size_t tc_match(const uint8_t *b, int dir, uint64_t start, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != tc_pat(dir, start + i))
			return i;
	return n;
}

static inline void tc_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline int tc_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tc_sys(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		DIE("command failed (%d): %s", rc, cmd);
	return 0;
}

/* Drop every packet arriving in namespace ns (on/off). Dropping at the
 * receiver keeps the sender's data "in flight" (sent, unacknowledged). */
static inline void tc_drop_in(const char *ns, int on)
{
	if (on)
		tc_sys("ip netns exec %s nft 'add table inet ferrytest; "
		       "add chain inet ferrytest in { type filter hook input priority 0; policy drop; }'", ns);
	else
		tc_sys("ip netns exec %s nft 'delete table inet ferrytest'", ns);
}

static inline void tc_setns(const char *ns)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		DIE("setns %s: %s", ns, strerror(errno));
	close(fd);
}

struct tc_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* host 1 = client side (fa), 2 = server side (fb) */
static inline void tc_mkaddr(struct tc_addr *a, int family, int host, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.0.%d", host);
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s->sin_addr);
		a->len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
		char ip[32];

		snprintf(ip, sizeof(ip), "fd00::%d", host);
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		a->len = sizeof(*s);
	}
}

static inline uint16_t tc_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		DIE("getsockname: %s", strerror(errno));
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static inline void tc_setint(int fd, int level, int opt, int val)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)) < 0)
		DIE("setsockopt %d/%d: %s", level, opt, strerror(errno));
}

static inline int tc_getint(int fd, int level, int opt)
{
	int val = 0;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, opt, &val, &len) < 0)
		DIE("getsockopt %d/%d: %s", level, opt, strerror(errno));
	return val;
}

static inline void tc_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* What TCP_REPAIR shows of a socket (read with repair on, then off
 * without a window probe so nothing is sent). */
struct tc_repair {
	uint32_t send_seq, recv_seq;	/* TCP_QUEUE_SEQ: write_seq, rcv_nxt */
	struct tcp_repair_window win;
	int win_ok;
	int maxseg;			/* TCP_MAXSEG in repair: mss_clamp */
	uint8_t *sndq, *rcvq;		/* peeked queues */
	ssize_t sndq_len, rcvq_len;
};

static inline ssize_t tc_peek_queue(int fd, int queue, uint8_t **out)
{
	size_t cap = 1 << 22;
	uint8_t *b = malloc(cap);
	ssize_t n;

	tc_setint(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue);
	n = recv(fd, b, cap, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		n = 0;
	*out = b;
	return n;
}

static inline void tc_repair_read(int fd, struct tc_repair *r)
{
	socklen_t len;

	memset(r, 0, sizeof(*r));
	tc_setint(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	tc_setint(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	r->send_seq = (uint32_t)tc_getint(fd, SOL_TCP, TCP_QUEUE_SEQ);
	tc_setint(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	r->recv_seq = (uint32_t)tc_getint(fd, SOL_TCP, TCP_QUEUE_SEQ);
	len = sizeof(r->win);
	r->win_ok = getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &r->win, &len) == 0;
	r->maxseg = tc_getint(fd, SOL_TCP, TCP_MAXSEG);
	r->sndq_len = tc_peek_queue(fd, TCP_SEND_QUEUE, &r->sndq);
	r->rcvq_len = tc_peek_queue(fd, TCP_RECV_QUEUE, &r->rcvq);
	tc_setint(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	tc_setint(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
}

static inline void tc_repair_free(struct tc_repair *r)
{
	free(r->sndq);
	free(r->rcvq);
}

/* Write up to n pattern bytes without blocking; returns bytes written. */
static inline size_t tc_write_pat(int fd, int dir, uint64_t *pos, size_t n)
{
	uint8_t buf[16384];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t w;

		tc_fill(buf, dir, *pos, k);
		w = send(fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			DIE("send: %s", strerror(errno));
		}
		*pos += (uint64_t)w;
		done += (size_t)w;
	}
	return done;
}

/* Read exactly n bytes (blocking with a deadline) and verify them. */
static inline void tc_read_pat(int fd, int dir, uint64_t *pos, size_t n)
{
	uint8_t buf[16384];
	time_t deadline = time(NULL) + 60;

	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t r = recv(fd, buf, k, MSG_DONTWAIT);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (time(NULL) > deadline)
				DIE("read: timed out with %zu bytes missing", n);
			tc_msleep(10);
			continue;
		}
		if (r <= 0)
			DIE("read: %s", r < 0 ? strerror(errno) : "EOF");
		if (tc_match(buf, dir, *pos, (size_t)r) != (size_t)r)
			DIE("read: stream %d differs at byte %llu", dir,
			    (unsigned long long)(*pos + tc_match(buf, dir, *pos, (size_t)r)));
		*pos += (uint64_t)r;
		n -= (size_t)r;
	}
}

#endif
