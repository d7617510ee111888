// SPDX-License-Identifier: GPL-2.0
/*
 * mig_workload: a process with memory of known content for migration tests.
 *
 *   mig_workload MIB HOT_PAGES PIDFILE [z][h]
 *
 * Allocates MIB MiB of anonymous memory (no THP unless "h") and writes every page once;
 * then keeps rewriting HOT_PAGES pages (a sliding window, so every round
 * dirties a different set) forever. Each page carries a header (magic, page
 * index, generation) and a body that is a function of (index, generation);
 * a separate array holds each page's latest generation, and a running total
 * counts all writes.
 *
 * On SIGUSR1 it checks every page: the header and body must match and the
 * header's generation must equal the array's (a stale page restored from an
 * older copy has an older generation; a lost page has no magic); the sum of
 * generations must equal the write counter. The verdict is written to
 * PIDFILE.verify as "OK pages=N writes=W" or "BAD ..." (a new file, opened
 * only then, so no file stays open across a migration). On SIGUSR2 it
 * writes just its write counter to PIDFILE.count (its throughput, sampled).
 *
 * With "z", page bodies are compressible (one random byte per 8-byte word,
 * as in typical heap data); without, they are random. With "h" the memory
 * asks for transparent huge pages (MADV_HUGEPAGE) instead of refusing them.
 * With "H" it is hugetlb memory (MAP_HUGETLB, MIB a multiple of 2; the host
 * needs that many 2 MiB pages in vm.nr_hugepages), whose writes soft-dirty
 * cannot track: a pre-copy must leave it to the final, frozen dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PG 4096
#define MAGIC 0x46455252594d4947ull	/* "FERRYMIG" */

struct hdr {
	uint64_t magic, index, gen;
};

static volatile sig_atomic_t want_verify, want_count;
static int compressible;
static int thp;		/* "h": transparent huge pages wanted (MADV_HUGEPAGE) */
static int hugetlb;	/* "H": hugetlb memory (MAP_HUGETLB) */

static void on_usr1(int sig)
{
	(void)sig;
	want_verify = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	want_count = 1;
}

/* The write counter alone, cheap enough to sample its throughput. */
static void write_count(const char *path, uint64_t writes)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%llu\n", (unsigned long long)writes);
		fclose(f);
	}
}

static uint64_t body_word(uint64_t index, uint64_t gen, size_t k)
{
	uint64_t x = index * 0x9e3779b97f4a7c15ull ^ gen * 0xc2b2ae3d27d4eb4full ^ k;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return compressible ? x >> 56 : x;
}

static void write_page(uint8_t *p, uint64_t index, uint64_t gen)
{
	uint64_t *w = (uint64_t *)p;
	struct hdr h = { MAGIC, index, gen };

	for (size_t k = sizeof(h) / 8; k < PG / 8; k++)
		w[k] = body_word(index, gen, k);
	memcpy(p, &h, sizeof(h));
}

static void verify(uint8_t *mem, uint64_t *gens, size_t npages, uint64_t writes,
		   const char *path)
{
	char msg[256] = "";
	uint64_t sum = 0;
	FILE *f;

	for (size_t i = 0; i < npages && !msg[0]; i++) {
		const uint8_t *p = mem + i * PG;
		const uint64_t *w = (const uint64_t *)p;
		struct hdr h;

		memcpy(&h, p, sizeof(h));
		sum += gens[i];
		if (h.magic != MAGIC || h.index != i) {
			snprintf(msg, sizeof(msg), "BAD page %zu lost (magic %llx index %llu)", i,
				 (unsigned long long)h.magic, (unsigned long long)h.index);
			break;
		}
		if (h.gen != gens[i]) {
			snprintf(msg, sizeof(msg), "BAD page %zu stale: generation %llu, want %llu",
				 i, (unsigned long long)h.gen, (unsigned long long)gens[i]);
			break;
		}
		for (size_t k = sizeof(h) / 8; k < PG / 8; k++)
			if (w[k] != body_word(i, h.gen, k)) {
				snprintf(msg, sizeof(msg), "BAD page %zu corrupt at word %zu", i, k);
				break;
			}
	}
	if (!msg[0] && sum != writes)
		snprintf(msg, sizeof(msg), "BAD generation sum %llu != writes %llu",
			 (unsigned long long)sum, (unsigned long long)writes);
	if (!msg[0])
		snprintf(msg, sizeof(msg), "OK pages=%zu writes=%llu", npages,
			 (unsigned long long)writes);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", msg);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	size_t npages, hot, pos = 0;
	uint64_t *gens, writes = 0;
	char vpath[4096], cpath[4096];
	uint8_t *mem;
	FILE *f;

	if (argc != 4 && !(argc == 5 && argv[4][strspn(argv[4], "zhH")] == 0)) {
		fprintf(stderr, "usage: %s MIB HOT_PAGES PIDFILE [z][h|H]\n", argv[0]);
		return 2;
	}
	compressible = argc == 5 && strchr(argv[4], 'z');
	thp = argc == 5 && strchr(argv[4], 'h');
	hugetlb = argc == 5 && strchr(argv[4], 'H');
	npages = (size_t)strtoul(argv[1], NULL, 0) * 256;
	hot = (size_t)strtoul(argv[2], NULL, 0);
	if (!npages || hot > npages)
		return 2;
	snprintf(vpath, sizeof(vpath), "%s.verify", argv[3]);
	snprintf(cpath, sizeof(cpath), "%s.count", argv[3]);
	if (hugetlb && npages % 512) {
		fprintf(stderr, "%s: H wants a multiple of 2 MiB\n", argv[0]);
		return 2;
	}
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | (hugetlb ? MAP_HUGETLB : 0), -1, 0);
	gens = calloc(npages, sizeof(*gens));
	if (mem == MAP_FAILED || !gens) {
		perror("mig_workload: memory");
		return 1;
	}
	if (!hugetlb)
		madvise(mem, npages * PG, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (size_t i = 0; i < npages; i++) {
		gens[i] = 1;
		write_page(mem + i * PG, i, 1);
		writes++;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	f = fopen(argv[3], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	for (;;) {
		if (want_verify) {
			want_verify = 0;
			verify(mem, gens, npages, writes, vpath);
		}
		if (want_count) {
			want_count = 0;
			write_count(cpath, writes);
		}
		/* rewrite the hot window, then slide it */
		for (size_t k = 0; k < hot; k++) {
			size_t i = (pos + k) % npages;

			gens[i]++;
			write_page(mem + i * PG, i, gens[i]);
			writes++;
		}
		pos = (pos + 4) % npages;
		usleep(20000);
	}
}
