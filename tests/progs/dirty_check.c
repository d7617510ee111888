// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_check: known random write sets versus the dirty scanners.
 *
 * Forks a target that maps MIB MiB of anonymous memory (THP advised on or
 * off), populates it and clears its soft-dirty bits. Each round the target
 * writes a known random page set; the checker then requires:
 *  - module scan of the region == pagemap bit 55 of the region (page exact)
 *    == PAGEMAP_SCAN (when the kernel has it);
 *  - without THP: module scan == the known set; with THP: known set within
 *    the scan, and the scan within the 2 MiB blocks holding known pages;
 *  - module scan of the whole address space == pagemap backend scan of it;
 *  - a CLEAR scan reports the same pages, after which pagemap shows none in
 *    the region (odd rounds clear the region, even rounds everything).
 *
 * Usage: dirty_check [--mib N] [--thp on|off] [--permille P] [--rounds R]
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include "dirty_common.h"
#include "dirty_track.h"

/* target commands (struct target_cmd): C clear_refs, W write a set of
 * rate pages per thousand, Q quit */

static void target(int rfd, int wfd, size_t mib, int thp)
{
	size_t npages = (mib << 20) / PG;
	uint8_t *bm = malloc(npages);
	char *a = map_region(mib, thp);
	uint64_t reply = (uintptr_t)a;

	if (!bm)
		die("malloc");
	for (size_t i = 0; i < npages; i++)
		a[i * PG] = 1;
	write_all(wfd, &reply, sizeof(reply));
	for (;;) {
		struct target_cmd c;

		read_all(rfd, &c, sizeof(c));
		reply = 0;
		if (c.op == 'C') {
			reply = clear_refs_self() ? 1 : 0;
		} else if (c.op == 'W') {
			page_set(bm, npages, c.seed, c.rate);
			for (size_t i = 0; i < npages; i++)
				if (bm[i]) {
					a[i * PG + (c.seed % PG)]++;
					reply++;
				}
		} else {
			write_all(wfd, &reply, sizeof(reply));
			_exit(0);
		}
		write_all(wfd, &reply, sizeof(reply));
	}
}

/* Pages of x inside [base, base + npages) as a bitmap. */
static void to_bitmap(const struct dirty_extents *x, uintptr_t base, size_t npages, uint8_t *bm)
{
	memset(bm, 0, npages);
	for (size_t i = 0; i < x->n; i++)
		for (uint64_t p = 0; p < x->v[i].pages; p++) {
			uint64_t a = x->v[i].start + p * PG;

			if (a >= base && a < base + npages * PG)
				bm[(a - base) / PG] = 1;
		}
}

static size_t count(const uint8_t *bm, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += bm[i];
	return c;
}

static int compare(const char *what, const uint8_t *got, const uint8_t *want,
		   size_t n, uintptr_t base)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			if (bad < 5)
				fprintf(stderr, "  %s: page 0x%" PRIxPTR " %s\n", what,
					base + i * PG, got[i] ? "extra" : "missing");
			bad++;
		}
	if (bad)
		fprintf(stderr, "MISMATCH %s: %zu pages differ\n", what, bad);
	return bad ? 1 : 0;
}

/* Is addr in an extent of x flagged untracked? */
static bool untracked(const struct dirty_extents *x, uint64_t addr)
{
	for (size_t i = 0; i < x->n; i++)
		if ((x->v[i].flags & FERRY_EXTENT_F_UNTRACKED) && addr >= x->v[i].start &&
		    addr < x->v[i].start + x->v[i].pages * PG)
			return true;
	return false;
}

/*
 * Page sets of two whole-space scans must be equal: the module's (a) and
 * pagemap's (b), except in the module's untracked extents (hugetlb and
 * VM_PFNMAP such as [vvar]), which it reports on every scan by design and
 * pagemap only while their VMA is VM_SOFTDIRTY.
 */
