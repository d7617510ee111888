/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 with mutual certificate authentication under the migration wire
 * protocol (GnuTLS; see README "Credentials" for the choice).
 *
 * Both ends hold a certificate and key signed by one CA. The source checks
 * that the destination's certificate names the host or address it was
 * given in --to (DNS or IP subject alternative name); the destination
 * checks the source's against the CA (and CRL) and, when told to, against
 * a list of accepted names (--allow). Only TLS 1.3 is offered. Once the
 * handshake is done, wire_conn's frames travel as TLS records (the
 * transport hooks of struct wire_xport); nothing of the protocol runs
 * before it.
 *
 * Files (CRIU's option names): --tls-cacert, --tls-cacrl, --tls-cert,
 * --tls-key; defaults under /etc/ferry/pki/ (ca.pem, crl.pem if present,
 * cert.pem, key.pem), or under $FERRY_PKI_DIR when that is set.
 */
#ifndef FERRY_WIRE_TLS_H
#define FERRY_WIRE_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct wire_conn;
struct wire_tls;

#define WIRE_TLS_DEFAULT_DIR	"/etc/ferry/pki"
#define WIRE_TLS_MAX_NAMES	16

struct wire_tls_paths {
	const char *cacert, *cacrl, *cert, *key;	/* NULL: the default */
};

/* The --tls-* options every command that connects takes (getopt_long
 * entries; their values are these codes). */
enum { WIRE_TLS_OPT_CACERT = 0x1100, WIRE_TLS_OPT_CACRL, WIRE_TLS_OPT_CERT, WIRE_TLS_OPT_KEY };
#define WIRE_TLS_LONGOPTS \
	{ "tls-cacert", required_argument, NULL, WIRE_TLS_OPT_CACERT }, \
	{ "tls-cacrl", required_argument, NULL, WIRE_TLS_OPT_CACRL }, \
	{ "tls-cert", required_argument, NULL, WIRE_TLS_OPT_CERT }, \
	{ "tls-key", required_argument, NULL, WIRE_TLS_OPT_KEY }
/* Store one of them into p: true if c was one. */
bool wire_tls_getopt(int c, const char *arg, struct wire_tls_paths *p);

/* The peer certificate's names: subject CN, DNS and IP alternative names. */
struct wire_tls_peer {
	char names[WIRE_TLS_MAX_NAMES][256];
	size_t n;
};

/*
 * Load credentials (NULL paths take the defaults). -ENOENT with err naming
 * the missing file and how to make one (`ferry pki`), or another -errno.
 */
int wire_tls_load(struct wire_tls **out, const struct wire_tls_paths *p, bool server, char *err,
		  size_t errlen);
void wire_tls_free(struct wire_tls *t);

/* Client: handshake on c->fd (within c's deadline), the server's
 * certificate checked against host (a DNS name or an IP address). */
int wire_tls_client(struct wire_conn *c, struct wire_tls *t, const char *host, char *err,
		    size_t errlen);
/* Server: handshake, the client's certificate checked against the CA and
 * its names against allow (nallow 0: any). -EACCES when refused. */
int wire_tls_server(struct wire_conn *c, struct wire_tls *t, const char *const *allow,
		    size_t nallow, struct wire_tls_peer *peer, char *err, size_t errlen);
/* Close the session (a TLS close_notify) and unhook it from c. */
void wire_tls_end(struct wire_conn *c);

/* The path a default resolves to (for messages). */
const char *wire_tls_default(const char *file, char *buf, size_t size);

#endif
