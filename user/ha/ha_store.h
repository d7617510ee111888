/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A checkpoint store (`ferry checkpoint --dir`, `ferry versions`, `ferry
 * restore --dir`): a directory of versions, each a complete set of CRIU
 * images that restores on its own:
 *
 *   DIR/.lock          flock()ed by the one writer
 *   DIR/v-1/ ...       published versions (never changed once published)
 *   DIR/v-2/MANIFEST   what the version holds, with a checksum of each file
 *   DIR/v-2/r0 .. rK/  the pre-copy rounds (imgchain.h)
 *   DIR/v-2/final/     CRIU's final dump, parent -> ../rK
 *   DIR/.v-3.tmp/      a version being written
 *   DIR/.v-1.del/      a version being removed (`ferry ha --keep`)
 *   DIR/.v-2.fold/     version 2 made to stand alone (ha_fold.c)
 *
 * A version of `ferry ha` after its first is incremental: its first round
 * holds only the pages written since the version before it ("base N" in
 * its manifest, r0/parent -> ../../v-N/final), so it restores only with
 * that one (and its own base, and so on). Retention folds a base into the
 * version that builds on it before removing it.
 *
 * A version is written under its temporary name, flushed to disk, and
 * published by a rename: a writer that dies leaves only a .tmp directory,
 * which is never restored and is removed by the next writer.
 *
 * MANIFEST is text, one record per line: the version's figures, then
 * "link PATH TARGET" for each symlink and "file PATH SIZE SHA256" for each
 * file, followed by a "chunk OFFSET LENGTH SHA256" line per MiB of it (so
 * a damaged page run is located, not only its file), and last "end
 * SHA256" over every line before it. Nothing in it is trusted when read
 * back: each line, path and count is bounded, and any file that differs
 * from it, is missing, or is not listed makes the version damaged.
 */
#ifndef FERRY_HA_STORE_H
#define FERRY_HA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_MANIFEST		"MANIFEST"
#define HA_CHUNK		(1u << 20)	/* bytes per chunk checksum */
#define HA_MAX_VERSIONS		100000u
#define HA_MAX_ENTRIES		100000u		/* files + links of one version */
#define HA_MAX_LINE		1024
#define HA_RUNC_BUNDLE_MAX	1000		/* with NUL: its manifest line fits */

/* The figures of one version, as its manifest records them. */
struct ha_meta {
	uint32_t version;
	uint64_t created;		/* Unix time, s */
	uint32_t root;			/* the tree's root PID */
	uint32_t rounds;		/* pre-copy rounds */
	uint64_t pages_precopied;	/* distinct pages the rounds hold */
	uint64_t pages_written;		/* CRIU's stat names from here on */
	uint64_t pages_skipped_parent;
	uint64_t frozen_time;		/* us */
	uint64_t bytes;			/* of all its files */
	uint32_t tcp_connections;
	uint32_t base;			/* 0: restores on its own; else the
					 * version whose final dump its r0
					 * builds on (r0/parent) */
	char top[16];			/* the newest round: "r3" */
	/* a container's version (`--container`): its final/ holds Podman's
	 * checkpoint archive, on top of the rounds, and beside it the
	 * archive's memory images with parent -> ../rK (what a later
	 * version builds on, as on a tree's final dump); empty for a tree */
	char container[65];		/* its full ID */
	char container_name[256];	/* runc: its runc ID */
	/* a runc container's version (`--container --engine runc`): its
	 * final/ holds runc's checkpoint on top of the rounds, as a tree's
	 * does, container is empty, and the bundle is named, not kept (it
	 * lives on storage the restoring host shares) */
	bool runc;
	char runc_bundle[HA_RUNC_BUNDLE_MAX];
	char runc_config[65];		/* SHA-256 of its config.json */
};

struct ha_store {
	int dirfd;
	int lockfd;
	char dir[4096];
};

/* Open DIR (create: made 0700 if missing). lock: take the writer's lock,
 * -EBUSY if another writer holds it. */
int ha_store_open(struct ha_store *st, const char *dir, bool create, bool lock, char *err,
		  size_t errlen);
void ha_store_close(struct ha_store *st);

/* Published version numbers, ascending (malloc'ed). */
int ha_store_versions(struct ha_store *st, uint32_t **v, size_t *n);
/* Temporary directories of versions never published (malloc'ed). */
int ha_store_incomplete(struct ha_store *st, uint32_t **v, size_t *n);

/*
 * The writer: remove what dead writers left (their count in *swept), make
 * DIR/.v-N.tmp for the next N and put its path in tmp.
 */
int ha_store_begin(struct ha_store *st, uint32_t *version, unsigned int *swept, char *tmp,
		   size_t tmplen, char *err, size_t errlen);
/* Checksum every file of the temporary version into its manifest, flush it
 * all to disk and publish it as DIR/v-N. */
int ha_store_publish(struct ha_store *st, struct ha_meta *meta, char *err, size_t errlen);
/* Remove a temporary version (a checkpoint that failed). */
void ha_store_abandon(struct ha_store *st, uint32_t version);
/* Remove published version v (retention): renamed to DIR/.v-N.del first,
 * so no reader sees part of it, then deleted. 0 or -1 with errno. */
int ha_store_retire(struct ha_store *st, uint32_t version);

/* Path of version v (published) in out. */
void ha_store_path(const struct ha_store *st, uint32_t v, char *out, size_t len);

/* Read a version's figures from its manifest (no checksum checked). */
int ha_meta_read(const char *vdir, struct ha_meta *meta, char *err, size_t errlen);
/*
 * Check the version against its manifest: every file there with the same
 * size and checksum, every link the same, nothing unlisted. 0 complete,
 * -EBADMSG damaged (err says where), other -errno when it could not look.
 */
int ha_verify(const char *vdir, struct ha_meta *meta, char *err, size_t errlen);

/*
 * ha_verify() of version v of the store and of every version it builds on
 * (meta.base, followed down to one that stands alone, at most
 * HA_MAX_CHAIN). *meta gets v's figures. -EBADMSG if any is damaged or
 * missing (err says which and why).
 */
#define HA_MAX_CHAIN		1000u
int ha_verify_chain(const struct ha_store *st, uint32_t v, struct ha_meta *meta, char *err,
		    size_t errlen);

/*
 * Retention: make published version v stand alone (base 0), so that its
 * base can be removed. v's first round is rewritten with every page it
 * and its bases hold, its other files linked unchanged, under
 * DIR/.v-N.fold with a new manifest, which then replaces DIR/v-N in one
 * rename (RENAME_EXCHANGE): a fold cut short leaves the old pair, both
 * restorable. 0 (also when v already stands alone) or -errno.
 */
int ha_store_fold(struct ha_store *st, uint32_t v, char *err, size_t errlen);

/*
 * The CRIU image set in src, whose pagemaps may point into parent sets
 * (src/parent, and so on), into dst (made; must not exist) standing alone:
 * each pid's pagemap lists every page the chain provides, all present, in
 * a new pages file; other files are hard-linked (dst on src's file
 * system), links made again but src's parent link. For ha_store_fold()
 * and `ferry checkpoint --export`.
 */
int ha_flatten_images(const char *src, const char *dst, char *err, size_t errlen);

/* Write vfd's MANIFEST (files checksummed and flushed, meta->bytes set)
 * and fsync vfd. For ha_store.c and ha_fold.c. */
int ha_manifest_write(int vfd, const char *label, struct ha_meta *meta, char *err,
		      size_t errlen);

/* What a version's manifest lists (not MANIFEST itself), its figures in
 * *meta: for sending the version elsewhere (ha_ship.c). */
struct ha_entry {
	char path[512];
	bool link;
	char target[256];	/* link */
	uint64_t size;		/* file */
};
int ha_manifest_list(const char *vdir, struct ha_entry **e, size_t *n, struct ha_meta *meta,
		     char *err, size_t errlen);

/*
 * A version that arrives whole from elsewhere (`ferry receive --store`):
 * ha_store_begin_at() is ha_store_begin() for a given number, which must
 * be newer than every version and temporary directory there (-EEXIST);
 * ha_store_accept() checks the temporary version against its manifest
 * (which must be of that version, and whose base must be here), flushes
 * its directories and publishes it. Its files must have been flushed as
 * they were written.
 */
int ha_store_begin_at(struct ha_store *st, uint32_t version, char *tmp, size_t tmplen, char *err,
		      size_t errlen);
int ha_store_accept(struct ha_store *st, uint32_t version, struct ha_meta *meta, char *err,
		    size_t errlen);

/*
 * Retention: keep the newest keep versions. A version that builds on one
 * being removed is folded first; a fold that fails keeps the old version
 * (never a version without its base). say() is told each step.
 */
void ha_store_prune(struct ha_store *st, unsigned int keep,
		    void (*say)(const char *fmt, ...) __attribute__((format(printf, 1, 2))));

/* A chain's name on a store host (`--name`, STORE/NAME): 1..HA_CHAIN_MAX
 * bytes of [A-Za-z0-9._-], not starting with a dot. */
#define HA_CHAIN_MAX		64
bool ha_chain_name_ok(const char *s);

/* Pure, for the unit tests: is this a path a manifest may name? */
bool ha_path_ok(const char *path);
/* Pure: may a version with this base hold a link at path to target? Inside
 * the version only ("../rN"), except r0/parent of an incremental one. */
bool ha_link_ok(const char *path, const char *target, uint32_t base);

#endif
