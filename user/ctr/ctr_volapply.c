// SPDX-License-Identifier: GPL-2.0
/*
 * The destination's side of a volume's copy (ctr_volsync.h): each entry the
 * source sends is made beneath the volume's root, through no link, within
 * the bounds its phase announced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ctr_volsync.h"
#include "util.h"

void vs_apply_init(struct vs_apply *a, int rootfd)
{
	memset(a, 0, sizeof(*a));
	a->rootfd = rootfd;
}

static void free_dirs(struct vs_apply *a)
{
	for (size_t i = 0; i < a->ndirs; i++)
		free(a->dirs[i].path);
	a->ndirs = 0;
}

void vs_apply_free(struct vs_apply *a)
{
	free_dirs(a);
	free(a->dirs);
	if (a->rootfd >= 0)
		close(a->rootfd);
	memset(a, 0, sizeof(*a));
	a->rootfd = -1;
}

/*
 * The directory that holds path, open (O_PATH), and its last component in
 * *leaf: the root itself for a path of one component.
 */
static int parent_of(struct vs_apply *a, const char *path, const char **leaf, char *err,
		     size_t errlen)
{
	char dir[WIRE_VOL_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		*leaf = path;
		fd = dup(a->rootfd);
		return fd < 0 ? ferry_errf(err, errlen, -errno, "dup: %s", strerror(errno)) : fd;
	}
	*leaf = slash + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = vs_open_beneath(a->rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return ferry_errf(err, errlen, fd, "volume entry %s: its directory: %s", path,
				  fd == -ELOOP || fd == -EXDEV ? "not a directory beneath the volume"
							       : strerror(-fd));
	return fd;
}

/* rm -r of name in the directory dfd, never following a link. */
static int remove_at(int dfd, const char *name, int depth)
{
	char **names = NULL;
	struct stat st;
	size_t n = 0;
	int fd, ret;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) && errno != ENOENT ? -errno : 0;
	if (depth > VS_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ferry_dir_names(fd, WIRE_VOL_MAX_ENTRIES, &names, &n);
	for (size_t i = 0; !ret && i < n; i++)
		ret = remove_at(fd, names[i], depth + 1);
	ferry_names_free(names, n);
	close(fd);
	if (!ret && unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT)
		ret = -errno;
	return ret;
}

/* mtime (atime untouched) of dfd/name, or of the open file dfd when name
 * is NULL; a negative mtime (before 1970) is left as it is */
static int set_times(int dfd, const char *name, int64_t mtime_ns, int flags)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = mtime_ns / 1000000000, .tv_nsec = mtime_ns % 1000000000 },
	};

	if (mtime_ns < 0)
		return 0;
	if (!name)
		return futimens(dfd, ts) ? -errno : 0;
	return utimensat(dfd, name, ts, flags) ? -errno : 0;
}

/* One more entry of the phase: within what BEGIN announced? */
static int charge(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen)
{
	if (!a->begun)
		return ferry_errf(err, errlen, -EPROTO, "a VOLUME entry before its BEGIN");
	if (!a->entries_left)
		return ferry_errf(err, errlen, -EPROTO, "more VOLUME entries than announced");
	if (v->op == WIRE_VOL_FILE && v->size > a->bytes_left)
		return ferry_errf(err, errlen, -EPROTO, "volume file %s: more bytes than announced",
				  v->path);
	a->entries_left--;
	if (v->op == WIRE_VOL_FILE)
		a->bytes_left -= v->size;
	return 0;
}

static int make_dir(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen)
{
	struct vs_dir_time *dt;
	const char *leaf;
	struct stat st;
	int pfd, fd, ret = 0;

	if (strcmp(v->path, ".")) {
		pfd = parent_of(a, v->path, &leaf, err, errlen);
		if (pfd < 0)
			return pfd;
		if (!fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) && !S_ISDIR(st.st_mode))
			ret = remove_at(pfd, leaf, 0);
		if (!ret && mkdirat(pfd, leaf, 0700) && errno != EEXIST)
			ret = -errno;
		fd = ret ? ret : openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (!ret && fd < 0)
			ret = -errno;
		close(pfd);
	} else {
		fd = dup(a->rootfd);
		if (fd < 0)
			ret = -errno;
	}
	if (!ret && (fchown(fd, v->uid, v->gid) || fchmod(fd, v->mode)))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		return ferry_errf(err, errlen, ret, "volume directory %s: %s", v->path,
				  strerror(-ret));
	/* its mtime once its entries are in (vs_apply END) */
	if (a->ndirs == a->capdirs) {
		size_t cap = a->capdirs ? 2 * a->capdirs : 64;

		dt = realloc(a->dirs, cap * sizeof(*dt));
		if (!dt)
			return ferry_errf(err, errlen, -ENOMEM, "out of memory");
		a->dirs = dt;
		a->capdirs = cap;
	}
	dt = &a->dirs[a->ndirs];
	dt->mtime_ns = (int64_t)v->mtime_ns;
	dt->path = strdup(v->path);
	if (!dt->path)
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	a->ndirs++;
	return 0;
}

