// SPDX-License-Identifier: GPL-2.0
/*
 * Destination: undo a container restore whose receiver died.
 *
 * `podman container restore` runs as the receiver's child and dies with it,
 * but what it started does not: conmon is a daemon, and runc with its CRIU
 * under conmon go on and may bring the container up after Podman is gone.
 * Until the source has been told "it runs here", the source resumes its
 * own copy when the receiver fails, so the restore guard (mig_guard.h) must
 * leave nothing of the container running here. Podman itself cannot be
 * relied on for that: the process that knew the container's state was
 * just killed, possibly with Podman's lock held. The kernel can: every
 * process Podman's restore made is in a cgroup named after the container's
 * ID (the container's own, and conmon's), and cgroup.kill ends a whole
 * subtree at once, even tasks that fork meanwhile. The container's ID was
 * checked free here before the migration began, so those cgroups are the
 * restore's alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mount.h>
#include "ctr.h"
#include "ctr_runc.h"
#include "mig_guard.h"
#include "util.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_DEPTH	5	/* libpod_parent/libpod-ID, machine.slice/libpod-ID.scope/... */
#define UNDO_MS		30000	/* sweeps stop here even if something resists */

struct undo_walk {
	const char *id;
	const char *dir;	/* runc: its one cgroup, exactly (else: by ID) */
	int populated;	/* matching cgroups with tasks left */
};

static int write_str(const char *dir, const char *file, const char *v)
{
	char path[4300];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool populated(const char *dir)
{
	char path[4300], ev[1024];

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	return ferry_read_file(path, ev, sizeof(ev)) >= 0 && !strstr(ev, "populated 0");
}

/*
 * Before the kill: a dying TCP socket sends FIN or RST, and the container's
 * address is the one its clients reach on the source. So freeze it, then
 * take its veth's host end down (ctr_netlock.c) through any of its tasks.
 */
static void freeze_and_lock(const char *dir)
{
	char path[4300], buf[256];
	struct ctr_info ci;
	uint64_t v;

	write_str(dir, "cgroup.freeze", "1");
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (ferry_read_file(path, buf, sizeof(buf)) <= 0)
		return;
	buf[strcspn(buf, "\n")] = 0;
	if (!ferry_parse_u64(buf, 1, INT32_MAX, &v))
		return;
	memset(&ci, 0, sizeof(ci));
	ci.pid = (pid_t)v;
	if (!ctr_net_find(&ci, NULL, 0))
		ctr_net_lock(&ci, true, NULL, 0);
}

/* One of the container's cgroups: frozen and locked, killed, removed. */
static void kill_cgroup(struct undo_walk *w, const char *dir)
{
	if (populated(dir))
		freeze_and_lock(dir);	/* may have appeared since the last sweep */
	write_str(dir, "cgroup.kill", "1");
	if (populated(dir))
		w->populated++;
	rmdir(dir);	/* fails while populated: the next sweep */
}

static void walk(struct undo_walk *w, const char *dir, int depth)
{
	char sub[4096];
	struct dirent *de;
	DIR *d;

	if (depth > CGROUP_DEPTH || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		if (!strstr(de->d_name, w->id)) {
			walk(w, sub, depth + 1);
			continue;
		}
		/* the whole subtree goes: no need to look below */
		kill_cgroup(w, sub);
	}
	closedir(d);
}

/* Does the command line cmd (n bytes, NUL-separated, NUL-terminated) name
 * container id? Anywhere in it (Podman's 64-digit IDs: conmon, runc), or,
 * exact, as an argument of a runc (a runc ID may be short). */
static bool cmdline_names(const char *cmd, int n, const char *id, bool exact)
{
	const char *a, *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
	bool named = false;

	if (!exact)
		return memmem(cmd, (size_t)n, id, strlen(id)) != NULL;
	for (a = cmd + strlen(cmd) + 1; !strcmp(base, "runc") && a < cmd + n; a += strlen(a) + 1)
		named |= !strcmp(a, id);
	return named;
}

/* Processes naming the container on their command line that started after
 * since, should one live outside its cgroups: SIGKILL. */
static int kill_by_cmdline(const char *id, bool exact, uint64_t since)
{
	char path[64], cmd[8192];
	struct dirent *de;
	int killed = 0, n;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		uint64_t pid, st;

		if (!ferry_parse_u64(de->d_name, 2, INT32_MAX, &pid) || (pid_t)pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		n = ferry_read_file(path, cmd, sizeof(cmd) - 1);
		if (n <= 0)
			continue;
		cmd[n] = 0;
		if (!cmdline_names(cmd, n, id, exact))
			continue;
		st = mig_pid_starttime((pid_t)pid);
		if (st && st >= since && !kill((pid_t)pid, SIGKILL))
			killed++;
	}
	closedir(d);
	return killed;
}

/* runc or CRIU may be between steps: sweep until three quiet rounds. */
static int sweep(struct undo_walk *w, uint64_t since)
{
	uint64_t deadline = ferry_now_ns() + (uint64_t)UNDO_MS * 1000000;
	int quiet = 0;

	while (ferry_now_ns() < deadline) {
		int killed;

		w->populated = 0;
		if (w->dir)
			kill_cgroup(w, w->dir);
		else
			walk(w, CGROUP_ROOT, 0);
		killed = kill_by_cmdline(w->id, w->dir != NULL, since);
		if (!w->populated && !killed) {
			if (++quiet >= 3)
				return 0;
		} else {
			quiet = 0;
		}
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* A mountinfo path field, its \ooo escapes (space, tab, newline,
 * backslash) undone, in place. */
static void unescape(char *p)
{
	char *o = p;

	for (; *p; p++, o++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o = *p;
		}
	}
	*o = 0;
}

/* Is path .../ID/criu-root, or beneath one? */
static bool under_criu_root(const char *path, const char *id)
{
	char tail[300];
	const char *at;

	if (snprintf(tail, sizeof(tail), "/%s/criu-root", id) >= (int)sizeof(tail))
		return false;
	for (at = strstr(path, tail); at; at = strstr(at + 1, tail))
		if (at[strlen(tail)] == 0 || at[strlen(tail)] == '/')
			return true;
	return false;
}

int ctr_unmount_criu_root(const char *id)
{
	char line[8192], *mp[64];
	size_t n = 0;
	int left = 0;
	FILE *f;

	if (!id[0] || strchr(id, '/'))
		return -EINVAL;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (n < 64 && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape(tok);
		if (under_criu_root(tok, id) && (mp[n] = strdup(tok)))
			n++;
	}
	fclose(f);
	/* deepest first: a later line can only be mounted on an earlier one
	 * or beside it */
	while (n--) {
		if (umount2(mp[n], MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
			fprintf(stderr, "ferry: %s: unmount: %s\n", mp[n], strerror(errno));
			left++;
		}
		free(mp[n]);
	}
	return left ? -EBUSY : 0;
}

int ctr_undo_restore(const char *id, uint64_t since)
{
	struct undo_walk w = { .id = id };
	int ret;

	if (strlen(id) < 12)
		return -EINVAL;	/* never a prefix that could name another */
	ret = sweep(&w, since);
	ctr_unmount_criu_root(id);
	return ret;
}

int ctr_undo_runc(const char *cgroup_dir, const char *id, uint64_t since)
{
	struct undo_walk w = { .id = id, .dir = cgroup_dir };
	int ret;

	ret = sweep(&w, since);
	ctr_unmount_criu_root(id);
	return ret;
}
