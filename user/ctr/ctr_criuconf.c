// SPDX-License-Identifier: GPL-2.0
/* Podman's restore from ferry's own images; see ctr_criuconf.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ctr.h"
#include "ctr_criuconf.h"
#include "mig.h"
#include "jscan.h"
#include "util.h"

static bool raw_ends(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);

	return n > t && s[n - t - 1] == '/' && !memcmp(s + n - t, tail, t);
}

bool ctr_criuconf_path_ok(const char *path)
{
	if (path[0] != '/' || strlen(path) > 4000)
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' || *p == '\\' || *p == '#')
			return false;
	return true;
}

/* Where the edit goes: [cut_from, cut_to) of the text is replaced by ins. */
struct spec_edit {
	const char *cut_from, *cut_to;
	bool new_member;	/* ins is a whole "annotations" member */
	bool new_object;	/* ins is the annotations object (for a null) */
	bool comma;		/* ins follows another member */
};

/* The members of the annotations object at c->p: where ours goes. */
static int scan_annotations(struct jscan *c, struct spec_edit *e, char *err, size_t errlen)
{
	const char *s, *v;
	size_t n, vn;
	bool esc, vesc, any = false;
	int ret;

	c->depth++;
	c->p++;		/* '{' */
	for (;;) {
		jscan_ws(c);
		if (c->p < c->end && *c->p == '}' && !any)
			break;
		ret = jscan_str(c, &s, &n, &esc);
		if (ret)
			return ret;
		if (esc)
			return ferry_errf(err, errlen, 1, "spec.dump: an annotation key with an "
					  "escape");
		jscan_ws(c);
		if (c->p >= c->end || *c->p++ != ':')
			return -EINVAL;
		jscan_ws(c);
		if (jscan_is(s, n, CTR_CRIU_ANNOTATION)) {
			const char *at = c->p;

			if (e->cut_from)
				return ferry_errf(err, errlen, 1, "spec.dump: annotation %s twice",
						  CTR_CRIU_ANNOTATION);
			ret = jscan_str(c, &v, &vn, &vesc);
			if (ret)
				return ret;
			if (vesc || !raw_ends(v, vn, CTR_CRIU_CONF_NAME))
				return ferry_errf(err, errlen, 1, "the container has an annotation "
						  "%s of its own (%.*s)", CTR_CRIU_ANNOTATION,
						  (int)(vn > 200 ? 200 : vn), v);
			e->cut_from = at;	/* an earlier migration's: replaced */
			e->cut_to = c->p;
		} else {
			ret = jscan_value(c);
			if (ret)
				return ret;
		}
		any = true;
		jscan_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p >= c->end || *c->p != '}')
			return -EINVAL;
		break;
	}
	if (!e->cut_from) {	/* ours goes last */
		e->cut_from = e->cut_to = c->p;
		e->comma = any;
	}
	c->p++;		/* '}' */
	c->depth--;
	return 0;
}

