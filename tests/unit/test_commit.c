// SPDX-License-Identifier: GPL-2.0
/*
 * The commit protocol: the receiver's outcome records, the source's
 * verdicts when the answer comes, is forged, or is lost and must be asked
 * for on a new connection, and the settle record of a frozen tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cmocka.h>
#include "mig_commit.h"
#include "mig_frozen.h"
#include "recv_outcome.h"
#include "util.h"
#include "wire.h"
#include "wire_pc.h"
#include "peer.h"

static char tmp[64], state[128];
static const uint8_t id_a[WIRE_ID_LEN] = { 1, 2, 3 }, id_b[WIRE_ID_LEN] = { 9, 9, 9 };

static int setup(void **st)
{
	(void)st;
	strcpy(tmp, "/tmp/ferry-commit-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(state, sizeof(state), "%s/outcomes", tmp);
	signal(SIGPIPE, SIG_IGN);
	return recv_outcome_init(state, 86400);
}

static int teardown(void **st)
{
	(void)st;
	return peer_rmdir(tmp);
}

static void put(const uint8_t *id, uint32_t st, pid_t session, const char *peer)
{
	struct recv_outcome_rec r = { .state = st, .session = session, .v = { 11, 22, 33, 44 } };

	snprintf(r.peer, sizeof(r.peer), "%s", peer);
	assert_int_equal(recv_outcome_write(state, id, &r), 0);
}

static void test_records(void **st)
{
	struct recv_outcome_rec r;
	uint64_t v[4];
	pid_t dead = fork();

	(void)st;
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	assert_int_equal(recv_outcome_answer(state, id_a, "src", v), WIRE_OUTCOME_UNKNOWN);
	put(id_a, RECV_OUTCOME_PENDING, getpid(), "src");
	assert_int_equal(recv_outcome_answer(state, id_a, "src", v), WIRE_OUTCOME_IN_PROGRESS);
	put(id_a, RECV_OUTCOME_PENDING, dead, "src");	/* its session died */
	assert_int_equal(recv_outcome_answer(state, id_a, "src", v), WIRE_OUTCOME_UNKNOWN);
	put(id_a, WIRE_OUTCOME_RESTORED, getpid(), "src");
	assert_int_equal(recv_outcome_answer(state, id_a, "src", v), WIRE_OUTCOME_RESTORED);
	assert_int_equal(v[2], 33);
	/* another source learns nothing about it */
	assert_int_equal(recv_outcome_answer(state, id_a, "mallory", v), WIRE_OUTCOME_UNKNOWN);
	put(id_a, WIRE_OUTCOME_NOT_RESTORED, 0, "");
	assert_int_equal(recv_outcome_read(state, id_a, &r), 0);
	assert_int_equal(r.state, WIRE_OUTCOME_NOT_RESTORED);
	assert_string_equal(r.peer, "");
	assert_int_equal(recv_outcome_answer(state, id_a, "", v), WIRE_OUTCOME_NOT_RESTORED);
	put(id_a, WIRE_OUTCOME_LOST, 0, "");
	assert_int_equal(recv_outcome_answer(state, id_a, "", v), WIRE_OUTCOME_LOST);
}

/* fake_dest's post-copy answers: RESTORED (the tree runs there), then it
 * is killed there, having reached the world or not */
#define PC_KILLED_LOST	0xfff0
#define PC_KILLED_QUIET	0xfff1

/* A destination that answers COMMIT with frame type (or hangs up). */
static pid_t fake_dest(int fd, uint16_t type, const uint8_t *id)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct wire_conn c;
		struct wire_msg m;
		uint64_t v[6] = { 1, 2, 3, 4 };

		wire_init(&c, fd);
		if (wire_expect(&c, WIRE_COMMIT, &m))
			_exit(1);
		if (type == WIRE_RESTORED) {
			memcpy(&v[4], id, 8);
			memcpy(&v[5], id + 8, 8);
			wire_send_u64s(&c, WIRE_RESTORED, v, 6);
		} else if (type == WIRE_NOT_RESTORED) {
			wire_send_error(&c, WIRE_NOT_RESTORED, -EIO, "criu restore failed");
		} else if (type == PC_KILLED_LOST || type == PC_KILLED_QUIET) {
			memcpy(&v[4], id, 8);
			memcpy(&v[5], id + 8, 8);
			wire_send_u64s(&c, WIRE_RESTORED, v, 6);
			wire_send_error(&c, WIRE_NOT_RESTORED,
					type == PC_KILLED_LOST ? WIRE_PC_LOST : -ETIMEDOUT,
					"post-copy: no page from the source for 30 s");
		} else if (type == WIRE_ERROR) {
			wire_send_error(&c, WIRE_ERROR, -EIO, "something");
		}
		_exit(0);	/* and the connection goes */
	}
	return pid;
}

