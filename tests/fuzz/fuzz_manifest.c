// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: a checkpoint version's MANIFEST (ha_store.h), which `ferry
 * versions` and `ferry restore` read from a store that may have been
 * damaged, or written by someone else. The input becomes the manifest of a
 * small real version (made once, by ha_store_publish) and is checked
 * against it. Seed: that version's own manifest.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ha_store.h"

static char vdir[128];
static char top[64];

static void remove_top(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", top);
}

static void put(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

/* DIR/store/v-1: r0/pages-1.img (1.5 MiB: two chunks), r0/pagemap-7.img,
 * final/core-7.img, final/parent -> ../r0 */
static void make_version(void)
{
	static uint8_t pages[3 << 19];
	char base[64] = "/tmp/ferry-fuzz-manifest-XXXXXX", tmp[256], p[320], err[512];
	struct ha_store st;
	struct ha_meta m = { .version = 1, .created = 1, .root = 7, .rounds = 1, .top = "r0" };
	unsigned int swept;
	uint32_t v;

	if (!mkdtemp(base))
		abort();
	snprintf(top, sizeof(top), "%s", base);
	atexit(remove_top);
	strcat(base, "/store");
	if (ha_store_open(&st, base, true, true, err, sizeof(err)) ||
	    ha_store_begin(&st, &v, &swept, tmp, sizeof(tmp), err, sizeof(err)))
		abort();
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 131 >> 7);
	snprintf(p, sizeof(p), "%s/r0", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/final", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/r0/pages-1.img", tmp);
	put(p, pages, sizeof(pages));
	snprintf(p, sizeof(p), "%s/r0/pagemap-7.img", tmp);
	put(p, "pagemap", 7);
	snprintf(p, sizeof(p), "%s/final/core-7.img", tmp);
	put(p, "core", 4);
	snprintf(p, sizeof(p), "%s/final/parent", tmp);
	if (symlink("../r0", p) || ha_store_publish(&st, &m, err, sizeof(err)))
		abort();
	ha_store_close(&st);
	snprintf(vdir, sizeof(vdir), "%s/v-1", base);
	if (getenv("FUZZ_MANIFEST_PRINT")) {	/* the seed: its own manifest */
		snprintf(p, sizeof(p), "cat %s/MANIFEST", vdir);
		if (system(p))
			abort();
		exit(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ha_meta m;
	char path[160], err[1024];

	if (!vdir[0])
		make_version();
	snprintf(path, sizeof(path), "%s/%s", vdir, HA_MANIFEST);
	put(path, data, size);
	ha_verify(vdir, &m, err, sizeof(err));
	ha_meta_read(vdir, &m, err, sizeof(err));
	return 0;
}
