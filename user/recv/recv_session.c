// SPDX-License-Identifier: GPL-2.0
/*
 * One migration on the destination (recv.h): authenticate the peer, judge
 * its pre-flight, keep the pre-copied pages as CRIU parent images within
 * the budget agreed there, restore the tree with CRIU. Runs in a process
 * of its own, one per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "ctr_runc.h"
#include "cmds.h"
#include "criu_img.h"
#include "json.h"
#include "mig.h"
#include "mig_net.h"
#include "mig_tcp.h"
#include "criu_lazy.h"
#include "criu_swrk.h"
#include "ctr.h"
#include "mig_guard.h"
#include "imgchain.h"
#include "lazy_server.h"
#include "preflight.h"
#include "recv.h"
#include "recv_session.h"
#include "recv_store.h"
#include "recv_ledger.h"
#include "recv_policy.h"
#include "recv_outcome.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"

void rs_note(const char *fmt, ...)
{
	va_list ap;

	/* sanitized: lines quote the source's words */
	va_start(ap, fmt);
	ferry_vline("ferry receive: ", "", fmt, ap);
	va_end(ap);
}

int rs_err(struct session *s, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return ret;
}

uint32_t rs_record(struct session *s, uint32_t state, const uint64_t *v)
{
	struct recv_outcome_rec r = { .state = state, .session = getpid(), .time = (uint64_t)time(NULL) };
	struct recv_outcome_rec had;
	int ret;

	/* LOST never turns milder, whoever writes after it (the guard, the
	 * session): a source told NOT_RESTORED resumes its copy */
	if (state != WIRE_OUTCOME_LOST && !recv_outcome_read(s->o->state_dir, s->id, &had) &&
	    had.state == WIRE_OUTCOME_LOST)
		return WIRE_OUTCOME_LOST;
	if (v)
		memcpy(r.v, v, sizeof(r.v));
	snprintf(r.peer, sizeof(r.peer), "%s", s->peer.n ? s->peer.names[0] : "");
	ret = recv_outcome_write(s->o->state_dir, s->id, &r);
	if (ret)
		rs_note("WARNING: cannot record the outcome in %s: %s (a source that lost the "
		        "answer will stay frozen until settled)", s->o->state_dir, strerror(-ret));
	return state;
}

/* `criu check` also fills CRIU's kernel-feature cache (/run/criu.kdat),
 * which keeps the slow first-time probing out of the restore. */
static bool criu_usable(void)
{
	const char *argv[] = { "criu", "check", NULL };

	return mig_run(argv, "/dev/null") == 0;
}

/* Can CRIU restore lazily here (userfaultfd with fork/remap events)? */
static bool criu_lazy_usable(void)
{
	const char *argv[] = { "criu", "check", "--feature", "uffd-noncoop", NULL };

	return mig_run(argv, "/dev/null") == 0;
}

/* TLS first: nothing of the protocol is parsed before the peer's
 * certificate has been checked. */
static int authenticate(struct session *s)
{
	int ret;

	if (!s->o->tls) {
		rs_note("WARNING: plain TCP from %s (--insecure): anyone who can reach this port "
		        "can have a process tree restored here as root", s->peer_addr);
		return 0;
	}
	ret = wire_tls_server(&s->c, s->o->tls, s->o->allow, s->o->nallow, &s->peer, s->err,
			      sizeof(s->err));
	if (ret)
		return ret;
	rs_note("connection from %s: certificate '%s'", s->peer_addr,
	        s->peer.n ? s->peer.names[0] : "(no name)");
	return 0;
}

