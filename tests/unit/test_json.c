// SPDX-License-Identifier: GPL-2.0
/* The --json writer: commas, nesting, escaping, non-finite numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json.h"

static char *render(void (*fill)(struct json *))
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct json j;

	assert_non_null(f);
	json_init(&j, f);
	fill(&j);
	json_end(&j);
	fclose(f);
	return buf;
}

static void fill_nested(struct json *j)
{
	json_obj_open(j, NULL);
	json_str(j, "version", "0.1.0");
	json_arr_open(j, "extents");
	json_obj_open(j, NULL);
	json_u64(j, "start", 4096);
	json_u64(j, "pages", 2);
	json_obj_close(j);
	json_obj_open(j, NULL);
	json_u64(j, "start", 18446744073709551615ULL);
	json_obj_close(j);
	json_arr_close(j);
	json_bool(j, "ok", true);
	json_i64(j, "neg", -5);
	json_obj_close(j);
}

static void test_nested(void **state)
{
	(void)state;
	assert_string_equal(render(fill_nested),
		"{\"version\":\"0.1.0\",\"extents\":[{\"start\":4096,\"pages\":2},"
		"{\"start\":18446744073709551615}],\"ok\":true,\"neg\":-5}\n");
}

static void fill_escape(struct json *j)
{
	json_obj_open(j, NULL);
	json_str(j, "s", "a\"b\\c\nd\te\x01");
	json_str(j, "n", NULL);
	json_obj_close(j);
}

static void test_escape(void **state)
{
	(void)state;
	assert_string_equal(render(fill_escape),
		"{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001\",\"n\":null}\n");
}

static void fill_double(struct json *j)
{
	json_arr_open(j, NULL);
	json_double(j, NULL, 1.5);
	json_double(j, NULL, 0.0 / 0.0);
	json_arr_close(j);
}

static void test_double(void **state)
{
	(void)state;
	assert_string_equal(render(fill_double), "[1.5,null]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
