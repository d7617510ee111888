// SPDX-License-Identifier: GPL-2.0
/* The source's side of the commit protocol (mig_commit.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "mig_commit.h"
#include "mig_net.h"
#include "util.h"
#include "wire_pc.h"
#include "wire_tls.h"

#define QUERY_TIMEOUT_MS	10000	/* one query, connect to answer */
#define QUERY_INTERVAL_MS	2000

int mig_query_outcome(const char *to, struct wire_tls *tls, const uint8_t id[WIRE_ID_LEN],
		      uint32_t *outcome, uint64_t v[4], char *err, size_t errlen)
{
	struct wire_hello h = { .version = WIRE_VERSION, .caps = WIRE_CAP_ZSTD | WIRE_CAP_QUERY };
	struct wire_hello peer;
	struct wire_outcome_msg o;
	struct wire_conn c;
	struct wire_msg m;
	char host[256], port[16];
	int fd, ret = 0;

	fd = mig_connect_timeout(to, QUERY_TIMEOUT_MS, err, errlen);
	if (fd < 0)
		return fd;
	wire_init(&c, fd);
	wire_set_deadline(&c, QUERY_TIMEOUT_MS);
	memcpy(h.id, id, WIRE_ID_LEN);
	snprintf(h.host, sizeof(h.host), "outcome query");
	if (tls) {
		if (mig_split_hostport(to, host, sizeof(host), port, sizeof(port)))
			ret = ferry_errf(err, errlen, -EINVAL, "bad destination '%s'", to);
		else
			ret = wire_tls_client(&c, tls, host, err, errlen);
	}
	if (!ret)
		ret = wire_send_hello(&c, &h);
	if (!ret)
		ret = wire_expect(&c, WIRE_HELLO, &m);
	if (!ret)
		ret = wire_parse_hello(&c, &m, &peer);
	if (!ret)
		ret = wire_expect(&c, WIRE_OUTCOME, &m);
	if (!ret)
		ret = wire_parse_outcome(&c, &m, &o);
	if (!ret && memcmp(o.id, id, WIRE_ID_LEN))
		ret = ferry_errf(err, errlen, -EPROTO, "the answer is about another migration");
	else if (ret && c.err[0])
		ferry_errf(err, errlen, ret, "%s", c.err);
	if (!ret) {
		*outcome = o.outcome;
		memcpy(v, o.v, sizeof(o.v));
	}
	wire_tls_end(&c);
	wire_free(&c);
	close(fd);
	return ret;
}

enum mig_verdict mig_commit_ask(struct mig_commit *k)
{
	uint64_t end = ferry_now_ns() + (uint64_t)k->settle_ms * 1000000ull;
	char err[1024] = "";

	ferry_say("asking %s what became of the migration (for up to %d s)", k->to, k->settle_ms / 1000);
	for (int n = 0;; n++) {
		uint32_t o = WIRE_OUTCOME_UNKNOWN;
		int ret = mig_query_outcome(k->to, k->tls, k->id, &o, k->v, err, sizeof(err));

		if (!ret && o == WIRE_OUTCOME_RESTORED)
			return MIG_VERDICT_RESTORED;
		if (!ret && o == WIRE_OUTCOME_NOT_RESTORED) {
			snprintf(k->err, sizeof(k->err), "%s answers: not restored (undone there)",
				 k->to);
			return MIG_VERDICT_NOT_RESTORED;
		}
		if (!ret && o == WIRE_OUTCOME_LOST) {
			/* definite, but no copy is current: the operator's call */
			snprintf(k->err, sizeof(k->err), "%s answers: the tree %s", k->to,
				 wire_outcome_name(o));
			k->lost = true;
			return MIG_VERDICT_UNKNOWN;
		}
		if (!ret)
			snprintf(err, sizeof(err), "%s answers: %s", k->to, wire_outcome_name(o));
		if (n == 0 || !ret)
			ferry_say("%s", err);
		if (ferry_now_ns() + QUERY_INTERVAL_MS * 1000000ull >= end || ferry_interrupted)
			break;
		usleep(QUERY_INTERVAL_MS * 1000);
	}
	snprintf(k->err, sizeof(k->err), "the outcome on %s is unknown (%s)", k->to, err);
	return MIG_VERDICT_UNKNOWN;
}

/* RESTORED's values (v[4..5]: the migration's ID): this migration's? */
static bool restored_ours(struct mig_commit *k, const struct wire_msg *m, uint64_t v[6])
{
	uint8_t id[WIRE_ID_LEN];

	if (wire_parse_u64s(k->c, m, v, 6)) {
		snprintf(k->err, sizeof(k->err), "%s sent a malformed RESTORED: %s", k->to,
			 k->c->err);
		return false;
	}
	memcpy(id, &v[4], 8);
	memcpy(id + 8, &v[5], 8);
	if (memcmp(id, k->id, WIRE_ID_LEN)) {
		snprintf(k->err, sizeof(k->err), "RESTORED for another migration");
		return false;
	}
	return true;
}

