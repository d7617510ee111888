// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_bench N ROUNDS -- N established loopback connections (2N sockets in
 * this process, a few hundred unread bytes queued both ways on each), then
 * the state of all 2N sockets is collected ROUNDS times by each method,
 * alternating, in the same run:
 *   module:    one FERRY_CMD_TCP_DUMP (tree mode, with queue data) of this
 *              process, parsed and reassembled by user/tcp/tcp_state.c, in the
 *              packed encoding (FERRY_TCP_F_PACKED) and in the attribute
 *              encoding;
 *   userspace: per socket as CRIU does it: TCP_REPAIR on, TCP_QUEUE_SEQ of
 *              both queues, TCP_REPAIR_WINDOW, peek both queues, repair off.
 * Also, to show where the module's time goes: the same dumps received but
 * not parsed, the packed dump without queue data, and parsing alone (of a
 * packed dump's captured messages). The module method reuses its dump's
 * memory from round to round (ferry_tcp_dump_rerun), as a periodic dumper
 * would; the first round, on fresh memory, is reported too.
 * Prints the median time of each and the ratios, as JSON on stdout.
 * Every method must agree on every socket's write_seq, rcv_nxt, windows
 * and the queued bytes, or the run fails (exit 1).
 */
#include <sys/resource.h>
#include "tcp_common.h"
#include "nl.h"
#include "tcp_state.h"
#include "util.h"

#define QBYTES 300

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(uint64_t *)data)++;
	return MNL_CB_OK;
}

/* The reply messages of one dump, kept to time parsing alone. */
struct capture {
	char *buf;
	size_t len, cap;
};

static int capture_cb(const struct nlmsghdr *nlh, void *data)
{
	struct capture *c = data;

	if (c->len + nlh->nlmsg_len > c->cap) {
		c->cap = (c->cap + nlh->nlmsg_len) * 2;
		if (!(c->buf = realloc(c->buf, c->cap)))
			DIE("realloc");
	}
	memcpy(c->buf + c->len, nlh, nlh->nlmsg_len);
	c->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return MNL_CB_OK;
}

/* Parse captured messages into d (reused); the time in ns. */
static uint64_t timed_parse(const struct capture *c, struct ferry_tcp_dump *d, uint32_t flags)
{
	uint64_t t0 = ferry_now_ns();
	size_t off = 0;

	ferry_tcp_dump_reset(d);
	d->flags = flags;
	while (off < c->len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(c->buf + off);

		if (ferry_tcp_parse_msg(d, nlh))
			DIE("parse failed");
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return ferry_now_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct usr_state {
	uint32_t send_seq, recv_seq;
	struct tcp_repair_window win;
	ssize_t sndq, rcvq;
};

static uint8_t peekbuf[1 << 20];

static int userspace_one(int fd, struct usr_state *u)
{
	int on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF_NO_WP, q;
	socklen_t len;

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
		return -errno;
	q = TCP_SEND_QUEUE;
	setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	len = sizeof(u->send_seq);
	getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &u->send_seq, &len);
	u->sndq = recv(fd, peekbuf, sizeof(peekbuf), MSG_PEEK | MSG_DONTWAIT);
	q = TCP_RECV_QUEUE;
	setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	len = sizeof(u->recv_seq);
	getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &u->recv_seq, &len);
	u->rcvq = recv(fd, peekbuf, sizeof(peekbuf), MSG_PEEK | MSG_DONTWAIT);
	len = sizeof(u->win);
	getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &u->win, &len);
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
		return -errno;
	return 0;
}

/* What CRIU's libsoccr_save() does per socket, for the same information
 * the export carries (state, options, MSS, timestamps, queue sizes). */
