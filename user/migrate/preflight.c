// SPDX-License-Identifier: GPL-2.0
/* Migration pre-flight: files of the tree, build-ids, destination room. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statvfs.h>
#include "util.h"
#include "ctr.h"
#include "preflight.h"
#include "wire.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

void pf_list_free(struct pf_list *l)
{
	free(l->v);
	free(l->tids);
	memset(l, 0, sizeof(*l));
}

void pf_report_free(struct pf_report *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void pf_hex(const uint8_t *b, size_t n, char *out, size_t size)
{
	size_t o = 0;

	if (size)
		out[0] = 0;
	for (size_t i = 0; i < n && o + 3 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02x", b[i]);
}

int pf_elf_build_id(int fd, uint8_t *buf, size_t size)
{
	Elf_Scn *scn = NULL;
	int ret = 0;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EIO;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return 0;
	if (elf_kind(e) != ELF_K_ELF)
		goto out;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t off = 0, next, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((const char *)d->d_buf + name_off, "GNU", 4) &&
			    nh.n_descsz > 0 && nh.n_descsz <= size) {
				memcpy(buf, (const char *)d->d_buf + desc_off, nh.n_descsz);
				ret = (int)nh.n_descsz;
				goto out;
			}
			off = next;
		}
	}
out:
	elf_end(e);
	return ret;
}

/*
 * O_PATH, the last component never followed if it is a symbolic link, and
 * no /proc magic link on the way (openat2 RESOLVE_NO_MAGICLINKS: no
 * /proc/PID/root/... detour into another mount namespace). Directory
 * symlinks such as Debian's /lib -> usr/lib stay usable.
 */
static int open_path_nofollow(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : (int)fd;
}

/* Files of /proc, /sys and the like describe this host's processes and
 * devices, not a program's files: whether /proc/1234/cmdline exists would
 * tell a peer which PIDs run here. */
static bool pseudo_fs(int fd)
{
	static const unsigned long magic[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
		SECURITYFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
		BPF_FS_MAGIC, DEVPTS_SUPER_MAGIC, EFIVARFS_MAGIC,
	};
	struct statfs fs;

	if (fstatfs(fd, &fs))
		return true;
	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if ((unsigned long)fs.f_type == magic[i])
			return true;
	return false;
}

static int file_info(const char *path, struct pf_file *f, bool public_only)
{
	struct stat sb, sb2;
	char proc[64];
	int pfd, fd, n;

	memset(f, 0, sizeof(*f));
	if (strlen(path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	strcpy(f->path, path);
	pfd = open_path_nofollow(path);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &sb)) {
		n = -errno;
		close(pfd);
		return n;
	}
	/* a symlink opened O_PATH|O_NOFOLLOW is the link itself */
	if (S_ISLNK(sb.st_mode)) {
		close(pfd);
		return -ELOOP;
	}
	if (!S_ISREG(sb.st_mode) || pseudo_fs(pfd)) {
		close(pfd);
		return -EINVAL;
	}
	f->mode = sb.st_mode;
	f->size = (uint64_t)sb.st_size;
	/* what anyone here could read or run anyway; other files (keys,
	 * /etc/shadow) are never compared, so no answer tells their size */
	if (public_only && !(sb.st_mode & (S_IROTH | S_IXUSR | S_IXGRP | S_IXOTH))) {
		close(pfd);
		return -EACCES;
	}
	/* reading goes through the file checked above, not the path again */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(pfd);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb2) || sb2.st_dev != sb.st_dev || sb2.st_ino != sb.st_ino) {
		close(fd);
		return -EAGAIN;
	}
	n = pf_elf_build_id(fd, f->build_id, sizeof(f->build_id));
	close(fd);
	if (n < 0)
		return n;
	f->build_id_len = (uint8_t)n;
	return 0;
}

int pf_file_info(const char *path, struct pf_file *f)
{
	return file_info(path, f, false);
}

uint64_t pf_budget(uint64_t mem_bytes)
{
	if (mem_bytes > (UINT64_MAX - PF_BUDGET_SLACK) / 2)
		return UINT64_MAX;
	return 2 * mem_bytes + PF_BUDGET_SLACK;
}

