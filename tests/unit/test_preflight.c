// SPDX-License-Identifier: GPL-2.0
/* Pre-flight: ELF build-ids (checked against readelf), the process tree,
 * the file list of a live process, comparison finding missing / different
 * files, and the wire encoding of list and report. */
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "preflight.h"
#include "wire.h"

static char dir[64];

static int setup(void **state)
{
	char cmd[512];

	(void)state;
	strcpy(dir, "/tmp/ferry-pf-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* two tiny programs differing in one constant: same size, different
	 * build-id; and a non-ELF file */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'int main(void){return 0;}\\n' >a.c && "
		 "printf 'int main(void){return 1;}\\n' >b.c && "
		 "cc -O2 -Wl,--build-id=sha1 -o a a.c && cc -O2 -Wl,--build-id=sha1 -o b b.c && "
		 "cc -O2 -Wl,--build-id=none -o noid a.c && echo hello >text", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Build ID as readelf prints it. */
static void readelf_id(const char *path, char *out, size_t size)
{
	char cmd[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "readelf -n '%s' | sed -n 's/.*Build ID: \\([0-9a-f]*\\).*/\\1/p'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = 0;
	if (!fgets(out, (int)size, f))
		out[0] = 0;
	out[strcspn(out, "\n")] = 0;
	pclose(f);
}

static void test_build_id(void **state)
{
	const char *bins[] = { "/bin/true", "a", "b" };
	char path[256], want[200], got[200];
	struct pf_file fa, fb;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		if (bins[i][0] == '/')
			snprintf(path, sizeof(path), "%s", bins[i]);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, bins[i]);
		struct pf_file f;
		assert_int_equal(pf_file_info(path, &f), 0);
		readelf_id(path, want, sizeof(want));
		pf_hex(f.build_id, f.build_id_len, got, sizeof(got));
		assert_true(want[0] != 0);
		assert_string_equal(got, want);
	}
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(pf_file_info(path, &fa), 0);
	snprintf(path, sizeof(path), "%s/b", dir);
	assert_int_equal(pf_file_info(path, &fb), 0);
	assert_int_equal(fa.build_id_len, 20);
	assert_memory_not_equal(fa.build_id, fb.build_id, 20);

	snprintf(path, sizeof(path), "%s/noid", dir);
	assert_int_equal(pf_file_info(path, &fa), 0);
	assert_int_equal(fa.build_id_len, 0);
	snprintf(path, sizeof(path), "%s/text", dir);
	assert_int_equal(pf_file_info(path, &fa), 0);
	assert_int_equal(fa.build_id_len, 0);
	assert_int_equal(fa.size, 6);
	assert_int_equal(pf_file_info("/dev/null", &fa), -EINVAL);
	assert_int_equal(pf_file_info("/nonexistent", &fa), -ENOENT);
}

static void test_maps_path(void **state)
{
	char p[256];

	(void)state;
	assert_true(pf_maps_path("55d4-55d5 r--p 00000000 fe:01 1234    /usr/bin/cat\n", p,
				 sizeof(p)));
	assert_string_equal(p, "/usr/bin/cat");
	assert_true(pf_maps_path("7ff0-7ff1 rw-p 00000000 00:00 0 \n", p, sizeof(p)));
	assert_string_equal(p, "");
	assert_true(pf_maps_path("7ff0-7ff1 rw-p 00000000 00:00 0       [stack]", p, sizeof(p)));
	assert_string_equal(p, "[stack]");
	assert_true(pf_maps_path("1-2 r--p 0 08:01 77 /tmp/a b (deleted)\n", p, sizeof(p)));
	assert_string_equal(p, "/tmp/a b (deleted)");
	assert_false(pf_maps_path("garbage", p, sizeof(p)));
	assert_false(pf_maps_path("1-2 r--p 0 08:01 77 /a/very/long/path", p, 5));
}

/* A tree root -> child -> grandchild (sleeping) is found in full. */
static void test_tree(void **state)
{
	int pfd[2];
	pid_t root, kids[2];
	pid_t *pids;
	size_t n;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	root = fork();
	assert_true(root >= 0);
	if (root == 0) {
		pid_t c = fork();

		if (c == 0) {
			pid_t g = fork();

			if (g == 0) {
				pause();
				_exit(0);
			}
			if (write(pfd[1], &g, sizeof(g)) != sizeof(g))
				_exit(1);
			pause();
			_exit(0);
		}
		if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &kids[0], sizeof(pid_t)), sizeof(pid_t));
	assert_int_equal(read(pfd[0], &kids[1], sizeof(pid_t)), sizeof(pid_t));
	assert_int_equal(pf_tree_pids(root, &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], root);
	for (int k = 0; k < 2; k++) {
		bool found = false;

		for (size_t i = 0; i < n; i++)
			found |= pids[i] == kids[k];
		assert_true(found);
	}
	free(pids);
	kill(kids[1], SIGKILL);
	kill(kids[0], SIGKILL);
	kill(root, SIGKILL);
	waitpid(root, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(pf_tree_pids(999999999, &pids, &n), -ESRCH);
}

static struct pf_file *find(struct pf_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, path))
			return &l->v[i];
	return NULL;
}

