// SPDX-License-Identifier: GPL-2.0
/* Guard over a restore the source has not been told about (mig_guard.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "mig_guard.h"
#include "util.h"

uint64_t mig_stat_starttime(const char *stat)
{
	const char *p = strrchr(stat, ')');	/* comm ends at the last ')' */
	int field = 2;

	if (!p)
		return 0;
	for (p++; *p; p++) {
		if (*p != ' ')
			continue;
		if (++field == 22)
			return strtoull(p + 1, NULL, 10);
	}
	return 0;
}

uint64_t mig_pid_starttime(pid_t pid)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (ferry_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return mig_stat_starttime(buf);
}

/* SIGKILL the tree's processes created since `since`; how many. */
static int kill_restored(const uint32_t *pids, size_t n, uint64_t since)
{
	int killed = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t st = mig_pid_starttime((pid_t)pids[i]);

		if (st && st >= since && !kill((pid_t)pids[i], SIGKILL))
			killed++;
	}
	return killed;
}

#define GUARD_RELEASE	'c'
#define GUARD_FIRE	'k'	/* undo now, asked by a receiver still alive */

static void guard_main(int rfd, const uint32_t *pids, size_t n, pid_t worker,
		       void (*undo)(void *, int), void *arg)
{
	uint64_t since = mig_pid_starttime(getpid());
	char c;
	ssize_t r;

	do
		r = read(rfd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1 && c != GUARD_FIRE)
		_exit(0);	/* released */
	if (worker > 0)
		kill(worker, SIGKILL);	/* no further process gets restored */
	if (undo)
		undo(arg, 0);
	/* CRIU may have been between forks: sweep until nothing is left */
	for (int round = 0; round < 20; round++) {
		if (!kill_restored(pids, n, since) && round >= 2)
			break;
		usleep(50000);
	}
	if (undo)
		undo(arg, 1);
	/* fired by a live receiver, it says why itself */
	if (r != 1)
		fprintf(stderr, "ferry receive: the restore was not reported to the source; "
			"the restored tree was killed here (the source resumes its copy)\n");
	_exit(0);
}

int mig_guard_start(struct mig_guard *g, const uint32_t *pids, size_t n, pid_t worker,
		    void (*undo)(void *arg, int phase), void *arg)
{
	int p[2];
	pid_t pid;

	g->pid = 0;
	g->fd = -1;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int ret = -errno;

		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		/* own process group: a Ctrl-C that kills the receiver must
		 * leave the guard to do its job; no descriptor of the
		 * receiver's (the source's connection above all) kept open */
		setpgid(0, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		ferry_close_fds_except(p[0]);
		guard_main(p[0], pids, n, worker, undo, arg);
	}
	close(p[0]);
	g->pid = pid;
	g->fd = p[1];
	return 0;
}

static void reap(struct mig_guard *g)
{
	if (g->pid > 0)
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
	g->pid = 0;
}

void mig_guard_release(struct mig_guard *g)
{
	if (g->fd >= 0) {
		char c = GUARD_RELEASE;
		ssize_t r = write(g->fd, &c, 1);

		(void)r;	/* a guard already gone has nothing to do */
		close(g->fd);
		g->fd = -1;
	}
	reap(g);
}

void mig_guard_fire(struct mig_guard *g)
{
	if (g->fd >= 0) {
		char c = GUARD_FIRE;
		ssize_t r = write(g->fd, &c, 1);

		(void)r;	/* without it, the closed pipe fires it as well */
		close(g->fd);
		g->fd = -1;
	}
	reap(g);
}
