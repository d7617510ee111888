// SPDX-License-Identifier: GPL-2.0
/* What a container adds to a migration on the destination (recv_session.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctr.h"
#include "ctr_conntrack.h"
#include "mig.h"
#include "recv_outcome.h"
#include "recv_session.h"
#include "util.h"

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
	ret = ctr_check_here(&s->ctr, NULL, problem, sizeof(problem));
	if (ret) {
		wire_send_error(&s->c, WIRE_ERROR, ret < 0 ? ret : -ENOENT, "%s", problem);
		return rs_err(s, ret < 0 ? ret : -EPERM, "container %s cannot come here: %s",
			       s->ctr.name, problem);
	}
	ret = wire_send(&s->c, WIRE_CONTAINER_ACK, NULL, 0);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	s->is_ctr = true;
	rs_note("container %s (%.12s, image %.12s): Podman here can take it", s->ctr.name,
	        s->ctr.id, s->ctr.image);
	return 0;
}

/*
 * A container's parent images as Podman takes them: a tar of the chain,
 * written while the source checkpoints. It duplicates the pre-copied pages
 * on this disk: charged to the budget first (its size is that of the
 * chain's files, which recv_charge() counted as they came).
 */
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
}

/*
 * CONNTRACK (ctr_conntrack.h): the container's connections become known to
 * this host's conntrack before the restore, so that its first packets are
 * not taken for new connections and NATed. A failure only costs remote
 * clients behind this host's NAT their connections: said, not fatal.
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

static void ct_make(struct session *s)
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

void recv_ctr_ct_undo(struct session *s)
{
	if (s->ct_made)
		ctr_ct_delete(s->ct, s->nct);
	s->ct_made = false;
}

/*
 * A container: Podman restores it from the archive on top of the newest
 * pre-copy image set (ctr.h). Podman removes what it made if it fails
 * (ctr_restore), so the source may resume.
 */
int recv_ctr_restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs)
{
	char arch[4300];
	uint64_t t;
	int ret;

	memset(rs, 0, sizeof(*rs));
	if (!s->ctr_previous[0])
		return rs_err(s, -EPROTO, "commit before the last pre-copy round");
	if (!s->ctr_archive)
		return rs_err(s, -EPROTO, "commit without the container's checkpoint archive");
	snprintf(arch, sizeof(arch), "%s/%s", s->final_dir, CTR_ARCHIVE_NAME);
	rs_note("checkpoint archive received: restoring container %s with podman", s->ctr.name);
	t = ferry_now_ns();
	ret = mig_guard_start(&s->guard, NULL, 0, 0, undo_restore_ctr, s);
	if (ret)
		return rs_err(s, ret, "starting the restore guard: %s", strerror(-ret));
	ct_make(s);
	ret = ctr_restore(&s->ctr, arch, s->ctr_previous, s->dir, s->o->restore_ms, s->err,
			  sizeof(s->err));
	*ms = (ferry_now_ns() - t) / 1000000;
	if (ret) {
		/* Podman removed what it knew of; what conmon and runc may
		 * still bring up goes too */
		mig_guard_fire(&s->guard);
		recv_ctr_ct_undo(s);
		return -EIO;
	}
	s->t_restored = ferry_now_ns();
	rs_note("container %s restored in %llu ms", s->ctr.name, (unsigned long long)*ms);
	return 0;
}
