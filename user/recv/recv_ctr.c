// SPDX-License-Identifier: GPL-2.0
/* What a container adds to a migration on the destination (recv_session.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "ctr.h"
#include "ctr_conntrack.h"
#include "ctr_criuconf.h"
#include "ctr_runc.h"
#include "ctr_volsync.h"
#include "mig.h"
#include "recv_outcome.h"
#include "recv_session.h"
#include "util.h"
#include "wire_vol.h"

/*
 * CONTAINER: can Podman here take it (the image by ID, its ID and name
 * free)? Answered with CONTAINER_ACK, or an ERROR saying why not.
 */
int recv_ctr_check(struct session *s, const struct wire_msg *m)
{
	char problem[512];
	int ret;

	ret = wire_parse_ctr(&s->c, m, &s->ctr);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	ret = ctr_is_runc(&s->ctr) ? ctr_runc_check_here(&s->ctr, s->o->runc_root, problem,
							  sizeof(problem))
				   : ctr_check_here(&s->ctr, NULL, problem, sizeof(problem));
	if (ret) {
		wire_send_error(&s->c, WIRE_ERROR, ret < 0 ? ret : -ENOENT, "%s", problem);
		return rs_err(s, ret < 0 ? ret : -EPERM, "container %s cannot come here: %s",
			       s->ctr.name, problem);
	}
	ret = wire_send(&s->c, WIRE_CONTAINER_ACK, NULL, 0);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	s->is_ctr = true;
	if (ctr_is_runc(&s->ctr))
		rs_note("runc container %s (bundle %s, shared): runc here can take it",
			s->ctr.name, s->ctr.bundle);
	else
		rs_note("container %s (%.12s, image %.12s): Podman here can take it", s->ctr.name,
			s->ctr.id, s->ctr.image);
	return 0;
}

/*
 * A container's parent images as Podman takes them when it cannot read
 * ferry's own (ctr_criuconf.h: the container has an org.criu.config
 * annotation of its own): a tar of the chain, written in the downtime. It
 * duplicates the pre-copied pages
 * on this disk: charged to the budget first (its size is that of the
 * chain's files, which recv_charge() counted as they came). Once the tar
 * holds them, the chain's rounds go: Podman unpacks the tar into its own
 * directory, and with the chain kept a 1 GiB container's pages stood three
 * times on the destination's tmpfs, which ran out (ENOSPC in Podman's
 * restore, bench/container on 6.12).
 */
/* The chain's rounds r0 .. rTOP, removed (the tar has their pages). */
static void drop_rounds(struct session *s)
{
	char path[4200];
	uint64_t top;

	if (!imgchain_top(s->ic) || !ferry_parse_u64(imgchain_top(s->ic) + 1, 0, UINT32_MAX, &top))
		return;
	for (uint64_t r = 0; r <= top; r++) {
		snprintf(path, sizeof(path), "%s/r%llu", s->dir, (unsigned long long)r);
		mig_rmtree(path);
	}
}

int recv_ctr_previous(struct session *s)
{
	char abs_dir[PATH_MAX], top[PATH_MAX + 64];
	uint64_t t = ferry_now_ns();
	int ret;

	ret = recv_charge(&s->budget, s->budget.used, s->err, sizeof(s->err));
	if (ret)
		return ret;
	if (!realpath(s->dir, abs_dir))
		return rs_err(s, -errno, "%s: %s", s->dir, strerror(errno));
	snprintf(top, sizeof(top), "%s/%s", abs_dir, imgchain_top(s->ic));
	ret = ctr_previous_tar(top, s->dir, s->ctr_previous, sizeof(s->ctr_previous), s->err,
			       sizeof(s->err));
	if (ret)
		return ret;
	drop_rounds(s);
	rs_note("pre-copied images packed for podman in %llu ms",
	        (unsigned long long)((ferry_now_ns() - t) / 1000000));
	return 0;
}

/*
 * The same for a container (ctr_undo.c): Podman's restore died with this
 * receiver, but conmon, runc and CRIU may still bring the container up.
 */
