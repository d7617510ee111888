// SPDX-License-Identifier: GPL-2.0
/*
 * wire_bench MIB ROUNDS PKI_DIR -- the migration wire's throughput over
 * loopback TCP, plaintext against TLS 1.3 (ferry's GnuTLS layer, the
 * certificates of PKI_DIR: ca/ a/ b/ as `make user` writes them), at the
 * same compression, in the same run: MIB of page data sent as PAGES
 * frames, received and decompressed by a child process, then a
 * ROUND_END/ROUND_ACK; alternately plain and TLS, ROUNDS times each, for
 * compressible pages (zstd shrinks them) and random ones (sent raw).
 * Also the raw AES-GCM speed of GnuTLS on 16 KiB records, the record size
 * of TLS. Prints JSON: medians in MiB/s and the ratios TLS/plain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "mig_net.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"

static const char *pki;

static struct wire_tls *creds(const char *who, bool server)
{
	char c[4200], k[4200], a[4200], err[8192];
	struct wire_tls_paths p = { .cacert = a, .cert = c, .key = k };
	struct wire_tls *t;

	snprintf(c, sizeof(c), "%s/%s/cert.pem", pki, who);
	snprintf(k, sizeof(k), "%s/%s/key.pem", pki, who);
	snprintf(a, sizeof(a), "%s/%s/ca.pem", pki, who);
	if (wire_tls_load(&t, &p, server, err, sizeof(err))) {
		fprintf(stderr, "wire_bench: %s\n", err);
		exit(1);
	}
	return t;
}

static void die(const char *what, struct wire_conn *c)
{
	fprintf(stderr, "wire_bench: %s: %s\n", what, c ? c->err : strerror(errno));
	exit(1);
}

/* The receiving end: PAGES until ROUND_END, decompressed, then ACK. */
static void receiver(int lfd, bool tls)
{
	struct wire_tls *t = tls ? creds("b", true) : NULL;
	uint8_t *buf = malloc(WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
	struct wire_tls_peer peer;
	struct wire_pages_hdr h;
	struct wire_round r;
	struct wire_conn c;
	struct wire_msg m;
	char err[1024];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || !buf)
		die("accept", NULL);
	mig_net_tune(fd);
	wire_init(&c, fd);
	if (t && wire_tls_server(&c, t, NULL, 0, &peer, err, sizeof(err))) {
		fprintf(stderr, "wire_bench: %s\n", err);
		exit(1);
	}
	for (;;) {
		if (wire_recv(&c, &m))
			die("receive", &c);
		if (m.type == WIRE_ROUND_END)
			break;
		if (wire_parse_pages(&c, &m, &h, buf, WIRE_MAX_PAGES * WIRE_PAGE_SIZE))
			die("pages", &c);
	}
	if (wire_parse_round(&c, &m, &r) || wire_send_round(&c, WIRE_ROUND_ACK, &r))
		die("ack", &c);
	wire_tls_end(&c);
	_exit(0);
}

