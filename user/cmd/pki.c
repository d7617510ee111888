// SPDX-License-Identifier: GPL-2.0
/*
 * ferry pki: a small certificate authority for the migration channel, so
 * that a newcomer has mutual TLS in three commands. See usage_text.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include "cmds.h"
#include "util.h"
#include "wire_tls.h"

static const char usage_text[] =
"Usage: ferry pki init [--ca-dir DIR] [--days N] [--force]\n"
"       ferry pki issue NAME [--ip ADDR]... [--dns NAME]... [--ca-dir DIR]\n"
"                            [--out DIR] [--days N] [--force]\n"
"\n"
"Credentials for ferry's migration channel, which is TLS 1.3 with a\n"
"certificate on both ends (`ferry migrate` checks the destination's against\n"
"the name or address in --to; `ferry receive` accepts any certificate of\n"
"its CA, or only the names given with --allow).\n"
"\n"
"  init    create a certificate authority: DIR/ca.pem and DIR/ca-key.pem\n"
"          (ECDSA P-256; the key 0600). DIR defaults to /etc/ferry/ca; keep\n"
"          it on one trusted machine.\n"
"  issue   create a host certificate for NAME signed by that CA: OUT/cert.pem,\n"
"          OUT/key.pem (0600) and a copy of the CA's ca.pem, the layout\n"
"          ferry reads by default from /etc/ferry/pki (OUT's default). The\n"
"          certificate is valid for TLS server and client use, carries NAME\n"
"          as its common name and DNS name, and every --ip and --dns given:\n"
"          give the address or name the other hosts use in --to.\n"
"\n"
"Options:\n"
"  --ca-dir DIR   the CA's directory (default /etc/ferry/ca)\n"
"  --out DIR      where issue writes (default /etc/ferry/pki)\n"
"  --ip ADDR      an IPv4 or IPv6 address of the host (repeatable)\n"
"  --dns NAME     another DNS name of the host (repeatable)\n"
"  --days N       validity (default 3650 for init, 825 for issue)\n"
"  --force        overwrite existing files\n"
"\n"
"Two hosts, a (10.0.0.1) and b (10.0.0.2), from scratch:\n"
"  a# ferry pki init\n"
"  a# ferry pki issue a --ip 10.0.0.1\n"
"  a# ferry pki issue b --ip 10.0.0.2 --out /tmp/b-pki\n"
"  a# scp -r /tmp/b-pki/. b:/etc/ferry/pki/ && rm -r /tmp/b-pki\n"
"Then b: `ferry receive --listen 10.0.0.2:7900`; a: `ferry migrate PID --to\n"
"10.0.0.2:7900`. A revocation list, if the CA publishes one, goes to\n"
"/etc/ferry/pki/crl.pem (read when present). certtool or openssl make\n"
"equivalent files (README, \"Credentials\").\n"
"\n"
"Exit status: 0 done, 1 failed, 2 bad usage.\n";

#define MAX_SANS 16

struct pki_opts {
	const char *ca_dir, *out, *name;
	const char *ips[MAX_SANS], *dns[MAX_SANS];
	int nips, ndns;
	unsigned int days;
	bool force;
};

static int gfail(const char *what, int g)
{
	ferry_err("%s: %s", what, gnutls_strerror(g));
	return -EIO;
}

static int write_pem(const char *dir, const char *name, const gnutls_datum_t *d, mode_t mode,
		     bool force)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL),
		  mode);
	if (fd < 0) {
		ferry_err("%s: %s%s", path, strerror(errno),
			  errno == EEXIST ? " (--force to overwrite)" : "");
		return -errno;
	}
	if (fchmod(fd, mode) || write(fd, d->data, d->size) != (ssize_t)d->size || close(fd)) {
		ferry_err("%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* A fresh certificate for key: serial, validity, subject CN. */