static void undo_restore_ctr(void *arg, int phase)
{
	struct session *s = arg;
	char log[4300];
	int ret;

	if (phase == 0) {
		ret = ctr_undo_restore(s->ctr.id, mig_pid_starttime(getpid()));
		if (ret < 0)
			fprintf(stderr, "ferry receive: container %.12s: processes of its restore "
				"still run after 30 s\n", s->ctr.id);
		return;
	}
	/* nothing of it runs: a source that asks may resume its copy */
	rs_record(s, WIRE_OUTCOME_NOT_RESTORED, NULL);
	snprintf(log, sizeof(log), "%s/podman-undo.log", s->dir);
	if (ctr_remove(s->ctr.id, log))
		fprintf(stderr, "ferry receive: container %.12s: nothing of it runs, but `podman "
			"rm -f` failed (see %s)\n", s->ctr.id, log);
	for (uint32_t i = 0; i < s->ctr.nvols; i++)
		if (s->vol_made[i] && ctr_volume_remove(s->ctr.vols[i].src, log))
			fprintf(stderr, "ferry receive: volume %s: `podman volume rm -f` failed "
				"(see %s)\n", s->ctr.vols[i].src, log);
}

/* The same for a runc container: its cgroup, exactly, and runc. */
static void undo_restore_runc(void *arg, int phase)
{
	struct session *s = arg;
	char log[4300], cg[4200];

	if (phase == 0) {
		if (ctr_runc_cgroup(s->ctr.bundle, s->ctr.id, cg, sizeof(cg)) ||
		    ctr_undo_runc(cg, s->ctr.id, mig_pid_starttime(getpid())) < 0)
			fprintf(stderr, "ferry receive: runc container %s: processes of its "
				"restore may still run\n", s->ctr.id);
		return;
	}
	rs_record(s, WIRE_OUTCOME_NOT_RESTORED, NULL);
	snprintf(log, sizeof(log), "%s/runc-undo.log", s->dir);
	if (ctr_runc_delete(s->o->runc_root, s->ctr.id, log))
		fprintf(stderr, "ferry receive: runc container %s: nothing of it runs, but `runc "
			"delete --force` failed (see %s)\n", s->ctr.id, log);
}

static void ct_make(struct session *s);

/*
 * A runc container: `runc restore` of the final images on top of the
 * pre-copied chain (final/parent -> ../rN, as for a tree).
 */
static int restore_runc(struct session *s, uint64_t *ms, struct criu_restore_stats *rs)
{
	char work[4300], out[4300], stats[4400];
	uint64_t t;
	int ret;

	ret = recv_link_parent(s, s->final_dir);
	if (ret)
		return ret;
	/* lazy: CRIU connects to the server in its work dir */
	if (s->lazy) {
		ret = recv_lazy_start(s, s->final_dir);
		if (ret)
			return ret;
		snprintf(work, sizeof(work), "%s", s->final_dir);
	} else {
		snprintf(work, sizeof(work), "%s/" CTR_RUNC_WORK_NAME, s->dir);
	}
	snprintf(out, sizeof(out), "%s/runc-%s.log", s->o->dir, s->ctr.id);
	rs_note("final images received: restoring runc container %s", s->ctr.name);
	t = ferry_now_ns();
	ret = mig_guard_start(&s->guard, NULL, 0, 0, undo_restore_runc, s);
	if (ret)
		return rs_err(s, ret, "starting the restore guard: %s", strerror(-ret));
	/* this host may NAT its network as the source's did (as Podman's) */
	ct_make(s);
	ret = ctr_runc_restore(&s->ctr, s->o->runc_root, s->final_dir, work, s->lazy, out,
			       s->o->restore_ms, s->err, sizeof(s->err));
	*ms = (ferry_now_ns() - t) / 1000000;
	if (ret) {
		mig_guard_fire(&s->guard);
		recv_ctr_ct_undo(s);
		return -EIO;
	}
	s->t_restored = ferry_now_ns();
	/* CRIU writes it where it works: runc's --work-path */
	snprintf(stats, sizeof(stats), "%s/stats-restore", work);
	criu_img_read_restore_stats(stats, rs);
	rs_note("runc container %s restored in %llu ms (its output: %s)", s->ctr.name,
		(unsigned long long)*ms, out);
	return 0;
}

/*
 * CONNTRACK and CONNTRACK6 (ctr_conntrack.h): the container's IPv4 and
 * IPv6 connections become known to this host's conntrack before the
 * restore, so that its first packets are not taken for new connections
 * and NATed. A failure only costs remote clients behind this host's NAT
 * their connections: said, not fatal.
 */
