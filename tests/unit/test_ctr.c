// SPDX-License-Identifier: GPL-2.0
/*
 * ctr_podman.c against a fake `podman` early in PATH (a shell script that
 * prints $FAKE_OUT, records its arguments and exits with $FAKE_RC): what
 * ferry makes of Podman's answers, and what it never passes on. Podman's
 * output is another process's: an unexpected form is refused, never
 * half-used. The real Podman runs in tests/vm/ctr/.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include "ctr.h"
#include "ctr_conntrack.h"
#include "proc_tcp.h"
#include "ctr_runc.h"
#include "util.h"

static char dir[] = "/tmp/ferry-ctr-test-XXXXXX";
static char args_file[PATH_MAX];

static const char hex1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char hex2[] = "2222222222222222222222222222222222222222222222222222222222222222";

static int setup(void **state)
{
	char bin[512], path[8192], script[600];
	FILE *f;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	mkdir(bin, 0700);
	snprintf(script, sizeof(script), "%s/podman", bin);
	snprintf(args_file, sizeof(args_file), "%s/args", dir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n"
		   "echo \"$*\" >>'%s'\n"
		   "[ -n \"$FAKE_SLEEP\" ] && sleep \"$FAKE_SLEEP\"\n"
		   "printf '%%s' \"$FAKE_OUT\"\n"
		   "exit ${FAKE_RC:-0}\n", args_file);
	fclose(f);
	chmod(script, 0755);
	/* runc: --version works, state answers FAKE_STATE / FAKE_STATE_RC */
	snprintf(script, sizeof(script), "%s/runc", bin);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n"
		   "echo \"$*\" >>'%s'\n"
		   "case \" $* \" in\n"
		   "*' --version '*) echo 'runc version 1.1.5'; exit 0 ;;\n"
		   "*' state '*) printf '%%s' \"$FAKE_STATE\"; exit ${FAKE_STATE_RC:-0} ;;\n"
		   "esac\n"
		   "exit ${FAKE_RC:-0}\n", args_file);
	fclose(f);
	chmod(script, 0755);
	snprintf(path, sizeof(path), "%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void fake(const char *out, int rc)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", rc);
	setenv("FAKE_OUT", out, 1);
	setenv("FAKE_RC", n, 1);
	unlink(args_file);
}

static bool has_cgroup2(void)
{
	char buf[4096];

	return ferry_read_file("/proc/self/cgroup", buf, sizeof(buf)) >= 0 &&
	       (!strncmp(buf, "0::/", 4) || strstr(buf, "\n0::/"));
}

