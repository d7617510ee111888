// SPDX-License-Identifier: GPL-2.0
/*
 * `ferry receive --store DIR`: the keeping side of a checkpoint store
 * session (ha_ship.h, wire_store.h). Each chain is a checkpoint store of
 * its own, DIR/NAME (ha_store.h), that `ferry versions` and `ferry restore
 * --dir` read as they read a local one. Nothing here restores anything.
 *
 * What a peer sends is hostile until checked: the chain name and every
 * path by the store's own rules, a version's size against the disk before
 * a byte is written and every file against that size, the entry count;
 * a version is published only after it verified against its manifest,
 * and a chain belongs to the certificate name that made it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "ha_store.h"
#include "recv.h"
#include "recv_ledger.h"
#include "recv_store.h"
#include "util.h"
#include "wire.h"
#include "wire_store.h"

#define OWNER_FILE	".owner"
#define LOCK_WAIT_S	60	/* for another session of the chain */
#define DISK_RESERVE	20	/* 1/20 (5 %) of the file system stays free */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline("ferry receive: ", "", fmt, ap);
	va_end(ap);
}

struct rstore {
	const struct ropts *o;
	struct wire_conn *c;
	bool granted;		/* a line in the disk account */
	struct ha_store st;
	bool open;
	const char *chain;
	char *err;
	size_t errlen;
};

static int peer_err(struct rstore *r, int ret, const char *what)
{
	return ferry_errf(r->err, r->errlen, ret, "%s: %s", what,
			  r->c->err[0] ? r->c->err : strerror(-ret));
}

/* The chain belongs to the first certificate name that stored into it. */
static int check_owner(struct rstore *r, const char *peer)
{
	char have[300] = "";
	ssize_t n;
	int fd;

	fd = openat(r->st.dirfd, OWNER_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, have, sizeof(have) - 1);
		close(fd);
		have[n > 0 ? n : 0] = 0;
		if (strcmp(have, peer))
			return ferry_errf(r->err, r->errlen, -EPERM, "chain %s belongs to '%s', not "
					  "'%s'", r->chain, have[0] ? have : "(plain TCP)",
					  peer[0] ? peer : "(plain TCP)");
		return 0;
	}
	if (errno != ENOENT)
		return ferry_errf(r->err, r->errlen, -errno, "%s/%s: %s", r->st.dir, OWNER_FILE,
				  strerror(errno));
	fd = openat(r->st.dirfd, OWNER_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0 || ferry_write_all(fd, peer, strlen(peer)) || fsync(fd)) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return ferry_errf(r->err, r->errlen, -e, "%s/%s: %s", r->st.dir, OWNER_FILE,
				  strerror(e));
	}
	close(fd);
	return 0;
}

/* STORE_HAVE: the newest versions here whose manifest reads. */
static int answer_have(struct rstore *r)
{
	struct wire_store_have *h;
	uint32_t *v = NULL;
	size_t n = 0;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return ferry_errf(r->err, r->errlen, -ENOMEM, "out of memory");
	ret = ha_store_versions(&r->st, &v, &n);
	if (ret) {
		free(h);
		return ferry_errf(r->err, r->errlen, ret, "%s: %s", r->st.dir, strerror(-ret));
	}
	for (size_t i = n; i-- > 0 && h->n < WIRE_STORE_MAX_HAVE; ) {
		struct ha_meta meta;
		char vdir[4200], why[256];

		ha_store_path(&r->st, v[i], vdir, sizeof(vdir));
		if (ha_meta_read(vdir, &meta, why, sizeof(why)))
			continue;	/* sent again if needed */
		h->version[h->n] = v[i];
		h->created[h->n++] = meta.created;
	}
	ret = wire_send_store_have(r->c, h);
	free(h);
	free(v);
	return ret ? peer_err(r, ret, "sending") : 0;
}

