// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the CRIU image and RPC parsers ferry runs on what CRIU (and,
 * through the final images, the source) wrote: pagemap, pstree, files /
 * inet sockets, dump and restore stats, criu_resp messages, protobuf
 * fields. The input becomes each image file in turn.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "criu_img.h"
#include "criu_lazy.h"
#include "criu_swrk.h"
#include "mig_tcp.h"

static char dir[64];

static void put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	uint32_t id, *pids;
	struct criu_pme *ents;
	size_t n, off = 0;
	struct criu_dump_stats ds;
	struct criu_restore_stats rs;
	struct criu_swrk_resp resp;
	struct mig_tcp_conn *conns;
	struct pb_field f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/ferry-fuzz-images-%d", (int)getpid());
		mkdir(dir, 0700);
	}
	put("pagemap-1.img", data, size);
	snprintf(path, sizeof(path), "%s/pagemap-1.img", dir);
	if (!criu_img_read_pagemap(path, &id, &ents, &n))
		free(ents);
	put("stats-dump", data, size);
	snprintf(path, sizeof(path), "%s/stats-dump", dir);
	criu_img_read_dump_stats(path, &ds);
	criu_img_read_restore_stats(path, &rs);
	put("pstree.img", data, size);
	if (!criu_pstree_pids(dir, &pids, &n))
		free(pids);
	put("files.img", data, size);
	put("inetsk.img", data, size);
	if (!mig_tcp_read_images(dir, &conns, &n))
		free(conns);
	criu_swrk_decode_resp(data, size, &resp);
	while (pb_next(data, size, &off, &f) > 0)
		;
	return 0;
}
