// SPDX-License-Identifier: GPL-2.0
/*
 * vol_churn DIR: keeps changing a directory the way an application changes
 * its volume, and remembers in its own memory what the directory must
 * hold. Each step writes DIR/d/f<J> anew (through a temporary file and a
 * rename) or deletes it; the content of generation G of f<J> is a header
 * "f<J> gen <G>\n" and bytes computed from both, 1 byte to 64 KiB long.
 *
 * SIGUSR1: before its next step it checks DIR/d against its memory: every
 * file it last wrote holds exactly that generation, every file it deleted
 * is absent, and nothing else named f* is there. It checks between two
 * steps, so a step a freeze cut in two has been finished by then (on the
 * destination, with the temporary file it left). The verdict goes to
 * DIR/verify.out: "OK <files> <steps>" or "BAD <why>".
 *
 * Migrated with its volume, it checks that the volume arrived as it was
 * when the container froze: memory and files from the same instant.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define NFILES	64
#define MAXLEN	(64 * 1024)

static volatile sig_atomic_t check;
static uint64_t gen[NFILES];	/* 0: absent */
static char buf[MAXLEN + 64], rd[MAXLEN + 128];

static void on_usr1(int sig)
{
	(void)sig;
	check = 1;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* generation g of file j into buf: its length */
static size_t content(int j, uint64_t g)
{
	size_t n = (size_t)snprintf(buf, 64, "f%d gen %llu\n", j, (unsigned long long)g);
	size_t len = 1 + mix(g * 131 + (uint64_t)j) % MAXLEN;

	for (size_t i = 0; i < len; i++)
		buf[n + i] = (char)mix(g ^ ((uint64_t)j << 40) ^ i);
	return n + len;
}

/* Does f<j> hold generation g (0: absent)? */
static int holds(const char *dir, int j, uint64_t g)
{
	char p[4200];
	ssize_t n;
	size_t want;
	int fd;

	snprintf(p, sizeof(p), "%s/d/f%d", dir, j);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return g == 0 && errno == ENOENT;
	if (g == 0) {
		close(fd);
		return 0;
	}
	n = read(fd, rd, sizeof(rd));
	close(fd);
	want = content(j, g);
	return n == (ssize_t)want && !memcmp(rd, buf, want);
}

static void verify(const char *dir, uint64_t steps)
{
	char p[4200], why[512] = "";
	unsigned int files = 0;
	struct dirent *de;
	FILE *out;
	DIR *d;

	for (int j = 0; j < NFILES && !why[0]; j++) {
		if (holds(dir, j, gen[j]))
			files += gen[j] != 0;
		else
			snprintf(why, sizeof(why), "f%d does not hold generation %llu%s", j,
				 (unsigned long long)gen[j], gen[j] ? "" : " (it was deleted)");
	}
	snprintf(p, sizeof(p), "%s/d", dir);
	d = opendir(p);
	while (!why[0] && d && (de = readdir(d))) {
		int j;
		char extra;

		if (de->d_name[0] != 'f')
			continue;
		if (sscanf(de->d_name, "f%d%c", &j, &extra) != 1 || j < 0 || j >= NFILES)
			snprintf(why, sizeof(why), "an unknown file %s", de->d_name);
	}
	if (d)
		closedir(d);
	snprintf(p, sizeof(p), "%s/verify.tmp", dir);
	out = fopen(p, "w");
	if (!out)
		return;
	if (why[0])
		fprintf(out, "BAD %s\n", why);
	else
		fprintf(out, "OK %u %llu\n", files, (unsigned long long)steps);
	fclose(out);
	{
		char fin[4200];

		snprintf(fin, sizeof(fin), "%s/verify.out", dir);
		rename(p, fin);
	}
}

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	char p[4200], t[4200];
	uint64_t step = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vol_churn DIR\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	snprintf(p, sizeof(p), "%s/d", argv[1]);
	if (mkdir(p, 0755) && errno != EEXIST) {
		perror(p);
		return 1;
	}
	for (;;) {
		int j, fd;
		uint64_t g;
		size_t len;

		if (check) {
			check = 0;
			verify(argv[1], step);
		}
		step++;
		j = (int)(mix(step) % NFILES);
		g = step % 3 == 0 ? 0 : step;
		snprintf(p, sizeof(p), "%s/d/f%d", argv[1], j);
		if (!g) {
			if (unlink(p) && errno != ENOENT) {
				perror(p);
				return 1;
			}
		} else {
			snprintf(t, sizeof(t), "%s/d/.t%d", argv[1], j);
			len = content(j, g);
			fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) ||
			    rename(t, p)) {
				perror(t);
				return 1;
			}
		}
		gen[j] = g;
		nanosleep(&nap, NULL);
	}
}
