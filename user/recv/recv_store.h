/* SPDX-License-Identifier: GPL-2.0 */
/* `ferry receive --store`: checkpoint versions sent by `ferry checkpoint|ha
 * --to` (recv_store.c). */
#ifndef FERRY_RECV_STORE_H
#define FERRY_RECV_STORE_H

#include <stddef.h>

struct ropts;
struct wire_conn;

/* One store session after the handshake; peer is the certificate's name
 * ("" without TLS). 0, or -errno with err saying why. */
int recv_store_run(const struct ropts *o, struct wire_conn *c, const char *peer, char *err,
		   size_t errlen);

#endif