int recv_ctr_conntrack(struct session *s, const struct wire_msg *m)
{
	uint32_t addr;
	int ret;

	if (!s->is_ctr || s->ct || s->committed)
		return rs_err(s, -EPROTO, "unexpected CONNTRACK frame");
	ret = wire_parse_ct(&s->c, m, &addr, &s->ct, &s->nct);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	return 0;
}

int recv_ctr_conntrack6(struct session *s, const struct wire_msg *m)
{
	uint8_t addr[WIRE_CT6_ADDR_LEN];
	int ret;

	if (!s->is_ctr || s->ct6 || s->committed)
		return rs_err(s, -EPROTO, "unexpected CONNTRACK6 frame");
	ret = wire_parse_ct6(&s->c, m, addr, &s->ct6, &s->nct6);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	return 0;
}

static void ct_make4(struct session *s)
{
	char err[512];
	size_t made = 0;

	if (!s->nct)
		return;
	if (ctr_ct_create(s->ct, s->nct, &made, err, sizeof(err)))
		rs_note("conntrack: %s; remote clients that this host NATs may lose their "
		        "connections", err);
	s->ct_made = true;	/* some may be */
	rs_note("conntrack: %zu of %u entr%s made for the container's connections", made, s->nct,
	        s->nct == 1 ? "y" : "ies");
}

static void ct_make6(struct session *s)
{
	char err[512];
	size_t made = 0;

	if (!s->nct6)
		return;
	if (ctr_ct6_create(s->ct6, s->nct6, &made, err, sizeof(err)))
		rs_note("conntrack: %s; remote clients of its IPv6 address that this host NATs "
			"may lose their connections", err);
	s->ct_made = true;	/* some may be */
	rs_note("conntrack: %zu of %u IPv6 entr%s made for the container's connections", made,
		s->nct6, s->nct6 == 1 ? "y" : "ies");
}

static void ct_make(struct session *s)
{
	ct_make4(s);
	ct_make6(s);
}

void recv_ctr_ct_undo(struct session *s)
{
	if (s->ct_made) {
		ctr_ct_delete(s->ct, s->nct);
		ctr_ct6_delete(s->ct6, s->nct6);
	}
	s->ct_made = false;
}

/*
 * Podman is to restore from ferry's images (ctr_criuconf.h): the final dump
 * unpacked beside the rounds, on top of the newest, lazily when this
 * receiver restores lazily, and CRIU's configuration file written. 0; 1
 * when Podman must restore from its own copy (why noted); -errno.
 */
static int podman_direct(struct session *s, const char *arch, char *img, size_t imglen,
			 char *conf, size_t conflen)
{
	char abs_dir[PATH_MAX];
	struct stat st;
	int ret;

	if (!realpath(s->dir, abs_dir))
		return rs_err(s, -errno, "%s: %s", s->dir, strerror(errno));
	snprintf(img, imglen, "%s/ctr-images", abs_dir);
	snprintf(conf, conflen, "%s/%s", abs_dir, CTR_CRIU_CONF_NAME);
	/* the final dump stands twice here: in the archive and unpacked */
	if (stat(arch, &st))
		return rs_err(s, -errno, "%s: %s", arch, strerror(errno));
	ret = recv_charge(&s->budget, (uint64_t)st.st_size, s->err, sizeof(s->err));
	if (ret)
		return ret;
	if (mkdir(img, 0700))
		return rs_err(s, -errno, "%s: %s", img, strerror(errno));
	ret = ctr_criuconf_prepare(arch, img, conf, s->dir, s->err, sizeof(s->err));
	if (ret > 0) {
		rs_note("Podman restores from its own copy of the images: %s", s->err);
		s->err[0] = 0;
		mig_rmtree(img);
		return 1;
	}
	if (!ret)
		ret = recv_link_parent(s, img);
	if (!ret && s->lazy)
		ret = recv_lazy_start(s, img);
	if (!ret)
		ret = ctr_criuconf_write(conf, img, NULL, s->lazy, s->err, sizeof(s->err));
	if (ret)
		return ret < 0 ? ret : -EIO;
	rs_note("Podman's CRIU restores from ferry's images%s (%s)",
		s->lazy ? ", the pre-copied pages lazily" : "", img);
	return 0;
}

