// SPDX-License-Identifier: GPL-2.0
/*
 * The migration channel trusts nobody: a real `ferry receive` server with
 * certificates from `ferry pki`, and peers that are plain TCP, signed by
 * another CA, not on --allow, or a destination whose certificate does not
 * name the host dialled. Each is refused before a byte of the protocol is
 * read, and nothing is written to --dir; the good peer gets its HELLO.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cmocka.h>
#include "cmds.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"
#include "peer.h"

static char tmp[64], store[128], ca[128], evil[128];

static void run_pki(const char *a0, const char *a1, const char *a2, const char *a3,
		    const char *a4, const char *a5, const char *a6, const char *a7)
{
	char *argv[] = { "pki", (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4,
			 (char *)a5, (char *)a6, (char *)a7, NULL };
	int argc = 1;
	int out = dup(1), nul = open("/dev/null", O_WRONLY);

	while (argv[argc])
		argc++;
	optind = 0;
	fflush(stdout);
	dup2(nul, 1);
	assert_int_equal(cmd_pki(argc, argv), 0);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(nul);
}

static int setup(void **state)
{
	char d[3][160];

	(void)state;
	strcpy(tmp, "/tmp/ferry-tls-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(store, sizeof(store), "%s/store", tmp);
	snprintf(ca, sizeof(ca), "%s/ca", tmp);
	snprintf(evil, sizeof(evil), "%s/evil-ca", tmp);
	mkdir(store, 0700);
	snprintf(d[0], sizeof(d[0]), "%s/dst", tmp);
	snprintf(d[1], sizeof(d[1]), "%s/src", tmp);
	snprintf(d[2], sizeof(d[2]), "%s/mallory", tmp);
	run_pki("init", "--ca-dir", ca, NULL, NULL, NULL, NULL, NULL);
	run_pki("init", "--ca-dir", evil, NULL, NULL, NULL, NULL, NULL);
	run_pki("issue", "dst", "--ip", "127.0.0.1", "--ca-dir", ca, "--out", d[0]);
	run_pki("issue", "src", "--ip", "127.0.0.2", "--ca-dir", ca, "--out", d[1]);
	/* the same name as the real source, from another CA */
	run_pki("issue", "src", "--ip", "127.0.0.2", "--ca-dir", evil, "--out", d[2]);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return peer_rmdir(tmp);
}

static struct wire_tls *creds(const char *who, bool server)
{
	char c[200], k[200], a[200];
	struct wire_tls_paths p = { .cacert = a, .cert = c, .key = k };
	struct wire_tls *t;
	char err[512];

	snprintf(c, sizeof(c), "%s/%s/cert.pem", tmp, who);
	snprintf(k, sizeof(k), "%s/%s/key.pem", tmp, who);
	snprintf(a, sizeof(a), "%s/%s/ca.pem", tmp, who);
	assert_int_equal(wire_tls_load(&t, &p, server, err, sizeof(err)), 0);
	return t;
}

struct server {
	struct sockaddr_in sa;
	pid_t pid;
};

/* `ferry receive` with dst's credentials, plus extra options. */
static void serve(struct server *sv, const char *opt, const char *arg)
{
	static char listen[64], pki[160];
	static char state[160];
	char *argv[] = { "receive", "--listen", listen, "--dir", store, "--auth-timeout", "2",
			 "--state-dir", state, (char *)opt, (char *)arg, NULL };

	sv->sa = peer_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(sv->sa.sin_port));
	snprintf(pki, sizeof(pki), "%s/dst", tmp);
	setenv("FERRY_PKI_DIR", pki, 1);
	optind = 0;
	snprintf(state, sizeof(state), "%s/outcomes", tmp);
	sv->pid = peer_start_receiver(opt ? 11 : 9, argv);
	unsetenv("FERRY_PKI_DIR");
}