/* One transfer: MiB/s, sender to acknowledged. */
static double transfer(uint64_t mib, bool tls, const uint8_t *data)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct wire_tls *t = tls ? creds("a", false) : NULL;
	struct wire_round r = { 0 };
	struct wire_conn c;
	struct wire_msg m;
	char err[1024];
	uint64_t frames = mib * 256 / WIRE_MAX_PAGES * 4, t0;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, status;
	pid_t pid;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl))
		die("listen", NULL);
	pid = fork();
	if (pid == 0)
		receiver(lfd, tls);
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	mig_net_tune(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect", NULL);
	wire_init(&c, fd);
	if (t && wire_tls_client(&c, t, "127.0.0.1", err, sizeof(err))) {
		fprintf(stderr, "wire_bench: %s\n", err);
		exit(1);
	}
	t0 = ferry_now_ns();
	for (uint64_t i = 0; i < frames; i++)
		if (wire_send_pages(&c, 1, 0x10000000ull + i * WIRE_MAX_PAGES * WIRE_PAGE_SIZE,
				    WIRE_MAX_PAGES, data + (i % 4) * WIRE_PAGE_SIZE))
			die("send", &c);
	if (wire_send_round(&c, WIRE_ROUND_END, &r) || wire_expect(&c, WIRE_ROUND_ACK, &m))
		die("round", &c);
	t0 = ferry_now_ns() - t0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		exit(1);
	wire_tls_end(&c);
	wire_free(&c);
	close(fd);
	wire_tls_free(t);
	return (double)(frames * WIRE_MAX_PAGES * WIRE_PAGE_SIZE) / 1048576.0 / (t0 / 1e9);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

/* GnuTLS AES-GCM encryption of 16 KiB records, MiB/s. */
static double cipher_speed(gnutls_cipher_algorithm_t alg)
{
	uint8_t key[32] = { 1 }, iv[12] = { 2 }, *buf = calloc(1, 16384 + 16);
	gnutls_datum_t k = { key, (unsigned int)gnutls_cipher_get_key_size(alg) };
	gnutls_aead_cipher_hd_t h;
	uint64_t t0 = ferry_now_ns(), n = 0;

	if (!buf || gnutls_aead_cipher_init(&h, alg, &k) < 0)
		return 0;
	while (ferry_now_ns() - t0 < 1000000000ull) {
		size_t out = 16384 + 16;

		for (int i = 0; i < 64; i++, n++) {
			iv[0] = (uint8_t)n;
			gnutls_aead_cipher_encrypt(h, iv, sizeof(iv), NULL, 0, 16, buf, 16384, buf, &out);
		}
	}
	t0 = ferry_now_ns() - t0;
	gnutls_aead_cipher_deinit(h);
	free(buf);
	return (double)n * 16384 / 1048576.0 / (t0 / 1e9);
}

int main(int argc, char **argv)
{
	uint64_t mib, rounds;
	uint8_t *data[2];
	double res[2][2][32];	/* [compressible][tls][round] */

	if (argc != 4 || !ferry_parse_u64(argv[1], 4, 65536, &mib) ||
	    !ferry_parse_u64(argv[2], 1, 32, &rounds)) {
		fprintf(stderr, "usage: wire_bench MIB ROUNDS PKI_DIR\n");
		return 2;
	}
	pki = argv[3];
	signal(SIGPIPE, SIG_IGN);
	/* 4 MiB + 3 pages of each kind, frames start at shifting offsets */
	for (int k = 0; k < 2; k++) {
		size_t len = (size_t)(WIRE_MAX_PAGES + 4) * WIRE_PAGE_SIZE;
		uint32_t x = 12345;

		data[k] = malloc(len);
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			/* compressible: text-like runs with some noise */
			data[k][i] = k ? (uint8_t)("ferry moves trees "[i % 18] ^ ((x >> 28) == 0))
				       : (uint8_t)(x >> 16);
		}
	}
	for (uint64_t r = 0; r < rounds; r++)
		for (int k = 0; k < 2; k++)
			for (int tls = 0; tls < 2; tls++)
				res[k][tls][r] = transfer(mib, tls, data[k]);
	double rp = median(res[0][0], (int)rounds), rt = median(res[0][1], (int)rounds);
	double cp = median(res[1][0], (int)rounds), ct = median(res[1][1], (int)rounds);

	printf("{\"mib\": %llu, \"rounds\": %llu, \"library\": \"GnuTLS %s\",\n"
	       " \"random_plain_mib_s\": %.1f, \"random_tls_mib_s\": %.1f, \"random_ratio\": %.3f,\n"
	       " \"compressible_plain_mib_s\": %.1f, \"compressible_tls_mib_s\": %.1f, "
	       "\"compressible_ratio\": %.3f,\n"
	       " \"aes128gcm_16k_mib_s\": %.1f, \"aes256gcm_16k_mib_s\": %.1f}\n",
	       (unsigned long long)mib, (unsigned long long)rounds, gnutls_check_version(NULL), rp,
	       rt, rt / rp, cp, ct, ct / cp, cipher_speed(GNUTLS_CIPHER_AES_128_GCM),
	       cipher_speed(GNUTLS_CIPHER_AES_256_GCM));
	return 0;
}