/* The directory a path's file goes in: made when it is not there yet. */
static int entry_dir(struct rstore *r, int vfd, char *path, const char **leaf)
{
	char *slash = strchr(path, '/');
	int dfd;

	if (!slash) {
		*leaf = path;
		dfd = fcntl(vfd, F_DUPFD_CLOEXEC, 0);
		return dfd < 0 ? ferry_errf(r->err, r->errlen, -errno, "dup: %s", strerror(errno))
			       : dfd;
	}
	*slash = 0;
	if (mkdirat(vfd, path, 0700) && errno != EEXIST) {
		int e = errno;

		*slash = '/';
		return ferry_errf(r->err, r->errlen, -e, "mkdir %s: %s", path, strerror(e));
	}
	dfd = openat(vfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	*slash = '/';
	*leaf = slash + 1;
	if (dfd < 0)
		return ferry_errf(r->err, r->errlen, -errno, "%s: %s", path, strerror(errno));
	return dfd;
}

static int recv_entry(struct rstore *r, int vfd, const struct wire_msg *m,
		      const struct wire_store_version *wv, uint64_t *bytes)
{
	struct wire_store_entry e;
	struct wire_file f = { 0 };
	const char *leaf = NULL;
	int dfd, fd, ret;

	ret = wire_parse_store_entry(r->c, m, &e);
	if (ret)
		return peer_err(r, ret, "the source");
	if (strcmp(e.path, HA_MANIFEST) && !ha_path_ok(e.path)) {
		ferry_sanitize(e.path, false);
		return ferry_errf(r->err, r->errlen, -EPROTO, "the source sent an unsafe path "
				  "'%s'", e.path);
	}
	if (m->type == WIRE_STORE_LINK && !ha_link_ok(e.path, e.target, wv->base)) {
		ferry_sanitize(e.target, false);
		return ferry_errf(r->err, r->errlen, -EPROTO, "the source sent a link %s -> %s that "
				  "leaves the version", e.path, e.target);
	}
	/* the version's announced size was checked against the disk: no
	 * file goes past it */
	if (m->type == WIRE_STORE_FILE && e.size > wv->bytes - *bytes)
		return ferry_errf(r->err, r->errlen, -EPROTO, "%s: %llu bytes more than version %u "
				  "announced", e.path, (unsigned long long)(e.size - (wv->bytes - *bytes)),
				  wv->version);
	dfd = entry_dir(r, vfd, e.path, &leaf);
	if (dfd < 0)
		return dfd;
	if (m->type == WIRE_STORE_LINK) {
		ret = symlinkat(e.target, dfd, leaf) ? ferry_errf(r->err, r->errlen, -errno,
						"link %s: %s", e.path, strerror(errno)) : 0;
		close(dfd);
		return ret;
	}
	fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dfd);
	if (fd < 0)
		return ferry_errf(r->err, r->errlen, -errno, "%s: %s", e.path, strerror(errno));
	/* the name is only for messages: cut to fit */
	memcpy(f.name, e.path, strnlen(e.path, sizeof(f.name) - 1));
	f.size = e.size;
	ret = wire_recv_file_body(r->c, &f, fd);
	if (ret)
		ret = peer_err(r, ret, e.path);
	else if (fsync(fd))	/* published only once on disk */
		ret = ferry_errf(r->err, r->errlen, -errno, "fsync %s: %s", e.path, strerror(errno));
	close(fd);
	if (!ret)
		*bytes += e.size;
	return ret;
}

/*
 * Room for bytes more, leaving the reserve free and what the receiver's
 * other sessions were granted (recv_ledger.h: migrations and other
 * chains write at the same time); granted in that account when there is.
 */
static int check_disk(struct rstore *r, uint64_t bytes)
{
	struct statvfs sv;
	struct ledger *l;
	uint64_t avail, reserve, others;
	int ret;

	if (fstatvfs(r->st.dirfd, &sv))
		return ferry_errf(r->err, r->errlen, -errno, "%s: %s", r->st.dir, strerror(errno));
	l = malloc(sizeof(*l));
	if (!l)
		return ferry_errf(r->err, r->errlen, -ENOMEM, "out of memory");
	ret = ledger_open(l, r->o->state_dir, RECV_LEDGER_WAIT_MS, r->err, r->errlen);
	if (ret) {
		free(l);
		return ret;
	}
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	reserve = (uint64_t)sv.f_blocks * sv.f_frsize / DISK_RESERVE;
	others = ledger_others(l->v, l->n, getpid());
	if (avail < reserve || avail - reserve < others || bytes > avail - reserve - others) {
		ledger_close(l);
		free(l);
		return ferry_errf(r->err, r->errlen, -ENOSPC, "%s: %.1f MiB for a version, %.1f MiB "
				  "free beyond the reserve and other sessions' grants", r->st.dir,
				  bytes / 1048576.0, avail > reserve + others ?
				  (avail - reserve - others) / 1048576.0 : 0.0);
	}
	ret = ledger_commit(l, bytes, r->err, r->errlen);	/* unlocks */
	free(l);
	if (!ret)
		r->granted = true;
	return ret;
}

