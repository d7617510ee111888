// SPDX-License-Identifier: GPL-2.0
/* TCP connections and the service address of a migration; see mig_tcp.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netinet/tcp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <libmnl/libmnl.h>
#include "criu_img.h"
#include "mig.h"
#include "mig_tcp.h"
#include "tcp_diag.h"
#include "rtnl.h"

#define CRIU_FILES_MAGIC	0x56303138u
#define CRIU_FD_INETSK		4
#define SOCCR_MARK		0xC114	/* CRIU's mark for its own packets */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* ---- the address ------------------------------------------------------- */

int mig_addr_parse(const char *spec, struct mig_addr *a, char *err, size_t errlen)
{
	char buf[128], *at, *slash;
	unsigned long p = 32;

	memset(a, 0, sizeof(*a));
	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	at = strchr(buf, '@');
	if (at) {
		*at++ = 0;
		if (!*at || strlen(at) >= sizeof(a->dev))
			goto bad;
		strcpy(a->dev, at);
	}
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		*slash++ = 0;
		errno = 0;
		p = strtoul(slash, &end, 10);
		if (!*slash || *end || errno || p < 1 || p > 32)
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &a->addr) != 1)
		goto bad;
	a->prefix = (uint8_t)p;
	return 0;
bad:
	snprintf(err, errlen, "bad address '%s' (want A.B.C.D[/PREFIX][@DEV], IPv4)", spec);
	return -EINVAL;
}

void mig_addr_fmt(const struct mig_addr *a, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->addr, ip, sizeof(ip));
	snprintf(buf, size, "%s/%u%s%s", ip, a->prefix, a->dev[0] ? "@" : "", a->dev);
}

struct addr_walk {
	const struct mig_addr *want;
	int found_index;	/* interface holding want->addr */
	uint8_t found_prefix;
	int subnet_index;	/* interface with want->addr in its subnet */
};

static uint32_t mask_of(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_walk *w = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	uint32_t local = 0;
	bool have = false;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(attr) == IFA_LOCAL &&
		    mnl_attr_get_payload_len(attr) == 4) {
			memcpy(&local, mnl_attr_get_payload(attr), 4);
			have = true;
		} else if (mnl_attr_get_type(attr) == IFA_ADDRESS && !have &&
			   mnl_attr_get_payload_len(attr) == 4) {
			memcpy(&local, mnl_attr_get_payload(attr), 4);
		}
	}
	if (local == w->want->addr.s_addr) {
		w->found_index = (int)ifa->ifa_index;
		w->found_prefix = ifa->ifa_prefixlen;
	} else if (ifa->ifa_prefixlen < 32 && !w->subnet_index &&
		   !((local ^ w->want->addr.s_addr) & mask_of(ifa->ifa_prefixlen))) {
		w->subnet_index = (int)ifa->ifa_index;
	}
	return MNL_CB_OK;
}

static int addr_walk(struct addr_walk *w)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	return rtnl_talk(nlh, addr_cb, w);
}

static int resolve_dev(struct mig_addr *a, char *err, size_t errlen)
{
	if (!a->dev[0])
		return 0;
	a->ifindex = (int)if_nametoindex(a->dev);
	if (!a->ifindex) {
		snprintf(err, errlen, "no network interface %s", a->dev);
		return -ENODEV;
	}
	return 0;
}

/* Where is a configured on this host? w->found_index 0: nowhere. */
static int find_addr(struct mig_addr *a, struct addr_walk *w, char *err, size_t errlen)
{
	int ret;

	*w = (struct addr_walk){ .want = a };
	ret = resolve_dev(a, err, errlen);
	if (ret)
		return ret;
	ret = addr_walk(w);
	if (ret)
		snprintf(err, errlen, "listing addresses: %s", strerror(-ret));
	return ret;
}

