// SPDX-License-Identifier: GPL-2.0
/*
 * mig_tree: a small process tree for migration tests.
 *
 *   mig_tree PIDFILE LOGFILE
 *
 * The parent runs two threads, each rewriting its own 1 MiB region (every
 * word = generation * 1000003 + word index), and its main thread sends a
 * counter through a pipe to a child every 5 ms and appends a line to
 * LOGFILE (an open file) every 100 ms. The child keeps 4 MiB of
 * pattern pages and checks that the counters arrive without gaps.
 * PIDFILE gets "PARENT CHILD".
 *
 * SIGUSR1 to the parent writes PIDFILE.parent: "OK gens=G1,G2 sent=N" if
 * both regions are consistent, else "BAD ..."; SIGUSR1 to the child writes
 * PIDFILE.child: "OK got=N" if no counter was lost and its pages hold their
 * pattern, else "BAD ...". (Files opened only then.)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define REGION (1u << 20)
#define WORDS (REGION / 8)

static volatile sig_atomic_t want_verify;
static void on_usr1(int sig) { (void)sig; want_verify = 1; }

struct region {
	pthread_mutex_t lock;
	uint64_t *mem;
	uint64_t gen;
};

static struct region regions[2];

static void *writer(void *arg)
{
	struct region *r = arg;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		r->gen++;
		for (size_t i = 0; i < WORDS; i++)
			r->mem[i] = r->gen * 1000003u + i;
		pthread_mutex_unlock(&r->lock);
		usleep(20000);
	}
	return NULL;
}

static void write_verdict(const char *base, const char *suffix, const char *msg)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%s", base, suffix);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", msg);
		fclose(f);
	}
}

static void child(int rfd, const char *pidfile)
{
	uint64_t expect = 1, got = 0;
	uint8_t *mem = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char bad[200] = "";

	if (mem == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < (4u << 20); i++)
		mem[i] = (uint8_t)(i * 7 + i / 4096);
	for (;;) {
		uint64_t v;
		ssize_t n = read(rfd, &v, sizeof(v));

		if (n == sizeof(v)) {
			if (v != expect && !bad[0])
				snprintf(bad, sizeof(bad), "BAD counter %llu, want %llu",
					 (unsigned long long)v, (unsigned long long)expect);
			expect = v + 1;
			got++;
		} else if (n == 0) {
			_exit(0);	/* parent gone */
		}
		if (want_verify) {
			char msg[256];

			want_verify = 0;
			for (size_t i = 0; i < (4u << 20) && !bad[0]; i++)
				if (mem[i] != (uint8_t)(i * 7 + i / 4096))
					snprintf(bad, sizeof(bad), "BAD child byte %zu", i);
			if (bad[0])
				snprintf(msg, sizeof(msg), "%s", bad);
			else
				snprintf(msg, sizeof(msg), "OK got=%llu", (unsigned long long)got);
			write_verdict(pidfile, "child", msg);
		}
	}
}

int main(int argc, char **argv)
{
	int p[2], logfd;
	uint64_t sent = 0;
	pid_t c;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PIDFILE LOGFILE\n", argv[0]);
		return 2;
	}
	logfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (logfd < 0 || pipe(p))
		return 1;
	/* before the fork: a SIGUSR1 that reaches the child while it fills
	 * its memory must not kill it (the default action) */
	signal(SIGUSR1, on_usr1);
	c = fork();
	if (c < 0)
		return 1;
	if (c == 0) {
		close(p[1]);
		close(logfd);
		child(p[0], argv[1]);
	}
	close(p[0]);
	for (int i = 0; i < 2; i++) {
		pthread_t t;

		pthread_mutex_init(&regions[i].lock, NULL);
		regions[i].mem = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (regions[i].mem == MAP_FAILED ||
		    pthread_create(&t, NULL, writer, &regions[i]))
			return 1;
	}
	f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fprintf(f, "%d %d\n", getpid(), c);
	fclose(f);
	for (;;) {
		sent++;
		if (write(p[1], &sent, sizeof(sent)) != sizeof(sent))
			return 1;
		if (sent % 20 == 0)
			dprintf(logfd, "pid %d sent %llu\n", getpid(), (unsigned long long)sent);
		if (want_verify) {
			char msg[256] = "";
			uint64_t g[2];

			want_verify = 0;
			for (int i = 0; i < 2 && !msg[0]; i++) {
				struct region *r = &regions[i];

				pthread_mutex_lock(&r->lock);
				g[i] = r->gen;
				for (size_t k = 0; k < WORDS; k++)
					if (r->mem[k] != r->gen * 1000003u + k) {
						snprintf(msg, sizeof(msg),
							 "BAD thread %d word %zu (gen %llu)", i, k,
							 (unsigned long long)r->gen);
						break;
					}
				pthread_mutex_unlock(&r->lock);
			}
			if (!msg[0])
				snprintf(msg, sizeof(msg), "OK gens=%llu,%llu sent=%llu",
					 (unsigned long long)g[0], (unsigned long long)g[1],
					 (unsigned long long)sent);
			write_verdict(argv[1], "parent", msg);
		}
		usleep(5000);
	}
}
