// SPDX-License-Identifier: GPL-2.0
/* Could a process have told the outside world something (proc_reach.h)? */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc_reach.h"

#define MAX_UNIX_SOCKS	65536	/* inodes remembered from /proc/PID/net/unix */

/* Sinks that keep nothing: writing to them tells nobody anything. */
static int harmless_path(const char *p)
{
	return !strcmp(p, "/dev/null") || !strcmp(p, "/dev/zero") || !strcmp(p, "/dev/full") ||
	       !strncmp(p, "/memfd:", 7) || !strncmp(p, "/SYSV", 5);
}

static int cmp_ino(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* The AF_UNIX socket inodes of pid's network namespace, sorted. */
static int unix_inodes(pid_t pid, unsigned long **out, size_t *n)
{
	char path[64], line[512];
	unsigned long *v = NULL;
	size_t cap = 0;
	FILE *f;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long ino;

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &ino) != 1)
			continue;	/* the header */
		if (*n == MAX_UNIX_SOCKS)
			break;		/* the rest count as network sockets: safe */
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			unsigned long *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[(*n)++] = ino;
	}
	fclose(f);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_ino);
	*out = v;
	return 0;
}

/* The flags: line of /proc/PID/fdinfo/FD; -1 if unreadable. */
static long fd_flags(pid_t pid, int fd)
{
	char path[64], line[128];
	long flags = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %lo", &flags) == 1)
			break;
	fclose(f);
	return flags;
}

static int scan_fds(pid_t pid, const unsigned long *ux, size_t nux, char *why, size_t whylen)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && (de = readdir(d))) {
		char target[512], *end;
		unsigned long ino;
		ssize_t len;
		long flags, fd;

		fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] == '.' || *end || fd < 0 || fd > 0x7fffffff)
			continue;
		len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (len < 0)
			continue;	/* closed meanwhile */
		target[len] = 0;
		if (sscanf(target, "socket:[%lu]", &ino) == 1) {
			if (!bsearch(&ino, ux, nux, sizeof(*ux), cmp_ino)) {
				snprintf(why, whylen, "process %d has a network socket (fd %ld)",
					 (int)pid, fd);
				ret = 1;
			}
			continue;
		}
		if (target[0] != '/' || harmless_path(target))
			continue;	/* pipes, anon inodes, sinks */
		flags = fd_flags(pid, (int)fd);
		if (flags < 0 || (flags & O_ACCMODE) != O_RDONLY) {
			snprintf(why, whylen, "process %d has %s open for writing (fd %ld)", (int)pid,
				 target, fd);
			ret = 1;
		}
	}
	closedir(d);
	return ret;
}

static int scan_maps(pid_t pid, char *why, size_t whylen)
{
	char path[64], line[4352];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		char perms[8] = "";
		int off = 0;
		char *name;

		/* start-end perms offset dev inode [name] */
		if (sscanf(line, "%*s %7s %*s %*s %*s%n", perms, &off) != 1 || !off)
			continue;
		name = line + off;
		name += strspn(name, " ");
		name[strcspn(name, "\n")] = 0;
		if (perms[1] == 'w' && perms[3] == 's' && name[0] == '/' && !harmless_path(name)) {
			snprintf(why, whylen, "process %d maps %s shared and writable", (int)pid,
				 name);
			ret = 1;
		}
	}
	fclose(f);
	return ret;
}

int proc_reached_out(pid_t pid, char *why, size_t whylen)
{
	unsigned long *ux;
	size_t nux;
	int ret;

	ret = unix_inodes(pid, &ux, &nux);
	if (ret)
		return ret;
	ret = scan_fds(pid, ux, nux, why, whylen);
	free(ux);
	if (!ret)
		ret = scan_maps(pid, why, whylen);
	return ret;
}
