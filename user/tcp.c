// SPDX-License-Identifier: GPL-2.0
/* ferry tcp: placeholder until TCP export lands. */
#include "cmds.h"
#include "util.h"

int cmd_tcp(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ferry_err("tcp: not implemented yet");
	return FERRY_EXIT_FAIL;
}
