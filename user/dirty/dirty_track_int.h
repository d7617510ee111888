/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the dirty-tracking backends (dirty_*.c). */
#ifndef FERRY_DIRTY_TRACK_INT_H
#define FERRY_DIRTY_TRACK_INT_H

#include "dirty_track.h"
#include "nl.h"

struct dirty_tracker {
	pid_t pid;
	enum dirty_backend backend;
	unsigned int opts;
	struct ferry_nl nl;		/* module */
	bool nl_open;
	int pagemap_fd;			/* pagemap, pagemap-scan */
	char err[320];
	char note[480];			/* why the backend changed */
};

void dirty_set_err(struct dirty_tracker *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Backends: fill out (reset by the caller) and the stats they know. */
int dirty_module_scan(struct dirty_tracker *t, uint64_t start, uint64_t end,
		      bool clear, struct dirty_extents *out, struct dirty_stats *st);
int dirty_pagemap_read(struct dirty_tracker *t, uint64_t start, uint64_t end,
		       struct dirty_extents *out, struct dirty_stats *st);
int dirty_pmscan_read(struct dirty_tracker *t, uint64_t start, uint64_t end,
		      struct dirty_extents *out, struct dirty_stats *st);
/* Does PAGEMAP_SCAN work on this pagemap fd? */
bool dirty_pmscan_supported(int pagemap_fd);

#endif
