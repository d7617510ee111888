// SPDX-License-Identifier: GPL-2.0
/* ferry tcp: show the TCP repair state ferry.ko exports (FERRY_CMD_TCP_DUMP). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include "cmds.h"
#include "json.h"
#include "nl.h"
#include "tcp_state.h"
#include "util.h"

static void tcp_usage(FILE *f)
{
	fprintf(f,
"Usage: ferry tcp PID [--netns] [--data] [--json]\n"
"\n"
"Shows the TCP sockets of a process tree with the state a restorer needs,\n"
"as exported by ferry.ko in one netlink dump. The owning processes are not\n"
"stopped or touched and no socket is switched into TCP_REPAIR mode; each\n"
"socket's values are one consistent snapshot taken under its lock.\n"
"\n"
"Selection:\n"
"  default     the TCP sockets in the file tables of PID and all of its\n"
"              descendants, plus connections waiting in the accept queue of\n"
"              any listener among them (one the tree accepts while the dump\n"
"              runs can be missing: stop the tree for an exact view)\n"
"  --netns     every TCP socket of PID's network namespace instead, also\n"
"              those without a file: TIME_WAIT, SYN_RECV and not yet\n"
"              accepted connections; but not sockets in CLOSE (never\n"
"              connected, ended, or only bound), which the kernel keeps in\n"
"              no table: the default mode finds those through their files\n"
"\n"
"Options:\n"
"  --data      also export the bytes queued in each socket: sent but\n"
"              unacknowledged plus unsent data (send queue) and received\n"
"              but unread data (receive queue; a CLOSE socket too: a\n"
"              connection reset or finished keeps the bytes the application\n"
"              has not read)\n"
"  --json      print one JSON object: {\"pid\", \"netns\", \"count\",\n"
"              \"sockets\": [...]}; each socket has \"state\" (\"ESTABLISHED\",\n"
"              \"TIME_WAIT\", ...), \"family\", \"src\", \"dst\", \"sport\",\n"
"              \"dport\", \"cookie\", \"inode\", \"pid\"/\"fd\" (tree mode) and the\n"
"              integers snd_una, snd_nxt, write_seq, rcv_nxt, copied_seq,\n"
"              snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup, mss_clamp,\n"
"              mss_cache, snd_wscale, rcv_wscale, ts_offset, ts_recent,\n"
"              ts_recent_age, ts_now, keepidle, keepintvl, keepcnt,\n"
"              user_timeout_ms, sndq_bytes, unsent_bytes, rcvq_bytes, and\n"
"              \"options\" (names; \"syn_unacked\": snd_una is the SYN's,\n"
"              \"fin_unread\": rcv_nxt counts a FIN not yet read). With\n"
"              --data: \"send_data\" and \"recv_data\" (hex) and\n"
"              \"data_complete\" (boolean).\n"
"  -h, --help  show this help\n"
"\n"
"Text output: one line per socket like ss(8) (state, receive and send\n"
"queue bytes, addresses, owner), then the repair fields indented:\n"
"sequence numbers, windows, MSS (clamp/current), window scales (send,\n"
"receive), negotiated options, timestamp state, keepalive settings.\n"
"\n"
"Needs ferry.ko loaded and CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE with\n"
"CAP_SYS_PTRACE (and CAP_NET_ADMIN for --netns or --data).\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage, 4 no such process,\n"
"5 not permitted, 6 ferry.ko not loaded.\n");
}

static const char *const opt_names[] = {
	"sack", "timestamps", "wscale", "ecn", "nodelay", "cork", "keepalive", "repair",
	NULL /* seq_marked: how to read the ones below */, "syn_unacked", "fin_unread",
	"fin_queued", "orphan",
};

static void hex(char *dst, const uint8_t *src, uint32_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (uint32_t i = 0; i < len; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * len] = '\0';
}

static int json_hex(struct json *j, const char *key, const struct ferry_tcp_qbuf *q)
{
	char *h = malloc(2 * (size_t)q->len + 1);

	if (!h)
		return -ENOMEM;
	hex(h, q->buf ? q->buf : (const uint8_t *)"", q->len);
	json_str(j, key, h);
	free(h);
	return 0;
}

