// SPDX-License-Identifier: GPL-2.0
/* Volumes: where a Podman named volume lives, making and removing one;
 * bind mounts' host paths on the destination (ctr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ctr.h"
#include "mig.h"
#include "util.h"

int ctr_volume_path(const char *name, char *path, size_t size, char *err, size_t errlen)
{
	const char *argv[] = { "podman", "volume", "inspect", "--format", "{{.Mountpoint}}", name,
			       NULL };
	char out[4200];
	struct stat st;
	size_t n;
	int ret;

	ret = ctr_capture(argv, out, sizeof(out), NULL, CTR_PODMAN_TIMEOUT_MS);
	if (ret)
		return ferry_errf(err, errlen, ret < 0 ? ret : -ENOENT, "volume %s: podman volume "
				  "inspect %s", name, ret < 0 ? strerror(-ret) : "failed");
	n = strcspn(out, "\n");
	out[n] = 0;
	/* an absolute directory, or it is not a local volume ferry can copy */
	if (out[0] != '/' || n >= size || stat(out, &st) || !S_ISDIR(st.st_mode))
		return ferry_errf(err, errlen, -ENOTSUP, "volume %s: no local directory holds it "
				  "(Mountpoint '%.200s')", name, out);
	memcpy(path, out, n + 1);
	return 0;
}

int ctr_volume_create(const char *name, char *path, size_t size, const char *log, char *err,
		      size_t errlen)
{
	const char *argv[] = { "podman", "volume", "create", name, NULL };
	int ret;

	ret = mig_run_timeout(argv, log ? log : "/dev/null", CTR_PODMAN_TIMEOUT_MS);
	if (ret)
		return ferry_errf(err, errlen, -EIO, "podman volume create %s failed (%d)", name,
				  ret);
	ret = ctr_volume_path(name, path, size, err, errlen);
	if (ret)
		ctr_volume_remove(name, log);
	return ret;
}

int ctr_volume_remove(const char *name, const char *log)
{
	const char *argv[] = { "podman", "volume", "rm", "-f", name, NULL };

	if (ctr_exists("volume", name, NULL) == 0)
		return 0;	/* gone already */
	return mig_run_timeout(argv, log ? log : "/dev/null", CTR_PODMAN_TIMEOUT_MS) ? -EIO : 0;
}

int ctr_binds_here(const struct wire_ctr *k, const char *why, char *problem, size_t size)
{
	struct stat st;

	for (uint32_t i = 0; i < k->nvols; i++) {
		const struct wire_ctr_vol *v = &k->vols[i];

		if (v->kind == WIRE_CTR_VOL_BIND && stat(v->src, &st))
			return ferry_errf(problem, size, 1, "%s (bind-mounted at %s) is not here "
					  "(%s): %s (put it on storage both hosts share)", v->src,
					  v->dest, strerror(errno), why);
	}
	return 0;
}