int ctr_spec_annotate(const char *spec, size_t len, const char *conf, char **out, size_t *outlen,
		      char *err, size_t errlen)
{
	struct jscan c = { .p = spec, .end = spec + len };
	struct spec_edit e = { 0 };
	const char *root_close = NULL, *s;
	char ins[4200];
	size_t n, il;
	bool esc, any = false, seen = false;
	int ret;

	if (!ctr_criuconf_path_ok(conf))
		return ferry_errf(err, errlen, -EINVAL, "%s: not a path for CRIU's configuration",
				  conf);
	if (len > CTR_SPEC_MAX)
		return ferry_errf(err, errlen, -EINVAL, "spec.dump: larger than %u bytes",
				  CTR_SPEC_MAX);
	jscan_ws(&c);
	if (c.p >= c.end || *c.p != '{')
		return ferry_errf(err, errlen, -EINVAL, "spec.dump: not a JSON object");
	c.p++;
	c.depth = 1;
	for (;;) {
		jscan_ws(&c);
		if (c.p < c.end && *c.p == '}' && !any)
			break;
		ret = jscan_str(&c, &s, &n, &esc);
		if (ret)
			goto bad;
		if (esc)
			return ferry_errf(err, errlen, 1, "spec.dump: a key with an escape");
		jscan_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			goto bad;
		jscan_ws(&c);
		if (jscan_is(s, n, "annotations")) {
			if (seen)
				return ferry_errf(err, errlen, 1, "spec.dump: annotations twice");
			seen = true;
			if (c.p < c.end && *c.p == '{') {
				ret = scan_annotations(&c, &e, err, errlen);
				if (ret)
					goto bad;
			} else if (jscan_word(&c, "null")) {
				e.cut_from = c.p - 4;	/* the null becomes the object */
				e.cut_to = c.p;
				e.new_object = true;
			} else {
				ret = -EINVAL;
				goto bad;
			}
		} else {
			ret = jscan_value(&c);
			if (ret)
				goto bad;
		}
		any = true;
		jscan_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p >= c.end || *c.p != '}') {
			ret = -EINVAL;
			goto bad;
		}
		break;
	}
	root_close = c.p++;
	jscan_ws(&c);
	if (c.p != c.end) {
		ret = -EINVAL;
		goto bad;
	}
	if (!seen) {	/* a new member, last */
		e.cut_from = e.cut_to = root_close;
		e.comma = any;
		e.new_member = true;
	}
	if (e.new_member)
		il = (size_t)snprintf(ins, sizeof(ins), "%s\"annotations\":{\"%s\":\"%s\"}",
				      e.comma ? "," : "", CTR_CRIU_ANNOTATION, conf);
	else if (e.new_object)
		il = (size_t)snprintf(ins, sizeof(ins), "{\"%s\":\"%s\"}", CTR_CRIU_ANNOTATION,
				      conf);
	else if (e.cut_to > e.cut_from)	/* the value only */
		il = (size_t)snprintf(ins, sizeof(ins), "\"%s\"", conf);
	else
		il = (size_t)snprintf(ins, sizeof(ins), "%s\"%s\":\"%s\"", e.comma ? "," : "",
				      CTR_CRIU_ANNOTATION, conf);
	if (il >= sizeof(ins))
		return ferry_errf(err, errlen, -EINVAL, "%s: too long", conf);
	n = len - (size_t)(e.cut_to - e.cut_from) + il;
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, spec, (size_t)(e.cut_from - spec));
	memcpy(*out + (e.cut_from - spec), ins, il);
	memcpy(*out + (e.cut_from - spec) + il, e.cut_to, len - (size_t)(e.cut_to - spec));
	(*out)[n] = 0;
	*outlen = n;
	return 0;
bad:
	if (ret > 0)
		return ret;
	return ferry_errf(err, errlen, -EINVAL, "spec.dump: not valid JSON (at byte %zu)",
			  (size_t)(c.p - spec));
}

/* ---- the archive ------------------------------------------------------------------ */

static int run_tar(const char *const argv[], const char *log, const char *what, char *err,
		   size_t errlen)
{
	char tail[1024];
	int ret = mig_run_timeout(argv, log, CTR_PODMAN_TIMEOUT_MS);

	if (!ret)
		return 0;
	mig_log_errors(log, tail, sizeof(tail));
	return ferry_errf(err, errlen, -EIO, "tar (%s) failed (%d): %s", what, ret, tail);
}

/*
 * The end of a tar archive (its first all-zero header block), walking its
 * members' headers: each one's checksum checked, its data skipped. ustar,
 * PAX and GNU long-name headers are members like any other; a GNU sparse
 * or multi-volume member is refused (-ENOTSUP), as is anything that does
 * not add up within size (-EINVAL).
 */
