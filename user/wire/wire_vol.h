/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VOLUME: a container's named volume, copied file by file while the
 * container runs and again, only what changed, while it is frozen
 * (ctr_volsync.h). Sent only to a destination whose HELLO has
 * WIRE_CAP_VOLUMES, after CONTAINER_ACK; each frame names the volume by its
 * index in CONTAINER's list (a named one). Payload: u8 op, u8 volume, then
 *   BEGIN  u8 phase (0 pre-copy, 1 final), u64 file bytes, u64 entries
 *          that follow in this phase (the receiver's bounds for it)
 *   DIR    str path, u32 mode, u32 uid, u32 gid, u64 mtime (ns)
 *   FILE   the same, u64 size; the body follows as FILE_DATA/FILE_ZDATA
 *          frames and FILE_END
 *   LINK   str path, str target, u32 uid, u32 gid, u64 mtime (ns)
 *   DEL    str path: gone from the volume (a directory with all in it)
 *   END    no more of this phase
 *   READY  (destination to source, after the pre-copy's BEGIN) the volume
 *          exists there and takes entries: the source waits for it, since
 *          making a volume is a call of the engine, seconds to minutes
 * A path is relative to the volume's root and names nothing outside it
 * (wire_vol_path_ok); "." is the root itself (DIR only). Entries come
 * parents first; the receiver resolves every path beneath the root
 * without following a link.
 */
#ifndef FERRY_WIRE_VOL_H
#define FERRY_WIRE_VOL_H

#include <stdbool.h>
#include <stdint.h>
#include "wire.h"

#define WIRE_VOL_PATH_MAX	4096	/* with the NUL */
#define WIRE_VOL_MAX_ENTRIES	(1u << 22)	/* per phase */

enum wire_vol_op {
	WIRE_VOL_BEGIN = 1,
	WIRE_VOL_DIR,
	WIRE_VOL_FILE,
	WIRE_VOL_LINK,
	WIRE_VOL_DEL,
	WIRE_VOL_END,
	WIRE_VOL_READY,
};

enum wire_vol_phase {
	WIRE_VOL_PRECOPY = 0,
	WIRE_VOL_FINAL = 1,
};

struct wire_vol {
	uint8_t op, vol;
	uint8_t phase;			/* BEGIN */
	uint64_t bytes, entries;	/* BEGIN */
	char path[WIRE_VOL_PATH_MAX];	/* DIR FILE LINK DEL */
	char target[WIRE_VOL_PATH_MAX];	/* LINK */
	uint32_t mode, uid, gid;	/* DIR FILE (mode), LINK (owner) */
	uint64_t mtime_ns;
	uint64_t size;			/* FILE */
};

/* A relative path of components that are neither "", "." nor "..", or
 * "." alone when root_ok. */
bool wire_vol_path_ok(const char *path, bool root_ok);
int wire_send_vol(struct wire_conn *c, const struct wire_vol *v);
/* Every field's form checked: a known op, BEGIN's phase, its entries at
 * most WIRE_VOL_MAX_ENTRIES, paths by wire_vol_path_ok ("." only for a
 * DIR), a non-empty link target, mode within 07777. */
int wire_parse_vol(struct wire_conn *c, const struct wire_msg *m, struct wire_vol *v);

#endif
