// SPDX-License-Identifier: GPL-2.0
/*
 * The checkpoint store (ha_store.h). What must hold: a published version
 * verifies and gives back the figures it was published with; a version
 * being written is never listed as published and the next writer removes
 * it without reusing its number; one writer at a time; and any change to
 * a version (a flipped byte in a page run, a file added, removed or
 * truncated, a link moved, a manifest cut short or edited, a path that
 * leaves the version) makes it damaged, with the place named. An
 * incremental version (`ferry ha`) restores the pages of its base where
 * it has none of its own, is damaged when its base is, and once folded
 * stands alone with exactly the same pages.
 */
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
#include <gnutls/crypto.h>
#include "criu_img.h"
#include "ha_store.h"
#include "imgchain.h"
#include "lazy_server.h"
#include "mig.h"

#include "ha_fixture.h"

/* A store with version 1 published: r0 (3.5 MiB of pages), final, a log. */
/* what a test adds to the figures make_version() publishes */
static void (*meta_hook)(struct ha_meta *meta);

static void make_version(struct ha_store *st, struct ha_meta *meta)
{
	char tmp[512], d[600];
	unsigned int swept;
	uint32_t v;

	snprintf(base, sizeof(base), "/tmp/ferry-test-ha-XXXXXX");
	assert_non_null(mkdtemp(base));
	strcat(base, "/store");
	assert_int_equal(ha_store_open(st, base, true, true, tmp, sizeof(tmp)), 0);
	assert_int_equal(ha_store_begin(st, &v, &swept, tmp, sizeof(tmp), d, sizeof(d)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(swept, 0);
	snprintf(d, sizeof(d), "%s/r0", tmp);
	assert_int_equal(mkdir(d, 0700), 0);
	put_file(d, "pagemap-100.img", 200, 1);
	put_file(d, "pages-1.img", 3 * HA_CHUNK + HA_CHUNK / 2, 2);
	put_file(d, "inventory.img", 40, 3);
	snprintf(d, sizeof(d), "%s/final", tmp);
	assert_int_equal(mkdir(d, 0700), 0);
	put_file(d, "core-100.img", 900, 4);
	put_file(d, "pages-2.img", 0, 5);
	snprintf(d, sizeof(d), "%s/final/parent", tmp);
	assert_int_equal(symlink("../r0", d), 0);
	put_file(tmp, "dump.log", 77, 6);
	memset(meta, 0, sizeof(*meta));
	meta->version = 1;
	meta->created = 1764958000;
	meta->root = 100;
	meta->rounds = 3;
	meta->pages_precopied = 896;
	meta->pages_written = 12;
	meta->frozen_time = 81234;
	meta->tcp_connections = 2;
	snprintf(meta->top, sizeof(meta->top), "r0");
	if (meta_hook)
		meta_hook(meta);
	assert_int_equal(ha_store_publish(st, meta, d, sizeof(d)), 0);
}

static int verify_v1(char *err, size_t len)
{
	char v[600];

	snprintf(v, sizeof(v), "%s/v-1", base);
	return ha_verify(v, NULL, err, len);
}

static void flip(const char *rel, off_t off)
{
	char v1rel[300];

	snprintf(v1rel, sizeof(v1rel), "v-1/%s", rel);
	flip_in(v1rel, off);
}

static void test_publish_and_verify(void **state)
{
	struct ha_store st;
	struct ha_meta m, got;
	char err[512], v[600], tmp[600];
	uint32_t *vs;
	size_t n;

	(void)state;
	make_version(&st, &m);
	assert_int_equal(ha_store_versions(&st, &vs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vs[0], 1);
	free(vs);
	snprintf(tmp, sizeof(tmp), "%s/.v-1.tmp", base);
	assert_int_equal(access(tmp, F_OK), -1);
	snprintf(v, sizeof(v), "%s/v-1", base);
	assert_int_equal(ha_verify(v, &got, err, sizeof(err)), 0);
	assert_int_equal(got.version, 1);
	assert_int_equal(got.root, 100);
	assert_int_equal(got.rounds, 3);
	assert_int_equal(got.pages_precopied, 896);
	assert_int_equal(got.pages_written, 12);
	assert_int_equal(got.frozen_time, 81234);
	assert_int_equal(got.tcp_connections, 2);
	assert_int_equal(got.bytes, 200 + 3 * HA_CHUNK + HA_CHUNK / 2 + 40 + 900 + 77);
	assert_string_equal(got.top, "r0");
	cleanup(&st);
}

static void test_one_writer(void **state)
{
	struct ha_store st, other;
	struct ha_meta m;
	char err[512];

	(void)state;
	make_version(&st, &m);
	assert_int_equal(ha_store_open(&other, base, false, true, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "another ferry checkpoint"));
	ha_store_close(&other);
	/* readers need no lock */
	assert_int_equal(ha_store_open(&other, base, false, false, err, sizeof(err)), 0);
	ha_store_close(&other);
	cleanup(&st);
}

static void test_dead_writer_swept(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char tmp[512], err[512], dead[600];
	unsigned int swept;
	uint32_t v, *vs;
	size_t n;

	(void)state;
	make_version(&st, &m);
	snprintf(dead, sizeof(dead), "%s/.v-2.tmp", base);
	assert_int_equal(mkdir(dead, 0700), 0);
	put_file(dead, "half.img", 100, 9);
	assert_int_equal(ha_store_versions(&st, &vs, &n), 0);
	assert_int_equal(n, 1);	/* never listed as a version */
	free(vs);
	assert_int_equal(ha_store_incomplete(&st, &vs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vs[0], 2);
	free(vs);
	assert_int_equal(ha_store_begin(&st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)), 0);
	assert_int_equal(swept, 1);
	assert_int_equal(v, 3);	/* the dead writer's number is not reused */
	assert_int_equal(access(dead, F_OK), -1);
	ha_store_abandon(&st, v);
	assert_int_equal(access(tmp, F_OK), -1);
	cleanup(&st);
}

static void test_flipped_byte_located(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[512];

	(void)state;
	make_version(&st, &m);
	flip("r0/pages-1.img", 2 * HA_CHUNK + 5);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "r0/pages-1.img: bytes 2097152-3145728"));
	flip("r0/pages-1.img", 2 * HA_CHUNK + 5);	/* back as it was */
	assert_int_equal(verify_v1(err, sizeof(err)), 0);
	cleanup(&st);
}

static void test_files_added_removed_cut(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[512], p[600];

	(void)state;
	make_version(&st, &m);
	snprintf(p, sizeof(p), "%s/v-1/final", base);
	put_file(p, "extra.img", 10, 1);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "final/extra.img is not in the manifest"));
	snprintf(p, sizeof(p), "%s/v-1/final/extra.img", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/v-1/final/core-100.img", base);
	assert_int_equal(truncate(p, 899), 0);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "final/core-100.img has 899 bytes"));
	unlink(p);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "final/core-100.img"));
	cleanup(&st);
}

