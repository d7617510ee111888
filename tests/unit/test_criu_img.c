// SPDX-License-Identifier: GPL-2.0
/* CRIU image writer: protobuf varints, pagemap/pages/inventory files read
 * back by our reader AND by CRIU's own decoder (crit, when installed),
 * stats-dump parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "criu_img.h"
#include "pagestore.h"

static void test_varint(void **state)
{
	static const struct { uint64_t v; size_t len; uint8_t b[10]; } cases[] = {
		{ 0, 1, { 0 } },
		{ 1, 1, { 1 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ 16383, 2, { 0xff, 0x7f } },
		{ 16384, 3, { 0x80, 0x80, 0x01 } },
		{ 0xffffffffull, 5, { 0xff, 0xff, 0xff, 0xff, 0x0f } },
		{ 0x7fffffffe000ull, 7, { 0x80, 0xc0, 0xff, 0xff, 0xff, 0xff, 0x1f } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 } },
	};
	uint8_t buf[PB_MAX_VARINT];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pb_put_varint(buf, cases[i].v), cases[i].len);
		assert_memory_equal(buf, cases[i].b, cases[i].len);
		assert_int_equal(pb_get_varint(buf, cases[i].len, &v), (int)cases[i].len);
		assert_int_equal(v, cases[i].v);
		/* truncated */
		assert_int_equal(pb_get_varint(buf, cases[i].len - 1, &v), -1);
	}
	/* 11-byte and overflowing 10-byte varints */
	uint8_t eleven[11];
	memset(eleven, 0x80, sizeof(eleven));
	eleven[10] = 0;
	assert_int_equal(pb_get_varint(eleven, sizeof(eleven), &v), -1);
	uint8_t ovf[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	assert_int_equal(pb_get_varint(ovf, sizeof(ovf), &v), -1);
}