static void test_collect_and_check(void **state)
{
	struct pf_list l;
	struct pf_report rep;
	char err[256], exe[4096], path[300];
	ssize_t n;

	(void)state;
	assert_int_equal(preflight_collect(getpid(), &l, err, sizeof(err)), 0);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	struct pf_file *me = find(&l, exe);
	assert_non_null(me);
	assert_true(me->kind & PF_KIND_EXE);
	assert_true(me->kind & PF_KIND_MAP);
	assert_true(l.mem_bytes > 0);
	/* some shared library with a build-id is mapped */
	bool lib = false;
	for (size_t i = 0; i < l.n; i++) {
		if (strstr(l.v[i].path, "libc") && l.v[i].build_id_len)
			lib = true;
		assert_true(l.v[i].path[0] == '/');
		if (i)
			assert_true(strcmp(l.v[i - 1].path, l.v[i].path) < 0);
	}
	assert_true(lib);

	/* our own PID is among the tree's IDs */
	bool self = false;
	for (size_t i = 0; i < l.ntids; i++)
		self |= l.tids[i] == (uint32_t)getpid();
	assert_true(self);

	/* same host: the files match; every PID is taken (by the tree itself) */
	assert_int_equal(preflight_check(&l, "/tmp", true, 0, &rep), 0);
	assert_int_equal(rep.n, l.ntids);
	for (size_t i = 0; i < rep.n; i++)
		assert_int_equal(rep.v[i].kind, PF_PID_TAKEN);
	assert_non_null(strstr(rep.v[0].detail, "in use here"));
	assert_int_equal(rep.files_checked, l.n);
	pf_report_free(&rep);
	/* without the IDs: nothing to report */
	l.ntids = 0;
	assert_int_equal(preflight_check(&l, "/tmp", true, 0, &rep), 0);
	assert_int_equal(rep.n, 0);
	pf_report_free(&rep);
	pf_list_free(&l);

	/* a source list with every kind of file trouble */
	struct pf_list s = { 0 };
	s.v = calloc(5, sizeof(*s.v));
	s.n = s.cap = 5;
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(pf_file_info(path, &s.v[0]), 0);
	snprintf(s.v[0].path, sizeof(s.v[0].path), "%s/b", dir); /* "a" expected at b's path */
	struct pf_file fb;
	assert_int_equal(pf_file_info(s.v[0].path, &fb), 0);
	s.v[0].size = fb.size;					/* same size, other id */
	snprintf(path, sizeof(path), "%s/text", dir);
	assert_int_equal(pf_file_info(path, &s.v[1]), 0);
	s.v[1].size++;						/* size differs */
	snprintf(s.v[2].path, sizeof(s.v[2].path), "%s/gone", dir);	/* missing */
	snprintf(s.v[3].path, sizeof(s.v[3].path), "/dev/null");	/* not regular */
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(pf_file_info(path, &s.v[4]), 0);		/* fine */
	s.mem_bytes = UINT64_MAX / 2;					/* no room */
	/* one free PID (a reaped child's) and one taken (ours) */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone);
	s.tids = calloc(2, sizeof(*s.tids));
	s.tids[0] = (uint32_t)gone;
	s.tids[1] = (uint32_t)getpid();
	s.ntids = 2;
	assert_int_equal(preflight_check(&s, dir, false, 0, &rep), 0);
	assert_int_equal(rep.n, 8);
	assert_int_equal(rep.v[0].kind, PF_SIZE);
	assert_non_null(strstr(rep.v[0].detail, "differs here"));
	assert_int_equal(rep.v[1].kind, PF_SIZE);
	assert_int_equal(rep.v[2].kind, PF_MISSING);
	assert_int_equal(rep.v[3].kind, PF_NOT_REGULAR);
	assert_int_equal(rep.v[4].kind, PF_NO_MEMORY);
	assert_int_equal(rep.v[5].kind, PF_NO_DISK);
	assert_int_equal(rep.v[6].kind, PF_NO_CRIU);
	assert_int_equal(rep.v[7].kind, PF_PID_TAKEN);
	{
		char want[64];

		snprintf(want, sizeof(want), "PID %d of the tree", (int)getpid());
		assert_non_null(strstr(rep.v[7].detail, want));
	}
	char line[512];
	pf_problem_str(&rep.v[2], line, sizeof(line));
	assert_non_null(strstr(line, "missing: "));
	assert_non_null(strstr(line, "/gone"));

	/* the list and the report survive the wire */
	int sp[2];
	struct wire_conn a, b;
	struct wire_msg m;
	struct pf_list s2;
	struct pf_report rep2;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	wire_init(&a, sp[0]);
	wire_init(&b, sp[1]);
	assert_int_equal(preflight_send(&a, &s), 0);
	assert_int_equal(wire_expect(&b, WIRE_PREFLIGHT, &m), 0);
	assert_int_equal(preflight_parse(&b, &m, &s2), 0);
	assert_int_equal(s2.n, 5);
	assert_int_equal(s2.mem_bytes, s.mem_bytes);
	assert_int_equal(s2.ntids, 2);
	assert_int_equal(s2.tids[0], s.tids[0]);
	assert_int_equal(s2.tids[1], s.tids[1]);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(s2.v[i].path, s.v[i].path);
		assert_int_equal(s2.v[i].size, s.v[i].size);
		assert_int_equal(s2.v[i].build_id_len, s.v[i].build_id_len);
		assert_memory_equal(s2.v[i].build_id, s.v[i].build_id, s.v[i].build_id_len);
	}
	pf_list_free(&s2);
	assert_int_equal(preflight_send_report(&b, &rep), 0);
	assert_int_equal(wire_expect(&a, WIRE_PREFLIGHT_ANS, &m), 0);
	assert_int_equal(preflight_parse_report(&a, &m, &rep2), 0);
	assert_int_equal(rep2.n, rep.n);
	for (size_t i = 0; i < rep.n; i++) {
		assert_int_equal(rep2.v[i].kind, rep.v[i].kind);
		assert_string_equal(rep2.v[i].path, rep.v[i].path);
		assert_string_equal(rep2.v[i].detail, rep.v[i].detail);
	}
	pf_report_free(&rep2);

	/* malformed: a huge count, a relative path, an oversize build-id */
	struct wire_buf wb;
	wb_init(&wb);
	wb_u64(&wb, 0);
	wb_u32(&wb, 0xffffffffu);
	assert_int_equal(wire_send(&a, WIRE_PREFLIGHT, wb.p, (uint32_t)wb.len), 0);
	wb_free(&wb);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(preflight_parse(&b, &m, &s2), -EPROTO);
	wb_u64(&wb, 0);
	wb_u32(&wb, 1);
	wb_str(&wb, "relative/path");
	wb_u64(&wb, 1);
	wb_u32(&wb, 0);
	wb_u8(&wb, 0);
	assert_int_equal(wire_send(&a, WIRE_PREFLIGHT, wb.p, (uint32_t)wb.len), 0);
	wb_free(&wb);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(preflight_parse(&b, &m, &s2), -EPROTO);
	wb_u64(&wb, 0);
	wb_u32(&wb, 1);
	wb_str(&wb, "/x");
	wb_u64(&wb, 1);
	wb_u32(&wb, 0);
	wb_u8(&wb, 200);
	for (int i = 0; i < 200; i++)
		wb_u8(&wb, 0);
	assert_int_equal(wire_send(&a, WIRE_PREFLIGHT, wb.p, (uint32_t)wb.len), 0);
	wb_free(&wb);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(preflight_parse(&b, &m, &s2), -EPROTO);
	assert_non_null(strstr(b.err, "malformed PREFLIGHT"));

	wire_free(&a);
	wire_free(&b);
	close(sp[0]);
	close(sp[1]);
	pf_list_free(&s2);
	pf_report_free(&rep);
	pf_list_free(&s);
	assert_int_equal(preflight_collect(999999999, &l, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "999999999"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_maps_path),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_collect_and_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
