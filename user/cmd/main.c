// SPDX-License-Identifier: GPL-2.0
/* ferry: kernel-assisted live migration of processes. */
#include <stdio.h>
#include <string.h>
#include <linux/ferry.h>
#include "cmds.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "check", cmd_check, "report whether this host can migrate (kernel, ferry.ko, CRIU)" },
	{ "dirty", cmd_dirty, "show the pages a process wrote (dirty extents, dirty rate)" },
	{ "tcp",   cmd_tcp,   "show the repair state of a process's TCP connections" },
	{ "migrate", cmd_migrate, "move a running process tree to another host" },
	{ "receive", cmd_receive, "accept trees from `ferry migrate`, versions from --to" },
	{ "settle", cmd_settle, "resume or kill a tree a migration left frozen" },
	{ "checkpoint", cmd_checkpoint, "add a version of a running tree or container to a store" },
	{ "ha", cmd_ha, "checkpoint a tree or container periodically, keeping N" },
	{ "versions", cmd_versions, "list a checkpoint store's versions and check them" },
	{ "restore", cmd_restore, "restore a tree or container from a store, or a Podman archive" },
	{ "pki",   cmd_pki,   "create the TLS certificates of the migration channel" },
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: ferry [--version] [--help] COMMAND [ARGS]\n"
"\n"
"ferry moves running processes between hosts with minimal downtime. The\n"
"ferry.ko kernel module tracks the pages a process writes and exports the\n"
"state of its TCP connections; CRIU does the rest of checkpoint/restore.\n"
"\n"
"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
"\n"
"Run `ferry COMMAND --help` for the options of a command. Commands that\n"
"report take --json and then print exactly one JSON object on stdout.\n"
"\n"
"Exit status:\n"
"  0  success             1  operation failed      2  usage error\n"
"  3  check: something needed for migration is missing\n"
"  4  no such process     5  permission denied     6  ferry.ko not loaded\n"
"  7  migrate: the outcome is unknown, the tree is left frozen (ferry settle)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return FERRY_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return FERRY_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		printf("ferry %s (ABI %d)\n", FERRY_VERSION, FERRY_ABI_VERSION);
		return FERRY_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	ferry_err("unknown command '%s' (see 'ferry --help')", argv[1]);
	return FERRY_EXIT_USAGE;
}