int mig_addr_find_local(struct mig_addr *a, char *err, size_t errlen)
{
	struct addr_walk w;
	char s[96];
	int ret;

	mig_addr_fmt(a, s, sizeof(s));
	ret = find_addr(a, &w, err, errlen);
	if (ret)
		return ret;
	if (!w.found_index || (a->ifindex && w.found_index != a->ifindex)) {
		snprintf(err, errlen, "--move-addr %s: the address is not configured %s%s here", s,
			 a->dev[0] ? "on " : "", a->dev);
		return -EADDRNOTAVAIL;
	}
	a->ifindex = w.found_index;
	a->prefix = w.found_prefix;
	if (!if_indextoname((unsigned int)a->ifindex, a->dev))
		return -errno;
	return 0;
}

int mig_addr_check_absent(struct mig_addr *a, char *err, size_t errlen)
{
	struct addr_walk w;
	char s[96];
	int ret;

	mig_addr_fmt(a, s, sizeof(s));
	ret = find_addr(a, &w, err, errlen);
	if (ret)
		return ret;
	if (w.found_index) {
		snprintf(err, errlen, "service address %s is already configured on this host", s);
		return -EADDRINUSE;
	}
	if (!a->ifindex) {
		if (!w.subnet_index) {
			snprintf(err, errlen, "service address %s: no interface here has an address "
				 "in its subnet; name one (ADDR/N@DEV)", s);
			return -ENODEV;
		}
		a->ifindex = w.subnet_index;
		if (!if_indextoname((unsigned int)a->ifindex, a->dev))
			return -errno;
	}
	return 0;
}

static int addr_change(const struct mig_addr *a, uint16_t type, char *err, size_t errlen)
{
	char buf[256], s[96];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)a->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &a->addr);
	if (type == RTM_NEWADDR && a->prefix < 31) {
		uint32_t brd = a->addr.s_addr | ~mask_of(a->prefix);

		mnl_attr_put(nlh, IFA_BROADCAST, 4, &brd);
	}
	ret = rtnl_talk(nlh, NULL, NULL);
	if (ret) {
		mig_addr_fmt(a, s, sizeof(s));
		snprintf(err, errlen, "%s address %s: %s", type == RTM_NEWADDR ? "adding" : "removing",
			 s, strerror(-ret));
	}
	return ret;
}

int mig_addr_add(const struct mig_addr *a, char *err, size_t errlen)
{
	return addr_change(a, RTM_NEWADDR, err, errlen);
}

int mig_addr_del(const struct mig_addr *a, char *err, size_t errlen)
{
	return addr_change(a, RTM_DELADDR, err, errlen);
}

struct garp {
	struct arphdr h;
	uint8_t sha[ETH_ALEN], spa[4], tha[ETH_ALEN], tpa[4];
} __attribute__((packed));