static void test_link_moved(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[512], p[600];

	(void)state;
	make_version(&st, &m);
	snprintf(p, sizeof(p), "%s/v-1/final/parent", base);
	unlink(p);
	assert_int_equal(symlink("/etc", p), 0);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "link final/parent points to /etc"));
	cleanup(&st);
}

enum seal { CUT, OLD_END, RESEAL };

/* Rewrite v-1's manifest: from replaced by to (to NULL: the character
 * after from changed); its "end" line dropped,
 * kept as it was, or recomputed. */
static void rewrite_manifest(const char *from, const char *to, enum seal seal)
{
	char path[600], *t, *e, hex[65], old_end[80];
	unsigned char d[32];
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/v-1/%s", base, HA_MANIFEST);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	t = calloc(1, (size_t)len + 256);
	assert_int_equal(fread(t, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	e = strstr(t, "\nend ");
	assert_non_null(e);
	snprintf(old_end, sizeof(old_end), "%s", e + 1);
	e[1] = 0;
	if (from && !to) {	/* the first character after from, changed */
		char *at = strstr(t, from);

		assert_non_null(at);
		at += strlen(from);
		*at = *at == '0' ? '1' : '0';
	} else if (from) {
		char *at = strstr(t, from);
		char *rest;

		assert_non_null(at);
		rest = strdup(at + strlen(from));
		strcpy(at, to);
		strcat(at, rest);
		free(rest);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(t, f);
	if (seal == OLD_END)
		fputs(old_end, f);
	if (seal == RESEAL) {
		gnutls_hash_fast(GNUTLS_DIG_SHA256, t, strlen(t), d);
		for (int i = 0; i < 32; i++)
			sprintf(hex + 2 * i, "%02x", d[i]);
		fprintf(f, "end %s\n", hex);
	}
	fclose(f);
	free(t);
}

static void test_manifest_cut_or_edited(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[512];

	(void)state;
	make_version(&st, &m);
	rewrite_manifest(NULL, NULL, CUT);	/* its end line lost */
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));
	cleanup(&st);

	make_version(&st, &m);
	rewrite_manifest("frozen_time 81234", "frozen_time 1", OLD_END);	/* edited */
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "does not match its own checksum"));
	cleanup(&st);

	/* resealed, but naming a path outside the version */
	make_version(&st, &m);
	rewrite_manifest("file dump.log", "file ../../etc/passwd", RESEAL);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "bad file line"));
	cleanup(&st);

	/* resealed, a file's checksum changed: the file no longer matches */
	make_version(&st, &m);
	rewrite_manifest("file dump.log 77 ", "file dump.log 77 0", RESEAL);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "bad file line"));	/* 65 hex digits */
	cleanup(&st);

	/* resealed, a checksum replaced by another well-formed one */
	make_version(&st, &m);
	rewrite_manifest("file dump.log 77 ", NULL, RESEAL);
	assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "dump.log differs from its checksum"));
	cleanup(&st);
}