/* The answer on the migration's own connection. */
static enum mig_verdict wait_answer(struct mig_commit *k)
{
	struct wire_msg m;
	uint64_t v[6];
	bool asked_undo = false, running = false, pushed = false;
	int ret;

	wire_set_timeout(k->c, 0);
	wire_set_deadline(k->c, (uint64_t)k->restore_ms);
	for (;;) {
		if (running && !pushed && !wire_readable(k->c)) {
			/* post-copy: the tree runs there, push what it lacks */
			ret = k->idle(k->arg);
			if (ret < 0) {
				snprintf(k->err, sizeof(k->err), "post-copy: pushing pages to %s: %s",
					 k->to, k->c->err[0] ? k->c->err : strerror(-ret));
				return MIG_VERDICT_UNKNOWN;
			}
			pushed = ret == 1;
			continue;
		}
		ret = wire_recv(k->c, &m);
		if (!ret && k->postcopy && m.type == WIRE_PC_REQ) {
			ret = k->on_frame(k->arg, &m);
			if (ret) {
				snprintf(k->err, sizeof(k->err), "post-copy: serving %s: %s", k->to,
					 k->c->err[0] ? k->c->err : strerror(-ret));
				return MIG_VERDICT_UNKNOWN;
			}
			continue;
		}
		if (!ret && k->postcopy && !running && m.type == WIRE_RESTORED) {
			if (!restored_ours(k, &m, v))
				return MIG_VERDICT_UNKNOWN;
			/* it runs there, without all its pages yet: a fresh
			 * time budget for the post-copy */
			memcpy(k->v, v, sizeof(k->v));
			running = true;
			k->t_running = ferry_now_ns();
			wire_set_deadline(k->c, (uint64_t)k->restore_ms);
			continue;
		}
		if (!ret && running && m.type == WIRE_PC_DONE &&
		    !wire_parse_u64s(k->c, &m, k->done, 6))
			return MIG_VERDICT_RESTORED;
		if (ret != -EINTR)
			break;
		if (asked_undo) {
			/* a second signal: the operator will not wait */
			snprintf(k->err, sizeof(k->err), "interrupted again while %s restores",
				 k->to);
			return MIG_VERDICT_UNKNOWN;
		}
		/* ask to undo, and believe the answer: RESTORED crossing our
		 * ABORT means it was too late */
		ferry_say("interrupted (signal %d): asking %s to undo the restore (again to stop "
		    "waiting, leaving the tree frozen)", (int)ferry_interrupted, k->to);
		wire_send_error(k->c, WIRE_ABORT, -EINTR, "source interrupted by signal %d",
				(int)ferry_interrupted);
		ferry_interrupted = 0;
		asked_undo = true;
	}
	if (ret) {
		snprintf(k->err, sizeof(k->err), "waiting for the restore on %s: %s", k->to,
			 k->c->err);
		return MIG_VERDICT_UNKNOWN;
	}
	if (m.type == WIRE_RESTORED) {
		if (!restored_ours(k, &m, v))
			return MIG_VERDICT_UNKNOWN;
		memcpy(k->v, v, sizeof(k->v));
		if (asked_undo)
			ferry_say("too late to interrupt: the tree already runs on %s", k->to);
		return MIG_VERDICT_RESTORED;
	}
	if (m.type == WIRE_NOT_RESTORED) {
		char msg[900];
		int32_t code;

		if (wire_parse_error(k->c, &m, &code, msg, sizeof(msg))) {
			snprintf(msg, sizeof(msg), "(no reason given)");
			code = 0;
		}
		if (k->postcopy && code == WIRE_PC_LOST) {
			/* post-copy: it ran there and may have talked to the
			 * world before it was killed; ours is no longer current */
			snprintf(k->err, sizeof(k->err), "%s killed the tree after it ran there "
				 "without all its pages, and it may have reached the outside "
				 "world meanwhile: %s", k->to, msg);
			k->lost = true;
			return MIG_VERDICT_UNKNOWN;
		}
		snprintf(k->err, sizeof(k->err), "%s did not restore the tree: %s", k->to, msg);
		return MIG_VERDICT_NOT_RESTORED;
	}
	/* an ERROR, or anything else, does not say what happened there */
	snprintf(k->err, sizeof(k->err), "%s answered the commit with %s", k->to,
		 wire_type_name(m.type));
	return MIG_VERDICT_UNKNOWN;
}

enum mig_verdict mig_commit_run(struct mig_commit *k)
{
	uint64_t flags = k->postcopy ? WIRE_COMMIT_POSTCOPY : 0;
	enum mig_verdict v;

	if (wire_send_u64s(k->c, WIRE_COMMIT, &flags, 1))
		snprintf(k->err, sizeof(k->err), "sending COMMIT: %s", k->c->err);
	else if ((v = wait_answer(k)) != MIG_VERDICT_UNKNOWN || k->lost)
		return v;	/* lost: definite, nothing to ask */
	ferry_say("%s", k->err);
	return mig_commit_ask(k);
}
