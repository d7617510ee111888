// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_bench: time per dirty scan and application stall per clearing round,
 * for the module, /proc/PID/pagemap (read + parse) and PAGEMAP_SCAN.
 *
 * For each size (MiB) and THP setting a target maps and populates an
 * anonymous region. For each written fraction the target clears its
 * soft-dirty bits (clear_refs) and writes that fraction of random pages;
 * then, with the target idle, each method scans the whole address space
 * REPS times (median reported; every method must find the same number of
 * dirty pages). The best of REPS is reported: under TCG, other guests on
 * the host inflate single runs at random.
 *
 * Stall: an "application" thread in the target loops forever writing a
 * random page of the region and recording the largest gap between two
 * consecutive iterations. Each round resets that maximum, runs one clearing
 * scan, lets the round last 150 ms (or until the scan ends, if later),
 * waits for the thread to iterate again and reads the maximum: the longest
 * the application was held up during the round. Methods: module
 * CLEAR (no freeze) and freeze + pagemap + clear_refs (the pagemap
 * backend's clearing scan); medians over ROUNDS rounds, plus the gap with
 * no scan at all as the floor. The target runs on CPU 1, the scanner on
 * CPU 0, so that the stall is what the method imposes on the application
 * rather than the two sharing a CPU.
 *
 * Usage: dirty_bench [--sizes 256,1024] [--ppm 1000,10000,100000]
 *                    [--reps 5] [--rounds 7] [--json FILE]
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include "dirty_common.h"
#include "dirty_track.h"
#include "json.h"

struct shared {
	_Atomic int run_app;		/* app thread writes while set */
	_Atomic int reset;		/* scanner asks for max_gap = 0 */
	_Atomic uint64_t iters;
	_Atomic uint64_t max_gap_ns;
};

static struct shared *sh;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* target commands (struct target_cmd): C clear_refs, W write a set of
 * rate pages per million, Q quit */

static char *region;
static size_t npages;

static void *app(void *arg)
{
	uint64_t s = 12345, last = now_ns();

	(void)arg;
	for (;;) {
		uint64_t t;

		if (!atomic_load_explicit(&sh->run_app, memory_order_relaxed)) {
			usleep(1000);
			last = now_ns();
			continue;
		}
		t = now_ns();
		if (atomic_load_explicit(&sh->reset, memory_order_acquire)) {
			atomic_store(&sh->max_gap_ns, 0);
			atomic_store_explicit(&sh->reset, 0, memory_order_release);
		} else if (t - last > atomic_load_explicit(&sh->max_gap_ns, memory_order_relaxed)) {
			atomic_store_explicit(&sh->max_gap_ns, t - last, memory_order_relaxed);
		}
		last = t;
		region[(xs64(&s) % npages) * PG + 8]++;
		atomic_fetch_add_explicit(&sh->iters, 1, memory_order_release);
	}
	return NULL;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < (int)sysconf(_SC_NPROCESSORS_ONLN))
		sched_setaffinity(0, sizeof(set), &set);
}