static int handshake(struct session *s)
{
	struct wire_hello h, peer;
	struct wire_msg m;
	int ret;

	ret = wire_expect(&s->c, WIRE_HELLO, &m);
	if (!ret)
		ret = wire_parse_hello(&s->c, &m, &peer);
	if (ret) {
		if (ret == -EPROTO)
			wire_send_error(&s->c, WIRE_ERROR, ret, "%s", s->c.err);
		return rs_err(s, ret, "handshake: %s", s->c.err);
	}
	/* post-copy needs the lazy restore, which pre-flight checks (a
	 * COMMIT for post-copy without it is answered NOT_RESTORED) */
	wire_hello_init(&h, WIRE_CAP_ZSTD | WIRE_CAP_CONNTRACK | WIRE_CAP_CONNTRACK6 |
			    WIRE_CAP_VOLUMES | (s->o->eager ? 0 : WIRE_CAP_POSTCOPY));
	memcpy(s->id, peer.id, WIRE_ID_LEN);
	s->query = peer.caps & WIRE_CAP_QUERY;
	s->store = !s->query && (peer.caps & WIRE_CAP_STORE);
	s->authenticated = true;
	if (s->query)
		return wire_send_hello(&s->c, &h);
	if (s->store) {
		rs_note("checkpoints from %s (Linux %s)", peer.host, peer.kernel);
		return wire_send_hello(&s->c, &h);
	}
	rs_note("migration from %s (Linux %s)", peer.host, peer.kernel);
	/* an ID is used once: a replayed or reused one could confuse the
	 * record a lost answer is recovered from */
	struct recv_outcome_rec old;
	static const uint8_t zero[WIRE_ID_LEN];

	if (!memcmp(s->id, zero, WIRE_ID_LEN) ||
	    !recv_outcome_read(s->o->state_dir, s->id, &old)) {
		wire_send_error(&s->c, WIRE_ERROR, -EEXIST, "migration ID missing or used before");
		return rs_err(s, -EEXIST, "migration ID missing or used before");
	}
	return wire_send_hello(&s->c, &h);
}

/* An outcome query: answer from the record, for the source that made it. */
static int answer_query(struct session *s)
{
	struct wire_outcome_msg o = { 0 };
	char hex[2 * WIRE_ID_LEN + 1];

	memcpy(o.id, s->id, WIRE_ID_LEN);
	o.outcome = recv_outcome_answer(s->o->state_dir, s->id, s->peer.n ? s->peer.names[0] : "",
					o.v);
	wire_id_hex(s->id, hex);
	rs_note("outcome query from %s for migration %s: answered %s", s->peer_addr, hex,
	        wire_outcome_name(o.outcome));
	return wire_send_outcome(&s->c, &o);
}

/* After the outcome was sent: the source confirms with DONE. In post-copy
 * its pushes may come first, each page at most twice (pushed and asked
 * for), then PC_PUSHED. Taking the first of them for a missing DONE left
 * the record unconfirmed and `--once` lingering for the query that never
 * comes (120 s per migration in the soak). */
static void await_ack(struct session *s)
{
	uint64_t in_flight = s->pc ? 2 * s->pc->pages + 1 : 0;

	/* one deadline for all of it: a source cannot drip the frames */
	wire_set_deadline(&s->c, (uint64_t)s->o->phase_ms);
	if (!recv_await_done(&s->c, in_flight))
		s->acked = true;
	else
		rs_note("the source did not confirm the outcome (%s): it may ask again", s->c.err);
}