static int userspace_full(int fd, struct usr_state *u)
{
	int v, on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF_NO_WP, q;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int inq = 0, outq = 0, nsd = 0;

	getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len);
	ioctl(fd, SIOCOUTQ, &outq);
	ioctl(fd, SIOCOUTQNSD, &nsd);
	ioctl(fd, SIOCINQ, &inq);
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
		return -errno;
	q = TCP_SEND_QUEUE;
	setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	len = sizeof(u->send_seq);
	getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &u->send_seq, &len);
	q = TCP_RECV_QUEUE;
	setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
	len = sizeof(u->recv_seq);
	getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &u->recv_seq, &len);
	len = sizeof(v);
	getsockopt(fd, SOL_TCP, TCP_MAXSEG, &v, &len);
	len = sizeof(u->win);
	getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &u->win, &len);
	len = sizeof(v);
	getsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &v, &len);
	u->sndq = 0;
	if (outq) {
		uint8_t *b = malloc((size_t)outq);

		q = TCP_SEND_QUEUE;
		setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
		u->sndq = recv(fd, b, (size_t)outq, MSG_PEEK | MSG_DONTWAIT);
		free(b);
	}
	u->rcvq = 0;
	if (inq) {
		uint8_t *b = malloc((size_t)inq);

		q = TCP_RECV_QUEUE;
		setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q));
		u->rcvq = recv(fd, b, (size_t)inq, MSG_PEEK | MSG_DONTWAIT);
		free(b);
	}
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
		return -errno;
	return 0;
}

/* Mismatches between an export and the userspace method's answers (fds
 * were handed out in order: find by fd). */
static int verify(const struct ferry_tcp_dump *d, const struct usr_state *us, const size_t *byfd,
		  size_t nfd)
{
	int bad = 0;

	for (size_t k = 0; k < d->n; k++) {
		const struct ferry_tcp_sock *s = &d->socks[k];
		size_t i = s->fd < nfd ? byfd[s->fd] : SIZE_MAX;

		if (i == SIZE_MAX || s->write_seq != us[i].send_seq ||
		    s->rcv_nxt != us[i].recv_seq || s->recvq.len != (uint32_t)us[i].rcvq ||
		    s->sendq.len != (uint32_t)us[i].sndq || s->snd_wnd != us[i].win.snd_wnd ||
		    s->rcv_wnd != us[i].win.rcv_wnd || !ferry_tcp_data_complete(s))
			bad++;
	}
	return bad;
}

/* One dump with exactly these flags; parsed into *d (reusing its memory,
 * as a periodic dumper would), or (d NULL) only received and counted.
 * Returns the time in ns. */
static uint64_t timed_dump(struct ferry_nl *nl, uint32_t flags, struct ferry_tcp_dump *d,
			   uint64_t *msgs)
{
	uint64_t t0 = ferry_now_ns(), t;
	int ret;

	if (d) {
		ret = ferry_tcp_dump_rerun(nl, (uint32_t)getpid(), flags, d);
		t = ferry_now_ns() - t0;
		if (msgs)
			*msgs = d->messages;
	} else {
		struct nlmsghdr *req = ferry_nl_request(nl, FERRY_CMD_TCP_DUMP, 1);
		uint64_t cnt = 0;

		mnl_attr_put_u32(req, FERRY_TCP_A_PID, (uint32_t)getpid());
		mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, flags);
		t0 = ferry_now_ns();
		ret = ferry_nl_run(nl, req, count_cb, &cnt);
		t = ferry_now_ns() - t0;
		if (msgs)
			*msgs = cnt;
	}
	if (ret)
		DIE("TCP_DUMP 0x%x: %s (%s)", flags, strerror(-ret), nl->errmsg);
	return t;
}

enum { M_PACKED, M_ATTR, M_USR, M_FULL, M_PACKED_RAW, M_ATTR_RAW, M_PACKED_NODATA,
       M_PARSE, M_N };