uint64_t pf_budget_grant(uint64_t mem_bytes, uint64_t avail)
{
	uint64_t need = pf_budget(mem_bytes), cap, spare = avail - avail / 20;

	cap = mem_bytes > (UINT64_MAX - PF_BUDGET_SLACK) / 3 ? UINT64_MAX
							      : 3 * mem_bytes + PF_BUDGET_SLACK;
	if (spare < cap)
		cap = spare;
	return cap > need ? cap : need;
}

static int add_pid(pid_t **v, size_t *n, size_t *cap, pid_t p)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == p)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		pid_t *nv = realloc(*v, nc * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = p;
	return 0;
}

int pf_tree_pids(pid_t pid, pid_t **pids, size_t *n)
{
	pid_t *v = NULL;
	size_t k = 0, cap = 0;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK))
		return -ESRCH;
	ret = add_pid(&v, &k, &cap, pid);
	/* breadth first: v grows while we walk it */
	for (size_t i = 0; !ret && i < k; i++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", v[i]);
		d = opendir(path);
		if (!d)
			continue;	/* exited meanwhile */
		while (!ret && (de = readdir(d))) {
			char cpath[300], buf[4096], *s, *end;
			int fd;
			ssize_t r;

			if (de->d_name[0] == '.')
				continue;
			snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", v[i], de->d_name);
			fd = open(cpath, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			r = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (r <= 0)
				continue;
			buf[r] = 0;
			for (s = buf; !ret; s = end) {
				long c = strtol(s, &end, 10);

				if (end == s)
					break;
				if (c > 0)
					ret = add_pid(&v, &k, &cap, (pid_t)c);
			}
		}
		closedir(d);
	}
	if (ret) {
		free(v);
		return ret;
	}
	*pids = v;
	*n = k;
	return 0;
}

bool pf_maps_path(const char *line, char *path, size_t size)
{
	int field = 0;
	const char *p = line;
	size_t len;

	path[0] = 0;
	/* skip 5 whitespace-separated fields: range perms offset dev inode */
	while (*p && field < 5) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		field++;
	}
	if (field < 5)
		return false;
	len = strcspn(p, "\n");
	if (len >= size)
		return false;
	memcpy(path, p, len);
	path[len] = 0;
	return true;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct pf_file *)a)->path, ((const struct pf_file *)b)->path);
}

static int list_add(struct pf_list *l, const char *path, uint32_t kind)
{
	struct pf_file f;
	int ret;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, path)) {
			l->v[i].kind |= kind;
			return 0;
		}
	ret = pf_file_info(path, &f);
	if (ret)
		return 0;	/* not a regular file (or gone): nothing to check */
	f.kind = kind;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 32;
		struct pf_file *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = f;
	return 0;
}

uint64_t pf_rss(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}


/* The thread IDs of pid (the main thread's is pid itself). */
static int add_tids(struct pf_list *l, pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;	/* exited meanwhile */
	while (!ret && (de = readdir(d))) {
		uint32_t *nv;
		char *end;
		unsigned long t = strtoul(de->d_name, &end, 10);

		if (*end || !t)
			continue;
		nv = realloc(l->tids, (l->ntids + 1) * sizeof(*nv));
		if (!nv) {
			ret = -ENOMEM;
			break;
		}
		l->tids = nv;
		l->tids[l->ntids++] = (uint32_t)t;
	}
	closedir(d);
	return ret;
}

int preflight_collect(pid_t pid, struct pf_list *out, char *err, size_t errlen)
{
	pid_t *pids = NULL;
	size_t npids = 0;
	char *line = NULL, *path = NULL;
	size_t cap = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pf_tree_pids(pid, &pids, &npids);
	if (ret)
		return ferry_errf(err, errlen, ret, "process %d: %s", pid, strerror(-ret));
	path = malloc(PATH_MAX + 64);
	if (!path) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !ret && i < npids; i++) {
		char proc[64];
		ssize_t n;
		FILE *f;

		snprintf(proc, sizeof(proc), "/proc/%d/exe", pids[i]);
		n = readlink(proc, path, PATH_MAX);
		if (n > 0) {
			path[n] = 0;
			ret = list_add(out, path, PF_KIND_EXE);
		} else if (errno == EACCES || errno == EPERM) {
			ret = ferry_errf(err, errlen, -errno, "%s: %s", proc, strerror(errno));
		}
		snprintf(proc, sizeof(proc), "/proc/%d/maps", pids[i]);
		f = fopen(proc, "re");
		if (!f) {
			if (errno == EACCES || errno == EPERM)
				ret = ferry_errf(err, errlen, -errno, "%s: %s", proc, strerror(errno));
			continue;	/* exited meanwhile */
		}
		while (!ret && getline(&line, &cap, f) > 0) {
			if (!pf_maps_path(line, path, PATH_MAX + 64) || path[0] != '/')
				continue;
			ret = list_add(out, path, PF_KIND_MAP);
		}
		fclose(f);
		out->mem_bytes += pf_rss(pids[i]);
		if (!ret)
			ret = add_tids(out, pids[i]);
	}
	if (ret == -ENOMEM)
		ferry_errf(err, errlen, ret, "out of memory");
	if (!ret && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_path);
