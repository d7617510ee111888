/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checkpoints kept on another host: `ferry checkpoint|ha --to HOST:PORT`
 * sends each version it publishes in its local store to `ferry receive
 * --store` there (ha_ship.c), which keeps a store of its own per chain
 * (recv_store.c). A version goes with whatever it builds on that the other
 * store lacks, oldest first, so every version there restores on its own
 * there. Both stores fold and retire by the same --keep.
 */
#ifndef FERRY_HA_SHIP_H
#define FERRY_HA_SHIP_H

#include <stdint.h>
#include "ha_store.h"

struct wire_tls;

struct ha_ship_opts {
	const char *to;			/* HOST:PORT */
	const char *chain;		/* the chain's name there */
	unsigned int keep;
	struct wire_tls *tls;		/* NULL: plain TCP (--insecure) */
	int timeout_ms;			/* each answer, and each frame sent */
};

/*
 * A store session gives up on its receiver only after this long without
 * an acknowledgement. A receiver that is writing to a slow store (a
 * network file system, a busy disk: it fsyncs each file) stops reading,
 * and its window stays shut: with MIG_USER_TIMEOUT_MS (20 s) the kernel
 * took that for a dead link and the version was lost. No workload waits
 * frozen on a store session, so a dead receiver may take as long to
 * notice as any slow answer (MIG_REPLY_TIMEOUT_MS).
 */
#define HA_SHIP_USER_TIMEOUT_MS	120000u

struct ha_ship_stats {
	unsigned int versions;		/* sent (0: the store host had it) */
	uint64_t bytes;			/* of their files */
	uint64_t wire_bytes;		/* on the connection */
	uint64_t ms;
};

/* Make version v of st (published) and its bases present in the store
 * host's chain. 0, or -errno with err saying why; the local store is not
 * changed either way. */
int ha_ship(struct ha_store *st, uint32_t v, const struct ha_ship_opts *o,
	    struct ha_ship_stats *stats, char *err, size_t errlen);

#endif