/* Connect as who (NULL: plain TCP) to host; 0 when HELLO came back. */
static int try_peer(struct server *sv, const char *who, const char *host, char *err,
		    size_t errlen)
{
	struct wire_hello h = { .version = WIRE_VERSION }, peer;
	struct wire_tls *t = who ? creds(who, false) : NULL;
	struct wire_conn c;
	struct wire_msg m;
	int fd = peer_connect(&sv->sa), ret = 0;

	assert_true(fd >= 0);
	wire_init(&c, fd);
	wire_set_timeout(&c, 5000);
	if (t)
		ret = wire_tls_client(&c, t, host, err, errlen);
	strcpy(h.host, "peer");
	h.id[0] = (uint8_t)rand() | 1;
	h.id[1] = (uint8_t)rand();
	if (!ret)
		ret = wire_send_hello(&c, &h);
	if (!ret)
		ret = wire_expect(&c, WIRE_HELLO, &m);
	if (!ret)
		ret = wire_parse_hello(&c, &m, &peer);
	if (ret && !err[0])
		snprintf(err, errlen, "%s", c.err);
	wire_tls_end(&c);
	wire_free(&c);
	close(fd);
	wire_tls_free(t);
	return ret;
}

static void test_refused_without_credentials(void **state)
{
	char *argv[] = { "receive", "--listen", "127.0.0.1:1", "--state-dir", tmp, NULL };
	pid_t pid;
	int status;

	(void)state;
	setenv("FERRY_PKI_DIR", "/nonexistent", 1);
	optind = 0;
	pid = peer_start_receiver(5, argv);
	unsetenv("FERRY_PKI_DIR");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), FERRY_EXIT_FAIL);
}

static void test_peers(void **state)
{
	struct server sv;
	char err[1024];

	(void)state;
	serve(&sv, NULL, NULL);
	/* plain TCP: a HELLO in clear gets no HELLO back */
	err[0] = 0;
	assert_int_not_equal(try_peer(&sv, NULL, NULL, err, sizeof(err)), 0);
	/* another CA, same name */
	err[0] = 0;
	assert_int_not_equal(try_peer(&sv, "mallory", "127.0.0.1", err, sizeof(err)), 0);
	/* the destination must be who --to names: its certificate says
	 * 127.0.0.1 and "dst", not "localhost" */
	err[0] = 0;
	assert_int_equal(try_peer(&sv, "src", "localhost", err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "certificate"));
	/* the real source */
	err[0] = 0;
	assert_int_equal(try_peer(&sv, "src", "127.0.0.1", err, sizeof(err)), 0);
	/* nothing of the refused peers reached the disk */
	peer_stop_receiver(sv.pid);
	assert_int_equal(peer_entries(store), 0);

	/* --allow: only the named sources */
	serve(&sv, "--allow", "someone-else");
	err[0] = 0;
	assert_int_not_equal(try_peer(&sv, "src", "127.0.0.1", err, sizeof(err)), 0);
	peer_stop_receiver(sv.pid);
	serve(&sv, "--allow", "127.0.0.2");	/* an IP alternative name */
	err[0] = 0;
	assert_int_equal(try_peer(&sv, "src", "127.0.0.1", err, sizeof(err)), 0);
	peer_stop_receiver(sv.pid);
	assert_int_equal(peer_entries(store), 0);
}

/*
 * A TLS pair over a socketpair: a child process is the server ("dst"),
 * runs server (its exit status: 0 for success) and exits; the client
 * ("src") is *a, connected and verified, with frame_ms as its timeout.
 */
struct tls_pair {
	struct wire_tls *ts, *tc;
	struct wire_conn a;
	int fd;
	pid_t pid;
};

static void pair_start(struct tls_pair *p, int frame_ms,
		       int (*server)(struct wire_conn *b, const struct wire_tls_peer *peer))
{
	struct wire_tls_peer peer;
	struct wire_conn b;
	char err[512];
	int sp[2];

	p->ts = creds("dst", true);
	p->tc = creds("src", false);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	p->pid = fork();
	if (p->pid == 0) {
		close(sp[0]);
		wire_init(&b, sp[1]);
		wire_set_timeout(&b, 10000);	/* never outlives a failed test */
		if (wire_tls_server(&b, p->ts, NULL, 0, &peer, err, sizeof(err)))
			_exit(100);
		_exit(server(&b, &peer));
	}
	close(sp[1]);
	p->fd = sp[0];
	wire_init(&p->a, p->fd);
	wire_set_timeout(&p->a, frame_ms);
	assert_int_equal(wire_tls_client(&p->a, p->tc, "dst", err, sizeof(err)), 0);
}