static void test_inspect(void **state)
{
	struct ctr_info ci;
	char out[8192], err[512];
	int ret;

	(void)state;
	snprintf(out, sizeof(out), "%s|web-1|%s|%d|running|/var/lib/c/%s/userdata\n", hex1, hex2,
		 (int)getpid(), hex1);
	fake(out, 0);
	ret = ctr_inspect("web-1", &ci, err, sizeof(err));
	if (!has_cgroup2()) {
		assert_int_equal(ret, -ENOENT);	/* cgroup v1: said, not guessed */
		return;
	}
	assert_int_equal(ret, 0);
	assert_string_equal(ci.w.id, hex1);
	assert_string_equal(ci.w.name, "web-1");
	assert_string_equal(ci.w.image, hex2);
	assert_int_equal(ci.pid, getpid());
	assert_non_null(strstr(ci.cgroup, "/sys/fs/cgroup/"));
	assert_non_null(strstr(ci.static_dir, "/userdata"));

	/* not running: refused with its state */
	snprintf(out, sizeof(out), "%s|web-1|%s|0|exited|/var/lib/c\n", hex1, hex2);
	fake(out, 0);
	assert_int_equal(ctr_inspect("web-1", &ci, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "exited"));

	/* forms Podman never answers with are refused, not half-used */
	static const struct { const char *name, *rest; } bad[] = {
		{ "web 1", "|1|running|/x" },		/* a name with a space */
		{ "-x", "|1|running|/x" },		/* a name that is an option */
		{ "w", "|1|running|relative" },		/* a relative directory */
		{ "w", "|1|running" },			/* a field missing */
		{ "w", "|1|running|/x\nmore" },	/* two lines */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(out, sizeof(out), "%s|%s|%s%s\n", hex1, bad[i].name, hex2, bad[i].rest);
		fake(out, 0);
		ret = ctr_inspect("w", &ci, err, sizeof(err));
		assert_true(ret == -EPROTO || ret == -EINVAL);
	}
	/* no such container: Podman's exit status */
	fake("", 125);
	assert_int_equal(ctr_inspect("nope", &ci, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no container nope"));
}

static void test_check_here(void **state)
{
	struct wire_ctr k = { 0 };
	char problem[512], args[4096];

	(void)state;
	strcpy(k.engine, "podman");
	strcpy(k.id, hex1);
	strcpy(k.image, hex2);
	strcpy(k.name, "web-1");

	/* exit 0 for every `exists`: the image is here, but so is the ID */
	fake("", 0);
	assert_int_equal(ctr_check_here(&k, NULL, problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "with ID"));
	assert_true(ferry_read_file(args_file, args, sizeof(args)) > 0);
	assert_non_null(strstr(args, "image exists 2222"));
	assert_non_null(strstr(args, "container exists 1111"));

	/* exit 1 for every `exists`: no image */
	fake("", 1);
	assert_int_equal(ctr_check_here(&k, NULL, problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "image 222222222222 is not here"));

	/* Podman broken (exit 125): -EIO, not a yes */
	fake("", 125);
	assert_true(ctr_check_here(&k, NULL, problem, sizeof(problem)) < 0);
}

/* Podman's mounts: a named volume mounted twice is one volume to copy
 * (the destination would refuse to make its name a second time); kinds
 * ferry cannot check are left out. */
static void test_volumes_twice(void **state)
{
	struct ctr_info ci;
	char err[512];

	(void)state;
	memset(&ci, 0, sizeof(ci));
	strcpy(ci.w.engine, "podman");
	strcpy(ci.w.id, hex1);
	strcpy(ci.w.image, hex2);
	strcpy(ci.w.name, "web-1");
	fake("volume\tvol1\t/var/lib/v/vol1/_data\t/data\n"
	     "bind\t\t/srv/shared\t/shared\n"
	     "volume\tvol1\t/var/lib/v/vol1/_data\t/data2\n"
	     "tmpfs\t\t\t/scratch\n"
	     "volume\tvol2\t/var/lib/v/vol2/_data\t/other\n", 0);
	assert_int_equal(ctr_volumes(&ci, err, sizeof(err)), 0);
	assert_int_equal(ci.w.nvols, 3);
	assert_string_equal(ci.w.vols[0].src, "vol1");
	assert_string_equal(ci.w.vols[0].dest, "/data");
	assert_int_equal(ci.w.vols[1].kind, WIRE_CTR_VOL_BIND);
	assert_string_equal(ci.w.vols[2].src, "vol2");
	assert_true(wire_ctr_ok(&ci.w));
}

/* A bundle under dir: config.json with cgroupsPath cg (none if NULL). */
static void make_bundle(const char *bundle, const char *cg)
{
	char path[PATH_MAX + 32];
	FILE *f;

	mkdir(bundle, 0700);
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\n  \"ociVersion\": \"1.0.2\",\n  \"linux\": {\n");
	if (cg)
		fprintf(f, "    \"cgroupsPath\": \"%s\",\n", cg);
	fprintf(f, "    \"namespaces\": [ { \"type\": \"pid\" } ]\n  }\n}\n");
	fclose(f);
}

/* runc's state: the fields used, in runc's JSON; forms runc never writes
 * (an escape, a relative bundle) are refused, not half-used. */
static void test_runc_inspect(void **state)
{
	struct ctr_info ci;
	char bundle[512], st[2048], err[512], hash[WIRE_CTR_ID_LEN + 1];
	int ret;

	(void)state;
	snprintf(bundle, sizeof(bundle), "%s/b-inspect", dir);
	make_bundle(bundle, NULL);
	snprintf(st, sizeof(st), "{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"id\": \"r1\",\n"
		 "  \"pid\": %d,\n  \"status\": \"running\",\n  \"bundle\": \"%s\",\n"
		 "  \"rootfs\": \"%s/rootfs\"\n}\n", (int)getpid(), bundle, bundle);
	setenv("FAKE_STATE", st, 1);
	setenv("FAKE_STATE_RC", "0", 1);
	ret = ctr_runc_inspect("/run/x", "r1", &ci, err, sizeof(err));
	if (!has_cgroup2()) {
		assert_int_equal(ret, -ENOENT);
		return;
	}
	assert_int_equal(ret, 0);
	assert_string_equal(ci.w.engine, "runc");
	assert_string_equal(ci.w.id, "r1");
	assert_string_equal(ci.w.bundle, bundle);
	assert_string_equal(ci.runc_root, "/run/x");
	assert_int_equal(ci.pid, getpid());
	assert_int_equal(ctr_runc_config_hash(bundle, hash), 0);
	assert_string_equal(ci.w.image, hash);
	assert_int_equal(strlen(ci.w.share), WIRE_CTR_SHARE_LEN);
	assert_true(wire_ctr_ok(&ci.w));

	/* paused (frozen by someone) or stopped: not ours to move */
	snprintf(st, sizeof(st), "{\"pid\": 0, \"status\": \"stopped\", \"bundle\": \"%s\"}",
		 bundle);
	setenv("FAKE_STATE", st, 1);
	assert_int_equal(ctr_runc_inspect("/run/x", "r1", &ci, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "stopped"));
	/* a bundle with an escape, or relative, or leading elsewhere */
	static const char *const bad[] = { "/a\\\"b", "rel", "/a/../b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(st, sizeof(st), "{\"pid\": %d, \"status\": \"running\", "
			 "\"bundle\": \"%s\"}", (int)getpid(), bad[i]);
		setenv("FAKE_STATE", st, 1);
		assert_int_equal(ctr_runc_inspect("/run/x", "r1", &ci, err, sizeof(err)), -EPROTO);
	}
	/* an ID that is an option never reaches runc */
	assert_int_equal(ctr_runc_inspect("/run/x", "--all", &ci, err, sizeof(err)), -EINVAL);
	/* no such container */
	setenv("FAKE_STATE", "", 1);
	setenv("FAKE_STATE_RC", "1", 1);
	assert_int_equal(ctr_runc_inspect("/run/x", "r2", &ci, err, sizeof(err)), -ENOENT);
}

/* The cgroup runc gives it, as the destination's undo must find it. */
static void test_runc_cgroup(void **state)
{
	char bundle[PATH_MAX], cg[4200];

	(void)state;
	snprintf(bundle, sizeof(bundle), "%s/b-cg1", dir);
	make_bundle(bundle, "/ferry/r1");
	assert_int_equal(ctr_runc_cgroup(bundle, "r1", cg, sizeof(cg)), 0);
	assert_string_equal(cg, "/sys/fs/cgroup/ferry/r1");
	snprintf(bundle, sizeof(bundle), "%s/b-cg2", dir);
	make_bundle(bundle, NULL);
	assert_int_equal(ctr_runc_cgroup(bundle, "r1", cg, sizeof(cg)), 0);
	assert_string_equal(cg, "/sys/fs/cgroup/r1");
	snprintf(bundle, sizeof(bundle), "%s/b-cg3", dir);
	make_bundle(bundle, "system.slice:runc:r1");
	assert_int_equal(ctr_runc_cgroup(bundle, "r1", cg, sizeof(cg)), -ENOTSUP);
	snprintf(bundle, sizeof(bundle), "%s/b-cg4", dir);
	make_bundle(bundle, "/a/../../etc");
	assert_int_equal(ctr_runc_cgroup(bundle, "r1", cg, sizeof(cg)), -EINVAL);
	snprintf(bundle, sizeof(bundle), "%s/b-none", dir);
	assert_int_equal(ctr_runc_cgroup(bundle, "r1", cg, sizeof(cg)), -ENOENT);
}

/*
 * config.json's bind mounts, as runc decides what is one: by type "bind"
 * or an option "bind"/"rbind"; relative paths as runc takes them. What the
 * skimmer cannot read for sure (an escape where a bind could hide, text
 * that is not JSON) is refused whole, never half-read; more binds than the
 * wire carries are refused, not cut.
 */
static void test_runc_config_binds(void **state)
{
	static const char good[] =
		"{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"]},\n"
		" \"mounts\": [\n"
		"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
		"  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv/data\","
		" \"options\": [\"rw\"]},\n"
		"  {\"type\": \"none\", \"source\": \"cfg\", \"destination\": \"etc/app\","
		" \"options\": [\"ro\", \"rbind\"], \"uidMappings\": [{\"a\\u0062\": 1}]},\n"
		"  {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
		" \"options\": [\"nosuid\", \"mode=1777\"]}\n"
		" ],\n \"linux\": {\"cgroupsPath\": \"/x\"}}\n";
	static const char *bad[] = {
		/* an escape in a bind's source, in a type, in an option */
		"{\"mounts\": [{\"type\": \"bind\", \"source\": \"/a\\u0062\", \"destination\": \"/b\"}]}",
		"{\"mounts\": [{\"type\": \"bi\\u006ed\", \"source\": \"/a\", \"destination\": \"/b\"}]}",
		"{\"mounts\": [{\"type\": \"none\", \"options\": [\"\\u0062ind\"], \"source\": \"/a\", \"destination\": \"/b\"}]}",
		/* a bind without a source; a mount that is not an object */
		"{\"mounts\": [{\"type\": \"bind\", \"destination\": \"/b\"}]}",
		"{\"mounts\": [\"bind\"]}",
		/* not JSON: cut, a trailing comma, not an object */
		"{\"mounts\": [{\"type\": \"bind\", \"source\": \"/a\", \"destination\": \"/b\"}",
		"{\"mounts\": [{\"type\": \"bind\", \"source\": \"/a\", \"destination\": \"/b\"},]}",
		"{\"mounts\": [{\"type\": \"bind\", \"source\": \"/a\",}]}",
		"[]", "", "{\"mounts\": [], }",
	};
	struct wire_ctr w;
	char many[8192];
	size_t n;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(ctr_runc_config_binds(good, strlen(good), "/b/r1", &w), 0);
	assert_int_equal(w.nvols, 2);
	assert_int_equal(w.vols[0].kind, WIRE_CTR_VOL_BIND);
	assert_string_equal(w.vols[0].src, "/srv/data");
	assert_string_equal(w.vols[0].dest, "/data");
	assert_string_equal(w.vols[1].src, "/b/r1/cfg");
	assert_string_equal(w.vols[1].dest, "/etc/app");
	/* with the rest of a runc container's fields, the wire takes it */
	strcpy(w.engine, "runc");
	strcpy(w.id, "r1");
	strcpy(w.name, "r1");
	memset(w.image, 'a', WIRE_CTR_ID_LEN);
	strcpy(w.bundle, "/b/r1");
	memset(w.share, 'b', WIRE_CTR_SHARE_LEN);
	assert_true(wire_ctr_ok(&w));
	/* runc has no named volumes: a sender that says so is refused */
	w.vols[1].kind = WIRE_CTR_VOL_NAMED;
	strcpy(w.vols[1].src, "v1");
	assert_false(wire_ctr_ok(&w));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.nvols = 5;
		assert_int_equal(ctr_runc_config_binds(bad[i], strlen(bad[i]), "/b", &w), -EINVAL);
		assert_int_equal(w.nvols, 0);
	}
	/* no mounts, mounts null: no binds */
	assert_int_equal(ctr_runc_config_binds("{}", 2, "/b", &w), 0);
	assert_int_equal(w.nvols, 0);
	assert_int_equal(ctr_runc_config_binds("{\"mounts\": null}", 17, "/b", &w), 0);
	assert_int_equal(w.nvols, 0);
	/* one bind more than the wire carries */
	n = (size_t)snprintf(many, sizeof(many), "{\"mounts\": [");
	for (int i = 0; i <= WIRE_CTR_MAX_VOLS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s{\"type\": \"bind\", "
				      "\"source\": \"/s%d\", \"destination\": \"/d%d\"}",
				      i ? ", " : "", i, i);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "]}");
	assert_int_equal(ctr_runc_config_binds(many, n, "/b", &w), -E2BIG);
	assert_int_equal(w.nvols, 0);
}

