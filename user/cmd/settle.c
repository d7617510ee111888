// SPDX-License-Identifier: GPL-2.0
/*
 * ferry settle: decide the fate of a tree `ferry migrate` left frozen
 * because the outcome of its commit could not be learnt. See usage_text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "mig.h"
#include "mig_commit.h"
#include "mig_frozen.h"
#include "util.h"
#include "wire_tls.h"

static const char usage_text[] =
"Usage: ferry settle DIR [--kill | --resume] [--settle-timeout S] [--tls-* FILE]\n"
"                        [--insecure]\n"
"\n"
"Settle a migration whose outcome `ferry migrate` could not learn (it exited\n"
"with status 7 and printed DIR, its kept work directory): the tree is still\n"
"frozen here, its connections locked and its service address not put back.\n"
"\n"
"Without --kill or --resume, ask the destination again what became of the\n"
"migration (the receiver keeps a record of each outcome) and act on a\n"
"definite answer: restored there -> kill this copy; not restored -> resume\n"
"it. Once you have checked the destination yourself:\n"
"  --kill      the tree runs there: end this copy (its connections close\n"
"              without a reset, CRIU's lock goes)\n"
"  --resume    it does not run there: put the address back, unlock the\n"
"              connections, resume the tree here\n"
"Resuming while it runs there makes two live copies; killing while it does\n"
"not leaves none: look first.\n"
"\n"
"Options:\n"
"  --settle-timeout S   how long to keep asking (default 10)\n"
"  --tls-cacert, --tls-cacrl, --tls-cert, --tls-key FILE, --insecure\n"
"                       as for `ferry migrate`\n"
"\n"
"Exit status: 0 settled (DIR removed), 1 failed, 2 bad usage, 4 the tree is\n"
"gone (nothing to settle), 7 still unknown (nothing done).\n";

int cmd_settle(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "kill", no_argument, NULL, 'k' },
		{ "resume", no_argument, NULL, 'r' },
		{ "settle-timeout", required_argument, NULL, 'S' },
		WIRE_TLS_LONGOPTS,
		{ "insecure", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wire_tls_paths tp = { 0 };
	struct mig_commit k = { .settle_ms = 10000 };
	struct wire_tls *tls = NULL;
	struct mig_frozen f;
	bool kill_it = false, resume = false, insecure = false;
	char to[256], err[8192];
	const char *dir;
	uint64_t v;
	int c, rc = FERRY_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (wire_tls_getopt(c, optarg, &tp))
			continue;
		switch (c) {
		case 'k': kill_it = true; break;
		case 'r': resume = true; break;
		case 'I': insecure = true; break;
		case 'S':
			if (!ferry_parse_u64(optarg, 1, 86400, &v)) {
				ferry_err("bad --settle-timeout '%s'", optarg);
				return FERRY_EXIT_USAGE;
			}
			k.settle_ms = (int)v * 1000;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return FERRY_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (kill_it && resume)) {
		ferry_err(optind != argc - 1 ? "missing DIR (see ferry settle --help)"
					     : "--kill or --resume, not both");
		return FERRY_EXIT_USAGE;
	}
	dir = argv[optind];
	if (mig_frozen_load(&f, dir, to, sizeof(to), k.id, err, sizeof(err))) {
		ferry_err("%s", err);
		return FERRY_EXIT_FAIL;
	}
	if (!mig_frozen_same_tree(&f)) {
		ferry_err("process %d is not the frozen tree any more (gone, or its PID reused): "
			  "nothing to settle; remove %s", f.root, dir);
		mig_frozen_free(&f);
		return FERRY_EXIT_NOPROC;
	}
	if (!kill_it && !resume) {
		if (!insecure && wire_tls_load(&tls, &tp, false, err, sizeof(err))) {
			ferry_err("%s", err);
			goto out;
		}
		k.to = to;
		k.tls = tls;
		switch (mig_commit_ask(&k)) {
		case MIG_VERDICT_RESTORED:
			kill_it = true;
			break;
		case MIG_VERDICT_NOT_RESTORED:
			resume = true;
			break;
		default:
			ferry_err("%s; nothing done (check %s, then --kill or --resume)", k.err, to);
			rc = FERRY_EXIT_UNDECIDED;
			goto out;
		}
	}
	if (kill_it) {
		mig_frozen_kill(&f);
		printf("settled: the tree (root %d) was killed here; it runs on %s\n", f.root, to);
	} else {
		mig_frozen_resume(&f);
		printf("settled: the tree (root %d) runs here again\n", f.root);
	}
	mig_rmtree(dir);
	rc = FERRY_EXIT_OK;
out:
	wire_tls_free(tls);
	mig_frozen_free(&f);
	return rc;
}
