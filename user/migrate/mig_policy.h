/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When to stop pre-copy: the remaining dirty set fits --max-downtime at the
 * measured bandwidth, the dirty set stopped shrinking, --max-rounds, or
 * another round could leave the destination's disk budget too little for
 * the final dump.
 * Pure logic, unit tested.
 */
#ifndef FERRY_MIG_POLICY_H
#define FERRY_MIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mig_round_stat {
	uint64_t dirty_pages;	/* pages the scan reported (round 0: all present) */
	uint64_t sent_pages;	/* pages actually read and sent */
	uint64_t raw_bytes;	/* sent_pages * 4096 */
	uint64_t wire_bytes;	/* bytes on the wire after compression */
	uint64_t ns;		/* round duration (scan + read + send + ack) */
};

struct mig_policy {
	uint64_t max_downtime_ms;	/* target for the final copy */
	uint32_t max_rounds;		/* including round 0 */
	uint32_t shrink_pct;		/* a round must shrink the dirty set below
					 * this % of the previous one (e.g. 90) */
	uint64_t budget_bytes;		/* the destination's disk budget (0: none) */
	uint64_t final_bytes;		/* what the final dump may need of it */
};

enum mig_decision {
	MIG_CONTINUE,
	MIG_STOP_FITS,		/* estimated final copy fits max_downtime */
	MIG_STOP_STALLED,	/* dirty set not shrinking */
	MIG_STOP_MAX_ROUNDS,
	MIG_STOP_BUDGET,	/* one more round might not leave room for the
				 * final dump in the destination's budget */
};

const char *mig_decision_name(enum mig_decision d);

/*
 * Decide after n completed rounds (hist[0] is the full copy). *est_ms gets
 * the estimated time to copy the dirty set left (0 when unknown).
 */
enum mig_decision mig_policy_decide(const struct mig_policy *p, const struct mig_round_stat *hist,
				    size_t n, uint64_t *est_ms);

/* --postcopy's modes */
enum mig_postcopy_mode { MIG_PC_NEVER, MIG_PC_AUTO, MIG_PC_ALWAYS };

/*
 * Post-copy after a pre-copy that stopped for why? always: yes; never: no;
 * auto: when it stopped without fitting the downtime (not shrinking, out
 * of rounds, out of the destination's disk budget), i.e. when the frozen
 * final dump would carry more than --max-downtime allows.
 */
bool mig_postcopy_wanted(enum mig_postcopy_mode mode, enum mig_decision why);

#endif
