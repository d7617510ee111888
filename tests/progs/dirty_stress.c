// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_stress: no write may be lost by clearing scans.
 *
 * Forks a target whose writer threads stamp ever-increasing sequence
 * numbers into random pages of a MIB MiB region, as fast as they can. The
 * scanner does what a pre-copy migration does: one clearing scan, a copy of
 * the whole region (process_vm_readv), then ROUNDS rounds of "clearing scan,
 * copy the reported pages". Then the writers stop, a last clearing scan and
 * copy follow, and the copy must equal the target's memory byte for byte:
 * a write that no scan reported leaves a stale page in the copy.
 *
 * --churn adds threads that mmap/mremap/munmap other memory, fork, and
 * split/merge the region's VMA (and so its THPs) with mprotect while the
 * scans run; the scans walk the whole address space.
 * --unsafe is the negative control: report via pagemap, then clear_refs
 * WITHOUT freezing; lost writes are expected and must be detected
 * (exit status 3 when detected, 0 if not).
 * --mode exit: the target is killed at random moments during clearing
 * scans, many times; every scan must succeed or fail with ESRCH.
 *
 * Usage: dirty_stress [--mib N] [--thp on|off] [--threads T] [--rounds R]
 *        [--sleep-ms S] [--backend B] [--churn] [--unsafe] [--mode stamp|exit]
 *        [--burst N] [--pause-us U]   (each writer: N writes, then a pause)
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include "dirty_common.h"
#include "dirty_track.h"

struct shared {
	_Atomic uint64_t seq;
	_Atomic int stop;
	_Atomic int stopped;
	_Atomic uint64_t writes;
	_Atomic uint64_t churn_ops;
	uintptr_t base;
};

static struct shared *sh;
static char *region;
static size_t npages;
static int nthreads = 2, churn, thp, burst = 8, pause_us = 200;

static void *writer(void *arg)
{
	uint64_t s = (uintptr_t)arg * 7919 + 17, n = 0;
	unsigned tid = (unsigned)(uintptr_t)arg;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		/* Bursts and pauses: a round sees a small part of the region
		 * written, so a lost write is rarely hidden by a later one. */
		for (int k = 0; k < burst; k++) {
			uint64_t seq = atomic_fetch_add_explicit(&sh->seq, 1, memory_order_relaxed);
			size_t p = xs64(&s) % npages;

			((volatile uint64_t *)(region + p * PG))[tid % 512] = seq;
			n++;
		}
		if (pause_us)
			usleep(pause_us);
	}
	atomic_fetch_add(&sh->writes, n);
	atomic_fetch_add(&sh->stopped, 1);
	return NULL;
}

/* Churn the address space around the region, and the region's VMA. */
static void *churner(void *arg)
{
	uint64_t s = (uintptr_t)arg * 31 + 5;
	int kind = (int)(uintptr_t)arg;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		size_t len = (1 + xs64(&s) % 64) * PG;
		char *p, *q;

		switch (kind) {
		case 0:	/* mmap, write, mremap (moving), munmap */
			p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				break;
			memset(p, 0x5a, len);
			q = mremap(p, len, len * 2, MREMAP_MAYMOVE);
			if (q != MAP_FAILED)
				p = q, len *= 2;
			memset(p, 0xa5, PG);
			munmap(p, len);
			break;
		case 1: {	/* fork: COW-protects the region under the writers */
			pid_t c = fork();

			if (c == 0)
				_exit(0);
			if (c > 0)
				waitpid(c, NULL, 0);
			break;
		}
		case 2: {	/* split the VMA (and a THP) and merge it back */
			size_t pg = xs64(&s) % npages;

			mprotect(region + pg * PG, PG, PROT_READ | PROT_WRITE | PROT_EXEC);
			sched_yield();
			mprotect(region + pg * PG, PG, PROT_READ | PROT_WRITE);
			break;
		}
		}
		atomic_fetch_add(&sh->churn_ops, 1);
	}
	atomic_fetch_add(&sh->stopped, 1);
	return NULL;
}