static int preflight(struct session *s)
{
	struct ledger *acct = NULL;
	uint64_t reserved = 0;
	char lerr[512];		/* not s->err: rs_err() formats into it */
	struct pf_list l;
	struct pf_report rep;
	struct wire_msg m;
	bool criu_ok;
	int ret;

	ret = wire_recv(&s->c, &m);
	if (!ret && m.type == WIRE_CONTAINER) {
		ret = recv_ctr_check(s, &m);
		if (ret)
			return ret;
		ret = wire_expect(&s->c, WIRE_PREFLIGHT, &m);
	} else if (!ret && m.type != WIRE_PREFLIGHT) {
		ret = wire_expect_failed(&s->c, &m, WIRE_PREFLIGHT);
	}
	if (!ret)
		ret = preflight_parse(&s->c, &m, &l);
	l.own_pid_ns = s->is_ctr;
	if (ret)
		return rs_err(s, ret, "pre-flight: %s", s->c.err);
	/* criu_usable() is slow once: not while holding the disk account */
	criu_ok = criu_usable();
	if (s->o->dir && s->o->state_dir) {
		acct = malloc(sizeof(*acct));
		if (!acct) {
			pf_list_free(&l);
			return rs_err(s, -ENOMEM, "out of memory");
		}
		ret = ledger_open(acct, s->o->state_dir, RECV_LEDGER_WAIT_MS, lerr, sizeof(lerr));
		if (ret) {
			free(acct);
			pf_list_free(&l);
			return rs_err(s, ret, "disk account: %s", lerr);
		}
		reserved = ledger_others(acct->v, acct->n, getpid());
	}
	ret = preflight_check(&l, s->o->dir, criu_ok, reserved, &rep);
	/* granted under the account's lock: no other session can be
	 * promised the same free space meanwhile */
	if (acct && !ret && !rep.n && !rep.more) {
		ret = ledger_commit(acct, rep.budget, lerr, sizeof(lerr));	/* unlocks */
		if (ret)
			rs_err(s, ret, "disk account: %s", lerr);	/* no answer is sent */
		else
			s->granted = true;
	}
	if (acct) {
		ledger_close(acct);
		free(acct);
	}
	/* a container's too: runc restores it with --lazy-pages, and
	 * Podman's runc through CRIU's configuration file (ctr_criuconf.h) */
	s->lazy = !s->o->eager && criu_lazy_usable();
	if (!s->o->eager && !s->lazy)
		rs_note("userfaultfd restore is not available (criu check --feature "
		        "uffd-noncoop): pre-copied pages will be restored before the %s runs",
		        s->is_ctr ? "container" : "tree");
	if (!ret)
		ret = preflight_send_report(&s->c, &rep);
	rs_note("pre-flight: %zu files checked, %zu problem%s", l.n, rep.n + rep.more,
	        rep.n + rep.more == 1 ? "" : "s");
	for (size_t i = 0; i < rep.n; i++) {
		char line[4500];

		pf_problem_str(&rep.v[i], line, sizeof(line));
		rs_note("  %s", line);
	}
	/* our own judgement, whatever the source makes of the answer:
	 * nothing is written or started for a tree that cannot come here */
	if (!ret && (rep.n || rep.more))
		ret = rs_err(s, -EPERM, "pre-flight failed here (%zu problem%s): session ended",
			      rep.n + rep.more, rep.n + rep.more == 1 ? "" : "s");
	if (!ret) {
		s->budget.limit = rep.budget;
		s->pids = l.tids;	/* the PIDs pages may come for */
		s->budget.pids = l.tids;
		s->budget.npids = l.ntids;
		qsort(s->pids, l.ntids, sizeof(*s->pids), ferry_cmp_u32);
		l.tids = NULL;
		l.ntids = 0;
		rs_note("pre-flight passed: disk budget %llu MiB",
		        (unsigned long long)(rep.budget >> 20));
	}
	pf_list_free(&l);
	pf_report_free(&rep);
	return ret;
}

