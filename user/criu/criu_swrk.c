// SPDX-License-Identifier: GPL-2.0
/* A CRIU service worker for the restore, started ahead of time (criu_swrk.h). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "criu_img.h"
#include "criu_swrk.h"
#include "mig.h"
#include "util.h"

/* CRIU reads a request with one read() into an 8 KiB buffer (CR_MAX_MSG_SIZE). */
#define SWRK_MSG_MAX 8192

/* criu_opts fields (rpc.proto) */
#define OPT_IMAGES_DIR_FD	1
#define OPT_TCP_ESTABLISHED	5
#define OPT_LOG_LEVEL		9
#define OPT_LOG_FILE		10
#define OPT_NOTIFY_SCRIPTS	12
#define OPT_LAZY_PAGES		48
/* criu_req / criu_resp fields */
#define REQ_TYPE		1
#define REQ_OPTS		2
#define REQ_NOTIFY_SUCCESS	3
#define RESP_TYPE		1
#define RESP_SUCCESS		2
#define RESP_RESTORE		4
#define RESP_NOTIFY		5
#define RESP_CR_ERRNO		7
#define RESP_CR_ERRMSG		9

struct pbuf {
	uint8_t *p;
	size_t len, size;
	bool overflow;
};

static void pb_append(struct pbuf *b, const void *data, size_t n)
{
	if (b->overflow || b->size - b->len < n) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void pb_varint_field(struct pbuf *b, uint32_t field, uint64_t v)
{
	uint8_t t[2 * PB_MAX_VARINT];
	size_t n = 0;

	pb_put_field(t, &n, field, v);
	pb_append(b, t, n);
}

static void pb_bytes_field(struct pbuf *b, uint32_t field, const void *data, size_t len)
{
	uint8_t t[2 * PB_MAX_VARINT];
	size_t n = pb_put_varint(t, (uint64_t)field << 3 | 2);

	n += pb_put_varint(t + n, len);
	pb_append(b, t, n);
	pb_append(b, data, len);
}

int criu_swrk_encode_restore(const struct criu_swrk_restore *r, uint8_t *buf, size_t size)
{
	uint8_t o[1024];
	struct pbuf opts = { .p = o, .size = sizeof(o) }, req = { .p = buf, .size = size };

	if (r->images_dir_fd < 0 || r->log_level < 0)
		return -EINVAL;
	pb_varint_field(&opts, OPT_IMAGES_DIR_FD, (uint64_t)r->images_dir_fd);
	pb_varint_field(&opts, OPT_LOG_LEVEL, (uint64_t)r->log_level);
	if (r->log_file)
		pb_bytes_field(&opts, OPT_LOG_FILE, r->log_file, strlen(r->log_file));
	if (r->tcp_established)
		pb_varint_field(&opts, OPT_TCP_ESTABLISHED, 1);
	if (r->notify)
		pb_varint_field(&opts, OPT_NOTIFY_SCRIPTS, 1);
	if (r->lazy_pages)
		pb_varint_field(&opts, OPT_LAZY_PAGES, 1);
	pb_varint_field(&req, REQ_TYPE, CRIU_REQ_RESTORE);
	if (!opts.overflow)
		pb_bytes_field(&req, REQ_OPTS, o, opts.len);
	return opts.overflow || req.overflow ? -ENOSPC : (int)req.len;
}

int criu_swrk_encode_notify_ack(bool ok, uint8_t *buf, size_t size)
{
	struct pbuf req = { .p = buf, .size = size };

	pb_varint_field(&req, REQ_TYPE, CRIU_REQ_NOTIFY);
	pb_varint_field(&req, REQ_NOTIFY_SUCCESS, ok);
	return req.overflow ? -ENOSPC : (int)req.len;
}

static void copy_str(char *dst, size_t size, const uint8_t *p, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

int criu_swrk_decode_resp(const uint8_t *buf, size_t len, struct criu_swrk_resp *out)
{
	bool have_type = false, have_success = false;
	struct pb_field f, g;
	size_t off = 0, o2;
	int ret;

	memset(out, 0, sizeof(*out));
	while ((ret = pb_next(buf, len, &off, &f)) == 1) {
		switch (f.field) {
		case RESP_TYPE:
			if (f.wt != 0)
				return -EPROTO;
			out->type = (uint32_t)f.v;
			have_type = true;
			break;
		case RESP_SUCCESS:
			if (f.wt != 0)
				return -EPROTO;
			out->success = f.v != 0;
			have_success = true;
			break;
		case RESP_CR_ERRNO:
			if (f.wt != 0)
				return -EPROTO;
			out->cr_errno = (int32_t)f.v;
			break;
		case RESP_CR_ERRMSG:
			if (f.wt != 2)
				return -EPROTO;
			copy_str(out->errmsg, sizeof(out->errmsg), f.bytes, f.blen);
			break;
		case RESP_RESTORE:	/* criu_restore_resp { required int32 pid = 1; } */
		case RESP_NOTIFY:	/* criu_notify { string script = 1; int32 pid = 2; } */
			if (f.wt != 2)
				return -EPROTO;
			o2 = 0;
			while ((ret = pb_next(f.bytes, f.blen, &o2, &g)) == 1) {
				if (f.field == RESP_RESTORE && g.field == 1 && g.wt == 0)
					out->restored_pid = (int32_t)g.v;
				else if (f.field == RESP_NOTIFY && g.field == 1 && g.wt == 2)
					copy_str(out->script, sizeof(out->script), g.bytes, g.blen);
				else if (f.field == RESP_NOTIFY && g.field == 2 && g.wt == 0)
					out->notify_pid = (int32_t)g.v;
			}
			if (ret < 0)
				return -EPROTO;
			break;
		default:
			break;	/* fields a newer CRIU adds */
		}
	}
	return ret < 0 || !have_type || !have_success ? -EPROTO : 0;
}

/* err = "criu swrk: WHAT: strerror(-ret)"; returns ret */
static int swrk_err(char *err, size_t errlen, int ret, const char *what)
{
	snprintf(err, errlen, "criu swrk: %s: %s", what, strerror(-ret));
	return ret;
}

int criu_swrk_start(struct criu_swrk *w, const char *out_path, char *err, size_t errlen)
{
	int sv[2], out;
	pid_t pid;

	w->pid = 0;
	w->sk = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return swrk_err(err, errlen, -errno, "socketpair");
	out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0) {
		int ret = -errno;

		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "%s: %s", out_path, strerror(-ret));
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		int ret = -errno;

		close(sv[0]);
		close(sv[1]);
		close(out);
		return swrk_err(err, errlen, ret, "fork");
	}
	if (pid == 0) {
		char fdstr[16];
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(out, 1);
		dup2(out, 2);
		/* the worker's end survives exec; nothing else of ours does */
		if (fcntl(sv[1], F_SETFD, 0))
			_exit(127);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		signal(SIGPIPE, SIG_DFL);
		execlp("criu", "criu", "swrk", fdstr, (char *)NULL);
		dprintf(2, "cannot run criu: %s\n", strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	close(out);
	w->pid = pid;
	w->sk = sv[0];
	return 0;
}

/* One message, and any descriptor CRIU passes with it (closed: ferry needs none). */
static ssize_t recv_msg(int sk, uint8_t *buf, size_t size)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			close(fd);
		}
	}
	if (n == 0)
		return -ECONNRESET;	/* the worker exited */
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	return n;
}

