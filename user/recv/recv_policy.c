// SPDX-License-Identifier: GPL-2.0
/* What a peer may make `ferry receive` do (recv_policy.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include "recv_policy.h"
#include "util.h"

int recv_charge(struct recv_budget *b, uint64_t bytes, char *err, size_t errlen)
{
	if (bytes > b->limit || b->used > b->limit - bytes)
		return ferry_errf(err, errlen, -EDQUOT,
				  "the migration exceeds its disk budget of %llu MiB agreed at "
				  "pre-flight", (unsigned long long)(b->limit >> 20));
	b->used += bytes;
	return 0;
}

int recv_count_file(struct recv_budget *b, char *err, size_t errlen)
{
	if (b->files >= RECV_MAX_FILES)
		return ferry_errf(err, errlen, -EDQUOT, "more than %u image files", RECV_MAX_FILES);
	b->files++;
	return 0;
}

int recv_count_round(struct recv_budget *b, char *err, size_t errlen)
{
	if (b->rounds >= RECV_MAX_ROUNDS)
		return ferry_errf(err, errlen, -EDQUOT, "more than %u pre-copy rounds",
				  RECV_MAX_ROUNDS);
	b->rounds++;
	return 0;
}

bool recv_pid_known(const struct recv_budget *b, uint32_t pid)
{
	return ferry_u32_in(b->pids, b->npids, pid);
}

static uint32_t mask(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

int recv_addr_allowed(const struct mig_addr *allow, size_t nallow, struct mig_addr *req,
		      char *err, size_t errlen)
{
	char want[96];

	for (size_t i = 0; i < nallow; i++) {
		const struct mig_addr *e = &allow[i];
		uint32_t m = mask(e->prefix), a = req->addr.s_addr;

		if ((a & m) != (e->addr.s_addr & m) || req->prefix < e->prefix)
			continue;
		/* the network's own and broadcast addresses are nobody's */
		if (e->prefix < 31 && ((a & ~m) == 0 || (a & ~m) == ~m))
			continue;
		if (e->dev[0] && req->dev[0] && strcmp(e->dev, req->dev))
			continue;
		if (e->dev[0])
			snprintf(req->dev, sizeof(req->dev), "%s", e->dev);
		return 0;
	}
	mig_addr_fmt(req, want, sizeof(want));
	return ferry_errf(err, errlen, -EPERM,
			  nallow ? "moving %s here is not allowed (see ferry receive --allow-addr)"
				 : "moving %s here is not allowed: this receiver takes no "
				   "address (--allow-addr)", want);
}

bool recv_name_allowed(const char *const *allow, size_t nallow, const char *const *names,
		       size_t nnames)
{
	if (!nallow)
		return true;
	for (size_t i = 0; i < nallow; i++)
		for (size_t k = 0; k < nnames; k++)
			if (names[k] && !strcasecmp(allow[i], names[k]))
				return true;
	return false;
}