static int new_crt(gnutls_x509_crt_t *crt, gnutls_x509_privkey_t key, const char *cn,
		   unsigned int days)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int g;

	g = gnutls_x509_crt_init(crt);
	if (g < 0)
		return gfail("certificate", g);
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f;	/* a positive number */
	/* an hour back: hosts whose clocks differ a little still agree */
	if ((g = gnutls_x509_crt_set_version(*crt, 3)) < 0 ||
	    (g = gnutls_x509_crt_set_serial(*crt, serial, sizeof(serial))) < 0 ||
	    (g = gnutls_x509_crt_set_activation_time(*crt, now - 3600)) < 0 ||
	    (g = gnutls_x509_crt_set_expiration_time(*crt, now + (time_t)days * 86400)) < 0 ||
	    (g = gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					       (unsigned int)strlen(cn))) < 0 ||
	    (g = gnutls_x509_crt_set_key(*crt, key)) < 0)
		return gfail("certificate", g);
	return 0;
}

static int new_key(gnutls_x509_privkey_t *key)
{
	int g = gnutls_x509_privkey_init(key);

	if (g >= 0)
		g = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	return g < 0 ? gfail("key", g) : 0;
}

static int set_key_id(gnutls_x509_crt_t crt)
{
	unsigned char id[64];
	size_t n = sizeof(id);
	int g = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, id, &n);

	if (g >= 0)
		g = gnutls_x509_crt_set_subject_key_id(crt, id, n);
	return g < 0 ? gfail("key id", g) : 0;
}

static int export_pair(const char *dir, const char *crt_name, const char *key_name,
		       gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, bool force)
{
	gnutls_datum_t c = { 0 }, k = { 0 };
	int ret, g;

	g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c);
	if (g >= 0)
		g = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k);
	if (g < 0) {
		gnutls_free(c.data);
		return gfail("export", g);
	}
	/* the key first: a certificate without its key is useless */
	ret = write_pem(dir, key_name, &k, 0600, force);
	if (!ret)
		ret = write_pem(dir, crt_name, &c, 0644, force);
	gnutls_free(c.data);
	gnutls_free(k.data);
	return ret;
}

static int pki_init(const struct pki_opts *o)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	int ret;

	ret = ferry_mkdirs(o->ca_dir, 0700);
	if (ret) {
		ferry_err("%s: %s", o->ca_dir, strerror(-ret));
		return ret;
	}
	ret = new_key(&key);
	if (!ret)
		ret = new_crt(&crt, key, "ferry migration CA", o->days);
	if (!ret && (gnutls_x509_crt_set_basic_constraints(crt, 1, 0) < 0 ||
		     gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN |
						   GNUTLS_KEY_CRL_SIGN) < 0))
		ret = gfail("CA extensions", GNUTLS_E_INTERNAL_ERROR);
	if (!ret)
		ret = set_key_id(crt);
	if (!ret) {
		int g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);

		if (g < 0)
			ret = gfail("signing", g);
	}
	if (!ret)
		ret = export_pair(o->ca_dir, "ca.pem", "ca-key.pem", crt, key, o->force);
	if (!ret)
		printf("CA created: %s/ca.pem (key %s/ca-key.pem)\n", o->ca_dir, o->ca_dir);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ret;
}

static int load_ca(const char *dir, gnutls_x509_crt_t *crt, gnutls_x509_privkey_t *key,
		   gnutls_datum_t *pem)
{
	char path[4200];
	gnutls_datum_t k = { 0 };
	int g;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	g = gnutls_load_file(path, pem);
	if (g < 0) {
		ferry_err("%s: cannot read (run `ferry pki init` first)", path);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/ca-key.pem", dir);
	g = gnutls_load_file(path, &k);
	if (g < 0) {
		ferry_err("%s: cannot read", path);
		return -ENOENT;
	}
	if ((g = gnutls_x509_crt_init(crt)) < 0 ||
	    (g = gnutls_x509_crt_import(*crt, pem, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (g = gnutls_x509_privkey_init(key)) < 0 ||
	    (g = gnutls_x509_privkey_import(*key, &k, GNUTLS_X509_FMT_PEM)) < 0) {
		gnutls_free(k.data);
		return gfail(dir, g);
	}
	gnutls_free(k.data);
	return 0;
}

static int add_sans(gnutls_x509_crt_t crt, const struct pki_opts *o)
{
	int g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, o->name,
						     (unsigned int)strlen(o->name), GNUTLS_FSAN_APPEND);

	for (int i = 0; g >= 0 && i < o->ndns; i++)
		g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, o->dns[i],
							 (unsigned int)strlen(o->dns[i]),
							 GNUTLS_FSAN_APPEND);
	for (int i = 0; g >= 0 && i < o->nips; i++) {
		unsigned char a[16];
		unsigned int n = 4;

		if (inet_pton(AF_INET, o->ips[i], a) != 1) {
			n = 16;
			if (inet_pton(AF_INET6, o->ips[i], a) != 1) {
				ferry_err("--ip: bad address '%s'", o->ips[i]);
				return -EINVAL;
			}
		}
		g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, n,
							 GNUTLS_FSAN_APPEND);
	}
	return g < 0 ? gfail("alternative names", g) : 0;
}

