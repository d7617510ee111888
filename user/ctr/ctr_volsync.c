// SPDX-License-Identifier: GPL-2.0
/* The source's side of a volume's copy: walk, compare, send (ctr_volsync.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "ctr_volsync.h"
#include "util.h"
#include "wire.h"

int vs_open_beneath(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(t);
}

void vs_tree_free(struct vs_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].target);
	}
	free(t->v);
	free(t->byname);
	memset(t, 0, sizeof(*t));
}

/* Append one entry for path (its lstat in st); a link's target read at dfd/name. */
static int add(struct vs_tree *t, const char *path, const struct stat *st, int dfd,
	       const char *name)
{
	struct vs_entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct vs_entry *v;

		if (cap > WIRE_VOL_MAX_ENTRIES)
			return -E2BIG;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->type = S_ISDIR(st->st_mode) ? VS_DIR : S_ISREG(st->st_mode) ? VS_FILE : VS_LINK;
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = e->type == VS_FILE ? (uint64_t)st->st_size : 0;
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->mtime_ns = ts_ns(st->st_mtim);
	e->ctime_ns = ts_ns(st->st_ctim);
	e->seen_ns = realtime_ns();
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	if (e->type == VS_LINK) {
		char buf[WIRE_VOL_PATH_MAX];
		ssize_t n = readlinkat(dfd, name, buf, sizeof(buf));

		if (n <= 0 || n >= (ssize_t)sizeof(buf)) {
			free(e->path);
			return n < 0 ? -errno : -ENAMETOOLONG;
		}
		buf[n] = 0;
		e->target = strdup(buf);
		if (!e->target) {
			free(e->path);
			return -ENOMEM;
		}
	}
	if (e->type == VS_FILE) {
		t->bytes += e->size;
		if (st->st_nlink > 1)
			t->hardlinked++;
	}
	t->n++;
	return 0;
}

/* The entries of the directory dfd (path), children in name order. */
static int walk_dir(struct vs_tree *t, int dfd, const char *path, int depth, char *err,
		    size_t errlen)
{
	char **names = NULL;
	size_t n = 0;
	int ret;

	if (depth > VS_MAX_DEPTH)
		return ferry_errf(err, errlen, -ELOOP, "%s: more than %d directories deep", path,
				  VS_MAX_DEPTH);
	ret = ferry_dir_names(dfd, WIRE_VOL_MAX_ENTRIES, &names, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	for (size_t i = 0; !ret && i < n; i++) {
		char sub[WIRE_VOL_PATH_MAX];
		struct stat st;
		int cfd;

		if (snprintf(sub, sizeof(sub), "%s%s%s", strcmp(path, ".") ? path : "",
			     strcmp(path, ".") ? "/" : "", names[i]) >= (int)sizeof(sub)) {
			ret = ferry_errf(err, errlen, -ENAMETOOLONG, "a path of %d bytes or more in "
					 "%s", WIRE_VOL_PATH_MAX, path);
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno == ENOENT)	/* gone meanwhile: the final walk sees */
				continue;
			ret = ferry_errf(err, errlen, -errno, "%s: %s", sub, strerror(errno));
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			t->special++;
			continue;
		}
		if (st.st_dev != t->v[0].dev)	/* another file system mounted here */
			continue;
		ret = add(t, sub, &st, dfd, names[i]);
		if (ret == -ENOENT)	/* a link that went */
			ret = 0;
		else if (ret)
			ferry_errf(err, errlen, ret, "%s: %s", sub, strerror(-ret));
		if (ret || !S_ISDIR(st.st_mode))
			continue;
		cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
				continue;	/* replaced meanwhile */
			ret = ferry_errf(err, errlen, -errno, "%s: %s", sub, strerror(errno));
			break;
		}
		ret = walk_dir(t, cfd, sub, depth + 1, err, errlen);
		close(cfd);
	}
	ferry_names_free(names, n);
	return ret;
}

static const struct vs_tree *sort_tree;

static int idx_cmp(const void *a, const void *b)
{
	return strcmp(sort_tree->v[*(const size_t *)a].path, sort_tree->v[*(const size_t *)b].path);
}

