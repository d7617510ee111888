// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_race FAMILY -- sockets closing, resetting and being freed while
 * TCP_DUMP (tree and netns mode, with queue data) is walking them.
 *
 * N connections between namespaces "fa" and "fb", with large unread queues
 * both ways (each socket's data needs several dump messages, so the dump
 * drops and retakes socket locks in the middle of a socket). A closer
 * thread then tears them down in mixed ways -- close with unread data
 * (RST), SO_LINGER 0 (RST), shutdown + close (FIN, orphaned FIN_WAIT,
 * TIME_WAIT) -- while two dumper threads run dumps back to back.
 * Must hold: every dump succeeds and parses (queue chunks contiguous,
 * never beyond the snapshot's byte ranges; bytes that vanished are
 * reported as GONE, never replaced), every chunk's bytes are the stream's
 * bytes at that position, and the kernel log stays clean (the harness
 * checks for WARNING/BUG/KASAN/refcount lines). Prints how many dumps ran
 * and how many queue exports were cut short by a close.
 * Exit: 0 ok, 1 a check failed, 2 test bed failure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "tcp_common.h"
#include "nl.h"
#include "tcp_state.h"

#define NCONN	64
#define BUF	(256 * 1024)

static int family;
static int cfd[NCONN], sfd[NCONN];
static uint32_t c_wseq0[NCONN], c_rseq0[NCONN];
static atomic_int stop;
static atomic_long dumps, tree_dumps, gone, data_checked, errors;

static int mksock(void)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		DIE("socket: %s", strerror(errno));
	/* Small receive, large send buffers: both queues stay full. */
	tc_setint(fd, SOL_SOCKET, SO_RCVBUF, BUF / 4);
	tc_setint(fd, SOL_SOCKET, SO_SNDBUF, BUF);
	return fd;
}