static int64_t tar_end(int fd, uint64_t size)
{
	uint8_t h[512];
	uint64_t off = 0;

	for (;;) {
		uint64_t sum = 0, want = 0, len = 0;
		bool zero = true;

		if (off + 512 > size || pread(fd, h, 512, (off_t)off) != 512)
			return -EINVAL;
		for (int i = 0; i < 512; i++) {
			zero &= !h[i];
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		}
		if (zero)
			return (int64_t)off;
		for (int i = 148; i < 156 && h[i] >= '0' && h[i] <= '7'; i++)
			want = want * 8 + (uint64_t)(h[i] - '0');
		if (sum != want)
			return -EINVAL;
		if (h[156] == 'S' || h[156] == 'M' || h[156] == 'V')
			return -ENOTSUP;
		if (h[124] & 0x80)		/* base-256: a member beyond 8 GiB */
			return -ENOTSUP;
		for (int i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
			len = len * 8 + (uint64_t)(h[i] - '0');
		if (len > size)
			return -EINVAL;
		off += 512 + (len + 511) / 512 * 512;
	}
}

int ctr_tar_append(const char *archive, const char *name, const void *data, size_t len,
		   char *err, size_t errlen)
{
	static const uint8_t zeros[511 + 1024];	/* padding, then the end marker */
	uint8_t h[512] = { 0 };
	struct stat st;
	int64_t end;
	uint64_t sum = 0;
	size_t pad = (512 - len % 512) % 512;
	int fd, ret = 0;

	if (strlen(name) >= 100 || len > CTR_SPEC_MAX)
		return ferry_errf(err, errlen, -EINVAL, "%s: not a member ferry writes", name);
	fd = open(archive, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", archive, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = ferry_errf(err, errlen, -EINVAL, "%s: not a file", archive);
		goto out;
	}
	end = tar_end(fd, (uint64_t)st.st_size);
	if (end < 0) {
		ret = ferry_errf(err, errlen, (int)end, "%s: %s", archive,
				 end == -ENOTSUP ? "a tar member of a kind ferry does not walk"
						 : "not a tar archive that adds up");
		goto out;
	}
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)time(NULL));
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06llo", (unsigned long long)sum);	/* NUL, then ' ' */
	h[155] = ' ';
	/* in place of the end marker: header, data, padding, a new marker */
	if (ftruncate(fd, (off_t)end) ||
	    ferry_pwrite_all(fd, h, 512, (uint64_t)end) ||
	    ferry_pwrite_all(fd, data, len, (uint64_t)end + 512) ||
	    ferry_pwrite_all(fd, zeros, pad + 1024, (uint64_t)end + 512 + len) || fsync(fd))
		ret = ferry_errf(err, errlen, -EIO, "%s: appending %s: %s", archive, name,
				 strerror(errno));
out:
	close(fd);
	return ret;
}

