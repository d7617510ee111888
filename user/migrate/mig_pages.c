// SPDX-License-Identifier: GPL-2.0
/* Pre-copy on the source: which pages to copy, reading and sending them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include "imgchain.h"
#include "mig.h"
#include "pagestore.h"
#include "util.h"
#include "wire.h"

#define PG 4096ull
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_FILE		(1ULL << 61)

int mig_exts_add(struct mig_exts *x, uint64_t start, uint64_t pages)
{
	if (!pages)
		return 0;
	if (x->n && x->v[x->n - 1].start + x->v[x->n - 1].pages * PG == start) {
		x->v[x->n - 1].pages += pages;
		return 0;
	}
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 64;
		struct mig_ext *nv = realloc(x->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		x->v = nv;
		x->cap = nc;
	}
	x->v[x->n].start = start;
	x->v[x->n].pages = pages;
	x->n++;
	return 0;
}

void mig_exts_free(struct mig_exts *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

uint64_t mig_exts_pages(const struct mig_exts *x)
{
	uint64_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		n += x->v[i].pages;
	return n;
}

bool mig_maps_line_copyable(const char *line, struct mig_vma *v)
{
	unsigned long long start, end;
	char perms[8];
	int name_off = 0;
	const char *name;

	if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &name_off) < 3 ||
	    !name_off || start >= end)
		return false;
	name = line + name_off;
	if (perms[0] != 'r' || perms[3] != 'p')
		return false;	/* unreadable (CRIU dumps it whole) or shared */
	/* [vdso] is dumped by CRIU like any private page, so it must be in
	 * the parent; [vvar] is not (and cannot be read); [vsyscall] lies
	 * outside the process's own mappings */
	if (!strncmp(name, "[vvar", 5) || !strncmp(name, "[vsyscall]", 10))
		return false;
	v->start = start;
	v->end = end;
	v->file = name[0] == '/';
	v->vdso = !strncmp(name, "[vdso]", 6);
	return true;
}

/* Does the smaps "VmFlags:" line hold one of the two-letter mnemonics? */
static bool vmflags_has(const char *line, const char *const *names, size_t n)
{
	const char *p;

	if (strncmp(line, "VmFlags:", 8))
		return false;
	/* two-letter mnemonics separated by spaces */
	for (p = line + 8; *p; p++) {
		if (p[-1] != ' ' || !(p[2] == ' ' || p[2] == '\n' || p[2] == '\0'))
			continue;
		for (size_t i = 0; i < n; i++)
			if (!strncmp(p, names[i], 2))
				return true;
	}
	return false;
}

bool mig_vmflags_untracked(const char *line)
{
	static const char *const names[] = { "ht", "pf" };

	return vmflags_has(line, names, 2);
}

bool mig_vmflags_hugetlb(const char *line)
{
	static const char *const names[] = { "ht" };

	return vmflags_has(line, names, 1);
}

int mig_find_hugetlb(pid_t pid, struct mig_vma *v)
{
	char path[64], *line = NULL;
	size_t lcap = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!found && getline(&line, &lcap, f) > 0) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx ", &s, &e) == 2) {
			v->start = s;
			v->end = e;
		} else if (mig_vmflags_hugetlb(line)) {
			found = 1;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* From /proc/PID/maps, or /proc/PID/smaps dropping untracked VMAs. */
static int read_vmas(pid_t pid, bool smaps, struct mig_vma **out, size_t *nout)
{
	struct mig_vma *v = NULL, one;
	size_t n = 0, cap = 0, lcap = 0;
	char path[64], *line = NULL;
	bool last_added = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, smaps ? "smaps" : "maps");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &lcap, f) > 0) {
		if (smaps && !strncmp(line, "VmFlags:", 8)) {
			if (last_added && mig_vmflags_untracked(line))
				n--;
			last_added = false;
			continue;
		}
		if (smaps && !(line[0] >= '0' && line[0] <= '9') && !(line[0] >= 'a' && line[0] <= 'f'))
			continue;	/* smaps' "Size:", "Rss:" ... lines */
		last_added = false;
		if (!mig_maps_line_copyable(line, &one))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct mig_vma *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(v);
				free(line);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = one;
		last_added = true;
	}
	free(line);
	fclose(f);
	*out = v;
	*nout = n;
	return 0;
}

int mig_copy_vmas(pid_t pid, struct mig_vma **out, size_t *nout)
{
	return read_vmas(pid, false, out, nout);
}

int mig_copy_vmas_tracked(pid_t pid, struct mig_vma **out, size_t *nout)
{
	return read_vmas(pid, true, out, nout);
}

#define PM_CHUNK 4096

