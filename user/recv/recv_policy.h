/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `ferry receive` lets a peer do, as pure checks (unit-tested): the
 * disk budget and caps of one migration, the service addresses a peer may
 * move here (--allow-addr), the client certificates it accepts (--allow).
 *
 * The budget is agreed at pre-flight (pf_budget_grant(): up to the tree's
 * memory three times plus slack, refused there when the disk has less free
 * than twice plus slack; the source plans its rounds within it) and every byte a
 * peer makes the receiver write -- pre-copied pages, final images -- is
 * charged against it before it is written. Counts that cost files or
 * directories (images, rounds, processes) have caps of their own.
 */
#ifndef FERRY_RECV_POLICY_H
#define FERRY_RECV_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mig_tcp.h"

#define RECV_MAX_FILES		1024u		/* final image files */
#define RECV_MAX_ROUNDS		66u		/* the source does at most 64, +1 marker */

struct recv_budget {
	uint64_t limit;		/* bytes; 0 until pre-flight agreed one */
	uint64_t used;
	uint32_t files, rounds;
	const uint32_t *pids;	/* the tree's PIDs/TIDs (pre-flight), sorted */
	size_t npids;
};

/* Charge bytes; -EDQUOT (err says so) when the budget would be exceeded. */
int recv_charge(struct recv_budget *b, uint64_t bytes, char *err, size_t errlen);
/* One more image file / round; -EDQUOT past the caps. */
int recv_count_file(struct recv_budget *b, char *err, size_t errlen);
int recv_count_round(struct recv_budget *b, char *err, size_t errlen);
/* Is pid one that pre-flight announced? (pids must be sorted) */
bool recv_pid_known(const struct recv_budget *b, uint32_t pid);

/*
 * --allow-addr CIDR[@DEV]: may a peer move req here? Only inside one of the
 * allowed networks, never with a prefix wider (shorter) than that entry's,
 * never the network's own or broadcast address, and on the entry's device
 * when it names one (then req->dev is set to it). 0, or -EPERM with err.
 */
int recv_addr_allowed(const struct mig_addr *allow, size_t nallow, struct mig_addr *req,
		      char *err, size_t errlen);

/*
 * --allow NAME: does one of the peer certificate's names (subject CN, DNS
 * and IP subject alternative names) match? An empty list allows every
 * certificate the CA signed. Names compare case-insensitively, whole.
 */
bool recv_name_allowed(const char *const *allow, size_t nallow, const char *const *names,
		       size_t nnames);

#endif