static int recv_version(struct rstore *r, const struct wire_msg *first)
{
	struct wire_store_version wv;
	struct ha_meta meta;
	char tmp[4200];
	uint64_t bytes = 0, u[1];
	uint32_t entries = 0;
	struct wire_msg m;
	int vfd = -1, ret;

	ret = wire_parse_store_version(r->c, first, &wv);
	if (ret)
		return peer_err(r, ret, "the source");
	if (wv.entries > HA_MAX_ENTRIES + 1)
		return ferry_errf(r->err, r->errlen, -EPROTO, "version %u: %u entries (at most %u)",
				  wv.version, wv.entries, HA_MAX_ENTRIES + 1);
	if (wv.base) {
		char bdir[4200], why[256];
		struct ha_meta bm;

		ha_store_path(&r->st, wv.base, bdir, sizeof(bdir));
		if (ha_meta_read(bdir, &bm, why, sizeof(why)) || bm.created != wv.base_created)
			return ferry_errf(r->err, r->errlen, -ENOENT, "version %u builds on version %u, "
					  "which this store does not hold", wv.version, wv.base);
	}
	ret = check_disk(r, wv.bytes);
	if (!ret)
		ret = ha_store_begin_at(&r->st, wv.version, tmp, sizeof(tmp), r->err, r->errlen);
	if (ret)
		return ret;
	vfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (vfd < 0) {
		ret = ferry_errf(r->err, r->errlen, -errno, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (;;) {
		ret = wire_recv(r->c, &m);
		if (ret) {
			ret = peer_err(r, ret == -ENODATA ? -ECONNRESET : ret, "the source");
			goto fail;
		}
		if (m.type == WIRE_STORE_END)
			break;
		if (m.type == WIRE_ERROR) {
			ret = peer_err(r, wire_expect_failed(r->c, &m, WIRE_STORE_END), "the source");
			goto fail;
		}
		if (++entries > wv.entries) {
			ret = ferry_errf(r->err, r->errlen, -EPROTO, "version %u: more than the %u "
					 "entries announced", wv.version, wv.entries);
			goto fail;
		}
		ret = recv_entry(r, vfd, &m, &wv, &bytes);
		if (ret)
			goto fail;
	}
	close(vfd);
	vfd = -1;
	if (m.len) {
		ret = ferry_errf(r->err, r->errlen, -EPROTO, "malformed STORE_END frame");
		goto fail;
	}
	ret = ha_store_accept(&r->st, wv.version, &meta, r->err, r->errlen);
	if (ret) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", r->err);
		ret = ferry_errf(r->err, r->errlen, ret, "version %u arrived damaged: %s",
				 wv.version, why);
		goto fail;
	}
	if (meta.created != wv.created || meta.base != wv.base) {
		/* published, but not what was announced: the chain is not
		 * what the source believes, so it goes again */
		ha_store_retire(&r->st, wv.version);
		return ferry_errf(r->err, r->errlen, -EPROTO, "version %u is not the one announced",
				  wv.version);
	}
	say("chain %s: version %u stored (%.1f MiB%s)", r->chain, wv.version, bytes / 1048576.0,
	    wv.base ? ", incremental" : "");
	u[0] = wv.version;
	ret = wire_send_u64s(r->c, WIRE_STORE_DONE, u, 1);
	return ret ? peer_err(r, ret, "sending") : 0;
fail:
	if (vfd >= 0)
		close(vfd);
	ha_store_abandon(&r->st, wv.version);
	return ret;
}

int recv_store_run(const struct ropts *o, struct wire_conn *c, const char *peer, char *err,
		   size_t errlen)
{
	struct wire_store_open so;
	struct rstore r = { .o = o, .c = c, .err = err, .errlen = errlen };
	unsigned int stored = 0;
	char dir[4200];
	struct wire_msg m;
	int ret;

	/* read before refusing: a close with its request unread would reset
	 * the connection, and the source would not learn why */
	ret = wire_expect(c, WIRE_STORE_OPEN, &m);
	if (!ret)
		ret = wire_parse_store_open(c, &m, &so);
	if (ret)
		return peer_err(&r, ret, "the source");
	if (!o->store_dir)
		return ferry_errf(err, errlen, -EPERM, "this receiver keeps no checkpoints (it was "
				  "started without --store)");
	if (!ha_chain_name_ok(so.chain)) {
		ferry_sanitize(so.chain, false);
		return ferry_errf(err, errlen, -EPROTO, "bad chain name '%s'", so.chain);
	}
	if (so.keep < 1 || so.keep > 1000)
		return ferry_errf(err, errlen, -EPROTO, "bad number of versions to keep: %u",
				  so.keep);
	r.chain = so.chain;
	snprintf(dir, sizeof(dir), "%s/%s", o->store_dir, so.chain);
	/* the session before may still be folding (retention): wait for it,
	 * within a bound the source waits longer than */
	for (int tries = 0; tries < LOCK_WAIT_S * 10; tries++) {
		ret = ha_store_open(&r.st, dir, true, true, err, errlen);
		if (ret != -EBUSY)
			break;
		ha_store_close(&r.st);
		usleep(100000);
	}
	if (ret == -EBUSY)
		ret = ferry_errf(err, errlen, ret, "chain %s is being written by another session",
				 so.chain);
	if (ret)
		goto out;
	r.open = true;
	ret = check_owner(&r, peer);
	if (!ret)
		ret = answer_have(&r);
	while (!ret) {
		ret = wire_recv(c, &m);
		if (ret) {
			ret = peer_err(&r, ret == -ENODATA ? -ECONNRESET : ret, "the source");
			break;
		}
		if (m.type == WIRE_DONE)
			break;
		if (m.type != WIRE_STORE_VERSION) {
			ret = peer_err(&r, wire_expect_failed(c, &m, WIRE_STORE_VERSION), "the source");
			break;
		}
		ret = recv_version(&r, &m);
		if (!ret)
			stored++;
	}
	/* retention by the source's --keep, whatever became of the session:
	 * what it published stays published */
	if (stored)
		ha_store_prune(&r.st, so.keep, say);
out:
	if (r.granted)
		ledger_release(o->state_dir);
	if (r.open)
		ha_store_close(&r.st);
	return ret;
}
