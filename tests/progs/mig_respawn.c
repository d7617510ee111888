// SPDX-License-Identifier: GPL-2.0
/*
 * mig_respawn STATE: a tree that changes while ferry pre-copies it.
 *
 * The root maps a region and fills it with its own pattern, then forks
 * SLOTS "writer" children, each of which overwrites its copy of the region
 * with a pattern of its own (so the pre-copy sends, under each writer's
 * PID, pages that differ from the root's), and last a "ballast" child with
 * BALLAST_MIB of random bytes, which makes the pre-copy's first round
 * (root, writers, ballast: the tree in fork order) last seconds. On
 * SIGUSR1 (the test sends it during that round, after the writers' pages
 * went) the root:
 *  - kills every writer and forks, under the very same PID (clone3
 *    set_tid), an "inheritor" that never writes the region: its pages are
 *    the root's, shared copy-on-write and clean as far as soft-dirty
 *    knows, so only a dump that knows the PID was reused gets them right;
 *  - forks NEWCOMERS more inheritors under fresh PIDs, which were not in
 *    the tree when its tracking began.
 * Every child checks its region every 50 ms against the pattern it must
 * hold and counts checks and mismatches in a shared page. The root writes
 * STATE every 100 ms (and STATE.done once the respawn is complete):
 *
 *   host=NODENAME respawned_on=NODENAME|- children=N alive=N
 *   checks=N bad=N pids=P,P,...
 *
 * What must be unchanged across a migration: every child runs, with the
 * region it had (bad=0 while checks grows), and no process of the tree is
 * left on the source.
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS		4
#define NEWCOMERS	6
#define NCHILD		(SLOTS + NEWCOMERS + 1)	/* and the ballast */
#define BALLAST		(SLOTS + NEWCOMERS)	/* its stats slot */
#define BALLAST_MIB	96
#define REGION_PAGES	64
#define PAGE		4096
#define WORDS		(REGION_PAGES * PAGE / 8)
#define ROOT_TAG	1

struct child_stat {
	volatile int32_t pid;
	volatile uint32_t tag;
	volatile uint64_t checks;
	volatile uint64_t bad;
};

static uint64_t *region;
static struct child_stat *stats;	/* MAP_SHARED: the children report here */
static volatile sig_atomic_t respawn_req;

static uint64_t word(uint32_t tag, size_t i)
{
	uint64_t x = ((uint64_t)tag << 40) ^ (i * 0x9E3779B97F4A7C15ull);

	return x ^ (x >> 29);
}

static void fill(uint32_t tag)
{
	for (size_t i = 0; i < WORDS; i++)
		region[i] = word(tag, i);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static __attribute__((noreturn)) void child_main(struct child_stat *st, uint32_t tag, bool write)
{
	signal(SIGUSR1, SIG_DFL);
	if (write)
		fill(tag);
	st->tag = tag;
	for (;;) {
		bool ok = true;

		for (size_t i = 0; i < WORDS; i++)
			if (region[i] != word(tag, i)) {
				ok = false;
				break;
			}
		if (!ok)
			st->bad++;
		st->checks++;
		sleep_ms(50);
	}
}

/* fork, as PID `want` when it is > 0 */
static __attribute__((noreturn)) void ballast_main(struct child_stat *st)
{
	size_t n = (size_t)BALLAST_MIB << 17;	/* words */
	uint64_t *b = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0), x = 0x2545F4914F6CDD1Dull ^ (uint64_t)getpid();

	signal(SIGUSR1, SIG_DFL);
	if (b == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < n; i++) {	/* xorshift64: incompressible */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = x;
	}
	for (;;) {
		st->checks++;
		sleep_ms(50);
	}
}

static pid_t fork_as(pid_t want)
{
	struct clone_args a = { .exit_signal = SIGCHLD };
	pid_t tid = want;

	if (want <= 0)
		return fork();
	a.set_tid = (uint64_t)(uintptr_t)&tid;
	a.set_tid_size = 1;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static void on_usr1(int sig)
{
	(void)sig;
	respawn_req = 1;
}

static void write_state(const char *path, const char *host, const char *respawned_on)
{
	char tmp[4200], pids[NCHILD * 12 + 1] = "";
	uint64_t checks = 0, bad = 0;
	int alive = 0, n = 0;
	FILE *f;

	for (int i = 0; i < NCHILD; i++) {
		if (stats[i].pid <= 0)
			continue;
		n++;
		if (kill(stats[i].pid, 0) == 0)
			alive++;
		checks += stats[i].checks;
		bad += stats[i].bad;
		snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), "%s%d", *pids ? "," : "",
			 (int)stats[i].pid);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "host=%s respawned_on=%s children=%d alive=%d checks=%llu bad=%llu pids=%s\n",
		host, respawned_on, n, alive, (unsigned long long)checks, (unsigned long long)bad,
		pids);
	if (fclose(f) == 0)
		rename(tmp, path);
}

int main(int argc, char **argv)
{
	char respawned_on[65] = "-", done[4200];
	struct utsname u;

	if (argc != 2) {
		fprintf(stderr, "usage: mig_respawn STATE\n");
		return 2;
	}
	snprintf(done, sizeof(done), "%s.done", argv[1]);
	region = mmap(NULL, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stats = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || stats == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	fill(ROOT_TAG);
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < SLOTS; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0)
			child_main(&stats[i], 100 + i, true);
		stats[i].pid = p;
	}
	{
		pid_t p = fork();	/* (stats is shared: only the parent sets pid) */

		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0)
			ballast_main(&stats[BALLAST]);
		stats[BALLAST].pid = p;
	}
	for (;;) {
		if (uname(&u))
			strcpy(u.nodename, "?");
		if (respawn_req && !strcmp(respawned_on, "-")) {
			for (int i = 0; i < SLOTS; i++) {
				pid_t old = stats[i].pid, p;

				kill(old, SIGKILL);
				waitpid(old, NULL, 0);
				stats[i].checks = stats[i].bad = 0;
				p = fork_as(old);
				if (p < 0) {
					perror("clone3 with set_tid");
					return 1;
				}
				if (p == 0)
					child_main(&stats[i], ROOT_TAG, false);
			}
			for (int i = SLOTS; i < SLOTS + NEWCOMERS; i++) {
				pid_t p = fork();

				if (p < 0) {
					perror("fork");
					return 1;
				}
				if (p == 0)
					child_main(&stats[i], ROOT_TAG, false);
				stats[i].pid = p;
			}
			snprintf(respawned_on, sizeof(respawned_on), "%s", u.nodename);
			write_state(argv[1], u.nodename, respawned_on);
			FILE *d = fopen(done, "w");

			if (d)
				fclose(d);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		write_state(argv[1], u.nodename, respawned_on);
		sleep_ms(100);
	}
}