static int pki_issue(const struct pki_opts *o)
{
	gnutls_x509_privkey_t cakey = NULL, key = NULL;
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_datum_t capem = { 0 };
	unsigned char id[64];
	size_t idn = sizeof(id);
	int ret, g;

	ret = load_ca(o->ca_dir, &ca, &cakey, &capem);
	if (!ret && (ret = ferry_mkdirs(o->out, 0700)))
		ferry_err("%s: %s", o->out, strerror(-ret));
	if (!ret)
		ret = new_key(&key);
	if (!ret)
		ret = new_crt(&crt, key, o->name, o->days);
	if (!ret)
		ret = add_sans(crt, o);
	if (!ret) {
		if ((g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
		    (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
		    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
		    (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
		    (g = gnutls_x509_crt_get_subject_key_id(ca, id, &idn, NULL)) < 0 ||
		    (g = gnutls_x509_crt_set_authority_key_id(crt, id, idn)) < 0)
			ret = gfail("host extensions", g);
	}
	if (!ret)
		ret = set_key_id(crt);
	if (!ret && (g = gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0)) < 0)
		ret = gfail("signing", g);
	if (!ret)
		ret = export_pair(o->out, "cert.pem", "key.pem", crt, key, o->force);
	if (!ret)
		ret = write_pem(o->out, "ca.pem", &capem, 0644, true);
	if (!ret)
		printf("certificate for %s: %s/cert.pem, key %s/key.pem, CA %s/ca.pem\n", o->name,
		       o->out, o->out, o->out);
	gnutls_free(capem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (cakey)
		gnutls_x509_privkey_deinit(cakey);
	return ret;
}

int cmd_pki(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca-dir", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "ip", required_argument, NULL, 'i' },
		{ "dns", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pki_opts o = { .ca_dir = "/etc/ferry/ca", .out = WIRE_TLS_DEFAULT_DIR };
	const char *verb;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		}
		fputs(usage_text, stderr);
		return FERRY_EXIT_USAGE;
	}
	if (optind >= argc) {
		ferry_err("missing init or issue (see ferry pki --help)");
		return FERRY_EXIT_USAGE;
	}
	verb = argv[optind];
	optind++;
	while (optind < argc) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1) {
			if (o.name || strcmp(verb, "issue")) {
				ferry_err("unexpected argument '%s'", argv[optind]);
				return FERRY_EXIT_USAGE;
			}
			o.name = argv[optind++];
			continue;
		}
		switch (c) {
		case 'c': o.ca_dir = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': o.force = true; break;
		case 'i':
		case 'd':
			if ((c == 'i' ? o.nips : o.ndns) == MAX_SANS) {
				ferry_err("at most %d --ip and %d --dns", MAX_SANS, MAX_SANS);
				return FERRY_EXIT_USAGE;
			}
			if (c == 'i')
				o.ips[o.nips++] = optarg;
			else
				o.dns[o.ndns++] = optarg;
			break;
		case 'D':
			if (!ferry_parse_u64(optarg, 1, 36500, &v)) {
				ferry_err("bad --days '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			o.days = (unsigned int)v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return FERRY_EXIT_USAGE;
		}
	}
	if (!strcmp(verb, "init")) {
		if (!o.days)
			o.days = 3650;
		return pki_init(&o) ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
	}
	if (!strcmp(verb, "issue")) {
		if (!o.name || !o.name[0]) {
			ferry_err("issue: missing NAME");
			return FERRY_EXIT_USAGE;
		}
		if (!o.days)
			o.days = 825;
		return pki_issue(&o) ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
	}
	ferry_err("unknown pki command '%s' (init or issue)", verb);
	return FERRY_EXIT_USAGE;
}
