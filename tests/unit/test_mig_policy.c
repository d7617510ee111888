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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
