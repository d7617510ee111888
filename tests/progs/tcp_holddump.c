// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_holddump PID -- start a TCP_DUMP (netns mode, with data) of PID's
 * network namespace, read only its first reply message, print "held" and
 * keep the half-read dump (and the socket references the module holds for
 * it) until stdin reaches EOF; then exit without reading the rest.
 * Used to check that ferry.ko cannot be unloaded under a pending dump and
 * that abandoning a dump releases everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "nl.h"

int main(int argc, char **argv)
{
	struct ferry_nl nl;
	struct nlmsghdr *req;
	char c;

	if (argc != 2 || ferry_nl_open(&nl))
		return 2;
	req = ferry_nl_request(&nl, FERRY_CMD_TCP_DUMP, 1);
	mnl_attr_put_u32(req, FERRY_TCP_A_PID, (uint32_t)atoi(argv[1]));
	mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, FERRY_TCP_F_NETNS | FERRY_TCP_F_DATA);
	if (mnl_socket_sendto(nl.sock, req, req->nlmsg_len) < 0 ||
	    mnl_socket_recvfrom(nl.sock, nl.buf, FERRY_NL_BUFSZ) <= 0)
		return 1;
	printf("held\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	ferry_nl_close(&nl);
	return 0;
}
