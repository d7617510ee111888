// SPDX-License-Identifier: GPL-2.0
/*
 * The receiver's disk account (recv_ledger.h): concurrent sessions must
 * not be promised the same free disk. Must hold: the file's lines are
 * parsed within bounds (hostile or broken lines skipped); a session sees
 * what another, still running, was granted and nothing of one that ended;
 * its own line goes at release; pre-flight refuses a tree whose budget
 * fits the free disk only if the other sessions' grants are ignored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "mig_guard.h"
#include "preflight.h"
#include "recv_ledger.h"
#include "util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ferry-ledger-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_parse(void **state)
{
	struct ledger_entry v[4];
	char longline[300];
	const char *text =
		"100 5 4096\n"
		"garbage\n"
		"-1 5 10\n"			/* bad PID */
		"7 0 10\n"			/* no start time */
		"8 9 10 extra\n"		/* trailing field */
		"2147483648 1 1\n"		/* PID out of range */
		"200 6 18446744073709551615\n"	/* largest byte count */
		"\n"
		"300 7 1";			/* no final newline */
	size_t n;

	(void)state;
	n = ledger_parse(text, strlen(text), v, 4);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].pid, 100);
	assert_int_equal(v[0].start, 5);
	assert_int_equal(v[0].bytes, 4096);
	assert_int_equal(v[1].pid, 200);
	assert_true(v[1].bytes == UINT64_MAX);
	assert_int_equal(v[2].pid, 300);
	/* bounded by max */
	assert_int_equal(ledger_parse(text, strlen(text), v, 1), 1);
	/* an overlong line is skipped whole, the next one parsed */
	memset(longline, '1', sizeof(longline));
	memcpy(longline + sizeof(longline) - 9, "\n4 4 4\n", 7);
	assert_int_equal(ledger_parse(longline, sizeof(longline) - 2, v, 4), 1);
	assert_int_equal(v[0].pid, 4);
	/* sums saturate and leave our own line out */
	struct ledger_entry w[3] = { { 1, 1, UINT64_MAX - 5 }, { 2, 1, 10 }, { 3, 1, 7 } };

	assert_true(ledger_others(w, 3, 3) == UINT64_MAX);
	assert_true(ledger_others(w + 1, 2, 3) == 10);
}

/* A child session holds a grant; the parent sees it, then not once the
 * child has ended (without releasing: as if killed). */
static void test_other_sessions(void **state)
{
	struct ledger *l = malloc(sizeof(*l));
	char err[256];
	int go[2], done[2], status;
	pid_t child;
	char c;

	(void)state;
	assert_non_null(l);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (ledger_open(l, dir, 1000, err, sizeof(err)) ||
		    ledger_commit(l, 300ull << 20, err, sizeof(err)))
			_exit(1);
		if (write(go[1], "g", 1) != 1)
			_exit(1);
		(void)!read(done[0], &c, 1);	/* dies holding its grant */
		_exit(0);
	}
	assert_int_equal(read(go[0], &c, 1), 1);
	assert_int_equal(ledger_open(l, dir, 1000, err, sizeof(err)), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->v[0].pid, child);
	assert_true(ledger_others(l->v, l->n, getpid()) == 300ull << 20);
	/* while we hold the lock, nobody else gets it */
	pid_t other = fork();

	assert_true(other >= 0);
	if (other == 0) {
		struct ledger l2;

		_exit(ledger_open(&l2, dir, 200, err, sizeof(err)) == -ETIMEDOUT ? 0 : 1);
	}
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ledger_commit(l, 100ull << 20, err, sizeof(err)), 0);

	assert_int_equal(write(done[1], "d", 1), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	/* its line is stale now: dropped; ours is read back */
	assert_int_equal(ledger_open(l, dir, 1000, err, sizeof(err)), 0);
	assert_int_equal(l->n, 0);	/* drop_ended() also leaves our own out */
	ledger_close(l);
	char path[128], buf[256];

	snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_NAME);
	assert_true(ferry_read_file(path, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "104857600"));	/* ours, 100 MiB */
	ledger_release(dir);
	assert_int_equal(ferry_read_file(path, buf, sizeof(buf)), 0);
	free(l);
}

/* What another session was granted is not free for this one. */
static void test_preflight_reserved(void **state)
{
	struct pf_list l = { .mem_bytes = 16ull << 20 };
	struct pf_report rep;
	struct statvfs vfs;
	uint64_t free_bytes, need = pf_budget(16ull << 20);

	(void)state;
	assert_int_equal(statvfs(dir, &vfs), 0);
	free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	assert_true(free_bytes > need + (64ull << 20));
	assert_int_equal(preflight_check(&l, dir, true, 0, &rep), 0);
	assert_int_equal(rep.n, 0);
	assert_true(rep.budget >= need);
	pf_report_free(&rep);
	/* others hold all but a little less than this tree needs */
	assert_int_equal(preflight_check(&l, dir, true, free_bytes - need + (32ull << 20), &rep), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.v[0].kind, PF_NO_DISK);
	assert_non_null(strstr(rep.v[0].detail, "granted to migrations in progress"));
	pf_report_free(&rep);
	/* and the grant shrinks with what others hold */
	assert_int_equal(preflight_check(&l, dir, true, free_bytes - need - (32ull << 20), &rep), 0);
	assert_int_equal(rep.n, 0);
	assert_true(rep.budget >= need && rep.budget <= need + (32ull << 20));
	pf_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_other_sessions),
		cmocka_unit_test(test_preflight_reserved),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
