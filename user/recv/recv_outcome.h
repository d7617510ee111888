/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receiver's record of what became of each migration it was asked to
 * commit, so that a source whose answer was lost can ask again (an outcome
 * query on a new connection) and act on the truth: kill its copy, resume
 * it, or stay frozen.
 *
 * One small file per migration ID in the state directory, replaced
 * atomically and synced before the answer it backs is sent:
 *   PENDING        COMMIT received, restore under way (with the session's
 *                  PID: a dead session's pending record means nobody knows)
 *   RESTORED       the guard was released: the tree stays here
 *   NOT_RESTORED   everything was undone (by the session or its guard)
 * Records older than a day are pruned when the server starts.
 */
#ifndef FERRY_RECV_OUTCOME_H
#define FERRY_RECV_OUTCOME_H

#include <stdint.h>
#include <sys/types.h>
#include "wire.h"

#define RECV_OUTCOME_DIR	"/run/ferry/outcomes"
#define RECV_OUTCOME_PENDING	100u	/* stored state, never sent */

struct recv_outcome_rec {
	uint32_t state;		/* enum wire_outcome, or RECV_OUTCOME_PENDING */
	pid_t session;		/* the session process (PENDING) */
	uint64_t time;		/* seconds since the epoch */
	uint64_t v[4];		/* RESTORED's values */
	char peer[256];		/* the source's certificate name ("" insecure) */
};

/* Write (atomically, synced) / read the record of id under dir. */
int recv_outcome_write(const char *dir, const uint8_t id[WIRE_ID_LEN],
		       const struct recv_outcome_rec *r);
int recv_outcome_read(const char *dir, const uint8_t id[WIRE_ID_LEN], struct recv_outcome_rec *r);
/* The answer to peer's query: UNKNOWN for no record, another peer's
 * record, or a pending one whose session is gone; IN_PROGRESS while it
 * lives. v gets the RESTORED values. */
uint32_t recv_outcome_answer(const char *dir, const uint8_t id[WIRE_ID_LEN], const char *peer,
			     uint64_t v[4]);
/* Create dir (0700) and remove records older than max_age seconds. */
int recv_outcome_init(const char *dir, uint64_t max_age);

/*
 * After the outcome was sent, the source's DONE confirms it. In post-copy
 * the source pushes pages (PC_DATA, then PC_PUSHED once all are sent)
 * until it reads our PC_DONE or NOT_RESTORED, so those frames may arrive
 * first: they are skipped, at most max_skip of them (a source that keeps
 * sending never gets its ack taken for one), and so is one ABORT (an
 * interrupted source's, which crossed the answer it then takes). 0 on
 * DONE; -errno with c->err set for anything else.
 */
int recv_await_done(struct wire_conn *c, uint64_t max_skip);

#endif
