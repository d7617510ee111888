// SPDX-License-Identifier: GPL-2.0
/*
 * The sending side of a checkpoint store session (ha_ship.h, wire_store.h):
 * connect, learn which versions of the chain the store host keeps, send the
 * ones it lacks of v's chain, oldest first, each checked and published there
 * before the next goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "ha_ship.h"
#include "mig_net.h"
#include "util.h"
#include "wire.h"
#include "wire_store.h"
#include "wire_tls.h"

static int fail(struct wire_conn *c, int ret, char *err, size_t errlen, const char *what)
{
	const char *why = c->err[0] ? c->err : strerror(-ret);

	if (ret == -EREMOTEIO && !strncmp(why, "peer: ", 6))
		why += 6;	/* what says who */
	return ferry_errf(err, errlen, ret, "%s: %s", what, why);
}

static int connect_store(struct wire_conn *c, const struct ha_ship_opts *o, char *err,
			 size_t errlen)
{
	struct wire_hello h, peer;
	struct wire_msg m;
	int fd, ret;

	fd = mig_connect(o->to, err, errlen);
	if (fd < 0)
		return fd;
	mig_net_user_timeout(fd, HA_SHIP_USER_TIMEOUT_MS);
	wire_init(c, fd);
	wire_set_timeout(c, o->timeout_ms);
	if (o->tls) {
		char host[256], port[16];

		if (mig_split_hostport(o->to, host, sizeof(host), port, sizeof(port)))
			return ferry_errf(err, errlen, -EINVAL, "bad --to '%s'", o->to);
		ret = wire_tls_client(c, o->tls, host, err, errlen);
		if (ret)
			return ret;
	}
	wire_hello_init(&h, WIRE_CAP_ZSTD | WIRE_CAP_STORE);
	if (getrandom(h.id, sizeof(h.id), 0) != sizeof(h.id))
		return ferry_errf(err, errlen, -errno, "getrandom: %s", strerror(errno));
	ret = wire_send_hello(c, &h);
	if (!ret)
		ret = wire_expect(c, WIRE_HELLO, &m);
	if (!ret)
		ret = wire_parse_hello(c, &m, &peer);
	return ret ? fail(c, ret, err, errlen, "handshake") : 0;
}

static bool have(const struct wire_store_have *h, uint32_t v, uint64_t created)
{
	for (uint32_t i = 0; i < h->n; i++)
		if (h->version[i] == v && h->created[i] == created)
			return true;
	return false;
}

/* One file of version vdir: its STORE_FILE and body. */
static int send_file(struct wire_conn *c, int vfd, const char *path, uint64_t size, char *err,
		     size_t errlen)
{
	struct stat sb;
	int fd, ret;

	fd = openat(vfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	/* a published version never changes: a size that differs from its
	 * manifest is damage here, not something to send */
	if (fstat(fd, &sb) || (uint64_t)sb.st_size != size) {
		close(fd);
		return ferry_errf(err, errlen, -EBADMSG, "%s is not the size its manifest says: "
				  "this version is damaged here", path);
	}
	ret = wire_send_store_file(c, path, size);
	if (!ret)
		ret = wire_send_file_body(c, path, fd, size);
	close(fd);
	return ret ? fail(c, ret, err, errlen, path) : 0;
}

static int send_version(struct wire_conn *c, struct ha_store *st, uint32_t v,
			struct ha_ship_stats *stats, char *err, size_t errlen)
{
	struct wire_store_version wv = { .version = v };
	struct ha_entry *e = NULL;
	struct ha_meta meta;
	struct wire_msg m;
	struct stat sb;
	char vdir[4200];
	uint64_t u[1];
	size_t n = 0;
	int vfd, ret;

	ha_store_path(st, v, vdir, sizeof(vdir));
	ret = ha_manifest_list(vdir, &e, &n, &meta, err, errlen);
	if (ret)
		return ret;
	vfd = open(vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0 || fstatat(vfd, HA_MANIFEST, &sb, AT_SYMLINK_NOFOLLOW)) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
		goto out;
	}
	wv.base = meta.base;
	wv.created = meta.created;
	if (meta.base) {
		struct ha_meta bm;
		char bdir[4200];

		ha_store_path(st, meta.base, bdir, sizeof(bdir));
		ret = ha_meta_read(bdir, &bm, err, errlen);
		if (ret)
			goto out;
		wv.base_created = bm.created;
	}
	wv.bytes = (uint64_t)sb.st_size;
	for (size_t i = 0; i < n; i++)
		wv.bytes += e[i].link ? 0 : e[i].size;
	wv.entries = (uint32_t)n + 1;
	ret = wire_send_store_version(c, &wv);
	for (size_t i = 0; !ret && i < n; i++) {
		if (e[i].link) {
			ret = wire_send_store_link(c, e[i].path, e[i].target);
			if (ret)
				ret = fail(c, ret, err, errlen, e[i].path);
		} else {
			ret = send_file(c, vfd, e[i].path, e[i].size, err, errlen);
		}
	}
	/* the manifest last: the store host checks the rest against it */
	if (!ret)
		ret = send_file(c, vfd, HA_MANIFEST, (uint64_t)sb.st_size, err, errlen);
	if (!ret && (ret = wire_send(c, WIRE_STORE_END, NULL, 0)))
		ret = fail(c, ret, err, errlen, "sending");
	if (!ret) {
		ret = wire_expect(c, WIRE_STORE_DONE, &m);
		if (!ret)
			ret = wire_parse_u64s(c, &m, u, 1);
		if (ret)
			ret = fail(c, ret, err, errlen, "the store host");
		else if (u[0] != v)
			ret = ferry_errf(err, errlen, -EPROTO, "the store host published version "
					 "%llu, not %u", (unsigned long long)u[0], v);
	}
	if (!ret) {
		stats->versions++;
		stats->bytes += wv.bytes;
	}
out:
	if (vfd >= 0)
		close(vfd);
	free(e);
	return ret;
}

