// SPDX-License-Identifier: GPL-2.0
/* The source's frozen tree: resume, kill, and the settle record (mig_frozen.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mig_frozen.h"
#include "mig_guard.h"
#include "proc_tcp.h"
#include "util.h"

void mig_frozen_resume(struct mig_frozen *f)
{
	char err[512];
	int ret;

	if (f->addr_removed) {
		/* the destination removed it when its restore failed */
		if (mig_addr_add(&f->addr, err, sizeof(err)))
			ferry_err("%s", err);
		else
			mig_addr_announce(&f->addr);
		f->addr_removed = false;
	}
	if (f->tcp) {
		ret = mig_tcp_unlock_source(f->root, f->pids, f->npids, f->conns, f->nconns, err,
					    sizeof(err));
		if (ret < 0)
			ferry_err("unlocking the TCP connections: %s", err);
		else
			ferry_say("%d TCP connection%s unlocked", ret, ret == 1 ? "" : "s");
	}
	for (size_t i = 0; i < f->npids; i++)
		kill(f->pids[i], SIGCONT);
	ferry_say("the tree runs here again");
}

static bool gone_or_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *fp;
	bool z = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "re");
	if (!fp)
		return true;
	if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) && p[1] == ' ')
		z = p[2] == 'Z' || p[2] == 'X';
	fclose(fp);
	return z;
}

bool mig_frozen_conn_is(const struct mig_tcp_conn *c, const struct proc_tcp_sock *s)
{
	size_t n = c->family == AF_INET6 ? 16 : 4;

	/* TIME_WAIT takes no data; a listener is no connection */
	if (s->state == 0x06 || s->state == 0x0A)
		return false;
	return s->family == c->family && s->lport == c->sport && s->rport == c->dport &&
	       !memcmp(s->laddr, c->src, n) && !memcmp(s->raddr, c->dst, n);
}

static int conn_here(const struct proc_tcp_sock *s, void *arg)
{
	const struct mig_frozen *f = arg;

	for (size_t i = 0; i < f->nconns; i++)
		if (mig_frozen_conn_is(&f->conns[i], s))
			return 1;
	return 0;
}

/* The tree's processes all gone (or zombies: their files closed), and
 * none of its dumped connections a socket of this host any more? */
static bool tree_gone(const struct mig_frozen *f)
{
	for (size_t i = 0; i < f->npids; i++)
		if (!gone_or_zombie(f->pids[i]))
			return false;
	return proc_tcp_each(getpid(), 1, conn_here, (void *)f) == 0;
}

int mig_frozen_gone_wait_ms = 120000;

int mig_frozen_kill(struct mig_frozen *f)
{
	bool gone;

	/* children too: they were restored on the destination as well */
	for (size_t i = f->npids; i-- > 0;)
		kill(f->pids[i], SIGKILL);
	if (!f->tcp)
		return 0;
	/*
	 * Sockets in repair mode close without a RST; CRIU's lock stays until
	 * they are gone, then goes. Not before: a dumped socket in repair
	 * mode, unlocked, takes and acknowledges what its peer sends, if a
	 * packet for it still reaches this host (a stale neighbour entry of
	 * the peer's), bytes its restored copy never sees, and the peer's
	 * stream stalls for good. A killed process may take many seconds to
	 * go on a loaded host, and a socket outlives its processes while
	 * anything else holds it: so the sockets are what is waited for.
	 */
	for (int t = 0; !(gone = tree_gone(f)) && t < mig_frozen_gone_wait_ms / 10; t++)
		usleep(10000);
	if (!gone) {
		ferry_warn("the tree's connections are still sockets here %d s after it was "
			   "killed: CRIU's lock (nftables table inet CRIU-%d) stays, so that they "
			   "take nothing their restored copies would miss; once they are gone "
			   "(ss -t), remove it: nft delete table inet CRIU-%d",
			   mig_frozen_gone_wait_ms / 1000, f->root, f->root);
		return 1;
	}
	if (!mig_tcp_drop_criu_table(f->root))
		ferry_say("note: no nftables table inet CRIU-%d to remove", f->root);
	return 0;
}

