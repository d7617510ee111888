// SPDX-License-Identifier: GPL-2.0
/*
 * Folding a version into one that stands alone (ha_store_fold()), so that
 * retention can remove the version it builds on.
 *
 * Only the first round of an incremental version points outside it
 * (r0/parent -> ../../v-B/final); its later rounds and its final dump
 * point at its own rounds. So the folded copy is the version with r0
 * rewritten: each pid's pagemap lists every page r0 provides, all present,
 * read through r0's parents once, in address order, into a new pages file.
 * Every other file is linked (published files are never changed), links
 * are made again, and a new manifest says base 0. The copy replaces the
 * version in one renameat2(RENAME_EXCHANGE); a later version that builds
 * on this one finds the same pages under the same name (two renames
 * where the file system cannot exchange: see swap_by_two_renames()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "criu_img.h"
#include "ha_store.h"
#include "ha_store_int.h"
#include "lazy_server.h"
#include "mig.h"
#include "util.h"

#define PAGE		4096ull

/* src's pagemap-PID.img into dfd (label names it in messages): every page
 * src and its parents provide, present, in a new pages file. */
static int fold_pid(const char *src, int dfd, const char *label, uint32_t pid, char *err,
		    size_t errlen)
{
	struct criu_pmevec out = { 0 };
	struct criu_pme *own = NULL;
	struct lz_map map;
	char path[4400], name[64];
	uint32_t pages_id;
	size_t nown = 0;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/pagemap-%u.img", src, pid);
	ret = criu_img_read_pagemap(path, &pages_id, &own, &nown);
	free(own);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	ret = lz_map_load_all(src, pid, &map, err, errlen);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "pages-%u.img", pages_id);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", label, name, strerror(errno));
	for (size_t i = 0; !ret && i < map.n; i++) {
		const struct lz_ext *e = &map.v[i];

		/* copy_file_range where it can: a reflink on a file system that
		 * shares extents, an in-kernel copy elsewhere */
		ret = ferry_copy_range(e->fd, e->off, e->pages * PAGE, fd);
		if (ret)
			ferry_errf(err, errlen, ret, "copying pages of pid %u at %#llx: %s", pid,
				   (unsigned long long)e->start, strerror(-ret));
		else if (criu_pmevec_add(&out, e->start, e->pages, CRIU_PE_PRESENT))
			ret = ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	if (fd >= 0 && close(fd) && !ret)
		ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", label, name, strerror(errno));
	snprintf(name, sizeof(name), "pagemap-%u.img", pid);
	if (!ret) {
		ret = criu_img_write_pagemap_entries(dfd, name, pages_id, out.v, out.n);
		if (ret)
			ferry_errf(err, errlen, ret, "%s/%s: %s", label, name, strerror(-ret));
	}
	free(out.v);
	lz_map_free(&map);
	return ret;
}

/* Is name pagemap-N.img? N in *pid. */
static bool pagemap_name(const char *name, uint32_t *pid)
{
	uint64_t v;
	char num[16];
	size_t len = strlen(name);

	if (len <= 12 || len - 12 >= sizeof(num) || strncmp(name, "pagemap-", 8) ||
	    strcmp(name + len - 4, ".img"))
		return false;
	memcpy(num, name + 8, len - 12);
	num[len - 12] = 0;
	if (!ferry_parse_u64(num, 1, UINT32_MAX, &v))
		return false;
	*pid = (uint32_t)v;
	return true;
}

/*
 * The entries of image directory sfd (at path src; label names it in
 * messages) into the empty directory dfd: files linked, links made again.
 * With flatten, its pages and pagemaps are rewritten to stand alone and
 * its parent link is left out.
 */
