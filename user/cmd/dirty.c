// SPDX-License-Identifier: GPL-2.0
/*
 * ferry dirty: the pages a process wrote, as extents, or with --interval a
 * live dirty rate per mapping (top for written memory).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cmds.h"
#include "dirty_track.h"
#include "json.h"
#include "util.h"

static const char usage_text[] =
"Usage: ferry dirty PID [OPTIONS]\n"
"\n"
"Show the pages process PID wrote since its soft-dirty bits were last\n"
"cleared (bit 55 of /proc/PID/pagemap), as extents of adjacent pages with\n"
"the same flags; or, with --interval, how fast each mapping is written.\n"
"\n"
"Options:\n"
"  --clear            re-arm the reported pages: a write made after they are\n"
"                     reported shows up in the next scan. With ferry.ko the\n"
"                     process keeps running; the other backends stop it\n"
"                     (SIGSTOP) around the scan and /proc/PID/clear_refs.\n"
"                     Mappings new since the last clear count as written\n"
"                     whole (vma-softdirty) until clear_refs re-arms them,\n"
"                     which needs a short stop even with ferry.ko: done\n"
"                     once, when such a mapping is reported.\n"
"                     Refused while a `ferry migrate`, `checkpoint` or\n"
"                     another --clear tracks the process: re-arming pages\n"
"                     it has not copied would lose their writes.\n"
"  --interval MS      scan with --clear every MS milliseconds and print the\n"
"                     dirty rate per mapping, busiest first (implies --clear)\n"
"  --count N          stop after N intervals (default: until interrupted;\n"
"                     required with --json --interval)\n"
"  --backend B        module | pagemap-scan | pagemap | auto (default auto:\n"
"                     module if ferry.ko is loaded, else PAGEMAP_SCAN\n"
"                     (Linux >= 6.7), else /proc/PID/pagemap)\n"
"  --start ADDR       first address to scan (page aligned, default 0)\n"
"  --end ADDR         end of the range, exclusive (default: everything)\n"
"  --json             print one JSON object: {\"extents\": [{\"start\", \"pages\",\n"
"                     \"flags\", \"flag_names\"}, ...], \"stats\": {...}, ...};\n"
"                     with --interval, {\"rounds\": [...]} instead\n"
"  -h, --help         this text\n"
"\n"
"Extent flags: anon, file, shared (the mapping); thp (a huge PMD); swapped;\n"
"not-present (a hole of a VM_SOFTDIRTY mapping); vma-softdirty (dirty\n"
"because the mapping is new since the last clear: every page of it is);\n"
"cleared (re-armed by this scan); untracked (hugetlb or VM_PFNMAP memory,\n"
"whose writes soft-dirty cannot track: reported whole by every scan).\n"
"\n"
"With MMU notifiers on the process's memory (a KVM guest, IOMMU SVA, RDMA\n"
"ODP), ferry.ko refuses to re-arm pages (their secondary TLBs would keep\n"
"writing unseen); --backend auto then falls back to PAGEMAP_SCAN/pagemap,\n"
"which stop the process briefly for each --clear, and says so.\n"
"\n"
"Needs CAP_SYS_ADMIN, or CAP_CHECKPOINT_RESTORE with CAP_SYS_PTRACE (module),\n"
"or the right to read /proc/PID/pagemap (others). The first --clear of a\n"
"process reports everything it ever wrote; only later scans show recent\n"
"writes.\n"
"\n"
"Exit status: 0 ok, 1 failure, 2 bad usage or argument (EINVAL), 4 no such\n"
"process, 5 not permitted, 6 --backend module but ferry.ko not loaded.\n";

struct opts {
	pid_t pid;
	bool clear, json;
	uint64_t interval_ms, count;
	uint64_t start, end;
	enum dirty_backend backend;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail_errno(int err, const char *what)
{
	ferry_err("%s", what);
	if (err == -ENOENT || err == -EPROTO || err == -ENOTSUP)
		return FERRY_EXIT_NOMODULE;
	return ferry_exit_from_errno(err);
}

static void json_stats(struct json *j, const struct dirty_stats *st)
{
	json_obj_open(j, "stats");
	json_u64(j, "vmas", st->vmas);
	json_u64(j, "pages_scanned", st->pages_scanned);
	json_u64(j, "pages_dirty", st->pages_dirty);
	json_u64(j, "pages_cleared", st->pages_cleared);
	json_u64(j, "tables_skipped", st->tables_skipped);
	json_u64(j, "kernel_ns", st->kernel_ns);
	json_u64(j, "wall_ns", st->wall_ns);
	json_u64(j, "frozen_ns", st->frozen_ns);
	json_bool(j, "rearmed_vmas", st->rearmed_vmas);
	json_obj_close(j);
}

static int once(struct dirty_tracker *t, const struct opts *o)
{
	struct dirty_extents x;
	struct dirty_stats st;
	char fl[128];
	int ret;

	dirty_extents_init(&x);
	ret = dirty_track_scan(t, o->start, o->end, o->clear, &x, &st);
	if (ret) {
		ret = fail_errno(ret, dirty_track_error(t));
		goto out;
	}
	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_u64(&j, "pid", (uint64_t)o->pid);
		json_str(&j, "backend", dirty_backend_name(dirty_track_backend(t)));
		json_bool(&j, "clear", o->clear);
		json_u64(&j, "page_size", 4096);
		json_u64(&j, "dirty_pages", st.pages_dirty);
		json_arr_open(&j, "extents");
		for (size_t i = 0; i < x.n; i++) {
			json_obj_open(&j, NULL);
			json_u64(&j, "start", x.v[i].start);
			json_u64(&j, "pages", x.v[i].pages);
			json_u64(&j, "flags", x.v[i].flags);
			json_arr_open(&j, "flag_names");
			for (unsigned int b = 0; dirty_flag_name(b); b++)
				if (x.v[i].flags & (1U << b))
					json_str(&j, NULL, dirty_flag_name(b));
			json_arr_close(&j);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_stats(&j, &st);
		json_obj_close(&j);
		json_end(&j);
	} else {
		printf("pid %d: %" PRIu64 " dirty pages (%.1f MiB) in %zu extents; backend %s, "
		       "%.3f ms%s", (int)o->pid, st.pages_dirty,
		       (double)st.pages_dirty * 4096 / (1 << 20), x.n,
		       dirty_backend_name(dirty_track_backend(t)), (double)st.wall_ns / 1e6,
		       o->clear ? ", cleared" : "");
		if (st.frozen_ns)
			printf(", target stopped %.3f ms", (double)st.frozen_ns / 1e6);
		printf("\n");
		if (x.n)
			printf("%-18s %-18s %10s  %s\n", "START", "END", "PAGES", "FLAGS");
		for (size_t i = 0; i < x.n; i++)
			printf("0x%016" PRIx64 " 0x%016" PRIx64 " %10" PRIu64 "  %s\n",
			       x.v[i].start, x.v[i].start + x.v[i].pages * 4096, x.v[i].pages,
			       dirty_flags_str(x.v[i].flags, fl, sizeof(fl)));
	}
out:
	dirty_extents_free(&x);
	return ret;
}

/* ---- --interval: dirty rate per mapping ------------------------------ */