bool mig_frozen_same_tree(const struct mig_frozen *f)
{
	uint64_t st = mig_pid_starttime(f->root);

	return st && st == f->root_start;
}

int mig_frozen_save(const struct mig_frozen *f, const char *dir, const char *to,
		    const uint8_t id[WIRE_ID_LEN], char *err, size_t errlen)
{
	char path[4200], hex[2 * WIRE_ID_LEN + 1], a[96];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/settle.state", dir);
	fp = fopen(path, "we");
	if (!fp)
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	wire_id_hex(id, hex);
	mig_addr_fmt(&f->addr, a, sizeof(a));
	fprintf(fp, "id %s\nto %s\nroot %d\nstart %llu\ntcp %d\naddr_removed %d\naddr %s\npids",
		hex, to, (int)f->root, (unsigned long long)mig_pid_starttime(f->root), f->tcp,
		f->addr_removed, f->addr_removed ? a : "-");
	for (size_t i = 0; i < f->npids; i++)
		fprintf(fp, " %d", (int)f->pids[i]);
	fputc('\n', fp);
	if (fflush(fp) || fsync(fileno(fp))) {
		fclose(fp);
		return ferry_errf(err, errlen, -EIO, "%s: %s", path, strerror(errno));
	}
	fclose(fp);
	return 0;
}

int mig_frozen_load(struct mig_frozen *f, const char *dir, char *to, size_t tosize,
		    uint8_t id[WIRE_ID_LEN], char *err, size_t errlen)
{
	char path[4200], *line = NULL, key[32], val[4096];
	size_t cap = 0;
	int have = 0, ret = 0;
	FILE *fp;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/settle.state", dir);
	fp = fopen(path, "re");
	if (!fp)
		return ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	while (!ret && getline(&line, &cap, fp) > 0) {
		if (sscanf(line, "%31s %4095[^\n]", key, val) != 2)
			continue;
		if (!strcmp(key, "id") && wire_id_parse(val, id)) {
			have |= 1;
		} else if (!strcmp(key, "to")) {
			snprintf(to, tosize, "%s", val);
			have |= 2;
		} else if (!strcmp(key, "root")) {
			f->root = atoi(val);
			have |= 4;
		} else if (!strcmp(key, "start")) {
			f->root_start = strtoull(val, NULL, 10);
		} else if (!strcmp(key, "tcp")) {
			f->tcp = atoi(val);
		} else if (!strcmp(key, "addr_removed")) {
			f->addr_removed = atoi(val);
		} else if (!strcmp(key, "addr") && strcmp(val, "-")) {
			ret = mig_addr_parse(val, &f->addr, err, errlen);
		} else if (!strcmp(key, "pids")) {
			for (char *p = val, *end; !ret; p = end) {
				long v = strtol(p, &end, 10);
				pid_t *nv;

				if (end == p)
					break;
				nv = realloc(f->pids, (f->npids + 1) * sizeof(*nv));
				if (!nv)
					ret = -ENOMEM;
				else
					(f->pids = nv)[f->npids++] = (pid_t)v;
			}
		}
	}
	free(line);
	fclose(fp);
	if (!ret && (have != 7 || !f->npids || f->root <= 0))
		ret = ferry_errf(err, errlen, -EINVAL, "%s: incomplete", path);
	if (!ret && f->tcp) {
		snprintf(path, sizeof(path), "%s/final", dir);
		ret = mig_tcp_read_images(path, &f->conns, &f->nconns);
		if (ret)
			ferry_errf(err, errlen, ret, "%s: the dumped connections: %s", path,
				   strerror(-ret));
	}
	if (ret)
		mig_frozen_free(f);
	return ret;
}

void mig_frozen_free(struct mig_frozen *f)
{
	free(f->pids);
	free(f->conns);
	f->pids = NULL;
	f->conns = NULL;
	f->npids = f->nconns = 0;
}
