// SPDX-License-Identifier: GPL-2.0
/*
 * soak_hammer: back-to-back ferry.ko requests against a live process, for
 * the soak (make soak). No fork/exec per request, so a TCG guest issues
 * thousands of them.
 *
 *   soak_hammer dirty PID COUNT   COUNT clearing DIRTY_SCANs of PID's whole
 *                                 address space (module backend, as a
 *                                 pre-copy round does), back to back
 *   soak_hammer tcp PID COUNT     COUNT TCP_DUMP requests of PID's tree
 *                                 with queue data, alternating the packed
 *                                 and the attribute encoding
 *
 * Every reply is parsed (a malformed reply is a failure). A target that
 * exits ends the run early, and is not a failure: the caller checks that it
 * still runs. Prints a progress line "hammer KIND I/COUNT" every 10 % and
 * at least every 2 seconds, and a final line
 * "hammer KIND done=N pages=P socks=S bytes=B", then exits 0; exits 1 on
 * any other error, with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dirty_track.h"
#include "nl.h"
#include "tcp_state.h"

/* Time for a progress line: every 10 %, and every 2 s in between. */
static int progress_due(unsigned long done, unsigned long count)
{
	static time_t last;
	time_t t = time(NULL);

	if (done % (count / 10 ? count / 10 : 1) && t - last < 2)
		return 0;
	last = t;
	return 1;
}

static int hammer_dirty(pid_t pid, unsigned long count)
{
	struct dirty_tracker *t;
	struct dirty_extents x;
	unsigned long i;
	uint64_t pages = 0;
	char msg[256];
	int ret;

	ret = dirty_track_open(&t, pid, DIRTY_BACKEND_MODULE, true, 0, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "hammer: dirty tracking of %d: %s\n", pid, msg);
		return ret == -ESRCH ? 0 : 1;
	}
	dirty_extents_init(&x);
	for (i = 0; i < count; i++) {
		struct dirty_stats st = { 0 };

		ret = dirty_track_scan(t, 0, DIRTY_ADDR_MAX, true, &x, &st);
		if (ret == -ESRCH)
			break;
		if (ret) {
			fprintf(stderr, "hammer: scan %lu: %s\n", i, dirty_track_error(t));
			dirty_extents_free(&x);
			dirty_track_close(t);
			return 1;
		}
		pages += st.pages_dirty;
		if (progress_due(i + 1, count))
			printf("hammer dirty %lu/%lu\n", i + 1, count);
		fflush(stdout);
	}
	printf("hammer dirty done=%lu pages=%llu\n", i, (unsigned long long)pages);
	dirty_extents_free(&x);
	dirty_track_close(t);
	return 0;
}

static int hammer_tcp(pid_t pid, unsigned long count)
{
	struct ferry_tcp_dump d;
	struct ferry_nl nl;
	unsigned long i;
	uint64_t socks = 0, bytes = 0;
	int ret;

	ret = ferry_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "hammer: netlink: %s\n", strerror(-ret));
		return 1;
	}
	memset(&d, 0, sizeof(d));
	for (i = 0; i < count; i++) {
		uint32_t flags = FERRY_TCP_F_DATA | (i & 1 ? 0 : FERRY_TCP_F_PACKED);

		ret = ferry_tcp_dump_rerun(&nl, (uint32_t)pid, flags, &d);
		if (ret == -ESRCH)
			break;
		if (ret) {
			fprintf(stderr, "hammer: dump %lu: %s%s%s\n", i, strerror(-ret),
				nl.errmsg[0] ? ": " : "", nl.errmsg);
			ferry_tcp_dump_free(&d);
			ferry_nl_close(&nl);
			return 1;
		}
		socks += d.n;
		bytes += d.data_bytes;
		if (progress_due(i + 1, count))
			printf("hammer tcp %lu/%lu\n", i + 1, count);
		fflush(stdout);
	}
	printf("hammer tcp done=%lu socks=%llu bytes=%llu\n", i, (unsigned long long)socks,
	       (unsigned long long)bytes);
	ferry_tcp_dump_free(&d);
	ferry_nl_close(&nl);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count;
	char *end;
	long pid;

	if (argc != 4) {
		fprintf(stderr, "usage: soak_hammer dirty|tcp PID COUNT\n");
		return 2;
	}
	pid = strtol(argv[2], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "soak_hammer: bad pid '%s'\n", argv[2]);
		return 2;
	}
	count = strtoul(argv[3], &end, 10);
	if (*end || !count) {
		fprintf(stderr, "soak_hammer: bad count '%s'\n", argv[3]);
		return 2;
	}
	if (!strcmp(argv[1], "dirty"))
		return hammer_dirty((pid_t)pid, count);
	if (!strcmp(argv[1], "tcp"))
		return hammer_tcp((pid_t)pid, count);
	fprintf(stderr, "soak_hammer: unknown kind '%s'\n", argv[1]);
	return 2;
}
