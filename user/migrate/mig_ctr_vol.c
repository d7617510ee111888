// SPDX-License-Identifier: GPL-2.0
/*
 * `ferry migrate --container`: its named volumes pre-copied (mig_src.h,
 * ctr_volsync.h). Podman's archive would carry their whole content while
 * the container is frozen; a destination that takes VOLUME frames gets it
 * before the pre-copy instead, and the checkpoint leaves the volumes out
 * (--ignore-volumes), so the downtime carries only what changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctr.h"
#include "mig_src.h"
#include "util.h"

bool src_ctr_vols_precopied(const struct mig *m)
{
	return m->peer_caps & WIRE_CAP_VOLUMES;
}

int src_ctr_volumes_precopy(struct mig *m)
{
	const struct wire_ctr *k = &m->ctr->w;
	char path[4096], err[3000] = "";
	int ret;

	if (!src_ctr_vols_precopied(m))
		return 0;
	for (uint32_t i = 0; i < k->nvols; i++)
		if (k->vols[i].kind == WIRE_CTR_VOL_NAMED)
			m->nvols++;
	if (!m->nvols)
		return 0;
	m->vols = calloc(m->nvols, sizeof(*m->vols));
	if (!m->vols)
		return src_seterr(m, -ENOMEM, "out of memory");
	for (uint32_t n = 0; n < m->nvols; n++)
		m->vols[n].rootfd = -1;
	for (uint32_t i = 0, n = 0; i < k->nvols; i++) {
		struct src_vol *v = &m->vols[n];
		uint64_t t;

		if (k->vols[i].kind != WIRE_CTR_VOL_NAMED)
			continue;
		v->idx = i;
		n++;
		ret = ctr_volume_path(k->vols[i].src, path, sizeof(path), m->err, sizeof(m->err));
		if (ret)
			return ret;
		v->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (v->rootfd < 0)
			return src_seterr(m, -errno, "volume %s: %s: %s", k->vols[i].src, path,
					  strerror(errno));
		t = ferry_now_ns();
		ret = vs_walk(v->rootfd, &v->pre, err, sizeof(err));
		if (ret)
			return src_seterr(m, ret, "volume %s: %s", k->vols[i].src, err);
		if (v->pre.special)
			ferry_warn("volume %s: %zu sockets, FIFOs or device nodes are not copied",
				   k->vols[i].src, v->pre.special);
		if (v->pre.hardlinked)
			ferry_warn("volume %s: %zu files have hard links; each name gets its own "
				   "copy on %s", k->vols[i].src, v->pre.hardlinked, m->o->to);
		src_progress("volume %s: pre-copying %zu entries, %.1f MiB", k->vols[i].src,
			     v->pre.n, v->pre.bytes / 1048576.0);
		/* the destination makes the volume (Podman: up to a minute
		 * under load) before it answers */
		wire_set_timeout(&m->c, CTR_PODMAN_TIMEOUT_MS + MIG_REPLY_TIMEOUT_MS);
		ret = vs_send_phase(&m->c, (uint8_t)i, v->rootfd, &v->pre, NULL, &v->pre_st,
				    err, sizeof(err));
		wire_set_timeout(&m->c, MIG_REPLY_TIMEOUT_MS);
		if (ret)
			return src_seterr(m, ret, "volume %s: %s", k->vols[i].src, err);
		v->pre_ms = (ferry_now_ns() - t) / 1000000;
	}
	m->ctr->vols_precopied = true;
	return 0;
}

int src_ctr_volumes_final(struct mig *m)
{
	const struct wire_ctr *k = &m->ctr->w;
	char err[3000] = "";
	int ret = 0;

	for (uint32_t n = 0; !ret && n < m->nvols; n++) {
		struct src_vol *v = &m->vols[n];
		const char *name = k->vols[v->idx].src;
		uint64_t t = ferry_now_ns();
		struct vs_tree now;

		ret = vs_walk(v->rootfd, &now, err, sizeof(err));
		if (ret)
			return src_seterr(m, ret, "volume %s: %s", name, err);
		ret = vs_send_phase(&m->c, (uint8_t)v->idx, v->rootfd, &now, &v->pre, &v->fin_st,
				    err, sizeof(err));
		vs_tree_free(&now);
		if (ret)
			return src_seterr(m, ret, "volume %s: %s", name, err);
		v->fin_ms = (ferry_now_ns() - t) / 1000000;
		src_progress("volume %s: %llu files (%.1f MiB) changed since the pre-copy, %llu "
			     "entries gone: sent in %llu ms", name,
			     (unsigned long long)v->fin_st.files, v->fin_st.bytes / 1048576.0,
			     (unsigned long long)v->fin_st.deleted,
			     (unsigned long long)v->fin_ms);
	}
	return ret;
}

void src_ctr_volumes_free(struct mig *m)
{
	for (uint32_t n = 0; n < m->nvols; n++) {
		vs_tree_free(&m->vols[n].pre);
		if (m->vols[n].rootfd >= 0)
			close(m->vols[n].rootfd);
	}
	free(m->vols);
	m->vols = NULL;
	m->nvols = 0;
}