static void target(size_t mib)
{
	pthread_t th[64];
	int n = 0;

	region = map_region(mib, thp);
	for (size_t i = 0; i < npages; i++)
		region[i * PG] = 1;
	/* A new mapping is VM_SOFTDIRTY (all dirty, nothing to re-arm at
	 * page level) until clear_refs: start from a tracked state. */
	if (clear_refs_self())
		die("clear_refs");
	sh->base = (uintptr_t)region;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[n++], NULL, writer, (void *)(uintptr_t)i);
	if (churn)
		for (int i = 0; i < 3; i++)
			pthread_create(&th[n++], NULL, churner, (void *)(uintptr_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (;;)
		pause();	/* the parent compares, then kills us */
}

static void copy_pages(pid_t pid, char *shadow, uint64_t addr, uint64_t pages)
{
	uint64_t base = sh->base, end = base + npages * PG;
	uint64_t s = addr > base ? addr : base;
	uint64_t e = addr + pages * PG < end ? addr + pages * PG : end;

	while (s < e) {
		size_t len = e - s > (8UL << 20) ? 8UL << 20 : (size_t)(e - s);
		struct iovec l = { shadow + (s - base), len };
		struct iovec r = { (void *)(uintptr_t)s, len };
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);

		if (got <= 0)
			die("process_vm_readv 0x%" PRIx64 ": %s", s, strerror(errno));
		s += (uint64_t)got;
	}
}

static int scan(struct dirty_tracker *t, bool unsafe, pid_t pid, struct dirty_extents *x,
		uint64_t start, uint64_t end)
{
	int ret;

	if (!unsafe)
		return dirty_track_scan(t, start, end, true, x, NULL);
	/* Deliberately racy: report, then clear everything, no freeze. */
	ret = dirty_track_scan(t, start, end, false, x, NULL);
	if (!ret) {
		int fd;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, "4", 1) != 1)
			die("clear_refs");
		close(fd);
	}
	return ret;
}

static int stamp_mode(size_t mib, unsigned rounds, unsigned sleep_ms,
		      enum dirty_backend backend, bool unsafe)
{
	struct dirty_tracker *t;
	struct dirty_extents x;
	uint64_t reported = 0, start = 0, end = DIRTY_ADDR_MAX;
	char *shadow, *now, msg[256];
	size_t bad = 0;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		target(mib);
	while (!sh->base)
		usleep(1000);
	if (!churn && !unsafe && backend == DIRTY_BACKEND_MODULE) {
		/* Region only: also exercises ranged scans (clear_refs, the
		 * other backends' way to clear, is whole-process only). */
		start = sh->base;
		end = sh->base + npages * PG;
	}
	/* Mappings the churners create are re-armed (freeze + clear_refs)
	 * when whole-space scans report them: that path is tested too. */
	if (dirty_track_open(&t, pid, unsafe ? DIRTY_BACKEND_PAGEMAP : backend, !unsafe,
			     unsafe ? 0 : DIRTY_OPT_REARM_VMAS, msg, sizeof(msg)))
		die("open: %s", msg);
	printf("target %d: %zu MiB, %d writers%s, THP %s, backend %s%s\n", (int)pid, mib,
	       nthreads, churn ? " + 3 churners" : "", thp ? "advised" : "off",
	       dirty_backend_name(dirty_track_backend(t)), unsafe ? " (UNSAFE clear_refs)" : "");
	shadow = malloc(npages * PG);
	now = malloc(npages * PG);
	if (!shadow || !now)
		die("malloc");
	dirty_extents_init(&x);

	if (scan(t, unsafe, pid, &x, start, end))
		die("first scan: %s", dirty_track_error(t));
	copy_pages(pid, shadow, sh->base, npages);
	for (unsigned r = 0; r < rounds; r++) {
		if (sleep_ms)
			usleep(sleep_ms * 1000);
		if (scan(t, unsafe, pid, &x, start, end))
			die("round %u: %s", r, dirty_track_error(t));
		for (size_t i = 0; i < x.n; i++)
			copy_pages(pid, shadow, x.v[i].start, x.v[i].pages);
		reported += dirty_extents_pages(&x);
	}
	atomic_store(&sh->stop, 1);
	while (atomic_load(&sh->stopped) < nthreads + (churn ? 3 : 0))
		usleep(1000);
	if (scan(t, unsafe, pid, &x, start, end))
		die("final scan: %s", dirty_track_error(t));
	for (size_t i = 0; i < x.n; i++)
		copy_pages(pid, shadow, x.v[i].start, x.v[i].pages);
	copy_pages(pid, now, sh->base, npages);
	for (size_t p = 0; p < npages; p++)
		if (memcmp(shadow + p * PG, now + p * PG, PG)) {
			if (bad < 5) {
				uint64_t *a = (uint64_t *)(shadow + p * PG), *b = (uint64_t *)(now + p * PG);
				int k = 0;

				while (k < 512 && a[k] == b[k])
					k++;
				fprintf(stderr, "LOST WRITE: page 0x%" PRIx64 " word %d: copy has %" PRIu64
					", memory has %" PRIu64 "\n", (uint64_t)(sh->base + p * PG), k,
					a[k % 512], b[k % 512]);
			}
			bad++;
		}
	printf("%u rounds, %" PRIu64 " writes, %" PRIu64 " churn ops, %" PRIu64
	       " pages reported; %zu pages differ\n", rounds, (uint64_t)sh->writes,
	       (uint64_t)sh->churn_ops, reported, bad);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	dirty_track_close(t);
	dirty_extents_free(&x);
	free(shadow);
	free(now);
	/* If every round reported the whole region, nothing was re-armed at
	 * page level and the test proved nothing. */
	if (!thp && !churn && rounds && reported >= (uint64_t)rounds * npages)
		die("rounds reported %" PRIu64 " pages on average of %zu: tracking was not page-precise",
		    reported / (rounds ? rounds : 1), npages);
	if (unsafe) {
		printf(bad ? "negative control: lost writes detected, as expected\n"
			   : "negative control: no loss observed this time\n");
		return bad ? 3 : 0;
	}
	if (bad)
		die("%zu pages lost writes", bad);
	printf("PASS: no write lost\n");
	return 0;
}

