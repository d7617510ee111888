// SPDX-License-Identifier: GPL-2.0
/* Pre-copy stop rule. */
#include "mig_policy.h"

bool mig_postcopy_wanted(enum mig_postcopy_mode mode, enum mig_decision why)
{
	return mode == MIG_PC_ALWAYS || (mode == MIG_PC_AUTO && why != MIG_STOP_FITS);
}

const char *mig_decision_name(enum mig_decision d)
{
	switch (d) {
	case MIG_CONTINUE:	  return "continue";
	case MIG_STOP_FITS:	  return "fits-downtime";
	case MIG_STOP_STALLED:	  return "not-shrinking";
	case MIG_STOP_MAX_ROUNDS: return "max-rounds";
	case MIG_STOP_BUDGET:	  return "disk-budget";
	}
	return "?";
}

enum mig_decision mig_policy_decide(const struct mig_policy *p, const struct mig_round_stat *hist,
				    size_t n, uint64_t *est_ms)
{
	uint64_t bytes = 0, ns = 0, left;
	const struct mig_round_stat *last;

	*est_ms = 0;
	if (n == 0)
		return MIG_CONTINUE;
	last = &hist[n - 1];
	/* bandwidth over every round so far: bytes read, compressed, sent
	 * and acknowledged per second of wall time */
	for (size_t i = 0; i < n; i++) {
		bytes += hist[i].raw_bytes;
		ns += hist[i].ns;
	}
	/* the next copy is about as large as the last dirty set */
	left = last->dirty_pages * 4096;
	if (n >= 2) {
		if (bytes && ns)
			*est_ms = (uint64_t)((double)left * (double)ns / (double)bytes / 1e6);
		else if (left)
			*est_ms = UINT64_MAX;
	}
	if (n >= 2 && (left == 0 || *est_ms <= p->max_downtime_ms))
		return MIG_STOP_FITS;
	/* every page sent stays on the destination's disk (a round is a
	 * layer of images): the next round, about as large as the last dirty
	 * set (after round 0: all of it), and then the final dump must fit */
	if (p->budget_bytes && (bytes >= p->budget_bytes ||
				left >= p->budget_bytes - bytes ||
				p->final_bytes >= p->budget_bytes - bytes - left))
		return MIG_STOP_BUDGET;
	if (p->max_rounds && n >= p->max_rounds)
		return MIG_STOP_MAX_ROUNDS;
	/* round 1 is the first dirty set; stalled when round k did not get
	 * below shrink_pct % of round k-1 */
	if (n >= 3 && last->dirty_pages * 100 >= hist[n - 2].dirty_pages * p->shrink_pct)
		return MIG_STOP_STALLED;
	return MIG_CONTINUE;
}
