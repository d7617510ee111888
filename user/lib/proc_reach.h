/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Could a process have told the outside world something? Post-copy asks
 * this of a tree it kills after the tree ran without all its pages: if it
 * could not, the source's older copy may resume as if nothing happened; if
 * it could, resuming that copy would repeat or contradict what the world
 * already heard (bytes a TCP peer acknowledged, a file it wrote), so the
 * source stays frozen for the operator.
 *
 * It could when it holds:
 *   - a socket that is not an AF_UNIX one (TCP, UDP, raw, packet, netlink);
 *   - a file descriptor open for writing on anything but /dev/null,
 *     /dev/zero, /dev/full or a memfd (a file, a terminal, a device);
 *   - a shared writable mapping of a file (not a memfd or SysV shm).
 * Pipes and AF_UNIX sockets are taken as the tree's own: restored trees
 * have no pipe to a process outside them, and what a unix peer outside
 * the tree heard is not judged.
 */
#ifndef FERRY_PROC_REACH_H
#define FERRY_PROC_REACH_H

#include <stddef.h>
#include <sys/types.h>

/* 1 (why says what), 0, or -errno (the process is gone: -ESRCH). */
int proc_reached_out(pid_t pid, char *why, size_t whylen);

#endif
