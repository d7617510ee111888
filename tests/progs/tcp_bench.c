// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_bench N ROUNDS -- N established loopback connections (2N sockets in
 * this process, a few hundred unread bytes queued both ways on each), then
 * the state of all 2N sockets is collected ROUNDS times by each method,
 * alternating, in the same run:
 *   module:    one FERRY_CMD_TCP_DUMP (tree mode, with queue data) of this
 *              process, parsed and reassembled by user/tcp_state.c;
 *   userspace: per socket as CRIU does it: TCP_REPAIR on, TCP_QUEUE_SEQ of
 *              both queues, TCP_REPAIR_WINDOW, peek both queues, repair off.
 * Prints the median time of each and their ratio, as JSON on stdout.
 * Both methods must agree on every socket's write_seq and rcv_nxt and on
 * the queued bytes, or the run fails (exit 1).
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

int main(int argc, char **argv)
{
	uint64_t n, rounds, *t_mod, *t_usr, *t_full, data_bytes = 0, msgs = 0, t_raw = 0;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct usr_state *us;
	struct rlimit rl;
	struct ferry_nl nl;
	int l, *fds, ret, bad = 0;
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
	t_mod = calloc(rounds, sizeof(*t_mod));
	t_usr = calloc(rounds, sizeof(*t_usr));
	t_full = calloc(rounds, sizeof(*t_full));
	byfd = malloc(rl.rlim_cur * sizeof(*byfd));
	if (!fds || !us || !t_mod || !t_usr || !t_full || !byfd)
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

	for (uint64_t r = 0; r < rounds; r++) {
		struct ferry_tcp_dump d;
		uint64_t t0 = ferry_now_ns();

		ret = ferry_tcp_dump_run(&nl, (uint32_t)getpid(), FERRY_TCP_F_DATA, &d);
		t_mod[r] = ferry_now_ns() - t0;
		if (ret)
			DIE("TCP_DUMP: %s (%s)", strerror(-ret), nl.errmsg);
		if (d.n != 2 * n)
			DIE("module exported %zu sockets, want %llu", d.n, (unsigned long long)(2 * n));
		data_bytes = d.data_bytes;
		msgs = d.messages;

		if (getenv("TCP_BENCH_ONLY_MODULE")) {	/* profiling aid */
			ferry_tcp_dump_free(&d);
			continue;
		}
		t0 = ferry_now_ns();
		for (uint64_t i = 0; i < 2 * n; i++)
			if ((ret = userspace_one(fds[i], &us[i])))
				DIE("repair: %s", strerror(-ret));
		t_usr[r] = ferry_now_ns() - t0;
		t0 = ferry_now_ns();
		for (uint64_t i = 0; i < 2 * n; i++) {
			struct usr_state full;

			if ((ret = userspace_full(fds[i], &full)))
				DIE("repair: %s", strerror(-ret));
			if (full.send_seq != us[i].send_seq || full.rcvq != us[i].rcvq)
				bad++;
		}
		t_full[r] = ferry_now_ns() - t0;

		/* Same answers (fds were handed out in order: find by fd). */
		for (size_t k = 0; k < d.n; k++) {
			const struct ferry_tcp_sock *s = &d.socks[k];
			size_t i = s->fd < rl.rlim_cur ? byfd[s->fd] : SIZE_MAX;

			if (i == SIZE_MAX || s->write_seq != us[i].send_seq ||
			    s->rcv_nxt != us[i].recv_seq || s->recvq.len != (uint32_t)us[i].rcvq ||
			    s->sendq.len != (uint32_t)us[i].sndq || s->snd_wnd != us[i].win.snd_wnd ||
			    s->rcv_wnd != us[i].win.rcv_wnd)
				bad++;
		}
		ferry_tcp_dump_free(&d);
	}
	/* Where the module's time goes: the same dump received but not parsed. */
	{
		struct nlmsghdr *req = ferry_nl_request(&nl, FERRY_CMD_TCP_DUMP, 1);
		uint64_t cnt = 0, t0;

		mnl_attr_put_u32(req, FERRY_TCP_A_PID, (uint32_t)getpid());
		mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, FERRY_TCP_F_DATA);
		t0 = ferry_now_ns();
		if (ferry_nl_run(&nl, req, count_cb, &cnt))
			DIE("raw dump failed");
		t_raw = ferry_now_ns() - t0;
	}
	ferry_nl_close(&nl);
	qsort(t_mod, rounds, sizeof(*t_mod), cmp_u64);
	qsort(t_usr, rounds, sizeof(*t_usr), cmp_u64);
	qsort(t_full, rounds, sizeof(*t_full), cmp_u64);
	printf("{\"connections\":%llu,\"sockets\":%llu,\"rounds\":%llu,"
	       "\"module_ms\":%.3f,\"userspace_ms\":%.3f,\"ratio\":%.2f,"
	       "\"module_min_ms\":%.3f,\"userspace_min_ms\":%.3f,"
	       "\"module_unparsed_ms\":%.3f,\"criu_full_ms\":%.3f,\"ratio_criu_full\":%.2f,"
	       "\"data_bytes\":%llu,\"messages\":%llu,\"mismatches\":%d}\n",
	       (unsigned long long)n, (unsigned long long)(2 * n), (unsigned long long)rounds,
	       t_mod[rounds / 2] / 1e6, t_usr[rounds / 2] / 1e6,
	       (double)t_usr[rounds / 2] / (double)t_mod[rounds / 2],
	       t_mod[0] / 1e6, t_usr[0] / 1e6, t_raw / 1e6, t_full[rounds / 2] / 1e6,
	       (double)t_full[rounds / 2] / (double)t_mod[rounds / 2], (unsigned long long)data_bytes,
	       (unsigned long long)msgs, bad);
	return bad ? 1 : 0;
}
