/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ferry checkpoint --container X --export FILE`: a container's version
 * written as Podman's checkpoint archive, standing alone (ha_export.c).
 */
#ifndef FERRY_HA_EXPORT_H
#define FERRY_HA_EXPORT_H

#include <stdint.h>
#include "ha_store.h"

struct ha_export_stats {
	uint64_t bytes;		/* of FILE */
	uint64_t ms;
};

/*
 * Version vdir (of a container: meta->container set) into FILE, Podman's
 * archive layout with checkpoint/ holding every page, so that `podman
 * container restore --import FILE` (or `ferry restore --import FILE`)
 * restores it on any host with the image. Written beside FILE and
 * renamed over it once flushed: FILE is whole or untouched. 0 or -errno
 * (why in err).
 */
int ha_export_container(const char *vdir, const struct ha_meta *meta, const char *file,
			struct ha_export_stats *st, char *err, size_t errlen);

#endif
