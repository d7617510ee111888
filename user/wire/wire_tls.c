// SPDX-License-Identifier: GPL-2.0
/* TLS 1.3, mutual certificates, under the wire protocol (wire_tls.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "recv_policy.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"

/* TLS 1.3 only: no renegotiation, no downgrade, forward secrecy, AEAD. */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

struct wire_tls {
	gnutls_certificate_credentials_t cred;
	bool server;
};

/*
 * Ciphertext is read ahead, up to TLS_READAHEAD bytes per recv(2): GnuTLS
 * asks its transport for a record's 5-byte header and then for its body,
 * two system calls per 16 KiB record, and under TCG a system call costs
 * about as much as decrypting the record.
 */
#define TLS_READAHEAD (64 * 1024)

struct tls_sess {
	gnutls_session_t s;
	int last;		/* last GnuTLS error, for messages */
	int fd;
	size_t ra_off, ra_len;	/* unread ciphertext: ra[ra_off, ra_len) */
	unsigned char ra[TLS_READAHEAD];
};

const char *wire_tls_default(const char *file, char *buf, size_t size)
{
	const char *dir = getenv("FERRY_PKI_DIR");

	snprintf(buf, size, "%s/%s", dir && *dir ? dir : WIRE_TLS_DEFAULT_DIR, file);
	return buf;
}

static int gerr(char *err, size_t errlen, int ret, const char *what, int g)
{
	return ferry_errf(err, errlen, ret, "%s: %s", what, gnutls_strerror(g));
}

int wire_tls_load(struct wire_tls **out, const struct wire_tls_paths *p, bool server, char *err,
		  size_t errlen)
{
	char ca[4200], crl[4200], cert[4200], key[4200];
	const char *cap = p->cacert ? p->cacert : wire_tls_default("ca.pem", ca, sizeof(ca));
	const char *crlp = p->cacrl ? p->cacrl : wire_tls_default("crl.pem", crl, sizeof(crl));
	const char *certp = p->cert ? p->cert : wire_tls_default("cert.pem", cert, sizeof(cert));
	const char *keyp = p->key ? p->key : wire_tls_default("key.pem", key, sizeof(key));
	const char *files[] = { cap, certp, keyp };
	struct wire_tls *t;
	int g;

	*out = NULL;
	for (size_t i = 0; i < 3; i++)
		if (access(files[i], R_OK))
			return ferry_errf(err, errlen, -ENOENT,
					  "%s: %s (TLS credentials: see `ferry pki --help`, or "
					  "--insecure for plain TCP)", files[i], strerror(errno));
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->server = server;
	g = gnutls_certificate_allocate_credentials(&t->cred);
	if (g < 0) {
		free(t);
		return gerr(err, errlen, -ENOMEM, "TLS", g);
	}
	g = gnutls_certificate_set_x509_trust_file(t->cred, cap, GNUTLS_X509_FMT_PEM);
	if (g <= 0) {
		wire_tls_free(t);
		return g == 0 ? ferry_errf(err, errlen, -EINVAL, "%s: no CA certificate", cap)
			      : gerr(err, errlen, -EINVAL, cap, g);
	}
	/* the CRL is optional by default, required when named */
	if (p->cacrl || !access(crlp, F_OK)) {
		g = gnutls_certificate_set_x509_crl_file(t->cred, crlp, GNUTLS_X509_FMT_PEM);
		if (g < 0) {
			wire_tls_free(t);
			return gerr(err, errlen, -EINVAL, crlp, g);
		}
	}
	g = gnutls_certificate_set_x509_key_file(t->cred, certp, keyp, GNUTLS_X509_FMT_PEM);
	if (g < 0) {
		char what[8500];

		wire_tls_free(t);
		snprintf(what, sizeof(what), "%s + %s", certp, keyp);
		return gerr(err, errlen, -EINVAL, what, g);
	}
	*out = t;
	return 0;
}

