// SPDX-License-Identifier: GPL-2.0
/* Post-copy's serving of the final pages on the source (mig_pc_src.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mig_pc_src.h"
#include "util.h"

#define PUSH_PAGES	256	/* per PC_DATA of the push: 1 MiB */

bool pc_src_keeps(const char *name)
{
	unsigned int n;
	char tail;

	return sscanf(name, "pages-%u.im%c", &n, &tail) == 2 && tail == 'g' &&
	       strlen(name) == (size_t)snprintf(NULL, 0, "pages-%u.img", n);
}

int pc_src_add(struct pc_src *p, struct wire_conn *c, const char *name, int fd, char *err,
	       size_t errlen)
{
	struct pc_src_file *f;
	struct wire_pc_file w;
	struct stat st;
	int ret;

	if (p->n == WIRE_PC_MAX_FILES) {
		close(fd);
		return ferry_errf(err, errlen, -E2BIG, "more than %d pages images",
				  WIRE_PC_MAX_FILES);
	}
	if (fstat(fd, &st) || st.st_size % WIRE_PAGE_SIZE) {
		close(fd);
		return ferry_errf(err, errlen, -EINVAL, "%s: not whole pages", name);
	}
	f = &p->f[p->n];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->fd = fd;
	f->pages = (uint64_t)st.st_size / WIRE_PAGE_SIZE;
	f->sent = calloc(f->pages / 8 + 1, 1);
	if (!f->sent) {
		close(fd);
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	}
	p->n++;
	p->pages += f->pages;
	p->unsent += f->pages;
	memset(&w, 0, sizeof(w));
	snprintf(w.name, sizeof(w.name), "%s", name);
	w.size = (uint64_t)st.st_size;
	ret = wire_send_pc_file(c, &w);
	return ret ? ferry_errf(err, errlen, ret, "%s", c->err) : 0;
}

static bool sent(const struct pc_src_file *f, uint64_t i)
{
	return f->sent[i / 8] & (1u << (i % 8));
}

/* npages of file f from page to the destination */
static int send_run(struct pc_src *p, struct wire_conn *c, size_t fi, uint64_t page,
		    uint32_t npages, char *err, size_t errlen)
{
	struct pc_src_file *f = &p->f[fi];
	size_t len = (size_t)npages * WIRE_PAGE_SIZE, got = 0;
	int ret;

	if (!p->buf && !(p->buf = malloc((size_t)WIRE_MAX_PAGES * WIRE_PAGE_SIZE)))
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	while (got < len) {
		ssize_t n = pread(f->fd, p->buf + got, len - got,
				  (off_t)(page * WIRE_PAGE_SIZE + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ferry_errf(err, errlen, n < 0 ? -errno : -EIO, "%s: %s", f->name,
					  n < 0 ? strerror(errno) : "shorter than it was");
		got += (size_t)n;
	}
	ret = wire_send_pages_as(c, WIRE_PC_DATA, (uint32_t)fi, page * WIRE_PAGE_SIZE, npages,
				 p->buf);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s", c->err);
	for (uint64_t i = page; i < page + npages; i++) {
		if (!sent(f, i))
			p->unsent--;
		f->sent[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	return 0;
}

int pc_src_serve(struct pc_src *p, struct wire_conn *c, const struct wire_msg *m, char *err,
		 size_t errlen)
{
	struct wire_pc_req q;
	int ret = wire_parse_pc_req(c, m, &q);

	if (ret)
		return ferry_errf(err, errlen, ret, "%s", c->err);
	if (q.file >= p->n || q.page > p->f[q.file].pages ||
	    q.npages > p->f[q.file].pages - q.page)
		return ferry_errf(err, errlen, -EPROTO, "PC_REQ for pages %llu+%u of file %u, "
				  "which has no such pages", (unsigned long long)q.page, q.npages,
				  q.file);
	/* asked again (a resent request, or pages pushed meanwhile): the
	 * destination decides what it lacks, so send them */
	ret = send_run(p, c, q.file, q.page, q.npages, err, errlen);
	if (ret)
		return ret;
	p->on_request += q.npages;
	/* the push follows: on from just after what the tree touched */
	p->push_file = q.file;
	p->push_page = q.page + q.npages;
	return 0;
}

int pc_src_push(struct pc_src *p, struct wire_conn *c, char *err, size_t errlen)
{
	/* at least one page is unsent, so this finds it within one turn
	 * round the files, wrapping from the last to the first */
	while (p->unsent) {
		struct pc_src_file *f;
		uint64_t a, k = 0;
		int ret;

		if (p->push_file >= p->n) {
			p->push_file = 0;
			p->push_page = 0;
		}
		f = &p->f[p->push_file];
		a = p->push_page;
		while (a < f->pages && sent(f, a))
			a++;
		if (a >= f->pages) {
			p->push_file++;
			p->push_page = 0;
			continue;
		}
		while (k < PUSH_PAGES && a + k < f->pages && !sent(f, a + k))
			k++;
		ret = send_run(p, c, p->push_file, a, (uint32_t)k, err, errlen);
		if (ret)
			return ret;
		p->on_push += k;
		p->push_page = a + k;
		return 0;
	}
	if (!p->pushed) {
		int ret = wire_send(c, WIRE_PC_PUSHED, NULL, 0);

		if (ret)
			return ferry_errf(err, errlen, ret, "%s", c->err);
		p->pushed = true;
	}
	return 1;
}

void pc_src_free(struct pc_src *p)
{
	for (size_t i = 0; i < p->n; i++) {
		close(p->f[i].fd);
		free(p->f[i].sent);
	}
	free(p->buf);
	memset(p, 0, sizeof(*p));
}