int ctr_criuconf_prepare(const char *archive, const char *img_dir, const char *conf,
			 const char *work_dir, char *err, size_t errlen)
{
	char log[4300], sdir[4300], spath[4400], link[4300], *spec = NULL, *edited = NULL;
	size_t slen = 0, elen = 0;
	int ret;

	if (!ctr_criuconf_path_ok(img_dir) || !ctr_criuconf_path_ok(conf))
		return ferry_errf(err, errlen, 1, "%s: a path CRIU's configuration cannot hold",
				  ctr_criuconf_path_ok(img_dir) ? conf : img_dir);
	snprintf(log, sizeof(log), "%s/archive-tar.log", work_dir);
	snprintf(sdir, sizeof(sdir), "%s/spec", work_dir);
	snprintf(spath, sizeof(spath), "%s/spec.dump", sdir);
	if (mkdir(sdir, 0700))
		return ferry_errf(err, errlen, -errno, "%s: %s", sdir, strerror(errno));
	{
		const char *x[] = { "tar", "-x", "--no-same-owner", "-f", archive, "-C", sdir,
				    "spec.dump", NULL };

		ret = run_tar(x, log, "spec.dump out of the archive", err, errlen);
	}
	if (!ret) {
		ret = ferry_read_whole(spath, CTR_SPEC_MAX, &spec, &slen);
		if (ret)
			ferry_errf(err, errlen, ret, "the archive's spec.dump: %s", strerror(-ret));
	}
	if (!ret)
		ret = ctr_spec_annotate(spec, slen, conf, &edited, &elen, err, errlen);
	free(spec);
	if (ret)
		return ret;
	/* the edited one goes last: Podman's untar (and GNU tar) let a
	 * later member of a name replace an earlier one */
	ret = ctr_tar_append(archive, "spec.dump", edited, elen, err, errlen);
	free(edited);
	if (ret == -ENOTSUP)
		return 1;	/* nothing written: Podman unpacks it as it is */
	if (!ret) {
		/* CRIU's images; GNU tar keeps a member's symlink from
		 * pointing an extraction elsewhere (it makes them last) */
		const char *x[] = { "tar", "-x", "--no-same-owner", "-f", archive, "-C", img_dir,
				    "--strip-components=1", "checkpoint", NULL };

		ret = run_tar(x, log, "the final dump out of the archive", err, errlen);
	}
	if (ret)
		return ret;
	/* the source's parent link (../pre-checkpoint) means nothing here */
	snprintf(link, sizeof(link), "%s/parent", img_dir);
	if (unlink(link) && errno != ENOENT)
		return ferry_errf(err, errlen, -errno, "%s: %s", link, strerror(errno));
	return 0;
}

int ctr_archive_memory(const char *archive, const char *dir, const char *log, char *err,
		       size_t errlen)
{
	/* the parent link and the other images stay in the archive; GNU
	 * tar fails on a pattern that names no member: a dump with no
	 * pagemap is no container's */
	const char *x[] = { "tar", "-x", "--no-same-owner", "-f", archive, "-C", dir,
			    "--strip-components=1", "--wildcards", "--no-wildcards-match-slash",
			    "checkpoint/pagemap-*.img", "checkpoint/pages-*.img", NULL };

	return run_tar(x, log, "the final dump's memory out of the archive", err, errlen);
}

int ctr_criuconf_write(const char *conf, const char *img_dir, const char *work_dir, bool lazy,
		       char *err, size_t errlen)
{
	char text[8400], link[4200];
	int fd, n, ret;

	if (!work_dir)
		work_dir = img_dir;
	if (!ctr_criuconf_path_ok(img_dir) || strlen(img_dir) > 4000)
		return ferry_errf(err, errlen, -EINVAL, "%s: a path CRIU's configuration cannot "
				  "hold", img_dir);
	if (!ctr_criuconf_path_ok(work_dir) || strlen(work_dir) > 4000)
		return ferry_errf(err, errlen, -EINVAL, "%s: a path CRIU's configuration cannot "
				  "hold", work_dir);
	/* CRIU 3.17's RPC readlink()s the images dir (it expects
	 * /proc/PID/fd/N) and fails with EBADRQC on a plain directory: it
	 * gets a link to it */
	snprintf(link, sizeof(link), "%s.link", img_dir);
	unlink(link);
	if (symlink(img_dir, link))
		return ferry_errf(err, errlen, -errno, "%s: %s", link, strerror(errno));
	n = snprintf(text, sizeof(text), "images-dir %s\nwork-dir %s\n%s", link, work_dir,
		     lazy ? "lazy-pages\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return ferry_errf(err, errlen, -EINVAL, "%s: too long", img_dir);
	unlink(conf);
	fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", conf, strerror(errno));
	ret = ferry_write_all(fd, text, (size_t)n);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		unlink(conf);
		return ferry_errf(err, errlen, ret, "%s: %s", conf, strerror(-ret));
	}
	return 0;
}
