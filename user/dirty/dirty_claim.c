// SPDX-License-Identifier: GPL-2.0
/* Exclusive use of a process's soft-dirty bits by ferry (dirty_track.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "dirty_track.h"
#include "mig_guard.h"
#include "util.h"

#define CLAIM_DIR "/run/ferry"

/* Who holds it, as the holder wrote it ("PID COMMAND"). */
static void holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	for (char *p = buf; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

int dirty_claim(pid_t pid, const char *what, int wait_ms, struct dirty_claim *c, char *err,
		size_t errlen)
{
	uint64_t st = mig_pid_starttime(pid), until = ferry_now_ns() + (uint64_t)wait_ms * 1000000;

	c->fd = -1;
	if (!st)
		return ferry_errf(err, errlen, -ESRCH, "process %d: no such process", pid);
	if (mkdir(CLAIM_DIR, 0700) && errno != EEXIST)
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", CLAIM_DIR, strerror(errno));
	/* the start time: a PID taken again by another process is another claim */
	snprintf(c->path, sizeof(c->path), CLAIM_DIR "/dirty-%d-%llu", pid,
		 (unsigned long long)st);
	for (int tries = 0; tries < 10;) {
		struct stat a, b;
		char who[128], line[128];
		int fd = open(c->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return ferry_errf(err, errlen, -errno, "%s: %s", c->path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int e = errno;

			holder(fd, who, sizeof(who));
			close(fd);
			if (e != EWOULDBLOCK)
				return ferry_errf(err, errlen, -e, "%s: %s", c->path, strerror(e));
			/* a short user (`ferry dirty --clear`) lets go soon */
			if (ferry_now_ns() < until && !ferry_interrupted) {
				usleep(50000);
				continue;
			}
			return ferry_errf(err, errlen, -EBUSY,
					  "process %d is being tracked by another ferry (%s): two "
					  "trackers would each re-arm pages the other has not copied",
					  pid, who[0] ? who : "unknown");
		}
		/* the holder before us may have removed the file as it let go:
		 * a lock on an unlinked file excludes nobody */
		if (fstat(fd, &a) || stat(c->path, &b) || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			close(fd);
			tries++;
			continue;
		}
		snprintf(line, sizeof(line), "pid %d: ferry %s\n", (int)getpid(), what);
		if (ftruncate(fd, 0) || pwrite(fd, line, strlen(line), 0) < 0)
			ferry_warn("%s: %s", c->path, strerror(errno));
		c->fd = fd;
		return 0;
	}
	return ferry_errf(err, errlen, -EAGAIN, "%s: could not be locked", c->path);
}

void dirty_release(struct dirty_claim *c)
{
	if (c->fd < 0)
		return;
	unlink(c->path);	/* still holding it: nobody else has it now */
	close(c->fd);
	c->fd = -1;
}
