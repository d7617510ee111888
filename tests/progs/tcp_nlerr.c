// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_nlerr -- malformed TCP_DUMP requests are refused with EINVAL and a
 * human reason (extack), an unknown pid with ESRCH; a well-formed request
 * for our own pid succeeds. Run as root; prints one line per case.
 * Exit: 0 all as expected, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "nl.h"
#include "tcp_state.h"

static int failures;
/* Before 6.3 the kernel drops the extack message of a dump's .start (policy
 * errors, found by genetlink itself, keep theirs). */
static int start_reason = 1;

static void expect(struct ferry_nl *nl, const char *what, int want, int from_start, int have_pid,
		   uint32_t pid, int have_flags, uint32_t flags, int extra_attr)
{
	int need_reason = want && (!from_start || start_reason);

	struct nlmsghdr *req = ferry_nl_request(nl, FERRY_CMD_TCP_DUMP, 1);
	int ret;

	if (have_pid)
		mnl_attr_put_u32(req, FERRY_TCP_A_PID, pid);
	if (have_flags)
		mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, flags);
	if (extra_attr)
		mnl_attr_put_u32(req, (uint16_t)extra_attr, 0);
	ret = ferry_nl_run(nl, req, NULL, NULL);
	if (ret != want || (need_reason && !nl->errmsg[0])) {
		printf("FAIL: %s: got %d (%s) \"%s\", want %d with a reason\n", what, ret,
		       strerror(-ret), nl->errmsg, want);
		failures++;
	} else {
		printf("ok: %s: %s%s%s\n", what, want ? strerror(-want) : "accepted",
		       nl->errmsg[0] ? " -- " : "", nl->errmsg);
	}
}

int main(void)
{
	struct ferry_nl nl;

	if (ferry_nl_open(&nl))
		return 2;
	{
		struct utsname u;
		unsigned int maj = 0, min = 0;

		if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
		    (maj < 6 || (maj == 6 && min < 3)))
			start_reason = 0;
	}
	expect(&nl, "no pid", -EINVAL, 1, 0, 0, 0, 0, 0);
	expect(&nl, "pid 0", -EINVAL, 1, 1, 0, 0, 0, 0);
	expect(&nl, "unknown flag", -EINVAL, 0, 1, (uint32_t)getpid(), 1, 0x100, 0);
	expect(&nl, "reply attribute in request", -EINVAL, 0, 1, (uint32_t)getpid(), 0, 0,
	       FERRY_TCP_A_SOCK);
	expect(&nl, "unknown attribute", -EINVAL, 0, 1, (uint32_t)getpid(), 0, 0,
	       FERRY_TCP_A_MAX + 1);
	expect(&nl, "no such process", -ESRCH, 1, 1, 0x3ffffff0, 0, 0, 0);
	expect(&nl, "own pid", 0, 0, 1, (uint32_t)getpid(), 1, FERRY_TCP_F_ALL, 0);
	ferry_nl_close(&nl);
	return failures ? 1 : 0;
}
