/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checkpoint store session's messages (wire.h has the conversation):
 * `ferry checkpoint|ha --to` hands the versions of a checkpoint chain to
 * `ferry receive --store`, which keeps them so that they outlive the
 * source host.
 *
 *   STORE_OPEN     str chain name (ha_name_ok, at most WIRE_CHAIN_MAX),
 *                  u32 versions to keep (1..1000)
 *   STORE_HAVE     u32 count (at most WIRE_STORE_MAX_HAVE), then per
 *                  version u32 number, u64 creation time: the newest the
 *                  store holds, complete or not checked yet
 *   STORE_VERSION  u64s: number, base (0: stands alone), creation time,
 *                  the base's creation time, bytes of its files, entries
 *   STORE_FILE     str path (ha_path_ok), u64 size; its body follows as
 *                  FILE_DATA/FILE_ZDATA frames and FILE_END
 *   STORE_LINK     str path, str target (ha_link_ok for that base)
 *   STORE_END      no payload
 *   STORE_DONE     u64s: the version the store host published
 * A version is identified by its number and creation time together: a
 * chain started over under the same name is not taken for the old one.
 */
#ifndef FERRY_WIRE_STORE_H
#define FERRY_WIRE_STORE_H

#include <stdint.h>
#include "wire.h"

#define WIRE_CHAIN_MAX		64
#define WIRE_STORE_MAX_HAVE	1024u
#define WIRE_STORE_PATH_MAX	512

struct wire_store_open {
	char chain[WIRE_CHAIN_MAX + 1];
	uint32_t keep;
};
int wire_send_store_open(struct wire_conn *c, const struct wire_store_open *o);
int wire_parse_store_open(struct wire_conn *c, const struct wire_msg *m,
			  struct wire_store_open *o);

struct wire_store_have {
	uint32_t n;
	uint32_t version[WIRE_STORE_MAX_HAVE];
	uint64_t created[WIRE_STORE_MAX_HAVE];
};
int wire_send_store_have(struct wire_conn *c, const struct wire_store_have *h);
int wire_parse_store_have(struct wire_conn *c, const struct wire_msg *m,
			  struct wire_store_have *h);

struct wire_store_version {
	uint32_t version, base;
	uint64_t created, base_created;
	uint64_t bytes;
	uint32_t entries;
};
int wire_send_store_version(struct wire_conn *c, const struct wire_store_version *v);
int wire_parse_store_version(struct wire_conn *c, const struct wire_msg *m,
			     struct wire_store_version *v);

struct wire_store_entry {
	char path[WIRE_STORE_PATH_MAX];
	uint64_t size;			/* STORE_FILE */
	char target[256];		/* STORE_LINK */
};
int wire_send_store_file(struct wire_conn *c, const char *path, uint64_t size);
int wire_send_store_link(struct wire_conn *c, const char *path, const char *target);
/* STORE_FILE or STORE_LINK (by m->type); the path's and target's form is
 * the receiver's to judge. */
int wire_parse_store_entry(struct wire_conn *c, const struct wire_msg *m,
			   struct wire_store_entry *e);

#endif