int mig_addr_announce(const struct mig_addr *a)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = a->ifindex, .sll_halen = ETH_ALEN,
	};
	struct ifreq ifr;
	struct garp p;
	int fd, ret = 0;

	if (getenv("FERRY_NO_ANNOUNCE"))	/* to measure neighbour re-resolution */
		return -ECANCELED;
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		close(fd);
		return -EOPNOTSUPP;	/* no ARP on this link */
	}
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	memset(&p, 0, sizeof(p));
	p.h.ar_hrd = htons(ARPHRD_ETHER);
	p.h.ar_pro = htons(ETH_P_IP);
	p.h.ar_hln = ETH_ALEN;
	p.h.ar_pln = 4;
	memcpy(p.sha, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	memcpy(p.spa, &a->addr, 4);
	memcpy(p.tpa, &a->addr, 4);
	/* both forms (arping -U and -A): some stacks heed only one */
	p.h.ar_op = htons(ARPOP_REQUEST);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		ret = -errno;
	p.h.ar_op = htons(ARPOP_REPLY);
	memcpy(p.tha, p.sha, ETH_ALEN);
	if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* ---- the destination's lock -------------------------------------------- */

static void lock_table(const struct mig_addr *a, char *buf, size_t size)
{
	const uint8_t *b = (const uint8_t *)&a->addr;

	snprintf(buf, size, "ferry_move_%u_%u_%u_%u", b[0], b[1], b[2], b[3]);
}

int mig_addr_lock(const struct mig_addr *a, const char *dir, char *script, size_t ssize,
		  char *err, size_t errlen)
{
	char table[64], ip[INET_ADDRSTRLEN], rules[4200], log[4200], tail[512];
	const char *argv[] = { "nft", "-f", rules, NULL };
	FILE *f;
	int ret;

	lock_table(a, table, sizeof(table));
	inet_ntop(AF_INET, &a->addr, ip, sizeof(ip));
	snprintf(rules, sizeof(rules), "%s/lock.nft", dir);
	snprintf(log, sizeof(log), "%s/nft.log", dir);
	snprintf(script, ssize, "%s/unlock.sh", dir);
	f = fopen(rules, "we");
	if (!f)
		goto io;
	/* add + delete + add: replaces a stale table in one transaction */
	fprintf(f, "table inet %s\ndelete table inet %s\n"
		"table inet %s {\n"
		"\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
		"\t\tmeta mark 0x%x accept\n\t\tip daddr %s drop\n\t}\n"
		"\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n"
		"\t\tmeta mark 0x%x accept\n\t\tip saddr %s drop\n\t}\n}\n",
		table, table, table, SOCCR_MARK, ip, SOCCR_MARK, ip);
	if (fclose(f))
		goto io;
	f = fopen(script, "we");
	if (!f)
		goto io;
	fprintf(f, "#!/bin/sh\n"
		"# ferry: CRIU post-restore hook. The sockets exist, still in repair\n"
		"# mode; CRIU turns repair off and resumes the tree after this.\n"
		"[ \"$CRTOOLS_SCRIPT_ACTION\" = post-restore ] || exit 0\n"
		"nft delete table inet %s && : >'%s/unlocked'\n"
		"exit 0\n", table, dir);
	if (fclose(f) || chmod(script, 0700))
		goto io;
	ret = mig_run(argv, log);
	if (ret) {
		mig_log_tail(log, 3, tail, sizeof(tail));
		snprintf(err, errlen, "locking %s with nftables (nft exit %d): %s", ip, ret, tail);
		return -EIO;
	}
	return 0;
io:
	ret = -errno;
	snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	return ret;
}

static int nft_delete_table(const char *family, const char *table)
{
	const char *argv[] = { "nft", "delete", "table", family, table, NULL };

	return mig_run(argv, "/dev/null") == 0;
}

int mig_addr_unlock(const struct mig_addr *a, const char *dir)
{
	char table[64], mark[4200];
	struct stat sb;
	int fd;

	snprintf(mark, sizeof(mark), "%s/unlocked", dir);
	if (!stat(mark, &sb))
		return 0;
	lock_table(a, table, sizeof(table));
	if (!nft_delete_table("inet", table))
		return 0;
	fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);	/* as the script does */
	if (fd >= 0)
		close(fd);
	return 1;
}

int mig_tcp_drop_criu_table(pid_t root)
{
	char table[32];

	snprintf(table, sizeof(table), "CRIU-%d", root);
	return nft_delete_table("inet", table);
}

/* ---- connections ------------------------------------------------------- */

static int parse_inetsk(const uint8_t *m, size_t len, struct mig_tcp_conn *c, uint32_t *proto)
{
	struct pb_field f;
	size_t off = 0;
	int ns = 0, nd = 0, r;

	memset(c, 0, sizeof(*c));
	*proto = 0;
	while ((r = pb_next(m, len, &off, &f)) == 1) {
		switch (f.field) {
		case 2: c->ino = (uint32_t)f.v; break;
		case 3: c->family = (uint8_t)f.v; break;
		case 5: *proto = (uint32_t)f.v; break;
		case 6: c->state = (uint32_t)f.v; break;
		case 7: c->sport = (uint16_t)f.v; break;
		case 8: c->dport = (uint16_t)f.v; break;
		case 11:
		case 12: {
			uint32_t *dst = f.field == 11 ? c->src : c->dst;
			int *k = f.field == 11 ? &ns : &nd;

			if (f.wt == 0) {
				if (*k < 4)
					dst[(*k)++] = (uint32_t)f.v;
			} else if (f.wt == 2) {	/* packed */
				size_t o = 0;
				uint64_t v;
				int n;

				while (o < f.blen &&
				       (n = pb_get_varint(f.bytes + o, f.blen - o, &v)) > 0) {
					if (*k < 4)
						dst[(*k)++] = (uint32_t)v;
					o += (size_t)n;
				}
			}
			break;
		}
		case 14: {
			uint64_t v = 0;

			if (f.wt == 2 && pb_find_varint(f.bytes, f.blen, 7, &v) == 1)
				c->reuseaddr = v != 0;
			break;
		}
		default:
			break;
		}
	}
	return r < 0 ? -EPROTO : 0;
}