void wire_tls_free(struct wire_tls *t)
{
	if (!t)
		return;
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* ---- the transport hooks ------------------------------------------------ */
/*
 * A GnuTLS result as a -1/errno of the socket calls wire.c expects. The
 * transport's own failures (GnuTLS's send/recv of the socket: a reset, a
 * TCP user timeout, a dead link) keep the socket's errno, saved right after
 * the call: wire.c words ETIMEDOUT as "the peer stopped answering", and
 * the first failing call is the only one to see it (the socket reports
 * EPIPE after that).
 */
static ssize_t map_err(struct tls_sess *ts, ssize_t r, int sys_errno)
{
	if (r >= 0)
		return r;
	ts->last = (int)r;
	switch (r) {
	case GNUTLS_E_AGAIN:
		errno = EAGAIN;
		break;
	case GNUTLS_E_INTERRUPTED:
		errno = EINTR;
		break;
	case GNUTLS_E_PREMATURE_TERMINATION:
		errno = ECONNRESET;
		break;
	case GNUTLS_E_PUSH_ERROR:
		errno = sys_errno > 0 && sys_errno != EAGAIN ? sys_errno : EPIPE;
		break;
	case GNUTLS_E_PULL_ERROR:
		errno = sys_errno > 0 && sys_errno != EAGAIN ? sys_errno : ECONNRESET;
		break;
	default:
		errno = EBADMSG;	/* a record that does not decrypt: tampering */
		break;
	}
	return -1;
}

/* ---- transport: the socket under GnuTLS --------------------------------- */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
	struct tls_sess *ts = ptr;
	size_t k;
	ssize_t r;

	if (ts->ra_off == ts->ra_len) {
		if (n >= sizeof(ts->ra))
			r = recv(ts->fd, buf, n, 0);	/* no gain in a copy */
		else
			r = recv(ts->fd, ts->ra, sizeof(ts->ra), 0);
		if (r < 0)
			gnutls_transport_set_errno(ts->s, errno);
		if (r <= 0 || n >= sizeof(ts->ra))
			return r;
		ts->ra_off = 0;
		ts->ra_len = (size_t)r;
	}
	k = ts->ra_len - ts->ra_off < n ? ts->ra_len - ts->ra_off : n;
	memcpy(buf, ts->ra + ts->ra_off, k);
	ts->ra_off += k;
	return (ssize_t)k;
}

/* GnuTLS's wait for data (handshake timeouts): what was read ahead counts. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct tls_sess *ts = ptr;
	struct pollfd p = { .fd = ts->fd, .events = POLLIN };
	int r;

	if (ts->ra_off < ts->ra_len)
		return 1;
	r = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	if (r < 0)
		gnutls_transport_set_errno(ts->s, errno);
	return r;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct tls_sess *ts = ptr;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t r = sendmsg(ts->fd, &mh, MSG_NOSIGNAL);

	if (r < 0)
		gnutls_transport_set_errno(ts->s, errno);
	return r;
}

static ssize_t tls_recv(void *ctx, void *p, size_t n)
{
	struct tls_sess *ts = ctx;
	ssize_t r;

	errno = 0;
	r = gnutls_record_recv(ts->s, p, n);
	return map_err(ts, r, errno);
}

static ssize_t tls_send(void *ctx, const void *p, size_t n)
{
	struct tls_sess *ts = ctx;
	ssize_t r;

	errno = 0;
	r = gnutls_record_send(ts->s, p, n);
	return map_err(ts, r, errno);
}

/* Decrypted bytes GnuTLS holds, or ciphertext read ahead: either means the
 * next read may not need the socket, which a poll(2) on it would miss. */
static size_t tls_pending(void *ctx)
{
	struct tls_sess *ts = ctx;

	return gnutls_record_check_pending(ts->s) + (ts->ra_len - ts->ra_off);
}

/* ---- handshakes ---------------------------------------------------------- */
static int start(struct wire_conn *c, struct wire_tls *t, unsigned int flags,
		 struct tls_sess **out, char *err, size_t errlen)
{
	struct tls_sess *ts = calloc(1, sizeof(*ts));
	const char *pos;
	int g;

	if (!ts)
		return -ENOMEM;
	g = gnutls_init(&ts->s, flags | GNUTLS_NO_SIGNAL);
	if (g < 0) {
		free(ts);
		return gerr(err, errlen, -ENOMEM, "TLS", g);
	}
	g = gnutls_priority_set_direct(ts->s, PRIORITY, &pos);
	if (!g)
		g = gnutls_credentials_set(ts->s, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (g < 0) {
		gnutls_deinit(ts->s);
		free(ts);
		return gerr(err, errlen, -EINVAL, "TLS", g);
	}
	ts->fd = c->fd;
	gnutls_transport_set_ptr(ts->s, ts);
	gnutls_transport_set_pull_function(ts->s, tls_pull);
	gnutls_transport_set_pull_timeout_function(ts->s, tls_pull_timeout);
	gnutls_transport_set_vec_push_function(ts->s, tls_push);
	*out = ts;
	return 0;
}

/* Run the handshake within c's deadline (or 30 s). */
static int handshake(struct wire_conn *c, struct tls_sess *ts, char *err, size_t errlen)
{
	uint64_t now = ferry_now_ns();
	unsigned int ms = 30000;
	int g;

	if (c->deadline_ns)
		ms = c->deadline_ns > now ? (unsigned int)((c->deadline_ns - now) / 1000000) + 1 : 1;
	else if (c->timeout_ms)
		ms = (unsigned int)c->timeout_ms;
	gnutls_handshake_set_timeout(ts->s, ms);
	do
		g = gnutls_handshake(ts->s);
	while (g < 0 && !gnutls_error_is_fatal(g) && !ferry_interrupted);
	if (g >= 0)
		return 0;
	if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		unsigned int st = gnutls_session_get_verify_cert_status(ts->s);
		gnutls_datum_t out = { 0 };

		gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &out, 0);
		ferry_errf(err, errlen, -EACCES, "TLS: the peer's certificate was refused: %s",
			   out.data ? (char *)out.data : "verification failed");
		gnutls_free(out.data);
		return -EACCES;
	}
	if (g == GNUTLS_E_TIMEDOUT)
		return ferry_errf(err, errlen, -ETIMEDOUT, "TLS handshake: no answer in time");
	if (g == GNUTLS_E_INTERRUPTED || g == GNUTLS_E_AGAIN)
		return ferry_errf(err, errlen, -EINTR, "TLS handshake: interrupted");
	if (g == GNUTLS_E_NO_CERTIFICATE_FOUND || g == GNUTLS_E_CERTIFICATE_REQUIRED)
		return gerr(err, errlen, -EACCES, "TLS: the peer sent no certificate", g);
	return gerr(err, errlen, -EPROTO, "TLS handshake", g);
}

