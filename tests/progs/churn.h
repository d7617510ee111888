/* SPDX-License-Identifier: GPL-2.0 */
/*
 * churn.h: memory and process churn inside a workload (tcp_stream's CHURN
 * option, for the soak), self-checking. churn_start(MIB) starts three
 * threads next to the workload's own:
 *
 *  - heap: a MIB MiB heap in THP-eligible memory (2 MiB aligned,
 *    MADV_HUGEPAGE; huge pages when THP is "always" or "madvise"), written
 *    in a sliding window of pages; each page holds its index and its
 *    generation (in a separate array) at both ends, and the whole heap is
 *    checked every 64 steps.
 *  - vma: four slots cycling through mmap (4 MiB, THP-eligible, filled with
 *    tagged pages), MADV_DONTNEED of a random range (must read back zero,
 *    the rest intact), mremap to 6 MiB (MREMAP_MAYMOVE: the content moves
 *    with it, the new tail reads zero), munmap of a hole in the middle
 *    (splits the mapping), munmap of it all; every page is checked at each
 *    step.
 *  - fork: short-lived children, one every 50 ms: each checks the whole
 *    heap as of the fork (the heap thread is held off while it forks),
 *    writes into a few heap pages (copy-on-write) and exits with the
 *    verdict. Children get PIDs from the reserved range CHURN_PID_BASE..
 *    (clone3 set_tid) when pid_max allows, so that a tree migrated back and
 *    forth never needs a PID the other host happens to use; else fork().
 *
 * Every check that fails adds to churn_errors. churn_report() appends
 * "churn_ops=O churn_forks=F churn_errors=E" for the workload's status.
 */
#ifndef CHURN_H
#define CHURN_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include "dirty_common.h"

#define CHURN_PID_BASE 3500000
#define CHURN_PID_SPAN 400000
#define CHURN_SLOTS 4
#define CHURN_SLOT_MIB 4
#define CHURN_SLOT_MAX_PAGES ((CHURN_SLOT_MIB + 2) * (1UL << 20) / PG)

static _Atomic uint64_t churn_ops, churn_forks, churn_errs;
static pthread_mutex_t churn_heap_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *churn_heap;
static uint32_t *churn_gen;	/* each heap page's generation */
static size_t churn_heap_pages;

static void churn_error(const char *what, uintptr_t where)
{
	churn_errs++;
	fprintf(stderr, "churn: %s (at %#lx)\n", what, (unsigned long)where);
}

static inline void churn_heap_write(size_t p)
{
	uint64_t *w = (uint64_t *)(churn_heap + p * PG);

	churn_gen[p]++;
	w[0] = (uint64_t)p << 32 | churn_gen[p];
	w[PG / 8 - 1] = ~w[0];
}

/* The number of heap pages that do not hold what churn_gen says. */
static size_t churn_heap_check(void)
{
	size_t bad = 0;

	for (size_t p = 0; p < churn_heap_pages; p++) {
		const uint64_t *w = (const uint64_t *)(churn_heap + p * PG);
		uint64_t want = (uint64_t)p << 32 | churn_gen[p];

		bad += w[0] != want || w[PG / 8 - 1] != ~want;
	}
	return bad;
}

static void *churn_heap_thread(void *arg)
{
	size_t cur = 0;

	(void)arg;
	for (uint64_t step = 1;; step++) {
		pthread_mutex_lock(&churn_heap_lock);
		for (int k = 0; k < 64; k++, cur = (cur + 1) % churn_heap_pages)
			churn_heap_write(cur);
		if (step % 64 == 0) {
			size_t bad = churn_heap_check();

			if (bad)
				churn_error("heap pages changed behind the writer's back", bad);
		}
		pthread_mutex_unlock(&churn_heap_lock);
		churn_ops++;
		usleep(5000);
	}
	return NULL;
}

/* One vma slot: a mapping and what each of its pages must hold (0: zero,
 * UINT64_MAX: not mapped, else the tag at both ends of the page). */
struct churn_slot {
	uint8_t *addr;
	size_t pages;
	int stage;
	uint64_t expect[CHURN_SLOT_MAX_PAGES];
};

static uint64_t churn_tag(uint64_t seed, size_t page)
{
	return seed << 24 | page | 1ULL << 63;
}

static void churn_slot_fill(struct churn_slot *s, size_t from, size_t to, uint64_t seed)
{
	for (size_t p = from; p < to; p++) {
		uint64_t *w = (uint64_t *)(s->addr + p * PG);

		s->expect[p] = churn_tag(seed, p);
		w[0] = s->expect[p];
		w[PG / 8 - 1] = s->expect[p];
	}
}

static void churn_slot_check(struct churn_slot *s, const char *after)
{
	for (size_t p = 0; p < s->pages; p++) {
		const uint64_t *w = (const uint64_t *)(s->addr + p * PG);

		if (s->expect[p] == UINT64_MAX)
			continue;
		if (w[0] != s->expect[p] || w[PG / 8 - 1] != s->expect[p]) {
			char what[96];

			snprintf(what, sizeof(what), "vma page %zu wrong after %s", p, after);
			churn_error(what, (uintptr_t)(s->addr + p * PG));
			s->expect[p] = w[0] == w[PG / 8 - 1] ? w[0] : UINT64_MAX;
		}
	}
}