static int compare_extents(const char *what, const struct dirty_extents *a,
			   const struct dirty_extents *b)
{
	size_t bad = 0;

	for (size_t i = 0; i < a->n; i++)
		for (uint64_t p = 0; p < a->v[i].pages; p++)
			if (!(a->v[i].flags & FERRY_EXTENT_F_UNTRACKED) &&
			    !dirty_extents_contains(b, a->v[i].start + p * PG) && bad++ < 5)
				fprintf(stderr, "  %s: 0x%" PRIx64 " only in the first\n", what,
					a->v[i].start + p * PG);
	for (size_t i = 0; i < b->n; i++)
		for (uint64_t p = 0; p < b->v[i].pages; p++)
			if (!dirty_extents_contains(a, b->v[i].start + p * PG) &&
			    !untracked(a, b->v[i].start + p * PG) && bad++ < 5)
				fprintf(stderr, "  %s: 0x%" PRIx64 " only in the second\n", what,
					b->v[i].start + p * PG);
	if (bad)
		fprintf(stderr, "MISMATCH %s: %zu pages differ (%" PRIu64 " vs %" PRIu64 ")\n",
			what, bad, dirty_extents_pages(a), dirty_extents_pages(b));
	return bad ? 1 : 0;
}

static uint64_t thp_kib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	size_t mib = 64, npages;
	unsigned permille = 10, rounds = 4;
	int thp = 0, to_t[2], from_t[2], fails = 0;
	struct dirty_tracker *mod, *pm, *pms = NULL;
	struct dirty_extents x, y;
	struct dirty_stats st;
	uint8_t *known, *got, *want;
	uintptr_t base;
	char msg[256];
	pid_t pid;
	int c;

	static const struct option lo[] = {
		{ "mib", 1, NULL, 'm' }, { "thp", 1, NULL, 't' },
		{ "permille", 1, NULL, 'p' }, { "rounds", 1, NULL, 'r' }, { 0 },
	};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 't': thp = !strcmp(optarg, "on"); break;
		case 'p': permille = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		default: die("usage: dirty_check [--mib N] [--thp on|off] [--permille P] [--rounds R]");
		}
	}
	npages = (mib << 20) / PG;
	if (pipe(to_t) || pipe(from_t))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		close(to_t[1]);
		close(from_t[0]);
		target(to_t[0], from_t[1], mib, thp);
	}
	close(to_t[0]);
	close(from_t[1]);
	read_all(from_t[0], &base, sizeof(base));
	printf("target %d: %zu MiB at 0x%" PRIxPTR ", THP %s (AnonHugePages %" PRIu64 " kB)\n",
	       (int)pid, mib, base, thp ? "advised" : "off", thp_kib(pid));
	if (thp && !thp_kib(pid))
		die("THP requested but the target got no huge pages");
	if (!thp && thp_kib(pid))
		die("THP off but the target has huge pages");

	if (dirty_track_open(&mod, pid, DIRTY_BACKEND_MODULE, true, 0, msg, sizeof(msg)))
		die("module backend: %s", msg);
	if (dirty_track_open(&pm, pid, DIRTY_BACKEND_PAGEMAP, false, 0, msg, sizeof(msg)))
		die("pagemap backend: %s", msg);
	if (dirty_track_open(&pms, pid, DIRTY_BACKEND_PAGEMAP_SCAN, false, 0, msg, sizeof(msg)))
		printf("PAGEMAP_SCAN: absent (%s)\n", msg);
	known = malloc(npages);
	got = malloc(npages);
	want = malloc(npages);
	uint64_t *ent = malloc(npages * 8);
	if (!known || !got || !want || !ent)
		die("malloc");
	dirty_extents_init(&x);
	dirty_extents_init(&y);

	if (target_call(to_t[1], from_t[0], 'C', 0, 0))
		die("target could not clear_refs");
	for (unsigned r = 1; r <= rounds; r++) {
		uint64_t seed = (uint64_t)getpid() * 1000 + r;
		uint64_t wrote = target_call(to_t[1], from_t[0], 'W', seed, permille);

		page_set(known, npages, seed, permille);
		if (wrote != count(known, npages))
			die("target wrote %" PRIu64 " pages, expected %zu", wrote, count(known, npages));

		/* module, region */
		if (dirty_track_scan(mod, base, base + npages * PG, false, &x, &st))
			die("module scan: %s", dirty_track_error(mod));
		to_bitmap(&x, base, npages, got);
		/* pagemap bit 55, read directly */
		if (read_pagemap(pid, base, npages, ent))
			die("pagemap: %s", strerror(errno));
		for (size_t i = 0; i < npages; i++)
			want[i] = !!(ent[i] & PM_ENTRY_SOFT_DIRTY);
		fails += compare("module vs pagemap bit 55", got, want, npages, base);
		if (pms) {
			if (dirty_track_scan(pms, base, base + npages * PG, false, &y, NULL))
				die("PAGEMAP_SCAN: %s", dirty_track_error(pms));
			to_bitmap(&y, base, npages, want);
			fails += compare("module vs PAGEMAP_SCAN", got, want, npages, base);
		}
		if (!thp) {
			fails += compare("module vs written set", got, known, npages, base);
		} else {
			/* known within got; got within known's 2 MiB blocks */
			size_t missing = 0, outside = 0, thp_pages = 0;

			for (size_t i = 0; i < npages; i++) {
				size_t b0 = i & ~(size_t)511;
				int blk = 0;

				for (size_t k = b0; k < b0 + 512 && k < npages; k++)
					blk |= known[k];
				missing += known[i] && !got[i];
				outside += got[i] && !blk;
			}
			for (size_t i = 0; i < x.n; i++)
				if (x.v[i].flags & FERRY_EXTENT_F_THP)
					thp_pages += x.v[i].pages;
			if (missing || outside) {
				fprintf(stderr, "MISMATCH THP: %zu written pages missing, %zu reported outside written 2 MiB blocks\n",
					missing, outside);
				fails++;
			}
			printf("round %u: %zu of %zu reported pages flagged thp\n", r, thp_pages,
			       count(got, npages));
		}
		printf("round %u: wrote %" PRIu64 " pages, module reports %zu in %zu extents (%.3f ms, kernel %.3f ms, %" PRIu64 " tables skipped)\n",
		       r, wrote, count(got, npages), x.n, (double)st.wall_ns / 1e6,
		       (double)st.kernel_ns / 1e6, st.tables_skipped);

		/* whole address space, module vs pagemap backend (target idle) */
		if (dirty_track_scan(mod, 0, DIRTY_ADDR_MAX, false, &x, NULL))
			die("module full scan: %s", dirty_track_error(mod));
		if (dirty_track_scan(pm, 0, DIRTY_ADDR_MAX, false, &y, NULL))
			die("pagemap full scan: %s", dirty_track_error(pm));
		fails += compare_extents("whole space: module vs pagemap", &x, &y);

		/* CLEAR: same report, then nothing dirty in the region */
		if (r % 2) {
			if (dirty_track_scan(mod, base, base + npages * PG, true, &x, &st))
				die("module CLEAR scan: %s", dirty_track_error(mod));
		} else {
			if (dirty_track_scan(mod, 0, DIRTY_ADDR_MAX, true, &x, &st))
				die("module CLEAR scan (whole): %s", dirty_track_error(mod));
		}
		to_bitmap(&x, base, npages, want);
		fails += compare("CLEAR scan vs report scan", want, got, npages, base);
		if (read_pagemap(pid, base, npages, ent))
			die("pagemap: %s", strerror(errno));
		for (size_t i = 0; i < npages; i++)
			got[i] = !!(ent[i] & PM_ENTRY_SOFT_DIRTY);
		memset(want, 0, npages);
		fails += compare("pagemap after CLEAR", got, want, npages, base);
		printf("round %u: CLEAR (%s) re-armed %" PRIu64 " pages\n", r,
		       r % 2 ? "region" : "whole space", st.pages_cleared);
	}
	target_call(to_t[1], from_t[0], 'Q', 0, 0);
	waitpid(pid, NULL, 0);
	dirty_track_close(mod);
	dirty_track_close(pm);
	dirty_track_close(pms);
	if (fails)
		die("%d comparisons failed", fails);
	printf("PASS: %u rounds, every comparison equal\n", rounds);
	return 0;
}