static void test_find(void **state)
{
	uint8_t msg[64];
	size_t len = 0;
	uint64_t v;
	const uint8_t *p;
	size_t plen;

	(void)state;
	pb_put_field(msg, &len, 1, 5);
	msg[len++] = (2 << 3) | 2;	/* field 2, bytes "abc" */
	msg[len++] = 3;
	memcpy(msg + len, "abc", 3);
	len += 3;
	msg[len++] = (3 << 3) | 5;	/* field 3, fixed32 */
	memset(msg + len, 0, 4);
	len += 4;
	msg[len++] = (4 << 3) | 1;	/* field 4, fixed64 */
	memset(msg + len, 0, 8);
	len += 8;
	pb_put_field(msg, &len, 1, 7);	/* repeated: last wins */
	assert_int_equal(pb_find_varint(msg, len, 1, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(pb_find_bytes(msg, len, 2, &p, &plen), 1);
	assert_int_equal(plen, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(pb_find_varint(msg, len, 9, &v), 0);
	assert_int_equal(pb_find_varint(msg, len, 2, &v), -1);	/* wrong type */
	assert_int_equal(pb_find_varint(msg, len - 1, 1, &v), -1);	/* truncated */
	uint8_t bad[] = { (2 << 3) | 2, 50, 'x' };	/* length past the end */
	assert_int_equal(pb_find_bytes(bad, sizeof(bad), 2, &p, &plen), -1);
	uint8_t group[] = { (2 << 3) | 3 };
	assert_int_equal(pb_find_varint(group, sizeof(group), 1, &v), -1);
}

static char tmpdir[64];

static int mk_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ferry-criu-img-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void page_fill(uint8_t *p, uint32_t pid, uint64_t va)
{
	for (int i = 0; i < 4096; i++)
		p[i] = (uint8_t)(pid * 31 + (va >> 12) * 7 + (uint64_t)i);
}

/* crit's JSON for a file, or NULL when crit is not installed. */
static char *crit_decode(const char *path)
{
	char cmd[512], *out = malloc(1 << 20);
	size_t n;
	FILE *f;

	if (access("/usr/bin/crit", X_OK)) {
		free(out);
		return NULL;
	}
	snprintf(cmd, sizeof(cmd), "crit decode -i '%s' --pretty 2>&1", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, (1 << 20) - 1, f);
	out[n] = 0;
	assert_int_equal(pclose(f), 0);
	return out;
}

static void test_parent_set(void **state)
{
	char path[256], storepath[256];
	struct pagestore *ps;
	struct criu_img_stats st;
	char err[256];
	uint8_t page[4096], got[4096];

	(void)state;
	snprintf(storepath, sizeof(storepath), "%s/store", tmpdir);
	assert_int_equal(pagestore_open(&ps, storepath), 0);
	/* pid 100: runs [0x400000,+3), [0x7fff0000,+1), written out of order,
	 * and one overwrite; pid 7: one page at a high address */
	uint64_t va100[] = { 0x7fff0000, 0x402000, 0x400000, 0x401000 };
	for (size_t i = 0; i < 4; i++) {
		memset(page, 0xee, sizeof(page));
		assert_int_equal(pagestore_put(ps, 100, va100[i], 1, page), 0);
	}
	for (size_t i = 0; i < 4; i++) {
		page_fill(page, 100, va100[i]);
		assert_int_equal(pagestore_put(ps, 100, va100[i], 1, page), 0);
	}
	page_fill(page, 7, 0x7ffffffff000ull);
	assert_int_equal(pagestore_put(ps, 7, 0x7ffffffff000ull, 1, page), 0);

	snprintf(path, sizeof(path), "%s/parent", tmpdir);
	assert_int_equal(criu_img_write_parent(path, ps, true, 0, &st, err, sizeof(err)), 0);
	assert_int_equal(st.pids, 2);
	assert_int_equal(st.pages, 5);
	assert_int_equal(st.entries, 3);

	/* pids sorted: 7 gets pages-1, 100 gets pages-2 */
	struct criu_pme *e;
	uint32_t pages_id;
	size_t n;
	snprintf(path, sizeof(path), "%s/parent/pagemap-100.img", tmpdir);
	assert_int_equal(criu_img_read_pagemap(path, &pages_id, &e, &n), 0);
	assert_int_equal(pages_id, 2);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].vaddr, 0x400000);
	assert_int_equal(e[0].nr_pages, 3);
	assert_int_equal(e[0].flags, CRIU_PE_PRESENT);
	assert_int_equal(e[1].vaddr, 0x7fff0000);
	assert_int_equal(e[1].nr_pages, 1);
	free(e);

	/* pages-2.img holds the latest content in pagemap order */
	snprintf(path, sizeof(path), "%s/parent/pages-2.img", tmpdir);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint64_t order[] = { 0x400000, 0x401000, 0x402000, 0x7fff0000 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)sizeof(got));
		page_fill(page, 100, order[i]);
		assert_memory_equal(page, got, sizeof(got));
	}
	assert_int_equal(read(fd, got, 1), 0);
	close(fd);

	/* CRIU's own decoder agrees */
	snprintf(path, sizeof(path), "%s/parent/pagemap-100.img", tmpdir);
	char *js = crit_decode(path);
	if (js) {
		assert_non_null(strstr(js, "\"magic\": \"PAGEMAP\""));
		assert_non_null(strstr(js, "\"pages_id\": 2"));
		assert_non_null(strstr(js, "\"vaddr\": \"0x400000\""));
		assert_non_null(strstr(js, "\"nr_pages\": 3"));
		assert_non_null(strstr(js, "\"vaddr\": \"0x7fff0000\""));
		assert_non_null(strstr(js, "PE_PRESENT"));
		free(js);
		snprintf(path, sizeof(path), "%s/parent/pagemap-7.img", tmpdir);
		js = crit_decode(path);
		assert_non_null(strstr(js, "\"vaddr\": \"0x7ffffffff000\""));
		free(js);
		snprintf(path, sizeof(path), "%s/parent/inventory.img", tmpdir);
		js = crit_decode(path);
		assert_non_null(strstr(js, "\"magic\": \"INVENTORY\""));
		assert_non_null(strstr(js, "\"img_version\": 2"));
		assert_non_null(strstr(js, "\"dump_uptime\""));
		free(js);
	} else {
		fprintf(stderr, "crit not installed: CRIU-side decode not checked\n");
	}

	/* without data: same pagemaps, empty pages files; dump_uptime as
	 * given (CRIU's pid-reuse check compares start times with it) */
	snprintf(path, sizeof(path), "%s/nodata", tmpdir);
	assert_int_equal(criu_img_write_parent(path, ps, false, 123456789, &st, err, sizeof(err)),
			 0);
	{
		uint8_t inv[256];
		uint64_t up = 0;
		int ifd;
		ssize_t len;

		snprintf(path, sizeof(path), "%s/nodata/inventory.img", tmpdir);
		ifd = open(path, O_RDONLY);
		assert_true(ifd >= 0);
		len = read(ifd, inv, sizeof(inv));
		close(ifd);
		/* u32 INVENTORY magic, u32 entry size, the entry */
		assert_true(len > 8);
		assert_int_equal(inv[0] | inv[1] << 8 | inv[2] << 16 | (uint32_t)inv[3] << 24,
				 CRIU_INVENTORY_MAGIC);
		assert_int_equal(pb_find_varint(inv + 8, (size_t)len - 8, 8, &up), 1);
		assert_int_equal(up, 123456789);
	}
	struct stat sb;
	snprintf(path, sizeof(path), "%s/nodata/pages-2.img", tmpdir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	snprintf(path, sizeof(path), "%s/nodata/pagemap-100.img", tmpdir);
	assert_int_equal(criu_img_read_pagemap(path, &pages_id, &e, &n), 0);
	assert_int_equal(n, 2);
	free(e);
	pagestore_close(ps, true);

	/* unsorted input is refused */
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	uint64_t bad[] = { 0x2000, 0x1000 };
	assert_int_equal(criu_img_write_pagemap(dfd, 1, 1, bad, 2, NULL), -EINVAL);
	close(dfd);
	/* an unwritable place gives a message */
	assert_int_not_equal(criu_img_write_parent("/proc/nope", NULL, false, 0, NULL, err,
						   sizeof(err)), 0);
	assert_non_null(strstr(err, "/proc/nope"));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_stats(void **state)
{
	uint8_t dump[64], top[80], file[100];
	size_t dl = 0, tl = 0;
	char path[256];
	struct criu_dump_stats ds;
	struct criu_restore_stats rs;

	(void)state;
	for (uint32_t f = 1; f <= 7; f++)
		pb_put_field(dump, &dl, f, f * 1000);
	pb_put_field(dump, &dl, 9, 0);
	top[tl++] = (1 << 3) | 2;
	top[tl++] = (uint8_t)dl;
	memcpy(top + tl, dump, dl);
	tl += dl;
	put_le32(file, CRIU_IMG_SERVICE_MAGIC);
	put_le32(file + 4, CRIU_STATS_MAGIC);
	put_le32(file + 8, (uint32_t)tl);
	memcpy(file + 12, top, tl);
	snprintf(path, sizeof(path), "%s/stats-dump", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(file, 1, 12 + tl, f), 12 + tl);
	fclose(f);
	assert_int_equal(criu_img_read_dump_stats(path, &ds), 0);
	assert_int_equal(ds.freezing_time, 1000);
	assert_int_equal(ds.frozen_time, 2000);
	assert_int_equal(ds.pages_scanned, 5000);
	assert_int_equal(ds.pages_skipped_parent, 6000);
	assert_int_equal(ds.pages_written, 7000);
	char *js = crit_decode(path);
	if (js) {
		assert_non_null(strstr(js, "\"pages_skipped_parent\": 6000"));
		free(js);
	}
	/* no restore part in a dump stats file */
	assert_int_equal(criu_img_read_restore_stats(path, &rs), -EPROTO);
	/* truncated file */
	f = fopen(path, "w");
	fwrite(file, 1, 12 + tl - 3, f);
	fclose(f);
	assert_int_equal(criu_img_read_dump_stats(path, &ds), -EPROTO);
	assert_int_equal(criu_img_read_dump_stats("/nonexistent", &ds), -ENOENT);
}

/* Images are read through symbolic links (a restore links them into the
 * store), but only regular files: a FIFO or a directory in an images
 * directory is refused at once, not read (a FIFO would block for ever). */
static void test_load_kinds(void **state)
{
	char img[256], link[256], fifo[256], sub[256];
	uint8_t file[12], *buf;
	size_t len;
	FILE *f;

	(void)state;
	put_le32(file, CRIU_IMG_COMMON_MAGIC);
	put_le32(file + 4, CRIU_MM_MAGIC);
	put_le32(file + 8, 0);
	snprintf(img, sizeof(img), "%s/mm-1.img", tmpdir);
	snprintf(link, sizeof(link), "%s/mm-2.img", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/mm-3.img", tmpdir);
	snprintf(sub, sizeof(sub), "%s/mm-4.img", tmpdir);
	f = fopen(img, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	assert_int_equal(symlink(img, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);

	assert_int_equal(criu_img_load(img, CRIU_MM_MAGIC, &buf, &len), 0);
	assert_int_equal(len, sizeof(file));
	free(buf);
	assert_int_equal(criu_img_load(link, CRIU_MM_MAGIC, &buf, &len), 0);
	assert_int_equal(len, sizeof(file));
	free(buf);
	assert_int_equal(criu_img_load(img, CRIU_CORE_MAGIC, &buf, &len), -EPROTO);
	assert_int_equal(criu_img_load(fifo, CRIU_MM_MAGIC, &buf, &len), -EINVAL);
	assert_int_equal(criu_img_load(sub, CRIU_MM_MAGIC, &buf, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_parent_set),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_load_kinds),
	};

	return cmocka_run_group_tests(tests, mk_tmpdir, rm_tmpdir);
}