static int make_link(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen)
{
	const char *leaf;
	int pfd, ret;

	pfd = parent_of(a, v->path, &leaf, err, errlen);
	if (pfd < 0)
		return pfd;
	ret = remove_at(pfd, leaf, 0);
	if (!ret && symlinkat(v->target, pfd, leaf))
		ret = -errno;
	if (!ret && fchownat(pfd, leaf, v->uid, v->gid, AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	if (!ret)
		ret = set_times(pfd, leaf, (int64_t)v->mtime_ns, AT_SYMLINK_NOFOLLOW);
	close(pfd);
	return ret ? ferry_errf(err, errlen, ret, "volume link %s: %s", v->path, strerror(-ret))
		   : 0;
}

static int end_phase(struct vs_apply *a, char *err, size_t errlen)
{
	int ret = 0;

	/* children's changes moved their directories' mtimes: deepest
	 * (last sent) first */
	for (size_t i = a->ndirs; !ret && i-- > 0;) {
		const struct vs_dir_time *dt = &a->dirs[i];
		const char *leaf = ".";
		int pfd = strcmp(dt->path, ".") ? parent_of(a, dt->path, &leaf, err, errlen)
						: dup(a->rootfd);

		if (pfd < 0)
			return pfd;
		ret = set_times(pfd, leaf, dt->mtime_ns, AT_SYMLINK_NOFOLLOW);
		close(pfd);
		if (ret)
			ferry_errf(err, errlen, ret, "volume directory %s: %s", dt->path,
				   strerror(-ret));
	}
	free_dirs(a);
	if (!ret && syncfs(a->rootfd))
		ret = ferry_errf(err, errlen, -errno, "syncfs of the volume: %s", strerror(errno));
	if (!ret && a->entries_left)
		ret = ferry_errf(err, errlen, -EPROTO, "VOLUME END with %llu announced entries "
				 "missing", (unsigned long long)a->entries_left);
	a->phases_done |= 1u << a->phase;
	a->begun = false;
	return ret;
}

int vs_apply(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen)
{
	const char *leaf;
	int pfd, ret;

	if (v->op == WIRE_VOL_BEGIN) {
		if (a->begun || (a->phases_done >> v->phase) ||
		    (v->phase == WIRE_VOL_FINAL && !(a->phases_done & 1)))
			return ferry_errf(err, errlen, -EPROTO, "VOLUME BEGIN of phase %u out of "
					  "order", v->phase);
		a->begun = true;
		a->phase = v->phase;
		a->bytes_left = v->bytes;
		a->entries_left = v->entries;
		return 0;
	}
	if (v->op == WIRE_VOL_END) {
		if (!a->begun)
			return ferry_errf(err, errlen, -EPROTO, "VOLUME END before its BEGIN");
		return end_phase(a, err, errlen);
	}
	if (v->op == WIRE_VOL_FILE)
		return ferry_errf(err, errlen, -EPROTO, "VOLUME FILE without its body");
	ret = charge(a, v, err, errlen);
	if (ret)
		return ret;
	switch (v->op) {
	case WIRE_VOL_DIR:
		return make_dir(a, v, err, errlen);
	case WIRE_VOL_LINK:
		return make_link(a, v, err, errlen);
	case WIRE_VOL_DEL:
		pfd = parent_of(a, v->path, &leaf, err, errlen);
		if (pfd == -ENOENT)	/* its directory went before it */
			return 0;
		if (pfd < 0)
			return pfd;
		ret = remove_at(pfd, leaf, 0);
		close(pfd);
		a->deleted++;
		return ret ? ferry_errf(err, errlen, ret, "removing %s from the volume: %s",
					v->path, strerror(-ret)) : 0;
	default:
		return ferry_errf(err, errlen, -EPROTO, "VOLUME frame of unknown op %u", v->op);
	}
}

int vs_apply_file(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen)
{
	const char *leaf;
	struct stat st;
	int pfd, fd, ret;

	ret = charge(a, v, err, errlen);
	if (ret)
		return ret;
	pfd = parent_of(a, v->path, &leaf, err, errlen);
	if (pfd < 0)
		return pfd;
	ret = 0;
	/* not through a link, and not into a file another name shares */
	if (!fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) &&
	    (!S_ISREG(st.st_mode) || st.st_nlink > 1))
		ret = remove_at(pfd, leaf, 0);
	fd = ret ? ret : openat(pfd, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
				0600);
	if (!ret && fd < 0)
		ret = -errno;
	close(pfd);
	if (ret)
		return ferry_errf(err, errlen, ret, "volume file %s: %s", v->path, strerror(-ret));
	return fd;
}

int vs_apply_file_done(struct vs_apply *a, const struct wire_vol *v, int fd, char *err,
		       size_t errlen)
{
	int ret = 0;

	/* owner before mode: a chown drops set-user-ID bits */
	if (fchown(fd, v->uid, v->gid) || fchmod(fd, v->mode))
		ret = -errno;
	if (!ret)
		ret = set_times(fd, NULL, (int64_t)v->mtime_ns, 0);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		return ferry_errf(err, errlen, ret, "volume file %s: %s", v->path, strerror(-ret));
	a->files++;
	a->bytes += v->size;
	return 0;
}
