// SPDX-License-Identifier: GPL-2.0
/* Number parsing and errno -> exit code mapping used by every command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "util.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(ferry_parse_u64("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(ferry_parse_u64("0x1000", 0, UINT64_MAX, &v));
	assert_int_equal(v, 4096);
	assert_false(ferry_parse_u64("101", 0, 100, &v));
	assert_false(ferry_parse_u64("5", 10, 100, &v));
	assert_false(ferry_parse_u64("-1", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("12abc", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64(NULL, 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v));
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(ferry_exit_from_errno(0), FERRY_EXIT_OK);
	assert_int_equal(ferry_exit_from_errno(-ESRCH), FERRY_EXIT_NOPROC);
	assert_int_equal(ferry_exit_from_errno(ESRCH), FERRY_EXIT_NOPROC);
	assert_int_equal(ferry_exit_from_errno(-EPERM), FERRY_EXIT_PERM);
	assert_int_equal(ferry_exit_from_errno(-EINVAL), FERRY_EXIT_USAGE);
	assert_int_equal(ferry_exit_from_errno(-EIO), FERRY_EXIT_FAIL);
}

static void test_read_file(void **state)
{
	char buf[64];
	FILE *f;

	(void)state;
	f = fopen("/tmp/ferry-unit-read", "w");
	assert_non_null(f);
	fputs("hello\n\n", f);
	fclose(f);
	assert_int_equal(ferry_read_file("/tmp/ferry-unit-read", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(ferry_read_file("/nonexistent/x", buf, sizeof(buf)), -ENOENT);
	remove("/tmp/ferry-unit-read");
}

static void vline(const char *p1, const char *p2, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline(p1, p2, fmt, ap);
	va_end(ap);
}

/*
 * A message line leaves in one write(2), newline included: with stderr on a
 * SOCK_SEQPACKET socket every write is one packet, so a line written in
 * pieces (text, then newline) would arrive as several packets.
 */
static void test_vline_one_write(void **state)
{
	char buf[256];
	int sv[2], saved;
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(sv[0], STDERR_FILENO), STDERR_FILENO);
	vline("ferry receive: ", "lazy pages: ", "all in place, %d tasks", 1);
	ferry_err("code %d", 7);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(sv[0]);

	n = recv(sv[1], buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ferry receive: lazy pages: all in place, 1 tasks\n");
	n = recv(sv[1], buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ferry: error: code 7\n");
	assert_int_equal(recv(sv[1], buf, sizeof(buf), 0), 0);	/* nothing else */
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_vline_one_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
