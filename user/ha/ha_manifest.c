// SPDX-License-Identifier: GPL-2.0
/*
 * A version's MANIFEST (ha_store.h): checksumming its files and writing
 * it, reading it back as hostile input, and checking a version (and the
 * versions it builds on) against it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gnutls/crypto.h>
#include "ha_store.h"
#include "ha_store_int.h"
#include "util.h"
#include "wire.h"

#define SHA_LEN		32
#define HEX_LEN		(2 * SHA_LEN)
#define MAX_MANIFEST	(64u << 20)

static void to_hex(const uint8_t *d, char *hex)
{
	for (int i = 0; i < SHA_LEN; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	hex[HEX_LEN] = 0;
}

/* ---- checksums ---- */

struct file_sum {
	uint64_t size;
	char hex[HEX_LEN + 1];
	char (*chunks)[HEX_LEN + 1];	/* one per HA_CHUNK bytes */
	size_t nchunks;
};

/* Hash the file open at fd: whole and per chunk. sync: fsync it too. */
static int sum_fd(int fd, bool sync, struct file_sum *fs)
{
	gnutls_hash_hd_t whole = NULL, part = NULL;
	uint8_t *buf = malloc(HA_CHUNK), d[SHA_LEN];
	struct stat sb;
	int ret = 0;

	memset(fs, 0, sizeof(*fs));
	if (!buf)
		return -ENOMEM;
	if (fstat(fd, &sb) || (sync && fsync(fd))) {
		free(buf);
		return -errno;
	}
	fs->nchunks = ((uint64_t)sb.st_size + HA_CHUNK - 1) / HA_CHUNK;
	fs->chunks = calloc(fs->nchunks ? fs->nchunks : 1, sizeof(*fs->chunks));
	if (!fs->chunks || gnutls_hash_init(&whole, GNUTLS_DIG_SHA256)) {
		free(buf);
		return -ENOMEM;
	}
	for (size_t c = 0; !ret; c++) {
		size_t got = 0;

		while (got < HA_CHUNK) {
			ssize_t r = read(fd, buf + got, HA_CHUNK - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ret = -errno;
				break;
			}
			if (!r)
				break;
			got += (size_t)r;
		}
		if (ret || !got)
			break;
		if (c >= fs->nchunks) {
			ret = -EAGAIN;	/* it grew while being read */
			break;
		}
		gnutls_hash(whole, buf, got);
		if (gnutls_hash_init(&part, GNUTLS_DIG_SHA256)) {
			ret = -ENOMEM;
			break;
		}
		gnutls_hash(part, buf, got);
		gnutls_hash_deinit(part, d);
		to_hex(d, fs->chunks[c]);
		fs->size += got;
	}
	gnutls_hash_deinit(whole, d);
	to_hex(d, fs->hex);
	free(buf);
	if (!ret && fs->size != (uint64_t)sb.st_size)
		ret = -EAGAIN;
	return ret;
}

static void sum_free(struct file_sum *fs)
{
	free(fs->chunks);
	fs->chunks = NULL;
}

/* ---- writing the manifest ---- */

static int put_entry(FILE *mf, int dirfd, const char *prefix, const char *name, int depth,
		     uint64_t *bytes, char *err, size_t errlen);

static int put_dir(FILE *mf, int dirfd, const char *prefix, int depth, uint64_t *bytes,
		   char *err, size_t errlen)
{
	char **names;
	size_t n;
	int ret = ha_dir_names(dirfd, &names, &n);

	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", prefix[0] ? prefix : ".", strerror(-ret));
	for (size_t i = 0; !ret && i < n; i++) {
		if (!depth && !strcmp(names[i], HA_MANIFEST))
			continue;
		ret = put_entry(mf, dirfd, prefix, names[i], depth, bytes, err, errlen);
	}
	ha_names_free(names, n);
	/* the directory's entries reach the disk with it */
	if (!ret && fsync(dirfd))
		ret = ferry_errf(err, errlen, -errno, "fsync %s: %s", prefix, strerror(errno));
	return ret;
}

