// SPDX-License-Identifier: GPL-2.0
/*
 * nlprobe: sends well-formed and malformed requests to the "ferry" family
 * and checks the kernel's answers: INFO works; INFO with an attribute is
 * rejected by the strict policy with EINVAL and an extack reason; an
 * unknown command is EOPNOTSUPP; a truncated attribute is EINVAL.
 * Exit 0 when every answer is as expected.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "nl.h"

static int failures;

static void expect(const char *what, int got, int want, const char *msg, int want_msg)
{
	int ok = got == want && (!want_msg || (msg && *msg));

	printf("%s: %s: got %d (%s) extack=\"%s\", want %d%s\n", ok ? "ok" : "FAIL",
	       what, got, got ? strerror(-got) : "success", msg ? msg : "", want,
	       want_msg ? " with a reason" : "");
	if (!ok)
		failures++;
}

int main(void)
{
	struct ferry_info info;
	struct ferry_nl nl;
	struct nlmsghdr *req;
	struct nlattr *a;
	int ret;

	ret = ferry_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "nlprobe: cannot open the ferry family: %s\n", strerror(-ret));
		return 1;
	}
	ret = ferry_nl_info(&nl, &info);
	expect("INFO", ret, 0, NULL, 0);
	if (!ret && info.abi != FERRY_ABI_VERSION) {
		printf("FAIL: INFO abi %u, header %d\n", info.abi, FERRY_ABI_VERSION);
		failures++;
	}

	req = ferry_nl_request(&nl, FERRY_CMD_INFO, 0);
	mnl_attr_put_strz(req, FERRY_INFO_A_VERSION, "bogus");
	ret = ferry_nl_run(&nl, req, NULL, NULL);
	expect("INFO with an attribute", ret, -EINVAL, nl.errmsg, 1);

	req = ferry_nl_request(&nl, 200, 0);
	ret = ferry_nl_run(&nl, req, NULL, NULL);
	expect("unknown command", ret, -EOPNOTSUPP, NULL, 0);

	/* An attribute whose length runs past the message. */
	req = ferry_nl_request(&nl, FERRY_CMD_INFO, 0);
	a = (struct nlattr *)((char *)req + req->nlmsg_len);
	a->nla_type = FERRY_INFO_A_ABI;
	a->nla_len = 64;
	req->nlmsg_len += 8;
	ret = ferry_nl_run(&nl, req, NULL, NULL);
	expect("truncated attribute", ret, -EINVAL, NULL, 0);

	ferry_nl_close(&nl);
	printf("nlprobe: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
