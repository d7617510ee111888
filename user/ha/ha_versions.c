// SPDX-License-Identifier: GPL-2.0
/* `ferry versions --dir DIR`: a checkpoint store's versions, each checked. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmds.h"
#include "ha_store.h"
#include "json.h"
#include "util.h"

static const char usage_text[] =
"Usage: ferry versions --dir DIR [--json] [--no-verify]\n"
"\n"
"List the versions in the checkpoint store DIR (`ferry checkpoint`), oldest\n"
"first: when each was taken, its size, the pages it holds, how long the\n"
"tree was frozen for it, the version it builds on (BASE: `ferry ha` stores\n"
"only what changed since the version before; - for one that stands alone),\n"
"and its state:\n"
"  complete     every file matches the checksums of its manifest, and its\n"
"               base is complete\n"
"  damaged      a file is missing, changed or unlisted, or its base is\n"
"               damaged or missing (the reason follows)\n"
"  incomplete   never published: being written, or its writer died\n"
"Checking reads every file of every version; --no-verify only reads the\n"
"manifests (state \"unchecked\").\n"
"\n"
"Exit status: 0 at least one version is complete (or unchecked); 1 none is;\n"
"2 bad usage; 3 DIR holds no version.\n";

static void fmt_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

int cmd_versions(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-verify", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	bool json = false, verify = true;
	uint32_t *v = NULL, *inc = NULL;
	bool *bad = NULL;
	size_t n = 0, ninc = 0, good = 0;
	struct ha_store st;
	struct json j;
	char err[1024];
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': dir = optarg; break;
		case 'j': json = true; break;
		case 'n': verify = false; break;
		case 'h':
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return FERRY_EXIT_USAGE;
		}
	}
	if (!dir || optind != argc) {
		ferry_err(dir ? "unexpected argument '%s'" : "missing --dir DIR",
			  dir ? argv[optind] : "");
		return FERRY_EXIT_USAGE;
	}
	ret = ha_store_open(&st, dir, false, false, err, sizeof(err));
	if (!ret)
		ret = ha_store_versions(&st, &v, &n);
	if (!ret)
		ret = ha_store_incomplete(&st, &inc, &ninc);
	if (ret) {
		ferry_err("%s", err[0] && ret != -E2BIG ? err : strerror(-ret));
		ha_store_close(&st);
		return ret == -ENOENT ? FERRY_EXIT_MISSING : FERRY_EXIT_FAIL;
	}
	if (json) {
		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "dir", dir);
		json_arr_open(&j, "versions");
	} else {
		printf("%-8s %-19s %10s %10s %10s %8s  %s\n", "VERSION", "TAKEN (UTC)", "MIB", "PAGES",
		       "FROZEN_MS", "BASE", "STATE");
	}
	bad = calloc(n ? n : 1, sizeof(*bad));
	if (!bad) {
		ferry_err("out of memory");
		free(v);
		free(inc);
		ha_store_close(&st);
		return FERRY_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		struct ha_meta meta = { 0 };
		char vdir[4200], when[32], basecol[16] = "-";
		const char *state;

		err[0] = 0;
		ha_store_path(&st, v[i], vdir, sizeof(vdir));
		ret = verify ? ha_verify(vdir, &meta, err, sizeof(err))
			     : ha_meta_read(vdir, &meta, err, sizeof(err));
		if (!ret && meta.version != v[i])
			ret = -EBADMSG, snprintf(err, sizeof(err), "its manifest is of version %u",
						 meta.version);
		/* oldest first: a base's state is known before its dependents' */
		if (!ret && meta.base) {
			const uint32_t *b = bsearch(&meta.base, v, i, sizeof(*v), ferry_cmp_u32);

			if (!b)
				ret = -EBADMSG, snprintf(err, sizeof(err), "it builds on version %u, "
							 "which is missing", meta.base);
			else if (bad[b - v])
				ret = -EBADMSG, snprintf(err, sizeof(err), "it builds on version %u, "
							 "which is damaged", meta.base);
		}
		if (meta.base)
			snprintf(basecol, sizeof(basecol), "%u", meta.base);
		bad[i] = ret != 0;
		state = ret ? "damaged" : verify ? "complete" : "unchecked";
		good += !ret;
		fmt_time(meta.created, when, sizeof(when));
		if (json) {
			json_obj_open(&j, NULL);
			json_u64(&j, "version", v[i]);
			json_str(&j, "path", vdir);
			json_str(&j, "state", state);
			if (ret)
				json_str(&j, "reason", err);
			json_u64(&j, "created", meta.created);
			json_u64(&j, "root", meta.root);
			json_u64(&j, "base", meta.base);
			json_u64(&j, "bytes", meta.bytes);
			json_u64(&j, "rounds", meta.rounds);
			json_u64(&j, "pages_precopied", meta.pages_precopied);
			json_u64(&j, "pages_written", meta.pages_written);
			json_u64(&j, "frozen_time", meta.frozen_time);
			json_u64(&j, "tcp_connections", meta.tcp_connections);
			if (meta.container[0]) {
				json_str(&j, "engine", "podman");
				json_str(&j, "container", meta.container);
				json_str(&j, "container_name", meta.container_name);
			}
			if (meta.runc) {
				json_str(&j, "engine", "runc");
				json_str(&j, "container", meta.container_name);
				json_str(&j, "bundle", meta.runc_bundle);
			}
			json_obj_close(&j);
		} else {
			printf("%-8u %-19s %10.1f %10llu %10llu %8s  %s%s%s\n", v[i],
			       meta.created ? when : "-", meta.bytes / 1048576.0,
			       (unsigned long long)(meta.pages_precopied + meta.pages_written),
			       (unsigned long long)(meta.frozen_time / 1000), basecol, state,
			       ret ? ": " : "", ret ? err : "");
		}
	}
	for (size_t i = 0; i < ninc; i++) {
		if (json) {
			json_obj_open(&j, NULL);
			json_u64(&j, "version", inc[i]);
			json_str(&j, "state", "incomplete");
			json_obj_close(&j);
		} else {
			printf("%-8u %-19s %10s %10s %10s %8s  incomplete\n", inc[i], "-", "-", "-", "-",
			       "-");
		}
	}
	if (json) {
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
	}
	free(v);
	free(bad);
	free(inc);
	ha_store_close(&st);
	if (!n && !ninc) {
		ferry_err("%s holds no version", dir);
		return FERRY_EXIT_MISSING;
	}
	return good ? FERRY_EXIT_OK : FERRY_EXIT_FAIL;
}