static int setup_dirs(struct session *s)
{
	int ret;

	snprintf(s->dir, sizeof(s->dir), "%s/ferry-receive-XXXXXX", s->o->dir);
	if (!mkdtemp(s->dir))
		return rs_err(s, -errno, "%s: %s", s->dir, strerror(errno));
	snprintf(s->final_dir, sizeof(s->final_dir), "%s/final", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/restore.log", s->final_dir);
	if (mkdir(s->final_dir, 0700))
		return rs_err(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	ret = imgchain_open(&s->ic, s->dir, s->err, sizeof(s->err));
	if (ret)
		return ret;
	s->buf = malloc(WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
	if (!s->buf)
		return -ENOMEM;
	/* CRIU starts now, during pre-copy, not in the downtime; extra
	 * --criu-arg options only exist on the command line */
	if (!s->o->ncriu_args && !s->is_ctr) {
		char out[4300], err[512];

		snprintf(out, sizeof(out), "%s/criu-swrk.out", s->dir);
		if (criu_swrk_start(&s->swrk, out, err, sizeof(err)))
			rs_note("%s: the restore will run `criu restore`", err);
	}
	return 0;
}

/* A pre-copy round ended: its pages become one more image set of the chain. */
static int end_round(struct session *s, bool last)
{
	struct imgchain_stats st;
	uint64_t t = ferry_now_ns();
	int ret;

	ret = recv_count_round(&s->budget, s->err, sizeof(s->err));
	if (ret)
		return ret;
	ret = imgchain_end_round(s->ic, last);
	if (ret)
		return rs_err(s, ret, "%s", imgchain_err(s->ic));
	imgchain_stats(s->ic, &st);
	if (last)
		rs_note("parent images ready: %llu pages in %u rounds (last round's pagemaps "
		        "written in %llu ms)", (unsigned long long)st.cover_pages, st.rounds,
		        (unsigned long long)((ferry_now_ns() - t) / 1000000));
	return 0;
}

static int recv_file(struct session *s, const struct wire_msg *m)
{
	struct wire_file f;
	int fd, ret, dfd;

	ret = wire_parse_file_begin(&s->c, m, &f);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	/* a Podman container's final image is its archive, and only that (a
	 * runc container's are CRIU's images, as a tree's) */
	if (s->is_ctr && !ctr_is_runc(&s->ctr)) {
		if (strcmp(f.name, CTR_ARCHIVE_NAME) || s->ctr_archive)
			return rs_err(s, -EPROTO, "unexpected file %s for a container", f.name);
		s->ctr_archive = true;
	}
	/* the announced size is charged before a byte is written, and
	 * wire_recv_file_body() takes no byte more */
	ret = recv_count_file(&s->budget, s->err, sizeof(s->err));
	if (!ret)
		ret = recv_charge(&s->budget, f.size, s->err, sizeof(s->err));
	if (ret)
		return ret;
	dfd = open(s->final_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return rs_err(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	fd = openat(dfd, f.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dfd);
	if (fd < 0)
		return rs_err(s, -errno, "image %s: %s", f.name, strerror(errno));
	ret = wire_recv_file_body(&s->c, &f, fd);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		return rs_err(s, ret, "image %s: %s", f.name, s->c.err);
	return 0;
}

/*
 * After a restore, before reporting it: did the source abort meanwhile (an
 * ABORT or ERROR frame waiting)? Only an explicit frame counts: a source
 * that merely vanished may have left its tree frozen for good.
 */
/*
 * What the source sent while CRIU restored: ABORT (or ERROR) undoes the
 * restore. In post-copy, pages asked for during the restore may still be
 * on their way: they are taken, never dropped (a dropped PC_DATA left its
 * pages missing for good, and the post-copy failed). 0, or -errno with
 * s->err set.
 */
static int source_check(struct session *s)
{
	struct wire_msg m;

	while (wire_readable(&s->c)) {
		int ret;

		if (wire_recv(&s->c, &m))
			return 0;	/* the post-copy or DONE's wait sees it */
		if (m.type == WIRE_ABORT || m.type == WIRE_ERROR)
			return rs_err(s, -ECANCELED, "the source aborted during the restore; "
				      "the restored tree was killed here");
		if (s->postcopy && m.type == WIRE_PC_DATA) {
			ret = recv_pc_data(s, &m);
			if (ret)
				return ret;
			continue;
		}
		rs_note("unexpected %s frame during the restore (ignored)", wire_type_name(m.type));
		return 0;
	}
	return 0;
}

/*
 * Post-copy: the tree runs, but pages are still at the source. RESTORED
 * tells the source so (it goes on serving); the guard and the pending
 * record stay until the lazy server has every page in place: then PC_DONE,
 * the record, and the source's DONE. Anything else before that kills the
 * tree here (the guard) and says NOT_RESTORED: the source resumes its copy.
 */
static int postcopy_finish(struct session *s, uint64_t v[6])
{
	uint64_t done[WIRE_PC_DONE_N] = { 0 };
	int ret;

	memcpy(&v[4], s->id, 8);
	memcpy(&v[5], s->id + 8, 8);
	ret = wire_send_u64s(&s->c, WIRE_RESTORED, v, 6);
	if (ret)
		ret = rs_err(s, ret, "post-copy: telling the source the tree runs: %s", s->c.err);
	else
		rs_note("post-copy: the tree runs here; %llu of its %llu pages left at the source "
			"are still to come", (unsigned long long)(s->pc->pages - s->pc->have),
			(unsigned long long)s->pc->pages);
	if (!ret)
		ret = recv_pc_run(s);
	if (ret) {
		char why[600] = "";
		bool out = recv_pc_give_up(s, why, sizeof(why));

		wire_send_error(&s->c, WIRE_NOT_RESTORED, out ? WIRE_PC_LOST : ret,
				"%s; the restored tree was killed here%s%s", s->err,
				out ? " and may have reached the outside world: " : "",
				out ? why : "");
		await_ack(s);
		criu_swrk_stop(&s->swrk, 10000);
		return ret;
	}
	mig_guard_release(&s->guard);
	s->restored = true;
	rs_record(s, WIRE_OUTCOME_RESTORED, v);
	done[0] = s->pc->pages;
	done[1] = s->pc->on_fault < s->pc->pages ? s->pc->on_fault : s->pc->pages;
	done[2] = s->pc->pages - done[1];
	done[3] = s->pc->ms;
	done[4] = s->pc->st.median_us;
	done[5] = s->pc->st.p99_us;
	ret = wire_send_u64s(&s->c, WIRE_PC_DONE, done, WIRE_PC_DONE_N);
	if (ret)
		rs_note("reporting the end of post-copy: %s; the tree runs here, the source "
			"learns it when it asks", s->c.err);
	criu_swrk_stop(&s->swrk, 10000);
	if (!ret)
		await_ack(s);
	return 0;
}

/* The conversation after pre-flight. 0 when the tree runs here. */
static int serve(struct session *s)
{
	struct wire_pages_hdr h;
	struct wire_round r;
	struct wire_msg m;
	int ret;

	for (;;) {
		ret = wire_recv(&s->c, &m);
		if (ret)
			return rs_err(s, ret, "%s", s->c.err);
		switch (m.type) {
		case WIRE_PAGES:
			ret = wire_parse_pages(&s->c, &m, &h, s->buf, WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
			if (ret)
				return rs_err(s, ret, "%s", s->c.err);
			if (!recv_pid_known(&s->budget, h.pid))
				return rs_err(s, -EPROTO, "PAGES for PID %u, which pre-flight "
					       "did not announce", h.pid);
			ret = recv_charge(&s->budget, h.raw_len, s->err, sizeof(s->err));
			if (ret)
				return ret;
			ret = imgchain_put(s->ic, h.pid, h.vaddr, h.npages, s->buf);
			if (ret)
				return rs_err(s, ret, "%s", imgchain_err(s->ic));
			break;
		case WIRE_ROUND_END:
			ret = wire_parse_round(&s->c, &m, &r);
			if (ret)
				return rs_err(s, ret, "%s", s->c.err);
			ret = end_round(s, r.flags & WIRE_ROUND_F_LAST);
			if (ret)
				return ret;
			if (r.flags & WIRE_ROUND_F_LAST)
				break;	/* the source freezes and dumps now */
			ret = wire_send_round(&s->c, WIRE_ROUND_ACK, &r);
			if (ret)
				return rs_err(s, ret, "%s", s->c.err);
			break;
		case WIRE_FILE_BEGIN:
			ret = recv_file(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_MOVE_ADDR:
			ret = recv_move_addr(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_CONNTRACK:
			ret = recv_ctr_conntrack(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_CONNTRACK6:
			ret = recv_ctr_conntrack6(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_VOLUME:
			ret = recv_ctr_volume(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_PC_FILE:
			ret = recv_pc_file(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_COMMIT: {
			struct criu_restore_stats rs;
			uint64_t ms = 0, v[6], flags;

			ret = wire_parse_u64s(&s->c, &m, &flags, 1);
			if (ret)
				return rs_err(s, ret, "%s", s->c.err);
			s->postcopy = flags & WIRE_COMMIT_POSTCOPY;
			if (s->postcopy != (s->pc && s->pc->n))
				return rs_err(s, -EPROTO, "COMMIT %s post-copy, after %zu PC_FILE",
					      s->postcopy ? "for" : "without",
					      s->pc ? s->pc->n : 0);
			/* from here a lost answer is recovered from the record */
			s->committed = true;
			rs_record(s, RECV_OUTCOME_PENDING, NULL);
			ret = s->is_ctr ? recv_ctr_restore(s, &ms, &rs) : recv_tree_restore(s, &ms, &rs);
			if (!ret && (ret = source_check(s))) {
				/* it asked during the restore and waits for the
				 * answer (or sent what cannot be): undo, since
				 * nothing is recorded yet */
				mig_guard_fire(&s->guard);
				recv_ctr_ct_undo(s);
			}
			if (ret) {
				/* undone (CRIU's own cleanup or the guard): say so,
				 * on the record first. A post-copy tree may have
				 * run meanwhile (the guard asked if it reached out) */
				bool lost = rs_record(s, WIRE_OUTCOME_NOT_RESTORED, NULL) ==
					    WIRE_OUTCOME_LOST;

				wire_send_error(&s->c, WIRE_NOT_RESTORED, lost ? WIRE_PC_LOST : ret,
						"%s%s", s->err, lost ? "; the tree ran here and may "
						"have reached the outside world before it was killed" : "");
				await_ack(s);
				return ret;
			}
			v[0] = ms;
			v[1] = rs.restore_time;
			v[2] = rs.pages_restored;
			v[3] = s->tcp_kept;
			if (s->postcopy)
				return postcopy_finish(s, v);
			/* The tree stays here now, whatever becomes of the
			 * connection: the guard goes, the record says so, and
			 * only then the answer. A source that does not get it
			 * asks (recv_outcome.h), and never resumes unless told
			 * NOT_RESTORED. */
			mig_guard_release(&s->guard);
			s->restored = true;
			rs_record(s, WIRE_OUTCOME_RESTORED, v);
			memcpy(&v[4], s->id, 8);
			memcpy(&v[5], s->id + 8, 8);
			ret = wire_send_u64s(&s->c, WIRE_RESTORED, v, 6);
			if (ret)
				rs_note("reporting the restore: %s; the tree runs here, the source "
				        "learns it when it asks", s->c.err);
			/* the worker exits after its answer; reap it */
			criu_swrk_stop(&s->swrk, 10000);
			if (!ret)
				await_ack(s);
			return 0;
		}
		case WIRE_ABORT:
		case WIRE_ERROR: {
			char msg[512];
			int32_t code;

			if (wire_parse_error(&s->c, &m, &code, msg, sizeof(msg)))
				snprintf(msg, sizeof(msg), "(malformed)");
			return rs_err(s, -ECANCELED, "source aborted: %s", msg);
		}
		default:
			wire_send_error(&s->c, WIRE_ERROR, -EPROTO, "unexpected %s frame",
					wire_type_name(m.type));
			return rs_err(s, -EPROTO, "unexpected %s frame", wire_type_name(m.type));
		}
	}
}

/*
 * The tree runs, and criu lazy-pages fills in the pre-copied pages it has not
 * touched yet from the images here: they must stay until it is done.
 */
static int wait_lazy(struct session *s)
{
	int ret;

	ret = lazy_server_wait(s->lazyd, 1800 * 1000);
	if (ret == 0)
		return 0;
	ferry_err("the lazy-pages server failed (%s %d) %llu ms after the restore: the "
		  "restored tree may miss memory", ret < 0 ? "error" : "exit", ret,
		  (unsigned long long)((ferry_now_ns() - s->t_restored) / 1000000));
	return -EIO;
}

enum recv_result recv_session_run(const struct ropts *o, int fd)
{
	struct session s;
	bool keep = o->keep;
	int ret;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.swrk.sk = -1;
	s.guard.fd = -1;
	wire_init(&s.c, fd);
	mig_peer_name(fd, s.peer_addr, sizeof(s.peer_addr));
	/* a peer that has not proved who it is gets seconds, not a slot */
	wire_set_deadline(&s.c, (uint64_t)o->auth_ms);
	ret = authenticate(&s);
	if (ret)
		rs_note("refused %s: %s", s.peer_addr, s.err);
	else
		ret = handshake(&s);
	if (!ret && s.query) {
		answer_query(&s);
		wire_tls_end(&s.c);
		wire_free(&s.c);
		return RECV_QUERY;
	}
	wire_set_deadline(&s.c, 0);
	wire_set_timeout(&s.c, o->phase_ms);
	if (!ret && s.store) {
		ret = recv_store_run(o, &s.c, s.peer.n ? s.peer.names[0] : "", s.err,
				     sizeof(s.err));
		if (ret) {
			rs_note("checkpoint store session failed: %s", s.err);
			if (ret != -EPIPE && ret != -ECONNRESET)
				wire_send_error(&s.c, WIRE_ERROR, ret, "%s", s.err);
		}
		wire_tls_end(&s.c);
		wire_free(&s.c);
		return ret ? RECV_STORE_FAILED : RECV_STORED;
	}
	if (!ret)
		ret = preflight(&s);
	if (!ret)
		ret = setup_dirs(&s);
	if (!ret)
		ret = serve(&s);
	if (ret) {
		rs_note("migration failed: %s", s.err[0] ? s.err : strerror(-ret));
		/* the source learns why (it may have been told already) */
		if (s.authenticated && ret != -EPIPE && ret != -ECONNRESET)
			wire_send_error(&s.c, WIRE_ERROR, ret, "destination: %s",
					s.err[0] ? s.err : strerror(-ret));
	} else {
		rs_note(s.is_ctr ? "migration done: the container runs here"
			         : "migration done: the tree runs here");
	}
	mig_guard_release(&s.guard);	/* alive: whatever failed was cleaned up here */
	if (s.is_ctr)
		recv_ctr_end(&s);
	criu_swrk_stop(&s.swrk, 10000);	/* done with, or never asked */
	if (s.lazyd > 0 && !s.restored) {
		kill(s.lazyd, SIGKILL);
		lazy_server_wait(s.lazyd, 10000);
	} else if (s.lazyd > 0 && wait_lazy(&s)) {
		ret = -EIO;
		keep = true;	/* the logs are the evidence */
	}
	imgchain_close(s.ic);
	recv_pc_free(&s);
	free(s.buf);
	free(s.pids);
	free(s.ct);
	free(s.ct6);
	wire_tls_end(&s.c);
	wire_free(&s.c);
	if (s.dir[0] && !keep)
		mig_rmtree(s.dir);
	else if (s.dir[0])
		rs_note("kept %s", s.dir);
	if (s.granted)		/* the images are gone, or kept on purpose */
		ledger_release(o->state_dir);
	if (!s.authenticated)
		return RECV_REFUSED;
	if (s.committed && !s.acked)	/* the source may ask: --once lingers */
		return ret ? RECV_FAILED_UNACKED : RECV_RESTORED_UNACKED;
	return ret ? RECV_FAILED : RECV_RESTORED;
}