static int put_entry(FILE *mf, int dirfd, const char *prefix, const char *name, int depth,
		     uint64_t *bytes, char *err, size_t errlen)
{
	char path[512], target[256];
	struct file_sum fs;
	struct stat sb;
	ssize_t tl;
	int fd, ret;

	snprintf(path, sizeof(path), "%s%s", prefix, name);
	if (!ha_path_ok(path))
		return ferry_errf(err, errlen, -EINVAL, "%s: a name a manifest cannot hold", path);
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (S_ISLNK(sb.st_mode)) {
		tl = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (tl < 0)
			return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		target[tl] = 0;
		if (strchr(target, ' ') || strchr(target, '\n'))
			return ferry_errf(err, errlen, -EINVAL, "%s: odd link target", path);
		fprintf(mf, "link %s %s\n", path, target);
		return 0;
	}
	if (S_ISDIR(sb.st_mode)) {
		char sub[520];

		if (depth)
			return ferry_errf(err, errlen, -EINVAL, "%s: directories nest one level", path);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		snprintf(sub, sizeof(sub), "%s/", path);
		ret = put_dir(mf, fd, sub, 1, bytes, err, errlen);
		close(fd);
		return ret;
	}
	if (!S_ISREG(sb.st_mode))
		return ferry_errf(err, errlen, -EINVAL, "%s: not a file", path);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	ret = sum_fd(fd, true, &fs);
	close(fd);
	if (ret) {
		sum_free(&fs);
		return ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	fprintf(mf, "file %s %llu %s\n", path, (unsigned long long)fs.size, fs.hex);
	for (size_t c = 0; c < fs.nchunks; c++) {
		uint64_t off = (uint64_t)c * HA_CHUNK;
		uint64_t len = fs.size - off < HA_CHUNK ? fs.size - off : HA_CHUNK;

		fprintf(mf, "chunk %llu %llu %s\n", (unsigned long long)off,
			(unsigned long long)len, fs.chunks[c]);
	}
	*bytes += fs.size;
	sum_free(&fs);
	return 0;
}

static void put_meta(FILE *mf, const struct ha_meta *m)
{
	fprintf(mf, "ferry-checkpoint 1\nversion %u\ncreated %llu\nroot %u\nrounds %u\n"
		"pages_precopied %llu\npages_written %llu\npages_skipped_parent %llu\n"
		"frozen_time %llu\ntcp_connections %u\ntop %s\n", m->version,
		(unsigned long long)m->created, m->root, m->rounds,
		(unsigned long long)m->pages_precopied, (unsigned long long)m->pages_written,
		(unsigned long long)m->pages_skipped_parent, (unsigned long long)m->frozen_time,
		m->tcp_connections, m->top);
	if (m->base)
		fprintf(mf, "base %u\n", m->base);
	if (m->container[0])
		fprintf(mf, "container %s\ncontainer_name %s\n", m->container, m->container_name);
	if (m->runc)
		fprintf(mf, "engine runc\ncontainer_name %s\nrunc_bundle %s\nrunc_config %s\n",
			m->container_name, m->runc_bundle, m->runc_config);
}

int ha_manifest_write(int vfd, const char *label, struct ha_meta *meta, char *err,
		      size_t errlen)
{
	char *text = NULL, hex[HEX_LEN + 1];
	uint8_t d[SHA_LEN];
	size_t len = 0;
	uint64_t bytes = 0;
	FILE *mf;
	int fd, ret;

	mf = open_memstream(&text, &len);
	if (!mf)
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	/* the figures first, with the size known only after the files */
	ret = put_dir(mf, vfd, "", 0, &bytes, err, errlen);
	fclose(mf);
	if (!ret) {
		char *body = text;
		FILE *m2;

		meta->bytes = bytes;
		text = NULL;
		len = 0;
		m2 = open_memstream(&text, &len);
		if (!m2) {
			free(body);
			return ferry_errf(err, errlen, -ENOMEM, "out of memory");
		}
		put_meta(m2, meta);
		fprintf(m2, "bytes %llu\n%s", (unsigned long long)bytes, body);
		fclose(m2);
		free(body);
		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, text, len, d))
			ret = ferry_errf(err, errlen, -EIO, "sha256 failed");
	}
	if (!ret) {
		to_hex(d, hex);
		fd = openat(vfd, HA_MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			ret = ferry_errf(err, errlen, -errno, "%s: %s", HA_MANIFEST, strerror(errno));
		else {
			char end[80];

			snprintf(end, sizeof(end), "end %s\n", hex);
			ret = ferry_write_all(fd, text, len);
			if (!ret)
				ret = ferry_write_all(fd, end, strlen(end));
			if (!ret && fsync(fd))
				ret = -errno;
			close(fd);
			if (ret)
				ferry_errf(err, errlen, ret, "writing %s: %s", HA_MANIFEST, strerror(-ret));
		}
	}
	free(text);
	if (!ret && fsync(vfd))
		ret = ferry_errf(err, errlen, -errno, "fsync %s: %s", label, strerror(errno));
	return ret;
}

