// SPDX-License-Identifier: GPL-2.0
/*
 * ctr_spec_annotate() (ctr_criuconf.h): the annotation that points runc's
 * CRIU at ferry's images goes into a Podman spec.dump. Must hold: every
 * other byte of the spec is unchanged; the annotation goes where Go's JSON
 * decoder takes it (last in annotations, or a new annotations member); an
 * earlier migration's value is replaced, a container's own is never
 * overridden (1); text the skimmer could misread is refused.
 * ctr_tar_append(): the edited spec.dump goes at the end of the archive,
 * every other member kept, also when the archive ends without tar's record
 * padding (as Go writes Podman's); an archive whose headers do not add up,
 * or that has a sparse member, is left untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
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

static char tdir[64];

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	return buf;
}

static off_t fsize(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Every member there, the appended spec.dump last (no tar warning). */
static void members(const char *tar)
{
	sh("cd %s && tar -tf %s 2>err | sort | tr '\\n' ' ' >list && test ! -s err && test "
	   "\"$(cat list)\" = 'checkpoint/ checkpoint/pages-1.img checkpoint/parent config.dump "
	   "spec.dump spec.dump ' && test \"$(tar -tf %s | tail -n1)\" = spec.dump", tdir, tar, tar);
}

static void test_tar_append(void **state)
{
	static const char spec[] = "{\"annotations\":{" A "}}";
	char a[128], err[512];

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ferry-test-tar-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	sh("cd %s && mkdir -p src/checkpoint && echo '{\"a\":1}' >src/spec.dump && "
	   "echo cfg >src/config.dump && head -c 5000 /dev/zero >src/checkpoint/pages-1.img && "
	   "ln -s ../pre-checkpoint src/checkpoint/parent", tdir);
	/* GNU tar's own archive (padded to its record size) */
	snprintf(a, sizeof(a), "%s/a.tar", tdir);
	sh("tar -C %s/src -cf %s spec.dump checkpoint config.dump", tdir, a);
	assert_int_equal(ctr_tar_append(a, "spec.dump", spec, strlen(spec), err, sizeof(err)), 0);
	members("a.tar");
	sh("cd %s && mkdir x && tar -xf a.tar -C x", tdir);
	snprintf(a, sizeof(a), "%s/x/spec.dump", tdir);
	assert_string_equal(slurp(a), spec);
	snprintf(a, sizeof(a), "%s/x/config.dump", tdir);
	assert_string_equal(slurp(a), "cfg\n");
	/* the same without the record padding, spec.dump last (its one
	 * data block, then two zero blocks, as Go ends it); GNU tar --delete
	 * lost config.dump here */
	snprintf(a, sizeof(a), "%s/b.tar", tdir);
	sh("tar -C %s/src -cf %s checkpoint config.dump spec.dump && "
	   "truncate -s $(( ($(tar -R -tf %s 2>/dev/null | grep spec.dump | sed 's/^block \\([0-9]*\\).*/\\1/') + 2) * 512 + 1024 )) %s",
	   tdir, a, a, a);
	assert_int_equal(ctr_tar_append(a, "spec.dump", spec, strlen(spec), err, sizeof(err)), 0);
	assert_int_equal(fsize(a) % 512, 0);
	members("b.tar");
	sh("cd %s && mkdir y && tar -xf b.tar -C y && test \"$(cat y/config.dump)\" = cfg", tdir);
	snprintf(a, sizeof(a), "%s/y/spec.dump", tdir);
	assert_string_equal(slurp(a), spec);
	sh("rm -rf %s", tdir);
}