static int copy_entries(int sfd, int dfd, const char *src, const char *label, bool flatten,
			char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0;
	int ret;

	ret = ha_dir_names(sfd, &names, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", src, strerror(-ret));
	for (size_t i = 0; !ret && i < n; i++) {
		const char *nm = names[i];
		struct stat sb;
		uint32_t pid;

		if (fstatat(sfd, nm, &sb, AT_SYMLINK_NOFOLLOW)) {
			ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", label, nm, strerror(errno));
		} else if (S_ISLNK(sb.st_mode)) {
			char t[256];
			ssize_t tl;

			if (flatten && !strcmp(nm, "parent"))
				continue;	/* what the pages came through */
			tl = readlinkat(sfd, nm, t, sizeof(t) - 1);
			if (tl < 0 || (t[tl] = 0, symlinkat(t, dfd, nm)))
				ret = ferry_errf(err, errlen, -errno, "link %s/%s: %s", label, nm,
						 strerror(errno));
		} else if (flatten && pagemap_name(nm, &pid)) {
			ret = fold_pid(src, dfd, label, pid, err, errlen);
		} else if (flatten && !strncmp(nm, "pages-", 6)) {
			continue;	/* rewritten with its pagemap */
		} else if (linkat(sfd, nm, dfd, nm, 0)) {
			ret = ferry_errf(err, errlen, -errno, "link %s/%s: %s", label, nm,
					 strerror(errno));
		}
	}
	ha_names_free(names, n);
	return ret;
}

/*
 * One directory of the version (sub: "r0", "final", ...) into the copy:
 * files linked, links made again; r0 made to stand alone.
 */
static int fold_dir(int vfd, int cfd, const char *vdir, const char *sub, char *err,
		    size_t errlen)
{
	int sfd, dfd = -1, ret = 0;
	char src[4300];

	if (mkdirat(cfd, sub, 0700))
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", sub, strerror(errno));
	sfd = openat(vfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	dfd = openat(cfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	snprintf(src, sizeof(src), "%s/%s", vdir, sub);
	if (sfd < 0 || dfd < 0)
		ret = ferry_errf(err, errlen, -errno, "%s: %s", src, strerror(errno));
	else
		ret = copy_entries(sfd, dfd, src, sub, !strcmp(sub, "r0"), err, errlen);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int ha_flatten_images(const char *src, const char *dst, char *err, size_t errlen)
{
	int sfd = -1, dfd = -1, ret;

	if (mkdir(dst, 0700))
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", dst, strerror(errno));
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sfd < 0 || dfd < 0)
		ret = ferry_errf(err, errlen, -errno, "%s: %s", sfd < 0 ? src : dst,
				 strerror(errno));
	else
		ret = copy_entries(sfd, dfd, src, src, true, err, errlen);
	lz_files_close();
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/*
 * Where the file system cannot exchange two names (9p, some NFS), v-N is
 * first renamed aside to .v-N.unfolded and the copy then renamed to v-N.
 * A crash between the two leaves no v-N: the next writer renames the old
 * one back (ha_store_begin()), and the fold is done again later.
 */
static int swap_by_two_renames(struct ha_store *st, uint32_t v, char *err, size_t errlen)
{
	char name[32], copy[32], aside[40], path[4300];

	snprintf(name, sizeof(name), "v-%u", v);
	snprintf(copy, sizeof(copy), ".v-%u.fold", v);
	snprintf(aside, sizeof(aside), ".v-%u.unfolded", v);
	if (renameat(st->dirfd, name, st->dirfd, aside))
		return ferry_errf(err, errlen, -errno, "rename %s -> %s: %s", name, aside,
				  strerror(errno));
	if (renameat(st->dirfd, copy, st->dirfd, name)) {
		int e = errno;

		if (renameat(st->dirfd, aside, st->dirfd, name))
			ferry_warn("%s/%s could not be renamed back (the next checkpoint does): %s",
				   st->dir, aside, strerror(errno));
		return ferry_errf(err, errlen, -e, "rename %s -> %s: %s", copy, name, strerror(e));
	}
	fsync(st->dirfd);
	snprintf(path, sizeof(path), "%s/%s", st->dir, aside);
	mig_rmtree(path);
	return 0;
}

int ha_store_fold(struct ha_store *st, uint32_t v, char *err, size_t errlen)
{
	char vdir[4200], name[32], copy[32], path[4300];
	struct ha_meta meta;
	char **names = NULL;
	int vfd = -1, cfd = -1, ret;
	size_t n = 0;

	ha_store_path(st, v, vdir, sizeof(vdir));
	/* what is folded in must be whole: a damaged base is not copied into a
	 * version that would then look complete */
	ret = ha_verify_chain(st, v, &meta, err, errlen);
	if (ret || !meta.base)
		return ret;
	snprintf(name, sizeof(name), "v-%u", v);
	snprintf(copy, sizeof(copy), ".v-%u.fold", v);
	snprintf(path, sizeof(path), "%s/%s", st->dir, copy);
	mig_rmtree(path);	/* a fold cut short before */
	if (mkdirat(st->dirfd, copy, 0700)) {
		ret = ferry_errf(err, errlen, -errno, "mkdir %s: %s", path, strerror(errno));
		goto out;
	}
	vfd = openat(st->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	cfd = openat(st->dirfd, copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (vfd < 0 || cfd < 0) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
		goto out;
	}
	ret = ha_dir_names(vfd, &names, &n);
	if (ret) {
		ferry_errf(err, errlen, ret, "%s: %s", vdir, strerror(-ret));
		goto out;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		const char *nm = names[i];
		struct stat sb;

		if (!strcmp(nm, HA_MANIFEST))
			continue;
		if (fstatat(vfd, nm, &sb, AT_SYMLINK_NOFOLLOW))
			ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", vdir, nm, strerror(errno));
		else if (S_ISDIR(sb.st_mode))
			ret = fold_dir(vfd, cfd, vdir, nm, err, errlen);
		else if (!S_ISREG(sb.st_mode))
			ret = ferry_errf(err, errlen, -EBADMSG, "%s/%s: neither a file nor a round "
					 "directory", vdir, nm);
		else if (linkat(vfd, nm, cfd, nm, 0))	/* CRIU's logs */
			ret = ferry_errf(err, errlen, -errno, "link %s/%s: %s", vdir, nm,
					 strerror(errno));
	}
	lz_files_close();
	if (ret)
		goto out;
	meta.base = 0;
	ret = ha_manifest_write(cfd, copy, &meta, err, errlen);
	if (ret)
		goto out;
	/* the folded copy becomes v-N in one step; the old one is left at the
	 * copy's name and removed (or swept by the next writer) */
	if (renameat2(st->dirfd, copy, st->dirfd, name, RENAME_EXCHANGE)) {
		ret = errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ?
		      swap_by_two_renames(st, v, err, errlen) :
		      ferry_errf(err, errlen, -errno, "exchanging %s and %s: %s", copy, name,
				 strerror(errno));
		if (ret)
			goto out;
	}
	if (fsync(st->dirfd))
		ret = ferry_errf(err, errlen, -errno, "fsync %s: %s", st->dir, strerror(errno));
out:
	ha_names_free(names, n);
	if (vfd >= 0)
		close(vfd);
	if (cfd >= 0)
		close(cfd);
	mig_rmtree(path);
	return ret;
}

/*
 * A version that builds on one being removed is folded first (made to
 * stand alone), then the old one is renamed out of the versions (a reader
 * never sees half of it) and removed.
 */
void ha_store_prune(struct ha_store *st, unsigned int keep,
		    void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2))))
{
	uint32_t *v = NULL;
	size_t n = 0;

	if (ha_store_versions(st, &v, &n))
		return;
	for (size_t i = 0; i + keep < n; i++) {
		char err[1024];
		bool held = false;

		for (size_t k = i + 1; k < n && !held; k++) {
			struct ha_meta meta;
			char vdir[4200];

			ha_store_path(st, v[k], vdir, sizeof(vdir));
			if (ha_meta_read(vdir, &meta, err, sizeof(err)) || meta.base != v[i])
				continue;
			if (ha_store_fold(st, v[k], err, sizeof(err))) {
				ferry_warn("folding version %u of %s into version %u: %s; version "
					   "%u is kept", v[i], st->dir, v[k], err, v[i]);
				held = true;
			} else {
				say("version %u folded into version %u, which now stands alone",
				    v[i], v[k]);
			}
		}
		if (held)
			break;
		if (ha_store_retire(st, v[i]))
			ferry_warn("removing version %u of %s: %s", v[i], st->dir, strerror(errno));
		else
			say("version %u removed (--keep %u)", v[i], keep);
	}
	free(v);
}