static int send_msg(int sk, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = send(sk, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int criu_swrk_restore(struct criu_swrk *w, const struct criu_swrk_restore *r, pid_t *root,
		      char *err, size_t errlen)
{
	uint8_t buf[SWRK_MSG_MAX];
	struct criu_swrk_resp resp;
	uint64_t end = r->timeout_ms ? ferry_now_ns() + (uint64_t)r->timeout_ms * 1000000ull : 0;
	int len, ret;

	if (w->sk < 0)
		return swrk_err(err, errlen, -EPIPE, "not running");
	len = criu_swrk_encode_restore(r, buf, sizeof(buf));
	if (len < 0)
		return swrk_err(err, errlen, len, "restore request");
	ret = send_msg(w->sk, buf, (size_t)len);
	if (ret)
		return swrk_err(err, errlen, ret, "the worker is gone");
	for (;;) {
		ssize_t n;

		/* a hung CRIU must not hold the receiver for ever */
		while (end) {
			struct pollfd p = { .fd = w->sk, .events = POLLIN };
			uint64_t now = ferry_now_ns();
			int pr = now >= end ? 0 : poll(&p, 1, (int)((end - now) / 1000000) + 1);

			if (pr > 0)
				break;
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0 || now >= end) {
				kill(w->pid, SIGKILL);
				snprintf(err, errlen, "the CRIU worker did not finish the restore "
					 "within %d s: killed", r->timeout_ms / 1000);
				return -ETIMEDOUT;
			}
			return swrk_err(err, errlen, -errno, "poll");
		}
		n = recv_msg(w->sk, buf, sizeof(buf));

		if (n < 0)
			return swrk_err(err, errlen, (int)n, "the worker stopped answering");
		if (criu_swrk_decode_resp(buf, (size_t)n, &resp))
			return swrk_err(err, errlen, -EPROTO, "malformed answer");
		if (resp.type == CRIU_REQ_NOTIFY) {
			bool ok = !r->notify || r->notify(resp.script, resp.notify_pid, r->arg) == 0;

			len = criu_swrk_encode_notify_ack(ok, buf, sizeof(buf));
			ret = len < 0 ? len : send_msg(w->sk, buf, (size_t)len);
			if (ret)
				return swrk_err(err, errlen, ret, "the worker is gone");
			continue;
		}
		if (resp.type != CRIU_REQ_RESTORE)
			return swrk_err(err, errlen, -EPROTO, "answer to another request");
		if (!resp.success) {
			snprintf(err, errlen, "criu restore failed%s%s", resp.errmsg[0] ? ": " : "",
				 resp.errmsg);
			if (resp.cr_errno)
				snprintf(err + strlen(err), errlen - strlen(err), " (%s)",
					 strerror(resp.cr_errno));
			return -EIO;
		}
		*root = resp.restored_pid;
		return 0;
	}
}

int criu_swrk_stop(struct criu_swrk *w, int timeout_ms)
{
	int ret;

	if (w->sk >= 0) {
		close(w->sk);	/* a waiting worker reads EOF and exits */
		w->sk = -1;
	}
	if (w->pid <= 0)
		return -1;
	ret = mig_wait_child(w->pid, timeout_ms);
	w->pid = 0;
	return ret;
}
