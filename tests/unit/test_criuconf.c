// SPDX-License-Identifier: GPL-2.0
/*
 * ctr_spec_annotate() (ctr_criuconf.h): the annotation that points runc's
 * CRIU at ferry's images goes into a Podman spec.dump. Must hold: every
 * other byte of the spec is unchanged; the annotation goes where Go's JSON
 * decoder takes it (last in annotations, or a new annotations member); an
 * earlier migration's value is replaced, a container's own is never
 * overridden (1); text the skimmer could misread is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ctr_criuconf.h"

#define P "/var/tmp/r/ferry-criu-restore.conf"
#define A "\"org.criu.config\":\"" P "\""

static int annotate(const char *in, char **out)
{
	char err[512];
	size_t n = 0;
	int ret;

	*out = NULL;
	ret = ctr_spec_annotate(in, strlen(in), P, out, &n, err, sizeof(err));
	if (!ret)
		assert_int_equal(n, strlen(*out));
	else
		assert_true(err[0]);
	return ret;
}

static void expect(const char *in, const char *want)
{
	char *out;

	assert_int_equal(annotate(in, &out), 0);
	assert_string_equal(out, want);
	/* again: the same text (its own annotation replaced by itself) */
	{
		char *again;

		assert_int_equal(annotate(out, &again), 0);
		assert_string_equal(again, want);
		free(again);
	}
	free(out);
}

static void test_where_it_goes(void **state)
{
	(void)state;
	expect("{}", "{\"annotations\":{" A "}}");
	expect(" { } \n", " { \"annotations\":{" A "}} \n");
	expect("{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]}}",
	       "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]},\"annotations\":{" A "}}");
	expect("{\"annotations\":{},\"x\":1}", "{\"annotations\":{" A "},\"x\":1}");
	expect("{\"annotations\": { } }", "{\"annotations\": { " A "} }");
	expect("{\"annotations\":{\"a\":\"b\"},\"x\":[1,2.5e3,-0,true,false,null]}",
	       "{\"annotations\":{\"a\":\"b\"," A "},\"x\":[1,2.5e3,-0,true,false,null]}");
	expect("{\"annotations\":null}", "{\"annotations\":{" A "}}");
	/* braces and quotes inside strings are not structure */
	expect("{\"p\":{\"args\":[\"}\\\"{\",\"]\"]},\"annotations\":{\"k\":\"v}\\\\\"}}",
	       "{\"p\":{\"args\":[\"}\\\"{\",\"]\"]},\"annotations\":{\"k\":\"v}\\\\\"," A "}}");
	/* a nested "annotations" is not the spec's */
	expect("{\"x\":{\"annotations\":{}}}",
	       "{\"x\":{\"annotations\":{}},\"annotations\":{" A "}}");
}

static void test_earlier_migration(void **state)
{
	(void)state;
	expect("{\"annotations\":{\"org.criu.config\":\"/var/tmp/old/ferry-criu-restore.conf\","
	       "\"z\":\"1\"}}",
	       "{\"annotations\":{" A ",\"z\":\"1\"}}");
	expect("{\"annotations\":{\"org.criu.config\" : \"/x/ferry-criu-restore.conf\"}}",
	       "{\"annotations\":{\"org.criu.config\" : \"" P "\"}}");
}

static void test_refused(void **state)
{
	char *out;

	(void)state;
	/* the container's own configuration is never overridden */
	assert_int_equal(annotate("{\"annotations\":{\"org.criu.config\":\"/etc/criu/my.conf\"}}",
				  &out), 1);
	assert_null(out);
	assert_int_equal(annotate("{\"annotations\":{\"org.criu.config\":\"\"}}", &out), 1);
	assert_int_equal(annotate("{\"annotations\":{\"org.criu.config\":"
				  "\"/x/not-ferry-criu-restore.conf\"}}", &out), 1);
	assert_int_equal(annotate("{\"annotations\":{\"org.criu.config\":"
				  "\"/x/ferry-criu-restore.conf\",\"org.criu.config\":"
				  "\"/x/ferry-criu-restore.conf\"}}", &out), 1);
	/* keys whose escapes Go would decode to ours */
	assert_int_equal(annotate("{\"annot\\u0061tions\":{}}", &out), 1);
	assert_int_equal(annotate("{\"annotations\":{\"org.criu.confi\\u0067\":\"/e\"}}", &out), 1);
	assert_int_equal(annotate("{\"annotations\":{},\"annotations\":{}}", &out), 1);
	/* not a JSON object, or not one the edit can place */
	assert_int_equal(annotate("", &out), -EINVAL);
	assert_int_equal(annotate("[]", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":1} x", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":1,}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\" 1}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":\"open}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":\"ctl\x01\"}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":tru}", &out), -EINVAL);
	assert_int_equal(annotate("{\"annotations\":[]}", &out), -EINVAL);
	assert_int_equal(annotate("{\"annotations\":\"x\"}", &out), -EINVAL);
	assert_int_equal(annotate("{\"annotations\":{\"a\":1,}}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":\"\\x\"}", &out), -EINVAL);
	assert_int_equal(annotate("{\"a\":\"\\u12g4\"}", &out), -EINVAL);
	assert_null(out);
	/* NUL bytes (found by fuzz_spec): in a number, after an escape */
	{
		static const char num[] = "{\"a\":0\0\0}", esc[] = "{\"a\":\"\\\0\"}";
		char err[256];
		size_t n;

		assert_int_equal(ctr_spec_annotate(num, sizeof(num) - 1, P, &out, &n, err,
						   sizeof(err)), -EINVAL);
		assert_int_equal(ctr_spec_annotate(esc, sizeof(esc) - 1, P, &out, &n, err,
						   sizeof(err)), -EINVAL);
		assert_null(out);
	}
}

static void test_depth(void **state)
{
	char in[400], *out;
	int i, n = 0;

	(void)state;
	n += sprintf(in + n, "{\"a\":");
	for (i = 0; i < 100; i++)
		in[n++] = '[';
	for (i = 0; i < 100; i++)
		in[n++] = ']';
	sprintf(in + n, "}");
	assert_int_equal(annotate(in, &out), -EINVAL);
	n = sprintf(in, "{\"a\":");
	for (i = 0; i < 60; i++)
		in[n++] = '[';
	for (i = 0; i < 60; i++)
		in[n++] = ']';
	sprintf(in + n, "}");
	assert_int_equal(annotate(in, &out), 0);
	free(out);
}

static void test_paths(void **state)
{
	char err[256], *out = NULL;
	size_t n;

	(void)state;
	assert_true(ctr_criuconf_path_ok("/var/tmp/x/ferry-criu-restore.conf"));
	assert_false(ctr_criuconf_path_ok("var/tmp/x"));
	assert_false(ctr_criuconf_path_ok("/var/tmp/a b"));
	assert_false(ctr_criuconf_path_ok("/var/tmp/a\"b"));
	assert_false(ctr_criuconf_path_ok("/var/tmp/a#b"));
	assert_false(ctr_criuconf_path_ok("/var/tmp/a\\b"));
	assert_false(ctr_criuconf_path_ok("/var/tmp/a\nb"));
	assert_int_equal(ctr_spec_annotate("{}", 2, "/a b", &out, &n, err, sizeof(err)), -EINVAL);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where_it_goes),
		cmocka_unit_test(test_earlier_migration),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
