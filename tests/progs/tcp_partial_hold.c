// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_partial_hold FAMILY READY -- a server process (network namespace
 * "fb") whose one connection has a send queue that CRIU 3.17 cannot dump:
 * its head skb partly acknowledged and untrimmed (see tcp_check's
 * "partial" scenario for how), and the state held for about 25 s, for a
 * real `criu dump` (through `ferry checkpoint`) to meet it.
 *
 * This process is the client (namespace "fa"); its child is the server,
 * the tree to checkpoint, which holds nothing but its socket once it is
 * set up. The scenario script must have made the server's RTO 14 s (a
 * route to the client with rto_min 14s): the first retransmission
 * collapses A, B and C at 14 s, the client's write at about 17 s then
 * acknowledges A alone, and the next retransmission, which trims the skb,
 * comes at 42 s: 25 s for `ferry checkpoint` to meet the state under a
 * loaded CI machine, and less than ferry's 30 s wait for it to go. Every data segment to the client is dropped from B on (table
 * "inet ferrytest" in fa, which the script deletes to let the connection
 * recover); pure ACKs pass, so that the client does not retransmit its own
 * write, whose duplicate ACKs would make the server retransmit at once.
 *
 * READY gets the server's PID and its SIOCOUTQ, tcp_info unacked/retrans
 * ("PID OUTQ UNACKED RETRANS"); then this process sleeps, holding the
 * client's end, until it is killed.
 * Exit: 2 the test bed failed.
 */
#include <signal.h>
#include <sys/wait.h>
#include "tcp_common.h"

#define PORT 5999

static void tell(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		DIE("pipe write: %s", strerror(errno));
}

static char hear(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		DIE("pipe read: %s", strerror(errno));
	return c;
}

/* The server: listen, then do as told. */
static void server(int family, int cmd, int ans)
{
	uint64_t wr = 0;
	struct tc_addr a;
	int l, s;

	setsid();	/* CRIU dumps a tree whose root leads its session */
	tc_setns("fb");
	l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	tc_setint(l, SOL_SOCKET, SO_REUSEADDR, 1);
	tc_mkaddr(&a, family, 2, PORT);
	if (l < 0 || bind(l, (struct sockaddr *)&a.ss, a.len) || listen(l, 1))
		DIE("server: listen: %s", strerror(errno));
	tell(ans, 'L');
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		DIE("server: accept: %s", strerror(errno));
	close(l);
	tc_setint(s, SOL_TCP, TCP_NODELAY, 1);
	for (;;) {
		char c = hear(cmd);

		if (c == 'A') {
			tc_write_pat(s, 1, &wr, 300);
		} else if (c == 'B') {
			tc_write_pat(s, 1, &wr, 300);
			tc_write_pat(s, 1, &wr, 300);
		} else if (c == 'Q') {
			struct tcp_info ti;
			socklen_t tl = sizeof(ti);
			char line[96];
			int outq = -1;

			ioctl(s, SIOCOUTQ, &outq);
			memset(&ti, 0, sizeof(ti));
			getsockopt(s, SOL_TCP, TCP_INFO, &ti, &tl);
			snprintf(line, sizeof(line), "%d %d %u %u\n", (int)getpid(), outq,
				 ti.tcpi_unacked, ti.tcpi_retrans);
			if (write(ans, line, strlen(line)) != (ssize_t)strlen(line))
				DIE("pipe write: %s", strerror(errno));
			break;
		}
		tell(ans, 'k');
	}
	/* the tree holds its socket and nothing else of the test's */
	close(cmd);
	close(ans);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int tochild[2], fromchild[2], family, c;
	uint64_t wr = 0;
	struct tc_addr a;
	char line[96];
	ssize_t n;
	pid_t pid;
	FILE *f;

	if (argc != 3 || (strcmp(argv[1], "4") && strcmp(argv[1], "6"))) {
		fprintf(stderr, "usage: tcp_partial_hold 4|6 READY\n");
		return 2;
	}
	family = argv[1][0] == '4' ? AF_INET : AF_INET6;
	if (pipe2(tochild, O_CLOEXEC) || pipe2(fromchild, O_CLOEXEC))
		DIE("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		DIE("fork: %s", strerror(errno));
	if (pid == 0) {
		close(tochild[1]);
		close(fromchild[0]);
		server(family, tochild[0], fromchild[1]);
	}
	close(tochild[0]);
	close(fromchild[1]);
	if (hear(fromchild[0]) != 'L')
		DIE("the server did not listen");
	tc_setns("fa");
	c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	tc_mkaddr(&a, family, 2, PORT);
	if (c < 0 || connect(c, (struct sockaddr *)&a.ss, a.len))
		DIE("connect: %s", strerror(errno));
	tc_drop_in("fb", 1);			/* the client's ACKs lost */
	tell(tochild[1], 'A');			/* A arrives */
	hear(fromchild[0]);
	tc_msleep(300);
	tc_sys("ip netns exec fa nft 'add table inet ferrytest; add chain inet ferrytest in "
	       "{ type filter hook input priority 0; policy accept; }; "
	       "add rule inet ferrytest in ip length > 64 drop; "
	       "add rule inet ferrytest in ip6 length > 64 drop'");
	tell(tochild[1], 'B');			/* B, C lost */
	hear(fromchild[0]);
	tc_msleep(16000);			/* the RTO at 14 s: A+B+C collapse */
	tc_drop_in("fb", 0);
	tc_nonblock(c);
	tc_write_pat(c, 0, &wr, 100);		/* acknowledges A alone */
	tc_msleep(300);
	tell(tochild[1], 'Q');
	n = read(fromchild[0], line, sizeof(line) - 1);
	if (n <= 0)
		DIE("no state from the server");
	line[n] = 0;
	f = fopen(argv[2], "w");
	if (!f || fputs(line, f) < 0 || fclose(f))
		DIE("%s: %s", argv[2], strerror(errno));
	for (;;)
		pause();
}