/*
 * The destination's check: each refusal for what would restore the
 * container on another root, or beside one that exists; and a yes.
 */
static void test_runc_check_here(void **state)
{
	struct wire_ctr k = { 0 };
	char problem[1024], bundle[PATH_MAX], err[256], own[4096], path[PATH_MAX + 64];
	struct stat sb;

	(void)state;
	snprintf(bundle, sizeof(bundle), "%s/b-check", dir);
	strcpy(k.engine, "runc");
	strcpy(k.id, "r1");
	strcpy(k.name, "r1");
	strcpy(k.bundle, bundle);
	memset(k.share, 'a', WIRE_CTR_SHARE_LEN);
	setenv("FAKE_STATE", "", 1);
	setenv("FAKE_STATE_RC", "1", 1);	/* no such container here */

	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "is not here"));
	make_bundle(bundle, "/ferry-unit-test-no-such-cgroup/r1");
	assert_int_equal(ctr_runc_config_hash(bundle, k.image), 0);
	/* an identical copy, but not the source's directory */
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "not the source's"));
	assert_int_equal(ctr_runc_share_mark(&k, true, err, sizeof(err)), 0);
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 0);
	/* another config.json */
	strcpy(k.image, hex1);
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "differs"));
	/* the ID taken here */
	assert_int_equal(ctr_runc_config_hash(bundle, k.image), 0);
	setenv("FAKE_STATE_RC", "0", 1);
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "exists here"));
	setenv("FAKE_STATE_RC", "1", 1);
	/* its cgroup exists here: our own, as runc's config names it */
	if (has_cgroup2() && ferry_read_file("/proc/self/cgroup", own, sizeof(own)) > 0 &&
	    strlen(own) > 4 && own[4]) {
		make_bundle(bundle, strstr(own, "0::/") + 3);
		assert_int_equal(ctr_runc_config_hash(bundle, k.image), 0);
		assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
		assert_non_null(strstr(problem, "cgroup"));
	}
	/* a bind mount's source is not here; then it is */
	make_bundle(bundle, "/ferry-unit-test-no-such-cgroup/r1");
	assert_int_equal(ctr_runc_config_hash(bundle, k.image), 0);
	k.nvols = 1;
	k.vols[0].kind = WIRE_CTR_VOL_BIND;
	snprintf(k.vols[0].src, sizeof(k.vols[0].src), "%s/bind-src", dir);
	strcpy(k.vols[0].dest, "/data");
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 1);
	assert_non_null(strstr(problem, "bind-mounted at /data) is not here"));
	assert_int_equal(mkdir(k.vols[0].src, 0700), 0);
	assert_int_equal(ctr_runc_check_here(&k, "/run/x", problem, sizeof(problem)), 0);
	rmdir(k.vols[0].src);
	k.nvols = 0;
	/* the marker goes again */
	assert_int_equal(ctr_runc_share_mark(&k, false, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/" CTR_RUNC_SHARE_PREFIX "%s", bundle, k.share);
	assert_int_not_equal(stat(path, &sb), 0);
}

/* A Podman that hangs is killed at the bound; its output is bounded too. */
static void test_capture_bounds(void **state)
{
	const char *argv[] = { "podman", "info", NULL };
	char out[8];
	uint64_t t;

	(void)state;
	fake("0123456789abcdef", 0);
	assert_int_equal(ctr_capture(argv, out, sizeof(out), NULL, 10000), 0);
	assert_string_equal(out, "0123456");	/* size - 1 bytes kept */

	setenv("FAKE_SLEEP", "30", 1);
	t = ferry_now_ns();
	assert_int_equal(ctr_capture(argv, out, sizeof(out), NULL, 500), -ETIMEDOUT);
	assert_true(ferry_now_ns() - t < 10ull * 1000000000);
	unsetenv("FAKE_SLEEP");
}

static void test_ns_pid(void **state)
{
	(void)state;
	/* in the initial PID namespace the innermost NSpid is the PID */
	assert_int_equal(ctr_ns_pid(getpid()), getpid());
	assert_true(ctr_ns_pid(INT32_MAX) < 0);
}

/* An entry survives the CT_NEW message the destination sends to its
 * kernel, read back as a dump message would be; a NATed one (reply tuple
 * not the original reversed) is left out. */
static void test_conntrack_msg(void **state)
{
	struct wire_ct e = {
		.src = htonl(0x0a630032), .dst = htonl(0x0a580002),
		.sport = htons(40000), .dport = htons(7100),
		.tcp_state = 3, .status = 0x6, .timeout = 431999,
	}, out;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *t, *ip;

	(void)state;
	assert_true(wire_ct_ok(&e));
	nlh = ctr_ct_build_new(buf, &e, 7);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW);
	assert_int_equal(ctr_ct_parse(nlh, &out), 1);
	assert_true(out.src == e.src && out.dst == e.dst && out.sport == e.sport &&
		    out.dport == e.dport && out.tcp_state == e.tcp_state &&
		    out.status == e.status && out.timeout == e.timeout);
	/* the same, but the reply goes to another address: NATed here */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	for (int way = 0; way < 2; way++) {
		t = mnl_attr_nest_start(nlh, way ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
		ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, way ? e.dst : e.src);
		mnl_attr_put_u32(nlh, CTA_IP_V4_DST, way ? htonl(0x0a630002) : e.dst);
		mnl_attr_nest_end(nlh, ip);
		ip = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 6);
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, way ? e.dport : e.sport);
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, way ? e.sport : e.dport);
		mnl_attr_nest_end(nlh, ip);
		mnl_attr_nest_end(nlh, t);
	}
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x6 | 0x10));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(100));
	assert_int_equal(ctr_ct_parse(nlh, &out), 0);
	/* cut short: malformed, not kept */
	nlh = ctr_ct_build_new(buf, &e, 8);
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct nfgenmsg)) + 8;
	assert_true(ctr_ct_parse(nlh, &out) <= 0);
	/* what may not be made on a host */
	out = e; out.status |= 0x10;		/* a NAT bit */
	assert_false(wire_ct_ok(&out));
	out = e; out.tcp_state = 0;		/* NONE */
	assert_false(wire_ct_ok(&out));
	out = e; out.timeout = 6 * 86400;
	assert_false(wire_ct_ok(&out));
	out = e; out.dst = out.src;
	assert_false(wire_ct_ok(&out));
}