out:
	free(line);
	free(path);
	free(pids);
	if (ret)
		pf_list_free(out);
	return ret;
}

int preflight_collect_ctr(pid_t pid, struct pf_list *out, char *err, size_t errlen)
{
	pid_t *pids = NULL;
	size_t npids = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pf_tree_pids(pid, &pids, &npids);
	if (ret)
		return ferry_errf(err, errlen, ret, "process %d: %s", pid, strerror(-ret));
	out->tids = calloc(npids ? npids : 1, sizeof(*out->tids));
	if (!out->tids) {
		free(pids);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < npids; i++) {
		pid_t v = ctr_ns_pid(pids[i]);

		if (v == -ENOENT || v == -ESRCH)
			continue;	/* exited meanwhile */
		if (v < 0) {
			ret = ferry_errf(err, errlen, v, "the namespace PID of %d: %s", pids[i],
					 strerror(-v));
			break;
		}
		out->tids[out->ntids++] = (uint32_t)v;
		out->mem_bytes += pf_rss(pids[i]);
	}
	free(pids);
	if (ret)
		pf_list_free(out);
	return ret;
}

static int report_add(struct pf_report *r, uint32_t kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int report_add(struct pf_report *r, uint32_t kind, const char *path, const char *fmt, ...)
{
	struct pf_problem *p;
	va_list ap;

	if (r->n >= PF_MAX_PROBLEMS) {
		r->more++;
		return 0;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 8;
		struct pf_problem *nv = realloc(r->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = nc;
	}
	p = &r->v[r->n++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	snprintf(p->path, sizeof(p->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return 0;
}

static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kb;
	FILE *f = fopen("/proc/meminfo", "re");
	uint64_t v = UINT64_MAX;

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			v = (uint64_t)kb * 1024;
			break;
		}
	fclose(f);
	return v;
}

/*
 * The answer says which of the source's files and IDs do not fit, never
 * what is here instead: no sizes, build-ids, process names, and only the
 * source's own PIDs.
 */
int preflight_check(const struct pf_list *src, const char *store_dir, bool criu_ok,
		    uint64_t reserved, struct pf_report *rep)
{
	int ret = 0;

	memset(rep, 0, sizeof(*rep));
	rep->budget = pf_budget(src->mem_bytes);
	for (size_t i = 0; !ret && i < src->n; i++) {
		const struct pf_file *s = &src->v[i];
		struct pf_file d;
		int r = file_info(s->path, &d, true);

		rep->files_checked++;
		if (r == -ENOENT || r == -ENOTDIR)
			ret = report_add(rep, PF_MISSING, s->path, "missing here");
		else if (r == -EINVAL || r == -ELOOP || r == -EXDEV)
			ret = report_add(rep, PF_NOT_REGULAR, s->path,
					 "not a regular file here, or reached through a symbolic link");
		else if (r == -EACCES)
			ret = report_add(rep, PF_UNREADABLE, s->path,
					 "not compared: neither world-readable nor executable here");
		else if (r)
			ret = report_add(rep, PF_UNREADABLE, s->path, "cannot be read here");
		else if (d.size != s->size || d.build_id_len != s->build_id_len ||
			 memcmp(d.build_id, s->build_id, d.build_id_len))
			ret = report_add(rep, PF_SIZE, s->path,
					 "differs here (size or ELF build-id)");
	}
	if (!ret && src->mem_bytes) {
		uint64_t avail = mem_available();

		if (avail < src->mem_bytes)
			ret = report_add(rep, PF_NO_MEMORY, NULL,
					 "not enough memory here for the tree's %llu MiB",
					 (unsigned long long)(src->mem_bytes >> 20));
	}
	if (!ret && store_dir) {
		struct statvfs vfs;
		uint64_t free_bytes;

		if (statvfs(store_dir, &vfs)) {
			ret = report_add(rep, PF_NO_DISK, NULL, "the image directory is not usable");
		} else {
			free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
			/* reserved: granted to this receiver's other sessions (recv_ledger.h) */
			if (free_bytes < rep->budget || free_bytes - rep->budget < reserved)
				ret = report_add(rep, PF_NO_DISK, NULL,
						 "not enough disk here for %llu MiB of pages and images "
						 "(%llu MiB free, %llu MiB of it granted to migrations in "
						 "progress)", (unsigned long long)(rep->budget >> 20),
						 (unsigned long long)(free_bytes >> 20),
						 (unsigned long long)(reserved >> 20));
			else
				rep->budget = pf_budget_grant(src->mem_bytes, free_bytes - reserved);
		}
	}
	if (!ret && !criu_ok)
		ret = report_add(rep, PF_NO_CRIU, NULL, "criu is not usable on the destination");
	for (size_t i = 0; !ret && !src->own_pid_ns && i < src->ntids; i++) {
		pid_t t = (pid_t)src->tids[i];

		if (t <= 0 || (kill(t, 0) && errno == ESRCH))
			continue;
		ret = report_add(rep, PF_PID_TAKEN, NULL,
				 "PID %d of the tree is in use here (CRIU restores PIDs unchanged)",
				 (int)t);
	}
	return ret;
}

static const char *const kind_names[] = {
	[PF_MISSING]	= "missing",
	[PF_NOT_REGULAR] = "not a regular file",
	[PF_SIZE]	= "differs",
	[PF_BUILD_ID]	= "different build-id",
	[PF_UNREADABLE]	= "unreadable",
	[PF_NO_MEMORY]	= "not enough memory",
	[PF_NO_DISK]	= "not enough disk",
	[PF_NO_CRIU]	= "no CRIU",
	[PF_PID_TAKEN]	= "PID taken",
};

void pf_problem_str(const struct pf_problem *p, char *buf, size_t size)
{
	const char *k = p->kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[p->kind]
			? kind_names[p->kind] : "problem";

	if (p->path[0])
		snprintf(buf, size, "%s: %s (%s)", k, p->path, p->detail);
	else
		snprintf(buf, size, "%s: %s", k, p->detail);
	ferry_sanitize(buf, false);	/* the path is the source's */
}

/* ---- wire encoding -------------------------------------------------------- */
int preflight_send(struct wire_conn *c, const struct pf_list *l)
{
	struct wire_buf b;
	int ret;

	wb_init(&b);
	wb_u64(&b, l->mem_bytes);
	wb_u32(&b, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++) {
		wb_str(&b, l->v[i].path);
		wb_u64(&b, l->v[i].size);
		wb_u32(&b, l->v[i].kind);
		wb_u8(&b, l->v[i].build_id_len);
		wb_bytes(&b, l->v[i].build_id, l->v[i].build_id_len);
	}
	wb_u32(&b, (uint32_t)l->ntids);
	for (size_t i = 0; i < l->ntids; i++)
		wb_u32(&b, l->tids[i]);
	if (b.oom || b.len > WIRE_MAX_PAYLOAD) {
		wb_free(&b);
		return -ENOMEM;
	}
	ret = wire_send(c, WIRE_PREFLIGHT, b.p, (uint32_t)b.len);
	wb_free(&b);
	return ret;
}

static int bad_frame(struct wire_conn *c, const struct wire_msg *m)
{
	snprintf(c->err, sizeof(c->err), "malformed %s frame", wire_type_name(m->type));
	return -EPROTO;
}

/* Grow an array by doubling, never past max entries. */
static int grow(void **v, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -E2BIG;
	nc = *cap ? *cap * 2 : 16;
	if (nc > max)
		nc = max;
	nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

int preflight_parse(struct wire_conn *c, const struct wire_msg *m, struct pf_list *l)
{
	struct wire_rd r;
	uint32_t n;
	size_t tcap = 0;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	if (m->type != WIRE_PREFLIGHT)
		return bad_frame(c, m);
	rd_init(&r, m->payload, m->len);
	l->mem_bytes = rd_u64(&r);
	n = rd_u32(&r);
	/* a count is a claim: memory follows the entries actually parsed */
	if (r.bad || n > PF_MAX_FILES) {
		snprintf(c->err, sizeof(c->err), "PREFLIGHT with %u files (at most %u)", n,
			 PF_MAX_FILES);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < n && !r.bad && !ret; i++) {
		struct pf_file *f;
		const uint8_t *id;

		ret = grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v), PF_MAX_FILES);
		if (ret)
			break;
		f = &l->v[l->n];
		memset(f, 0, sizeof(*f));
		rd_str(&r, f->path, sizeof(f->path));
		f->size = rd_u64(&r);
		f->kind = rd_u32(&r);
		f->build_id_len = rd_u8(&r);
		if (f->build_id_len > PF_BUILD_ID_MAX || (!r.bad && f->path[0] != '/')) {
			r.bad = true;
			break;
		}
		id = rd_bytes(&r, f->build_id_len);
		if (id)
			memcpy(f->build_id, id, f->build_id_len);
		l->n++;
	}
	n = rd_u32(&r);
	if (!r.bad && !ret && n > PF_MAX_TIDS) {
		pf_list_free(l);
		snprintf(c->err, sizeof(c->err), "PREFLIGHT with %u PIDs (at most %u)", n,
			 PF_MAX_TIDS);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < n && !r.bad && !ret; i++) {
		uint32_t t = rd_u32(&r);

		if (r.bad)
			break;
		ret = grow((void **)&l->tids, &tcap, l->ntids, sizeof(*l->tids), PF_MAX_TIDS);
		if (!ret)
			l->tids[l->ntids++] = t;
	}
	if (ret == -ENOMEM) {
		pf_list_free(l);
		snprintf(c->err, sizeof(c->err), "out of memory");
		return ret;
	}
	if (ret || !rd_done(&r)) {
		pf_list_free(l);
		return bad_frame(c, m);
	}
	return 0;
}

int preflight_send_report(struct wire_conn *c, const struct pf_report *rep)
{
	struct wire_buf b;
	int ret;

	wb_init(&b);
	wb_u64(&b, rep->files_checked);
	wb_u64(&b, rep->budget);
	wb_u32(&b, rep->more);
	wb_u32(&b, (uint32_t)rep->n);
	for (size_t i = 0; i < rep->n; i++) {
		wb_u32(&b, rep->v[i].kind);
		wb_str(&b, rep->v[i].path);
		wb_str(&b, rep->v[i].detail);
	}
	if (b.oom || b.len > WIRE_MAX_PAYLOAD) {
		wb_free(&b);
		return -ENOMEM;
	}
	ret = wire_send(c, WIRE_PREFLIGHT_ANS, b.p, (uint32_t)b.len);
	wb_free(&b);
	return ret;
}

int preflight_parse_report(struct wire_conn *c, const struct wire_msg *m, struct pf_report *rep)
{
	struct wire_rd r;
	uint32_t n;
	int ret = 0;

	memset(rep, 0, sizeof(*rep));
	if (m->type != WIRE_PREFLIGHT_ANS)
		return bad_frame(c, m);
	rd_init(&r, m->payload, m->len);
	rep->files_checked = rd_u64(&r);
	rep->budget = rd_u64(&r);
	rep->more = rd_u32(&r);
	n = rd_u32(&r);
	/* the destination is no more trusted than the source: the same cap,
	 * memory for what arrives */
	if (r.bad || n > PF_MAX_PROBLEMS) {
		snprintf(c->err, sizeof(c->err), "PREFLIGHT_ANS with %u problems (at most %u)", n,
			 PF_MAX_PROBLEMS);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < n && !r.bad && !ret; i++) {
		struct pf_problem *p;

		ret = grow((void **)&rep->v, &rep->cap, rep->n, sizeof(*rep->v), PF_MAX_PROBLEMS);
		if (ret)
			break;
		p = &rep->v[rep->n];
		memset(p, 0, sizeof(*p));
		p->kind = rd_u32(&r);
		rd_str(&r, p->path, sizeof(p->path));
		rd_str(&r, p->detail, sizeof(p->detail));
		ferry_sanitize(p->path, false);
		ferry_sanitize(p->detail, false);
		rep->n++;
	}
	if (ret || !rd_done(&r)) {
		pf_report_free(rep);
		if (ret == -ENOMEM) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return ret;
		}
		return bad_frame(c, m);
	}
	return 0;
}
