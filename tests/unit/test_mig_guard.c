// SPDX-License-Identifier: GPL-2.0
/* The restore guard: fired (receiver gone), it kills the listed processes
 * that started after it and runs the undo phases; it never kills a listed
 * PID whose process is older than the guard; released, it kills nothing.
 * (Killing the restored tree itself is checked in a VM: migrate-failures.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "mig_guard.h"

static void test_starttime(void **state)
{
	(void)state;
	assert_int_equal(mig_stat_starttime("42 (cat) S 1 42 42 0 -1 4194560 97 0 0 0 0 0 0 0 "
					    "20 0 1 0 123456 1000 100"), 123456);
	/* comm with spaces and parentheses */
	assert_int_equal(mig_stat_starttime("7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 "
					    "20 0 1 0 99 0 0"), 99);
	assert_int_equal(mig_stat_starttime("7 (no closing paren R 1"), 0);
	assert_int_equal(mig_stat_starttime("7 (x) R 1 2"), 0);
}

static pid_t spawn_sleeper(void)
{
	pid_t p = fork();

	if (p == 0) {
		pause();
		_exit(0);
	}
	return p;
}

/* undo phases, recorded in shared memory (the guard is another process) */
static int *phases;

static void undo(void *arg, int phase)
{
	(void)arg;
	phases[phase]++;
}

static bool alive(pid_t p)
{
	int st;

	/* reap if it died (our child), then ask */
	if (waitpid(p, &st, WNOHANG) == p)
		return false;
	return kill(p, 0) == 0;
}

static void test_fire_spares_older(void **state)
{
	struct mig_guard g;
	uint32_t pid;
	pid_t old;

	(void)state;
	phases = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(phases != MAP_FAILED);
	old = spawn_sleeper();
	sleep(1);	/* starttime has clock-tick resolution */
	pid = (uint32_t)old;

	/* released: no undo, nothing killed */
	assert_int_equal(mig_guard_start(&g, &pid, 1, 0, undo, NULL), 0);
	mig_guard_release(&g);
	assert_int_equal(phases[0] + phases[1], 0);
	assert_true(alive(old));

	/* fired: both undo phases run; a listed PID whose process is older
	 * than the guard (not restored by it) survives */
	assert_int_equal(mig_guard_start(&g, &pid, 1, 0, undo, NULL), 0);
	mig_guard_fire(&g);
	assert_int_equal(phases[0], 1);
	assert_int_equal(phases[1], 1);
	assert_true(alive(old));

	/* the worker is killed when fired */
	{
		pid_t worker = spawn_sleeper();

		assert_int_equal(mig_guard_start(&g, NULL, 0, worker, NULL, NULL), 0);
		mig_guard_fire(&g);
		assert_int_equal(waitpid(worker, NULL, 0), worker);
	}
	kill(old, SIGKILL);
	waitpid(old, NULL, 0);
	munmap(phases, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starttime),
		cmocka_unit_test(test_fire_spares_older),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