/* One TCP entry's dump message, as a hostile kernel might send it */
struct ct_msg_spec {
	uint16_t src_type, dst_type;	/* CTA_IP_V6_SRC/DST or CTA_IP_V4_SRC/DST */
	size_t src_len, dst_len;	/* bytes of each address attribute */
	const uint8_t *src, *dst;
	const uint8_t *reply_dst;	/* src, unless the host NATs it */
	uint16_t sport, dport;
	uint32_t status;
};

static struct nlmsghdr *put_ct_msg(void *buf, const struct ct_msg_spec *c)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *t, *n;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	for (int way = 0; way < 2; way++) {
		t = mnl_attr_nest_start(nlh, way ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		mnl_attr_put(nlh, c->src_type, way ? c->dst_len : c->src_len,
			     way ? c->dst : c->src);
		mnl_attr_put(nlh, c->dst_type, way ? c->src_len : c->dst_len,
			     way ? c->reply_dst : c->dst);
		mnl_attr_nest_end(nlh, n);
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, 6);
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, way ? c->dport : c->sport);
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, way ? c->sport : c->dport);
		mnl_attr_nest_end(nlh, n);
		mnl_attr_nest_end(nlh, t);
	}
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(c->status));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(100));
	t = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	n = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, 3);
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
	return nlh;
}

