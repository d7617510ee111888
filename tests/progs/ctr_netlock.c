// SPDX-License-Identifier: GPL-2.0
/*
 * ctr_netlock find|lock|unlock PID -- the network lock of a container
 * migration (user/ctr/ctr_netlock.c) on the network namespace of PID:
 * find prints the host's end of each of its interfaces ("NAME IFINDEX"
 * per line); lock and unlock set them down and up again. Exit status 0,
 * or 1 with ferry's reason on stderr (the errno's name first, e.g.
 * "ENOTSUP: ...").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctr.h"

int main(int argc, char **argv)
{
	struct ctr_info ci = { 0 };
	char err[512];
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: ctr_netlock find|lock|unlock PID\n");
		return 2;
	}
	ci.pid = atoi(argv[2]);
	ret = ctr_net_find(&ci, err, sizeof(err));
	if (!ret && strcmp(argv[1], "find"))
		ret = ctr_net_lock(&ci, !strcmp(argv[1], "lock"), err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", ret == -ENOTSUP ? "ENOTSUP" : strerrorname_np(-ret), err);
		return 1;
	}
	for (int i = 0; i < ci.nlinks; i++)
		printf("%s %d\n", ci.links[i].name, ci.links[i].ifindex);
	return 0;
}
