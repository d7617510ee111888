// SPDX-License-Identifier: GPL-2.0
/* Running CRIU (or any helper) with its output in a log; cleanup helpers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "mig.h"
#include "util.h"

int mig_run(const char *const argv[], const char *log_path)
{
	return mig_run_timeout(argv, log_path, 0);
}

int mig_run_timeout(const char *const argv[], const char *log_path, int timeout_ms)
{
	return mig_run_flags(argv, log_path, timeout_ms, 0);
}

int mig_run_flags(const char *const argv[], const char *log_path, int timeout_ms,
		  unsigned int flags)
{
	pid_t parent = getpid();
	int status, fd;
	pid_t pid;

	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		/* a terminal's Ctrl-C is for ferry, which decides what to
		 * undo: a criu dump killed midway would leave the tree
		 * frozen with CRIU's parasite in it */
		setpgid(0, 0);
		/* a restore nobody will report must not go on: the guard
		 * (mig_guard.h) kills what it restored, this kills CRIU */
		if ((flags & MIG_RUN_DIE_WITH_PARENT) &&
		    (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent))
			_exit(126);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	if (timeout_ms > 0)
		return mig_wait_child(pid, timeout_ms);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void mig_log_tail(const char *path, int lines, char *buf, size_t size)
{
	char *data;
	long len;
	int seen = 0;
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	if (len > 65536) {
		fseek(f, len - 65536, SEEK_SET);
		len = 65536;
	} else {
		fseek(f, 0, SEEK_SET);
	}
	data = malloc((size_t)len + 1);
	if (data && len >= 0) {
		size_t n = fread(data, 1, (size_t)len, f);
		long i;

		data[n] = 0;
		while (n && data[n - 1] == '\n')
			data[--n] = 0;
		for (i = (long)n - 1; i >= 0; i--)
			if (data[i] == '\n' && ++seen == lines)
				break;
		snprintf(buf, size, "%s", data + i + 1);
	}
	free(data);
	fclose(f);
}

void mig_log_errors(const char *path, char *buf, size_t size)
{
	char line[1024];
	size_t off = 0;
	int n = 0;
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n < 6) {
		if (!strstr(line, "Error (") && !strstr(line, "Warn  ("))
			continue;
		int w = snprintf(buf + off, size - off, "%s", line);

		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
		n++;
	}
	fclose(f);
	while (off && buf[off - 1] == '\n')
		buf[--off] = 0;
	if (!off)
		mig_log_tail(path, 4, buf, size);
}

bool mig_log_has(const char *path, const char *a, const char *b)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && strstr(line, b);
	fclose(f);
	return found;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) ? -1 : 0;
	return unlink(path) ? -1 : 0;
}

int mig_rmtree(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

int mig_wait_child(pid_t pid, int timeout_ms)
{
	uint64_t deadline = ferry_now_ns() + (uint64_t)timeout_ms * 1000000;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (ferry_now_ns() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
