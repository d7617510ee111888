// SPDX-License-Identifier: GPL-2.0
/* The receiver's account of disk granted to its sessions (recv_ledger.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include "mig_guard.h"
#include "recv_ledger.h"
#include "util.h"

size_t ledger_parse(const char *text, size_t len, struct ledger_entry *v, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		char line[96];
		size_t k = 0;
		long long pid;
		unsigned long long start, bytes;
		char extra;

		while (i < len && text[i] != '\n') {
			if (k < sizeof(line) - 1)
				line[k++] = text[i];
			else
				k = sizeof(line);	/* too long: skipped below */
			i++;
		}
		i++;			/* the newline */
		if (k >= sizeof(line) - 1)
			continue;
		line[k] = '\0';
		if (sscanf(line, "%lld %llu %llu %c", &pid, &start, &bytes, &extra) != 3 ||
		    pid <= 0 || pid > INT32_MAX || !start)
			continue;
		v[n].pid = (pid_t)pid;
		v[n].start = start;
		v[n].bytes = bytes;
		n++;
	}
	return n;
}

uint64_t ledger_others(const struct ledger_entry *v, size_t n, pid_t self)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].pid == self)
			continue;
		sum = v[i].bytes > UINT64_MAX - sum ? UINT64_MAX : sum + v[i].bytes;
	}
	return sum;
}

/* Keep only the lines of sessions still running, and not our own. */
static void drop_ended(struct ledger *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct ledger_entry *e = &l->v[i];

		if (e->pid == getpid() || mig_pid_starttime(e->pid) != e->start)
			continue;
		l->v[k++] = *e;
	}
	l->n = k;
}

int ledger_open(struct ledger *l, const char *dir, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = ferry_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char *buf;
	ssize_t got;

	l->fd = -1;
	l->n = 0;
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s/%s", dir, LEDGER_NAME) >= sizeof(l->path))
		return ferry_errf(err, errlen, -ENAMETOOLONG, "directory name too long");
	ferry_mkdirs(dir, 0700);	/* the receiver made it; a test may not have */
	l->fd = open(l->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (l->fd < 0)
		return ferry_errf(err, errlen, -errno, "cannot open %s: %s", l->path, strerror(errno));
	while (flock(l->fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || ferry_now_ns() >= deadline) {
			int e = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;

			close(l->fd);
			l->fd = -1;
			return ferry_errf(err, errlen, e, "%s stayed locked for %d ms", l->path,
					  timeout_ms);
		}
		usleep(10000);
	}
	buf = malloc(LEDGER_MAX_BYTES);
	if (!buf) {
		ledger_close(l);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	got = pread(l->fd, buf, LEDGER_MAX_BYTES, 0);
	if (got > 0)
		l->n = ledger_parse(buf, (size_t)got, l->v, LEDGER_MAX_ENTRIES);
	free(buf);
	drop_ended(l);
	return 0;
}

/* Write the entries (ours included) and unlock. */
static int write_out(struct ledger *l, char *err, size_t errlen)
{
	char *buf = malloc(LEDGER_MAX_BYTES);
	size_t len = 0;
	int ret = 0;

	if (!buf) {
		ledger_close(l);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l->n && len < LEDGER_MAX_BYTES; i++) {
		int w = snprintf(buf + len, LEDGER_MAX_BYTES - len, "%d %" PRIu64 " %" PRIu64 "\n",
				 (int)l->v[i].pid, l->v[i].start, l->v[i].bytes);

		if (w < 0 || (size_t)w >= LEDGER_MAX_BYTES - len)
			break;
		len += (size_t)w;
	}
	/* the new lines over the old, then cut: a writer killed in between
	 * leaves old lines (dropped as ended, or still true), never none */
	errno = EIO;		/* a short write sets none */
	if (pwrite(l->fd, buf, len, 0) != (ssize_t)len || ftruncate(l->fd, (off_t)len))
		ret = ferry_errf(err, errlen, -errno, "cannot write %s: %s", l->path,
				 strerror(errno));
	free(buf);
	ledger_close(l);
	return ret;
}

int ledger_commit(struct ledger *l, uint64_t bytes, char *err, size_t errlen)
{
	uint64_t start = mig_pid_starttime(getpid());

	if (l->fd < 0)
		return ferry_errf(err, errlen, -EBADF, "the disk account is not open");
	if (l->n == LEDGER_MAX_ENTRIES || !start) {
		ledger_close(l);
		return ferry_errf(err, errlen, -EUSERS, "the disk account is full");
	}
	l->v[l->n].pid = getpid();
	l->v[l->n].start = start;
	l->v[l->n].bytes = bytes;
	l->n++;
	return write_out(l, err, errlen);
}

void ledger_close(struct ledger *l)
{
	if (l->fd >= 0)
		close(l->fd);	/* drops the lock */
	l->fd = -1;
}

void ledger_release(const char *dir)
{
	struct ledger *l = malloc(sizeof(*l));
	char err[256];

	if (!l)
		return;
	/* drop_ended() leaves our own line out: writing back removes it */
	if (!ledger_open(l, dir, 5000, err, sizeof(err)) && write_out(l, err, sizeof(err)))
		ferry_warn("%s", err);
	free(l);
}