/* Each case's figures in place of "top r0" (resealed) make the version
 * damaged, for the reason named. */
struct damaged_case {
	const char *to, *why;
};

static void expect_damaged(const struct damaged_case *c, size_t n)
{
	struct ha_store st;
	struct ha_meta m;
	char err[512];

	for (size_t i = 0; i < n; i++) {
		make_version(&st, &m);
		rewrite_manifest("top r0\n", c[i].to, RESEAL);
		assert_int_equal(verify_v1(err, sizeof(err)), -EBADMSG);
		if (!strstr(err, c[i].why))
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, c[i].why);
		cleanup(&st);
	}
}

#define CTR_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A container's version names it: ID and name read back; a malformed ID,
 * a name with a character Podman refuses, or one without the other make
 * the version damaged. */
static void test_container_fields(void **state)
{
	static const struct damaged_case bad[] = {
		{ "top r0\ncontainer 0123\ncontainer_name c1\n", "unexpected line" },
		{ "top r0\ncontainer " CTR_ID "\ncontainer_name c/1\n", "unexpected line" },
		{ "top r0\ncontainer " CTR_ID "\n", "without its ID or name" },
		{ "top r0\ncontainer_name c1\n", "without its ID or name" },
	};
	struct ha_store st;
	struct ha_meta m;
	char err[512], v[600];

	(void)state;
	make_version(&st, &m);
	rewrite_manifest("top r0\n", "top r0\ncontainer " CTR_ID "\ncontainer_name c1\n", RESEAL);
	snprintf(v, sizeof(v), "%s/v-1", base);
	assert_int_equal(ha_verify(v, &m, err, sizeof(err)), 0);
	assert_string_equal(m.container, CTR_ID);
	assert_string_equal(m.container_name, "c1");
	cleanup(&st);
	expect_damaged(bad, sizeof(bad) / sizeof(bad[0]));
}

#define RUNC_CFG "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void runc_meta(struct ha_meta *m)
{
	m->runc = true;
	snprintf(m->container_name, sizeof(m->container_name), "r1");
	snprintf(m->runc_bundle, sizeof(m->runc_bundle), "/srv/bundles/r1");
	snprintf(m->runc_config, sizeof(m->runc_config), RUNC_CFG);
}

/* A runc container's version: written and read back (engine, ID, bundle,
 * config.json's hash, no Podman ID); a bundle that is not a clean
 * absolute path, a malformed hash, another engine, a runc version missing
 * a field or naming a Podman ID, an ID longer than runc's, or runc's
 * fields on a version of another kind make it damaged. */
