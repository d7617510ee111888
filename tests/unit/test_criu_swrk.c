// SPDX-License-Identifier: GPL-2.0
/* CRIU RPC messages for the swrk restore: the request's exact protobuf
 * bytes (rpc.proto field numbers), and answers decoded -- restored pid,
 * notifications, failures with CRIU's reason, malformed input refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "criu_swrk.h"

static int dummy_notify(const char *script, pid_t pid, void *arg)
{
	(void)script;
	(void)pid;
	(void)arg;
	return 0;
}

static void test_encode_restore(void **state)
{
	struct criu_swrk_restore r = {
		.images_dir_fd = 5, .log_file = "r.log", .log_level = 2,
		.tcp_established = true, .lazy_pages = true, .notify = dummy_notify,
	};
	/* criu_req { type: RESTORE, opts { images_dir_fd: 5, log_level: 2,
	 * log_file: "r.log", tcp_established: true, notify_scripts: true,
	 * lazy_pages: true } } -- lazy_pages is field 48: key 384 = 0x80 0x03 */
	static const uint8_t want[] = {
		0x08, 0x02, 0x12, 0x12,
		0x08, 0x05, 0x48, 0x02, 0x52, 0x05, 'r', '.', 'l', 'o', 'g',
		0x28, 0x01, 0x60, 0x01, 0x80, 0x03, 0x01,
	};
	uint8_t buf[256];
	int n;

	(void)state;
	n = criu_swrk_encode_restore(&r, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* without the optional parts: only the required fd and the level */
	memset(&r, 0, sizeof(r));
	r.images_dir_fd = 300;
	n = criu_swrk_encode_restore(&r, buf, sizeof(buf));
	static const uint8_t want2[] = { 0x08, 0x02, 0x12, 0x05, 0x08, 0xac, 0x02, 0x48, 0x00 };
	assert_int_equal(n, sizeof(want2));
	assert_memory_equal(buf, want2, sizeof(want2));

	assert_int_equal(criu_swrk_encode_restore(&r, buf, 4), -ENOSPC);
	r.images_dir_fd = -1;
	assert_int_equal(criu_swrk_encode_restore(&r, buf, sizeof(buf)), -EINVAL);
}

static void test_encode_notify_ack(void **state)
{
	uint8_t buf[16];
	static const uint8_t ok[] = { 0x08, 0x06, 0x18, 0x01 }, bad[] = { 0x08, 0x06, 0x18, 0x00 };

	(void)state;
	assert_int_equal(criu_swrk_encode_notify_ack(true, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, ok, 4);
	assert_int_equal(criu_swrk_encode_notify_ack(false, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, bad, 4);
}

static void test_decode(void **state)
{
	struct criu_swrk_resp r;
	/* criu_resp { type: RESTORE, success: true, restore { pid: 4242 } } */
	static const uint8_t restored[] = { 0x08, 0x02, 0x10, 0x01, 0x22, 0x03, 0x08, 0x92, 0x21 };
	/* criu_resp { type: NOTIFY, success: true, notify { script: "post-restore",
	 * pid: 77 } } plus an unknown field 99 (a newer CRIU) */
	static const uint8_t notify[] = {
		0x08, 0x06, 0x10, 0x01, 0x2a, 0x10, 0x0a, 0x0c,
		'p', 'o', 's', 't', '-', 'r', 'e', 's', 't', 'o', 'r', 'e', 0x10, 0x4d,
		0x98, 0x06, 0x07,
	};
	/* criu_resp { type: RESTORE, success: false, cr_errno: 17, cr_errmsg: "File exists" } */
	static const uint8_t failed[] = {
		0x08, 0x02, 0x10, 0x00, 0x38, 0x11, 0x4a, 0x0b,
		'F', 'i', 'l', 'e', ' ', 'e', 'x', 'i', 's', 't', 's',
	};

	(void)state;
	assert_int_equal(criu_swrk_decode_resp(restored, sizeof(restored), &r), 0);
	assert_int_equal(r.type, CRIU_REQ_RESTORE);
	assert_true(r.success);
	assert_int_equal(r.restored_pid, 4242);

	assert_int_equal(criu_swrk_decode_resp(notify, sizeof(notify), &r), 0);
	assert_int_equal(r.type, CRIU_REQ_NOTIFY);
	assert_string_equal(r.script, "post-restore");
	assert_int_equal(r.notify_pid, 77);

	assert_int_equal(criu_swrk_decode_resp(failed, sizeof(failed), &r), 0);
	assert_false(r.success);
	assert_int_equal(r.cr_errno, 17);
	assert_string_equal(r.errmsg, "File exists");

	/* required fields missing, truncated, wrong wire types */
	assert_int_equal(criu_swrk_decode_resp(restored, 2, &r), -EPROTO);
	assert_int_equal(criu_swrk_decode_resp(restored, sizeof(restored) - 1, &r), -EPROTO);
	static const uint8_t type_as_bytes[] = { 0x0a, 0x01, 0x02, 0x10, 0x01 };
	assert_int_equal(criu_swrk_decode_resp(type_as_bytes, sizeof(type_as_bytes), &r), -EPROTO);
	static const uint8_t overlong[] = { 0x08, 0x02, 0x10, 0x01, 0x22, 0x7f, 0x08 };
	assert_int_equal(criu_swrk_decode_resp(overlong, sizeof(overlong), &r), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_restore),
		cmocka_unit_test(test_encode_notify_ack),
		cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