/* COMMIT over a socketpair to a fake destination; queries go to a real
 * `ferry receive --insecure` answering from state. */
static int pushed_all(void *arg)
{
	(void)arg;
	return 1;
}

static bool last_lost;

static enum mig_verdict run(uint16_t answer, const uint8_t *answer_id, const char *to,
			    int settle_ms)
{
	struct mig_commit k = { .to = to, .restore_ms = 5000, .settle_ms = settle_ms,
				.postcopy = answer >= PC_KILLED_LOST, .idle = pushed_all };
	struct wire_conn c;
	enum mig_verdict v;
	int sp[2];
	pid_t d;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	d = fake_dest(sp[1], answer, answer_id);
	close(sp[1]);
	wire_init(&c, sp[0]);
	k.c = &c;
	memcpy(k.id, id_b, WIRE_ID_LEN);
	v = mig_commit_run(&k);
	last_lost = k.lost;
	waitpid(d, NULL, 0);
	wire_free(&c);
	close(sp[0]);
	return v;
}

static void test_verdicts(void **st)
{
	struct sockaddr_in sa = peer_free_port();
	char listen[64];
	pid_t srv;
	int fd;

	(void)st;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(sa.sin_port));
	char *argv[] = { "receive", "--listen", listen, "--dir", tmp, "--insecure",
			 "--state-dir", state, NULL };

	srv = peer_start_receiver(8, argv);
	fd = peer_connect(&sa);	/* it listens */
	close(fd);
	/* the answer arrives */
	assert_int_equal(run(WIRE_RESTORED, id_b, listen, 1000), MIG_VERDICT_RESTORED);
	assert_int_equal(run(WIRE_NOT_RESTORED, NULL, listen, 1000), MIG_VERDICT_NOT_RESTORED);
	/* lost, or not an answer (a forged RESTORED of another migration, an
	 * ERROR): the record decides; none yet -- stay frozen */
	assert_int_equal(run(0, NULL, listen, 1000), MIG_VERDICT_UNKNOWN);
	assert_int_equal(run(WIRE_RESTORED, id_a, listen, 1000), MIG_VERDICT_UNKNOWN);
	assert_int_equal(run(WIRE_ERROR, NULL, listen, 1000), MIG_VERDICT_UNKNOWN);
	/* the record says restored: the lost answer is recovered */
	put(id_b, WIRE_OUTCOME_RESTORED, 0, "");
	assert_int_equal(run(0, NULL, listen, 1000), MIG_VERDICT_RESTORED);
	put(id_b, WIRE_OUTCOME_NOT_RESTORED, 0, "");
	assert_int_equal(run(WIRE_ERROR, NULL, listen, 1000), MIG_VERDICT_NOT_RESTORED);
	/* a restore still in progress: ask until it ends */
	put(id_b, RECV_OUTCOME_PENDING, getpid(), "");
	pid_t later = fork();

	if (later == 0) {
		sleep(3);
		put(id_b, WIRE_OUTCOME_RESTORED, 0, "");
		_exit(0);
	}
	assert_int_equal(run(0, NULL, listen, 20000), MIG_VERDICT_RESTORED);
	waitpid(later, NULL, 0);
	/* post-copy: killed there after it ran. Quiet: ours may resume. It may
	 * have reached the world: ours stays frozen, at once (no queries) */
	assert_int_equal(run(PC_KILLED_QUIET, id_b, listen, 1000), MIG_VERDICT_NOT_RESTORED);
	uint64_t t0 = ferry_now_ns();

	assert_int_equal(run(PC_KILLED_LOST, id_b, listen, 20000), MIG_VERDICT_UNKNOWN);
	assert_true(last_lost);
	assert_true(ferry_now_ns() - t0 < 5000000000ull);
	/* the record says lost: a definite answer, no copy current */
	put(id_b, WIRE_OUTCOME_LOST, 0, "");
	t0 = ferry_now_ns();
	assert_int_equal(run(0, NULL, listen, 20000), MIG_VERDICT_UNKNOWN);
	assert_true(last_lost);
	assert_true(ferry_now_ns() - t0 < 5000000000ull);
	peer_stop_receiver(srv);
	/* the destination is gone for good: unknown, within the deadline */
	uint64_t t = ferry_now_ns();

	assert_int_equal(run(0, NULL, listen, 3000), MIG_VERDICT_UNKNOWN);
	assert_true(ferry_now_ns() - t < 10000000000ull);
}