/*
 * A container: Podman restores it from the archive, CRIU reading ferry's
 * images (podman_direct), or Podman's own unpacking of the archive and of
 * a tar of the chain (recv_ctr_previous). Podman removes what it made if
 * it fails (ctr_restore), so the source may resume.
 */
int recv_ctr_restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs)
{
	uint32_t nvols_here = 0, nnamed = 0;
	char arch[4300], img[PATH_MAX + 64], conf[PATH_MAX + 64], stats[PATH_MAX + 80];
	bool vols_here, direct;
	uint64_t t;
	int ret;

	memset(rs, 0, sizeof(*rs));
	if (ctr_is_runc(&s->ctr))
		return restore_runc(s, ms, rs);
	if (!imgchain_top(s->ic))
		return rs_err(s, -EPROTO, "commit before the last pre-copy round");
	/* either every named volume came as VOLUME frames, both phases, or
	 * none did and the archive carries them */
	for (uint32_t i = 0; i < s->ctr.nvols; i++) {
		if (s->ctr.vols[i].kind != WIRE_CTR_VOL_NAMED)
			continue;
		if (s->vol_made[i] && s->vols[i].phases_done == 3 && !s->vols[i].begun)
			nvols_here++;
		else if (s->vol_made[i])
			return rs_err(s, -EPROTO, "commit before volume %s was copied",
				      s->ctr.vols[i].src);
		nnamed++;
	}
	if (nvols_here && nvols_here != nnamed)
		return rs_err(s, -EPROTO, "commit with %u of %u named volumes copied", nvols_here,
			      nnamed);
	vols_here = nvols_here > 0;
	if (!s->ctr_archive)
		return rs_err(s, -EPROTO, "commit without the container's checkpoint archive");
	snprintf(arch, sizeof(arch), "%s/%s", s->final_dir, CTR_ARCHIVE_NAME);
	ret = podman_direct(s, arch, img, sizeof(img), conf, sizeof(conf));
	if (ret < 0)
		return ret;
	direct = ret == 0;
	if (!direct) {
		ret = recv_ctr_previous(s);
		if (ret)
			return ret;
	}
	rs_note("checkpoint archive received: restoring container %s with podman", s->ctr.name);
	t = ferry_now_ns();
	ret = mig_guard_start(&s->guard, NULL, 0, 0, undo_restore_ctr, s);
	if (ret) {
		if (direct)
			unlink(conf);
		return rs_err(s, ret, "starting the restore guard: %s", strerror(-ret));
	}
	ct_make(s);
	ret = ctr_restore(&s->ctr, arch, direct ? NULL : s->ctr_previous, vols_here, s->dir,
			  s->o->restore_ms, s->err, sizeof(s->err));
	/* CRIU read it when the restore began; the container's annotation
	 * keeps naming it, so it must not outlive this restore */
	if (direct)
		unlink(conf);
	*ms = (ferry_now_ns() - t) / 1000000;
	if (ret) {
		if (direct)	/* CRIU's log is where it worked */
			ctr_append_criu_log(img, "restore.log", s->err, sizeof(s->err));
		/* Podman removed what it knew of; what conmon and runc may
		 * still bring up goes too */
		mig_guard_fire(&s->guard);
		recv_ctr_ct_undo(s);
		return -EIO;
	}
	s->t_restored = ferry_now_ns();
	if (direct) {	/* CRIU wrote it where it worked */
		snprintf(stats, sizeof(stats), "%s/stats-restore", img);
		criu_img_read_restore_stats(stats, rs);
	}
	rs_note("container %s restored in %llu ms", s->ctr.name, (unsigned long long)*ms);
	return 0;
}

#define VOL_SPACE_MARGIN	(64ull << 20)

/* Room for bytes more in the file system of the volume's root? */
static int vol_room(struct session *s, uint32_t i, uint64_t bytes)
{
	struct statvfs sv;
	uint64_t avail;

	if (fstatvfs(s->vols[i].rootfd, &sv))
		return rs_err(s, -errno, "volume %s: statvfs: %s", s->ctr.vols[i].src,
			      strerror(errno));
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (bytes > avail || avail - bytes < VOL_SPACE_MARGIN)
		return rs_err(s, -ENOSPC, "volume %s: %llu MiB to copy, %llu MiB free here",
			      s->ctr.vols[i].src, (unsigned long long)(bytes >> 20),
			      (unsigned long long)(avail >> 20));
	return 0;
}