/* .v-N.tmp (flushed) becomes v-N: a reader sees the whole version or none
 * of it */
static int publish(struct ha_store *st, uint32_t version, char *err, size_t errlen)
{
	char tmp[64], final[64];

	snprintf(tmp, sizeof(tmp), ".v-%u.tmp", version);
	snprintf(final, sizeof(final), "v-%u", version);
	if (renameat(st->dirfd, tmp, st->dirfd, final))
		return ferry_errf(err, errlen, -errno, "rename %s -> %s: %s", tmp, final, strerror(errno));
	if (fsync(st->dirfd))
		return ferry_errf(err, errlen, -errno, "fsync %s: %s", st->dir, strerror(errno));
	return 0;
}

int ha_store_publish(struct ha_store *st, struct ha_meta *meta, char *err, size_t errlen)
{
	char tmp[64];
	int vfd, ret;

	snprintf(tmp, sizeof(tmp), ".v-%u.tmp", meta->version);
	vfd = openat(st->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (vfd < 0)
		return ferry_errf(err, errlen, -errno, "%s/%s: %s", st->dir, tmp, strerror(errno));
	ret = ha_manifest_write(vfd, tmp, meta, err, errlen);
	close(vfd);
	if (ret)
		return ret;
	return publish(st, meta->version, err, errlen);
}

/* fsync a directory (and, depth 0, the directories in it) */
static int sync_dirs(int dfd, int depth, const char *label, char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0;
	int ret = 0;

	if (depth == 0 && !(ret = ha_dir_names(dfd, &names, &n))) {
		for (size_t i = 0; !ret && i < n; i++) {
			struct stat sb;
			int fd;

			if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(sb.st_mode))
				continue;
			fd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0) {
				ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", label, names[i],
						 strerror(errno));
				break;
			}
			ret = sync_dirs(fd, 1, label, err, errlen);
			close(fd);
		}
		ha_names_free(names, n);
	} else if (ret) {
		return ferry_errf(err, errlen, ret, "%s: %s", label, strerror(-ret));
	}
	if (!ret && fsync(dfd))
		ret = ferry_errf(err, errlen, -errno, "fsync %s: %s", label, strerror(errno));
	return ret;
}

