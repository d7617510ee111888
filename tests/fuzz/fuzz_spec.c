// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: ctr_spec_annotate() (ctr_criuconf.h), which edits the
 * spec.dump of a checkpoint archive that came over the network. Whatever
 * it accepts must come out as one JSON object that the edit accepts again
 * and leaves as it is (the annotation already there, replaced by itself),
 * and must name the configuration file. Seeds: a Podman spec, and one
 * an earlier migration annotated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctr_criuconf.h"

#define CONF "/var/tmp/ferry-recv-abc/" CTR_CRIU_CONF_NAME

static size_t count(const char *s, size_t n, const char *what)
{
	size_t c = 0, w = strlen(what);

	for (size_t i = 0; i + w <= n; i++)
		if (!memcmp(s + i, what, w))
			c++;
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *out = NULL, *again = NULL;
	size_t olen = 0, alen = 0;
	int ret;

	ret = ctr_spec_annotate((const char *)data, size, CONF, &out, &olen, err, sizeof(err));
	if (ret) {
		if (out)
			abort();	/* nothing handed out on failure */
		return 0;
	}
	if (strlen(out) != olen)
		abort();
	ret = ctr_spec_annotate(out, olen, CONF, &again, &alen, err, sizeof(err));
	if (ret || alen != olen || memcmp(out, again, olen))
		abort();
	if (!count(out, olen, "\"" CONF "\""))
		abort();
	free(out);
	free(again);
	return 0;
}
