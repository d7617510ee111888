// SPDX-License-Identifier: GPL-2.0
/*
 * A container's version as Podman's own checkpoint archive (`ferry
 * checkpoint --container X --export FILE`, see ha_export.h).
 *
 * The version's final/ holds what `podman container checkpoint
 * --with-previous --export` wrote: Podman's layout (checkpoint/,
 * config.dump, spec.dump, network.status, rootfs-diff.tar, ...), whose
 * checkpoint/ builds on a pre-checkpoint/ that Podman did not put in it
 * (the version's rounds). The export is that archive with checkpoint/
 * made to stand alone: every page of the rounds and of the final dump,
 * present, in its own pages files, and no parent link. So any restorer of
 * the layout takes it with nothing else: `podman container restore
 * --import FILE`, and CRI-O's, which never reads a pre-checkpoint.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ctr.h"
#include "ha_export.h"
#include "ha_store.h"
#include "mig.h"
#include "util.h"

#define EXPORT_TIMEOUT_MS	CTR_PODMAN_TIMEOUT_MS	/* one tar run */
#define EXPORT_MAX_TOP		64	/* entries at the top of Podman's archive */

/* tar ARGS... with its standard error into log; 0 or -EIO (err says). */
static int run_tar(const char *const argv[], const char *log, char *err, size_t errlen)
{
	char tail[1024];
	int ret = mig_run_timeout(argv, log, EXPORT_TIMEOUT_MS);

	if (!ret)
		return 0;
	mig_log_errors(log, tail, sizeof(tail));
	return ferry_errf(err, errlen, -EIO, "%s %s failed (%d): %s", argv[0], argv[1], ret, tail);
}

/* The names at the top of dir (no "." or ".."), for tar's argument list:
 * explicit names, so that the archive has "checkpoint/..." as Podman's
 * does, not "./checkpoint/...". */
static int top_names(const char *dir, const char **argv, int *n, int max, char *names,
		     size_t size, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t used = 0;
	int ret = 0;

	if (!d)
		return ferry_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	while (!ret && (de = readdir(d))) {
		size_t len = strlen(de->d_name) + 1;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n >= max || used + len > size) {
			ret = ferry_errf(err, errlen, -E2BIG, "%s: more than %d entries",
					 dir, EXPORT_MAX_TOP);
			break;
		}
		memcpy(names + used, de->d_name, len);
		argv[(*n)++] = names + used;
		used += len;
	}
	closedir(d);
	return ret;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int ha_export_container(const char *vdir, const struct ha_meta *meta, const char *file,
			struct ha_export_stats *st, char *err, size_t errlen)
{
	char abs_v[PATH_MAX], fdir[PATH_MAX], work[PATH_MAX + 64], tree[PATH_MAX + 80];
	char arch[PATH_MAX + 64], ckpt[PATH_MAX + 96], flat[PATH_MAX + 96], old[PATH_MAX + 96];
	char link[PATH_MAX + 96], top[PATH_MAX + 32], out[PATH_MAX + 80], log[PATH_MAX + 80];
	char plink[PATH_MAX + 112];
	char target[64], names[EXPORT_MAX_TOP * 256], fcopy[PATH_MAX];
	const char *argv[8 + EXPORT_MAX_TOP];
	uint64_t t0 = ferry_now_ns();
	struct stat sb;
	ssize_t tl;
	int n = 0, ret;

