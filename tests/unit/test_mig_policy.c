// SPDX-License-Identifier: GPL-2.0
/* Pre-copy stop rule: fits / stalled / max-rounds, with the estimate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "mig_policy.h"

#define MS 1000000ull

static void test_decide(void **state)
{
	struct mig_policy p = { .max_downtime_ms = 100, .max_rounds = 10, .shrink_pct = 90 };
	/* 4096 bytes per ms = ~4 MB/s, to keep the numbers simple */
	struct mig_round_stat h[5] = {
		{ 1000, 1000, 1000 * 4096, 0, 1000 * MS },	/* full copy: 1 page/ms */
		{ 500, 500, 500 * 4096, 0, 500 * MS },
		{ 200, 200, 200 * 4096, 0, 200 * MS },
		{ 50, 50, 50 * 4096, 0, 50 * MS },
	};
	uint64_t est;

	(void)state;
	assert_int_equal(mig_policy_decide(&p, h, 0, &est), MIG_CONTINUE);
	/* after round 0 nothing is known about the dirty rate */
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_CONTINUE);
	assert_int_equal(est, 0);
	/* 500 pages left at 1 page/ms: 500 ms > 100 */
	assert_int_equal(mig_policy_decide(&p, h, 2, &est), MIG_CONTINUE);
	assert_int_equal(est, 500);
	assert_int_equal(mig_policy_decide(&p, h, 3, &est), MIG_CONTINUE);
	assert_int_equal(est, 200);
	assert_int_equal(mig_policy_decide(&p, h, 4, &est), MIG_STOP_FITS);
	assert_int_equal(est, 50);

	/* nothing dirty: stop at once */
	struct mig_round_stat z[2] = { { 10, 10, 40960, 0, 10 * MS }, { 0, 0, 0, 0, 1 * MS } };
	assert_int_equal(mig_policy_decide(&p, z, 2, &est), MIG_STOP_FITS);
	assert_int_equal(est, 0);

	/* stalled: 500 -> 480 is not below 90 % */
	h[2].dirty_pages = 480;
	assert_int_equal(mig_policy_decide(&p, h, 3, &est), MIG_STOP_STALLED);
	h[2].dirty_pages = 449;
	assert_int_equal(mig_policy_decide(&p, h, 3, &est), MIG_CONTINUE);

	/* round limit */
	p.max_rounds = 2;
	assert_int_equal(mig_policy_decide(&p, h, 2, &est), MIG_STOP_MAX_ROUNDS);
	p.max_rounds = 1;
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_STOP_MAX_ROUNDS);
	/* a fitting estimate wins over the limit (reason is more useful) */
	p.max_rounds = 4;
	assert_int_equal(mig_policy_decide(&p, h, 4, &est), MIG_STOP_FITS);
	assert_string_equal(mig_decision_name(MIG_STOP_STALLED), "not-shrinking");
}

/*
 * The destination keeps every round's pages until the restore: pre-copy
 * stops before the next round (about the last dirty set) and then a final
 * dump of final_bytes could pass the budget. The soak's THP churn sent
 * 45 + 33 + 19 + 19 MiB in rounds, then a 44 MiB final dump, into a 160 MiB
 * budget: the receiver refused it.
 */
static void test_budget(void **state)
{
	const uint64_t MiB = 1048576;
	struct mig_policy p = { .max_downtime_ms = 1, .max_rounds = 10, .shrink_pct = 100,
				.budget_bytes = 3 * 50 * MiB + 64 * MiB,
				.final_bytes = 50 * MiB + 64 * MiB };
	struct mig_round_stat h[3] = {
		{ 11482, 11482, 11482 * 4096ull, 0, 2000 * MS },
		{ 10019, 8483, 8483 * 4096ull, 0, 1500 * MS },
		{ 1000, 1000, 1000 * 4096ull, 0, 500 * MS },
	};
	uint64_t est;

	(void)state;
	/* after the full copy: 45 + 45 + 114 MiB fits 214 */
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_CONTINUE);
	/* after round 1: 78 + 39 + 114 does not */
	assert_int_equal(mig_policy_decide(&p, h, 2, &est), MIG_STOP_BUDGET);
	assert_string_equal(mig_decision_name(MIG_STOP_BUDGET), "disk-budget");
	/* fitting the downtime still wins: no further round is asked for */
	p.max_downtime_ms = 100000;
	assert_int_equal(mig_policy_decide(&p, h, 2, &est), MIG_STOP_FITS);
	p.max_downtime_ms = 1;
	/* the tree grew: even the first dirty round would not fit */
	p.final_bytes = 130 * MiB;
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_STOP_BUDGET);
	/* already past the budget, or sent exactly all of it: no wrap-around */
	p.budget_bytes = 10 * MiB;
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_STOP_BUDGET);
	p.budget_bytes = h[0].raw_bytes;
	p.final_bytes = 0;
	assert_int_equal(mig_policy_decide(&p, h, 1, &est), MIG_STOP_BUDGET);
	/* no budget (an older receiver said 0): only the other rules */
	p.budget_bytes = 0;
	p.final_bytes = UINT64_MAX;
	assert_int_equal(mig_policy_decide(&p, h, 2, &est), MIG_CONTINUE);
}

/* auto switches to post-copy for every stop but a converged one */
static void test_postcopy_wanted(void **state)
{
	const enum mig_decision stops[] = { MIG_STOP_STALLED, MIG_STOP_MAX_ROUNDS,
					    MIG_STOP_BUDGET };

	(void)state;
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		assert_true(mig_postcopy_wanted(MIG_PC_AUTO, stops[i]));
		assert_true(mig_postcopy_wanted(MIG_PC_ALWAYS, stops[i]));
		assert_false(mig_postcopy_wanted(MIG_PC_NEVER, stops[i]));
	}
	assert_false(mig_postcopy_wanted(MIG_PC_AUTO, MIG_STOP_FITS));
	assert_true(mig_postcopy_wanted(MIG_PC_ALWAYS, MIG_STOP_FITS));
	assert_false(mig_postcopy_wanted(MIG_PC_NEVER, MIG_STOP_FITS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_postcopy_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
