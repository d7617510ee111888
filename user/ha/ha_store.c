// SPDX-License-Identifier: GPL-2.0
/* The checkpoint store (ha_store.h): its versions, writers and retention. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "ha_store.h"
#include "ha_store_int.h"
#include "mig.h"
#include "util.h"

bool ha_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool ha_name_ok(const char *s, size_t len)
{
	if (!len || len > 200 || (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.'))))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ha_name_char(s[i]))
			return false;
	return true;
}

bool ha_chain_name_ok(const char *s)
{
	size_t len = strlen(s);

	return len <= HA_CHAIN_MAX && s[0] != '.' && ha_name_ok(s, len);
}

bool ha_path_ok(const char *path)
{
	const char *slash = strchr(path, '/');

	if (!slash)
		return ha_name_ok(path, strlen(path));
	if (strchr(slash + 1, '/'))
		return false;	/* one level of directories: rN/, final/ */
	return ha_name_ok(path, (size_t)(slash - path)) && ha_name_ok(slash + 1, strlen(slash + 1));
}

bool ha_link_ok(const char *path, const char *target, uint32_t base)
{
	char want[40];

	if (!strncmp(target, "../", 3) && ha_path_ok(target + 3) && !strchr(target + 3, '/'))
		return true;
	if (!base || strcmp(path, "r0/parent"))
		return false;
	snprintf(want, sizeof(want), "../../v-%u/final", base);
	return !strcmp(target, want);
}

int ha_store_open(struct ha_store *st, const char *dir, bool create, bool lock, char *err,
		  size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->dirfd = st->lockfd = -1;
	if (strlen(dir) >= sizeof(st->dir) - 32)
		return ferry_errf(err, errlen, -ENAMETOOLONG, "%s: name too long", dir);
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", dir, strerror(errno));
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	if (!lock)
		return 0;
	st->lockfd = openat(st->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->lockfd < 0)
		return ferry_errf(err, errlen, -errno, "%s/.lock: %s", dir, strerror(errno));
	if (flock(st->lockfd, LOCK_EX | LOCK_NB))
		return ferry_errf(err, errlen, errno == EWOULDBLOCK ? -EBUSY : -errno,
			    "%s: another ferry checkpoint is writing to it", dir);
	return 0;
}

void ha_store_close(struct ha_store *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->lockfd = st->dirfd = -1;
}

void ha_store_path(const struct ha_store *st, uint32_t v, char *out, size_t len)
{
	snprintf(out, len, "%s/v-%u", st->dir, v);
}


/* Version numbers of entries named prefix N suffix, ascending. */
static int list_numbered(struct ha_store *st, const char *prefix, const char *suffix,
			 uint32_t **v, size_t *n)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), nn;
	char **names;
	int ret = ha_dir_names(st->dirfd, &names, &nn);

	*v = NULL;
	*n = 0;
	if (ret)
		return ret;
	*v = malloc((nn ? nn : 1) * sizeof(**v));
	if (!*v) {
		ha_names_free(names, nn);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		size_t len = strlen(names[i]);
		char num[16];
		uint64_t x;

		if (len <= pl + sl || len - pl - sl >= sizeof(num) ||
		    strncmp(names[i], prefix, pl) || strcmp(names[i] + len - sl, suffix))
			continue;
		memcpy(num, names[i] + pl, len - pl - sl);
		num[len - pl - sl] = 0;
		if (num[0] != '0' && ferry_parse_u64(num, 1, UINT32_MAX, &x))
			(*v)[(*n)++] = (uint32_t)x;
	}
	ha_names_free(names, nn);
	if (*n)
		qsort(*v, *n, sizeof(**v), ferry_cmp_u32);
	return 0;
}

int ha_store_versions(struct ha_store *st, uint32_t **v, size_t *n)
{
	return list_numbered(st, "v-", "", v, n);
}

int ha_store_incomplete(struct ha_store *st, uint32_t **v, size_t *n)
{
	return list_numbered(st, ".v-", ".tmp", v, n);
}

void ha_store_abandon(struct ha_store *st, uint32_t version)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/.v-%u.tmp", st->dir, version);
	mig_rmtree(path);
}

int ha_store_retire(struct ha_store *st, uint32_t version)
{
	char from[32], to[32], path[4200];

	snprintf(from, sizeof(from), "v-%u", version);
	snprintf(to, sizeof(to), ".v-%u.del", version);
	if (renameat(st->dirfd, from, st->dirfd, to))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", st->dir, to);
	return mig_rmtree(path) ? -1 : 0;
}

