/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checkpoint stores for the unit tests (test_ha_store.c, test_ha_ship.c):
 * files of known content, and a chain of two versions whose pages are
 * known page by page.
 */
#ifndef FERRY_TEST_HA_FIXTURE_H
#define FERRY_TEST_HA_FIXTURE_H

static char base[256];

static void put_file(const char *dir, const char *name, size_t len, unsigned int seed)
{
	char path[1024];
	unsigned char *b = malloc(len ? len : 1);
	int fd;

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
	free(b);
}

static void *pages_of(int tag, size_t n)
{
	unsigned char *b = malloc(n * 4096);

	assert_non_null(b);
	memset(b, tag, n * 4096);
	return b;
}

/* A final dump: pagemap-100 with e[] (data for the present ones: tags). */
static void put_final(const char *vtmp, const struct criu_pme *e, size_t n, const int *tags)
{
	char d[700];
	int dfd, fd;

	snprintf(d, sizeof(d), "%s/final", vtmp);
	assert_int_equal(mkdir(d, 0700), 0);
	dfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(criu_img_write_pagemap_entries(dfd, "pagemap-100.img", 9, e, n), 0);
	fd = openat(dfd, "pages-9.img", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++) {
		if (!(e[i].flags & CRIU_PE_PRESENT))
			continue;
		void *b = pages_of(tags[i], e[i].nr_pages);

		assert_int_equal(write(fd, b, e[i].nr_pages * 4096), (ssize_t)(e[i].nr_pages * 4096));
		free(b);
	}
	close(fd);
	assert_int_equal(symlinkat("../r0", dfd, "parent"), 0);
	close(dfd);
}

/* The tag of every page a restore from image directory dir would get, in
 * order. */
static void pages_seen_in(const char *dir, char *out, size_t len)
{
	char err[512];
	unsigned char c;
	struct lz_map m;
	size_t k = 0;

	out[0] = 0;
	assert_int_equal(lz_map_load_all(dir, 100, &m, err, sizeof(err)), 0);
	for (size_t i = 0; i < m.n; i++)
		for (uint64_t p = 0; p < m.v[i].pages && k + 8 < len; p++) {
			assert_int_equal(pread(m.v[i].fd, &c, 1, (off_t)(m.v[i].off + p * 4096)), 1);
			k += (size_t)snprintf(out + k, len - k, "%llx:%c ",
					      (unsigned long long)((m.v[i].start >> 12) + p), c);
		}
	lz_map_free(&m);
	lz_files_close();
}

/* The same for a restore of version v. */
static void pages_seen(uint32_t v, char *out, size_t len)
{
	char dir[700];

	snprintf(dir, sizeof(dir), "%s/v-%u/final", base, v);
	pages_seen_in(dir, out, len);
}

/*
 * v-1 stands alone: r0 holds 0x10-0x13 ('a') and 0x20-0x21 ('b'); its
 * final rewrote 0x10-0x11 ('x'). v-2 builds on it: its r0 holds 0x12
 * ('y') and names the rest as the base's; its final rewrote 0x20 ('z').
 */
static void make_chain(struct ha_store *st)
{
	static const struct criu_pme f1[] = {
		{ 0x10000, 2, CRIU_PE_PRESENT }, { 0x12000, 2, CRIU_PE_PARENT },
		{ 0x20000, 2, CRIU_PE_PARENT },
	};
	static const struct criu_pme f2[] = {
		{ 0x10000, 4, CRIU_PE_PARENT }, { 0x20000, 1, CRIU_PE_PRESENT },
		{ 0x21000, 1, CRIU_PE_PARENT },
	};
	static const int t1[] = { 'x', 0, 0 }, t2[] = { 0, 'z', 0 };
	char tmp[512], err[512];
	struct ha_meta meta = { 0 };
	struct imgchain *c;
	struct criu_pme *e;
	unsigned int swept;
	uint32_t v, pid;
	size_t n;
	void *b;

	snprintf(base, sizeof(base), "/tmp/ferry-test-ha-XXXXXX");
	assert_non_null(mkdtemp(base));
	strcat(base, "/store");
	assert_int_equal(ha_store_open(st, base, true, true, err, sizeof(err)), 0);

	assert_int_equal(ha_store_begin(st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)), 0);
	assert_int_equal(imgchain_open(&c, tmp, err, sizeof(err)), 0);
	b = pages_of('a', 4);
	assert_int_equal(imgchain_put(c, 100, 0x10000, 4, b), 0);
	free(b);
	b = pages_of('b', 2);
	assert_int_equal(imgchain_put(c, 100, 0x20000, 2, b), 0);
	free(b);
	assert_int_equal(imgchain_end_round(c, false), 0);
	imgchain_close(c);
	put_final(tmp, f1, 3, t1);
	meta.version = v;
	snprintf(meta.top, sizeof(meta.top), "r0");
	assert_int_equal(ha_store_publish(st, &meta, err, sizeof(err)), 0);

	assert_int_equal(ha_store_begin(st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)), 0);
	assert_int_equal(v, 2);
	assert_int_equal(imgchain_open(&c, tmp, err, sizeof(err)), 0);
	assert_int_equal(imgchain_set_base(c, "../../v-1/final"), 0);
	snprintf(err, sizeof(err), "%s/v-1/final/pagemap-100.img", base);
	assert_int_equal(criu_img_read_pagemap(err, &pid, &e, &n), 0);
	assert_int_equal(imgchain_base_cover(c, 100, e, n), 0);
	free(e);
	b = pages_of('y', 1);
	assert_int_equal(imgchain_put(c, 100, 0x12000, 1, b), 0);
	free(b);
	assert_int_equal(imgchain_end_round(c, false), 0);
	imgchain_close(c);
	put_final(tmp, f2, 3, t2);
	put_file(tmp, "dump.log", 77, 6);
	memset(&meta, 0, sizeof(meta));
	meta.version = v;
	meta.base = 1;
	snprintf(meta.top, sizeof(meta.top), "r0");
	assert_int_equal(ha_store_publish(st, &meta, err, sizeof(err)), 0);
}

#define CHAIN_PAGES "10:x 11:x 12:y 13:a 20:z 21:b "

static void cleanup(struct ha_store *st)
{
	char top[300];

	ha_store_close(st);
	snprintf(top, sizeof(top), "%s", base);
	*strrchr(top, '/') = 0;
	mig_rmtree(top);
}

/* Flip one bit of byte off of the store's file rel. */
static void flip_in(const char *rel, off_t off)
{
	char path[600];
	unsigned char c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

#endif
