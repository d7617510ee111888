// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: ctr_runc_config_binds() (ctr_runc.h), which reads the bind
 * mounts of a runc bundle's config.json with the JSON skimmer (jscan.h).
 * Whatever it accepts gives at most WIRE_CTR_MAX_VOLS bind mounts, each
 * with an absolute source and destination, NUL-terminated within their
 * fields; a refusal leaves none. Seed: runc's default spec with two binds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctr_runc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_ctr *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return 0;
	ret = ctr_runc_config_binds((const char *)data, size, "/srv/bundle", w);
	if (ret && w->nvols)
		abort();
	if (w->nvols > WIRE_CTR_MAX_VOLS)
		abort();
	for (uint32_t i = 0; i < w->nvols; i++) {
		const struct wire_ctr_vol *v = &w->vols[i];

		if (v->kind != WIRE_CTR_VOL_BIND || v->src[0] != '/' || v->dest[0] != '/' ||
		    !memchr(v->src, 0, sizeof(v->src)) || !memchr(v->dest, 0, sizeof(v->dest)))
			abort();
	}
	free(w);
	return 0;
}