/*
 * What dead writers left: their .tmp versions (*swept counts them; *next
 * goes past their numbers), folds and removals cut short. Then *next is
 * past every published version too.
 */
static int sweep(struct ha_store *st, uint32_t *next_out, unsigned int *swept, char *err,
		 size_t errlen)
{
	uint32_t *v = NULL, next = 1;
	size_t n = 0;
	int ret;

	*swept = 0;
	/* only the lock's holder gets here: a .tmp is a dead writer's */
	ret = ha_store_incomplete(st, &v, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", st->dir, strerror(-ret));
	for (size_t i = 0; i < n; i++) {
		ha_store_abandon(st, v[i]);
		if (v[i] >= next)
			next = v[i] + 1;	/* its number is never reused */
		(*swept)++;
	}
	free(v);
	/* a fold by two renames cut short between them (ha_fold.c): the old
	 * version goes back under its name */
	if (!list_numbered(st, ".v-", ".unfolded", &v, &n)) {
		for (size_t i = 0; i < n; i++) {
			char aside[40], name[32], path[4200];

			snprintf(aside, sizeof(aside), ".v-%u.unfolded", v[i]);
			snprintf(name, sizeof(name), "v-%u", v[i]);
			if (!renameat(st->dirfd, aside, st->dirfd, name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", st->dir, aside);
			if (errno == EEXIST || errno == ENOTEMPTY)	/* the fold went through */
				mig_rmtree(path);
		}
		free(v);
	}
	/* a removal cut short by a crash: it was no longer a version; a fold
	 * cut short: either the new copy before the exchange or the old one
	 * after it, and v-N is whole either way */
	for (int k = 0; k < 2; k++) {
		const char *suffix = k ? ".fold" : ".del";

		if (list_numbered(st, ".v-", suffix, &v, &n))
			continue;
		for (size_t i = 0; i < n; i++) {
			char path[4200];

			snprintf(path, sizeof(path), "%s/.v-%u%s", st->dir, v[i], suffix);
			mig_rmtree(path);
		}
		free(v);
	}
	ret = ha_store_versions(st, &v, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", st->dir, strerror(-ret));
	if (n && v[n - 1] >= next)
		next = v[n - 1] + 1;
	free(v);
	if (!next)
		return ferry_errf(err, errlen, -EOVERFLOW, "%s: no version number left", st->dir);
	*next_out = next;
	return 0;
}

int ha_store_begin(struct ha_store *st, uint32_t *version, unsigned int *swept, char *tmp,
		   size_t tmplen, char *err, size_t errlen)
{
	uint32_t next;
	int ret;

	ret = sweep(st, &next, swept, err, errlen);
	if (ret)
		return ret;
	*version = next;
	snprintf(tmp, tmplen, "%s/.v-%u.tmp", st->dir, next);
	if (mkdir(tmp, 0700))
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

int ha_store_begin_at(struct ha_store *st, uint32_t version, char *tmp, size_t tmplen, char *err,
		      size_t errlen)
{
	uint32_t *v = NULL;
	unsigned int swept;
	uint32_t next;
	size_t n = 0;
	int ret;

	/* a dead session's .tmp of this same version may go: the number is
	 * the sender's, and it sends the version again whole */
	ret = sweep(st, &next, &swept, err, errlen);
	if (ret)
		return ret;
	ret = ha_store_versions(st, &v, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", st->dir, strerror(-ret));
	if (n && v[n - 1] >= version) {
		ret = ferry_errf(err, errlen, -EEXIST, "%s already holds version %u, newer than "
				 "or the same as version %u", st->dir, v[n - 1], version);
		free(v);
		return ret;
	}
	free(v);
	snprintf(tmp, tmplen, "%s/.v-%u.tmp", st->dir, version);
	if (mkdir(tmp, 0700))
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

/* ---- directory listings ---- */

/* Sorted names in dir (malloc'ed, each too), "." and ".." left out. */
int ha_dir_names(int dirfd, char ***names, size_t *n)
{
	return ferry_dir_names(dirfd, HA_MAX_ENTRIES, names, n);
}

void ha_names_free(char **names, size_t n)
{
	ferry_names_free(names, n);
}

/* One entry of the version into the manifest text; dirs recurse once. */