static void test_runc_fields(void **state)
{
	static const struct damaged_case bad[] = {
		{ "top r0\nengine docker\n", "unexpected line" },
		{ "top r0\nengine runc\ncontainer_name r1\nrunc_bundle srv/b\nrunc_config "
		  RUNC_CFG "\n", "unexpected line" },
		{ "top r0\nengine runc\ncontainer_name r1\nrunc_bundle /srv/../b\nrunc_config "
		  RUNC_CFG "\n", "unexpected line" },
		{ "top r0\nengine runc\ncontainer_name r1\nrunc_bundle /srv/b\nrunc_config "
		  "fedcba\n", "unexpected line" },
		{ "top r0\nengine runc\ncontainer_name r1\nrunc_config " RUNC_CFG "\n",
		  "a runc container's version needs" },
		{ "top r0\nengine runc\nrunc_bundle /srv/b\nrunc_config " RUNC_CFG "\n",
		  "a runc container's version needs" },
		{ "top r0\nengine runc\ncontainer " CTR_ID "\ncontainer_name r1\nrunc_bundle "
		  "/srv/b\nrunc_config " RUNC_CFG "\n", "a runc container's version needs" },
		{ "top r0\nengine runc\ncontainer_name " CTR_ID "x\nrunc_bundle /srv/b\n"
		  "runc_config " RUNC_CFG "\n", "a runc container's version needs" },
		{ "top r0\nrunc_bundle /srv/b\n", "a runc container's version needs" },
		{ "top r0\ncontainer " CTR_ID "\ncontainer_name c1\nrunc_config " RUNC_CFG "\n",
		  "a runc container's version needs" },
	};
	struct ha_store st;
	struct ha_meta m;
	char err[512], v[600];

	(void)state;
	meta_hook = runc_meta;
	make_version(&st, &m);
	meta_hook = NULL;
	snprintf(v, sizeof(v), "%s/v-1", base);
	memset(&m, 0, sizeof(m));
	assert_int_equal(ha_verify(v, &m, err, sizeof(err)), 0);
	assert_true(m.runc);
	assert_string_equal(m.container, "");
	assert_string_equal(m.container_name, "r1");
	assert_string_equal(m.runc_bundle, "/srv/bundles/r1");
	assert_string_equal(m.runc_config, RUNC_CFG);
	assert_int_equal(m.tcp_connections, 2);
	cleanup(&st);
	expect_damaged(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_path_rule(void **state)
{
	(void)state;
	assert_true(ha_path_ok("r0/pages-1.img"));
	assert_true(ha_path_ok("final/parent"));
	assert_true(ha_path_ok("dump.log"));
	assert_false(ha_path_ok(""));
	assert_false(ha_path_ok(".."));
	assert_false(ha_path_ok("../x"));
	assert_false(ha_path_ok("final/.."));
	assert_false(ha_path_ok("/etc/passwd"));
	assert_false(ha_path_ok("a/b/c"));
	assert_false(ha_path_ok("r0/a b"));
	assert_false(ha_path_ok("r0/"));
}

static void test_link_rule(void **state)
{
	(void)state;
	assert_true(ha_link_ok("final/parent", "../r3", 0));
	assert_true(ha_link_ok("r1/parent", "../r0", 7));
	assert_true(ha_link_ok("r0/parent", "../../v-7/final", 7));
	assert_false(ha_link_ok("r0/parent", "../../v-7/final", 0));
	assert_false(ha_link_ok("r0/parent", "../../v-6/final", 7));
	assert_false(ha_link_ok("r1/parent", "../../v-7/final", 7));
	assert_false(ha_link_ok("final/parent", "/etc", 0));
	assert_false(ha_link_ok("final/parent", "../../etc", 0));
	assert_false(ha_link_ok("final/parent", "../r0/x", 0));
	assert_false(ha_link_ok("final/parent", "..", 0));
}

/* 4 KiB pages whose bytes all equal the tag. */

static void test_incremental_chain(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[1024], seen[512];

	(void)state;
	make_chain(&st);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.base, 1);
	pages_seen(2, seen, sizeof(seen));
	assert_string_equal(seen, CHAIN_PAGES);
	/* a damaged base damages what builds on it */
	flip_in("v-1/r0/pages-1.img", 4096 * 3 + 5);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "builds on version 1, which is damaged"));
	assert_int_equal(ha_store_fold(&st, 2, err, sizeof(err)), -EBADMSG);
	flip_in("v-1/r0/pages-1.img", 4096 * 3 + 5);
	/* a missing one too */
	snprintf(err, sizeof(err), "%s/v-1", base);
	snprintf(seen, sizeof(seen), "%s/v-9", base);
	assert_int_equal(rename(err, seen), 0);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "version 1, which is damaged: it is missing"));
	snprintf(err, sizeof(err), "%s/v-1", base);
	assert_int_equal(rename(seen, err), 0);
	cleanup(&st);
}