/* The IPv6 counterpart of test_conntrack_msg, and what a message of the
 * other family or with addresses of the wrong length becomes. */
static void test_conntrack6_msg(void **state)
{
	/* fd00:99::50 (a remote client) -> fd99:7::2 (the container) */
	static const uint8_t cli[16] = { 0xfd, 0, 0, 0x99, [15] = 0x50 };
	static const uint8_t ctr[16] = { 0xfd, 0x99, 0, 7, [15] = 2 };
	static const uint8_t host[16] = { 0xfd, 0x99, 0, 7, [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 88, 0, 2 };
	struct wire_ct6 e = {
		.sport = htons(40000), .dport = htons(7100),
		.tcp_state = 3, .status = 0x6, .timeout = 431999,
	}, out;
	struct wire_ct e4 = {
		.src = htonl(0x0a630032), .dst = htonl(0x0a580002),
		.sport = htons(40000), .dport = htons(7100),
		.tcp_state = 3, .status = 0x6, .timeout = 60,
	}, out4;
	struct ct_msg_spec c = {
		.src_type = CTA_IP_V6_SRC, .dst_type = CTA_IP_V6_DST, .src_len = 16, .dst_len = 16,
		.src = cli, .dst = ctr, .reply_dst = cli, .sport = htons(40000),
		.dport = htons(7100), .status = 0x6,
	};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	(void)state;
	memcpy(e.src, cli, 16);
	memcpy(e.dst, ctr, 16);
	assert_true(wire_ct6_ok(&e));
	nlh = ctr_ct6_build_new(buf, &e, 7);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW);
	nfg = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nfg->nfgen_family, AF_INET6);
	assert_int_equal(ctr_ct6_parse(nlh, &out), 1);
	assert_memory_equal(out.src, e.src, 16);
	assert_memory_equal(out.dst, e.dst, 16);
	assert_true(out.sport == e.sport && out.dport == e.dport &&
		    out.tcp_state == e.tcp_state && out.status == e.status &&
		    out.timeout == e.timeout);
	/* an IPv6 entry is no IPv4 one, and the other way round */
	assert_int_equal(ctr_ct_parse(nlh, &out4), 0);
	nlh = ctr_ct_build_new(buf, &e4, 8);
	nfg = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nfg->nfgen_family, AF_INET);
	assert_int_equal(ctr_ct6_parse(nlh, &out), 0);
	assert_int_equal(ctr_ct_parse(nlh, &out4), 1);
	/* the same, hand-made: kept */
	assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), 1);
	assert_memory_equal(out.dst, ctr, 16);
	/* the reply goes to another address: NATed here, left out */
	c.reply_dst = host;
	assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), 0);
	c.reply_dst = cli;
	c.status = 0x6 | 0x20;		/* IPS_DST_NAT */
	assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), 0);
	c.status = 0x6;
	/* addresses of any other length than 16 bytes: malformed */
	for (size_t len = 0; len <= 20; len++) {
		if (len == 16)
			continue;
		c.src_len = len;
		assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), -EINVAL);
		c.src_len = 16;
		c.dst_len = len;
		assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), -EINVAL);
		c.dst_len = 16;
	}
	/* IPv4's attributes of IPv6's length: malformed as IPv4 too */
	c.src_type = CTA_IP_V4_SRC;
	c.dst_type = CTA_IP_V4_DST;
	assert_int_equal(ctr_ct_parse(put_ct_msg(buf, &c), &out4), -EINVAL);
	assert_int_equal(ctr_ct6_parse(put_ct_msg(buf, &c), &out), 0);
	c.src_type = CTA_IP_V6_SRC;
	c.dst_type = CTA_IP_V6_DST;
	/* cut short: malformed, not kept */
	nlh = ctr_ct6_build_new(buf, &e, 9);
	nlh->nlmsg_len = mnl_nlmsg_size(sizeof(struct nfgenmsg)) + 24;
	assert_true(ctr_ct6_parse(nlh, &out) <= 0);
	/* what may not be made on a host */
	out = e; out.status |= 0x10;		/* a NAT bit */
	assert_false(wire_ct6_ok(&out));
	out = e; out.tcp_state = 0;		/* NONE */
	assert_false(wire_ct6_ok(&out));
	out = e; out.timeout = 0;
	assert_false(wire_ct6_ok(&out));
	out = e; out.sport = 0;
	assert_false(wire_ct6_ok(&out));
	out = e; memcpy(out.dst, out.src, 16);
	assert_false(wire_ct6_ok(&out));
	out = e; memset(out.src, 0, 16);
	assert_false(wire_ct6_ok(&out));
	out = e; memcpy(out.src, mapped, 16);	/* an IPv4 connection's */
	assert_false(wire_ct6_ok(&out));
}