static void test_tar_refused(void **state)
{
	char a[128], err[512];
	off_t before;

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ferry-test-tar-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	/* a header whose checksum is wrong: untouched */
	snprintf(a, sizeof(a), "%s/bad.tar", tdir);
	sh("cd %s && echo x >f && tar -cf bad.tar f && printf 'Z' | dd of=bad.tar bs=1 seek=0 "
	   "conv=notrunc 2>/dev/null", tdir);
	before = fsize(a);
	assert_int_equal(ctr_tar_append(a, "spec.dump", "{}", 2, err, sizeof(err)), -EINVAL);
	assert_int_equal(fsize(a), before);
	/* a sparse member: not walked, untouched */
	snprintf(a, sizeof(a), "%s/sparse.tar", tdir);
	sh("cd %s && truncate -s 1M hole && echo end >>hole && tar --format=gnu -S -cf sparse.tar hole",
	   tdir);
	before = fsize(a);
	assert_int_equal(ctr_tar_append(a, "spec.dump", "{}", 2, err, sizeof(err)), -ENOTSUP);
	assert_int_equal(fsize(a), before);
	/* not a tar at all, and one cut short */
	snprintf(a, sizeof(a), "%s/short.tar", tdir);
	sh("cd %s && head -c 100 /dev/urandom >short.tar", tdir);
	assert_int_equal(ctr_tar_append(a, "spec.dump", "{}", 2, err, sizeof(err)), -EINVAL);
	sh("cd %s && tar -cf cut.tar f hole && truncate -s 1536 cut.tar", tdir);
	snprintf(a, sizeof(a), "%s/cut.tar", tdir);
	assert_int_equal(ctr_tar_append(a, "spec.dump", "{}", 2, err, sizeof(err)), -EINVAL);
	sh("rm -rf %s", tdir);
}

/*
 * A version keeps the final dump's memory images beside the archive: the
 * pagemaps and pages files of checkpoint/ come out, nothing else (not its
 * parent link, which names the source's pre-checkpoint, nor other images),
 * with their content; an archive whose dump has no pagemap is refused.
 */
static void test_archive_memory(void **state)
{
	char a[128], d[128], log[128], err[512];

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ferry-test-tar-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	sh("cd %s && mkdir -p src/checkpoint final && echo spec >src/spec.dump && "
	   "echo pm1 >src/checkpoint/pagemap-1.img && echo pm7 >src/checkpoint/pagemap-7.img && "
	   "echo shm >src/checkpoint/pagemap-shmem-9.img && "
	   "head -c 8192 /dev/urandom >src/checkpoint/pages-1.img && "
	   "echo two >src/checkpoint/pages-2.img && echo core >src/checkpoint/core-1.img && "
	   "mkdir src/checkpoint/sub && echo x >src/checkpoint/sub/pages-3.img && "
	   "ln -s ../pre-checkpoint src/checkpoint/parent && "
	   "tar -C src -cf final/a.tar spec.dump checkpoint", tdir);
	snprintf(a, sizeof(a), "%s/final/a.tar", tdir);
	snprintf(d, sizeof(d), "%s/final", tdir);
	snprintf(log, sizeof(log), "%s/tar.log", tdir);
	assert_int_equal(ctr_archive_memory(a, d, log, err, sizeof(err)), 0);
	sh("cd %s/final && export LC_ALL=C && test \"$(ls | tr '\n' ' ')\" = 'a.tar pagemap-1.img pagemap-7.img "
	   "pagemap-shmem-9.img pages-1.img pages-2.img ' && "
	   "cmp pages-1.img ../src/checkpoint/pages-1.img && test \"$(cat pagemap-7.img)\" = pm7",
	   tdir);
	/* no pagemap in the dump: tar fails, and says so */
	sh("cd %s && rm -rf final/* src/checkpoint/pagemap-* && "
	   "tar -C src -cf final/b.tar spec.dump checkpoint", tdir);
	snprintf(a, sizeof(a), "%s/final/b.tar", tdir);
	err[0] = 0;
	assert_int_equal(ctr_archive_memory(a, d, log, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "memory out of the archive"));
	sh("rm -rf %s", tdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where_it_goes),
		cmocka_unit_test(test_earlier_migration),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_tar_append),
		cmocka_unit_test(test_archive_memory),
		cmocka_unit_test(test_tar_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