/* The server's exit status must be 0. */
static void pair_end(struct tls_pair *p)
{
	int status;

	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	wire_tls_end(&p->a);
	wire_free(&p->a);
	close(p->fd);
	wire_tls_free(p->ts);
	wire_tls_free(p->tc);
}

static int serve_big(struct wire_conn *b, const struct wire_tls_peer *peer)
{
	uint8_t *big = calloc(1, 1 << 20);
	struct wire_msg m;

	if (!big)
		return 1;
	memset(big, 0x5a, 1 << 20);
	if (wire_send(b, WIRE_FILE_DATA, big, 1 << 20) || wire_recv(b, &m) ||
	    m.type != WIRE_DONE)
		return 2;
	return strcmp(peer->names[0], "src") ? 3 : 0;
}

/* Frames cross intact, both ways, large ones too. */
static void test_records(void **state)
{
	struct tls_pair p;
	struct wire_msg m;

	(void)state;
	pair_start(&p, 0, serve_big);
	assert_int_equal(wire_expect(&p.a, WIRE_FILE_DATA, &m), 0);
	assert_int_equal(m.len, 1 << 20);
	assert_int_equal(m.payload[12345], 0x5a);
	assert_int_equal(wire_send(&p.a, WIRE_DONE, NULL, 0), 0);
	pair_end(&p);
}

static int serve_three(struct wire_conn *b, const struct wire_tls_peer *peer)
{
	struct wire_msg m;

	(void)peer;
	for (uint64_t v = 1; v <= 3; v++)
		if (wire_send_u64s(b, WIRE_DONE, &v, 1))
			return 2;
	/* stays connected, silent, until the client is done */
	return wire_recv(b, &m) || m.type != WIRE_DONE ? 3 : 0;
}

/*
 * Frames that arrived together are read without waiting: the transport
 * reads ciphertext ahead (several records per recv), so a record can be
 * waiting in ferry's buffer while the socket is empty, and a poll(2) on
 * the socket before the next frame would sit out the frame timeout.
 */
static void test_readahead_frames(void **state)
{
	struct tls_pair p;
	struct wire_msg m;
	uint64_t t0;

	(void)state;
	pair_start(&p, 4000, serve_three);
	usleep(300 * 1000);	/* all three records in the socket, read at once */
	t0 = ferry_now_ns();
	for (int i = 0; i < 3; i++)
		assert_int_equal(wire_expect(&p.a, WIRE_DONE, &m), 0);
	if (ferry_now_ns() - t0 > 2000000000ull)
		fail_msg("three waiting frames took %llu ms",
			 (unsigned long long)((ferry_now_ns() - t0) / 1000000));
	assert_int_equal(wire_send(&p.a, WIRE_DONE, NULL, 0), 0);
	pair_end(&p);
}

/*
 * A TLS connection reset under a read is a reset, not tampering: the
 * socket's errno reaches wire.c (it words ETIMEDOUT of a dead link as "the
 * peer stopped answering" the same way). GnuTLS's PULL_ERROR was reported
 * as EBADMSG, "Bad message".
 */
static void test_reset_keeps_errno(void **state)
{
	struct wire_tls *ts = creds("dst", true), *tc = creds("src", false);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct wire_conn a;
	struct wire_msg m;
	char err[512];
	int lfd, fd, status;
	pid_t pid;

	(void)state;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	pid = fork();
	if (pid == 0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		struct wire_tls_peer peer;
		struct wire_conn b;
		int cfd = accept(lfd, NULL, NULL);

		wire_init(&b, cfd);
		if (cfd < 0 || wire_tls_server(&b, ts, NULL, 0, &peer, err, sizeof(err)))
			_exit(1);
		/* an abortive close: the peer gets a RST, not a FIN */
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cfd);
		_exit(0);
	}
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	wire_init(&a, fd);
	wire_set_timeout(&a, 5000);
	assert_int_equal(wire_tls_client(&a, tc, "dst", err, sizeof(err)), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(wire_recv(&a, &m), -ECONNRESET);
	if (strstr(a.err, "Bad message") || !strstr(a.err, "reset"))
		fail_msg("a reset reads as: %s", a.err);
	wire_tls_end(&a);
	wire_free(&a);
	close(fd);
	wire_tls_free(ts);
	wire_tls_free(tc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_without_credentials),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_readahead_frames),
		cmocka_unit_test(test_reset_keeps_errno),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