int main(int argc, char **argv)
{
	uint64_t n, rounds, *t[M_N], data_bytes = 0, msgs_pk = 0, msgs_at = 0, t_cold = 0;
	struct ferry_tcp_dump d_pk = { 0 }, d_at = { 0 }, d_nd = { 0 };
	struct capture cap = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct usr_state *us;
	struct rlimit rl;
	struct ferry_nl nl;
	int l, *fds, ret, bad = 0, bad_attr = 0;
	size_t *byfd;
	socklen_t sl = sizeof(sin);
	uint8_t buf[QBYTES];

	if (argc != 3 || !ferry_parse_u64(argv[1], 1, 100000, &n) ||
	    !ferry_parse_u64(argv[2], 1, 100, &rounds))
		DIE("usage: tcp_bench CONNECTIONS ROUNDS");
	rl.rlim_cur = rl.rlim_max = 2 * n + 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		DIE("RLIMIT_NOFILE %llu: %s", (unsigned long long)rl.rlim_cur, strerror(errno));
	fds = calloc(2 * n, sizeof(*fds));
	us = calloc(2 * n, sizeof(*us));
	byfd = malloc(rl.rlim_cur * sizeof(*byfd));
	if (!fds || !us || !byfd)
		DIE("calloc");
	for (int m = 0; m < M_N; m++)
		if (!(t[m] = calloc(rounds, sizeof(uint64_t))))
			DIE("calloc");

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) < 0)
		DIE("listen: %s", strerror(errno));
	memset(buf, 'q', sizeof(buf));
	for (uint64_t i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			DIE("connect %llu: %s", (unsigned long long)i, strerror(errno));
		s = accept(l, NULL, NULL);
		if (s < 0)
			DIE("accept: %s", strerror(errno));
		if (send(c, buf, QBYTES, 0) != QBYTES || send(s, buf, QBYTES, 0) != QBYTES)
			DIE("send: %s", strerror(errno));
		fds[2 * i] = c;
		fds[2 * i + 1] = s;
	}
	close(l);
	memset(byfd, 0xff, rl.rlim_cur * sizeof(*byfd));
	for (uint64_t i = 0; i < 2 * n; i++)
		byfd[fds[i]] = i;
	tc_msleep(500);
	if ((ret = ferry_nl_open(&nl)))
		DIE("netlink: %s", strerror(-ret));

	/* Profiling aid: TCP_BENCH_PROFILE=SECONDS runs packed dumps (flags
	 * TCP_BENCH_FLAGS, default DATA|PACKED) for that long and exits. */
	if (getenv("TCP_BENCH_PROFILE")) {
		uint64_t end = ferry_now_ns() + strtoull(getenv("TCP_BENCH_PROFILE"), NULL, 0) * 1000000000ULL;
		uint32_t fl = getenv("TCP_BENCH_FLAGS") ? (uint32_t)strtoul(getenv("TCP_BENCH_FLAGS"), NULL, 0)
						       : FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED;
		unsigned int k = 0;
		uint64_t tsum = 0;

		printf("ready\n");
		fflush(stdout);
		struct ferry_tcp_dump d = { 0 };

		while (ferry_now_ns() < end) {
			tsum += timed_dump(&nl, fl, &d, NULL);
			k++;
		}
		ferry_tcp_dump_free(&d);
		printf("dumps %u, %.3f ms each\n", k, tsum / 1e6 / (k ? k : 1));
		return 0;
	}

	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t t0 = ferry_now_ns();

		for (uint64_t i = 0; i < 2 * n; i++)
			if ((ret = userspace_one(fds[i], &us[i])))
				DIE("repair: %s", strerror(-ret));
		t[M_USR][r] = ferry_now_ns() - t0;

		t[M_PACKED][r] = timed_dump(&nl, FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED, &d_pk, &msgs_pk);
		if (r == 0)
			t_cold = t[M_PACKED][r];
		if (d_pk.n != 2 * n)
			DIE("module exported %zu sockets, want %llu", d_pk.n, (unsigned long long)(2 * n));
		bad += verify(&d_pk, us, byfd, rl.rlim_cur);
		data_bytes = d_pk.data_bytes;

		t[M_ATTR][r] = timed_dump(&nl, FERRY_TCP_F_DATA, &d_at, &msgs_at);
		if (d_at.n != 2 * n)
			DIE("module exported %zu sockets, want %llu", d_at.n, (unsigned long long)(2 * n));
		bad_attr += verify(&d_at, us, byfd, rl.rlim_cur);

		t0 = ferry_now_ns();
		for (uint64_t i = 0; i < 2 * n; i++) {
			struct usr_state full;

			if ((ret = userspace_full(fds[i], &full)))
				DIE("repair: %s", strerror(-ret));
			if (full.send_seq != us[i].send_seq || full.rcvq != us[i].rcvq)
				bad++;
		}
		t[M_FULL][r] = ferry_now_ns() - t0;

		/* Where the module's time goes: the same dumps received but not
		 * parsed, and the packed one without queue data. */
		t[M_PACKED_RAW][r] = timed_dump(&nl, FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED, NULL, NULL);
		t[M_ATTR_RAW][r] = timed_dump(&nl, FERRY_TCP_F_DATA, NULL, NULL);
		t[M_PACKED_NODATA][r] = timed_dump(&nl, FERRY_TCP_F_PACKED, &d_nd, NULL);
		{
			struct nlmsghdr *req = ferry_nl_request(&nl, FERRY_CMD_TCP_DUMP, 1);

			cap.len = 0;
			mnl_attr_put_u32(req, FERRY_TCP_A_PID, (uint32_t)getpid());
			mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED);
			if (ferry_nl_run(&nl, req, capture_cb, &cap))
				DIE("capture dump failed");
			t[M_PARSE][r] = timed_parse(&cap, &d_nd, FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED);
			if (d_nd.n != 2 * n)
				DIE("parsed %zu sockets", d_nd.n);
		}
	}
	free(cap.buf);
	ferry_tcp_dump_free(&d_pk);
	ferry_tcp_dump_free(&d_at);
	ferry_tcp_dump_free(&d_nd);
	ferry_nl_close(&nl);
	for (int m = 0; m < M_N; m++)
		qsort(t[m], rounds, sizeof(uint64_t), cmp_u64);