struct mapping {
	struct dirty_vma v;
	uint64_t pages;
};

static int load_maps(pid_t pid, struct mapping **out, size_t *n)
{
	char path[64], *line = NULL;
	struct mapping *m = NULL;
	size_t cap = 0, len = 0, lcap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &lcap, f) > 0) {
		struct dirty_vma v;

		if (!dirty_parse_maps_line(line, &v))
			continue;
		if (len == cap) {
			struct mapping *nm;

			cap = cap ? cap * 2 : 64;
			nm = realloc(m, cap * sizeof(*m));
			if (!nm) {
				free(m);
				free(line);
				fclose(f);
				return -ENOMEM;
			}
			m = nm;
		}
		m[len].v = v;
		m[len].pages = 0;
		len++;
	}
	free(line);
	fclose(f);
	*out = m;
	*n = len;
	return 0;
}

/* Count the pages of x in each mapping (both sorted by address). */
static void attribute(struct mapping *m, size_t n, const struct dirty_extents *x)
{
	size_t k = 0;

	for (size_t i = 0; i < x->n; i++) {
		uint64_t s = x->v[i].start, e = s + x->v[i].pages * 4096;

		while (k < n && m[k].v.end <= s)
			k++;
		for (size_t q = k; q < n && m[q].v.start < e; q++) {
			uint64_t a = s > m[q].v.start ? s : m[q].v.start;
			uint64_t b = e < m[q].v.end ? e : m[q].v.end;

			if (a < b)
				m[q].pages += (b - a) / 4096;
		}
	}
}