static void addr_str(char *buf, size_t size, int family, const uint8_t *a)
{
	if (!inet_ntop(family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static int print_json(const struct ferry_tcp_dump *d, uint32_t pid, uint32_t flags)
{
	struct json j;
	char a[64];

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_u64(&j, "pid", pid);
	json_bool(&j, "netns", flags & FERRY_TCP_F_NETNS);
	json_bool(&j, "data", flags & FERRY_TCP_F_DATA);
	json_u64(&j, "count", d->n);
	json_arr_open(&j, "sockets");
	for (size_t i = 0; i < d->n; i++) {
		const struct ferry_tcp_sock *s = &d->socks[i];

		json_obj_open(&j, NULL);
		json_str(&j, "state", ferry_tcp_state_name(s->state));
		json_str(&j, "family", s->family == AF_INET6 ? "inet6" : "inet");
		addr_str(a, sizeof(a), s->family, s->src);
		json_str(&j, "src", a);
		json_u64(&j, "sport", s->sport);
		addr_str(a, sizeof(a), s->family, s->dst);
		json_str(&j, "dst", a);
		json_u64(&j, "dport", s->dport);
		json_u64(&j, "cookie", s->cookie);
		json_u64(&j, "inode", s->inode);
		if (ferry_tcp_has(s, FERRY_SOCK_A_PID)) {
			json_u64(&j, "pid", s->pid);
			json_u64(&j, "fd", s->fd);
		}
		if (s->accept_pending)
			json_bool(&j, "accept_pending", true);
		if (ferry_tcp_has(s, FERRY_SOCK_A_LISTENER))
			json_u64(&j, "listener", s->listener);
		json_u64(&j, "snd_una", s->snd_una);
		json_u64(&j, "snd_nxt", s->snd_nxt);
		json_u64(&j, "write_seq", s->write_seq);
		json_u64(&j, "rcv_nxt", s->rcv_nxt);
		json_u64(&j, "copied_seq", s->copied_seq);
		json_u64(&j, "snd_wl1", s->snd_wl1);
		json_u64(&j, "snd_wnd", s->snd_wnd);
		json_u64(&j, "max_window", s->max_window);
		json_u64(&j, "rcv_wnd", s->rcv_wnd);
		json_u64(&j, "rcv_wup", s->rcv_wup);
		json_u64(&j, "mss_clamp", s->mss_clamp);
		json_u64(&j, "mss_cache", s->mss_cache);
		json_u64(&j, "snd_wscale", s->snd_wscale);
		json_u64(&j, "rcv_wscale", s->rcv_wscale);
		json_arr_open(&j, "options");
		for (size_t k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++)
			if (opt_names[k] && (s->options & (1U << k)))
				json_str(&j, NULL, opt_names[k]);
		json_arr_close(&j);
		json_u64(&j, "ts_offset", s->ts_offset);
		json_u64(&j, "ts_recent", s->ts_recent);
		json_u64(&j, "ts_recent_age", s->ts_recent_stamp);
		json_u64(&j, "ts_now", s->ts_now);
		json_u64(&j, "keepidle", s->keepidle);
		json_u64(&j, "keepintvl", s->keepintvl);
		json_u64(&j, "keepcnt", s->keepcnt);
		json_u64(&j, "user_timeout_ms", s->user_timeout);
		json_u64(&j, "sndq_bytes", s->sndq_bytes);
		json_u64(&j, "unsent_bytes", s->unsent_bytes);
		json_u64(&j, "rcvq_bytes", s->rcvq_bytes);
		json_u64(&j, "bound_dev", s->bound_dev);
		if (ferry_tcp_has(s, FERRY_SOCK_A_TW_TIMEOUT_MS))
			json_u64(&j, "tw_timeout_ms", s->tw_timeout_ms);
		if (ferry_tcp_has(s, FERRY_SOCK_A_BACKLOG)) {
			json_u64(&j, "backlog", s->backlog);
			json_u64(&j, "accept_qlen", s->accept_qlen);
		}
		if (flags & FERRY_TCP_F_DATA) {
			json_u64(&j, "send_data_len", s->sendq.len);
			json_u64(&j, "recv_data_len", s->recvq.len);
			if (json_hex(&j, "send_data", &s->sendq) || json_hex(&j, "recv_data", &s->recvq))
				return -ENOMEM;
			json_bool(&j, "data_complete", ferry_tcp_data_complete(s));
		}
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
	return 0;
}

static const char *short_state(unsigned int st)
{
	switch (st) {
	case 1: return "ESTAB";
	case 3: return "SYN-RECV";
	case 2: return "SYN-SENT";
	case 4: return "FIN-WAIT-1";
	case 5: return "FIN-WAIT-2";
	case 6: return "TIME-WAIT";
	case 7: return "UNCONN";
	case 8: return "CLOSE-WAIT";
	case 9: return "LAST-ACK";
	case 10: return "LISTEN";
	case 11: return "CLOSING";
	default: return "UNKNOWN";
	}
}

static void print_text(const struct ferry_tcp_dump *d, uint32_t flags)
{
	char l[80], p[80];

	printf("%-11s %8s %8s %-28s %-28s %s\n", "State", "Recv-Q", "Send-Q",
	       "Local Address:Port", "Peer Address:Port", "Process");
	for (size_t i = 0; i < d->n; i++) {
		const struct ferry_tcp_sock *s = &d->socks[i];
		char owner[64] = "";

		ferry_tcp_fmt_addr(l, sizeof(l), s->family, s->src, s->sport);
		ferry_tcp_fmt_addr(p, sizeof(p), s->family, s->dst, s->dport);
		if (ferry_tcp_has(s, FERRY_SOCK_A_PID))
			snprintf(owner, sizeof(owner), "pid=%u,fd=%u", s->pid, s->fd);
		else if (s->accept_pending)
			snprintf(owner, sizeof(owner), "accept-queue");
		printf("%-11s %8u %8u %-28s %-28s %s\n", short_state(s->state),
		       s->state == 10 ? s->accept_qlen : s->rcvq_bytes,
		       s->state == 10 ? s->backlog : s->sndq_bytes, l, p, owner);
		printf("\t cookie:%llu ino:%llu snd_una:%u snd_nxt:%u write_seq:%u"
		       " rcv_nxt:%u copied_seq:%u unsent:%u\n",
		       (unsigned long long)s->cookie, (unsigned long long)s->inode,
		       s->snd_una, s->snd_nxt, s->write_seq, s->rcv_nxt, s->copied_seq,
		       s->unsent_bytes);
		printf("\t snd_wl1:%u snd_wnd:%u max_window:%u rcv_wnd:%u rcv_wup:%u"
		       " mss:%u/%u wscale:%u,%u",
		       s->snd_wl1, s->snd_wnd, s->max_window, s->rcv_wnd, s->rcv_wup,
		       s->mss_clamp, s->mss_cache, s->snd_wscale, s->rcv_wscale);
		for (size_t k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++)
			if (opt_names[k] && (s->options & (1U << k)))
				printf(" %s", opt_names[k]);
		printf("\n\t ts_offset:%u ts_recent:%u ts_recent_age:%us ts_now:%u"
		       " keepalive:%u,%u,%u user_timeout:%ums",
		       s->ts_offset, s->ts_recent, s->ts_recent_stamp, s->ts_now,
		       s->keepidle, s->keepintvl, s->keepcnt, s->user_timeout);
		if (ferry_tcp_has(s, FERRY_SOCK_A_TW_TIMEOUT_MS))
			printf(" timer:%ums", s->tw_timeout_ms);
		if (s->bound_dev)
			printf(" dev:%u", s->bound_dev);
		printf("\n");
		if (flags & FERRY_TCP_F_DATA)
			printf("\t data: send %u bytes, recv %u bytes%s\n", s->sendq.len,
			       s->recvq.len, ferry_tcp_data_complete(s) ? "" : " (INCOMPLETE)");
	}
}

int cmd_tcp(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", no_argument, NULL, 'n' },
		{ "data", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_tcp_dump d;
	struct ferry_nl nl;
	uint32_t flags = 0;
	bool json = false;
	uint64_t pid;
	int c, ret;

	while ((c = getopt_long(argc, argv, "ndjh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': flags |= FERRY_TCP_F_NETNS; break;
		case 'd': flags |= FERRY_TCP_F_DATA; break;
		case 'j': json = true; break;
		case 'h': tcp_usage(stdout); return FERRY_EXIT_OK;
		default: tcp_usage(stderr); return FERRY_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !ferry_parse_u64(argv[optind], 1, INT32_MAX, &pid)) {
		if (optind == argc - 1)
			ferry_err("tcp: invalid pid '%s'", argv[optind]);
		tcp_usage(stderr);
		return FERRY_EXIT_USAGE;
	}
	ret = ferry_nl_open(&nl);
	if (ret) {
		if (ret == -ENOENT) {
			ferry_err("tcp: ferry.ko is not loaded");
			return FERRY_EXIT_NOMODULE;
		}
		ferry_err("tcp: netlink: %s", strerror(-ret));
		return FERRY_EXIT_FAIL;
	}
	ret = ferry_tcp_dump_run(&nl, (uint32_t)pid, flags, &d);
	if (ret) {
		/* Kernels before 6.3 drop the reason a dump's start gives. */
		if (!nl.errmsg[0] && ret == -EPERM)
			snprintf(nl.errmsg, sizeof(nl.errmsg), "ferry needs CAP_SYS_ADMIN, or "
				 "CAP_CHECKPOINT_RESTORE with CAP_SYS_PTRACE%s, in the initial user "
				 "namespace", flags & (FERRY_TCP_F_NETNS | FERRY_TCP_F_DATA)
				 ? " and CAP_NET_ADMIN" : "");
		else if (!nl.errmsg[0] && ret == -ESRCH)
			snprintf(nl.errmsg, sizeof(nl.errmsg), "no process %llu",
				 (unsigned long long)pid);
		ferry_err("tcp: %s%s%s", strerror(-ret), nl.errmsg[0] ? ": " : "", nl.errmsg);
		ferry_tcp_dump_free(&d);
		ferry_nl_close(&nl);
		return ret == -ENOENT ? FERRY_EXIT_NOMODULE : ferry_exit_from_errno(ret);
	}
	ferry_nl_close(&nl);
	if (json)
		ret = print_json(&d, (uint32_t)pid, flags);
	else
		print_text(&d, flags);
	ferry_tcp_dump_free(&d);
	if (ret) {
		ferry_err("tcp: %s", strerror(-ret));
		return FERRY_EXIT_FAIL;
	}
	return FERRY_EXIT_OK;
}
