/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source's tree after CRIU's final dump: stopped, its connections in
 * repair mode behind CRIU's nftables table, the service address removed
 * (--move-addr). Exactly one of two things may happen to it: resume (the
 * destination did not restore it) or kill (it runs there). When the
 * outcome cannot be learnt, `ferry migrate` leaves it so and writes what
 * `ferry settle` needs to do either later (mig_frozen_save/load).
 */
#ifndef FERRY_MIG_FROZEN_H
#define FERRY_MIG_FROZEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mig_tcp.h"
#include "proc_tcp.h"
#include "wire.h"

struct mig_frozen {
	pid_t root;
	uint64_t root_start;	/* its start time (settle: not a reused PID) */
	pid_t *pids;		/* the tree, root first */
	size_t npids;
	bool tcp;		/* dumped with --tcp-established (CRIU's lock) */
	struct mig_tcp_conn *conns;	/* the dumped connections */
	size_t nconns;
	bool addr_removed;	/* --move-addr: taken off this host */
	struct mig_addr addr;
};

/* Put the tree back as it was: address, connections, SIGCONT. */
void mig_frozen_resume(struct mig_frozen *f);
/* Kill the tree (it runs elsewhere) and drop CRIU's lock once its
 * processes and its dumped connections' sockets are gone: 0. If they are
 * not within mig_frozen_gone_wait_ms (120 s), the lock stays (said, with
 * how to remove it): 1. */
extern int mig_frozen_gone_wait_ms;
int mig_frozen_kill(struct mig_frozen *f);
/* Pure: is s (a socket of this host) the dumped connection c? Not in
 * TIME_WAIT or LISTEN. */
bool mig_frozen_conn_is(const struct mig_tcp_conn *c, const struct proc_tcp_sock *s);

/* What settle needs, in DIR/settle.state: the tree, the address, where it
 * went and the migration ID. The connections are read again from
 * DIR/final (CRIU's images). */
int mig_frozen_save(const struct mig_frozen *f, const char *dir, const char *to,
		    const uint8_t id[WIRE_ID_LEN], char *err, size_t errlen);
int mig_frozen_load(struct mig_frozen *f, const char *dir, char *to, size_t tosize,
		    uint8_t id[WIRE_ID_LEN], char *err, size_t errlen);
void mig_frozen_free(struct mig_frozen *f);
/* Is f->root still the process that was frozen (same start time)? */
bool mig_frozen_same_tree(const struct mig_frozen *f);

#endif