int mig_tcp_read_images(const char *dir, struct mig_tcp_conn **v, size_t *n)
{
	char path[4200];
	const uint8_t *msg;
	uint8_t *buf;
	size_t len, mlen, off = 0, cap = 0;
	int ret, r;

	*v = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/files.img", dir);
	ret = criu_img_load(path, CRIU_FILES_MAGIC, &buf, &len);
	if (ret)
		return ret;
	while ((r = criu_img_next(buf, len, &off, &msg, &mlen)) == 1) {
		const uint8_t *isk;
		size_t ilen;
		uint64_t type = 0;
		uint32_t proto;
		struct mig_tcp_conn c;
		struct stat sb;

		if (pb_find_varint(msg, mlen, 1, &type) != 1 || type != CRIU_FD_INETSK)
			continue;
		if (pb_find_bytes(msg, mlen, 4, &isk, &ilen) != 1)
			continue;
		if (parse_inetsk(isk, ilen, &c, &proto)) {
			ret = -EPROTO;
			break;
		}
		if (proto != IPPROTO_TCP || !c.dport)
			continue;
		snprintf(path, sizeof(path), "%s/tcp-stream-%x.img", dir, c.ino);
		if (stat(path, &sb))
			continue;	/* not dumped in repair mode */
		if (*n == cap) {
			struct mig_tcp_conn *nv;

			cap = cap ? cap * 2 : 32;
			nv = realloc(*v, cap * sizeof(*nv));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			*v = nv;
		}
		(*v)[(*n)++] = c;
	}
	if (r < 0 && !ret)
		ret = -EPROTO;
	free(buf);
	return ret;
}

/* One line of /proc/.../net/tcp{,6}. */
struct proc_tcp {
	uint32_t src[4], dst[4];
	uint16_t sport, dport;
	unsigned int state;
	unsigned long ino;
};

static int proc_tcp_line(const char *line, bool v6, struct proc_tcp *t)
{
	char a[40], b[40];
	unsigned int sp, dp;

	memset(t, 0, sizeof(*t));
	if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*s %*s %*s %*u %*u %lu",
		   a, &sp, b, &dp, &t->state, &t->ino) != 6)
		return -1;
	for (int i = 0; i < (v6 ? 4 : 1); i++) {
		char w[9];

		memcpy(w, a + 8 * i, 8);
		w[8] = 0;
		t->src[i] = (uint32_t)strtoul(w, NULL, 16);
		memcpy(w, b + 8 * i, 8);
		t->dst[i] = (uint32_t)strtoul(w, NULL, 16);
	}
	t->sport = (uint16_t)sp;
	t->dport = (uint16_t)dp;
	return 0;
}

#define TCP_ST_LISTEN 0x0A
#define TCP_ST_CLOSE 0x07

static bool connected_state(unsigned int st)
{
	return st && st != TCP_ST_LISTEN && st != TCP_ST_CLOSE;
}

/* Call fn for every socket line of the netns's tcp and tcp6 tables. */
static void proc_tcp_walk(const char *netdir, bool (*fn)(const struct proc_tcp *, bool, void *),
			  void *data)
{
	for (int v6 = 0; v6 < 2; v6++) {
		char path[256], line[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", netdir, v6 ? "tcp6" : "tcp");
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f)) {	/* header */
			fclose(f);
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			struct proc_tcp t;

			if (!proc_tcp_line(line, v6, &t) && !fn(&t, v6, data))
				break;
		}
		fclose(f);
	}
}