static void test_settle_record(void **st)
{
	struct mig_frozen f = { .root = getpid(), .npids = 2, .addr_removed = true }, g;
	pid_t pids[2] = { getpid(), 12345 };
	uint8_t id[WIRE_ID_LEN];
	char to[64], err[256];

	(void)st;
	f.pids = pids;
	assert_int_equal(mig_addr_parse("10.99.0.100/24", &f.addr, err, sizeof(err)), 0);
	assert_int_equal(mig_frozen_save(&f, tmp, "b:7900", id_a, err, sizeof(err)), 0);
	assert_int_equal(mig_frozen_load(&g, tmp, to, sizeof(to), id, err, sizeof(err)), 0);
	assert_string_equal(to, "b:7900");
	assert_memory_equal(id, id_a, WIRE_ID_LEN);
	assert_int_equal(g.root, getpid());
	assert_int_equal(g.npids, 2);
	assert_int_equal(g.pids[1], 12345);
	assert_true(g.addr_removed);
	assert_int_equal(g.addr.prefix, 24);
	assert_true(mig_frozen_same_tree(&g));
	g.root_start++;
	assert_false(mig_frozen_same_tree(&g));
	mig_frozen_free(&g);
}

/*
 * The source's kill of its frozen tree drops CRIU's lock only once the
 * dumped connections are no sockets here any more: a socket held beyond
 * its processes (here by the test itself) keeps the lock, whatever became
 * of the processes; once it is closed, the lock goes. Before, the lock went
 * as soon as the processes were gone, or after 5 s regardless, with such a
 * socket still taking what its peer sent (a 6.1 soak lost a stream so).
 */
static void test_kill_waits_for_sockets(void **st)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct mig_tcp_conn c = { .family = AF_INET };
	struct mig_frozen f = { .tcp = true, .nconns = 1 };
	struct sockaddr_in l, r;
	int lfd, cfd, afd;
	pid_t child;

	(void)st;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);
	al = sizeof(l);
	assert_int_equal(getsockname(afd, (struct sockaddr *)&l, &al), 0);
	al = sizeof(r);
	assert_int_equal(getpeername(afd, (struct sockaddr *)&r, &al), 0);
	/* the dumped connection: the accepted end, as CRIU's image has it */
	c.src[0] = l.sin_addr.s_addr;
	c.dst[0] = r.sin_addr.s_addr;
	c.sport = ntohs(l.sin_port);
	c.dport = ntohs(r.sin_port);
	/* the "tree": a child that would hold it; it is gone at once */
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		pause();
		_exit(0);
	}
	f.root = child;
	f.pids = &child;
	f.npids = 1;
	f.conns = &c;
	mig_frozen_gone_wait_ms = 300;
	assert_int_equal(mig_frozen_kill(&f), 1);	/* afd still a socket here */
	waitpid(child, NULL, 0);
	close(afd);
	close(cfd);
	/* the accepted end closed first: FIN_WAIT, gone from the table only
	 * after its peer's close; the lock goes then */
	assert_int_equal(mig_frozen_kill(&f), 0);
	close(lfd);
	mig_frozen_gone_wait_ms = 120000;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_settle_record),
		cmocka_unit_test(test_kill_waits_for_sockets),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