#define MED(m) (t[m][rounds / 2] / 1e6)
	printf("{\"connections\":%llu,\"sockets\":%llu,\"rounds\":%llu,"
	       "\"module_ms\":%.3f,\"module_attr_ms\":%.3f,\"userspace_ms\":%.3f,"
	       "\"criu_full_ms\":%.3f,\"ratio\":%.2f,\"ratio_attr\":%.2f,\"ratio_criu_full\":%.2f,"
	       "\"module_min_ms\":%.3f,\"userspace_min_ms\":%.3f,"
	       "\"module_unparsed_ms\":%.3f,\"module_attr_unparsed_ms\":%.3f,"
	       "\"module_nodata_ms\":%.3f,\"module_first_ms\":%.3f,\"parse_only_ms\":%.3f,"
	       "\"data_bytes\":%llu,\"messages\":%llu,\"messages_attr\":%llu,"
	       "\"mismatches\":%d,\"mismatches_attr\":%d}\n",
	       (unsigned long long)n, (unsigned long long)(2 * n), (unsigned long long)rounds,
	       MED(M_PACKED), MED(M_ATTR), MED(M_USR), MED(M_FULL),
	       (double)t[M_USR][rounds / 2] / (double)t[M_PACKED][rounds / 2],
	       (double)t[M_USR][rounds / 2] / (double)t[M_ATTR][rounds / 2],
	       (double)t[M_FULL][rounds / 2] / (double)t[M_PACKED][rounds / 2],
	       t[M_PACKED][0] / 1e6, t[M_USR][0] / 1e6, MED(M_PACKED_RAW), MED(M_ATTR_RAW),
	       MED(M_PACKED_NODATA), t_cold / 1e6, MED(M_PARSE), (unsigned long long)data_bytes,
	       (unsigned long long)msgs_pk, (unsigned long long)msgs_at, bad, bad_attr);
	return bad || bad_attr ? 1 : 0;
}
