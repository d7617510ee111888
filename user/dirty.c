// SPDX-License-Identifier: GPL-2.0
/* ferry dirty: placeholder until dirty tracking lands. */
#include "cmds.h"
#include "util.h"

int cmd_dirty(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ferry_err("dirty: not implemented yet");
	return FERRY_EXIT_FAIL;
}