int ha_ship(struct ha_store *st, uint32_t v, const struct ha_ship_opts *o,
	    struct ha_ship_stats *stats, char *err, size_t errlen)
{
	struct wire_store_open so = { .keep = o->keep };
	struct wire_store_have *h = NULL;
	uint32_t chain[HA_MAX_CHAIN + 1];
	uint64_t t0 = ferry_now_ns();
	struct wire_conn c;
	struct wire_msg m;
	size_t nchain = 0;
	int ret;

	memset(stats, 0, sizeof(*stats));
	wire_init(&c, -1);
	snprintf(so.chain, sizeof(so.chain), "%s", o->chain);
	ret = connect_store(&c, o, err, errlen);
	if (ret)
		goto out;
	h = malloc(sizeof(*h));
	if (!h) {
		ret = ferry_errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ret = wire_send_store_open(&c, &so);
	if (!ret)
		ret = wire_expect(&c, WIRE_STORE_HAVE, &m);
	if (!ret)
		ret = wire_parse_store_have(&c, &m, h);
	if (ret) {
		ret = fail(&c, ret, err, errlen, "the store host");
		goto out;
	}
	/* v, its base, and so on, down to one the store host keeps or one
	 * that stands alone */
	for (uint32_t at = v; at; ) {
		struct ha_meta meta;
		char vdir[4200];

		ha_store_path(st, at, vdir, sizeof(vdir));
		ret = ha_meta_read(vdir, &meta, err, errlen);
		if (ret)
			goto out;
		if (have(h, at, meta.created))
			break;
		if (nchain == HA_MAX_CHAIN + 1 || (meta.base && meta.base >= at)) {
			ret = ferry_errf(err, errlen, -EBADMSG, "version %u: its chain is broken here",
					 v);
			goto out;
		}
		chain[nchain++] = at;
		at = meta.base;
	}
	while (!ret && nchain)
		ret = send_version(&c, st, chain[--nchain], stats, err, errlen);
	if (!ret && (ret = wire_send(&c, WIRE_DONE, NULL, 0)))
		ret = fail(&c, ret, err, errlen, "sending");
out:
	if (ret && c.fd >= 0 && ret != -EPIPE && ret != -ECONNRESET)
		wire_send_error(&c, WIRE_ERROR, ret, "source: %s", err);
	stats->wire_bytes = c.bytes_sent;
	stats->ms = (ferry_now_ns() - t0) / 1000000;
	if (c.fd >= 0) {
		wire_tls_end(&c);
		close(c.fd);
	}
	wire_free(&c);
	free(h);
	return ret;
}
