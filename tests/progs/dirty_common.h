/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the dirty-tracking test programs. */
#ifndef DIRTY_COMMON_H
#define DIRTY_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL
#define HPG (2UL << 20)

#define die(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static inline uint64_t xs64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Deterministic random page set: bitmap of npages, ~permille/1000 set. */
static inline void page_set(uint8_t *bm, size_t npages, uint64_t seed, unsigned permille)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;

	memset(bm, 0, npages);
	for (size_t i = 0; i < npages; i++)
		if (xs64(&s) % 1000 < permille)
			bm[i] = 1;
}

/* Anonymous region of mib MiB, 2 MiB aligned, THP advised on or off. */
static inline char *map_region(size_t mib, int thp)
{
	size_t len = mib << 20;
	char *p = mmap(NULL, len + HPG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		die("mmap %zu MiB: %s", mib, strerror(errno));
	a = (char *)(((uintptr_t)p + HPG - 1) & ~(HPG - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + len, (size_t)(p + len + HPG - (a + len)));
	if (madvise(a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0 && thp)
		fprintf(stderr, "note: MADV_HUGEPAGE: %s\n", strerror(errno));
	return a;
}

static inline int clear_refs_self(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, "4", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Read pagemap entries of pid for [addr, addr + n pages). */
static inline int read_pagemap(pid_t pid, uintptr_t addr, size_t n, uint64_t *ent)
{
	char path[64];
	size_t done = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (done < n) {
		ssize_t r = pread(fd, ent + done, (n - done) * 8,
				  (off_t)((addr / PG + done) * 8));
		if (r <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)r / 8;
	}
	close(fd);
	return 0;
}

static inline void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("write: %s", strerror(errno));
		p += r;
		len -= (size_t)r;
	}
}

static inline void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read: %s", r ? strerror(errno) : "EOF");
		p += r;
		len -= (size_t)r;
	}
}

/*
 * The command a test sends its target process over a pipe pair, and the
 * call that sends one and waits for the 8-byte reply. What op and rate
 * mean is up to each target (e.g. 'W' writes rate pages per thousand or
 * per million of its region, chosen by seed).
 */
struct target_cmd {
	char op;
	uint64_t seed;
	uint32_t rate;
};

static inline uint64_t target_call(int wfd, int rfd, char op, uint64_t seed, uint32_t rate)
{
	struct target_cmd c = { op, seed, rate };
	uint64_t r;

	write_all(wfd, &c, sizeof(c));
	read_all(rfd, &r, sizeof(r));
	return r;
}

#endif