static void target(int rfd, int wfd, size_t mib, int thp)
{
	pthread_t th;
	uint64_t reply;

	/* The application on its own CPU, the scanner on another: the stall
	 * measured is what the method imposes, not CPU sharing. */
	pin(1);
	region = map_region(mib, thp);
	for (size_t i = 0; i < npages; i++)
		region[i * PG] = 1;
	pthread_create(&th, NULL, app, NULL);
	reply = 1;
	write_all(wfd, &reply, sizeof(reply));
	for (;;) {
		struct target_cmd c;

		read_all(rfd, &c, sizeof(c));
		reply = 0;
		if (c.op == 'C') {
			reply = (uint64_t)clear_refs_self();
		} else if (c.op == 'W') {
			uint64_t s = c.seed * 0x9E3779B97F4A7C15ULL + 1;

			for (size_t i = 0; i < npages; i++)
				if (xs64(&s) % 1000000 < c.rate) {
					region[i * PG + 16]++;
					reply++;
				}
		} else {
			write_all(wfd, &reply, sizeof(reply));
			_exit(0);
		}
		write_all(wfd, &reply, sizeof(reply));
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* Pages of x outside untracked extents: the module reports untracked
 * memory ([vvar] here) on every scan by design, pagemap only while its VMA
 * is new; the methods must agree on the rest. */
static uint64_t tracked_pages(const struct dirty_extents *x)
{
	uint64_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		if (!(x->v[i].flags & FERRY_EXTENT_F_UNTRACKED))
			n += x->v[i].pages;
	return n;
}

/* Median wall time of reps report-only scans; *pages = pages found
 * (tracked ones), *kns = median kernel walk time (module only). */
static uint64_t time_scan(struct dirty_tracker *t, int reps, uint64_t *pages, uint64_t *kns)
{
	struct dirty_extents x;
	struct dirty_stats st;
	uint64_t v[64], k[64];

	dirty_extents_init(&x);
	for (int i = 0; i < reps; i++) {
		uint64_t t0 = now_ns();

		if (dirty_track_scan(t, 0, DIRTY_ADDR_MAX, false, &x, &st))
			die("scan (%s): %s", dirty_backend_name(dirty_track_backend(t)),
			    dirty_track_error(t));
		v[i] = now_ns() - t0;
		k[i] = st.kernel_ns;
		*pages = tracked_pages(&x);
	}
	dirty_extents_free(&x);
	if (kns)
		*kns = median(k, reps);
	/* Best of reps: other guests on the same host inflate single runs
	 * at random; the minimum is the method's own cost. */
	qsort(v, (size_t)reps, sizeof(*v), cmp_u64);
	return v[0];
}

#define WINDOW_NS (150ULL * 1000000)	/* a round: at least 150 ms */

/* Median of the app's max gap over clearing rounds. */
static uint64_t stall(struct dirty_tracker *t, int rounds, uint64_t *scan_ns)
{
	struct dirty_extents x;
	uint64_t gaps[64], scans[64];

	dirty_extents_init(&x);
	for (int r = 0; r < rounds; r++) {
		uint64_t it, t0;

		usleep(20000);		/* the app dirties pages meanwhile */
		atomic_store(&sh->reset, 1);
		while (atomic_load(&sh->reset))
			usleep(50);
		t0 = now_ns();
		if (t && dirty_track_scan(t, 0, DIRTY_ADDR_MAX, true, &x, NULL))
			die("clearing scan (%s): %s", dirty_backend_name(dirty_track_backend(t)),
			    dirty_track_error(t));
		scans[r] = now_ns() - t0;
		/* The same window for every method (and for no scan at all):
		 * host noise then weighs the same on each. */
		while (now_ns() - t0 < WINDOW_NS)
			usleep(1000);
		it = atomic_load(&sh->iters);
		while (atomic_load(&sh->iters) < it + 2)
			usleep(50);
		gaps[r] = atomic_load(&sh->max_gap_ns);
	}
	dirty_extents_free(&x);
	*scan_ns = median(scans, rounds);
	return median(gaps, rounds);
}

static int parse_list(const char *s, uint64_t *v, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;

		v[n++] = strtoull(s, &end, 10);
		s = *end == ',' ? end + 1 : end;
		if (!*end)
			break;
	}
	return n;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

int main(int argc, char **argv)
{
	uint64_t sizes[4] = { 256, 1024 }, ppms[8] = { 1000, 10000, 100000 };
	int nsizes = 2, nppm = 3, reps = 5, rounds = 7;
	const char *json_path = NULL;
	struct json j;
	FILE *jf = NULL;
	int c;

	static const struct option lo[] = {
		{ "sizes", 1, NULL, 's' }, { "ppm", 1, NULL, 'p' }, { "reps", 1, NULL, 'r' },
		{ "rounds", 1, NULL, 'R' }, { "json", 1, NULL, 'j' }, { 0 },
	};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': nsizes = parse_list(optarg, sizes, 4); break;
		case 'p': nppm = parse_list(optarg, ppms, 8); break;
		case 'r': reps = atoi(optarg); break;
		case 'R': rounds = atoi(optarg); break;
		case 'j': json_path = optarg; break;
		default: die("see the header of dirty_bench.c for usage");
		}
	}
	if (reps < 1 || reps > 64 || rounds < 1 || rounds > 64)
		die("--reps/--rounds 1..64");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	pin(0);
	if (json_path) {
		jf = fopen(json_path, "w");
		if (!jf)
			die("%s: %s", json_path, strerror(errno));
		json_init(&j, jf);
		json_obj_open(&j, NULL);
		json_str(&j, "benchmark", "dirty");
		json_arr_open(&j, "scan");
	}

	printf("Time per whole-address-space dirty scan (best of %d; kernel walk: median), target idle:\n", reps);
	printf("%6s %4s %6s %9s | %9s %9s %9s %9s | %12s %12s\n", "MiB", "THP", "dirty%", "pages",
	       "mod walk", "module", "pagemap", "pm_scan", "pagemap/mod", "pm_scan/mod");
	struct stall_row { uint64_t mib; int thp; uint64_t floor, mod, frz, mod_scan, frz_scan; } rows[8];
	int nrows = 0;

	for (int si = 0; si < nsizes; si++) {
		for (int thp = 0; thp <= 1; thp++) {
			int to_t[2], from_t[2];
			struct dirty_tracker *mod = NULL, *pm = NULL, *pms = NULL;
			uint64_t r;
			pid_t pid;
			char msg[256];

			npages = (size_t)(sizes[si] << 20) / PG;
			if (pipe(to_t) || pipe(from_t))
				die("pipe");
			sh->run_app = 0;
			pid = fork();
			if (pid == 0) {
				close(to_t[1]);
				close(from_t[0]);
				target(to_t[0], from_t[1], (size_t)sizes[si], thp);
			}
			close(to_t[0]);
			close(from_t[1]);
			read_all(from_t[0], &r, sizeof(r));
			if (dirty_track_open(&mod, pid, DIRTY_BACKEND_MODULE, true, 0, msg, sizeof(msg)))
				die("module: %s", msg);
			if (dirty_track_open(&pm, pid, DIRTY_BACKEND_PAGEMAP, true, 0, msg, sizeof(msg)))
				die("pagemap: %s", msg);
			if (dirty_track_open(&pms, pid, DIRTY_BACKEND_PAGEMAP_SCAN, false, 0, msg, sizeof(msg)))
				pms = NULL;

			for (int pi = 0; pi < nppm; pi++) {
				uint64_t pm_pages = 0, mod_pages = 0, pms_pages = 0;
				uint64_t t_mod, t_pm, t_pms = 0, k_mod = 0;

				if (target_call(to_t[1], from_t[0], 'C', 0, 0))
					die("target clear_refs failed");
				target_call(to_t[1], from_t[0], 'W', (uint64_t)pi + 1, (uint32_t)ppms[pi]);
				t_pm = time_scan(pm, reps, &pm_pages, NULL);
				t_mod = time_scan(mod, reps, &mod_pages, &k_mod);
				if (pms)
					t_pms = time_scan(pms, reps, &pms_pages, NULL);
				if (mod_pages != pm_pages || (pms && pms_pages != pm_pages))
					die("methods disagree: module %" PRIu64 ", pagemap %" PRIu64
					    ", PAGEMAP_SCAN %" PRIu64 " pages", mod_pages, pm_pages, pms_pages);
				printf("%6" PRIu64 " %4s %6.1f %9" PRIu64 " | %7.3fms %7.3fms %7.3fms ",
				       sizes[si], thp ? "on" : "off", (double)ppms[pi] / 10000.0,
				       mod_pages, ms(k_mod), ms(t_mod), ms(t_pm));
				if (pms)
					printf("%7.3fms | %11.1fx %11.1fx\n", ms(t_pms),
					       (double)t_pm / (double)t_mod, (double)t_pms / (double)t_mod);
				else
					printf("%9s | %11.1fx %12s\n", "absent",
					       (double)t_pm / (double)t_mod, "-");
				fflush(stdout);
				if (jf) {
					json_obj_open(&j, NULL);
					json_u64(&j, "mib", sizes[si]);
					json_bool(&j, "thp", thp);
					json_double(&j, "dirty_percent", (double)ppms[pi] / 10000.0);
					json_u64(&j, "dirty_pages", mod_pages);
					json_u64(&j, "module_ns", t_mod);
					json_u64(&j, "module_kernel_walk_ns", k_mod);
					json_u64(&j, "pagemap_ns", t_pm);
					if (pms)
						json_u64(&j, "pagemap_scan_ns", t_pms);
					else
						json_str(&j, "pagemap_scan_ns", "absent");
					json_double(&j, "pagemap_over_module", (double)t_pm / (double)t_mod);
					if (pms)
						json_double(&j, "pagemap_scan_over_module",
							    (double)t_pms / (double)t_mod);
					json_obj_close(&j);
				}
			}

			/* Stall per clearing round. */
			{
				struct stall_row *row = &rows[nrows++];
				uint64_t dummy;

				row->mib = sizes[si];
				row->thp = thp;
				sh->run_app = 1;
				usleep(50000);
				row->floor = stall(NULL, rounds, &dummy);
				stall(mod, 1, &dummy);	/* arm: first clear */
				row->mod = stall(mod, rounds, &row->mod_scan);
				row->frz = stall(pm, rounds, &row->frz_scan);
				sh->run_app = 0;
			}
			dirty_track_close(mod);
			dirty_track_close(pm);
			dirty_track_close(pms);
			target_call(to_t[1], from_t[0], 'Q', 0, 0);
			waitpid(pid, NULL, 0);
			close(to_t[1]);
			close(from_t[0]);
		}
	}

	printf("\nApplication stall per clearing round (median of %d rounds; max gap between\n"
	       "two iterations of a thread writing random pages, in 150 ms rounds holding one scan):\n", rounds);
	printf("%6s %4s | %10s %10s %12s | %10s %10s | %12s\n", "MiB", "THP", "no scan",
	       "module", "freeze+pm", "mod scan", "frz scan", "module/frz");
	if (jf) {
		json_arr_close(&j);
		json_arr_open(&j, "stall");
	}
	for (int i = 0; i < nrows; i++) {
		struct stall_row *w = &rows[i];

		printf("%6" PRIu64 " %4s | %8.3fms %8.3fms %10.3fms | %8.3fms %8.3fms | %11.3fx\n",
		       w->mib, w->thp ? "on" : "off", ms(w->floor), ms(w->mod), ms(w->frz),
		       ms(w->mod_scan), ms(w->frz_scan), (double)w->mod / (double)w->frz);
		if (jf) {
			json_obj_open(&j, NULL);
			json_u64(&j, "mib", w->mib);
			json_bool(&j, "thp", w->thp);
			json_u64(&j, "no_scan_gap_ns", w->floor);
			json_u64(&j, "module_clear_gap_ns", w->mod);
			json_u64(&j, "freeze_pagemap_clear_refs_gap_ns", w->frz);
			json_u64(&j, "module_clear_scan_ns", w->mod_scan);
			json_u64(&j, "freeze_scan_ns", w->frz_scan);
			json_double(&j, "module_over_freeze", (double)w->mod / (double)w->frz);
			json_obj_close(&j);
		}
	}
	if (jf) {
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
		fclose(jf);
	}
	return 0;
}