	memset(st, 0, sizeof(*st));
	if (!meta->container[0])
		return ferry_errf(err, errlen, -EINVAL, "version %u is not of a container",
				  meta->version);
	if (strlen(file) >= sizeof(fcopy))
		return ferry_errf(err, errlen, -ENAMETOOLONG, "%s: name too long", file);
	if (!realpath(vdir, abs_v))
		return ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
	/* the work directory beside FILE: the archive is renamed into place */
	snprintf(fcopy, sizeof(fcopy), "%s", file);
	if (!realpath(dirname(fcopy), fdir))
		return ferry_errf(err, errlen, -errno, "the directory of %s: %s", file,
				  strerror(errno));
	if (!stat(file, &sb) && !S_ISREG(sb.st_mode))
		return ferry_errf(err, errlen, -EEXIST, "%s exists and is not a file", file);
	snprintf(work, sizeof(work), "%s/.ferry-export-XXXXXX", fdir);
	if (!mkdtemp(work))
		return ferry_errf(err, errlen, -errno, "%s: %s", work, strerror(errno));
	snprintf(tree, sizeof(tree), "%s/archive", work);
	snprintf(log, sizeof(log), "%s/tar.log", work);
	snprintf(arch, sizeof(arch), "%s/final/%s", abs_v, CTR_ARCHIVE_NAME);
	snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", tree);
	snprintf(flat, sizeof(flat), "%s/checkpoint.flat", tree);
	snprintf(link, sizeof(link), "%s/pre-checkpoint", tree);
	snprintf(top, sizeof(top), "%s/%s", abs_v, meta->top);
	snprintf(out, sizeof(out), "%s/export.tar", work);

	/* 1. Podman's archive as it wrote it (this host's own, uncompressed) */
	if (mkdir(tree, 0700)) {
		ret = ferry_errf(err, errlen, -errno, "mkdir %s: %s", tree, strerror(errno));
		goto out;
	}
	{
		const char *x[] = { "tar", "-x", "--no-same-owner", "-C", tree, "-f", arch, NULL };

		ret = run_tar(x, log, err, errlen);
		if (ret)
			goto out;
	}
	/* 2. its checkpoint/ builds on ../pre-checkpoint: the version's rounds */
	if (lstat(ckpt, &sb) || !S_ISDIR(sb.st_mode)) {
		ret = ferry_errf(err, errlen, -EBADMSG, "%s holds no checkpoint/ directory", arch);
		goto out;
	}
	snprintf(plink, sizeof(plink), "%s/parent", ckpt);
	tl = readlink(plink, target, sizeof(target) - 1);
	if (tl < 0 && errno != ENOENT) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", plink, strerror(errno));
		goto out;
	}
	if (tl >= 0) {
		target[tl] = 0;
		if (strcmp(target, "../pre-checkpoint")) {
			ret = ferry_errf(err, errlen, -EBADMSG, "checkpoint/parent of %s points to %s, "
					 "not ../pre-checkpoint", arch, target);
			goto out;
		}
		if (symlink(top, link)) {
			ret = ferry_errf(err, errlen, -errno, "symlink %s: %s", link, strerror(errno));
			goto out;
		}
	}
	/* 3. checkpoint/ made to stand alone, in its place */
	ret = ha_flatten_images(ckpt, flat, err, errlen);
	if (ret)
		goto out;
	snprintf(old, sizeof(old), "%s/checkpoint.old", work);
	if (rename(ckpt, old) || rename(flat, ckpt)) {
		ret = ferry_errf(err, errlen, -errno, "replacing %s: %s", ckpt, strerror(errno));
		goto out;
	}
	if (tl >= 0 && unlink(link)) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", link, strerror(errno));
		goto out;
	}
	/* 4. the archive, flushed, then renamed to FILE */
	argv[n++] = "tar";
	argv[n++] = "-c";
	argv[n++] = "-C";
	argv[n++] = tree;
	argv[n++] = "-f";
	argv[n++] = out;
	ret = top_names(tree, argv, &n, (int)(sizeof(argv) / sizeof(argv[0])) - 1, names,
			sizeof(names), err, errlen);
	argv[n] = NULL;
	if (!ret)
		ret = run_tar(argv, log, err, errlen);
	if (ret)
		goto out;
	ret = fsync_path(out, 0);
	if (!ret && stat(out, &sb))
		ret = -errno;
	if (!ret && rename(out, file))
		ret = -errno;
	if (!ret)
		ret = fsync_path(fdir, O_DIRECTORY);
	if (ret) {
		ferry_errf(err, errlen, ret, "writing %s: %s", file, strerror(-ret));
		goto out;
	}
	st->bytes = (uint64_t)sb.st_size;
	st->ms = (ferry_now_ns() - t0) / 1000000;
out:
	mig_rmtree(work);
	return ret;
}