static void *dumper(void *arg)
{
	uint32_t flags = FERRY_TCP_F_DATA | (arg ? FERRY_TCP_F_NETNS : 0);
	struct ferry_nl nl;

	if (arg)
		tc_setns("fa");
	if (ferry_nl_open(&nl))
		DIE("netlink");
	while (!atomic_load(&stop)) {
		struct ferry_tcp_dump d;
		int ret = ferry_tcp_dump_run(&nl, (uint32_t)getpid(), flags, &d);

		if (ret) {
			fprintf(stderr, "FAIL: dump (%s): %s (%s)\n", arg ? "netns" : "tree",
				strerror(-ret), nl.errmsg);
			atomic_fetch_add(&errors, 1);
			ferry_tcp_dump_free(&d);
			continue;
		}
		for (size_t i = 0; i < d.n; i++) {
			struct ferry_tcp_sock *s = &d.socks[i];

			gone += s->sendq.gone + s->recvq.gone;
			/* Every queued byte must be the stream's byte at its
			 * position: client send queue and server receive queue
			 * carry stream 0, the others stream 1. */
			for (int k = 0; k < NCONN; k++) {
				int is_c = s->fd == (uint32_t)cfd[k], is_s = s->fd == (uint32_t)sfd[k];
				uint32_t w0 = is_c ? c_wseq0[k] : c_rseq0[k];
				uint32_t r0 = is_c ? c_rseq0[k] : c_wseq0[k];

				if (!ferry_tcp_has(s, FERRY_SOCK_A_FD) || (!is_c && !is_s) ||
				    s->state == TCP_SYN_SENT)
					continue;
				if (tc_match(s->sendq.buf, is_c ? 0 : 1, (uint32_t)(s->snd_una - w0),
					     s->sendq.len) != s->sendq.len ||
				    tc_match(s->recvq.buf, is_c ? 1 : 0, (uint32_t)(s->copied_seq - r0),
					     s->recvq.len) != s->recvq.len) {
					fprintf(stderr, "FAIL: socket %d (%s): queue bytes differ\n", k,
						is_c ? "client" : "server");
					atomic_fetch_add(&errors, 1);
				}
				data_checked += s->sendq.len + s->recvq.len;
				break;
			}
		}
		atomic_fetch_add(&dumps, 1);
		if (!arg)
			atomic_fetch_add(&tree_dumps, 1);
		ferry_tcp_dump_free(&d);
	}
	ferry_nl_close(&nl);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t1, t2;
	struct tc_addr a;
	uint16_t port = (uint16_t)(7000 + getpid() % 1000);
	int l;

	if (argc != 2 || (strcmp(argv[1], "4") && strcmp(argv[1], "6")))
		DIE("usage: tcp_race 4|6");
	family = argv[1][0] == '4' ? AF_INET : AF_INET6;
	tc_setns("fb");
	l = mksock();
	tc_setint(l, SOL_SOCKET, SO_REUSEADDR, 1);
	tc_mkaddr(&a, family, 2, port);
	if (bind(l, (struct sockaddr *)&a.ss, a.len) < 0 || listen(l, NCONN) < 0)
		DIE("listen: %s", strerror(errno));
	tc_setns("fa");
	for (int i = 0; i < NCONN; i++) {
		struct tc_repair r;
		uint64_t cw = 0, sw = 0;

		cfd[i] = mksock();
		if (connect(cfd[i], (struct sockaddr *)&a.ss, a.len) < 0)
			DIE("connect: %s", strerror(errno));
		sfd[i] = accept(l, NULL, NULL);
		if (sfd[i] < 0)
			DIE("accept: %s", strerror(errno));
		tc_repair_read(cfd[i], &r);
		c_wseq0[i] = r.send_seq;
		c_rseq0[i] = r.recv_seq;
		tc_repair_free(&r);
		tc_nonblock(cfd[i]);
		tc_nonblock(sfd[i]);
		tc_write_pat(cfd[i], 0, &cw, 200000);
		tc_write_pat(sfd[i], 1, &sw, 200000);
	}
	tc_msleep(1000);

	pthread_create(&t1, NULL, dumper, NULL);
	pthread_create(&t2, NULL, dumper, (void *)1);
	/* One full tree dump first (its bytes are checked), then tear down
	 * while the next ones run. */
	for (int i = 0; i < 3000 && !atomic_load(&tree_dumps); i++)
		tc_msleep(100);
	CHECK(atomic_load(&tree_dumps) > 0, "no tree-mode dump completed");
	for (int i = 0; i < NCONN; i++) {
		struct linger lg = { 1, 0 };

		switch (i % 4) {
		case 0:		/* unread data: close sends RST */
			close(cfd[i]);
			break;
		case 1:		/* abortive close */
			setsockopt(sfd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(sfd[i]);
			sfd[i] = -1;
			break;
		case 2:		/* orderly half close, then orphan */
			shutdown(cfd[i], SHUT_WR);
			tc_msleep(5);
			close(cfd[i]);
			break;
		case 3:		/* both ends go at once */
			close(sfd[i]);
			close(cfd[i]);
			sfd[i] = -1;
			break;
		}
		if (i % 4 != 1 && i % 4 != 3)
			cfd[i] = -1;
		tc_msleep(20);
	}
	for (int i = 0; i < NCONN; i++) {
		if (cfd[i] >= 0)
			close(cfd[i]);
		if (sfd[i] >= 0)
			close(sfd[i]);
		cfd[i] = sfd[i] = -1;
	}
	close(l);
	tc_msleep(500);
	atomic_store(&stop, 1);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(atomic_load(&errors) == 0, "%ld dump errors", atomic_load(&errors));
	CHECK(atomic_load(&dumps) >= 4, "only %ld dumps ran", atomic_load(&dumps));
	CHECK(atomic_load(&data_checked) > 0, "no queued byte was checked");
	printf("race IPv%s: %s; %ld dumps, %ld queue exports cut short by a close (GONE), "
	       "%ld queued bytes verified\n", argv[1], tc_failures ? "FAIL" : "ok",
	       atomic_load(&dumps), atomic_load(&gone), atomic_load(&data_checked));
	return tc_failures ? 1 : 0;
}