/* The volume a first frame names, made here (it must not exist). */
static int vol_make(struct session *s, uint32_t i)
{
	char path[4096], log[4300];
	int fd, ret;

	snprintf(log, sizeof(log), "%s/podman-volume.log", s->dir);
	ret = ctr_volume_create(s->ctr.vols[i].src, path, sizeof(path), log, s->err,
				sizeof(s->err));
	if (ret)
		return ret;
	s->vol_made[i] = true;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return rs_err(s, -errno, "volume %s: %s: %s", s->ctr.vols[i].src, path,
			      strerror(errno));
	vs_apply_init(&s->vols[i], fd);
	rs_note("volume %s made here (%s): its content follows", s->ctr.vols[i].src, path);
	return 0;
}

int recv_ctr_volume(struct session *s, const struct wire_msg *m)
{
	struct wire_vol *v = malloc(sizeof(*v));
	struct vs_apply *a;
	int fd, ret;

	if (!v)
		return rs_err(s, -ENOMEM, "out of memory");
	ret = wire_parse_vol(&s->c, m, v);
	if (ret) {
		ret = rs_err(s, ret, "%s", s->c.err);
		goto out;
	}
	if (!s->is_ctr || s->committed || v->vol >= s->ctr.nvols || v->op == WIRE_VOL_READY ||
	    s->ctr.vols[v->vol].kind != WIRE_CTR_VOL_NAMED) {
		ret = rs_err(s, -EPROTO, "unexpected VOLUME frame");
		goto out;
	}
	if (!s->vol_made[v->vol]) {
		if (v->op != WIRE_VOL_BEGIN || v->phase != WIRE_VOL_PRECOPY) {
			ret = rs_err(s, -EPROTO, "VOLUME frame before the volume's pre-copy");
			goto out;
		}
		ret = vol_make(s, v->vol);
		if (ret)
			goto out;
	}
	a = &s->vols[v->vol];
	if (v->op == WIRE_VOL_BEGIN) {
		ret = vol_room(s, v->vol, v->bytes);
		if (ret)
			goto out;
	}
	if (v->op == WIRE_VOL_BEGIN && v->phase == WIRE_VOL_PRECOPY) {
		ret = vs_apply(a, v, s->err, sizeof(s->err));
		if (!ret) {
			struct wire_vol r = { .op = WIRE_VOL_READY, .vol = v->vol };

			ret = wire_send_vol(&s->c, &r);
			if (ret)
				ret = rs_err(s, ret, "%s", s->c.err);
		}
		goto out;
	}
	if (v->op != WIRE_VOL_FILE) {
		ret = vs_apply(a, v, s->err, sizeof(s->err));
		if (!ret && v->op == WIRE_VOL_END)
			rs_note("volume %s: %s copied (%llu files, %llu MiB so far)",
				s->ctr.vols[v->vol].src, a->phases_done == 1 ? "pre-copy" : "what "
				"changed", (unsigned long long)a->files,
				(unsigned long long)(a->bytes >> 20));
		goto out;
	}
	fd = vs_apply_file(a, v, s->err, sizeof(s->err));
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	{
		struct wire_file f = { .size = v->size };

		snprintf(f.name, sizeof(f.name), "%.200s", v->path);
		ret = wire_recv_file_body(&s->c, &f, fd);
	}
	if (ret) {
		close(fd);
		ret = rs_err(s, ret, "volume %s: %s", s->ctr.vols[v->vol].src, s->c.err);
		goto out;
	}
	ret = vs_apply_file_done(a, v, fd, s->err, sizeof(s->err));
out:
	free(v);
	return ret;
}

void recv_ctr_end(struct session *s)
{
	char log[4300];

	snprintf(log, sizeof(log), "%s/podman-volume.log", s->dir);
	for (uint32_t i = 0; i < s->ctr.nvols; i++) {
		if (!s->vol_made[i])
			continue;
		vs_apply_free(&s->vols[i]);
		if (s->restored)
			continue;
		if (ctr_volume_remove(s->ctr.vols[i].src, log))
			rs_note("volume %s: made here for the container, but `podman volume rm "
				"-f` failed (see %s)", s->ctr.vols[i].src, log);
		else
			rs_note("volume %s removed again: the container does not run here",
				s->ctr.vols[i].src);
		s->vol_made[i] = false;
	}
}
