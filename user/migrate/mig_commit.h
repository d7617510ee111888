/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source's side of the commit protocol: exactly one live copy, or a
 * frozen one waiting for a decision -- never two, never none.
 *
 * After COMMIT the source's tree is frozen and stays so until the
 * destination says, on the authenticated connection, what it did:
 * RESTORED (kill ours) or NOT_RESTORED (resume ours). Any other end of the
 * wait -- the connection fails, a frame that is neither, the restore's
 * deadline passes, a second Ctrl-C -- leaves the outcome unknown, and the
 * source asks the destination on new connections (an outcome query by
 * migration ID, answered from the receiver's records) until the settle
 * deadline. Still unknown: the tree stays frozen, and `ferry settle`
 * decides later. See README, "The commit protocol".
 */
#ifndef FERRY_MIG_COMMIT_H
#define FERRY_MIG_COMMIT_H

#include <stdint.h>
#include "wire.h"

struct wire_tls;

enum mig_verdict {
	MIG_VERDICT_RESTORED,		/* the tree runs on the destination */
	MIG_VERDICT_NOT_RESTORED,	/* the destination undid it: resume ours */
	MIG_VERDICT_UNKNOWN,		/* nobody could say: stay frozen */
};

struct mig_commit {
	struct wire_conn *c;		/* the migration's connection */
	const char *to;			/* HOST:PORT, for the queries */
	struct wire_tls *tls;		/* NULL: --insecure */
	uint8_t id[WIRE_ID_LEN];
	int restore_ms;			/* how long the restore may take */
	int settle_ms;			/* how long to keep asking */
	uint64_t v[4];			/* RESTORED's values */
	char err[1024];			/* why the outcome is what it is */
	/*
	 * Post-copy (postcopy.h): COMMIT carries WIRE_COMMIT_POSTCOPY, and
	 * RESTORED does not end the wait: on_frame takes the destination's
	 * other frames (PC_REQ), idle pushes pages once the tree runs there
	 * (1: nothing left), and PC_DONE (its values into done) ends it.
	 * Either failing leaves the outcome unknown.
	 */
	bool postcopy;
	int (*on_frame)(void *arg, const struct wire_msg *m);
	int (*idle)(void *arg);
	void *arg;
	uint64_t done[6];
	uint64_t t_running;		/* post-copy: when RESTORED came */
	bool lost;			/* post-copy: killed there after it ran (WIRE_PC_LOST) */
};

/* Send COMMIT and learn the outcome (see above). */
enum mig_verdict mig_commit_run(struct mig_commit *k);
/* Ask on new connections until a definite answer or settle_ms. */
enum mig_verdict mig_commit_ask(struct mig_commit *k);
/* One outcome query: 0 with *outcome (enum wire_outcome), or -errno. */
int mig_query_outcome(const char *to, struct wire_tls *tls, const uint8_t id[WIRE_ID_LEN],
		      uint32_t *outcome, uint64_t v[4], char *err, size_t errlen);

#endif