static int exit_mode(size_t mib, unsigned rounds, enum dirty_backend backend)
{
	unsigned ok = 0, gone = 0;
	uint64_t s = (uint64_t)getpid();

	for (unsigned r = 0; r < rounds; r++) {
		struct dirty_tracker *t;
		struct dirty_extents x;
		char msg[256];
		pid_t pid;
		uint64_t deadline;

		sh->base = 0;
		sh->stop = 0;
		pid = fork();
		if (pid == 0)
			target(mib);
		while (!sh->base)
			usleep(1000);
		if (dirty_track_open(&t, pid, backend, true, 0, msg, sizeof(msg)))
			die("open: %s", msg);
		dirty_extents_init(&x);
		deadline = xs64(&s) % 20000;	/* kill within 20 ms of scanning */
		{
			pid_t killer = fork();

			if (killer == 0) {
				usleep((useconds_t)deadline);
				kill(pid, SIGKILL);
				_exit(0);
			}
			for (;;) {
				int ret = dirty_track_scan(t, 0, DIRTY_ADDR_MAX, true, &x, NULL);

				if (ret == -ESRCH) {
					gone++;
					break;
				}
				if (ret)
					die("scan during exit: %s (%d)", dirty_track_error(t), ret);
				ok++;
				if (waitpid(pid, NULL, WNOHANG) == pid) {
					pid = 0;
					break;
				}
			}
			waitpid(killer, NULL, 0);
		}
		if (pid)
			waitpid(pid, NULL, 0);
		dirty_track_close(t);
		dirty_extents_free(&x);
	}
	printf("PASS: %u targets killed during scans: %u scans ok, %u ended with ESRCH\n",
	       rounds, ok, gone);
	return 0;
}

int main(int argc, char **argv)
{
	enum dirty_backend backend = DIRTY_BACKEND_MODULE;
	unsigned rounds = 20, sleep_ms = 10;
	size_t mib = 64;
	bool unsafe = false, exitmode = false;
	int c;

	static const struct option lo[] = {
		{ "mib", 1, NULL, 'm' }, { "thp", 1, NULL, 't' }, { "threads", 1, NULL, 'T' },
		{ "rounds", 1, NULL, 'r' }, { "sleep-ms", 1, NULL, 's' },
		{ "backend", 1, NULL, 'b' }, { "churn", 0, NULL, 'c' },
		{ "unsafe", 0, NULL, 'u' }, { "mode", 1, NULL, 'M' },
		{ "burst", 1, NULL, 'B' }, { "pause-us", 1, NULL, 'P' }, { 0 },
	};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 't': thp = !strcmp(optarg, "on"); break;
		case 'T': nthreads = atoi(optarg); break;
		case 'r': rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': sleep_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b':
			if (!dirty_backend_parse(optarg, &backend))
				die("bad backend %s", optarg);
			break;
		case 'c': churn = 1; break;
		case 'B': burst = atoi(optarg); break;
		case 'P': pause_us = atoi(optarg); break;
		case 'u': unsafe = true; break;
		case 'M': exitmode = !strcmp(optarg, "exit"); break;
		default: die("see the header of dirty_stress.c for usage");
		}
	}
	if (nthreads < 1 || nthreads > 32)
		die("--threads 1..32");
	npages = (mib << 20) / PG;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap shared");
	memset(sh, 0, sizeof(*sh));
	return exitmode ? exit_mode(mib, rounds, backend)
			: stamp_mode(mib, rounds, sleep_ms, backend, unsafe);
}