struct ino_set {
	unsigned long *v;
	size_t n, cap;
	bool hit;
};

static void ino_add(struct ino_set *s, unsigned long ino)
{
	if (s->n == s->cap) {
		unsigned long *nv;

		s->cap = s->cap ? s->cap * 2 : 64;
		nv = realloc(s->v, s->cap * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
	}
	s->v[s->n++] = ino;
}

static int ino_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Sorted, each inode once (a socket shared by fds or processes counts
 * once), for ino_has. */
static void ino_sort(struct ino_set *s)
{
	size_t out = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), ino_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[out])
			s->v[++out] = s->v[i];
	s->n = out + 1;
}

static bool ino_has(const struct ino_set *s, unsigned long ino)
{
	return s->n && bsearch(&ino, s->v, s->n, sizeof(*s->v), ino_cmp);
}

/* Socket inodes in pid's fd table. */
static void fd_socket_inodes(pid_t pid, struct ino_set *s)
{
	char path[320], link[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long ino;
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, de->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			ino_add(s, ino);
	}
	closedir(d);
}

/* The socket inodes of every process of the tree, sorted, each once. */
static void tree_inodes(const pid_t *pids, size_t npids, struct ino_set *s)
{
	for (size_t i = 0; i < npids; i++)
		fd_socket_inodes(pids[i], s);
	ino_sort(s);
}

struct check_ctx {
	struct ino_set s;
	const struct in_addr *moved;
	bool count_only;	/* the tree stays: every address is fine */
	int n;
	char *err;
	size_t errlen;
};

static bool loopback(const struct proc_tcp *t, bool v6)
{
	static const uint32_t lo6[4] = { 0, 0, 0, 0x01000000 };	/* ::1, raw words */

	if (!v6)
		return (ntohl(t->src[0]) >> 24) == 127;
	return !memcmp(t->src, lo6, 16) ||
	       (!t->src[0] && !t->src[1] && t->src[2] == htonl(0xffff) &&
		(ntohl(t->src[3]) >> 24) == 127);
}

static bool check_one(const struct proc_tcp *t, bool v6, void *data)
{
	struct check_ctx *c = data;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool mapped, ok;

	if (!connected_state(t->state) || !t->ino || !ino_has(&c->s, t->ino))
		return true;
	c->n++;
	mapped = v6 && !t->src[0] && !t->src[1] && t->src[2] == htonl(0xffff);
	ok = c->count_only || loopback(t, v6) ||
	     (c->moved && (v6 ? mapped && t->src[3] == c->moved->s_addr
			      : t->src[0] == c->moved->s_addr));
	if (ok)
		return true;
	inet_ntop(v6 ? AF_INET6 : AF_INET, t->src, a, sizeof(a));
	inet_ntop(v6 ? AF_INET6 : AF_INET, t->dst, b, sizeof(b));
	snprintf(c->err, c->errlen, "TCP connection %s%s%s:%u -> %s%s%s:%u (socket %lu) would be "
		 "reset: its local address stays on this host (%s)",
		 v6 ? "[" : "", a, v6 ? "]" : "", t->sport, v6 ? "[" : "", b, v6 ? "]" : "",
		 t->dport, t->ino,
		 c->moved ? "--move-addr names another" : "move it with --move-addr");
	return false;
}

static int tree_walk(const pid_t *pids, size_t npids, const struct in_addr *moved,
		     bool count_only, char *err, size_t errlen)
{
	struct check_ctx c = { .moved = moved, .count_only = count_only, .err = err,
			       .errlen = errlen };
	char netdir[64];

	err[0] = 0;
	tree_inodes(pids, npids, &c.s);
	if (c.s.n && npids) {
		snprintf(netdir, sizeof(netdir), "/proc/%d/net", pids[0]);
		proc_tcp_walk(netdir, check_one, &c);
	}
	free(c.s.v);
	if (err[0])
		return -EADDRNOTAVAIL;
	return c.n;
}

