/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ferry receive`: receive.c is the server (options, one process per
 * connection, the limit on concurrent sessions); recv_session.c is one
 * migration, from the first byte to the restored tree; recv_policy.c says
 * what a peer may make it do.
 */
#ifndef FERRY_RECV_H
#define FERRY_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include "mig_tcp.h"

struct wire_tls;

#define RECV_MAX_CRIU_ARGS	16
#define RECV_MAX_ALLOW		32

struct ropts {
	const char *listen;
	const char *dir;
	bool once, keep;
	bool eager;		/* --no-lazy */
	const char *criu_args[RECV_MAX_CRIU_ARGS];
	int ncriu_args;
	/* deadlines, ms: the peer proves who it is (TLS, HELLO) within
	 * auth_ms of connecting; every later frame must arrive within
	 * phase_ms; CRIU's restore must end within restore_ms */
	int auth_ms, phase_ms, restore_ms;
	unsigned int max_sessions;
	struct mig_addr allow_addr[RECV_MAX_ALLOW];	/* --allow-addr */
	size_t nallow_addr;
	struct wire_tls *tls;	/* credentials; NULL only with --insecure */
	const char *allow[RECV_MAX_ALLOW];	/* --allow NAME: client certificates */
	size_t nallow;
	const char *state_dir;	/* outcome records (recv_outcome.h) */
	int linger_ms;		/* --once: answer queries this long after */
	const char *store_dir;	/* --store: checkpoint chains kept here */
	const char *runc_root;	/* --runc-root: runc containers' state (ctr_runc.h) */
};

/* How a session ended (its process's exit status). */
enum recv_result {
	RECV_RESTORED	= 0,	/* the tree runs here */
	RECV_FAILED	= 1,	/* an authenticated peer's migration failed */
	RECV_REFUSED	= 100,	/* the peer never proved who it is */
	RECV_QUERY	= 101,	/* it asked for an outcome */
	/* committed, but the source did not confirm it learnt the outcome:
	 * it may ask, so `--once` answers queries a while longer */
	RECV_RESTORED_UNACKED = 102,
	RECV_FAILED_UNACKED = 103,
	RECV_STORED	= 104,	/* a checkpoint store session (recv_store.h) */
	RECV_STORE_FAILED = 105,
};

/* One migration over the connected socket fd. */
enum recv_result recv_session_run(const struct ropts *o, int fd);

#endif
