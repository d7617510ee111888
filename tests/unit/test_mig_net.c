// SPDX-License-Identifier: GPL-2.0
/* HOST:PORT parsing and a loopback connect/listen round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "mig_net.h"

static void test_split(void **state)
{
	char h[64], p[8];

	(void)state;
	assert_int_equal(mig_split_hostport("10.0.0.1:7900", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "10.0.0.1");
	assert_string_equal(p, "7900");
	assert_int_equal(mig_split_hostport("[fd00::1]:80", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "fd00::1");
	assert_int_equal(mig_split_hostport(":80", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "");
	assert_int_equal(mig_split_hostport("host.example:65535", h, sizeof(h), p, sizeof(p)), 0);
	static const char *bad[] = { "", "host", "host:", "host:0", "host:65536", "host:12a",
				     "fd00::1:80", "[fd00::1]80", "[fd00::1", "h:-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mig_split_hostport(bad[i], h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(mig_split_hostport(NULL, h, sizeof(h), p, sizeof(p)), -EINVAL);
	assert_int_equal(mig_split_hostport("averylonghostname:1", h, 4, p, sizeof(p)), -EINVAL);
}

static void test_loopback(void **state)
{
	char err[256];
	int l, c, a;

	(void)state;
	l = mig_listen("127.0.0.1:0", err, sizeof(err));
	assert_int_equal(l, -EINVAL);		/* port 0 is refused */
	l = mig_listen("127.0.0.1:47913", err, sizeof(err));
	if (l < 0) {
		skip();		/* port taken on this machine */
	}
	c = mig_connect("127.0.0.1:47913", err, sizeof(err));
	assert_true(c >= 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "x", 1), 1);
	char b;
	assert_int_equal(read(a, &b, 1), 1);
	close(a);
	close(c);
	close(l);
	/* nobody listens now */
	c = mig_connect("127.0.0.1:47913", err, sizeof(err));
	assert_int_equal(c, -ECONNREFUSED);
	assert_non_null(strstr(err, "127.0.0.1:47913"));
	assert_int_equal(mig_connect("nonsense", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