/* A socket's line of /proc/PID/net/tcp6 holds the address's bytes in
 * order (ctr_ct_sock_addr copies them): s6 as proc_tcp.c reads it */
static void sock6(struct proc_tcp_sock *s, const char *addr, unsigned int state)
{
	memset(s, 0, sizeof(*s));
	s->family = AF_INET6;
	s->state = state;
	assert_int_equal(inet_pton(AF_INET6, addr, s->laddr), 1);
}

/* Which sockets give the container's address of which family: an
 * IPv4-mapped one is IPv4's, never IPv6's */
static void test_conntrack_sock_addr(void **state)
{
	static const uint8_t ctr6[16] = { 0xfd, 0x99, 0, 7, [15] = 2 };
	struct proc_tcp_sock s;
	uint8_t a[16];
	uint32_t a4;

	(void)state;
	sock6(&s, "fd99:7::2", 0x01);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 1);
	assert_memory_equal(a, ctr6, 16);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET, a), 0);
	sock6(&s, "fd99:7::2", 0x0A);		/* LISTEN */
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	sock6(&s, "::ffff:10.88.0.2", 0x01);	/* an IPv6 socket's IPv4 connection */
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET, a), 1);
	memcpy(&a4, a, 4);
	assert_int_equal(a4, htonl(0x0a580002));
	sock6(&s, "::ffff:127.0.0.1", 0x01);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET, a), 0);
	sock6(&s, "::1", 0x01);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	sock6(&s, "fe80::1", 0x01);		/* link-local: never routed */
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	sock6(&s, "::", 0x01);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	s.state = 0x01;
	s.laddr[0] = htonl(0x0a580002);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET, a), 1);
	assert_memory_equal(a, &s.laddr[0], 4);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET6, a), 0);
	s.laddr[0] = htonl(0x7f000001);
	assert_int_equal(ctr_ct_sock_addr(&s, AF_INET, a), 0);
}