int vs_walk(int rootfd, struct vs_tree *t, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	memset(t, 0, sizeof(*t));
	if (fstat(rootfd, &st))
		return ferry_errf(err, errlen, -errno, "the volume's root: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ferry_errf(err, errlen, -ENOTDIR, "the volume's root is not a directory");
	ret = add(t, ".", &st, rootfd, ".");
	if (!ret)
		ret = walk_dir(t, rootfd, ".", 0, err, errlen);
	if (!ret && !(t->byname = malloc(t->n * sizeof(*t->byname))))
		ret = -ENOMEM;
	if (ret) {
		if (ret == -ENOMEM)
			ferry_errf(err, errlen, ret, "out of memory");
		vs_tree_free(t);
		return ret;
	}
	for (size_t i = 0; i < t->n; i++)
		t->byname[i] = i;
	sort_tree = t;
	qsort(t->byname, t->n, sizeof(*t->byname), idx_cmp);
	sort_tree = NULL;
	return 0;
}

struct vs_entry *vs_find(const struct vs_tree *t, const char *path)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->v[t->byname[mid]].path, path);

		if (!c)
			return &t->v[t->byname[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool vs_changed(const struct vs_entry *b, const struct vs_entry *e)
{
	if (e->type == VS_DIR)
		return true;
	if (!b || b->dirty || b->type != e->type || b->ino != e->ino || b->size != e->size ||
	    b->mtime_ns != e->mtime_ns || b->ctime_ns != e->ctime_ns || b->mode != e->mode ||
	    b->uid != e->uid || b->gid != e->gid)
		return true;
	if (e->type == VS_LINK && strcmp(b->target, e->target))
		return true;
	/* changed so shortly before it was read that a later write may
	 * have left its times as they were */
	return b->ctime_ns + (int64_t)VS_RACY_NS > b->seen_ns;
}

/* A pre-copied entry whose path now holds something else goes first. */
static bool gone(const struct vs_entry *b, const struct vs_tree *now)
{
	const struct vs_entry *e = vs_find(now, b->path);

	return !e || e->type != b->type || (e->type == VS_DIR && e->ino != b->ino);
}

static void entry_msg(const struct vs_entry *e, uint8_t vol, struct wire_vol *w)
{
	memset(w, 0, sizeof(*w));
	w->vol = vol;
	w->op = e->type == VS_DIR ? WIRE_VOL_DIR : e->type == VS_FILE ? WIRE_VOL_FILE
								       : WIRE_VOL_LINK;
	snprintf(w->path, sizeof(w->path), "%s", e->path);
	if (e->target)
		snprintf(w->target, sizeof(w->target), "%s", e->target);
	w->mode = e->mode;
	w->uid = e->uid;
	w->gid = e->gid;
	w->mtime_ns = (uint64_t)e->mtime_ns;
	w->size = e->size;
}

/* A file's body: e->size bytes, whatever it holds by now. 1 when it changed
 * since the walk (read again later, or an error when final). */
static int send_file(struct wire_conn *c, int rootfd, struct vs_entry *e, char *err,
		     size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = vs_open_beneath(rootfd, e->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		/* gone or replaced since the walk: an empty body holds its
		 * place, and the entry counts as changed */
		if (fd >= 0)
			close(fd);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ferry_errf(err, errlen, -errno, "/dev/null: %s", strerror(errno));
		ret = wire_send_file_body_live(c, e->path, fd, e->size);
		close(fd);
		return ret < 0 ? ferry_errf(err, errlen, ret, "%s", c->err) : 1;
	}
	ret = wire_send_file_body_live(c, e->path, fd, e->size);
	if (ret >= 0 && (st.st_ino != e->ino || ts_ns(st.st_ctim) != e->ctime_ns ||
			 (uint64_t)st.st_size != e->size))
		ret = 1;
	/* written while it was read? */
	if (ret == 0 && (fstat(fd, &st) || ts_ns(st.st_ctim) != e->ctime_ns))
		ret = 1;
	close(fd);
	return ret < 0 ? ferry_errf(err, errlen, ret, "%s", c->err) : ret;
}

int vs_send_phase(struct wire_conn *c, uint8_t vol, int rootfd, struct vs_tree *now,
		  const struct vs_tree *before, struct vs_send_stats *st, char *err,
		  size_t errlen)
{
	struct wire_vol w = { .op = WIRE_VOL_BEGIN, .vol = vol };
	uint64_t entries = 0;
	int ret;

	w.phase = before ? WIRE_VOL_FINAL : WIRE_VOL_PRECOPY;
	for (size_t i = 0; before && i < before->n; i++)
		entries += i && gone(&before->v[i], now);
	for (size_t i = 0; i < now->n; i++) {
		struct vs_entry *e = &now->v[i];

		if (before && !vs_changed(vs_find(before, e->path), e))
			continue;
		entries++;
		w.bytes += e->size;
	}
	w.entries = entries;
	ret = wire_send_vol(c, &w);
	if (!ret && !before) {
		/* the receiver makes the volume first */
		struct wire_msg m;

		ret = wire_expect(c, WIRE_VOLUME, &m);
		if (!ret)
			ret = wire_parse_vol(c, &m, &w);
		if (!ret && (w.op != WIRE_VOL_READY || w.vol != vol))
			ret = -EPROTO;
		if (ret == -EPROTO && !c->err[0])
			snprintf(c->err, sizeof(c->err), "no READY for the volume");
		if (ret)
			return ferry_errf(err, errlen, ret, "%s", c->err);
	}
	/* deletions first, parents before their children: a parent's
	 * removal takes them, and the receiver takes a missing path as done */
	for (size_t i = 1; !ret && before && i < before->n; i++) {
		if (!gone(&before->v[i], now))
			continue;
		memset(&w, 0, sizeof(w));
		w.op = WIRE_VOL_DEL;
		w.vol = vol;
		snprintf(w.path, sizeof(w.path), "%s", before->v[i].path);
		ret = wire_send_vol(c, &w);
		st->deleted++;
	}
	for (size_t i = 0; !ret && i < now->n; i++) {
		struct vs_entry *e = &now->v[i];

		if (before && !vs_changed(vs_find(before, e->path), e))
			continue;
		entry_msg(e, vol, &w);
		ret = wire_send_vol(c, &w);
		if (ret)
			return ferry_errf(err, errlen, ret, "%s", c->err);
		if (e->type == VS_DIR) {
			st->dirs++;
		} else if (e->type == VS_LINK) {
			st->links++;
		} else {
			ret = send_file(c, rootfd, e, err, errlen);
			if (ret < 0)
				return ret;
			st->files++;
			st->bytes += e->size;
			e->dirty = ret == 1;
			if (ret == 1 && before)
				return ferry_errf(err, errlen, -EAGAIN, "%s changed while the "
						  "container was frozen (does something else "
						  "write into the volume?)", e->path);
			ret = 0;
		}
	}
	if (!ret) {
		memset(&w, 0, sizeof(w));
		w.op = WIRE_VOL_END;
		w.vol = vol;
		ret = wire_send_vol(c, &w);
	}
	return ret ? ferry_errf(err, errlen, ret, "%s", c->err) : 0;
}
