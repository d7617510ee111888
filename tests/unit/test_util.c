// SPDX-License-Identifier: GPL-2.0
/* Number parsing and errno -> exit code mapping used by every command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
