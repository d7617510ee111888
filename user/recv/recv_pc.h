/* SPDX-License-Identifier: GPL-2.0 */
/* Post-copy on the destination (recv_pc.c; migrate/postcopy.h). */
#ifndef FERRY_RECV_PC_H
#define FERRY_RECV_PC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lazy_server.h"
#include "wire.h"
#include "wire_pc.h"

struct session;

struct recv_pc_file {
	char name[64];
	int fd;			/* final/NAME, its full size */
	uint64_t pages;
	uint8_t *present;	/* shared: bit per page in place */
	size_t map_len;
};

struct recv_pc {
	struct recv_pc_file f[WIRE_PC_MAX_FILES];
	size_t n;
	uint64_t pages, have, on_fault;
	bool pushed;
	struct lz_remote rem;	/* the lazy server's view */
	int sp[2];		/* [0] ours, [1] the lazy server's */
	uint8_t *buf;
	uint64_t t_last;	/* when pages last came */
	uint64_t ms;		/* restore to the last page */
	struct lz_pc_stats st;	/* the lazy server's, at its end */
	pthread_t pump;		/* feeds the lazy server while CRIU restores */
	bool pumping, pump_stop;
	int pump_ret;
	char pump_err[512];	/* the pump's error (s->err is the restore's) */
};

struct recv_pc *recv_pc_get(struct session *s);
void recv_pc_free(struct session *s);
/* PC_FILE: final/NAME made at its size, charged to the budget. */
int recv_pc_file(struct session *s, const struct wire_msg *m);
/* PC_DATA: its pages written (those not in place yet) and marked. */
int recv_pc_data(struct session *s, const struct wire_msg *m);
/* After criu_lazy_mark(CRIU_LAZY_OWN): the pages CRIU reads itself asked
 * for and awaited; the lazy server's struct lz_remote made (s->pc->rem).
 * *eager: those pages. */
int recv_pc_prepare(struct session *s, uint64_t *eager);
/* The lazy server started: its end of the socketpair closed here. */
void recv_pc_started(struct session *s);
/* While CRIU restores, a thread feeds the lazy server (the restored tasks
 * fault before the tree runs); stopped, and its error returned, before the
 * session uses the connection again. */
int recv_pc_pump_start(struct session *s);
int recv_pc_pump_stop(struct session *s);
/* The tree runs: feed the lazy server until it exits; 0 when it says
 * every page is in place. */
int recv_pc_run(struct session *s);
/* Before the tree is killed in the post-copy window: could it have told
 * the outside world anything (proc_reach.h)? Yes if it could as restored
 * (recv_pc_note_reach), or can now; unknown counts as yes. */
bool recv_pc_reached_out(struct session *s, char *why, size_t whylen);
/* Once restored, before it runs (CRIU's post-restore) or just after: what
 * the tree holds that reaches out, kept in the session's directory for the
 * restore guard too, since the tree may be gone when the question comes. */
void recv_pc_note_reach(struct session *s);

#endif