int mig_present_pages(pid_t pid, struct mig_exts *out)
{
	struct mig_vma *v = NULL;
	uint64_t *ent = NULL;
	size_t nv = 0;
	char path[64];
	int fd, ret;

	ret = mig_copy_vmas_tracked(pid, &v, &nv);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		goto out;
	}
	ent = malloc(PM_CHUNK * sizeof(*ent));
	if (!ent) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !ret && i < nv; i++) {
		if (v[i].vdso) {
			ret = mig_exts_add(out, v[i].start, (v[i].end - v[i].start) / PG);
			continue;
		}
		for (uint64_t a = v[i].start; !ret && a < v[i].end;) {
			uint64_t want = (v[i].end - a) / PG;
			ssize_t r;

			if (want > PM_CHUNK)
				want = PM_CHUNK;
			r = pread(fd, ent, want * 8, (off_t)(a / PG * 8));
			if (r < 0) {
				ret = -errno;
				break;
			}
			if (r == 0)
				break;
			/* like CRIU: a file mapping's pages that are still the
			 * file's (PM_FILE) are not dumped; [vdso] pages are
			 * PM_FILE too but are dumped */
			for (size_t k = 0; k < (size_t)r / 8 && !ret; k++)
				if ((ent[k] & (PM_PRESENT | PM_SWAP)) &&
				    !(v[i].file && (ent[k] & PM_FILE)))
					ret = mig_exts_add(out, a + k * PG, 1);
			a += (uint64_t)r / 8 * PG;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(ent);
	free(v);
	return ret;
}

int mig_exts_clip(const struct mig_exts *x, const struct mig_vma *v, size_t nv,
		  struct mig_exts *out)
{
	size_t j = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < x->n; i++) {
		uint64_t s = x->v[i].start, e = s + x->v[i].pages * PG;

		while (j < nv && v[j].end <= s)
			j++;
		for (size_t k = j; !ret && k < nv && v[k].start < e; k++) {
			uint64_t a = s > v[k].start ? s : v[k].start;
			uint64_t b = e < v[k].end ? e : v[k].end;

			if (a < b)
				ret = mig_exts_add(out, a, (b - a) / PG);
		}
	}
	return ret;
}

int mig_send_pages(struct wire_conn *c, struct imgchain *store, pid_t pid, pid_t img_pid,
		   const struct mig_exts *x, struct pagestore *sent, struct mig_copy_stats *st)
{
	struct iovec *riov = calloc(WIRE_MAX_PAGES, sizeof(*riov));
	uint8_t *buf = malloc(WIRE_MAX_PAGES * PG);
	int ret = 0;

	if (!buf || !riov) {
		free(buf);
		free(riov);
		return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < x->n; i++) {
		uint64_t a = x->v[i].start, left = x->v[i].pages;

		while (!ret && left) {
			uint32_t n = left > WIRE_MAX_PAGES ? WIRE_MAX_PAGES : (uint32_t)left;
			struct iovec liov = { buf, (size_t)n * PG };
			ssize_t r;
			uint32_t got;

			if (ferry_interrupted) {	/* Ctrl-C in a long round */
				ret = -EINTR;
				break;
			}

			for (uint32_t k = 0; k < n; k++) {
				riov[k].iov_base = (void *)(uintptr_t)(a + k * PG);
				riov[k].iov_len = PG;
			}
			r = process_vm_readv(pid, &liov, 1, riov, n, 0);
			if (r < 0 && errno != EFAULT && errno != ENOMEM) {
				ret = -errno;
				break;
			}
			got = r > 0 ? (uint32_t)((uint64_t)r / PG) : 0;
			if (got && store) {
				ret = imgchain_put(store, (uint32_t)img_pid, a, got, buf);
				if (!ret)
					ret = pagestore_put(sent, (uint32_t)img_pid, a, got, buf);
				st->pages += got;
				st->raw_bytes += (uint64_t)got * PG;
			} else if (got) {
				uint64_t before = c->bytes_sent;

				ret = wire_send_pages(c, (uint32_t)img_pid, a, got, buf);
				if (!ret)
					ret = pagestore_put(sent, (uint32_t)img_pid, a, got, buf);
				st->pages += got;
				st->raw_bytes += (uint64_t)got * PG;
				st->wire_bytes += c->bytes_sent - before;
			}
			if (got < n) {
				/* the page at a + got is gone (unmapped since the
				 * scan): skip it, CRIU will not want it either */
				st->unreadable++;
				got++;
			}
			a += (uint64_t)got * PG;
			left -= got;
		}
	}
	free(buf);
	free(riov);
	return ret;
}
