// SPDX-License-Identifier: GPL-2.0
/* Dirty tracking: backend choice, clearing protocol, freezing. */
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dirty_track_int.h"
#include "util.h"

static const char *const backend_names[] = {
	[DIRTY_BACKEND_AUTO] = "auto",
	[DIRTY_BACKEND_MODULE] = "module",
	[DIRTY_BACKEND_PAGEMAP_SCAN] = "pagemap-scan",
	[DIRTY_BACKEND_PAGEMAP] = "pagemap",
};

const char *dirty_backend_name(enum dirty_backend b)
{
	return (unsigned int)b < sizeof(backend_names) / sizeof(backend_names[0])
		? backend_names[b] : "?";
}

bool dirty_backend_parse(const char *s, enum dirty_backend *b)
{
	for (unsigned int i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(s, backend_names[i])) {
			*b = (enum dirty_backend)i;
			return true;
		}
	}
	return false;
}

void dirty_set_err(struct dirty_tracker *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

const char *dirty_track_note(const struct dirty_tracker *t)
{
	return t->note;
}

const char *dirty_track_error(const struct dirty_tracker *t)
{
	return t->err[0] ? t->err : "unknown error";
}

enum dirty_backend dirty_track_backend(const struct dirty_tracker *t)
{
	return t->backend;
}

static int try_module(struct dirty_tracker *t, bool need_clear, char *msg, size_t len)
{
	struct ferry_info info;
	uint64_t want = FERRY_FEATURE_DIRTY_SCAN | (need_clear ? FERRY_FEATURE_DIRTY_CLEAR : 0);
	int ret;

	ret = ferry_nl_open(&t->nl);
	if (ret) {
		snprintf(msg, len, "ferry.ko is not loaded (%s)", strerror(-ret));
		return ret;
	}
	ret = ferry_nl_info(&t->nl, &info);
	if (!ret && info.abi != FERRY_ABI_VERSION) {
		snprintf(msg, len, "ferry.ko speaks ABI %u, this tool %d", info.abi, FERRY_ABI_VERSION);
		ret = -EPROTO;
	} else if (!ret && (info.features & want) != want) {
		snprintf(msg, len, "ferry.ko cannot %s", need_clear ? "clear dirty pages" : "scan dirty pages");
		ret = -ENOTSUP;
	} else if (ret) {
		snprintf(msg, len, "ferry.ko INFO failed: %s", strerror(-ret));
	}
	if (ret) {
		ferry_nl_close(&t->nl);
		return ret;
	}
	t->nl_open = true;
	return 0;
}

int dirty_track_open(struct dirty_tracker **out, pid_t pid,
		     enum dirty_backend backend, bool need_clear,
		     unsigned int opts, char *msg, size_t msglen)
{
	struct dirty_tracker *t;
	char path[64], dummy[256];
	int ret;

	if (!msg) {
		msg = dummy;
		msglen = sizeof(dummy);
	}
	msg[0] = '\0';
	*out = NULL;
	/* The module says "no such process" itself (with its reason). */
	if (pid <= 0 || (backend != DIRTY_BACKEND_MODULE &&
			 kill(pid, 0) < 0 && errno == ESRCH)) {
		snprintf(msg, msglen, "no such process: %d", (int)pid);
		return -ESRCH;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->opts = opts;
	t->pagemap_fd = -1;

	if (backend == DIRTY_BACKEND_AUTO || backend == DIRTY_BACKEND_MODULE) {
		ret = try_module(t, need_clear, msg, msglen);
		if (!ret) {
			t->backend = DIRTY_BACKEND_MODULE;
			*out = t;
			return 0;
		}
		if (backend == DIRTY_BACKEND_MODULE)
			goto fail;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	t->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pagemap_fd < 0) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		snprintf(msg, msglen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	if (backend == DIRTY_BACKEND_AUTO || backend == DIRTY_BACKEND_PAGEMAP_SCAN) {
		if (dirty_pmscan_supported(t->pagemap_fd)) {
			t->backend = DIRTY_BACKEND_PAGEMAP_SCAN;
			*out = t;
			return 0;
		}
		if (backend == DIRTY_BACKEND_PAGEMAP_SCAN) {
			snprintf(msg, msglen, "PAGEMAP_SCAN is not supported by this kernel (Linux >= 6.7)");
			ret = -ENOTSUP;
			goto fail;
		}
	}
	t->backend = DIRTY_BACKEND_PAGEMAP;
	*out = t;
	return 0;
fail:
	dirty_track_close(t);
	return ret;
}

void dirty_track_close(struct dirty_tracker *t)
{
	if (!t)
		return;
	if (t->nl_open)
		ferry_nl_close(&t->nl);
	if (t->pagemap_fd >= 0)
		close(t->pagemap_fd);
	free(t);
}

/* ---- freezing ------------------------------------------------------- */

/* State letter of /proc/PID/task/TID/stat, or 0. */
static char task_state(pid_t pid, const char *tid)
{
	char path[320], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
	if (ferry_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* 1: every thread stopped (or gone), 0: not yet, <0: error. */
static int all_stopped(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int ret = 1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((d = readdir(dir))) {
		char s;

		if (d->d_name[0] == '.')
			continue;
		s = task_state(pid, d->d_name);
		if (s && s != 'T' && s != 't' && s != 'Z' && s != 'X') {
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

int dirty_freeze(struct dirty_freeze *f, pid_t pid)
{
	uint64_t deadline;
	int ret;

	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->t0 = ferry_now_ns();
	ret = all_stopped(pid);
	if (ret < 0)
		return ret;
	f->was_stopped = ret == 1;
	if (f->was_stopped) {
		f->frozen = true;
		return 0;
	}
	if (kill(pid, SIGSTOP) < 0)
		return -errno;
	f->frozen = true;
	deadline = ferry_now_ns() + 10ULL * 1000000000ULL;
	for (;;) {
		ret = all_stopped(pid);
		if (ret != 0)
			break;
		if (ferry_now_ns() > deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		sched_yield();
	}
	if (ret < 0) {
		dirty_thaw(f);
		return ret;
	}
	return 0;
}

int dirty_thaw(struct dirty_freeze *f)
{
	if (!f->frozen)
		return 0;
	f->frozen = false;
	if (!f->was_stopped && kill(f->pid, SIGCONT) < 0)
		return -errno;
	return 0;
}

/* ---- scanning -------------------------------------------------------- */

static int pagemap_backend_read(struct dirty_tracker *t, uint64_t start, uint64_t end,
				struct dirty_extents *out, struct dirty_stats *st)
{
	if (t->backend == DIRTY_BACKEND_PAGEMAP_SCAN)
		return dirty_pmscan_read(t, start, end, out, st);
	return dirty_pagemap_read(t, start, end, out, st);
}

static bool whole_space(uint64_t start, uint64_t end)
{
	return start == 0 && end == DIRTY_ADDR_MAX;
}

static bool any_vma_softdirty(const struct dirty_extents *x)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].flags & FERRY_EXTENT_F_VMA_SOFTDIRTY)
			return true;
	return false;
}

/*
 * Module clearing scan: no freeze. If new VMAs (VM_SOFTDIRTY) showed up and
 * the caller wants them re-armed, freeze once: scan with CLEAR again (what
 * was written since the first scan), clear_refs (clears VM_SOFTDIRTY and
 * the page bits, which are all reported by now), thaw; report the union.
 */
static int module_scan(struct dirty_tracker *t, uint64_t start, uint64_t end,
		       bool clear, struct dirty_extents *out, struct dirty_stats *st)
{
	struct dirty_extents second, merged;
	struct dirty_stats st2 = { 0 };
	struct dirty_freeze fz;
	int ret, tret;

	ret = dirty_module_scan(t, start, end, clear, out, st);
	if (ret || !clear || !(t->opts & DIRTY_OPT_REARM_VMAS) ||
	    !whole_space(start, end) || !any_vma_softdirty(out))
		return ret;

	dirty_extents_init(&second);
	dirty_extents_init(&merged);
	ret = dirty_freeze(&fz, t->pid);
	if (ret) {
		dirty_set_err(t, "cannot freeze %d: %s", (int)t->pid, strerror(-ret));
		return ret;
	}
	ret = dirty_module_scan(t, start, end, true, &second, &st2);
	if (!ret) {
		ret = dirty_clear_refs(t->pid);
		if (ret)
			dirty_set_err(t, "clear_refs: %s", strerror(-ret));
	}
	tret = dirty_thaw(&fz);
	st->frozen_ns += ferry_now_ns() - fz.t0;
	st->rearmed_vmas = true;
	if (!ret)
		ret = tret;
	if (!ret)
		ret = dirty_extents_union(out, &second, &merged);
	if (!ret) {
		struct dirty_extents tmp = *out;

		*out = merged;
		merged = tmp;
		st->pages_dirty = dirty_extents_pages(out);
		st->pages_cleared += st2.pages_cleared;
		st->kernel_ns += st2.kernel_ns;
	}
	dirty_extents_free(&second);
	dirty_extents_free(&merged);
	return ret;
}

/* Leave the module for pagemap-scan (or pagemap), for good (see
 * DIRTY_OPT_FALLBACK). t->err holds the module's reason. */
static int fall_back(struct dirty_tracker *t)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t->pid);
	t->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->pagemap_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	t->backend = dirty_pmscan_supported(t->pagemap_fd) ? DIRTY_BACKEND_PAGEMAP_SCAN
							   : DIRTY_BACKEND_PAGEMAP;
	snprintf(t->note, sizeof(t->note), "ferry.ko cannot re-arm pages of %d (%s); tracking it "
		 "with %s instead, which stops it briefly for each clearing scan", (int)t->pid,
		 t->err, dirty_backend_name(t->backend));
	ferry_nl_close(&t->nl);
	t->nl_open = false;
	t->err[0] = '\0';
	return 0;
}

int dirty_track_scan(struct dirty_tracker *t, uint64_t start, uint64_t end,
		     bool clear, struct dirty_extents *out, struct dirty_stats *st)
{
	struct dirty_stats local;
	struct dirty_freeze fz;
	uint64_t t0 = ferry_now_ns();
	int ret, tret;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	t->err[0] = '\0';
	dirty_extents_reset(out);
	if (t->backend == DIRTY_BACKEND_MODULE) {
		ret = module_scan(t, start, end, clear, out, st);
		/* EOPNOTSUPP: refused before anything was re-armed */
		if (ret != -EOPNOTSUPP || !clear || !(t->opts & DIRTY_OPT_FALLBACK) || fall_back(t))
			goto out;
		dirty_extents_reset(out);
		memset(st, 0, sizeof(*st));
	}

	/* pagemap backends check what the module's policy checks. */
	if ((start | (end == DIRTY_ADDR_MAX ? 0 : end)) & 4095) {
		dirty_set_err(t, "%s address must be page aligned", start & 4095 ? "start" : "end");
		return -EINVAL;
	}
	if (start >= end) {
		dirty_set_err(t, "end address must be above start address");
		return -EINVAL;
	}
	if (!clear) {
		ret = pagemap_backend_read(t, start, end, out, st);
		goto out;
	}
	if (!whole_space(start, end)) {
		/* clear_refs clears the whole process: pages outside the
		 * range would lose their dirtiness unreported. */
		dirty_set_err(t, "clearing a part of the address space needs ferry.ko");
		return -ENOTSUP;
	}
	ret = dirty_freeze(&fz, t->pid);
	if (ret) {
		dirty_set_err(t, "cannot freeze %d: %s", (int)t->pid, strerror(-ret));
		return ret;
	}
	ret = pagemap_backend_read(t, start, end, out, st);
	if (!ret) {
		ret = dirty_clear_refs(t->pid);
		if (ret)
			dirty_set_err(t, "clear_refs: %s", strerror(-ret));
	}
	tret = dirty_thaw(&fz);
	st->frozen_ns = ferry_now_ns() - fz.t0;
	if (!ret)
		ret = tret;
	if (!ret) {
		for (size_t i = 0; i < out->n; i++)
			out->v[i].flags |= FERRY_EXTENT_F_CLEARED;
		st->pages_cleared = dirty_extents_pages(out);
	}
out:
	if (!ret && t->backend != DIRTY_BACKEND_MODULE)
		st->pages_dirty = dirty_extents_pages(out);
	st->wall_ns = ferry_now_ns() - t0;
	return ret;
}
