// SPDX-License-Identifier: GPL-2.0
/* /proc/PID/net/tcp{,6} (proc_tcp.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "proc_tcp.h"

/* "  0: 0100007F:1F90 00000000:0000 0A ..." (IPv4) or the same with 32
 * hex digits per address (IPv6); the header line does not parse */
static int parse(const char *line, int family, struct proc_tcp_sock *s)
{
	unsigned int lp, rp;

	memset(s, 0, sizeof(*s));
	s->family = family;
	if (family == AF_INET)
		return sscanf(line, " %*u: %8x:%4x %8x:%4x %x", &s->laddr[0], &lp, &s->raddr[0],
			      &rp, &s->state) == 5 ? (s->lport = (uint16_t)lp,
						       s->rport = (uint16_t)rp, 0) : -1;
	if (sscanf(line, " %*u: %8x%8x%8x%8x:%4x %8x%8x%8x%8x:%4x %x", &s->laddr[0], &s->laddr[1],
		   &s->laddr[2], &s->laddr[3], &lp, &s->raddr[0], &s->raddr[1], &s->raddr[2],
		   &s->raddr[3], &rp, &s->state) != 11)
		return -1;
	s->lport = (uint16_t)lp;
	s->rport = (uint16_t)rp;
	return 0;
}

int proc_tcp_each(pid_t pid, int v6, int (*fn)(const struct proc_tcp_sock *s, void *arg),
		  void *arg)
{
	static const char *const files[] = { "tcp", "tcp6" };
	int ret = 0;

	for (int i = 0; !ret && i < (v6 ? 2 : 1); i++) {
		struct proc_tcp_sock s;
		char path[64], *line = NULL;
		size_t cap = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[i]);
		f = fopen(path, "re");
		if (!f) {
			if (errno == ENOENT && i)
				break;	/* no IPv6 */
			return -errno;
		}
		while (!ret && getline(&line, &cap, f) > 0)
			if (!parse(line, i ? AF_INET6 : AF_INET, &s))
				ret = fn(&s, arg);
		free(line);
		fclose(f);
	}
	return ret;
}
