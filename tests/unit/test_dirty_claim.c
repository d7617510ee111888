// SPDX-License-Identifier: GPL-2.0
/*
 * One ferry user of a process's soft-dirty bits at a time (dirty_track.h):
 * a second claim of the same process is refused and names the holder; a
 * released claim leaves no file and can be taken again; a claim waits for
 * a holder that lets go within its wait; a PID that does not exist cannot
 * be claimed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "dirty_track.h"

static void test_second_claim_refused(void **state)
{
	struct dirty_claim a, b;
	char err[512], want[64];

	(void)state;
	assert_int_equal(dirty_claim(getpid(), "checkpoint", 0, &a, err, sizeof(err)), 0);
	assert_int_equal(access(a.path, F_OK), 0);
	assert_int_equal(dirty_claim(getpid(), "migrate", 200, &b, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "(pid %d: ferry checkpoint)", (int)getpid());
	assert_non_null(strstr(err, want));
	assert_int_equal(b.fd, -1);
	dirty_release(&b);	/* nothing held: no effect */
	assert_int_equal(access(a.path, F_OK), 0);
	dirty_release(&a);
	assert_int_equal(access(a.path, F_OK), -1);
	assert_int_equal(dirty_claim(getpid(), "migrate", 0, &b, err, sizeof(err)), 0);
	dirty_release(&b);
}

/* A holder that lets go within the wait: the claim is taken. */
static void test_waits_for_short_holder(void **state)
{
	struct dirty_claim c;
	char err[512];
	int p[2];
	pid_t child;

	(void)state;
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		struct dirty_claim h;
		char e[512];

		if (dirty_claim(getppid(), "dirty --clear", 0, &h, e, sizeof(e)))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(300000);
		dirty_release(&h);
		_exit(0);
	}
	assert_int_equal(read(p[0], err, 1), 1);	/* the child holds it now */
	assert_int_equal(dirty_claim(getpid(), "checkpoint", 0, &c, err, sizeof(err)), -EBUSY);
	assert_int_equal(dirty_claim(getpid(), "checkpoint", 3000, &c, err, sizeof(err)), 0);
	dirty_release(&c);
	assert_int_equal(waitpid(child, NULL, 0), child);
	close(p[0]);
	close(p[1]);
}

static void test_no_such_process(void **state)
{
	struct dirty_claim c;
	char err[512];

	(void)state;
	/* beyond pid_max: never a process */
	assert_int_equal(dirty_claim(0x3fffffff, "migrate", 0, &c, err, sizeof(err)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_claim_refused),
		cmocka_unit_test(test_waits_for_short_holder),
		cmocka_unit_test(test_no_such_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