int mig_tcp_tree_check(const pid_t *pids, size_t npids, const struct in_addr *moved,
		       char *err, size_t errlen)
{
	return tree_walk(pids, npids, moved, false, err, errlen);
}

int mig_tcp_tree_count(const pid_t *pids, size_t npids)
{
	char err[256];

	return tree_walk(pids, npids, NULL, true, err, sizeof(err));
}

static bool ino_has_cb(unsigned long ino, void *arg)
{
	return ino_has(arg, ino);
}

int mig_tcp_tree_recovering(const pid_t *pids, size_t npids)
{
	struct ino_set s = { 0 };
	int ret = 0;

	tree_inodes(pids, npids, &s);
	if (s.n)
		ret = tcp_diag_recovering(pids[0], ino_has_cb, &s);
	free(s.v);
	return ret;
}

struct count_ctx {
	const struct mig_tcp_conn *v;
	size_t n;
	bool *seen;
};

static bool count_one(const struct proc_tcp *t, bool v6, void *data)
{
	struct count_ctx *c = data;

	if (!connected_state(t->state))
		return true;
	for (size_t i = 0; i < c->n; i++) {
		const struct mig_tcp_conn *k = &c->v[i];
		bool kv6 = k->family == AF_INET6;

		if (c->seen[i] || kv6 != v6 || k->sport != t->sport || k->dport != t->dport)
			continue;
		if (memcmp(k->src, t->src, (v6 ? 16 : 4)) || memcmp(k->dst, t->dst, (v6 ? 16 : 4)))
			continue;
		c->seen[i] = true;
		break;
	}
	return true;
}

size_t mig_tcp_count_ended(const struct mig_tcp_conn *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !connected_state(v[i].state);
	return k;
}

size_t mig_tcp_count_present(const struct mig_tcp_conn *v, size_t n)
{
	struct count_ctx c = { v, n, NULL };
	size_t k = 0;

	if (!n)
		return 0;
	c.seen = calloc(n, sizeof(*c.seen));
	if (!c.seen)
		return 0;
	proc_tcp_walk("/proc/self/net", count_one, &c);
	for (size_t i = 0; i < n; i++)
		k += c.seen[i];
	free(c.seen);
	return k;
}

int mig_tcp_unlock_source(pid_t root, const pid_t *pids, size_t npids,
			  const struct mig_tcp_conn *v, size_t n, char *err, size_t errlen)
{
	bool *done = calloc(n ? n : 1, sizeof(*done));
	int unlocked = 0, ret = 0;

	if (!done)
		return -ENOMEM;
	for (size_t p = 0; p < npids; p++) {
		char path[320], link[64];
		struct dirent *de;
		int pidfd;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/fd", pids[p]);
		d = opendir(path);
		if (!d)
			continue;
		pidfd = (int)syscall(SYS_pidfd_open, pids[p], 0);
		while (pidfd >= 0 && (de = readdir(d))) {
			unsigned long ino;
			ssize_t l;
			int fd, off = 0, on;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", pids[p], de->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < n; i++) {
				if (done[i] || v[i].ino != ino)
					continue;
				fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
				if (fd < 0) {
					ret = -errno;
					snprintf(err, errlen, "pidfd_getfd %d/%s: %s", pids[p],
						 de->d_name, strerror(errno));
					break;
				}
				/* as CRIU's own rollback: repair off (which sends a
				 * window probe), then SO_REUSEADDR as it was */
				on = v[i].reuseaddr;
				if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) ||
				    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on))) {
					ret = -errno;
					snprintf(err, errlen, "socket %lu of %d: %s", ino, pids[p],
						 strerror(errno));
				} else {
					unlocked++;
				}
				close(fd);
				done[i] = true;
				break;
			}
		}
		if (pidfd >= 0)
			close(pidfd);
		else if (!ret) {
			ret = -errno;
			snprintf(err, errlen, "pidfd_open %d: %s", pids[p], strerror(errno));
		}
		closedir(d);
	}
	free(done);
	mig_tcp_drop_criu_table(root);
	return ret ? ret : unlocked;
}