static int by_pages_desc(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->pages < y->pages ? 1 : x->pages > y->pages ? -1 : 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int rate_loop(struct dirty_tracker *t, const struct opts *o)
{
	struct dirty_extents x;
	struct dirty_stats st;
	struct json j;
	uint64_t round = 0, prev;
	int ret;

	dirty_extents_init(&x);
	/* Re-arm everything first: the first interval counts from here. */
	ret = dirty_track_scan(t, o->start, o->end, true, &x, &st);
	if (ret) {
		ret = fail_errno(ret, dirty_track_error(t));
		goto out;
	}
	prev = ferry_now_ns();
	if (o->json) {
		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_u64(&j, "pid", (uint64_t)o->pid);
		json_str(&j, "backend", dirty_backend_name(dirty_track_backend(t)));
		json_u64(&j, "interval_ms", o->interval_ms);
		json_arr_open(&j, "rounds");
	}
	while (!stop && (!o->count || round < o->count)) {
		struct mapping *m = NULL;
		size_t n = 0;
		uint64_t now, total;
		double secs;

		sleep_ms(o->interval_ms);
		if (stop)
			break;
		ret = dirty_track_scan(t, o->start, o->end, true, &x, &st);
		now = ferry_now_ns();
		if (ret) {
			ret = fail_errno(ret, dirty_track_error(t));
			break;
		}
		secs = (double)(now - prev) / 1e9;
		prev = now;
		round++;
		total = dirty_extents_pages(&x);
		if (load_maps(o->pid, &m, &n) == 0) {
			attribute(m, n, &x);
			qsort(m, n, sizeof(*m), by_pages_desc);
		}
		if (o->json) {
			json_obj_open(&j, NULL);
			json_u64(&j, "round", round);
			json_double(&j, "seconds", secs);
			json_u64(&j, "dirty_pages", total);
			json_double(&j, "mib_per_s", (double)total * 4096 / (1 << 20) / secs);
			json_u64(&j, "scan_ns", st.wall_ns);
			json_u64(&j, "frozen_ns", st.frozen_ns);
			json_arr_open(&j, "mappings");
			for (size_t i = 0; i < n && m[i].pages; i++) {
				json_obj_open(&j, NULL);
				json_u64(&j, "start", m[i].v.start);
				json_u64(&j, "end", m[i].v.end);
				json_str(&j, "name", m[i].v.name);
				json_u64(&j, "dirty_pages", m[i].pages);
				json_double(&j, "mib_per_s",
					    (double)m[i].pages * 4096 / (1 << 20) / secs);
				json_obj_close(&j);
			}
			json_arr_close(&j);
			json_obj_close(&j);
		} else {
			printf("\npid %d, round %" PRIu64 " (%.2f s): %.2f MiB/s written, %" PRIu64
			       " pages; scan %.3f ms%s\n", (int)o->pid, round, secs,
			       (double)total * 4096 / (1 << 20) / secs, total,
			       (double)st.wall_ns / 1e6, st.frozen_ns ? " (target stopped)" : "");
			printf("%10s %10s  %-33s %s\n", "MiB/s", "PAGES", "MAPPING", "NAME");
			for (size_t i = 0; i < n && i < 20 && m[i].pages; i++)
				printf("%10.2f %10" PRIu64 "  %016" PRIx64 "-%016" PRIx64 " %s\n",
				       (double)m[i].pages * 4096 / (1 << 20) / secs, m[i].pages,
				       m[i].v.start, m[i].v.end,
				       m[i].v.name[0] ? m[i].v.name : "[anon]");
			fflush(stdout);
		}
		free(m);
	}
	if (o->json) {
		json_arr_close(&j);
		json_u64(&j, "rounds_done", round);
		if (ret)
			json_str(&j, "error", dirty_track_error(t));
		json_obj_close(&j);
		json_end(&j);
	}
out:
	dirty_extents_free(&x);
	return ret;
}

static bool parse_addr(const char *s, uint64_t *out)
{
	return ferry_parse_u64(s, 0, UINT64_MAX, out);
}

int cmd_dirty(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "clear", no_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .end = DIRTY_ADDR_MAX, .backend = DIRTY_BACKEND_AUTO };
	struct dirty_claim claim = { .fd = -1 };
	struct dirty_tracker *t;
	char msg[320];
	uint64_t v;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.clear = true; break;
		case 'j': o.json = true; break;
		case 'i':
			if (!ferry_parse_u64(optarg, 1, 86400000, &o.interval_ms)) {
				ferry_err("--interval: expected milliseconds (1..86400000), got '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			break;
		case 'n':
			if (!ferry_parse_u64(optarg, 1, UINT32_MAX, &o.count)) {
				ferry_err("--count: expected a positive number, got '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			break;
		case 'b':
			if (!dirty_backend_parse(optarg, &o.backend)) {
				ferry_err("--backend: expected module, pagemap-scan, pagemap or auto, got '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			break;
		case 's':
			if (!parse_addr(optarg, &o.start)) {
				ferry_err("--start: expected an address, got '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			break;
		case 'e':
			if (!parse_addr(optarg, &o.end)) {
				ferry_err("--end: expected an address, got '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return FERRY_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !ferry_parse_u64(argv[optind], 1, INT32_MAX, &v)) {
		ferry_err("dirty: expected exactly one PID");
		fputs(usage_text, stderr);
		return FERRY_EXIT_USAGE;
	}
	o.pid = (pid_t)v;
	if (o.json && o.interval_ms && !o.count) {
		ferry_err("--json --interval needs --count (one JSON object is printed at the end)");
		return FERRY_EXIT_USAGE;
	}
	if (o.count && !o.interval_ms) {
		ferry_err("--count needs --interval");
		return FERRY_EXIT_USAGE;
	}
	if (o.interval_ms)
		o.clear = true;

	if (o.clear) {
		ret = dirty_claim(o.pid, "dirty --clear", 1000, &claim, msg, sizeof(msg));
		if (ret)
			return fail_errno(ret, msg);
	}
	/* an explicit --backend module means it: no fallback */
	ret = dirty_track_open(&t, o.pid, o.backend, o.clear,
			       DIRTY_OPT_REARM_VMAS |
			       (o.backend == DIRTY_BACKEND_AUTO ? DIRTY_OPT_FALLBACK : 0),
			       msg, sizeof(msg));
	if (ret) {
		dirty_release(&claim);
		return fail_errno(ret, msg);
	}
	if (o.interval_ms) {
		struct sigaction sa = { .sa_handler = on_signal };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		ret = rate_loop(t, &o);
	} else {
		ret = once(t, &o);
	}
	if (dirty_track_note(t)[0])
		fprintf(stderr, "ferry dirty: note: %s\n", dirty_track_note(t));
	dirty_track_close(t);
	dirty_release(&claim);
	return ret;
}
