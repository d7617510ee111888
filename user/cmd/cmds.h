/* SPDX-License-Identifier: GPL-2.0 */
/* Sub-commands of the ferry tool; each lives in its own file. */
#ifndef FERRY_CMDS_H
#define FERRY_CMDS_H

/* Each returns an enum ferry_exit code. argv[0] is the sub-command. */
int cmd_check(int argc, char **argv);
int cmd_dirty(int argc, char **argv);
int cmd_tcp(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_pki(int argc, char **argv);
int cmd_settle(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_ha(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif
