/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Podman's restore of a migrated container straight from ferry's images.
 *
 * `podman container restore --import` has CRIU read the images Podman
 * unpacked into its own directory, and the pre-copied pages only from
 * --import-previous: a tar of the whole chain, written on the destination
 * and unpacked again by Podman, all of it eagerly copied into the
 * container before it runs. At 1 GiB that was most of the downtime.
 *
 * runc hands CRIU a configuration file: the one the container's
 * `org.criu.config` annotation names (runc 1.1 here), and CRIU (3.11+) reads
 * it after the RPC request, so that its options win. Through it ferry
 * points CRIU at its own images (`images-dir`: the final dump unpacked
 * from the archive, its parent link to the newest pre-copy round) and its
 * own work dir, and with `lazy-pages` leaves the pre-copied pages to
 * ferry's lazy-pages server, as for a tree. Podman still restores
 * everything else from the archive (config, rootfs changes, network).
 *
 * So the archive's spec.dump gains that annotation before Podman sees it.
 * It stays on the restored container (`podman inspect` shows it), naming a
 * file that is removed as soon as the restore returns: runc and CRIU
 * ignore a configuration file that does not exist, so a later checkpoint
 * of the container is unaffected. A container that has an annotation
 * `org.criu.config` of its own is restored the old way.
 */
#ifndef FERRY_CTR_CRIUCONF_H
#define FERRY_CTR_CRIUCONF_H

#include <stdbool.h>
#include <stddef.h>

#define CTR_CRIU_ANNOTATION	"org.criu.config"
#define CTR_CRIU_CONF_NAME	"ferry-criu-restore.conf"	/* every one ends so */
#define CTR_SPEC_MAX		(8u << 20)	/* a spec.dump larger is refused */

/*
 * Pure: spec (an OCI runtime spec, JSON, len bytes) with
 * annotations[CTR_CRIU_ANNOTATION] = conf, as a new malloc'ed text
 * (*out, *outlen). An annotation of that name whose value ends in
 * "/" CTR_CRIU_CONF_NAME (left by an earlier migration) is replaced.
 * 0, 1 when it must not be done (why in err: the container has its own,
 * or keys the edit could misread), -EINVAL for text that is not a JSON
 * object, -ENOMEM. conf must be a plain path (ctr_criuconf_path_ok).
 */
int ctr_spec_annotate(const char *spec, size_t len, const char *conf, char **out, size_t *outlen,
		      char *err, size_t errlen);

/* Can path stand in a CRIU configuration file and a JSON string as it is:
 * absolute, no blank, quote, backslash, '#' or control character? */
bool ctr_criuconf_path_ok(const char *path);

/*
 * Append a regular file name (data, len bytes) to the tar archive, in
 * place of its end marker, with a new one after it. A reader that lets a
 * later member replace an earlier one of the same name (Podman's untar,
 * GNU tar) then takes this one. The archive's members are walked first,
 * each header's checksum checked: -EINVAL if they do not add up,
 * -ENOTSUP for a GNU sparse or multi-volume member (nothing written then).
 * Not GNU tar --delete/-r: on an archive not padded to tar's record size,
 * as Go's tar writer leaves Podman's, --delete lost another member.
 */
int ctr_tar_append(const char *archive, const char *name, const void *data, size_t len,
		   char *err, size_t errlen);

/*
 * Destination: prepare archive for a restore from ferry's images in
 * img_dir (an empty directory; the final dump is unpacked into it from the
 * archive's checkpoint/, a parent link of the archive's dropped), with the
 * configuration file conf (not written yet: ctr_criuconf_write) named in
 * the archive's spec.dump. work_dir takes logs and scratch files.
 * 0; 1 when this container must be restored the old way (why in err);
 * -errno on failure (why in err).
 */
int ctr_criuconf_prepare(const char *archive, const char *img_dir, const char *conf,
			 const char *work_dir, char *err, size_t errlen);

/*
 * Source: the memory images of archive's final dump (checkpoint/pagemap-*
 * and pages-*) unpacked into dir, which already holds the archive: a
 * container's version keeps them beside it, so that the next version can
 * build on them as on a tree's final dump. tar's messages go to log.
 */
int ctr_archive_memory(const char *archive, const char *dir, const char *log, char *err,
		       size_t errlen);

/* Write conf: CRIU's images are img_dir (through the link img_dir.link,
 * made here), its work dir (log, statistics) work_dir (NULL: img_dir);
 * lazy: its pre-copied pages are left to a lazy-pages server listening in
 * its work dir. */
int ctr_criuconf_write(const char *conf, const char *img_dir, const char *work_dir, bool lazy,
		       char *err, size_t errlen);

#endif