struct mapped_find {
	uint16_t port;		/* the listener's */
	struct proc_tcp_sock s;
	int found;
};

static int find_accepted(const struct proc_tcp_sock *s, void *arg)
{
	struct mapped_find *f = arg;

	if (s->family != AF_INET6 || s->lport != f->port || s->state != 0x01)
		return 0;
	f->s = *s;
	return ++f->found;
}

/* The real thing: an IPv6 listener's connection from 127.0.0.1 is in this
 * namespace's tcp6 as ::ffff:127.0.0.1, which reads as IPv4-mapped */
static void test_conntrack_mapped_proc(void **state)
{
	struct sockaddr_in6 l6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in l4 = { .sin_family = AF_INET };
	struct mapped_find f = { 0 };
	socklen_t len = sizeof(l6);
	int lfd, cfd, afd, off = 0;
	struct in6_addr a;
	uint8_t got[16];

	(void)state;
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (lfd < 0)
		skip();		/* no IPv6 here */
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	assert_int_equal(bind(lfd, (struct sockaddr *)&l6, sizeof(l6)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&l6, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	l4.sin_port = l6.sin6_port;
	l4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(cfd, (struct sockaddr *)&l4, sizeof(l4)), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	f.port = ntohs(l6.sin6_port);
	assert_int_equal(proc_tcp_each(getpid(), 1, find_accepted, &f), 1);
	memcpy(&a, f.s.laddr, sizeof(a));
	assert_true(IN6_IS_ADDR_V4MAPPED(&a));
	assert_int_equal(f.s.laddr[3], htonl(INADDR_LOOPBACK));
	assert_int_equal(ctr_ct_sock_addr(&f.s, AF_INET6, got), 0);
	close(afd);
	close(cfd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_check_here),
		cmocka_unit_test(test_volumes_twice),
		cmocka_unit_test(test_runc_inspect),
		cmocka_unit_test(test_runc_cgroup),
		cmocka_unit_test(test_runc_config_binds),
		cmocka_unit_test(test_runc_check_here),
		cmocka_unit_test(test_capture_bounds),
		cmocka_unit_test(test_ns_pid),
		cmocka_unit_test(test_conntrack_msg),
		cmocka_unit_test(test_conntrack6_msg),
		cmocka_unit_test(test_conntrack_sock_addr),
		cmocka_unit_test(test_conntrack_mapped_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