/* One step of a slot's cycle: map, DONTNEED, mremap, punch, unmap. */
static void churn_slot_step(struct churn_slot *s, uint64_t *rnd)
{
	size_t a, n, newpages;
	void *m;

	switch (s->stage) {
	case 0:
		s->addr = (uint8_t *)map_region(CHURN_SLOT_MIB, 1);
		s->pages = (CHURN_SLOT_MIB << 20) / PG;
		churn_slot_fill(s, 0, s->pages, xs64(rnd) & 0xffffff);
		break;
	case 1:
		a = xs64(rnd) % (s->pages - 1);
		n = 1 + xs64(rnd) % (s->pages - a);
		if (madvise(s->addr + a * PG, n * PG, MADV_DONTNEED))
			churn_error("MADV_DONTNEED failed", (uintptr_t)s->addr);
		for (size_t p = a; p < a + n; p++)
			s->expect[p] = 0;
		churn_slot_check(s, "MADV_DONTNEED");
		churn_slot_fill(s, a, a + n / 2, xs64(rnd) & 0xffffff);
		break;
	case 2:
		newpages = s->pages + (2UL << 20) / PG;
		m = mremap(s->addr, s->pages * PG, newpages * PG, MREMAP_MAYMOVE);
		if (m == MAP_FAILED) {
			churn_error("mremap failed", (uintptr_t)s->addr);
			break;
		}
		s->addr = m;
		for (size_t p = s->pages; p < newpages; p++)
			s->expect[p] = 0;
		s->pages = newpages;
		churn_slot_check(s, "mremap");
		churn_slot_fill(s, newpages - 64, newpages, xs64(rnd) & 0xffffff);
		break;
	case 3:
		a = 1 + xs64(rnd) % (s->pages - 2);
		n = 1 + xs64(rnd) % (s->pages - 1 - a);
		if (munmap(s->addr + a * PG, n * PG))
			churn_error("munmap of a hole failed", (uintptr_t)s->addr);
		for (size_t p = a; p < a + n; p++)
			s->expect[p] = UINT64_MAX;
		churn_slot_check(s, "munmap of a hole");
		break;
	default:
		churn_slot_check(s, "the last step");
		munmap(s->addr, s->pages * PG);
		s->addr = NULL;
		s->pages = 0;
		s->stage = -1;
		break;
	}
	s->stage++;
}

static void *churn_vma_thread(void *arg)
{
	static struct churn_slot slots[CHURN_SLOTS];
	uint64_t rnd = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL + 1;

	(void)arg;
	for (uint64_t i = 0;; i++) {
		churn_slot_step(&slots[i % CHURN_SLOTS], &rnd);
		churn_ops++;
		usleep(10000);
	}
	return NULL;
}

/* A child with a PID from the reserved range, or a plain fork(). */
static pid_t churn_fork(void)
{
	static int use_set_tid = 1;
	static unsigned int next;

	while (use_set_tid) {
		pid_t want = (pid_t)(CHURN_PID_BASE + next++ % CHURN_PID_SPAN);
		struct clone_args ca = {
			.exit_signal = SIGCHLD,
			.set_tid = (uintptr_t)&want,
			.set_tid_size = 1,
		};
		long r = syscall(SYS_clone3, &ca, sizeof(ca));

		if (r >= 0)
			return (pid_t)r;
		if (errno != EEXIST)
			use_set_tid = 0;	/* EINVAL (pid_max), EPERM, ENOSYS */
	}
	return fork();
}

static void *churn_fork_thread(void *arg)
{
	uint64_t rnd = 88172645463325252ULL;

	(void)arg;
	for (;;) {
		pid_t c;
		int st;

		pthread_mutex_lock(&churn_heap_lock);
		c = churn_fork();
		if (c == 0) {
			/* only raw memory and syscalls here: another thread
			 * may have held a libc lock at the fork */
			size_t bad = churn_heap_check();

			for (int k = 0; k < 8; k++)
				churn_heap_write(xs64(&rnd) % churn_heap_pages);
			syscall(SYS_exit_group, bad ? 1 : 0);
		}
		pthread_mutex_unlock(&churn_heap_lock);
		if (c < 0) {
			churn_error("fork failed", 0);
			sleep(1);
			continue;
		}
		while (waitpid(c, &st, 0) < 0)
			if (errno != EINTR) {
				churn_error("waitpid failed", (uintptr_t)c);
				break;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			churn_error("a child found the heap wrong (or died)", (uintptr_t)c);
		churn_forks++;
		churn_ops++;
		usleep(50000);
	}
	return NULL;
}

/* Start the three threads (signals stay with the calling thread). */
static inline int churn_start(size_t heap_mib)
{
	void *(*fn[3])(void *) = { churn_heap_thread, churn_vma_thread, churn_fork_thread };
	sigset_t all, old;

	churn_heap = (uint8_t *)map_region(heap_mib, 1);
	churn_heap_pages = (heap_mib << 20) / PG;
	churn_gen = calloc(churn_heap_pages, sizeof(*churn_gen));
	if (!churn_gen)
		return -1;
	for (size_t p = 0; p < churn_heap_pages; p++)
		churn_heap_write(p);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < 3; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, fn[i], NULL))
			return -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

static inline uint64_t churn_errors(void)
{
	return churn_errs;
}

static inline void churn_report(FILE *f)
{
	fprintf(f, " churn_ops=%llu churn_forks=%llu churn_errors=%llu",
		(unsigned long long)churn_ops, (unsigned long long)churn_forks,
		(unsigned long long)churn_errs);
}

#endif
