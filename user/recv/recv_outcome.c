// SPDX-License-Identifier: GPL-2.0
/* The receiver's records of migration outcomes (recv_outcome.h). */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "recv_outcome.h"
#include "util.h"

static void rec_path(const char *dir, const uint8_t id[WIRE_ID_LEN], const char *suffix,
		     char *buf, size_t size)
{
	char hex[2 * WIRE_ID_LEN + 1];

	wire_id_hex(id, hex);
	snprintf(buf, size, "%s/%s%s", dir, hex, suffix);
}

int recv_outcome_write(const char *dir, const uint8_t id[WIRE_ID_LEN],
		       const struct recv_outcome_rec *r)
{
	char path[4200], tmp[4300], line[512];
	int fd, dfd, n, ret = 0;

	rec_path(dir, id, "", path, sizeof(path));
	rec_path(dir, id, ".tmp", tmp, sizeof(tmp));
	/* the peer name is a certificate's, sanitized: no spaces expected,
	 * but it is the last field anyway */
	n = snprintf(line, sizeof(line), "%u %d %llu %llu %llu %llu %llu %s\n", r->state,
		     (int)r->session, (unsigned long long)r->time, (unsigned long long)r->v[0],
		     (unsigned long long)r->v[1], (unsigned long long)r->v[2],
		     (unsigned long long)r->v[3], r->peer[0] ? r->peer : "-");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n || fsync(fd))
		ret = -errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	/* the rename itself must survive a crash before the answer goes */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int recv_outcome_read(const char *dir, const uint8_t id[WIRE_ID_LEN], struct recv_outcome_rec *r)
{
	char path[4200], line[512];
	unsigned long long t, v0, v1, v2, v3;
	int session, fd;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	rec_path(dir, id, "", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	line[n] = 0;
	if (sscanf(line, "%u %d %llu %llu %llu %llu %llu %255s", &r->state, &session, &t, &v0, &v1,
		   &v2, &v3, r->peer) != 8)
		return -EINVAL;
	if (!strcmp(r->peer, "-"))
		r->peer[0] = 0;
	r->session = session;
	r->time = t;
	r->v[0] = v0;
	r->v[1] = v1;
	r->v[2] = v2;
	r->v[3] = v3;
	return 0;
}

uint32_t recv_outcome_answer(const char *dir, const uint8_t id[WIRE_ID_LEN], const char *peer,
			     uint64_t v[4])
{
	struct recv_outcome_rec r;

	memset(v, 0, 4 * sizeof(*v));
	if (recv_outcome_read(dir, id, &r))
		return WIRE_OUTCOME_UNKNOWN;
	/* only the source that started it learns about a migration */
	if (strcmp(r.peer, peer ? peer : ""))
		return WIRE_OUTCOME_UNKNOWN;
	if (r.state == RECV_OUTCOME_PENDING)
		return r.session > 0 && !kill(r.session, 0) ? WIRE_OUTCOME_IN_PROGRESS
							    : WIRE_OUTCOME_UNKNOWN;
	if (r.state == WIRE_OUTCOME_RESTORED)
		memcpy(v, r.v, sizeof(r.v));
	return r.state == WIRE_OUTCOME_RESTORED || r.state == WIRE_OUTCOME_NOT_RESTORED ||
	       r.state == WIRE_OUTCOME_LOST ? r.state : WIRE_OUTCOME_UNKNOWN;
}

int recv_outcome_init(const char *dir, uint64_t max_age)
{
	struct dirent *de;
	time_t now = time(NULL);
	int ret = ferry_mkdirs(dir, 0700);
	DIR *d;

	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat sb;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(sb.st_mode) && (uint64_t)(now - sb.st_mtime) > max_age)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return 0;
}

int recv_await_done(struct wire_conn *c, uint64_t max_skip)
{
	bool abort_seen = false;
	uint64_t skipped = 0;
	struct wire_msg m;

	for (;;) {
		int ret = wire_recv(c, &m);

		if (ret)
			return ret;
		if ((m.type == WIRE_PC_DATA || m.type == WIRE_PC_PUSHED) && skipped < max_skip) {
			skipped++;
			continue;
		}
		/* an interrupted source asks to undo; it crossed our answer,
		 * which the source still takes: its DONE follows */
		if (m.type == WIRE_ABORT && !abort_seen) {
			abort_seen = true;
			continue;
		}
		return wire_expect_failed(c, &m, WIRE_DONE);
	}
}
