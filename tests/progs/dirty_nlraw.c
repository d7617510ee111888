// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_nlraw: send hand-made FERRY_CMD_DIRTY_SCAN requests, including
 * ones `ferry dirty` never sends, and print what the kernel answered:
 *   "result: OK extents=N" or "result: ERRNO_NAME (errno) extack: MESSAGE"
 *
 * Usage: dirty_nlraw [--pid N] [--start A] [--end A] [--flags F]
 *                    [--u16-pid] [--extent-attr] [--hold FILE]
 *   --u16-pid      send PID with a wrong size (policy must refuse it)
 *   --extent-attr  add a reply-only EXTENT nest to the request
 *   --hold FILE    send the request and read nothing until FILE exists:
 *                  the dump stays pending (prints "holding"), then exit
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include "nl.h"

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == FERRY_DIRTY_A_EXTENT)
			(*(unsigned long *)data)++;
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pid", 1, NULL, 'p' }, { "start", 1, NULL, 's' }, { "end", 1, NULL, 'e' },
		{ "flags", 1, NULL, 'f' }, { "u16-pid", 0, NULL, 'u' },
		{ "extent-attr", 0, NULL, 'x' }, { "hold", 1, NULL, 'h' }, { 0 },
	};
	long long pid = -1, start = -1, end = -1, flags = -1, hold = -1;
	const char *hold_file = NULL;
	int u16pid = 0, extent = 0, c, ret;
	unsigned long extents = 0;
	struct ferry_nl nl;
	struct nlmsghdr *nlh;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': pid = strtoll(optarg, NULL, 0); break;
		case 's': start = (long long)strtoull(optarg, NULL, 0); break;
		case 'e': end = (long long)strtoull(optarg, NULL, 0); break;
		case 'f': flags = strtoll(optarg, NULL, 0); break;
		case 'u': u16pid = 1; break;
		case 'x': extent = 1; break;
		case 'h': hold = 1; hold_file = optarg; break;
		default: fprintf(stderr, "bad usage\n"); return 2;
		}
	}
	ret = ferry_nl_open(&nl);
	if (ret) {
		printf("result: open failed: %s\n", strerror(-ret));
		return 1;
	}
	nlh = ferry_nl_request(&nl, FERRY_CMD_DIRTY_SCAN, 1);
	if (pid >= 0) {
		if (u16pid)
			mnl_attr_put_u16(nlh, FERRY_DIRTY_A_PID, (uint16_t)pid);
		else
			mnl_attr_put_u32(nlh, FERRY_DIRTY_A_PID, (uint32_t)pid);
	}
	if (start != -1)
		mnl_attr_put_u64(nlh, FERRY_DIRTY_A_START, (uint64_t)start);
	if (end != -1)
		mnl_attr_put_u64(nlh, FERRY_DIRTY_A_END, (uint64_t)end);
	if (flags >= 0)
		mnl_attr_put_u32(nlh, FERRY_DIRTY_A_FLAGS, (uint32_t)flags);
	if (extent) {
		struct nlattr *n = mnl_attr_nest_start(nlh, FERRY_DIRTY_A_EXTENT);

		mnl_attr_put_u64(nlh, FERRY_EXTENT_A_START, 0);
		mnl_attr_nest_end(nlh, n);
	}
	if (hold >= 0) {
		if (mnl_socket_sendto(nl.sock, nlh, nlh->nlmsg_len) < 0) {
			printf("result: send: %s\n", strerror(errno));
			return 1;
		}
		/* The first part is queued; the rest waits for us to read. */
		printf("holding\n");
		fflush(stdout);
		/* Until the file appears (guest clocks are not to be trusted
		 * for this under TCG); at most ~10 minutes. */
		for (int i = 0; i < 12000 && access(hold_file, F_OK); i++)
			usleep(50000);
		ferry_nl_close(&nl);
		printf("released\n");
		return 0;
	}
	ret = ferry_nl_run(&nl, nlh, count_cb, &extents);
	if (ret)
		printf("result: %s (%d) extack: %s\n", strerrorname_np(-ret) ? strerrorname_np(-ret) : "?",
		       -ret, nl.errmsg[0] ? nl.errmsg : "(none)");
	else
		printf("result: OK extents=%lu\n", extents);
	ferry_nl_close(&nl);
	return 0;
}