static void test_fold(void **state)
{
	struct ha_store st;
	struct ha_meta m;
	char err[1024], seen[512], path[700];
	struct stat sb;

	(void)state;
	make_chain(&st);
	assert_int_equal(ha_store_fold(&st, 2, err, sizeof(err)), 0);
	assert_int_equal(ha_store_retire(&st, 1), 0);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.base, 0);
	assert_int_equal(m.version, 2);
	snprintf(path, sizeof(path), "%s/v-2/r0/parent", base);
	assert_int_equal(lstat(path, &sb), -1);
	pages_seen(2, seen, sizeof(seen));
	assert_string_equal(seen, CHAIN_PAGES);
	/* nothing left behind; folding what stands alone changes nothing */
	snprintf(path, sizeof(path), "%s/.v-2.fold", base);
	assert_int_equal(lstat(path, &sb), -1);
	assert_int_equal(ha_store_fold(&st, 2, err, sizeof(err)), 0);
	cleanup(&st);
}

/* `--export`: a final dump made to stand alone outside the store holds
 * every page the chain gives it, with no parent link, and still does once
 * the chain is gone; an existing destination is refused. */
static void test_flatten(void **state)
{
	char err[1024], seen[512], src[700], dst[700], path[800];
	struct criu_pme *e = NULL;
	struct ha_store st;
	struct stat sb;
	uint32_t id;
	size_t n = 0;

	(void)state;
	make_chain(&st);
	snprintf(src, sizeof(src), "%s/v-2/final", base);
	snprintf(dst, sizeof(dst), "%s/../flat", base);
	put_file(src, "core-100.img", 300, 7);	/* not pages: linked as it is */
	assert_int_equal(ha_flatten_images(src, dst, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/parent", dst);
	assert_int_equal(lstat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/core-100.img", dst);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 300);
	snprintf(path, sizeof(path), "%s/pagemap-100.img", dst);
	assert_int_equal(criu_img_read_pagemap(path, &id, &e, &n), 0);
	assert_int_equal(id, 9);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].flags, CRIU_PE_PRESENT);
	free(e);
	pages_seen_in(dst, seen, sizeof(seen));
	assert_string_equal(seen, CHAIN_PAGES);
	assert_int_equal(ha_store_retire(&st, 2), 0);
	assert_int_equal(ha_store_retire(&st, 1), 0);
	pages_seen_in(dst, seen, sizeof(seen));
	assert_string_equal(seen, CHAIN_PAGES);
	assert_int_equal(ha_flatten_images(dst, dst, err, sizeof(err)), -EEXIST);
	mig_rmtree(dst);
	cleanup(&st);
}

/* A fold by two renames (no RENAME_EXCHANGE) cut short between them: the
 * next writer puts the old version back; once done, the aside is removed. */
static void test_fold_cut_short(void **state)
{
	char err[1024], a[700], b[700], tmp[700];
	struct ha_store st;
	struct ha_meta m;
	unsigned int swept;
	struct stat sb;
	uint32_t v;

	(void)state;
	make_chain(&st);
	snprintf(a, sizeof(a), "%s/v-2", base);
	snprintf(b, sizeof(b), "%s/.v-2.unfolded", base);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), -EBADMSG);
	assert_int_equal(ha_store_begin(&st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)), 0);
	assert_int_equal(v, 3);
	ha_store_abandon(&st, v);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.base, 1);
	assert_int_equal(lstat(b, &sb), -1);
	/* the second rename happened: the aside is only removed */
	assert_int_equal(ha_store_fold(&st, 2, err, sizeof(err)), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_int_equal(ha_store_begin(&st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)), 0);
	ha_store_abandon(&st, v);
	assert_int_equal(lstat(b, &sb), -1);
	assert_int_equal(ha_verify_chain(&st, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.base, 0);
	cleanup(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_and_verify),
		cmocka_unit_test(test_one_writer),
		cmocka_unit_test(test_dead_writer_swept),
		cmocka_unit_test(test_flipped_byte_located),
		cmocka_unit_test(test_files_added_removed_cut),
		cmocka_unit_test(test_link_moved),
		cmocka_unit_test(test_manifest_cut_or_edited),
		cmocka_unit_test(test_container_fields),
		cmocka_unit_test(test_runc_fields),
		cmocka_unit_test(test_path_rule),
		cmocka_unit_test(test_link_rule),
		cmocka_unit_test(test_incremental_chain),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_fold_cut_short),
		cmocka_unit_test(test_flatten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