static void hook(struct wire_conn *c, struct tls_sess *ts)
{
	c->x.recv = tls_recv;
	c->x.send = tls_send;
	c->x.pending = tls_pending;
	c->x.ctx = ts;
}

static void drop(struct tls_sess *ts)
{
	gnutls_deinit(ts->s);
	free(ts);
}

int wire_tls_client(struct wire_conn *c, struct wire_tls *t, const char *host, char *err,
		    size_t errlen)
{
	struct in6_addr a6;
	struct tls_sess *ts;
	bool ip = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	int ret;

	ret = start(c, t, GNUTLS_CLIENT, &ts, err, errlen);
	if (ret)
		return ret;
	if (!ip)
		gnutls_server_name_set(ts->s, GNUTLS_NAME_DNS, host, strlen(host));
	/* the chain against our CA, and the name or address we dialled
	 * against the certificate's alternative names */
	gnutls_session_set_verify_cert(ts->s, host, 0);
	ret = handshake(c, ts, err, errlen);
	if (ret) {
		drop(ts);
		return ret;
	}
	hook(c, ts);
	return 0;
}

/* The names a certificate answers to. */
static void peer_names(gnutls_session_t s, struct wire_tls_peer *peer)
{
	const gnutls_datum_t *chain;
	unsigned int n = 0;
	gnutls_x509_crt_t crt;
	char buf[256];
	size_t size;

	peer->n = 0;
	chain = gnutls_certificate_get_peers(s, &n);
	if (!chain || !n || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return;
	}
	size = sizeof(buf);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) >= 0)
		snprintf(peer->names[peer->n++], sizeof(peer->names[0]), "%s", buf);
	for (unsigned int i = 0; peer->n < WIRE_TLS_MAX_NAMES; i++) {
		unsigned int critical;
		int type;

		size = sizeof(buf) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size, &critical);
		if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			buf[size] = 0;
			snprintf(peer->names[peer->n++], sizeof(peer->names[0]), "%s", buf);
		} else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
			inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, peer->names[peer->n],
				  sizeof(peer->names[0]));
			peer->n++;
		}
	}
	gnutls_x509_crt_deinit(crt);
	for (size_t i = 0; i < peer->n; i++)
		ferry_sanitize(peer->names[i], false);	/* shown in logs */
}

int wire_tls_server(struct wire_conn *c, struct wire_tls *t, const char *const *allow,
		    size_t nallow, struct wire_tls_peer *peer, char *err, size_t errlen)
{
	const char *names[WIRE_TLS_MAX_NAMES];
	struct tls_sess *ts;
	int ret;

	ret = start(c, t, GNUTLS_SERVER, &ts, err, errlen);
	if (ret)
		return ret;
	gnutls_certificate_server_set_request(ts->s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(ts->s, NULL, 0);
	ret = handshake(c, ts, err, errlen);
	if (ret) {
		drop(ts);
		return ret;
	}
	peer_names(ts->s, peer);
	for (size_t i = 0; i < peer->n; i++)
		names[i] = peer->names[i];
	if (!recv_name_allowed(allow, nallow, names, peer->n)) {
		gnutls_alert_send(ts->s, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
		drop(ts);
		return ferry_errf(err, errlen, -EACCES, "TLS: certificate '%s' is not in --allow",
				  peer->n ? peer->names[0] : "(no name)");
	}
	hook(c, ts);
	return 0;
}

void wire_tls_end(struct wire_conn *c)
{
	struct tls_sess *ts = c->x.ctx;

	if (!c->x.recv || !ts)
		return;
	/* best effort, never waiting long: the peer may be gone */
	gnutls_record_set_timeout(ts->s, 1000);
	gnutls_bye(ts->s, GNUTLS_SHUT_WR);
	drop(ts);
	memset(&c->x, 0, sizeof(c->x));
}

bool wire_tls_getopt(int c, const char *arg, struct wire_tls_paths *p)
{
	switch (c) {
	case WIRE_TLS_OPT_CACERT: p->cacert = arg; return true;
	case WIRE_TLS_OPT_CACRL: p->cacrl = arg; return true;
	case WIRE_TLS_OPT_CERT: p->cert = arg; return true;
	case WIRE_TLS_OPT_KEY: p->key = arg; return true;
	default: return false;
	}
}