int ha_store_accept(struct ha_store *st, uint32_t version, struct ha_meta *meta, char *err,
		    size_t errlen)
{
	char tmp[64], path[4200];
	int vfd, ret;

	snprintf(tmp, sizeof(tmp), ".v-%u.tmp", version);
	snprintf(path, sizeof(path), "%s/%s", st->dir, tmp);
	/* what arrived is judged as a damaged version would be: every file
	 * against its checksums, every link by the rule, nothing extra */
	ret = ha_verify(path, meta, err, errlen);
	if (ret)
		return ret;
	if (meta->version != version)
		return ferry_errf(err, errlen, -EBADMSG, "its manifest is of version %u, not %u",
				  meta->version, version);
	if (meta->base) {
		char base[4200];

		ha_store_path(st, meta->base, base, sizeof(base));
		if (access(base, F_OK))
			return ferry_errf(err, errlen, -EBADMSG, "it builds on version %u, which "
					  "is not here", meta->base);
	}
	vfd = openat(st->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (vfd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	ret = sync_dirs(vfd, 0, path, err, errlen);
	close(vfd);
	return ret ? ret : publish(st, version, err, errlen);
}

/* ---- reading it back ---- */

struct mf_entry {
	char path[512];
	bool link;
	char target[256];
	uint64_t size;
	char hex[HEX_LEN + 1];
	size_t chunk0, nchunks;	/* its chunk lines */
};

struct manifest {
	struct ha_meta meta;
	struct mf_entry *e;
	size_t n, cap;
	struct { uint64_t off, len; char hex[HEX_LEN + 1]; } *c;
	size_t nc, capc;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct mf_entry *)a)->path, ((const struct mf_entry *)b)->path);
}

static void manifest_free(struct manifest *mf)
{
	free(mf->e);
	free(mf->c);
	memset(mf, 0, sizeof(*mf));
}

static bool hex_ok(const char *s)
{
	if (strlen(s) != HEX_LEN)
		return false;
	for (int i = 0; i < HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int meta_field(struct ha_meta *m, const char *key, const char *val)
{
	static const struct { const char *k; size_t off; int w; } f[] = {
		{ "version", offsetof(struct ha_meta, version), 4 },
		{ "created", offsetof(struct ha_meta, created), 8 },
		{ "root", offsetof(struct ha_meta, root), 4 },
		{ "rounds", offsetof(struct ha_meta, rounds), 4 },
		{ "pages_precopied", offsetof(struct ha_meta, pages_precopied), 8 },
		{ "pages_written", offsetof(struct ha_meta, pages_written), 8 },
		{ "pages_skipped_parent", offsetof(struct ha_meta, pages_skipped_parent), 8 },
		{ "frozen_time", offsetof(struct ha_meta, frozen_time), 8 },
		{ "tcp_connections", offsetof(struct ha_meta, tcp_connections), 4 },
		{ "bytes", offsetof(struct ha_meta, bytes), 8 },
		{ "base", offsetof(struct ha_meta, base), 4 },
	};
	uint64_t v;

	if (!strcmp(key, "container")) {
		if (strlen(val) != 64 || strspn(val, "0123456789abcdef") != 64)
			return -EBADMSG;
		memcpy(m->container, val, 65);
		return 0;
	}
	if (!strcmp(key, "container_name")) {
		if (!wire_ctr_name_ok(val) || strlen(val) >= sizeof(m->container_name))
			return -EBADMSG;
		snprintf(m->container_name, sizeof(m->container_name), "%s", val);
		return 0;
	}
	/* a runc container's: an older ferry ignores these three lines and
	 * then finds a container_name without a container, which makes the
	 * version damaged to it, not a tree to restore with CRIU alone */
	if (!strcmp(key, "engine")) {
		if (strcmp(val, "runc"))
			return -EBADMSG;
		m->runc = true;
		return 0;
	}
	if (!strcmp(key, "runc_bundle")) {
		if (strlen(val) >= sizeof(m->runc_bundle) || !wire_clean_abs_path(val))
			return -EBADMSG;
		snprintf(m->runc_bundle, sizeof(m->runc_bundle), "%s", val);
		return 0;
	}
	if (!strcmp(key, "runc_config")) {
		if (strlen(val) != 64 || strspn(val, "0123456789abcdef") != 64)
			return -EBADMSG;
		memcpy(m->runc_config, val, 65);
		return 0;
	}
	if (!strcmp(key, "top")) {
		if (strlen(val) >= sizeof(m->top) || !ha_name_ok(val, strlen(val)))
			return -EBADMSG;
		snprintf(m->top, sizeof(m->top), "%s", val);
		return 0;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (strcmp(key, f[i].k))
			continue;
		if (!ferry_parse_u64(val, 0, f[i].w == 4 ? UINT32_MAX : UINT64_MAX, &v))
			return -EBADMSG;
		if (f[i].w == 4)
			*(uint32_t *)((char *)m + f[i].off) = (uint32_t)v;
		else
			*(uint64_t *)((char *)m + f[i].off) = v;
		return 0;
	}
	return 0;	/* a figure a later ferry added: not needed to restore */
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;

	/* the manifest's size (MAX_MANIFEST) bounds n */
	if (n < *cap)
		return 0;
	nv = realloc(*v, (*cap = *cap ? 2 * *cap : 64) * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	return 0;
}

/* Parse one line (NUL-terminated, no newline) into mf. */
static int parse_line(struct manifest *mf, char *line, char *err, size_t errlen)
{
	char *f[6];
	int nf = 0;
	uint64_t a, b;

	for (char *s = strtok(line, " "); s && nf < 6; s = strtok(NULL, " "))
		f[nf++] = s;
	if (!nf)
		return ferry_errf(err, errlen, -EBADMSG, "empty line");
	if (!strcmp(f[0], "file") && nf == 4) {
		struct mf_entry *e;

		if (!ha_path_ok(f[1]) || strlen(f[1]) >= sizeof(e->path) || !hex_ok(f[3]) ||
		    !ferry_parse_u64(f[2], 0, UINT64_MAX, &a))
			return ferry_errf(err, errlen, -EBADMSG, "bad file line");
		if (mf->n >= HA_MAX_ENTRIES || grow((void **)&mf->e, &mf->cap, mf->n, sizeof(*e)))
			return ferry_errf(err, errlen, -E2BIG, "too many entries");
		e = &mf->e[mf->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->path, sizeof(e->path), "%s", f[1]);
		snprintf(e->hex, sizeof(e->hex), "%s", f[3]);
		e->size = a;
		e->chunk0 = mf->nc;
		return 0;
	}
	if (!strcmp(f[0], "chunk") && nf == 4) {
		struct mf_entry *e = mf->n ? &mf->e[mf->n - 1] : NULL;

		if (!e || e->link || !hex_ok(f[3]) || !ferry_parse_u64(f[1], 0, UINT64_MAX, &a) ||
		    !ferry_parse_u64(f[2], 1, HA_CHUNK, &b) || a != (uint64_t)e->nchunks * HA_CHUNK ||
		    a + b > e->size)
			return ferry_errf(err, errlen, -EBADMSG, "bad chunk line");
		if (grow((void **)&mf->c, &mf->capc, mf->nc, sizeof(*mf->c)))
			return ferry_errf(err, errlen, -E2BIG, "too many chunks");
		mf->c[mf->nc].off = a;
		mf->c[mf->nc].len = b;
		snprintf(mf->c[mf->nc].hex, sizeof(mf->c[0].hex), "%s", f[3]);
		mf->nc++;
		e->nchunks++;
		return 0;
	}
	if (!strcmp(f[0], "link") && nf == 3) {
		struct mf_entry *e;

		if (!ha_path_ok(f[1]) || strlen(f[1]) >= sizeof(e->path) ||
		    strlen(f[2]) >= sizeof(e->target))
			return ferry_errf(err, errlen, -EBADMSG, "bad link line");
		if (mf->n >= HA_MAX_ENTRIES || grow((void **)&mf->e, &mf->cap, mf->n, sizeof(*e)))
			return ferry_errf(err, errlen, -E2BIG, "too many entries");
		e = &mf->e[mf->n++];
		memset(e, 0, sizeof(*e));
		e->link = true;
		snprintf(e->path, sizeof(e->path), "%s", f[1]);
		snprintf(e->target, sizeof(e->target), "%s", f[2]);
		return 0;
	}
	if (!strcmp(f[0], "ferry-checkpoint") && nf == 2)
		return strcmp(f[1], "1") ? ferry_errf(err, errlen, -ENOTSUP,
						"manifest format %.16s (this ferry reads 1)", f[1]) : 0;
	if (nf == 2 && meta_field(&mf->meta, f[0], f[1]) == 0)
		return 0;
	return ferry_errf(err, errlen, -EBADMSG, "unexpected line \"%.40s\"", f[0]);
}

/* Read and check vdir/MANIFEST (its own checksum and every line). */
static int manifest_read(const char *vdir, struct manifest *mf, char *err, size_t errlen)
{
	char path[4200], *text, *p, *end, hex[HEX_LEN + 1];
	uint8_t d[SHA_LEN];
	struct stat sb;
	size_t len;
	int fd, ret = 0, lineno = 0;

	memset(mf, 0, sizeof(*mf));
	snprintf(path, sizeof(path), "%s/%s", vdir, HA_MANIFEST);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ferry_errf(err, errlen, errno == ENOENT ? -EBADMSG : -errno, "%s: %s",
			    HA_MANIFEST, strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > MAX_MANIFEST ||
	    sb.st_size < 8) {
		close(fd);
		return ferry_errf(err, errlen, -EBADMSG, "%s: not a manifest (size %lld)", HA_MANIFEST,
			    (long long)sb.st_size);
	}
	len = (size_t)sb.st_size;
	text = malloc(len + 1);
	if (!text) {
		close(fd);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	if (pread(fd, text, len, 0) != (ssize_t)len) {
		close(fd);
		free(text);
		return ferry_errf(err, errlen, -EBADMSG, "%s: short read", HA_MANIFEST);
	}
	close(fd);
	text[len] = 0;
	/* the last line, "end SHA256", covers all before it */
	end = len >= HEX_LEN + 5 ? text + len - (HEX_LEN + 5) : NULL;
	if (!end || strncmp(end, "end ", 4) || end[HEX_LEN + 4] != '\n' ||
	    (end != text && end[-1] != '\n')) {
		free(text);
		return ferry_errf(err, errlen, -EBADMSG, "%s is truncated (no end line)", HA_MANIFEST);
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, text, (size_t)(end - text), d);
	to_hex(d, hex);
	if (strncmp(end + 4, hex, HEX_LEN)) {
		free(text);
		return ferry_errf(err, errlen, -EBADMSG, "%s does not match its own checksum",
			    HA_MANIFEST);
	}
	*end = 0;
	for (p = text; !ret && *p; ) {
		char *nl = strchr(p, '\n');

		lineno++;
		if (!nl || nl - p >= HA_MAX_LINE) {
			ret = ferry_errf(err, errlen, -EBADMSG, "line %d too long", lineno);
			break;
		}
		*nl = 0;
		ret = parse_line(mf, p, err, errlen);
		if (ret) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (%s line %d)", HA_MANIFEST, lineno);
		}
		p = nl + 1;
	}
	free(text);
	if (!ret && !mf->meta.runc && !mf->meta.container[0] != !mf->meta.container_name[0])
		ret = ferry_errf(err, errlen, -EBADMSG, "%s names a container without its ID or name",
				 HA_MANIFEST);
	if (!ret && (mf->meta.runc ? mf->meta.container[0] || !mf->meta.container_name[0] ||
		     !mf->meta.runc_bundle[0] || !mf->meta.runc_config[0] ||
		     strlen(mf->meta.container_name) > WIRE_CTR_ID_LEN :
		     mf->meta.runc_bundle[0] || mf->meta.runc_config[0]))
		ret = ferry_errf(err, errlen, -EBADMSG, "%s: a runc container's version needs its "
				 "ID, bundle and config.json's SHA-256, and nothing else has them",
				 HA_MANIFEST);
	if (!ret && (!mf->meta.version || !mf->meta.top[0] || !mf->n))
		ret = ferry_errf(err, errlen, -EBADMSG, "%s lacks version, top or files", HA_MANIFEST);
	if (!ret) {
		qsort(mf->e, mf->n, sizeof(*mf->e), cmp_entry);
		for (size_t i = 1; !ret && i < mf->n; i++)
			if (!strcmp(mf->e[i - 1].path, mf->e[i].path))
				ret = ferry_errf(err, errlen, -EBADMSG, "%s names %s twice", HA_MANIFEST,
					   mf->e[i].path);
	}
	if (ret)
		manifest_free(mf);
	return ret;
}

int ha_meta_read(const char *vdir, struct ha_meta *meta, char *err, size_t errlen)
{
	struct manifest mf;
	int ret = manifest_read(vdir, &mf, err, errlen);

	if (!ret)
		*meta = mf.meta;
	manifest_free(&mf);
	return ret;
}

static struct mf_entry *find_entry(struct manifest *mf, const char *path)
{
	struct mf_entry key;
	size_t len = strlen(path);

	if (len >= sizeof(key.path))
		return NULL;
	memcpy(key.path, path, len + 1);
	return bsearch(&key, mf->e, mf->n, sizeof(*mf->e), cmp_entry);
}

/* One file against its entry: size, whole checksum, chunks. */
static int check_file(int vfd, struct manifest *mf, struct mf_entry *e, char *err,
		      size_t errlen)
{
	struct file_sum fs;
	int fd, ret;

	fd = openat(vfd, e->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ferry_errf(err, errlen, errno == ENOENT ? -EBADMSG : -errno, "%s: %s", e->path,
			    strerror(errno));
	ret = sum_fd(fd, false, &fs);
	close(fd);
	if (ret) {
		sum_free(&fs);
		return ferry_errf(err, errlen, ret, "%s: %s", e->path, strerror(-ret));
	}
	if (fs.size != e->size)
		ret = ferry_errf(err, errlen, -EBADMSG, "%s has %llu bytes, the manifest says %llu",
			   e->path, (unsigned long long)fs.size, (unsigned long long)e->size);
	else if (e->nchunks != fs.nchunks)
		ret = ferry_errf(err, errlen, -EBADMSG, "the manifest has %zu chunk checksums of %s, "
			   "not %zu", e->nchunks, e->path, fs.nchunks);
	for (size_t c = 0; !ret && c < e->nchunks && c < fs.nchunks; c++)
		if (strcmp(fs.chunks[c], mf->c[e->chunk0 + c].hex))
			ret = ferry_errf(err, errlen, -EBADMSG,
				   "%s: bytes %llu-%llu differ from their checksum", e->path,
				   (unsigned long long)mf->c[e->chunk0 + c].off,
				   (unsigned long long)(mf->c[e->chunk0 + c].off +
							mf->c[e->chunk0 + c].len));
	if (!ret && strcmp(fs.hex, e->hex))
		ret = ferry_errf(err, errlen, -EBADMSG, "%s differs from its checksum", e->path);
	sum_free(&fs);
	return ret;
}

/* Everything in the version must be in the manifest. */
static int check_unlisted(int vfd, struct manifest *mf, const char *prefix, int depth,
			  char *err, size_t errlen)
{
	char **names;
	size_t n;
	int ret = ha_dir_names(vfd, &names, &n);

	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", prefix, strerror(-ret));
	for (size_t i = 0; !ret && i < n; i++) {
		char path[512];
		struct stat sb;

		if (!depth && !strcmp(names[i], HA_MANIFEST))
			continue;
		snprintf(path, sizeof(path), "%s%s", prefix, names[i]);
		if (fstatat(vfd, names[i], &sb, AT_SYMLINK_NOFOLLOW)) {
			ret = ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		} else if (S_ISDIR(sb.st_mode) && !depth) {
			int fd = openat(vfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			char sub[520];

			if (fd < 0) {
				ret = ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
				continue;
			}
			snprintf(sub, sizeof(sub), "%s/", path);
			ret = check_unlisted(fd, mf, sub, 1, err, errlen);
			close(fd);
		} else if (!find_entry(mf, path)) {
			ret = ferry_errf(err, errlen, -EBADMSG, "%s is not in the manifest", path);
		}
	}
	ha_names_free(names, n);
	return ret;
}

int ha_verify(const char *vdir, struct ha_meta *meta, char *err, size_t errlen)
{
	struct manifest mf;
	int vfd, ret;

	ret = manifest_read(vdir, &mf, err, errlen);
	if (ret)
		return ret;
	if (meta)
		*meta = mf.meta;
	vfd = open(vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0) {
		manifest_free(&mf);
		return ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
	}
	for (size_t i = 0; !ret && i < mf.n; i++) {
		struct mf_entry *e = &mf.e[i];

		if (e->link) {
			char t[256];
			ssize_t tl;

			if (!ha_link_ok(e->path, e->target, mf.meta.base)) {
				ret = ferry_errf(err, errlen, -EBADMSG, "%s: link %s -> %s leaves the "
						 "version", HA_MANIFEST, e->path, e->target);
				continue;
			}
			tl = readlinkat(vfd, e->path, t, sizeof(t) - 1);
			if (tl < 0)
				ret = ferry_errf(err, errlen, -EBADMSG, "link %s: %s", e->path,
					   strerror(errno));
			else if (t[tl] = 0, strcmp(t, e->target))
				ret = ferry_errf(err, errlen, -EBADMSG, "link %s points to %s, not %s",
					   e->path, t, e->target);
			continue;
		}
		ret = check_file(vfd, &mf, e, err, errlen);
	}
	if (!ret)
		ret = check_unlisted(vfd, &mf, "", 0, err, errlen);
	close(vfd);
	manifest_free(&mf);
	return ret;
}

int ha_verify_chain(const struct ha_store *st, uint32_t v, struct ha_meta *meta, char *err,
		    size_t errlen)
{
	uint32_t at = v;

	for (unsigned int depth = 0; depth <= HA_MAX_CHAIN; depth++) {
		struct ha_meta m;
		char vdir[4200], why[1024];
		int ret;

		ha_store_path(st, at, vdir, sizeof(vdir));
		if (access(vdir, F_OK) && errno == ENOENT)
			ret = ferry_errf(why, sizeof(why), -EBADMSG, "it is missing");
		else
			ret = ha_verify(vdir, &m, why, sizeof(why));
		if (!ret && m.version != at)
			ret = ferry_errf(why, sizeof(why), -EBADMSG, "its manifest is of version %u",
					 m.version);
		if (!ret && m.base >= at)
			ret = ferry_errf(why, sizeof(why), -EBADMSG, "it builds on version %u, "
					 "which is not older", m.base);
		if (ret) {
			if (at == v)
				return ferry_errf(err, errlen, ret, "%s", why);
			return ferry_errf(err, errlen, ret, "it builds on version %u, which is "
					  "damaged: %s", at, why);
		}
		if (at == v && meta)
			*meta = m;
		if (!m.base)
			return 0;
		at = m.base;
	}
	return ferry_errf(err, errlen, -EBADMSG, "its chain of versions is longer than %u",
			  HA_MAX_CHAIN);
}

int ha_manifest_list(const char *vdir, struct ha_entry **out, size_t *n, struct ha_meta *meta,
		     char *err, size_t errlen)
{
	struct manifest mf;
	struct ha_entry *e;
	int ret;

	*out = NULL;
	*n = 0;
	ret = manifest_read(vdir, &mf, err, errlen);
	if (ret)
		return ret;
	e = calloc(mf.n, sizeof(*e));
	if (!e) {
		manifest_free(&mf);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < mf.n; i++) {
		snprintf(e[i].path, sizeof(e[i].path), "%s", mf.e[i].path);
		snprintf(e[i].target, sizeof(e[i].target), "%s", mf.e[i].target);
		e[i].link = mf.e[i].link;
		e[i].size = mf.e[i].size;
	}
	if (meta)
		*meta = mf.meta;
	*out = e;
	*n = mf.n;
	manifest_free(&mf);
	return 0;
}
